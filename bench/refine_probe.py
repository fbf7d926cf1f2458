"""The refined LEAK event's probe on bench/detection.py's own slow-leak worlds: the growing window's slope since the
onset, entry by entry, against the truth and against the standard error `_leak_known` believes.

    .venv/bin/python bench/refine_probe.py --beta 3e-2 1e-2 --fan 3 --parts 0 1 2 3 4 5 6 7 --ms 44
    .venv/bin/python bench/refine_probe.py --beta 3e-2 --fan 3 --parts 7 --ms 44 --trace    # one run, entry by entry
    .venv/bin/python bench/refine_probe.py --repo /tmp/other_worktree ...                   # another tree's detector
    .venv/bin/python bench/refine_probe.py ... --save /tmp/runs.json                        # every entry, for offline rules
    .venv/bin/python bench/refine_probe.py --montecarlo 3000                                # the rule on a model window

Part k is bench/detection.py's seed 1000 k + 7 (k = 0..7 are the full bench's parts; --quick's are 0..2). Each run is
bench/detection.py's slow_leak world, run to `--after` seconds past the refined event (default 300) or its end.
Per run: the alarm's and the refined event's times after the onset, the refined kg/day error (as bench/detection.py
computes it), and at the refined event the window's entries n, its slope's error against the truth in units of the
white-noise standard error `_slope_se16` (z; honest ones are within +-1 or 2 most of the time) and the same error in %.
--trace prints every entry of the growing window: n, slope error %, the white-noise SE %, z.

--montecarlo N: the refined event's rule on a model of the growing window (entries = a ramp + unit white noise, plus
optionally a sine of amplitude `wave` entry sigmas and `period` entries: the 3 Pa, 60 s fan's residual after the notch
is ~1 sigma at 3.7 entries), the ramp's rate set so that 3 entries' slope is r0 standard errors (2: slow leaks, the event
at ~9-11 entries; 5 and 8: 3e-2 Pa/s, at 4-6). Per rule: how many events are beyond 30 / 25 / 20 %, the worst, the mean
entries. Rules: first passage of K standard errors ("K"), two successive entries passing ("two"), the SE inflated by the
wave's variance ("inflate"). Seen (3,000 runs each): K 10 first passage 0.6-0.9 % beyond 30 % (white), 1.4-5 % (wave 1);
"two" 0-0.1 % (white), 0-0.3 % (wave 1); K 13 first passage ~0 but 15-19 % later.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _bench(repo: str):
    sys.path.insert(0, str(Path(repo) / "bench"))
    import detection as B  # noqa: E402
    return B


def run(args) -> dict:
    """One slow_leak world (beta, fan Pa, part k, ms, repo, after s): its LEAK events and every long-ring entry."""
    beta, fan, k, ms, repo, after = args
    B = _bench(repo)
    D = B.D
    rnd = random.Random(1000 * k + 7)
    part = B.Part(rnd)
    onset = B.ORBIT_S + rnd.uniform(0, B.ORBIT_S)
    bnd = B.bound_s(B.SIGMA, ms / 1000.0, beta)
    end = onset + max(20 * bnd, 2700.0) + 600.0
    day = B.Day(rnd, [], ("ramp", onset, beta), fan)
    det = B._runners(ms)[0]
    true_kg = beta * 916.0 / (B.R_AIR * (B.T0 + 273.15)) * 86400.0
    dt = ms / 1000.0
    out: dict = {"beta": beta, "fan": fan, "k": k, "ms": ms, "onset": onset, "events": [], "entries": [],
                 "se_k": None, "block_s": det.block_s}
    seen = 0
    stop = end
    i = 0
    rates = det.rates
    while True:
        t = i * dt
        i += 1
        if t > stop:
            break
        raw, tc, _ = day.at(t)
        tf, pq, _, _ = part.read(raw, tc)
        ev = det.update(tf, pq)
        if ev == D.EV_LEAK_DETECTED:
            kg = det.leak_estimate()[1]
            out["events"].append((t - onset, None if kg is None else kg / true_kg - 1.0, rates.grow_n,
                                  det.rate_e5))
            if kg is not None and t >= onset:
                stop = min(end, t + after)
        if ev == D.EV_LEAK_CLEARED:
            out["events"].append((t - onset, "cleared", 0, 0))
        count = rates.long_count * 1000 + rates.long_pos
        if count != seen:
            seen = count
            if t > onset - 1200.0:
                n = rates.grow_n if rates.grow_on else 0
                out["entries"].append((round(t - onset, 2), rates.long[rates.long_pos - 1], det.state, n,
                                       rates.grow_e5() if n else 0, det._slope_se16(n) if n >= 3 else 0,
                                       det.leak_refined, det.fan.locked, det.fan.left))
                out["se_k"] = det.slope_se_k
    return out


def summary(r: dict) -> str:
    beta = r["beta"]
    first = next((e for e in r["events"] if e[0] >= 0), None)
    refined = next((e for e in r["events"] if e[1] is not None and e[1] != "cleared" and e[0] >= 0), None)
    z = pct = n = None
    if refined:
        n = refined[2]
        ent = [e for e in r["entries"] if e[0] <= refined[0] + 0.01 and e[3]]
        if ent:
            e = ent[-1]
            err = (-e[4] / 1e5 - beta) / beta
            pct = 100 * err
            z = (-e[4] - beta * 1e5) * 16 / e[5] if e[5] else None
    return (f"beta {beta:.0e} fan {r['fan']:g} part {r['k']} {r['ms']} ms: alarm "
            f"{first[0]:.0f} s, " if first else f"beta {beta:.0e} fan {r['fan']:g} part {r['k']} {r['ms']} ms: no alarm, ") + \
        (f"refined {refined[0]:.0f} s kg/day {100 * refined[1]:+.1f} % (n {n}, slope {pct:+.1f} %, z {z:+.1f})"
         if refined and z is not None else "no refined event")


def trace(r: dict) -> None:
    beta = r["beta"]
    for e in r["entries"]:
        t, entry, state, n, g, se = e[:6]
        if n >= 3:
            err = (-g / 1e5 - beta) / beta
            sep = se / 16 / 1e5 / beta
            print(f"  {t:8.1f} s  n {n:3d}  slope {100 * err:+7.1f} %  white SE {100 * sep:6.1f} %  "
                  f"z {err / sep if sep else 0:+6.2f}  {'refined' if e[6] else ''} locked {e[7]} left {e[8]}")


def _model(rnd, r0, K, rule="K", wave=0.0, period=3.7, inflate=False):
    """One model window: (relative error of the event's slope, entries) or (None, None)."""
    def se(n):
        return math.sqrt(12.0 / (n * (n * n - 1)))
    beta = r0 * se(3)
    ph = rnd.uniform(0, 2 * math.pi)
    sy = sxy = 0.0
    prev = None
    for n in range(1, 600):
        i = n - 1
        y = beta * i + rnd.gauss(0, 1) + wave * math.sin(2 * math.pi * i / period + ph)
        sy += y
        sxy += i * y
        if n < 3:
            continue
        b = 12 * (sxy - (n - 1) / 2 * sy) / (n * (n * n - 1))
        s = se(n) * (math.sqrt(1 + wave * wave / 2) if inflate else 1.0)
        ok = b > K * s
        passed = ok
        if rule == "two":
            ok = ok and prev is True
        prev = passed
        if ok:
            return (b - beta) / beta, n
    return None, None


def montecarlo(n_runs: int) -> None:
    rnd = random.Random(2)
    for name, kw in (("first passage, K 10, white", {"K": 10}),
                     ("first passage, K 10, wave 1", {"K": 10, "wave": 1.0}),
                     ("first passage, K 10, wave 1, SE inflated", {"K": 10, "wave": 1.0, "inflate": True}),
                     ("first passage, K 13, white", {"K": 13}),
                     ("two in a row, K 10, white", {"K": 10, "rule": "two"}),
                     ("two in a row, K 10, wave 1", {"K": 10, "rule": "two", "wave": 1.0})):
        for r0 in (2.0, 5.0, 8.0):
            got = [_model(rnd, r0, **kw) for _ in range(n_runs)]
            e = [x for x, _ in got if x is not None]
            ns = [n for _, n in got if n]
            print(f"{name:42} r0 {r0:.0f}: beyond 30 % {sum(abs(x) > .3 for x in e) / len(e):.4f}  25 % "
                  f"{sum(abs(x) > .25 for x in e) / len(e):.4f}  20 % {sum(abs(x) > .2 for x in e) / len(e):.4f}  "
                  f"worst {100 * max(e, key=abs):+.0f} %  mean entries {sum(ns) / len(ns):.2f}", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--beta", type=float, nargs="+", default=[1e-2, 3e-2])
    ap.add_argument("--fan", type=float, nargs="+", default=[3.0], help="fan amplitudes, Pa (0: none)")
    ap.add_argument("--parts", type=int, nargs="+", default=list(range(8)), help="part k: seed 1000 k + 7")
    ap.add_argument("--ms", type=int, nargs="+", default=[44])
    ap.add_argument("--after", type=float, default=300.0, help="s run past the refined event")
    ap.add_argument("--repo", default=str(REPO), help="the tree whose bench/detection.py and firmware run")
    ap.add_argument("--trace", action="store_true", help="print every entry of the growing window")
    ap.add_argument("--save", default="", help="write every run's entries as JSON here")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--montecarlo", type=int, default=0, help="N runs of the model window per rule and rate (alone)")
    a = ap.parse_args(argv)
    t0 = time.time()
    if a.montecarlo:
        montecarlo(a.montecarlo)
        return 0
    jobs = [(b, f, k, ms, a.repo, a.after) for ms in a.ms for f in a.fan for b in a.beta for k in a.parts]
    res = []
    with ProcessPoolExecutor(a.workers) as pool:
        for r in pool.map(run, jobs, chunksize=1):
            print(summary(r), flush=True)
            if a.trace:
                trace(r)
            res.append(r)
    if a.save:
        Path(a.save).write_text(json.dumps(res))
    print(f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
