"""ground/series.py: the pressure series' running sums give the adaptive fit the walk over every point
gives (the reference, _adaptive_pair), through leaks, steps, a fast fall, reboots, gaps, hours of data
and the 2048-point cap; and the fit finds a known slope."""
import random

import pytest

from safehaven.ground.series import MAX_POINTS, PressureSeries, _adaptive_pair

NOISE, GAMMA, JITTER = 2.0, 2.5, 3.0


def close(a, b):
    if a is None or b is None:
        return a is b
    return (a.n, a.span_s) == (b.n, b.span_s) and all(
        abs(x - y) <= 1e-9 + 1e-6 * abs(y) for x, y in ((a.slope_pa_s, b.slope_pa_s), (a.sigma_pa_s, b.sigma_pa_s),
                                                         (a.rms_pa, b.rms_pa)))


def feed(s, frames, rnd, every=1):
    """Add frames; every `every` frames compare the fit with the reference walk over the same points."""
    checked = 0
    for i, (t, p, c, r) in enumerate(frames):
        s.add(t, t, p, c, r)
        if i % every == 0 and len(s.points) >= 3:
            want = _adaptive_pair(s.points, NOISE, GAMMA, JITTER)
            got = (s.slope(NOISE, GAMMA, JITTER), s.discrepancy(NOISE, GAMMA, JITTER))
            assert close(got[0], want[0]) and close(got[1], want[1]), (i, t, len(s.points))
            checked += 1
    return checked


def node(rnd, hz, seconds, start=0.0, p0=101325.0, events=()):
    """(t, p, temperature, reported rate): noise, a temperature in 0.01 K steps, and events (t, kind, size):
    'leak' Pa/s from t on, 'step' Pa at t, 'gap' seconds of silence from t."""
    out, p, rate, t = [], p0, 0.0, start
    events = sorted(events)
    while t < start + seconds:
        for when, kind, size in events:
            if abs(t - when) < 0.5 / hz:
                if kind == "leak":
                    rate = size
                elif kind == "step":
                    p += size
                else:
                    t += size
        p += rate / hz
        out.append((t, p + rnd.gauss(0, 1.3), round(21.0 + 0.3 * rnd.random(), 2), rate + rnd.gauss(0, 0.01)))
        t += 1.0 / hz
    return out


@pytest.mark.parametrize("hz, seconds, events", [
    (1.0, 1500, [(600, "leak", -0.03)]),                               # steady, then a slow leak; > 2 rebases
    (10.0, 400, [(100, "step", -160.0), (250, "leak", -1.0)]),          # the cap (2048 points), a step, a leak
    (5.0, 300, [(60, "leak", -40.0), (120, "leak", 0.0)]),              # a fast fall: 2400 Pa, rebased by size
    (2.0, 900, [(200, "gap", 300.0), (700, "gap", 600.0)]),             # silences longer than the window
    (10.0, 400, [(20, "leak", -250.0)]),                                # 95 kPa gone: rebased every 8 s
])
def test_running_sums_fit_as_the_walk_over_every_point(hz, seconds, events):
    rnd = random.Random(int(hz * seconds))
    s = PressureSeries()
    assert feed(s, node(rnd, hz, seconds, events=events), rnd, every=3) > 50


def test_a_reboot_and_repeated_moments_start_it_again():
    rnd = random.Random(5)
    s = PressureSeries()
    feed(s, node(rnd, 1.0, 700), rnd, every=50)
    s.add(s.points[-1][0], 0.0, 101000.0, 21.0, 0.0)               # the same moment again: ignored
    assert len(s.points) == 513
    feed(s, node(rnd, 1.0, 100, start=3.0, p0=99000.0), rnd)      # the clock went back: a fresh series
    assert len(s.points) == 100 and s.points[0][0] == 3.0


def test_the_fit_finds_a_known_slope():
    rnd = random.Random(7)
    s = PressureSeries()
    for t, p, c, r in node(rnd, 10.0, 400, events=[(0.0, "leak", -0.5)]):
        s.add(t, t, p, 21.0, -0.5)
    assert len(s.points) == MAX_POINTS
    fit = s.slope(NOISE, GAMMA, JITTER)
    assert fit.span_s > 200 and abs(fit.slope_pa_s + 0.5) < 3 * fit.sigma_pa_s and fit.sigma_pa_s < 0.05
    assert abs(s.discrepancy(NOISE, GAMMA, JITTER).slope_pa_s) < 0.05


def test_hours_of_data_keep_their_precision():
    """Six hours at 10 Hz: the sums' origin moves on, so a 2 s window is still fitted to 1e-6."""
    rnd = random.Random(11)
    s = PressureSeries()
    assert feed(s, node(rnd, 10.0, 6 * 3600, events=[(5 * 3600, "leak", -0.2)]), rnd, every=4999) >= 40
