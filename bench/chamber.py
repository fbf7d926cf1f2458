"""Chamber rate-of-rise benchmark: the firmware's detector (firmware/detector.py, chamber mode) on an
isolated 10 L chamber that outgasses, a + b (1 - e^(-t/tau)) (hil/physics.py), read through the
BMP280 emulator's per-part errors (offset, offset tempco, noise, resolution) at the node's default
44 ms, with the chamber's spec drift_pa_s = 0.05 Pa/s (tests/chamber_streams.py; docs/detection.md
section 6 carries the figures).

    .venv/bin/python bench/chamber.py            # ~10 seeds per line (~2 min of CPU)
    .venv/bin/python bench/chamber.py --seeds 3

1. Outgassing alone (no leak) of several sizes and time constants, up to the chamber's configured
   slowest (outgas_tau_s, 2 h) and fastest at isolation (outgas_pa_s, 1 Pa/s), and both at once (b
   7000 Pa, tau 2 h, over 2 h): false LEAKs and the highest CUSUM statistic (% of the threshold).
2. A needle valve opening after 4 tau of outgassing (b 40 Pa, tau 200 s): delay to LEAK, and the
   LEAK event's rate against the truth.
3. A needle valve open from isolation (under the same outgassing): delay to LEAK and the rate (the
   constant term of the rates of rise; above outgas_pa_s, the rise's).
4. Beyond what is tolerated (LEAKs expected): outgassing slower than outgas_tau_s whose rate is
   above the spec (b 3000 Pa, tau 4 h: the bound on c is half its rate), and outgassing
   faster than outgas_pa_s at isolation (b 100 Pa, tau 60 s: 1.7 Pa/s), a sustained rise.
5. The bound on a leak present at isolation, c >= rate + outgas_tau_s x its slope (any mix of
   outgassing sources with tau <= outgas_tau_s has c = 0), less 3 standard errors, every 8th of the
   rate history's judgements from the first (~6.8 minutes after isolation, one part): for outgassing of several
   tau, for two sources and for 1/t desorption (where one exponential fitted would read a
   constant: its tau and c are shown), and for needles from isolation (how long they wait).

6. The best the noise allows (a model, no detector): when a needle from isolation under b 40 Pa
   tau 200 s is found by the bound, noise-free (the slope at the newest instant), and at 3 standard
   errors of the block noise through the firmware's estimator (the newest + outgas_tau_s x the
   least-squares slope of k rates of FIT blocks, EVERY apart) for the firmware's k and the best k.

7. A chamber that declares its outgassing tighter than the defaults: outgas_pa_s 0.3 Pa/s (0.5 Pa/s
   from isolation is then a sustained rise faster than outgassing may be: the hold-off's way out),
   outgas_tau_s 40 minutes (the bound holds 11x, not 35x, of a tau-200 s outgassing against a needle).

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
from det_chamber import EVERY, FIT, HISTORY, SHORT  # noqa: E402


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


def separable(label, truth, judgements=3):
    """Part 5: the bound on the constant term (less 3 standard errors, the better of the two
    windows) and the best single exponential's tau at every 8th of the rate history's judgements
    (16 blocks apart) from the first (the firmware's own fit, read from outside)."""
    det = C.detector()
    ch = det.chamber
    seen = []
    judge = ch._constant_above_spec
    per_pa_s = 65536.0 * det.block_s

    def probe():
        leak = judge()
        c16 = ch._constant(ch.rates, -(1 << 29))
        tau = -EVERY * det.block_s / math.log(ch.q15[ch.tau_j] / 32768.0)
        seen.append(f"{ch.margin16 / per_pa_s:+.3f} (one tau: {tau:.0f} s, c {c16 / per_pa_s:+.3f})"
                    + (" LEAK" if leak else ""))
        return leak

    ch._constant_above_spec = probe
    S.run(det, truth, S.Part(seed=1), C.MS, (128 + (SHORT + 8 * (judgements - 1)) * EVERY + 30) * det.block_s)
    print(f"  {label}: " + "; ".join(seen[0:8 * judgements:8]))


def bound_weights(k, tau_max_blocks):
    """The bound's weights on the block levels (oldest first) for k rates: 1 x the newest rate +
    outgas_tau_s x the rates' least-squares slope; each rate a least-squares slope over FIT blocks."""
    span = FIT + (k - 1) * EVERY
    fit = [(i - (FIT - 1) / 2.0) / (FIT * (FIT * FIT - 1) / 12.0) for i in range(FIT)]
    f = tau_max_blocks * 6.0 / (EVERY * k * (k * k - 1))
    w = [0.0] * span
    for n in range(k):
        wn = f * (2 * n - k + 1) + (1.0 if n == k - 1 else 0.0)
        for i in range(FIT):
            w[n * EVERY + i] += wn * fit[i]
    return w


def found_after(w, rate_pa_s, sigma_b, block_s, spec=C.SPEC_PA_S, b_pa=C.B_PA, tau_s=C.TAU_S):
    """The first judgement (every EVERY blocks, from 128 + the window) at which the bound's mean
    less 3 standard errors is above the spec: the model's detection time (s), or None."""
    se = sigma_b * math.sqrt(sum(x * x for x in w)) / block_s
    span = len(w)
    end = 128 + span - FIT
    while end * block_s < 4000.0:
        t0 = (end - span + 1) * block_s
        mean = sum(x * (rate_pa_s * (t0 + i * block_s) + b_pa * (1.0 - math.exp(-(t0 + i * block_s) / tau_s)))
                   for i, x in enumerate(w)) / block_s
        if mean - 3.0 * se > spec:
            return end * block_s
        end += EVERY
    return None


def best_noise_allows(sigma_b=None):
    det = C.detector()
    S.run(det, C.ChamberTruth(), S.Part(seed=1), C.MS, 200.0)       # the detector's own block noise
    sigma_b = sigma_b or det.sigma / math.sqrt(det.block_n)
    tau_max = det.p["outgas_tau_s"]
    print(f"  block noise {sigma_b:.3f} Pa (the detector's estimate), outgas_tau_s {tau_max:.0f} s")
    for rate in (0.5, 0.2, 0.1):
        share = C.B_PA / C.TAU_S * (tau_max / C.TAU_S - 1.0)
        ideal = C.TAU_S * math.log(share / (rate - C.SPEC_PA_S))
        mine = [found_after(bound_weights(k, tau_max / det.block_s), rate, sigma_b, det.block_s) for k in (SHORT, HISTORY)]
        mine = min(x for x in mine if x) if any(mine) else None
        best = min((x, k) for k in range(11, 45, 2)
                   for x in [found_after(bound_weights(k, tau_max / det.block_s), rate, sigma_b, det.block_s)] if x)
        print(f"  {rate:.1f} Pa/s from isolation: noise-free {ideal:.0f} s; firmware's windows ({SHORT}, {HISTORY} rates) "
              f"{mine:.0f} s; best window ({best[1]} rates) {best[0]:.0f} s")


def leak(seeds, rate_pa_s, onset_s, pressure_pa=C.P_TEST, window_s=1500.0, **params):
    delays, errors, missed = [], [], 0
    for seed in range(1, seeds + 1):
        truth = C.ChamberTruth(leak_pa_s=rate_pa_s, leak_s=onset_s, pressure_pa=pressure_pa)
        events, _ = C.run(seed, onset_s + window_s, truth, **params)
        found = C.alarms(events)
        if not found or found[0][0] < onset_s:
            missed += 1
            continue
        t, _, rate, _, true_rate, _ = found[0]
        delays.append(t - onset_s)
        errors.append(100.0 * (rate / true_rate - 1.0))
    when = "from isolation" if onset_s == 0 else f"after {onset_s:.0f} s"
    given = "".join(f", {k} {v:g}" for k, v in params.items())
    line = f"  {rate_pa_s:5.2f} Pa/s {when} at {pressure_pa / 1000:.0f} kPa{given} x {seeds}: "
    if delays:
        line += (f"LEAK after {min(delays):.1f}-{max(delays):.1f} s (median {statistics.median(delays):.1f}), "
                 f"event rate {min(errors):+.0f}..{max(errors):+.0f} %")
    print(line + (f", {missed} not found within {window_s:.0f} s (or early)" if missed else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--parts", default="1234567", help="which parts to run, e.g. 5 or 35")
    args = ap.parse_args()
    n = args.seeds
    if "1" in args.parts:
        print("1. outgassing alone")
        for b, tau, n_tau in ((40.0, 200.0, 12), (15.0, 60.0, 20), (100.0, 600.0, 10), (300.0, 1200.0, 10),
                              (50.0, 60.0, 10), (100.0, 120.0, 10)):
            outgassing(n, b, tau, n_tau)
        for b, tau in ((200.0, 2400.0), (600.0, 3000.0), (1500.0, 7200.0)):
            outgassing(max(1, n // 3), b, tau, 1.5 if tau < 7200 else 0.5)
        outgassing(max(1, n // 3), 7000.0, 7200.0, 1.0)     # the envelope's corner: ~outgas_pa_s, tau outgas_tau_s
    if "2" in args.parts:
        print("2. needle valve after 4 tau of outgassing (b 40 Pa, tau 200 s)")
        for rate in (0.5, 0.2, 0.1, 0.05):
            leak(n, rate, 4 * C.TAU_S, window_s=600.0)
        leak(n, 0.5, 4 * C.TAU_S, pressure_pa=95000.0, window_s=600.0)
    if "3" in args.parts:
        print("3. needle valve open from isolation, under the same outgassing")
        for rate in (2.0, 0.5, 0.2, 0.1):
            leak(n, rate, 0.0, window_s=2400.0)
    if "4" in args.parts:
        print("4. beyond the tolerance: outgassing slower than outgas_tau_s, faster than outgas_pa_s (LEAKs expected)")
        outgassing(max(1, n // 3), 3000.0, 14400.0, 0.125)
        outgassing(max(1, n // 3), 100.0, 60.0, 10)
    if "5" in args.parts:
        print("5. the bound on c less 3 se (Pa/s) every 8 judgements (~2.2 min) from the first (~6.8 min after"
              " isolation), one part; a LEAK when above 0.05")
        for tau in (200.0, 600.0, 1200.0, 2400.0, 7200.0, 14400.0):
            separable(f"tau {tau:5.0f} s, 0.2 Pa/s at first", C.ChamberTruth(b_pa=0.2 * tau, tau_s=tau))
        separable("b 40 Pa tau 200 s + b 200 Pa tau 2400 s", C.ChamberTruth(more_vapour=C.two_exponentials))
        separable("1/t desorption, 0.5 Pa/s at first", C.ChamberTruth(b_pa=0.0, more_vapour=C.desorption_1_over_t))
        for rate in (0.5, 0.1):
            separable(f"needle {rate} Pa/s from isolation + b 40 Pa tau 200 s", C.ChamberTruth(leak_pa_s=rate, leak_s=0.0),
                      judgements=12)
    if "6" in args.parts:
        print("6. the best the noise allows: a needle from isolation under b 40 Pa tau 200 s (a model)")
        best_noise_allows()
    if "7" in args.parts:
        print("7. a chamber that declares its outgassing: a needle from isolation under b 40 Pa tau 200 s")
        leak(max(1, n // 3), 0.5, 0.0, window_s=120.0, outgas_pa_s=0.3)
        leak(max(1, n // 3), 0.1, 0.0, window_s=1500.0, outgas_tau_s=2400.0)


if __name__ == "__main__":
    main()
