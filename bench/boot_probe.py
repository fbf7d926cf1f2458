"""A node booting: into no leak (alarms in the first 40 minutes) or into a leak already running (the delay to its
LEAK), on tests/habitat_streams.py's world: a 100 m3 module on the +-0.6 K orbit, the BMP280 emulator's per-part
errors for node ids 1..8, a 3 Pa, 60 s fan on the even ones (or on all with --leak), booting at several points of
the orbit (where the temperature turns and where it moves fastest). docs/detection.md section 3, "Booting into a
running leak".

    .venv/bin/python bench/boot_probe.py --ms 44                 # 8 parts x 5 boot times, nothing leaking
    .venv/bin/python bench/boot_probe.py --ms 200 --vapour       # ... while a crew's +7 %RH dries back
    .venv/bin/python bench/boot_probe.py --leak 0.01 --ms 200    # 0.01 Pa/s running 10 minutes before the boot
    .venv/bin/python bench/boot_probe.py --firmware /tmp/other/firmware
"""
from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BOOTS_S = (5900.0, 6300.0, 6900.0, 7600.0, 8600.0)
VOLUME_M3 = 100.0


def one(job):
    firmware, node, boot_s, fan_pa, vapour, leak_pa_s, ms = job
    sys.path[:0] = [firmware, str(REPO), str(REPO / "tests")]
    import detector as D
    import habitat_streams as S
    from safehaven.hil.physics import Leak
    assert Path(D.__file__).parent == Path(firmware).resolve(), D.__file__
    crew = S.exercise_vapour(7.0) if vapour else (lambda t: 0.0)
    fan = S.cycle(60.0, fan_pa)
    leaks = []
    if leak_pa_s:
        kg_day = leak_pa_s * VOLUME_M3 / (287.05 * 295.15) * 86400.0
        leaks = [Leak("m", onset_s=boot_s - 600.0, diameter_mm=S.leak_hole_mm(kg_day))]
    truth = S.Truth(S.module(volume_m3=VOLUME_M3), leaks=leaks, extra=lambda t: crew(t) + fan(t))
    det = D.Detector(sample_ms=ms, params={"volume_l": int(VOLUME_M3 * 1000)})
    scd = S.Hygrometer(node, S.sealed_vapour(extra=crew))
    events = S.run(det, truth, S.emulator_part(node), ms, boot_s + 2400.0, start_s=boot_s, scd=scd)
    return job, [t - boot_s for t in S.alarm_times(events)], det.rate_e5 / 1e5


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ms", type=int, default=44)
    ap.add_argument("--parts", type=int, nargs="+", default=list(range(1, 9)))
    ap.add_argument("--vapour", action="store_true", help="boot while a crew's +7 %%RH exercise is dried back")
    ap.add_argument("--leak", type=float, default=0.0, help="a leak of this many Pa/s running from 10 min before")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--firmware", default=str(REPO / "firmware"))
    a = ap.parse_args()
    jobs = [(a.firmware, n, b, 3.0 if a.leak or n % 2 == 0 else 0.0, a.vapour, a.leak, a.ms)
            for n in a.parts for b in BOOTS_S]
    alarmed, delays = 0, []
    with ProcessPoolExecutor(a.workers) as pool:
        for (_, n, b, fan, _, _, _), alarms, rate in pool.map(one, jobs):
            alarmed += bool(alarms)
            if alarms:
                delays.append(alarms[0])
            print(f"part {n} boot {b:6.0f} s fan {fan:g} Pa: alarms at {[round(t) for t in alarms[:3]]} s after boot, "
                  f"rate at the end {rate:+.4f} Pa/s", flush=True)
    what = f"a {a.leak:g} Pa/s leak" if a.leak else "nothing leaking" + (", the vapour drying" if a.vapour else "")
    print(f"{a.ms} ms, {what}: {alarmed} of {len(jobs)} boots raised an alarm"
          + (f"; first at {min(delays):.0f}-{max(delays):.0f} s" if delays else ""))


if __name__ == "__main__":
    main()
