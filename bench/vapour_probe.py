"""The water vapour hold through the turn of a crew's exercise (firmware/det_vapour.py; docs/detection.md section 3,
"Water vapour"): how far the held vapour is from the vapour the pressure carries, and the rate the node reports.

    .venv/bin/python bench/vapour_probe.py ramp                 # VapourTrack alone on a clean ramp: rise, turn, fall
    .venv/bin/python bench/vapour_probe.py day --node 1 2 3     # the detector on the +7 %RH day (habitat_streams)
    .venv/bin/python bench/vapour_probe.py sim                  # `safehaven sim` on tests/test_traces_humidity.py's trace

ramp: VapourTrack alone, the SCD4x's readings every 5 s (RH noise 0.1 %RH, 0.02 K; none with --clean) of a module on
the +-0.6 K orbit holding 40 %RH at 22 degC (the gas law), plus d %RH of a crew's vapour ramped up over 45 min from
3,600 s and dried back over 1 h (tests/habitat_streams.exercise_vapour). Printed every --every s through the turn,
for held_q2 (and rate_q2 where the VapourTrack has one, as on the branch vapour-wip: a separate value for the level
the rates are taken of; docs/detection.md, "Water vapour"): the vapour added (Pa), the vapour taken out
(Pa, relative to its first: the vapour added before the exercise is 0), their difference (the level's error, g = 1),
and that error's least-squares slope over the last 512 s (what a node's 512-block rung would show of it on an
otherwise still level; Pa/s). Its most negative slope is the summary.
day: the whole detector (CPython) on the same day through the BMP280 emulator's per-part errors and the SCD4x's
(habitat_streams.Hygrometer), 100 m3, 3 Pa 60 s fan, 200 ms: held_q2's (rate_q2's) error x g, the node's reported rate
(det.rate_e5) and state, and its alarms; the spans of reported rates <= -0.005 Pa/s.
sim: the test's trace through `safehaven sim` (3 nodes, 200 ms, CPython runtime): each node's reported rate
(telemetry frames) and the ground's decisions; --ideal: the parts without their per-part errors (noise stays).
"""
from __future__ import annotations

import argparse
import math
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "firmware"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

WINDOW_S = 512.0


def slope(points):
    """Least-squares slope of [(t, y)]."""
    n = len(points)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in points) / n
    my = sum(y for _, y in points) / n
    stt = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (y - my) for t, y in points) / stt if stt else 0.0


def ramp(args) -> None:
    import det_vapour as V
    import habitat_streams as S
    crew = S.exercise_vapour(args.rh)
    sealed = S.sealed_vapour(extra=crew)
    tr = V.VapourTrack()
    rnd = random.Random(args.seed)
    tref = int(22.0 * 5120)
    rows = []
    t = 5.0
    while t <= args.end:
        tc = 22.0 + 0.6 * math.sin(2 * math.pi * t / S.ORBIT_S)
        rh = 100.0 * sealed(t, tc) / S.saturation_pa(tc)
        noise_t, noise_rh = (0.0, 0.0) if args.clean else (rnd.gauss(0, 0.02), rnd.gauss(0, 0.1))
        tr.add(int(round((tc + noise_t) * 100)), int(round((rh + noise_rh) * 100)), int(tc * 5120), tref)
        # the vapour the pressure carries, referred to Tref as the detector refers it: the crew's
        rows.append((t, crew(t), tr.held_q2 / 4.0, tr.fitted, tr.slack_q2(0) / 4.0, getattr(tr, "rate_q2", None)))
        t += 5.0
    print("held_q2 (the level the CUSUMs judge is corrected with it):")
    report(rows, args)
    if rows[-1][5] is not None:        # (bench branch vapour-wip: a separate value for the rates' level)
        print("rate_q2 (the level the rates are taken of is corrected with it):")
        report([r[:2] + (r[5] / 4.0,) + r[3:] for r in rows], args)


def report(rows, args, extra=None):
    """rows: (t, vapour added, vapour taken out, fitted, slack[, ...]); prints through the turn, returns the worst
    512-s slope of the error (the vapour added less the vapour taken out)."""
    base = None
    hist: list = []
    worst = (0.0, 0.0)
    lo, hi = args.start, args.stop
    for r in rows:
        t, added, taken, fitted = r[:4]
        if not fitted:
            continue
        if base is None:
            base = added - taken
        err = added - taken - base
        hist.append((t, err))
        while hist and hist[0][0] < t - WINDOW_S:
            hist.pop(0)
        s = slope(hist) if hist[-1][0] - hist[0][0] >= WINDOW_S - 10 else 0.0
        if s < worst[0]:
            worst = (s, t)
        if lo <= t <= hi and int(t) % args.every == 0:
            more = "" if extra is None else extra(r)
            print(f"{t:7.0f} vapour {added:7.2f} taken {taken:7.2f} error {err:+6.2f} slope512 {s:+.4f} "
                  f"slack {r[4]:5.2f}{more}")
    print(f"most negative 512-s slope of the error: {worst[0]:+.4f} Pa/s at {worst[1]:.0f} s")
    return worst


