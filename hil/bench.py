"""The HIL runner: a scenario against a vacuum chamber, real or emulated.

`safehaven bench run SCENARIO --sim --out DIR` runs the chamber physics with a TPG 36x gauge
emulator and a relay-board emulator, each on its own pty: the runner talks to them through the same
clients (hil.gauge.TPG36x, hil.relay.Valves) it uses on a real bench, and the nodes are the firmware
in VMs (hil.sim). With `--node ID=PORT ... --gauge PORT --valves PORT` the same steps run in wall-clock
time against real boards and instruments.

Either way the runner switches pump, vent and leak valves at the scenario's event times, reads the
reference gauge, compares each node's pressure with it (only inside the BMP280's 300-1100 hPa range and
while the reference is steady, so a sample is not compared across a pump-down), checks every
expectation and writes report.md (+ PNGs), summary.json and junit.xml. Ctrl-C or any error puts every
valve in the scenario's safe state and the report is still written.

The ground station, the recorder, the decision log and the results are the run core's (hil/run.py);
this module is the chamber's adapter: the wall clock, the nodes' serial ports, the gauge and valves
(SimInstruments: their emulators driven by the chamber physics, for the virtual bench).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

from safehaven.ground.clock import WallClock
from safehaven.hil import scenario as sc
from safehaven.hil.gauge import PtyDevice, TPG36x, TPG36xEmulator
from safehaven.hil.relay import RelayBoard, RelayEmulator, Valves
from safehaven.hil.run import Comparator, RunCore, agree_tolerance, latest_node_pressures
from safehaven.hil.sim import Sim


def read_back(valves: Valves) -> dict:
    """Each valve's relay as the board reports it (None when it does not answer)."""
    out = {}
    for name, ch in valves.channels.items():
        try:
            out[name] = valves.board.get(ch)
        except (OSError, ValueError):
            out[name] = None
    return out


class SimInstruments:
    """Gauge and relay-board emulators on ptys, driven by the chamber physics; used by hil.sim.Sim."""

    def __init__(self, scen: sc.Scenario, out: Path, gauge_period_s: float = 1.0,
                 progress: Callable[[str], None] = print):
        self.scen, self.out, self.period = scen, out, gauge_period_s
        self.progress = progress
        self.comp = Comparator()
        self.next_read = 0.0
        self.world: Any = None
        self.devices: list[PtyDevice] = []
        self.valves: Optional[Valves] = None
        self.gauge: Optional[TPG36x] = None
        self.safe_errors: list[str] = []
        self.after_safe: dict = {}
        self.switches: list = []

    def start(self, world) -> None:
        import serial
        self.world = world
        by_channel = {ch: name for name, ch in self.scen.valves.items()}

        def on_change(ch: int, on: bool) -> None:
            if ch in by_channel:
                world.set_valve(by_channel[ch], on)

        def read_pa(gauge: int) -> tuple[int, float]:
            pa = world.truth(self.scen.chamber.zone)["pressure_pa"]
            return (1, 1e-4) if pa < 1e-4 else (0, pa)

        relay_dev = PtyDevice(RelayEmulator(on_change=on_change).feed)
        gauge_dev = PtyDevice(TPG36xEmulator(read_pa).feed)
        self.devices = [relay_dev, gauge_dev]
        self.valves = Valves(RelayBoard(serial.serial_for_url(relay_dev.port, timeout=1)), self.scen.valves)
        self.gauge = TPG36x(serial.serial_for_url(gauge_dev.port, baudrate=9600, timeout=1))
        self.gauge.set_unit(2)
        self.valves.safe(self.scen.safe_state)
        world.on_valve = self.switch

    def switch(self, name: str, on: bool) -> None:
        assert self.valves is not None
        self.valves.set(name, on)
        self.switches.append((round(self.world.t_s, 3), name, on))
        self.progress(f"[{self.scen.name}] t={self.world.t_s:.0f} s: {name} {'on' if on else 'off'}")

    def step(self, t: float, rec) -> None:
        if t + 1e-9 < self.next_read or self.gauge is None:
            return
        self.next_read = t + self.period
        status, pa = self.gauge.pressure_pa(1)
        if status == 0:
            self.comp.add(t, pa, latest_node_pressures(rec))

    def comparisons(self) -> dict:
        return self.comp.results(agree_tolerance(self.scen))

    def close(self) -> None:
        if self.valves is not None:
            self.safe_errors = self.valves.safe(self.scen.safe_state)
            self.after_safe = read_back(self.valves)
            self.valves.board.port.close()
            self.valves = None
        if self.gauge is not None:
            self.gauge.port.close()
            self.gauge = None
        for d in self.devices:
            d.close()

    def finish(self, summary: dict, series: dict) -> None:
        series["reference"] = self.comp.ref
        summary["bench"] = "chamber (emulated gauge and relay board over pty)"
        summary["valve_switches"] = self.switches
        summary["valves_after_safe_state"] = self.after_safe
        if self.safe_errors:
            summary["safe_state_errors"] = self.safe_errors
            summary["passed"] = False


