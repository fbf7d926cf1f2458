"""The SCD4x emulator's command state machine, timing, NACK rules and measurement model."""
import math
import statistics

import crcmod
import pytest

from safehaven.hil.emu.bus import I2CBus
from safehaven.hil.emu.clock import ManualClock, StaticTruth
from safehaven.hil.emu.scd4x import SCD4xEmu

CRC8 = crcmod.mkCrcFun(0x131, initCrc=0xFF, rev=False, xorOut=0)
ENODEV, EIO = 19, 5


def rig(model="scd41", seed=2, co2=800.0, pressure=101325.0, powered_ms=1000):
    clk = ManualClock()
    truth = StaticTruth(pressure_pa=pressure, co2_ppm=co2, temperature_c=22.0, rh_pct=50.0)
    bus = I2CBus()
    dev = bus.attach(0x62, SCD4xEmu(truth, clk, model=model, seed=seed))
    clk.sleep_ms(powered_ms)
    return clk, truth, bus, dev


def cmd(bus, code, *args, corrupt=False):
    data = bytes([code >> 8, code & 0xFF])
    for a in args:
        w = bytes([a >> 8, a & 0xFF])
        data += w + bytes([CRC8(w) ^ (1 if corrupt else 0)])
    bus.writeto(0x62, data)


def words(bus, n):
    raw = bus.readfrom(0x62, 3 * n)
    out = []
    for i in range(0, 3 * n, 3):
        assert CRC8(raw[i:i + 2]) == raw[i + 2]
        out.append((raw[i] << 8) | raw[i + 1])
    return out


def errno_of(f):
    try:
        f()
    except OSError as e:
        return e.args[0]
    return None


def data_ready(clk, bus):
    cmd(bus, 0xE4B8)
    clk.sleep_ms(1)
    return words(bus, 1)[0] & 0x7FF != 0


def test_silent_until_power_up_done():
    clk, _, bus, _ = rig(powered_ms=999)
    assert errno_of(lambda: cmd(bus, 0x3682)) == ENODEV
    clk.sleep_ms(1)
    cmd(bus, 0x3682)
    clk.sleep_ms(1)
    assert words(bus, 3) == [0xF896, 0x9F07, 0x3BBE]    # REFERENCE example serial


@pytest.mark.parametrize("code,period_ms", [(0x21B1, 5000), (0x21AC, 30000)])
def test_data_ready_cadence(code, period_ms):
    clk, _, bus, _ = rig()
    cmd(bus, code)
    clk.sleep_ms(period_ms - 2)
    assert not data_ready(clk, bus)
    clk.sleep_ms(1)
    assert data_ready(clk, bus)
    cmd(bus, 0xEC05)
    clk.sleep_ms(1)
    assert len(words(bus, 3)) == 3
    assert not data_ready(clk, bus)                     # buffer cleared by the read
    cmd(bus, 0xEC05)
    clk.sleep_ms(1)
    assert errno_of(lambda: bus.readfrom(0x62, 9)) == ENODEV   # no data: NACK


def test_not_ready_word_is_the_reference_bytes():
    clk, _, bus, _ = rig()
    cmd(bus, 0xE4B8)
    clk.sleep_ms(1)
    assert bus.readfrom(0x62, 3) == bytes.fromhex("8000a2")


def test_busy_while_executing():
    clk, _, bus, _ = rig()
    cmd(bus, 0x3F86)                                    # stop: 500 ms
    clk.sleep_ms(499)
    assert errno_of(lambda: cmd(bus, 0x3682)) == ENODEV
    clk.sleep_ms(1)
    cmd(bus, 0x3682)
    assert errno_of(lambda: bus.readfrom(0x62, 9)) == ENODEV   # read before the 1 ms execution time
    clk.sleep_ms(1)
    assert len(words(bus, 3)) == 3


def test_commands_refused_in_periodic_mode():
    clk, _, bus, dev = rig()
    cmd(bus, 0x21B1)
    for code in (0x3682, 0x3615, 0x3639, 0x3632, 0x3646, 0x219D, 0x2196, 0x36E0, 0x2318, 0x21B1):
        assert errno_of(lambda: cmd(bus, code)) == EIO
    cmd(bus, 0xE000, 950)                               # ambient pressure is allowed
    assert dev.ambient_hpa == 950


def test_argument_crc_is_checked():
    clk, _, bus, dev = rig()
    assert errno_of(lambda: cmd(bus, 0x2427, 300, corrupt=True)) == EIO
    cmd(bus, 0x2322)
    clk.sleep_ms(1)
    assert words(bus, 1) == [0]                         # not executed


def test_single_shot_timing():
    clk, _, bus, _ = rig()
    cmd(bus, 0x219D)
    clk.sleep_ms(4999)
    assert errno_of(lambda: cmd(bus, 0xE4B8)) == ENODEV  # still measuring
    clk.sleep_ms(1)
    assert data_ready(clk, bus)
    cmd(bus, 0x2196)                                    # RHT only: 50 ms, CO2 reads 0
    clk.sleep_ms(50)
    cmd(bus, 0xEC05)
    clk.sleep_ms(1)
    co2, t, rh = words(bus, 3)
    assert co2 == 0 and t > 0 and rh > 0


