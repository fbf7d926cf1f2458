"""The virtual bench end to end: every shipped scenario under the MicroPython VM, replay equality,
reports, exit codes. Each scenario runs once and every check on its run directory is made there."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from safehaven.hil import scenario as sc
from safehaven.hil.sim import Sim

REPO = Path(__file__).resolve().parents[1]
SHIPPED = ["nominal_day", "slow_leak_prk", "rapid_depress", "two_zone_isolation", "safe_haven_co2",
           "lying_node", "dying_node", "chamber_rate_of_rise", "demo_habitat"]


def cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "safehaven", *args], cwd=REPO, capture_output=True, **kw)


def check_run_dir(out: Path, scen: sc.Scenario, summary: dict) -> None:
    for n in scen.nodes:
        assert (out / f"node-{n.id}.bin").stat().st_size > 0
        info = summary["nodes"][str(n.id)]
        assert info["vm"] == "ok" and info["frames"] > 0 and info["by_type"].get("telemetry", 0) > 0
    assert json.loads((out / "summary.json").read_text()) == summary
    report = (out / "report.md").read_text()
    assert report.startswith(f"# {scen.name}: PASS")
    for png in ("pressure.png", "rate.png", "node_states.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    replay = cli("replay", str(out / "telemetry.sqlite"), "--json", timeout=120)
    assert replay.returncode == 0, replay.stderr.decode()
    live = (out / "decisions.jsonl").read_bytes()
    assert replay.stdout == live   # empty only when the ground never changed its mind (quiet scenarios)
    assert live or summary["ground_states"] == []


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_passes_in_micropython(name, tmp_path):
    scen = sc.load(REPO / "scenarios" / f"{name}.toml")
    summary = Sim(scen, tmp_path, "micropython", progress=lambda m: None).run()
    failed = [e for e in summary["expectations"] if not e["met"]]
    assert summary["passed"], f"{name}: {failed} nodes={ {k: v['vm'] for k, v in summary['nodes'].items()} }"
    check_run_dir(tmp_path, scen, summary)


EXPECT = ["never above NOMINAL", "node 1 RAPID within 2 s of t=10"]


@pytest.fixture
def short(short_scenario):
    """The short scenario with three nodes for 20 s (conftest), whose first expectation must fail."""
    return short_scenario(20, (1, 2, 3), EXPECT)


def test_cli_sim_cpython_failed_expectation_exits_1(tmp_path, short):
    path = tmp_path / "short.toml"
    path.write_text(short)
    out = tmp_path / "run"
    res = cli("sim", str(path), "--runtime", "cpython", "--out", str(out), timeout=300)
    assert res.returncode == 1, res.stderr.decode()
    summary = json.loads((out / "summary.json").read_text())
    met = {e["text"]: e["met"] for e in summary["expectations"]}
    # a 25 mm hole in 30 m3 must raise the ground above NOMINAL and make node 1 RAPID
    assert met == {"never above NOMINAL": False, "node 1 RAPID within 2 s of t=10": True}
    assert b"progress" in res.stderr or b"t=" in res.stderr
    assert "FAIL" in res.stdout.decode() and "report.md" in res.stdout.decode()
    delays = summary["detection"]["lab"]
    assert delays["onset_s"] == 10 and all(d is not None and 0 <= d <= 2 for d in delays["node_leak_delay_s"].values())
    # the CUSUM bound for the true slope (~180 Pa/s at 1 atm: V/(199 Cd A) = 513 s time constant)
    beta = 101325 / (30 / (199 * 0.6 * 3.14159 * 0.0125 ** 2))
    dt, gamma = 0.044, 365 * 86400 / 0.044
    import math
    iso = (6 * 1.69 * dt * math.log(gamma) / beta ** 2) ** (1 / 3)
    # fast-leak cooling steepens the fall by up to gamma = 1.4 at first: bound shorter by up to 1.4^(2/3)
    assert iso / 1.4 ** (2 / 3) * 0.97 <= delays["cusum_bound_s"] <= iso * 1.03


def test_cli_sim_malformed_scenario_exits_2(tmp_path, short):
    path = tmp_path / "bad.toml"
    path.write_text(short.replace('zone = "lab"\n\n[[node]]\nid = 2', 'zone = "kitchen"\n\n[[node]]\nid = 2'))
    res = cli("sim", str(path), "--out", str(tmp_path / "run"), timeout=60)
    assert res.returncode == 2
    assert f"{path}:" in res.stderr.decode() and "node[0].zone: unknown zone 'kitchen'" in res.stderr.decode()
    assert not (tmp_path / "run").exists()


def test_ground_commands_reach_the_node_through_the_pty(tmp_path, short_scenario):
    """A command the ground sends travels back over the node's serial link; the node acks and obeys it."""
    from safehaven.protocol import messages as M
    scen = sc.loads(short_scenario(12, (1, 2, 3), EXPECT, onset_s=100), str(tmp_path / "s.toml"))
    sim = Sim(scen, tmp_path, "cpython", progress=lambda m: None)
    sim.start()
    try:
        sim.advance(4.0)
        rid = sim.station.send_command(1, M.CMD_SET_TELEMETRY_PERIOD, 0, 250)
        sim.advance(6.0)
        result = sim.station.results.get(rid)
        t = sim.rec.series["nodes"][1]["t"]
        before = sum(1 for x in t if 1.0 < x <= 4.0)
        sim.advance(9.0)
        after = sum(1 for x in sim.rec.series["nodes"][1]["t"] if 6.0 < x <= 9.0)
    finally:
        sim.finish()
    assert result is not None and result["status"] == M.ACK_NAMES[0], result
    assert after >= 3 * before > 0
