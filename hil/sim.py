"""The virtual bench: real firmware in VMs, emulated sensors, physics, real serial ports, the live ground.

One run (`Sim(scenario, out_dir).run()`):
1. every [[node]] is `node.main(config, <boards/sim.json>, hw=<hil.simhw's>)` in its own VM (MicroPython by
   default); its virtual clock stops at the end of each step and calls the bench (hil/simhw.py):
   `{"t_ms", "tx"}` in, `{"until_ms", "rx", "truth", "faults", "stop"}` out;
2. the bench writes each node's tx bytes to the master side of that node's pty pair; the ground
   station reads the slave side with pyserial exactly as it reads a board's USB port, with a
   ManualClock set to virtual time; bytes the ground writes back (commands) are read from the master
   side and handed to the node as rx in its next step;
3. the World (physics or recorded traces, scenario events and faults) gives each node its zone's truth.

All nodes get their step reply before any answer is collected, so the VMs (one process each) run in
parallel. The ground station, the recorder, the decision log and the results are the run core's
(hil/run.py), shared with the chamber bench. Outputs in the run directory: node-ID.bin (here),
telemetry.sqlite, decisions.jsonl, summary.json, report.md + PNGs, junit.xml (the core).
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

from safehaven import ROOT as REPO
from safehaven.ground.clock import ManualClock
from safehaven.ground.ptys import Pty
from safehaven.hil import scenario as sc
from safehaven.hil.physics import Habitat
from safehaven.hil.run import Comparator, RunCore, agree_tolerance, latest_node_pressures
from safehaven.hil.vm import make_vm


TRUTH_FIELDS = ("pressure_pa", "temperature_c", "co2_ppm", "rh_pct")   # a path knot: [t_ms, *these]
PATH_KNOTS = 256   # at most this many of a trace's points in one step (a denser trace steps shorter)


class World:
    """True values of every zone over virtual time; scenario events applied when their time comes."""

    def __init__(self, scen: sc.Scenario, on_valve: Optional[Callable[[str, bool], None]] = None):
        self.scen = scen
        self.habitat = Habitat(scen.zones, scen.hatches, scen.leaks, scen.chamber)
        self.pending = list(scen.events)
        self.fired: list[sc.Event] = []
        self.on_valve = on_valve   # the HIL runner switches valves through the relay board instead
        self.turns = self._turns()

    @property
    def t_s(self) -> float:
        return self.habitat.t_s

    def advance_to(self, t_s: float) -> list[sc.Event]:
        """Run physics to t_s, applying events on the way; return the events that fired."""
        fired = []
        while self.pending and self.pending[0].t_s <= t_s:
            ev = self.pending.pop(0)
            self.habitat.advance_to(max(ev.t_s, self.habitat.t_s))
            self.apply(ev)
            fired.append(ev)
        self.habitat.advance_to(t_s)
        self.fired += fired
        return fired

    def apply(self, ev: sc.Event) -> None:
        h = self.habitat
        if ev.kind == "hatch":
            h.hatch(ev.target).open = bool(ev.value)
        elif ev.kind == "crew":
            n, src, dst = ev.value
            moved = min(n, h.zones[src].crew)
            h.zones[src].crew -= moved
            h.zones[dst].crew += moved
        elif ev.kind == "pulse":
            h.pulse(ev.target, *ev.value)
        elif ev.kind == "repress":
            h.repress(ev.target, *ev.value)
        elif ev.kind == "valve":
            if self.on_valve is not None:
                self.on_valve(ev.target, bool(ev.value))
            else:
                self.set_valve(ev.target, bool(ev.value))

    def set_valve(self, name: str, on: bool) -> None:
        c = self.habitat.chamber
        if c is None:
            raise ValueError("no chamber in this scenario")
        setattr(c, {"pump": "pump_on", "vent": "vent_open", "leak": "needle_open"}[name], on)

    def truth(self, zone: str) -> dict:
        trace = self.scen.traces.get(zone)
        return trace.at(self.habitat.t_s) if trace else self.habitat.truth(zone)

    def path(self, zone: str, t_s: float, t_next: float) -> list:
        """A trace zone's own points from t_s to t_next, for the nodes' sensors to read between step
        ends (hil/simhw.py); [] for a physics zone (its truth is linear across a step)."""
        trace = self.scen.traces.get(zone)
        return trace.path(t_s, t_next) if trace else []

    def step_end(self, t_s: float, t_next: float) -> float:
        """t_next, or an earlier step end: where the physics turns (the nodes' truth is linear across a
        step, so a leak opening mid-step would be seen falling from the step's start), at a leak's onset,
        end or end of growth, an event, a repress's end, and 0.1 s before a pulse too (its drop within
        0.1 s whatever step_ms is); or at a trace's PATH_KNOTS-th point in the step (a bounded sync)."""
        for trace in self.scen.traces.values():
            edge = trace.point_after(t_s + 1e-6, PATH_KNOTS)
            if edge is not None and edge < t_next:
                t_next = round(edge, 6)
        for edge in self.turns:
            if edge >= t_next:
                break
            if edge > t_s + 1e-6:
                return round(edge, 6)
        return t_next

    def _turns(self) -> list[float]:
        """Every time the physics changes course, in order (step_end's edges)."""
        out = []
        for leak in self.scen.leaks:
            out += [leak.onset_s] + [t for t in (leak.end_s,) if t is not None]
            if leak.grow_to_mm is not None and leak.grow_s > 0:
                out.append(leak.onset_s + leak.grow_s)
        for ev in self.scen.events:
            out.append(ev.t_s)
            if ev.kind == "pulse":
                out.append(ev.t_s - 0.1)
            elif ev.kind == "repress":
                out.append(ev.t_s + ev.value[1])
        return sorted(out)


