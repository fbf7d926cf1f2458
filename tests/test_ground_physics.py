"""The ground's judgement against physics truth (hil.physics): SHELTER timing driven by the nodes' events,
reserve time and rate within 30 % of the truth, pressure pulses that are not depressurisations, and the
zone ranking.

Three nodes per zone sample the physics truth with their own offset, noise and telemetry phase, at the
default 1 s telemetry period, and send events as a node's detector does. What the nodes report as their
rate is a parameter: `true` is the temperature-compensated dP/dt within a few per cent (the node spec),
`lagging` is what the nodes sent in the report of issue 9 (−0.09 Pa/s for half a minute, then −7.1 Pa/s,
for a true −21 Pa/s).
"""
from __future__ import annotations

import math
import random

import pytest

from safehaven.ground.engine import Engine
from safehaven.ground.policy import load_policy, policy_from_dict
from safehaven.ground.shelter import ranked
from safehaven.hil.physics import R_AIR, Habitat, Leak, Zone
from safehaven.protocol.messages import (EV_LEAK_DETECTED, EV_RAPID, EV_TRANSIENT, LEAK, NOMINAL, RAPID,
                                         ST_TRANSIENT, ST_WARMUP, SUSPECT)
from tests.test_voting_streams import SimpleFrame

P_MIN = 65000.0
OFFSETS = {1: 35.0, 2: -40.0, 3: 10.0}
PHASES = {1: 0.13, 2: 0.47, 3: 0.81}          # telemetry phase within the 1 s period
EVENT_DELAY = {1: 0.45, 2: 0.50, 3: 0.55}     # RAPID after the onset (issue 9: the nodes took 0.5 s)
LEVEL = {"NOMINAL": 0, "ALL_CLEAR": 0, "MONITOR": 1, "ISOLATE": 2, "SHELTER": 3, "SHELTERED": 3}


class World:
    """One zone of hil.physics and its truth: pressure, gas temperature, compensated rate, reserve."""

    def __init__(self, volume_m3: float, leak_mm: float = 0.0, onset_s: float = 1e9, pulse=None):
        leaks = [Leak("lab", onset_s=onset_s, diameter_mm=leak_mm)] if leak_mm else []
        self.hab = Habitat([Zone("lab", volume_m3)], leaks=leaks, max_substep_s=0.02)
        self.volume = volume_m3
        self.pulse = pulse   # (t_s, drop_pa, recovery_tau_s): a hatch or valve pulse, no air lost

    def at(self, t: float) -> dict:
        self.hab.advance_to(t)
        tr = self.hab.truth("lab")
        z = self.hab.zones["lab"]
        rate = -self.hab.leak_rate_kg_day("lab") / 86400.0 * R_AIR * z.wall_k(t) / self.volume
        p = tr["pressure_pa"]
        if self.pulse and t >= self.pulse[0]:
            t_p, drop, tau = self.pulse
            dt = t - t_p
            p -= drop * min(1.0, dt / 0.1) * math.exp(-max(0.0, dt - 0.1) / tau)
            rate = drop / tau * math.exp(-max(0.0, dt - 0.1) / tau) if dt > 0.1 else -drop / 0.1
        return {"pressure_pa": p, "temperature_c": tr["temperature_c"], "rate_pa_s": rate}

    def reserve_truth(self, t: float) -> float:
        """Seconds from t until the pressure reaches P_MIN (on a copy of the physics)."""
        import copy
        hab = copy.deepcopy(self.hab)
        hab.advance_to(t)
        step = 10.0
        while hab.truth("lab")["pressure_pa"] > P_MIN:
            hab.max_substep_s = 0.5
            hab.advance_to(hab.t_s + step)
        return hab.t_s - t


def telemetry(n, seq, t, truth, rate, state, rnd, status=0) -> SimpleFrame:
    return SimpleFrame(n, 1, "telemetry", seq, int(t * 1000) + 5000, {
        "pressure_pa": truth["pressure_pa"] + OFFSETS[n] + rnd.gauss(0, 1.3),
        "temperature_c": round(truth["temperature_c"] + rnd.gauss(0, 0.005), 2), "co2_ppm": 800.0,
        "rh_pct": 40.0, "rate_pa_s": rate + rnd.gauss(0, 0.003), "stat": 0.0, "state": state, "status": status})


