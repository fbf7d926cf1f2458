"""`safehaven decode FILE|- [--json] [--key-file F]`: decode a captured byte stream."""
from __future__ import annotations

import argparse
import sys

HELP = "decode a captured stream: one JSON object per accepted frame, counters on stderr"

_CHUNK = 1 << 16


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="FILE|-", help="capture file, or - for standard input")
    parser.add_argument("--json", action="store_true",
                        help="JSON lines (the default; the flag is accepted for scripts that state it)")
    parser.add_argument("--key-file", metavar="F", help="per-node keys to verify signed frames")


def _counters_line(stats) -> str:
    d = stats.as_dict()
    d.pop("nodes")
    return " ".join(f"{k}={v}" for k, v in d.items())


def run(args: argparse.Namespace) -> int:
    from ground.keys import KeyFileError, load_keys
    from ground.wire import StreamDecoder

    keys = None
    if args.key_file:
        try:
            keys = load_keys(args.key_file)
        except KeyFileError as exc:
            print(f"safehaven decode: {exc}", file=sys.stderr)
            return 2
    try:
        src = sys.stdin.buffer if args.input == "-" else open(args.input, "rb")
    except OSError as exc:
        print(f"safehaven decode: cannot read {args.input}: {exc.strerror}", file=sys.stderr)
        return 1
    dec = StreamDecoder(keys)
    out = sys.stdout
    try:
        with src:
            while True:
                data = src.read(_CHUNK)
                if not data:
                    break
                for frame in dec.feed(data):
                    out.write(frame.to_json() + "\n")
    except OSError as exc:
        print(f"safehaven decode: read error on {args.input}: {exc.strerror}", file=sys.stderr)
        return 1
    for frame in dec.feed(b"\x00"):      # a frame cut off at the end of the capture
        out.write(frame.to_json() + "\n")
    dec.stats.bytes -= 1
    out.flush()
    print(_counters_line(dec.stats), file=sys.stderr)
    for node_id, ns in sorted(dec.stats.nodes.items()):
        print(f"node {node_id}: " + " ".join(f"{k}={v}" for k, v in vars(ns).items()), file=sys.stderr)
    return 0
