"""Scenario format: every shipped file loads; malformed files name file, line and field."""
from pathlib import Path

import pytest

from hil import scenario as sc

SCEN_DIR = Path(__file__).resolve().parents[1] / "scenarios"
SHIPPED = ["nominal_day", "slow_leak_prk", "rapid_depress", "two_zone_isolation", "safe_haven_co2",
           "lying_node", "dying_node", "chamber_rate_of_rise", "demo_habitat"]

GOOD = """\
[scenario]
name = "t"
duration_s = 60
expect = [
  "never above MONITOR",
  "node 2 never above NOMINAL",
]

[[zone]]
name = "a"
volume_m3 = 10

[[zone]]
name = "b"
volume_m3 = 10

[[hatch]]
a = "a"
b = "b"

[[node]]
id = 1
zone = "a"

[[node]]
id = 2
zone = "b"

[[leak]]
zone = "a"
onset_s = 10
rate_kg_day = 1.0

[[event]]
t_s = 30
hatch = "a-b"
open = false
"""


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_load(name):
    s = sc.load(SCEN_DIR / f"{name}.toml")
    assert s.nodes and s.expectations and s.duration_s > 0


def test_good_scenario_fields():
    s = sc.loads(GOOD, "good.toml")
    assert [z.name for z in s.zones] == ["a", "b"]
    assert s.events[0].kind == "hatch" and s.events[0].value is False
    assert s.leaks[0].diameter_mm > 0 and s.leak_onsets() == {"a": 10.0}
    assert [e.kind for e in s.expectations] == ["ground_never", "node_never"]


def _line_of(text, needle):
    return [i for i, line in enumerate(text.splitlines(), 1) if needle in line][-1]


@pytest.mark.parametrize("old,new,field,problem", [
    ('volume_m3 = 10\n\n[[zone]]\nname = "b"', 'volume_m3 = "big"\n\n[[zone]]\nname = "b"', "zone[0].volume_m3", "expected float"),
    ('zone = "b"\n\n[[leak]]', 'zone = "c"\n\n[[leak]]', "node[1].zone", "unknown zone"),
    ('id = 2', 'id = 1', "node[1].id", "duplicate"),
    ('onset_s = 10', 'onset_s = 10\nholes = 3', "leak[0].holes", "unknown field"),
    ('hatch = "a-b"', 'hatch = "a-c"', "event[0].hatch", "unknown hatch"),
    ('"never above MONITOR"', '"never above PANIC"', "scenario.expect[0]", "unknown state"),
    ('"node 2 never above NOMINAL"', '"node 7 never above NOMINAL"', "scenario.expect[1]", "unknown node"),
    ('"node 2 never above NOMINAL"', '"shelter soon please"', "scenario.expect[1]", "not an expectation"),
    ('rate_kg_day = 1.0', 'rate_kg_day = 1.0\ndiameter_mm = 1', "leak[0].rate_kg_day", "not both"),
])
def test_malformed_names_file_line_field(old, new, field, problem):
    assert old in GOOD
    bad = GOOD.replace(old, new)
    with pytest.raises(sc.ScenarioError) as err:
        sc.loads(bad, "bad.toml")
    e = err.value
    assert e.path == "bad.toml" and e.field == field and problem in e.problem
    changed = new.splitlines()[-1] if "holes" in new else new.splitlines()[0]
    assert e.line == _line_of(bad, changed)
    assert str(e).startswith(f"bad.toml:{e.line}: {field}:")


def test_toml_syntax_error_has_line():
    bad = GOOD.replace('volume_m3 = 10\n\n[[zone]]\nname = "b"', 'volume_m3 = = 10\n\n[[zone]]\nname = "b"')
    with pytest.raises(sc.ScenarioError) as err:
        sc.loads(bad, "syn.toml")
    assert err.value.line == _line_of(bad, "= = 10") and err.value.field == "toml"


def test_missing_file_is_clear(tmp_path):
    with pytest.raises(sc.ScenarioError, match="cannot read"):
        sc.load(tmp_path / "nope.toml")


def test_expectation_forms():
    e = sc.parse_expectation("SHELTER within 2 s of t=600")
    assert (e.kind, e.state, e.t_from, e.t_to) == ("ground_reach", "SHELTER", 600, 602)
    e = sc.parse_expectation("node 3 isolated by t=900")
    assert (e.kind, e.node, e.t_to) == ("isolated", 3, 900)
    e = sc.parse_expectation("node 1 LEAK within 60 s of t=100")
    assert (e.kind, e.state, e.t_from, e.t_to) == ("node_reach", "LEAK", 100, 160)
    assert sc.parse_expectation("nodes agree with reference within 150 Pa").tolerance == 150


def test_trace_zone(tmp_path):
    (tmp_path / "tr.csv").write_text("t_s,pressure_pa,temperature_c,co2_ppm,rh_pct\n0,100000,20,400,40\n10,99000,22,600,40\n")
    text = GOOD.replace('name = "a"\nvolume_m3 = 10', 'name = "a"\nvolume_m3 = 10\ntrace = "tr.csv"')
    s = sc.loads(text, str(tmp_path / "x.toml"), tmp_path)
    v = s.traces["a"].at(5)
    assert v == {"pressure_pa": 99500, "temperature_c": 21, "co2_ppm": 500, "rh_pct": 40}
    (tmp_path / "tr.csv").write_text("t_s,pressure_pa\n0,1\n")
    with pytest.raises(sc.ScenarioError, match="columns"):
        sc.loads(text, "x.toml", tmp_path)
