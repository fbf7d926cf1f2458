"""Where a slow leak's delay goes: bench/detection.py's `slow_leak` world (the same parts and seeds, 1000 k + 7, 44 ms,
the leak after one to two orbits), run to the firmware's first alarm with CusumBank.update and
ThermalModel.allowance12 wrapped to record every block's residual r, the CUSUMs' extra allowance (the thermal
model's, the fan notch's `left`/`odd`) and k, h, sigma; then the recorded residuals replayed through the bank with
terms taken out (exact: the residuals do not depend on the CUSUMs before the alarm).

    .venv/bin/python bench/delay_probe.py --beta 1e-3 3e-2 --fan 3 --parts 0 1 2 3 4 5 6 7 --workers 2
    .venv/bin/python bench/delay_probe.py --beta 1e-3 --fan 0 3 --parts 0 --firmware /tmp/other/firmware

Columns (delay / the CUSUM bound of bench/detection.py, REFERENCE section 3, sigma 1.3 Pa):
  alarm   the firmware's alarm (its young-alarm holds included)
  replay  the recorded bank's first crossing (what alarm is without the holds)
  -therm  without the thermal model's allowance
  -fan    without the notch's
  -both   without either
  sig_c   the bank re-tuned at the compensated block noise (2.15 Pa per 44 ms sample / sqrt(block_n), no margin, no
          wave), no extra allowance: the best this bank can do on this noise
  sig_b   the same at the bound's 1.3 Pa: the bank against the bound itself
and, averaged from the onset to the alarm: the leading CUSUM's k, the thermal and the notch allowance (Pa per block),
sigma_b (the bank's at the onset, as it follows the long record), and the long noise record's two measures at the
onset (neighbouring blocks' second differences, and blocks 15 apart: sigma_b is their mean, or the slow one when it
stands out, times its margin: det_cusum.block_sigma_q10).
"""
from __future__ import annotations

import argparse
import math
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--beta", type=float, nargs="+", default=[1e-3])
    ap.add_argument("--fan", type=float, nargs="+", default=[3.0])
    ap.add_argument("--parts", type=int, nargs="+", default=list(range(8)))
    ap.add_argument("--ms", type=int, default=44)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--firmware", default=str(REPO / "firmware"))
    a = ap.parse_args()
    jobs = [(a.firmware, b, f, k, a.ms) for b in a.beta for f in a.fan for k in a.parts]
    from concurrent.futures import ProcessPoolExecutor
    cols = ("alarm", "replay", "-therm", "-fan", "-both", "sig_c", "sig_b")
    print("%-18s %s   k / therm / notch Pa, sigma_b Pa (long record: white / slow)" % (
        "cell part", " ".join("%6s" % c for c in cols)))
    cells: dict = {}
    with ProcessPoolExecutor(a.workers) as pool:
        for (b, f, k), r in pool.map(one, jobs):
            cells.setdefault((b, f), []).append(r)
            print("%-18s %s   %.3f / %.3f / %.3f, %.3f (%.3f / %.3f)" % (
                "%.0e fan %.0f #%d" % (b, f, k), " ".join("%6.2f" % r[c] if r[c] is not None else "     -" for c in cols),
                r["k"], r["therm"], r["notch"], r["sigma"], r["white"], r["slow"]), flush=True)
    for (b, f), rs in cells.items():
        print("%-18s %s" % ("%.0e fan %.0f mean" % (b, f), " ".join(
            "%6.4f" % (sum(r[c] for r in rs) / len(rs)) if all(r[c] is not None for r in rs) else "     -" for c in cols)))