def test_scd40_refuses_scd41_commands():
    clk, _, bus, _ = rig(model="scd40")
    for code in (0x219D, 0x2196, 0x36E0, 0x36F6):
        assert errno_of(lambda: cmd(bus, code)) == EIO


def test_power_down_wake_up_never_acked():
    clk, _, bus, dev = rig()
    cmd(bus, 0x36E0)
    clk.sleep_ms(1)
    assert errno_of(lambda: cmd(bus, 0x3682)) == ENODEV
    assert errno_of(lambda: cmd(bus, 0x36F6)) == ENODEV    # executed, not ACKed
    clk.sleep_ms(20)
    cmd(bus, 0x3682)
    clk.sleep_ms(1)
    assert len(words(bus, 3)) == 3


def test_settings_persist_reinit_factory_reset():
    clk, _, bus, dev = rig()

    def altitude():
        cmd(bus, 0x2322)
        clk.sleep_ms(1)
        return words(bus, 1)[0]

    cmd(bus, 0x2427, 300)
    clk.sleep_ms(1)
    cmd(bus, 0x3646)                                    # reinit reloads the EEPROM
    clk.sleep_ms(20)
    assert altitude() == 0
    cmd(bus, 0x2427, 300)
    clk.sleep_ms(1)
    cmd(bus, 0x3615)
    clk.sleep_ms(800)
    cmd(bus, 0x3646)
    clk.sleep_ms(20)
    assert altitude() == 300
    cmd(bus, 0x3632)
    clk.sleep_ms(1200)
    assert altitude() == 0


def read_co2(clk, bus, period_ms=5000):
    clk.sleep_ms(period_ms)
    cmd(bus, 0xEC05)
    clk.sleep_ms(1)
    return words(bus, 3)


def test_co2_time_constant_60_s():
    clk, truth, bus, dev = rig(co2=400.0)
    dev.faults.noise_mult = 0.0
    cmd(bus, 0x21B1)
    for _ in range(5):
        read_co2(clk, bus)
    truth.co2_ppm = 1400.0
    readings = [read_co2(clk, bus)[0] for _ in range(12)]     # 60 s after the step
    seen = lambda ppm: ppm * dev.co2_gain + dev.co2_offset_ppm
    frac = (readings[-1] - seen(400.0)) / (seen(1400.0) - seen(400.0))
    assert abs(frac - (1 - math.exp(-1))) < 0.01


def test_ndir_reads_density_until_pressure_is_set():
    clk, truth, bus, dev = rig(co2=1000.0, pressure=80000.0)
    dev.faults.noise_mult = 0.0
    cmd(bus, 0x21B1)
    uncompensated = read_co2(clk, bus)[0]
    cmd(bus, 0xE000, 800)
    clk.sleep_ms(1)
    compensated = read_co2(clk, bus)[0]
    assert abs(uncompensated - (1000.0 * dev.co2_gain * 80000 / 101325 + dev.co2_offset_ppm)) <= 1
    assert abs(compensated - (1000.0 * dev.co2_gain + dev.co2_offset_ppm)) <= 1


@pytest.mark.parametrize("model,base", [("scd41", 40.0), ("scd40", 50.0)])
def test_parts_within_datasheet_accuracy(model, base):
    errors = []
    for seed in range(1, 41):
        for true in (400.0, 2000.0):
            clk, truth, bus, dev = rig(model=model, seed=seed, co2=true)
            dev.faults.noise_mult = 0.0
            cmd(bus, 0x21B1)
            errors.append((read_co2(clk, bus)[0] - true, base + 0.05 * true))
    assert all(abs(e) <= limit + 1 for e, limit in errors)
    assert statistics.pstdev([e for e, _ in errors]) > 5      # parts differ


def test_repeatability():
    clk, truth, bus, dev = rig(co2=1000.0)
    cmd(bus, 0x21B1)
    vals = [read_co2(clk, bus)[0] for _ in range(200)]
    assert 3.0 < statistics.pstdev(vals) < 7.0                # +-10 ppm read as 2 sigma


def test_conversions_of_words():
    clk, truth, bus, dev = rig()
    dev.t_error_c = dev.rh_error_pct = 0.0
    dev.faults.noise_mult = 0.0
    cmd(bus, 0x21B1)
    _, t_word, rh_word = read_co2(clk, bus)
    assert abs(-45 + 175 * t_word / 65535 - 22.0) < 0.1
    assert abs(100 * rh_word / 65535 - 50.0) < 0.5


def test_emulator_is_deterministic_across_runtimes(runtime):
    code = """
from hil.emu.bus import I2CBus
from hil.emu.scd4x import SCD4xEmu
from hil.emu.clock import ManualClock, StaticTruth
clk = ManualClock()
bus = I2CBus()
bus.attach(0x62, SCD4xEmu(StaticTruth(co2_ppm=1200.0), clk, seed=5))
clk.sleep_ms(1000)
bus.writeto(0x62, b'\\x21\\xb1')
out = []
for i in range(4):
    clk.sleep_ms(5000)
    bus.writeto(0x62, b'\\xec\\x05')
    clk.sleep_ms(1)
    out.append(bus.readfrom(0x62, 9))
result = out
"""
    ns: dict = {}
    exec(code, ns)                              # the same code in this CPython process
    got = runtime.exec(code)
    assert got == ns["result"] and len(set(got)) > 1
