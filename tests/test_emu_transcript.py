"""Drivers against the datasheet transcripts, mismatch detection, recording and replaying; both runtimes."""
from pathlib import Path

import pytest

from safehaven.hil.emu.transcript import TranscriptBus, TranscriptMismatch, parse

TRANSCRIPTS = Path(__file__).resolve().parent / "transcripts"


def text(name):
    return (TRANSCRIPTS / name).read_text()


BMP_DEFAULT = """
from hil.emu.transcript import TranscriptBus
from hil.emu.clock import ManualClock
from drivers.bmp280 import BMP280
tb = TranscriptBus(%r)
bmp = BMP280(tb, clock=ManualClock())
out = [0, 0]
bmp.read_fixed(out)
tb.assert_done()
result = [out, bmp.chip_id]
"""


def test_bmp280_datasheet_transcript(runtime):
    assert runtime.exec(BMP_DEFAULT % text("bmp280_datasheet.txt")) == [[2508, 25767233], 0x58]


def test_bmp280_forced_transcript(runtime):
    got = runtime.exec("""
from hil.emu.transcript import TranscriptBus
from hil.emu.clock import ManualClock
from drivers.bmp280 import BMP280, FORCED
from drivers.errors import SensorError
clk = ManualClock()
tb = TranscriptBus(%r)
bmp = BMP280(tb, address=0x77, mode=FORCED, osrs_t=1, osrs_p=1, iir=0, clock=clk)
t0 = clk.ticks_ms()
try:
    bmp.read()
    first = None
except SensorError as e:
    first = e.kind
waited = clk.ticks_diff(clk.ticks_ms(), t0)
t, p = bmp.read()
tb.assert_done()
result = [first, waited, t, p]
""" % text("bmp280_forced.txt"))
    from drivers.errors import SKIPPED
    first, waited, t, p = got
    assert first == SKIPPED
    assert waited >= 1.25 + 2.3 + 2.3 + 0.575              # the datasheet's maximum conversion time
    assert t == 25.08 and abs(p - 100653.25) < 0.01


def test_scd4x_datasheet_transcript(runtime):
    got = runtime.exec("""
from hil.emu.transcript import TranscriptBus
from hil.emu.clock import ManualClock
from drivers.scd4x import SCD4x
tb = TranscriptBus(%r)
scd = SCD4x(tb, clock=ManualClock())
scd.stop_periodic_measurement()
serial = scd.get_serial_number()
scd.set_ambient_pressure(98700)
scd.start_periodic_measurement()
r1 = scd.read()
r2 = scd.read()
scd.stop_periodic_measurement()
tb.assert_done()
result = [serial == 0xF8969F073BBE, r1, list(r2)]
""" % text("scd4x_datasheet.txt"))
    assert got == [True, None, [500, 25.0, 37.0]]


def run_bmp(transcript):
    from drivers.bmp280 import BMP280
    from safehaven.hil.emu.clock import ManualClock
    tb = TranscriptBus(transcript)
    bmp = BMP280(tb, clock=ManualClock())
    out = [0, 0]
    bmp.read_fixed(out)
    tb.assert_done()
    return out


def test_a_changed_byte_is_caught_with_its_line():
    lines = text("bmp280_datasheet.txt").split("\n")
    i = next(k for k, line in enumerate(lines) if line.startswith("w 76 f4 57"))
    lines[i] = lines[i].replace("f4 57", "f4 56")
    with pytest.raises(TranscriptMismatch, match="line %d" % (i + 1)):
        run_bmp("\n".join(lines))


def test_missing_and_extra_transactions_are_caught():
    full = text("bmp280_datasheet.txt")
    with pytest.raises(TranscriptMismatch, match="ended"):
        run_bmp(full.rsplit("w 76 f7", 1)[0])
    with pytest.raises(TranscriptMismatch, match="not reached"):
        run_bmp(full + "w 76 f7\nr 76 65 5a c0 7e ed 00\n")


def test_wrong_read_length_is_caught():
    broken = text("bmp280_datasheet.txt").replace("r 76 65 5a c0 7e ed 00", "r 76 65 5a c0 7e ed")
    with pytest.raises(TranscriptMismatch, match="read 6 bytes"):
        run_bmp(broken)


def test_parse_errors_name_the_line():
    with pytest.raises(ValueError, match="line 2"):
        parse("w 76 d0\nr 76 5g\n")
    with pytest.raises(ValueError, match="line 1"):
        parse("x 76 d0\n")
    assert parse("w 62 36 f6 !ENODEV  # wake_up\n") == [(1, "w", 0x62, b"\x36\xf6", 19)]


def test_record_then_replay_against_emulators(runtime):
    # Record the drivers against the emulators (with a NACK in the middle), then replay the
    # recording against fresh drivers: the same values come out, and the NACK is replayed too.
    got = runtime.exec("""
from hil.emu.bus import I2CBus
from hil.emu.bmp280 import BMP280Emu
from hil.emu.scd4x import SCD4xEmu
from hil.emu.clock import ManualClock, StaticTruth
from hil.emu.transcript import Recorder, TranscriptBus
from drivers.bmp280 import BMP280
from drivers.scd4x import SCD4x
from drivers.errors import SensorError

def session(bus, clk):
    vals = []
    bmp = BMP280(bus, clock=clk)
    scd = SCD4x(bus, clock=clk)
    clk.sleep_ms(1000)
    scd.start_periodic_measurement()
    for i in range(3):
        clk.sleep_ms(5000)
        vals.append(list(bmp.read()))
        try:
            vals.append(list(scd.read()))
        except SensorError as e:
            vals.append(['error', e.kind, e.errno])
    return vals

clk = ManualClock()
truth = StaticTruth()
emu_bus = I2CBus()
emu_bus.attach(0x76, BMP280Emu(truth, clk))
scd_emu = emu_bus.attach(0x62, SCD4xEmu(truth, clk))
rec = Recorder(emu_bus)
class Flaky:
    # turns the SCD4x off for the second reading only
    n = 0
def hook():
    Flaky.n += 1
orig = rec.readfrom_into
def readfrom_into(addr, buf, stop=True):
    if addr == 0x62 and len(buf) == 3:
        hook()
        scd_emu.faults.gone = Flaky.n == 2
    return orig(addr, buf, stop)
rec.readfrom_into = readfrom_into
live = session(rec, clk)
tb = TranscriptBus(rec.text('recorded from the emulators'))
replayed = session(tb, ManualClock())
tb.assert_done()
result = [live, replayed, len(rec.lines)]
""")
    live, replayed, n = got
    assert live == replayed and n > 20
    assert ["error", 1, 19] in live                  # the NACKed transaction was recorded and replayed


def test_loop_replays_a_steady_state_without_allocating(alloc_probe):
    setup = """
from hil.emu.transcript import TranscriptBus
from hil.emu.clock import ManualClock
from drivers.bmp280 import BMP280
tb = TranscriptBus(%r + 'loop\\nw 76 f7\\nr 76 65 5a c0 7e ed 00\\n')
bmp = BMP280(tb, clock=ManualClock())
out = [0, 0]
""" % text("bmp280_datasheet.txt").rsplit("w 76 f7", 1)[0]
    delta, (out, replayed), locked = alloc_probe(setup, "bmp.read_fixed(out)", warm=5, after="[out, tb.replayed]")
    assert out == [2508, 25767233] and replayed > 200
    assert delta == 0 and locked
