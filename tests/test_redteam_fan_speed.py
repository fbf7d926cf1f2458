"""A cabin fan that changes speed (issue 9: 0 false alarms; checked by the red team on situations nobody tuned
for). Fans are switched between low and high speed; the pressure wave they make keeps its size and changes its
period, and no air moves. The streams are the habitat's physics (a 916 m3 orbit day, +-0.6 K) with a 3 Pa fan
whose period changes at 2 h (phase-continuous), read through the BMP280 emulator's per-part errors.

Measured on main df77420 (the fan from 90 s to 45 s at 2 h, 40 minutes on): at 44 ms a LEAK 32-35 s after the
change on 3 of 6 parts (1, 3, 6), the statistic at 200 % (held as SUSPECT) on the others; at 200 ms a LEAK on
both parts tried (+83 / +41 s). 60 s to 30 s: a LEAK on 1 of 2 parts; 45 s to 90 s: 1 of 2; 55 to 75 s, 90 to
60 s, 60 to 45 s, an amplitude step 3 to 6 Pa and a fan off for 10 minutes and on again: held as SUSPECT, no
LEAK (2 parts each). The locked notch keeps subtracting the old wave while the new one beats against it. The
strict xfail goes when it is fixed. Through `safehaven sim` on a recording of the same day (3 nodes at 200 ms,
/tmp/redteam3/fan/f.toml): every node LEAK 41-124 s after the change, the ground ISOLATE at +97 s.

Diagnosed (session of 2 Dec 2026): after the switch the lock holds for ~3 of the new periods (crossings off the lock
count against it) while the new wave beats against the old prediction, up to twice its amplitude; the stopped-fan
test flips between "stopped" (half the prediction out, |prediction| allowed for, too little for the beat) and
"there" (nothing allowed for).

Fixed (docs/detection.md section 1): while locked, what is left with the prediction taken out is measured (the
variance of that residual about its mean over 16 blocks, beyond 3x the white block noise's: sqrt 2 x its excess sd
x 5/4) and the CUSUMs allow for it (FanNotch.odd; not the telemetry's rise floor, which made a repress's rate 0 for
~35 s) until the lock goes. Highest statistic after the change at 200 ms: 22 / 23 % (90 -> 45 s, parts 1 / 3),
28 / 30 % (60 -> 30 s); the strict xfail passed and was removed. 45 -> 90 s (a fan slowing down) was still a LEAK
167 s after the change on part 1 (161 %; part 3: 19 %; main df77420 raised a LEAK on 1 of 2 parts too): the residual
allowance was 0 whenever the residual's variance over 16 blocks dipped below 3x the white noise's, which it does
between the slow new wave's crests (2.7 Pa allowed, then 0.1 Pa in its trough). Fixed (notch, 2 Dec 2026): the
allowance is held at its last peak and fades out over 32 blocks (FanNotch._beat); no alarm on part 1, and its strict
xfail (this test) XPASSed and was removed."""
import math

import pytest

import detector as D
import habitat_streams as S

CHANGE_S = 2 * 3600.0


class Fan:
    """A 3 Pa fan of before_s, of after_s from CHANGE_S on, its phase continuous."""

    def __init__(self, before_s, after_s):
        self.before_s, self.after_s = before_s, after_s
        self.phase = 0.0
        self.last_t = 0.0

    def __call__(self, t):
        self.phase += 2 * math.pi * (t - self.last_t) / (self.before_s if t < CHANGE_S else self.after_s)
        self.last_t = t
        return 3.0 * math.sin(self.phase)


def alarms(before_s, after_s, node_id, ms):
    truth = S.Truth(S.module(amplitude_c=0.6), extra=Fan(before_s, after_s))
    det = D.Detector(sample_ms=ms, params={"volume_l": 916000})
    events = S.run(det, truth, S.emulator_part(node_id), ms, CHANGE_S + 600.0)
    return [(round(t - CHANGE_S, 1), ev) for t, ev in events if ev in (D.EV_LEAK_DETECTED, D.EV_RAPID)]


@pytest.mark.parametrize("node_id", [1, 3])
def test_a_fan_switching_speed_is_no_leak(node_id):
    assert alarms(90.0, 45.0, node_id, 200) == []


@pytest.mark.parametrize("node_id", [1, 3])
def test_a_fan_that_keeps_its_speed_is_no_leak(node_id):
    # the control: the same parts and day, the fan staying at 90 s
    assert alarms(90.0, 90.0, node_id, 200) == []


def test_a_fan_slowing_down_is_no_leak():
    assert alarms(45.0, 90.0, 1, 200) == []