class NodeLink(Pty):
    """A node's pty: the bench owns the master (node side), the ground opens `port` like a board's USB port."""

    def __init__(self) -> None:
        super().__init__(keep_slave=True, blocking=False)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + 5.0
        while view:
            try:
                n = os.write(self.master, view)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the ground station stopped reading a node's link") from None
                time.sleep(0.001)
                continue
            view = view[n:]

    def read_commands(self) -> bytes:
        out = b""
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except (BlockingIOError, OSError):
                break
            if not chunk:
                break
            out += chunk
        return out


def load_board(name: str = "sim") -> dict:
    return json.loads((REPO / "boards" / f"{name}.json").read_text())


def node_config(scen: sc.Scenario, spec: sc.NodeSpec) -> dict:
    zone = next(z for z in scen.zones if z.name == spec.zone)
    cfg: dict[str, Any] = {"node_id": spec.id, "zone": spec.zone, "volume_l": zone.volume_m3 * 1000.0,
                           "mode": "chamber" if scen.chamber is not None and scen.chamber.zone == spec.zone
                           else "habitat"}
    cfg.update(scen.node_defaults)
    cfg.update(spec.config)
    return cfg


class NodeRun:
    """One node's VM and link; `step()` replies to its pending sync, `collect()` waits for the next."""

    def __init__(self, spec: sc.NodeSpec, runtime: str, board: dict, config: dict, out_dir: Path):
        self.spec = spec
        self.link = NodeLink()
        self.vm = make_vm(runtime)
        self.bin = open(out_dir / f"node-{spec.id}.bin", "wb")
        self.t_ms = 0
        self.tx = b""
        self.done: Optional[dict] = None
        self.syncs = 0
        code = ("import json\nfrom hil import simhw\n"
                f"simhw.run_node(json.loads({json.dumps(config)!r}), json.loads({json.dumps(board)!r}))\n")
        self.vm.start(code)

    def collect(self) -> None:
        """Wait for the node's next sync (or its end)."""
        if self.done is not None:
            return
        kind, body = self.vm.next_event()
        if kind == "done":
            self.done = body
            self.tx = b""
            return
        msg = json.loads(body)
        self.t_ms = int(msg.get("t_ms", 0))
        self.tx = bytes.fromhex(msg.get("tx", ""))
        self.syncs += 1
        if self.tx:
            self.bin.write(self.tx)

    def step(self, reply: dict) -> None:
        if self.done is None:
            self.vm.reply(json.dumps(reply).encode())

    def outcome(self) -> str:
        """"ok", or why the firmware stopped."""
        return "ok" if self.done is None or self.done.get("ok") else (self.done.get("error") or "error")

    def close(self) -> None:
        self.bin.close()
        self.vm.close()
        self.link.close()


