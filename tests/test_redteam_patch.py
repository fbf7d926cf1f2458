"""A rapid leak the crew partly patch (issue 9: no leak missed; rates of falls >= 1 Pa/s within 20 % within 2 s;
checked by the red team on situations nobody tuned for). A 15 mm hole in a 100 m3 module (-21.4 Pa/s), a minute
later stopped down to 4 mm (a patch over part of it, a valve half closed): the module still loses -1.5 Pa/s,
~150 kg/day, for hours. docs/detection.md section 2: "RAPID ends when the fall has ... one that slows below
2.5 Pa/s is the slow path's LEAK". The habitat's physics, a 3 Pa fan, the BMP280 emulator's per-part errors.

Measured on main df77420 (44 ms): RAPID, then EV_LEAK_CLEARED 3.3-3.4 s after the patch and NOMINAL for 71-72 s
(telemetry -7.1 Pa/s, the RAPID's stale rate, while NOMINAL, then 0, then the fall) before EV_LEAK_DETECTED at
+74..+75 s; at 200 ms, cleared at +13 s and NOMINAL for 166 s. 20 mm stopped down to 6 mm (-3.3 Pa/s left):
cleared, NOMINAL for 10 s; 15 mm to 2 mm (-0.38 Pa/s, 38 kg/day): NOMINAL for 134 s. The crew who patched it are
told the leak cleared. 25 to 8 mm in 30 m3 (~20 Pa/s left) stays RAPID. Fixed: RAPID that slows but keeps falling beyond transient_pa_s for two more fast
rings hands over to LEAK (docs/detection.md section 2); the strict xfail is gone."""
import math

import pytest

import detector as D
import habitat_streams as S
from safehaven.hil.physics import Leak

MS = 44
ONSET_S, PATCH_AFTER_S = 1500.37, 60.0


def after_patch(node_id, big_mm=15.0, small_mm=4.0):
    """(seconds after the patch, state) each second for 200 s, and the events after the patch."""
    rest_mm = 2.0 * math.sqrt(((big_mm / 2) ** 2 - (small_mm / 2) ** 2))     # the patched part: areas add
    patch_s = ONSET_S + PATCH_AFTER_S
    leaks = [Leak("m", onset_s=ONSET_S, diameter_mm=small_mm), Leak("m", onset_s=ONSET_S, diameter_mm=rest_mm, end_s=patch_s)]
    truth = S.Truth(S.module(volume_m3=100.0, amplitude_c=0.6), leaks=leaks, extra=S.cycle(55.0, 3.0))
    states = []
    events = S.run(D.Detector(sample_ms=MS, params={"volume_l": 100000}), truth, S.emulator_part(node_id), MS,
                   patch_s + 200.0, on_block=lambda t, d: states.append((round(t - patch_s), d.state)) if t > patch_s else None)
    assert any(ev == D.EV_RAPID and ONSET_S < t < patch_s for t, ev in events), "the hole was not RAPID"
    return states, [(round(t - patch_s, 1), ev) for t, ev in events if t > patch_s]


@pytest.mark.parametrize("node_id", [1, 2])
def test_a_partly_patched_hole_is_never_reported_cleared(node_id):
    states, events = after_patch(node_id)
    assert D.EV_LEAK_CLEARED not in [ev for _, ev in events], events
    assert [(dt, s) for dt, s in states if dt >= 3 and s < D.LEAK] == []


@pytest.mark.parametrize("node_id", [1, 2])
def test_an_unpatched_hole_stays_rapid(node_id):
    # the control: the same hole left open stays RAPID on the same parts
    states, events = after_patch(node_id, small_mm=15.0)
    assert D.EV_LEAK_CLEARED not in [ev for _, ev in events], events
    assert [(dt, s) for dt, s in states if s != D.RAPID] == []
