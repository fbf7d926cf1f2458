"""Recorded zone histories (docs/scenarios.md, "Traces"): a CSV with the columns
t_s,pressure_pa,temperature_c,co2_ppm,rh_pct, read once and interpolated linearly between its own points.

`read_trace(name, raw, ranges)` refuses a malformed file with TraceError, whose str() is
'FILE:LINE: FIELD: problem' (a missing column, a value that is not a finite number or is outside its
physical range, a row of the wrong length, time going backwards, not UTF-8 text). A column written to a
coarse step (temperature to 0.01 degC) is read as the continuous values it rounds (`dequantise`; the Trace's
`notes` say which). `Trace.path(t0, t1)`
gives the trace's own points between two bench step ends, so the nodes' sensors read a recording at
their own sample times whatever the step (hil/simhw.py Truth).
"""
from __future__ import annotations

import csv
import io
import math
from array import array
from bisect import bisect_left, bisect_right
from itertools import compress
from operator import ne
from typing import Optional

COLUMNS = ("t_s", "pressure_pa", "temperature_c", "co2_ppm", "rh_pct")
FIELDS = COLUMNS[1:]


class TraceError(ValueError):
    """A malformed trace: str() is 'file:line: field: problem'."""

    def __init__(self, path: str, line: int, field_name: str, problem: str):
        super().__init__(f"{path}:{line}: {field_name}: {problem}")
        self.path, self.line, self.field, self.problem = path, line, field_name, problem


class Trace:
    """The columns of a recording (arrays of doubles: a day at 50 Hz is 4.3 million rows)."""

    def __init__(self, t_s, cols, notes=()):
        self.t_s = array("d", t_s)
        self.cols = tuple(array("d", c) for c in cols)      # pressure, temperature, co2, rh
        self.notes = list(notes)                            # what the reader did to the columns, one line each

    def _row(self, i: int) -> list[float]:
        return [c[i] for c in self.cols]

    def at(self, t: float) -> dict:
        """The values at t, linear between the two points around it (the first or last row outside)."""
        ts = self.t_s
        i = bisect_right(ts, t)
        if i <= 0:
            row = self._row(0)
        elif i >= len(ts):
            row = self._row(len(ts) - 1)
        else:
            t0, t1 = ts[i - 1], ts[i]
            f = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
            row = [c[i - 1] + f * (c[i] - c[i - 1]) for c in self.cols]
        return dict(zip(FIELDS, row))

    def path(self, t0: float, t1: float) -> list[list[float]]:
        """The knots a node's sensors read between two step ends (hil/simhw.py Truth): [t_ms, pressure,
        temperature, co2, rh] at t0, then at each of the trace's own points strictly inside (t0, t1)."""
        ts = self.t_s
        lo = bisect_right(ts, t0)
        hi = max(lo, bisect_left(ts, t1, lo))
        inside = zip(ts[lo:hi], *(c[lo:hi] for c in self.cols))
        return [[round(t0 * 1000.0, 3), *self.at(t0).values()]] + [
            [round(t * 1000.0, 3), p, temp, co2, rh] for t, p, temp, co2, rh in inside]

    def point_after(self, t0: float, n: int) -> Optional[float]:
        """The time of the trace's n-th point after t0 (None when there are fewer)."""
        i = bisect_right(self.t_s, t0) + n - 1
        return self.t_s[i] if i < len(self.t_s) else None


def read_trace(path: str, raw: bytes, ranges: dict[str, tuple[float, float]]) -> Trace:
    """Parse a trace file's bytes; every value finite and inside ranges[column]."""
    try:
        text = raw.decode("utf-8-sig")              # a spreadsheet's byte-order mark is fine
    except UnicodeDecodeError as exc:
        raise TraceError(path, raw[:exc.start].count(b"\n") + 1, "file",
                         f"not UTF-8 text (byte {exc.start}): not a CSV trace") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return _rows(path, reader, ranges)
    except csv.Error as exc:
        raise TraceError(path, reader.line_num, "file", f"not CSV: {exc}") from None


