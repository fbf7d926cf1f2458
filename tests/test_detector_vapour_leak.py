"""A real leak while a crew's vapour moves is still a leak (firmware/det_vapour.py; docs/detection.md section 3,
"Water vapour"). While the humidity moves, the CUSUMs allow for how far the held vapour may be off (its band and its
EMA's lag, each side: 11-13 Pa at a +3 %RH exercise's rates), so a slow leak waits; a leak as fast as the vapour's
own drying must not. The day is tests/test_redteam_humidity.py's (100 m3, +-0.6 K orbit, 3 Pa 60 s fan, 200 ms, the
emulator's BMP280 and SCD4x per-part errors), +7 %RH (185 Pa of vapour) up over 45 min from 3,600 s and dried back
over 1 h from 6,300 s; the leak (hil.physics, a hole) starts at the turn from the rise to the drying (6,300 s: the
held vapour's error changes sides there, 14 Pa in a few minutes; bench/vapour_probe.py) or in the drying (7,200 s).

Measured on main 59d290d, first LEAK after the onset (the rate it reported; the truth's -0.049 / -0.020 Pa/s):
5 kg/day at 6,300 s: part 1 +210 s (-0.105), part 2 +211 s (-0.113); at 7,200 s: +169 s (-0.043), +121 s (-0.045).
2 kg/day at 6,300 s: +390 s (-0.053), +387 s (-0.054); at 7,200 s: +436 s (-0.051), +304 s (-0.050).
The bound below is the time such a leak takes to lose what the vapour's allowance can hide and the CUSUMs' own
delay at that allowance, not a measured figure: 15 minutes (2 kg/day: 18 Pa in 15 min, against the 13 Pa allowance).
At the turn the rate the LEAK reports carries the held vapour's lag too (2.1-2.7x the truth): a strict xfail."""

import pytest

import detector as D
import habitat_streams as S
from safehaven.hil.physics import Leak

VOLUME_M3 = 100.0
BOUND_S = 900.0


def first_leak(node_id, kg_day, onset_s):
    """(s from the onset to the first LEAK, the rate it reported in Pa/s, the truth's rate) on the exercise day."""
    crew, fan = S.exercise_vapour(7.0), S.cycle(60.0, 3.0)
    truth = S.Truth(S.module(volume_m3=VOLUME_M3), extra=lambda t: crew(t) + fan(t),
                    leaks=[Leak("m", onset_s=onset_s, diameter_mm=S.leak_hole_mm(kg_day))])
    det = D.Detector(sample_ms=200, params={"volume_l": int(VOLUME_M3 * 1000)})
    found = []

    def on_event(t, ev, d):
        if ev == D.EV_LEAK_DETECTED and not found:
            found.append((t - onset_s, d.rate_e5 / 1e5))

    events = S.run(det, truth, S.emulator_part(node_id), 200, onset_s + BOUND_S + 60.0,
                   scd=S.Hygrometer(node_id, S.sealed_vapour(extra=crew)), on_event=on_event)
    before = [t for t in S.alarm_times(events) if t < onset_s]
    assert before == [], before                     # nothing before the hole (the day alone raises nothing)
    assert found, "no LEAK within %d s of the onset" % BOUND_S
    return found[0][0], found[0][1], truth.rate_pa_s()


@pytest.mark.parametrize("node_id,kg_day,onset_s", [(1, 5.0, 6300.0), (2, 5.0, 7200.0), (2, 2.0, 6300.0),
                                                    (1, 2.0, 7200.0)])
def test_a_leak_while_the_vapour_moves_is_found(node_id, kg_day, onset_s):
    delay, _, _ = first_leak(node_id, kg_day, onset_s)
    assert 0 < delay <= BOUND_S


# (part 1, this test's first case, XPASSed on the thermal branch (671da75) for no good reason: its LEAK came at +663 s,
# not +210 s, when the held vapour's lag had passed: -0.046 Pa/s, 0.94x. Part 2 keeps the weakness: the same there.)
@pytest.mark.xfail(strict=True, reason="a leak starting at the turn of a +7 %RH exercise (5 kg/day in 100 m3, truth "
                   "-0.049 Pa/s) is a LEAK at +209 s (part 2) reporting -0.111 Pa/s, 2.3x the truth (main 59d290d: +211 s, "
                   "-0.113; part 1 on main +210 s, -0.105, 2.1x; 2 kg/day: 2.6-3.3x): the held vapour's error changes "
                   "sides at the turn (band + the EMA's 75 s lag, 14 Pa over a few minutes) and the rate at the alarm "
                   "carries it")
def test_the_rate_of_a_leak_at_the_vapours_turn_is_its_own():
    _, rate, truth = first_leak(2, 5.0, 6300.0)
    assert abs(rate / truth - 1.0) < 0.5, (rate, truth)
