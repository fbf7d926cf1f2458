"""What a kill -9 of the live monitor loses: the span of received data not yet in the database.

    .venv/bin/python bench/crash.py                  # 10 kills, a node at 10 Hz on socket://
    .venv/bin/python bench/crash.py --runs 20 --hz 50

A node behind socket:// streams telemetry (frame i at uptime i/hz); `safehaven monitor` records it to
a fresh database; after a random 2-4 s of recording the monitor gets SIGKILL. The loss is the time
between the last frame the node sent before the kill and the last frame found in the database (by
uptime, so neither clock's offsets matter). The store flushes at least every second
(ground/store.py COMMIT_EVERY_S): the bound to compare with is that second plus one poll (0.1 s).
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from safehaven.ground.store import COMMIT_EVERY_S, Store  # noqa: E402
from safehaven.ground.wire import StreamDecoder  # noqa: E402
from safehaven.protocol.codec import Encoder  # noqa: E402


class Node(threading.Thread):
    """Streams telemetry frame i at uptime i/hz (ms) to the first connection; `sent` = frames sent."""

    def __init__(self, hz: int) -> None:
        super().__init__(daemon=True)
        self.hz = hz
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.sent = 0
        self.stop = threading.Event()

    def run(self) -> None:
        conn, _ = self.sock.accept()
        enc = Encoder(1)
        t0 = time.monotonic()
        try:
            while not self.stop.is_set():
                i = self.sent + 1
                if i % self.hz == 1:
                    conn.sendall(bytes(enc.heartbeat(i * 1000 // self.hz, 0x0100, 4, 1, 100000, b"lab", *[0] * 7)))
                conn.sendall(bytes(enc.telemetry(i * 1000 // self.hz, 101000 * 256, 2100, 800, 4000, 0, 0, 0, 0)))
                self.sent = i
                time.sleep(max(0.0, t0 + i / self.hz - time.monotonic()))
        except OSError:
            pass  # the monitor died: its socket is gone
        finally:
            conn.close()
            self.sock.close()


def last_uptime_ms(db: Path) -> int:
    """The highest telemetry uptime recorded in the database (0 if none)."""
    store = Store(db, readonly=True)
    dec = StreamDecoder()
    best = 0
    for _id, _t, _link, kind, data in store.iter_rx():
        if kind == "data":
            for f in dec.feed(data):
                if f.name == "telemetry":
                    best = max(best, f.uptime_ms)
    store.close()
    return best


def one_kill(hz: int, rnd: random.Random, workdir: Path) -> float:
    db = workdir / f"crash-{rnd.randrange(1 << 30)}.sqlite"
    node = Node(hz)
    node.start()
    mon = subprocess.Popen([sys.executable, "-m", "safehaven", "monitor", "--node", f"1=socket://127.0.0.1:{node.port}",
                            "--db", str(db), "--plain"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           cwd=str(ROOT))
    try:
        while node.sent < hz:  # recording has started (the monitor is connected and reading)
            if mon.poll() is not None:
                raise SystemExit("monitor exited early")
            time.sleep(0.05)
        time.sleep(rnd.uniform(2.0, 4.0))
        at_kill = node.sent
        os.kill(mon.pid, signal.SIGKILL)
    finally:
        mon.wait(10)
        node.stop.set()
        node.join(5)
    kept_ms = last_uptime_ms(db)
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return max(0.0, at_kill / hz - kept_ms / 1000.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--hz", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    losses = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.runs):
            losses.append(one_kill(args.hz, rnd, Path(tmp)))
    losses.sort()
    print(f"kill -9 of a recording monitor, {args.runs} runs, node at {args.hz} Hz; "
          f"flush every {COMMIT_EVERY_S:.1f} s + one poll (0.1 s)")
    print(f"data lost (received, not yet written): max {losses[-1]:.2f} s, median {losses[len(losses) // 2]:.2f} s, "
          f"min {losses[0]:.2f} s")


if __name__ == "__main__":
    main()
