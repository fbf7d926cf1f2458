"""The ground's decision engine: bytes and arrival times in, decisions out.

`Engine(policy, keys=None, zones=None)`: one StreamDecoder per link, node -> zone from heartbeats (or the
static `zones` map, which wins), one ZoneVoter per zone, one Shelter state machine for the habitat.
Decisions are a pure function of (bytes per link, arrival times, operator acks, policy): the engine
evaluates after every chunk that carried telemetry and on a fixed time grid (policy voting.eval_period_s),
so replaying the same chunks at the same arrival times gives the same decisions with the same timestamps.
"""
from __future__ import annotations

import json
import math
from typing import Any

from safehaven.ground.chatter import ChatterLatch
from safehaven.ground.co2 import Co2Trend, limit_in
from safehaven.ground.equalise import Equaliser
from safehaven.ground.integrity import IntegrityWatch, LinkNoiseWatch
from safehaven.ground.joined import JoinedZones
from safehaven.ground.policy import QUANTITIES, Policy
from safehaven.ground.shelter import LATCHED, LEVEL, SHELTER, Shelter, ZoneFigures, fmt_reserve
from safehaven.ground.voting import FALL_SETTLE_S, ZoneVoter
from safehaven.ground.wire import StreamDecoder, event_loss
from safehaven.protocol.link import ReplayGuard
from safehaven.protocol.messages import (EV_LEAK_CLEARED, EV_LEAK_DETECTED, EV_RAPID, EV_SENSOR_FAULT,
                                         EV_SENSOR_RECOVERED, EV_TRANSIENT, LEAK, RAPID)

# Errors that say a node's own data is unreliable count against its vote. Its link's corrupted bytes
# (LINK_ERROR_STATS, and rx_frame_errors on the node's side) do not: intact frames are as good as on a
# clean line, and bytes anyone can inject must not silence a node (LinkNoiseWatch reports them). Auth
# failures and replays are someone else's frames, rejected; counting them would let a forger silence nodes.
HEARTBEAT_ERROR_COUNTERS = ("i2c_errors", "bmp_errors", "scd_errors")
LINK_ERROR_STATS = ("crc_failures", "oversize", "bad_lengths")
REBOOT_UPTIME_MS = 60_000   # a node's uptime may go back only to a fresh boot (below this)
# How much later than it was sent the old boot's last frame may have been heard: an unsigned node's new boot
# is taken when its uptime fits in the silence since then plus this (0.5 s: a serial link's buffers and reads).
LINK_LATENCY_S = 0.5
HEALTH_REPORTED = ("pressure_pa", "co2_ppm")  # one per sensor: the BMP280 and the SCD4x
# Node events that change what the zone votes: evaluated on arrival, not on the next grid point or telemetry.
# The nodes' RAPID rates may lag the fall (issue 9): their pressure then sizes it. The raw fall of a fast
# leak is up to gamma = 1.4x the compensated one at first (the gas cools), and a node's first estimate
# may be ~40 % low at 10 Pa/s, so only a fall beyond this many times the rate they report says they lag.
LAGGING_RATE = 2.5
REVISE = 0.15   # in SHELTER, a zone's rate this much faster than the last decision's: a revised reserve
_MEASURING = ((LEAK, EV_LEAK_DETECTED), (RAPID, EV_RAPID))   # (state, event) that may carry LOSS_UNMEASURED
DECISIVE_EVENTS = (EV_RAPID, EV_LEAK_DETECTED, EV_LEAK_CLEARED, EV_TRANSIENT, EV_SENSOR_FAULT, EV_SENSOR_RECOVERED)


def _clean(obj: Any) -> Any:
    """Fixed float formatting for the JSON: 6 decimals, non-finite -> null."""
    if isinstance(obj, float):
        return round(obj, 6) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


