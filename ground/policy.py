"""The shelter policy: every number the ground decides with, from a TOML file over built-in defaults.

Defaults come from the project's reference notes, REFERENCE.md (kept outside this repository; see
policies/default.toml for the source of each one).
`load_policy(path | None) -> Policy`; a bad file raises PolicyError naming the file and the field.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any

QUANTITIES = ("pressure_pa", "rate_pa_s", "temperature_c", "co2_ppm")

# Keep in step with policies/default.toml (a test checks they are equal).
DEFAULTS: dict[str, Any] = {
    "name": "default",
    "safe_haven_zone": "dragon",
    "shelter": {
        "min_safe_pressure_pa": 65000.0,
        "evacuation_s": 300.0,
        "margin_s": 300.0,
        "suspect_rate_pa_s": 0.005,
        "leak_rate_pa_s": 0.02,
        "rapid_rate_pa_s": 1.1,
        "persist_monitor_s": 30.0,
        "persist_isolate_s": 10.0,
        "persist_shelter_s": 5.0,
        "persist_rapid_s": 0.5,
        "clear_s": 60.0,
        "hysteresis": 0.5,
        "sheltered_after_s": 300.0,
        "all_clear_hold_s": 60.0,
        "co2_limit_ppm": 5300.0,
        "co2_trend_window_s": 300.0,
        "default_volume_m3": 916.0,
        "rapid_confirm_s": 10.0,
        "depress_max_s": 3600.0,
        "depress_max_volume_m3": 40.0,
    },
    "voting": {
        "stale_s": 3.0,
        "isolate_after_s": 10.0,
        "readmit_after_s": 60.0,
        "error_density_step": 10.0,
        "error_density_limit": 50.0,
        "align_alpha": 0.01,
        "eval_period_s": 1.0,
        "eval_min_interval_s": 0.2,
        "transient_hold_s": 10.0,
        "series_noise_pa": 2.0,
        "series_gamma": 2.5,
        "series_jitter_pa": 3.0,
        "series_floor_pa_s": 0.002,
        "series_hold_s": 5.0,
        "pressure_pa": {"min": 30000.0, "max": 110000.0, "agree_abs": 20.0, "agree_rel": 0.0,
                        "max_offset": 150.0, "stuck_eps": 0.01, "stuck_s": 30.0},
        "rate_pa_s": {"min": -20000.0, "max": 20000.0, "agree_abs": 0.05, "agree_rel": 0.25,
                      "max_offset": 0.0, "stuck_eps": 0.0, "stuck_s": 0.0},
        "temperature_c": {"min": -40.0, "max": 85.0, "agree_abs": 1.0, "agree_rel": 0.0,
                          "max_offset": 2.0, "stuck_eps": 0.005, "stuck_s": 120.0},
        "co2_ppm": {"min": 0.0, "max": 40000.0, "agree_abs": 60.0, "agree_rel": 0.05,
                    "max_offset": 100.0, "stuck_eps": 0.5, "stuck_s": 120.0},
    },
    "zones": {},
}

ZONE_KEYS = {"volume_m3": float}

# Every number's physical range (inclusive). A value outside, or not finite, is refused: a NaN
# threshold never compares true, an infinite one never triggers, a tiny period spins the CPU.
DAY_S = 86400.0
RANGES: dict[str, tuple[float, float]] = {
    "shelter.min_safe_pressure_pa": (1000.0, 200000.0),
    "shelter.evacuation_s": (1.0, DAY_S), "shelter.margin_s": (0.0, DAY_S),
    "shelter.suspect_rate_pa_s": (1e-5, 1e4), "shelter.leak_rate_pa_s": (1e-5, 1e4),
    "shelter.rapid_rate_pa_s": (1e-5, 1e4),
    "shelter.persist_monitor_s": (0.0, DAY_S), "shelter.persist_isolate_s": (0.0, DAY_S),
    "shelter.persist_shelter_s": (0.0, DAY_S), "shelter.persist_rapid_s": (0.0, DAY_S),
    "shelter.clear_s": (0.1, DAY_S), "shelter.hysteresis": (0.01, 1.0),
    "shelter.sheltered_after_s": (0.0, DAY_S), "shelter.all_clear_hold_s": (0.0, DAY_S),
    "shelter.co2_limit_ppm": (100.0, 40000.0),       # the SCD4x range: a limit above it never triggers
    "shelter.co2_trend_window_s": (10.0, DAY_S), "shelter.default_volume_m3": (0.001, 1e6),
    "voting.stale_s": (0.05, 3600.0), "voting.isolate_after_s": (0.0, DAY_S),
    "voting.readmit_after_s": (0.0, DAY_S), "voting.error_density_step": (0.0, 1000.0),
    "voting.error_density_limit": (1.0, 1e6), "voting.align_alpha": (0.0, 1.0),
    "voting.eval_period_s": (0.05, 60.0), "voting.eval_min_interval_s": (0.0, 60.0),
    "shelter.rapid_confirm_s": (0.0, 3600.0),
    "shelter.depress_max_s": (0.0, DAY_S), "shelter.depress_max_volume_m3": (0.0, 1e6), "voting.transient_hold_s": (0.0, 3600.0),
    "voting.series_noise_pa": (0.01, 1000.0), "voting.series_jitter_pa": (0.0, 1000.0), "voting.series_gamma": (0.5, 10.0),
    "voting.series_floor_pa_s": (0.0, 1e4), "voting.series_hold_s": (0.0, DAY_S),
    "zones.*.volume_m3": (0.001, 1e6),
}
# per quantity: the physical span of its values (min/max and tolerances live inside it)
SPANS = {"pressure_pa": (0.0, 200000.0), "rate_pa_s": (-1e5, 1e5), "temperature_c": (-100.0, 200.0),
         "co2_ppm": (0.0, 100000.0)}
for _q, (_lo, _hi) in SPANS.items():
    _width = _hi - _lo
    RANGES.update({f"voting.{_q}.min": (_lo, _hi), f"voting.{_q}.max": (_lo, _hi),
                   f"voting.{_q}.agree_abs": (0.0, _width), f"voting.{_q}.agree_rel": (0.0, 10.0),
                   f"voting.{_q}.max_offset": (0.0, _width), f"voting.{_q}.stuck_eps": (0.0, _width),
                   f"voting.{_q}.stuck_s": (0.0, DAY_S)})


class PolicyError(ValueError):
    """A bad policy: str() is 'FILE:LINE: FIELD: problem' (the line when the policy came from a file)."""

    def __init__(self, src: str, field: str, problem: str, line: int = 0) -> None:
        self.src, self.field, self.problem, self.line = src, field, problem, line
        where = f"{src}:{line}" if line else src
        super().__init__(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")


def zone_name_problem(name: object) -> str | None:
    """Zone names travel in the heartbeat's 8-byte ASCII field: 1-8 printable ASCII characters."""
    if not isinstance(name, str) or not 1 <= len(name) <= 8 or not name.isascii() or not name.isprintable() \
            or name != name.strip():
        return f"zone names are 1-8 printable ASCII characters without surrounding spaces, got {name!r}"
    return None


