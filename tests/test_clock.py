"""The clock object and the virtual clock: wrap-safe ticks, as MicroPython's time.ticks_* (both runtimes)."""
import json
from pathlib import Path

import pytest

PERIOD = 1 << 30


def test_ticks_diff_matches_micropython_time(mpy):
    # firmware/clock.py's pure functions against the real time.ticks_diff / ticks_add of the VM
    got = mpy.exec(
        "import time, clock\n"
        "pairs = [(5, 3), (3, 5), (0, 1073741823), (1073741823, 0), (536870911, 0), (0, 536870912), (1000, 1073740000)]\n"
        "adds = [(1073741823, 1), (1073741000, 5000), (10, -20), (0, 536870000), (5, -536870000)]\n"
        "result = [[clock.ticks_diff(a, b), time.ticks_diff(a, b)] for a, b in pairs]"
        " + [[clock.ticks_add(a, d), time.ticks_add(a, d)] for a, d in adds]")
    assert len(got) == 12
    for ours, theirs in got:
        assert ours == theirs


def test_board_clock_runs(runtime):
    got = runtime.exec("import clock\nc = clock.Clock()\na = c.ticks_ms()\nc.sleep_ms(20)\nb = c.ticks_ms()\n"
                       "result = [c.ticks_diff(b, a), 0 <= a < (1 << 30)]")
    assert got[0] >= 19 and got[1]


def test_virtual_clock_wraps_and_syncs_at_step_ends(runtime):
    syncs = []

    def handler(req):
        m = json.loads(req)
        syncs.append(m["t_ms"])
        return json.dumps({"until_ms": m["t_ms"] + 300, "rx": "", "truth": {}, "faults": {},
                           "stop": False}).encode()

    code = (
        "from hil import simhw\n"
        "import board as bf\n"
        "b = bf.validate(%r, 'sim.json')\n"
        "hw = simhw.make_hardware(b, {'node_id': 1, 'sim': {'start_ticks_ms': (1 << 30) - 500}})\n"
        "c = hw.clock\n"
        "t0 = c.ticks_ms()\n"
        "u0 = c.ticks_us()\n"
        "c.sleep_ms(1000)\n"
        "c.sleep_us(2500)\n"
        "t1 = c.ticks_ms()\n"
        "result = [t0, t1, c.ticks_diff(t1, t0), c.ticks_diff(c.ticks_us(), u0), c.t]\n")
    board = json.loads((Path(__file__).resolve().parents[1] / "boards" / "sim.json").read_text())
    t0, t1, diff, diff_us, t = runtime.exec(code % board, handler=handler)
    assert t0 == PERIOD - 500 and t1 == 502 and diff == 1002 and t == 1002     # wrapped
    assert diff_us == 1002500
    assert syncs == [0, 300, 600, 900]                                            # boot, then each step end
