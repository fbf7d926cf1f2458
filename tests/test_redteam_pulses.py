"""Pulses nobody tuned for (issue 9 item 2, checked on untuned traces by the red team): a valve pulse or a
hatch operation moves no air, so it is never RAPID. The streams are the habitat's physics (an orbit day,
+-0.5 K) with a 3 Pa, 48 s fan, read through the BMP280 emulator's per-part error model at 44 ms. The
strict xfail goes when the weakness is fixed."""
import math

import pytest

import detector as D
import habitat_streams as S

MS = 44
PULSE_S = 3000.0


def pulse(drop_pa, fall_s, tau_s):
    """-drop_pa reached linearly over fall_s, then flowing back as e^(-t/tau) (no air lost)."""
    def f(t):
        if t < PULSE_S:
            return 0.0
        if t < PULSE_S + fall_s:
            return -drop_pa * (t - PULSE_S) / fall_s
        return -drop_pa * math.exp(-(t - PULSE_S - fall_s) / tau_s)
    return f


def run_alarms(module, volume_m3, disturbance, seed):
    """LEAK and RAPID events (seconds after PULSE_S) of one part over 10 s from PULSE_S."""
    truth = S.Truth(module, extra=disturbance)
    det = D.Detector(sample_ms=MS, params={"volume_l": volume_m3 * 1000})
    events = S.run(det, truth, S.Part(seed=seed), MS, PULSE_S + 10.0)
    return [(round(t - PULSE_S, 2), ev) for t, ev in events if ev in (D.EV_LEAK_DETECTED, D.EV_RAPID)]


def alarms(fall_s, seed):
    fan = S.cycle(48.0, 3.0)
    p = pulse(100.0, fall_s, 25.0)
    return run_alarms(S.module(volume_m3=100.0, amplitude_c=0.5, period_s=5280.0), 100, lambda t: fan(t) + p(t), seed)


@pytest.mark.parametrize("seed", [4, 6])
def test_a_pulse_falling_for_0_3_s_is_not_rapid(seed):
    # was RAPID at +0.71 s on both parts (det_fast's step-vs-line classifier took the 0.3 s ramp for a
    # line); now RAPID first asks whether the fall still goes on at its own rate: it stopped
    assert alarms(0.3, seed) == []


@pytest.mark.parametrize("seed", [4, 6])
def test_the_same_pulse_falling_within_0_1_s_is_not_rapid(seed):
    # the control case: the spec's 0.1 s drop on the same parts raises only EV_TRANSIENT
    assert alarms(0.1, seed) == []


def step_alarms(fall_s, seed):
    """A hatch equalisation that stays: -85 Pa reached linearly over fall_s, no recovery, 916 m3, 3 Pa / 55 s fan."""
    fan = S.cycle(55.0, 3.0)
    step = lambda t: 0.0 if t < PULSE_S else -85.0 * min((t - PULSE_S) / fall_s, 1.0)   # noqa: E731
    return run_alarms(S.module(amplitude_c=0.7, period_s=5400.0), 916, lambda t: fan(t) + step(t), seed)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_hatch_step_reached_over_0_6_s_is_not_rapid(seed):
    # was RAPID at +0.71-0.76 s on every part; a fast fall now waits ~0.9 s from its onset and asks
    # whether it still falls: this one stopped 0.3 s before
    assert step_alarms(0.6, seed) == []
