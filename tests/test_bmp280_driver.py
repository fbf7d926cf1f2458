"""BMP280 driver against the register-level emulator, in CPython and in the MicroPython VM."""


PRELUDE = """
from hil.emu.bus import I2CBus, RegisterDevice
from hil.emu.bmp280 import BMP280Emu
from hil.emu.clock import ManualClock, StaticTruth
from drivers.bmp280 import BMP280, SLEEP, FORCED, NORMAL
from drivers.errors import SensorError
clk = ManualClock()
truth = StaticTruth(pressure_pa=%r, temperature_c=%r)
bus = I2CBus()
dev = bus.attach(0x76, BMP280Emu(truth, clk, accuracy=False, seed=3))
def kind(f):
    try:
        f()
    except SensorError as e:
        return [e.kind, e.errno]
    return None
"""


def prelude(pressure_pa=95000.0, temperature_c=21.5):
    return PRELUDE % (pressure_pa, temperature_c)


def test_normal_mode_reads_the_truth(runtime):
    got = runtime.exec(prelude() + """
bmp = BMP280(bus, clock=clk)
ps, ts = [], []
for i in range(12):
    clk.sleep_ms(40)
    t, p = bmp.read()
    ps.append(p)
    ts.append(t)
out = [0, 0]
bmp.read_fixed(out)
result = [sum(ps) / len(ps), sum(ts) / len(ts), out, bmp.mode == NORMAL, dev.mode]
""")
    p_mean, t_mean, fixed, normal, chip_mode = got
    assert abs(p_mean - 95000.0) < 1.5 and abs(t_mean - 21.5) < 0.05
    assert isinstance(fixed[0], int) and abs(fixed[1] / 256 - 95000.0) < 3
    assert normal and chip_mode == 3


