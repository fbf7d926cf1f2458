"""The shelter policy: every number the ground decides with, from a TOML file over built-in defaults.

Defaults come from ../shared/REFERENCE.md (see policies/default.toml for the sources of each one).
`load_policy(path | None) -> Policy`; a bad file raises PolicyError naming the file and the field.
"""
from __future__ import annotations

import copy
import hashlib
import json
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
        "persist_rapid_s": 1.0,
        "clear_s": 60.0,
        "hysteresis": 0.5,
        "sheltered_after_s": 300.0,
        "all_clear_hold_s": 60.0,
        "co2_limit_ppm": 5300.0,
        "co2_trend_window_s": 300.0,
        "default_volume_m3": 916.0,
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


class PolicyError(ValueError):
    pass


def _merge(base: dict, over: dict, where: str, src: str) -> None:
    for key, value in over.items():
        field = f"{where}{key}"
        if key not in base:
            raise PolicyError(f"{src}: unknown field '{field}' (known: {', '.join(sorted(base))})")
        old = base[key]
        if isinstance(old, dict):
            if not isinstance(value, dict):
                raise PolicyError(f"{src}: field '{field}' must be a table")
            _merge(old, value, field + ".", src)
        elif isinstance(old, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise PolicyError(f"{src}: field '{field}' must be a number, got {value!r}")
            base[key] = float(value)
        elif not isinstance(value, type(old)):
            raise PolicyError(f"{src}: field '{field}' must be a {type(old).__name__}, got {value!r}")
        else:
            base[key] = value


def _check_zones(zones: Any, src: str) -> dict:
    if not isinstance(zones, dict):
        raise PolicyError(f"{src}: field 'zones' must be a table of zone tables")
    out = {}
    for zone, table in zones.items():
        if not isinstance(table, dict):
            raise PolicyError(f"{src}: field 'zones.{zone}' must be a table")
        entry = {}
        for key, value in table.items():
            if key not in ZONE_KEYS:
                raise PolicyError(f"{src}: unknown field 'zones.{zone}.{key}' (known: volume_m3)")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise PolicyError(f"{src}: field 'zones.{zone}.{key}' must be a positive number")
            entry[key] = float(value)
        out[str(zone)] = entry
    return out


def _validate(d: dict, src: str) -> None:
    s = d["shelter"]
    for key in ("evacuation_s", "clear_s", "co2_trend_window_s", "default_volume_m3", "co2_limit_ppm"):
        if s[key] <= 0:
            raise PolicyError(f"{src}: field 'shelter.{key}' must be > 0")
    if not 0 < s["hysteresis"] <= 1:
        raise PolicyError(f"{src}: field 'shelter.hysteresis' must be in (0, 1]")
    if not 0 < s["suspect_rate_pa_s"] <= s["leak_rate_pa_s"] <= s["rapid_rate_pa_s"]:
        raise PolicyError(f"{src}: need 0 < shelter.suspect_rate_pa_s <= leak_rate_pa_s <= rapid_rate_pa_s")
    v = d["voting"]
    for key in ("stale_s", "eval_period_s"):
        if v[key] <= 0:
            raise PolicyError(f"{src}: field 'voting.{key}' must be > 0")
    if not 0 <= v["eval_min_interval_s"] <= v["eval_period_s"]:
        raise PolicyError(f"{src}: field 'voting.eval_min_interval_s' must be in [0, voting.eval_period_s]")
    if not 0 <= v["align_alpha"] <= 1:
        raise PolicyError(f"{src}: field 'voting.align_alpha' must be in [0, 1]")
    for q in QUANTITIES:
        if v[q]["min"] >= v[q]["max"]:
            raise PolicyError(f"{src}: field 'voting.{q}.min' must be below 'voting.{q}.max'")


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
            over = tomllib.load(f)
    except FileNotFoundError:
        raise PolicyError(f"{src}: policy file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{src}: not valid TOML: {exc}") from None
    return policy_from_dict(over, src)


def policy_from_json(text: str, source: str = "<stored>") -> Policy:
    """The full policy as recorded in the store (canonical JSON) back into a Policy."""
    data = json.loads(text)
    return policy_from_dict(data, source)
