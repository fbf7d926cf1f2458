"""What an announced depress may mask, and what it may not (ground/shelter.py, docs/shelter.md "A planned
depress"): only the announced zone's fall counts as MONITOR at most. It must not steer what the crew is told
about anything else: while a real hole in the cabin is a SHELTER during the announced airlock vent (the
world of tests/depress_streams.py), the airlock's vent (-520 Pa/s, 25x the cabin's) is neither the
first zone of the hatch-closing order nor the "confirmed" fall nor a revised reserve of the emergency."""
from tests.depress_streams import VENT_S, run


def _hole_during_vent():
    out, _ = run(hole_at=90.0, announce=[(VENT_S - 10, "airlock", 900.0, None)])
    return out


def test_the_cabin_is_first_in_the_closing_order_and_the_vent_is_named_as_announced():
    """Seen failing before: "close hatches in this order: 1. airlock -521.1 Pa/s ... reserve 40 s RAPID
    3 of 3; 2. cabin -21.39 Pa/s ... reserve 35.1 min" at the cabin's SHELTER (91.3 s)."""
    out = _hole_during_vent()
    shelter = next(d for d in out if d.event == "state" and d.state == "SHELTER")
    rank = next(r for r in shelter.reasons if r.startswith("zones ranked"))
    assert "1. cabin" in rank and "1. airlock" not in rank and "2. airlock" not in rank, rank
    assert "airlock" in rank and "planned depress" in rank, rank   # still shown, as what it is


def test_the_confirmed_fall_and_the_revised_reserves_are_the_cabins():
    """Seen failing before: "rapid depressurisation confirmed by the pressure: airlock falling -514.6 Pa/s
    since it was reported, reserve 37 s; cabin falling ..." (94.2 s)."""
    out = _hole_during_vent()
    told = [d for d in out if d.event in ("confirmed", "revised") and d.time >= 90.0]
    assert any(d.event == "confirmed" for d in told), [(d.time, d.event) for d in out]
    for d in told:
        text = " ".join(d.reasons)
        assert "airlock falling" not in text and "airlock reserve" not in text, (d.time, d.event, text)
        if d.event == "confirmed":
            assert "cabin falling" in text, text