def _number(src: str, field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PolicyError(src, field, f"must be a number, got {value!r}")
    try:
        x = float(value)
    except OverflowError:
        raise PolicyError(src, field, f"number too large ({len(str(value))} digits)") from None
    if not math.isfinite(x):
        raise PolicyError(src, field, f"must be a finite number, got {value!r}")
    rng = RANGES.get(field) or RANGES.get(re.sub(r"^zones\.[^.]*\.", "zones.*.", field))
    if rng is not None and not rng[0] <= x <= rng[1]:
        raise PolicyError(src, field, f"{x:g} outside {rng[0]:g}..{rng[1]:g}")
    return x


def _merge(base: dict, over: dict, where: str, src: str) -> None:
    for key, value in over.items():
        field = f"{where}{key}"
        if key not in base:
            raise PolicyError(src, field, f"unknown field (known: {', '.join(sorted(base))})")
        old = base[key]
        if isinstance(old, dict):
            if not isinstance(value, dict):
                raise PolicyError(src, field, "must be a table")
            _merge(old, value, field + ".", src)
        elif isinstance(old, float):
            base[key] = _number(src, field, value)
        elif not isinstance(value, type(old)):
            raise PolicyError(src, field, f"must be a {type(old).__name__}, got {value!r}")
        elif isinstance(value, str) and not (0 < len(value) <= 64 and value.isprintable()):
            raise PolicyError(src, field, f"must be 1-64 printable characters, got {value[:70]!r}")
        else:
            base[key] = value


def _check_zones(zones: Any, src: str) -> dict:
    if not isinstance(zones, dict):
        raise PolicyError(src, "zones", "must be a table of zone tables")
    out = {}
    for zone, table in zones.items():
        problem = zone_name_problem(zone)
        if problem:
            raise PolicyError(src, f"zones.{zone}", problem)
        if not isinstance(table, dict):
            raise PolicyError(src, f"zones.{zone}", "must be a table")
        entry = {}
        for key, value in table.items():
            if key not in ZONE_KEYS:
                raise PolicyError(src, f"zones.{zone}.{key}", "unknown field (known: volume_m3)")
            entry[key] = _number(src, f"zones.{zone}.{key}", value)
        out[str(zone)] = entry
    return out


def _validate(d: dict, src: str) -> None:
    problem = zone_name_problem(d["safe_haven_zone"])
    if problem:
        raise PolicyError(src, "safe_haven_zone", problem)
    s = d["shelter"]
    if not s["suspect_rate_pa_s"] <= s["leak_rate_pa_s"] <= s["rapid_rate_pa_s"]:
        raise PolicyError(src, "shelter.leak_rate_pa_s", "need suspect_rate_pa_s <= leak_rate_pa_s <= rapid_rate_pa_s")
    v = d["voting"]
    if s["rapid_rate_pa_s"] > v["rate_pa_s"]["max"]:
        raise PolicyError(src, "shelter.rapid_rate_pa_s", "above voting.rate_pa_s.max: a voted rate never reaches it")
    if not v["eval_min_interval_s"] <= v["eval_period_s"]:
        raise PolicyError(src, "voting.eval_min_interval_s", "must be in [0, voting.eval_period_s]")
    for q in QUANTITIES:
        if v[q]["min"] >= v[q]["max"]:
            raise PolicyError(src, f"voting.{q}.min", f"must be below 'voting.{q}.max'")


def field_line(text: str, field: str) -> int:
    """The line of a dotted field in TOML text (tomllib keeps no positions): 0 if not found."""
    parts = field.split(".")
    table: list[str] = []
    best = 0
    for no, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^\s*\[+\s*([^\]]+?)\s*\]+", line)
        if m:
            table = [p.strip().strip('"') for p in m.group(1).split(".")]
            if table == parts[:len(table)] and not best:
                best = no  # the table itself, if the key is not found
            continue
        k = re.match(r"^\s*([A-Za-z0-9_.\-\"]+)\s*=", line)
        if k and table + [p.strip().strip('"') for p in k.group(1).split(".")] == parts:
            return no
    return best