def day(args) -> None:
    import detector as D
    import habitat_streams as S
    for node in args.node:
        crew = S.exercise_vapour(args.rh)
        rows = []
        scd = S.Hygrometer(node, S.sealed_vapour(extra=crew))

        def on_block(t, det):
            vt = det.vapour_track
            rows.append((t, crew(t), getattr(vt, "rate_q2", vt.held_q2) / 4.0 * det.thermal.vap / 4096.0,
                         det.vapour_track.fitted, det.vapour_track.slack_q2(0) / 4.0, det.rate_e5 / 1e5, det.state,
                         det.thermal.vap / 4096.0))

        fan = S.cycle(60.0, 3.0)
        det, alarms = S.day_alarms(node, lambda t: crew(t) + fan(t), 100.0, 200, args.end, scd=scd, on_block=on_block)
        print(f"part {node}: alarms {alarms}")
        report(rows, args, extra=lambda r: f" rate {r[5]:+.4f} state {r[6]} g {r[7]:.3f}")
        below = [r[0] for r in rows if r[5] <= -0.005]
        print(f"part {node}: reported rate <= -0.005 Pa/s: {len(below)} s"
              + (f", {below[0]:.0f}-{below[-1]:.0f} s" if below else "")
              + f"; lowest {min(r[5] for r in rows):+.4f} Pa/s")
        print(f"part {node}: spans {spans([(r[0], r[5]) for r in rows])}")


def spans(rs, limit=-0.005, gap=30.0):
    """[(start, end, lowest)] of the times whose rate is <= limit (runs joined across gaps under gap s)."""
    out: list = []
    for t, r in rs:
        if r > limit:
            continue
        if out and t - out[-1][1] <= gap:
            out[-1] = (out[-1][0], t, min(out[-1][2], r))
        else:
            out.append((t, t, r))
    return ", ".join(f"{a:.0f}-{b:.0f} s ({m:+.4f})" for a, b, m in out) or "none"


def sim(args) -> None:
    import json
    import sqlite3
    import tempfile

    import test_traces_humidity as T
    from safehaven.ground.cli import main
    from safehaven.ground.wire import StreamDecoder
    tmp = Path(tempfile.mkdtemp(prefix="vapour_probe_"))
    (tmp / "gym.csv").write_text(T.exercise_trace(args.rh))
    scenario = T.SCENARIO % {"d": args.rh, "end": int(T.END_S)}
    if args.ideal:
        scenario = scenario.replace("sample_period_ms = 200", "sample_period_ms = 200\nsim = { part_errors = false }")
    (tmp / "s.toml").write_text(scenario)
    rc = main(["sim", str(tmp / "s.toml"), "--runtime", "cpython", "--out", str(tmp / "out"), "--quiet"])
    db = sqlite3.connect(tmp / "out" / "telemetry.sqlite")
    decoders: dict[str, StreamDecoder] = {}
    rates: dict[int, list] = {}
    for t, link, kind, data in db.execute("select t, link, kind, data from rx order by id"):
        if kind != "data":
            continue
        for f in decoders.setdefault(link, StreamDecoder()).feed(bytes(data)):
            r = f.fields.get("rate_pa_s")
            if r is not None:
                rates.setdefault(f.node_id, []).append((t, r))
    for node, rs in sorted(rates.items()):
        below = [t for t, r in rs if r <= -0.005]
        low = min(rs, key=lambda x: x[1])
        print(f"node {node}: reported rate <= -0.005 Pa/s for {len(below)} frames"
              + (f", {below[0]:.0f}-{below[-1]:.0f} s" if below else "") + f"; lowest {low[1]:+.4f} at {low[0]:.0f} s")
        print(f"node {node}: spans {spans(rs)}")
        for t, r in rs:
            if args.start <= t <= args.stop and int(t) % args.every == 0:
                print(f"  {t:7.0f} {r:+.4f}")
    decisions = [json.loads(x) for x in (tmp / "out" / "decisions.jsonl").read_text().splitlines() if x]
    print(f"sim rc {rc}; ground states: {[(d['t'], d['state']) for d in decisions if d['event'] == 'state']}")


def main_() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=("ramp", "day", "sim"))
    ap.add_argument("--rh", type=float, default=7.0, help="the exercise's %%RH at 22 degC")
    ap.add_argument("--node", type=int, nargs="+", default=[1])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--clean", action="store_true", help="ramp: no reading noise")
    ap.add_argument("--end", type=float, default=10800.0)
    ap.add_argument("--start", type=float, default=6000.0, help="print from")
    ap.add_argument("--stop", type=float, default=7500.0, help="print to")
    ap.add_argument("--every", type=int, default=30)
    ap.add_argument("--ideal", action="store_true", help="sim: the emulated parts without their per-part errors")
    args = ap.parse_args()
    {"ramp": ramp, "day": day, "sim": sim}[args.what](args)


if __name__ == "__main__":
    main_()
