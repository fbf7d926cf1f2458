"""Redundancy voting per zone and per quantity (see docs/voting.md for the reasoning and the figures).

A ZoneVoter keeps the latest sample of each node in one zone and, at each evaluation, decides which
nodes are healthy for each quantity, aligns their offsets, votes the value (mid-value select) and
counts the nodes' detector states. Pure: the only notion of time is the `now` passed in.
"""
from __future__ import annotations

import math
from typing import Any

from safehaven.ground.policy import QUANTITIES, Policy
from safehaven.ground.series import PressureSeries, Slope
from safehaven.protocol.messages import (EV_LEAK_DETECTED, EV_RAPID, EV_SENSOR_FAULT, EV_TRANSIENT, FAULT, LEAK, RAPID,
                                         ST_BMP_FAULT, ST_BMP_STALE, ST_OUT_OF_RANGE, ST_SCD_FAULT, ST_SCD_STALE,
                                         ST_TRANSIENT, SUSPECT, TRANSIENT_MAX_S)

# Status bits that make a node's pressure/temperature or CO2 untrustworthy.
_BMP_BITS = ST_BMP_FAULT | ST_BMP_STALE | ST_OUT_OF_RANGE
_SCD_BITS = ST_SCD_FAULT | ST_SCD_STALE
ALARM_EVENTS = (EV_RAPID, EV_LEAK_DETECTED)
SERIES_MAX_RMS = 4.0     # a series scattered beyond this many (noise + jitter) about its line: no check
FALL_CHECK_MIN_S = 1.5   # pressure points after a RAPID report needed to judge whether the fall goes on
FALL_SETTLE_S = 1.5      # and skipped after it: a hatch's or valve's fall (<= ~2 s, reported ~0.7 s in) is over

# Not aligned at start-up, only learnt while the nodes agree (_learn_offsets): an SCD4x's first readings are
# its start transient, each part's at its own stage (they begin seconds apart), not the part's offset
LEARNT_ONLY = ("co2_ppm",)
# the detector states that call a fall at each alarm level above MONITOR (ZoneVoter._backed_rates)
BACKING = {"leak": (LEAK, RAPID), "rapid": (RAPID,)}
PRESSURE_SIDE = ("pressure_pa", "rate_pa_s", "temperature_c")


def median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    mid = n // 2
    return s[mid] if n % 2 else 0.5 * (s[mid - 1] + s[mid])


# A node's pulse hold lasts until the recovery settles, at most TRANSIENT_MAX_S (docs/detection.md): for
# that long its ST_TRANSIENT pauses the check of its rate against its pressure series (not its vote,
# which honours a transient only for transient_hold_s).
NODE_RATE_SIGMAS = 5.0   # a node reports a rate once it is this many standard errors of its rung out

class Track:
    """One node's view of one quantity."""

    __slots__ = ("value", "t", "changed_value", "changed_t", "offset", "aligned", "unaligned_since",
                 "score", "score_t", "was_off", "agree_since", "isolated")

    def __init__(self) -> None:
        self.value = 0.0          # meaningful once t > -inf
        self.t = -math.inf
        self.changed_value: float | None = None
        self.changed_t = -math.inf
        self.offset = 0.0
        self.aligned = False
        self.unaligned_since: float | None = None  # beyond max_offset of the zone since (ZoneVoter._align)
        self.score = 0.0          # seconds of disagreement, leaking away at half speed while agreeing
        self.score_t: float | None = None
        self.was_off = False
        self.agree_since: float | None = None
        self.isolated = False

    def update(self, value: float, t: float, eps: float) -> None:
        self.value = value
        self.t = t
        if self.changed_value is None or abs(value - self.changed_value) > eps:
            self.changed_value = value
            self.changed_t = t


