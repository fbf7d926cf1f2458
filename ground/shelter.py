"""The habitat's shelter state machine: voted zone figures in, crew actions out (docs/shelter.md).

NOMINAL -> MONITOR (slow leak suspected) -> ISOLATE (leak confirmed, zones ranked) -> SHELTER (go to the
safe haven now) -> SHELTERED (crew in the safe haven) -> ALL_CLEAR (operator acknowledgement) -> NOMINAL.
Escalation needs its condition to persist; clearing uses relaxed thresholds (hysteresis) and a hold time;
ISOLATE and above latch until an operator acknowledges. Pure: time only comes in as `now`.
"""
from __future__ import annotations

import math

from safehaven.ground.policy import Policy

NOMINAL, MONITOR, ISOLATE, SHELTER, SHELTERED, ALL_CLEAR = (
    "NOMINAL", "MONITOR", "ISOLATE", "SHELTER", "SHELTERED", "ALL_CLEAR")
STATES = (NOMINAL, MONITOR, ISOLATE, SHELTER, SHELTERED, ALL_CLEAR)
LEVEL = {NOMINAL: 0, ALL_CLEAR: 0, MONITOR: 1, ISOLATE: 2, SHELTER: 3, SHELTERED: 3}
LATCHED = (ISOLATE, SHELTER, SHELTERED)
R_AIR = 287.05  # J/(kg K), dry air
SECONDS_PER_DAY = 86400.0

# condition -> (level, persistence key in the policy)
CONDITIONS = {"suspect": (1, "persist_monitor_s"), "leak": (2, "persist_isolate_s"),
              "reserve": (3, "persist_shelter_s"), "rapid": (3, "persist_rapid_s")}


class ZoneFigures:
    """What the shelter logic needs from one zone's vote. Rates are Pa/s, negative when losing air."""

    __slots__ = ("zone", "pressure_pa", "rate_pa_s", "alarm_rate_pa_s", "temperature_c", "co2_ppm",
                 "volume_m3", "suspect", "leak", "rapid", "votes", "status")

    def __init__(self, zone: str, pressure_pa=None, rate_pa_s=None, alarm_rate_pa_s=None,
                 temperature_c=None, co2_ppm=None, volume_m3=916.0, suspect=False, leak=False,
                 rapid=False, votes="", status="") -> None:
        self.zone = zone
        self.pressure_pa = pressure_pa
        self.rate_pa_s = rate_pa_s
        self.alarm_rate_pa_s = rate_pa_s if alarm_rate_pa_s is None else alarm_rate_pa_s
        self.temperature_c = temperature_c
        self.co2_ppm = co2_ppm
        self.volume_m3 = volume_m3
        self.suspect = suspect
        self.leak = leak
        self.rapid = rapid
        self.votes = votes
        self.status = status

    def kg_per_day(self) -> float | None:
        """Mass loss from the pressure rate at constant volume: dm/dt = V/(R T) dp/dt."""
        if self.rate_pa_s is None:
            return None
        t_k = 273.15 + (self.temperature_c if self.temperature_c is not None else 21.85)
        return -self.rate_pa_s * self.volume_m3 / (R_AIR * t_k) * SECONDS_PER_DAY

    def reserve_s(self, min_safe_pa: float) -> float | None:
        """Time until the zone reaches the minimum safe pressure at the voted rate (None: not losing)."""
        if self.pressure_pa is None or self.alarm_rate_pa_s is None:
            return None
        if self.pressure_pa <= min_safe_pa:
            return 0.0
        if self.alarm_rate_pa_s >= 0:
            return None
        return (self.pressure_pa - min_safe_pa) / -self.alarm_rate_pa_s


def fmt_rate(z: ZoneFigures) -> str:
    kg = z.kg_per_day()
    rate = z.rate_pa_s or 0.0
    return f"{rate:+.4g} Pa/s ({rate * 3600:+.4g} Pa/h, {kg if kg is not None else 0:.3g} kg/day)"


