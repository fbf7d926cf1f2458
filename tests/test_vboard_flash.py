"""End to end on one virtual board, with the real CLI processes a user runs and the real mpremote:
flash, monitor receives signed frames, a second flash through the maintenance path while the monitor
holds the port, flash --verify, probe. Then the failure the maintenance path exists for, reproduced."""
import sqlite3
import subprocess
import sys
import time

import pytest

from safehaven.ground.boardrepl import STATE, Session
from safehaven.ground.keys import save_keys
from safehaven.ground.wire import decode_all
from safehaven.protocol import messages as M
from vboard_util import REPO, VBoardProcess, raw_repl_within

pytestmark = pytest.mark.slow
KEY = bytes(range(7, 39))


def safehaven(*argv, timeout=120):
    return subprocess.run([sys.executable, "-m", "safehaven", *argv], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def frames(db, since_id=0):
    """(last rx id, frames) the monitor recorded from the node's link, decoded with the key."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            rows = con.execute("SELECT id, data FROM rx WHERE id > ? AND kind = 'data' ORDER BY id",
                               (since_id,)).fetchall()
        finally:
            con.close()
    except sqlite3.OperationalError:                  # not created yet by the monitor
        return since_id, []
    if not rows:
        return since_id, []
    got, _ = decode_all(b"".join(bytes(r[1]) for r in rows), keys={1: KEY})
    return rows[-1][0], got


def link_events(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [r[0] for r in con.execute("SELECT event FROM link_events ORDER BY id")]
    finally:
        con.close()


def wait_frames(db, since_id, want, seconds=60):
    end = time.monotonic() + seconds
    last, seen = since_id, []
    while time.monotonic() < end:
        last, got = frames(db, last)
        seen += got
        if want(seen):
            return last, seen
        time.sleep(0.5)
    return last, seen


def maintenance_heartbeat(port, seconds):
    import serial
    got = b""
    with serial.Serial(port, timeout=0.2, exclusive=True) as ser:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            got += ser.read(4096)
            fs, _ = decode_all(got, keys={1: KEY})
            if any(f.msg_type == M.HEARTBEAT and f.fields["mode"] == M.MODE_MAINTENANCE for f in fs):
                return True
    return False


def test_flash_monitor_reflash_verify_probe(tmp_path):
    keys = tmp_path / "keys.json"
    save_keys(keys, {1: KEY})
    db = tmp_path / "station.sqlite"
    common = ["--board", "pico", "--node-id", "1", "--zone", "LAB", "--key-file", str(keys)]
    with VBoardProcess("pico", tmp_path / "fs") as vb:
        r = safehaven("flash", *common, "--port", vb.port)
        assert r.returncode == 0, r.stderr
        assert "flashed and verified node 1" in r.stdout

        monitor = subprocess.Popen([sys.executable, "-m", "safehaven", "monitor", "--node", f"1={vb.port}",
                                    "--db", str(db), "--key-file", str(keys), "--plain"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO)
        try:
            last, seen = wait_frames(db, 0, lambda fs: sum(f.msg_type == M.TELEMETRY for f in fs) >= 3)
            tel = [f for f in seen if f.msg_type == M.TELEMETRY]
            assert len(tel) >= 3 and all(f.authenticated for f in tel)
            assert 100000 < tel[-1].fields["pressure_pa"] < 102500          # the emulated BMP280, via the firmware

            # the monitor holds the port: the maintenance command goes through its database
            r = safehaven("flash", *common, "--zone", "LAB2", "--port", vb.port, "--db", str(db))
            assert r.returncode == 0, r.stderr
            assert "held by a monitor" in r.stderr and "flashed and verified" in r.stdout
            last, _ = frames(db, last)                # up to now: the old firmware, then the monitor let go
            # the reflashed node is back on the monitor: its telemetry, recorded after the flash
            last, seen = wait_frames(db, last, lambda fs: any(f.msg_type == M.TELEMETRY for f in fs))
            assert "released" in link_events(db)      # the monitor let go of the port after the node's ack
            assert any(f.msg_type == M.TELEMETRY and f.authenticated for f in seen), \
                "the monitor did not get the reflashed node back"

            r = safehaven("flash", *common, "--zone", "LAB2", "--port", vb.port, "--db", str(db), "--verify")
            assert r.returncode == 0, r.stderr          # the board holds the reflashed config (zone LAB2)
            assert "verified node 1" in r.stdout and "SHA-256 match" in r.stdout

            r = safehaven("probe", "--port", vb.port, "--board", "pico", "--node-id", "1", "--key-file", str(keys),
                          "--db", str(db))
            assert r.returncode == 0, r.stdout + r.stderr
            for check in ("i2c scan", "bmp280", "scd4x serial", "scd4x self-test", "free heap", "board file"):
                assert any(line.startswith(check) and " ok " in line for line in r.stdout.splitlines()), r.stdout
        finally:
            monitor.terminate()
            monitor.communicate(timeout=20)
        log = vb.stop()
    assert "watchdog: not fed" not in log

    # the physical fallback: the button held at power-up skips the node (no watchdog) for maintenance mode
    with VBoardProcess("pico", tmp_path / "fs", "--hold-button") as vb:
        assert maintenance_heartbeat(vb.port, 30)            # the heartbeat says so
        with Session(vb.port) as s:
            assert s.enter(10)
            assert s.exec(STATE).strip() == "1"
        log = vb.stop()
    assert "watchdog started" not in log


def test_a_running_node_keeps_its_repl_and_a_uart_node_is_reset_by_its_watchdog(tmp_path):
    """The failure behind the maintenance path: on a USB link the running node ignores Ctrl-C (mpremote
    never gets a REPL); on a UART link Ctrl-C reaches the REPL, but the watchdog resets the board within 8 s."""
    with VBoardProcess("pico", tmp_path / "usb") as vb:
        assert safehaven("flash", "--board", "pico", "--node-id", "1", "--zone", "A", "--port", vb.port).returncode == 0
        assert vb.wait_log("watchdog started, 8000 ms", 30)      # past the 2 s button window: the node runs
        assert not raw_repl_within(vb.port, 5)
    with VBoardProcess("pico2", tmp_path / "uart") as vb:
        r = safehaven("flash", "--board", "pico2", "--node-id", "2", "--zone", "A", "--port", vb.port)
        assert r.returncode == 0, r.stderr
        assert vb.wait_log("watchdog started, 8000 ms", 30)      # the node runs, its watchdog too
        assert raw_repl_within(vb.port, 5)             # Ctrl-C works: the REPL of a node with a watchdog...
        assert vb.wait_log("watchdog: not fed for 8000 ms, reset", 20)       # ...is reset under you
        r = safehaven("flash", "--board", "pico2", "--node-id", "2", "--zone", "B", "--port", vb.port)
        assert r.returncode == 0, r.stderr          # flash puts it into maintenance first: no watchdog while copying
        assert "not in maintenance: resetting it into maintenance" in r.stderr
        log = vb.stop()
    assert log.count("watchdog: not fed") == 1


def test_a_command_frame_with_a_ctrl_c_byte_is_obeyed_in_maintenance_and_ctrl_c_still_works(tmp_path):
    """In maintenance mode Ctrl-C must stop the node into its REPL (mpremote), but a 0x03 byte inside a
    command frame (here its request id; any tag or counter byte can be one) is data: it dropped the
    node to its REPL instead of being answered."""
    import serial
    from safehaven.ground.wire import encode_command
    keys = tmp_path / "keys.json"
    save_keys(keys, {1: KEY})
    fs = tmp_path / "fs"
    with VBoardProcess("pico", fs) as vb:
        r = safehaven("flash", "--board", "pico", "--node-id", "1", "--zone", "LAB", "--key-file", str(keys),
                      "--port", vb.port)
        assert r.returncode == 0, r.stderr
    with VBoardProcess("pico", fs, "--hold-button") as vb:
        assert maintenance_heartbeat(vb.port, 30)
        frame = encode_command(1, 3, M.CMD_REQUEST_STATUS, 0, 0, key=KEY)
        assert b"\x03" in frame
        acks = []
        with serial.Serial(vb.port, timeout=0.2, exclusive=True) as ser:
            ser.write(frame)
            got, end = b"", time.monotonic() + 15
            while not acks and time.monotonic() < end:
                got += ser.read(4096)
                acks = [f for f in decode_all(got, keys={1: KEY})[0] if f.msg_type == M.COMMAND_ACK]
        assert [(f.fields["request_id"], f.fields["result"]) for f in acks] == [(3, M.ACK_OK)], vb.log()
        assert raw_repl_within(vb.port, 10)              # mpremote's Ctrl-C, outside a frame, still stops it
        log = vb.stop()
    assert log.count("main.py stopped") == 1 and "KeyboardInterrupt" in log
