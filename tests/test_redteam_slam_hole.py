"""Steps and holes together, and slams that take longer (issue 9 item 2: a sustained fall of 10 Pa/s or more is
still RAPID within 1 s at 44 ms, and a fall that stops within about a second is never RAPID; checked by the red
team against the step-or-ramp rule of the fast branch 9bd22b6 before it lands, and against main). 100 m3 on the
+-0.6 K orbit with a 3 Pa, 55 s fan, the BMP280 emulator's per-part errors for the node id, 44 ms, 10 minutes in.

A hatch slammed on a seal that gives way: a -15 or -40 Pa step within 0.1 s that stays, and from the same moment
a hole losing 10 Pa/s (compensated). Measured (parts 1, 2; RAPID after the onset):
  -15 Pa step: main f48d6fb +0.60 / +0.64 s; fast 9bd22b6 +1.30 / +1.35 s (3000 s in: +0.98..+1.15 s, parts 1-3)
  -40 Pa step: main +1.13 / +1.17 s;          fast +2.71 / +2.76 s
  no step (the control): main +0.78 / +0.73 s
A door closing over 0.3 s (-10 Pa, flowing back over 20 s; no air lost), 50 minutes in: RAPID at +0.58..+0.67 s on
parts 1-3 on main and fast alike (fast, 10 or 30 minutes in: 1 of 6 parts; over 0.1-0.2 s: EV_TRANSIENT on fast;
-20 Pa over 0.5 s: RAPID on 3 of 3 parts on fast).
The -15 Pa test passed on main 13f75d7 as a guard; the fast branch landed as 70d074f without it and it fails
since (seen on main 09bc1ec: +1.30 / +1.35 s): a strict xfail then, a regression of 70d074f, fixed by 57a921b (RAPID
also when the samples after the step's edge still fall): the guard again. The strict xfails went with the fast path's shapes (a fall that stopped,
a slam and a line; branch fast on main 4890d73): over 50 parts a hole behind a -40 Pa step is RAPID at +0.82..+0.86 s
(was +1.13..+1.17 s), 21.4 Pa/s behind -80 Pa +0.78..+0.82 s (was +1.17..+1.35 s), behind -15 Pa +0.56..+0.82 s; a
door closing over 0.3 s is RAPID on 5 parts of 50 (was 13 in the same probe), over 0.5 s on 2 (was 49), over 0.7 s
-40 Pa on 18 (was 50)."""
import math

import pytest

import detector as D
import habitat_streams as S
from safehaven.hil.physics import Leak

MS = 44
AT_S = 600.0


def step(drop_pa, fall_s, tau_s, at_s):
    """-drop_pa over fall_s from at_s, flowing back as e^(-t/tau_s) (tau_s None: it stays)."""
    def f(t):
        x = t - at_s
        if x < 0:
            return 0.0
        if x < fall_s:
            return -drop_pa * x / fall_s
        return -drop_pa * (1.0 if tau_s is None else math.exp(-(x - fall_s) / tau_s))
    return f


def rapid_after(node_id, drop_pa, fall_s=0.1, tau_s=None, hole_pa_s=0.0, at_s=AT_S):
    """Seconds from at_s to the first EV_RAPID (None: none within 20 s)."""
    fan, pulse = S.cycle(55.0, 3.0), step(drop_pa, fall_s, tau_s, at_s)
    leaks = []
    if hole_pa_s:
        kg_day = hole_pa_s * 100.0 / (287.05 * 295.15) * 86400.0
        leaks = [Leak("m", onset_s=at_s, diameter_mm=S.leak_hole_mm(kg_day))]
    truth = S.Truth(S.module(volume_m3=100.0, amplitude_c=0.6), leaks=leaks, extra=lambda t: fan(t) + pulse(t))
    events = S.run(D.Detector(sample_ms=MS, params={"volume_l": 100000}), truth, S.emulator_part(node_id), MS,
                   at_s + 20.0)
    rapid = [t - at_s for t, ev in events if ev == D.EV_RAPID and t >= at_s]
    return round(rapid[0], 2) if rapid else None


@pytest.mark.parametrize("node_id", [1, 2])
def test_a_hole_behind_a_small_step_is_rapid_within_1_s(node_id):
    after = rapid_after(node_id, 15.0, hole_pa_s=10.0)
    assert after is not None and after <= 1.0, after


@pytest.mark.parametrize("node_id", [1, 2])
def test_a_hole_behind_a_larger_step_is_rapid_within_1_s(node_id):
    after = rapid_after(node_id, 40.0, hole_pa_s=10.0)
    assert after is not None and after <= 1.0, after


@pytest.mark.parametrize("node_id", [1, 2])
def test_the_same_hole_without_a_step_is_rapid_within_1_s(node_id):
    # the control: the same parts and hole, no step
    after = rapid_after(node_id, 0.0, hole_pa_s=10.0)
    assert after is not None and after <= 1.0, after


@pytest.mark.parametrize("node_id", [1, 2])
def test_a_door_closing_over_0_3_s_is_not_rapid(node_id):
    assert rapid_after(node_id, 10.0, fall_s=0.3, tau_s=20.0, at_s=3000.0) is None


@pytest.mark.parametrize("node_id", [1, 2])
def test_a_door_closing_over_half_a_second_is_not_rapid(node_id):
    assert rapid_after(node_id, 20.0, fall_s=0.5, tau_s=20.0, at_s=3000.0) is None
