"""Reports render (Markdown + PNG, JUnit XML) and expectations are judged on constructed timelines."""
import xml.etree.ElementTree as ET

from safehaven.hil import report
from safehaven.hil import scenario as sc

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _summary(met=True):
    return {"scenario": "demo", "description": "d", "runtime": "micropython", "duration_s": 10, "wall_s": 1.5,
            "passed": met, "nodes": {"1": {"frames": 10, "zone": "a"}, "2": {"frames": 9, "zone": "a"}},
            "expectations": [{"text": "never above NOMINAL", "met": True, "detail": "highest NOMINAL"},
                             {"text": "SHELTER by t=5", "met": met, "detail": "x"}],
            "detection": {"a": {"onset_s": 1.0}},
            "comparisons": {"1": {"samples": 3, "max_abs_pa": 12.5, "within": True}}}


def _series():
    t = [0, 1, 2, 3]
    return {"truth": {"a": {"t": t, "pressure_pa": [101325, 101300, 101250, 101200], "co2_ppm": [400, 410, 420, 430]}},
            "nodes": {1: {"t": t, "pressure_pa": [101320, 101301, 101249, 101190], "rate_pa_s": [0, -25, -50, -50],
                          "co2_ppm": [401, 409, 421, 433], "state": ["NOMINAL", "SUSPECT", "LEAK", "LEAK"]}},
            "ground": {"t": [0, 2, 3], "state": ["NOMINAL", "MONITOR", "SHELTER"]},
            "reference": {"t": t, "pressure_pa": [101325, 101299, 101251, 101201]}}


def test_report_markdown_and_plots(tmp_path):
    path = report.write(_summary(met=False), _series(), tmp_path)
    text = path.read_text()
    assert text.startswith("# demo: FAIL")
    assert "| SHELTER by t=5 | **NOT MET** | x |" in text
    for png in ("pressure.png", "rate.png", "co2.png", "node_states.png", "ground_state.png"):
        assert f"]({png})" in text
        assert (tmp_path / png).read_bytes()[:8] == PNG_MAGIC


def test_report_without_data_has_no_plots(tmp_path):
    path = report.write({"scenario": "empty", "passed": True, "expectations": []}, {}, tmp_path)
    assert "## Plots" not in path.read_text()
    assert not list(tmp_path.glob("*.png"))


def test_junit_counts_failures(tmp_path):
    root = ET.parse(report.junit(_summary(met=False), tmp_path / "j.xml")).getroot()
    suite = root.find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "1"
    failed = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed == ["SHELTER by t=5"]


def _judge(texts, timeline):
    tl = {"ground": [], "nodes": {}, "isolated": {}, "comparisons": {}}
    tl.update(timeline)
    return [r["met"] for r in sc.evaluate([sc.parse_expectation(t) for t in texts], tl)]


def test_ground_expectations():
    tl = {"ground": [(0, "NOMINAL"), (601.5, "SHELTER"), (700, "SHELTERED")]}
    assert _judge(["SHELTER within 2 s of t=600", "SHELTER within 1 s of t=600", "SHELTER within 2 s of t=602",
                   "SHELTERED by t=700", "SHELTERED by t=699", "never above NOMINAL", "never above SHELTERED",
                   "never above NOMINAL before t=601", "ISOLATE by t=602"], tl) == [
        True, False, False, True, False, False, True, True, True]


def test_early_alarm_fails_a_within_expectation():
    assert _judge(["SHELTER within 5 s of t=600"], {"ground": [(300, "SHELTER")]}) == [False]


def test_node_and_isolation_expectations():
    tl = {"nodes": {1: [(0, "NOMINAL"), (50, "SUSPECT"), (80, "LEAK")], 2: [(0, "NOMINAL"), (10, "FAULT")]},
          "isolated": {3: 120.0}}
    assert _judge(["node 1 LEAK by t=90", "node 1 LEAK within 20 s of t=70", "node 1 RAPID by t=100",
                   "node 2 never above NOMINAL", "node 2 FAULT by t=20", "node 3 isolated by t=130",
                   "node 3 isolated by t=100", "node 1 never isolated", "node 3 never isolated",
                   "node 2 LEAK by t=100"], tl) == [
        True, True, False, False, True, True, False, True, False, False]


def test_agreement_expectation():
    good = {"comparisons": {"1": {"max_abs_pa": 80.0}, "2": {"max_abs_pa": 90.0}}}
    bad = {"comparisons": {"1": {"max_abs_pa": 80.0}, "2": {"max_abs_pa": 190.0}}}
    e = ["nodes agree with reference within 100 Pa"]
    assert _judge(e, good) == [True] and _judge(e, bad) == [False] and _judge(e, {}) == [False]


def test_co2_time_expectation():
    e = ["safe haven CO2 time reported by t=100"]
    assert _judge(e, {"co2_time": 80.0}) == [True]
    assert _judge(e, {"co2_time": 120.0}) == [False]
    assert _judge(e, {}) == [False]
