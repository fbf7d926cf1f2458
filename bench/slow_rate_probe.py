"""The telemetry rate of a slow leak after its LEAK, minute by minute, with what feeds it
(tests/test_detector_habitat.py::test_slow_leak_rate_at_200_ms_holds_from_ten_minutes_after_detection's world:
0.9 kg/day in a 916 m3 module on the +-0.6 K orbit after 3 h, a 3 Pa 60 s fan, S.Part(seed) with a tempco of
+-1.5 Pa/K, 200 ms).

    .venv/bin/python bench/slow_rate_probe.py --seed 4
    .venv/bin/python bench/slow_rate_probe.py --seed 4 --firmware /work/main/firmware
    .venv/bin/python bench/slow_rate_probe.py --seed 4 --no-long     # the CUSUMs' sigma never re-derived
    .venv/bin/python bench/slow_rate_probe.py --seeds 1 2 3 4 5 6 7 8 9 10 11 12 --quiet --workers 2
    .venv/bin/python bench/slow_rate_probe.py --seeds 1 4 --quiet --no-repin   # onset not found again after the alarm

Prints the LEAK's delay after the onset, then every --every s from it: the telemetry rate against the truth (%),
the slope since the onset the detector holds, the thermal model's c (against the part's apparent tempco) and d (as
seconds of lag) with their bounds, and the CUSUMs' sigma_b, and where the two growing windows start (the alarming CUSUM's run, the ramp's
onset found at the alarm) against the true onset. The test's figure is the worst from 10 min after LEAK
to onset + 40 min.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=4, help="S.Part seed (the test's parameter; default 4)")
    ap.add_argument("--seeds", type=int, nargs="+", help="several seeds (one summary line each)")
    ap.add_argument("--quiet", action="store_true", help="the summary line only")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-repin", action="store_true", help="the ramp's onset not found again after the alarm")
    ap.add_argument("--ms", type=int, default=200, help="sampling period (default 200 ms)")
    ap.add_argument("--every", type=float, default=60.0, help="a line every this many s after LEAK (default 60)")
    ap.add_argument("--no-long", action="store_true", help="never re-derive the CUSUMs' sigma from the long record")
    ap.add_argument("--firmware", default=str(REPO / "firmware"), help="firmware tree to load (default this one)")
    a = ap.parse_args()
    if a.seeds:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(a.workers) as pool:
            for line in pool.map(one, [(a, sd) for sd in a.seeds]):
                print(line, flush=True)
    else:
        print(one((a, a.seed)))


def one(job) -> str:
    a, seed = job
    sys.path[:0] = [a.firmware, str(REPO), str(REPO / "tests")]
    import detector as D
    import habitat_streams as S
    from safehaven.hil.physics import Leak

    hour = 3600.0
    onset = 3 * hour
    truth = S.Truth(S.module(), leaks=[Leak("m", onset_s=onset, diameter_mm=S.leak_hole_mm(0.9))],
                    extra=S.cycle(60.0, 3.0))
    det = D.Detector(a.ms)
    if a.no_long and hasattr(det, "_long_ready"):
        det._long_ready = lambda: False
    if a.no_repin and hasattr(D, "_REPIN"):
        D._REPIN = -1
    part = S.Part(seed=seed, tempco_pa_k=1.5 if seed % 2 else -1.5)
    c_app = part.tempco_pa_k - part.offset_pa / 295.15
    th = det.thermal
    per_s = 343.0 * 1048576.0 / (256.0 * 5120.0 * det.block_s)
    tel = []
    nxt = [None]

    def on_block(t, d):
        beta = -truth.rate_pa_s()
        if d.state == D.LEAK:
            tel.append((t, d.rate_e5 / 1e5))
            if nxt[0] is None:
                nxt[0] = t
            if t >= nxt[0] and not a.quiet:
                nxt[0] += a.every
                r = d.rate_e5 / 1e5
                print("%6.0f s (LEAK +%4.0f)  rate %+.5f Pa/s (%+5.1f %%)  c %+.3f±%.3f (part %+.3f) Pa/K  "
                      "d %.2f±%.2f s%s  sigma_b %.3f Pa  windows from %+.0f / %+.0f s of the onset" % (
                          t - onset, t - tel[0][0], r, 100 * (r / -beta - 1), th.tempco / 3276.8, th.bound / 3276.8,
                          c_app, th.lag / per_s, th.lag_bound / per_s, "" if th.lag_known else "(prior)",
                          d.cusum.sigma12 / 4096.0,
                          t - onset - d.rates.g_n[0] * 16 * d.block_s, t - onset - d.rates.g_n[1] * 16 * d.block_s))

    S.run(det, truth, part, a.ms, onset + 2400, on_block=on_block, every_s=10.0)
    if not tel:
        return "seed %d: no LEAK" % seed
    beta = -truth.rate_pa_s()
    late = [r for t, r in tel if t >= tel[0][0] + 600]
    worst = max(late, key=lambda r: abs(r / -beta - 1)) / -beta - 1 if late else float("nan")
    return "seed %d: LEAK %.0f s after onset; rate from 10 min after to onset + 40 min: worst %+.1f %% (bound 30 %%)" % (
        seed, tel[0][0] - onset, 100 * worst)


if __name__ == "__main__":
    main()
