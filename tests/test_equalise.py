"""ground/equalise.py on the engine: air one zone loses and another gains at the same time is moved, not lost;
credit only for a measured gain, of a zone of known volume, that matches the loss (the slow end-to-end cases:
tests/test_redteam_equalise.py)."""
import math

from safehaven.protocol.messages import RAPID
from tests.equalise_streams import DP, P0, T0, VOLUMES, ZONES, engine, equalising, rapid_event, shelter_at, telemetry


def hole(t):
    return P0 * math.exp(-max(t - T0, 0.0) / 4735.0), P0 - DP


def frames(truth, duration=90.0):
    """(t, node, frame): 1 Hz telemetry per node at its own phase; a's nodes call the fall RAPID 0.6-0.8 s
    in, with an EV_RAPID each (rate and pressure), as the detectors do."""
    out, seq = [], dict.fromkeys(ZONES, 0)
    for n, zone in ZONES.items():
        phase = 0.13 * n
        rapid_at = T0 + 0.55 + 0.1 * n
        t = phase
        while t < duration:
            p = truth(t)[zone == "b"]
            rate = (truth(t + 0.5)[zone == "b"] - truth(t - 0.5)[zone == "b"]) if t > T0 + 1 else 0.0
            state = RAPID if zone == "a" and t >= rapid_at else 0
            seq[n] += 1
            out.append((t, n, telemetry(n, seq[n], t, p, rate, state)))
            t += 1.0
        if zone == "a":
            p_ev = truth(rapid_at)[0]
            rate = (truth(rapid_at)[0] - P0) / (rapid_at - T0)
            seq[n] += 1
            out.append((rapid_at, n, rapid_event(n, seq[n], rapid_at, rate, p_ev)))
    return sorted(out, key=lambda e: e[0])


def decide(truth, volumes=VOLUMES):
    eng = engine(volumes)
    out = []
    for t, n, frame in frames(truth):
        out += eng.ingest_frames(f"node{n}", [frame], t)
    return out


def test_air_moved_between_two_zones_is_no_depressurisation():
    out = decide(equalising)
    assert shelter_at(out) is None, [(d.time, d.state, d.reasons[0]) for d in out if d.event == "state"]
    said = [d for d in out if d.event == "equalising"]
    assert said and said[0].time <= T0 + 2.5 and "b (+" in said[0].reasons[0]


def test_a_zone_of_unknown_volume_gives_no_credit():
    # the same recording, the policy without b's volume: a's fall is a depressurisation as before
    assert T0 < shelter_at(decide(equalising, {"a": 100.0})) <= T0 + 2.0


def test_a_hole_beside_a_zone_that_does_not_rise_is_sheltered_within_2_s():
    assert T0 < shelter_at(decide(hole)) <= T0 + 2.0


def hole_beside_repress(t):
    # b gains +20 Pa/s from a tank since 30 s (1,200 m3.Pa/s, what a's -21 Pa/s loses in 100 m3 would
    # show as gained within 40 %): only a rise that starts with the fall is its counterpart
    return hole(t)[0], P0 - DP + 20.0 * max(t - 30.0, 0.0)


def test_a_rise_that_began_before_the_fall_is_no_counterpart():
    assert T0 < shelter_at(decide(hole_beside_repress)) <= T0 + 2.0
