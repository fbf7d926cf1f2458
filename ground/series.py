"""The ground's own check of each node's rate: its temperature-compensated pressure series.

A node reports its compensated rate (rate_pa_s) and its pressure and temperature. The ground keeps, per
node, pc = p·T_ref/T (n ∝ p/T, REFERENCE §2) against the node's own clock (uptime_ms of each frame, so
neither chunk timing nor a replay changes anything), and next to it the pressure the node's reported
rates predict: their running integral. Two slopes come out of it (docs/voting.md, "Rates from the
pressure series"):

- the series rate: the least-squares slope of pc;
- the discrepancy: the slope of pc minus the integral of the reported rates. If the node's rates are
  right it is zero within the noise, whatever the leak; if they lag or lie it is what they miss.

Water vapour (docs/shelter.md, "Water vapour"): the BMP280 reads dry air plus water vapour (Dalton), and a
crew's exercise adds and the heat exchanger takes back tens of Pa of vapour over an hour with no air lost.
A node whose telemetry carries its SCD4x's RH gives each point the vapour's partial pressure e = RH x es(T)
(Magnus, as firmware/det_vapour.py; T the BMP280's, referred to T_ref as pc is), and both slopes are then
of the dry air: the vapour's least-squares slope over the very window the fit chose is taken out, its
uncertainty (the readings' scatter, and the SCD4x's RH accuracy times es(T)'s slope) added to the
slope's. A window with a point without RH (no SCD4x, a faulty or stale one) is left as it was.

Both use an adaptive window (intersection of confidence intervals, Goldenshluger & Nemirovski 1997;
Katkovnik): slopes over the last 2, 4, 8, ... 512 s, each with its noise interval slope ± gamma·sigma;
the longest window whose interval still meets all the shorter ones' is used. A steady slow leak gets a
long, precise window; after a change (a hole opening) only the windows after it agree. Each series
keeps running sums of its points, so a fit is a few lookups per window, not a walk over every point.
"""
from __future__ import annotations

import math
from collections import deque

WINDOWS_S = (2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0)
MAX_POINTS = 2048
ZERO_C = 273.15
REBASE_S = 2 * WINDOWS_S[-1]       # the running sums' origin moves on after this long...
REBASE_PA = 2000.0                  # ...or this far (a fast fall): see _RunningSums
_ZEROS = (0.0,) * 14
RH_ACCURACY = 0.06                  # the SCD4x's RH accuracy, +-6 %RH (firmware/det_vapour.py): e's bias follows es(T)
SCD_REPEAT = 5.0                    # an SCD4x reading lasts 5 s: at 1 Hz telemetry each e comes ~5 times


def saturation_pa(temperature_c: float) -> float:
    """Water's saturation vapour pressure (Magnus, the firmware's table: firmware/det_vapour.py)."""
    return 610.94 * math.exp(17.625 * temperature_c / (temperature_c + 243.04))


class Slope:
    """slope_pa_s ± sigma_pa_s from n points spanning span_s; rms_pa: the points' scatter about the line."""

    __slots__ = ("slope_pa_s", "sigma_pa_s", "n", "span_s", "rms_pa", "window", "vapour_pa_s")

    def __init__(self, slope_pa_s: float, sigma_pa_s: float, n: int, span_s: float, rms_pa: float,
                 window: tuple | None = None) -> None:
        self.slope_pa_s = slope_pa_s
        self.sigma_pa_s = sigma_pa_s
        self.n = n
        self.span_s = span_s
        self.rms_pa = rms_pa
        self.window = window              # its window's running sums (PressureSeries: with the vapour's)
        self.vapour_pa_s: float | None = None   # the vapour's slope taken out (None: not, no RH throughout)


def _dry(fit: Slope | None) -> Slope | None:
    """The slope of the dry air: the vapour's slope over the same window taken out, when every point of
    it carries the vapour (else the fit as it is). Its sigma adds the vapour's: the readings' scatter about
    their line (each reading counted once, SCD_REPEAT), and the bias an RH offset gives (RH_ACCURACY x
    es(T)'s slope: a part's offset makes e follow the temperature)."""
    if fit is None or fit.window is None or len(fit.window) < 14:
        return fit
    sums = fit.window
    k = fit.n
    if sums[13] < k or k < 3:
        return fit
    sx, sxx = sums[0], sums[1]
    sc, scc, sxc, sd, sxd = sums[8], sums[9], sums[10], sums[11], sums[12]
    cxx = sxx - sx * sx / k
    if cxx <= 1e-12:
        return fit
    v = (sxc - sx * sc / k) / cxx
    rss = max(0.0, scc - sc * sc / k - v * v * cxx)
    scatter = math.sqrt(rss / (k - 2)) * math.sqrt(SCD_REPEAT / cxx)
    bias = RH_ACCURACY * abs((sxd - sx * sd / k) / cxx)
    dry = Slope(fit.slope_pa_s - v, fit.sigma_pa_s + scatter + bias, k, fit.span_s, fit.rms_pa, sums)
    dry.vapour_pa_s = v
    return dry


