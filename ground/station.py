"""The live ground station: links -> engine -> store, plus commands out and operator acks in.

`Station(links, engine, store, clock, keys=None)`; `poll(timeout_s)` reads every link, stamps each chunk
with the clock's time, records it, feeds the engine, records the decisions, picks up acks and commands
queued in the database by other processes, and reports command acks and timeouts.
"""
from __future__ import annotations

from typing import Any

from safehaven.ground.clock import WallClock
from safehaven.ground.engine import Decision, Engine
from safehaven.ground.ingest import Ingest
from safehaven.ground.store import StoreError
from safehaven.ground.wire import encode_command
from safehaven.protocol.messages import ACK_NAMES, CMD_MAINTENANCE, check_command

COMMAND_MAX_AGE_S = 60.0   # a queued command older than this is expired, not sent (send waits far less)
CONFIG_FIELDS = ("fw_version", "board", "zone", "mode", "reset_cause")
MAINTENANCE_RELEASE_S = 10.0   # port left alone after a maintenance ack; flash/probe take it within a second and hold it


def command_problem(node_id: object, command: object, param: object, value: object) -> str | None:
    """None if a queued command can be sent, else why not (the limits the node enforces)."""
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (node_id, command, param, value)):
        return "node, command, param and value must be integers"
    if not 1 <= node_id <= 255:  # type: ignore[operator]
        return f"node {node_id}: node IDs are 1-255"
    return check_command(command, param, value)


