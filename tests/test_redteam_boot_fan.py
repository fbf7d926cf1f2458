"""A node booting into a running cabin fan, through `safehaven sim` on a recorded-style trace (issue 9, checked
by the red team on traces nobody tuned for): the first 10 minutes of /tmp/redteam2/n2, a sealed 20 m3 module on a
+-0.8 K, 95-minute orbit with a slow daily drift and a 2 Pa, 100 s fan, nothing leaking; node 35's emulated part
(its own offset, tempco and noise) at 200 ms. The fan moves no air: the node must stay at most SUSPECT. The
strict xfail goes when it is fixed."""
import math

import pytest

from tests.test_traces import HEADER, run_trace

WALL_C, P0 = 23.9, 101325.0
ORBIT_PHASE, DRIFT_PHASE, FAN_PHASE = 1.216742927115322, 6.016549084662732, 4.9231848035418535


def trace(end_s=600.5):
    rows, t = [], 0.0
    while t <= end_s + 1e-9:
        temp = (WALL_C + 0.8 * math.sin(2 * math.pi * t / 5700.0 + ORBIT_PHASE)
                + 0.3 * math.sin(2 * math.pi * t / 86400.0 + DRIFT_PHASE))
        p = P0 * (temp + 273.15) / (WALL_C + 273.15) + 2.0 * math.sin(2 * math.pi * t / 100.0 + FAN_PHASE)
        rows.append(f"{t:.2f},{p:.3f},{temp:.4f},{800 + 50 * math.sin(t / 3000.0):.0f},40")
        t = round(t + 0.5, 2)
    return HEADER + "\n".join(rows) + "\n"


SCENARIO = """[scenario]
name = "boot_into_fan"
description = "booting into a 2 Pa, 100 s fan in 20 m3 at 200 ms"
duration_s = 600
step_ms = 100
expect = ["node 35 never above SUSPECT"]

[node_defaults]
sample_period_ms = 200

[[zone]]
name = "cabin"
volume_m3 = 20.0
trace = "cabin.csv"

[[node]]
id = 35
zone = "cabin"
"""


@pytest.mark.xfail(strict=True, reason="redteam: node 35 booting into a 2 Pa, 100 s fan (20 m3, 200 ms) raises "
                   "LEAK at 193.3 s (-0.136 Pa/s; cleared after ~20 min), on main 26472f2 and after the fan fixes "
                   "(523c6ec): the notch's swing allowance before the lock drops to 0 when a noise re-crossing of "
                   "the hysteresis replaces the crest (det_prefilter FanNotch._swing / swing())")
def test_booting_into_a_slow_fan_raises_no_leak_in_the_sim(tmp_path, sh):
    ran, _ = run_trace(sh, tmp_path, "cabin", trace(), SCENARIO)
    assert ran.returncode == 0, ran.stdout + ran.stderr
