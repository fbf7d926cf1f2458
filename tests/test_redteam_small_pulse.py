"""Small pressure steps and pulses: a door slam, a hatch latching, a valve click (issue 9 item 2: a fall that stops
within about a second is a transient, never RAPID, and never moves the ground above MONITOR; checked by the red team
on sizes nobody tuned for). The shipped tests use 85-160 Pa pulses and a 40 Pa door slam; everyday ones are a few
Pa to a few tens.

Measured on main df77420 (100 m3, a +-0.6 K orbit, a 3 Pa 55 s fan, the BMP280 emulator's per-part errors, 44 ms,
50 minutes in): -5 and -10 Pa within 0.1 s, recovering over 2 or 20 s or staying: RAPID at +0.49..+0.62 s on every
part (3 parts), refined RAPID at ~+1.4 s, cleared at ~+3.6 s; -20 Pa: RAPID on 2 of 3 parts; -3 Pa: no RAPID (the
slow path's alarm held as SUSPECT); -30, -45, -60 Pa: EV_TRANSIENT, as designed. At 200 ms: no RAPID. A step of
4-15 sigma is too small for the step-or-line test (6 sigma^2) and the 'still falling?' test (3 standard errors
of a 0.26 s slope, ~21 Pa/s), and over half a second it is a fall beyond rapid_rate_pa_s. Through `safehaven sim`
(3 nodes, -10 Pa recovering over 20 s): every node RAPID at +0.6..+0.7 s and the ground SHELTER at +1.1 s,
released to MONITOR at +9 s.

Fixed (fast path): before RAPID a fall is asked whether a ramp fits it better than a step with a free 0.1 s edge
(det_fast.ramp_over_step); a -5..-20 Pa slam is a step (EV_TRANSIENT), a hole's fall a ramp. The strict
xfail markers are gone."""
import math

import pytest

import detector as D
import habitat_streams as S
from tests.test_traces import orbit_trace, run_trace, trace_scenario

MS = 44
PULSE_S = 3000.0


def pulse(t0, drop_pa, tau_s):
    """-drop_pa within 0.1 s from t0, flowing back as e^(-t/tau)."""
    def f(t):
        x = t - t0
        if x < 0:
            return 0.0
        return -drop_pa * (x / 0.1 if x < 0.1 else math.exp(-(x - 0.1) / tau_s))
    return f


def alarms(drop_pa, node_id):
    fan, p = S.cycle(55.0, 3.0), pulse(PULSE_S, drop_pa, 20.0)
    truth = S.Truth(S.module(volume_m3=100.0, amplitude_c=0.6), extra=lambda t: fan(t) + p(t))
    events = S.run(D.Detector(sample_ms=MS, params={"volume_l": 100000}), truth, S.emulator_part(node_id), MS,
                   PULSE_S + 60.0)
    return [(round(t - PULSE_S, 2), ev) for t, ev in events if ev in (D.EV_LEAK_DETECTED, D.EV_RAPID)]


@pytest.mark.parametrize("node_id", [1, 2])
def test_a_small_door_slam_is_not_rapid(node_id):
    assert alarms(10.0, node_id) == []


@pytest.mark.parametrize("node_id", [1, 2])
def test_a_larger_door_slam_is_a_transient(node_id):
    # the control: -45 Pa, the same shape and parts, raises EV_TRANSIENT only
    assert alarms(45.0, node_id) == []


def slam_trace(at_s, end_s, drop_pa=10.0, tau_s=20.0):
    """The recording: the orbit and fan, the pulse."""
    return orbit_trace(at_s, end_s, pulse(at_s, drop_pa, tau_s))


SLAM = trace_scenario("""name = "door_slam"
description = "a -10 Pa door slam within 0.1 s, recovering over 20 s; no air lost"
duration_s = 360
step_ms = 100
expect = ["never above MONITOR", "node 1 never above SUSPECT", "node 2 never above SUSPECT",
          "node 3 never above SUSPECT"]""", "cabin", 100.0, 3)


def test_a_small_door_slam_in_the_sim_stays_at_monitor(tmp_path, sh):
    ran, _ = run_trace(sh, tmp_path, "cabin", slam_trace(300.0, 360.0), SLAM)
    assert ran.returncode == 0, ran.stdout + ran.stderr
