"""Rates nobody tuned for (issue 9 item 3, checked on untuned traces by the red team): for a fall of 1 Pa/s
or more the telemetry rate_pa_s follows the true compensated dP/dt. A sustained, isothermal fall of 1-10
Pa/s (1-5 Pa/s is below RAPID: 900-4,600 kg/day in 916 m3, a 13-30 mm hole) on the habitat's physics,
read through the BMP280 emulator's per-part error model at 44 ms, the rate read once a second as the
telemetry is sent.

The physics limit: the compensated pressure's noise is ~2.1 Pa per 44 ms sample (1.3 Pa of pressure and
5 mK of temperature through the gas law, 343 Pa/K), so any slope over the T seconds since the onset has a
standard error of at least sigma sqrt(12 / N^3) / dt (N = T / dt): 0.56 Pa/s at 2 s. Within 20 % at 3 of
those needs ~8 s at 1 Pa/s, ~5 s at 2 Pa/s and ~2.8 s at 5 Pa/s; "within 2 s" is out of reach below
~10 Pa/s for any estimator. The first test holds the detector to that limit, with the noise measured on
the same stream before the onset; the second keeps the literal requirement as a strict xfail. The rate is
the fall tracker's (firmware/det_fall.py) until the state is RAPID; in RAPID it is the fast path's, whose
accuracy at 5 Pa/s (RAPID's own threshold) the third test keeps visible as a strict xfail."""
import pytest

import detector as D
import habitat_streams as S
from protocol.messages import LEAK, RAPID

MS = 44
DT = MS / 1000.0
SEEDS = (0, 1, 2, 3)
# one telemetry period: the rate is sent once a second and the estimator moves once a block (~1 s)
MARGIN_S = 1.0


def telemetry(rate_pa_s, seed, seconds, day=False):
    """[(s since onset, state, rate Pa/s)] once a second after the onset, and the per-sample noise (Pa)
    of the compensated level the detector fits (second differences over 50 s before the onset).
    day: the fall starts 10 minutes into a habitat's day (+-0.6 K orbit, a 3 Pa, 60 s fan), not at 100 s
    of an isothermal module."""
    onset = (600.0 + 7.3 * seed) if day else (100.0 + 0.37 * seed)
    fan = S.cycle(60.0, 3.0) if day else (lambda t: 0.0)
    truth = S.Truth(S.module(amplitude_c=0.6 if day else 0.0),
                    extra=lambda t: fan(t) + (-rate_pa_s * (t - onset) if t > onset else 0.0))
    level = []
    tel = []
    tick = [1.0]

    def each_sample(t, d):
        if onset - 50.0 < t < onset:
            level.append(d.prefilter.fast_q8 / 256.0)
        if t >= tick[0]:
            tick[0] += 1.0
            if t > onset:
                tel.append((round(t - onset, 2), d.state, d.rate_e5 / 1e5))
    S.run(D.Detector(MS), truth, S.Part(seed=seed), MS, onset + seconds, on_block=each_sample, every_s=DT)
    d2 = [level[i] - 2 * level[i - 1] + level[i - 2] for i in range(2, len(level))]
    return tel, (sum(x * x for x in d2) / len(d2) / 6.0) ** 0.5


def physics_s(rate_pa_s, sigma_pa, within=0.2, z=3.0):
    """Seconds of a fall after which a slope since its onset is within `within` at z standard errors."""
    se = within * rate_pa_s / z
    return DT * (12.0 * (sigma_pa / (DT * se)) ** 2) ** (1.0 / 3.0)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("rate", [1.0, 2.0, 5.0, 10.0])