class Policy:
    """Read-only view of a merged policy: `.shelter`, `.voting`, `.zones` dicts, `.name`, `.hash`."""

    def __init__(self, data: dict, source: str = "<defaults>") -> None:
        self.data = data
        self.source = source
        self.name: str = data["name"]
        self.safe_haven_zone: str = data["safe_haven_zone"]
        self.shelter: dict = data["shelter"]
        self.voting: dict = data["voting"]
        self.zones: dict = data["zones"]
        self.canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        self.hash = hashlib.sha256(self.canonical.encode()).hexdigest()[:16]

    def volume_m3(self, zone: str) -> float:
        return self.zones.get(zone, {}).get("volume_m3", self.shelter["default_volume_m3"])

    def ref(self) -> dict:
        return {"name": self.name, "hash": self.hash}


def policy_from_dict(over: dict, source: str = "<dict>") -> Policy:
    data = copy.deepcopy(DEFAULTS)
    over = dict(over)
    zones = over.pop("zones", {})
    _merge(data, over, "", source)
    data["zones"] = _check_zones(zones, source)
    _validate(data, source)
    return Policy(data, source)


def load_policy(path: str | Path | None = None) -> Policy:
    if path is None:
        return policy_from_dict({}, "<defaults>")
    src = str(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(1_000_001)
    except FileNotFoundError:
        raise PolicyError(src, "", "policy file not found") from None
    except OSError as exc:
        raise PolicyError(src, "", f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > 1_000_000:
        raise PolicyError(src, "", "larger than 1 MB: not a policy file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(src, "", f"not UTF-8 text (byte {exc.start})") from None
    try:
        over = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise PolicyError(src, "", f"not valid TOML: {exc}", int(m.group(1)) if m else 0) from None
    except RecursionError:
        raise PolicyError(src, "", "not valid TOML: nested too deeply") from None
    try:
        return policy_from_dict(over, src)
    except PolicyError as exc:
        raise PolicyError(src, exc.field, exc.problem, field_line(text, exc.field)) from None


def policy_from_json(text: str, source: str = "<stored>") -> Policy:
    """The full policy as recorded in the store (canonical JSON) back into a Policy."""
    data = json.loads(text)
    return policy_from_dict(data, source)
