"""The temperature a node compensates with is its own spot's, not the gas's mean (issue 9: 0 false alarms; checked
by the red team on a day nobody tuned for). A sealed module's pressure is set by the mean temperature of all its
gas; each BMP280 reads the air around it. Near the middle of the cabin the orbital swing is smaller than the
volume's mean, which the walls drive; on a panel it is larger. A sealed 916 m3 module whose gas swings +-0.6 K on the
5,580 s orbit (3 Pa 60 s fan), a node whose air swings +-0.55 K in phase: its compensated level swings by 343 Pa/K x
0.05 K, +-17 Pa, in phase with its own temperature (an apparent tempco of ~+31 Pa/K, beyond the 2 Pa/K datasheet
prior the thermal model bounds its fit by). Nothing is lost. tests/test_redteam_joined.py is the same mechanism
between modules joined by a hatch, where the ground could see both modules' pressures; here there is one module.

Measured on main 2e7306a, the detector in CPython on the BMP280 emulator's per-part errors, 200 ms, 4 h
(/tmp/redteam5/p_local.py AMP_GAS AMP_SENSOR 0 14400 NODE):
- sensor +-0.55 K, gas +-0.6 K: LEAK every orbit on every part: part 1 at 2,245, 2,432, 8,159, 9,472, 12,951 s;
  part 2 at 2,232, 2,416, 7,475, 7,652, 12,947 s; 6 each in 4 h (-0.010..-0.019 Pa/s, 9-17 kg/day).
- the other way (sensor 0.6, gas 0.5 / 0.55 / 0.58 K): 6 / 6 / 5 LEAKs on part 1 in 4 h; a 60 s lag alone: 5.
- the control, the sensor's swing the gas's (+-0.6 K): nothing on either part.
The strict xfail goes when a node's fit takes a swing of this size (or the ground judges it)."""
import math

import pytest

import detector as D
import habitat_streams as S

ORBIT_S, WALL_C, P0, MS, END_S = 5580.0, 22.0, 101325.0, 200, 14400.0


def alarms(node_id, sensor_amplitude_c, gas_amplitude_c=0.6):
    part = S.emulator_part(node_id)
    det = D.Detector(sample_ms=MS, params={"volume_l": 916000})
    out = []
    for i in range(int(END_S * 1000 / MS)):
        t = i * MS / 1000.0
        wave = math.sin(2 * math.pi * t / ORBIT_S)
        pressure = P0 * (WALL_C + gas_amplitude_c * wave + 273.15) / (WALL_C + 273.15) + 3.0 * math.sin(2 * math.pi * t / 60.0)
        ev = det.update(*part.read(pressure, WALL_C + sensor_amplitude_c * wave))
        if ev in (D.EV_LEAK_DETECTED, D.EV_RAPID):
            out.append(round(t))
    return out


@pytest.mark.xfail(strict=True, reason="redteam: a node whose air swings +-0.55 K in a 916 m3 module whose gas swings "
                   "+-0.6 K (nothing leaks): LEAK every orbit on every part (part 1 at 2,245 ... 13,159 s, part 2 at "
                   "2,232 ... 13,141 s, 6 each in 4 h)")
@pytest.mark.parametrize("node_id", [1, 2])
def test_a_node_whose_spot_swings_less_than_the_gas_raises_no_leak(node_id):
    assert alarms(node_id, 0.55) == []


@pytest.mark.parametrize("node_id", [1, 2])
def test_a_node_whose_spot_swings_with_the_gas_raises_no_leak(node_id):
    # the control: the same module, fan and parts, the sensor's swing the gas's
    assert alarms(node_id, 0.6) == []