def event(n, seq, t, truth, code, state, rate, kg_day=0.0, hole_mm=0.0) -> SimpleFrame:
    return SimpleFrame(n, 2, "event", seq, int(t * 1000) + 5000, {
        "event": code, "state": state, "rate_pa_s": rate, "leak_kg_day": kg_day, "hole_mm": hole_mm,
        "pressure_pa": truth["pressure_pa"] + OFFSETS[n]})


def schedule(world, until, extra):
    """Each node's telemetry once a second at its own phase, with `extra` [(t, kind, node)], in time order:
    (t, kind, node, the node's frame sequence number, the truth at t)."""
    times = sorted([(k + PHASES[n], "tel", n) for n in OFFSETS for k in range(int(until))] + extra)
    seq = {n: 0 for n in OFFSETS}
    for t, kind, n in times:
        seq[n] += 1
        yield t, kind, n, seq[n], world.at(t)


def rapid_nodes(world, onset, reported="true", until=120.0, seed=3):
    """Frames of three nodes over a depressurisation starting at `onset`: [(arrival_s, frame)]."""
    out = []
    rnd = {n: random.Random(seed * 10 + n) for n in OFFSETS}
    err = {1: 0.04, 2: -0.05, 3: 0.02}   # each node's rate error (the node spec allows 20 %)
    events = [(onset + EVENT_DELAY[n], "ev", n) for n in OFFSETS]
    for t, kind, n, seq_n, truth in schedule(world, until, events):
        after = t - onset
        state = RAPID if after >= EVENT_DELAY[n] else NOMINAL
        if reported == "true":
            rate = truth["rate_pa_s"] * (1 + err[n]) if after >= 0 else 0.0
        else:  # issue 9: -0.09 Pa/s two seconds in, settling at -7.1 Pa/s for a true -21 Pa/s
            rate = 0.0 if after < 1.0 else -0.09 if after < 30.0 else -7.1
        if kind == "ev":
            ev_rate = truth["rate_pa_s"] * (1 + err[n]) if reported == "true" else truth["rate_pa_s"] * 886 / 2180
            out.append((t + 0.02, event(n, seq_n, t, truth, EV_RAPID, RAPID, ev_rate)))
        else:
            out.append((t + 0.02, telemetry(n, seq_n, t, truth, rate, state, rnd[n])))
    return out


def run(frames, policy=None, tick_until=None):
    e = Engine(policy or load_policy(), zones={n: "lab" for n in OFFSETS})
    decisions = []
    for t, frame in frames:
        decisions += e.ingest_frames(f"node{frame.node_id}", [frame], t)
    decisions += e.tick(tick_until if tick_until is not None else frames[-1][0] + 1.0)
    return e, decisions


def transitions(decisions):
    return [(d.time, d.state) for d in decisions if d.event == "state"]


def first(decisions, state):
    return next(d for d in decisions if d.event == "state" and d.state == state)


# --- a rapid depressurisation: 15 mm hole in 100 m3 (issue 9) --------------------------------------

ONSET = 20.3


@pytest.fixture(scope="module")
def hole15():
    world = World(100.0, leak_mm=15.0, onset_s=ONSET)
    frames = rapid_nodes(world, ONSET, "true", until=90.0)
    return world, frames, run(frames)


def test_shelter_within_2_s_of_onset_driven_by_the_events(hole15):
    _, _, (_, decisions) = hole15
    shelter = first(decisions, "SHELTER")
    # the second node's RAPID arrives 0.52 s after the onset; the next telemetry would be 0.8 s later
    assert shelter.time - ONSET <= 2.0, transitions(decisions)
    assert shelter.time - ONSET < EVENT_DELAY[2] + 0.02 + 1.0  # not waiting for the grid or telemetry
    assert any("RAPID" in r for r in shelter.reasons)


def test_reserve_at_shelter_within_30_percent_of_physics(hole15):
    world, _, (_, decisions) = hole15
    shelter = first(decisions, "SHELTER")
    truth = world.reserve_truth(shelter.time)
    assert truth == pytest.approx(2083.0 - (shelter.time - ONSET), rel=0.02)  # ~35 min (issue 9)
    reserve = shelter.zones["lab"]["reserve_s"]
    assert reserve == pytest.approx(truth, rel=0.30), (reserve, truth)
    text = " ".join(shelter.reasons)
    assert "reserve 3" in text  # 3x min: the ranking names the reserve


