"""The fan notch's probes on bench/detection.py's own worlds (docs/performance.md, "The fan notch's share of the
slow-leak delays"): the same parts, days and seeds as bench/detection.py, selected by cell and part, each run
stopped as soon as its answer is known.

    .venv/bin/python bench/notch_probe.py slow --beta 3e-2 --fan 0 3     # 8 parts per cell, to the alarm
    .venv/bin/python bench/notch_probe.py slow --beta 1e-3 3e-3 1e-2 --fan 3 --parts 0 1 2
    .venv/bin/python bench/notch_probe.py nominal --ms 500 --seeds 90 91 92 93 94 95 --days 1
    .venv/bin/python bench/notch_probe.py nominal --ms 500 --seeds 91 --days 1 --until 400

slow: bench/detection.py's slow_leak world (seed 1000 k + 7 for part k, 44 ms, the leak after one to two orbits),
run to the firmware's first alarm: its delay after the onset, the delay / the CUSUM bound, and each cell's mean
(the `ratio` column of bench/detection.py's slow-leak tables; a run with an alarm before the onset says so).
nominal: bench/detection.py's nominal day for one part (seed, `--days` of the day as drawn for that length: the
full run's parts have 5 days, --quick's 1), its alarms and the detector's highest statistic (% of the threshold);
`--until` stops it early (the same draws).
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import detection as B  # noqa: E402


def slow(args) -> tuple:
    """(beta, fan Pa, part k, delay s or None, bound s, false alarm time or None)."""
    beta, fan, k, ms = args
    r = B.slow_leak((beta, 1000 * k + 7, ms, fan), to_alarm=True)
    return beta, fan, k, r["found"]["firmware"], r["bound"], r["false_at"]


def nominal(args) -> tuple:
    """(seed, alarm times s, highest statistic %)."""
    seed, days, ms, until = args
    rnd = random.Random(seed)
    part = B.Part(rnd)
    end = days * 86400.0
    day = B.Day(rnd, B._habitat_events(rnd, 0.0, end, 4.0, 1.0))
    det = B._runners(ms)[0]
    dt = ms / 1000.0
    alarms, top = [], 0
    for i in range(int(min(end, until or end) / dt)):
        t = i * dt
        raw, tc, _ = day.at(t)
        tf, pq, _, _ = part.read(raw, tc)
        if det.update(tf, pq) in B.ALARMS:
            alarms.append(round(t))
        top = max(top, det.stat)
    return seed, alarms, top / 100


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    s = sub.add_parser("slow", help="slow-leak cells to the alarm")
    s.add_argument("--beta", type=float, nargs="+", default=[1e-3, 3e-3, 1e-2, 3e-2])
    s.add_argument("--fan", type=float, nargs="+", default=[0.0, B.FAN_PA], help="fan amplitudes, Pa (0: none)")
    s.add_argument("--parts", type=int, nargs="+", default=list(range(8)), help="part k: seed 1000 k + 7")
    s.add_argument("--ms", type=int, default=44)
    n = sub.add_parser("nominal", help="nominal days, alarms and the highest statistic")
    n.add_argument("--seeds", type=int, nargs="+", default=list(range(90, 96)))
    n.add_argument("--days", type=float, default=1.0, help="days drawn for each part (--quick's parts: 1)")
    n.add_argument("--ms", type=int, default=500)
    n.add_argument("--until", type=float, default=0.0, help="stop after this many seconds (0: the whole run)")
    for p in (s, n):
        p.add_argument("--workers", type=int, default=1)
    a = ap.parse_args(argv)
    t0 = time.time()
    with ProcessPoolExecutor(a.workers) as pool:
        if a.what == "slow":
            jobs = [(b, f, k, a.ms) for f in a.fan for b in a.beta for k in a.parts]
            res = list(pool.map(slow, jobs, chunksize=1))
            for f in a.fan:
                for b in a.beta:
                    cell = [r for r in res if r[0] == b and r[1] == f]
                    cells = " ".join(f"{r[3]:.1f}" if r[3] is not None else
                                     (f"FALSE@{r[5]:.0f}" if r[5] is not None else "missed") for r in cell)
                    found = [r[3] / r[4] for r in cell if r[3] is not None]
                    mean = sum(found) / len(found) if len(found) == len(cell) else float("inf")
                    print(f"fan {f:g} Pa  beta {b:.0e}  bound {cell[0][4]:.1f} s  ratio {mean:.2f}  delays s: {cells}",
                          flush=True)
        else:
            res = list(pool.map(nominal, [(sd, a.days, a.ms, a.until) for sd in a.seeds], chunksize=1))
            for seed, alarms, top in res:
                print(f"seed {seed}  {a.days:g} day(s) at {a.ms} ms{f' to {a.until:g} s' if a.until else ''}: "
                      f"alarms {alarms}  highest statistic {top:.0f} %", flush=True)
    print(f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
