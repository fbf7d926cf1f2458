"""`safehaven sim SCENARIO`: run a scenario on the virtual bench (no hardware)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from safehaven.hil import scenario as sc
from safehaven.hil.sim import Sim
from safehaven.hil.vm import VMUnavailable, check_runtime

HELP = "run a scenario on the virtual bench: firmware in VMs, emulated sensors, physics, live ground"
DESCRIPTION = (HELP + ". Writes node-ID.bin, telemetry.sqlite, decisions.jsonl, summary.json, junit.xml and "
               "report.md with its PNGs to --out; exits 1 when an expectation is not met, 2 on a bad scenario, "
               "trace or option (docs/scenarios.md, \"Running a scenario\").")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario file (scenarios/*.toml)")
    p.add_argument("--runtime", choices=("micropython", "cpython"), default="micropython",
                   help="VM the node firmware runs in (default: the real MicroPython VM)")
    p.add_argument("--speed", type=float, default=None, metavar="X",
                   help="pace virtual time at most X times real time (default: as fast as possible)")
    p.add_argument("--out", required=True, metavar="DIR", help="run directory (created; files in it are replaced)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def run(args) -> int:
    try:
        scen = sc.load(args.scenario)
    except sc.ScenarioError as exc:
        print(f"safehaven sim: {exc}", file=sys.stderr)
        return 2
    if args.speed is not None and not 0 < args.speed < 1e6:  # also refuses nan and inf
        print("safehaven sim: --speed must be a number > 0", file=sys.stderr)
        return 2
    if Path(args.out).exists() and not Path(args.out).is_dir():
        print(f"safehaven sim: --out {args.out}: exists and is not a directory; give a run directory",
              file=sys.stderr)
        return 2
    try:
        check_runtime(args.runtime)
    except VMUnavailable as exc:
        print(f"safehaven sim: {exc}", file=sys.stderr)
        return 2
    for trace in scen.traces.values():
        for note in trace.notes:                # a de-quantised column: said, not silent
            print(f"safehaven sim: {note}")
    progress = (lambda msg: None) if args.quiet else None
    summary = Sim(scen, args.out, args.runtime, args.speed, progress).run()
    print_outcome(summary, args.out)
    return 0 if summary["passed"] else 1


def print_outcome(summary: dict, out) -> None:
    for e in summary["expectations"]:
        print(f"  {'ok ' if e['met'] else 'FAIL'}  {e['text']}  ({e['detail']})")
    for nid, n in sorted(summary["nodes"].items(), key=lambda kv: int(kv[0])):
        if n.get("vm") != "ok":
            print(f"  FAIL  node {nid} firmware stopped: {n['vm']}")
    verdict = "PASS" if summary["passed"] else "FAIL"
    print(f"{summary['scenario']}: {verdict} in {summary['wall_s']} s; report: {out}/report.md")
