"""SCD4x driver: CRC, the bytes of every command, mode rules, faults, zero allocation; both runtimes."""
import random

import crcmod
import pytest

from drivers.errors import BUS, CRC, FAILED, RANGE, STATE  # noqa: E402

CRC8 = crcmod.mkCrcFun(0x131, initCrc=0xFF, rev=False, xorOut=0)   # an independent CRC-8 (poly 0x31)

PRELUDE = """
from hil.emu.bus import I2CBus
from hil.emu.scd4x import SCD4xEmu
from hil.emu.clock import ManualClock, StaticTruth
from hil.emu.transcript import Recorder, TranscriptBus
from drivers.scd4x import SCD4x, crc8, IDLE, PERIODIC, LOW_POWER, POWER_DOWN
from drivers.errors import SensorError
clk = ManualClock()
truth = StaticTruth(pressure_pa=101325.0, temperature_c=23.0, co2_ppm=800.0, rh_pct=45.0)
bus = I2CBus()
dev = bus.attach(0x62, SCD4xEmu(truth, clk, model=%r, seed=4))
rec = Recorder(bus)
scd = SCD4x(rec, clock=clk)
clk.sleep_ms(1000)                      # the sensor answers 1 s after power-up
def kind(f):
    try:
        f()
    except SensorError as e:
        return [e.kind, e.errno]
    return None
"""


def prelude(model="scd41"):
    return PRELUDE % model


def word(w):
    b = bytes([w >> 8, w & 0xFF])
    return b + bytes([CRC8(b)])


def w_line(cmd, *args):
    data = bytes([cmd >> 8, cmd & 0xFF]) + b"".join(word(a) for a in args)
    return "w 62 " + " ".join("%02x" % b for b in data)


def test_crc_vectors(runtime):
    got = runtime.exec("from drivers.scd4x import crc8\n"
                       "result = [crc8(bytes.fromhex(h)) for h in ('beef', '01f4', '6667', '5eb9', '03db', '8000', 'f896')]")
    assert got == [0x92, 0x33, 0xA2, 0x3C, 0x42, 0xA2, 0x31]       # REFERENCE / datasheet examples


def test_crc_matches_an_independent_implementation():
    from drivers.scd4x import crc8
    rnd = random.Random(1)
    for _ in range(2000):
        b = bytes([rnd.randrange(256), rnd.randrange(256)])
        assert crc8(b) == CRC8(b)


def test_serial_number_property_is_the_serial(runtime):
    """Adafruit's CircuitPython driver calls it scd.serial_number; ours offers it beside get_serial_number()."""
    got = runtime.exec(prelude() + "dev.serial = 0x0123456789AB\n"
                       "result = [scd.serial_number, scd.get_serial_number(), len(rec.lines)]")
    assert got[:2] == [0x0123456789AB, 0x0123456789AB] and got[2] >= 4     # two reads on the bus


def test_bytes_on_the_wire_for_every_command(runtime):
    lines = runtime.exec(prelude() + """
scd.stop_periodic_measurement()
scd.set_temperature_offset(4.0)
scd.get_temperature_offset()
scd.set_sensor_altitude(250)
scd.get_sensor_altitude()
scd.set_ambient_pressure(98700)
scd.get_ambient_pressure()
scd.set_automatic_self_calibration(False)
scd.get_automatic_self_calibration()
scd.get_serial_number()
scd.persist_settings()
scd.perform_self_test()
scd.reinit()
scd.perform_factory_reset()
frc_early = kind(lambda: scd.perform_forced_recalibration(400))
scd.start_periodic_measurement()
clk.sleep_ms(5000)
scd.read()
scd.stop_periodic_measurement()
scd.start_low_power_periodic_measurement()
scd.stop_periodic_measurement()
scd.measure_single_shot()
scd.read()
scd.measure_single_shot_rht_only()
scd.read()
scd.power_down()
scd.wake_up()
result = [l for l in rec.lines if l.startswith('w')] + [str(frc_early)]
""")
    expected = [
        w_line(0x3F86), w_line(0x241D, round(4.0 * 65535 / 175)), w_line(0x2318), w_line(0x2427, 250),
        w_line(0x2322), w_line(0xE000, 987), w_line(0xE000), w_line(0x2416, 0), w_line(0x2313),
        w_line(0x3682), w_line(0x3615), w_line(0x3639), w_line(0x3646), w_line(0x3632), w_line(0x362F, 400),
        w_line(0x21B1), w_line(0xE4B8), w_line(0xEC05), w_line(0x3F86), w_line(0x21AC), w_line(0x3F86),
        w_line(0x219D), w_line(0xE4B8), w_line(0xEC05), w_line(0x2196), w_line(0xE4B8), w_line(0xEC05),
        w_line(0x36E0), w_line(0x36F6) + " !19",                       # wake_up is never ACKed
    ]
    assert lines[:-1] == expected
    assert lines[-1] == str([FAILED, 0])       # FRC before 3 min of measuring: the sensor answers 0xFFFF
    assert w_line(0xE000, 987).endswith("03 db 42")                     # the REFERENCE's example bytes