def test_rate_and_reserve_follow_the_truth_after_shelter(hole15):
    world, _, (e, _) = hole15
    zone = e.snapshot()["zones"]["lab"]
    t = e.now
    truth_rate = world.at(t)["rate_pa_s"]
    assert zone["rate_pa_s"] == pytest.approx(truth_rate, rel=0.20)
    assert zone["series_rate_pa_s"] == pytest.approx(truth_rate, rel=0.20)
    assert zone["reserve_s"] == pytest.approx(world.reserve_truth(t), rel=0.30)


def test_lagging_node_rates_are_replaced_by_their_pressure_series():
    """The nodes of issue 9 reported -0.09 then -7.1 Pa/s for a true -21 Pa/s: the ground must see from the
    pressures they send that this is wrong, say so per node, and give a reserve within 30 %."""
    world = World(100.0, leak_mm=15.0, onset_s=ONSET)
    frames = rapid_nodes(world, ONSET, "lagging", until=90.0)
    e, decisions = run(frames)
    assert first(decisions, "SHELTER").time - ONSET <= 2.0
    flagged = {d.node for d in decisions if d.event == "node_health" and d.quantity == "rate_pa_s"
               and "pressure series" in d.reasons[0] and d.time - ONSET <= 12.0}
    assert flagged == {1, 2, 3}
    confirmed = next(d for d in decisions if d.event == "confirmed")
    # judged on the pressure after a hatch's fall would be over (FALL_SETTLE_S): ~2 s after SHELTER
    assert confirmed.time - ONSET <= 5.0 and "confirmed by the pressure" in confirmed.reasons[0]
    for d in decisions:
        if d.time >= confirmed.time and d.zones.get("lab", {}).get("reserve_s") is not None:
            truth = world.reserve_truth(d.time)
            assert d.zones["lab"]["reserve_s"] == pytest.approx(truth, rel=0.30), d.time
    zone = e.snapshot()["zones"]["lab"]
    assert zone["rate_pa_s"] == pytest.approx(world.at(e.now)["rate_pa_s"], rel=0.20)
    assert zone["reserve_s"] == pytest.approx(world.reserve_truth(e.now), rel=0.30)


def test_the_series_rate_follows_a_depressurisation_the_nodes_also_flag_as_a_transient():
    """In `safehaven sim` (rapid_leak_reserve) the nodes set ST_TRANSIENT a second after their RAPID event and
    hold it: the ground broke each node's series at every vote for TRANSIENT_MAX_S, so series_rate_pa_s was
    None through the whole depressurisation and the rate-against-series check was off. The pressure since
    the transient began falls at the rapid rate: the series goes on."""
    world = World(100.0, leak_mm=15.0, onset_s=ONSET)
    frames = rapid_nodes(world, ONSET, "true", until=150.0)
    for t, f in frames:
        if f.name == "telemetry" and t - ONSET >= 1.5:
            f.fields["status"] = ST_TRANSIENT
    e = Engine(load_policy(), zones={n: "lab" for n in OFFSETS})
    checked = 0
    for t, frame in frames:
        e.ingest_frames(f"node{frame.node_id}", [frame], t)
        if t - ONSET >= 10.0 and frame.node_id == 3:
            series = e.figures["lab"].series_rate_pa_s
            assert series == pytest.approx(world.at(t)["rate_pa_s"], rel=0.10), (t, series)
            checked += 1
    assert checked > 100


def test_two_separate_holes_at_one_pressure_keep_their_own_reserves():
    """Zones whose pressures fall together are joined (one volume, one reserve: ground/joined.py, the demo's
    capsule behind an open hatch). Two zones with a hole each, at the same pressure and onset but falling at
    -107 and -21 Pa/s, are not: each keeps its own reserve (joined, the small zone's would be 3x too long)."""
    pol = policy_from_dict({"zones": {"a": {"volume_m3": 20.0}, "b": {"volume_m3": 100.0}}})
    worlds = {"a": World(20.0, leak_mm=15.0, onset_s=ONSET), "b": World(100.0, leak_mm=15.0, onset_s=ONSET)}
    frames = rapid_nodes(worlds["a"], ONSET, "true", until=60.0)
    frames += [(t, f._replace(node_id=f.node_id + 3)) for t, f in rapid_nodes(worlds["b"], ONSET, "true", until=60.0)]
    frames.sort(key=lambda x: x[0])
    e = Engine(pol, zones={1: "a", 2: "a", 3: "a", 4: "b", 5: "b", 6: "b"})
    decisions = []
    for t, frame in frames:
        decisions += e.ingest_frames(f"node{frame.node_id}", [frame], t)
    shelter = first(decisions, "SHELTER")
    told = [d for d in decisions if d.time >= shelter.time and d.event in ("state", "confirmed", "revised")]
    assert len(told) >= 2
    for d in told:
        for zone, world in worlds.items():
            assert d.zones[zone]["reserve_s"] == pytest.approx(world.reserve_truth(d.time), rel=0.30), (zone, d)
    assert all(not f.joined for f in e.figures.values())


