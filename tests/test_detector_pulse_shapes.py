"""Pulses shaped as nobody tuned for (issue 9 item 2, checked on untuned traces): every one moves no air,
so none may raise LEAK or RAPID. The streams are the habitat's physics (a 916 m3 orbit day, +-0.7 K) with
a 3 Pa, 55 s fan, read through the BMP280 emulator's per-part error model at 44 ms. Each case is a
weakness found on main; the strict xfail goes when it is fixed."""
import math

import pytest

import detector as D
from safehaven.hil.physics import Leak
import habitat_streams as S

MS = 44


def linear_fall_pulse(t0, drop_pa, fall_s, tau_s):
    """A pulse whose drop takes fall_s (linearly), then flows back as e^(-t/tau)."""
    def f(t):
        if t < t0:
            return 0.0
        if t < t0 + fall_s:
            return -drop_pa * (t - t0) / fall_s
        return -drop_pa * math.exp(-(t - t0 - fall_s) / tau_s)
    return f


def day(*disturbances):
    fan = S.cycle(55.0, 3.0)
    return S.Truth(S.module(amplitude_c=0.7, period_s=5400.0),
                   extra=lambda t: fan(t) + sum(d(t) for d in disturbances))


def alarms(truth, seed, end_s):
    det = D.Detector(sample_ms=MS, params={"volume_l": 916000})
    events = S.run(det, truth, S.Part(seed=seed), MS, end_s)
    return [(round(t, 1), ev) for t, ev in events if ev in (D.EV_LEAK_DETECTED, D.EV_RAPID)]


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_a_double_valve_pulse_is_no_leak(seed):
    # two valve pulses 3 s apart made one 11-block fall for the step classifier, "longer than any
    # transient": a LEAK on every part ~10 s after the first (now each pulse's fall is counted alone)
    truth = day(S.recovery(3000.0, 140.0, 30.0), S.recovery(3003.0, 110.0, 30.0))
    assert alarms(truth, seed, 3400.0) == []


@pytest.mark.parametrize("seed", [14, 15, 16])
def test_a_pulse_falling_for_half_a_second_is_not_rapid(seed):
    # 120 Pa over 0.5 s (240 Pa/s), then recovering: RAPID on every part at ~0.7 s until the fast
    # path asked whether the fall was still going at its own mean rate (it had stopped 0.2 s before)
    truth = day(linear_fall_pulse(3000.0, 120.0, 0.5, 30.0))
    assert alarms(truth, seed, 3100.0) == []


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_a_single_valve_pulse_is_no_alarm(seed):
    # the control case of the two above: the same day with one ordinary pulse raises nothing
    truth = day(S.recovery(3000.0, 140.0, 30.0))
    assert alarms(truth, seed, 3400.0) == []


@pytest.mark.parametrize("seed, drop_pa, fall_s", [(31, 85.0, 0.3), (32, 85.0, 0.5), (33, 160.0, 0.7)])
def test_falls_that_stop_within_the_wait_are_transients(seed, drop_pa, fall_s):
    # hatch equalisations of 120-280 Pa/s that stop after 0.3-0.7 s and recover: EV_TRANSIENT, never
    # RAPID (a fast fall's RAPID waits ~0.9 s from its onset and asks whether it still falls)
    truth = day(linear_fall_pulse(3000.0, drop_pa, fall_s, 30.0))
    det = D.Detector(sample_ms=MS, params={"volume_l": 916000})
    events = S.run(det, truth, S.Part(seed=seed), MS, 3060.0)
    assert [(round(t, 1), ev) for t, ev in events if ev in (D.EV_LEAK_DETECTED, D.EV_RAPID)] == []
    assert [round(t) for t, ev in events if ev == D.EV_TRANSIENT] == [3000]


