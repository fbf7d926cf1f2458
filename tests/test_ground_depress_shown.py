"""An announced depress is shown where the operator looks (docs/shelter.md, "A planned depress"): the live
dashboard (rich and plain), the snapshot, the decisions and `safehaven status`: zone, who, until when, and
the fastest fall announced. The world of tests/depress_streams.py (the airlock vented at 60 s)."""
import io

from rich.console import Console

from safehaven.ground.dashboard import PlainView, RichView
from safehaven.ground.store import Store
from tests.depress_streams import VENT_S, run

SHOWN = "planned depress: zone airlock by eva-lead until t+950.000s, at most 700 Pa/s"


def _engine_during_vent():
    out, _, engine = run(end_s=80.0, announce=[(VENT_S - 10, "airlock", 900.0, 700.0)], with_engine=True)
    return out, engine


def test_the_dashboard_shows_it():
    """Seen failing before: nothing on the dashboard said a depress was announced (its rows only showed
    the airlock falling at -560 Pa/s, reserve 1.1 min, MONITOR)."""
    out, e = _engine_during_vent()
    snap = e.snapshot()
    assert snap["depress"] == [{"zone": "airlock", "who": "eva-lead", "start_s": 50.0, "until_s": 950.0,
                                "max_rate_pa_s": 700.0}], snap.get("depress")
    view = RichView.__new__(RichView)  # render without starting a live display
    view.recent = []
    console = Console(file=io.StringIO(), width=160, record=True)
    console.print(view.render(snap))
    assert SHOWN in console.export_text(), console.export_text()
    plain = io.StringIO()
    PlainView(plain).update(snap, [], [])
    assert SHOWN in plain.getvalue(), plain.getvalue()


def test_status_shows_it_from_the_last_decision(tmp_path, sh):
    """`safehaven status` on a database holding the decisions (as the monitor records them)."""
    out, _ = _engine_during_vent()
    db = tmp_path / "live.sqlite"
    store = Store(db)
    for d in out:
        store.record_decision(d)
    store.commit()
    store.close()
    assert out[-1].to_dict()["depress"][0]["zone"] == "airlock"
    ran = sh("status", "--db", db)
    assert ran.returncode == 0 and SHOWN in ran.stdout, ran


def test_no_depress_no_field_and_no_line():
    """Decisions without an announcement carry no `depress` field (their JSON as before)."""
    out, e = run(end_s=70.0, with_engine=True)[::2]
    assert all("depress" not in d.to_dict() for d in out)
    assert e.snapshot()["depress"] == []
