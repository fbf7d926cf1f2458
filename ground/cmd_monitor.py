"""`safehaven monitor --node ID=PORT ... [--policy F] [--db F] [--key-file F]`: the live ground station.

A rich dashboard on a terminal, plain timestamped lines on a pipe. Everything received is recorded in the
database (replay it with `safehaven replay DB --json`); `send`, `ack` and `status` talk to a running
monitor through the same database.
"""
from __future__ import annotations

import argparse
import sys
import time

from safehaven.ground.args import baud_rate, key_file, node_id, node_links, seconds
from safehaven.ground.args import zones as parse_zones
from safehaven.ground.clock import WallClock
from safehaven.ground.dashboard import make_view
from safehaven.ground.engine import Engine
from safehaven.ground.ingest import LinkError
from safehaven.ground.keys import load_key_file
from safehaven.ground.policy import PolicyError, load_policy
from safehaven.ground.station import Station
from safehaven.ground.store import Store, StoreError

HELP = "live ground station: read node links, vote, decide, record, show the dashboard"
DEFAULT_DB = "safehaven.sqlite"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--node", action="append", default=[], metavar="ID=PORT", required=True,
                   help="a node link: serial port (/dev/ttyACM0, COM3) or pyserial URL (socket://host:port, "
                        "rfc2217://, spy://, loop://); repeat per node")
    p.add_argument("--zone", action="append", default=[], metavar="ID=ZONE",
                   help="fix a node's zone (otherwise taken from its heartbeats)")
    p.add_argument("--policy", metavar="F", help="policy TOML (default: built-in, see policies/default.toml)")
    p.add_argument("--db", metavar="F", default=DEFAULT_DB, help=f"database to record to (default {DEFAULT_DB})")
    p.add_argument("--key-file", metavar="F", help="node keys (safehaven keys new): verify frames, sign commands")
    p.add_argument("--allow-unsigned", action="append", default=[], type=node_id, metavar="ID",
                   help="with --key-file: also accept unsigned frames from this node, which has no key "
                        "(a mixed fleet; shown on the dashboard and recorded); repeat per node")
    p.add_argument("--baud", type=baud_rate, default=115200, help="baud rate for real serial ports (default 115200)")
    p.add_argument("--plain", action="store_true", help="plain lines even on a terminal")
    p.add_argument("--duration", type=seconds, metavar="S", help="stop after S seconds (tests, unattended runs)")


def check_allow_unsigned(allow: list[int], keys: dict[int, bytes] | None) -> None:
    """--allow-unsigned only makes sense beside keys, and never for a node that has one."""
    if allow and not keys:
        raise ValueError("--allow-unsigned needs --key-file: without keys every node may send unsigned frames")
    signed = sorted(set(allow) & set(keys or {}))
    if signed:
        raise ValueError(f"--allow-unsigned {signed[0]}: that node has a key in the key file and must sign")


def _warn_about_keys(args: argparse.Namespace) -> None:
    if args.key_file and load_key_file(args.key_file)[1]:
        print(f"safehaven monitor: warning: {args.key_file} holds PUBLIC test keys: anyone can sign as these nodes",
              file=sys.stderr)
    for n in sorted(args.allow_unsigned):
        print(f"safehaven monitor: warning: node {n} may send unsigned frames (--allow-unsigned {n})", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    try:
        links = node_links(args.node)
        zones = parse_zones(args.zone)
        policy = load_policy(args.policy)
        keys = key_file(args.key_file)
        check_allow_unsigned(args.allow_unsigned, keys)
    except (ValueError, PolicyError, OSError) as exc:
        print(f"safehaven monitor: {exc}", file=sys.stderr)
        return 2
    _warn_about_keys(args)
    try:
        store = Store(args.db)
    except StoreError as exc:
        print(f"safehaven monitor: {exc}", file=sys.stderr)
        return 3
    try:
        store.acquire_lease()  # one monitor per database: two would lose commands between them
        engine = Engine(policy, keys=keys, zones=zones, allow_unsigned=args.allow_unsigned)
        station = Station(links, engine, store, WallClock(), keys=keys, baudrate=args.baud)
    except StoreError as exc:
        print(f"safehaven monitor: {exc}", file=sys.stderr)
        _close_quietly(store)
        return 3
    try:
        problems = station.open(strict=True)
    except LinkError as exc:
        print(f"safehaven monitor: {exc}", file=sys.stderr)
        station.ingest.close()
        _close_quietly(store)
        return 4
    for msg in problems:
        print(f"safehaven monitor: warning: {msg}", file=sys.stderr)
    return _loop(args, station, store, make_view(True if args.plain else None))


def _loop(args, station, store, view) -> int:
    """Poll until --duration or Ctrl-C; every ending is one line and an exit code, never a traceback."""
    rc = 0
    start = time.monotonic()
    try:
        while args.duration is None or time.monotonic() - start < args.duration:
            decisions = station.poll(0.1)
            view.update(station.engine.snapshot(), decisions, station.link_events)
    except KeyboardInterrupt:
        pass
    except StoreError as exc:
        print(f"safehaven monitor: {exc}", file=sys.stderr)
        rc = 3
    finally:
        view.close()
        station.ingest.close()
        try:
            store.close()
        except StoreError as exc:
            print(f"safehaven monitor: stopped, but the last records were not written: {exc}", file=sys.stderr)
            rc = 3
        except KeyboardInterrupt:  # a second Ctrl-C while closing
            rc = rc or 130
    return rc


def _close_quietly(store) -> None:
    try:
        store.close()
    except Exception:  # noqa: BLE001  (already failing: the first error is the one reported)
        pass
