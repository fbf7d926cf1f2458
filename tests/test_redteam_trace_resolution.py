"""A recording's temperature written to 0.01 degC (issue 9: 'checked again on traces that are not in the
repository'; the red team on a recording nobody tuned for). 0.01 degC is the BMP280's own output resolution, the
wire's (`safehaven export` writes the nodes' temperatures so) and what most recorders keep. Through the gas law it
is 3.4 Pa: near the top and bottom of an orbit the temperature stays on one hundredth for minutes while the
pressure moves on, and the compensated truth the emulated sensors read creeps by up to 1.7 Pa and then jumps
back. The emulator's 0.005 K of temperature noise dithers that only in part. Nothing leaks.

Measured on main df77420 (a sealed 916 m3 module, +-0.6 K, 5,580 s orbit, 3 Pa 55 s fan, rows every 0.5 s
read as `safehaven sim` reads a trace, 200 ms): written to 2 decimals, every one of 5 parts raises a LEAK ~100 s
before the orbit's second crest (6,243-6,261 s) and again before the next trough (9,009-9,016 s); to 3 or 4
decimals nothing. Through `safehaven sim` (3 nodes, 4 h, /tmp/redteam3/round/r2.toml): nodes 1 and 2 LEAK at
6,254 / 6,288 s and the ground ISOLATE at 6,298 s; the same day to 4 decimals (r4.toml) passes. A recording at
the sensor's own resolution must not make a false alarm on the bench (or the bench must say it cannot replay
it).

Fixed in hil/trace.py (docs/scenarios.md, "Traces"): the reader finds a column written to a step with runs of
equal values and reads it as the continuous truth it rounds (the crossings of the rounding boundaries, joined
smoothly); both tests read the recording through that reader, as `safehaven sim` does. Seen: 5 of 5 parts LEAK
at 2 decimals on the old reader, none after; the sim test passes (it failed as a strict xfail before)."""
import math

import pytest

import detector as D
import habitat_streams as S
from safehaven.hil.trace import read_trace
from tests.test_traces import HEADER, run_trace

MS = 200
WALL_C, P0 = 21.0, 101325.0
END_S = 6400.0


def row(k, decimals):
    """Row k of the recording (every 0.5 s): the sealed module on its orbit with a fan."""
    t = 0.5 * k
    temp = WALL_C + 0.6 * math.sin(2 * math.pi * t / 5580.0 + 0.7)
    p = P0 * (temp + 273.15) / (WALL_C + 273.15) + 3.0 * math.sin(2 * math.pi * t / 55.0 + 0.4)
    return round(p, 2), round(temp, decimals)


class Recording:
    """The recording as `safehaven sim` reads it: its CSV text through hil/trace.py's reader, the sensors
    reading the trace between its points (Trace.at)."""

    def __init__(self, decimals):
        self.trace = read_trace("cabin.csv", trace(decimals).encode(), {})

    def at(self, t):
        values = self.trace.at(t)
        return values["pressure_pa"], values["temperature_c"]


def alarms(decimals, node_id):
    det = D.Detector(sample_ms=MS, params={"volume_l": 916000})
    events = S.run(det, Recording(decimals), S.emulator_part(node_id), MS, END_S)
    return [(round(t), ev) for t, ev in events if ev in (D.EV_LEAK_DETECTED, D.EV_RAPID)]


@pytest.mark.parametrize("node_id", [1, 2])
def test_a_recording_at_hundredths_of_a_degree_raises_no_leak(node_id):
    assert alarms(2, node_id) == []


@pytest.mark.parametrize("node_id", [1, 2])
def test_the_same_recording_at_thousandths_raises_no_leak(node_id):
    # the control: the same day written to 3 decimals
    assert alarms(3, node_id) == []


def trace(decimals):
    rows = [f"{0.5 * k:.1f},%.2f,%.{decimals}f,800,40" % row(k, decimals) for k in range(int(END_S / 0.5) + 1)]
    return HEADER + "\n".join(rows) + "\n"


SCENARIO = """[scenario]
name = "hundredths"
description = "a sealed 916 m3 module on a 0.6 K orbit, temperature recorded to 0.01 degC; nothing leaks"
duration_s = 6400
step_ms = 1000
expect = ["node 2 never above SUSPECT"]

[node_defaults]
sample_period_ms = 200

[[zone]]
name = "cabin"
volume_m3 = 916.0
trace = "cabin.csv"

[[node]]
id = 2
zone = "cabin"
"""


def test_a_recording_at_hundredths_of_a_degree_in_the_sim(tmp_path, sh):
    ran, _ = run_trace(sh, tmp_path, "cabin", trace(2), SCENARIO)
    assert ran.returncode == 0, ran.stdout + ran.stderr
