"""Zones joined by open hatches, as their pressures show it (docs/shelter.md, "Joined zones").

The ground cannot see a hatch. Two zones whose voted pressures fall together are one volume with one
pressure, and one reserve: over the last JOIN_WINDOW_S each fell by more than JOIN_FALL (times the
pressure vote's tolerance), and their difference stayed within JOIN_REL of that fall plus the tolerance
(offsets between zones are constant; a separate hole in each falls at its own speed). Their rates become
the joined volume's: the volume-weighted mean of their compensated rates, i.e. the total mass loss over
the total volume. A zone's own compensated rate is its own gas, which cools as it is pushed out through
the hatch differently from the holed module's: the demo's capsule said -79 Pa/s beside the module's
-56 Pa/s and got a reserve 31 % short of the joined volume's.
"""
from __future__ import annotations

from collections import deque
from typing import Callable

from safehaven.ground.shelter import ZoneFigures

JOIN_WINDOW_S = 10.0
JOIN_FALL = 4.0    # each zone fell by at least this many pressure tolerances: a fall, not noise
JOIN_REL = 0.2     # their falls differ by at most this fraction (plus one tolerance)
RATES = ("rate_pa_s", "alarm_rate_pa_s", "leak_rate_pa_s", "rapid_rate_pa_s")
MEASURE_S = 5.0    # a member whose own nodes call no leak: its rate is its pressure's slope over this long


class JoinedZones:
    def __init__(self, tolerance_pa: float) -> None:
        self.tolerance_pa = tolerance_pa
        self.history: deque = deque()   # (t, {zone: voted pressure}) per evaluation

    def update(self, now: float, figures: list[ZoneFigures],
               measured: Callable[[str, float], float | None] | None = None) -> list[list[str]]:
        """Record the voted pressures, join the zones that fall together (their figures get the joined
        volume's rates and `joined`); returns the groups of two or more zones. `measured(zone, since)`:
        the slope of the zone's pressure since then (the median of its healthy nodes' series), for a member
        whose nodes call no leak while another member's do: their reported rates may not follow a fall
        that is air another zone loses (red team: a zone still reporting the rise of an equalisation,
        +10 Pa/s, while falling at -13 with the holed zone: joined reserves +52..+114 %)."""
        pressures = {f.zone: f.pressure_pa for f in figures if f.pressure_pa is not None}
        hist = self.history
        hist.append((now, pressures))
        while hist[0][0] < now - JOIN_WINDOW_S:
            hist.popleft()
        first = hist[0][1]
        falls = {z: p - first[z] for z, p in pressures.items() if z in first}
        groups = self._groups(falls)
        by_zone = {f.zone: f for f in figures}
        for group in groups:
            members = [by_zone[z] for z in group]
            if measured is not None and any(f.rapid or f.leak for f in members):
                for f in members:
                    slope = None if f.rapid or f.leak else measured(f.zone, now - MEASURE_S)
                    if slope is not None:
                        for name in RATES:
                            setattr(f, name, slope)
            volume = sum(f.volume_m3 for f in members)
            for name in RATES:
                rates = [getattr(f, name) for f in members]
                if None not in rates:
                    joint = sum(f.volume_m3 * r for f, r in zip(members, rates)) / volume
                    for f in members:
                        setattr(f, name, joint)
            for f in members:
                f.joined = tuple(z for z in group if z != f.zone)
                f.joined_volume_m3 = volume
        return groups

    def _groups(self, falls: dict[str, float]) -> list[list[str]]:
        tol = self.tolerance_pa
        falling = sorted(z for z, d in falls.items() if d <= -JOIN_FALL * tol)
        parent = {z: z for z in falling}

        def root(z: str) -> str:
            while parent[z] != z:
                z = parent[z]
            return z

        for i, a in enumerate(falling):
            for b in falling[i + 1:]:
                da, db = falls[a], falls[b]
                if abs(da - db) <= JOIN_REL * max(-da, -db) + tol:
                    parent[root(b)] = root(a)
        groups: dict[str, list[str]] = {}
        for z in falling:
            groups.setdefault(root(z), []).append(z)
        return [g for g in groups.values() if len(g) > 1]
