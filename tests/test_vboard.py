"""The virtual board speaks MicroPython's REPL to the real mpremote, and behaves like a board where it matters:
Ctrl-C obeys micropython.kbd_intr, the watchdog resets a board that stops feeding it, files persist."""
import time

import pytest

from vboard_util import VBoardProcess, mpremote, raw_repl_within, write_file


@pytest.fixture
def pico(tmp_path):
    vb = VBoardProcess("pico", tmp_path / "fs")
    yield vb
    vb.stop()


def test_mpremote_exec_files_and_errors(pico, tmp_path):
    src = tmp_path / "m.py"
    src.write_text("X = 6 * 7\n")
    r = mpremote(pico.port, "exec", "import sys; print(sys.platform, sys.implementation._mpy >> 10)",
                 "+", "fs", "cp", str(src), ":m.py", "+", "exec", "import m; print(m.X)",
                 "+", "fs", "mkdir", ":d")
    assert r.returncode == 0, r.stderr
    assert "rp2 4" in r.stdout                    # the board's identity: rp2, armv6m
    assert "42" in r.stdout
    assert (pico.fs / "m.py").read_text() == "X = 6 * 7\n"      # written through to the folder
    assert (pico.fs / "d").is_dir()
    r = mpremote(pico.port, "fs", "mkdir", ":d")
    assert r.returncode != 0 and "File exists" in r.stderr      # board errno numbers, as mpremote maps them
    r = mpremote(pico.port, "exec", "1/0")
    assert r.returncode != 0 and "ZeroDivisionError" in r.stdout + r.stderr
    r = mpremote(pico.port, "eval", "sum(range(10))")
    assert r.stdout.strip() == "45"


def test_ctrl_c_interrupts_unless_kbd_intr_is_off(tmp_path):
    fs = tmp_path / "fs"
    write_file(fs / "main.py", "import time\nwhile True:\n    time.sleep_ms(20)\n")
    with VBoardProcess("pico", fs) as vb:
        assert raw_repl_within(vb.port, 5)
    write_file(fs / "main.py", "import micropython, time\nmicropython.kbd_intr(-1)\nwhile True:\n    time.sleep_ms(20)\n")
    with VBoardProcess("pico", fs) as vb:
        assert not raw_repl_within(vb.port, 5)


def test_watchdog_resets_a_board_that_stops_feeding(tmp_path):
    fs = tmp_path / "fs"
    # each boot appends its reset cause; the first boot starts a 1 s watchdog and goes to the REPL
    write_file(fs / "main.py", "import machine\nwith open('causes', 'a') as f:\n    f.write('%d ' % machine.reset_cause())\n"
                               "w = machine.WDT(timeout=1000)\n")
    with VBoardProcess("pico", fs) as vb:
        wait_for(lambda: len(_causes(fs)) >= 3, 30)
        log = vb.stop()
    causes = _causes(fs)
    assert causes[0] == "1"                       # power on
    assert len(causes) >= 3 and set(causes[1:]) == {"3"}, causes      # then watchdog resets, about 1 s apart
    assert "watchdog: not fed" in log


def test_soft_reset_keeps_the_watchdog(tmp_path):
    """A soft reset (Ctrl-D, as mpremote does) keeps a started watchdog: it still resets the board."""
    fs = tmp_path / "fs"
    write_file(fs / "boot.py", "import machine\nwith open('causes', 'a') as f:\n    f.write('%d ' % machine.reset_cause())\n")
    with VBoardProcess("pico", fs) as vb:
        r = mpremote(vb.port, "exec", "import machine; machine.WDT(timeout=3000)", "+", "soft-reset")
        assert r.returncode == 0, r.stderr
        wait_for(lambda: _causes(fs)[-1:] == ["3"], 30)
        log = vb.stop()
    assert "watchdog: not fed for 3000 ms" in log
    assert _causes(fs)[-1] == "3"


def _causes(fs):
    p = fs / "causes"
    return p.read_text().split() if p.exists() else []


def wait_for(cond, seconds):
    end = time.monotonic() + seconds
    while not cond() and time.monotonic() < end:
        time.sleep(0.1)


def test_friendly_repl_for_a_person(pico):
    """Typed at the prompt: echo, the value of an expression, a block, Ctrl-C, Ctrl-D (soft reboot)."""
    import serial
    with serial.Serial(pico.port, timeout=0.2, exclusive=True) as s:
        def say(text, until, seconds=15):
            s.write(text)
            got = b""
            end = time.monotonic() + seconds
            while until not in got and time.monotonic() < end:
                got += s.read(4096)
            return got
        assert say(b"\r", b">>> ").endswith(b">>> ")
        assert b"6 * 7\r\n42\r\n>>> " in say(b"6 * 7\r", b"42\r\n>>> ")
        out = say(b"for i in range(2):\r", b"... ")
        out += say(b"    print('row', i)\r", b"... ")
        out += say(b"\r", b"row 1\r\n>>> ")
        assert b"row 0\r\nrow 1\r\n>>> " in out
        assert say(b"1/0\r", b">>> ").count(b"ZeroDivisionError") == 1
        assert say(b"abc\x03", b">>> ").endswith(b"\r\n>>> ")
        out = say(b"\x04", b">>> ")
        assert b"MPY: soft reboot\r\n" in out and b"MicroPython v1.27.0" in out


def test_the_board_waits_on_descriptors_select_cannot(tmp_path, high_fds):
    """The virtual board waited on its pty (and the VM's pipe) with select(), which fails above 1023."""
    import json
    import os

    from safehaven.hil.vboard import VirtualBoard
    from vboard_util import REPO
    with open(os.devnull, "w") as log:
        vb = VirtualBoard(json.loads((REPO / "boards" / "pico.json").read_text()), tmp_path / "fs", log=log)
        vb.open()
        client = os.open(vb.path, os.O_RDWR | os.O_NOCTTY)
        try:
            assert vb.master > 1024
            os.write(client, b"\r\x03")
            end = time.monotonic() + 5
            while len(vb.rx) < 2 and time.monotonic() < end:
                vb._pump(0.5)
            assert bytes(vb.rx) == b"\r\x03"
        finally:
            os.close(client)
            vb.close()
