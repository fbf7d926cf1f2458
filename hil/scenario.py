"""Scenario files (scenarios/*.toml): one format for the virtual bench and the real chamber.

    [scenario]   name, description, kind = "habitat" | "chamber", duration_s, step_ms, policy (inline table),
                 expect (list of expectation strings, see parse_expectation)
    [node_defaults]  config keys every node gets (sample/telemetry rates, detector settings...)
    [[zone]]     name, volume_m3, pressure_pa, temperature_c, temp_amplitude_c, temp_period_s, co2_ppm,
                 rh_pct, crew, scrub_m3_h, wall_tau_s, safe_haven, fan_amplitude_pa, fan_period_s,
                 trace = "traces/x.csv"
    [[hatch]]    a, b, diameter_m, open, mixing_m3_s
    [[leak]]     zone, onset_s, diameter_mm | rate_kg_day, cd, grow_to_mm | grow_to_kg_day, grow_s, end_s
    [chamber]    zone, pump_speed_l_s, base_pressure_pa, outgassing_pa_l_s | outgassing_tau_s, outgassing_sat_pa,
                 vent_diameter_mm, needle_diameter_mm, valves = {pump = 0, vent = 1, leak = 2}, safe = {pump = false, ...}
    [[node]]     id, zone, board, config = {...}
    [[fault]]    t_s, node, sensor = "bmp280" | "scd4x", set = {offset = 500, ...}
    [[event]]    t_s and one of: hatch = "a-b", open = bool | valve = "pump", on = bool | crew = n, from, to |
                 operator = "ack" | "sheltered" | operator = "depress", zone, for_s, max_rate_pa_s |
                 pulse = "zone", drop_pa, recover_s |
                 repress = "zone", rise_pa, over_s
    (in [scenario]) expect = ["SHELTER within 2 s of t=600", "never above NOMINAL", "node 3 isolated by t=900"]

A malformed file raises ScenarioError naming the file, the line and the field.
"""
from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from safehaven.ground import boardcheck
from safehaven.hil.physics import ATM_PA, Chamber, Hatch, Leak, Zone, hole_for_rate
from safehaven.hil.trace import FIELDS as TRACE_FIELDS
from safehaven.hil.trace import Trace, TraceError, read_trace
from safehaven.protocol.messages import STATE_NAMES
from safehaven.ground.policy import PolicyError, policy_from_dict, zone_name_problem

GROUND_STATES = ["NOMINAL", "ALL_CLEAR", "MONITOR", "ISOLATE", "SHELTER", "SHELTERED"]
GROUND_RANK = {s: i for i, s in enumerate(GROUND_STATES)}
GROUND_RANK["ALL_CLEAR"] = 0  # back to normal after an operator's acknowledgement
NODE_STATES = [s.upper() for s in STATE_NAMES]     # the detector's states, by their wire code
NODE_RANK = {s: code for code, s in enumerate(NODE_STATES)}
SENSORS = ("bmp280", "scd4x")
FAULT_NAMES = ("nack_rate", "timeout", "stuck", "offset", "drift_per_s", "noise_mult", "spike_rate",
               "spike_size", "crc_corrupt", "gone")
VALVES = ("pump", "vent", "leak")


class ScenarioError(ValueError):
    """A malformed scenario: str() is 'file:line: field: problem'."""

    def __init__(self, path: str, line: int, field_name: str, problem: str):
        super().__init__(f"{path}:{line}: {field_name}: {problem}")
        self.path, self.line, self.field, self.problem = path, line, field_name, problem


# --- where is a field? (tomllib keeps no positions, so scan the text) ---------------------------
_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


class _Locator:
    def __init__(self, text: str):
        self.text_lines = text.splitlines()
        self.lines: dict[tuple, int] = {}
        counts: dict[str, int] = {}
        table: tuple = ()
        for no, line in enumerate(text.splitlines(), 1):
            m = _HEADER.match(line)
            if m:
                name = m.group(2)
                if m.group(1) == "[[":
                    counts[name] = counts.get(name, -1) + 1
                    table = (name, counts[name])
                else:
                    table = (name,)
                self.lines.setdefault(table, no)
                continue
            k = _KEY.match(line)
            if k:
                self.lines.setdefault(table + (k.group(1),), no)

    def find(self, needle: str, start: int) -> int:
        for no in range(max(start, 1), len(self.text_lines) + 1):
            if needle in self.text_lines[no - 1]:
                return no
        return start

    def line(self, *path) -> int:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 1


