"""A node that boots into a leak already running (firmware/det_boot.py, docs/detection.md section 3): a 100 m3
module on the +-0.6 K orbit with a 3 Pa, 60 s fan, 0.01 Pa/s (~1 kg/day) leaking since 10 minutes before the
boot, the BMP280 emulator's per-part errors, 200 ms. While the first level is learnt the CUSUMs compare the level
with a baseline that follows it down; the long ring's slope is a leak once it falls beyond 5 of its standard
errors and beyond what the tempco, lag and vapour priors could make over the same entries.

Seen failing first, on main 0f38649 without the rule: LEAK at +750 / +795 / +813 s after boot on parts 1, 2, 3
(the fan's wave holds the learning's noise measure up; without the fan +211 / +297 / +255 s). With it +464 /
+496 / +480 s (the window starts again at the notch's lock, ~+260 s). And the control: the same boots with no
leak, at points of the orbit where the temperature turns and where it moves fastest, raise nothing in the
first 40 minutes (bench probe over 8 parts x 5 boot times: none)."""
import pytest

import detector as D
import habitat_streams as S
from safehaven.hil.physics import Leak

MS = 200
VOLUME_M3 = 100.0
RATE_PA_S = 0.01


def boot(node_id, boot_s, rate_pa_s, fan_pa, seconds, crew=None):
    """(alarm times after the boot, detector, truth) for a node booting at boot_s; crew(t): a crew's vapour (Pa), in
    the pressure and in the SCD4x's readings."""
    leaks = []
    if rate_pa_s:
        kg_day = rate_pa_s * VOLUME_M3 / (287.05 * 295.15) * 86400.0
        leaks = [Leak("m", onset_s=boot_s - 600.0, diameter_mm=S.leak_hole_mm(kg_day))]
    fan = S.cycle(60.0, fan_pa)
    truth = S.Truth(S.module(volume_m3=VOLUME_M3), leaks=leaks, extra=lambda t: fan(t) + (crew(t) if crew else 0.0))
    det = D.Detector(sample_ms=MS, params={"volume_l": int(VOLUME_M3 * 1000)})
    scd = S.Hygrometer(node_id, S.sealed_vapour(extra=crew)) if crew else None
    events = S.run(det, truth, S.emulator_part(node_id), MS, boot_s + seconds, start_s=boot_s, scd=scd)
    return [t - boot_s for t in S.alarm_times(events)], det, truth


@pytest.mark.slow
@pytest.mark.parametrize("node_id", [1, 2, 3])
def test_a_node_booting_into_a_leak_finds_it_within_10_minutes(node_id):
    alarms, det, truth = boot(node_id, 3000.0 + 900.0 * node_id, RATE_PA_S, 3.0, 900.0)
    assert alarms and alarms[0] <= 600.0, alarms
    assert det.state == D.LEAK
    # its rate is the leak's (the telemetry's, 5 minutes or more after the LEAK)
    assert abs(det.rate_e5 / 1e5 - truth.rate_pa_s()) <= 0.3 * abs(truth.rate_pa_s()), (det.rate_e5, truth.rate_pa_s())


@pytest.mark.slow
@pytest.mark.parametrize("node_id,boot_s,fan_pa", [(2, 5900.0, 3.0), (2, 8600.0, 3.0), (3, 5900.0, 0.0),
                                                   (3, 7600.0, 0.0), (4, 6900.0, 3.0)])
def test_a_node_booting_with_nothing_leaking_raises_nothing(node_id, boot_s, fan_pa):
    alarms, det, _ = boot(node_id, boot_s, 0.0, fan_pa, 2400.0)
    assert alarms == []


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="a node booting while a crew's vapour dries (+7 %RH in 100 m3 dried back over an "
                   "hour, -0.05 Pa/s, no air lost; SCD4x readings fed) raises a LEAK at +124..+161 s: the vapour is not "
                   "used until its temperature coefficient is fitted (~45 min), so the node is as without an SCD4x "
                   "(docs/detection.md section 3); on main before the booting rule the same")
@pytest.mark.parametrize("node_id", [1, 3])
def test_a_node_booting_while_a_crews_vapour_dries_raises_nothing(node_id):
    # booting 10 minutes into the drying
    alarms, _, _ = boot(node_id, 6900.0, 0.0, 0.0, 1200.0, crew=S.exercise_vapour(7.0))
    assert alarms == []