# --- the real detector on three nodes: 10, ~21 and 100 Pa/s ---------------------------------------

def detector_zone(rate_pa_s, seed, onset=120.3, after=6.0, volume_m3=100.0):
    """Three nodes running firmware/detector.py at 44 ms on their own BMP280 parts (offset, tempco,
    noise: tests/habitat_streams.py) over a choked hole sized to lose rate_pa_s at onset, telemetry at
    1 Hz, events as they happen, into the engine: [(seconds after onset, decision, true reserve)]."""
    import detector as D
    import habitat_streams as S
    hole = S.leak_hole_mm(rate_pa_s * volume_m3 / (R_AIR * 295.15) * 86400.0, 101325.0)
    hab = Habitat([S.module(volume_m3=volume_m3, amplitude_c=0.0)], leaks=[Leak("m", onset_s=onset, diameter_mm=hole)])
    dets = {n: D.Detector(44, {"volume_l": volume_m3 * 1000.0}) for n in OFFSETS}
    parts = {n: S.Part(seed=seed * 10 + n) for n in OFFSETS}
    e = Engine(load_policy(), zones={n: "m" for n in OFFSETS})
    seq = {n: 0 for n in OFFSETS}
    due = dict(PHASES)
    out = []
    for i in range(int((onset + after) / 0.044)):
        t = i * 0.044
        hab.advance_to(t)
        tr = hab.truth("m")
        for n, det in dets.items():
            tf, pq = parts[n].read(tr["pressure_pa"], tr["temperature_c"])
            ev = det.update(tf, pq)
            frames = []
            if ev != -1:
                _, kg, mm = det.leak_estimate()
                frames.append(("event", {"event": ev, "state": det.state, "rate_pa_s": det.rate_e5 / 1e5,
                                         "leak_kg_day": kg, "hole_mm": mm, "pressure_pa": pq / 256.0}))
            if t >= due[n]:
                due[n] += 1.0
                status = (ST_WARMUP if det.warm else 0) | (ST_TRANSIENT if det.transient else 0)
                frames.append(("telemetry", {
                    "pressure_pa": pq / 256.0, "temperature_c": round(tf / 5120.0, 2), "co2_ppm": 800.0,
                    "rh_pct": 40.0, "rate_pa_s": det.rate_e5 / 1e5, "stat": det.stat / 100.0,
                    "state": det.state, "status": status}))
            for name, fields in frames:
                seq[n] += 1
                frame = SimpleFrame(n, 2 if name == "event" else 1, name, seq[n], int(t * 1000) + 5000, fields)
                out += [(d.time - onset, d, hab.reserve_s("m", P_MIN))
                        for d in e.ingest_frames(f"node{n}", [frame], t + 0.02)]
        if t > onset:
            out += [(d.time - onset, d, hab.reserve_s("m", P_MIN)) for d in e.tick(t)]
    return out


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("rate", [10.0, 21.4, 100.0])
def test_reserve_the_crew_is_told_follows_the_physics(rate, seed):
    # SHELTER within 2 s of the onset on the nodes' first RAPID events; its reserve comes from their
    # first estimates (under a second of the fall); the nodes' refined events ~1.7 s after the onset
    # revise it when it moved by 15 %; the pressure's own fall (raw, ~40 % steeper at first: the gas
    # cools) must not replace good node rates
    told = [(dt, d, truth) for dt, d, truth in detector_zone(rate, seed)
            if d.zones.get("m", {}).get("reserve_s") is not None and d.state == "SHELTER"]
    assert told and told[0][1].event == "state" and 0 < told[0][0] <= 2.0, [(dt, d.event) for dt, d, _ in told]
    for dt, d, truth in told:
        assert d.zones["m"]["reserve_s"] == pytest.approx(truth, rel=0.30), (dt, d.event, d.zones["m"], truth)
    confirmed = [d for dt, d, _ in told if d.event == "confirmed"]
    assert confirmed and all(d.event in ("state", "revised", "confirmed") for _, d, _ in told)
    later = [(dt, d, truth) for dt, d, truth in told if d.event != "state"]
    assert all(d.zones["m"]["reserve_s"] == pytest.approx(truth, rel=0.15) for dt, d, truth in later), later


