"""The ground's one clock: wall time live, set by hand in replay and on the virtual bench.

Every arrival time and decision timestamp comes from a clock object with `now() -> float` seconds.
"""
from __future__ import annotations

import time


class WallClock:
    """Wall time (Unix seconds) that never goes backwards and never stands still.

    A step back of the system clock (NTP, an operator, a board booting on its last saved time) is absorbed:
    time goes on from where it was, at the system clock's rate, and stays that far ahead of it. Holding the
    last instant until the clock caught up would freeze the engine's grid: a 10-minute step back 30 s before
    a 15 mm hole gave no SHELTER for 10 minutes (tests/test_redteam_ground_clock.py). Steps forward pass."""

    def __init__(self) -> None:
        self._last = 0.0
        self._ahead_s = 0.0     # the steps back absorbed so far

    def now(self) -> float:
        t = time.time() + self._ahead_s
        if t < self._last:
            self._ahead_s += self._last - t   # arrival times stay ordered: decisions depend on their order
            t = self._last
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
