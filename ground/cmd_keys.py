"""`safehaven keys new --node ID [--node ID ...] --out F`: per-node authentication keys."""
from __future__ import annotations

import argparse
import sys

from safehaven.ground.keys import new_keys, save_keys

HELP = "create per-node authentication keys (file mode 0600; keys are never printed)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    new = sub.add_parser("new", help="write a fresh 32-byte key for each node")
    new.add_argument("--node", type=int, action="append", required=True, metavar="ID",
                     help="node id (0-255); repeat for several nodes")
    new.add_argument("--out", required=True, metavar="FILE", help="key file to create")
    new.add_argument("--force", action="store_true", help="overwrite an existing key file")


def run(args: argparse.Namespace) -> int:
    bad = [n for n in args.node if not 0 <= n <= 255]
    if bad:
        print(f"safehaven keys: node ids must be 0-255, got {bad}", file=sys.stderr)
        return 2
    if len(set(args.node)) != len(args.node):
        print("safehaven keys: a node id is given twice", file=sys.stderr)
        return 2
    try:
        save_keys(args.out, new_keys(args.node), force=args.force)
    except FileExistsError as exc:
        print(f"safehaven keys: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"safehaven keys: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
        return 1
    nodes = ", ".join(str(n) for n in sorted(args.node))
    print(f"wrote keys for node(s) {nodes} to {args.out} (mode 0600)", file=sys.stderr)
    return 0
