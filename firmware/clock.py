# The node's one clock: every time the firmware reads or waits goes through this object, so the
# virtual bench can swap in hil.simhw.VirtualClock (same methods, virtual time).
# Ticks wrap at 2^30 ms on a board: always compare with ticks_diff, advance with ticks_add.
import time

_PERIOD = 1 << 30
_HALF = 1 << 29


def ticks_diff(a, b):
    """Signed a - b on the wrapping 2^30 tick scale (same rule as time.ticks_diff)."""
    return ((a - b + _HALF) & (_PERIOD - 1)) - _HALF


def ticks_add(t, d):
    return (t + d) & (_PERIOD - 1)


class Clock:
    """A board's clock: time.ticks_* (MicroPython) with a CPython fallback that wraps the same way."""

    def __init__(self):
        self._mpy = hasattr(time, "ticks_ms")

    def ticks_ms(self):
        if self._mpy:
            return time.ticks_ms()  # type: ignore[attr-defined]
        return int(time.monotonic() * 1000) & (_PERIOD - 1)

    def ticks_us(self):
        if self._mpy:
            return time.ticks_us()  # type: ignore[attr-defined]
        return int(time.monotonic() * 1000000) & (_PERIOD - 1)

    def ticks_diff(self, a, b):
        return ticks_diff(a, b)

    def ticks_add(self, t, d):
        return ticks_add(t, d)

    def sleep_ms(self, ms):
        if ms <= 0:
            return
        if self._mpy:
            time.sleep_ms(ms)  # type: ignore[attr-defined]
        else:
            time.sleep(ms / 1000)

    def sleep_us(self, us):
        if us <= 0:
            return
        if self._mpy:
            time.sleep_us(us)  # type: ignore[attr-defined]
        else:
            time.sleep(us / 1000000)