class Decision:
    """One entry of the decision log: a state transition, a node isolated/readmitted, an operator ack."""

    __slots__ = ("time", "event", "state", "previous", "reasons", "zones", "safe_haven", "policy", "node", "quantity",
                 "depress")

    def __init__(self, time: float, event: str, state: str, previous: str | None, reasons: list[str],
                 zones: dict, safe_haven: dict, policy: dict, node: int | None = None, quantity: str | None = None,
                 depress: list | None = None):
        self.time = time
        self.event = event
        self.state = state
        self.previous = previous
        self.reasons = reasons
        self.zones = zones
        self.safe_haven = safe_haven
        self.policy = policy
        self.node = node
        self.quantity = quantity
        self.depress = depress or []   # announced depresses in force (Shelter.announced_now)

    def to_dict(self) -> dict:
        d = {"t": self.time, "event": self.event, "state": self.state, "previous": self.previous,
             "reasons": self.reasons, "zones": self.zones, "safe_haven": self.safe_haven, "policy": self.policy}
        if self.node is not None:
            d["node"] = self.node
            d["quantity"] = self.quantity
        if self.depress:   # only while one is in force: other decisions' JSON as before
            d["depress"] = self.depress
        return _clean(d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def __repr__(self) -> str:
        return f"Decision({self.time:.3f} {self.event} {self.previous}->{self.state})"


class NodeInfo:
    __slots__ = ("node_id", "link", "zone", "last_seen", "uptime_ms", "seq", "heartbeat", "counters",
                 "last_event", "frames", "stale_frames")

    def __init__(self, node_id: int, link: str) -> None:
        self.node_id = node_id
        self.link = link
        self.zone: str | None = None
        self.last_seen = -math.inf
        self.uptime_ms = -1
        self.seq = -1
        self.heartbeat: dict = {}
        self.counters: dict[str, int] = {}
        self.last_event: dict = {}
        self.frames = 0
        self.stale_frames = 0


def _stats_dict(stats: Any) -> dict:
    if isinstance(stats, dict):
        return stats
    if hasattr(stats, "as_dict"):
        return stats.as_dict()
    return dict(vars(stats))


def _reported_rate(voter: ZoneVoter) -> float:
    """Median of the rates the zone's RAPID nodes last reported themselves (0 without any)."""
    rates = sorted(ns.tracks["rate_pa_s"].value for ns in voter.nodes.values()
                   if ns.state == RAPID and ns.tracks["rate_pa_s"].value is not None)
    return rates[len(rates) // 2] if rates else 0.0


class Engine:
    def __init__(self, policy: Policy, keys: dict[int, bytes] | None = None,
                 zones: dict[int, str] | None = None, allow_unsigned=(), replay: ReplayGuard | None = None) -> None:
        self.policy = policy
        self.keys = keys
        self.allow_unsigned = frozenset(int(n) for n in allow_unsigned)
        # one guard for all links (a frame accepted anywhere is a replay everywhere), kept across restarts
        self.replay = ReplayGuard() if replay is None else replay
        self.integrity = IntegrityWatch()
        self.link_noise = LinkNoiseWatch()
        self.static_zones = {int(k): str(v) for k, v in (zones or {}).items()}
        self.decoders: dict[str, Any] = {}
        self.link_stats: dict[str, dict] = {}
        self.nodes: dict[int, NodeInfo] = {}
        self.voters: dict[str, ZoneVoter] = {}
        self.shelter = Shelter(policy)
        self.period = policy.voting["eval_period_s"]
        self.min_interval = policy.voting["eval_min_interval_s"]
        self.last_eval = -math.inf
        self.next_eval: float | None = None
        self.now = 0.0
        self.votes: dict = {}
        self.figures: dict[str, ZoneFigures] = {}
        self.joined = JoinedZones(policy.voting["pressure_pa"]["agree_abs"])
        self.equaliser = Equaliser(policy)
        self.co2_trend = Co2Trend(policy.shelter["co2_limit_ppm"], policy.shelter["co2_trend_window_s"])
        self.safe_haven: dict = {"zone": policy.safe_haven_zone, "co2_ppm": None, "co2_rate_ppm_h": None,
                                 "co2_time_to_limit_s": None, "co2_trend": "measuring"}
        self.command_acks: list = []   # (arrival_s, link, frame) for the station to match
        self.last_ack_message = ""
        self.started = False
        self.health_seen: dict[tuple[int, str], str] = {}
        self.chatter = ChatterLatch()        # node_health reports of a sensor going in and out
        self.told: dict[str, float] = {}   # in SHELTER: each zone's rate in the last decision (its reserve)
        self.ranked_told: set[str] = set()  # from ISOLATE: the zones voted LEAK/RAPID the crew's ranking named
        self.co2_told: tuple | None = None  # SHELTERED: (t, time to the CO2 limit) the crew was last told
        for zone in set(self.static_zones.values()) | set(policy.zones):
            self._voter(zone)

    # --- inputs -------------------------------------------------------------------------------
    def _decoder(self, link: str):
        dec = self.decoders.get(link)
        if dec is None:
            dec = self.decoders[link] = StreamDecoder(self.keys, self.allow_unsigned, self.replay)
        return dec

    def _link(self, link: str, nbytes: int, nframes: int, t: float) -> None:
        if self.next_eval is None:
            self.next_eval = math.floor(t / self.period) * self.period + self.period
        ls = self.link_stats.get(link)
        if ls is None:
            ls = self.link_stats[link] = {"chunks": 0, "bytes": 0, "frames": 0, "first_s": t, "last_s": t,
                                          "errors_seen": 0, "nodes": []}
        ls["chunks"] += 1
        ls["bytes"] += nbytes
        ls["frames"] += nframes
        ls["last_s"] = t

    def _voter(self, zone: str) -> ZoneVoter:
        v = self.voters.get(zone)
        if v is None:
            v = self.voters[zone] = ZoneVoter(zone, self.policy)
        return v

    def ingest(self, link: str, data: bytes, arrival_s: float) -> list[Decision]:
        """Feed bytes that arrived on a link at arrival_s; returns the decisions they caused."""
        out = self._advance(arrival_s)
        dec = self._decoder(link)
        frames = dec.feed(bytes(data))
        self._link(link, len(data), len(frames), arrival_s)
        out.extend(self._link_errors(link, dec, arrival_s))
        out.extend(self._take(link, frames, arrival_s))
        if dec.refused():
            reasons = self.integrity.update(arrival_s, link, dec.stats)
            if reasons:   # reported, and the state stays: refused frames say nothing about the air
                out.append(self._decision(arrival_s, "link_integrity", self.shelter.state, self.shelter.state,
                                          reasons))
        return out

    def ingest_frames(self, link: str, frames: list, arrival_s: float) -> list[Decision]:
        """Already decoded frames (anything with node_id, name, seq, uptime_ms, fields)."""
        out = self._advance(arrival_s)
        self._link(link, 0, len(frames), arrival_s)
        out.extend(self._take(link, frames, arrival_s))
        return out

    def _take(self, link: str, frames: list, t: float) -> list[Decision]:
        telemetry = decisive = False
        link_nodes = self.link_stats[link]["nodes"]
        for frame in frames:
            got = self._on_frame(link, link_nodes, frame, t)
            telemetry |= got == "telemetry"
            decisive |= got == "event"
        if decisive or (telemetry and t - self.last_eval >= self.min_interval):
            return self._evaluate(t)
        return []

    def _link_errors(self, link: str, dec, t: float) -> list[Decision]:
        """Corrupted frames on a link: reported, never charged to its nodes (a red-team 0.5 % bit-error
        cable had every node excluded and a 15 mm hole never sheltered)."""
        stats = dec.stats   # the counters themselves, read per chunk (not the whole as_dict())
        errors = stats.crc_failures + stats.oversize + stats.bad_lengths  # LINK_ERROR_STATS
        ls = self.link_stats[link]
        new = errors - ls["errors_seen"]
        ls["errors_seen"] = errors
        reasons = self.link_noise.update(t, link, new)
        if not reasons:
            return []
        return [self._decision(t, "link_integrity", self.shelter.state, self.shelter.state, reasons)]

    def _on_frame(self, link: str, link_nodes: list, frame, t: float) -> str:
        """Take one frame (link_nodes: the nodes heard on its link); returns "telemetry" or "event" when
        the zone's vote may have changed. The hot path of a replay: kept lean."""
        nid = frame.node_id
        info = self.nodes.get(nid)
        if info is None:
            info = self.nodes[nid] = NodeInfo(nid, link)
            info.zone = self.static_zones.get(nid)
            if info.zone is not None:
                self._voter(info.zone)
        if info.link != link or nid not in link_nodes:
            info.link = link
            if nid not in link_nodes:
                link_nodes.append(nid)
        up = frame.uptime_ms
        if up > info.uptime_ms:   # the usual case, inline: the node's clock goes on
            info.uptime_ms = up
            info.seq = frame.seq
        elif not self._fresh(info, frame, t):
            info.stale_frames += 1
            return ""
        info.frames += 1
        info.last_seen = t
        name = frame.name
        if name == "telemetry":
            if info.zone is None:
                return ""  # zone unknown until its heartbeat (or a static map) says
            self.voters[info.zone].sample(nid, t, frame.fields, frame.uptime_ms / 1000.0)
            return "telemetry"
        if name == "heartbeat":
            self._on_heartbeat(info, frame.fields)
        elif name == "event":
            kg, hole = event_loss(frame.fields)      # None: the node is still measuring the loss
            info.last_event = dict(frame.fields, t=t, leak_kg_day=kg, hole_mm=hole)
            if info.zone is not None and frame.fields.get("event") in DECISIVE_EVENTS:
                self.voters[info.zone].event(nid, t, frame.fields, frame.uptime_ms / 1000.0)
                return "event"
        elif name == "command_ack":
            self.command_acks.append((t, link, frame))
        return ""

    def _fresh(self, info: NodeInfo, frame, t: float) -> bool:
        """Drop replayed old frames: uptime may only go back to a fresh boot. A signed frame has passed
        the decoder's replay guard (its boot epoch and counter are newer than any taken), so a lower
        uptime there is a new boot, taken at once even when its boot frames went unheard (a reflash:
        the monitor had let go of the port). Unsigned frames carry no such proof; their lower uptime is
        a new boot when it is a boot frame, when the uptime fell back near zero from far, or when the
        whole new boot fits in the time the node went unheard (it began after the last frame taken)."""
        up = frame.uptime_ms
        if up > info.uptime_ms or (up == info.uptime_ms and frame.seq != info.seq) or frame.authenticated:
            pass
        elif up < REBOOT_UPTIME_MS and (info.uptime_ms - up > REBOOT_UPTIME_MS or self._boot_frame(frame)):
            pass  # a reboot: uptime back near zero, or the node's boot heartbeat/event
        elif up <= (t - info.last_seen + LINK_LATENCY_S) * 1000.0:
            pass  # a boot that began while the node was unheard (a reflash whose boot frames went unheard)
        else:
            return False
        info.uptime_ms = up
        info.seq = frame.seq
        return True

    @staticmethod
    def _boot_frame(frame) -> bool:
        return frame.name == "heartbeat" or (frame.name == "event" and frame.fields.get("event") == 0)

    def _on_heartbeat(self, info: NodeInfo, fields: dict) -> None:
        info.heartbeat = dict(fields)
        zone = str(fields.get("zone", "") or "").strip("\x00 ")
        if info.node_id in self.static_zones:
            zone = self.static_zones[info.node_id]
        if zone and zone != info.zone:
            if info.zone is not None:
                self._voter(info.zone).remove(info.node_id)
            info.zone = zone
            self._voter(zone)
        errors = 0
        for key in HEARTBEAT_ERROR_COUNTERS:
            value = int(fields.get(key, 0) or 0)
            prev = info.counters.get(key)
            if prev is not None and value > prev:
                errors += value - prev
            info.counters[key] = value
        if errors and info.zone is not None:
            self._voter(info.zone).errors(info.node_id, errors)

    # --- time ---------------------------------------------------------------------------------
    def tick(self, now_s: float) -> list[Decision]:
        """Time-driven transitions (staleness, persistence, timed SHELTERED) up to now_s."""
        return self._advance(now_s)

    def _advance(self, t: float) -> list[Decision]:
        if t < self.now:
            t = self.now  # arrival times are monotonic; never evaluate in the past
        out: list[Decision] = []
        if self.next_eval is None:
            self.now = t
            return out  # nothing received yet: the grid starts with the first data (as in replay)
        while True:
            due = self.shelter.due()  # a condition's persistence ends: decide then, not on the next grid point
            if due is not None and self.last_eval < due <= t and due <= self.next_eval:
                out.extend(self._evaluate(due))
                continue
            g = self.next_eval
            if g > t:
                break
            if g - self.last_eval >= self.min_interval:
                out.extend(self._evaluate(g))
            self._co2_sample(g)
            self.next_eval = g + self.period
        self.now = t
        return out

    def acknowledge(self, now_s: float, who: str = "operator", sheltered: bool = False) -> list[Decision]:
        out = self._advance(now_s)
        tr, message = self.shelter.acknowledge(now_s, who, sheltered)
        self.last_ack_message = message
        if tr is None:
            out.append(self._decision(now_s, "ack_rejected", self.shelter.state, self.shelter.state,
                                      [f"{who}: {message}"]))
        else:
            out.append(self._decision(now_s, "ack", tr.state, tr.previous, tr.reasons))
        return out

    def announce(self, now_s: float, zone: str, for_s: float, max_rate_pa_s: float | None = None,
                 who: str = "operator") -> list[Decision]:
        """An operator's planned depress of a zone (docs/shelter.md, "A planned depress"): a `depress`
        decision (state unchanged) when accepted, `depress_rejected` with the reason when not; for_s 0 ends
        one. self.last_ack_message gets the answer."""
        out = self._advance(now_s)
        zones = set(self.voters) | set(self.policy.zones)
        ok, message = self.shelter.announce(now_s, zone, float(for_s), max_rate_pa_s, who, zones)
        self.last_ack_message = message
        out.append(self._decision(now_s, "depress" if ok else "depress_rejected", self.shelter.state,
                                  self.shelter.state, [f"{who}: {message}"]))
        return out

    def restore(self, now_s: float, state: str, since: float, reasons: list[str]) -> list[Decision]:
        """Keep a latched state (ISOLATE, SHELTER, SHELTERED) from before a monitor restart; it still
        needs an operator ack to clear. The station reads it from the store, replay from the recorded
        start, so both decide the same."""
        if state not in LATCHED:
            return []
        sh = self.shelter
        sh.state, sh.since, sh.reasons = state, since, list(reasons)
        return [self._decision(now_s, "restored", state, None,
                               [f"{state} kept across a restart of the ground"] + list(reasons))]

    # --- evaluation ---------------------------------------------------------------------------
    def _evaluate(self, now: float) -> list[Decision]:
        self.last_eval = now
        out: list[Decision] = []
        if not self.started:
            self.started = True
            out.append(self._decision(now, "start", self.shelter.state, None, [
                f"ground started: policy {self.policy.name} ({self.policy.hash}), safe haven "
                f"{self.policy.safe_haven_zone}"]))
        figures = []
        for zone in sorted(self.voters):
            prev = self.figures.get(zone)
            hint = prev.rate_pa_s if prev is not None and prev.rate_pa_s is not None else 0.0
            voter = self.voters[zone]
            vote = voter.vote(now, hint)
            self.votes[zone] = vote
            fig = self._figures(vote)
            since = self.shelter.watch(zone)
            if since is not None:
                # go on or stop? judged on the pressure after a hatch's fall would be over: the points
                # since the report still hold its tail (a red-team 2 s hatch step was 'confirmed' so)
                fig.fall_check_pa_s = voter.fall_since(since + FALL_SETTLE_S, vote)
                fall = voter.fall_since(since, vote)
                if fig.rapid and fall is not None and now - since <= self.policy.shelter["rapid_confirm_s"] \
                        and fall < min(fig.rate_pa_s or 0.0, fig.alarm_rate_pa_s or 0.0) \
                        and fall < LAGGING_RATE * _reported_rate(voter):
                    # the nodes call it RAPID and their pressures since then fall far faster than their
                    # rates say (a detector's rate that lags): the fall itself sizes the reserve, until the
                    # nodes' own series take over (an average since onset would outlive a fall that
                    # stopped, e.g. behind a closed hatch)
                    fig.rate_pa_s = fig.alarm_rate_pa_s = fig.leak_rate_pa_s = fig.rapid_rate_pa_s = fall
            self.figures[zone] = fig
            figures.append(fig)
            for event, nid, q, reason in vote.events:
                out.append(self._decision(now, event, self.shelter.state, self.shelter.state,
                                          [f"node {nid} in zone {zone}: {reason}"], nid, q))
            out.extend(self._health_changes(now, zone, vote))
        out.extend(self._chatter_reports(now))
        self.joined.update(now, figures, lambda zone, since: self.voters[zone].fall_since(since, self.votes[zone]))
        for reason in self.equaliser.update(now, figures, self.voters, self.votes):
            out.append(self._decision(now, "equalising", self.shelter.state, self.shelter.state, [reason]))
        for event, reason in self.shelter.depress_changes(now, figures):   # ran out, held depressed, repressed
            out.append(self._decision(now, event, self.shelter.state, self.shelter.state, [reason]))
        tr = self.shelter.evaluate(now, figures)
        if self.shelter.confirmed:
            out.append(self._decision(now, "confirmed", self.shelter.state, self.shelter.state,
                                      list(self.shelter.confirmed)))
        if tr is not None:
            reasons = list(tr.reasons)
            if tr.state == "SHELTERED":
                reasons.append(self._co2_reason())
                self.co2_told = (now, self.safe_haven.get("co2_time_to_limit_s"))
            out.append(self._decision(now, "state", tr.state, tr.previous, reasons))
        told = bool(out and out[-1].event in ("state", "confirmed"))
        out.extend(self._reranked(now, told))
        out.extend(self._revised(now, told or bool(out and out[-1].event == "revised")))
        out.extend(self._co2_revised(now))
        return out

    def _co2_revised(self, now: float) -> list[Decision]:
        """SHELTERED: the crew lives by the safe haven's time to the CO2 limit. Its decision may say
        "measuring" (a minute of readings); a `revised` decision gives the time once it is known, and again
        when it falls short of the one told by more than REVISE (a scrubber that fails)."""
        if self.shelter.state != "SHELTERED":
            self.co2_told = None
            return []
        ttl = self.safe_haven.get("co2_time_to_limit_s")
        if ttl is None or self.co2_told is None:
            return []
        t0, told = self.co2_told
        if told is not None and ttl >= (told - (now - t0)) * (1.0 - REVISE):
            return []
        self.co2_told = (now, ttl)
        return [self._decision(now, "revised", self.shelter.state, self.shelter.state,
                               ["time to the CO2 limit " + ("known" if told is None else "revised") + ": "
                                + self._co2_reason()])]

    def _reranked(self, now: float, told: bool) -> list[Decision]:
        """From ISOLATE on the crew closes hatches in the order of the last ranking: when another zone is
        voted LEAK or RAPID, a `revised` decision gives the new ranking at once (red team: a second zone's
        4x faster leak gave no decision while at ISOLATE, so the crew's order was never revised)."""
        if LEVEL[self.shelter.state] < 2:
            self.ranked_told = set()
            return []
        alarmed = {z for z, f in self.figures.items() if (f.leak or f.rapid) and self.shelter.announced(f, now) is None}
        new = alarmed - self.ranked_told
        self.ranked_told = alarmed
        if told or not new:
            return []
        return [self._decision(now, "revised", self.shelter.state, self.shelter.state, [
            f"zone {', '.join(sorted(new))} now voted in leak: "
            + self.shelter.rank_reason(now, list(self.figures.values()))])]

    def _revised(self, now: float, told: bool) -> list[Decision]:
        """In SHELTER the crew acts on the reserve: when a leaking zone's rate is faster by more than REVISE
        than the one the last decision carried (the nodes' refined RAPID estimates ~1.7 s after the onset,
        a hole that grows), a `revised` decision gives the shorter reserve at once; a longer one waits for
        the next decision (`confirmed` within ~3 s)."""
        if self.shelter.state != SHELTER:
            self.told = {}
            return []
        now_rates = {z: f.alarm_rate_pa_s for z, f in self.figures.items()
                     if (f.rapid or f.leak) and f.alarm_rate_pa_s is not None and f.alarm_rate_pa_s < 0
                     and self.shelter.announced(f, now) is None}   # an announced depress is no leak's reserve
        moved = [z for z, r in sorted(now_rates.items())
                 if self.told.get(z) is None or r / self.told[z] - 1 > REVISE]
        if told or moved:
            before = dict(self.told)
            self.told = now_rates
        if told or not moved:
            return []
        p_min = self.policy.shelter["min_safe_pressure_pa"]
        parts = []
        for z in moved:
            fig = self.figures[z]
            was = f" (was {before[z]:+.4g} Pa/s)" if z in before else ""
            parts.append(f"{z} reserve {fmt_reserve(fig.reserve_s(p_min), now_rates[z])} to {p_min:.0f} Pa at {now_rates[z]:+.4g} Pa/s{was}")
        return [self._decision(now, "revised", self.shelter.state, self.shelter.state,
                               ["reserve revised from the nodes' latest rates: " + "; ".join(parts)])]

    def _health_changes(self, now: float, zone: str, vote) -> list[Decision]:
        """Report a node's sensor going unhealthy or healthy again (disagreement is reported by
        isolation instead, so it counts as healthy here). A sensor that has not read yet (an SCD4x's
        first measurement comes ~5 s after start) is no change until it reads or fails. A sensor that
        keeps going in and out (a noisy link dropping frames) is told once, then summarised, and healthy
        again once it has stayed so (ground/chatter.py)."""
        out = []
        for nid, health in vote.health.items():
            for q in HEALTH_REPORTED:
                reason = health.get(q, "ok")
                if reason in ("disagree", "isolated", "aligning"):
                    reason = "ok"   # told by isolation, or as "unaligned" once it held (ZoneVoter._align)
                key = (nid, q)
                if key not in self.health_seen and reason in ("ok", "no data"):
                    if reason == "ok":
                        self.health_seen[key] = reason
                    continue
                before = self.health_seen.get(key, "ok")
                if reason != before:
                    self.health_seen[key] = reason
                    if self.chatter.change(now, key, reason, reason == "ok") is not None:
                        out.append(self._decision(now, "node_health", self.shelter.state, self.shelter.state,
                                                  [f"node {nid} in zone {zone}: {q} excluded from the vote: "
                                                   f"{reason} (was {before})"], nid, q))
        return out

    def _chatter_reports(self, now: float) -> list[Decision]:
        out = []
        for (nid, q), _what, text in self.chatter.due(now):
            zone = self.nodes[nid].zone if nid in self.nodes else None
            out.append(self._decision(now, "node_health", self.shelter.state, self.shelter.state,
                                      [f"node {nid} in zone {zone}: {q} {text}"], nid, q))
        return out

    def _figures(self, vote) -> ZoneFigures:
        q = vote.q
        n = vote.state_voters
        worst = max(vote.rapid_votes, vote.leak_votes, vote.suspect_votes)
        # of all the zone's nodes, saying who is out: not "1 of 1" for a zone of three with two silent
        votes = f"{worst} of {vote.known if vote.out else n}"
        return ZoneFigures(
            vote.zone, pressure_pa=q["pressure_pa"].value, rate_pa_s=q["rate_pa_s"].value,
            alarm_rate_pa_s=q["rate_pa_s"].alarm_value, temperature_c=q["temperature_c"].value,
            co2_ppm=q["co2_ppm"].value, volume_m3=self.policy.volume_m3(vote.zone),
            suspect=vote.majority(vote.suspect_votes), leak=vote.majority(vote.leak_votes),
            rapid=vote.majority(vote.rapid_votes), votes=votes,
            status=q["pressure_pa"].status, series_rate_pa_s=vote.series_rate, transient=len(vote.transient),
            leak_rate_pa_s=vote.backed["leak"], rapid_rate_pa_s=vote.backed["rapid"],
            measuring=self._measuring(vote.zone),
            out=vote.missing(), in_vote=n)

    def _measuring(self, zone: str) -> int:
        """Nodes of the zone whose latest event is a LEAK or RAPID alarm without its loss (LOSS_UNMEASURED:
        a slow leak's alarm, or a RAPID whose first second of fall does not yet give the rate to 30 %)."""
        return sum(1 for info in self.nodes.values() if info.zone == zone and info.last_event.get("leak_kg_day") is None
                   and (info.last_event.get("state"), info.last_event.get("event")) in _MEASURING)

    def _co2_sample(self, t: float) -> None:
        fig = self.figures.get(self.policy.safe_haven_zone)
        co2 = fig.co2_ppm if fig is not None else None
        trend = self.co2_trend
        trend.sample(t, co2)
        rate = trend.rate_ppm_s
        self.safe_haven = {"zone": self.policy.safe_haven_zone, "co2_ppm": co2,
                           "co2_rate_ppm_h": None if rate is None else rate * 3600.0,
                           "co2_time_to_limit_s": trend.time_to_limit_s(t), "co2_trend": trend.status}

    def _co2_reason(self) -> str:
        sh = self.safe_haven
        if sh["co2_ppm"] is None:
            return f"safe haven {sh['zone']}: no voted CO2"
        return (f"safe haven {sh['zone']}: CO2 {sh['co2_ppm']:.0f} ppm, limit "
                f"{self.policy.shelter['co2_limit_ppm']:.0f} ppm {limit_in(sh)}")

    def _zone_dict(self) -> dict:
        out = {}
        for zone, fig in self.figures.items():
            out[zone] = {"pressure_pa": fig.pressure_pa, "rate_pa_s": fig.rate_pa_s,
                         "series_rate_pa_s": fig.series_rate_pa_s,
                         "temperature_c": fig.temperature_c, "co2_ppm": fig.co2_ppm,
                         "reserve_s": fig.reserve_s(self.policy.shelter["min_safe_pressure_pa"]),
                         "kg_day": fig.kg_per_day(), "kg_day_measuring": bool(fig.measuring),
                         "votes": fig.votes, "out_of_vote": fig.out,
                         "status": fig.status}
        return out

    def _decision(self, now, event, state, previous, reasons, node=None, quantity=None) -> Decision:
        return Decision(now, event, state, previous, reasons, self._zone_dict(), dict(self.safe_haven),
                        self.policy.ref(), node, quantity, self.shelter.announced_now(now))

    # --- views --------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self.shelter.state

    def snapshot(self) -> dict:
        """Everything the dashboard and `status` show, as plain JSON-able data."""
        now = self.now
        zones = self._zone_dict()
        for zone, vote in self.votes.items():
            zones[zone]["quantities"] = {q: vote.q[q].to_dict() for q in QUANTITIES}
            zones[zone]["health"] = {str(n): h for n, h in vote.health.items()}
        nodes = {}
        for nid, info in sorted(self.nodes.items()):
            voter = self.voters.get(info.zone) if info.zone else None
            ns = voter.nodes.get(nid) if voter else None
            nodes[str(nid)] = {
                "zone": info.zone, "link": info.link, "age_s": now - info.last_seen,
                "frames": info.frames, "stale_frames": info.stale_frames,
                "state": ns.state if ns else None, "status": ns.status if ns else None,
                "error_density": ns.density if ns else None,
                "isolated": sorted(q for q, tr in ns.tracks.items() if tr.isolated) if ns else [],
                "rate_off_series": ns.rate_off if ns else False,
                "series_rate_pa_s": ns.series_slope.slope_pa_s if ns and ns.series_slope else None,
                "heartbeat": info.heartbeat, "last_event": info.last_event}
        links = {}
        for link, ls in self.link_stats.items():
            dec = self.decoders.get(link)
            stats = {} if dec is None else _stats_dict(dec.stats)
            span = (ls["last_s"] - ls["first_s"]) if ls["first_s"] is not None else 0.0
            links[link] = {"bytes": ls["bytes"], "frames": ls["frames"], "nodes": list(ls["nodes"]),
                           "age_s": now - ls["last_s"] if ls["last_s"] is not None else None,
                           "rate_fps": ls["frames"] / span if span > 0 else 0.0,
                           "decoder": {k: v for k, v in stats.items() if isinstance(v, (int, float))}}
        return _clean({"t": now, "state": self.shelter.state, "since": self.shelter.since,
                       "reasons": self.shelter.reasons, "zones": zones, "nodes": nodes, "links": links,
                       "safe_haven": self.safe_haven, "policy": self.policy.ref(),
                       "depress": self.shelter.announced_now(now),
                       "integrity": {"refused": dict(self.integrity.totals),
                                     "allow_unsigned": sorted(self.allow_unsigned)}})