class NodeState:
    __slots__ = ("node_id", "last_seen", "state", "status", "density", "erratic", "tracks", "series",
                 "series_slope", "rate_used", "rate_off", "rate_off_since", "rate_on_since", "transient_t",
                 "transient_since", "transient_overridden", "transient_falling")

    def __init__(self, node_id: int) -> None:
        self.node_id = node_id
        self.last_seen = -math.inf
        self.state = 0
        self.status = 0
        self.density = 0.0
        self.erratic = False
        self.tracks = {q: Track() for q in QUANTITIES}
        self.series = PressureSeries()          # its compensated pressure over its own clock
        self.series_slope: Slope | None = None  # the ground's own rate for it (ground/series.py)
        self.rate_used = 0.0                    # the rate it votes with: reported, or the series when flagged
        self.rate_off = False                   # reported rate disagrees with its pressure series (flagged)
        self.rate_off_since: float | None = None
        self.rate_on_since: float | None = None
        self.transient_t: float | None = None   # arrival of its last EV_TRANSIENT
        self.transient_since: float | None = None
        self.transient_overridden = False       # a RAPID/LEAK event after the transient began
        self.transient_falling = False          # its pressure since the transient began falls at the rapid rate


class QuantityVote:
    """value: the voted value (None without data); alarm_value: the value alarms use (the less alarming
    of two disagreeing nodes); status: voted | agree | disagree | unverified | none."""

    __slots__ = ("value", "alarm_value", "n", "status", "voters")

    def __init__(self, value: float | None, alarm_value: float | None, n: int, status: str, voters: list[int]):
        self.value = value
        self.alarm_value = alarm_value
        self.n = n
        self.status = status
        self.voters = voters

    def to_dict(self) -> dict:
        return {"value": self.value, "n": self.n, "status": self.status, "voters": self.voters}


class ZoneVote:
    def __init__(self, zone: str) -> None:
        self.zone = zone
        self.q: dict[str, QuantityVote] = {}
        self.health: dict[int, dict[str, str]] = {}
        self.state_voters = 0
        self.suspect_votes = 0
        self.leak_votes = 0
        self.rapid_votes = 0
        self.transient: set[int] = set()       # nodes inside a reported transient (voting at most SUSPECT)
        self.series_rate: float | None = None  # median of the nodes' pressure-series slopes
        self.backed: dict[str, float | None] = {"leak": None, "rapid": None}  # alarm rates with evidence
        self.events: list[tuple[str, int, str, str]] = []  # (event, node, quantity, reason)
        self.known = 0                         # nodes heard in the zone (in the vote or not)
        self.out: dict[int, str] = {}          # nodes out of the pressure vote -> why (stale, fault, ...)
        self.lone = False                      # one node left in the vote of a zone that had more

    def missing(self) -> str:
        """The nodes out of the vote, for the reasons: 'node 2 stale, node 3 fault' ('' when none)."""
        return ", ".join(f"node {nid} {why}" for nid, why in sorted(self.out.items()))

    def majority(self, votes: int) -> bool:
        return self.state_voters > 0 and 2 * votes > self.state_voters


def _deviation(q: str, value: float, median_value: float) -> float:
    """A node's value off the zone's median, for isolation; of a rate only the fall counts (a rise loses no
    air: nodes that follow a repress differently are not isolated for it)."""
    if q == "rate_pa_s":
        return min(value, 0.0) - min(median_value, 0.0)
    return value - median_value


def _fall_discrepancy(rate: float, series: Slope | None, miss: Slope, gamma: float, agree_rel: float,
                      floor: float) -> tuple:
    """(what the reported rates miss of the fall, its tolerance). Over the window the pressure moved at the
    series rate (else at the latest rate + miss), the rates said that less miss (miss: the slope of the
    pressure less the rates' integral). Only the fall matters for safety: a repress the rates follow late,
    or a rise they report that the pressure does not show, loses no air (but a rise reported over a
    falling pressure hides that fall). The tolerance holds both sides' uncertainty: the discrepancy's
    standard error over its window (white noise and slow wiggles, ground/series.py) and the node's rung,
    whose rate is NODE_RATE_SIGMAS standard errors out when it reports one; plus agree_rel of the
    pressure's rate and a floor (the tempco's residue)."""
    moved = series.slope_pa_s if series is not None else rate + miss.slope_pa_s
    off = min(moved, 0.0) - min(moved - miss.slope_pa_s, 0.0)
    sigma = math.hypot(miss.sigma_pa_s, rate / NODE_RATE_SIGMAS)
    return off, gamma * sigma + agree_rel * abs(rate + miss.slope_pa_s) + floor


