"""The safe haven's time to the CO2 limit when the crew enters (issue 9: every number a person acts on against the
truth; checked by the red team on SCD4x parts nobody tuned for). The ground's own case, a crew of 4 entering a
9.3 m3 capsule with no scrubbing at 40 s (tests/test_co2_time_to_limit.py, its parts seed 1), on other parts:
seeds 6 and 8 of the same harness (three SCD4x emulators, every per-part offset and gain error on, the live
engine), judged by the harness's own tolerance (docs/shelter.md, "Safe-haven CO2": while a change settles, once
the reading can have left its old line by 20 ppm, never more than 50 % longer than the truth).

Measured on main ef7f5b1: the first time the ground reports is optimistic by +105 % (seed 6: 3,285 s at 80 s, the
truth 1,602 s; 20 such seconds, up to 3,734 s at 88 s) and +176 % (seed 8: 4,442 s at 72 s against 1,610 s, then
2,694-2,836 s; 18 seconds), 32-56 s after the crew entered, then "measuring" again until 128 s: the crew is told
55-74 minutes when they have 27. Crew 2 and 3 on the same parts: +73..+84 % (seed 8), +78 % (seed 6, crew 3);
seeds 11 and 12: within the tolerance. Once settled (from 160 s, over the harness's 900 s) both parts are within it (the control). The
strict xfail goes when the first time after a crew enters is within the tolerance.

Fixed in ground/co2.py (docs/shelter.md, "Safe-haven CO2"): the first times after 30 s or more without one are
counted on a steeper change of slope that the noise cannot rule out, for 2 min. Now the first time is +24 %
(seed 6, at 88 s) and +25 % (seed 8, at 73 s), within the tolerance. Crew 2 and 3 on seed 8 are not: the
change was not yet visible above the noise (its fit explained less than 2 noise variances) when the straight line
first showed a rise: +126 % / +147 %. Now, in that cautious stretch, a rising line is "measuring" while the best
recent change of slope steepens it at all: the first time is +11 % at 88 s for both."""
import pytest

import tests.test_co2_time_to_limit as C

ENTRY_S = 40.0
_RUNS: dict = {}


def rows(seed):
    if seed not in _RUNS:
        _RUNS[seed] = C.shelter(volume_m3=9.3, crew=4, entry_s=ENTRY_S, seed=seed, duration_s=900.0)
    return _RUNS[seed]


@pytest.mark.parametrize("seed", [6, 8])
def test_the_first_co2_time_after_the_crew_enters_is_not_optimistic(seed):
    problems = C._check(rows(seed), [ENTRY_S], early=True)
    assert not problems, f"{len(problems)} bad seconds, first: " + "; ".join(problems[:3])


@pytest.mark.parametrize("crew", [2, 3])
def test_the_first_co2_time_for_a_smaller_crew_is_not_optimistic(crew):
    problems = C._check(C.shelter(volume_m3=9.3, crew=crew, entry_s=ENTRY_S, seed=8, duration_s=300.0), [ENTRY_S],
                        early=True)
    assert not problems, f"{len(problems)} bad seconds, first: " + "; ".join(problems[:3])


@pytest.mark.parametrize("seed", [6, 8])
def test_the_settled_co2_time_on_the_same_parts_follows_the_physics(seed):
    # the control: the same run, judged once settled (from 2 min after the entry)
    problems = C._check(rows(seed), [ENTRY_S])
    assert not problems, f"{len(problems)} bad seconds, first: " + "; ".join(problems[:3])
