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
    "depress": "safehaven.ground.cmd_depress",
    "export": "safehaven.ground.cmd_export",
    "sim": "safehaven.hil.cmd_sim",
    "bench": "safehaven.hil.cmd_bench",
    "demo": "safehaven.hil.cmd_demo",
    "vboard": "safehaven.hil.cmd_vboard",
}


INTERNAL_ERROR = 70  # a failure no command anticipated: a bug, reported in one line (sysexits EX_SOFTWARE)


class Parser(argparse.ArgumentParser):
    """Usage errors in one line (`safehaven CMD: error: ...; see safehaven CMD --help`), exit 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with `only`, just that command's module is imported (the others are bare names)."""
    parser = Parser(
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
    except Exception as exc:  # noqa: BLE001  (the last line of defence: one line, never a traceback)
        where = exc.__traceback__
        while where is not None and where.tb_next is not None:
            where = where.tb_next
        at = f" at {where.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{where.tb_lineno}" if where else ""
        print(f"safehaven {args.command}: internal error: {type(exc).__name__}: {exc}{at} (a bug: please report "
              "it with the command line)", file=sys.stderr)
        return INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