def test_refused_commands_never_touch_the_bus(runtime):
    got = runtime.exec(prelude() + """
scd.start_periodic_measurement()
n = len(rec.lines)
calls = [scd.get_serial_number, scd.persist_settings, scd.perform_self_test, scd.reinit,
         scd.perform_factory_reset, scd.measure_single_shot, scd.measure_single_shot_rht_only,
         scd.power_down, scd.get_temperature_offset, scd.get_sensor_altitude,
         scd.get_automatic_self_calibration, scd.start_periodic_measurement,
         scd.start_low_power_periodic_measurement,
         lambda: scd.set_temperature_offset(4), lambda: scd.set_sensor_altitude(10),
         lambda: scd.set_automatic_self_calibration(True), lambda: scd.perform_forced_recalibration(420)]
kinds = [kind(f) for f in calls]
untouched = len(rec.lines) == n
scd.set_ambient_pressure(100000)       # allowed while measuring
scd.get_data_ready_status()
result = [kinds, untouched, len(rec.lines) - n, dev.commands[-2:]]
""")
    kinds, untouched, sent, last = got
    assert kinds == [[STATE, 0]] * 17 and untouched
    assert sent == 3 and last == [0xE000, 0xE4B8]


def test_periodic_readings(runtime):
    got = runtime.exec(prelude() + """
scd.start_periodic_measurement()
first = scd.read()
clk.sleep_ms(5000)
r1 = scd.read()
again = scd.read()                      # buffer cleared on read
out = [0, 0, 0]
clk.sleep_ms(5000)
ok = scd.read_fixed(out)
result = [first, list(r1), again, ok, out]
""")
    first, r1, again, ok, out = got
    assert first is None and again is None and ok
    co2, t, rh = r1
    assert abs(co2 - 800) <= 40 + 0.05 * 800 + 30 and abs(t - 23.0) < 1.0 and abs(rh - 45.0) < 7
    assert abs(out[0] - 800) < 100 and abs(out[1] - 2300) < 100 and abs(out[2] - 4500) < 700
    assert all(isinstance(v, int) for v in out)


def test_conversions_from_the_datasheet_example(runtime):
    # read_measurement example bytes: 500 ppm, 25 degC, 37 %RH.
    got = runtime.exec("""
from hil.emu.transcript import TranscriptBus
from drivers.scd4x import SCD4x
from hil.emu.clock import ManualClock
tb = TranscriptBus('w 62 e4 b8\\nr 62 80 06 04\\nw 62 ec 05\\nr 62 01 f4 33 66 67 a2 5e b9 3c\\n')
scd = SCD4x(tb, clock=ManualClock())
scd._mode = 1
out = [0, 0, 0]
result = [scd.read_fixed(out), out, tb.done]
""")
    assert got == [True, [500, 2500, 3700], True]


def test_bus_and_crc_faults_are_errors(runtime):
    got = runtime.exec(prelude() + """
scd.start_periodic_measurement()
res = []
for fault in ({'gone': True}, {'timeout': True}, {'nack_rate': 1.0}, {'crc_corrupt': 1.0}):
    clk.sleep_ms(5000)
    dev.faults.set(**fault)
    res.append(kind(scd.read))
    dev.faults.clear()
clk.sleep_ms(5000)
res.append(kind(scd.read))
result = res
""")
    assert got == [[BUS, 19], [BUS, 110], [BUS, 5], [CRC, 0], None]


def test_value_faults(runtime):
    got = runtime.exec(prelude() + """
scd.start_periodic_measurement()
def next_co2():
    clk.sleep_ms(5000)
    return scd.read()[0]
base = sum(next_co2() for i in range(4)) / 4
dev.faults.set(offset=500.0)
for i in range(40):                     # 200 s: past the 60 s time constant
    next_co2()
shifted = sum(next_co2() for i in range(4)) / 4
dev.faults.clear()
dev.faults.set(stuck=True)
clk.sleep_ms(5000)
scd.read()                              # the last reading before the output froze
vals = []
for i in range(3):
    clk.sleep_ms(5000)
    vals.append(scd.read())
truth.co2_ppm = 3000.0
clk.sleep_ms(5000)
vals.append(scd.read())
result = [base, shifted, [list(v) for v in vals]]
""")
    base, shifted, vals = got
    assert 450 < shifted - base < 560
    assert vals[0] == vals[1] == vals[2] == vals[3]


