"""`safehaven ack [--sheltered] [--who NAME] [--db F]`: an operator acknowledgement for the running monitor.

Without --sheltered: ALL_CLEAR (accepted only when the conditions have been clear for the policy's
clear_s). With --sheltered: the crew is in the safe haven (SHELTER -> SHELTERED). The monitor records
the acknowledgement with its arrival time, so replay reproduces it.
Exit codes: 0 accepted, 1 rejected (the reason is printed), 3 no monitor answered, 4 database problem.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from safehaven.ground.args import seconds
from safehaven.ground.store import Store, StoreError

HELP = "operator acknowledgement (ALL_CLEAR, or --sheltered) for the running monitor"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="F", default="safehaven.sqlite", help="database of the running monitor")
    p.add_argument("--sheltered", action="store_true", help="confirm the crew is in the safe haven")
    p.add_argument("--who", default="operator", type=operator_name,
                   help="name recorded with the acknowledgement (1-32 printable characters)")
    p.add_argument("--timeout", type=seconds, default=5.0, metavar="S", help="seconds to wait for the monitor")


def operator_name(text: str) -> str:
    """An operator's name as it will appear in the log: printable, one line, 1-32 characters."""
    if not 1 <= len(text) <= 32:
        raise argparse.ArgumentTypeError("must be 1-32 characters")
    if not text.isprintable() or text != text.strip():
        raise argparse.ArgumentTypeError("only printable characters (no newline, tab or control characters), "
                                         "no leading or trailing space")
    return text


def run(args: argparse.Namespace) -> int:
    if not Path(args.db).exists():
        print(f"safehaven ack: {args.db}: no database; is `safehaven monitor --db {args.db}` running?",
              file=sys.stderr)
        return 4
    try:
        store = Store(args.db)
        try:
            ack_id = store.queue_ack(args.who, args.sheltered)
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                row = store.ack_row(ack_id)
                if row and row[0] != "pending":
                    print(f"{row[0]}: {row[1]}")
                    return 0 if row[0] == "accepted" else 1
                time.sleep(0.05)
            store.db.execute("UPDATE acks SET status = 'abandoned' WHERE id = ? AND status = 'pending'", (ack_id,))
        finally:
            store.close()
    except StoreError as exc:
        print(f"safehaven ack: {exc}", file=sys.stderr)
        return 4
    print(f"safehaven ack: no monitor picked the acknowledgement up from {args.db}; is it running?", file=sys.stderr)
    return 3
