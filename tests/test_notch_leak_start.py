"""The fan notch's swing allowance on a day with no fan (issue 9: slow-leak delays within 1.5x the CUSUM bound).

Before the notch locks a fan it allows for the swing it sees (docs/detection.md section 1): z, the level
high-passed twice and smoothed, beyond the hysteresis both ways within 128 blocks, the crest and the trough alike
within 2x. A leak's start, high-passed twice, is a bump of ~0.37 x its rate x 32 blocks (0.35 Pa at 3e-2 Pa/s);
beside a noise trough that was a "swing". Measured on main 4890d73 with bench/detection.py's slow-leak part
seed 7 (no fan, 3e-2 Pa/s, 44 ms): a swing of 0.62-0.75 Pa allowed for in 36 blocks from 19 s after the onset
(and in 71 blocks before it), LEAK 53.4 s after the onset, 2.47x the bound (the cell's mean 1.64x); seed 2007 showed
a swing in 109 blocks before the onset.

The fix, measured and not landed (branch notch d5a3c18, FanNotch.swing(): a swing counts only when the crest and the
trough are each beyond 1.5x the hysteresis; a 2-3 Pa fan's are 5-10x it): no swing on these parts, seed 7 at 31.2 s
(1.44x), the 3e-2 Pa/s no-fan cell 1.51x (8 parts), the fan cell unchanged (1.73x); these three tests passed with
it. Its firmware pre-landing list could not finish before the firmware landings closed (the machine at load ~28:
60 % of it in 78 minutes). And it is wrong as it stands: at 500 ms the hysteresis is ~3x larger and a 3 Pa fan's
z stays under 1.5x it, so booting into the fan (bench/detection.py's nominal part seed 91) was a false LEAK at 232 s
(main: statistic 20 %). The strict xfails stay until a floor that holds at every sampling period is found."""
import random
import sys
from pathlib import Path

import pytest

import detector as D

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import detection as B  # noqa: E402


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


XFAIL = "the fan notch takes a leak's start beside a noise trough for a swing on a day with no fan (main: seed 7 " \
    "swing in 71 blocks before / 36 after the onset, LEAK 53.4 s = 2.47x the bound; seed 2007 109 blocks before); " \
    "a fix measured on branch notch d5a3c18 is wrong at 500 ms (a false LEAK booting into a fan), not landed"


@pytest.mark.xfail(strict=True, reason=XFAIL)
@pytest.mark.parametrize("seed", [7, 2007])
def test_a_leak_start_is_no_fan_swing(seed):
    found, bound, before, after = run(seed, 3e-2)
    assert (before, after) == (0, 0)
    assert found is not None


@pytest.mark.xfail(strict=True, reason=XFAIL)
def test_the_part_that_swung_finds_its_leak_within_the_goal():
    found, bound, _, _ = run(7, 3e-2)
    assert found <= 1.5 * bound
