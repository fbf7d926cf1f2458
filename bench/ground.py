"""Ground station benchmark: frames/s through ingest + vote + decide, and the time to replay a 24 h,
3-node, 10 Hz recording from the database (target < 60 s on the 2-core CI machine; for shorter
--hours, the same pro rata). Wall and CPU time both: on a shared machine the wall time mostly says
how busy it was, the process's CPU time what the code costs (on an idle machine the two agree).

    .venv/bin/python bench/ground.py                 # full: 24 h recording (built once, cached in build/)
    .venv/bin/python bench/ground.py --hours 1       # quick

Frames are made by the firmware codec (protocol/codec.py) as the nodes would send them: one zone of
three nodes at 10 Hz with noise and a heartbeat every 10 s, a slow leak in the last hour. Chunks are
what a live monitor would read: each node's frames of one second (10 frames) per chunk.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from safehaven.ground.cmd_replay import replay_db  # noqa: E402
from safehaven.ground.engine import Engine  # noqa: E402
from safehaven.ground.policy import load_policy  # noqa: E402
from safehaven.ground.store import Store  # noqa: E402
from safehaven.protocol.codec import Encoder  # noqa: E402

NODES = (1, 2, 3)
OFFSETS_PA = {1: 30.0, 2: -25.0, 3: 5.0}


def chunks(hours: float, hz: int = 10, seed: int = 1):
    """Yield (t_s, link, bytes): per node per second one chunk of `hz` telemetry frames."""
    rnd = random.Random(seed)
    noise = [rnd.gauss(0.0, 1.3) for _ in range(4093)]
    encs = {n: Encoder(n) for n in NODES}
    seconds = int(hours * 3600)
    leak_from = max(0, seconds - 3600)
    k = 0
    p = 101325.0
    for s in range(seconds):
        rate = -0.03 if s >= leak_from else 0.0
        for n in NODES:
            enc = encs[n]
            buf = bytearray()
            if s % 10 == 0:
                buf += enc.heartbeat(s * 1000 + 1, 0x0100, 4, 1, 100000, b"lab", 0, 0, 0, 0, 0, 0, 0)
            for i in range(hz):
                k += 1
                pv = p + OFFSETS_PA[n] + rate * (i / hz) + noise[k % 4093]
                state = 2 if rate and s - leak_from > 120 else 0
                buf += enc.telemetry(s * 1000 + i * (1000 // hz) + n, int(pv * 256), 2150 + int(noise[(k * 7) % 4093]),
                                     800 + int(noise[(k * 3) % 4093] * 5), 4000, int((rate + noise[(k * 5) % 4093] * 0.003)
                                                                                      * 100000), 0, state, 0)
            yield s + 0.05 * n, f"node{n}", bytes(buf)
        p += rate


def bench_live(seconds: int) -> tuple[int, float, int, float]:
    """(frames, wall s, decisions, CPU s) of the chunks through one engine."""
    data = list(chunks(seconds / 3600.0))
    engine = Engine(load_policy())
    t0, c0 = time.perf_counter(), time.process_time()
    decisions = 0
    for t, link, blob in data:
        decisions += len(engine.ingest(link, blob, t))
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    frames = sum(ls["frames"] for ls in engine.link_stats.values())
    return frames, dt, decisions, cpu


def bench_decode_only(seconds: int) -> tuple[int, float]:
    """The same chunks through ground.wire alone: the share of the time that is decoding (CPU s)."""
    from safehaven.ground.wire import StreamDecoder
    data = list(chunks(seconds / 3600.0))
    decoders = {f"node{n}": StreamDecoder() for n in NODES}
    c0 = time.process_time()
    frames = 0
    for _t, link, blob in data:
        frames += len(decoders[link].feed(blob))
    return frames, time.process_time() - c0


def build_recording(path: Path, hours: float) -> int:
    if path.exists():
        path.unlink()
    store = Store(path)
    store.record_policy(load_policy())
    n = 0
    for t, link, blob in chunks(hours):
        store.record_chunk(link, t, blob)
        n += 1
        if n % 20000 == 0:
            store.commit()
    store.commit()
    store.close()
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=24.0, help="length of the replayed recording (default 24)")
    ap.add_argument("--live-seconds", type=int, default=3600, help="seconds of 3-node traffic for the frames/s figure")
    args = ap.parse_args()

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: wall times include waiting for a "
          f"core; CPU times (this process's own) are what the code costs")
    frames, dt, decisions, cpu = bench_live(args.live_seconds)
    print(f"ingest+vote+decide: {frames} frames in {dt:.2f} s = {frames / dt:,.0f} frames/s "
          f"({decisions} decisions); CPU {cpu:.2f} s = {frames / cpu:,.0f} frames/s")
    dframes, dcpu = bench_decode_only(args.live_seconds)
    print(f"decode only (ground.wire, same chunks): CPU {dcpu:.2f} s = {dframes / dcpu:,.0f} frames/s: decoding is "
          f"{100 * dcpu / cpu:.0f} % of ingest+vote+decide's CPU")

    build = ROOT / "build"
    build.mkdir(exist_ok=True)
    db = build / f"bench_ground_{args.hours:g}h.sqlite"
    marker = db.with_suffix(".complete")
    if not marker.exists():
        t0 = time.perf_counter()
        n = build_recording(db, args.hours)
        marker.write_text(str(n))
        print(f"built {db.name}: {n} chunks in {time.perf_counter() - t0:.1f} s (not part of the figure)")
    t0, c0 = time.perf_counter(), time.process_time()
    count = 0
    states = []
    for d in replay_db(str(db)):
        count += 1
        if d.event == "state":
            states.append(f"{d.time:.0f}s {d.state}")
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    size_mb = os.path.getsize(db) / 1e6
    frames_24h = int(args.hours * 3600) * len(NODES) * 10
    print(f"replay {args.hours:g} h, 3 nodes, 10 Hz ({frames_24h:,} telemetry frames, {size_mb:.0f} MB DB): "
          f"{dt:.1f} s ({frames_24h / dt:,.0f} frames/s), CPU {cpu:.1f} s, {count} decisions: {', '.join(states)}")
    target = 60.0 * args.hours / 24.0
    print(f"target < {target:g} s: wall {'met' if dt < target else 'NOT met'}, CPU {'met' if cpu < target else 'NOT met'} "
          f"(load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