class _Sums:
    __slots__ = ("n", "sx", "sy", "sxx", "sxy", "syy")

    def __init__(self) -> None:
        self.n = 0
        self.sx = self.sy = self.sxx = self.sxy = self.syy = 0.0

    def add(self, x: float, y: float) -> None:
        self.n += 1
        self.sx += x
        self.sy += y
        self.sxx += x * x
        self.sxy += x * y
        self.syy += y * y

    def slope(self, noise_pa: float, span_s: float, jitter_pa: float = 0.0) -> Slope | None:
        n = self.n
        if n < 3 or span_s <= 0:
            return None
        cxx = self.sxx - self.sx * self.sx / n
        if cxx <= 1e-12:
            return None
        b = (self.sxy - self.sx * self.sy / n) / cxx
        rss = max(0.0, self.syy - self.sy * self.sy / n - b * b * cxx)
        sigma = noise_pa / math.sqrt(cxx) + 2.0 * jitter_pa / span_s
        return Slope(b, sigma, n, span_s, math.sqrt(rss / (n - 2)))


def fit(points, noise_pa: float, jitter_pa: float = 0.0) -> Slope | None:
    """Least-squares slope of (t, y) points (None: < 3 points). Its sigma: white noise of noise_pa, plus
    2·jitter_pa/span for slow disturbances that are not a rate (a fan's few-Pa oscillation: the slope it
    fakes over a window is below that bound for periods up to about the window)."""
    sums = _Sums()
    first = None
    x = 0.0
    for t, y in points:
        if first is None:
            first = (t, y)
        x = t - first[0]
        sums.add(x, y - first[1])
    return sums.slope(noise_pa, x, jitter_pa)


def adaptive(points, noise_pa: float, gamma: float, jitter_pa: float = 0.0) -> Slope | None:
    """The intersection-of-confidence-intervals slope of time-ordered (t, y) points."""
    return _adaptive_pair([(t, y, 0.0) for t, y in points], noise_pa, gamma, jitter_pa)[0]


def _adaptive_pair(points, noise_pa: float, gamma: float, jitter_pa: float) -> tuple:
    """ICI slopes of y1 and of y1 - y2 for time-ordered (t, y1, y2, ...) points, walking back over them:
    the reference PressureSeries' running sums are checked against (tests/test_series.py)."""
    if len(points) < 3:
        return None, None
    return _ici(_walk_back(points), points[-1][0], noise_pa, gamma, jitter_pa)


def _walk_back(points):
    """(k, first t, all points in, sums) per window of WINDOWS_S, from one backward pass over the points;
    sums = (Σx, Σx², Σa, Σa², Σxa, Σb, Σb², Σxb) of x = t, a = y1, b = y1 - y2 about the last point."""
    t_end, a_end, b_end = points[-1][0], points[-1][1], points[-1][1] - points[-1][2]
    k = 0
    sx = sxx = sa = saa = sxa = sb = sbb = sxb = 0.0
    it = reversed(points)
    nxt = next(it, None)
    first_t = t_end
    for w in WINDOWS_S:
        while nxt is not None:
            x = nxt[0] - t_end
            if -x > w + 1e-6:
                break
            a = nxt[1] - a_end
            b = nxt[1] - nxt[2] - b_end
            k += 1
            sx += x
            sxx += x * x
            sa += a
            saa += a * a
            sxa += x * a
            sb += b
            sbb += b * b
            sxb += x * b
            first_t = nxt[0]
            nxt = next(it, None)
        yield k, first_t, nxt is None, (sx, sxx, sa, saa, sxa, sb, sbb, sxb)


def _ici(windows, t_end: float, noise_pa: float, gamma: float, jitter_pa: float) -> tuple:
    """Intersection of confidence intervals over the windows, shortest first (taken lazily: it stops
    at the first window that disagrees with the shorter ones). The second slope never reaches back past
    a change the first found."""
    state: list[list] = [[-math.inf, math.inf, None, True], [-math.inf, math.inf, None, True]]  # lo, hi, best, open
    seen = 0
    for k, first_t, all_in, sums in windows:
        grew, seen = k > seen, k
        if k < 3 or not grew:
            if all_in and k >= 3:
                break
            continue
        sx, sxx, sa, saa, sxa, sb, sbb, sxb = sums[:8]
        cxx = sxx - sx * sx / k
        if cxx <= 1e-12:
            continue
        span = t_end - first_t
        sigma = noise_pa / math.sqrt(cxx) + 2.0 * jitter_pa / span
        for st, sy, syy, sxy in ((state[0], sa, saa, sxa), (state[1], sb, sbb, sxb)):
            if not state[0][3]:
                st[3] = False  # the pressure itself changed here (a step, a hole opening): what the
            if not st[3]:      # rates missed is judged only since then
                continue
            slope = (sxy - sx * sy / k) / cxx
            lo = max(st[0], slope - gamma * sigma)
            hi = min(st[1], slope + gamma * sigma)
            if lo > hi:
                st[3] = False  # this window sees something the shorter ones do not: a change
                continue
            st[0], st[1] = lo, hi
            rss = max(0.0, syy - sy * sy / k - slope * slope * cxx)
            st[2] = Slope(slope, sigma, k, span, math.sqrt(rss / (k - 2)), sums)
        if not (state[0][3] or state[1][3]) or all_in:
            break
    return state[0][2], state[1][2]


