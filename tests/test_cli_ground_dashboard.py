"""The dashboard renders a real engine snapshot: plain lines for pipes, rich tables for terminals."""
import io

from rich.console import Console

from safehaven.ground.dashboard import PlainView, RichView, fmt_time
from safehaven.ground.engine import Engine
from safehaven.ground.policy import load_policy
from tests.test_voting_streams import run, stream


def engine_after(kind, faults):
    e = Engine(load_policy(), zones={1: "lab", 2: "lab", 3: "lab"})
    decisions = run(e, stream(kind, faults, duration=100.0))
    return e, decisions


def test_plain_lines_carry_time_state_and_reasons():
    e, decisions = engine_after("leak", {3: {"offset"}})
    out = io.StringIO()
    view = PlainView(out)
    view.update(e.snapshot(), decisions, [(1.0, "node1", "opened", "loop://")])
    text = out.getvalue()
    assert "t+1.000s LINK node1 opened: loop://" in text
    assert "NODE 3 isolated (pressure_pa)" in text
    # ISOLATE on the nodes' LEAK (2 of 3, node 3 out): their SUSPECT rate alone is no evidence above MONITOR
    # (docs/shelter.md); the votes name the node out of the vote (docs/voting.md, "Nodes out of the vote")
    assert "STATE MONITOR -> ISOLATE: zone lab: leak confirmed: 2 of 3 nodes report LEAK (2 in the vote; out: " \
        "node 3 isolated)" in text
    assert "STATUS ISOLATE" in text and "lab:" in text


def test_rich_view_renders_all_panels():
    e, decisions = engine_after("leak", {3: {"offset"}})
    view = RichView.__new__(RichView)  # render without starting a live display
    view.recent = [f"{fmt_time(d.time)} {d.state}" for d in decisions]
    console = Console(file=io.StringIO(), width=160, record=True)
    console.print(view.render(e.snapshot()))
    text = console.export_text()
    for needle in ("ISOLATE", "zones (voted)", "nodes", "links", "isolated", "safe haven dragon", "lab"):
        assert needle in text, needle


def test_wall_times_are_iso():
    assert fmt_time(1_800_000_000.25) == "2027-01-15T08:00:00.250Z"