@pytest.mark.parametrize("seed", range(2))
def test_a_rapid_loss_not_yet_measured_reads_measuring_until_the_refined_events(seed):
    # at 10 Pa/s the nodes' first RAPID events (~0.8 s of the fall) carry no kg/day or hole
    # (LOSS_UNMEASURED: their rate is not yet known to 30 %); SHELTER still comes on them within 2 s,
    # and the zone's kg/day reads "measuring" until the refined events carry the loss (~1.4 s)
    told = [(dt, d) for dt, d, _ in detector_zone(10.0, seed) if d.state == "SHELTER"]
    assert told and told[0][1].event == "state" and 0 < told[0][0] <= 2.0
    shelter = told[0][1]
    assert shelter.zones["m"]["kg_day_measuring"] and "kg/day measuring" in " ".join(shelter.reasons)
    later = [d for dt, d in told if dt > 2.0]
    assert later and not any(d.zones["m"]["kg_day_measuring"] for d in later)


def refined_nodes(world, onset, first_factor, until=40.0):
    """Nodes as the detector reports a fall: EV_RAPID 0.8 s after the onset with a first estimate
    (first_factor x the true rate), EV_RAPID again 1.65 s after it with the true rate, telemetry
    carrying the latest."""
    out = []
    rnd = {n: random.Random(70 + n) for n in OFFSETS}
    first_at, refined_at = 0.8, 1.65
    events = [(onset + dt + 0.01 * n, "ev", n) for n in OFFSETS for dt in (first_at, refined_at)]
    for t, kind, n, seq_n, truth in schedule(world, until, events):
        after = round(t - onset - 0.01 * n, 6)
        rate = 0.0 if after < first_at else truth["rate_pa_s"] * (first_factor if after < refined_at else 1.0)
        state = RAPID if after >= first_at else NOMINAL
        frame = event(n, seq_n, t, truth, EV_RAPID, RAPID, rate) if kind == "ev" else \
            telemetry(n, seq_n, t, truth, rate, state, rnd[n])
        out.append((t + 0.02, frame))
    return out


@pytest.mark.parametrize("first_factor", [0.7, 1.3])
def test_a_shorter_reserve_from_the_refined_events_is_told_at_once(first_factor):
    # the first estimates 30 % slow: SHELTER says a reserve ~40 % long, and the refined events ~1.7 s
    # after the onset revise it at once; 30 % fast: the reserve told is short (the safe side) and the
    # longer one waits for the confirmed decision. Either way the pressure's raw fall (the gas cools:
    # ~40 % steeper at first) does not replace the nodes' rates.
    world = World(100.0, leak_mm=15.0, onset_s=ONSET)
    _, decisions = run(refined_nodes(world, ONSET, first_factor), tick_until=ONSET + 12.0)
    shelter = first(decisions, "SHELTER")
    revised = [d for d in decisions if d.event == "revised"]
    if first_factor < 1:
        assert [round(d.time - ONSET, 1) for d in revised] == [1.7]
        assert "reserve revised" in revised[0].reasons[0]
    else:
        assert revised == []
    confirmed = next(d for d in decisions if d.event == "confirmed")
    for d in revised + [confirmed]:
        assert d.zones["lab"]["reserve_s"] == pytest.approx(world.reserve_truth(d.time), rel=0.10), d
    assert shelter.zones["lab"]["reserve_s"] != pytest.approx(world.reserve_truth(shelter.time), rel=0.2)


# --- pulses: hatch and valve operations lose no air ----------------------------------------------

PULSE_T = 40.3


