"""`safehaven ack [--sheltered] [--who NAME] [--db F]`: an operator acknowledgement for the running monitor.

Without --sheltered: ALL_CLEAR (accepted only when the conditions have been clear for the policy's
clear_s). With --sheltered: the crew is in the safe haven (SHELTER -> SHELTERED). The monitor records
the acknowledgement with its arrival time, so replay reproduces it.
Exit codes: 0 accepted, 1 rejected (the reason is printed), 3 no monitor answered, 4 database problem.
"""
from __future__ import annotations

import argparse

from safehaven.ground.args import seconds
from safehaven.ground.operator import ask_monitor

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
    return ask_monitor("ack", args.db, "acks", lambda store: store.queue_ack(args.who, args.sheltered),
                       args.timeout, "the acknowledgement")
