"""A hole opening while the cabin gas cools (checked by the red team after the fast path's cooling rule 70d074f: a
cooling gas is no loss). 100 m3, no orbit, a 3 Pa 55 s fan; from 1,490 s the gas (and the wall) cools by 0.6 K over
30 s (an eclipse transition, -6.9 Pa/s raw, nothing lost) and at 1,500.37 s a 10.3 mm hole opens (-10.06 Pa/s
compensated): a sustained fall of 10 Pa/s, RAPID within 1 s at 44 ms (issue 9 item 2). The BMP280 emulator's
per-part errors for the node id.

Measured on main 09bc1ec: RAPID at +1.09 / +1.17 s (parts 1, 2; 1.2 K over 45 s: +1.17 / +1.22 s), its event rate
-47..-49 %, telemetry -21..-48 % at +2 s. Without the cooling (the control): RAPID at +0.82 / +0.78 s, telemetry within
8 % at +2 s. Before 70d074f the cooling alone was RAPID before the hole opened (tests/test_redteam_thermal.py).
The strict xfail goes when a hole under a cooling is RAPID within 1 s."""
import math

import pytest

import detector as D
import habitat_streams as S
from safehaven.hil.physics import Habitat, Leak, Zone

MS = 44
HOLE_S = 1500.37


class Cooling:
    """The physics with a hole, and the gas cooling by dt_k over dur_s from 10 s before it (follows the gas law)."""

    def __init__(self, dt_k, dur_s, hole_mm=10.3):
        self.zone = Zone("m", 100.0, temperature_c=21.0, temp_amplitude_c=0.0)
        self.hab = Habitat([self.zone], leaks=[Leak("m", onset_s=HOLE_S, diameter_mm=hole_mm)])
        self.dt_k, self.dur_s = dt_k, dur_s

    def at(self, t):
        self.hab.advance_to(t)
        tr = self.hab.truth("m")
        warm = self.dt_k * min(max((t - (HOLE_S - 10.0)) / self.dur_s, 0.0), 1.0)
        return tr["pressure_pa"] * (1 + warm / 294.15) + 3.0 * math.sin(2 * math.pi * t / 55.0), tr["temperature_c"] + warm


def rapid_after(node_id, dt_k, dur_s=30.0):
    events = S.run(D.Detector(sample_ms=MS, params={"volume_l": 100000}), Cooling(dt_k, dur_s),
                   S.emulator_part(node_id), MS, HOLE_S + 10.0)
    rapid = [t - HOLE_S for t, ev in events if ev == D.EV_RAPID]
    return round(rapid[0], 2) if rapid else None


@pytest.mark.xfail(strict=True, reason="redteam: a 10 Pa/s hole opening while the gas cools 0.6 K over 30 s is RAPID at "
                   "+1.09 / +1.17 s (parts 1, 2), its event rate -47 %; without the cooling +0.82 / +0.78 s. The same with "
                   "the fast path's shapes (branch fast): the raw pressure already fell 8.5 Pa/s with the cooling, so the raw "
                   "hinge's onset is the ring's oldest sample and the compensated rate from it stays below 5 Pa/s until ~1.1 s")
@pytest.mark.parametrize("node_id", [1, 2])
def test_a_hole_while_the_gas_cools_is_rapid_within_1_s(node_id):
    after = rapid_after(node_id, -0.6)
    assert after is not None and 0.0 <= after <= 1.0, after


@pytest.mark.parametrize("node_id", [1, 2])
def test_the_same_hole_without_a_cooling_is_rapid_within_1_s(node_id):
    # the control: the same parts and hole, the gas at a steady temperature
    after = rapid_after(node_id, 0.0)
    assert after is not None and 0.0 <= after <= 1.0, after
