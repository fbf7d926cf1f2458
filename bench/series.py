"""The ground's pressure-series rate check (ground/series.py): its cost per telemetry frame, against
the frame rate it must keep up with and against two peers doing the work a plainer way.

    .venv/bin/python bench/series.py                  # 1 Hz telemetry (the nodes' default)
    .venv/bin/python bench/series.py --hz 10          # 10 Hz: 2048 points in the window

Per frame the ground does PressureSeries.add() and then, at the zone's next vote, one adaptive-window
fit (slope() and discrepancy() share it); this measures exactly that, with the window full (512 s of
points, at most 2048), the default policy's settings. The series is a node's: 1.3 Pa noise, the
temperature in 0.01 °C steps, reported rates with their own noise; steady, or with a 0.03 Pa/s leak.

Bound: the station's largest configuration, 254 nodes (node ids 1-254) at --hz each, on one core.
Peers, over the same points in the same run:
- numpy: np.polyfit(deg=1) of the whole 512 s window, once per frame (one fit, not nine);
- naive: the nine windows (2-512 s) each re-fitted from scratch with ground.series.fit (what the
  adaptive fit's one backward pass with running sums saves).
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from safehaven.ground.policy import load_policy  # noqa: E402
from safehaven.ground.series import WINDOWS_S, PressureSeries, fit  # noqa: E402

_V = load_policy(None).voting          # the default policy's series settings, as the station uses them
NOISE_PA, GAMMA, JITTER_PA = _V["series_noise_pa"], _V["series_gamma"], _V["series_jitter_pa"]
NODES = 254


def node_frames(hz: float, seconds: float, leak_from_s: float, seed: int = 1):
    """(t_node_s, pressure_pa, temperature_c, reported rate_pa_s) of one node."""
    rnd = random.Random(seed)
    out = []
    for i in range(int(seconds * hz)):
        t = i / hz
        leak = -0.03 * max(0.0, t - leak_from_s)
        rate = (-0.03 if t > leak_from_s else 0.0) + rnd.gauss(0.0, 0.004)
        temperature_c = round(21.0 + rnd.gauss(0.0, 0.003), 2)        # the wire's 0.01 °C steps
        out.append((t, 101325.0 + leak + rnd.gauss(0.0, 1.3), temperature_c, rate))
    return out


def run_series(frames, warm: int):
    """Seconds per measured frame (add + the vote's fit), and the last slope."""
    s = PressureSeries()
    for t, p, c, r in frames[:warm]:
        s.add(t, t, p, c, r)
    start = time.perf_counter()
    slope = None
    for t, p, c, r in frames[warm:]:
        s.add(t, t, p, c, r)
        slope = s.slope(NOISE_PA, GAMMA, JITTER_PA)
        s.discrepancy(NOISE_PA, GAMMA, JITTER_PA)
    return (time.perf_counter() - start) / (len(frames) - warm), slope, s


def run_numpy(frames, warm: int, window: int):
    """np.polyfit of the last `window` points per frame (a ring kept as arrays, as numpy code would)."""
    t_ref = frames[0][2] + 273.15                             # as PressureSeries: its first temperature
    t = np.array([f[0] for f in frames])
    pc = np.array([f[1] * t_ref / (f[2] + 273.15) for f in frames])
    start = time.perf_counter()
    slope = 0.0
    for i in range(warm, len(frames)):
        lo = max(0, i + 1 - window)
        slope = np.polyfit(t[lo:i + 1] - t[i], pc[lo:i + 1], 1)[0]
    return (time.perf_counter() - start) / (len(frames) - warm), slope


def run_naive(series: PressureSeries, frames, warm: int):
    """Each of the nine windows re-fitted from scratch per frame (ground.series.fit)."""
    s = PressureSeries()
    for t, p, c, r in frames[:warm]:
        s.add(t, t, p, c, r)
    start = time.perf_counter()
    slopes = []
    for t, p, c, r in frames[warm:]:
        s.add(t, t, p, c, r)
        pts = list(s.points)
        end = pts[-1][0]
        slopes = [fit([(x[0], x[1]) for x in pts if end - x[0] <= w + 1e-6], NOISE_PA) for w in WINDOWS_S]
    return (time.perf_counter() - start) / (len(frames) - warm), slopes


def case(name: str, hz: float, measured: int, leak_from_s: float) -> bool:
    warm = int(WINDOWS_S[-1] * hz) + 8                       # the 512 s window full (or 2048 points)
    frames = node_frames(hz, (warm + measured) / hz, leak_from_s)
    per, slope, series = run_series(frames, warm)
    window = len(series.points)
    np_per, np_slope = run_numpy(frames, warm, window)
    naive_per, _ = run_naive(series, frames[:warm + max(50, measured // 10)], warm)
    need = NODES * hz
    print(f"{name}: {hz:g} Hz telemetry, window {window} points ({window / hz:.0f} s), {measured} frames measured")
    print(f"  ground.series (add + adaptive fit): {per * 1e3:.3f} ms/frame = {1 / per:,.0f} frames/s on one core")
    print(f"  bound: {NODES} nodes x {hz:g} Hz = {need:,.0f} frames/s: headroom {1 / per / need:.1f}x, "
          f"{'met' if 1 / per >= need else 'NOT met'}")
    print(f"  peer numpy.polyfit (one {window / hz:.0f} s window): {np_per * 1e3:.3f} ms/frame = "
          f"{1 / np_per:,.0f} frames/s ({np_per / per:.1f}x the series' time)")
    print(f"  peer naive re-fit of the {len(WINDOWS_S)} windows: {naive_per * 1e3:.3f} ms/frame = "
          f"{1 / naive_per:,.0f} frames/s ({naive_per / per:.1f}x the series' time)")
    whole = fit([(x[0], x[1]) for x in series.points], NOISE_PA)
    same = slope is not None and whole is not None and abs(whole.slope_pa_s - np_slope) <= 1e-9
    print(f"  same points, same answer: whole-window slope {whole.slope_pa_s if whole else None:+.5f} Pa/s (fit) vs "
          f"{np_slope:+.5f} (numpy){'' if same else '  MISMATCH'}; adaptive {slope.slope_pa_s if slope else 0:+.5f} "
          f"Pa/s over {slope.span_s if slope else 0:.0f} s")
    return same and 1 / per >= need


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hz", type=float, default=1.0, help="telemetry frames per second per node (default 1)")
    ap.add_argument("--frames", type=int, default=2000, help="frames measured after the window is full")
    args = ap.parse_args(argv)
    ok = case("steady (no leak: every window agrees, the pass runs to 512 s)", args.hz, args.frames, 1e9)
    ok &= case("leak under way (0.03 Pa/s from the start)", args.hz, args.frames, 0.0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
