"""The safe haven's CO2 trend: how long until its air may reach the CO2 limit (docs/shelter.md).

The engine feeds the voted CO2 of the safe-haven zone on its evaluation grid. What the ground sees is
the SCD4x reading, which follows the air with a first-order lag (tau63 60 s, REFERENCE section 5):
on a steady rise it is tau x rate behind, and after a change (crew entering, a scrubber failing) its
slope takes minutes to catch up. So the readings are fitted with the response of that lag to air CO2
that rises in a straight line, with at most one change of slope inside the window:

    reading(t) = A + b1*x + d*lag_ramp(t - t0) + D*exp(-(t - t_first)/tau),   x = t - now

where lag_ramp(u) = u - tau*(1 - exp(-u/tau)) for u > 0 is the lagged response to a ramp starting at t0
and D the transient of the reading's start. The air now is A + b1*tau + d*(now - t0), rising at b1 + d.
The change point t0 is searched on a 10 s grid; it is kept only when it explains far more than the
noise; a recent one that explains less, but steepens the rise beyond its noise, makes the answer
"measuring" until it is sized (an old, too long time is the unsafe side). The time counts to the reading at which a part at the edge of the SCD4x's accuracy
(+-(50 ppm + 5 %)) would see the true CO2 at the limit, so a part's calibration error never makes it
optimistic.
"""
from __future__ import annotations

import math
from collections import deque

from safehaven.ground.shelter import fmt_s

TAU_S = 60.0             # SCD4x tau63 (REFERENCE section 5)
MIN_SPAN_S = 60.0        # no time from less than a minute of readings ...
MIN_POINTS = 6           # ... or fewer readings
FIT_EVERY_S = 5.0        # the SCD4x reads every 5 s: a new fit more often tells nothing new
KEEP_EVERY_S = 5.0       # a grid sample is kept when the voted value changed, or this long after the last
CHANGE_STEP_S = 10.0     # change-point search grid
CHANGE_MIN_BEFORE_S = 30.0
CHANGE_MIN_AFTER_S = 20.0
CHANGE_F = 25.0          # a change of slope must cut the residual by this many noise variances ...
SUSPECT_F = 6.0          # ... above this many, and steeper by 2 standard errors: not yet sized
SUSPECT_S = 120.0        # (when it is this recent: an older one has had the readings to be sized)
ACCURACY_PPM, ACCURACY_REL = 50.0, 0.05   # SCD40 +-(50 ppm + 5 %), SCD41 +-(40 ppm + 5 %) (section 5)
RISING_SIGMA = 3.0       # a rise below this many standard errors is not reported as one
# The first times after a stretch of QUIET_S without one (a crew that has just entered: the rise has only begun
# to show) are counted on a steeper change of slope that the noise cannot rule out (its fit cuts the residual by
# CAUTIOUS_F noise variances, at least CAUTIOUS_AGE_S old, its rise CAUTIOUS_SIGMA standard errors above the
# straight line's and at least doubled), for SUSPECT_S: a line through the flat readings before the entry
# was +105 % / +176 % optimistic (tests/test_redteam_co2.py)
QUIET_S, CAUTIOUS_F, CAUTIOUS_SIGMA, CAUTIOUS_AGE_S = 30.0, 2.0, 1.0, 30.0


def reading_limit(limit_ppm: float) -> float:
    """The reading of a part reading low by its full accuracy when the air is at the limit."""
    return limit_ppm * (1.0 - ACCURACY_REL) - ACCURACY_PPM


def _lag_ramp(u: float) -> float:
    return u - TAU_S * (1.0 - math.exp(-u / TAU_S)) if u > 0 else 0.0


