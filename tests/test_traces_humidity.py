"""A recorded-style day through `safehaven sim` with a crew's exercise in it (the red team's +7 %RH case,
tests/test_redteam_humidity.py): the trace's pressure carries the water vapour the crew adds and the heat exchanger
takes back (Dalton; no air lost), and its rh_pct column is what the SCD4x beside each BMP280 reads of it. The nodes
hand the SCD4x's readings to the detector (det.vapour, docs/detection.md section 3, "Water vapour"). Before, every
node raised a LEAK 6,450-6,518 s in and the ground went to ISOLATE at 6,468 s (latched). Then no node raised a LEAK,
and the ground still went to ISOLATE (6,782 s) on the nodes' pressure series, which it votes over their reported
rates when they disagree: the series carried the vapour. Now the ground's series are of the dry air
(ground/series.py: e = RH x es(T) from each node's telemetry, docs/shelter.md "Water vapour"): the series vote no
longer finds a fall (each node's dry series within +-0.005 Pa/s of 0 through the drying, was -0.051) and nothing goes
above MONITOR. The MONITOR (6,417-7,343 s) is the nodes' own reported rates: at the turn from rise to drying they
carry most of the vapour's fall for ~10 minutes (<= -0.005 Pa/s from ~6,390 to ~6,980 s, down to -0.040 at 6,680 s,
while the vapour falls at -0.051): the firmware's vapour hold lags the turn (firmware/det_vapour.py: its dead band and
80 s EMAs), and the ground's series cannot overrule a -0.04 Pa/s rate at its confidence (+-0.049 Pa/s over 512 s,
mostly the 3 Pa jitter allowance). The trace and its truth are closed forms here (Magnus, the gas law), not
hil.physics."""
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


@pytest.fixture(scope="module")
def exercise_run(tmp_path_factory):
    """One `safehaven sim` of the +7 %RH exercise for the two tests below: (exit status, decisions)."""
    import json

    from safehaven.ground.cli import main
    tmp = tmp_path_factory.mktemp("exercise")
    (tmp / "gym.csv").write_text(exercise_trace(7.0))
    (tmp / "s.toml").write_text(SCENARIO % {"d": 7, "end": int(END_S)})
    rc = main(["sim", str(tmp / "s.toml"), "--runtime", "cpython", "--out", str(tmp / "out"), "--quiet"])
    decisions = [json.loads(line) for line in (tmp / "out" / "decisions.jsonl").read_text().splitlines() if line]
    return rc, decisions


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="a recorded +7 %RH exercise dried back (185 Pa of vapour, no air lost) in 100 m3, "
                   "3 nodes at 200 ms: no node raises a LEAK (0 of 3 votes) and the ground's dry-air series find no "
                   "fall (ISOLATE gone: was 6,782 s), but the nodes' own reported rates carry the vapour's fall for "
                   "~10 min at the turn to drying (<= -0.005 Pa/s ~6,390-6,980 s, down to -0.040 Pa/s; the vapour "
                   "-0.051): MONITOR 6,417-7,343 s on the plain voted rate; the firmware's vapour hold lags the turn")
def test_a_recorded_exercise_dried_back_raises_nothing(exercise_run):
    rc, decisions = exercise_run
    assert rc == 0, [(d["t"], d["state"]) for d in decisions if d["event"] == "state"]


@pytest.mark.slow
def test_a_recorded_exercise_dried_back_is_never_a_confirmed_leak(exercise_run):
    """The ground's part: its series vote is of the dry air, so the vapour drying out is no fall with
    evidence. Seen failing with the series of the total pressure: ISOLATE at 6,782 s ('leak confirmed',
    -0.032 Pa/s, latched)."""
    _, decisions = exercise_run
    states = [(d["t"], d["state"]) for d in decisions if d["event"] == "state"]
    assert decisions and all(state in ("NOMINAL", "MONITOR") for _, state in states), states
