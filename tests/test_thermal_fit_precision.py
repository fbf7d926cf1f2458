"""The thermal model's fit (firmware/det_thermal.py) against ordinary least squares in floats on the very segments it
stored: its tempco's standard error is what the CUSUMs' thermal allowance is made of (3 of them times the temperature's
distance from the baseline's), so it must be the data's, not the fixed point's.

Seen failing on main 4d14bdb: the fit took the level's time trend in whole q8 Pa per segment (1/256 Pa per 64 blocks);
the trend's fraction left a ramp of up to 48/256 Pa at the window's ends, which the residual variance took for noise:
the node's standard error of c was 1.2-2.2x the least-squares one on bench/detection.py's slow-leak parts (seed 2007:
0.028 against 0.014 Pa/K), and the allowance with it. Streams: block means (1 s) of a level that follows c x T on a
+-0.6 K, 5,580 s orbit, a slow drift and white noise of a 44 ms part's block (0.45 Pa: 1.3 Pa and 5 mK through the
compensation, 23 samples); expectations from the least squares, never from the node."""
import math
import random

import pytest

import det_thermal as T

ORBIT_S = 5580.0
SIGMA_B = 0.45           # Pa, one block's mean


def _solve(a, b):
    # Gaussian elimination with partial pivoting (small dense systems)
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for i in range(n):
        p = max(range(i, n), key=lambda r: abs(m[r][i]))
        m[i], m[p] = m[p], m[i]
        for r in range(n):
            if r != i:
                f = m[r][i] / m[i][i]
                for k in range(i, n + 1):
                    m[r][k] -= f * m[i][k]
    return [m[i][n] / m[i][i] for i in range(n)]


def least_squares(th):
    # y on [1, x, v, t] over the stored segments (one era here): c and its standard error, Pa/K
    rows = [(th.seg_y[j] / 256.0, th.seg_x[j] / 5120.0, th.seg_v[j] / 1000.0, float(th.seg_t[j]))
            for j in range(th.stored)]
    cols = [[1.0, x, v, t] for _, x, v, t in rows]
    ys = [y for y, _, _, _ in rows]
    ata = [[sum(c[i] * c[k] for c in cols) for k in range(4)] for i in range(4)]
    aty = [sum(c[i] * y for c, y in zip(cols, ys)) for i in range(4)]
    coef = _solve(ata, aty)
    res = [y - sum(a * b for a, b in zip(coef, c)) for c, y in zip(cols, ys)]
    s2 = sum(r * r for r in res) / (len(ys) - 4)
    inv_cc = _solve(ata, [0.0, 1.0, 0.0, 0.0])[1]          # (A'A)^-1 [1][1]
    return coef[1], math.sqrt(s2 * inv_cc)


def fitted(seed, tempco, drift_pa_s, segments=100, prior_pa_k=2.0):
    rnd = random.Random(seed)
    th = T.ThermalModel()
    th.configure(prior_pa_k, 3.0, 1.0)
    th.set_noise(int(SIGMA_B * 4096))
    phase = rnd.uniform(0, 2 * math.pi)
    for b in range(segments * T.SEGMENT_BLOCKS + 128):
        kelvin = 0.6 * math.sin(2 * math.pi * b / ORBIT_S + phase)
        dx = int(round(kelvin * 5120))
        level = tempco * kelvin + drift_pa_s * b + rnd.gauss(0.0, SIGMA_B)
        v = th.rate(dx)
        th.add_block(int(round(level * 256)), dx, v, False, True)
    return th


# (the last: a module joined to a station on another cycle, -21 Pa/K with its prior configured (tests/test_detector_joined.py):
# the level's own sums lost the residual variance in 31 bits, c's bound sat at its floor, seen failing)
@pytest.mark.parametrize("seed,tempco,drift,prior", [(1, 0.5, 3e-5, 2.0), (2, -1.0, 1e-5, 2.0), (3, 1.5, 0.0, 2.0),
                                                     (4, 0.2, -2e-5, 2.0), (5, -21.0, 1e-5, 25.0)])
def test_the_tempco_standard_error_is_the_least_squares_one(seed, tempco, drift, prior):
    th = fitted(seed, tempco, drift, prior_pa_k=prior)
    c, se = least_squares(th)
    assert th.known
    node_se = th.bound / T._Z / T.TEMPCO_Q
    # the node's bound is _Z of its standard errors (plus what the c in use lags its fit, 0 once settled)
    # (c alone on the level less the lag term in use: a little under the joint fit's, never far: its allowance must
    # not be cut by the fixed point either)
    assert 0.8 * se <= node_se <= 1.15 * se + 0.001, (node_se, se)
    assert abs(th.tempco / T.TEMPCO_Q - c) <= 0.5 * se, (th.tempco / T.TEMPCO_Q, c, se)


def test_the_fit_over_a_full_ring_of_extremes_allocates_nothing_in_micropython(mpy):
    # Every one of the ring's segments at the fit's clamps, in phase: the temperature 1.6 K either side of its era's
    # mean (x at its clamp, 2047), the level 47 Pa (y at its clamp, 8191) and the temperature's rate at its clamp too.
    # The cross sums then reach 2047 x 8191 per segment: 3.2e9 over 192 segments, beyond a 32-bit port's small int
    # (2^30), which would allocate a long int at every refit (seen failing with the sums whole).
    code = ("import det_thermal as T, micropython\n"
            "th = T.ThermalModel()\nth.configure(2.0, 3.0, 1.0)\n"
            "for j in range(T.SEGMENTS):\n"
            "    s = 1 if j % 2 else -1\n"
            "    th.seg_x[j] = s * 12000\n"
            "    th.seg_y[j] = s * 12000\n"
            "    th.seg_v[j] = s * 3000\n"
            "    th.seg_t[j] = j + 1\n"
            "th.stored = T.SEGMENTS\nth.segment = T.SEGMENTS\n"
            "micropython.heap_lock()\n"
            "try:\n"
            "    th._fit()\n"
            "finally:\n"
            "    micropython.heap_unlock()\n"
            "result = [T.SEGMENTS, th.tempco, th.lag, th.bound]\n")
    segments, tempco, lag, bound = mpy.exec(code)
    assert segments == T.SEGMENTS and segments * 2047 * 8191 > 1 << 30      # the case the halving is for
    th = T.ThermalModel()
    th.configure(2.0, 3.0, 1.0)
    for j in range(T.SEGMENTS):
        s = 1 if j % 2 else -1
        th.seg_x[j], th.seg_y[j], th.seg_v[j], th.seg_t[j] = s * 12000, s * 12000, s * 3000, j + 1
    th.stored = th.segment = T.SEGMENTS
    th._fit()
    assert [tempco, lag, bound] == [th.tempco, th.lag, th.bound]              # the same integers as in CPython