def _solve(m: list[list[float]], v: list[float]) -> tuple[list[float], list[list[float]]] | None:
    """Solve m x = v and invert m (Gauss-Jordan, partial pivoting); None when singular."""
    n = len(v)
    a = [list(m[i]) + [v[i]] + [1.0 if j == i else 0.0 for j in range(n)] for i in range(n)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(a[r][c]))
        if abs(a[p][c]) < 1e-12 * max(1.0, abs(m[c][c])):
            return None
        a[c], a[p] = a[p], a[c]
        piv = a[c][c]
        a[c] = [x / piv for x in a[c]]
        for r in range(n):
            if r != c and a[r][c] != 0.0:
                f = a[r][c]
                a[r] = [x - f * y for x, y in zip(a[r], a[c])]
    return [a[i][n] for i in range(n)], [a[i][n + 1:] for i in range(n)]


def _basis(points, now: float) -> tuple[list, float]:
    """Per reading (1, t - now, start transient, reading - r0), and r0 (for conditioning)."""
    t_first, r0 = points[0]
    return [(1.0, t - now, math.exp(-(t - t_first) / TAU_S), r - r0, t) for t, r in points], r0


def _fit(rows, t0: float | None):
    """Least squares of the lag model, without (t0 None) or with a change of slope at t0:
    (coefficients, inverse normal matrix, rss) or None when singular."""
    m = [[0.0] * 4 for _ in range(4)]
    v = [0.0] * 4
    yy = 0.0
    for row in rows:
        y = row[3]
        f = (row[0], row[1], row[2], _lag_ramp(row[4] - t0) if t0 is not None else 0.0)
        yy += y * y
        for i in range(4):
            v[i] += f[i] * y
            for j in range(i + 1):
                m[i][j] += f[i] * f[j]
    k = 3 if t0 is None else 4
    m = [[m[max(i, j)][min(i, j)] for j in range(k)] for i in range(k)]
    sol = _solve(m, v[:k])
    if sol is None:
        return None
    coef, inv = sol
    return coef, inv, max(yy - sum(c * x for c, x in zip(coef, v)), 0.0)


