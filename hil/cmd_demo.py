"""`safehaven demo` (what `make demo` runs): a 3-zone, 9-node habitat on the virtual bench, live dashboard."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from safehaven import ROOT
from safehaven.ground.args import pace
from safehaven.ground.dashboard import make_view
from safehaven.hil import scenario as sc
from safehaven.hil.cmd_sim import print_outcome
from safehaven.hil.sim import Sim
from safehaven.hil.vm import VMUnavailable, check_runtime

HELP = "run the habitat demo: 3 zones x 3 nodes, a growing PrK-like leak, then a rapid depressurisation"
DESCRIPTION = (HELP + ". The live dashboard shows the voting, a lying node isolated, ISOLATE, SHELTER, then "
               "SHELTERED with the time to the CO2 limit; the report lands in --out.")
SCENARIO = ROOT / "scenarios" / "demo_habitat.toml"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="out/demo", metavar="DIR", help="run directory (default out/demo)")
    p.add_argument("--runtime", choices=("micropython", "cpython"), default="micropython")
    p.add_argument("--speed", type=pace, default=6.0, metavar="X",
                   help="pace virtual time at most X times real time, so the dashboard can be followed "
                        "(default 6: the 430 s habitat story in at least 72 s; 0 = as fast as the VMs go)")
    p.add_argument("--plain", action="store_true", help="plain log lines instead of the live dashboard")
    p.add_argument("--scenario", default=str(SCENARIO), help=argparse.SUPPRESS)


def run(args) -> int:
    try:
        scen = sc.load(args.scenario)
    except sc.ScenarioError as exc:
        print(f"safehaven demo: {exc}", file=sys.stderr)
        return 2
    try:
        check_runtime(args.runtime)
    except VMUnavailable as exc:
        print(f"safehaven demo: {exc}", file=sys.stderr)
        return 2
    view = make_view(plain=True if args.plain else None)
    last = [0.0]

    def on_step(t, engine, new, link_events):
        # redraw at most 8 times a second, but never drop a decision
        if new or time.monotonic() - last[0] > 0.125:
            last[0] = time.monotonic()
            view.update(engine.snapshot(), new, link_events)

    print(f"safehaven demo: {scen.description}", file=sys.stderr)
    try:
        summary = Sim(scen, args.out, args.runtime, args.speed or None, lambda m: None, on_step).run()
    finally:
        view.close()
    print_outcome(summary, args.out)
    print(f"Report: {Path(args.out).resolve() / 'report.md'}")
    return 0 if summary["passed"] else 1
