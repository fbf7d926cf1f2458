"""The red team's leak-rate tests as figures, not pass/fail, for a firmware tree (to compare two):
tests/test_redteam_repress_rate.py, test_redteam_hatch.py, test_redteam_mid_rate.py, test_redteam_slow_rate.py and
test_redteam_slow_sampling.py's slow-leak cases, each through the test's own helper.

    .venv/bin/python bench/rate_tests_probe.py --workers 2
    .venv/bin/python bench/rate_tests_probe.py --firmware /work/main/firmware --workers 2
    .venv/bin/python bench/rate_tests_probe.py --only repress hatch

One line per case: frames beyond the test's bound (and the worst), or for the hatch the time after the close from
which the telemetry stays within it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CASES = [("repress", n, r) for n in (1, 2) for r in (300.0, 0.0)] + \
    [("hatch", z, n) for z, ns in (("a", (1, 2)), ("b", (4, 5))) for n in ns] + \
    [("mid", r, n) for r in (0.6, 0.4) for n in (1, 2)] + \
    [("slow", s, 0) for s in (1, 2)] + \
    [("sampling", 1, 500), ("sampling", 1, 1000), ("sampling", 3, 1000)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--firmware", default=str(REPO / "firmware"))
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--only", nargs="+", help="case kinds (repress hatch mid slow sampling)")
    a = ap.parse_args()
    cases = [c for c in CASES if not a.only or c[0] in a.only]
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(a.workers) as pool:
        for line in pool.map(one, [(a.firmware, c) for c in cases]):
            print(line, flush=True)


def _worst(errs):
    return max(errs, key=abs) if errs else 0.0


def one(job) -> str:
    firmware, (kind, x, y) = job
    sys.path[:0] = [firmware, str(REPO), str(REPO / "tests")]
    if kind == "repress":
        import test_redteam_repress_rate as T
        off, found = T.off_frames(x, y)
        return "repress part %d %3.0f Pa: LEAK +%.0f s; %d frames beyond 30 %%%s" % (
            x, y, found, len(off), (" (worst %+.0f %% at %d s)" % (100 * _worst([e for _, e in off]),
                                                                 max(off, key=lambda f: abs(f[1]))[0])) if off else "")
    if kind == "hatch":
        import test_redteam_hatch as T
        tel = T.telemetry(x, y, T.CLOSE_S + 900.0)
        if x == "a":
            bad = [dt for dt, _, rate, _ in tel if dt >= 0 and abs(rate) > T.MONITOR_PA_S]
            worst = max((abs(r) for dt, _, r, _ in tel if dt >= 600), default=0.0)
            return "hatch sealed a, part %d: |rate| <= %.3f Pa/s from %d s after the close (test: 600); worst from 600 s %.4f" % (
                y, T.MONITOR_PA_S, (max(bad) + 10) if bad else 0, worst)
        bad = [dt for dt, _, rate, true in tel if dt >= 0 and abs(rate / true - 1) > 0.3]
        worst = _worst([rate / true - 1 for dt, _, rate, true in tel if dt >= 600])
        return "hatch leaking b, part %d: within 30 %% from %d s after the close (test: 600); worst from 600 s %+.0f %%" % (
            y, (max(bad) + 10) if bad else 0, 100 * worst)
    if kind == "mid":
        import test_redteam_mid_rate as T
        errs = [rate / true - 1 for dt, rate, true in T.late_rates(x, y)]
        return "mid %.1f Pa/s part %d: %d of %d frames beyond 30 %%, worst %+.0f %%" % (
            x, y, sum(abs(e) > 0.3 for e in errs), len(errs), 100 * _worst(errs))
    if kind == "slow":
        import detector as D
        import habitat_streams as S
        from safehaven.hil.physics import Leak
        onset = 3 * 3600.0
        truth = S.Truth(S.module(), leaks=[Leak("m", onset_s=onset, diameter_mm=S.leak_hole_mm(0.9))],
                        extra=S.cycle(60.0, 3.0))
        tel = []
        S.run(D.Detector(200), truth, S.Part(seed=x, tempco_pa_k=1.5 if x % 2 else -1.5), 200, onset + 7200.0,
              on_block=lambda t, d: tel.append((t, d.rate_e5 / 1e5)) if d.state == D.LEAK else None, every_s=10.0)
        true = truth.rate_pa_s()
        errs = [r / true - 1 for t, r in tel if t >= tel[0][0] + 600]
        return "slow 2 h seed %d: %d of %d frames beyond 30 %%, worst %+.0f %%" % (
            x, sum(abs(e) >= 0.3 for e in errs), len(errs), 100 * _worst(errs))
    import detector as D
    import test_redteam_slow_sampling as T
    events, errors = T.slow_leak(x, y)
    errs = [e for _, e in errors]
    return "sampling part %d %d ms: %d of %d frames beyond 30 %%, worst %+.0f %%; clears %s" % (
        x, y, sum(abs(e) > 0.3 for e in errs), len(errs), 100 * _worst(errs),
        [t for t, ev in events if ev == D.EV_LEAK_CLEARED])


if __name__ == "__main__":
    main()
