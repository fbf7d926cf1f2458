"""pytest plugin for bench tests: fixtures `bench`, `node`, `chamber`, `gauge`, `ground`.

Registered through the pytest11 entry point, so any project with safehaven installed can write:

    import pytest

    @pytest.mark.bench_scenario("scenarios/chamber_rate_of_rise.toml")
    def test_needle_valve_leak_is_seen(chamber, node, gauge):
        chamber.valve("pump", True); chamber.wait(8); chamber.valve("pump", False)
        chamber.wait(5)
        status, ref_pa = gauge.pressure_pa(1)
        assert abs(node.pressure_pa - ref_pa) < 150
        chamber.valve("leak", True); chamber.wait(30)
        assert node.state == "LEAK"

By default the fixtures run the virtual bench (firmware in the MicroPython VM, chamber physics, a TPG
36x emulator and a relay-board emulator on ptys). Given ports they drive real hardware instead:
    pytest --bench-node 1=/dev/ttyACM0 --bench-gauge /dev/ttyUSB0 --bench-valves /dev/ttyACM1
The scenario's own events are not played: the test switches valves itself. This module imports nothing
heavy at load time, so it never slows down or breaks unrelated test runs.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from safehaven import ROOT
from safehaven.ground.args import node_ports
from safehaven.hil import scenario as sc
from safehaven.hil.bench import HardwareBench, SimInstruments
from safehaven.hil.sim import Sim

DEFAULT_SCENARIO = ROOT / "scenarios" / "chamber_rate_of_rise.toml"


def pytest_addoption(parser):
    g = parser.getgroup("safehaven-bench", "safehaven bench fixtures (virtual bench unless ports are given)")
    g.addoption("--bench-node", action="append", default=[], metavar="ID=PORT", help="a node's serial port")
    g.addoption("--bench-gauge", default=None, metavar="PORT", help="TPG 36x gauge controller port")
    g.addoption("--bench-valves", default=None, metavar="PORT", help="relay board port")
    g.addoption("--bench-runtime", default="micropython", choices=("micropython", "cpython"),
                help="VM for the virtual bench's nodes")


def pytest_configure(config):
    config.addinivalue_line("markers", "bench_scenario(path): scenario file the bench fixtures load")


class NodeView:
    """What one node last said, as decoded by the bench."""

    def __init__(self, rec, node_id: int):
        self._rec, self.id = rec, node_id

    def _last(self, key):
        s = self._rec.series["nodes"][self.id][key]
        return s[-1] if s else None

    @property
    def pressure_pa(self):
        return self._last("pressure_pa")

    @property
    def rate_pa_s(self):
        return self._last("rate_pa_s")

    @property
    def co2_ppm(self):
        return self._last("co2_ppm")

    @property
    def state(self):
        ch = self._rec.node_changes[self.id]
        return ch[-1][1] if ch else None

    @property
    def frames(self) -> int:
        return self._rec.nodes[self.id]["frames"]


class Chamber:
    """Valves and time, the same on both benches."""

    def __init__(self, bench):
        self._bench = bench

    def valve(self, name: str, on: bool) -> None:
        self._bench.valve(name, on)

    def wait(self, seconds: float) -> None:
        self._bench.advance(self._bench.t + seconds)

    @property
    def t(self) -> float:
        return self._bench.t


class _Virtual:
    def __init__(self, scen, out: Path, runtime: str):
        scen.events = [e for e in scen.events if e.kind != "valve"]
        scen.duration_s = max(scen.duration_s, 3600.0)
        self.sim = Sim(scen, out, runtime, None, lambda m: None)
        self.sim.instruments = SimInstruments(scen, out, progress=lambda m: None)
        self.sim.start()
        self.rec, self.engine, self.gauge = self.sim.rec, self.sim.engine, self.sim.instruments.gauge

    @property
    def t(self) -> float:
        return self.sim.t

    def valve(self, name: str, on: bool) -> None:
        self.sim.instruments.switch(name, on)

    def advance(self, until_s: float) -> None:
        self.sim.advance(until_s)

    def close(self) -> dict:
        return self.sim.finish()


class _Hardware:
    def __init__(self, scen, out: Path, nodes: dict, gauge: str, valves: str):
        self.hw = HardwareBench(scen, nodes, gauge, valves, out, progress=lambda m: None)
        self.rec, self.engine, self.gauge = self.hw.rec, self.hw.engine, self.hw.gauge

    @property
    def t(self) -> float:
        return self.hw.t

    def valve(self, name: str, on: bool) -> None:
        self.hw.valve(name, on)

    def advance(self, until_s: float) -> None:
        self.hw.advance(until_s)

    def close(self) -> dict:
        self.hw.close()
        return self.hw.finish(False, self.hw.t)


@pytest.fixture
def bench(request, tmp_path):
    """The whole bench: .valve(), .advance(), .rec (decoded node data), .engine (the ground), .gauge."""
    marker = request.node.get_closest_marker("bench_scenario")
    scen = sc.load(marker.args[0] if marker else DEFAULT_SCENARIO)
    opt = request.config.getoption
    if opt("--bench-node") or opt("--bench-gauge") or opt("--bench-valves"):
        if not (opt("--bench-node") and opt("--bench-gauge") and opt("--bench-valves")):
            pytest.fail("hardware bench needs --bench-node, --bench-gauge and --bench-valves together")
        b = _Hardware(scen, tmp_path, node_ports(opt("--bench-node"), "--bench-node"), opt("--bench-gauge"), opt("--bench-valves"))
    else:
        b = _Virtual(scen, tmp_path, opt("--bench-runtime"))
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def chamber(bench):
    return Chamber(bench)


@pytest.fixture
def gauge(bench):
    """The reference gauge client (hil.gauge.TPG36x): .pressure_pa(1) -> (status, Pa)."""
    return bench.gauge


@pytest.fixture
def node(bench):
    """The scenario's first node (bench.rec has all of them)."""
    return NodeView(bench.rec, bench.sim.scen.nodes[0].id if hasattr(bench, "sim") else bench.hw.scen.nodes[0].id)


@pytest.fixture
def ground(bench):
    """The live ground engine: .state, .snapshot()."""
    return bench.engine