def _rows(path: str, reader, ranges: dict) -> Trace:
    header = next((row for row in reader if row), None)
    if header is None:
        raise TraceError(path, max(reader.line_num, 1), "file", f"empty: needs the header {','.join(COLUMNS)}")
    names = [h.strip() for h in header]
    for c in COLUMNS:
        if names.count(c) != 1:
            problem = "column given twice" if c in names else "missing column"
            raise TraceError(path, reader.line_num, c, f"{problem} (the header needs {','.join(COLUMNS)}; "
                                                       f"it has {','.join(names)[:120]})")
    where = [names.index(c) for c in COLUMNS]
    bounds = [ranges.get(c, (-1e308, 1e308)) for c in COLUMNS]     # a NaN or inf is outside any
    cols = [array("d") for _ in COLUMNS]
    ts = cols[0]
    width = len(names)
    for row in reader:
        if not row:
            continue                               # a blank line
        try:                                       # the fast path; any doubt goes to _check
            values = [float(row[j]) for j in where]
        except (ValueError, IndexError):
            values = []
        if len(row) > width or len(values) != len(COLUMNS) or not all(
                lo <= v <= hi for v, (lo, hi) in zip(values, bounds)):
            _check(path, reader.line_num, row, width, where, bounds)
        if ts and values[0] < ts[-1]:
            raise TraceError(path, reader.line_num, "t_s", f"{values[0]:g} goes backwards (the row before is at "
                                                           f"{ts[-1]:g}): times must not decrease (equal times make a step)")
        for col, v in zip(cols, values):
            col.append(v)
    if not ts:
        raise TraceError(path, reader.line_num, "file", "no data rows after the header")
    notes = []
    for name, col in zip(FIELDS, cols[1:]):
        q = dequantise(ts, col)
        if q:
            notes.append(f"{path}: {name}: written to steps of {q:g}: read as the continuous values it rounds "
                         "(docs/scenarios.md, \"Traces\")")
    return Trace(ts, cols[1:], notes)


def _check(path: str, line: int, row: list, width: int, where: list, bounds: list) -> None:
    """Raise the TraceError that names what is wrong with a row the fast path doubted."""
    if len(row) > width:
        raise TraceError(path, line, "row", f"{len(row)} fields, the header has {width}")
    for c, j, rng in zip(COLUMNS, where, bounds):
        _number(path, line, c, row[j] if j < len(row) else None, rng)
    raise TraceError(path, line, "row", "not understood")          # not reached: one of the above raised


def _number(path: str, line: int, column: str, text: Optional[str], rng) -> float:
    if text is None or not text.strip():
        raise TraceError(path, line, column, "missing value")
    try:
        v = float(text)
    except ValueError:
        raise TraceError(path, line, column, f"not a number: {text.strip()[:40]!r}") from None
    if not math.isfinite(v):
        raise TraceError(path, line, column, f"must be a finite number, got {text.strip()!r}")
    if rng is not None and not rng[0] <= v <= rng[1]:
        if column == "t_s":
            raise TraceError(path, line, column, f"{v:g} outside {rng[0]:g}..{rng[1]:g}: seconds from the "
                                                 "scenario's start, not a clock time")
        raise TraceError(path, line, column, f"{v:g} outside the physical range {rng[0]:g}..{rng[1]:g}")
    return v


def quantum(col) -> float:
    """The step a column is written to: the largest q = k / 10**d (d <= 4) that every value and every change
    is a whole number of; 0.0 when there is none (a column written to full precision, or constant)."""
    for d in range(5):
        scale = 10.0 ** d
        if all(abs(v * scale - round(v * scale)) < 1e-6 + 1e-12 * abs(v * scale) for v in col):
            units = [round(v * scale) for v in col]
            return math.gcd(*{abs(b - a) for a, b in zip(units, units[1:])}) / scale
    return 0.0


