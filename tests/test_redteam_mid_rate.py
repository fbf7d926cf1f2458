"""The telemetry rate of a leak between the slow path and RAPID (issue 9 item 3; checked on situations nobody tuned
for by the red team): 0.3-1 Pa/s, 30-100 kg/day in a 100 m3 module (a 1.8-3 mm hole). Issue 9: a slow leak's
telemetry rate within 30 % of the true compensated dP/dt within 10 minutes of detection (falls of 1 Pa/s or more:
within 20 % within 2 s). The habitat's physics (a +-0.6 K orbit, a choked hole from 40 minutes in) with a 3 Pa,
55 s cabin fan, through the BMP280 emulator's per-part errors, at the scenarios' 200 ms.

Measured on main df77420, from 10 to 25 minutes after the LEAK: 0.6 Pa/s, parts 1 / 2 / 3 / 4: single frames at
-0.96..-1.09 Pa/s (+56..+85 %) every few minutes (2-23 of ~450 frames, 2 s apart); 0.8 Pa/s: up to +56..+67 %; 0.4 Pa/s: within
30 % (3 parts). The fast rung (the least-squares slope of the last 64 samples: 12.8 s at 200 ms) speaks whenever
its slope is significant, and its samples still carry the fan: the fan's falling flank (3 Pa x 2 pi / 55 s =
0.34 Pa/s) adds to the leak's. Without the fan: -18..+32 % / -28..+36 % (parts 1 / 2); at 44 ms, part 5: -13..+14 %.
The fan is common to a zone's nodes, so their frames go off together. Fixed (docs/detection.md section 5): in a
LEAK the fast rung speaks only when it differs from the leak's rate by its floor (5 standard errors and the fan's
steepest slope), and the fall tracker starts no new window in a LEAK (one found in a slow leak's ring read
+30..+50 %); parts 1-4 within 30 % (0.8 Pa/s on part 1 too); the strict xfail is gone."""
import pytest

import detector as D
import habitat_streams as S
from safehaven.hil.physics import Leak

MS = 200
VOLUME_M3 = 100.0


def late_rates(rate_pa_s, node_id):
    """(seconds after LEAK, telemetry rate, true rate) every 2 s from 10 to 25 minutes after the LEAK."""
    onset = 2400.0 + 0.37 * node_id
    kg_day = rate_pa_s * VOLUME_M3 / (287.05 * 295.15) * 86400
    truth = S.Truth(S.module(volume_m3=VOLUME_M3, amplitude_c=0.6),
                    leaks=[Leak("m", onset_s=onset, diameter_mm=S.leak_hole_mm(kg_day))], extra=S.cycle(55.0, 3.0))
    tel = []
    S.run(D.Detector(sample_ms=MS, params={"volume_l": VOLUME_M3 * 1000}), truth, S.emulator_part(node_id), MS,
          onset + 1560.0, every_s=2.0,
          on_block=lambda t, d: tel.append((t, d.state, d.rate_e5 / 1e5, truth.rate_pa_s())) if t > onset else None)
    found = next((t for t, state, _, _ in tel if state >= D.LEAK), None)
    assert found is not None and found < onset + 60.0, "the leak was not found within a minute"
    return [(round(t - found), rate, true) for t, _, rate, true in tel if found + 600.0 <= t <= found + 1500.0]


@pytest.mark.parametrize("node_id", [1, 2])
def test_a_0_6_pa_s_leak_rate_holds_from_10_minutes(node_id):
    off = [(dt, round(rate, 3), round(true, 3)) for dt, rate, true in late_rates(0.6, node_id)
           if abs(rate / true - 1) > 0.3]
    assert off == [], off[:6]


@pytest.mark.parametrize("node_id", [1, 2])
def test_a_0_4_pa_s_leak_rate_holds_from_10_minutes(node_id):
    # the control: 0.4 Pa/s on the same parts stays within 30 %
    off = [(dt, round(rate, 3), round(true, 3)) for dt, rate, true in late_rates(0.4, node_id)
           if abs(rate / true - 1) > 0.3]
    assert off == [], off[:6]