class _Reader:
    """Typed access to one table, raising ScenarioError with the right line."""

    def __init__(self, scen_path: str, loc: _Locator, data: dict, where: tuple):
        self.p, self.loc, self.d, self.where = scen_path, loc, data, where
        self.used: set[str] = set()

    def name(self, key: str) -> str:
        if not self.where:
            return key  # a top-level table (an empty file has no [scenario])
        parts = [str(self.where[0])]
        if len(self.where) > 1:
            parts[0] += f"[{self.where[1]}]"
        return ".".join(parts + [key]) if self.where else key

    def fail(self, key: str, problem: str):
        raise ScenarioError(self.p, self.loc.line(*self.where, key), self.name(key), problem)

    def get(self, key: str, kind, default: Any = ..., positive: bool = False, choices=None):
        self.used.add(key)
        if key not in self.d:
            if default is ...:
                self.fail(key, "missing")
            return default
        v = self.d[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if not isinstance(v, kinds) or (isinstance(v, bool) and bool not in kinds):
            want = " or ".join(k.__name__ for k in kinds)
            self.fail(key, f"expected {want}, got {type(v).__name__} {v!r}")
        if positive and v <= 0:
            self.fail(key, f"must be > 0, got {v!r}")
        if choices is not None and v not in choices:
            self.fail(key, f"must be one of {', '.join(map(str, choices))}, got {v!r}")
        return v

    def done(self) -> None:
        for key in self.d:
            if key not in self.used:
                self.fail(key, "unknown field")


# --- the scenario model -----------------------------------------------------------------------
@dataclass
class NodeSpec:
    id: int
    zone: str
    board: str = "sim"
    config: dict = field(default_factory=dict)


@dataclass
class FaultEvent:
    t_s: float
    node: int
    sensor: str
    settings: dict


@dataclass
class Event:
    t_s: float
    kind: str          # "hatch" | "valve" | "crew" | "operator" | "pulse" | "repress"
    target: str = ""
    value: Any = None  # bool for hatch/valve, (count, from, to) for crew, "ack"/"sheltered"/"depress" for
    #                    operator, (drop_pa, recover_s) for pulse, (rise_pa, over_s) for repress
    args: tuple = ()   # operator "depress": (for_s, max_rate_pa_s or None), its zone in target


@dataclass
class Expectation:
    text: str
    kind: str              # "ground_reach" | "ground_never" | "node_reach" | "node_never" | "isolated" | "not_isolated" | "agree"
    state: str = ""
    node: Optional[int] = None
    t_from: float = 0.0
    t_to: float = float("inf")
    tolerance: float = 0.0  # Pa, for "agree"; percent for the accuracy forms
    line: int = 0
    zone: str = ""          # accuracy forms: the zone, the quantity, an absolute floor on the tolerance
    quantity: str = ""
    floor: float = 0.0


@dataclass
class Scenario:
    path: str
    name: str
    description: str
    kind: str
    duration_s: float
    step_ms: int
    policy: dict
    node_defaults: dict
    zones: list[Zone]
    hatches: list[Hatch]
    leaks: list[Leak]
    chamber: Optional[Chamber]
    valves: dict[str, int]
    safe_state: dict[str, bool]
    nodes: list[NodeSpec]
    faults: list[FaultEvent]
    events: list[Event]
    expectations: list[Expectation]
    traces: dict[str, Trace]

    def zone_of(self, node_id: int) -> str:
        return next(n.zone for n in self.nodes if n.id == node_id)

    def leak_onsets(self) -> dict[str, float]:
        """Earliest leak onset per zone: the truth detection delays are measured from."""
        out: dict[str, float] = {}
        for leak in self.leaks:
            out[leak.zone] = min(out.get(leak.zone, leak.onset_s), leak.onset_s)
        return out


# --- expectations ------------------------------------------------------------------------------
_NUM = r"(-?\d+(?:\.\d+)?)"
_PATTERNS = [
    (re.compile(rf"^never above (\w+)(?: before t={_NUM})?$"), "ground_never"),
    (re.compile(rf"^(\w+) within {_NUM} s of t={_NUM}$"), "ground_within"),
    (re.compile(rf"^(\w+) by t={_NUM}$"), "ground_by"),
    (re.compile(rf"^node (\d+) isolated by t={_NUM}$"), "isolated"),
    (re.compile(r"^node (\d+) never isolated$"), "not_isolated"),
    (re.compile(rf"^node (\d+) never above (\w+)(?: before t={_NUM})?$"), "node_never"),
    (re.compile(rf"^node (\d+) (\w+) within {_NUM} s of t={_NUM}$"), "node_within"),
    (re.compile(rf"^node (\d+) (\w+) by t={_NUM}$"), "node_by"),
    (re.compile(rf"^nodes agree with reference within {_NUM} Pa$"), "agree"),
    (re.compile(rf"^safe haven CO2 time reported by t={_NUM}$"), "co2_time"),
    (re.compile(rf"^node (\d+) rate within {_NUM}%(?: or {_NUM} Pa/s)? by t={_NUM}$"), "node_rate"),
    (re.compile(rf"^zone (\S+) (reserve|kg/day|rate) within {_NUM}% at (\w+)$"), "zone_figure"),
    (re.compile(rf"^node (\d+) (kg/day|hole|rate) within {_NUM}% at (\w+)$"), "node_figure"),
]


def parse_expectation(text: str) -> Expectation:
    """Parse one expectation string; ValueError with the accepted forms when it does not fit."""
    s = " ".join(text.split())
    for rx, form in _PATTERNS:
        m = rx.match(s)
        if not m:
            continue
        g = m.groups()
        if form == "ground_never":
            _check_state(g[0], GROUND_RANK)
            return Expectation(text, "ground_never", g[0], t_to=float(g[1]) if g[1] else float("inf"))
        if form == "ground_within":
            _check_state(g[0], GROUND_RANK)
            return Expectation(text, "ground_reach", g[0], t_from=float(g[2]), t_to=float(g[2]) + float(g[1]))
        if form == "ground_by":
            _check_state(g[0], GROUND_RANK)
            return Expectation(text, "ground_reach", g[0], t_to=float(g[1]))
        if form == "isolated":
            return Expectation(text, "isolated", node=int(g[0]), t_to=float(g[1]))
        if form == "not_isolated":
            return Expectation(text, "not_isolated", node=int(g[0]))
        if form == "node_never":
            _check_state(g[1], NODE_RANK)
            return Expectation(text, "node_never", g[1], node=int(g[0]),
                               t_to=float(g[2]) if g[2] else float("inf"))
        if form == "node_within":
            _check_state(g[1], NODE_RANK)
            return Expectation(text, "node_reach", g[1], node=int(g[0]), t_from=float(g[3]),
                               t_to=float(g[3]) + float(g[2]))
        if form == "node_by":
            _check_state(g[1], NODE_RANK)
            return Expectation(text, "node_reach", g[1], node=int(g[0]), t_to=float(g[2]))
        if form == "agree":
            return Expectation(text, "agree", tolerance=float(g[0]))
        if form == "co2_time":
            return Expectation(text, "co2_time", t_to=float(g[0]))
        if form == "node_rate":
            return Expectation(text, "node_rate", node=int(g[0]), tolerance=float(g[1]),
                               floor=float(g[2] or 0.0), t_from=float(g[3]))
        if form == "zone_figure":
            _check_state(g[3], GROUND_RANK)
            return Expectation(text, "zone_figure", g[3], zone=g[0], quantity=g[1], tolerance=float(g[2]))
        if form == "node_figure":
            _check_state(g[3], NODE_RANK)
            return Expectation(text, "node_figure", g[3], node=int(g[0]), quantity=g[1], tolerance=float(g[2]))
    raise ValueError("not an expectation; forms: 'STATE within X s of t=T', 'STATE by t=T', "
                     "'never above STATE [before t=T]', 'node N isolated by t=T', 'node N never isolated', "
                     "'node N STATE by t=T', 'node N STATE within X s of t=T', 'node N never above STATE', "
                     "'nodes agree with reference within X Pa', 'safe haven CO2 time reported by t=T', "
                     "'node N rate within X% [or Y Pa/s] by t=T', 'zone Z reserve|kg/day|rate within X% at STATE', "
                     "'node N kg/day|hole|rate within X% at STATE'")


def _check_state(name: str, ranks: dict) -> None:
    if name not in ranks:
        raise ValueError(f"unknown state {name!r}; one of {', '.join(ranks)}")


# --- loading -----------------------------------------------------------------------------------
def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ScenarioError(str(p), 0, "file", f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ScenarioError(str(p), line, "file", f"not UTF-8 text (byte {exc.start}): not a scenario") from None
    return loads(text, str(p), p.parent)


# --- values: finite and physical (checked before the structure, so a NaN is named as such) ----------
_DAY = 86400.0
_MAX_T = 365 * _DAY  # scenario times: a year of virtual time at most (infinite durations hung the bench)
VALUE_RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("scenario", "duration_s"): (0.001, _MAX_T), ("scenario", "step_ms"): (1, 60000),
    ("zone", "volume_m3"): (0.001, 1e6), ("zone", "pressure_pa"): (0.001, 200000.0),
    ("zone", "temperature_c"): (-100.0, 150.0), ("zone", "temp_amplitude_c"): (0.0, 100.0),
    ("zone", "temp_period_s"): (1.0, _MAX_T), ("zone", "co2_ppm"): (0.0, 100000.0),
    ("zone", "rh_pct"): (0.0, 100.0), ("zone", "crew"): (0, 1000), ("zone", "scrub_m3_h"): (0.0, 1e5),
    ("zone", "wall_tau_s"): (0.001, _MAX_T), ("zone", "fan_amplitude_pa"): (0.0, 10000.0),
    ("zone", "fan_period_s"): (0.01, _MAX_T),
    ("hatch", "diameter_m"): (0.001, 10.0), ("hatch", "mixing_m3_s"): (0.0, 100.0),
    ("leak", "onset_s"): (0.0, _MAX_T), ("leak", "diameter_mm"): (1e-4, 2000.0),
    ("leak", "rate_kg_day"): (1e-6, 1e7), ("leak", "cd"): (0.01, 1.0), ("leak", "grow_to_mm"): (1e-4, 2000.0),
    ("leak", "grow_to_kg_day"): (1e-6, 1e7), ("leak", "grow_s"): (0.0, _MAX_T), ("leak", "end_s"): (0.0, _MAX_T),
    ("chamber", "pump_speed_l_s"): (0.001, 1e5), ("chamber", "base_pressure_pa"): (0.0, 1e5),
    ("chamber", "outgassing_pa_l_s"): (0.0, 1e3), ("chamber", "outgassing_sat_pa"): (1e-6, 1e5),
    ("chamber", "outgassing_tau_s"): (1.0, _MAX_T),
    ("chamber", "vent_diameter_mm"): (0.01, 1000.0), ("chamber", "needle_diameter_mm"): (0.001, 100.0),
    ("fault", "t_s"): (0.0, _MAX_T), ("event", "t_s"): (0.0, _MAX_T), ("event", "crew"): (1, 1000),
    ("event", "drop_pa"): (0.0, 200000.0), ("event", "recover_s"): (0.0, _MAX_T),
    ("event", "rise_pa"): (0.0, 200000.0), ("event", "over_s"): (0.0, _MAX_T),
}


def check_values(path: str, loc: "_Locator", data: dict) -> None:
    """Every number anywhere in the file finite (NaN leaks, infinite durations), the known ones inside
    their physical range (-300 degC, -50 crew, 500 %RH), zone names 1-8 ASCII characters."""
    for table, value in data.items():
        items = [(None, value)] if isinstance(value, dict) else list(enumerate(value)) if isinstance(value, list) \
            else []
        for i, d in items:
            where = (table,) if i is None else (table, i)
            if not isinstance(d, dict):
                continue
            for key, v in d.items():
                _check_value(path, loc, where, key, key, v, VALUE_RANGES.get((table, key)))
            if table == "zone" and isinstance(d.get("name"), str):
                problem = zone_name_problem(d["name"])
                if problem:
                    _value_fail(path, loc, where, "name", problem)


def check_node_configs(scen: "Scenario", loc: "_Locator") -> None:
    """Each node's config through the firmware's own validation, here: a bad number is the scenario's
    fault and is named in it, not reported later as a firmware that stopped."""
    cfgs = []
    for n in scen.nodes:
        zone = next(z for z in scen.zones if z.name == n.zone)
        cfg = {"node_id": n.id, "zone": n.zone, "volume_l": zone.volume_m3 * 1000.0}
        cfg.update(scen.node_defaults)
        cfg.update(n.config)
        cfgs.append(cfg)
    if not cfgs:
        return
    try:
        problems = boardcheck.config_problems(cfgs)
    except boardcheck.FirmwareCheckError as exc:   # not the scenario's fault: say so at its first node
        raise ScenarioError(scen.path, loc.line("node", 0), "node", str(exc)) from None
    for i, (n, problem) in enumerate(zip(scen.nodes, problems)):
        if problem:
            where = ("node", i) if n.config else ("node_defaults",)
            field = f"node[{i}].config" if n.config else "node_defaults"
            raise ScenarioError(scen.path, loc.line(*where, "config") if n.config else loc.line(*where),
                                field, problem.replace("config: ", "", 1))


def check_policy(scen: "Scenario", loc: "_Locator") -> None:
    """The inline [scenario] policy through the ground's policy checks (ranges, names)."""
    try:
        policy_from_dict(dict(scen.policy), scen.path)
    except PolicyError as exc:
        raise ScenarioError(scen.path, loc.line("scenario", "policy"), f"scenario.policy.{exc.field}",
                            exc.problem) from None


def _check_value(path, loc, where, key, dotted, v, rng, depth=0) -> None:
    if depth > 20:
        _value_fail(path, loc, where, dotted, "nested too deeply")
    if isinstance(v, dict):
        for k, x in v.items():
            _check_value(path, loc, where, key, f"{dotted}.{k}", x, None, depth + 1)
    elif isinstance(v, list):
        for j, x in enumerate(v):
            _check_value(path, loc, where, key, f"{dotted}[{j}]", x, None, depth + 1)
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        if isinstance(v, int) and abs(v) > 10 ** 15:
            _value_fail(path, loc, where, dotted, f"number too large ({len(str(abs(v)))} digits)")
        if not math.isfinite(v):
            _value_fail(path, loc, where, dotted, f"must be a finite number, got {v!r}")
        if rng is not None and not rng[0] <= v <= rng[1]:
            _value_fail(path, loc, where, dotted, f"{v!r} outside the physical range {rng[0]:g}..{rng[1]:g}")


def _value_fail(path, loc, where, dotted, problem):
    key = dotted.split(".")[0].split("[")[0]
    name = where[0] + (f"[{where[1]}]" if len(where) > 1 else "")
    raise ScenarioError(path, loc.line(*where, key), f"{name}.{dotted}", problem)


def loads(text: str, path: str = "<scenario>", base: Optional[Path] = None) -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ScenarioError(path, int(m.group(1)) if m else 1, "toml", str(exc)) from None
    except RecursionError:
        raise ScenarioError(path, 1, "toml", "nested too deeply") from None
    loc = _Locator(text)
    check_values(path, loc, data)
    top = _Reader(path, loc, data, ())
    for key in data:
        if key not in ("scenario", "node_defaults", "zone", "hatch", "leak", "chamber", "node", "fault",
                       "event"):
            top.fail(key, "unknown table")
    head = _Reader(path, loc, _table(top, "scenario"), ("scenario",))
    kind = head.get("kind", str, "habitat", choices=("habitat", "chamber"))
    scen_name = head.get("name", str, Path(path).stem)
    desc = head.get("description", str, "")
    duration = head.get("duration_s", float, positive=True)
    step_ms = head.get("step_ms", int, 100, positive=True)
    policy = head.get("policy", dict, {})
    raw_expect = head.get("expect", list, [])
    head.done()
    zones, traces = _zones(path, loc, data, base or Path("."))
    names = {z.name for z in zones}
    hatches = [_hatch(_Reader(path, loc, d, ("hatch", i)), names) for i, d in enumerate(_array(top, "hatch"))]
    leaks = [_leak(_Reader(path, loc, d, ("leak", i)), {z.name: z for z in zones})
             for i, d in enumerate(_array(top, "leak"))]
    chamber, valves, safe = _chamber(path, loc, data, names, kind)
    nodes = _nodes(path, loc, top, names)
    ids = {n.id for n in nodes}
    faults = [_fault(_Reader(path, loc, d, ("fault", i)), ids) for i, d in enumerate(_array(top, "fault"))]
    events = [_event(_Reader(path, loc, d, ("event", i)), hatches, names, valves)
              for i, d in enumerate(_array(top, "event"))]
    expects = _expects(path, loc, raw_expect, ids, names)
    scen = Scenario(path, scen_name, desc, kind, duration, step_ms, policy,
                    dict(data.get("node_defaults", {})), zones, hatches, leaks, chamber, valves, safe,
                    nodes, sorted(faults, key=lambda f: f.t_s), sorted(events, key=lambda e: e.t_s),
                    expects, traces)
    check_node_configs(scen, loc)
    check_policy(scen, loc)
    return scen


def _table(r: _Reader, key: str) -> dict:
    v = r.get(key, dict)
    return v


def _array(r: _Reader, key: str) -> list:
    v = r.get(key, list, [])
    for item in v:
        if not isinstance(item, dict):
            r.fail(key, "must be an array of tables ([[%s]])" % key)
    return v


def _zones(path: str, loc: _Locator, data: dict, base: Path):
    top = _Reader(path, loc, data, ())
    zones: list = []
    traces: dict = {}
    raw = _array(top, "zone")
    if not raw:
        top.fail("zone", "at least one [[zone]] is required")
    for i, d in enumerate(raw):
        r = _Reader(path, loc, d, ("zone", i))
        name = r.get("name", str)
        if name in {z.name for z in zones}:
            r.fail("name", f"duplicate zone {name!r}")
        if len(name.encode()) > 8:
            r.fail("name", "at most 8 ASCII characters (the heartbeat's zone field)")
        z = Zone(name, r.get("volume_m3", float, positive=True),
                 pressure_pa=r.get("pressure_pa", float, ATM_PA, positive=True),
                 temperature_c=r.get("temperature_c", float, 22.0),
                 temp_amplitude_c=r.get("temp_amplitude_c", float, 0.0),
                 temp_period_s=r.get("temp_period_s", float, 5400.0, positive=True),
                 co2_ppm=r.get("co2_ppm", float, 400.0),
                 rh_pct=r.get("rh_pct", float, 40.0),
                 crew=r.get("crew", int, 0),
                 scrub_m3_h=r.get("scrub_m3_h", float, 0.0),
                 wall_tau_s=r.get("wall_tau_s", float, 60.0, positive=True),
                 safe_haven=r.get("safe_haven", bool, False),
                 fan_amplitude_pa=r.get("fan_amplitude_pa", float, 0.0),
                 fan_period_s=r.get("fan_period_s", float, 60.0, positive=True))
        trace = r.get("trace", str, None)
        if trace is not None:
            traces[name] = _load_trace(base / trace, r)
        r.done()
        zones.append(z)
    return zones, traces


def _load_trace(p: Path, r: _Reader) -> Trace:
    """The zone's recording; a malformed one is named in its own file: 'FILE:LINE: COLUMN: problem'."""
    try:
        raw = p.read_bytes()
    except OSError as exc:
        r.fail("trace", f"cannot read {p}: {exc.strerror or exc}")
    ranges = {"t_s": (0.0, _MAX_T), **{c: VALUE_RANGES[("zone", c)] for c in TRACE_FIELDS}}
    try:
        return read_trace(str(p), raw, ranges)
    except TraceError as exc:
        raise ScenarioError(exc.path, exc.line, exc.field, exc.problem) from None


def _hatch(r: _Reader, zones: set) -> Hatch:
    a, b = r.get("a", str), r.get("b", str)
    for key, z in (("a", a), ("b", b)):
        if z not in zones:
            r.fail(key, f"unknown zone {z!r}")
    h = Hatch(a, b, diameter_m=r.get("diameter_m", float, 0.8, positive=True),
              open=r.get("open", bool, True), mixing_m3_s=r.get("mixing_m3_s", float, 0.07))
    r.done()
    return h


def _leak(r: _Reader, zones: dict) -> Leak:
    zone = r.get("zone", str)
    if zone not in zones:
        r.fail("zone", f"unknown zone {zone!r}")
    z = zones[zone]
    cd = r.get("cd", float, 0.6, positive=True)

    def diameter(mm_key: str, kg_key: str, required: bool):
        mm, kg = r.get(mm_key, float, None, positive=True), r.get(kg_key, float, None, positive=True)
        if mm is not None and kg is not None:
            r.fail(kg_key, f"give {mm_key} or {kg_key}, not both")
        if kg is not None:
            return hole_for_rate(kg, z.pressure_pa, z.temperature_c + 273.15, cd)
        if mm is None and required:
            r.fail(mm_key, f"missing ({mm_key} or {kg_key})")
        return mm

    d0 = diameter("diameter_mm", "rate_kg_day", True)
    grow = diameter("grow_to_mm", "grow_to_kg_day", False)
    leak = Leak(zone, onset_s=r.get("onset_s", float, 0.0), diameter_mm=d0, cd=cd, grow_to_mm=grow,
                grow_s=r.get("grow_s", float, 0.0), end_s=r.get("end_s", float, None))
    r.done()
    return leak


def _chamber(path, loc, data, zones, kind):
    if "chamber" not in data:
        if kind == "chamber":
            raise ScenarioError(path, loc.line("scenario", "kind"), "chamber", "kind = 'chamber' needs a [chamber] table")
        return None, {}, {}
    r = _Reader(path, loc, data["chamber"], ("chamber",))
    zone = r.get("zone", str)
    if zone not in zones:
        r.fail("zone", f"unknown zone {zone!r}")
    if "outgassing_pa_l_s" in r.d and "outgassing_tau_s" in r.d:
        r.fail("outgassing_tau_s", "give outgassing_pa_l_s or outgassing_tau_s, not both")
    c = Chamber(zone, pump_speed_l_s=r.get("pump_speed_l_s", float, 5.0, positive=True),
                base_pressure_pa=r.get("base_pressure_pa", float, 1.0),
                outgassing_pa_l_s=r.get("outgassing_pa_l_s", float, 0.0),
                outgassing_sat_pa=r.get("outgassing_sat_pa", float, 50.0, positive=True),
                outgassing_tau_s=r.get("outgassing_tau_s", float, 0.0, positive="outgassing_tau_s" in r.d),
                vent_diameter_mm=r.get("vent_diameter_mm", float, 6.0, positive=True),
                needle_diameter_mm=r.get("needle_diameter_mm", float, 0.2, positive=True))
    valves = r.get("valves", dict, {"pump": 0, "vent": 1, "leak": 2})
    safe = r.get("safe", dict, {"pump": False, "vent": False, "leak": False})
    for table, want in (("valves", int), ("safe", bool)):
        for k, v in (valves if table == "valves" else safe).items():
            if k not in VALVES:
                r.fail(table, f"unknown valve {k!r}; valves are {', '.join(VALVES)}")
            if not isinstance(v, want) or (want is int and isinstance(v, bool)):
                r.fail(table, f"{k} must be {want.__name__}")
    r.done()
    return c, dict(valves), {k: safe.get(k, False) for k in VALVES}


def _nodes(path, loc, top: _Reader, zones: set) -> list[NodeSpec]:
    nodes: list[NodeSpec] = []
    raw = _array(top, "node")
    if not raw:
        top.fail("node", "at least one [[node]] is required")
    for i, d in enumerate(raw):
        r = _Reader(path, loc, d, ("node", i))
        nid = r.get("id", int)
        if not 0 < nid < 255:
            r.fail("id", f"node ids are 1..254, got {nid}")
        if nid in {n.id for n in nodes}:
            r.fail("id", f"duplicate node id {nid}")
        zone = r.get("zone", str)
        if zone not in zones:
            r.fail("zone", f"unknown zone {zone!r}")
        board = r.get("board", str, "sim")
        if board != "sim":   # every node of a scenario runs on the virtual board; it was silently ignored
            r.fail("board", f"only \"sim\" runs in a scenario, got {board!r} (`safehaven sim` runs every node on "
                            f"the virtual board, the bench the boards on its ports; flash one with `safehaven flash "
                            f"--board {board}`)")
        nodes.append(NodeSpec(nid, zone, board, r.get("config", dict, {})))
        r.done()
    return nodes


def _fault(r: _Reader, ids: set) -> FaultEvent:
    node = r.get("node", int)
    if node not in ids:
        r.fail("node", f"unknown node {node}")
    sensor = r.get("sensor", str, choices=SENSORS)
    settings = r.get("set", dict)
    for k in settings:
        if k not in FAULT_NAMES:
            r.fail("set", f"unknown fault {k!r}; faults are {', '.join(FAULT_NAMES)}")
    f = FaultEvent(r.get("t_s", float, 0.0), node, sensor, dict(settings))
    r.done()
    return f


def _event(r: _Reader, hatches: list[Hatch], zones: set, valves: dict) -> Event:
    t = r.get("t_s", float)
    if "hatch" in r.d:
        name = r.get("hatch", str)
        if not any(name in (h.name, f"{h.b}-{h.a}") for h in hatches):
            r.fail("hatch", f"unknown hatch {name!r}; hatches are {', '.join(h.name for h in hatches) or 'none'}")
        ev = Event(t, "hatch", name, r.get("open", bool))
    elif "valve" in r.d:
        name = r.get("valve", str, choices=VALVES)
        if name not in valves:
            r.fail("valve", "needs a [chamber] with that valve")
        ev = Event(t, "valve", name, r.get("on", bool))
    elif "crew" in r.d:
        n = r.get("crew", int, positive=True)
        src, dst = r.get("from", str), r.get("to", str)
        for key, z in (("from", src), ("to", dst)):
            if z not in zones:
                r.fail(key, f"unknown zone {z!r}")
        ev = Event(t, "crew", dst, (n, src, dst))
    elif "operator" in r.d:
        what = r.get("operator", str, choices=("ack", "sheltered", "depress"))
        if what != "depress":
            ev = Event(t, "operator", "", what)
        else:   # a planned depress of one zone, announced for for_s (docs/shelter.md, "A planned depress")
            zone = r.get("zone", str)
            if zone not in zones:
                r.fail("zone", f"unknown zone {zone!r}")
            ev = Event(t, "operator", zone, what,
                       (r.get("for_s", float, positive=True), r.get("max_rate_pa_s", float, None, positive=True)))
    elif "pulse" in r.d or "repress" in r.d:
        kind = "pulse" if "pulse" in r.d else "repress"
        zone = r.get(kind, str)
        if zone not in zones:
            r.fail(kind, f"unknown zone {zone!r}")
        keys = ("drop_pa", "recover_s") if kind == "pulse" else ("rise_pa", "over_s")
        ev = Event(t, kind, zone, tuple(r.get(k, float, positive=True) for k in keys))
    else:
        r.fail("t_s", "an event needs one of hatch, valve, crew, operator, pulse, repress")
    r.done()
    return ev


def _expects(path, loc, raw, ids, zones) -> list[Expectation]:
    if not all(isinstance(x, str) for x in raw):
        raise ScenarioError(path, loc.line("scenario", "expect"), "scenario.expect", "must be a list of strings")
    text_lines = loc.line("scenario", "expect")
    out = []
    for i, s in enumerate(raw):
        text_lines = loc.find(s, text_lines)
        try:
            e = parse_expectation(s)
        except ValueError as exc:
            raise ScenarioError(path, text_lines, f"scenario.expect[{i}]", f"{s!r}: {exc}") from None
        if e.node is not None and e.node not in ids:
            raise ScenarioError(path, text_lines, f"scenario.expect[{i}]", f"{s!r}: unknown node {e.node}")
        if e.zone and e.zone not in zones:
            raise ScenarioError(path, text_lines, f"scenario.expect[{i}]", f"{s!r}: unknown zone {e.zone!r}")
        e.line = text_lines
        out.append(e)
    return out


# --- checking expectations against what happened ---------------------------------------------
def _first_reach(changes: list, state: str, ranks: dict) -> Optional[float]:
    """First time the state (or a worse one, FAULT aside) was reached; the caller checks it against t_from."""
    want = ranks[state]
    for t, s in changes:
        if s == state or (ranks.get(s, -1) >= want and s != "FAULT"):
            return t
    return None


def _max_before(changes: list, ranks: dict, t_to: float) -> tuple[int, str, float]:
    worst, name, when = -1, "", 0.0
    for t, s in changes:
        if t <= t_to and ranks.get(s, 0) > worst:
            worst, name, when = ranks.get(s, 0), s, t
    return worst, name, when


def evaluate(expectations: list[Expectation], timeline: dict) -> list[dict]:
    """timeline: {"ground": [(t, state)], "nodes": {id: [(t, state)]}, "isolated": {id: t|None},
    "comparisons": {id: {"within": bool, ...}}, "co2_time": t|None,
    "node_rates": {id: [(t, reported, true)]}, "node_events": {id: [(t, state, {qty: (reported, true)})]},
    "ground_figures": [(t, state, {zone: {qty: (reported, true)}})]} -> [{"text", "met", "detail"}]."""
    out = []
    for e in expectations:
        met, detail = _check(e, timeline)
        out.append({"text": e.text, "met": bool(met), "detail": detail})
    return out


def _check(e: Expectation, tl: dict) -> tuple[bool, str]:
    if e.kind in ("ground_reach", "node_reach"):
        changes = tl["ground"] if e.kind == "ground_reach" else tl["nodes"].get(e.node, [])
        ranks = GROUND_RANK if e.kind == "ground_reach" else NODE_RANK
        t = _first_reach(changes, e.state, ranks)
        if t is None:
            return False, f"{e.state} never reached"
        if t < e.t_from:
            return False, f"{e.state} already at t={t:.1f} s, before t={e.t_from:g}"
        return t <= e.t_to, f"{e.state} at t={t:.1f} s"
    if e.kind in ("ground_never", "node_never"):
        changes = tl["ground"] if e.kind == "ground_never" else tl["nodes"].get(e.node, [])
        ranks = GROUND_RANK if e.kind == "ground_never" else NODE_RANK
        worst, name, when = _max_before(changes, ranks, e.t_to)
        if worst > ranks[e.state]:
            return False, f"{name} at t={when:.1f} s"
        return True, f"highest {name or e.state}"
    if e.kind == "isolated":
        t = tl.get("isolated", {}).get(e.node)
        if t is None:
            return False, f"node {e.node} never isolated"
        return t <= e.t_to, f"isolated at t={t:.1f} s"
    if e.kind == "not_isolated":
        t = tl.get("isolated", {}).get(e.node)
        return t is None, "never isolated" if t is None else f"isolated at t={t:.1f} s"
    if e.kind == "co2_time":
        t = tl.get("co2_time")
        if t is None:
            return False, "the ground never reported the safe haven's time to the CO2 limit"
        return t <= e.t_to, f"first reported at t={t:.1f} s"
    if e.kind == "node_rate":
        return _check_rate(e, tl.get("node_rates", {}).get(e.node, []))
    if e.kind in ("zone_figure", "node_figure"):
        return _check_figure(e, tl)
    if e.kind == "agree":
        comps = tl.get("comparisons", {})
        bad = [f"node {n}: {c['max_abs_pa']:.0f} Pa" for n, c in sorted(comps.items())
               if c["max_abs_pa"] is not None and c["max_abs_pa"] > e.tolerance]
        if not comps:
            return False, "no comparison samples"
        return not bad, "; ".join(bad) or "all within"
    return False, f"unknown kind {e.kind}"


def _within(reported, true, pct: float, floor: float = 0.0) -> bool:
    return reported is not None and true is not None and abs(reported - true) <= max(abs(true) * pct / 100, floor)


def _check_rate(e: Expectation, samples: list) -> tuple[bool, str]:
    """Every telemetry rate of the node from t_from on within the tolerance of the true compensated rate."""
    after = [s for s in samples if s[0] >= e.t_from and s[2] is not None]
    if not after:
        return False, f"no telemetry rate with a known truth after t={e.t_from:g}"
    bad = [s for s in after if not _within(s[1], s[2], e.tolerance, e.floor)]
    worst = max(after, key=lambda s: abs(s[1] - s[2]) / max(abs(s[2]), e.floor, 1e-12))
    detail = (f"{len(bad)} of {len(after)} telemetry rates outside; worst at t={worst[0]:.1f} s: "
              f"{worst[1]:+.4g} Pa/s vs true {worst[2]:+.4g} Pa/s")
    return not bad, detail


def _check_figure(e: Expectation, tl: dict) -> tuple[bool, str]:
    """The figure carried by the first ground decision (zone forms) or node event (node forms) at STATE or higher;
    a node's events that carry no such figure (an alarm whose loss is not yet measured: LOSS_UNMEASURED) are
    skipped for the first that does."""
    if e.kind == "zone_figure":
        ranks, entries = GROUND_RANK, [(t, s, figs.get(e.zone, {})) for t, s, figs in tl.get("ground_figures", [])]
    else:
        ranks, entries = NODE_RANK, tl.get("node_events", {}).get(e.node, [])
    want = ranks[e.state]
    at = [(t, s, figs) for t, s, figs in entries if ranks.get(s, -1) >= want and s != "FAULT"]
    if not at:
        return False, f"{e.state} never reached"
    hit = at[0]
    if e.kind == "node_figure":
        hit = next((x for x in at if x[2].get(e.quantity, (None, None))[0] is not None), hit)
    t, s, figs = hit
    reported, true = figs.get(e.quantity, (None, None))
    if true is None:
        return False, f"no true {e.quantity} at t={t:.1f} s"
    if reported is None:
        return False, f"{s} at t={t:.1f} s carried no {e.quantity} (true {_fmt(true)})"
    err = f"{100 * (reported - true) / true:+.0f} %" if true else "nothing leaking"
    return (_within(reported, true, e.tolerance),
            f"{s} at t={t:.1f} s: {e.quantity} {_fmt(reported)} vs true {_fmt(true)} ({err})")


def _fmt(x: float) -> str:
    return f"{x:.0f}" if abs(x) >= 1e4 else f"{x:.4g}"
