"""What `_rate_changed` sees after a scheduled repress on a known slow leak
(tests/test_redteam_repress_rate.py's world: 0.9 kg/day in 916 m3 from 3 h of the +-0.6 K orbit, a 3 Pa 60 s fan,
a +300 Pa repress over 10 minutes 30 minutes after the onset, emulator part NODE, 200 ms).

    .venv/bin/python bench/repress_rate_probe.py --node 2
    .venv/bin/python bench/repress_rate_probe.py --node 2 --firmware /work/main/firmware
    .venv/bin/python bench/repress_rate_probe.py --node 1 --repress 0        # the control

Prints, every --every s from the repress's end to 20 minutes after: the telemetry rate against the truth (%), and
each time `_rate_changed` runs: the last 8.5 minutes' slope (recent), the rate it is compared with (since), their
difference in units of the white-noise standard error of the difference and of the one scaled by the entries' own
scatter (firmware with `BlockRates.long_scatter`), and what it returned. The test's figure: frames beyond 30 %.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--node", type=int, default=2, help="emulator part (the test's parameter; default 2)")
    ap.add_argument("--nodes", type=int, nargs="+", help="several parts (a summary line each)")
    ap.add_argument("--repress", type=float, default=300.0, help="Pa (0: the control)")
    ap.add_argument("--ms", type=int, default=200)
    ap.add_argument("--every", type=float, default=10.0)
    ap.add_argument("--from-s", type=float, default=0.0, help="print from this many s after the repress's end")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--firmware", default=str(REPO / "firmware"))
    a = ap.parse_args()
    if a.nodes:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(a.workers) as pool:
            for line in pool.map(one, [(a, n) for n in a.nodes]):
                print(line, flush=True)
    else:
        print(one((a, a.node)))


def one(job) -> str:
    a, node = job
    sys.path[:0] = [a.firmware, str(REPO), str(REPO / "tests")]
    import detector as D
    import habitat_streams as S
    from safehaven.hil.physics import Leak

    onset, repress_s, over_s = 3 * 3600.0, 3 * 3600.0 + 1800.0, 600.0
    end_s = repress_s + over_s + 1200.0
    fan = S.cycle(60.0, 3.0)
    truth = S.Truth(S.module(volume_m3=916.0), leaks=[Leak("m", onset_s=onset, diameter_mm=S.leak_hole_mm(0.9))],
                    extra=lambda t: fan(t) + a.repress * min(max(t - repress_s, 0.0) / over_s, 1.0))
    det = D.Detector(sample_ms=a.ms, params={"volume_l": 916000})
    seen = {}
    inner = det._rate_changed

    def spy(since_e5):
        out = inner(since_e5)
        rates = det.rates
        recent = rates.long_e5(D.RING)
        se_r = det._slope_se16(D.RING)
        se_g = det._slope_se16(rates.grow_n)
        white = max(D.isqrt(max(se_r * se_r - se_g * se_g, 0)), se_r >> 1)
        se = 0
        if hasattr(rates, "long_scatter"):            # the entries' own scatter (this tree's firmware)
            up = rates.long_scatter() / det.entry_var
            se = white * max(1.0, up) ** 0.5
        seen.update(recent=recent, since=since_e5, n=rates.grow_n, white=white,
                    d=abs(recent - since_e5) * 16, out=out, se=se)
        return out
    det._rate_changed = spy
    off = []
    lines = []

    def on_block(t, d):
        if t < repress_s + over_s:
            seen.clear()
            return
        s = t - repress_s - over_s
        true = truth.rate_pa_s()
        err = d.rate_e5 / 1e5 / true - 1.0
        if abs(err) > 0.30:
            off.append((round(s), round(100 * err)))
        if s >= a.from_s and not a.quiet and seen:
            k = seen
            se = k["se"]
            lines.append("%5.0f s  rate %+.5f (%+5.0f %%)  recent %+5.0f %%  since %+5.0f %% (n %3d)  |d| %4.1f white SE%s  -> %s" % (
                s, d.rate_e5 / 1e5, 100 * err, 100 * (k["recent"] / 1e5 / true - 1), 100 * (k["since"] / 1e5 / true - 1),
                k["n"], k["d"] / max(k["white"], 1), "  %4.1f data SE" % (k["d"] / se) if se else "",
                "%+.0f %%" % (100 * (k["out"] / 1e5 / true - 1)) if k["out"] else "-"))
        seen.clear()
    events = S.run(det, truth, S.emulator_part(node), a.ms, end_s, on_block=on_block, every_s=a.every)
    found = min((t for t, ev in events if ev == D.EV_LEAK_DETECTED), default=float("nan")) - onset
    head = "part %d, repress %.0f Pa: LEAK %.0f s after onset; %d frames beyond 30 %% after the repress%s" % (
        node, a.repress, found, len(off), (": " + " ".join("%d s %+d %%" % f for f in off[:12])) if off else "")
    return "\n".join(lines + [head])


if __name__ == "__main__":
    main()
