"""The fan notch's swing allowance on a day with no fan (issue 9: slow-leak delays within 1.5x the CUSUM bound).

Before the notch locks a fan it allows for the swing it sees (docs/detection.md section 1): z, the level
high-passed twice and smoothed, beyond the hysteresis both ways within 128 blocks, the crest and the trough alike
within 2x. A leak's start, high-passed twice, is a bump of ~0.37 x its rate x 32 blocks (0.35 Pa at 3e-2 Pa/s);
beside a noise trough that was a "swing". Measured on main 4890d73 with bench/detection.py's slow-leak part
seed 7 (no fan, 3e-2 Pa/s, 44 ms): a swing of 0.62-0.75 Pa allowed for in 36 blocks from 19 s after the onset
(and in 71 blocks before it), LEAK 53.4 s after the onset, 2.47x the bound (the cell's mean 1.64x); seed 2007 showed
a swing in 109 blocks before the onset.

The fix (firmware/det_prefilter.py FanNotch.swing()): a swing counts when the crest and the trough are each beyond
1.5x the hysteresis (4.5 sigma of z: no noise reaches it; a 2-3 Pa fan's are 5-10x it at 44 ms), or when three
excursions beyond the hysteresis came in turn (crest, trough, crest or the other way), each within 128 blocks of
the last: a wave repeats, a leak's start is one bump of one sign. The 1.5x rule alone (tried first, branch
notch-candidates d5a3c18) was wrong at 500 ms: the hysteresis follows the block noise (~3x larger there) and a 3 Pa
fan's z is only 1.4-1.6x it, so booting into the fan, bench/detection.py's nominal part seed 91 raised a false LEAK
at 232 s (statistic 102 %; main 20 %) - seen failing with test_booting_into_the_fan_at_500_ms_raises_nothing below.
With the turns: seed 7 no swing, LEAK 31.2 s after the onset (1.44x the bound); seed 91 at 500 ms 20 %."""
import random
import sys
from pathlib import Path

import pytest

import detector as D

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import detection as B  # noqa: E402
import notch_probe as P  # noqa: E402


def run(seed, beta):
    """bench/detection.py's slow-leak run of one part with no fan, to the alarm: (delay s, bound s, blocks
    with a swing before the onset, after it)."""
    rnd = random.Random(seed)
    part = B.Part(rnd)
    onset = B.ORBIT_S + rnd.uniform(0, B.ORBIT_S)
    day = B.Day(rnd, [], ("ramp", onset, beta), 0.0)
    det = D.Detector(44, {"noise_pa": B.SIGMA, "volume_l": 916000.0})
    swung = [0, 0]
    block = 0
    i = 0
    while i * 0.044 < onset + 600.0:
        t = i * 0.044
        i += 1
        raw, tc, _ = day.at(t)
        tf, pq, _, _ = part.read(raw, tc)
        ev = det.update(tf, pq)
        if det.block != block:
            block = det.block
            if det.fan.swing():
                swung[t >= onset] += 1
        if ev in B.ALARMS:
            assert t >= onset, f"false alarm at {t:.0f} s"
            return t - onset, B.bound_s(B.SIGMA, 0.044, beta), swung[0], swung[1]
    return None, B.bound_s(B.SIGMA, 0.044, beta), swung[0], swung[1]


@pytest.mark.parametrize("seed", [7, 2007])
def test_a_leak_start_is_no_fan_swing(seed):
    found, bound, before, after = run(seed, 3e-2)
    assert (before, after) == (0, 0)
    assert found is not None


def test_the_part_that_swung_finds_its_leak_within_the_goal():
    found, bound, _, _ = run(7, 3e-2)
    assert found <= 1.5 * bound


@pytest.mark.parametrize("seed", [91, 93])
def test_booting_into_the_fan_at_500_ms_raises_nothing(seed):
    """bench/detection.py's nominal day (its --quick parts: 1 day each) at 500 ms, the node booting into the 3 Pa,
    60 s fan: its swing must be allowed for until the lock. With the swing counted only beyond 1.5x the hysteresis,
    seed 91 was a LEAK at 232 s (statistic 102 %), seed 93 reached 61 % (main: 20 %, 19 %)."""
    _, alarms, top = P.nominal((seed, 1.0, 500, 600.0))
    assert alarms == []
    assert top < 50, f"highest statistic {top:.0f} %"
