"""CO2 taken out by a scrubber is not air lost to space (issue 9: 0 false alarms on a day with no air lost). The
BMP280 reads the total pressure; CO2 is part of it (at 100 kPa, 1,000 ppm is 101 Pa). A crew's CO2, built up while the
scrubber was off, taken back out when it starts (1,000 ppm, exponentially over tau 30 min: 101 Pa, 0.056 Pa/s at
first) lowers the pressure as a leak of ~5 kg/day in 100 m3 would, and none of it leaves the habitat.

The water vapour's part is taken out (det_vapour); the CO2's is not: it did not fall out of the same design. The SCD4x
reads CO2 through a 60 s response, with +-(40 ppm + 5 %) per-part error (a 5 % gain error on a 1,000 ppm fall is 5 Pa,
itself a slow leak's signal), and the molar balance of a crew breathing (O2 taken, CO2 given, RQ ~0.85) and of the
O2 make-up is not in the pressure the node sees. A node-side CO2 regressor would need its own fit and bounds as the
vapour's has; not done. Measured on branch thermal (200 ms, 100 m3, orbit +-0.6 K, 3 Pa 60 s fan, scrubber on at
3,600 s): LEAK at 3,697 s on part 1 and 3,655 s on part 2 (55-97 s after the scrubber starts)."""
import math

import pytest

import habitat_streams as S

START_S, TAU_S, DROP_PPM = 3600.0, 1800.0, 1000.0


def scrubbed_pa(t):
    if t < START_S:
        return 0.0
    return -DROP_PPM * 1e-6 * 101325.0 * (1.0 - math.exp(-(t - START_S) / TAU_S))


def alarms(node_id):
    fan = S.cycle(60.0, 3.0)
    return S.day_alarms(node_id, lambda t: scrubbed_pa(t) + fan(t), 100.0, 200, START_S + 4 * TAU_S,
                        scd=S.Hygrometer(node_id, S.sealed_vapour()))[1]


@pytest.mark.xfail(strict=True, reason="a scrubber taking 1,000 ppm of CO2 out (101 Pa over tau 30 min, no air lost) in "
                   "100 m3 is a LEAK 55-97 s after it starts (3,697 s part 1, 3,655 s part 2): the node has no CO2 "
                   "regressor (the vapour's is det_vapour)")
@pytest.mark.parametrize("node_id", [1, 2])
def test_a_scrubber_taking_co2_out_raises_no_leak(node_id):
    assert alarms(node_id) == []
