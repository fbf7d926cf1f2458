"""`safehaven bench run SCENARIO`: the HIL runner, on an emulated chamber (--sim) or a real one."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from safehaven.ground.args import baud_rate, node_ports
from safehaven.hil import bench, scenario as sc
from safehaven.hil.cmd_sim import print_outcome
from safehaven.hil.vm import VMUnavailable, check_runtime

HELP = "run a scenario on a vacuum-chamber bench (real gauge, relay board and nodes, or --sim)"
DESCRIPTION = (HELP + ". Switches pump/vent/leak valves, reads a Pfeiffer TPG 36x gauge, compares every node "
               "with it and checks the scenario's expectations; writes report.md, summary.json and junit.xml. "
               "Ctrl-C puts the valves in the scenario's safe state and still writes the report.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="bench_command", metavar="ACTION", required=True)
    r = sub.add_parser("run", help="run one scenario", description=DESCRIPTION)
    r.add_argument("scenario", help="scenario file (scenarios/*.toml)")
    r.add_argument("--sim", action="store_true", help="emulated chamber, gauge, relay board and nodes")
    r.add_argument("--node", action="append", default=[], metavar="ID=PORT",
                   help="a node's serial port (repeat for each node)")
    r.add_argument("--gauge", metavar="PORT", help="TPG 36x gauge controller port (9600 8N1)")
    r.add_argument("--gauge-baud", type=baud_rate, default=9600)
    r.add_argument("--valves", metavar="PORT", help="relay board port for pump, vent and leak valves")
    r.add_argument("--valves-baud", type=baud_rate, default=19200)
    r.add_argument("--runtime", choices=("micropython", "cpython"), default="micropython",
                   help="with --sim: the VM the node firmware runs in")
    r.add_argument("--out", required=True, metavar="DIR", help="run directory")


def run(args) -> int:
    try:
        scen = sc.load(args.scenario)
    except sc.ScenarioError as exc:
        print(f"safehaven bench: {exc}", file=sys.stderr)
        return 2
    if scen.chamber is None:
        print(f"safehaven bench: {args.scenario} has no [chamber]; use `safehaven sim` for habitat scenarios",
              file=sys.stderr)
        return 2
    out = Path(args.out)
    if args.sim:
        if args.node or args.gauge or args.valves:
            print("safehaven bench: --sim takes no ports", file=sys.stderr)
            return 2
        try:
            check_runtime(args.runtime)
        except VMUnavailable as exc:
            print(f"safehaven bench: {exc}", file=sys.stderr)
            return 2
        summary = bench.run_sim(scen, out, args.runtime)
    else:
        try:
            nodes = node_ports(args.node)
        except ValueError as exc:
            print(f"safehaven bench: {exc}", file=sys.stderr)
            return 2
        missing = [flag for flag, v in (("--node", nodes), ("--gauge", args.gauge), ("--valves", args.valves)) if not v]
        if missing:
            print(f"safehaven bench: give --sim, or {', '.join(missing)}", file=sys.stderr)
            return 2
        unknown = sorted(set(nodes) - {n.id for n in scen.nodes})
        if unknown:
            print(f"safehaven bench: node(s) {unknown} are not in {args.scenario}", file=sys.stderr)
            return 2
        try:
            summary = bench.run_hardware(scen, nodes, args.gauge, args.valves, out, args.gauge_baud, args.valves_baud)
        except OSError as exc:
            print(f"safehaven bench: {exc} (check the port name, that no other program holds it, and "
                  "that you may open it: group dialout)", file=sys.stderr)
            return 2
    print_outcome(summary, out)
    print(f"JUnit XML: {out}/junit.xml")
    return 0 if summary["passed"] else 1
