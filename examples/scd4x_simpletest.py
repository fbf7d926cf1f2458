"""SCD40/SCD41 simple test: periodic measurement, a reading every 5 s, pressure compensation.

On a board (Pico: I2C0 SDA GP4 / SCL GP5) copy firmware/drivers/ to the board and run this file.
On a PC (`python examples/scd4x_simpletest.py`) it runs against the emulated chip on a virtual clock.
"""
import sys

try:
    from machine import I2C, Pin  # type: ignore[import-not-found]
    import time
    i2c = I2C(0, sda=Pin(4), scl=Pin(5), freq=100000)
    clock = time
    board = True
except ImportError:                       # no board: the emulator from hil/emu on a virtual clock
    sys.path[:0] = ["firmware", "."]
    from hil.emu.bus import I2CBus
    from hil.emu.scd4x import SCD4xEmu
    from hil.emu.clock import ManualClock, StaticTruth
    clock = ManualClock()
    i2c = I2CBus()
    i2c.attach(0x62, SCD4xEmu(StaticTruth(co2_ppm=950.0, pressure_pa=97000.0), clock))
    board = False

from drivers.scd4x import SCD4x
from drivers.errors import SensorError

clock.sleep_ms(1000)                      # the sensor needs 1 s after power-up
scd = SCD4x(i2c, clock=clock)
scd.stop_periodic_measurement()           # it may still be measuring from an earlier run
print("serial %012x" % scd.get_serial_number())
scd.set_ambient_pressure(97000)           # on the node: the BMP280's pressure
scd.start_periodic_measurement()
for _ in range(6 if not board else 1000000):
    clock.sleep_ms(5000)
    try:
        reading = scd.read()
        if reading is None:
            print("no new data yet")
        else:
            print("CO2 %d ppm  T %.2f degC  RH %.2f %%" % reading)
    except SensorError as e:
        print("sensor error:", e)
scd.stop_periodic_measurement()
