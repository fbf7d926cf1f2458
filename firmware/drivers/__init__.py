"""Sensor drivers: BMP280 (pressure, temperature) and SCD40/SCD41 (CO2, temperature, RH).

Every failure a driver sees is raised as drivers.errors.SensorError with a .kind code.
"""


def default_clock():
    """What a driver waits with when no clock is given: MicroPython's time, or a CPython stand-in."""
    import time
    if hasattr(time, "sleep_ms"):
        return time
    return _SleepClock()


class _SleepClock:
    """CPython stand-in for MicroPython's time.sleep_ms."""

    def sleep_ms(self, ms):
        import time
        if ms > 0:
            time.sleep(ms / 1000)
