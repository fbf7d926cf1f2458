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
parallel. Outputs in the run directory: node-ID.bin, telemetry.sqlite, decisions.jsonl, summary.json,
report.md + PNGs.
"""
from __future__ import annotations

import fcntl
import json
import math
import os
import struct
import sys
import termios
import time
import tty
from bisect import bisect_right
from pathlib import Path
from typing import Any, Callable, Optional

from safehaven import ROOT as REPO
from safehaven.ground.clock import ManualClock
from safehaven.ground.engine import Engine
from safehaven.ground.policy import policy_from_dict
from safehaven.ground.station import Station
from safehaven.ground.store import Store
from safehaven.ground.wire import StreamDecoder
from safehaven.hil import report as report_mod
from safehaven.hil import scenario as sc
from safehaven.hil.physics import Habitat
from safehaven.hil.run import Comparator, agree_tolerance, latest_node_pressures
from safehaven.hil.vm import make_vm
from safehaven.protocol.messages import ST_BMP_FAULT, ST_OUT_OF_RANGE, STATUS_BITS

UNTRUSTED_PRESSURE = ST_BMP_FAULT | ST_OUT_OF_RANGE


class World:
    """True values of every zone over virtual time; scenario events applied when their time comes."""

    def __init__(self, scen: sc.Scenario, on_valve: Optional[Callable[[str, bool], None]] = None):
        self.scen = scen
        self.habitat = Habitat(scen.zones, scen.hatches, scen.leaks, scen.chamber)
        self.pending = list(scen.events)
        self.fired: list[sc.Event] = []
        self.on_valve = on_valve   # the HIL runner switches valves through the relay board instead

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

    def step_end(self, t_s: float, t_next: float) -> float:
        """t_next, or an earlier step end so that a pulse's drop falls within the 0.1 s step before it
        (the nodes see truth interpolated across a step: a pulse must not be smeared over a long one)."""
        for ev in self.pending:
            if ev.t_s > t_next + 0.1:
                break
            if ev.kind == "pulse":
                for edge in (ev.t_s - 0.1, ev.t_s):
                    if t_s + 1e-6 < edge < t_next:
                        return round(edge, 6)
        return t_next


def _fionread(fd: int) -> int:
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]


class NodeLink:
    """A pty pair: the bench owns the master (node side), the ground opens `port` like a board's USB port."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        tty.setraw(self.master)
        os.set_blocking(self.master, False)
        self.port = os.ttyname(self.slave)

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

    def unread(self) -> int:
        """Bytes written by the node that the ground has not read yet."""
        return _fionread(self.slave)

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

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


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


def scenario_policy(scen: sc.Scenario):
    """The ground's policy: the scenario's overrides, its zone volumes and its safe-haven zone."""
    over = json.loads(json.dumps(scen.policy))
    zones = over.setdefault("zones", {})
    for z in scen.zones:
        zones.setdefault(z.name, {"volume_m3": z.volume_m3})
    haven = [z.name for z in scen.zones if z.safe_haven]
    if haven and "safe_haven_zone" not in over:
        over["safe_haven_zone"] = haven[0]
    over.setdefault("name", scen.name)
    return policy_from_dict(over, source=scen.path)


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

    def close(self) -> None:
        self.bin.close()
        self.vm.close()
        self.link.close()


