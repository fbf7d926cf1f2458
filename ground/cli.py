"""`safehaven` console script: one subcommand per module, loaded only when used.

Each command module defines `add_arguments(parser)` and `run(args) -> int` and a one-line HELP.
"""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> module; the module's HELP is shown in `safehaven --help`.
COMMANDS = {
    "decode": "ground.cmd_decode",
    "keys": "ground.cmd_keys",
    "flash": "ground.cmd_flash",
    "monitor": "ground.cmd_monitor",
    "replay": "ground.cmd_replay",
    "send": "ground.cmd_send",
    "status": "ground.cmd_status",
    "ack": "ground.cmd_ack",
    "export": "ground.cmd_export",
    "sim": "hil.cmd_sim",
    "bench": "hil.cmd_bench",
    "demo": "hil.cmd_demo",
    "vboard": "hil.cmd_vboard",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="safehaven",
        description="Leak detection and shelter decisions for sealed habitats and vacuum chambers.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, modname in COMMANDS.items():
        try:
            mod = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if exc.name != modname:
                raise
            continue  # not built yet in this checkout
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
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
