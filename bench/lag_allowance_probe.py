"""What a sensor's thermal lag leaves in the slow path against what the detector allows for it
(tests/test_redteam_sensor_lag.py's world: a sealed 916 m3 module on the +-0.6 K, 5,580 s orbit, a 3 Pa 55 s fan,
the node's temperature a first-order lag behind the gas's, nothing leaking, tests/habitat_streams.py's emulator
part for a node id).

    .venv/bin/python bench/lag_allowance_probe.py --lag 5 --node 4 --hours 4
    .venv/bin/python bench/lag_allowance_probe.py --lag 5 --node 4 --firmware /work/main/firmware
    .venv/bin/python bench/lag_allowance_probe.py --lag 5 --node 4 --every 600    # a line every 10 min

For every alarm (and every --every seconds) it prints, averaged over the leading CUSUM's run (or the last 256
blocks): the residual r the CUSUMs saw (Pa, positive = below the baseline), the part of it the lag and the tempco
leave by the physics (the level error 343 Pa/K x (T_gas - T_sensor) + the apparent tempco's, less the detector's
c x dx + d x v, against the baseline's window; the noise-free residual), the thermal allowance and its two terms
(c's bound x |dx - k dv|, d's bound x |dv|), the fan's swing allowance and the leading CUSUM's k; with c, d (as
seconds of lag) and their bounds. The residual beyond k + allowance is what makes a false LEAK.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lag", type=float, default=5.0, help="the sensor's first-order lag, s (default 5)")
    ap.add_argument("--node", type=int, default=4, help="emulator part (node id, default 4)")
    ap.add_argument("--hours", type=float, default=4.0, help="length (default 4 h, the test's)")
    ap.add_argument("--ms", type=int, default=200, help="sampling period (default 200 ms, the test's)")
    ap.add_argument("--fan", type=float, default=3.0, help="fan amplitude Pa (default 3, 55 s period)")
    ap.add_argument("--lag-prior", type=float, default=None, help="the detector's lag_s (default: its default)")
    ap.add_argument("--every", type=float, default=0.0, help="also print a line every this many s")
    ap.add_argument("--fits", action="store_true", help="print every refit of c and d (with the window's couplings)")
    ap.add_argument("--firmware", default=str(REPO / "firmware"), help="firmware tree to load (default this one)")
    a = ap.parse_args()
    sys.path[:0] = [a.firmware, str(REPO), str(REPO / "tests")]
    import detector as D
    import habitat_streams as S

    wall_c, p0 = 21.0, 101325.0
    params = {"volume_l": 916000}
    if a.lag_prior is not None:
        params["lag_s"] = a.lag_prior
    det = D.Detector(sample_ms=a.ms, params=params)
    part = S.emulator_part(a.node)
    th = det.thermal
    per_s = 343.0 * 1048576.0 / (256.0 * 5120.0 * det.block_s)     # d per second of lag
    state = {"sensed": None, "last": 0.0, "gas": 0.0}

    def at(t):
        gas = wall_c + 0.6 * math.sin(2 * math.pi * t / 5580.0)
        p = p0 * (gas + 273.15) / (wall_c + 273.15) + a.fan * math.sin(2 * math.pi * t / 55.0)
        if state["sensed"] is None or a.lag == 0:
            state["sensed"] = gas
        else:
            state["sensed"] += (gas - state["sensed"]) * (1.0 - math.exp(-(t - state["last"]) / a.lag))
        state["last"] = t
        state["gas"] = gas
        return p, state["sensed"]

    rows = []              # per block: r, phys, allow_a, allow_b, swing, k_top, top_j
    orig_update = det.cusum.update

    def update(r12, extra12, learnt, learning, block):
        top = orig_update(r12, extra12, learnt, learning, block)
        rows.append((block, r12 / 4096.0, extra12 / 4096.0, det.cusum.top_j, top))
        return top

    det.cusum.update = update
    if a.fits:
        orig_lag, orig_tempco = th._fit_lag, th._fit_tempco
        seen = {}

        def fit_lag(svy, svv, sxv, syy, n, dof, *rest):
            seen["k"] = sxv / svv if svv else 0.0
            seen["sxv"] = sxv
            return orig_lag(svy, svv, sxv, syy, n, dof, *rest)

        def fit_tempco(sxy, sxx, *rest):
            out = orig_tempco(sxy, sxx, *rest)
            k2 = seen.get("sxv", 0) / sxx if sxx else 0.0      # c's shift per unit of d's error (x 4 in TEMPCO_Q)
            print("   fit seg %3d  c %+.3f±%.3f%s  d %.2f±%.2f s%s  k' %.3f Pa/K per s of lag  r %.2f" % (
                th.segment, th.tempco / 3276.8, th.bound / 3276.8, "" if th.known else "(prior)",
                th.lag / per_s, th.lag_bound / per_s, "" if th.lag_known else "(prior)",
                4 * k2 * per_s / 3276.8, math.copysign(math.sqrt(abs(k2 * seen.get("k", 0.0)) / 4), k2)))
            return out
        th._fit_lag, th._fit_tempco = fit_lag, fit_tempco
    dt = a.ms / 1000.0
    n = int(a.hours * 3600.0 / dt)
    alarms = []
    next_print = a.every
    for i in range(n):
        t = i * dt
        p, tc = at(t)
        tf, pq = part.read(p, tc)
        ev = det.update(tf, pq)
        if ev in (D.EV_LEAK_DETECTED, D.EV_RAPID):
            alarms.append(t)
            report(det, th, rows, per_s, t, "ALARM", D)
        elif a.every and t >= next_print:
            next_print += a.every
            report(det, th, rows, per_s, t, "", D)
    print("alarms:", [round(x) for x in alarms])


def report(det, th, rows, per_s, t, tag, D) -> None:
    if not rows:
        return
    j = det.cusum.top_j
    run = min(det.cusum.run(det.block), len(rows)) if tag else 256
    run = max(1, min(run, len(rows)))
    seg = rows[-run:]
    r = sum(x[1] for x in seg) / len(seg)
    ex = sum(x[2] for x in seg) / len(seg)
    k = det.cusum.allow[j] / 4096.0
    sw = ((det.fan.left if det.fan.left > det.fan.odd else det.fan.odd) << 4) / 4096.0
    dx = 0
    print("%6.0f s %-5s run %4d j %d  r %+.3f  allow %.3f (swing now %.3f)  k %.3f  r-k-allow %+.3f | "
          "c %+.3f±%.3f Pa/K%s  d %.2f±%.2f s%s  stat %d%%"
          % (t, tag, run, j, r, ex, sw, k, r - k - ex, th.tempco / 3276.8, th.bound / 3276.8,
             "" if th.known else "(prior)", th.lag / per_s, th.lag_bound / per_s, "" if th.lag_known else "(prior)",
             det.stat))


if __name__ == "__main__":
    main()
