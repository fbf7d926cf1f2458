"""Modules joined by an open hatch, each on its own thermal cycle, nothing leaking (issue 9: 0 false alarms;
checked by the red team on situations nobody tuned for). A station's modules share one pressure, set by the
mean temperature of all the gas, while each node compensates with its own module's temperature. When one
module's cycle is larger than the station's mean, air flows out of it as it warms and back as it cools: its
compensated level swings by ~343 Pa/K x the difference, in phase with its own temperature. Nothing is lost.
The thermal model cannot take it: the apparent tempco (-3.8 Pa/K for 0.59 against 0.6 K) is beyond the
datasheet prior (2 Pa/K) that bounds the c it uses.

Measured on main df77420 with the project's own physics (hil.physics: two zones, 300 and 100 m3, an open 0.8 m
hatch; the node in the 100 m3 one, 200 ms, the emulator's per-part errors): the 100 m3 module's cycle 0.6 K
against the other's 0.5 / 0.55 / 0.58 / 0.59 K (a compensated swing of 51 / 25 / 9.8 / 4.6 Pa peak to peak) raises
a LEAK every orbit on every part, for as long as it runs (first at 290-1160 s, 5-6 in 4 h); equal cycles raise
nothing. Through `safehaven sim` (3 nodes in each module) the ground is at ISOLATE 143 s into the run. The
strict xfails go when it is fixed (the ground sees both modules' pressure series: air leaving one joined
module into another is no loss)."""
import math

import pytest

import detector as D
import habitat_streams as S
from safehaven.hil.physics import Habitat, Hatch, Zone

MS = 200
HOUR = 3600.0


class JoinedModule:
    """What a node in module b reads: b (100 m3, its own cycle) joined to a (300 m3) by an open hatch,
    a 3 Pa, 55 s fan in b."""

    def __init__(self, amplitude_a_c, amplitude_b_c):
        self.hab = Habitat([Zone("a", 300.0, temperature_c=21.5, temp_amplitude_c=amplitude_a_c, temp_period_s=5580.0),
                            Zone("b", 100.0, temperature_c=22.0, temp_amplitude_c=amplitude_b_c, temp_period_s=5580.0)],
                           hatches=[Hatch("a", "b")], max_substep_s=0.2)

    def at(self, t):
        self.hab.advance_to(t)
        truth = self.hab.truth("b")
        return truth["pressure_pa"] + 3.0 * math.sin(2 * math.pi * t / 55.0), truth["temperature_c"]


def alarms(amplitude_a_c, node_id, hours=2.0):
    det = D.Detector(sample_ms=MS, params={"volume_l": 100000})
    events = S.run(det, JoinedModule(amplitude_a_c, 0.6), S.emulator_part(node_id), MS, hours * HOUR)
    return [(round(t), ev) for t, ev in events if ev in (D.EV_LEAK_DETECTED, D.EV_RAPID)]


@pytest.mark.xfail(strict=True, reason="redteam: a module on a 0.6 K orbit joined by an open hatch to one on 0.55 K "
                   "(nothing leaks; its compensated level swings 25 Pa p-p as air flows to and fro) is a LEAK every "
                   "orbit on every part (first at 290 / 650 s on parts 4 / 5); the apparent tempco is beyond the 2 Pa/K prior")
@pytest.mark.parametrize("node_id", [4, 5])
def test_a_joined_module_with_a_larger_thermal_cycle_raises_no_leak(node_id):
    assert alarms(0.55, node_id) == []


@pytest.mark.parametrize("node_id", [4, 5])
def test_joined_modules_on_the_same_cycle_raise_no_leak(node_id):
    # the control: both modules on the same 0.6 K cycle; no air moves through the hatch
    assert alarms(0.6, node_id) == []


JOINED = """[scenario]
name = "joined_modules"
description = "two modules joined by an open hatch, each on its own orbital cycle (0.5 and 0.6 K); nothing leaks"
duration_s = 600
step_ms = 1000
expect = ["never above NOMINAL"]

[node_defaults]
sample_period_ms = 200

[[zone]]
name = "a"
volume_m3 = 300
temperature_c = 21.5
temp_amplitude_c = 0.5
temp_period_s = 5580

[[zone]]
name = "b"
volume_m3 = 100
temperature_c = 22.0
temp_amplitude_c = 0.6
temp_period_s = 5580

[[hatch]]
a = "a"
b = "b"
diameter_m = 0.8
""" + "".join(f'\n[[node]]\nid = {i}\nzone = "{"a" if i <= 3 else "b"}"\n' for i in range(1, 7))


@pytest.mark.xfail(strict=True, reason="redteam: `safehaven sim`, modules of 300 and 100 m3 joined by an open hatch "
                   "on 0.5 and 0.6 K orbits, nothing leaking: 3 of 3 nodes of the 100 m3 module LEAK and the ground "
                   "ISOLATE 143 s into the run ('leak confirmed')")
def test_joined_modules_in_the_sim_raise_no_alarm(tmp_path, sh):
    (tmp_path / "s.toml").write_text(JOINED)
    ran = sh("sim", str(tmp_path / "s.toml"), "--runtime", "cpython", "--out", str(tmp_path / "out"), "--quiet")
    assert ran.returncode == 0, ran.stdout + ran.stderr