def _alarm_value(values: list[float], tol: float) -> float | None:
    """The value alarms use, as the vote takes it: the median of 3+, of 2 the mean when they agree and
    else the calmer (one node cannot cause an alarm), 1 unverified."""
    if len(values) >= 3:
        return median(values)
    if len(values) == 2:
        a, b = values
        return 0.5 * (a + b) if abs(a - b) <= tol else (a if abs(a) <= abs(b) else b)
    return values[0] if values else None


class ZoneVoter:
    def __init__(self, zone: str, policy: Policy) -> None:
        self.zone = zone
        self.v = policy.voting
        self.rapid_rate = policy.shelter["rapid_rate_pa_s"]
        self.nodes: dict[int, NodeState] = {}
        self.group: dict[str, int] = {}  # per quantity: nodes aligned together at startup (3 = settled)
        self._eps = tuple((q, self.v[q]["stuck_eps"]) for q in QUANTITIES)

    # --- inputs -------------------------------------------------------------------------------
    def node(self, node_id: int) -> NodeState:
        ns = self.nodes.get(node_id)
        if ns is None:
            ns = self.nodes[node_id] = NodeState(node_id)
        return ns

    def sample(self, node_id: int, t: float, fields: dict[str, Any], t_node: float | None = None) -> None:
        """A telemetry sample that arrived at t (ground clock), taken at t_node (the node's uptime, s).
        The hot path: kept lean."""
        ns = self.nodes.get(node_id) or self.node(node_id)
        ns.last_seen = t
        was = ns.state
        ns.state = fields.get("state", 0) or 0
        ns.status = fields.get("status", 0) or 0
        if ns.state == RAPID and was != RAPID:
            ns.series.break_here()  # a rapid fall's series starts at it: no pre-onset level in its fit
        if not ns.status & ST_TRANSIENT:
            ns.transient_overridden = False
        elif ns.state in (RAPID, LEAK):
            # the node called the fall RAPID/LEAK: as its event would say, had the link not lost it
            # (red team: a 3 s outage at a hole's onset delayed SHELTER from +1.3 s to +9.5 s)
            ns.transient_overridden = True
        p = fields.get("pressure_pa")
        if t_node is not None and p and p == p:
            # the SCD4x's RH gives the water vapour's share of the pressure (ground/series.py), unless
            # the node says its SCD4x is faulty or stale (0: no reading, the vapour unknown)
            rh = 0.0 if ns.status & _SCD_BITS else (fields.get("rh_pct") or 0.0)
            ns.series.add(t_node, t, p, fields.get("temperature_c"), fields.get("rate_pa_s"), rh)
        if ns.density:
            ns.density = max(0.0, ns.density - 1.0)  # PX4 style: one good sample pays back one unit
        tracks = ns.tracks
        for q, eps in self._eps:
            value = fields.get(q)
            if value is None or value != value or (not value and q == "co2_ppm"):
                continue  # missing, NaN, or an SCD4x's 0 ppm before its first measurement: no reading
            tr = tracks[q]
            tr.value = value
            tr.t = t
            cv = tr.changed_value
            if cv is None or abs(value - cv) > eps:
                tr.changed_value = value
                tr.changed_t = t

    def event(self, node_id: int, t: float, fields: dict[str, Any], t_node: float | None = None) -> None:
        """A node event that arrived at t: its detector state, pressure and (for RAPID and LEAK) rate
        count at once, without waiting for the next telemetry."""
        ns = self.nodes.get(node_id) or self.node(node_id)
        code = fields.get("event")
        ns.last_seen = t
        if "state" in fields:
            was = ns.state
            ns.state = fields.get("state") or 0
            if ns.state == RAPID and was != RAPID:
                ns.series.break_here()
        if code == EV_TRANSIENT:
            ns.transient_t = t
            ns.transient_overridden = False
        rate = None
        if code in ALARM_EVENTS:
            ns.transient_t = None
            ns.transient_overridden = True  # the node saw the fall go on: no longer a transient
            rate = fields.get("rate_pa_s")
            if rate is not None and rate == rate:
                ns.tracks["rate_pa_s"].update(rate, t, 0.0)
            else:
                rate = None
        p = fields.get("pressure_pa")
        if p and p == p and code != EV_SENSOR_FAULT:  # a failing sensor's last value is no sample
            ns.tracks["pressure_pa"].update(p, t, self.v["pressure_pa"]["stuck_eps"])
            if t_node is not None:
                ns.series.add(t_node, t, p, None, rate)

    def errors(self, node_id: int, count: int) -> None:
        """Errors attributed to a node: its own counters going up, CRC/auth failures on its link."""
        if count > 0:
            ns = self.node(node_id)
            ns.density = min(100.0, ns.density + count * self.v["error_density_step"])

    def remove(self, node_id: int) -> None:
        self.nodes.pop(node_id, None)

    # --- evaluation ---------------------------------------------------------------------------
    def _node_reason(self, ns: NodeState, now: float) -> str:
        if now - ns.last_seen > self.v["stale_s"]:
            return "stale"
        limit = self.v["error_density_limit"]
        if ns.density > limit:
            ns.erratic = True
        elif ns.density < 0.5 * limit:
            ns.erratic = False  # hysteresis: back only once the density has halved
        return "errors" if ns.erratic else ""

    def _quantity_reason(self, ns: NodeState, q: str, now: float) -> str:
        spec = self.v[q]
        if q in PRESSURE_SIDE and (ns.state == FAULT or ns.status & _BMP_BITS):
            return "fault"
        if q == "co2_ppm" and ns.status & _SCD_BITS:
            return "fault"
        tr = ns.tracks[q]
        if now - tr.t > self.v["stale_s"]:  # never sampled (t = -inf) or not lately
            return "no data"
        if not spec["min"] <= tr.value <= spec["max"]:
            return "range"
        if spec["stuck_s"] > 0 and now - tr.changed_t >= spec["stuck_s"] and self._others_moving(ns, q, now):
            return "stuck"
        return ""

    def _others_moving(self, ns: NodeState, q: str, now: float) -> bool:
        """Stuck only counts when most of the other (fresh, not isolated) nodes moved meanwhile: a quiet
        zone is not a fault, and one wild node cannot make the good ones look stuck."""
        half = 0.5 * self.v[q]["stuck_s"]
        others = moving = 0
        for other in self.nodes.values():
            tr = other.tracks[q]
            if other is ns or tr.isolated or now - other.last_seen > self.v["stale_s"]:
                continue
            others += 1
            if now - tr.changed_t < half:
                moving += 1
        return 2 * moving > others

    def vote(self, now: float, rate_hint: float = 0.0) -> ZoneVote:
        out = ZoneVote(self.zone)
        node_reason = {nid: self._node_reason(ns, now) for nid, ns in self.nodes.items()}
        for nid, ns in self.nodes.items():
            out.health[nid] = {}
            if self._in_transient(ns, now):
                out.transient.add(nid)
            if ns.transient_since is not None and now - ns.transient_since <= TRANSIENT_MAX_S \
                    and not ns.transient_falling:
                # a pulse recovering or a step is no line, and the node withholds its rate meanwhile
                # (no air lost): its rate is checked again on the pressure that comes after. Not while
                # its pressure keeps falling at the rapid rate: a depressurisation is checked throughout
                ns.series.break_here()
            self._rate_check(ns, now, out)
        for q in QUANTITIES:
            out.q[q] = self._vote_quantity(q, now, node_reason, out, rate_hint)
            if q == "pressure_pa":
                rate_hint = 0.0  # the rate vote itself uses the plain tolerance
                out.known = len(self.nodes)
                out.out = {nid: h["pressure_pa"] for nid, h in out.health.items() if h.get("pressure_pa") != "ok"}
                out.lone = out.known >= 2 and out.known - len(out.out) == 1
        self._vote_states(out)
        self._series_figures(out)
        return out

    def _in_transient(self, ns: NodeState, now: float) -> bool:
        """The node says a pressure step or pulse is under way (EV_TRANSIENT, ST_TRANSIENT): honoured for
        at most transient_hold_s, and not after the node itself called the fall RAPID or LEAK."""
        hold = self.v["transient_hold_s"]
        flagged = not ns.transient_overridden and (
            bool(ns.status & ST_TRANSIENT) or (ns.transient_t is not None and now - ns.transient_t <= hold))
        if not flagged:
            ns.transient_since = None
            ns.transient_falling = False
            return False
        if ns.transient_since is None:
            ns.transient_since = now if ns.transient_t is None else min(now, ns.transient_t)
        # a hole behind the step: the pressure that arrived since keeps falling at an emergency rate
        s = ns.series.since(ns.transient_since, self.v["series_noise_pa"])
        ns.transient_falling = s is not None and s.span_s >= FALL_CHECK_MIN_S and s.slope_pa_s <= -self.rapid_rate
        return now - ns.transient_since <= hold and not ns.transient_falling

    def _rate_check(self, ns: NodeState, now: float, out: ZoneVote) -> None:
        """The reported rate against the node's own pressures (ground/series.py): when the fall the
        pressure shows differs from the fall the reported rates give, beyond both sides' uncertainty, for
        series_hold_s, the node is flagged and votes with its series rate, until it agrees again as long.
        A rise either side misses loses no air and is no health signal. A rate of exactly 0 while the node
        itself reports LEAK or RAPID (its rate not in yet) is replaced by its series rate at once."""
        v = self.v
        noise, gamma, jitter = v["series_noise_pa"], v["series_gamma"], v["series_jitter_pa"]
        s = ns.series.slope(noise, gamma, jitter)
        miss = ns.series.discrepancy(noise, gamma, jitter)
        tr = ns.tracks["rate_pa_s"]
        leaking = ns.state in (LEAK, RAPID)
        if s is not None and leaking and tr.value == 0.0:
            ns.series_slope = s  # the node calls a leak but has no rate yet: its series is all there is
            ns.rate_used = s.slope_pa_s
            return
        if s is not None and s.rms_pa > SERIES_MAX_RMS * (noise + jitter):
            s = miss = None  # points far off any line (a step, a flapping sensor): nothing to check with
        ns.series_slope = s
        if miss is None or now - tr.t > v["stale_s"]:
            ns.rate_used = tr.value
            return
        off, tol = _fall_discrepancy(tr.value, s, miss, gamma, v["rate_pa_s"]["agree_rel"], v["series_floor_pa_s"])
        hold = v["series_hold_s"]
        if abs(off) > tol:
            ns.rate_on_since = None
            if ns.rate_off_since is None:
                ns.rate_off_since = now
            # a discrepancy k times the tolerance needs 1/k of the hold (at least 1 s): a rate that lags a
            # depressurisation by tens of Pa/s is replaced within seconds, a marginal one only if it stays
            if not ns.rate_off and now - ns.rate_off_since >= max(1.0, hold * tol / abs(off)):
                ns.rate_off = True
                out.events.append(("node_health", ns.node_id, "rate_pa_s",
                                   f"rate_pa_s reported {tr.value:+.4g} Pa/s, but its pressure series moved "
                                   f"{miss.slope_pa_s:+.4g} ± {miss.sigma_pa_s:.2g} Pa/s from what its rates "
                                   f"predict (over {miss.span_s:.0f} s): voting with its "
                                   f"series rate {s.slope_pa_s if s is not None else float('nan'):+.4g} Pa/s"))
        else:
            ns.rate_off_since = None
            if ns.rate_on_since is None:
                ns.rate_on_since = now
            if ns.rate_off and now - ns.rate_on_since >= hold:
                ns.rate_off = False
                out.events.append(("node_health", ns.node_id, "rate_pa_s",
                                   "rate_pa_s agrees with its pressure series again: voting with the reported rate"))
        if s is not None and ns.rate_off and (leaking or s.slope_pa_s >= tr.value):
            ns.rate_used = s.slope_pa_s  # never a fall the node itself does not call a leak
        else:
            ns.rate_used = tr.value

    def _series_figures(self, out: ZoneVote) -> None:
        """The zone's series rate: the median of its pressure-healthy nodes' own slopes."""
        slopes = [ns.series_slope.slope_pa_s for nid, ns in self.nodes.items()
                  if ns.series_slope is not None and out.health[nid].get("pressure_pa") == "ok"]
        out.series_rate = median(slopes) if slopes else None

    def fall_since(self, t: float, out: ZoneVote) -> float | None:
        """Median slope of the pressure that arrived after t (ground time) on the pressure-healthy nodes,
        once they span FALL_CHECK_MIN_S: does a fall reported at t go on (a hole) or stop (a pulse)?"""
        slopes = []
        for nid, ns in self.nodes.items():
            if out.health[nid].get("pressure_pa") != "ok":
                continue
            s = ns.series.since(t, self.v["series_noise_pa"])
            if s is not None and s.span_s >= FALL_CHECK_MIN_S:
                slopes.append(s.slope_pa_s)
        if slopes and (len(slopes) >= 2 or out.state_voters <= 1):
            return median(slopes)
        return None

    def _vote_quantity(self, q: str, now: float, node_reason: dict[int, str], out: ZoneVote,
                       rate_hint: float) -> QuantityVote:
        spec = self.v[q]
        cands: list[NodeState] = []
        isolated: list[NodeState] = []
        for nid, ns in self.nodes.items():
            reason = node_reason[nid]
            if not reason and q == "rate_pa_s" and out.health[nid]["pressure_pa"] != "ok":
                reason = out.health[nid]["pressure_pa"]  # the rate follows the pressure it is computed from
            if not reason:
                reason = self._quantity_reason(ns, q, now)
            if not reason and ns.tracks[q].isolated:
                isolated.append(ns)
                reason = "isolated"
            out.health[nid][q] = reason or "ok"
            if not reason:
                cands.append(ns)
            else:
                ns.tracks[q].unaligned_since = None   # its alignment is tried afresh when it is back
        self._align(q, cands, out, now)
        cands = [ns for ns in cands if ns.tracks[q].aligned]
        if not cands:
            for ns in isolated:
                ns.tracks[q].agree_since = None
            return QuantityVote(None, None, 0, "none", [])
        aligned = {ns.node_id: ns.tracks[q].value - ns.tracks[q].offset for ns in cands}
        m = median(list(aligned.values()))
        tol = spec["agree_abs"] + spec["agree_rel"] * abs(m)
        if q == "pressure_pa":
            ages = [now - ns.tracks[q].t for ns in cands]
            tol += abs(rate_hint) * (max(ages) - min(ages))  # samples taken at different moments
        if len(cands) >= 3:
            good = self._check_disagreement(q, cands, aligned, m, tol, now, out)
        else:
            good = cands
            for ns in cands:
                self._agreed(ns.tracks[q], now)
        self._check_readmission(q, isolated, m, tol, now, out)
        voters = sorted(ns.node_id for ns in good)
        if q == "rate_pa_s":
            # nodes disagree (and are isolated) on what they report; the vote takes each node's rate as
            # checked against its own pressure series
            aligned = {ns.node_id: ns.rate_used for ns in good}
        values = [aligned[ns.node_id] for ns in good]
        if q == "rate_pa_s":
            self._backed_rates(good, tol, out)
        if q == "rate_pa_s" and out.transient & set(voters):
            return self._transient_rate(good, values, voters, out)
        if len(good) >= 3:
            value = median(values)
            self._learn_offsets(q, good, aligned, value, tol)
            return QuantityVote(value, value, len(good), "voted", voters)
        if len(good) == 2:
            a, b = values
            value = 0.5 * (a + b)
            if abs(a - b) <= tol:
                self._learn_offsets(q, good, aligned, value, tol)
                return QuantityVote(value, value, 2, "agree", voters)
            calm = a if abs(a) <= abs(b) else b  # alarms need both: one node cannot cause an alarm
            return QuantityVote(value, calm, 2, "disagree", voters)
        value = values[0]
        return QuantityVote(value, value, 1, "unverified", voters)

    def _backed_rates(self, good: list[NodeState], tol: float, out: ZoneVote) -> None:
        """The rates that may move the ground above MONITOR (docs/shelter.md, "Evidence"): a node's fall
        counts at a level only when its own detector calls it there (LEAK or RAPID for a leak, RAPID for
        a rapid depressurisation), or as far as its pressure series shows it: the least fall its adaptive
        window's confidence interval holds. A NOMINAL node whose rate follows a fan (a few Pa over tens of
        seconds: that window's interval holds no fall) gives none; a transient node's fall is none."""
        gamma = self.v["series_gamma"]
        for level, states in BACKING.items():
            if out.lone:
                states = ()   # the last node in the vote: its fall counts as far as its pressure shows it
            rates = []
            for ns in good:
                rate = ns.rate_used
                if ns.node_id in out.transient:
                    rate = max(rate, 0.0)
                elif rate < 0.0 and ns.state not in states:
                    rate = max(rate, self._pressure_fall(ns, gamma))
                rates.append(rate)
            out.backed[level] = _alarm_value(rates, tol)

    def _pressure_fall(self, ns: NodeState, gamma: float) -> float:
        """The least fall (<= 0) a node's own pressure shows: its series rate's confidence bound, or while
        a transient it flags broke the series (a hole behind a step), the fit since the transient began."""
        s = ns.series_slope
        if s is None and ns.transient_since is not None:
            s = ns.series.since(ns.transient_since, self.v["series_noise_pa"], self.v["series_jitter_pa"])
        return 0.0 if s is None else min(0.0, s.slope_pa_s + gamma * s.sigma_pa_s)

    @staticmethod
    def _transient_rate(good, values, voters, out) -> QuantityVote:
        """Rates while some nodes report a transient: shown as voted, but for alarms a transient node's
        fall counts as no fall (it can neither cause an alarm nor, outvoted, mask a real one)."""
        calm = [max(v, 0.0) if ns.node_id in out.transient else v for ns, v in zip(good, values)]
        if len(good) >= 3:
            return QuantityVote(median(values), median(calm), len(good), "voted", voters)
        if len(good) == 2:
            alarm = calm[0] if abs(calm[0]) <= abs(calm[1]) else calm[1]
            return QuantityVote(0.5 * (values[0] + values[1]), alarm, 2, "agree", voters)
        return QuantityVote(values[0], calm[0], 1, "unverified", voters)

    def _align(self, q: str, cands: list[NodeState], out: ZoneVote, now: float) -> None:
        """Offset alignment (PX4 style startup calibration): offsets relative to the zone median, bounded
        by the sensors' absolute accuracy. Until three nodes have been aligned together the alignment is
        provisional and redone as nodes appear. A node beyond the bound stays out of the vote ("aligning")
        and is tried again at each evaluation, against the aligned nodes, or when none is aligned (a round
        of two that failed for both) in a new round on their values then; it is reported "unaligned" once
        it stayed beyond for isolate_after_s, as a disagreement must last to isolate. One sample is no
        offset: a ground that has never heard a node takes a signed frame of its earlier boot (an
        attacker's copy, 6 kPa off) as the node's, and that round once left both genuine nodes of a zone
        out of its vote for good (tests/test_voting_align.py)."""
        max_off = self.v[q]["max_offset"]
        if max_off <= 0 or q in LEARNT_ONLY:
            for ns in cands:
                ns.tracks[q].aligned = True
            return
        group = self.group.get(q, 0)
        if group < 3 and len(cands) > group:
            m = median([ns.tracks[q].value for ns in cands])
            self.group[q] = len(cands)
            for ns in cands:
                ns.tracks[q].aligned = False
            pending = cands
        else:
            pending = [ns for ns in cands if not ns.tracks[q].aligned]
            if not pending:
                return
            ref = [ns.tracks[q].value - ns.tracks[q].offset for ns in cands if ns.tracks[q].aligned]
            m = median(ref if ref else [ns.tracks[q].value for ns in pending])
        hold = self.v["isolate_after_s"]
        for ns in pending:
            tr = ns.tracks[q]
            off = tr.value - m
            if abs(off) <= max_off:
                tr.offset = off
                tr.aligned = True
                tr.unaligned_since = None
                continue
            if tr.unaligned_since is None:
                tr.unaligned_since = now
            out.health[ns.node_id][q] = "unaligned" if now - tr.unaligned_since >= hold else "aligning"

    @staticmethod
    def _agreed(tr: Track, now: float) -> None:
        if tr.score and tr.score_t is not None:
            tr.score = max(0.0, tr.score - 0.5 * (now - tr.score_t))
        tr.score_t = now
        tr.was_off = False

    def _check_disagreement(self, q, cands, aligned, m, tol, now, out) -> list[NodeState]:
        """Disagreement accumulates (and leaks away at half speed while agreeing): a node off for
        isolate_after_s in a row is isolated, and so, a little later, is one that flaps."""
        good = []
        for ns in cands:
            tr = ns.tracks[q]
            off = _deviation(q, aligned[ns.node_id], m)
            if abs(off) <= tol:
                self._agreed(tr, now)
                good.append(ns)
                continue
            out.health[ns.node_id][q] = "disagree"
            if q == "rate_pa_s" and off > 0 and self._falls_with_zone(ns, cands, tol):
                continue   # calls less fall than the others while its own pressure falls as theirs: a later detector
            if tr.was_off and tr.score_t is not None:
                tr.score += now - tr.score_t
            tr.score_t = now
            tr.was_off = True
            if tr.score >= self.v["isolate_after_s"]:
                tr.isolated = True
                tr.score = 0.0
                tr.was_off = False
                tr.agree_since = None
                out.health[ns.node_id][q] = "isolated"
                out.events.append(("isolated", ns.node_id, q,
                                   f"{q} off the zone median by {off:+.4g} (tolerance {tol:.4g});"
                                   f" {self.v['isolate_after_s']:g} s of disagreement"))
        return good

    def _falls_with_zone(self, ns: NodeState, cands: list[NodeState], tol: float) -> bool:
        """A node whose rate says less fall than the zone's while its own pressure series falls as the
        other nodes' series do (the median of theirs, within tol and its confidence interval) is not off:
        its sensor sees what theirs see, its detector has not called the leak yet (red team: a good node
        still NOMINAL, rate 0, isolated as the zone went ISOLATE, tests/test_redteam_late_node.py). One
        that hides a fall its pressure shows votes with its series rate instead (_rate_check)."""
        s = ns.series_slope
        others = [o.series_slope.slope_pa_s for o in cands if o is not ns and o.series_slope is not None]
        return s is not None and bool(others) and \
            _deviation("rate_pa_s", s.slope_pa_s, median(others)) <= tol + self.v["series_gamma"] * s.sigma_pa_s

    def _check_readmission(self, q, isolated, m, tol, now, out) -> None:
        for ns in isolated:
            tr = ns.tracks[q]
            if abs(_deviation(q, tr.value - tr.offset, m)) > tol:
                tr.agree_since = None
                continue
            if tr.agree_since is None:
                tr.agree_since = now
            elif now - tr.agree_since >= self.v["readmit_after_s"]:
                tr.isolated = False
                tr.agree_since = None
                out.health[ns.node_id][q] = "ok"
                out.events.append(("readmitted", ns.node_id, q,
                                   f"{q} agreed with the zone for {self.v['readmit_after_s']:g} s"))

    def _learn_offsets(self, q, good, aligned, m, tol) -> None:
        """Track slow drift while all agree; a jump (beyond tolerance) is never learnt."""
        alpha = self.v["align_alpha"]
        max_off = self.v[q]["max_offset"]
        if alpha <= 0 or max_off <= 0:
            return
        for ns in good:
            tr = ns.tracks[q]
            off = tr.offset + alpha * (aligned[ns.node_id] - m)
            tr.offset = max(-max_off, min(max_off, off))

    def _vote_states(self, out: ZoneVote) -> None:
        """Detector states count from nodes healthy for pressure (the quantity they detect on)."""
        for nid, ns in self.nodes.items():
            if out.health[nid].get("pressure_pa") != "ok":
                continue
            out.state_voters += 1
            state = min(ns.state, SUSPECT) if nid in out.transient else ns.state  # a transient: at most SUSPECT
            if out.lone and state == RAPID and self._pressure_fall(ns, self.v["series_gamma"]) > -self.rapid_rate:
                # the last node in a zone's vote (the others silent, faulty or isolated): its RAPID alone
                # would evacuate the crew on one node's word; it counts once its own pressure shows the fall
                # at the rapid rate (a hole does within seconds), and meanwhile as SUSPECT
                state = SUSPECT
            if state in (SUSPECT, LEAK, RAPID):
                out.suspect_votes += 1
            if state in (LEAK, RAPID):
                out.leak_votes += 1
            if state == RAPID:
                out.rapid_votes += 1
