"""BMP280 simple test: print temperature and pressure once a second.

On a board (Pico: I2C0 SDA GP4 / SCL GP5) copy firmware/drivers/ to the board and run this file.
On a PC (`python examples/bmp280_simpletest.py`) it runs against the emulated chip on a virtual clock.
"""
import sys

try:
    from machine import I2C, Pin  # type: ignore[import-not-found]
    import time
    i2c = I2C(0, sda=Pin(4), scl=Pin(5), freq=400000)
    clock = time
    board = True
except ImportError:                       # no board: the emulator from hil/emu on a virtual clock
    sys.path[:0] = ["firmware", "."]
    from hil.emu.bus import I2CBus
    from hil.emu.bmp280 import BMP280Emu
    from hil.emu.clock import ManualClock, StaticTruth
    clock = ManualClock()
    i2c = I2CBus()
    i2c.attach(0x76, BMP280Emu(StaticTruth(pressure_pa=100800.0, temperature_c=22.4), clock))
    board = False

from drivers.bmp280 import BMP280, FORCED
from drivers.errors import SensorError

bmp = BMP280(i2c, address=0x76, mode=FORCED, osrs_t=2, osrs_p=16, iir=4, clock=clock)
out = [0, 0]
for _ in range(10 if not board else 1000000):
    try:
        bmp.read_fixed(out)               # the node's way: integers, no allocation
        t_c, p_pa = bmp.read()            # the human way: floats
        print("T %.2f degC  P %.2f Pa  (fixed: %d, %d)" % (t_c, p_pa, out[0], out[1]))
    except SensorError as e:
        print("sensor error:", e)
    clock.sleep_ms(1000)
