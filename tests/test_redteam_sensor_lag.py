"""A node's temperature that lags the gas's (issue 9 item 1: the sensor's own errors are part of the model; checked
by the red team on situations nobody tuned for). The compensation P*Tref/T needs the gas's mean temperature; a
BMP280's die on its board reads it through a thermal lag (its package, the board, the air near it). On an orbit
that leaves 343 Pa/K x lag x dT/dt in the compensated level, a quarter cycle after the temperature: +-1.2 Pa for
a 5 s lag on a +-0.6 K, 93-minute cycle, +-7 Pa for 30 s. The thermal model fits c on T only (and uses it only
within the 2 Pa/K prior), so the quadrature part is left to the CUSUMs.

Measured on main df77420 (a sealed 916 m3 module, +-0.6 K, 5,580 s orbit, 3 Pa 55 s fan, tests/habitat_streams.py's
part model with the emulator's per-part errors, 200 ms, 4 h): with the node's temperature a first-order lag of
1 / 2 / 3 / 5 / 10 / 15 / 30 / 60 s behind the gas's, false LEAKs on 4 of 5 parts at 1 s (at ~8,700-9,100 s), and
on every part tried from 3 s, 2-6 per 4 h (first at 800-2,150 s from 5 s on); without the lag, nothing (highest
statistic 31 %). The emulator has no such lag (docs/detection.md says a 1 s lag would also make fast rates ~25 %
too fast). The strict xfail goes when it is fixed.

Since the thermal model's lag term (docs/detection.md section 3: p = a + c T + d dT/dt, dT/dt a double EMA over 32
blocks, the same in fit and correction; d fitted on the level less the c in use, c on the level less the d in use;
d's bound in every CUSUM's allowance, prior `lag_s`, default 3 s): a lag is fitted (30 s to within 1 %) and taken
out once a cycle shows it; lags up to 5 s raise nothing from boot (5 parts x 4 h); a larger one is a LEAK in the
first cycle and nothing after it. In the first ~20 minutes a tempco within the 2 Pa/K prior, a lag and a leak are
not separable (fitting d then took a part's tempco for a 2-10 s lag and hid test_detector_habitat's leak from boot),
and a prior covering 30 s (or 6 s) lost that leak within 45 minutes: the 30 s case at the default prior stays a strict
xfail; a deployment whose boards lag more sets `lag_s` to cover it."""
import math

import pytest

import detector as D
import habitat_streams as S

MS = 200
WALL_C, P0 = 21.0, 101325.0


class LaggingSensor:
    """A sealed module's gas on the orbit and a fan; the sensor's temperature follows the gas's through a
    first-order lag of lag_s."""

    def __init__(self, lag_s):
        self.lag_s = lag_s
        self.sensed = None
        self.last_t = 0.0

    def at(self, t):
        gas = WALL_C + 0.6 * math.sin(2 * math.pi * t / 5580.0)
        p = P0 * (gas + 273.15) / (WALL_C + 273.15) + 3.0 * math.sin(2 * math.pi * t / 55.0)
        if self.sensed is None or self.lag_s == 0:
            self.sensed = gas
        else:
            self.sensed += (gas - self.sensed) * (1.0 - math.exp(-(t - self.last_t) / self.lag_s))
        self.last_t = t
        return p, self.sensed


def alarms(lag_s, node_id, hours=2.0, det=None):
    det = det or D.Detector(sample_ms=MS, params={"volume_l": 916000})
    events = S.run(det, LaggingSensor(lag_s), S.emulator_part(node_id), MS, hours * 3600.0)
    return [(round(t), ev) for t, ev in events if ev in (D.EV_LEAK_DETECTED, D.EV_RAPID)]


@pytest.mark.xfail(strict=True, reason="a node whose temperature lags the gas's by 30 s (first order) on a +-0.6 K "
                   "orbit, nothing leaking, raises a LEAK in the first cycle at the default lag prior (3 s): at 865 / "
                   "935 s on parts 4 / 5 (main df77420: 858 / 920 s and more all day). Before ~17 minutes of the cycle "
                   "the lag cannot be told from the tempco and a leak; a prior that covers 30 s costs a leak during "
                   "warm-up its detection within 45 minutes (docs/detection.md section 3)")
@pytest.mark.parametrize("node_id", [4, 5])
def test_a_sensor_lagging_the_gas_by_30_s_raises_no_leak(node_id):
    assert alarms(30.0, node_id) == []


@pytest.mark.parametrize("lag_s,node_id", [(30.0, 4), (10.0, 2)])
def test_a_lag_beyond_the_prior_is_fitted_and_raises_nothing_after_the_first_cycle(lag_s, node_id):
    # seen failing on main de8928f: 10 s, part 2: LEAKs at 1,598 / 2,609 / 7,497 / 8,049 / 13,736 s; 30 s, part 4:
    # 858 / 1,162 / 7,226 / 7,930 / 12,782 s
    det = D.Detector(sample_ms=MS, params={"volume_l": 916000})
    late = [a for a in alarms(lag_s, node_id, 4.0, det) if a[0] > S.ORBIT_S]
    assert late == []
    assert det.thermal.lag_known                                     # d = 343 Pa/K x lag (v's units: 274 per s)
    assert abs(det.thermal.lag / (343.0 * 1048576.0 / (256.0 * 5120.0 * det.block_s)) / lag_s - 1) < 0.1


@pytest.mark.parametrize("node_id", [4, 5])
def test_a_lag_within_the_prior_raises_nothing_from_boot(node_id):
    # seen failing on main de8928f: a 5 s lag, LEAKs at 1,774 / 2,580 / 7,934 / 13,900 s (part 4) and 1,796 /
    # 7,794 / 13,179 / 14,048 s (part 5)
    assert alarms(5.0, node_id, 4.0) == []


@pytest.mark.parametrize("node_id", [4, 5])
def test_a_deployment_that_sets_its_boards_lag_raises_nothing_from_boot(node_id):
    det = D.Detector(sample_ms=MS, params={"volume_l": 916000, "lag_s": 30.0})
    assert alarms(30.0, node_id, 2.0, det) == []


@pytest.mark.parametrize("node_id", [4, 5])
def test_the_same_day_without_the_lag_raises_no_leak(node_id):
    # the control: the same parts, the sensor reading the gas's temperature
    assert alarms(0.0, node_id) == []
