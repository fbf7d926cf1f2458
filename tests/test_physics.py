"""Physics model against the figures in the project's reference notes (REFERENCE.md, outside this repository;
computed independently here)."""
import math

import pytest

from safehaven.hil.physics import (Chamber, Habitat, Hatch, Leak, Zone, hole_area_m2, hole_for_rate,
                         orifice_mass_flow)

ISS_M3 = 916.0


def iss(**kw):
    return Zone("iss", ISS_M3, pressure_pa=101300, temperature_c=295 - 273.15, **kw)


def test_choked_flow_matches_reference_formula():
    a = hole_area_m2(2.0)
    p, t = 101300.0, 295.0
    assert orifice_mass_flow(p, t, 0.0, 0.6, a) == pytest.approx(0.0404 * 0.6 * a * p / math.sqrt(t), rel=2e-3)


def test_iss_2mm_hole_loses_about_39_kg_per_day():
    h = Habitat([iss()], leaks=[Leak("iss", diameter_mm=2.0)])
    assert h.leak_rate_kg_day("iss") == pytest.approx(39, rel=0.03)


def test_iss_02mm_hole_about_04_kg_per_day():
    h = Habitat([iss()], leaks=[Leak("iss", diameter_mm=0.2)])
    assert h.leak_rate_kg_day("iss") == pytest.approx(0.4, rel=0.05)


def test_10_litre_volume_with_02mm_hole_loses_about_38_pa_per_s():
    z = Zone("box", 0.010, pressure_pa=101325, temperature_c=295 - 273.15, wall_tau_s=1e-3)
    h = Habitat([z], leaks=[Leak("box", diameter_mm=0.2)])
    p0 = h.truth("box")["pressure_pa"]
    h.advance_to(1.0)
    assert p0 - h.truth("box")["pressure_pa"] == pytest.approx(38, rel=0.05)


def test_one_kg_per_day_is_about_92_pa_per_day_in_iss():
    d = hole_for_rate(1.0, 101300, 295)
    h = Habitat([iss()], leaks=[Leak("iss", diameter_mm=d)], max_substep_s=60)
    h.advance_to(86400)
    assert 101300 - h.truth("iss")["pressure_pa"] == pytest.approx(92, rel=0.05)


def test_isothermal_decay_time_constant():
    v, d = 1.0, 10.0
    z = Zone("z", v, temperature_c=295 - 273.15, wall_tau_s=1e-4)
    h = Habitat([z], leaks=[Leak("z", diameter_mm=d)], max_substep_s=0.01)
    tau = v / (199 * 0.6 * hole_area_m2(d))
    h.advance_to(tau)
    assert h.truth("z")["pressure_pa"] / 101325 == pytest.approx(math.exp(-1), rel=0.03)


def test_fast_leak_cools_gas_so_pressure_falls_faster_than_isothermal():
    def drop(wall_tau):
        z = Zone("z", 1.0, temperature_c=22, wall_tau_s=wall_tau)
        h = Habitat([z], leaks=[Leak("z", diameter_mm=20)], max_substep_s=0.01)
        h.advance_to(5.0)
        return h.truth("z")
    cooled, iso = drop(1000.0), drop(1e-4)
    assert cooled["temperature_c"] < 21.0
    assert cooled["pressure_pa"] < iso["pressure_pa"] - 100


def test_thermal_cycle_moves_pressure_by_p_over_t():
    z = Zone("z", 100, pressure_pa=101325, temperature_c=22, temp_amplitude_c=0.5, temp_period_s=5400)
    h = Habitat([z])
    h.advance_to(5400 / 4)  # peak of the sine
    dp = h.truth("z")["pressure_pa"] - 101325
    assert dp == pytest.approx(0.5 * 101325 / 295.15, rel=1e-3)


def test_leak_onset_and_growth():
    leak = Leak("z", onset_s=100, diameter_mm=1.0, grow_to_mm=2.0, grow_s=100)
    assert leak.area_m2(50) == 0
    assert leak.area_m2(100) == pytest.approx(hole_area_m2(1.0))
    assert leak.area_m2(500) == pytest.approx(hole_area_m2(2.0))


