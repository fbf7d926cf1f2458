"""Ground decoder throughput: ground.wire.StreamDecoder vs pymavlink's parse_buffer, same run.

    .venv/bin/python bench/decode.py [--frames N] [--chunk BYTES] [--signed]

Both streams carry N telemetry-like frames with changing values: ours are telemetry frames made
by ground.wire.encode_frame (the firmware codec's exact bytes), MAVLink's are MAVLink 2
SCALED_PRESSURE messages (a comparable 14-byte payload; ours is 19 bytes plus a longer header
and a CRC-32). Each decoder gets the stream in --chunk-sized reads and must return all N frames;
the timed part is feed/parse_buffer only (framing + CRC + parse, ours also builds SI fields).

--garbage-every K also injects 8 random bytes before every K-th frame of both streams and reports
the share of frames each decoder still recovers (untimed; the streams are otherwise the same).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MAVLINK20", "1")


def our_stream(n: int, signed: bool) -> tuple[bytes, dict | None]:
    from safehaven.ground.wire import encode_frame
    from safehaven.protocol import messages as M
    key = bytes(range(32)) if signed else None
    parts = [encode_frame(M.TELEMETRY, 1, i & 0xFFFF, (1000 * i) & 0xFFFFFFFF,
                          (25767233 - (i % 5000), 2500 + i % 50, 420 + i % 300, 3700, -(i % 1000), i % 9000,
                           M.NOMINAL, 0), key, i) for i in range(n)]
    return b"".join(parts), ({1: key} if key else None)


def mavlink_stream(n: int):
    from pymavlink.dialects.v20 import common as mavlink2
    mav = mavlink2.MAVLink(None, srcSystem=1, srcComponent=1)
    parts = []
    for i in range(n):
        msg = mav.scaled_pressure_encode(1000 * i & 0xFFFFFFFF, 1006.5 - (i % 5000) * 0.01, 0.0,
                                         2500 + i % 50, 2500)
        parts.append(msg.pack(mav))
    return b"".join(parts), mavlink2


def inject(frames: list[bytes], every: int, seed: int = 7) -> bytes:
    import random
    rng = random.Random(seed)
    return b"".join((rng.randbytes(8) + f) if i % every == every - 1 else f for i, f in enumerate(frames))


def split_mavlink(data: bytes, dialect) -> list[bytes]:
    mav = dialect.MAVLink(None)
    return [m.get_msgbuf() for m in mav.parse_buffer(data)]


def split_ours(data: bytes) -> list[bytes]:
    return [b"\x00" + p + b"\x00" for p in data.split(b"\x00") if p]


def recovery(n: int, every: int, ours: bytes, keys, mav: bytes, dialect) -> tuple[float, float]:
    _, got_ours = time_ours(inject(split_ours(ours), every), keys, 4096)
    parser = dialect.MAVLink(None)
    parser.robust_parsing = True
    bad = inject(split_mavlink(mav, dialect), every)
    got_mav = 0
    for i in range(0, len(bad), 4096):
        got_mav += sum(m.get_type() == "SCALED_PRESSURE" for m in parser.parse_buffer(bad[i:i + 4096]) or ())
    return got_ours / n, got_mav / n


_NODE_SNIPPET = """
import time
from protocol.codec import Encoder, Decoder
if not hasattr(time, "ticks_us"):
    class _T:
        @staticmethod
        def ticks_us():
            return int(time.perf_counter() * 1e6)
        @staticmethod
        def ticks_diff(a, b):
            return a - b
    ticks = _T
else:
    ticks = time
def per_call_us(enc, n):
    t0 = ticks.ticks_us()
    for i in range(n):
        enc.telemetry(i, 25767233, 2508, 420, 3700, -123, 50, 0, 0)
    return ticks.ticks_diff(ticks.ticks_us(), t0) / n