def one(job):
    firmware, beta, fan, k, ms = job
    sys.path[:0] = [firmware, str(REPO), str(REPO / "bench")]
    import det_cusum as C
    import detector  # noqa: F401  (from `firmware` before detection.py puts this tree's first)
    import detection as B
    assert Path(detector.__file__).parent == Path(firmware).resolve(), detector.__file__
    seed = 1000 * k + 7
    rnd = random.Random(seed)
    part = B.Part(rnd)
    onset = B.ORBIT_S + rnd.uniform(0, B.ORBIT_S)
    bound = B.bound_s(B.SIGMA, ms / 1000.0, beta)
    day = B.Day(rnd, [], ("ramp", onset, beta), fan)
    det = B._runners(ms)[0]
    rec = []                       # (t, r12, extra12, thermal12, learnt, learning, block)
    snap = {}
    th = [0]
    t_now = [0.0]
    allowance = det.thermal.allowance12

    def thermal(dx, dv):
        th[0] = allowance(dx, dv)
        return th[0]
    det.thermal.allowance12 = thermal
    update = det.cusum.update

    def cusum(r12, extra12, learnt, learning, block):
        if extra12 == 0 and r12 == 0:
            rec.append((t_now[0], 0, 0, 0, learnt, learning, block, det.cusum.scale_q12))
        else:
            rec.append((t_now[0], r12, extra12, th[0], learnt, learning, block, det.cusum.scale_q12))
        th[0] = 0
        if "allow" not in snap and t_now[0] >= onset:
            c = det.cusum
            snap.update(allow=list(c.allow), limit=list(c.limit), need=list(c.need), sigma12=c.sigma12,
                        stat=list(c.stat), ln_arl=det.ln_arl,
                        white=math.sqrt(det.noise_long.var16 / 16.0) / 256.0,
                        slow=math.sqrt(det.slow_long.var16 / 16.0) / 256.0)
        return update(r12, extra12, learnt, learning, block)
    det.cusum.update = cusum
    dt = ms / 1000.0
    i = 0
    found = None
    while found is None:
        t = i * dt
        i += 1
        t_now[0] = t
        raw, tc, _ = day.at(t)
        tf, pq, _, _ = part.read(raw, tc)
        ev = det.update(tf, pq)
        if ev in B.ALARMS:
            found = t - onset
        if t > onset + 40 * bound:
            break
    c = det.cusum
    changed = snap.get("allow") != c.allow or snap.get("limit") != c.limit
    block_s = det.block_s

    def replay(drop_th, drop_fan, allow=None, limit=None):
        # (the firmware's bank: with the scale it followed the noise record by; a re-tuned one: without)
        own = allow is None
        allow = allow or snap["allow"]
        limit = limit or snap["limit"]
        w = list(snap["stat"]) if allow is snap["allow"] else [0] * C.BANK
        for (t, r12, ex, th12, learnt, learning, block, scale) in rec:
            if t < onset:
                continue
            e = ex - (th12 if drop_th else 0) - ((ex - th12) if drop_fan else 0)
            if own and scale != 4096:
                r12 = r12 * scale / 4096.0
                e = e * scale / 4096.0
            for j in range(C.BANK):
                if learning and learnt < snap["need"][j]:
                    continue
                w[j] = max(0, w[j] + r12 - allow[j] - e)
                if w[j] >= limit[j]:
                    return (t - onset) / bound
        return None

    def tuned(sig_sample):
        bank = C.CusumBank()
        bank.tune(sig_sample / math.sqrt(det.block_n), det.p["drift_pa_s"], block_s, snap["ln_arl"],
                  det.baseline.rebase_blocks, 0.0)
        return bank.allow, bank.limit
    out = {"alarm": found / bound if found is not None else None, "replay": replay(False, False),
           "-therm": replay(True, False), "-fan": replay(False, True), "-both": replay(True, True)}
    out["sig_c"] = replay(True, True, *tuned(B.SIGMA_T))
    out["sig_b"] = replay(True, True, *tuned(B.SIGMA))
    run = [x for x in rec if x[0] >= onset]
    j = c.top_j
    n = max(1, len(run))
    out.update(k=snap["allow"][j] / 4096.0, therm=sum(x[3] for x in run) / n / 4096.0,
               notch=sum(x[2] - x[3] for x in run) / n / 4096.0, sigma=snap["sigma12"] / 4096.0, changed=changed,
               white=snap["white"], slow=snap["slow"])
    return (beta, fan, k), out


if __name__ == "__main__":
    main()
