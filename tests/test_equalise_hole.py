"""ground/equalise.py on the engine: a real hole soon after an equalisation is a new fall, weighed on its own
(tests/test_redteam_equalise_hole.py is the end-to-end case; this is its engine-level twin, fast). The valve
opens at T0 between a (100 m3) and b (60 m3, 1 kPa lower); a's nodes call RAPID for 20 s of the equalisation,
then LEAK (its tail); HOLE_S after the valve, the valve still open, a hole opens in a and both fall as one
160 m3 volume. Seen failing before the fix: SHELTER at +3.8 s (the 20 s balance window still held the
equalisation's gain of b against a's loss), and the joined reserve 2.4x the truth (b's nodes still reporting
the equalisation's rise, +8 Pa/s, while b fell at -13)."""
import math

import pytest

from safehaven.protocol.messages import LEAK, RAPID
from tests.equalise_streams import DP, P0, T0, ZONES, engine, equalised_fraction, rapid_event, shelter_at, telemetry

TAU_HOLE = 160.0 / 100.0 * 4735.0   # a 15 mm hole in 100 m3 has tau 4,735 s; the joined 160 m3 1.6x that
P_MIN = 65000.0


def truth(hole_s):
    def pressures(t):
        moved = equalised_fraction(t)
        f = math.exp(-max(t - hole_s, 0.0) / TAU_HOLE) if hole_s is not None else 1.0
        return (P0 - DP * 0.375 * moved) * f, (P0 - DP + DP * 0.625 * moved) * f
    return pressures


def frames(pressures, hole_s, duration, lag_s=20.0):
    """1 Hz telemetry per node at its own phase. a's nodes: RAPID from 0.6-0.8 s after the valve opens for
    20 s, then LEAK; RAPID again 0.6-0.8 s after the hole, with an EV_RAPID each. Every node reports the
    rate of its pressure over the last lag_s (a detector's rate that lags a reversal: b's still says the
    equalisation's rise seconds after it began to fall)."""
    out, seq = [], dict.fromkeys(ZONES, 0)
    for n, zone in ZONES.items():
        k = zone == "b"
        t = 0.13 * n
        rapid = [(T0 + 0.55 + 0.1 * n, T0 + 20.0)]
        if hole_s is not None:
            rapid.append((hole_s + 0.55 + 0.1 * n, duration))
        while t < duration:
            p = pressures(t)[k]
            rate = (p - pressures(t - lag_s)[k]) / lag_s if zone == "b" else \
                (pressures(t + 0.5)[k] - pressures(t - 0.5)[k])
            state = 0
            if zone == "a" and t > T0 + 0.6:
                state = RAPID if any(a <= t < b for a, b in rapid) else LEAK
            seq[n] += 1
            out.append((t, n, telemetry(n, seq[n], t, p, rate, state)))
            t += 1.0
        if zone == "a":
            for start, _end in rapid:
                p_ev = pressures(start)[0]
                seq[n] += 1
                out.append((start, n, rapid_event(n, seq[n], start, pressures(start)[0] - pressures(start - 1)[0],
                                                  p_ev)))
    return sorted(out, key=lambda e: e[0])


def decide(hole_s, duration=None, shown=None, make=None):
    """The decisions; `shown` (a list) gets (t, zone a's reserve on the dashboard) after every input."""
    duration = duration or (hole_s + 30.0 if hole_s is not None else T0 + 150.0)
    eng = engine()
    out = []
    for t, n, frame in (make or frames)(truth(hole_s), hole_s, duration):
        out += eng.ingest_frames(f"node{n}", [frame], t)
        if shown is not None and "a" in eng.figures:
            shown.append((t, eng.snapshot()["zones"]["a"]["reserve_s"]))
    out += eng.tick(duration)
    return out


def test_the_equalisation_alone_stays_at_monitor():
    # the control: the same nodes (RAPID, then LEAK through the tail), no hole
    out = decide(None)
    assert max(("NOMINAL", "MONITOR").index(d.state) for d in out if d.event == "state") <= 1, \
        [(d.time, d.state, d.reasons[0]) for d in out if d.event == "state"]
    assert any(d.event == "equalising" for d in out)


def test_a_hole_40_s_after_the_valve_is_sheltered_within_2_s():
    hole_s = T0 + 40.0
    at = shelter_at(decide(hole_s))
    assert at is not None and at - hole_s <= 2.0, at


def test_the_reserve_shown_after_such_a_hole_is_the_joined_volumes():
    # from SHELTER to the end: the decisions' and the dashboard's reserve of a (joined with b once both fall)
    hole_s = T0 + 40.0
    shown: list = []
    out = decide(hole_s, shown=shown)
    at = shelter_at(out)
    p_eq = (P0 * 100.0 + (P0 - DP) * 60.0) / 160.0
    told = [(d.time, d.zones["a"]["reserve_s"]) for d in out if d.event in ("state", "confirmed", "revised")]
    errors = []
    for t, reserve in sorted(told + shown):
        if at is not None and t >= at:
            truth_s = TAU_HOLE * math.log(p_eq / P_MIN) - (t - hole_s)
            errors.append((round(t, 1), None if reserve is None else round(reserve / truth_s - 1.0, 2)))
    bad = [e for e in errors if e[1] is None or abs(e[1]) > 0.30]
    assert errors and not bad, f"{len(bad)} of {len(errors)}: {bad[:5]}"


def held_rapid_frames(pressures, hole_s, duration, lag_s=20.0):
    """The same, a's nodes holding RAPID from the valve on (no new onset when the hole opens)."""
    out = frames(pressures, hole_s, duration, lag_s)
    for t, n, frame in out:
        if frame.name == "telemetry" and ZONES[n] == "a" and t > T0 + 0.6:
            frame.fields["state"] = RAPID
    return out


# Before ground/equalise.py's recent balance (RECENT_S): SHELTER at +8.8 / +6.0 / +3.0 s for a hole 10 / 20 / 40 s
# after the valve opened, the 20 s window still holding the equalisation's gain; now +2.15 / +1.25 / +1.15 s
@pytest.mark.parametrize("after_s", [
    pytest.param(10.0, marks=pytest.mark.xfail(strict=True, reason=(
        "a hole 5-15 s after the valve, while the equalisation still moves 13-22 Pa/s into b: the net loss shows "
        "in the last 2 s of both zones' telemetry 1.4 s after the hole (one point per node after it; 1.0 s windows "
        "hold too few points and cost 20 s), then RAPID's 0.5 s persistence: SHELTER at +2.76 / +2.15 / +2.15 s "
        "for 5 / 10 / 15 s (main: +6.8 / +8.8 / +8.0 s)"))),
    20.0, 40.0])
def test_a_hole_while_the_nodes_still_hold_rapid_is_sheltered_within_2_s(after_s):
    hole_s = T0 + after_s
    at = shelter_at(decide(hole_s, make=held_rapid_frames))
    assert at is not None and at - hole_s <= 2.0, at


def test_the_equalisation_with_the_nodes_holding_rapid_stays_at_monitor():
    out = decide(None, make=held_rapid_frames)
    assert all(d.state in ("NOMINAL", "MONITOR") for d in out if d.event == "state"), \
        [(d.time, d.state, d.reasons[0]) for d in out if d.event == "state"]
