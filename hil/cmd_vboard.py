"""`safehaven vboard --board NAME [--fs DIR]`: a virtual board behind a pty, until killed.

Prints the pty's path as the first line on stdout (a UART-link board prints its link's pty on the
second line), then runs: MicroPython's REPL for mpremote and `safehaven flash`/`probe`, and after a
reset boot.py and main.py from DIR (the board's flash; a temporary folder without --fs), so the
flashed firmware runs in the MicroPython VM against emulated BMP280 and SCD41 sensors. The board's
watchdog, Ctrl-C handling (micropython.kbd_intr), LED and button behave as on the board (hil/vboard.py).

    safehaven vboard --board pico --fs pico-fs          # in its own terminal; prints e.g. /dev/pts/7
    safehaven flash --board pico --port /dev/pts/7 --node-id 1 --zone A       # in another
    safehaven monitor --node 1=/dev/pts/7
    safehaven probe --port /dev/pts/7 --board pico --node-id 1
The whole sequence, with keys and a running monitor: docs/wiring.md, "Try it on a virtual board".
"""
from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from pathlib import Path

from safehaven.ground.cmd_flash import FlashError, board_names, load_board
from safehaven.hil.vboard import VirtualBoard

HELP = "run a virtual board (MicroPython REPL on a pty, the flashed firmware behind it)"
DESCRIPTION = __doc__


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--board", required=True, help="board file name: " + ", ".join(board_names()))
    p.add_argument("--fs", metavar="DIR", help="folder holding the board's filesystem (default: a new temporary one)")
    p.add_argument("--hold-button", action="store_true",
                   help="hold the board's button (BOOTSEL / BOOT) through the first boot: maintenance mode")


def run(args) -> int:
    try:
        board = load_board(args.board)
    except FlashError as e:
        print(f"safehaven vboard: {e}", file=sys.stderr)
        return 2
    tmp = None
    if args.fs:
        fs = Path(args.fs)
        if fs.exists() and not fs.is_dir():
            print(f"safehaven vboard: {fs}: not a folder", file=sys.stderr)
            return 2
    else:
        tmp = tempfile.TemporaryDirectory(prefix="safehaven-vboard-")
        fs = Path(tmp.name)
    vb = VirtualBoard(board, fs, hold_button=args.hold_button)
    print(vb.open(), flush=True)
    if vb.uart_path:
        print(vb.uart_path, flush=True)
    print(f"vboard: {board['name']} on {vb.path}, filesystem {fs}", file=sys.stderr, flush=True)

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        vb.serve()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        gap = f", longest gap between watchdog feeds {vb.max_feed_gap_ms:.0f} ms" if vb.max_feed_gap_ms else ""
        print(f"vboard: stopped after {vb.boots} boot(s){gap}", file=sys.stderr, flush=True)
        vb.close()
        if tmp is not None:
            tmp.cleanup()
    return 0
