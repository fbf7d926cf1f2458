"""`safehaven depress ZONE --for S [--max-rate PA_S] [--who NAME] [--db F]`: announce a planned depress.

An airlock vented for an EVA falls as a hole would; announced, its fall counts as MONITOR only, for at most
--for seconds (the policy's shelter.depress_max_s bounds it), and, with --max-rate, only while it falls no
faster than that. A fall in any other zone, a faster one, or one after the time is decided as always. Only a
zone whose volume the policy gives, at most shelter.depress_max_volume_m3, never the safe haven, and not once
the zone already falls at a leak's rate (docs/shelter.md, "A planned depress"). `--end` ends an announcement.
The running monitor records it with its arrival time (replay applies it); it is as authenticated as
`safehaven ack`: whoever may write the monitor's database may announce.
Exit codes: 0 accepted, 1 refused (the reason is printed), 3 no monitor answered, 4 database problem.
"""
from __future__ import annotations

import argparse
import math

from safehaven.ground.args import seconds
from safehaven.ground.cmd_ack import operator_name
from safehaven.ground.operator import ask_monitor

HELP = "announce a planned depress of a zone (an airlock before an EVA) to the running monitor"
DESCRIPTION = __doc__.split("\n\n", 1)[1].rsplit("\nExit codes", 1)[0]


def rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number of Pa/s") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError("must be a fall faster than 0 Pa/s (a positive number)")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("zone", help="the zone to be depressed (e.g. airlock)")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--for", dest="for_s", type=seconds, metavar="S", help="how long the depress may take, s")
    when.add_argument("--end", action="store_true", help="end the zone's announcement now")
    p.add_argument("--max-rate", type=rate, metavar="PA_S",
                   help="the fastest fall announced (Pa/s, positive); a faster fall is decided as always")
    p.add_argument("--db", metavar="F", default="safehaven.sqlite", help="database of the running monitor")
    p.add_argument("--who", default="operator", type=operator_name,
                   help="name recorded with the announcement (1-32 printable characters)")
    p.add_argument("--timeout", type=seconds, default=5.0, metavar="S", help="seconds to wait for the monitor")


def run(args: argparse.Namespace) -> int:
    for_s = 0.0 if args.end else args.for_s
    return ask_monitor("depress", args.db, "depress",
                       lambda store: store.queue_depress(args.who, args.zone, for_s, args.max_rate),
                       args.timeout, "the announcement")
