"""The water vapour's pressure as a regressor of the level (firmware/det_vapour.py, det_thermal.py; docs/detection.md
section 3, "Water vapour"). The BMP280 reads dry air plus water vapour (Dalton); the SCD4x's RH and its own temperature
give the vapour's part, e = RH x es(T) (Magnus). The physics here is habitat_streams' (gas law, orbit, the emulator's
per-part BMP280 errors); the SCD4x readings carry hil/emu/scd4x.py's per-part RH and temperature errors and noise
(habitat_streams.Hygrometer). Expectations come from the truth."""

import pytest

import det_vapour as V
import detector as D
import habitat_streams as S
from safehaven.hil.physics import Leak

magnus_pa = S.saturation_pa


@pytest.mark.parametrize("t_c100", [-1000, -537, 0, 1234, 2200, 2250, 2299, 3750, 5999])
def test_the_saturation_table_follows_the_magnus_formula(t_c100):
    # quadratic through the kelvin table (entries rounded to 0.25 Pa, two floor divisions): within 0.75 Pa
    # everywhere in -10..60 degC (0.61 Pa at worst, 0.02 % of es there; x RH, the vapour's error is less)
    assert abs(V.saturation_q2(t_c100) / 4.0 - magnus_pa(t_c100 / 100.0)) <= 0.75


def test_the_vapour_pressure_is_rh_times_saturation():
    # 40 %RH at 22 degC: 1,058 Pa; the ends clamp (0 and 100 %RH)
    assert abs(V.vapour_q2(2200, 4000) / 4.0 - 0.4 * magnus_pa(22.0)) <= 0.5
    assert V.vapour_q2(2200, -5) == 0
    assert V.vapour_q2(2200, 12000) == V.vapour_q2(2200, 10000)


def day(node_id, vapour_pa, in_pressure, end_s=10800.0, on_block=None):
    """100 m3, +-0.6 K orbit, a 3 Pa 60 s fan, 200 ms; vapour_pa(t) Pa of a crew's vapour in the SCD's air, and in
    the pressure when in_pressure."""
    fan = S.cycle(60.0, 3.0)
    scd = S.Hygrometer(node_id, S.sealed_vapour(extra=vapour_pa))
    return S.day_alarms(node_id, lambda t: (vapour_pa(t) if in_pressure else 0.0) + fan(t), 100.0, 200, end_s,
                        scd=scd, on_block=on_block)


@pytest.mark.parametrize("node_id", [3, 4])
def test_a_crews_vapour_is_fitted_and_taken_out(node_id):
    # +4 %RH (106 Pa) and back, no air lost: no alarm, and the coefficient fitted is the physics' 1 Pa/Pa
    det, alarms = day(node_id, S.exercise_vapour(4.0), True)
    assert alarms == []
    assert det.thermal.vap_known and abs(det.thermal.vap / 4096.0 - 1.0) < 0.1


@pytest.mark.parametrize("node_id", [1, 2])
def test_humidity_that_moves_without_its_vapour_in_the_pressure_raises_no_leak(node_id):
    # (a recording whose RH column moves while its pressure does not carry it): the coefficient is fitted
    # near 0, and until then the swing is allowed for, not corrected wrongly
    det, alarms = day(node_id, S.exercise_vapour(3.0), False)
    assert alarms == []
    assert det.thermal.vap_known and abs(det.thermal.vap) / 4096.0 < 0.2


def leak_delay(node_id, hygrometer, sample_ms=200):
    """0.9 kg/day in 916 m3 after 3 h of the orbit (3 Pa 60 s fan): s from onset to LEAK."""
    onset = 10800.0
    truth = S.Truth(S.module(), leaks=[Leak("m", onset_s=onset, diameter_mm=S.leak_hole_mm(0.9))], extra=S.cycle(60.0, 3.0))
    det = D.Detector(sample_ms=sample_ms, params={"volume_l": 916000})
    events = S.run(det, truth, S.emulator_part(node_id), sample_ms, onset + 2400.0, scd=hygrometer)
    return [round(t - onset) for t in S.alarm_times(events)][:1]


def test_a_steady_humidity_costs_the_slow_path_nothing():
    # a sealed module's vapour (follows the gas law, the SCD's RH offset and noise on), and a simulator's zone
    # that holds RH at 40 % while T swings (+-39 Pa of e the pressure never carries): the slow leak is found
    # when it is without an SCD4x (part 2: 715 s)
    without = leak_delay(2, None)
    assert without == leak_delay(2, S.Hygrometer(2, S.sealed_vapour()))
    assert without == leak_delay(2, S.Hygrometer(2, lambda t, tc: 0.4 * S.saturation_pa(tc)))