class Co2Trend:
    """Samples in, the air's CO2 rate and the time until it may reach the limit out."""

    def __init__(self, limit_ppm: float, window_s: float) -> None:
        self.limit_ppm = limit_ppm
        self.window_s = window_s
        self.points: deque = deque()
        self.fit_t: float | None = None
        self.rate_ppm_s: float | None = None
        self.air_ppm: float | None = None
        self.status = "measuring"
        self.quiet_since: float | None = None    # no time given since then (None: the last estimate gave one)
        self.cautious_until = -math.inf            # the first times after a long stretch without one

    def sample(self, t: float, ppm: float | None) -> None:
        if ppm is not None and ppm <= 0:
            ppm = None   # an SCD4x reports 0 before its first measurement: no air is CO2-free
        pts = self.points
        if ppm is not None and (not pts or ppm != pts[-1][1] or t - pts[-1][0] >= KEEP_EVERY_S):
            pts.append((t, ppm))
        while pts and pts[0][0] < t - self.window_s:
            pts.popleft()
        if ppm is None or len(pts) < MIN_POINTS or t - pts[0][0] < min(MIN_SPAN_S, 0.5 * self.window_s):
            self.fit_t, self.rate_ppm_s, self.air_ppm, self.status = None, None, None, "measuring"
            self._given(t)
            return
        if self.fit_t is not None and t - self.fit_t < FIT_EVERY_S:
            return
        self.fit_t = t
        self._estimate(t)

    def _estimate(self, now: float) -> None:
        rows, r0 = _basis(self.points, now)
        n = len(rows)
        fit, t0 = _fit(rows, None), None
        if fit is None:
            self.rate_ppm_s, self.air_ppm, self.status = None, None, "measuring"
            self._given(now)
            return
        cautious = now < self.cautious_until or (self.quiet_since is not None and now - self.quiet_since >= QUIET_S)
        change, suspect = self._change(rows, now, fit, cautious)
        if change is not None:
            fit, t0 = change
        coef, inv, rss = fit
        noise = rss / max(1, n - len(coef))
        b1 = coef[1]
        air = r0 + coef[0] + b1 * TAU_S
        if t0 is None:
            rate, var = b1, inv[1][1]
        else:
            d = coef[3]
            rate, var = b1 + d, inv[1][1] + inv[3][3] + 2 * inv[1][3]
            air += d * (now - t0)
        se = math.sqrt(max(var * noise, 0.0))
        self.rate_ppm_s, self.air_ppm = rate, air
        rising = rate > RISING_SIGMA * se and rate > 0
        if suspect is True or (suspect == "cautious" and rising):
            self.status = "measuring"   # the rise is steepening: no number until the change is sized
        else:
            self.status = "rising" if rising else "not rising"
        self._given(now)

    def _given(self, now: float) -> None:
        """Track the stretches without a time: the first times after one of QUIET_S or more (a crew that
        has just entered: the rise has only begun to show) are held to the cautious rule for SUSPECT_S."""
        if self.status != "rising":
            if self.quiet_since is None:
                self.quiet_since = now
        else:
            if self.quiet_since is not None and now - self.quiet_since >= QUIET_S:
                self.cautious_until = now + SUSPECT_S
            self.quiet_since = None

    @staticmethod
    def _change(rows, now: float, plain, cautious: bool = False):
        """((fit, t0) of the best change of slope inside the window when it explains far more than the
        noise, or, `cautious`, when it makes the rise steeper and the noise cannot rule it out, else None;
        whether a steeper rise is suspected but not yet confirmed)."""
        best, best_t0 = None, 0.0
        t0 = rows[0][4] + CHANGE_MIN_BEFORE_S
        while t0 <= now - CHANGE_MIN_AFTER_S:
            f = _fit(rows, t0)
            if f is not None and (best is None or f[2] < best[2]):
                best, best_t0 = f, t0
            t0 += CHANGE_STEP_S
        n = len(rows)
        if best is None or n <= 8:
            return None, False
        coef, inv, rss = best
        f_ratio = (plain[2] - rss) * (n - 4) / rss if rss > 0 else math.inf
        if f_ratio > CHANGE_F:
            return (best, best_t0), False
        se = math.sqrt(max((inv[1][1] + inv[3][3] + 2 * inv[1][3]) * rss / (n - 4), 0.0))
        recent, steeper = best_t0 >= now - SUSPECT_S, coef[1] + coef[3] - plain[0][1]
        if f_ratio > SUSPECT_F and recent and steeper > 2 * se:
            return None, True
        if cautious and f_ratio > CAUTIOUS_F and recent and best_t0 <= now - CAUTIOUS_AGE_S \
                and steeper > CAUTIOUS_SIGMA * se and coef[3] > max(coef[1], 0.0):
            return (best, best_t0), False   # a steeper rise the noise cannot rule out: counted on it
        if cautious and recent and steeper > 0 and coef[3] > max(coef[1], 0.0):
            # not yet that, but the rise may be steepening: a straight line through the flat readings
            # before it would be optimistic (+106..+147 % for a crew of 2-3 entering, seed 8)
            return None, "cautious"
        return None, False

    def time_to_limit_s(self, now: float) -> float | None:
        """Seconds until the air may reach the limit (0: may have reached it); None when measuring or
        not rising."""
        if self.air_ppm is None or self.rate_ppm_s is None or self.fit_t is None:
            return None
        limit = reading_limit(self.limit_ppm)
        air = self.air_ppm + (self.rate_ppm_s * (now - self.fit_t))
        if air >= limit:
            return 0.0
        if self.status != "rising":
            return None
        return (limit - air) / self.rate_ppm_s


def limit_in(safe_haven: dict) -> str:
    """How the time to the CO2 limit reads on the dashboard, in the status and in the reasons."""
    ttl = safe_haven.get("co2_time_to_limit_s")
    if ttl is None:
        return "(not rising)" if safe_haven.get("co2_trend") == "not rising" else "(measuring: needs a minute of readings)"
    return "may be reached now (within the sensor's accuracy)" if ttl <= 0 else f"in {fmt_s(ttl)}"