def fmt_s(seconds: float | None) -> str:
    if seconds is None or math.isinf(seconds):
        return "none"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s"


class Transition:
    __slots__ = ("time", "state", "previous", "reasons")

    def __init__(self, time: float, state: str, previous: str, reasons: list[str]) -> None:
        self.time = time
        self.state = state
        self.previous = previous
        self.reasons = reasons


class Shelter:
    def __init__(self, policy: Policy) -> None:
        self.p = policy.shelter
        self.safe_haven = policy.safe_haven_zone
        self.state = NOMINAL
        self.since = 0.0
        self.reasons: list[str] = ["start"]
        self.pending: dict[str, float] = {}
        self.clear_since: float | None = None
        self.cond_reasons: dict[str, list[str]] = {}

    # --- conditions ---------------------------------------------------------------------------
    def _conditions(self, zones: list[ZoneFigures], scale: float) -> dict[str, list[str]]:
        """Which conditions hold (with thresholds scaled by `scale`: 1 to enter, hysteresis to hold)."""
        p = self.p
        out: dict[str, list[str]] = {}
        threshold_s = (p["evacuation_s"] + p["margin_s"]) / scale
        for z in zones:
            rate = z.alarm_rate_pa_s
            if z.rapid or (rate is not None and rate <= -p["rapid_rate_pa_s"] * scale):
                why = f"{z.votes} nodes report RAPID" if z.rapid else f"voted rate {fmt_rate(z)}"
                out.setdefault("rapid", []).append(f"zone {z.zone}: rapid depressurisation: {why}")
            reserve = z.reserve_s(p["min_safe_pressure_pa"])
            if reserve is not None and reserve < threshold_s:
                out.setdefault("reserve", []).append(
                    f"zone {z.zone}: reserve {fmt_s(reserve)} to {p['min_safe_pressure_pa']:.0f} Pa is below "
                    f"evacuation {fmt_s(p['evacuation_s'])} + margin {fmt_s(p['margin_s'])}")
            if z.leak or (rate is not None and rate <= -p["leak_rate_pa_s"] * scale):
                why = f"{z.votes} nodes report LEAK" if z.leak else f"voted rate {fmt_rate(z)}"
                out.setdefault("leak", []).append(f"zone {z.zone}: leak confirmed: {why}")
            if z.suspect or (rate is not None and rate <= -p["suspect_rate_pa_s"] * scale):
                why = f"{z.votes} nodes suspect a leak" if z.suspect else f"voted rate {fmt_rate(z)}"
                out.setdefault("suspect", []).append(f"zone {z.zone}: slow leak suspected: {why}")
        return out

    def _rank(self, zones: list[ZoneFigures]) -> str:
        """Zones losing air (voted rate < 0) or voted in leak, fastest first; the rate decides, the vote
        breaks ties (a node rate may still be 0 while its detector already calls the leak)."""
        def key(z: ZoneFigures):
            rate = z.rate_pa_s if z.rate_pa_s is not None else 0.0
            return (min(rate, 0.0), -(2 * z.rapid + z.leak + z.suspect), z.zone)
        losing = [z for z in zones if (z.rate_pa_s is not None and z.rate_pa_s < 0) or z.leak or z.rapid]
        losing.sort(key=key)
        if not losing:
            return "zones ranked by loss rate: none losing"
        parts = []
        for i, z in enumerate(losing):
            vote = " RAPID" if z.rapid else " LEAK" if z.leak else ""
            parts.append(f"{i + 1}. {z.zone} {fmt_rate(z)}{vote + ' ' + z.votes if vote else ''}")
        return "zones ranked by loss rate (close hatches in this order): " + "; ".join(parts)

    def _level_reasons(self, level: int, conds: dict[str, list[str]]) -> list[str]:
        reasons: list[str] = []
        for name, (lvl, _) in CONDITIONS.items():
            if lvl == level and name in conds:
                reasons.extend(conds[name])
        return reasons

    # --- evaluation ---------------------------------------------------------------------------
    def evaluate(self, now: float, zones: list[ZoneFigures]) -> Transition | None:
        enter = self._conditions(zones, 1.0)
        hold = self._conditions(zones, self.p["hysteresis"])
        self.cond_reasons = enter
        for name in CONDITIONS:
            if name in enter:
                self.pending.setdefault(name, now)
            else:
                self.pending.pop(name, None)
        persisted = {n for n, t0 in self.pending.items() if now - t0 >= self.p[CONDITIONS[n][1]]}
        target = max((CONDITIONS[n][0] for n in persisted), default=0)
        if hold:
            self.clear_since = None
        elif self.clear_since is None:
            self.clear_since = now
        state = self.state
        if target > LEVEL[state] and state != SHELTERED:
            name = {1: MONITOR, 2: ISOLATE, 3: SHELTER}[target]
            reasons = self._level_reasons(target, {n: enter[n] for n in persisted})
            if target >= 2:
                reasons.append(self._rank(zones))
            reasons.extend(self._safe_haven_warning(zones, enter))
            return self._go(now, name, reasons)
        if state == MONITOR and self._clear_for(now, self.p["clear_s"]):
            return self._go(now, NOMINAL, [f"no leak suspected for {fmt_s(self.p['clear_s'])}"])
        if state == SHELTER and 0 < self.p["sheltered_after_s"] <= now - self.since:
            return self._go(now, SHELTERED, [
                f"crew assumed in safe haven {self.safe_haven} {fmt_s(self.p['sheltered_after_s'])} after SHELTER"
                " (policy shelter.sheltered_after_s)"])
        if state == ALL_CLEAR and self._clear_for(now, self.p["all_clear_hold_s"]) \
                and now - self.since >= self.p["all_clear_hold_s"]:
            return self._go(now, NOMINAL, [f"all clear held for {fmt_s(self.p['all_clear_hold_s'])}"])
        return None

    def _safe_haven_warning(self, zones: list[ZoneFigures], conds: dict[str, list[str]]) -> list[str]:
        text = " ".join(r for rs in conds.values() for r in rs)
        if f"zone {self.safe_haven}:" in text:
            return [f"WARNING: the safe haven {self.safe_haven} itself is losing pressure"]
        return []

    def _clear_for(self, now: float, seconds: float) -> bool:
        return self.clear_since is not None and now - self.clear_since >= seconds

    def _go(self, now: float, state: str, reasons: list[str]) -> Transition:
        tr = Transition(now, state, self.state, reasons)
        self.state = state
        self.since = now
        self.reasons = reasons
        if LEVEL[state] == 0:
            self.pending.clear()
        return tr

    def acknowledge(self, now: float, who: str = "operator", sheltered: bool = False) -> tuple[Transition | None, str]:
        """Operator input: `sheltered` confirms the crew is in the safe haven; otherwise ALL_CLEAR.
        Returns (transition or None, message)."""
        if sheltered:
            if self.state != SHELTER:
                return None, f"not in SHELTER (state {self.state}): nothing to confirm"
            return self._go(now, SHELTERED, [f"{who} confirmed the crew is in safe haven {self.safe_haven}"]), "ok"
        if self.state not in (MONITOR,) + LATCHED:
            return None, f"state {self.state} needs no acknowledgement"
        if not self._clear_for(now, self.p["clear_s"]):
            active = "; ".join(r for rs in self.cond_reasons.values() for r in rs) or "clearing in progress"
            return None, f"conditions not clear for {fmt_s(self.p['clear_s'])} yet: {active}"
        return self._go(now, ALL_CLEAR, [f"{who} acknowledged: conditions clear for {fmt_s(self.p['clear_s'])}"]), "ok"
