"""Virtual-board figures: how long flash, reflash (maintenance path), verify and probe take, and the
longest gap between watchdog feeds of the node running on the virtual board.

    .venv/bin/python bench/vboard.py [--run-s 60]

Each step is the real CLI in its own process against `safehaven vboard --board pico`, timed from the
outside (wall clock, so the machine's load is in it; the figure it prints first is the load average).
The feed gap is what the virtual board measured in wall time while the node ran for --run-s seconds:
the node's loop, the VM, the host process and the machine's scheduling together, against the 8 s
watchdog. The virtual board is slower than a Pico at running Python and faster at I2C; the gap is an
upper bound for the VM on this machine, not a board's figure.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def safehaven(*argv: str) -> float:
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "safehaven", *argv], capture_output=True, text=True, cwd=REPO)
    if r.returncode != 0:
        raise SystemExit(f"safehaven {' '.join(argv[:2])} failed: {r.stderr.strip()[-400:]}")
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run-s", type=float, default=60.0, help="how long the node runs for the feed-gap figure")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        log = open(Path(tmp) / "vboard.log", "w")
        vb = subprocess.Popen([sys.executable, "-m", "safehaven", "vboard", "--board", "pico", "--fs", f"{tmp}/fs"],
                              stdout=subprocess.PIPE, stderr=log, text=True, cwd=REPO)
        port = vb.stdout.readline().strip()
        common = ["--board", "pico", "--node-id", "1", "--zone", "A", "--port", port]
        try:
            print(f"flash, bare board:                 {safehaven('flash', *common):5.1f} s")
            time.sleep(5)
            print(f"flash, running node (maintenance): {safehaven('flash', *common):5.1f} s")
            time.sleep(5)
            print(f"flash --verify, running node:      {safehaven('flash', *common, '--verify'):5.1f} s")
            time.sleep(5)
            print(f"probe, running node:               {safehaven('probe', '--port', port, '--board', 'pico', '--node-id', '1'):5.1f} s"
                  "  (10 s of it the SCD4x self-test)")
            time.sleep(args.run_s)
        finally:
            vb.terminate()
            vb.wait(timeout=20)
            log.close()
        text = (Path(tmp) / "vboard.log").read_text()
    gap = re.search(r"longest gap between watchdog feeds (\d+) ms", text)
    resets = text.count("watchdog: not fed")
    print(f"node running {args.run_s:.0f} s: longest gap between watchdog feeds "
          f"{gap.group(1) if gap else '?'} ms (timeout 8000 ms), watchdog resets {resets}")


if __name__ == "__main__":
    main()