def pulse_nodes(world, behaviour, until=100.0, seed=5):
    """Nodes seeing a 120 Pa pulse at PULSE_T that recovers over ~15 s.

    old: every node called it RAPID (issue 9) and stays RAPID (the detector's clear hold);
    transient: every node sends EV_TRANSIENT and flags ST_TRANSIENT for 20 s, its telemetry rate dips hard
    for two periods (a 1-2 s rate window over the drop) and then shows the recovery."""
    out = []
    rnd = {n: random.Random(seed * 10 + n) for n in OFFSETS}
    events = [(PULSE_T + 0.1 + 0.05 * n, "ev", n) for n in OFFSETS]
    for t, kind, n, seq_n, truth in schedule(world, until, events):
        after = t - PULSE_T
        if kind == "ev":
            code, state = (EV_RAPID, RAPID) if behaviour == "old" else (EV_TRANSIENT, NOMINAL)
            out.append((t + 0.02, event(n, seq_n, t, truth, code, state, -240.0)))
            continue
        status, state, rate = 0, NOMINAL, truth["rate_pa_s"] if after > 2.0 else 0.0
        if behaviour == "old" and after >= 0.1 + 0.05 * n:
            state = RAPID
        if behaviour == "withheld":
            # the firmware: ST_TRANSIENT until the recovery has settled, and no rate meanwhile nor after
            # (no air was lost)
            rate = 0.0
            status = ST_TRANSIENT if 0 <= after < 5 * world.pulse[2] else 0
        if behaviour == "transient" and 0 <= after < 20.0:
            status = ST_TRANSIENT
            state = SUSPECT if after < 2.0 else NOMINAL
            if after < 2.0:
                rate = -60.0
        out.append((t + 0.02, telemetry(n, seq_n, t, truth, rate, state, rnd[n], status)))
    return out


def test_transient_events_never_move_the_ground_above_monitor():
    world = World(100.0, pulse=(PULSE_T, 120.0, 15.0))
    frames = pulse_nodes(world, "transient")
    _, decisions = run(frames, tick_until=400.0)
    top = max((LEVEL[s] for _, s in transitions(decisions)), default=0)
    assert top <= 1, transitions(decisions)


def test_a_pulse_recovery_the_nodes_withhold_is_no_health_signal():
    """A recovery over minutes (110 Pa, 30 s time constant) while the nodes flag ST_TRANSIENT and report
    no rate (no air is lost): the pressure series rising under a rate of 0 is what a transient is, not a
    node's rate lying. An 8 h recording with five such pulses gave 170 node_health decisions."""
    world = World(916.0, pulse=(PULSE_T, 110.0, 30.0))
    frames = pulse_nodes(world, "withheld", until=900.0)
    _, decisions = run(frames, tick_until=900.0)
    assert [d.reasons for d in decisions if d.event == "node_health"] == []
    assert transitions(decisions) == []


def test_a_pulse_the_nodes_call_rapid_does_not_latch_shelter():
    """Issue 9: every node went RAPID on a hatch pulse; the ground went SHELTER, then SHELTERED. The
    pressure stops falling at once: the SHELTER is released within a few seconds, never SHELTERED."""
    world = World(100.0, pulse=(PULSE_T, 120.0, 15.0))
    frames = pulse_nodes(world, "old")
    _, decisions = run(frames, tick_until=500.0)
    states = transitions(decisions)
    assert "SHELTERED" not in [s for _, s in states], states
    shelter = [t for t, s in states if s == "SHELTER"]
    assert len(shelter) <= 1, states
    if shelter:
        released = next(t for t, s in states if t > shelter[0])
        assert released - PULSE_T <= 5.0, states
    assert states[-1][1] in ("MONITOR", "NOMINAL"), states


def test_a_hole_behind_a_transient_is_not_hidden():
    """The nodes call the first drop a transient and keep flagging it, but the pressure keeps falling
    at 21 Pa/s: the ground does not wait out the transient hold."""
    world = World(100.0, leak_mm=15.0, onset_s=ONSET)
    out = []
    rnd = {n: random.Random(70 + n) for n in OFFSETS}
    for k in range(60):
        for n in OFFSETS:
            t = k + PHASES[n]
            truth = world.at(t)
            transient = t >= ONSET
            out.append((t + 0.02, telemetry(n, k, t, truth, truth["rate_pa_s"] if transient else 0.0,
                                            SUSPECT if transient else NOMINAL, rnd[n],
                                            ST_TRANSIENT if transient else 0)))
    out.sort(key=lambda x: x[0])
    _, decisions = run(out)
    assert first(decisions, "SHELTER").time - ONSET <= 5.0, transitions(decisions)


