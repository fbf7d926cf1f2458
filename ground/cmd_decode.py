"""`safehaven decode FILE|- [--json] [--key-file F]`: decode a captured byte stream.

Exit codes: 0 whatever the bytes, as long as one frame is valid (also when the reader of stdout closes
it, as `| head` does), 1 the input cannot be read or holds not one valid frame (an empty or text file),
2 the key file is refused, 3 the output cannot be written (a full disk).
"""
from __future__ import annotations

import argparse
import os
import sys

from safehaven.ground.keys import KeyFileError, load_key_file
from safehaven.ground.wire import StreamDecoder, found

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


def _quiet_stdout() -> None:
    """After a closed pipe (`| head`): point stdout at /dev/null so Python's exit flush stays quiet."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def run(args: argparse.Namespace) -> int:
    keys = None
    if args.key_file:
        try:
            keys, public = load_key_file(args.key_file)
        except KeyFileError as exc:
            print(f"safehaven decode: {exc}", file=sys.stderr)
            return 2
        if public:
            print(f"safehaven decode: warning: {args.key_file} holds PUBLIC test keys", file=sys.stderr)
    try:
        src = sys.stdin.buffer if args.input == "-" else open(args.input, "rb")
    except OSError as exc:
        print(f"safehaven decode: cannot read {args.input}: {exc.strerror}", file=sys.stderr)
        return 1
    dec = StreamDecoder(keys)
    out = sys.stdout
    with src:
        while True:
            try:
                data = src.read(_CHUNK)
            except OSError as exc:
                print(f"safehaven decode: read error on {args.input}: {exc.strerror}", file=sys.stderr)
                return 1
            frames = dec.feed(data) if data else dec.flush()     # end of input: a frame cut off is judged too
            try:
                for frame in frames:
                    out.write(frame.to_json() + "\n")
                if not data:
                    out.flush()
            except BrokenPipeError:           # `| head` has what it wanted: not an error
                _quiet_stdout()
                return 0
            except OSError as exc:
                print(f"safehaven decode: cannot write the output: {exc.strerror}", file=sys.stderr)
                _quiet_stdout()
                return 3
            if not data:
                break
    if not dec.stats.frames:  # an empty or text file, another tool's data: said in one line, not exit 0
        print(f"safehaven decode: {args.input}: no frames: {found([dec.stats])}", file=sys.stderr)
        return 1
    print(_counters_line(dec.stats), file=sys.stderr)
    for node_id, ns in sorted(dec.stats.nodes.items()):
        print(f"node {node_id}: " + " ".join(f"{k}={v}" for k, v in vars(ns).items()), file=sys.stderr)
    return 0
