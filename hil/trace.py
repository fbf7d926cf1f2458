"""Recorded zone histories (docs/scenarios.md, "Traces"): a CSV with the columns
t_s,pressure_pa,temperature_c,co2_ppm,rh_pct, read once and interpolated linearly between its own points.

`read_trace(name, raw, ranges)` refuses a malformed file with TraceError, whose str() is
'FILE:LINE: FIELD: problem' (a missing column, a value that is not a finite number or is outside its
physical range, a row of the wrong length, time going backwards, not UTF-8 text). `Trace.path(t0, t1)`
gives the trace's own points between two bench step ends, so the nodes' sensors read a recording at
their own sample times whatever the step (hil/simhw.py Truth).
"""
from __future__ import annotations

import csv
import io
import math
from array import array
from bisect import bisect_right
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

    def __init__(self, t_s, rows=()):
        self.t_s = array("d", t_s)
        self.cols = tuple(array("d", (r[j] for r in rows)) for j in range(len(FIELDS)))

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
        out = [[round(t0 * 1000.0, 3), *self.at(t0).values()]]
        ts = self.t_s
        i = bisect_right(ts, t0)
        while i < len(ts) and ts[i] < t1:
            out.append([round(ts[i] * 1000.0, 3), *self._row(i)])
            i += 1
        return out

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
    ts: list[float] = []
    rows: list[list[float]] = []
    for row in reader:
        if not row:
            continue                               # a blank line
        line = reader.line_num
        if len(row) > len(names):
            raise TraceError(path, line, "row", f"{len(row)} fields, the header has {len(names)}")
        values = [_number(path, line, c, row[j] if j < len(row) else None, ranges.get(c))
                  for c, j in zip(COLUMNS, where)]
        if ts and values[0] < ts[-1]:
            raise TraceError(path, line, "t_s", f"{values[0]:g} goes backwards (the row before is at "
                                                f"{ts[-1]:g}): times must not decrease (equal times make a step)")
        ts.append(values[0])
        rows.append(values[1:])
    if not ts:
        raise TraceError(path, reader.line_num, "file", "no data rows after the header")
    return Trace(ts, rows)


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
