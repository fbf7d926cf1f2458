"""The detector's first minutes (issue 9): a node that boots into a running fan learns its level
while the fan's oscillation is not yet locked (FanNotch needs ~4 periods). Physics truth read
through the BMP280 emulator's per-part errors (tests/habitat_streams.py), on the orbit, at the
node's default 44 ms and at bench/detection.py's 500 ms (~2 samples a block: the noisiest blocks).
Expectations come from the truth, never from the detector."""
import math

import pytest

import detector as D
import habitat_streams as S
from safehaven.hil.physics import Leak

BOOT_S = 1800.0          # the first 30 minutes: learning the level (~26 min) and the fan's lock


def fan(amplitude_pa, period_s, phase):
    return lambda t: amplitude_pa * math.sin(2 * math.pi * t / period_s + phase)


def alarms(events):
    return [(round(t), ev) for t, ev in events if ev in (D.EV_LEAK_DETECTED, D.EV_RAPID)]


# (seed, fan phase) pairs: each part's own offset, tempco and noise; the fan caught at
# different points of its swing when the node boots
BOOTS = {44: [(1, 0.0), (2, 4.2), (3, 2.1)],
         500: [(1, 1.6), (2, 4.8), (3, 1.6), (3, 4.8), (4, 0.0), (4, 3.2)]}


@pytest.mark.parametrize("period_s,ms", [(45.0, 44), (60.0, 44), (90.0, 44), (45.0, 500), (60.0, 500),
                                         (90.0, 500)])
def test_booting_into_a_running_fan_raises_nothing(period_s, ms):
    # Before, the CUSUMs started after 120 blocks on a level learnt with the fan's wave in it
    # (a 90 s wave over 120 blocks leaves the mean up to ~0.7 Pa off) and no allowance for the
    # wave: a 3 Pa, 90 s fan's next dip was a LEAK 144-222 s after boot in 3 of 9 boots at 44 ms
    # and 3 of 16 at 500 ms (bench/detection.py --quick: a 60 s fan at 500 ms, LEAK at 232 s).
    # (90 s at 500 ms: a LEAK at 178 s on part 3 while the block noise was read 25 % low, below.)
    found = {}
    for seed, phase in BOOTS[ms]:
        det = D.Detector(ms)
        events = S.run(det, S.Truth(S.module(), extra=fan(3.0, period_s, phase)), S.Part(seed=seed), ms, BOOT_S)
        found[(seed, phase)] = (alarms(events), det.fan.locked)
    assert all(not a for a, _ in found.values()), found
    assert all(lk for _, lk in found.values()), found             # the fan is locked on by then


@pytest.mark.parametrize("period_s", [None, 90.0])
def test_leak_during_warm_up_with_a_fan_running_is_found(period_s):
    # 0.9 kg/day in 916 m3 from t = 60 s, before the level is learnt and before the fan is locked;
    # the ground's goal is MONITOR within 45 minutes of the onset
    onset = 60.0
    truth = S.Truth(S.module(), leaks=[Leak("m", onset_s=onset, diameter_mm=S.leak_hole_mm(0.9))],
                    extra=fan(3.0, period_s, 1.0) if period_s else None)
    events = S.run(D.Detector(44), truth, S.Part(seed=5, tempco_pa_k=1.5), 44, onset + 45 * 60)
    found = [t for t, ev in events if ev == D.EV_LEAK_DETECTED]
    assert not [t for t, ev in events if ev == D.EV_RAPID]
    assert found, "the leak was not found within 45 minutes"
    print("fan %s: LEAK %.0f s after the onset" % (period_s, found[0] - onset))


@pytest.mark.parametrize("seed", [2, 3])
def test_a_90_s_fan_that_starts_after_learning_raises_nothing(seed):
    # The level is learnt and the CUSUMs run at full sensitivity when a 3 Pa, 90 s fan starts (2 h
    # in). Its dips are slower than a 60 s fan's: before, the fourth (252 s after it started, part 2)
    # implied 0.04 Pa/s, too slow for the young alarms' wait, and was a LEAK. Until the notch locks
    # (~4 periods) the swing it sees is allowed for, and the fan is locked by the end.
    start = 2 * 3600.0
    det = D.Detector(44)
    wave = fan(3.0, 90.0, 0.0)
    events = S.run(det, S.Truth(S.module(), extra=lambda t: wave(t - start) if t >= start else 0.0),
                   S.Part(seed=seed, tempco_pa_k=1.5), 44, start + 600)
    assert alarms(events) == []
    assert det.fan.locked


@pytest.mark.parametrize("ms", [44, 200, 500, 1000])
def test_block_noise_is_measured_at_every_sampling_period(ms):
    # The thresholds come from the block noise the detector measures (second differences of block
    # means). A fixed 4 Pa clip of those differences read it 25 % low at 500 ms (2 samples a
    # block, second differences of sd 3.7 Pa) and 39 % low at 1000 ms: thresholds too low, a false
    # LEAK in bench/detection.py's 30 days. Truth: the spread of the block means of the
    # compensated samples (P x Tref / T from what the part reads), white on an isothermal module.
    det = D.Detector(ms)
    part = S.Part(seed=ms)
    truth = S.Truth(S.module(amplitude_c=0.0))
    n = det.block_n
    means, block, seen = [], [], []
    tref_k = None
    for i in range(1500 * n):
        t_fine, p_q8 = part.read(*truth.at(i * ms / 1000.0))
        t_k = t_fine / 5120.0 + 273.15
        tref_k = tref_k or t_k
        block.append(p_q8 / 256.0 * tref_k / t_k)
        if len(block) == n:
            means.append(sum(block) / n)
            block = []
        det.update(t_fine, p_q8)
        if det.block_fill == 0 and det.noise_n >= 64:
            seen.append(det.noise_var)            # q8^2, block means
    mean = sum(means) / len(means)
    true_pa = math.sqrt(sum((x - mean) ** 2 for x in means) / (len(means) - 1))
    measured_pa = math.sqrt(sum(seen) / len(seen)) / 256.0
    print("%d ms: block noise %.3f Pa, measured %.3f Pa" % (ms, true_pa, measured_pa))
    assert abs(measured_pa / true_pa - 1.0) < 0.10, (true_pa, measured_pa)
