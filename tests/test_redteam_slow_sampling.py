"""A node sampling once a second (sample_period_ms = 1000: a battery node, or a board whose link is slow) on a
habitat's long day (issue 9: the thermal cycle and a 3 Pa cabin fan must raise nothing; checked by the red team at
sample periods nobody tuned for). A sealed 916 m3 module on the +-0.6 K, 93-minute orbit with a 3 Pa fan of 55 or
61 s, nothing leaking, read through the BMP280 emulator's per-part errors for the node id.

Measured on main de8928f (the detector under CPython, 8 h each): at 1,000 ms 2 of 12 parts raised a false LEAK,
part 2 with a 55 s fan at 25,020 s (rate -0.175 Pa/s, 160 kg/day) and part 4 with a 61 s fan at 22,689 s
(-0.150 Pa/s, 137 kg/day), each cleared ~18 minutes later. In both the fan notch lost its lock
(~24,750 s / ~22,300 s) and locked again on twice the fan's period (phase step 603 for a 55 s fan: 108.7 s; 503 for
61 s: 130 s) about 40 s before the LEAK: the subtracted wave is then wrong and its difference is read as a fall.
At 500 ms the same parts and fans raise nothing (highest statistic 31-54 %; the controls). Through `safehaven sim`
(3 nodes at 1,000 ms, ids 1-3, 55 s fan, 8 h) nothing, so it is a chance per part-day, not every day. The strict
xfail went when the notch stopped locking on twice the fan's period: before it locks it compares the ring's wave at
the period agreed and at half of it, and takes the half when that is stronger (notch branch: 12 parts x 55 / 61 s x 8 h
at 1,000 ms, no LEAK, highest statistic 26-61 %; the notch still loses its lock every few minutes there, as the
crossings' noise is near their hysteresis at one sample a block).

A real slow leak on the same day at 1,000 ms (measured on main 21159c0): 0.9 kg/day (9.6e-4 Pa/s) from 3 h on, with
the 55 s fan. Part 1: LEAK at +2,493 s, its refined LEAK event (+4,161 s) +51 %, telemetry +34..+88 % in every frame from 10
minutes after the LEAK to the end (+5,400 s); part 3: LEAK at +1,382 s, EV_LEAK_CLEARED at +1,982 s while the
leak goes on, LEAK again at +3,570 s, then +61..+65 %. Without the fan at 1,000 ms: within -19..+18 % (+32 % in
one frame); part 1 at 500 ms or 200 ms with the fan (the control): within -14..+18 %, event -14 % / -4 %.
The strict xfails go when a slow leak's figures at 1 s hold as they do at 500 ms."""
import pytest

import detector as D
import habitat_streams as S
from safehaven.hil.physics import Leak


def leaks(node_id, fan_s, sample_ms, end_s):
    truth = S.Truth(S.module(volume_m3=916.0, amplitude_c=0.6), extra=S.cycle(fan_s, 3.0))
    events = S.run(D.Detector(sample_ms=sample_ms, params={"volume_l": 916000}), truth, S.emulator_part(node_id),
                   sample_ms, end_s)
    return [(round(t), ev) for t, ev in events if ev in (D.EV_LEAK_DETECTED, D.EV_RAPID)]


@pytest.mark.slow
@pytest.mark.parametrize("node_id, fan_s, end_s", [(2, 55.0, 25100.0), (4, 61.0, 22750.0)])
def test_a_node_sampling_once_a_second_raises_no_leak(node_id, fan_s, end_s):
    assert leaks(node_id, fan_s, 1000, end_s) == []


@pytest.mark.slow
@pytest.mark.parametrize("node_id, fan_s, end_s", [(2, 55.0, 25100.0)])
def test_the_same_part_sampling_twice_a_second_raises_no_leak(node_id, fan_s, end_s):
    # the control: the same part, fan and day at 500 ms
    assert leaks(node_id, fan_s, 500, end_s) == []


LEAK_ONSET_S = 3 * 3600.0


def slow_leak(node_id, sample_ms, end_s=LEAK_ONSET_S + 5400.0):
    """(events after the onset, (s after onset, telemetry / true rate - 1) every 10 s from 10 min after the LEAK)."""
    truth = S.Truth(S.module(volume_m3=916.0, amplitude_c=0.6), extra=S.cycle(55.0, 3.0),
                    leaks=[Leak("m", onset_s=LEAK_ONSET_S, diameter_mm=S.leak_hole_mm(0.9))])
    rows = []

    def on_block(t, det):
        if t > LEAK_ONSET_S and det.state >= D.LEAK and round(t) % 10 == 0:
            rows.append((round(t - LEAK_ONSET_S), round(det.rate_e5 / 1e5 / truth.rate_pa_s() - 1, 2)))
    events = S.run(D.Detector(sample_ms=sample_ms, params={"volume_l": 916000}), truth, S.emulator_part(node_id),
                   sample_ms, end_s, on_block=on_block)
    after = [(round(t - LEAK_ONSET_S), ev) for t, ev in events if t > LEAK_ONSET_S]
    assert rows, "never LEAK"
    return after, [(dt, err) for dt, err in rows if dt >= rows[0][0] + 600]


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="redteam: 0.9 kg/day in 916 m3 at sample_period_ms 1000 with a 3 Pa, 55 s fan: "
                   "part 1's telemetry +29..+62 % in 229 of 231 frames from 10 minutes after the LEAK (main "
                   "4890d73 and branch rates alike; +51 % in its refined event). Not the rate's window: the "
                   "thermal fit learnt the leak's first 40 minutes, before the LEAK at +2,485 s, as tempco (-0.33 "
                   "-> -1.03 Pa/K; the part's -0.26): the level the windows see falls 0.77 Pa/K x dT/dt too fast "
                   "over half an orbit (fitted with T over the whole leak: 0.98 of the truth)")
def test_a_slow_leaks_rate_at_one_sample_a_second_holds():
    _, errors = slow_leak(1, 1000)
    off = [(dt, err) for dt, err in errors if abs(err) > 0.3]
    assert off == [], f"{len(off)} of {len(errors)} frames off by more than 30 %: {off[:3]}"


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="redteam: 0.9 kg/day in 916 m3 at sample_period_ms 1000 with a 3 Pa, 55 s fan: "
                   "part 3 LEAK at +1,285 s, EV_LEAK_CLEARED at +1,885 s while it leaks on, LEAK again at +3,741 s, "
                   "cleared again at +4,534 s (main 4890d73 and branch rates alike). The clear rule's first branch: "
                   "the loss since the onset, 0-65e-5 Pa/s for the true 96e-5 (the thermal fit, as part 1), is not "
                   "3 standard errors out; at 1 s a 32-entry slope's standard error is ~the leak's own rate")
def test_a_slow_leak_at_one_sample_a_second_is_not_cleared():
    events, _ = slow_leak(3, 1000)
    assert D.EV_LEAK_CLEARED not in [ev for _, ev in events], events


@pytest.mark.slow
def test_the_same_slow_leak_at_two_samples_a_second_holds():
    # the control: part 1, the same leak and fan, at 500 ms
    events, errors = slow_leak(1, 500)
    off = [(dt, err) for dt, err in errors if abs(err) > 0.3]
    assert off == [] and D.EV_LEAK_CLEARED not in [ev for _, ev in events], (off[:3], events)
