"""A module joined to a larger one by an open hatch, each on its own orbital cycle (the red team's
tests/test_redteam_joined.py): the station's pressure follows the mean temperature of all its gas,
each node compensates with its own module's, so air flows to and fro and the level of the module with
the larger cycle moves by ~343 Pa/K x (1 - the station's swing / its own). For 0.55 against 0.6 K
(300 and 100 m3) that is an apparent tempco of -21 Pa/K, ten times the BMP280's own.

No node can tell that from a leak within its first orbit: a leak and a temperature that has only
risen are the same line. The deployment says so in the node's `tempco_pa_k` (docs/detection.md
section 3); the thermal model then fits c within that prior and, once known, the node is as
sensitive as in a module of its own (the same leak found as fast as on equal cycles, measured in
the same run). With the datasheet's 2 Pa/K a joined module still raises LEAKs: the red team's
strict xfails."""
import math

import pytest

import detector as D
import habitat_streams as S
from safehaven.hil.physics import Habitat, Hatch, Leak, Zone
from tests.test_redteam_joined import HOUR, MS

STATION_PRIOR = 25.0        # Pa/K: covers 343 x (1 - 0.5625 / 0.6) = 21 Pa/K


class Joined:
    """What a node in module b reads: b (100 m3, a 0.6 K cycle) joined to a (300 m3, its own cycle)."""

    def __init__(self, amplitude_a_c, leak=None):
        self.hab = Habitat([Zone("a", 300.0, temperature_c=21.5, temp_amplitude_c=amplitude_a_c, temp_period_s=5580.0),
                            Zone("b", 100.0, temperature_c=22.0, temp_amplitude_c=0.6, temp_period_s=5580.0)],
                           hatches=[Hatch("a", "b")], leaks=[leak] if leak else [], max_substep_s=0.2)

    def at(self, t):
        self.hab.advance_to(t)
        truth = self.hab.truth("b")
        return truth["pressure_pa"] + 3.0 * math.sin(2 * math.pi * t / 55.0), truth["temperature_c"]


def alarms(world, node_id, prior, seconds):
    det = D.Detector(sample_ms=MS, params={"volume_l": 400000, "tempco_pa_k": prior})
    return [(t, ev) for t, ev in S.run(det, world, S.emulator_part(node_id), MS, seconds)
            if ev in (D.EV_LEAK_DETECTED, D.EV_RAPID)]


@pytest.mark.parametrize("node_id", [4, 5])
def test_a_joined_module_with_its_prior_configured_raises_nothing(node_id):
    # 4 h: the first orbit on the prior, then c fitted (-21..-22 Pa/K; it moved by its 4-SE bound per
    # segment, 0.03 Pa/K, before: 12 h to get there)
    assert alarms(Joined(0.55), node_id, STATION_PRIOR, 4 * HOUR) == []


@pytest.mark.parametrize("node_id", [4, 5])
def test_a_leak_in_a_joined_module_is_found_as_fast_as_on_equal_cycles(node_id):
    # 0.9 kg/day from the joined station (400 m3) 2.5 h in. Seen failing: with c creeping towards the
    # fit, its allowance ~20 Pa/K x the temperature's distance: 1,108-1,113 s against 409-415 s
    onset = 9000.0
    hole = S.leak_hole_mm(0.9)
    delays = {}
    for amplitude_a, prior in ((0.55, STATION_PRIOR), (0.6, 2.0)):
        found = alarms(Joined(amplitude_a, Leak("b", onset_s=onset, diameter_mm=hole)), node_id, prior, onset + 1800)
        assert found and found[0][0] > onset, (amplitude_a, found)      # nothing before the leak
        delays[amplitude_a] = found[0][0] - onset
    assert delays[0.55] <= 1.2 * delays[0.6], delays