def test_the_rate_of_a_fall_holds_from_when_the_noise_allows(rate, seed):
    tel, sigma = telemetry(rate, seed, 25.0)
    assert 1.8 < sigma < 2.6                  # the compensated level's noise, as the module docstring says
    due = physics_s(rate, sigma) + MARGIN_S
    shown = [dt for dt, _, r in tel if r != 0.0]
    assert shown and shown[0] <= due, (due, tel)
    # once shown it is the fall's and it stays: never 0, never a rise, while the fall goes on
    assert [(dt, r) for dt, _, r in tel if dt >= shown[0] and r >= 0.0] == []
    # within 20 % from then on, while it is the tracker's (RAPID's rate is the fast path's: below)
    assert [(dt, r) for dt, st, r in tel if dt >= due and st != RAPID and abs(r + rate) > 0.2 * rate] == [], due
    # a sustained fall is a LEAK (or RAPID) once it is still falling after longer than any transient
    # (10 s): the fall after that point 3 standard errors out, with the detector's noise (an upper bound,
    # up to 1.4x the measured), within a block, a telemetry period and the onset's error (main: 13.6-18.2 s
    # at 1-2 Pa/s, e.g. 15.7-18.2 at 1 Pa/s against 16.6 here)
    due = 10.0 + physics_s(rate, 1.4 * sigma, within=1.0) + 3 * MARGIN_S
    alarm = [dt for dt, st, _ in tel if st in (LEAK, RAPID)]
    assert alarm and alarm[0] <= due, (alarm[:1], due)


# what a fan's wave adds: the tracker subtracts the detector's fan estimate of the last block, leaving a
# +-0.15 Pa sawtooth and the estimate's own error (measured, 6 parts: within 20 % after 5.0-11.7 s at
# 1 Pa/s, 3.0-6.7 s at 2 Pa/s; main: 10.8-16.4 s and 8.0-23.7 s)
FAN_S = 3.0


@pytest.mark.parametrize("seed", SEEDS[:3])
@pytest.mark.parametrize("rate", [1.0, 2.0])
def test_the_rate_of_a_fall_holds_on_a_day_with_the_orbit_and_a_fan(rate, seed):
    tel, sigma = telemetry(rate, seed, 25.0, day=True)
    due = physics_s(rate, sigma) + MARGIN_S + FAN_S
    assert [(dt, r) for dt, st, r in tel if dt >= due and abs(r + rate) > 0.2 * rate] == [], due


@pytest.mark.xfail(strict=True, reason="physics: the compensated level's noise (~2.1 Pa per 44 ms sample) "
                   "leaves any slope over the first 2 s of a fall a standard error of ~0.56 Pa/s (sigma "
                   "sqrt(12/N^3)/dt, N = 45): 56 % of 1 Pa/s, 28 % of 2 Pa/s, 11 % of 5 Pa/s. A rate is "
                   "shown once 5 of them out (1 Pa/s: ~5-6 s, 2 Pa/s: ~3-5 s, 5 Pa/s: ~2.2-3 s) and is "
                   "within 20 % at 3 of them from ~8 s, ~5 s and ~2.8 s (test above)")
@pytest.mark.parametrize("rate", [1.0, 2.0, 5.0])
def test_the_rate_of_a_fall_below_rapid_holds_from_two_seconds(rate):
    off = []
    for seed in SEEDS:
        tel, _ = telemetry(rate, seed, 12.0)
        off += [(seed, dt, r) for dt, _, r in tel if dt >= 2.0 and abs(r + rate) > max(0.2 * rate, 0.05)]
    assert off == []


@pytest.mark.xfail(strict=True, reason="det_fast: a 5 Pa/s fall (RAPID's own threshold) goes RAPID 3.7-19 s in, "
                   "when the noise has made its newest ~2.8 s steep, and RAPID's rate (the fast path's onset "
                   "hinge over the fast ring) is then -6.0..-6.4 Pa/s (20-28 % steep) and wanders -4.3..-6.2 "
                   "after; the fall tracker read -5.05 +- 0.05 just before. RAPID's rate is det_fast's and "
                   "the RAPID branch's (not the tracker's: last session that let a false show into RAPID)")
def test_the_rate_of_a_5_pa_s_fall_holds_in_rapid():
    off = []
    for seed in SEEDS:
        tel, _ = telemetry(5.0, seed, 25.0)
        off += [(seed, dt, r) for dt, st, r in tel if st == RAPID and abs(r + 5.0) > 0.2 * 5.0]
    assert off == []
