"""The run core both benches share: the ground station and everything a run keeps and writes.

`RunCore` owns the ground station (engine, store, station on the nodes' ports), the Recorder (what the
nodes sent, decoded independently of the ground), the decision log (decisions.jsonl and the ground's state
changes, isolations and figures), the summary (summary.json, written in one place), the report and the
JUnit XML. The two benches are small adapters around it that supply what differs:

- hil/sim.py (virtual): a ManualClock at virtual time, nodes in VMs behind ptys, the physics as truth
  (and, for a chamber run, the gauge and relay-board emulators of hil/bench.py);
- hil/bench.py (chamber): the wall clock, the nodes' serial ports, a real gauge and relay board.
"""
from __future__ import annotations

import json
import math
from bisect import bisect_right
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from safehaven.ground.engine import Engine
from safehaven.ground.policy import policy_from_dict
from safehaven.ground.station import Station
from safehaven.ground.store import Store
from safehaven.ground.wire import StreamDecoder, event_loss
from safehaven.hil import report as report_mod
from safehaven.hil import scenario as sc
from safehaven.protocol.messages import ST_BMP_FAULT, ST_OUT_OF_RANGE, STATUS_BITS

UNTRUSTED_PRESSURE = ST_BMP_FAULT | ST_OUT_OF_RANGE


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


class Recorder:
    """Decodes what the nodes sent (independently of the ground) into series and per-node figures."""

    def __init__(self, scen: sc.Scenario, every_s: float = 1.0, world: Any = None):
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

    def truth(self, t: float, world) -> None:
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
                kg, hole = event_loss(fields)          # None: not yet measured (LOSS_UNMEASURED)
                self.events[nid].append((t, name, {"rate": (fields.get("rate_pa_s"), true.get("rate")),
                                                   "kg/day": (kg, true.get("kg/day")),
                                                   "hole": (hole, true.get("hole"))}))
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


BMP280_MIN_PA, BMP280_MAX_PA = 30000.0, 110000.0


class Comparator:
    """Node pressure vs the reference gauge, sample by sample."""

    def __init__(self, steady_pa: float = 20.0):
        self.steady_pa = steady_pa
        self.prev_ref: dict = {}   # previous reference per group of nodes (one gauge, or one zone's truth)
        self.per_node: dict[int, dict] = {}
        self.ref: dict[str, list] = {"t": [], "pressure_pa": []}

    def add(self, t: float, ref_pa: float, node_pa: dict[int, Optional[float]], series: bool = True) -> None:
        if series:
            self.ref["t"].append(round(t, 3))
            self.ref["pressure_pa"].append(ref_pa)
        key = tuple(sorted(node_pa))
        prev = self.prev_ref.get(key)
        steady = prev is not None and abs(ref_pa - prev) <= self.steady_pa
        self.prev_ref[key] = ref_pa
        if not steady or not BMP280_MIN_PA <= ref_pa <= BMP280_MAX_PA:
            return
        for nid, pa in node_pa.items():
            c = self.per_node.setdefault(nid, {"samples": 0, "max_abs_pa": None, "sum_abs": 0.0})
            if pa is None:
                continue
            err = abs(pa - ref_pa)
            c["samples"] += 1
            c["sum_abs"] += err
            c["max_abs_pa"] = err if c["max_abs_pa"] is None else max(c["max_abs_pa"], err)

    def results(self, tolerance: float) -> dict:
        out = {}
        for nid, c in sorted(self.per_node.items()):
            mx = c["max_abs_pa"]
            out[str(nid)] = {"samples": c["samples"], "max_abs_pa": None if mx is None else round(mx, 1),
                             "mean_abs_pa": round(c["sum_abs"] / c["samples"], 1) if c["samples"] else None,
                             "within": mx is not None and mx <= tolerance}
        return out


def agree_tolerance(scen: sc.Scenario) -> float:
    """From the scenario's 'nodes agree with reference within X Pa', else BMP280 ±1 hPa + margin."""
    for e in scen.expectations:
        if e.kind == "agree":
            return e.tolerance
    return 150.0


def latest_node_pressures(rec) -> dict[int, Optional[float]]:
    out = {}
    for nid, s in rec.series["nodes"].items():
        out[int(nid)] = s["pressure_pa"][-1] if s["pressure_pa"] else None
    return out


class _Tap:
    """Passes everything to the ground engine and lets the run record each link's bytes as they arrive."""

    def __init__(self, engine, on_bytes: Callable[[str, bytes, float], None]):
        self._engine, self._on_bytes = engine, on_bytes

    def ingest(self, link: str, data: bytes, arrival_s: float):
        self._on_bytes(link, data, arrival_s)
        return self._engine.ingest(link, data, arrival_s)

    def __getattr__(self, name):
        return getattr(self._engine, name)


