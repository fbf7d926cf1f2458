"""Two 8-hour habitat days from last session's red team (issue 9, untuned traces), re-checked on main: nothing
leaks, so no node may raise LEAK. Each day is rebuilt here exactly as its recording was written
(/tmp/redteam/gen.py: a 916 m3 module on a +-0.7 K, 5400 s orbit, a cabin fan, hatch/valve pulses of
-85..-160 Pa in 0.1 s recovering as e^(-t/tau), tau 25-58 s, a +300 Pa repress over 10 min; rows every 0.5 s,
0.02 s around each pulse) and read as `safehaven sim` reads a trace (linear interpolation), through the
BMP280 emulator's per-part errors for the node id (offset, tempco: hil/emu/bmp280.py) at 44 ms. The
strict xfails go when the weakness is fixed."""
import bisect
import math

import pytest

import detector as D
import habitat_streams as S

DAYS = {   # orbit phase, fan (Pa, s, phase), pulses (t, drop, tau), repress (t, rise, over)
    "t1": dict(wall=20.3, phase=2.2508131192642566, fan=(3.0, 55.0, 6.278855041883476),
               pulses=[(1498.74, 96.2, 57.9), (5104.41, 139.3, 54.0), (17984.0, 101.5, 24.7), (27333.87, 148.4, 30.7)],
               repress=(13576.5, 300.0, 600.0)),
    "dB": dict(wall=21.5, phase=1.2698821793241946, fan=(2.5, 80.0, 6.2144561597279875),
               pulses=[(1642.79, 156.3, 57.2), (18035.23, 130.6, 56.0), (21967.74, 87.9, 58.8),
                       (22596.58, 89.9, 26.6), (23728.94, 135.6, 33.1)],
               repress=(8568.7, 300.0, 600.0)),
}


class Recording:
    """A day's rows as the recording holds them, interpolated linearly (hil/scenario.py Trace.at)."""

    def __init__(self, day, end_s):
        self.day = day
        fine = [(t0 - 0.5, t0 + 2.0) for t0, _, _ in day["pulses"]]
        self.ts, self.rows = [], []
        t = 0.0
        while t <= end_s + 1e-9:
            temp = day["wall"] + 0.7 * math.sin(2 * math.pi * t / 5400.0 + day["phase"])
            self.ts.append(t)
            self.rows.append((round(self.pressure(t, temp), 3), round(temp, 4)))
            t = round(t + (0.02 if any(a <= t <= b for a, b in fine) else 0.5), 2)

    def pressure(self, t, temp):
        d = self.day
        t0, rise, over = d["repress"]
        comp = 101325.0 + rise * min(max(t - t0, 0.0) / over, 1.0)
        p = comp * (temp + 273.15) / (d["wall"] + 273.15)
        amp, period, phase = d["fan"]
        p += amp * math.sin(2 * math.pi * t / period + phase)
        for t0, drop, tau in d["pulses"]:
            if t0 <= t < t0 + 0.1:
                p -= drop * (t - t0) / 0.1
            elif t >= t0 + 0.1:
                p -= drop * math.exp(-(t - t0 - 0.1) / tau)
        return p

    def at(self, t):
        i = min(max(bisect.bisect_right(self.ts, t), 1), len(self.ts) - 1)
        t0, t1 = self.ts[i - 1], self.ts[i]
        f = min(max((t - t0) / (t1 - t0), 0.0), 1.0)
        (a, ta), (b, tb) = self.rows[i - 1], self.rows[i]
        return a + f * (b - a), ta + f * (tb - ta)


# (failed on main 26472f2: the fan notch's phase ran free through the transient hold and its wave was
# 0.4-0.8 Pa off after it; FanNotch now allows for that drift after a hold)
@pytest.mark.parametrize("name,node,end_s", [("t1", 11, 27700.0), ("dB", 4, 18450.0)])
def test_no_leak_after_a_hatch_pulse_on_a_fan_day(name, node, end_s):
    day = DAYS[name]
    det = D.Detector(sample_ms=44, params={"volume_l": 916000})
    events = S.run(det, Recording(day, end_s), S.emulator_part(node), 44, end_s)
    after_pulse = [(round(t, 1), round(t - t0, 1)) for t, ev in events if ev == D.EV_LEAK_DETECTED
                   for t0, _, _ in day["pulses"] if 0 < t - t0 < 400]
    assert after_pulse == []