@pytest.mark.xfail(strict=True, reason="a fall that stops after 0.9 s cannot be told from a hole within RAPID's "
                   "1 s: it is RAPID at ~0.9 s, and RAPID ends ~4 s after the fall stopped. With the fast path's shapes "
                   "(a fall that stopped; branch fast): 120 Pa over 0.9 s RAPID at +0.86..+0.91 s on 20 of 20 parts (falls "
                   "of 85-160 Pa over 0.1-0.7 s: 0 of 20 each); a stop shows ~0.2 s after it")
@pytest.mark.parametrize("seed", [34])
def test_a_fall_stopping_after_nine_tenths_of_a_second_is_not_rapid(seed):
    truth = day(linear_fall_pulse(3000.0, 120.0, 0.9, 30.0))
    assert alarms(truth, seed, 3060.0) == []


@pytest.mark.parametrize("seed", [41, 42])
def test_rapid_ends_soon_after_a_step_that_stays_and_the_level_is_relearnt(seed):
    # a hatch opened to a lower volume, equalising over 1.5 s (80 Pa/s: RAPID, as a hole would be
    # within the first second) and staying 120 Pa lower. The node stayed RAPID for the 10 minutes of
    # clear_hold_ms after the fall had stopped (seen failing); now RAPID ends when the fall has, the
    # level after it is learnt, and nothing more is raised
    stop = 3001.5
    truth = day(lambda t: -120.0 * min(max(t - 3000.0, 0.0) / 1.5, 1.0))
    det = D.Detector(sample_ms=MS, params={"volume_l": 916000})
    seen = []
    events = S.run(det, truth, S.Part(seed=seed), MS, 3600.0,
                   on_block=lambda t, d: seen.append((t, d.state, d.baseline.level12 / 4096.0, d.warm)))
    rapid = [t for t, st, _, _ in seen if st == D.RAPID]
    assert rapid and max(rapid) < stop + 8.0, (min(rapid), max(rapid))
    assert [(round(t), ev) for t, ev in events if ev == D.EV_LEAK_DETECTED] == []
    assert seen[-1][1] == D.NOMINAL
    before = [lv for t, _, lv, warm in seen if 2900 < t < 3000 and not warm]
    after = [lv for t, _, lv, _ in seen if t > 3300]          # (learning it again, as after any step)
    assert before and after and abs(after[-1] - before[-1] + 120.0) < 3.0, (before[-1:], after[-1:])


def choked_fall(rate_pa_s, seed, onset, end_s):
    """A choked hole in 100 m3 losing rate_pa_s at onset (the physics' own orifice law): events, and the
    detector's state every 0.25 s from the onset."""
    kg_day = rate_pa_s * 100.0 / (287.05 * 295.15) * 86400.0
    truth = S.Truth(S.module(volume_m3=100.0, amplitude_c=0.0),
                    leaks=[Leak("m", onset_s=onset, diameter_mm=S.leak_hole_mm(kg_day, 101325.0))])
    det = D.Detector(MS, {"volume_l": 100000.0})
    states = []
    events = S.run(det, truth, S.Part(seed=seed), MS, end_s,
                   on_block=lambda t, d: states.append((t - onset, d.state)) if t > onset else None, every_s=0.25)
    return [(t - onset, ev) for t, ev in events], states


@pytest.mark.parametrize("seed, phase_s", [(51, 0.0), (52, 0.013), (53, 0.029), (54, 0.037)])
@pytest.mark.parametrize("rate", [10.0, 21.4, 100.0])
def test_a_choked_fall_stays_rapid_within_a_second(rate, seed, phase_s):
    # the "still falling?" test never takes a real hole for a pulse: RAPID within 1 s at every onset
    # phase, no EV_TRANSIENT after it, RAPID throughout the fall
    onset = 120.0 + phase_s
    events, states = choked_fall(rate, seed, onset, onset + 12.0)
    rapid = [t for t, ev in events if ev == D.EV_RAPID]
    assert rapid and 0 < rapid[0] <= 1.0, events
    assert [(round(t, 2), ev) for t, ev in events if t > rapid[0] and ev != D.EV_RAPID] == []
    assert all(st == D.RAPID for t, st in states if t > rapid[0] + 0.25), states