class RunCore:
    """One run's ground station, recorder, decision log, summary, report and JUnit (see the module doc).

    links: {"node<ID>": port}; times in the records are clock time minus t0. With record_arrivals the
    recorder decodes the bytes as the station reads them (a real bench); otherwise the adapter hands
    them over itself (rec.frames), at the virtual time it wrote them. `figures(decision dict)` gives the
    truth beside the ground's figures at each state change (the virtual bench; none on a real one).
    """

    def __init__(self, scen: sc.Scenario, out: Path, links: dict[str, str], clock, t0: float = 0.0,
                 world: Any = None, every_s: float = 1.0, record_arrivals: bool = False,
                 figures: Optional[Callable[[dict], dict]] = None):
        self.scen, self.out, self.clock, self.t0 = scen, out, clock, t0
        self.figures = figures
        self.on_decisions: Optional[Callable[[list], None]] = None   # a live dashboard
        self.rec = Recorder(scen, every_s=every_s, world=world)
        self.engine = Engine(scenario_policy(scen), zones={n.id: n.zone for n in scen.nodes})
        ingest: Any = self.engine
        if record_arrivals:
            node_of = {link: int(link[4:]) for link in links}
            ingest = _Tap(self.engine, lambda link, data, t: self.rec.frames(node_of[link], data, t - t0))
        self.ground_changes: list = []   # (t, state) each time the ground's state changes
        self.ground_figures: list = []   # (t, state, {zone: {quantity: (reported, true)}}) at those times
        self.isolated: dict[int, float] = {}
        self.co2_time: Optional[float] = None   # first decision carrying the safe haven's CO2 time
        store: Optional[Store] = None
        station: Optional[Station] = None
        try:
            store = Store(str(out / "telemetry.sqlite"))
            station = Station(links, ingest, store, clock)
            decisions = open(out / "decisions.jsonl", "w")
        except BaseException:
            for obj in (station, store):
                if obj is not None:
                    obj.close()
            raise
        self.store, self.station, self.decisions = store, station, decisions

    @staticmethod
    def prepare(out: Path) -> None:
        """The run directory, without the last run's database."""
        out.mkdir(parents=True, exist_ok=True)
        for stale in ("telemetry.sqlite", "telemetry.sqlite-wal", "telemetry.sqlite-shm"):
            (out / stale).unlink(missing_ok=True)

    # --- while running ----------------------------------------------------------------------------
    def poll(self, timeout: float) -> None:
        self.decide(self.station.poll(timeout))

    def decide(self, new: list) -> None:
        """Log the ground's decisions and keep its state changes, isolations and the first CO2 time."""
        for d in new:
            self.decisions.write(d.to_json() + "\n")
            dd = d.to_dict()
            t = dd["t"] - self.t0
            if dd.get("event") in ("state", "ack") and (
                    not self.ground_changes or self.ground_changes[-1][1] != dd["state"]):
                self.ground_changes.append((t, dd["state"]))
                if self.figures is not None:
                    self.ground_figures.append((t, dd["state"], self.figures(dd)))
            if dd.get("event") == "isolated" and dd.get("node") is not None:
                self.isolated.setdefault(int(dd["node"]), t)
            if self.co2_time is None and (dd.get("safe_haven") or {}).get("co2_time_to_limit_s") is not None:
                self.co2_time = t
        if self.on_decisions is not None:
            self.on_decisions(new)

    def close(self) -> None:
        self.station.close()
        self.store.close()
        self.decisions.close()

    # --- at the end -------------------------------------------------------------------------------
    def summary(self, bench: str, runtime: str, wall_s: float, interrupted: bool, comparisons: dict,
                nodes: dict, problems: Sequence[str] = ()) -> dict:
        """The run's summary; `problems` (crashed nodes, valves not safe, ...) fail it like an expectation."""
        scen, rec = self.scen, self.rec
        timeline = {"ground": self.ground_changes, "nodes": rec.node_changes, "isolated": self.isolated,
                    "comparisons": comparisons, "co2_time": self.co2_time, "node_rates": rec.rates,
                    "node_events": rec.events, "ground_figures": self.ground_figures}
        results = sc.evaluate(scen.expectations, timeline)
        summary = {"scenario": scen.name, "description": scen.description, "bench": bench, "runtime": runtime,
                   "duration_s": scen.duration_s, "wall_s": round(wall_s, 2), "interrupted": interrupted,
                   "nodes": nodes, "expectations": results, "detection": detection_delays(scen, rec, self.ground_changes),
                   "ground_states": [list(c) for c in self.ground_changes],
                   "isolated": {str(k): v for k, v in sorted(self.isolated.items())}}
        if comparisons:
            summary["comparisons"] = comparisons
        summary["passed"] = all(e["met"] for e in results) and not interrupted and not problems
        return summary

    def node_info(self, nid: int, **extra) -> dict:
        info = dict(self.rec.nodes[nid])
        info["decoder"] = self.rec.decoder_errors(nid)
        info["status_seen"] = status_names(info["status_seen"])
        info.update(extra)
        return info

    def write(self, summary: dict, t_end: float) -> dict:
        """summary.json, the report with its plots and junit.xml: the one place a run's results are written."""
        g = self.rec.series["ground"]
        g["t"] = [c[0] for c in self.ground_changes]
        g["state"] = [c[1] for c in self.ground_changes]
        if self.ground_changes:   # the last state lasts to the end of the run
            g["t"].append(t_end)
            g["state"].append(self.ground_changes[-1][1])
        (self.out / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
        report_mod.write(summary, self.rec.series, self.out)
        report_mod.junit(summary, self.out / "junit.xml")
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
