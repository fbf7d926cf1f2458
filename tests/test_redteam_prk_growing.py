"""An ISS-like PrK leak whose rate changes (issue 9 item 3: for a slow leak the telemetry rate_pa_s is within 30 % of
the true compensated dP/dt within 10 minutes of detection; checked by the red team on a leak nobody tuned for).
916 m3 on the +-0.6 K, 93-minute orbit with a 3 Pa, 55 s fan; after 3 h a hole opens losing 0.5 kg/day and grows
(linearly in area) to 2 kg/day over 2 h, as the PrK crack's rate did between hatch closures. The physics of
hil.physics read through the BMP280 emulator's per-part errors for the node id, at 200 ms (the shipped slow
scenarios' rate), once a second as the telemetry is sent.

Measured on main eb47104: LEAK at +624 s (part 1) / +901 s (part 2); the telemetry then reports the slope since the
onset, the mean of a rate that has grown since: from ~+2,100 s it is 30-44 % slow (at +6,360 s: 1.0-1.1 kg/day
reported, 1.83 true) until the rate-change rule takes over at ~+6,600 s (then -10..-17 %). Part 1's refined LEAK
event carried 0.61 kg/day against 0.89 (-32 %). The same parts with a constant 1 kg/day leak (the control): within
-6..+19 % from 10 minutes after the LEAK. Through `safehaven sim` (the same leak as a physics zone's
[[leak]] with grow_to_kg_day, 3 nodes at 200 ms, CPython): "node N rate within 30% by t=12600" fails on all three
(1,859 / 1,907 / 1,498 of 4,800 frames outside, worst -45 % at 17,313 s). Until the fourteenth session a strict
xfail: the telemetry followed the leak's bend (det_rate's trend) from ~+2,600 s, but before that the slope since the
onset was 31-32 % slow in 14 of 520 frames (+1,600 s, +2,070..+2,510 s). With the thermal fit over 192 segments
(~3.4 h) instead of 96 every frame is within 30 %, the worst -29.6 % at +2,440 s: at the edge, not with a margin."""
import pytest

import detector as D
import habitat_streams as S
from safehaven.hil.physics import Leak

MS = 200          # part 2 measured the same (-43 % at +6,490 s); one part keeps the test lean
ONSET_S = 10800.0
END_S = ONSET_S + 6500.0


def rate_errors(node_id, kg_day, grow_to_kg_day):
    """(seconds after the onset, telemetry rate / true rate - 1) every 10 s from 10 minutes after the first LEAK."""
    leak = Leak("m", onset_s=ONSET_S, diameter_mm=S.leak_hole_mm(kg_day), grow_to_mm=S.leak_hole_mm(grow_to_kg_day),
                grow_s=7200.0)
    truth = S.Truth(S.module(volume_m3=916.0, amplitude_c=0.6), leaks=[leak], extra=S.cycle(55.0, 3.0))
    rows = []

    def on_block(t, det):
        if t > ONSET_S and det.state >= D.LEAK and round(t) % 10 == 0:
            rows.append((round(t - ONSET_S), det.rate_e5 / 1e5 / truth.rate_pa_s() - 1))
    S.run(D.Detector(sample_ms=MS, params={"volume_l": 916000}), truth, S.emulator_part(node_id), MS, END_S,
          on_block=on_block)
    assert rows, "never LEAK"
    return [(dt, round(err, 2)) for dt, err in rows if dt >= rows[0][0] + 600]


@pytest.mark.slow
@pytest.mark.parametrize("node_id", [1])
def test_the_rate_of_a_growing_prk_leak_holds(node_id):
    off = [(dt, err) for dt, err in rate_errors(node_id, 0.5, 2.0) if abs(err) > 0.3]
    assert off == [], f"{len(off)} frames off by more than 30 %: {off[:3]} .. {off[-3:]}"


@pytest.mark.slow
@pytest.mark.parametrize("node_id", [1])
def test_the_rate_of_a_steady_prk_leak_holds(node_id):
    # the control: the same parts and day, 1 kg/day throughout
    off = [(dt, err) for dt, err in rate_errors(node_id, 1.0, 1.0) if abs(err) > 0.3]
    assert off == [], f"{len(off)} frames off by more than 30 %: {off[:3]} .. {off[-3:]}"