class Sim:
    def __init__(self, scen: sc.Scenario, out_dir: Path, runtime: str = "micropython",
                 speed: Optional[float] = None, progress: Callable[[str], None] | None = None,
                 on_step: Callable[[float, Any, list, Any], None] | None = None):
        self.scen = scen
        self.out = Path(out_dir)
        self.runtime = runtime
        self.speed = speed
        self.progress = progress or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.on_step = on_step   # a live dashboard: on_step(virtual_s, engine, new_decisions, link_events)
        self._new: list = []
        self.instruments: Any = None  # hil.bench.SimInstruments: gauge and relay board on real ports
        self.core: Optional[RunCore] = None

    def run(self) -> dict:
        """Run the whole scenario; return the summary (also written, with the report, to the run directory)."""
        self.start()
        error = None
        try:
            self.advance(self.scen.duration_s)
        except KeyboardInterrupt:
            self.interrupted = True
            self.progress(f"[{self.scen.name}] interrupted: valves to the safe state, writing the report")
        except (RuntimeError, OSError) as exc:   # a VM killed under us (Ctrl-C reaches the whole group)
            self.interrupted, error = True, f"{type(exc).__name__}: {exc}"
            self.progress(f"[{self.scen.name}] stopped ({error}): valves to the safe state, writing the report")
        return self.finish(error)

    # --- steppable run (the pytest plugin drives these directly) -------------------------------
    def start(self) -> None:
        scen, out = self.scen, self.out
        RunCore.prepare(out)
        self.t0 = time.monotonic()
        self.t = 0.0
        self.interrupted = False
        self.world = World(scen)
        self.start_truth = {z.name: [[0.0] + [self.world.truth(z.name)[k] for k in TRUTH_FIELDS]]
                            for z in scen.zones}
        self.faults = list(scen.faults)
        self.operator: list = []
        self.runs: list[NodeRun] = []
        self.truth_comp = Comparator()
        self._next_truth_cmp = 0.0
        try:
            if self.instruments is not None:
                self.instruments.start(self.world)
            board = load_board("sim")
            self.runs = [NodeRun(n, self.runtime, board, node_config(scen, n), out) for n in scen.nodes]
            self.clock = ManualClock(0.0)
            core = RunCore(scen, out, {f"node{r.spec.id}": r.link.port for r in self.runs}, self.clock,
                           world=self.world, every_s=max(scen.step_ms / 1000, scen.duration_s / 2000),
                           figures=self._figures_vs_truth)
            self.core = core
            if self.on_step:
                core.on_decisions = lambda new: self._new.extend(new)
            self.rec, self.engine, self.station = core.rec, core.engine, core.station
            self.rx = {r.spec.id: b"" for r in self.runs}
            for r in self.runs:
                r.collect()   # boot: the first sync at t_ms 0
            self._at_step_end()
        except BaseException:
            self._close()
            raise
        self._last_progress = 0.0

    def advance(self, until_s: float) -> None:
        """Step virtual time to until_s (capped at the scenario's duration)."""
        scen, step_s = self.scen, self.scen.step_ms / 1000
        until_s = min(until_s, scen.duration_s)
        while self.t < until_s - 1e-9 and not all(r.done is not None for r in self.runs):
            t_next = self.world.step_end(self.t, min(round(self.t + step_s, 6), until_s))
            self.operator += [e for e in self.world.advance_to(t_next) if e.kind == "operator"]
            self.rec.truth(t_next, self.world)
            due: dict = {}
            while self.faults and self.faults[0].t_s <= t_next:
                f = self.faults.pop(0)
                due.setdefault(f.node, {}).setdefault(f.sensor, {}).update(f.settings)
            stop = t_next >= scen.duration_s - 1e-9
            paths = {z: self.world.path(z, self.t, t_next) for z in self.scen.traces}
            if self.t == 0.0:   # the first step starts from each zone's truth, not the emulators' defaults
                paths = {**self.start_truth, **paths}
            for r in self.runs:
                r.step({"until_ms": int(round(t_next * 1000)), "rx": self.rx[r.spec.id].hex(),
                        "truth": self.world.truth(r.spec.zone), "path": paths.get(r.spec.zone, []),
                        "faults": due.get(r.spec.id, {}), "stop": stop})
                self.rx[r.spec.id] = b""
            for r in self.runs:
                r.collect()
            self.t = t_next
            self._at_step_end()
            self._pace()
            if time.monotonic() - self._last_progress > 2.0:
                self._last_progress = time.monotonic()
                self.progress(f"[{scen.name}] t={self.t:.0f}/{scen.duration_s:.0f} s virtual, "
                              f"{time.monotonic() - self.t0:.0f} s real, ground {self.engine.state}")

    def _at_step_end(self) -> None:
        self._ground()
        for ev in self.operator:   # the scenario's operator: recorded by the station, so replay sees it too
            if ev.value == "depress":
                self._running().decide(self.station.announce(ev.target, *ev.args, who="scenario"))
            else:
                self._running().decide(self.station.acknowledge("scenario", ev.value == "sheltered"))
        self.operator = []
        if self.on_step:
            new, self._new = self._new, []
            self.on_step(self.t, self.engine, new, self.station.link_events)
        if self.instruments is not None:
            self.instruments.step(self.t, self.rec)
        elif self.t + 1e-9 >= self._next_truth_cmp:
            self._next_truth_cmp = self.t + 1.0
            for zone in {n.zone for n in self.scen.nodes}:
                pressures = latest_node_pressures(self.rec)
                self.truth_comp.add(self.t, self.world.truth(zone)["pressure_pa"],
                                    {n.id: pressures.get(n.id) for n in self.scen.nodes if n.zone == zone},
                                    series=False)
        for r in self.runs:
            self.rx[r.spec.id] += r.link.read_commands()

    def finish(self, error: Optional[str] = None) -> dict:
        """Stop the nodes, close everything, write the run's results (RunCore.write); return the summary."""
        try:
            # after Ctrl-C a VM pipe may be mid-message: do not talk to the VMs again, just close them
            for r in ([] if self.interrupted else self.runs):
                try:
                    for _ in range(3):   # a stop reply ends node.main; allow a last sync or two
                        if r.done is not None:
                            break
                        r.step({"until_ms": int(round((self.t + 0.001) * 1000)), "rx": "",
                                "truth": self.world.truth(r.spec.zone), "faults": {}, "stop": True})
                        r.collect()
                except (OSError, RuntimeError, ValueError) as exc:   # a VM killed by Ctrl-C too
                    r.done = r.done or {"ok": False, "error": f"VM lost at stop: {exc}"}
        except KeyboardInterrupt:
            self.interrupted = True
        finally:
            self._close()
        core = self._running()
        if self.instruments is not None:
            comparisons: dict = self.instruments.comparisons()
        else:   # no gauge on a plain virtual run: the physics' truth is the reference
            comparisons = self.truth_comp.results(agree_tolerance(self.scen))
        nodes = {str(r.spec.id): core.node_info(r.spec.id, zone=r.spec.zone, vm=r.outcome(), syncs=r.syncs)
                 for r in self.runs}
        crashed = [n for n, i in nodes.items() if i["vm"] != "ok"]
        summary = core.summary("virtual", self.runtime, time.monotonic() - self.t0, self.interrupted, comparisons,
                               nodes, crashed)
        if crashed:
            summary["crashed_nodes"] = crashed
        if self.instruments is not None:
            self.instruments.finish(summary, core.rec.series)
        if error:
            summary["error"] = error
        return core.write(summary, self.t)

    def _running(self) -> RunCore:
        """The ground's side of the run, which start() made."""
        if self.core is None:
            raise RuntimeError("the run was not started (Sim.start)")
        return self.core

    def _close(self) -> None:
        if self.instruments is not None:
            self.instruments.close()
        if self.core is not None:
            self.core.close()
        for r in self.runs:
            r.close()

    def _ground(self) -> None:
        """Hand each node's bytes of this step to its pty and let the ground read them at virtual time."""
        self.clock.set(self.t)
        new: list = []
        for r in self.runs:
            if not r.tx:
                continue
            self.rec.frames(r.spec.id, r.tx, self.t)
            for i in range(0, len(r.tx), 1024):   # stay well inside the pty's buffer
                r.link.write(r.tx[i:i + 1024])
                spins = 0
                while r.link.unread() and spins < 1000:
                    new += self.station.poll(0.001 if spins else 0.0)
                    spins += 1
        new += self.station.poll(0.0)   # time-driven transitions even when nothing arrived
        self._running().decide(new)

    def _figures_vs_truth(self, dd: dict) -> dict:
        """The ground's reserve, kg/day and rate per zone in a decision, beside the physics' truth now."""
        p_min = self.engine.policy.shelter["min_safe_pressure_pa"]
        out = {}
        for zone, z in (dd.get("zones") or {}).items():
            true = self.rec.true_figures(zone, self.t) if zone in self.world.habitat.zones else {}
            if true:
                true["reserve"] = self.world.habitat.reserve_s(zone, p_min)
            out[zone] = {"reserve": (z.get("reserve_s"), true.get("reserve")),
                         "kg/day": (z.get("kg_day"), true.get("kg/day")),
                         "rate": (z.get("rate_pa_s"), true.get("rate"))}
        return out

    def _pace(self) -> None:
        """At most `speed` times real time (a dashboard that can be followed)."""
        if self.speed:
            ahead = self.t / self.speed - (time.monotonic() - self.t0)
            if ahead > 0:
                time.sleep(ahead)



def run_file(path: str | Path, out_dir: str | Path, runtime: str = "micropython", speed: Optional[float] = None,
             progress=None) -> dict:
    return Sim(sc.load(path), Path(out_dir), runtime, speed, progress).run()