class Recorder:
    """Decodes what the nodes sent (independently of the ground) into series and per-node figures."""

    def __init__(self, scen: sc.Scenario, every_s: float = 1.0, world: Optional[World] = None):
        self.decoders = {n.id: StreamDecoder() for n in scen.nodes}
        self.nodes: dict[int, dict] = {n.id: {"frames": 0, "by_type": {}, "min_free_heap": None,
                                              "first_leak_s": None, "first_rapid_s": None, "reset_cause": None,
                                              "status_seen": 0}
                                       for n in scen.nodes}
        self.series: dict = {"truth": {}, "nodes": {n.id: {k: [] for k in ("t", "pressure_pa", "rate_pa_s",
                                                                            "co2_ppm", "state")}
                                                    for n in scen.nodes},
                             "ground": {"t": [], "state": []}}
        self.node_changes: dict[int, list] = {n.id: [] for n in scen.nodes}
        self.every_s = every_s
        self.next_truth = 0.0
        self.zones = [z.name for z in scen.zones]
        # accuracy truth (physics zones only): compensated pressure at every step, per node the telemetry
        # rates and the events' figures beside the truth at the time they reached the ground
        self.world = world
        self.zone_of = {n.id: n.zone for n in scen.nodes}
        self.pc: dict[str, tuple[list, list]] = {z: ([], []) for z in self.zones if z not in scen.traces}
        self.rates: dict[int, list] = {n.id: [] for n in scen.nodes}
        self.events: dict[int, list] = {n.id: [] for n in scen.nodes}

    def truth(self, t: float, world: World) -> None:
        for z, (ts, pcs) in self.pc.items():
            ts.append(t)
            pcs.append(world.habitat.zones[z].compensated_pa())
        if t < self.next_truth:
            return
        self.next_truth = t + self.every_s
        for z in self.zones:
            v = world.truth(z)
            s = self.series["truth"].setdefault(z, {"t": [], "pressure_pa": [], "co2_ppm": []})
            s["t"].append(round(t, 3))
            s["pressure_pa"].append(v["pressure_pa"])
            s["co2_ppm"].append(v["co2_ppm"])

    def true_rate(self, zone: str, t: float) -> Optional[float]:
        """True temperature-compensated dP/dt (Pa/s) of `zone` over the bench step ending at t."""
        ts, pcs = self.pc.get(zone, ((), ()))
        i = bisect_right(ts, t + 1e-9) - 1
        if i <= 0:
            return None
        return (pcs[i] - pcs[i - 1]) / (ts[i] - ts[i - 1])

    def true_figures(self, zone: str, t: float) -> dict:
        if self.world is None or zone not in self.pc:
            return {}
        h = self.world.habitat
        return {"rate": self.true_rate(zone, t), "kg/day": h.leak_rate_kg_day(zone), "hole": h.hole_mm(zone)}

    def frames(self, nid: int, data: bytes, t: float) -> None:
        info = self.nodes[nid]
        s = self.series["nodes"][nid]
        for f in self.decoders[nid].feed(data):
            info["frames"] += 1
            info["by_type"][f.name] = info["by_type"].get(f.name, 0) + 1
            fields = f.fields
            if f.name == "heartbeat":
                heap = fields.get("free_heap")
                if heap is not None and (info["min_free_heap"] is None or heap < info["min_free_heap"]):
                    info["min_free_heap"] = heap
                if info["reset_cause"] is None:
                    info["reset_cause"] = fields.get("reset_cause")
            state = fields.get("state")
            if state is None:
                continue
            code = int(state)
            name = sc.NODE_STATES[code] if 0 <= code < len(sc.NODE_STATES) else str(state)
            ch = self.node_changes[nid]
            if not ch or ch[-1][1] != name:
                ch.append((t, name))
            if name in ("LEAK", "RAPID") and info["first_leak_s"] is None:
                info["first_leak_s"] = t
            if name == "RAPID" and info["first_rapid_s"] is None:
                info["first_rapid_s"] = t
            if f.name == "event" and self.world is not None:
                true = self.true_figures(self.zone_of[nid], t)
                self.events[nid].append((t, name, {"rate": (fields.get("rate_pa_s"), true.get("rate")),
                                                   "kg/day": (fields.get("leak_kg_day"), true.get("kg/day")),
                                                   "hole": (fields.get("hole_mm"), true.get("hole"))}))
            if f.name == "telemetry":
                if self.world is not None and self.zone_of[nid] in self.pc:
                    self.rates[nid].append((t, fields.get("rate_pa_s"), self.true_rate(self.zone_of[nid], t)))
                status = int(fields.get("status") or 0)
                info["status_seen"] |= status
                s["t"].append(round(t, 3))
                for k in ("pressure_pa", "rate_pa_s", "co2_ppm"):
                    s[k].append(fields.get(k))
                if status & UNTRUSTED_PRESSURE:
                    s["pressure_pa"][-1] = None   # out of range or failed: never compared or plotted
                s["state"].append(name)

    def decoder_errors(self, nid: int) -> dict:
        st = self.decoders[nid].stats
        d = st if isinstance(st, dict) else {k: getattr(st, k) for k in dir(st) if not k.startswith("_")}
        return {k: v for k, v in d.items() if isinstance(v, int) and not isinstance(v, bool)}


