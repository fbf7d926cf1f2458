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
# the conditions a zone's fall raises: what an announced depress of the zone masks (Shelter.announced); a
# condition not named here is decided as always during one
FALL_CONDITIONS = ("rapid", "reserve", "leak", "suspect")
# A depressed zone (held below the minimum safe pressure after its announced depress) is repressed once its voted
# pressure is back within this of the other zones' (their median): two zones' parts may read this far apart at
# one pressure (BMP280 +-100 Pa each; ground/equalise.py ABOVE_PA)
REPRESSED_PA = 250.0


class ZoneFigures:
    """What the shelter logic needs from one zone's vote. Rates are Pa/s, negative when losing air."""

    __slots__ = ("zone", "pressure_pa", "rate_pa_s", "alarm_rate_pa_s", "temperature_c", "co2_ppm",
                 "volume_m3", "suspect", "leak", "rapid", "votes", "status", "series_rate_pa_s",
                 "fall_check_pa_s", "transient", "measuring", "leak_rate_pa_s", "rapid_rate_pa_s", "joined",
                 "equalising", "hold_until", "joined_volume_m3", "out", "in_vote", "together", "together_note",
                 "together_fall")

    def __init__(self, zone: str, pressure_pa=None, rate_pa_s=None, alarm_rate_pa_s=None,
                 temperature_c=None, co2_ppm=None, volume_m3=916.0, suspect=False, leak=False,
                 rapid=False, votes="", status="", series_rate_pa_s=None, fall_check_pa_s=None,
                 transient=0, measuring=0, leak_rate_pa_s=None, rapid_rate_pa_s=None, out="",
                 in_vote=0) -> None:
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
        self.series_rate_pa_s = series_rate_pa_s  # median of the nodes' own pressure-series slopes
        self.fall_check_pa_s = fall_check_pa_s    # series slope since the nodes reported RAPID (None: too early)
        self.transient = transient                # nodes reporting a pressure step or pulse
        self.measuring = measuring                # nodes in LEAK/RAPID whose loss is not yet measured (LOSS_UNMEASURED)
        # the alarm rate as evidence for ISOLATE and SHELTER: each node's fall only where its own detector
        # calls it at that level or its pressure series shows it (ZoneVoter._backed_rates)
        self.leak_rate_pa_s = self.alarm_rate_pa_s if leak_rate_pa_s is None else leak_rate_pa_s
        self.rapid_rate_pa_s = self.alarm_rate_pa_s if rapid_rate_pa_s is None else rapid_rate_pa_s
        self.joined: tuple[str, ...] = ()         # zones one volume with this one (ground/joined.py)
        self.joined_volume_m3: float | None = None  # that volume, all of it: the air it loses is the loss
        self.together: tuple[str, ...] = ()       # zones whose pressures fall with this one's, slowly (ground/joined.py)
        self.together_note = ""                   # the figures that say so
        self.together_fall: tuple[float, float, float] | None = None  # while together: its pressure's (slope, σ, span)
        self.equalising: tuple[str, ...] = ()     # zones whose gain balances this one's fall (ground/equalise.py)
        self.hold_until: float | None = None      # its SHELTER waits until then for the balance
        self.out = out                            # nodes out of the vote: "node 2 stale, node 3 fault", or ""
        self.in_vote = in_vote                    # nodes in the state vote

    def out_note(self) -> str:
        """' (1 in the vote; out: node 2 stale, node 3 fault)' after the votes when nodes are missing."""
        return f" ({self.in_vote} in the vote; out: {self.out})" if self.out else ""

    def kg_per_day(self) -> float | None:
        """Mass loss from the pressure rate at constant volume: dm/dt = V/(R T) dp/dt. Zones joined by open
        hatches fall together: their loss is the whole joined volume's (a capsule's own 9 m³ would tell a
        tenth of a module's hole)."""
        if self.rate_pa_s is None:
            return None
        t_k = 273.15 + (self.temperature_c if self.temperature_c is not None else 21.85)
        volume = self.joined_volume_m3 if self.joined and self.joined_volume_m3 else self.volume_m3
        return -self.rate_pa_s * volume / (R_AIR * t_k) * SECONDS_PER_DAY

    def reserve_s(self, min_safe_pa: float) -> float | None:
        """Time until the zone reaches the minimum safe pressure (None: not losing air).

        A hole is a choked orifice: the loss is proportional to the pressure, p(t) = p0·e^(-t/tau) with
        tau = p/|dp/dt| (REFERENCE §2, §9), so the reserve is tau·ln(p/p_min), not the straight line."""
        return reserve_at(self.pressure_pa, self.alarm_rate_pa_s, min_safe_pa)


