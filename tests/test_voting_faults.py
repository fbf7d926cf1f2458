"""Each fault alone and two at once, in a nominal, a slow-leak and a rapid-depressurisation zone:
one lying or broken node can neither cause nor mask a shelter decision."""
import itertools

import pytest

from safehaven.ground.engine import Engine
from safehaven.ground.policy import load_policy
from tests.test_voting_streams import run, stream

FAULTS = ["stuck", "offset", "silent", "flapping", "liar", "replay"]
DETECTABLE = ["stuck", "offset", "silent", "flapping"]  # broken in a way the vote can see
LEVEL = {"NOMINAL": 0, "ALL_CLEAR": 0, "MONITOR": 1, "ISOLATE": 2, "SHELTER": 3, "SHELTERED": 3}


def states(kind, faults):
    engine = Engine(load_policy(), zones={1: "lab", 2: "lab", 3: "lab"})
    decisions = run(engine, stream(kind, faults))
    return [d for d in decisions if d.event == "state"], decisions


def check(kind, faults):
    transitions, decisions = states(kind, faults)
    top = max((LEVEL[d.state] for d in transitions), default=0)
    first = {d.state: d.time for d in reversed(transitions)}
    if kind == "nominal":
        assert top == 0, [(d.time, d.state, d.reasons) for d in transitions]
    elif kind == "leak":
        assert top == 2, [(d.time, d.state, d.reasons) for d in transitions]
        assert first["ISOLATE"] <= 60 + 20 + 15  # node detection (20 s) + persistence
    else:
        assert top == 3 and first["SHELTER"] <= 60 + 4, [(d.time, d.state) for d in transitions]
    # only faulty nodes are ever isolated
    isolated = {d.node for d in decisions if d.event == "isolated"}
    assert isolated <= set(faults), [(d.time, d.node, d.reasons) for d in decisions if d.event == "isolated"]
    return decisions


@pytest.mark.parametrize("kind", ["nominal", "leak", "rapid"])
def test_no_fault_baseline(kind):
    check(kind, {})


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("kind", ["nominal", "leak", "rapid"])
def test_single_fault(kind, fault):
    check(kind, {3: {fault}})


@pytest.mark.parametrize("pair", list(itertools.combinations(FAULTS, 2)))
@pytest.mark.parametrize("kind", ["nominal", "leak"])
def test_two_faults_one_node(kind, pair):
    check(kind, {2: set(pair)})


@pytest.mark.parametrize("pair", list(itertools.combinations(DETECTABLE, 2)))
@pytest.mark.parametrize("kind", ["nominal", "leak", "rapid"])
def test_two_broken_nodes(kind, pair):
    """Two nodes broken in ways the vote sees: the last healthy node still decides (unverified)."""
    check(kind, {2: {pair[0]}, 3: {pair[1]}})


def test_offset_node_isolated_and_reported():
    _, decisions = states("nominal", {3: {"offset"}})
    iso = [d for d in decisions if d.event == "isolated" and d.node == 3]
    assert iso and iso[0].quantity == "pressure_pa"
    assert 30 + 10 <= iso[0].time <= 30 + 12  # policy voting.isolate_after_s = 10


def test_liar_alone_would_shelter():
    """The stream's liar really lies: trusted alone, it would cause SHELTER (so the vote is what stops it)."""
    engine = Engine(load_policy(), zones={3: "lab"})
    events = [e for e in stream("nominal", {3: {"liar"}}) if e[1] == 3]
    transitions = [d.state for d in run(engine, events) if d.event == "state"]
    assert "SHELTER" in transitions


def test_flapping_node_is_isolated_eventually():
    """Intermittent disagreement accumulates (leaking away at half speed while it agrees)."""
    _, decisions = states("nominal", {3: {"flapping"}})
    iso = [d for d in decisions if d.event == "isolated"]
    assert [d.node for d in iso] == [3] and 40 < iso[0].time < 120


def test_silent_node_reported_once_per_sensor():
    _, decisions = states("nominal", {3: {"silent"}})
    assert decisions[0].event == "start"
    health = [(d.node, d.quantity, d.reasons[0].split(": ", 1)[1]) for d in decisions if d.event == "node_health"]
    assert health == [(3, "pressure_pa", "pressure_pa excluded from the vote: stale (was ok)"),
                      (3, "co2_ppm", "co2_ppm excluded from the vote: stale (was ok)")]
