"""The run core both benches share: what a run keeps about the nodes against a reference.

Comparator holds each node's pressure against a reference (the chamber's gauge, or the physics'
truth on a virtual habitat), sample by sample, only where the BMP280 can be compared.
"""
from __future__ import annotations

from typing import Optional

from safehaven.hil import scenario as sc

BMP280_MIN_PA, BMP280_MAX_PA = 30000.0, 110000.0


class Comparator:
    """Node pressure vs the reference gauge, sample by sample."""

    def __init__(self, steady_pa: float = 20.0):
        self.steady_pa = steady_pa
        self.prev_ref: dict = {}   # previous reference per group of nodes (one gauge, or one zone's truth)
        self.per_node: dict[int, dict] = {}
        self.ref = {"t": [], "pressure_pa": []}

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
