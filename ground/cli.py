"""`safehaven` console script: one subcommand per module, loaded only when used.

Each command module defines `add_arguments(parser)` and `run(args) -> int` and a one-line HELP.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> module; the module's HELP is shown in `safehaven --help`.
COMMANDS = {
    "decode": "safehaven.ground.cmd_decode",
    "keys": "safehaven.ground.cmd_keys",
    "flash": "safehaven.ground.cmd_flash",
    "probe": "safehaven.ground.cmd_probe",
    "monitor": "safehaven.ground.cmd_monitor",
    "replay": "safehaven.ground.cmd_replay",
    "send": "safehaven.ground.cmd_send",
    "status": "safehaven.ground.cmd_status",
    "ack": "safehaven.ground.cmd_ack",
    "export": "safehaven.ground.cmd_export",
    "sim": "safehaven.hil.cmd_sim",
    "bench": "safehaven.hil.cmd_bench",
    "demo": "safehaven.hil.cmd_demo",
    "vboard": "safehaven.hil.cmd_vboard",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with `only`, just that command's module is imported (the others are bare names)."""
    parser = argparse.ArgumentParser(
        prog="safehaven",
        description="Leak detection and shelter decisions for sealed habitats and vacuum chambers.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, modname in COMMANDS.items():
        if only is not None and name != only:
            sub.add_parser(name)
            continue
        mod = importlib.import_module(modname)
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("safehaven: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