def dequantise(ts, col) -> float:
    """Replace, in place, a quantised column's staircase by the continuous truth it rounds; return its step
    (0.0: left as written). A change of exactly one step means the truth crossed the rounding boundary,
    halfway between the two levels, between those two rows: those crossings are the knots, and the rows
    between them read the smoothest curve through them (a cubic spline, so a crest inside a run of equal
    values is rebuilt from the crossings around it). A larger change (a pulse, a step, a hole's fall) or one
    at equal times is a jump: both its rows are kept exactly as written and the curve does not reach across
    it. Before the first crossing and after the last the curve goes on along its end parabola, never more
    than half a step from what is written. A column whose every row changes (no runs of equal values), or with fewer
    than two one-step changes, is no staircase and is left as written."""
    n = len(col)
    changes = list(compress(range(1, n), map(ne, col[1:], col)))
    if len(changes) == n - 1:
        return 0.0
    q = quantum(col)
    one = {i for i in changes if ts[i] > ts[i - 1] and abs(abs(col[i] - col[i - 1]) - q) < 1e-6 * q}
    if len(one) < 2:
        return 0.0
    jumps = {i for i in changes if i not in one}
    kept = jumps.union(i - 1 for i in jumps)
    kt, kv, cut = [], [], []            # the knots; cut[k]: a jump between knots k and k + 1
    for i in sorted(one | kept):
        if i in one:
            kt.append(0.5 * (ts[i - 1] + ts[i]))
            kv.append(0.5 * (col[i - 1] + col[i]))
            cut.append(False)
        if i in kept:
            if cut:
                cut[-1] = i in jumps or kt[-1] == ts[i]
            kt.append(ts[i])
            kv.append(col[i])
            cut.append(False)
    slope = _spline_slopes(kt, kv, cut)
    for k in range(len(kt) - 1):            # the rows strictly between two knots: the cubic through them
        h = kt[k + 1] - kt[k]
        a1, dy = h * slope[k], kv[k + 1] - kv[k]
        a2, a3 = 3.0 * dy - 2.0 * a1 - h * slope[k + 1], a1 + h * slope[k + 1] - 2.0 * dy
        for i in range(bisect_right(ts, kt[k]), bisect_left(ts, kt[k + 1])):
            x = (ts[i] - kt[k]) / h
            col[i] = kv[k] + x * (a1 + x * (a2 + x * a3))
    half = 0.5 * q
    for e, f, rows in ((0, 1, range(bisect_left(ts, kt[0]))), (-1, -2, range(bisect_right(ts, kt[-1]), n))):
        curve = 0.0 if cut[min(e, f)] else 0.5 * (slope[f] - slope[e]) / (kt[f] - kt[e])     # the end interval's parabola
        for i in rows:
            dt = ts[i] - kt[e]
            col[i] = min(max(kv[e] + dt * (slope[e] + curve * dt), col[i] - half), col[i] + half)
    return q


def _spline_slopes(kt, kv, cut) -> list[float]:
    """The slopes at the knots of the cubic spline through them (continuous curvature; the two end intervals
    parabolas), one spline for each run of knots between jumps: the tridiagonal system solved by elimination.
    Two knots alone make a straight line; a knot alone (between two jumps) is flat."""
    slope = [0.0] * len(kt)
    start = 0
    for end in range(len(kt)):
        if end == len(kt) - 1 or cut[end]:
            if end > start:
                _solve(kt, kv, start, end, slope)
            start = end + 1
    return slope


def _solve(kt, kv, a, b, slope) -> None:
    h = [kt[i + 1] - kt[i] for i in range(a, b)]
    sec = [(kv[i + 1] - kv[i]) / hi for i, hi in zip(range(a, b), h)]
    n = b - a + 1
    if n == 2:
        slope[a] = slope[b] = sec[0]
        return
    sub = [0.0] + [h[i] for i in range(1, n - 1)] + [1.0]           # row i: sub m[i-1] + diag m[i] + sup m[i+1]
    diag = [1.0] + [2.0 * (h[i - 1] + h[i]) for i in range(1, n - 1)] + [1.0]
    sup = [1.0] + [h[i - 1] for i in range(1, n - 1)] + [0.0]
    rhs = [2.0 * sec[0]] + [3.0 * (h[i] * sec[i - 1] + h[i - 1] * sec[i]) for i in range(1, n - 1)] + [2.0 * sec[-1]]
    for i in range(1, n):
        w = sub[i] / diag[i - 1]
        diag[i] -= w * sup[i - 1]
        rhs[i] -= w * rhs[i - 1]
    slope[b] = rhs[-1] / diag[-1]
    for i in range(n - 2, -1, -1):
        slope[a + i] = (rhs[i] - sup[i] * slope[a + i + 1]) / diag[i]