# --- zones ranked by their loss rate ----------------------------------------------------------

def test_zones_ranked_by_the_pressure_series_when_node_rates_are_not_in_yet():
    """`make demo` ranked zones at "+0 Pa/s" while 3 of 3 nodes reported LEAK: the nodes' own rates were
    0 until their rings filled. The pressures they sent already showed the loss."""
    pol = policy_from_dict({"zones": {"prk": {"volume_m3": 20.0}, "svc": {"volume_m3": 100.0}}})
    e = Engine(pol, zones={1: "prk", 2: "prk", 3: "prk", 4: "svc", 5: "svc", 6: "svc"})
    rates = {"prk": -0.044, "svc": -0.012}   # 0.9 kg/day in 20 m3; 1.2 kg/day in 100 m3
    rnd = random.Random(11)
    decisions = []
    for k in range(400):
        for n in range(1, 7):
            zone = "prk" if n <= 3 else "svc"
            t = k + 0.1 * n
            p = 101000.0 + 20.0 * n + rates[zone] * t
            state = LEAK if t > (60 if zone == "prk" else 300) else NOMINAL   # the nodes' own detection
            frame = SimpleFrame(n, 1, "telemetry", k, int(t * 1000), {
                "pressure_pa": p + rnd.gauss(0, 1.3), "temperature_c": 21.0, "co2_ppm": 800.0, "rh_pct": 40.0,
                "rate_pa_s": 0.0, "stat": 0.0, "state": state, "status": 0})
            decisions += e.ingest_frames(f"node{n}", [frame], t + 0.01)
    isolate = first(decisions, "ISOLATE")
    assert isolate.time < 75.0
    assert isolate.zones["prk"]["rate_pa_s"] == pytest.approx(rates["prk"], rel=0.30), isolate.reasons
    assert "1. prk -0.0" in isolate.reasons[-1]
    order = [z.zone for z in ranked(list(e.figures.values()))]
    assert order == ["prk", "svc"]
    for zone, rate in rates.items():
        assert e.figures[zone].rate_pa_s == pytest.approx(rate, rel=0.30), zone


# --- a slow leak: the ground adds only its persistence to the nodes' LEAK events -------------------

@pytest.mark.parametrize("refined", [False, True], ids=["one-event", "refined-event"])
def test_slow_leak_isolate_exactly_the_persistence_after_the_second_leak_event(refined):
    """0.9 kg/day in 916 m3 (REFERENCE §1, the PrK tunnel in 2026): the nodes find it within their CUSUM
    bound and send EV_LEAK_DETECTED. The ground counts the event on arrival and decides when the
    persistence ends: ISOLATE persist_isolate_s after the second node's event, not on the next
    telemetry or grid point after that. A node sends EV_LEAK_DETECTED again ~8 minutes later with its
    refined rate (the alarm's own can be 2x off): a revision of the same leak, no new alarm, no new
    decision, and the node's latest event carries it. The alarm's event carries no kg/day
    (LOSS_UNMEASURED): the zone's kg/day is "measuring" until the refined events carry it."""
    volume, kg_day, onset = 916.0, 0.9, 600.0
    rate = -kg_day / 86400.0 * R_AIR * 295.15 / volume          # -9.6e-4 Pa/s
    detected = {1: 1500.37, 2: 1620.61, 3: 1710.85}             # each node's LEAK (within 45 min of onset)
    rnd = {n: random.Random(90 + n) for n in OFFSETS}
    frames = []
    for k in range(2400 if refined else 1800):
        for n in OFFSETS:
            t = k + PHASES[n]
            p = 101325.0 + (rate * (t - onset) if t > onset else 0.0)
            truth = {"pressure_pa": p, "temperature_c": 22.0}
            leak = t >= detected[n]
            frames.append((t + 0.02, telemetry(n, 2 * k, t, truth, rate if leak else 0.0,
                                               LEAK if leak else NOMINAL, rnd[n])))
            if k == int(detected[n]):
                frames.append((detected[n] + 0.02, event(n, 2 * k + 1, detected[n], truth, EV_LEAK_DETECTED,
                                                         LEAK, rate * (2.2 if refined else 1.0))))
            if refined and k == int(detected[n]) + 480:
                frames.append((t + 0.03, event(n, 2 * k + 1, t + 0.01, truth, EV_LEAK_DETECTED, LEAK, rate,
                                               kg_day, 0.2)))
    frames.sort(key=lambda x: x[0])
    e, decisions = run(frames)
    isolate = first(decisions, "ISOLATE")
    second = sorted(detected.values())[1] + 0.02
    assert isolate.time == pytest.approx(second + load_policy().shelter["persist_isolate_s"], abs=1e-6)
    assert isolate.time - onset <= 45 * 60
    assert not [d for d in decisions if d.event == "node_health" and d.quantity == "rate_pa_s"]
    assert [d.state for d in decisions if d.event == "state"] == ["ISOLATE"]     # one escalation
    assert isolate.zones["lab"]["kg_day_measuring"] and "kg/day measuring" in " ".join(isolate.reasons)
    assert e.snapshot()["zones"]["lab"]["kg_day_measuring"] is not refined
    if refined:                               # the revisions decide nothing and are the latest figures
        revised = [int(detected[n]) + 480 + PHASES[n] + 0.03 for n in OFFSETS]
        assert not [d for d in decisions if any(abs(d.time - t) < 0.5 for t in revised)]
        assert [e.nodes[n].last_event["rate_pa_s"] for n in OFFSETS] == pytest.approx([rate] * 3, abs=1e-5)


