"""Relay board protocol: client against the emulator over real pyserial ports; valves' safe state."""
import pytest
import serial

from safehaven.hil.gauge import PtyDevice, TcpDevice
from safehaven.hil.relay import RelayBoard, RelayEmulator, RelayError, Valves


@pytest.fixture(params=["pty", "socket"])
def board(request):
    emu = RelayEmulator()
    dev = PtyDevice(emu.feed) if request.param == "pty" else TcpDevice(emu.feed)
    port = serial.serial_for_url(dev.port, timeout=1)
    yield RelayBoard(port), emu
    port.close()
    dev.close()


def test_raw_exchange_echo_answer_prompt():
    emu = RelayEmulator()
    assert emu.feed(b"relay on 2\r") == b"relay on 2\n\r>"
    assert emu.feed(b"relay read 2\r") == b"relay read 2\n\ron\n\r>"
    assert emu.feed(b"relay readall\r") == b"relay readall\n\r04\n\r>"
    assert emu.feed(b"bogus\r").endswith(b"ERR\n\r>")


def test_switch_and_read_back(board):
    b, emu = board
    b.set(0, True)
    b.set(3, True)
    assert b.get(0) and b.get(3) and not b.get(1)
    assert b.read_all() == 0b1001
    b.set(0, False)
    assert emu.state[:4] == [False, False, False, True]


def test_errors(board):
    b, _ = board
    with pytest.raises(RelayError, match="out of range"):
        b.set(9, True)
    with pytest.raises(RelayError, match="refused"):
        b.command("relay explode 1")


def test_valves_safe_state_and_physics_callback(board):
    b, emu = board
    seen = []
    emu.on_change = lambda ch, on: seen.append((ch, on))
    v = Valves(b, {"pump": 0, "vent": 1, "leak": 2})
    v.set("pump", True)
    v.set("leak", True)
    assert v.safe({"pump": False, "vent": True, "leak": False}) == []
    assert emu.state[:3] == [False, True, False]
    assert seen == [(0, True), (2, True), (0, False), (1, True), (2, False)]


def test_safe_state_reports_dead_board():
    port = serial.serial_for_url("loop://", timeout=0.1)
    port.write = lambda data: len(data)
    errors = Valves(RelayBoard(port), {"pump": 0, "vent": 1}).safe({"vent": True})
    assert len(errors) == 2 and "did not answer" in errors[0]
