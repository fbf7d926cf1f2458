"""A hole soon after two modules were equalised (checked by the red team after ground/equalise.py, 8fc986b; issue 9
item 4: SHELTER within 2 s of the onset of a sustained fall of 10 Pa/s or more, reserve within 30 %). The harness and
modules of tests/test_redteam_equalise.py: 100 m3 (a) and 60 m3 (b) 1 kPa apart, the 30 mm equalisation valve
opened at 300 s (a falls 375 Pa, b rises 625 Pa, 90 % in 29 s); 40 s later, the valve still open, a 15 mm hole
opens in a and both fall as one 160 m3 volume (-13.4 Pa/s; reserve to 65 kPa 56 min). 3 + 2 nodes at 44 ms, every
per-part error on, `safehaven sim --runtime cpython`.

Measured on main 7e07373 (/tmp/redteam5/eqhole/run.py 340 15 30 DIR): 'equalising' at 301.8 s as designed, then
SHELTER only at 344.5 s, +4.5 s after the hole; its decision shows b at +10.47 Pa/s while b falls at -13 Pa/s
(the rise it had during the equalisation), and once the two are joined their shared rate is -6.13 / -7.40 / -8.54
Pa/s at 349 / 352 / 355 s: reserves of 2.0 h, 1.7 h, 1.4 h against 54-55 min (+114 %, +82 %, +52 %). The control,
the same hole in the same two modules already at one pressure: SHELTER at +1.2 s, reserves 54.6-56.3 min.

Fixed in ground/equalise.py and ground/joined.py (docs/shelter.md, "Equalising" and "Joined zones"): a zone taken
as equalising whose nodes vote RAPID again is a new fall, weighed from its own onset (its verdict suspended
meanwhile, at most WAIT_S), and a joined member whose nodes call no leak counts with its pressure's own slope.
Now: SHELTER at +1.4 s (reserve 3,896 s for 3,338: +17 %), revised at +1.5 s (-1 %), confirmed at +6.0 s
(-0.4 %); tests/test_equalise_hole.py is the engine-level twin."""
import json
import math

import pytest

from tests import test_redteam_equalise as E

HOLE_S, HOLE_MM, P_MIN = 340.0, 15.0, 65000.0
TAU_S = (E.VOLUMES["a"] + E.VOLUMES["b"]) / (0.6 * math.pi * (HOLE_MM / 2000.0) ** 2 * 0.6847 * math.sqrt(E.R_AIR * E.GAS_K))


def told(sh, tmp_path, dp_pa):
    """(SHELTER s after the hole, [(t, zone a's reserve / true - 1)] of every decision from SHELTER to the end)."""
    flow = E.equalisation(30.0, dp_pa)

    def pressures(t):
        k = min(max(int(round((t - E.OPEN_S) / 0.01)), 0), len(flow) - 1)
        pa, pb = flow[k][1:] if t > E.OPEN_S else flow[0][1:]
        f = math.exp(-max(t - HOLE_S, 0.0) / TAU_S)
        return pa * f, pb * f
    ran = E.run(sh, tmp_path, 30.0, E.traces(pressures), E.SCENARIO.replace('"never above MONITOR"',
                                                                          f'"never above MONITOR before t={HOLE_S}"'))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    p_eq = (101325.0 * E.VOLUMES["a"] + (101325.0 - dp_pa) * E.VOLUMES["b"]) / (E.VOLUMES["a"] + E.VOLUMES["b"])
    shelter, errors = None, []
    for line in (tmp_path / "out" / "decisions.jsonl").read_text().splitlines():
        d = json.loads(line)
        if shelter is None and d["event"] == "state" and d["state"] == "SHELTER":
            shelter = round(d["t"] - HOLE_S, 2)
        if shelter is not None and d["event"] in ("state", "confirmed", "revised"):
            truth = TAU_S * math.log(p_eq / P_MIN) - (d["t"] - HOLE_S)
            reserve = d["zones"]["a"]["reserve_s"]
            errors.append((d["t"], None if reserve is None else round(reserve / truth - 1.0, 2)))
    return shelter, errors


@pytest.mark.slow
def test_a_hole_after_an_equalisation_is_sheltered_with_its_reserve(tmp_path, sh):
    shelter, errors = told(sh, tmp_path, 1000.0)
    assert shelter is not None and shelter <= 2.0, shelter
    assert errors and all(e is not None and abs(e) <= 0.30 for _t, e in errors), errors


@pytest.mark.slow
def test_the_same_hole_in_modules_at_one_pressure_is_sheltered_with_its_reserve(tmp_path, sh):
    # the control: the same modules, valve, hole and parts, no pressure difference to equalise
    shelter, errors = told(sh, tmp_path, 0.0)
    assert shelter is not None and shelter <= 2.0, shelter
    assert errors and all(e is not None and abs(e) <= 0.30 for _t, e in errors), errors