def test_a_hatch_step_that_stays_raises_nothing():
    """Hatch equalisation: -100 Pa within a second, then it stays (no air lost, REFERENCE §9). The nodes
    re-learn the level and report 0; the ground's own slopes see the step at the start of their windows
    for minutes afterwards, and must not turn that into a leak rate."""
    rnd = {n: random.Random(40 + n) for n in OFFSETS}
    frames = []
    for k in range(900):
        for n in OFFSETS:
            t = k + PHASES[n]
            p = 101325.0 - (100.0 * min(1.0, (t - 100.0) / 0.5) if t >= 100.0 else 0.0)
            p += 3.0 * math.sin(2 * math.pi * t / 60.0)   # a fan
            frames.append((t + 0.02, telemetry(n, k, t, {"pressure_pa": p, "temperature_c": 22.0}, 0.0,
                                               NOMINAL, rnd[n])))
    frames.sort(key=lambda x: x[0])
    e = Engine(load_policy(), zones={n: "lab" for n in OFFSETS})
    decisions, worst = [], 0.0
    for t, frame in frames:
        decisions += e.ingest_frames(f"node{frame.node_id}", [frame], t)
        fig = e.figures.get("lab")
        if t > 110 and fig is not None and fig.alarm_rate_pa_s is not None:
            worst = min(worst, fig.alarm_rate_pa_s)
    assert transitions(decisions) == []
    assert [d for d in decisions if d.event == "node_health"] == []
    assert worst > -0.01, worst   # the nodes' own rate noise (3 mPa/s each), nothing from the step


class HatchStep(World):
    """A hatch opened to a volume at lower pressure: -85 Pa over 2 s (orifice flow, 75 % in the first
    second), and the level stays there (no hole)."""

    def at(self, t: float) -> dict:
        truth = super().at(t)
        x = min(max(t - PULSE_T, 0.0) / 2.0, 1.0)
        truth["pressure_pa"] -= 85.0 * (1.0 - (1.0 - x) ** 2)
        truth["rate_pa_s"] = -85.0 * (1.0 - x) if 0.0 < x < 1.0 else truth["rate_pa_s"]
        return truth


def test_a_hatch_step_the_nodes_call_rapid_does_not_latch_shelter():
    """A red-team recording: every node went RAPID 0.7 s into a 2 s hatch equalisation; the ground
    confirmed SHELTER from the pressure 'since it was reported', which still held the fall's tail, and
    went SHELTERED. The fall is judged on the pressure after a hatch's or valve's fall is over."""
    frames = pulse_nodes(HatchStep(100.0), "old")
    _, decisions = run(frames, tick_until=500.0)
    states = transitions(decisions)
    assert "SHELTERED" not in [s for _, s in states], states
    shelter = [t for t, s in states if s == "SHELTER"]
    if shelter:
        assert next(t for t, s in states if t > shelter[0]) - PULSE_T <= 6.0, states
    assert states[-1][1] in ("MONITOR", "NOMINAL"), states
