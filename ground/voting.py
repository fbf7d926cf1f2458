"""Redundancy voting per zone and per quantity (see docs/voting.md for the reasoning and the figures).

A ZoneVoter keeps the latest sample of each node in one zone and, at each evaluation, decides which
nodes are healthy for each quantity, aligns their offsets, votes the value (mid-value select) and
counts the nodes' detector states. Pure: the only notion of time is the `now` passed in.
"""
from __future__ import annotations

import math
from typing import Any

from safehaven.ground.policy import QUANTITIES, Policy

# Detector states on the wire (protocol/messages.py): NOMINAL 0, SUSPECT 1, LEAK 2, RAPID 3, FAULT 4.
SUSPECT, LEAK, RAPID, FAULT = 1, 2, 3, 4

# Status bits that make a node's pressure/temperature or CO2 untrustworthy (names from protocol/messages.py).
try:
    from safehaven.protocol import messages as _m
    _BMP_BITS = 0
    for _name in ("ST_BMP_FAULT", "ST_BMP_STALE", "ST_OUT_OF_RANGE"):
        _BMP_BITS |= int(getattr(_m, _name, 0) or 0)
    _SCD_BITS = 0
    for _name in ("ST_SCD_FAULT", "ST_SCD_STALE"):
        _SCD_BITS |= int(getattr(_m, _name, 0) or 0)
except ImportError:  # protocol not available: rely on the detector state alone
    _BMP_BITS = _SCD_BITS = 0

PRESSURE_SIDE = ("pressure_pa", "rate_pa_s", "temperature_c")


def median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    mid = n // 2
    return s[mid] if n % 2 else 0.5 * (s[mid - 1] + s[mid])


class Track:
    """One node's view of one quantity."""

    __slots__ = ("value", "t", "changed_value", "changed_t", "offset", "aligned",
                 "score", "score_t", "was_off", "agree_since", "isolated")

    def __init__(self) -> None:
        self.value = 0.0          # meaningful once t > -inf
        self.t = -math.inf
        self.changed_value: float | None = None
        self.changed_t = -math.inf
        self.offset = 0.0
        self.aligned = False
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
    __slots__ = ("node_id", "last_seen", "state", "status", "density", "erratic", "tracks")

    def __init__(self, node_id: int) -> None:
        self.node_id = node_id
        self.last_seen = -math.inf
        self.state = 0
        self.status = 0
        self.density = 0.0
        self.erratic = False
        self.tracks = {q: Track() for q in QUANTITIES}


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
        self.events: list[tuple[str, int, str, str]] = []  # (event, node, quantity, reason)

    def majority(self, votes: int) -> bool:
        return self.state_voters > 0 and 2 * votes > self.state_voters


class ZoneVoter:
    def __init__(self, zone: str, policy: Policy) -> None:
        self.zone = zone
        self.v = policy.voting
        self.nodes: dict[int, NodeState] = {}
        self.group: dict[str, int] = {}  # per quantity: nodes aligned together at startup (3 = settled)
        self._eps = tuple((q, self.v[q]["stuck_eps"]) for q in QUANTITIES)

    # --- inputs -------------------------------------------------------------------------------
    def node(self, node_id: int) -> NodeState:
        ns = self.nodes.get(node_id)
        if ns is None:
            ns = self.nodes[node_id] = NodeState(node_id)
        return ns

    def sample(self, node_id: int, t: float, fields: dict[str, Any]) -> None:
        """A telemetry sample that arrived at t (ground clock). The hot path: kept lean."""
        ns = self.nodes.get(node_id) or self.node(node_id)
        ns.last_seen = t
        ns.state = fields.get("state", 0) or 0
        ns.status = fields.get("status", 0) or 0
        if ns.density:
            ns.density = max(0.0, ns.density - 1.0)  # PX4 style: one good sample pays back one unit
        tracks = ns.tracks
        for q, eps in self._eps:
            value = fields.get(q)
            if value is None or value != value:  # missing or NaN
                continue
            tr = tracks[q]
            tr.value = value
            tr.t = t
            cv = tr.changed_value
            if cv is None or abs(value - cv) > eps:
                tr.changed_value = value
                tr.changed_t = t

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
        for nid in self.nodes:
            out.health[nid] = {}
        for q in QUANTITIES:
            out.q[q] = self._vote_quantity(q, now, node_reason, out, rate_hint)
            if q == "pressure_pa":
                rate_hint = 0.0  # the rate vote itself uses the plain tolerance
        self._vote_states(out)
        return out

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
        self._align(q, cands, out)
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
        values = [aligned[ns.node_id] for ns in good]
        voters = sorted(ns.node_id for ns in good)
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

    def _align(self, q: str, cands: list[NodeState], out: ZoneVote) -> None:
        """Offset alignment (PX4 style startup calibration): offsets relative to the zone median, bounded
        by the sensors' absolute accuracy; a node beyond it stays unaligned and is reported. Until three
        nodes have been aligned together the alignment is provisional and redone as nodes appear."""
        max_off = self.v[q]["max_offset"]
        if max_off <= 0:
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
            if not ref:
                return
            m = median(ref)
        for ns in pending:
            tr = ns.tracks[q]
            off = tr.value - m
            if abs(off) <= max_off:
                tr.offset = off
                tr.aligned = True
            else:
                out.health[ns.node_id][q] = "unaligned"

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
            if abs(aligned[ns.node_id] - m) <= tol:
                self._agreed(tr, now)
                good.append(ns)
                continue
            out.health[ns.node_id][q] = "disagree"
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
                                   f"{q} off the zone median by {aligned[ns.node_id] - m:+.4g} (tolerance {tol:.4g});"
                                   f" {self.v['isolate_after_s']:g} s of disagreement"))
        return good

    def _check_readmission(self, q, isolated, m, tol, now, out) -> None:
        for ns in isolated:
            tr = ns.tracks[q]
            if abs(tr.value - tr.offset - m) > tol:
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
            if ns.state in (SUSPECT, LEAK, RAPID):
                out.suspect_votes += 1
            if ns.state in (LEAK, RAPID):
                out.leak_votes += 1
            if ns.state == RAPID:
                out.rapid_votes += 1
