"""Chamber rate-of-rise benchmark: the firmware's detector (firmware/detector.py, chamber mode) on an
isolated 10 L chamber that outgasses, a + b (1 - e^(-t/tau)) (hil/physics.py), read through the
BMP280 emulator's per-part errors (offset, offset tempco, noise, resolution) at the node's default
44 ms, with the chamber's spec drift_pa_s = 0.05 Pa/s (tests/chamber_streams.py; docs/detection.md
section 6 carries the figures).

    .venv/bin/python bench/chamber.py            # ~10 seeds per line (a few minutes on one core)
    .venv/bin/python bench/chamber.py --seeds 3

1. Outgassing alone (no leak) of several sizes and time constants, up to the chamber's configured
   slowest (outgas_tau_s, 2 h) and fastest at isolation (outgas_pa_s, 1 Pa/s): false LEAKs and the
   highest CUSUM statistic (% of the threshold).
2. A needle valve opening after 4 tau of outgassing (b 40 Pa, tau 200 s): delay to LEAK, and the
   LEAK event's rate against the truth.
3. A needle valve open from isolation (under the same outgassing): delay to LEAK and the rate (the
   constant term of the rates of rise; above outgas_pa_s, the rise's).
4. Beyond what is tolerated (LEAKs expected): outgassing slower than outgas_tau_s whose rate is
   above the spec (b 3000 Pa, tau 4 h: c of the slowest allowed fit is half its rate), and outgassing
   faster than outgas_pa_s at isolation (b 100 Pa, tau 60 s: 1.7 Pa/s), a sustained rise.
5. What the rate history's 8.5 minutes tell apart: for outgassing of 0.2 Pa/s at isolation and
   several tau (one part), at the first judgements (~12-14 minutes after isolation) the taus whose
   fit is within noise of the best (the range), the best, and the smallest c less 3 standard errors.
   Where the range reaches outgas_tau_s, only that bound keeps outgassing from reading as a leak.

    .venv/bin/python bench/chamber.py --parts 5     # one part (or several: --parts 35)
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "firmware"), str(REPO)]
import chamber_streams as C  # noqa: E402
import habitat_streams as S  # noqa: E402
from det_chamber import EVERY, HISTORY  # noqa: E402


def outgassing(seeds, b_pa, tau_s, n_tau):
    false, top, first = 0, 0, []
    for seed in range(1, seeds + 1):
        events, hi = C.run(seed, n_tau * tau_s, C.ChamberTruth(b_pa=b_pa, tau_s=tau_s))
        found = C.alarms(events)
        false += len(found)
        first += [found[0][0]] if found else []
        top = max(top, hi)
    when = f" (the first after {min(first):.0f}-{max(first):.0f} s)" if first else ""
    print(f"  b {b_pa:5.0f} Pa, tau {tau_s:5.0f} s (initial {b_pa / tau_s:.3f} Pa/s), {n_tau:g} tau x {seeds} parts: "
          f"{false} false LEAK{when}, highest statistic {top // 100} %")


def separable(tau_s, judgements=3):
    """Part 5: the taus that fit the rate history at its first judgements (via the firmware's own
    per-tau fit, read from outside)."""
    det = C.detector()
    ch = det.chamber
    seen = []
    judge = ch._constant_above_spec

    def probe():
        leak = judge()
        mean = sum(ch.history) // HISTORY
        fits = []
        for j in range(ch.taus):
            ch._fit_tau(j, mean)
            tau = -EVERY * det.block_s / math.log(ch.q15[j] / 32768.0)
            fits.append((ch.tau_rss, tau, (ch.tau_c - ch.c_err[j]) / 65536.0 / det.block_s))
        best = min(fits)
        ok = [f for f in fits if f[0] <= 2 * best[0] + ch.accept]
        seen.append(f"{min(f[1] for f in ok):.0f}-{max(f[1] for f in ok):.0f} s (best {best[1]:.0f} s, "
                    f"c - 3 se {min(f[2] for f in ok):+.3f} Pa/s{', LEAK' if leak else ''})")
        return leak

    ch._constant_above_spec = probe
    S.run(det, C.ChamberTruth(b_pa=0.2 * tau_s, tau_s=tau_s), S.Part(seed=1), C.MS,
          (128 + (HISTORY - 1 + judgements) * EVERY + 30) * det.block_s)
    print(f"  tau {tau_s:5.0f} s: " + "; ".join(seen[:judgements]))


def leak(seeds, rate_pa_s, onset_s, pressure_pa=C.P_TEST, window_s=1500.0):
    delays, errors, missed = [], [], 0
    for seed in range(1, seeds + 1):
        truth = C.ChamberTruth(leak_pa_s=rate_pa_s, leak_s=onset_s, pressure_pa=pressure_pa)
        events, _ = C.run(seed, onset_s + window_s, truth)
        found = C.alarms(events)
        if not found or found[0][0] < onset_s:
            missed += 1
            continue
        t, _, rate, _, true_rate, _ = found[0]
        delays.append(t - onset_s)
        errors.append(100.0 * (rate / true_rate - 1.0))
    when = "from isolation" if onset_s == 0 else f"after {onset_s:.0f} s"
    line = f"  {rate_pa_s:5.2f} Pa/s {when} at {pressure_pa / 1000:.0f} kPa x {seeds}: "
    if delays:
        line += (f"LEAK after {min(delays):.1f}-{max(delays):.1f} s (median {statistics.median(delays):.1f}), "
                 f"event rate {min(errors):+.0f}..{max(errors):+.0f} %")
    print(line + (f", {missed} not found within {window_s:.0f} s (or early)" if missed else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--parts", default="12345", help="which parts to run, e.g. 5 or 35")
    args = ap.parse_args()
    n = args.seeds
    if "1" in args.parts:
        print("1. outgassing alone")
        for b, tau, n_tau in ((40.0, 200.0, 12), (15.0, 60.0, 20), (100.0, 600.0, 10), (300.0, 1200.0, 10),
                              (50.0, 60.0, 10), (100.0, 120.0, 10)):
            outgassing(n, b, tau, n_tau)
        for b, tau in ((200.0, 2400.0), (600.0, 3000.0), (1500.0, 7200.0)):
            outgassing(max(1, n // 3), b, tau, 1.5 if tau < 7200 else 0.5)
    if "2" in args.parts:
        print("2. needle valve after 4 tau of outgassing (b 40 Pa, tau 200 s)")
        for rate in (0.5, 0.2, 0.1, 0.05):
            leak(n, rate, 4 * C.TAU_S, window_s=600.0)
        leak(n, 0.5, 4 * C.TAU_S, pressure_pa=95000.0, window_s=600.0)
    if "3" in args.parts:
        print("3. needle valve open from isolation, under the same outgassing")
        for rate in (2.0, 0.5, 0.2, 0.1):
            leak(n, rate, 0.0)
    if "4" in args.parts:
        print("4. beyond the tolerance: outgassing slower than outgas_tau_s, faster than outgas_pa_s (LEAKs expected)")
        outgassing(max(1, n // 3), 3000.0, 14400.0, 0.125)
        outgassing(max(1, n // 3), 100.0, 60.0, 10)
    if "5" in args.parts:
        print("5. what 8.5 minutes of rates tell apart (0.2 Pa/s at isolation, one part): the taus that fit")
        for tau in (200.0, 400.0, 600.0, 900.0, 1200.0, 2400.0, 7200.0, 14400.0):
            separable(tau)

if __name__ == "__main__":
    main()