def test_forced_mode_one_conversion_per_read(runtime):
    got = runtime.exec(prelude(101000.0, 30.0) + """
bmp = BMP280(bus, clock=clk, mode=FORCED, osrs_t=1, osrs_p=4, iir=0)
c0 = dev.conversions
vals = [bmp.read() for i in range(4)]
result = [dev.conversions - c0, dev.mode, vals, bmp.max_measurement_ms]
""")
    conversions, chip_mode, vals, tmax = got
    assert conversions == 4 and chip_mode == 0          # back to sleep after each conversion
    assert all(abs(p - 101000.0) < 10 and abs(t - 30.0) < 0.05 for t, p in vals)
    assert tmax == -(-(1250 + 2300 * 1 + 2300 * 4 + 575) // 1000)   # datasheet maximum, rounded up


def test_power_on_data_is_an_error_not_a_value(runtime):
    # The chip left in sleep mode after reset still holds 0x80000: reading it must fail.
    got = runtime.exec(prelude() + """
bmp = BMP280(bus, clock=clk, mode=SLEEP)
bmp._mode = NORMAL          # pretend the caller thinks it measures: the data registers say otherwise
out = [7, 7]
result = [kind(lambda: bmp.read_fixed(out)), out, kind(bmp.read_raw)]
""")
    from drivers.errors import SKIPPED
    assert got == [[SKIPPED, 0], [7, 7], [SKIPPED, 0]]


def test_skipped_pressure_channel_is_an_error(runtime):
    got = runtime.exec(prelude() + """
bmp = BMP280(bus, clock=clk, mode=FORCED, osrs_p=0)
result = kind(bmp.read)
""")
    from drivers.errors import SKIPPED
    assert got == [SKIPPED, 0]


def test_sleep_mode_read_is_refused(runtime):
    got = runtime.exec(prelude() + """
bmp = BMP280(bus, clock=clk, mode=SLEEP)
result = kind(bmp.read)
""")
    from drivers.errors import STATE
    assert got == [STATE, 0]


def test_wrong_chip_and_absent_chip(runtime):
    got = runtime.exec(prelude() + """
bus.attach(0x77, RegisterDevice({0xD0: b'\\x60'}))      # a BME280 answers 0x60
result = [kind(lambda: BMP280(bus, address=0x77, clock=clk)), kind(lambda: BMP280(bus, address=0x75, clock=clk))]
""")
    from drivers.errors import BUS, CHIP_ID
    assert got == [[CHIP_ID, 0], [BUS, 19]]


def test_bus_faults_are_errors_and_the_device_comes_back(runtime):
    got = runtime.exec(prelude() + """
bmp = BMP280(bus, clock=clk)
clk.sleep_ms(50)
res = []
for fault in ({'gone': True}, {'timeout': True}, {'nack_rate': 1.0}):
    dev.faults.set(**fault)
    res.append(kind(bmp.read))
    dev.faults.clear()
    clk.sleep_ms(50)
    res.append(kind(bmp.read))
result = res
""")
    from drivers.errors import BUS
    assert got == [[BUS, 19], None, [BUS, 110], None, [BUS, 5], None]


def test_value_faults(runtime):
    got = runtime.exec(prelude(100000.0) + """
bmp = BMP280(bus, clock=clk, mode=FORCED, osrs_p=16, iir=0)
def mean(n):
    return sum(bmp.read()[1] for i in range(n)) / n
base = mean(6)
dev.faults.set(offset=250.0)
shifted = mean(6)
dev.faults.clear()
dev.faults.set(stuck=True)
raws = [bmp.read_raw() for i in range(3)]
truth.pressure_pa = 90000.0
raws.append(bmp.read_raw())
dev.faults.clear()
after = bmp.read()[1]
dev.faults.set(spike_rate=1.0, spike_size=200000.0)
spike = kind(bmp.read)
dev.faults.clear()
truth.pressure_pa = 25000.0
low = kind(bmp.read)
result = [base, shifted, [list(r) for r in raws], after, spike, low]
""")
    base, shifted, raws, after, spike, low = got
    from drivers.errors import RANGE
    assert abs(shifted - base - 250.0) < 4
    assert raws[0] == raws[1] == raws[2] == raws[3]      # frozen, even though the truth moved 10 kPa
    assert abs(after - 90000.0) < 5
    assert spike == [RANGE, 0] and low == [RANGE, 0]     # out of 300..1100 hPa: reported, not clamped


def test_drift_grows_with_time(runtime):
    got = runtime.exec(prelude(100000.0) + """
bmp = BMP280(bus, clock=clk, mode=FORCED, osrs_p=16, iir=0)
dev.faults.set(drift_per_s=2.0)
p0 = bmp.read()[1]
clk.sleep_ms(100000)
p1 = bmp.read()[1]
result = p1 - p0
""")
    assert 190 < got < 210


def test_config_changes_in_normal_mode_reach_the_chip(runtime):
    # The chip ignores config writes in normal mode; the driver must pass through sleep.
    got = runtime.exec(prelude() + """
bmp = BMP280(bus, clock=clk, iir=2, standby_ms=125)
before = dev.mem[0xF5]
bmp.set_filter(8)
bmp.set_standby(1000)
result = [before, dev.mem[0xF5], dev.mode]
""")
    assert got == [(2 << 5) | (1 << 2), (5 << 5) | (3 << 2), 3]


def test_other_calibrations_through_the_register_file(runtime):
    # Parts differ: the emulator's calibration block (signed/unsigned little-endian words) must reach
    # the driver intact, and the inverse compensation must hold for it.
    calibs = [(28000, 26000, 50, 37000, -10500, 3100, 4000, -50, -7, 15500, -14600, 6000),
              (26800, 25500, -1500, 36000, -11000, 2900, 6500, 120, 12, 14000, -12500, 5000)]
    got = runtime.exec(prelude(92000.0, 31.0) + """
res = []
for i, calib in enumerate(%r):
    b2 = I2CBus()
    b2.attach(0x76, BMP280Emu(truth, clk, calib=calib, accuracy=False, seed=i))
    bmp = BMP280(b2, clock=clk, mode=FORCED, iir=0)
    res.append([bmp.comp.T1, bmp.comp.T3, bmp.comp.P1, bmp.comp.P5, bmp.comp.P9, list(bmp.read())])
result = res
""" % (calibs,))
    for calib, (t1, t3, p1, p5, p9, (t, p)) in zip(calibs, got):
        assert (t1, t3, p1, p5, p9) == (calib[0], calib[2], calib[3], calib[7], calib[11])
        assert abs(t - 31.0) < 0.05 and abs(p - 92000.0) < 6
