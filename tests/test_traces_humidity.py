"""A recorded-style day through `safehaven sim` with a crew's exercise in it (the red team's +7 %RH case,
tests/test_redteam_humidity.py): the trace's pressure carries the water vapour the crew adds and the heat exchanger
takes back (Dalton; no air lost), and its rh_pct column is what the SCD4x beside each BMP280 reads of it. The nodes
hand the SCD4x's readings to the detector (det.vapour, docs/detection.md section 3, "Water vapour"). Before, every
node raised a LEAK 6,450-6,518 s in and the ground went to ISOLATE at 6,468 s (latched). Now no node raises a LEAK,
and the ground still goes to ISOLATE (6,782 s) on the nodes' pressure series, which it votes over their reported
rates when they disagree (ground/: the series carries the vapour; the nodes' telemetry carries the SCD4x's RH and
temperature, from which the ground could take it out). The trace and its truth are closed forms here (Magnus, the
gas law), not hil.physics."""
import math

import pytest

P0 = 101325.0
WALL_C = 22.0
HEADER = "t_s,pressure_pa,temperature_c,co2_ppm,rh_pct\n"
EXERCISE_S, RISE_S, DRY_S, END_S = 3600.0, 2700.0, 3600.0, 10800.0


def saturation_pa(temperature_c):
    return 610.94 * math.exp(17.625 * temperature_c / (temperature_c + 243.04))


def exercise_trace(d_rh_pct, in_pressure=True):
    """100 m3 on a +-0.6 K orbit with a 3 Pa, 60 s fan; 40 %RH at 22 degC held as a sealed module holds it (the vapour
    follows the gas law), plus d_rh_pct at 22 degC of a crew's vapour up over RISE_S and dried back over DRY_S."""
    e0 = 0.4 * saturation_pa(WALL_C)
    top = d_rh_pct / 100.0 * saturation_pa(WALL_C)
    rows = []
    t = 0.0
    while t <= END_S:
        temp = WALL_C + 0.6 * math.sin(2 * math.pi * t / 5580.0)
        if t < EXERCISE_S:
            crew = 0.0
        elif t < EXERCISE_S + RISE_S:
            crew = top * (t - EXERCISE_S) / RISE_S
        else:
            crew = top * max(0.0, 1.0 - (t - EXERCISE_S - RISE_S) / DRY_S)
        gas = (temp + 273.15) / (WALL_C + 273.15)
        p = (P0 + (crew if in_pressure else 0.0)) * gas + 3.0 * math.sin(2 * math.pi * t / 60.0)
        rh = 100.0 * (e0 + crew) * gas / saturation_pa(temp)
        rows.append(f"{t:.1f},{p:.3f},{temp:.4f},800,{rh:.3f}")
        t += 1.0
    return HEADER + "\n".join(rows) + "\n"


SCENARIO = """[scenario]
name = "trace_exercise"
description = "a recorded day in 100 m3 with a crew's exercise: +%(d)s %%RH over 45 min, dried back over 1 h; no air lost"
duration_s = %(end)s
step_ms = 1000
expect = ["never above NOMINAL"]

[node_defaults]
sample_period_ms = 200

[[zone]]
name = "gym"
volume_m3 = 100
trace = "gym.csv"
""" + "".join(f'\n[[node]]\nid = {i}\nzone = "gym"\n' for i in range(1, 4))


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="a recorded +7 %RH exercise dried back (185 Pa of vapour, no air lost) in 100 m3, "
                   "3 nodes at 200 ms: no node raises a LEAK now (0 of 3 votes; before: every node 6,450-6,518 s), but "
                   "the ground votes the nodes' raw pressure series (-0.051 Pa/s in the drying) over their reported "
                   "rates (-0.0002..-0.004 Pa/s) as a disagreement: MONITOR at 6,417 s, ISOLATE ('leak confirmed', "
                   "-0.032 Pa/s) at 6,782 s (was 6,468 s); the ground's series rate does not take the vapour out")
def test_a_recorded_exercise_dried_back_raises_nothing(tmp_path, sh):
    (tmp_path / "gym.csv").write_text(exercise_trace(7.0))
    (tmp_path / "s.toml").write_text(SCENARIO % {"d": 7, "end": int(END_S)})
    ran = sh("sim", str(tmp_path / "s.toml"), "--runtime", "cpython", "--out", str(tmp_path / "out"), "--quiet")
    assert ran.returncode == 0, ran.stdout + ran.stderr
