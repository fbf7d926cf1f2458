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
# Falling alike, slowly (a leak too slow for JOIN_FALL: `make demo`'s 0.9 kg/day in 129 m3 joined by open
# hatches, -0.007 Pa/s): over the last TOGETHER_WINDOW_S the mean of two zones' voted pressures falls beyond
# TOGETHER_GAMMA standard errors, and the slope of their difference is within TOGETHER_GAMMA standard errors
# of 0. Such zones cannot be told apart by their pressures: the ranking shows them as one entry
# (Shelter.rank_reason), not one of them as the first (their rates and reserves are left as they are). Not for
# a zone that fell fast (JOIN_FALL in JOIN_WINDOW_S) within the window: a line is no model of that fall.
TOGETHER_WINDOW_S = 120.0
TOGETHER_MIN_S = 60.0
TOGETHER_GAMMA = 2.5


def _line(ts: list[float], ys: list[float]) -> tuple[float, float] | None:
    """Least-squares slope and its standard error from the residuals (None: too few points)."""
    n = len(ts)
    if n < 10:
        return None
    mt, my = sum(ts) / n, sum(ys) / n
    sxx = sum((t - mt) ** 2 for t in ts)
    if sxx <= 0:
        return None
    b = sum((t - mt) * (y - my) for t, y in zip(ts, ys)) / sxx
    rss = sum((y - my - b * (t - mt)) ** 2 for t, y in zip(ts, ys))
    return b, (rss / (n - 2) / sxx) ** 0.5


class JoinedZones:
    def __init__(self, tolerance_pa: float) -> None:
        self.tolerance_pa = tolerance_pa
        self.history: deque = deque()   # (t, {zone: voted pressure}) per evaluation
        self.slow: deque = deque()      # the same over TOGETHER_WINDOW_S
        self.fast_until: dict[str, float] = {}   # zone -> until when its last fast fall is in that window

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
        self.slow.append((now, pressures))
        while self.slow[0][0] < now - TOGETHER_WINDOW_S:
            self.slow.popleft()
        for z, d in falls.items():
            if d <= -JOIN_FALL * self.tolerance_pa:
                self.fast_until[z] = now + TOGETHER_WINDOW_S
        self._together(now, figures)
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

    def _together(self, now: float, figures: list[ZoneFigures]) -> None:
        """Zones whose pressures fall together (TOGETHER_WINDOW_S): each figure's `together` and its note."""
        zones = sorted({f.zone for f in figures})
        slow = {z for z in zones if self.fast_until.get(z, -1.0) < now}
        notes: dict[str, str] = {}

        def alike(a: str, b: str) -> bool:
            if a not in slow or b not in slow:
                return False
            pts = [(t, p[a], p[b]) for t, p in self.slow if a in p and b in p]
            if len(pts) < 10 or pts[-1][0] - pts[0][0] < TOGETHER_MIN_S:
                return False
            ts = [t for t, _, _ in pts]
            mean = _line(ts, [(pa + pb) / 2.0 for _, pa, pb in pts])
            diff = _line(ts, [pa - pb for _, pa, pb in pts])
            if mean is None or diff is None:
                return False
            (fall, s_fall), (apart, s_apart) = mean, diff
            if not (fall + TOGETHER_GAMMA * s_fall < 0 and abs(apart) <= TOGETHER_GAMMA * s_apart):
                return False
            note = (f"{a} and {b} {fall:+.2g} Pa/s, the slope of their difference {apart:+.2g} ± "
                    f"{s_apart:.1g} Pa/s over {pts[-1][0] - pts[0][0]:.0f} s")
            notes.setdefault(a, note)
            notes.setdefault(b, note)
            return True

        group_of = {z: g for g in _components(zones, alike) for z in g}
        for f in figures:
            group = group_of.get(f.zone, [f.zone])
            f.together = tuple(z for z in group if z != f.zone)
            f.together_note = "; ".join(sorted({notes[z] for z in group if z in notes})) if f.together else ""
            f.together_fall = self._own_fall(f.zone) if f.together else None

    def _own_fall(self, zone: str) -> tuple[float, float, float] | None:
        """A zone's voted pressure over TOGETHER_WINDOW_S: (slope, its standard error, span s). What a tied zone
        is shown falling at: its nodes' own rate may not have called the fall yet (`make demo` at ISOLATE showed
        dragon and prk "+0 Pa/s, not losing air" in the entry that said they fall alike at -0.0099 Pa/s)."""
        pts = [(t, p[zone]) for t, p in self.slow if zone in p]
        line = _line([t for t, _ in pts], [p for _, p in pts])
        return None if line is None else (line[0], line[1], pts[-1][0] - pts[0][0])

    def _groups(self, falls: dict[str, float]) -> list[list[str]]:
        tol = self.tolerance_pa
        falling = sorted(z for z, d in falls.items() if d <= -JOIN_FALL * tol)

        def together(a: str, b: str) -> bool:
            da, db = falls[a], falls[b]
            return abs(da - db) <= JOIN_REL * max(-da, -db) + tol

        return [g for g in _components(falling, together) if len(g) > 1]


def _components(names: list[str], linked: Callable[[str, str], bool]) -> list[list[str]]:
    """The groups of names linked pairwise (transitively), each in the order of names."""
    parent = {z: z for z in names}

    def root(z: str) -> str:
        while parent[z] != z:
            z = parent[z]
        return z

    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if linked(a, b):
                parent[root(b)] = root(a)
    groups: dict[str, list[str]] = {}
    for z in names:
        groups.setdefault(root(z), []).append(z)
    return list(groups.values())