class _RunningSums:
    """Prefix sums of a series' points about a recent origin: each window's sums are two lookups, so a fit
    costs O(windows), not O(points) (bench/series.py). The origin moves to the oldest point kept when
    the newest is REBASE_S or REBASE_PA away from it, so the sums of squares stay small enough for
    double precision (a short window's spread is then still good to ~1e-6)."""

    def __init__(self) -> None:
        self.t: list[float] = []           # each point's time, from serial `base` on
        self.pre: list[tuple] = [_ZEROS]    # pre[m]: the sums over serials base .. base + m - 1
        self.base = 0
        self.count = 0                     # serial of the next point
        self.origin = (0.0, 0.0, 0.0, 0.0, 0.0)
        self.starts = [0] * len(WINDOWS_S)  # per window, the serial of its first point at the last fit

    @staticmethod
    def _step(s: tuple, x: float, a: float, b: float, vapour, c0: float, d0: float) -> tuple:
        """The sums with one more point: (Σx, Σx², Σa, Σa², Σxa, Σb, Σb², Σxb) of x = t, a = pc,
        b = pc - predicted, then (Σc, Σc², Σxc, Σd, Σxd, n) of the vapour c = e and d = es(T) over the
        points that carry it (n: how many)."""
        if vapour is None:
            return (s[0] + x, s[1] + x * x, s[2] + a, s[3] + a * a, s[4] + x * a, s[5] + b, s[6] + b * b,
                    s[7] + x * b) + s[8:]
        c, d = vapour[0] - c0, vapour[1] - d0
        return (s[0] + x, s[1] + x * x, s[2] + a, s[3] + a * a, s[4] + x * a, s[5] + b, s[6] + b * b, s[7] + x * b,
                s[8] + c, s[9] + c * c, s[10] + x * c, s[11] + d, s[12] + x * d, s[13] + 1.0)

    def add(self, points: deque) -> None:
        """The newest of points (already appended; the old ones already dropped) joins the sums."""
        self.count += 1
        t, pc, predicted, _, vapour = points[-1]
        t0, a0, b0, c0, d0 = self.origin
        x, a, b = t - t0, pc - a0, pc - predicted - b0
        if len(points) == 1 or x > REBASE_S or abs(a) > REBASE_PA or abs(b) > REBASE_PA:
            self._rebase(points)
            return
        self.t.append(t)
        self.pre.append(self._step(self.pre[-1], x, a, b, vapour, c0, d0))
        gone = self.count - len(points) - self.base
        if gone > MAX_POINTS:              # forget what left the window, now and then
            del self.t[:gone]
            del self.pre[:gone]
            self.base += gone

    def _rebase(self, points: deque) -> None:
        t0, pc0, predicted0, _, vapour0 = points[0]
        c0, d0 = vapour0 if vapour0 is not None else next((v for *_, v in points if v is not None), (0.0, 0.0))
        self.origin = (t0, pc0, pc0 - predicted0, c0, d0)
        self.base = self.count - len(points)
        self.t, self.pre = [], [_ZEROS]
        s = _ZEROS
        for t, pc, predicted, _, vapour in points:
            s = self._step(s, t - t0, pc - pc0, pc - predicted - self.origin[2], vapour, c0, d0)
            self.t.append(t)
            self.pre.append(s)

    def windows(self, kept: int):
        """(k, first t, all points in, sums) per window of WINDOWS_S over the last `kept` points, as
        _walk_back gives them, plus the vapour's sums (about the origin: the fit uses only their spreads)."""
        end, base, ts, pre = self.count, self.base, self.t, self.pre
        first = end - kept
        t_end = ts[end - 1 - base]
        last = pre[end - base]
        for i, w in enumerate(WINDOWS_S):
            s = max(self.starts[i], first)
            while t_end - ts[s - base] > w + 1e-6:
                s += 1
            self.starts[i] = s
            p = pre[s - base]
            yield end - s, ts[s - base], s == first, (
                last[0] - p[0], last[1] - p[1], last[2] - p[2], last[3] - p[3], last[4] - p[4], last[5] - p[5],
                last[6] - p[6], last[7] - p[7], last[8] - p[8], last[9] - p[9], last[10] - p[10], last[11] - p[11],
                last[12] - p[12], last[13] - p[13])


