"""`safehaven export DB --csv [--what frames|decisions] [--out F]`: the recording as CSV.

frames: one row per decoded frame (arrival time, link, node, type, seq, uptime, then every field);
decisions: one row per decision (time, event, state, previous, reasons, policy hash).
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

from safehaven.ground.args import key_file
from safehaven.ground.store import Store, StoreError
from safehaven.ground.wire import StreamDecoder
from safehaven.protocol.link import ReplayGuard

HELP = "export a recording (decoded frames or decisions) as CSV"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("db", help="database written by monitor or sim")
    p.add_argument("--csv", action="store_true", required=True, help="CSV output (the only format)")
    p.add_argument("--what", choices=("frames", "decisions"), default="frames")
    p.add_argument("--out", metavar="F", help="output file (default stdout)")
    p.add_argument("--key-file", metavar="F", help="node keys, to accept signed frames")


def frame_rows(store, keys):
    """The frames the monitor accepted: one replay guard for all links, the recorded unsigned opt-ins."""
    decoders: dict = {}
    guard = ReplayGuard()
    allow = store.meta("allow_unsigned", []) or []
    for _id, t, link, kind, data in store.iter_rx():
        if kind != "data":
            continue
        dec = decoders.get(link)
        if dec is None:
            dec = decoders[link] = StreamDecoder(keys, allow, guard)
        for f in dec.feed(data):
            yield {"arrival_s": t, "link": link, "node_id": f.node_id, "type": f.name, "seq": f.seq,
                   "uptime_ms": f.uptime_ms, "authenticated": int(bool(f.authenticated)), **f.fields}


def run(args: argparse.Namespace) -> int:
    if not Path(args.db).exists():
        print(f"safehaven export: {args.db}: no such database", file=sys.stderr)
        return 4
    try:
        keys = key_file(args.key_file)
        store = Store(args.db, readonly=True)
    except (StoreError, ValueError, OSError) as exc:
        print(f"safehaven export: {exc}", file=sys.stderr)
        return 4
    try:
        out = open(args.out, "w", newline="") if args.out else sys.stdout
    except OSError as exc:
        print(f"safehaven export: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        store.close()
        return 2
    try:
        if args.what == "decisions":
            w = csv.writer(out)
            w.writerow(["t", "event", "state", "previous", "node", "reasons", "policy"])
            for text in store.decisions():
                d = store.loads(text, "a decision", dict)
                try:
                    w.writerow([d["t"], d["event"], d["state"], d["previous"], d.get("node", ""),
                                " | ".join(map(str, d["reasons"])), d["policy"]["hash"]])
                except (KeyError, TypeError):
                    raise StoreError(f"{args.db}: damaged record: a decision lacks its fields") from None
        else:
            base = ["arrival_s", "link", "node_id", "type", "seq", "uptime_ms", "authenticated"]
            rows = list(frame_rows(store, keys))
            extra = sorted({k for r in rows for k in r} - set(base))
            dw = csv.DictWriter(out, fieldnames=base + extra, restval="")
            dw.writeheader()
            dw.writerows(rows)
    except StoreError as exc:
        print(f"safehaven export: {exc}", file=sys.stderr)
        return 4
    except BrokenPipeError:  # e.g. `| head`: fine, and no second error when Python flushes at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a full disk, a vanished folder
        print(f"safehaven export: cannot write {args.out or 'stdout'}: {exc.strerror or exc}", file=sys.stderr)
        return 4
    finally:
        store.close()
        if args.out:
            try:
                out.close()
            except OSError:
                pass
    return 0
