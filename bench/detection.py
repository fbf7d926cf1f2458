"""On-node leak detection benchmark: the firmware's own detector (firmware/detector.py) on generated signals.

    .venv/bin/python bench/detection.py            # full run (a few minutes on 2 cores)
    .venv/bin/python bench/detection.py --quick    # fewer seeds, 3 days nominal

1. Slow leaks: detection delay (leak onset -> LEAK event) over leak rates beta and noise levels sigma,
   each as a ratio to the CUSUM bound T = (6 sigma^2 dt ln(gamma) / beta^2)^(1/3) with gamma = one year
   of samples. Signals: P = P0 * T/T0 (temperature exact) + white Gaussian noise - beta (t - onset),
   sampled at the node's default 44 ms (22.7 Hz); the onset comes after the detector has learnt its
   baseline, and an alarm before the onset counts as a false alarm.
2. Rapid depressurisation: 10, 30 and 100 Pa/s at 44 ms; the worst delay to the RAPID event.
3. False alarms: 30 days of nominal air with a +-0.5 K, 90-minute thermal cycle, sampled at 2 Hz
   (500 ms) so the run stays within minutes; sigma 1.3 Pa.
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "firmware"))
import detector as D  # noqa: E402

P0, T0 = 101325.0, 22.0
YEAR_S = 3.156e7


def bound_s(sigma: float, dt: float, beta: float) -> float:
    gamma = YEAR_S / dt
    return (6 * sigma * sigma * dt * math.log(gamma) / (beta * beta)) ** (1 / 3)


def leak_delay(args) -> tuple:
    """(delay s or None, false alarm before onset) for one seeded run."""
    sigma, beta, seed, ms = args
    rnd = random.Random(seed)
    det = D.Detector(ms, {"noise_pa": sigma})
    dt = ms / 1000.0
    tf = int(round(T0 * 5120))
    # learn first: the onset is after the slowest CUSUM's baseline is in (plus a random phase)
    i = 0
    while det.warm or i * dt < 60:
        det.update(tf, int(round((P0 + rnd.gauss(0.0, sigma)) * 256)))
        i += 1
    onset = i * dt + rnd.uniform(0, 60)
    limit = onset + 20 * bound_s(sigma, dt, beta) + 120
    while True:
        t = i * dt
        if t > limit:
            return None, False
        p = P0 + rnd.gauss(0.0, sigma) - (beta * (t - onset) if t > onset else 0.0)
        ev = det.update(tf, int(round(p * 256)))
        if ev == D.EV_LEAK_DETECTED or ev == D.EV_RAPID:
            return (t - onset, False) if t > onset else (None, True)
        i += 1


def rapid_delay(args) -> float | None:
    beta, seed, ms = args
    rnd = random.Random(seed)
    det = D.Detector(ms, {"noise_pa": 1.3})
    dt = ms / 1000.0
    tf = int(round(T0 * 5120))
    onset = 120.0 + rnd.uniform(0, 1)
    i = 0
    while True:
        t = i * dt
        if t > onset + 5:
            return None
        p = P0 + rnd.gauss(0.0, 1.3) - (beta * (t - onset) if t > onset else 0.0)
        ev = det.update(tf, int(round(p * 256)))
        if ev == D.EV_RAPID:
            return t - onset if t > onset else -1.0
        i += 1


def nominal(args) -> tuple:
    """(alarms, max statistic %) over `days` of thermal cycling, one seed."""
    days, seed, ms = args
    rnd = random.Random(seed)
    det = D.Detector(ms, {"noise_pa": 1.3})
    dt = ms / 1000.0
    alarms = []
    top = 0
    w = 2 * math.pi / 5400.0
    for i in range(int(days * 86400 / dt)):
        t = i * dt
        tc = T0 + 0.5 * math.sin(w * t)
        p = P0 * (tc + 273.15) / (T0 + 273.15) + rnd.gauss(0.0, 1.3)
        ev = det.update(int(round(tc * 5120)), int(round(p * 256)))
        if ev != D.EV_NONE:
            alarms.append((round(t), ev))
        if det.stat > top:
            top = det.stat
    return alarms, top / 100


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 seeds, 3 days nominal")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--days", type=float, default=None)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    seeds = a.seeds or (3 if a.quick else 8)
    days = a.days or (3.0 if a.quick else 30.0)
    ms = 44
    dt = ms / 1000.0
    t_start = time.time()
    print(f"# bench/detection.py: firmware/detector.py on generated signals ({seeds} seeds per cell)")
    print(f"sample interval {ms} ms; gamma = 1 year of samples = {YEAR_S / dt:.3g} (ln {math.log(YEAR_S / dt):.1f})")
    ok = True
    sigmas = (0.5, 1.3, 2.6)
    betas = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
    jobs = [(s, b, 1000 * k + 7, ms) for s in sigmas for b in betas for k in range(seeds)]
    with ProcessPoolExecutor(a.workers) as pool:
        results = list(pool.map(leak_delay, jobs, chunksize=1))
        rapid_jobs = [(b, 500 + k, ms) for b in (10.0, 30.0, 100.0) for k in range(max(seeds, 5))]
        rapid = list(pool.map(rapid_delay, rapid_jobs))
        nom = list(pool.map(nominal, [(days / a.workers, 90 + k, 500) for k in range(a.workers)]))
    print("\n== Slow leaks: mean delay vs the CUSUM bound")
    print(f"{'sigma Pa':>8} {'beta Pa/s':>10} {'~kg/day ISS':>11} {'bound s':>8} {'mean s':>8} {'worst s':>8} "
          f"{'ratio':>6} {'missed':>6} {'false':>5}")
    worst_ratio = 0.0
    for s in sigmas:
        for b in betas:
            cell = [r for j, r in zip(jobs, results) if j[0] == s and j[1] == b]
            delays = [d for d, fa in cell if d is not None]
            false = sum(1 for d, fa in cell if fa)
            missed = sum(1 for d, fa in cell if d is None and not fa)
            bnd = bound_s(s, dt, b)
            mean = sum(delays) / len(delays) if delays else float("nan")
            ratio = mean / bnd if delays else float("nan")
            worst_ratio = max(worst_ratio, ratio if delays else 99)
            ok &= bool(delays) and not false and not missed
            print(f"{s:8.1f} {b:10.0e} {b / 1.07e-3:11.2f} {bnd:8.1f} {mean:8.1f} {max(delays or [0]):8.1f} "
                  f"{ratio:6.2f} {missed:6d} {false:5d}")
    print(f"worst mean ratio {worst_ratio:.2f} (target <= 1.5)")
    ok &= worst_ratio <= 1.5
    print("\n== Rapid depressurisation (sigma 1.3 Pa, 44 ms): delay to RAPID")
    for b in (10.0, 30.0, 100.0):
        ds = [d for j, d in zip(rapid_jobs, rapid) if j[0] == b]
        flagged = [d for d in ds if d is not None and d >= 0]
        worst = max(flagged) if len(flagged) == len(ds) else float("inf")
        print(f"{b:6.0f} Pa/s: worst {worst:.2f} s, mean {sum(flagged) / max(1, len(flagged)):.2f} s over "
              f"{len(ds)} runs (target <= 1 s)")
        ok &= worst <= 1.0
    print(f"\n== Nominal with a +-0.5 K, 90-minute thermal cycle: {days:g} days at 2 Hz (500 ms), sigma 1.3 Pa")
    alarms = [al for al_list, _ in nom for al in al_list]
    top = max(t for _, t in nom)
    print(f"alarms: {len(alarms)} {alarms[:5]}; highest statistic {top:.0f} % of the threshold")
    ok &= not alarms
    print(f"\n{'PASS' if ok else 'FAIL'} in {time.time() - t_start:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
