"""The ground's one clock: wall time live, set by hand in replay and on the virtual bench.

Every arrival time and decision timestamp comes from a clock object with `now() -> float` seconds.
"""
from __future__ import annotations

import time


class WallClock:
    """Wall time (Unix seconds), never going backwards even if the system clock is stepped back."""

    def __init__(self) -> None:
        self._last = 0.0

    def now(self) -> float:
        t = time.time()
        if t < self._last:
            t = self._last  # keep arrival times monotonic: decisions depend on their order
        self._last = t
        return t

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


class ManualClock:
    """A clock moved by its owner: replay sets recorded arrival times, the virtual bench sets virtual time."""

    def __init__(self, t: float = 0.0) -> None:
        self._t = float(t)

    def now(self) -> float:
        return self._t

    def set(self, t: float) -> None:
        if t < self._t:
            raise ValueError(f"ManualClock cannot go back from {self._t} to {t}")
        self._t = float(t)

    def advance(self, dt: float) -> None:
        self.set(self._t + dt)

    def sleep(self, seconds: float) -> None:
        """Sleeping on a manual clock moves it: code written for live time runs unchanged."""
        self.advance(max(0.0, seconds))