def reserve_at(p: float | None, rate: float | None, min_safe_pa: float) -> float | None:
    """tau·ln(p/p_min) with tau = p/|rate| (ZoneFigures.reserve_s); None when not losing air."""
    if p is None or rate is None or min_safe_pa <= 0:
        return None
    if p <= min_safe_pa:
        return 0.0
    if rate >= 0:
        return None
    return p / -rate * math.log(p / min_safe_pa)


def ranked(zones: list[ZoneFigures]) -> list[ZoneFigures]:
    """Zones losing air (voted rate < 0) or voted in leak: fastest loss first, then (joined zones share a
    rate) the most air lost, then the stronger vote."""
    def key(z: ZoneFigures) -> tuple:
        rate = z.rate_pa_s if z.rate_pa_s is not None else 0.0
        return (min(rate, 0.0), -max(z.kg_per_day() or 0.0, 0.0), -(2 * z.rapid + z.leak + z.suspect), z.zone)
    return sorted((z for z in zones if (z.rate_pa_s is not None and z.rate_pa_s < 0) or z.leak or z.rapid), key=key)


def fmt_rate(z: ZoneFigures) -> str:
    kg = z.kg_per_day()
    rate = z.rate_pa_s or 0.0
    if z.measuring:    # an alarm whose loss the nodes have not measured yet: its rate is provisional
        return f"{rate:+.4g} Pa/s ({rate * 3600:+.4g} Pa/h, kg/day measuring)"
    return f"{rate:+.4g} Pa/s ({rate * 3600:+.4g} Pa/h, {kg if kg is not None else 0:.3g} kg/day)"


def fmt_reserve(seconds: float | None, rate_pa_s: float | None) -> str:
    """A reserve for people to read: None is "not losing air" when the rate is known (a bare "none" read as
    no air left), "-" when it is not."""
    if seconds is None:
        return "-" if rate_pa_s is None else "not losing air"
    return fmt_s(seconds)


def fmt_s(seconds: float | None) -> str:
    if seconds is None or math.isinf(seconds):
        return "none"
    if seconds >= 30 * SECONDS_PER_DAY:   # a rate at the noise floor: "4,000 days" is not a reserve
        return "> 30 d"
    if seconds >= 2 * SECONDS_PER_DAY:
        return f"{seconds / SECONDS_PER_DAY:.1f} d"
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


class Depress:
    """An operator's announced depress of one zone (docs/shelter.md, "A planned depress"), and the zone held
    depressed after it (held_since: "A zone held depressed")."""

    __slots__ = ("zone", "start", "until", "max_rate_pa_s", "who", "held_since", "held_pa")

    def __init__(self, zone: str, start: float, until: float, max_rate_pa_s: float | None, who: str) -> None:
        self.zone = zone
        self.start = start
        self.until = until
        self.max_rate_pa_s = max_rate_pa_s
        self.who = who
        self.held_since: float | None = None   # depressed: below the minimum safe pressure under the announcement
        self.held_pa = 0.0                     # its voted pressure then

    def to_dict(self) -> dict:
        d = {"zone": self.zone, "who": self.who, "start_s": self.start, "until_s": self.until,
             "max_rate_pa_s": self.max_rate_pa_s}
        if self.held_since is not None:   # only once depressed: an announcement's JSON as before
            d["depressed_since_s"] = self.held_since
        return d

    def describe(self) -> str:
        if self.held_since is not None:
            return (f"zone {self.zone} depressed since t={self.held_since:.1f} s (planned depress announced by "
                    f"{self.who}): no alarm and not in the crew's reserve until repressed to the cabin's level")
        fastest = f", at most {self.max_rate_pa_s:g} Pa/s" if self.max_rate_pa_s is not None else ""
        return f"planned depress of zone {self.zone} announced by {self.who} until t={self.until:.1f} s{fastest}"


