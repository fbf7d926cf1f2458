"""Clocks and a fixed source of true values for the emulators and their tests.

ManualClock is a virtual clock with MicroPython's tick semantics (ticks wrap at 2^30): sleep_ms and
advance move it, so a driver's waits cost no real time. Elapsed turns any such clock into a monotonic
microsecond count for an emulator (robust to wrap and to long gaps between accesses).
"""
_PERIOD = 1 << 30
_MASK = _PERIOD - 1
_HALF = 1 << 29


def ticks_diff(a, b):
    return ((a - b + _HALF) & _MASK) - _HALF


class TickClock:
    """Virtual ms and us ticks that wrap like MicroPython's (2^30); subclasses decide when time moves
    (ManualClock here, the virtual bench's VirtualClock in hil/simhw.py)."""

    def __init__(self, start_ms=0):
        self._ms = start_ms & _MASK
        self._us = (start_ms * 1000) & _MASK
        self._sub_us = 0                 # microseconds not yet a whole millisecond on the ms ticks

    def ticks_ms(self):
        return self._ms

    def ticks_us(self):
        return self._us

    def ticks_diff(self, a, b):
        return ticks_diff(a, b)

    def ticks_add(self, t, d):
        return (t + d) & _MASK

    def _tick_us(self, us):
        self._us = (self._us + us) & _MASK
        s = self._sub_us + us
        self._ms = (self._ms + s // 1000) & _MASK
        self._sub_us = s % 1000


class ManualClock(TickClock):
    def advance_us(self, us):
        self._tick_us(us)

    def advance_ms(self, ms):
        self.advance_us(ms * 1000)

    def sleep_ms(self, ms):
        if ms > 0:
            self.advance_us(ms * 1000)

    def sleep_us(self, us):
        if us > 0:
            self.advance_us(us)


class Elapsed:
    """Monotonic microseconds since creation from a wrapping clock (ticks_us for short gaps,
    ticks_ms once a gap is too long for the microsecond ticks)."""

    def __init__(self, clock):
        self.clock = clock
        self._last_us = clock.ticks_us()
        self._last_ms = clock.ticks_ms()
        self.now_us = 0

    def update(self):
        c = self.clock
        us, ms = c.ticks_us(), c.ticks_ms()
        dms = c.ticks_diff(ms, self._last_ms)
        if dms > 100000 or dms < -100000:
            d = dms * 1000
        else:
            d = c.ticks_diff(us, self._last_us)
        if d > 0:
            self.now_us += d
        self._last_us, self._last_ms = us, ms
        return self.now_us


class StaticTruth:
    """True values that stay put (set the attributes to change them); refresh() is a no-op."""

    def __init__(self, pressure_pa=101325.0, temperature_c=22.0, co2_ppm=420.0, rh_pct=40.0):
        self.pressure_pa = pressure_pa
        self.temperature_c = temperature_c
        self.co2_ppm = co2_ppm
        self.rh_pct = rh_pct

    def refresh(self):
        pass
