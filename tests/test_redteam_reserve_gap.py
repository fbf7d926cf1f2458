"""The reserve the crew reads in the first seconds of a depressurisation (issue 9 item 4: reserve within 30 % of
the choked-orifice truth; checked by the red team on a run nobody tuned for). scenarios/rapid_leak_reserve.toml
(15 mm in 100 m3 at 90 s, -21.4 Pa/s, 35 min to 65 kPa; 3 nodes, every per-part error on) through `safehaven sim
--runtime cpython`; its node streams replayed into the ground's Engine, and the zone as the dashboard and `safehaven
status` show it (Engine.snapshot) read every second from the SHELTER decision on.

Measured on main 4213eee: SHELTER at 91.3 s with a reserve of 2,048 s (-2 %); then at 94, 95, 96 and 97 s the zone
shows reserve None ("none") while its voted rate reads -21.4..-21.9 Pa/s. From 93-94 s the nodes, still RAPID, set
ST_TRANSIENT (the slow path's step classifier sees the level moving, firmware/detector.py `_block`); the ground
takes them as inside a pulse (ground/voting.py `_in_transient`: the RAPID-or-LEAK override is forgotten when
ST_TRANSIENT comes after the RAPID event) and counts their fall as none for alarms: the alarm rate 0.0, the reserve
None, until the pressure since the flag has fallen for FALL_CHECK_MIN_S (98 s). Any decision made meanwhile says so:
with a second module holed at 95 s (8 mm in 60 m3, /tmp/redteam5/two/two.toml), the revised decision at 95.9 s
ranks "1. lab -21.88 Pa/s ..., reserve none; 2. hab ... reserve 1.4 h". The same stream's voted rate (the control)
is within 20 % of the truth throughout. Fixed by the lead (ground/voting.py): a node whose telemetry says RAPID or LEAK is out of its transient,
as its RAPID event would have put it; the strict xfail is removed."""
import glob
import math
from pathlib import Path

import pytest

from safehaven.ground.cmd_replay import bin_frames
from safehaven.ground.engine import Engine
from safehaven.ground.policy import load_policy

ONSET_S, V_M3, HOLE_MM, T_K, P0, P_MIN = 90.0, 100.0, 15.0, 295.15, 101325.0, 65000.0
TAU_S = V_M3 / (0.0404 * 287.05 * math.sqrt(T_K) * 0.6 * math.pi * (HOLE_MM / 2000.0) ** 2)


def true_reserve(t):
    return TAU_S * math.log(P0 / P_MIN) - (t - ONSET_S)


def true_rate(t):
    return -P0 * math.exp(-(t - ONSET_S) / TAU_S) / TAU_S


@pytest.fixture(scope="module")
def shown(tmp_path_factory):
    """[(t, state, lab's rate, lab's reserve)] as the dashboard shows them, every second from 91 to 120 s."""
    from safehaven.ground.cli import main
    out = tmp_path_factory.mktemp("rlr")
    assert main(["sim", "scenarios/rapid_leak_reserve.toml", "--runtime", "cpython", "--out", str(out), "--quiet"]) == 0
    engine = Engine(load_policy(None), zones={1: "lab", 2: "lab", 3: "lab"})
    frames = []
    for order, path in enumerate(sorted(glob.glob(str(out / "node-*.bin")))):
        frames += [(t, order, i, Path(path).stem, fr) for i, (t, fr) in enumerate(bin_frames(path))]
    frames.sort(key=lambda f: f[:3])
    rows, check = [], 91.0
    for t, _o, _i, link, frame in frames:
        while check <= min(t, 120.0):
            engine.tick(check)
            snap = engine.snapshot()
            lab = snap["zones"]["lab"]
            rows.append((check, snap["state"], lab["rate_pa_s"], lab["reserve_s"]))
            check += 1.0
        engine.ingest(link, frame, t)
    return rows


def test_the_reserve_shown_holds_through_the_first_seconds_of_a_depressurisation(shown):
    sheltered = [(t, r) for t, state, _rate, r in shown if state in ("SHELTER", "SHELTERED")]
    assert len(sheltered) >= 25
    wrong = [(t, r) for t, r in sheltered if r is None or abs(r / true_reserve(t) - 1.0) > 0.30]
    assert wrong == []


def test_the_rate_shown_holds_through_the_first_seconds_of_a_depressurisation(shown):
    # the control: the same zone, the same seconds, its voted rate
    sheltered = [(t, rate) for t, state, rate, _r in shown if state in ("SHELTER", "SHELTERED")]
    assert len(sheltered) >= 25
    wrong = [(t, rate) for t, rate in sheltered if rate is None or abs(rate / true_rate(t) - 1.0) > 0.20]
    assert wrong == []
