"""The emulated I2C bus, fault switches, PRNG and clocks, in both runtimes where they run on the node."""
import pytest

from safehaven.hil.emu.bus import I2CBus, RegisterDevice
from safehaven.hil.emu.clock import Elapsed, ManualClock
from safehaven.hil.emu.faults import NAMES, Faults
from safehaven.hil.emu.prng import PRNG


def test_absent_address_is_enodev(runtime):
    got = runtime.exec("""
from hil.emu.bus import I2CBus, RegisterDevice
bus = I2CBus()
errs = []
for f in (lambda: bus.readfrom_mem(0x40, 0, 1), lambda: bus.writeto(0x40, b'\\x00'),
          lambda: bus.readfrom(0x40, 2), lambda: bus.writeto_mem(0x40, 1, b'\\x02')):
    try:
        f()
        errs.append(None)
    except OSError as e:
        errs.append(e.args[0])
dev = bus.attach(0x40, RegisterDevice({0x10: b'\\x01\\x02\\x03'}))
ok = bus.readfrom_mem(0x40, 0x10, 3)
bus.detach(0x40)
try:
    bus.readfrom(0x40, 1)
    after = None
except OSError as e:
    after = e.args[0]
result = [errs, ok, after]
""")
    assert got == [[19, 19, 19, 19], b"\x01\x02\x03", 19]


def test_gone_and_back_and_scan():
    bus = I2CBus()
    dev = bus.attach(0x76, RegisterDevice({0xD0: b"\x58"}))
    dev.faults = Faults()
    bus.attach(0x62, RegisterDevice())
    assert bus.scan() == [0x62, 0x76]
    dev.faults.set(gone=True)
    assert bus.scan() == [0x62]
    with pytest.raises(OSError) as e:
        bus.readfrom_mem(0x76, 0xD0, 1)
    assert e.value.args[0] == 19
    dev.faults.set(gone=False)
    assert bus.readfrom_mem(0x76, 0xD0, 1) == b"\x58"


def test_nack_rate_is_a_rate():
    f = Faults(seed=3)
    f.set(nack_rate=0.25)
    nacks = 0
    for _ in range(4000):
        try:
            f.bus_check()
        except OSError as e:
            assert e.args[0] == 5
            nacks += 1
    assert 850 < nacks < 1150


def test_fault_names_and_unknown_fault():
    f = Faults()
    assert set(f.as_dict()) == set(NAMES)
    with pytest.raises(ValueError, match="unknown fault"):
        f.set(offest=3)
    f.set(offset=2.0, noise_mult=3.0)
    assert f.apply(10.0, 0.0) == 12.0
    f.clear()
    assert f.as_dict()["offset"] == 0.0 and f.as_dict()["noise_mult"] == 1.0


def test_drift_counts_from_when_it_is_set():
    f = Faults()
    assert f.apply(0.0, 100.0) == 0.0
    f.set(drift_per_s=0.5)
    assert f.apply(0.0, 200.0) == 0.0
    assert f.apply(0.0, 210.0) == 5.0


def test_spikes():
    f = Faults(seed=9)
    f.set(spike_rate=0.1, spike_size=50.0)
    vals = [f.apply(0.0, 0.0) for _ in range(2000)]
    spikes = [v for v in vals if v]
    assert set(spikes) == {50.0, -50.0} and 120 < len(spikes) < 280


def test_prng_same_in_both_runtimes(runtime):
    code = "from hil.emu.prng import PRNG\np = PRNG(42)\nresult = [p.next32() for i in range(5)] + [round(p.gauss(), 9) for i in range(4)]"
    ns: dict = {}
    exec(code, ns)
    assert runtime.exec(code) == ns["result"]


def test_prng_gauss_is_standard_normal():
    p = PRNG(7)
    xs = [p.gauss() for _ in range(20000)]
    mean = sum(xs) / len(xs)
    var = sum((x - mean) ** 2 for x in xs) / len(xs)
    assert abs(mean) < 0.03 and abs(var - 1) < 0.05


def test_manual_clock_wraps_like_micropython():
    c = ManualClock(start_ms=(1 << 30) - 5)
    t0 = c.ticks_ms()
    c.sleep_ms(10)
    assert c.ticks_ms() == 5 and c.ticks_diff(c.ticks_ms(), t0) == 10
    assert c.ticks_diff(t0, c.ticks_ms()) == -10
    c.sleep_us(1500)
    assert c.ticks_diff(c.ticks_ms(), t0) == 11


def test_elapsed_survives_wrap_and_long_gaps():
    c = ManualClock()
    e = Elapsed(c)
    c.advance_ms(1000)
    assert e.update() == 1_000_000
    c.advance_ms(3_600_000)                  # an hour: far beyond the 2^29 us half-range
    assert e.update() == 3_601_000_000
    for _ in range(100):
        c.advance_us(777)
        e.update()
    assert e.now_us == 3_601_000_000 + 77_700


def test_bus_path_allocates_nothing(alloc_probe):
    got = alloc_probe("""
from hil.emu.bus import I2CBus, RegisterDevice
from hil.emu.faults import Faults
bus = I2CBus()
dev = bus.attach(0x76, RegisterDevice({0xF7: b'\\x01\\x02\\x03\\x04\\x05\\x06'}))
dev.faults = Faults()                   # fault switches present but off: the check is on the path
buf = bytearray(6)
one = bytearray(1)
cmd = bytearray(b'\\xf4\\x27')
""", """
bus.readfrom_mem_into(0x76, 0xF7, buf)
bus.writeto_mem(0x76, 0xF4, one)
bus.writeto(0x76, cmd)
bus.readfrom_into(0x76, one)
""", n=200, warm=5, after="buf")
    assert got == [0, b"\x01\x02\x03\x04\x05\x06", True]
