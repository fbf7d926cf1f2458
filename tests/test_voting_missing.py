"""A zone of three whose other nodes are silent or dead (red team: sensor dropouts just before a hole gave SHELTER on
"1 of 1 nodes"). A single node must neither cause nor hide an alarm, and the decisions must say how many nodes
agree and how many are missing (docs/voting.md, "Nodes out of the vote"). The streams of tests/test_voting_streams.py:
3 nodes at 2 Hz, a -50 Pa/s fall at 60 s (kind "rapid"), nodes 'silent' from 30 s."""
from safehaven.ground.engine import Engine
from safehaven.ground.policy import load_policy
from safehaven.protocol.messages import FAULT
from tests.test_voting_streams import run, stream

LEVEL = {"NOMINAL": 0, "ALL_CLEAR": 0, "MONITOR": 1, "ISOLATE": 2, "SHELTER": 3, "SHELTERED": 3}


def decide(events):
    return run(Engine(load_policy(), zones={1: "lab", 2: "lab", 3: "lab"}), events)


def transitions(decisions):
    return [(d.time, d.state, d.reasons[0]) for d in decisions if d.event == "state"]


def shelter(decisions):
    return next((d for d in decisions if d.event == "state" and d.state == "SHELTER"), None)


def dead(events, nodes, from_s=30.0):
    """The nodes' BMP280 fails from from_s: they go on sending, in FAULT (what firmware/node.py sends)."""
    out = []
    for t, n, frame in events:
        if n in nodes and t >= from_s and frame.name == "telemetry":
            frame = frame._replace(fields=dict(frame.fields, state=FAULT, status=0, rate_pa_s=0.0))
        out.append((t, n, frame))
    return out


def test_a_hole_with_two_nodes_silent_is_sheltered_and_says_so():
    out = decide(stream("rapid", {2: {"silent"}, 3: {"silent"}}))
    d = shelter(out)
    assert d is not None and d.time <= 60 + 4, transitions(out)
    text = " ".join(d.reasons)
    assert "1 of 1 nodes" not in text, text
    assert "1 of 3" in text and "node 2" in text and "node 3" in text, text
    assert d.zones["lab"]["votes"].startswith("1 of 3"), d.zones["lab"]["votes"]


def test_a_hole_with_two_nodes_dead_is_sheltered_and_says_so():
    out = decide(dead(stream("rapid", {}), {2, 3}))
    d = shelter(out)
    assert d is not None and d.time <= 60 + 4, transitions(out)
    text = " ".join(d.reasons)
    assert "1 of 3" in text and "node 2" in text and "node 3" in text, text


def test_a_lone_node_calling_rapid_on_a_steady_pressure_raises_no_shelter():
    # nodes 2 and 3 silent from 30 s; node 1 calls RAPID at -5 Pa/s from 30 s while its pressure does not move
    out = decide(stream("nominal", {1: {"liar"}, 2: {"silent"}, 3: {"silent"}}))
    assert max((LEVEL[s] for _t, s, _r in transitions(out)), default=0) <= 1, transitions(out)


def test_two_of_three_with_one_silent_say_which_is_missing():
    out = decide(stream("rapid", {3: {"silent"}}))
    d = shelter(out)
    assert d is not None and d.time <= 60 + 4, transitions(out)
    text = " ".join(d.reasons)
    assert "2 of 3" in text and "node 3" in text, text