def test_out_of_range_co2_word_is_an_error(runtime):
    crc = CRC8(bytes([0x9C, 0x41]))
    got = runtime.exec("""
from hil.emu.transcript import TranscriptBus
from drivers.scd4x import SCD4x
from drivers.errors import SensorError
from hil.emu.clock import ManualClock
tb = TranscriptBus('w 62 e4 b8\\nr 62 80 06 04\\nw 62 ec 05\\nr 62 9c 41 %02x 66 67 a2 5e b9 3c\\n')
scd = SCD4x(tb, clock=ManualClock())
try:
    scd.read()
    result = None
except SensorError as e:
    result = e.kind
""" % crc)
    assert got == RANGE


def test_forced_recalibration_after_three_minutes(runtime):
    got = runtime.exec(prelude() + """
truth.co2_ppm = 420.0
scd.start_periodic_measurement()
for i in range(40):
    clk.sleep_ms(5000)
    scd.read()
scd.stop_periodic_measurement()
before = dev.co2_offset_ppm + dev.settings['frc_ppm']
correction = scd.perform_forced_recalibration(420)
scd.start_periodic_measurement()
vals = []
for i in range(4):
    clk.sleep_ms(5000)
    vals.append(scd.read()[0])
result = [correction, sum(vals) / 4]
""")
    correction, mean = got
    assert abs(mean - 420) < 25                    # after FRC only repeatability noise remains
    assert -200 < correction < 200


def test_set_ambient_pressure_corrects_ndir(runtime):
    got = runtime.exec(prelude() + """
truth.pressure_pa = 70000.0
truth.co2_ppm = 1000.0
scd.start_periodic_measurement()
def mean(n):
    s = 0
    for i in range(n):
        clk.sleep_ms(5000)
        s += scd.read()[0]
    return s / n
raw = mean(4)
scd.set_ambient_pressure(70000.0)
mean(2)
fixed = mean(4)
result = [raw, fixed, dev.co2_gain, dev.co2_offset_ppm]
""")
    raw, fixed, gain, offset = got
    expected_sensor = 1000.0 * gain + offset       # what this part reads when compensated
    assert abs(raw - (1000.0 * gain * 70000 / 101325 + offset)) < 20
    assert abs(fixed - expected_sensor) < 20


def test_power_down_and_wake_up(runtime):
    got = runtime.exec(prelude() + """
scd.power_down()
refused = kind(scd.get_serial_number)
scd.wake_up()
scd.measure_single_shot()
discarded = scd.read()
scd.measure_single_shot()
kept = scd.read()
result = [refused, discarded, kept is not None, scd.mode]
""")
    assert got == [[STATE, 0], None, True, 0]


def test_scd40_has_no_single_shot(runtime):
    got = runtime.exec(prelude("scd40") + "result = kind(scd.measure_single_shot)")
    assert got == [BUS, 5]


SCD_SETUP = """
from hil.emu.transcript import TranscriptBus
from hil.emu.clock import ManualClock
from drivers.scd4x import SCD4x
tb = TranscriptBus('''
w 62 21 b1
loop
w 62 e4 b8
r 62 80 00 a2
w 62 e4 b8
r 62 80 06 04
w 62 ec 05
r 62 01 f4 33 66 67 a2 5e b9 3c
''')
scd = SCD4x(tb, clock=ManualClock())
scd.start_periodic_measurement()
out = [0, 0, 0]
got = [0]
"""
SCD_STEP = "if %s:\n    got[0] += 1"


def test_read_fixed_allocates_nothing_in_micropython(alloc_probe):
    delta, (got, out), locked = alloc_probe(SCD_SETUP, SCD_STEP % "scd.read_fixed(out)", n=200, after="[got[0], out]")
    assert got == 110 and out == [500, 2500, 3700]      # data ready every other call: 10 warming up, 100 measured
    assert delta == 0 and locked


def test_allocation_probe_can_fail(alloc_probe):
    # The same probe on read(), which builds a tuple of floats, must see allocation.
    delta, got, _ = alloc_probe(SCD_SETUP, SCD_STEP % "scd.read() is not None", n=200, locked=0, after="got[0]")
    assert got == 110 and delta > 0
