"""A 2 h EVA on the virtual bench (the firmware's detector and sensor drivers in `safehaven sim --runtime cpython`,
every emulator per-part error on): the world of tests/test_redteam_depress.py (a cabin of 100 m3, the safe haven,
and an airlock of 6 m3 with their hatch closed, 3 + 2 nodes) with the airlock vented at 60 s through a 20 mm
valve, announced at 50 s for 3,600 s (shelter.depress_max_s, the most it may be), the valve closed at vacuum at
7,260 s and the airlock repressed from the tanks over 300 s. The engine-level twin, with its figures before the
change, is tests/test_ground_depressed.py (docs/shelter.md, "A zone held depressed")."""
import json

import pytest

from tests.test_redteam_depress import SCENARIO, VENT_S

EVA_END_S, REPRESS_S = VENT_S + 7200.0, 300.0
EVA = f"""
[[event]]
t_s = {VENT_S - 10:.0f}
operator = "depress"
zone = "airlock"
for_s = 3600

[[event]]
t_s = {EVA_END_S:.0f}
repress = "airlock"
rise_pa = 101325
over_s = {REPRESS_S:.0f}
"""


def run(sh, tmp_path, duration, expect, extra=""):
    text = SCENARIO.format(expect=expect, vent=VENT_S, events=EVA + extra).replace(
        "duration_s = 90", f"duration_s = {duration:.0f}").replace(
        "diameter_mm = 20\n", f"diameter_mm = 20\nend_s = {EVA_END_S:.0f}\n", 1)
    path = tmp_path / "eva.toml"
    path.write_text(text)
    ran = sh("sim", str(path), "--runtime", "cpython", "--out", str(tmp_path / "out"), "--quiet")
    log = [json.loads(line) for line in (tmp_path / "out" / "decisions.jsonl").read_text().splitlines()]
    return ran, log


@pytest.mark.slow
def test_a_two_hour_eva_never_shelters_and_its_repress_ends_the_held_state(tmp_path, sh):
    ran, log = run(sh, tmp_path, EVA_END_S + REPRESS_S + 200.0, '"never above MONITOR"')
    assert ran.returncode == 0, ran.stdout + ran.stderr
    held = [d["t"] for d in log if d["event"] == "depressed"]
    ended = [(d["t"], d["reasons"]) for d in log if d["event"] == "depress_ended"]
    assert len(held) == 1 and VENT_S < held[0] < VENT_S + 150.0, held
    assert len(ended) == 1 and "repressed" in ended[0][1][0] and ended[0][0] > EVA_END_S, ended


@pytest.mark.slow
def test_a_cabin_hole_during_the_eva_is_a_shelter(tmp_path, sh):
    hole = 5000.0    # after the announcement's 3,600 s: the airlock held at vacuum
    extra = f'\n[[leak]]\nzone = "cabin"\nonset_s = {hole:.0f}\ndiameter_mm = 15\n'
    ran, _ = run(sh, tmp_path, hole + 30.0, f'"SHELTER within 2 s of t={hole:.0f}"', extra)
    assert ran.returncode == 0, ran.stdout + ran.stderr
