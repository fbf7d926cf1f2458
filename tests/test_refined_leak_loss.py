"""The refined LEAK event's kg/day (issue 9 item 3: every kg/day and hole an event carries within 30 % of the truth).

A LEAK's alarm carries no loss (LOSS_UNMEASURED); EV_LEAK_DETECTED follows with the kg/day once `_leak_known` holds:
the growing window's slope since the onset 10 standard errors from 0. Two faults, measured with bench/refine_probe.py
on bench/detection.py's own slow-leak worlds:

1. The growing window's slope from 16 entries on divided by (n (n^2 - 1)) >> 8: 4080 / 256 = 15.94 truncated to 15, so
   16 entries read 6.3 % steep, 18 entries 3.2 %, 24 entries 1.7 % (an exact ramp: +6.4..+7.3 % at 16; the bench's
   entries' z jumped from ~1 to an rms of 1.4-1.7 at 16-19 entries). That is where the refined event goes out at
   3e-3 Pa/s (18-25 entries at 44 ms) and at 1e-2 Pa/s at 200 ms (14-19).
2. The refined event went out at the first entry whose slope passed 10 standard errors. Its error selects that entry:
   a z of +2.3 passes where the standard error is 13 % of the rate, and is then 30 % off. With honest white noise alone
   0.6-0.9 % of such first passages are beyond 30 % (Monte Carlo, 3,000 runs per rate); a fan's residual wave within a
   window of a period or two (amplitude ~1 entry sigma, as the bench's pre-onset entries show with the 3 Pa fan) makes it
   1.4-5 %. Seen: candidate cand3 (main + notch + thermal), bench part seed 7007, 3e-2 Pa/s with the 3 Pa fan at 44 ms:
   +33.6 % at 73 s after the onset, 4 entries, z +2.5 (main: +0.9 % at 105 s, but its own entry 3 was at z +2.5 too and
   only missed 10 SE by its lower rate). Now the window must pass at two entries in a row: in the Monte Carlo (bench/refine_probe.py --montecarlo)
   none of 3,000 beyond 30 % with white noise, none from 5 entries on with the wave (0.3-1.3 % still at 9-11 entries:
   open, docs/detection.md section 5); on the bench's 16 parts x 4 rates x fan/no fan x 44/200 ms (their recorded
   windows) worst 18.0 % (first passage 20.7 %), cand3's part +14.0 % at 89 s. It costs one entry: 16 blocks (~16 s).
"""
import random
import sys
from pathlib import Path

import pytest

import detector as D
from det_rate import BlockRates

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import detection as B  # noqa: E402
import refine_probe as P  # noqa: E402


@pytest.mark.parametrize("beta", [3e-2, 1e-2, 3e-3])
def test_growing_window_slope_is_not_steep_from_16_entries(beta):
    # an exact ramp into the growing window at 44 ms's blocks (23 samples, 1.012 s): its slope from 8 entries on within
    # 1.5 % (the q4 entries' quantisation: +1.3 % at 15-16 entries at 3e-3 Pa/s, 0.3 % elsewhere). Seen failing:
    # +6.4 / +6.6 / +7.3 % at 16 entries, +3.4..+4.3 % at 18.
    rates = BlockRates()
    block_s = 23 * 0.044
    rates.configure(block_s)
    rates.grow_start(0, 0)
    errs = {}
    for i in range(16 * 80):
        rates.add(int(round((1000.0 - beta * block_s * i) * 256)))
        if rates.long_n == 0 and rates.g_n[0] >= 8:
            errs[rates.g_n[0]] = rates.grow_e5() / (-beta * 1e5) - 1.0
    bad = {n: round(100 * e, 1) for n, e in errs.items() if abs(e) > 0.015}
    assert not bad, bad


def test_a_refined_event_waits_for_a_second_entry():
    # The first passage of 10 standard errors is not believed alone: on bench part seed 7007 (3e-2 Pa/s, 3 Pa fan,
    # 44 ms) the window passes at an entry and the event goes out at the next one that passes too, 16 blocks later
    # (main sent it at the first: 105 s after the onset; now 122 s), within 30 % (+1.5 %).
    r = P.run((3e-2, 3.0, 7, 44, str(Path(__file__).resolve().parents[1]), 0.0))
    refined = [e for e in r["events"] if e[1] is not None and e[0] >= 0]
    assert refined, r["events"]
    t, err, n, _ = refined[0]
    entries = [e for e in r["entries"] if e[3] >= 3 and e[0] <= t + 0.01]
    se = [e[5] for e in entries]
    passed = [e[3] for e in entries if -e[4] * 16 > 10 * e[5]]
    assert passed and passed[-1] == n and n - 1 in passed, (passed, n, se)
    assert abs(err) < 0.3, err