class PressureSeries:
    """One node's (t, pc, integral of its reported rate); a reboot (its clock going back) starts it again."""

    def __init__(self) -> None:
        self.points: deque = deque()   # (t_node_s, pc_pa, predicted_pa, arrival_s, vapour: (e, es) Pa or None)
        self.t_ref_k: float | None = None
        self.temperature_k: float | None = None
        self.rh_pct: float | None = None  # the node's latest SCD4x RH (None: none, or its SCD4x faulty or stale)
        self.rate_pa_s = 0.0           # the node's latest reported rate
        self._cache: dict = {}
        self._sums = _RunningSums()
        self.fresh = 0                 # points since the last break: the only ones the slopes fit

    def break_here(self) -> None:
        """The pressure is no line across here (a pulse or step under way): the series rate and the
        discrepancy start again from the next point; since() still sees every point."""
        self.fresh = 0
        self._cache = {}

    def add(self, t_node_s: float, arrival_s: float, pressure_pa: float, temperature_c: float | None = None,
            rate_pa_s: float | None = None, rh_pct: float | None = None) -> None:
        """One point. rh_pct: the node's SCD4x RH with this frame (0: no reading, its SCD4x missing, not yet
        read, faulty or stale: the vapour is then unknown; None: as before, e.g. an event's point)."""
        if temperature_c is not None:
            self.temperature_k = temperature_c + ZERO_C
        if rh_pct is not None:
            self.rh_pct = rh_pct if 0.0 < rh_pct <= 100.0 else None
        pts = self.points
        if pts and t_node_s <= pts[-1][0]:
            if t_node_s == pts[-1][0]:
                return  # the same moment again (an event and a telemetry frame)
            pts.clear()  # the node's clock went back: it rebooted
            self.t_ref_k = None
            self._sums = _RunningSums()
            self.fresh = 0
        previous_rate = self.rate_pa_s
        if rate_pa_s is not None:
            self.rate_pa_s = rate_pa_s
        if self.temperature_k is None:
            return  # nothing to compensate with yet
        if self.t_ref_k is None:
            self.t_ref_k = self.temperature_k
        predicted = 0.0
        if pts:
            t0, _, p0, _, _ = pts[-1]
            predicted = p0 + 0.5 * (previous_rate + self.rate_pa_s) * (t_node_s - t0)
        refer = self.t_ref_k / self.temperature_k
        vapour = None
        if self.rh_pct is not None:
            es = saturation_pa(self.temperature_k - ZERO_C) * refer   # referred to T_ref as pc is (n ~ p/T)
            vapour = (0.01 * self.rh_pct * es, es)
        pts.append((t_node_s, pressure_pa * refer, predicted, arrival_s, vapour))
        while len(pts) > MAX_POINTS or t_node_s - pts[0][0] > WINDOWS_S[-1]:
            pts.popleft()
        self._sums.add(pts)
        self.fresh = min(self.fresh + 1, len(pts))
        self._cache = {}

    def _cached(self, noise_pa: float, gamma: float, jitter_pa: float) -> tuple:
        key = (noise_pa, gamma, jitter_pa)
        if key not in self._cache:
            pts = self.points
            if self.fresh < 3:
                self._cache[key] = (None, None)
            else:
                a, b = _ici(self._sums.windows(self.fresh), pts[-1][0], noise_pa, gamma, jitter_pa)
                self._cache[key] = (_dry(a), _dry(b))
        return self._cache[key]

    def slope(self, noise_pa: float, gamma: float, jitter_pa: float = 0.0) -> Slope | None:
        """The series rate: adaptive-window slope of pc, of the dry air where the node's RH is known."""
        return self._cached(noise_pa, gamma, jitter_pa)[0]

    def discrepancy(self, noise_pa: float, gamma: float, jitter_pa: float = 0.0) -> Slope | None:
        """What the reported rates miss: adaptive-window slope of pc minus their integral (of the dry air
        where the node's RH is known: the nodes' rates are of the dry air, docs/detection.md section 3)."""
        return self._cached(noise_pa, gamma, jitter_pa)[1]

    def since(self, arrival_s: float, noise_pa: float, jitter_pa: float = 0.0) -> Slope | None:
        """Slope of pc over the points that arrived after arrival_s (e.g. since a zone went RAPID)."""
        after = []
        for t, pc, _, arrived, _ in reversed(self.points):
            if arrived <= arrival_s:
                break
            after.append((t, pc))
        after.reverse()
        return fit(after, noise_pa, jitter_pa)
