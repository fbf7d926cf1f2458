"""A node that really dies soon after a chattering episode (red team: told only in the next 15-minute summary,
although the vote dropped it at once). A death must be told at once: a departure longer than twice any of its
episode's (and at least STAYS_S) is no longer chattering (ground/chatter.py, docs/ground.md "Chattering reports")."""
from safehaven.ground.chatter import STAYS, STAYS_S, ChatterLatch
from safehaven.ground.engine import Engine
from safehaven.ground.policy import load_policy
from tests.test_voting_streams import run, stream

KEY = (3, "pressure_pa")


def test_a_departure_that_stays_after_chattering_is_told_at_once():
    latch = ChatterLatch()
    for i in range(10):   # out for 3 s every 30 s: told once, then counted
        t = 10.0 + 30.0 * i
        latch.change(t, KEY, "stale", False)
        latch.change(t + 3, KEY, "ok", True)
        latch.due(t + 3)
    latch.change(400.0, KEY, "stale", False)           # and now it stays out
    assert latch.due(400.0 + STAYS_S - 1) == []
    told = latch.due(400.0 + STAYS_S)
    assert [(k, w) for k, w, _text in told] == [(KEY, STAYS)], told
    assert "stale for 10 s now" in told[0][2], told
    assert all(latch.due(t) == [] for t in (420.0, 900.0, 2000.0))   # told once


def test_a_chattering_spell_is_not_told_as_one_that_stays():
    latch = ChatterLatch()
    for i in range(30):   # out for 3-8 s every 30 s
        t = 10.0 + 30.0 * i
        latch.change(t, KEY, "stale", False)
        assert all(w != STAYS for _k, w, _text in latch.due(t + 2 + i % 6))
        latch.change(t + 3 + i % 6, KEY, "ok", True)


def silent_after(events, node, chatter_from, dies_at):
    """The node's link loses 3 s of frames every 30 s from chatter_from, and nothing arrives after dies_at."""
    out = []
    for t, n, frame in events:
        if n == node and (t >= dies_at or (t >= chatter_from and (t - chatter_from) % 30.0 < 3.5)):
            continue
        out.append((t, n, frame))
    return out


def test_a_node_that_dies_after_chattering_is_reported_within_seconds():
    events = silent_after(stream("nominal", {}, duration=900.0), 3, 60.0, 600.0)
    decisions = run(Engine(load_policy(), zones={1: "lab", 2: "lab", 3: "lab"}), events)
    told = [(d.time, d.reasons[0]) for d in decisions if d.event == "node_health" and d.node == 3
            and d.quantity == "pressure_pa" and d.time >= 600.0]
    assert told and told[0][0] <= 600.0 + 3.0 + STAYS_S + 1.0, told
    assert "stale" in told[0][1], told