plain = Encoder(1)
signed = Encoder(1, key=bytes(range(32)), epoch=1)
frame = bytes(signed.telemetry(0, 25767233, 2508, 420, 3700, -123, 50, 0, 0))
dec = Decoder(node_id=None, keys={1: bytes(range(32))}, queue=4)
t0 = ticks.ticks_us()
for i in range(200):
    dec.feed(frame)
    dec.pop()
decode_us = ticks.ticks_diff(ticks.ticks_us(), t0) / 200
result = [per_call_us(plain, 1000), per_call_us(signed, 200), decode_us]
"""


def node_costs() -> None:
    """Per-frame cost of the firmware codec in the MicroPython VM and in CPython (not a board)."""
    from safehaven.hil.vm import CPythonVM, MicroPythonVM
    print("firmware codec, us per telemetry frame: encode unsigned / encode signed / decode signed (replayed)")
    for vm_class in (MicroPythonVM, CPythonVM):
        with vm_class() as vm:
            plain, signed, dec = vm.exec(_NODE_SNIPPET)
        print(f"  {vm_class.runtime:12s} {plain:8.1f} {signed:8.1f} {dec:8.1f}")


def time_ours(data: bytes, keys, chunk: int) -> tuple[float, int]:
    from safehaven.ground.wire import StreamDecoder
    dec = StreamDecoder(keys)
    got = 0
    t0 = time.perf_counter()
    for i in range(0, len(data), chunk):
        got += len(dec.feed(data[i:i + chunk]))
    return time.perf_counter() - t0, got


def time_mavlink(data: bytes, dialect, chunk: int) -> tuple[float, int]:
    mav = dialect.MAVLink(None)
    mav.robust_parsing = True
    got = 0
    t0 = time.perf_counter()
    for i in range(0, len(data), chunk):
        msgs = mav.parse_buffer(data[i:i + chunk])
        if msgs:
            got += len(msgs)
    return time.perf_counter() - t0, got


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=4096, help="bytes per read (default 4096)")
    parser.add_argument("--signed", action="store_true", help="our frames signed (HMAC checked per frame)")
    parser.add_argument("--garbage-every", type=int, default=0, metavar="K",
                        help="also measure frames recovered with 8 garbage bytes before every K-th frame")
    parser.add_argument("--node", action="store_true",
                        help="also time the firmware codec (Encoder/Decoder) in the MicroPython VM and CPython")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each decoder, interleaved; the best of each is reported (default 3)")
    args = parser.parse_args(argv)
    n = args.frames
    ours, keys = our_stream(n, args.signed)
    mav, dialect = mavlink_stream(n)
    t_ours = t_mav = float("inf")
    for _ in range(max(1, args.repeat)):      # interleaved, so both see the same machine load
        t, got_ours = time_ours(ours, keys, args.chunk)
        t_ours = min(t_ours, t)
        t, got_mav = time_mavlink(mav, dialect, args.chunk)
        t_mav = min(t_mav, t)
    if got_ours != n or got_mav != n:
        print(f"decoded {got_ours} (ours) and {got_mav} (pymavlink) of {n} frames", file=sys.stderr)
        return 1
    fps_ours, fps_mav = n / t_ours, n / t_mav
    print(f"frames: {n}, read size {args.chunk} B, signed: {args.signed}, best of {max(1, args.repeat)}")
    print(f"safehaven ground.wire: {len(ours) / n:5.1f} B/frame  {fps_ours:12,.0f} frames/s  ({t_ours:.2f} s)")
    print(f"pymavlink parse_buffer: {len(mav) / n:5.1f} B/frame  {fps_mav:12,.0f} frames/s  ({t_mav:.2f} s)")
    print(f"ratio: {fps_ours / fps_mav:.2f}x")
    if args.garbage_every:
        r_ours, r_mav = recovery(n, args.garbage_every, ours, keys, mav, dialect)
        print(f"8 garbage bytes before every {args.garbage_every}th frame: frames recovered: "
              f"safehaven {100 * r_ours:.1f} %, pymavlink {100 * r_mav:.1f} %")
    if args.node:
        node_costs()
    return 0


if __name__ == "__main__":
    sys.exit(main())
