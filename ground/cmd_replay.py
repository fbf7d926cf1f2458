"""`safehaven replay DB|BIN... [--policy F] [--json]`: re-run voting and shelter logic over a recording.

A database (.sqlite) is re-fed chunk by chunk with its stored arrival times, ticks and operator acks in
the recorded order: the decisions are byte-identical to the live ones (same policy, same keys).
Raw node streams (.bin, no arrival times) get a synthetic arrival time per frame: the frame's own
uptime_ms / 1000 (the node's clock), kept monotonic across reboots; frames of several files are merged
in time order (ties in file order) and each file is one link named after the file.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Iterator

from safehaven.ground.args import key_file
from safehaven.ground.args import zones as parse_zones
from safehaven.ground.dashboard import fmt_time
from safehaven.ground.engine import Engine
from safehaven.ground.policy import PolicyError, load_policy, policy_from_json
from safehaven.ground.store import Store, StoreError
from safehaven.ground.wire import StreamDecoder, found

_HINT = "; nothing to replay"
HELP = "re-run voting and shelter logic over a recording (DB or raw .bin streams); print the decisions"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="+", metavar="DB|BIN", help="a safehaven database or raw node streams (.bin)")
    p.add_argument("--policy", metavar="F", help="policy TOML (default: the policy recorded in the DB, "
                                                 "else the built-in defaults)")
    p.add_argument("--json", action="store_true", help="one JSON decision per line (the live format)")
    p.add_argument("--key-file", metavar="F", help="node keys, needed if the nodes signed their frames")
    p.add_argument("--zone", action="append", default=[], metavar="ID=ZONE",
                   help="node zone for .bin input (nodes also announce it in heartbeats)")


def is_db(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


class NoFrames(ValueError):
    """The input holds not one valid frame (an empty or text file, another tool's data)."""


def replay_db(path: str, policy=None, keys=None, warn=print, engines: list | None = None) -> Iterator:
    """The decisions of a recording, re-decided; `engines` (a list) receives each engine used (one per
    monitor run, and the first one when the record does not begin with a monitor start), for a caller
    that wants to look inside."""
    engines = [] if engines is None else engines
    store = Store(path, readonly=True)
    override = policy is not None
    try:
        if policy is None:
            text = store.policy_json()
            policy = policy_from_json(text, f"{path} (recorded policy)") if text else load_policy(None)
        if store.meta("auth", False) and not keys:
            warn(f"replay: {path} was recorded with node keys; without --key-file signed frames are rejected "
                 "and the decisions will differ")
        zones = {int(k): v for k, v in (store.meta("zones", {}) or {}).items()}
        engine = Engine(policy, keys=keys, zones=zones, allow_unsigned=store.meta("allow_unsigned", []) or [])
        engines.append(engine)
        for _id, t, link, kind, data in store.iter_rx():
            if kind == "start":  # a monitor (re)start: a fresh engine, keeping what the live one kept
                if engines[-1] is engine and not engine.decoders and len(engines) == 1:
                    engines.pop()  # the first engine, never used: the record begins with a start
                engine, restored = _restart(store, path, data, t, policy if override else None, keys, engine)
                engines.append(engine)
                yield from restored
            elif kind == "data":
                yield from engine.ingest(link, data, t)
            elif kind == "tick":
                yield from engine.tick(t)
            elif kind == "depress":
                d = store.loads(data, f"announced depress at t={t}", dict)
                rate = d.get("max_rate_pa_s")
                yield from engine.announce(t, str(d.get("zone", "")), float(d.get("for_s", 0.0)),
                                           None if rate is None else float(rate), str(d.get("who", "operator")))
            elif kind == "ack":
                ack = store.loads(data, f"operator ack at t={t}", dict)
                yield from engine.acknowledge(t, str(ack.get("who", "operator")), bool(ack.get("sheltered")))
    finally:
        store.close()


def _restart(store, path: str, data: bytes, t: float, policy, keys, previous):
    """The engine a restarted monitor ran: its own policy (unless --policy), zones, unsigned opt-ins,
    latched state, and the replay guard the previous run left in the database."""

    try:
        info = json.loads(data)
        zones = {int(k): str(v) for k, v in (info.get("zones") or {}).items()}
        restore = info.get("restore")
        if policy is None:
            text = store.policy_json(info.get("policy"))
            policy = policy_from_json(text, f"{path} (recorded policy)") if text else load_policy(None)
        allow = info.get("allow_unsigned", store.meta("allow_unsigned", []) or [])
        engine = Engine(policy, keys=keys, zones=zones, allow_unsigned=allow, replay=previous.replay)
        restored = engine.restore(t, restore["state"], float(restore["since"]), list(restore["reasons"])) \
            if restore else []
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreError(f"{path}: damaged start record at t={t}: {exc}") from None
    return engine, restored


def bin_frames(path: str, keys=None) -> list[tuple[float, bytes]]:
    """[(synthetic arrival s, frame bytes incl. delimiter)] of one raw stream: each frame at its own
    uptime as the decoder reads it (kept monotonic across reboots); a piece the decoder refuses
    (damaged, forged, a replay) arrives with the frame before it and is counted by the engine.
    NoFrames if not one frame is valid."""
    probe = StreamDecoder(keys)
    data = Path(path).read_bytes()
    out: list[tuple[float, bytes]] = []
    base = 0.0
    last = 0.0
    for piece in data.split(b"\x00"):
        if not piece:
            continue
        t = last
        for frame in probe.feed(piece + b"\x00"):
            up = frame.uptime_ms / 1000.0
            if base + up < last - 1.0:
                base = last - up  # a reboot: the node's clock restarted
            t = max(last, base + up)
        last = t
        out.append((t, piece + b"\x00"))
    if not probe.stats.frames:
        raise NoFrames(f"{path}: no frames: {found([probe.stats], len(data))}{_HINT}")
    return out


def replay_bins(paths: list[str], policy, keys=None, zones=None) -> Iterator:
    """Every file is read (and refused, NoFrames, if it holds no frame) before the first decision."""
    engine = Engine(policy, keys=keys, zones=zones)
    events = []
    for order, path in enumerate(paths):
        link = Path(path).stem
        for i, (t, frame) in enumerate(bin_frames(path, keys)):
            events.append((t, order, i, link, frame))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    for t, _o, _i, link, frame in events:
        yield from engine.ingest(link, frame, t)
    if events:
        yield from engine.tick(events[-1][0])


def human(d) -> str:
    if d.node is not None:
        return f"{fmt_time(d.time)} node {d.node} {d.event.upper()} ({d.quantity}): {'; '.join(d.reasons)}"
    arrow = f"{d.previous} -> {d.state}" if d.previous != d.state else d.state
    return f"{fmt_time(d.time)} {d.event.upper()} {arrow}: {'; '.join(d.reasons)}"


def run(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.policy) if args.policy else None
        keys = key_file(args.key_file)
        zones = parse_zones(args.zone)
    except (PolicyError, ValueError, OSError) as exc:
        print(f"safehaven replay: {exc}", file=sys.stderr)
        return 2
    for path in args.inputs:
        if not Path(path).exists():
            print(f"safehaven replay: {path}: no such file", file=sys.stderr)
            return 2
        if not Path(path).is_file():
            print(f"safehaven replay: {path}: not a file (give a database or .bin streams)", file=sys.stderr)
            return 2
    dbs = [p for p in args.inputs if is_db(p)]
    bins = [p for p in args.inputs if not is_db(p)]
    if dbs and bins:
        print("safehaven replay: give either one database or raw .bin streams, not both", file=sys.stderr)
        return 2
    if len(dbs) > 1:
        print("safehaven replay: one database at a time", file=sys.stderr)
        return 2
    warn = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    engines: list = []
    try:
        decisions = replay_db(dbs[0], policy, keys, warn, engines) if dbs else \
            replay_bins(bins, policy or load_policy(None), keys, zones)
        out = sys.stdout
        for d in decisions:
            out.write((d.to_json() if args.json else human(d)) + "\n")
        stats = [dec.stats for e in engines for dec in e.decoders.values()]
        if dbs and not sum(s.frames for s in stats):
            raise NoFrames(f"{dbs[0]}: no frames: {found(stats)}{_HINT}")
    except NoFrames as exc:
        print(f"safehaven replay: {exc}", file=sys.stderr)
        return 2
    except (StoreError, PolicyError) as exc:  # a damaged record, or a recorded policy no longer valid
        print(f"safehaven replay: {exc}", file=sys.stderr)
        return 3
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            return _closed_pipe()
        print(f"safehaven replay: cannot read {exc.filename or 'input'}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


def _closed_pipe() -> int:
    """e.g. `| head`: fine, and no second error when Python flushes at exit."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0