def test_crew_co2_in_closed_volume():
    z = Zone("dragon", 9.3, co2_ppm=400, crew=4)
    h = Habitat([z], max_substep_s=1.0)
    h.advance_to(3600)
    # 4 kg/day CO2 -> m³/s at the zone's molar volume; d(ppm)/dt = 1e6 * gen / V
    mol_s = 4 / 86400 / 0.04401
    molar_volume = 8.314462 * 295.15 / 101325
    expect = 400 + 1e6 * mol_s * molar_volume / 9.3 * 3600
    assert h.truth("dragon")["co2_ppm"] == pytest.approx(expect, rel=0.01)


def test_scrubber_reaches_steady_state():
    z = Zone("z", 100, co2_ppm=400, crew=3, scrub_m3_h=100)
    h = Habitat([z], max_substep_s=5.0)
    h.advance_to(86400)
    gen_m3_s = 3 / 86400 / 0.04401 * 8.314462 * 295.15 / 101325
    assert h.truth("z")["co2_ppm"] == pytest.approx(1e6 * gen_m3_s / (100 / 3600), rel=0.05)


def test_open_hatch_shares_a_leak_closed_hatch_isolates_it():
    def run(open_):
        a, b = Zone("a", 100), Zone("b", 100)
        h = Habitat([a, b], hatches=[Hatch("a", "b", open=open_)], leaks=[Leak("a", diameter_mm=5)])
        h.advance_to(60)
        return h.truth("a")["pressure_pa"], h.truth("b")["pressure_pa"]
    pa, pb = run(True)
    assert abs(pa - pb) < 1.0 and pb < 101325 - 10
    pa, pb = run(False)
    assert pb == pytest.approx(101325) and pa < 101325 - 10


def test_chamber_pump_down_then_rate_of_rise():
    z = Zone("ch", 0.010, pressure_pa=101325)
    c = Chamber("ch", pump_speed_l_s=1.0, base_pressure_pa=5.0, needle_diameter_mm=0.01, pump_on=True)
    h = Habitat([z], chamber=c, max_substep_s=0.05)
    h.advance_to(120)
    p_low = h.truth("ch")["pressure_pa"]
    assert p_low < 10
    c.pump_on, c.needle_open = False, True
    h.advance_to(220)
    rise = (h.truth("ch")["pressure_pa"] - p_low) / 100
    expected = orifice_mass_flow(101325, 295.15, 0, 0.6, hole_area_m2(0.01)) * 287.05 * 295.15 / 0.010
    assert rise == pytest.approx(expected, rel=0.02)


def test_outgassing_rise_bends_over_leak_rise_stays_linear():
    z = Zone("ch", 0.010, pressure_pa=2.0)
    c = Chamber("ch", outgassing_pa_l_s=0.05, outgassing_sat_pa=1.0)
    h = Habitat([z], chamber=c)
    h.advance_to(100)
    first = h.truth("ch")["pressure_pa"] - 2.0
    h.advance_to(200)
    second = h.truth("ch")["pressure_pa"] - 2.0 - first
    assert second < 0.8 * first


@pytest.mark.parametrize("given", ["tau", "throughput"])
def test_isolated_outgassing_is_a_plus_b_one_minus_exp(given):
    # p = a + b (1 - e^(-t/tau)), b = saturation - vapour at isolation; tau given, or sat V / Q
    z = Zone("ch", 0.010, pressure_pa=35000.0)
    kw = {"outgassing_tau_s": 200.0} if given == "tau" else {"outgassing_pa_l_s": 40.0 * 10.0 / 200.0}
    c = Chamber("ch", outgassing_sat_pa=40.0, **kw)
    h = Habitat([z], chamber=c, max_substep_s=0.05)
    a = h.truth("ch")["pressure_pa"]
    for t in (10.0, 200.0, 600.0, 2000.0):
        h.advance_to(t)
        assert h.truth("ch")["pressure_pa"] == pytest.approx(a + 40.0 * (1 - math.exp(-t / 200.0)), abs=1e-6)
    assert c.outgassing_tau(0.010) == pytest.approx(200.0)


def test_vent_returns_chamber_to_room_pressure_without_overshoot():
    z = Zone("ch", 0.010, pressure_pa=10.0)
    c = Chamber("ch", vent_open=True)
    h = Habitat([z], chamber=c)
    h.advance_to(30)
    assert h.truth("ch")["pressure_pa"] == pytest.approx(101325, rel=1e-3)
    assert h.truth("ch")["pressure_pa"] <= 101325 * (1 + 1e-9)


