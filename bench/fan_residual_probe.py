"""What the fan notch and the thermal model leave, on bench/detection.py's `slow_leak` world (seed 1000 k + 7 for part
k, 44 ms, the 3 Pa, 60 s fan), from boot to the leak's onset (one to two orbits):
- the fan's wave left in the level once the notch is locked: the true block mean of the wave less what the notch
  subtracted, rms and largest over the last 600 blocks before the onset, and its component at the fan's frequency in
  quadrature (cos) with the wave: a period off shows there;
- the notch's period at the onset against the truth (in blocks);
- the tempco c in use at the onset against the part's apparent one (tempco - offset / T), in its standard errors
  (c's bound / det_thermal._Z; the bound counts what c has not moved yet too).

    .venv/bin/python bench/fan_residual_probe.py --parts 0 1 2 3 4 5 6 7 --workers 2
    .venv/bin/python bench/fan_residual_probe.py --firmware /tmp/other/firmware
"""
from __future__ import annotations

import argparse
import math
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def one(job):
    firmware, k = job
    sys.path[:0] = [firmware, str(REPO), str(REPO / "bench")]
    import det_thermal as T
    import detector  # noqa: F401  (from `firmware` before detection.py puts this tree's first)
    import detection as B
    assert Path(detector.__file__).parent == Path(firmware).resolve(), detector.__file__
    rnd = random.Random(1000 * k + 7)
    part = B.Part(rnd)
    onset = B.ORBIT_S + rnd.uniform(0, B.ORBIT_S)
    day = B.Day(rnd, [], ("ramp", onset, 1e-3), 3.0)
    det = B._runners(44)[0]
    subtracted = {}
    update = det.fan.update

    def fan_update(*args, **kw):
        q = update(*args, **kw)
        subtracted[det.block] = (q / 256.0, det.fan.locked)
        return q
    det.fan.update = fan_update
    times, blocks, last, i = [], {}, det.block, 0
    while True:
        t = i * 0.044
        i += 1
        if t > onset:
            break
        raw, tc, _ = day.at(t)
        tf, pq, _, _ = part.read(raw, tc)
        times.append(t)
        det.update(tf, pq)
        if det.block != last:
            blocks[det.block], times, last = times, [], det.block
    left = []
    for b, (q, locked) in subtracted.items():
        if locked and b in blocks:
            ts = blocks[b]
            wave = sum(3.0 * math.sin(2 * math.pi * t / B.FAN_PERIOD_S) for t in ts) / len(ts)
            left.append((ts[0], wave - q))
    left = left[-600:]
    rms = math.sqrt(sum(x * x for _, x in left) / len(left))
    cos = 2 * sum(x * math.cos(2 * math.pi * t / B.FAN_PERIOD_S) for t, x in left) / len(left)
    th = det.thermal
    apparent = part.tempco - part.offset / (B.T0 + 273.15)
    se = th.bound / T._Z / T.TEMPCO_Q
    return k, rms, max(abs(x) for _, x in left), cos, 65536.0 / det.fan.step, B.FAN_PERIOD_S / det.block_s, \
        th.tempco / T.TEMPCO_Q, apparent, se


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", type=int, nargs="+", default=list(range(8)))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--firmware", default=str(REPO / "firmware"))
    a = ap.parse_args()
    z = []
    with ProcessPoolExecutor(a.workers) as pool:
        for k, rms, top, cos, period, true_period, c, apparent, se in pool.map(one, [(a.firmware, k) for k in a.parts]):
            z.append((c - apparent) / se)
            print(f"part {k}: wave left {rms:.3f} Pa rms (largest {top:.3f}, in quadrature {cos:+.3f}); period "
                  f"{period:.2f} blocks (truth {true_period:.2f}, {100 * (period / true_period - 1):+.2f} %); c "
                  f"{c:+.3f} Pa/K, apparent {apparent:+.3f}, off by {z[-1]:+.2f} standard errors", flush=True)
    print(f"c off by {min(abs(x) for x in z):.2f}-{max(abs(x) for x in z):.2f} standard errors, "
          f"rms {math.sqrt(sum(x * x for x in z) / len(z)):.2f}")


if __name__ == "__main__":
    main()