def run_sim(scen: sc.Scenario, out: Path, runtime: str = "micropython", progress=None) -> dict:
    progress = progress or (lambda m: print(m, file=sys.stderr, flush=True))
    sim = Sim(scen, out, runtime, None, progress)
    sim.instruments = SimInstruments(scen, out, progress=progress)
    return sim.run()


class HardwareBench:
    """A real chamber: nodes on serial ports, a TPG 36x gauge, a relay board; wall-clock time."""

    def __init__(self, scen: sc.Scenario, nodes: dict[int, str], gauge_port: str, valves_port: str, out: Path,
                 gauge_baud: int = 9600, valves_baud: int = 19200, progress=None, gauge_period_s: float = 1.0):
        import serial

        self.scen, self.nodes, self.out = scen, nodes, out
        self.progress = progress or (lambda m: print(m, file=sys.stderr, flush=True))
        self.period = gauge_period_s
        RunCore.prepare(out)
        self.valves = Valves(RelayBoard(serial.serial_for_url(valves_port, baudrate=valves_baud, timeout=1)),
                             scen.valves)
        self.gauge = TPG36x(serial.serial_for_url(gauge_port, baudrate=gauge_baud, timeout=1))
        self.comp = Comparator()
        self.clock = WallClock()
        self.t0 = self.clock.now()
        self.core = RunCore(scen, out, {f"node{nid}": port for nid, port in nodes.items()}, self.clock, self.t0,
                            record_arrivals=True)
        self.rec, self.engine, self.station = self.core.rec, self.core.engine, self.core.station
        self.switches: list = []
        self.safe_errors: list[str] = []
        self.next_read = 0.0
        self.valves.safe(scen.safe_state)

    @property
    def t(self) -> float:
        return self.clock.now() - self.t0

    def valve(self, name: str, on: bool) -> None:
        self.valves.set(name, on)
        self.switches.append((round(self.t, 3), name, on))
        self.progress(f"[{self.scen.name}] t={self.t:.0f} s: {name} {'on' if on else 'off'}")

    def advance(self, until_s: float, events: Optional[list] = None) -> None:
        """Poll the ground, switch due valves and read the gauge until t >= until_s (wall clock)."""
        next_progress = self.t
        while True:
            t = self.t
            while events and events[0].t_s <= t:
                ev = events.pop(0)
                self.valve(ev.target, bool(ev.value))
            self.core.poll(0.1)
            if t >= self.next_read:
                self.next_read = t + self.period
                status, pa = self.gauge.pressure_pa(1)
                if status == 0:
                    self.comp.add(t, pa, latest_node_pressures(self.rec))
            if t >= next_progress:
                next_progress = t + 10
                self.progress(f"[{self.scen.name}] t={t:.0f}/{until_s:.0f} s, ground {self.engine.state}")
            if t >= until_s:
                return

    def close(self) -> None:
        self.safe_errors = self.valves.safe(self.scen.safe_state)
        self.after_safe = read_back(self.valves)
        self.core.close()
        self.valves.board.port.close()
        self.gauge.port.close()

    def finish(self, interrupted: bool, wall_s: float, error: Optional[str] = None) -> dict:
        """The run's results, written by the run core."""
        core = self.core
        nodes = {str(nid): core.node_info(nid, port=port) for nid, port in self.nodes.items()}
        summary = core.summary("chamber (hardware)", "boards", wall_s, interrupted,
                               self.comp.results(agree_tolerance(self.scen)), nodes, self.safe_errors)
        summary["valve_switches"] = self.switches
        summary["valves_after_safe_state"] = getattr(self, "after_safe", {})
        if self.safe_errors:
            summary["safe_state_errors"] = self.safe_errors
        if error:
            summary["error"] = error
        core.rec.series["reference"] = self.comp.ref
        return core.write(summary, self.t)


def run_hardware(scen: sc.Scenario, nodes: dict[int, str], gauge_port: str, valves_port: str, out: Path,
                 gauge_baud: int = 9600, valves_baud: int = 19200, progress=None) -> dict:
    """Run the scenario in wall-clock time on a real chamber; Ctrl-C or an error -> valves safe, report."""
    wall0 = time.monotonic()
    hw = HardwareBench(scen, nodes, gauge_port, valves_port, out, gauge_baud, valves_baud, progress)
    skipped = [e for e in scen.events if e.kind != "valve"] + list(scen.faults)
    if skipped:
        hw.progress(f"[{scen.name}] {len(skipped)} hatch/crew/operator events and emulator faults do not "
                    "apply to a real chamber; skipped")
    interrupted, error = False, None
    try:
        hw.advance(scen.duration_s, [e for e in scen.events if e.kind == "valve"])
    except KeyboardInterrupt:
        interrupted = True
        hw.progress(f"[{scen.name}] interrupted: valves to the safe state, writing the report")
    except (OSError, ValueError, RuntimeError) as exc:   # a gauge or relay gone mid-run
        interrupted, error = True, str(exc)
        hw.progress(f"[{scen.name}] stopped by an error ({exc}): valves to the safe state, writing the report")
    finally:
        hw.close()
    return hw.finish(interrupted, time.monotonic() - wall0, error)