class Sim:
    def __init__(self, scen: sc.Scenario, out_dir: Path, runtime: str = "micropython",
                 speed: Optional[float] = None, progress: Callable[[str], None] | None = None,
                 on_step: Callable[[float, Any], None] | None = None):
        self.scen = scen
        self.out = Path(out_dir)
        self.runtime = runtime
        self.speed = speed
        self.progress = progress or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.on_step = on_step   # a live dashboard: on_step(virtual_s, engine, new_decisions, link_events)
        self._new: list = []
        self.co2_time: Optional[float] = None   # first decision carrying the safe haven's CO2 time
        self.instruments: Any = None  # hil.bench.SimInstruments: gauge and relay board on real ports

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
        summary = self.finish()
        if error:
            summary["error"] = error
            (self.out / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
        return summary

    # --- steppable run (the pytest plugin drives these directly) -------------------------------
    def start(self) -> None:
        scen, out = self.scen, self.out
        out.mkdir(parents=True, exist_ok=True)
        for stale in ("telemetry.sqlite", "telemetry.sqlite-wal", "telemetry.sqlite-shm"):
            (out / stale).unlink(missing_ok=True)
        self.t0 = time.monotonic()
        self.t = 0.0
        self.interrupted = False
        self.world = World(scen)
        self.rec = Recorder(scen, every_s=max(scen.step_ms / 1000, scen.duration_s / 2000), world=self.world)
        self.ground_changes: list = []
        self.ground_figures: list = []   # (t, state, {zone: {quantity: (reported, true)}}) at each state change
        self.isolated: dict[int, float] = {}
        self.faults = list(scen.faults)
        self.operator: list = []
        self.runs: list[NodeRun] = []
        self.truth_comp = Comparator()
        self._next_truth_cmp = 0.0
        self.station = self.store = self.decisions = None
        try:
            if self.instruments is not None:
                self.instruments.start(self.world)
            board = load_board("sim")
            self.runs = [NodeRun(n, self.runtime, board, node_config(scen, n), out) for n in scen.nodes]
            self.engine = Engine(scenario_policy(scen), zones={n.id: n.zone for n in scen.nodes})
            self.store = Store(str(out / "telemetry.sqlite"))
            self.clock = ManualClock(0.0)
            self.station = Station({f"node{r.spec.id}": r.link.port for r in self.runs}, self.engine,
                                   self.store, self.clock)
            self.decisions = open(out / "decisions.jsonl", "w")
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
            for r in self.runs:
                r.step({"until_ms": int(round(t_next * 1000)), "rx": self.rx[r.spec.id].hex(),
                        "truth": self.world.truth(r.spec.zone), "faults": due.get(r.spec.id, {}), "stop": stop})
                self.rx[r.spec.id] = b""
            for r in self.runs:
                r.collect()
            self.t = t_next
            self._at_step_end()
            self._pace(self.t, self.t0)
            if time.monotonic() - self._last_progress > 2.0:
                self._last_progress = time.monotonic()
                self.progress(f"[{scen.name}] t={self.t:.0f}/{scen.duration_s:.0f} s virtual, "
                              f"{time.monotonic() - self.t0:.0f} s real, ground {self.engine.state}")

    def _at_step_end(self) -> None:
        self._ground(self.runs, self.rec, self.station, self.clock, self.t, self.decisions,
                     self.ground_changes, self.isolated)
        for ev in self.operator:   # the scenario's operator: recorded by the station, so replay sees it too
            self._decisions(self.station.acknowledge("scenario", ev.value == "sheltered"), self.decisions,
                            self.ground_changes, self.isolated)
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

    def finish(self) -> dict:
        """Stop the nodes, close everything, write summary.json and the report; return the summary."""
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
        scen, out, rec = self.scen, self.out, self.rec
        wall = time.monotonic() - self.t0
        summary = self._summary(self.world, rec, self.runs, self.ground_changes, self.isolated, wall,
                                self.interrupted)
        if self.instruments is not None:
            self.instruments.finish(summary, rec.series)
        (out / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
        rec.series["ground"]["t"] = [c[0] for c in self.ground_changes]
        rec.series["ground"]["state"] = [c[1] for c in self.ground_changes]
        if self.ground_changes:
            rec.series["ground"]["t"].append(self.t)
            rec.series["ground"]["state"].append(self.ground_changes[-1][1])
        report_mod.write(summary, rec.series, out)
        return summary

    def _close(self) -> None:
        if self.instruments is not None:
            self.instruments.close()
        for obj in (self.station, self.store, self.decisions):
            if obj is not None:
                obj.close()
        for r in self.runs:
            r.close()

    def _ground(self, runs, rec, station, clock, t, decisions, ground_changes, isolated) -> None:
        clock.set(t)
        new: list = []
        for r in runs:
            if not r.tx:
                continue
            rec.frames(r.spec.id, r.tx, t)
            for i in range(0, len(r.tx), 1024):   # stay well inside the pty's buffer
                r.link.write(r.tx[i:i + 1024])
                spins = 0
                while r.link.unread() and spins < 1000:
                    new += station.poll(0.001 if spins else 0.0)
                    spins += 1
        new += station.poll(0.0)   # time-driven transitions even when nothing arrived
        self._decisions(new, decisions, ground_changes, isolated)

    def _decisions(self, new, decisions, ground_changes, isolated) -> None:
        if self.on_step:
            self._new += new
        for d in new:
            decisions.write(d.to_json() + "\n")
            dd = d.to_dict()
            if dd.get("event") in ("state", "ack") and (not ground_changes or ground_changes[-1][1] != dd["state"]):
                ground_changes.append((dd["t"], dd["state"]))
                self.ground_figures.append((dd["t"], dd["state"], self._figures_vs_truth(dd)))
            if dd.get("event") == "isolated" and dd.get("node") is not None:
                isolated.setdefault(int(dd["node"]), dd["t"])
            if self.co2_time is None and (dd.get("safe_haven") or {}).get("co2_time_to_limit_s") is not None:
                self.co2_time = dd["t"]

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

    def _pace(self, t: float, t0: float) -> None:
        if self.speed:
            ahead = t / self.speed - (time.monotonic() - t0)
            if ahead > 0:
                time.sleep(ahead)

    def _summary(self, world, rec, runs, ground_changes, isolated, wall, interrupted) -> dict:
        scen = self.scen
        if self.instruments is not None:
            comparisons: dict = self.instruments.comparisons()
        else:   # no gauge on a plain virtual run: the physics' truth is the reference
            comparisons = self.truth_comp.results(agree_tolerance(scen))
        timeline = {"ground": ground_changes, "nodes": rec.node_changes, "isolated": isolated,
                    "comparisons": comparisons, "co2_time": self.co2_time, "node_rates": rec.rates,
                    "node_events": rec.events, "ground_figures": self.ground_figures}
        results = sc.evaluate(scen.expectations, timeline)
        nodes = {}
        for r in runs:
            info = dict(rec.nodes[r.spec.id])
            info["zone"] = r.spec.zone
            info["decoder"] = rec.decoder_errors(r.spec.id)
            info["status_seen"] = status_names(info["status_seen"])
            info["vm"] = "ok" if r.done is None or r.done.get("ok") else (r.done.get("error") or "error")
            info["syncs"] = r.syncs
            nodes[str(r.spec.id)] = info
        summary = {"scenario": scen.name, "description": scen.description, "bench": "virtual",
                   "runtime": self.runtime, "duration_s": scen.duration_s, "wall_s": round(wall, 2),
                   "interrupted": interrupted, "nodes": nodes, "expectations": results,
                   "detection": detection_delays(scen, rec, ground_changes),
                   "ground_states": [list(c) for c in ground_changes],
                   "isolated": {str(k): v for k, v in sorted(isolated.items())}}
        if comparisons:
            summary["comparisons"] = comparisons
        crashed = [n for n, i in nodes.items() if i["vm"] != "ok"]
        summary["passed"] = (all(e["met"] for e in results) and not interrupted and not crashed)
        if crashed:
            summary["crashed_nodes"] = crashed
        return summary


def status_names(bits: int) -> str:
    return ",".join(name for bit, name in STATUS_BITS if bits & bit) or "-"


def detection_delays(scen: sc.Scenario, rec: Recorder, ground_changes: list) -> dict:
    """Per zone with a leak: each node's delay to LEAK/RAPID and the ground's to MONITOR and SHELTER."""
    out = {}
    for zone, onset in sorted(scen.leak_onsets().items()):
        nodes = {}
        for n in scen.nodes:
            if n.zone != zone:
                continue
            t = rec.nodes[n.id]["first_leak_s"]
            nodes[str(n.id)] = None if t is None or t < onset else round(t - onset, 3)
        ground = {}
        for state in ("MONITOR", "ISOLATE", "SHELTER"):
            t = next((c[0] for c in ground_changes if c[0] >= onset and
                      sc.GROUND_RANK.get(c[1], 0) >= sc.GROUND_RANK[state]), None)
            ground[state] = None if t is None else round(t - onset, 3)
        out[zone] = {"onset_s": onset, "node_leak_delay_s": nodes, "ground_delay_s": ground}
        bound = _cusum_bound(scen, rec, zone, onset)
        if bound is not None:
            out[zone]["cusum_bound_s"] = bound
    return out


def _cusum_bound(scen: sc.Scenario, rec: Recorder, zone: str, onset: float) -> Optional[float]:
    """REFERENCE.md section 3: T = (6 sigma^2 dt ln(gamma) / beta^2)^(1/3), with beta the true slope over
    the first minute after onset (shorter if the run ends sooner), sigma 1.3 Pa (BMP280 x16, no IIR), gamma one year of samples."""
    tr = rec.series["truth"].get(zone)
    if not tr or not tr["t"]:
        return None
    t, p = tr["t"], tr["pressure_pa"]
    window = min(60.0, t[-1] - onset)   # the first minute, or what the run has of it
    i0 = next((i for i, x in enumerate(t) if x >= onset), None)
    i1 = next((i for i, x in enumerate(t) if x >= onset + window), None)
    if window < 1.0 or i0 is None or i1 is None or t[i1] <= t[i0]:
        return None
    beta = abs(p[i1] - p[i0]) / (t[i1] - t[i0])
    if beta <= 0:
        return None
    spec = next((n for n in scen.nodes if n.zone == zone), None)
    if spec is None:
        return None
    dt = (spec.config.get("sample_period_ms") or scen.node_defaults.get("sample_period_ms") or 44) / 1000
    gamma = 365 * 86400 / dt
    return round((6 * 1.3 ** 2 * dt * math.log(gamma) / beta ** 2) ** (1 / 3), 3)


def run_file(path: str | Path, out_dir: str | Path, runtime: str = "micropython", speed: Optional[float] = None,
             progress=None) -> dict:
    return Sim(sc.load(path), Path(out_dir), runtime, speed, progress).run()