def test_deterministic():
    def run():
        h = Habitat([Zone("a", 10, temp_amplitude_c=0.3, crew=2)], leaks=[Leak("a", onset_s=3, diameter_mm=1)])
        h.advance_to(77.7)
        return h.truth("a")
    assert run() == run()


# --- what moves pressure that is not a leak (REFERENCE.md section 9) ---------------------------
def test_pulse_drops_at_once_recovers_and_loses_no_air():
    h = Habitat([iss()], max_substep_s=0.05)
    z = h.zones["iss"]
    m0, p0 = z.mass_kg, h.truth("iss")["pressure_pa"]
    h.pulse("iss", drop_pa=160, recover_s=60)
    h.advance_to(0.1)
    assert p0 - h.truth("iss")["pressure_pa"] == pytest.approx(160, rel=0.02)
    assert z.mass_kg + z.held_kg == pytest.approx(m0, rel=1e-12)   # moved, not lost
    h.advance_to(60.0)
    assert p0 - h.truth("iss")["pressure_pa"] == pytest.approx(160 * math.exp(-3), rel=0.05)  # 95 % back
    h.advance_to(300.0)
    assert h.truth("iss")["pressure_pa"] == pytest.approx(p0, abs=0.01)
    assert h.leaked_kg == 0


def test_repress_adds_300_pa_over_ten_minutes():
    h = Habitat([iss()], max_substep_s=1.0)
    c0 = h.zones["iss"].compensated_pa()
    h.repress("iss", rise_pa=300, over_s=600)
    h.advance_to(300)
    assert h.zones["iss"].compensated_pa() - c0 == pytest.approx(150, rel=0.01)
    h.advance_to(1200)
    assert h.zones["iss"].compensated_pa() - c0 == pytest.approx(300, rel=0.01)


def test_fan_oscillation_moves_pressure_not_air():
    z = iss(fan_amplitude_pa=3.0, fan_period_s=60)
    h = Habitat([z], max_substep_s=1.0)
    c0, p0 = z.compensated_pa(), h.truth("iss")["pressure_pa"]
    h.advance_to(15)   # a quarter period: the crest
    assert h.truth("iss")["pressure_pa"] - p0 == pytest.approx(3.0, abs=1e-6)
    assert z.compensated_pa() == c0


def test_compensated_pressure_ignores_the_thermal_cycle():
    z = iss(temp_amplitude_c=0.6, temp_period_s=5580)
    h = Habitat([z], max_substep_s=1.0)
    c0 = z.compensated_pa()
    h.advance_to(5580 / 4)
    assert h.truth("iss")["pressure_pa"] - 101300 == pytest.approx(0.6 * 101300 / 295, rel=2e-3)
    assert z.compensated_pa() == pytest.approx(c0, rel=1e-12)


def test_true_reserve_is_tau_ln_p_over_pmin_and_matches_simulating_forward():
    # the emergency: 15 mm in 100 m3, ~35 min to 65 kPa
    z = Zone("lab", 100.0, temperature_c=295 - 273.15, wall_tau_s=1e-3)
    h = Habitat([z], leaks=[Leak("lab", diameter_mm=15)], max_substep_s=0.5)
    tau = 100.0 / (199 * 0.6 * hole_area_m2(15))
    reserve = h.reserve_s("lab", 65000.0)
    assert reserve == pytest.approx(tau * math.log(101325 / 65000), rel=0.01)
    assert reserve == pytest.approx(35 * 60, rel=0.03)
    t = 0.0
    while h.truth("lab")["pressure_pa"] > 65000:
        t += 1.0
        h.advance_to(t)
    assert t == pytest.approx(reserve, rel=0.01)
    assert Habitat([iss()]).reserve_s("iss", 65000.0) is None


def test_reserve_counts_every_volume_joined_by_an_open_hatch():
    a, b = Zone("a", 100.0), Zone("b", 300.0)
    hatch = Hatch("a", "b", open=True)
    h = Habitat([a, b], [hatch], [Leak("a", diameter_mm=15)])
    joined = h.reserve_s("a", 65000.0)
    hatch.open = False
    alone = h.reserve_s("a", 65000.0)
    assert h.connected("b") == ["b"] and joined == pytest.approx(4 * alone, rel=1e-9)
    assert h.hole_mm("a") == pytest.approx(15.0)