class Station:
    def __init__(self, links: dict[str, str], engine: Engine, store=None, clock=None,
                 keys: dict[int, bytes] | None = None, baudrate: int = 115200, reopen_s: float = 1.0,
                 ack_timeout_s: float = 3.0) -> None:
        self.engine = engine
        self.store = store
        self.clock = clock or WallClock()
        self.keys = keys or {}
        self.ack_timeout_s = ack_timeout_s
        self.link_events: list[tuple[float, str, str, str]] = []
        self.ingest = Ingest(links, baudrate, reopen_s, on_event=self._link_event)
        self.pending: dict[int, dict[str, Any]] = {}     # request_id -> what was sent
        self.results: dict[int, dict[str, Any]] = {}     # request_id -> ack or timeout
        self.next_request_id = 1
        self._configs: dict[int, dict] = {}
        self._startup: list[Decision] = []   # returned by the first poll (recorded and shown there)
        self.storage_fault: str | None = None
        self._handled: set = set()            # ack ids applied, command ids sent (never twice)
        self._answers: list = []              # queue updates waiting for the DB
        self._expire_due = -1e18
        self._guard_saved: dict[int, tuple[int, int]] = {}
        self._refused_saved: dict[tuple[str, int, str], int] = {}
        if store is not None:
            for stream, epoch, counter in store.replay_guard():   # a frame accepted before a restart stays refused
                engine.replay.accept(stream, epoch, counter)
            self._guard_saved = dict(engine.replay.items())
            store.set_meta("allow_unsigned", sorted(engine.allow_unsigned))
            store.record_policy(engine.policy)
            store.set_meta("zones", {str(k): v for k, v in engine.static_zones.items()})
            store.set_meta("auth", bool(self.keys))
            store.set_meta("links", links)
            self._startup = self._start_record()
            store.commit()

    def _start_record(self) -> list[Decision]:
        """Mark this start in the record (replay starts a fresh engine there, as this process did) and
        keep a latched state the last run left: a restart never forgets SHELTER."""
        t = self.clock.now()
        restore = self.store.latched_state()
        self.store.record_start(t, {"policy": self.engine.policy.hash, "restore": restore,
                                    "zones": {str(k): v for k, v in self.engine.static_zones.items()},
                                    "allow_unsigned": sorted(self.engine.allow_unsigned)})
        return self.engine.restore(t, **restore) if restore else []

    def open(self, strict: bool = False) -> list[str]:
        return self.ingest.open_all(strict)

    def _link_event(self, link: str, event: str, detail: str) -> None:
        t = self.clock.now()
        self.link_events.append((t, link, event, detail))  # all of them: the views index into it
        if self.store is not None:
            self.store.record_link_event(t, link, event, detail)

    # --- the loop -----------------------------------------------------------------------------
    def poll(self, timeout_s: float = 0.1) -> list[Decision]:
        out: list[Decision] = self._startup
        self._startup = []
        for link, data in self.ingest.poll(timeout_s):
            t = self.clock.now()
            if self.store is not None:
                self.store.record_chunk(link, t, data)
            out.extend(self.engine.ingest(link, data, t))
        t = self.clock.now()
        ticked = self.engine.tick(t)
        if ticked and self.store is not None:
            self.store.record_tick(t)
        out.extend(ticked)
        if self.store is not None:
            self._flush_answers()
            out.extend(self._operator_acks())
            out.extend(self._operator_depress())
            self._queued_commands()
        self._command_acks()
        self._timeouts()
        self._node_configs()
        if self.store is not None:
            self._record_trust(t)
            for d in out:
                self.store.record_decision(d)
            self.store.maybe_commit()
            self._storage_event()
        return out

    def _storage_event(self) -> None:
        """Report a write that failed (DB locked by another process, disk full) at once, and its end."""
        fault = self.store.fault
        if fault != self.storage_fault:
            if fault is not None:
                self._link_event("storage", "write_failed", f"{fault}; holding {self.store.held} "
                                 "records in memory, retrying (a crash now loses them)")
            else:
                self._link_event("storage", "write_ok", "all held records written")
            self.storage_fault = fault

    def acknowledge(self, who: str = "operator", sheltered: bool = False) -> list[Decision]:
        """An operator acknowledgement given to this process directly (recorded for replay)."""
        t = self.clock.now()
        if self.store is not None:
            self.store.record_ack(t, who, sheltered)
        decisions = self.engine.acknowledge(t, who, sheltered)
        if self.store is not None:
            for d in decisions:
                self.store.record_decision(d)
        return decisions

    def announce(self, zone: str, for_s: float, max_rate_pa_s: float | None = None,
                 who: str = "operator") -> list[Decision]:
        """An operator's planned depress given to this process directly (recorded for replay)."""
        t = self.clock.now()
        if self.store is not None:
            self.store.record_depress(t, who, zone, for_s, max_rate_pa_s)
        decisions = self.engine.announce(t, zone, for_s, max_rate_pa_s, who)
        if self.store is not None:
            for d in decisions:
                self.store.record_decision(d)
        return decisions

    def _operator_depress(self) -> list[Decision]:
        """Planned depresses queued by `safehaven depress`: applied, recorded, answered."""
        out = []
        for row_id, who, zone, for_s, max_rate in self.store.pending_depress():
            if ("depress", row_id) in self._handled:
                continue
            self._handled.add(("depress", row_id))
            if not isinstance(who, str) or not who.isprintable() or len(who) > 64 or not isinstance(zone, str) \
                    or not isinstance(for_s, (int, float)) or not (max_rate is None or isinstance(max_rate, (int, float))):
                self._answer(self.store.finish_depress, row_id, "rejected", "malformed row")
                continue
            t = self.clock.now()
            self.store.record_depress(t, who, zone, float(for_s), max_rate)
            decisions = self.engine.announce(t, zone, float(for_s), max_rate, who)
            accepted = any(d.event == "depress" for d in decisions)
            self._answer(self.store.finish_depress, row_id, "accepted" if accepted else "rejected",
                         self.engine.last_ack_message)
            out.extend(decisions)
        return out

    def _operator_acks(self) -> list[Decision]:
        out = []
        for ack_id, who, sheltered in self.store.pending_acks():
            if ack_id in self._handled:
                continue  # applied; its answer is waiting for the DB to take writes again
            self._handled.add(ack_id)
            if not isinstance(who, str) or not who.isprintable() or len(who) > 64:  # a hand-made row
                self._answer(self.store.finish_ack, ack_id, "rejected", "malformed: who must be a printable name")
                continue
            t = self.clock.now()
            self.store.record_ack(t, who, sheltered)
            decisions = self.engine.acknowledge(t, who, sheltered)
            accepted = any(d.event == "ack" for d in decisions)
            self._answer(self.store.finish_ack, ack_id, "accepted" if accepted else "rejected",
                         self.engine.last_ack_message)
            out.extend(decisions)
        return out

    def _answer(self, fn, *args, **kw) -> None:
        """A queue update another process waits for: written now, or held and retried at the next
        poll while the DB is locked or full (the fault is reported, the loop goes on)."""
        self._answers.append((fn, args, kw))
        self._flush_answers()

    def _flush_answers(self) -> None:
        while self._answers:
            fn, args, kw = self._answers[0]
            try:
                fn(*args, **kw)
            except StoreError as exc:
                self.store.fault = str(exc)
                return
            self._answers.pop(0)

    def _node_configs(self) -> None:
        for nid, info in self.engine.nodes.items():
            if not info.heartbeat:
                continue
            config = {k: info.heartbeat.get(k) for k in CONFIG_FIELDS if k in info.heartbeat}
            config["link"] = info.link
            if self._configs.get(nid) != config:
                self._configs[nid] = config
                if self.store is not None:
                    self.store.record_node_config(self.clock.now(), nid, config)

    def _record_trust(self, t: float) -> None:
        """Buffer the replay guard's changes and the new refused frames: committed with the rx rows."""
        saved = self._guard_saved
        for stream, pair in self.engine.replay.items():
            if saved.get(stream) != pair:
                saved[stream] = pair
                self.store.record_replay_guard(stream, pair[0], pair[1])
        seen = self._refused_saved
        for key, count in self.engine.integrity.seen.items():
            if count != seen.get(key, 0):
                self.store.record_refused(t, key[0], key[1], key[2], count - seen.get(key, 0))
                seen[key] = count

    # --- commands -----------------------------------------------------------------------------
    def known_nodes(self) -> dict[int, str]:
        return {nid: info.link for nid, info in self.engine.nodes.items()}

    def send_command(self, node_id: int, command: int, param: int = 0, value: int = 0,
                     link: str | None = None, cmd_row: int | None = None) -> int:
        """Send a command; returns its request_id. The ack (or a timeout) lands in `results`."""
        if link is None:
            info = self.engine.nodes.get(node_id)
            if info is not None:
                link = info.link
            elif f"node{node_id}" in self.ingest.readers:
                link = f"node{node_id}"  # declared by the operator (--node ID=PORT), not heard yet
            else:
                known = ", ".join(str(n) for n in sorted(self.engine.nodes)) or "none yet"
                raise KeyError(f"unknown node {node_id}: not heard on any link and no --node {node_id}=PORT "
                               f"(known: {known})")
        request_id = self.next_request_id
        self.next_request_id = (self.next_request_id % 0xFFFF) + 1
        frame = encode_command(node_id, request_id, command, param, value, key=self.keys.get(node_id))
        sent = self.ingest.readers[link].write(frame)
        t = self.clock.now()
        self.pending[request_id] = {"node_id": node_id, "command": command, "sent_s": t, "link": link,
                                    "cmd_row": cmd_row}
        if not sent:
            why = self.ingest.readers[link].stats.get("last_error") or "the link is not open"
            self._finish(request_id, {"status": "link_down", "t": t, "message": why})
        return request_id

    def _queued_commands(self) -> None:
        if self._expire_due <= self.clock.now():
            self._expire_due = self.clock.now() + 1.0
            self._answer(self.store.expire_commands, COMMAND_MAX_AGE_S)
        for cmd_id, node_id, command, param, value in self.store.queued_commands():
            if ("cmd", cmd_id) in self._handled:
                continue
            self._handled.add(("cmd", cmd_id))
            problem = command_problem(node_id, command, param, value)
            if problem is not None:  # queued by an older `send` or by hand: refused, never sent
                self._answer(self.store.update_command, cmd_id, "invalid", t_done=self.clock.now(), message=problem)
                continue
            try:
                rid = self.send_command(node_id, command, param, value, cmd_row=cmd_id)
            except KeyError as exc:
                self._answer(self.store.update_command, cmd_id, "unknown_node", t_done=self.clock.now(),
                             message=exc.args[0])
                continue
            if rid in self.pending:
                self._answer(self.store.update_command, cmd_id, "sent", request_id=rid)

    def _command_acks(self) -> None:
        acks, self.engine.command_acks[:] = list(self.engine.command_acks), []
        for t, _link, frame in acks:
            rid = int(frame.fields.get("request_id", -1))
            sent = self.pending.get(rid)
            if sent is None or sent["node_id"] != frame.node_id:
                continue
            result = int(frame.fields.get("result", -1))
            status = ACK_NAMES[result] if 0 <= result < len(ACK_NAMES) else f"result_{result}"
            self._finish(rid, {"status": status, "value": int(frame.fields.get("value", 0)), "t": t,
                               "latency_s": t - sent["sent_s"]})
            if status == "ok":
                self._maintenance_release(sent)

    def _maintenance_release(self, sent: dict) -> None:
        """A node going into maintenance gets its port back for a while, so flash/probe can take it."""
        if sent["command"] == CMD_MAINTENANCE and sent["link"] in self.ingest.readers:
            self.ingest.readers[sent["link"]].release(MAINTENANCE_RELEASE_S)

    def _timeouts(self) -> None:
        now = self.clock.now()
        for rid, sent in list(self.pending.items()):
            if now - sent["sent_s"] >= self.ack_timeout_s:
                self._finish(rid, {"status": "timeout", "t": now})

    def _finish(self, rid: int, result: dict) -> None:
        sent = self.pending.pop(rid)
        result.update(node_id=sent["node_id"], command=sent["command"], request_id=rid)
        self.results[rid] = result
        if self.store is not None and sent["cmd_row"] is not None:
            self._answer(self.store.update_command, sent["cmd_row"], result["status"], request_id=rid,
                                      result_value=result.get("value"), t_done=result["t"],
                                      message=result.get("message", ""))

    def close(self) -> None:
        self.ingest.close()
        if self.store is not None:
            self.store.commit()