def median_of(values: list[float]) -> float | None:
    s = sorted(values)
    n = len(s)
    if not n:
        return None
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def _fall(z: ZoneFigures) -> float:
    """The fastest fall any of a zone's rates says (0 when none falls)."""
    rates = [r for r in (z.rate_pa_s, z.alarm_rate_pa_s, z.leak_rate_pa_s, z.rapid_rate_pa_s) if r is not None]
    return min(rates + [0.0])


class Shelter:
    def __init__(self, policy: Policy) -> None:
        self.p = policy.shelter
        self.policy = policy
        self.depress: dict[str, Depress] = {}  # zones whose fall an operator announced (announce())
        self.safe_haven = policy.safe_haven_zone
        self.state = NOMINAL
        self.since = 0.0
        self.reasons: list[str] = ["start"]
        self.pending: dict[str, float] = {}
        self.clear_since: float | None = None
        self.cond_reasons: dict[str, list[str]] = {}
        self.cond_zones: dict[str, set[str]] = {}
        self.provisional: set[str] = set()   # zones of a SHELTER the pressure has not confirmed yet
        self.provisional_onset = 0.0         # when their condition began (ground time)
        self.provisional_until = 0.0
        self.provisional_from = NOMINAL
        self.vetoed: dict[str, float] = {}   # zone -> since when the pressure contradicted its reported fall
        self.confirmed: list[str] = []       # reasons, when the last evaluation latched a provisional SHELTER
        self.held_until: float | None = None  # a SHELTER waiting for the zones' air balance (ground/equalise.py)

    # --- a planned depress ---------------------------------------------------------------------
    def announce(self, now: float, zone: str, for_s: float, max_rate_pa_s: float | None, who: str,
                 zones: set[str]) -> tuple[bool, str]:
        """An operator announces that zone will be depressed for the next for_s (0: the announcement ends).
        Bounded so that it cannot hide an emergency: at most shelter.depress_max_s; only a zone the ground
        knows whose volume the policy gives, at most shelter.depress_max_volume_m3, never the safe haven; not
        once the zone is already falling at a leak's rate or faster (announced before, not after the fact).
        During it the zone's fall counts as MONITOR only, unless faster than max_rate_pa_s (when given)."""
        p = self.p
        if for_s == 0:
            gone = self.depress.pop(zone, None)
            return (gone is not None,
                    f"announcement ended: {gone.describe()}" if gone else f"no depress of zone {zone} announced")
        if zone not in zones:
            return False, f"refused: no zone {zone} (zones: {', '.join(sorted(zones)) or 'none'})"
        if zone == self.safe_haven:
            return False, f"refused: zone {zone} is the safe haven"
        volume = self.policy.zones.get(zone, {}).get("volume_m3")
        if volume is None or volume > p["depress_max_volume_m3"]:
            return False, (f"refused: a depress may be announced only for a zone whose volume the policy gives, "
                           f"at most {p['depress_max_volume_m3']:g} m3 (shelter.depress_max_volume_m3); zone "
                           f"{zone}: {'not given' if volume is None else f'{volume:g} m3'}")
        if not 0 < for_s <= p["depress_max_s"]:
            return False, f"refused: {for_s:g} s is not within 0-{p['depress_max_s']:g} s (shelter.depress_max_s)"
        if max_rate_pa_s is not None and not max_rate_pa_s > 0:
            return False, "refused: the announced rate must be a fall faster than 0 Pa/s"
        held = self.depress.get(zone)
        if held is not None and held.held_since is not None:
            return False, (f"refused: {held.describe()}; `--end` ends that now")
        falling = [n for n in ("leak", "reserve", "rapid") if zone in self.cond_zones.get(n, ())]
        if falling:
            return False, (f"refused: zone {zone} is already falling ({', '.join(falling)}): a depress must be "
                           "announced before it begins")
        self.depress[zone] = Depress(zone, now, now + for_s, max_rate_pa_s, who)
        return True, f"accepted: {self.depress[zone].describe()}; a fall in any other zone, or after that time, " \
                     "is decided as always"

    def announced_now(self, now: float) -> list[dict]:
        """The announcements in force at now and the zones held depressed, by zone (Depress.to_dict): what the
        dashboard and status show."""
        return [d.to_dict() for _, d in sorted(self.depress.items())
                if d.held_since is not None or d.start <= now < d.until]

    def depress_changes(self, now: float, zones: list[ZoneFigures]) -> list[tuple[str, str]]:
        """(event, reason) of the announcements that changed by now. A zone whose voted pressure is below the
        minimum safe pressure while its announcement covers its fall is `depressed`: held on purpose (an
        airlock at vacuum for an EVA longer than depress_max_s), no alarm and out of the crew's reserve, with
        no time bound, until its voted pressure is back within REPRESSED_PA of the other zones' (their median:
        `depress_ended`, repressed). An announcement not held by its end runs out (`depress_ended`)."""
        out: list[tuple[str, str]] = []
        by_zone = {z.zone: z for z in zones}
        p_min = self.p["min_safe_pressure_pa"]
        others = [z.pressure_pa for z in zones if z.zone not in self.depress and z.pressure_pa is not None]
        level = median_of(others)
        for d in sorted(self.depress.values(), key=lambda d: d.zone):
            z = by_zone.get(d.zone)
            p = z.pressure_pa if z is not None else None
            if d.held_since is None:
                if z is not None and p is not None and p < p_min and self.announced(z, now) is not None:
                    was = d.describe()
                    d.held_since, d.held_pa = now, p
                    out.append(("depressed", f"zone {d.zone} at {p:.0f} Pa, below the minimum safe {p_min:.0f} Pa, "
                                             f"under the {was}: held depressed, no alarm and not in the crew's "
                                             f"reserve until repressed to the cabin's level (within {REPRESSED_PA:.0f} "
                                             f"Pa of the other zones' pressure), with no time bound"))
                elif now >= d.until:
                    del self.depress[d.zone]
                    out.append(("depress_ended", f"{d.describe()}: ran out; the zone's fall is decided as any other's"))
            elif p is not None and level is not None and p >= level - REPRESSED_PA:
                del self.depress[d.zone]
                out.append(("depress_ended", f"zone {d.zone} repressed: {p:.0f} Pa, the other zones' level {level:.0f} "
                                             f"Pa (depressed since t={d.held_since:.1f} s): decided as any other zone"))
        return out

    def announced(self, z: ZoneFigures, now: float) -> Depress | None:
        """The announcement that covers a zone's fall now: none after it ran out, nor for a fall faster than
        it announced; a zone held depressed is covered until it is repressed (depress_changes)."""
        d = self.depress.get(z.zone)
        if d is not None and d.held_since is not None:
            return d
        if d is None or not d.start <= now < d.until:
            return None
        if d.max_rate_pa_s is not None and _fall(z) < -d.max_rate_pa_s:
            return None
        return d

    # --- conditions ---------------------------------------------------------------------------
    def _conditions(self, now: float, zones: list[ZoneFigures], scale: float) -> dict[str, list[str]]:
        """Which conditions hold (with thresholds scaled by `scale`: 1 to enter, hysteresis to hold);
        `self.cond_zones` gets the zones behind each."""
        p = self.p
        out: dict[str, list[str]] = {}
        self.cond_zones = {}
        threshold_s = (p["evacuation_s"] + p["margin_s"]) / scale

        def add(name: str, zone: str, text: str) -> None:
            out.setdefault(name, []).append(f"zone {zone}: {text}")
            self.cond_zones.setdefault(name, set()).add(zone)

        for z in zones:
            found = self._zone_conditions(z, scale, threshold_s)
            announced = self.announced(z, now)
            if announced is not None:
                # only the announced fall is masked: its rapid, leak and reserve conditions (the reserve is
                # that fall's: tau = p/|rate|) and its suspicion count as one suspicion, MONITOR at most;
                # any other condition of the zone is decided as always
                fall = [(n, t) for n, t in found if n in FALL_CONDITIONS]
                found = [(n, t) for n, t in found if n not in FALL_CONDITIONS]
                if announced.held_since is not None:
                    pass   # held depressed on purpose: no alarm at all (a vented airlock's reserve is 0)
                elif fall or _fall(z) <= -p["suspect_rate_pa_s"] * scale:
                    found.append(("suspect", f"falling at {fmt_rate(z)} ({announced.describe()}: MONITOR only)"))
            for name, text in found:
                add(name, z.zone, text)
        return out

    def _zone_conditions(self, z: ZoneFigures, scale: float, threshold_s: float) -> list[tuple[str, str]]:
        """One zone's conditions, (name, reason) in the order rapid, reserve, leak, suspect."""
        p = self.p
        found: list[tuple[str, str]] = []
        # above MONITOR a rate counts only with its evidence (the nodes' own state or their pressure
        # series: docs/shelter.md, "Evidence"); a fan's swing in the rates is none
        rate, leak_rate, rapid_rate = z.alarm_rate_pa_s, z.leak_rate_pa_s, z.rapid_rate_pa_s
        vetoed = z.zone in self.vetoed  # its pressure showed the nodes' fall was a pulse
        if vetoed:
            # the reported fall (and the rate nodes still holding RAPID send) is ignored: only the
            # pressure's own fall since the veto counts (red team: a held -0.3 Pa/s made ISOLATE)
            rate = leak_rate = z.fall_check_pa_s
        if not vetoed and (z.rapid or (rapid_rate is not None and rapid_rate <= -p["rapid_rate_pa_s"] * scale)):
            why = f"{z.votes} nodes report RAPID{z.out_note()}" if z.rapid else f"voted rate {fmt_rate(z)}"
            found.append(("rapid", f"rapid depressurisation: {why}"))
        reserve = reserve_at(z.pressure_pa, leak_rate, p["min_safe_pressure_pa"])
        # zones falling alike, slowly (ground/joined.py): the zone's nodes called the leak first, but where it
        # is its pressure cannot tell (`make demo`: "zone svc: leak confirmed", the leak in prk)
        alike = (f"; {z.zone} falls alike with {', '.join(z.together)} by their pressures: the leak may be in "
                 f"any of them (ranking)") if z.together else ""
        if not vetoed and reserve is not None and reserve < threshold_s:
            found.append(("reserve", f"reserve {fmt_s(reserve)} to {p['min_safe_pressure_pa']:.0f} Pa is below "
                                     f"evacuation {fmt_s(p['evacuation_s'])} + margin {fmt_s(p['margin_s'])}{alike}"))
        if (z.leak and not vetoed) or (leak_rate is not None and leak_rate <= -p["leak_rate_pa_s"] * scale):
            why = f"{z.votes} nodes report LEAK{z.out_note()}" if z.leak else f"voted rate {fmt_rate(z)}"
            found.append(("leak", f"leak confirmed: {why}{alike}"))
        if z.suspect or vetoed or (rate is not None and rate <= -p["suspect_rate_pa_s"] * scale):
            why = f"{z.votes} nodes suspect a leak{z.out_note()}" if z.suspect or vetoed else f"voted rate {fmt_rate(z)}"
            found.append(("suspect", f"slow leak suspected: {why}{alike}"))
        return found

    def rank_reason(self, now: float, zones: list[ZoneFigures]) -> str:
        """Zones losing air (voted rate < 0) or voted in leak, fastest first; the rate decides (it carries
        the nodes' pressure series, so it is not 0 while the nodes' own rates are still filling), the
        vote breaks ties."""
        losing = [z for z in ranked(zones) if self.announced(z, now) is None]
        # a zone whose fall is an announced depress is no leak to close a hatch on: named after the order
        vented = [(z, d) for z in ranked(zones) if (d := self.announced(z, now)) is not None]
        after = "".join(f"; not ranked: {d.describe()}" if d.held_since is not None else
                        f"; not ranked: {z.zone} {fmt_rate(z)}, {d.describe()}" for z, d in vented)
        if not losing:
            return "zones ranked by loss rate: none losing" + after
        by_zone = {z.zone: z for z in zones}
        parts: list[str] = []
        shown: set[str] = set()
        for z in losing:
            if z.zone in shown:
                continue
            # zones whose pressures fall together cannot be told apart: one entry, not one of them first
            tied = [by_zone[o] for o in z.together if o in by_zone and o not in shown
                    and self.announced(by_zone[o], now) is None]
            shown |= {z.zone} | {o.zone for o in tied}
            members = [self._tied_zone(o) if tied else self._ranked_zone(o) for o in [z] + tied]
            entry = f"{len(parts) + 1}. " + " = ".join(members)
            if tied:
                entry += (f" (falling alike, not told apart by their pressures: {z.together_note}; one volume "
                          f"through open hatches, the leak in any of them, or a leak in each: close hatches to tell)")
            parts.append(entry)
        return "zones ranked by loss rate (close hatches in this order): " + "; ".join(parts) + after

    def _ranked_zone(self, z: ZoneFigures) -> str:
        vote = " RAPID" if z.rapid else " LEAK" if z.leak else ""
        reserve = z.reserve_s(self.p["min_safe_pressure_pa"])
        joined = f" (one volume with {', '.join(z.joined)})" if z.joined else ""
        return (f"{z.zone}{joined} {fmt_rate(z)}, reserve {fmt_reserve(reserve, z.alarm_rate_pa_s)}"
                f"{vote + ' ' + z.votes if vote else ''}")

    def _tied_zone(self, z: ZoneFigures) -> str:
        """A zone of a tied entry: falling at what its pressure shows over the tie's window, with the reserve
        at that fall (its nodes' rate may not have called the fall yet: "+0 Pa/s, not losing air" beside
        "falling alike at -0.0099 Pa/s" was `make demo`'s ISOLATE). Rates and alarms are left as they are."""
        if z.together_fall is None:
            return self._ranked_zone(z)
        slope, sigma, span = z.together_fall
        vote = " RAPID" if z.rapid else " LEAK" if z.leak else ""
        reserve = reserve_at(z.pressure_pa, slope, self.p["min_safe_pressure_pa"])
        joined = f" (one volume with {', '.join(z.joined)})" if z.joined else ""
        return (f"{z.zone}{joined} {slope:+.2g} ± {sigma:.1g} Pa/s by its pressure over {span:.0f} s, reserve "
                f"{fmt_reserve(reserve, slope)}{vote + ' ' + z.votes if vote else ''}")

    def _level_reasons(self, level: int, conds: dict[str, list[str]]) -> list[str]:
        reasons: list[str] = []
        for name, (lvl, _) in CONDITIONS.items():
            if lvl == level and name in conds:
                reasons.extend(conds[name])
        return reasons

    def watch(self, zone: str) -> float | None:
        """Since when a zone's fall should show in its pressure, while that matters (a SHELTER condition
        pending, a provisional SHELTER, a veto): the engine then gives the zone's fall_check_pa_s."""
        if zone in self.vetoed:
            return self.vetoed[zone]
        if self.provisional:
            return self.provisional_onset
        times = [self.pending[n] for n in ("rapid", "reserve") if n in self.pending]
        return min(times) if times else None

    def due(self) -> float | None:
        """The next time the state may change with no new input: a pending condition persisting long
        enough to escalate, the timed SHELTERED, the end of a provisional SHELTER, the end of an announced
        depress not held depressed (the engine's evaluation at its end removes it, Shelter.depress_changes)."""
        level = LEVEL[self.state]
        held = self.held_until if self.held_until is not None else -math.inf   # a SHELTER waiting for a balance
        times = [max(t0 + self.p[CONDITIONS[n][1]], held if CONDITIONS[n][0] == 3 else -math.inf)
                 for n, t0 in self.pending.items() if CONDITIONS[n][0] > level]
        if self.state == SHELTER and self.p["sheltered_after_s"] > 0:
            times.append(self.since + self.p["sheltered_after_s"])
        if self.provisional:
            times.append(self.provisional_until)
        times.extend(d.until for d in self.depress.values() if d.held_since is None)   # decided again from then
        return min(times) if times else None

    # --- evaluation ---------------------------------------------------------------------------
    def evaluate(self, now: float, zones: list[ZoneFigures]) -> Transition | None:
        self.confirmed = []
        self._lift_vetoes(zones)
        hold = self._conditions(now, zones, self.p["hysteresis"])
        enter = self._conditions(now, zones, 1.0)
        self.cond_reasons = enter
        for name in CONDITIONS:
            if name in enter:
                self.pending.setdefault(name, now)
            else:
                self.pending.pop(name, None)
        persisted = {n for n, t0 in self.pending.items() if now >= t0 + self.p[CONDITIONS[n][1]]}
        persisted -= self._held(now, zones, persisted)
        target = max((CONDITIONS[n][0] for n in persisted), default=0)
        if hold:
            self.clear_since = None
        elif self.clear_since is None:
            self.clear_since = now
        state = self.state
        if self.provisional:
            tr = self._confirm(now, zones, persisted)
            if tr is not None:
                return tr
        if target > LEVEL[state] and state != SHELTERED:
            name = {1: MONITOR, 2: ISOLATE, 3: SHELTER}[target]
            reasons = self._level_reasons(target, {n: enter[n] for n in persisted})
            if target >= 2:
                reasons.append(self.rank_reason(now, zones))
            reasons.extend(self._safe_haven_warning(zones, enter))
            watch = self._unconfirmed(zones, persisted) if target == 3 else set()
            if watch:
                reasons.append(f"provisional for {fmt_s(self.p['rapid_confirm_s'])}: released if the pressure "
                               f"of {', '.join(sorted(watch))} stops falling (a pulse or step, not a hole)")
            onset = min((self.pending[n] for n in persisted if CONDITIONS[n][0] == 3), default=now)
            tr = self._go(now, name, reasons)
            if watch:
                self.provisional = watch
                self.provisional_onset = onset
                self.provisional_until = now + self.p["rapid_confirm_s"]
                self.provisional_from = state
            return tr
        if state == MONITOR and self._clear_for(now, self.p["clear_s"]):
            return self._go(now, NOMINAL, [f"no leak suspected for {fmt_s(self.p['clear_s'])}"])
        if state == SHELTER and 0 < self.p["sheltered_after_s"] and now >= self.since + self.p["sheltered_after_s"]:
            return self._go(now, SHELTERED, [
                f"crew assumed in safe haven {self.safe_haven} {fmt_s(self.p['sheltered_after_s'])} after SHELTER"
                " (policy shelter.sheltered_after_s)"])
        if state == ALL_CLEAR and self._clear_for(now, self.p["all_clear_hold_s"]) \
                and now - self.since >= self.p["all_clear_hold_s"]:
            return self._go(now, NOMINAL, [f"all clear held for {fmt_s(self.p['all_clear_hold_s'])}"])
        return None

    def _held(self, now: float, zones: list[ZoneFigures], persisted: set[str]) -> set[str]:
        """SHELTER conditions all of whose zones wait for their air balance (hold_until: another zone may
        be gaining the air they lose, its telemetry not in yet): not escalated before then."""
        waiting = {z.zone: z.hold_until for z in zones if z.hold_until is not None and now < z.hold_until}
        self.held_until = min(waiting.values()) if waiting else None
        return {n for n in persisted if CONDITIONS[n][0] == 3 and LEVEL[self.state] < 3
                and self.cond_zones.get(n) and self.cond_zones[n] <= waiting.keys()}

    def _lift_vetoes(self, zones: list[ZoneFigures]) -> None:
        """A veto lasts while the nodes still report the fall it was about, unless the pressure since the
        veto falls at the rapid rate: a hole after the pulse is never hidden."""
        rapid = self.p["rapid_rate_pa_s"]
        for z in zones:
            if z.zone not in self.vetoed:
                continue
            reported = z.rapid or (z.alarm_rate_pa_s is not None and z.alarm_rate_pa_s <= -rapid)
            if not reported or (z.fall_check_pa_s is not None and z.fall_check_pa_s <= -rapid):
                del self.vetoed[z.zone]

    def _unconfirmed(self, zones: list[ZoneFigures], persisted: set[str]) -> set[str]:
        """Zones behind a SHELTER whose pressure has not shown the fall yet; empty when any of them has
        (then SHELTER latches at once). A voted pressure at or below the minimum safe pressure is no pulse or
        step to wait for: it is the fall (an unannounced airlock read again at 30 kPa at its repress was
        released as 'not confirmed' and sheltered again every second, 50 times)."""
        limit = -self.p["rapid_rate_pa_s"] * self.p["hysteresis"]
        p_min = self.p["min_safe_pressure_pa"]
        names: set[str] = set()
        for n in persisted:
            if CONDITIONS[n][0] == 3:
                names |= self.cond_zones.get(n, set())
        for z in zones:
            if z.zone in names and ((z.fall_check_pa_s is not None and z.fall_check_pa_s <= limit)
                                    or (z.pressure_pa is not None and z.pressure_pa <= p_min)):
                return set()
        return names

    def _confirm(self, now: float, zones: list[ZoneFigures], persisted: set[str]) -> Transition | None:
        """A provisional SHELTER latches once the pressure of one of its zones confirms the fall (or
        rapid_confirm_s passes); it is released when the pressure of every one of them stopped falling
        after the fall was reported: a pulse or a step, not a hole."""
        if self.state != SHELTER:
            self.provisional = set()
            return None
        moved = {z.zone: z.equalising for z in zones if z.equalising}
        if self.provisional <= moved.keys():
            back = self.provisional_from if LEVEL[self.provisional_from] >= 1 else MONITOR
            into = "; ".join(f"{zone} into {', '.join(moved[zone])}" for zone in sorted(self.provisional))
            return self._go(now, back, [f"rapid depressurisation not confirmed: the air moved to another zone "
                                        f"({into}: equalising, ground/equalise.py), none lost. SHELTER released"])
        watch = self._unconfirmed(zones, persisted)
        if persisted & {"rapid", "reserve"} and not watch:
            self.confirmed = [self._confirmed_reason(now, zones)]
            self.provisional = set()  # the pressure confirms: SHELTER latches
            return None
        if now >= self.provisional_until:
            self.confirmed = [f"not contradicted by the pressure within {fmt_s(self.p['rapid_confirm_s'])}: "
                              f"SHELTER holds"]
            self.provisional = set()
            return None
        self.provisional |= watch
        limit = -self.p["rapid_rate_pa_s"] * self.p["hysteresis"]
        checks = {z.zone: z.fall_check_pa_s for z in zones if z.zone in self.provisional}
        if len(checks) < len(self.provisional) or any(c is None or c <= limit for c in checks.values()):
            return None
        zones_txt = ", ".join(f"{zone} {c:+.3g} Pa/s" for zone, c in sorted(checks.items()))
        self.vetoed.update((zone, now) for zone in self.provisional)
        back = self.provisional_from if LEVEL[self.provisional_from] >= 1 else MONITOR
        return self._go(now, back, [
            f"rapid depressurisation not confirmed: since it was reported the pressure shows no fall "
            f"({zones_txt}; a hole would be below {limit:+.3g} Pa/s): a pulse or step (hatch, valve), not a "
            f"hole. SHELTER released; the reported fall of these zones is ignored until it ends or the "
            f"pressure itself falls"])

    def _confirmed_reason(self, now: float, zones: list[ZoneFigures]) -> str:
        limit = -self.p["rapid_rate_pa_s"] * self.p["hysteresis"]
        parts = []
        for z in ranked(zones):
            if z.fall_check_pa_s is not None and z.fall_check_pa_s <= limit and self.announced(z, now) is None:
                parts.append(f"{z.zone} falling {z.fall_check_pa_s:+.4g} Pa/s since it was reported, reserve "
                             f"{fmt_reserve(z.reserve_s(self.p['min_safe_pressure_pa']), z.alarm_rate_pa_s)}")
        return "rapid depressurisation confirmed by the pressure: " + "; ".join(parts) + ". SHELTER holds"

    def _safe_haven_warning(self, zones: list[ZoneFigures], conds: dict[str, list[str]]) -> list[str]:
        text = " ".join(r for rs in conds.values() for r in rs)
        if f"zone {self.safe_haven}:" in text:
            return [f"WARNING: the safe haven {self.safe_haven} itself is losing pressure"]
        return []

    def _clear_for(self, now: float, seconds: float) -> bool:
        return self.clear_since is not None and now - self.clear_since >= seconds

    def _go(self, now: float, state: str, reasons: list[str]) -> Transition:
        tr = Transition(now, state, self.state, reasons)
        self.provisional = set()
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
