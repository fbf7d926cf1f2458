"""Closing a hatch to find the leaking module (issue 9, checked on situations nobody tuned for by the red team).
REFERENCE.md section 1: the crew close hatches one by one and watch which module keeps losing air. 10 kg/day
in module b (100 m3) joined to a (300 m3) by an open hatch (both lose 0.0245 Pa/s); the crew close the hatch
15 minutes after the onset: a then holds (0 Pa/s), b loses 0.098 Pa/s. The project's own physics (hil.physics),
the node at 200 ms with the emulator's per-part errors. Issue 9: the telemetry rate follows the true
compensated dP/dt (slow leaks: within 30 % within 10 minutes), zones are ranked by it.

Measured on main df77420: a's node keeps LEAK and reports the old fall, -0.0238 Pa/s at +100 s, -0.016 at +600 s,
-0.011 at +1000 s, until EV_LEAK_CLEARED 1,063 s after the closure (the growing window since the onset only
dilutes; 'the last leak rate stands'). In `safehaven sim` (3 nodes in each module, /tmp/redteam3/hatch/h2.toml)
the ground's voted rate for the sealed module a was -0.017 Pa/s (5.3 kg/day, LEAK 3 of 3) 500 s after the
closure while its own pressure series said +0.0007 Pa/s, and 3 of 3 LEAK until +1,015 s: for 17 minutes the
crew is told that the module they sealed still leaks. b's node showed its 4x faster loss only after ~500 s
(-0.026..-0.041 Pa/s until then: 60-73 % slow), within the 10 minutes. Fixed by the detector's rate-change rule (docs/detection.md section 5): its strict xfail is gone."""
import math

import pytest

import detector as D
import habitat_streams as S
from safehaven.hil.physics import Habitat, Hatch, Leak, Zone

MS = 200
ONSET_S, CLOSE_S = 1500.0, 2400.0
MONITOR_PA_S = 0.005             # the default policy's MONITOR rate: a sealed module reads as no leak below it


class TwoModules:
    """What a node in `zone` reads: a (300 m3) and b (100 m3, leaking 10 kg/day from ONSET_S) on the same
    +-0.6 K orbit, joined by an open hatch that the crew close at CLOSE_S; a 3 Pa, 55 s fan."""

    def __init__(self, zone):
        self.zone = zone
        self.hab = Habitat([Zone("a", 300.0, temp_amplitude_c=0.6, temp_period_s=5580.0),
                            Zone("b", 100.0, temp_amplitude_c=0.6, temp_period_s=5580.0)],
                           hatches=[Hatch("a", "b")],
                           leaks=[Leak("b", onset_s=ONSET_S, diameter_mm=S.leak_hole_mm(10.0))], max_substep_s=0.2)

    def at(self, t):
        if t >= CLOSE_S and self.hab.hatch("a-b").open:
            self.hab.advance_to(CLOSE_S)
            self.hab.hatch("a-b").open = False
        self.hab.advance_to(t)
        truth = self.hab.truth(self.zone)
        return truth["pressure_pa"] + 3.0 * math.sin(2 * math.pi * t / 55.0), truth["temperature_c"]

    def rate_pa_s(self):
        z = self.hab.zones[self.zone]
        return -self.hab.leak_rate_kg_day(self.zone) / 86400.0 * 287.05 * (z.temperature_c + 273.15) / z.volume_m3 \
            if self.hab.hatch("a-b").open is False and self.zone == "b" else None


def telemetry(zone, node_id, end_s):
    world = TwoModules(zone)
    det = D.Detector(sample_ms=MS, params={"volume_l": world.hab.zones[zone].volume_m3 * 1000})
    tel = []
    events = S.run(det, world, S.emulator_part(node_id), MS, end_s, every_s=10.0,
                   on_block=lambda t, d: tel.append((round(t - CLOSE_S), d.state, d.rate_e5 / 1e5, world.rate_pa_s())))
    found = [t for t, ev in events if ev == D.EV_LEAK_DETECTED]
    assert found and found[0] < CLOSE_S, "the leak was not found before the hatch closed"
    return tel


@pytest.mark.parametrize("node_id", [1, 2])
def test_a_module_sealed_off_from_the_leak_reads_no_loss_within_10_minutes(node_id):
    # its true rate is 0; the rate is held to the default policy's MONITOR rate (LEAK itself may wait for its clear hold)
    tel = telemetry("a", node_id, CLOSE_S + 900.0)
    still = [(dt, state, round(rate, 4)) for dt, state, rate, _ in tel
             if dt >= 600 and abs(rate) > MONITOR_PA_S]
    assert still == [], still[:4]


@pytest.mark.parametrize("node_id", [4, 5])
def test_the_leaking_module_shows_its_faster_loss_within_10_minutes(node_id):
    # the control: b's node follows its 4x faster loss (-0.098 Pa/s) within 30 % from 10 minutes on
    tel = telemetry("b", node_id, CLOSE_S + 900.0)
    off = [(dt, round(rate, 4), round(true, 4)) for dt, state, rate, true in tel
           if dt >= 600 and abs(rate / true - 1) > 0.3]
    assert off == [], off[:4]
