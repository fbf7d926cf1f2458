"""The valve-equalisation world of tests/test_equalise.py and tests/test_equalise_hole.py, and the frames the
ground sees from it: zone a (100 m3) and b (60 m3, 1 kPa lower) joined by a valve that opens at T0; nodes 1-3
in a, 4-5 in b, each reporting 1 Hz telemetry at its own phase."""
import math

from safehaven.ground.engine import Engine
from safehaven.ground.policy import policy_from_dict
from safehaven.protocol.messages import EV_RAPID, RAPID
from tests.test_voting_streams import SimpleFrame

T0, TAU_EQ = 60.0, 12.6     # the valve opens; the two volumes equalise with this time constant
P0, DP = 101325.0, 1000.0   # a's pressure; b is this much lower
VOLUMES = {"a": 100.0, "b": 60.0}
ZONES = {1: "a", 2: "a", 3: "a", 4: "b", 5: "b"}


def equalised_fraction(t):
    """How much of the 1 kPa difference has flowed at t (0 before the valve opens, towards 1)."""
    return 1.0 - math.exp(-max(t - T0, 0.0) / TAU_EQ)


def equalising(t):
    """(a's, b's) pressure: a gives b's volume share, b gains a's (100:60 settle at P0 - 375 Pa)."""
    moved = equalised_fraction(t)
    return P0 - DP * 0.375 * moved, P0 - DP + DP * 0.625 * moved


def telemetry(node, seq, t, pressure_pa, rate_pa_s, state):
    return SimpleFrame(node, 1, "telemetry", seq, int(t * 1000), {
        "pressure_pa": pressure_pa, "rate_pa_s": rate_pa_s, "temperature_c": 21.0, "co2_ppm": 800.0,
        "rh_pct": 40.0, "state": state, "status": 0})


def rapid_event(node, seq, t, rate_pa_s, pressure_pa):
    return SimpleFrame(node, 2, "event", seq, int(t * 1000), {
        "event": EV_RAPID, "state": RAPID, "rate_pa_s": rate_pa_s, "leak_kg_day": 0.0, "hole_mm": 0.0,
        "pressure_pa": pressure_pa})


def engine(volumes=VOLUMES):
    return Engine(policy_from_dict({"zones": {z: {"volume_m3": v} for z, v in volumes.items()}}), zones=ZONES)


def shelter_at(decisions):
    """The time of the first SHELTER decision, or None."""
    return next((d.time for d in decisions if d.event == "state" and d.state == "SHELTER"), None)
