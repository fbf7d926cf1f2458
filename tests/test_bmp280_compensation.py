"""BMP280 compensation: the driver's limb arithmetic equals the datasheet formula exactly, allocates nothing."""
import random

import pytest
from hypothesis import assume, given, settings, strategies as st

from drivers.bmp280 import Compensation  # noqa: E402
from drivers.errors import RANGE, SensorError  # noqa: E402
from safehaven.hil.emu.bmp280 import DATASHEET_CALIB, calib_bytes, compensate_p, compensate_t  # noqa: E402

EXAMPLE_CALIB_HEX = "706b436718fc7d8e43d6d00b270b8c00f9ff8c3cf8c67017"   # datasheet bytes from 0x88
EXAMPLE_DATA_HEX = "655ac07eed00"                                          # datasheet bytes from 0xF7
I64 = 1 << 63


def bare_driver(calib):
    """The driver's compensation with a calibration, without a bus (tests the arithmetic alone)."""
    return Compensation(calib)


def in_int64(adc_t, adc_p, calib):
    """The C formula is only defined where its intermediates fit int32/int64: restrict to that."""
    t1, t2, t3, p1, p2, p3, p4, p5, p6 = calib[:9]
    e = (adc_t >> 4) - t1
    if abs(((adc_t >> 3) - (t1 << 1)) * t2) >= 1 << 31 or e * e >= 1 << 31:
        return False
    t_fine = compensate_t(adc_t, calib)[0]
    v = t_fine - 128000
    terms = [v * v * p6, (v * p5) << 17, p4 << 35, v * v * p3, (v * p2) << 12]
    var2 = terms[0] + terms[1] + terms[2]
    var1 = ((1 << 47) + (terms[3] >> 8) + terms[4]) * p1
    p = 1048576 - adc_p
    return all(abs(x) < I64 for x in terms + [var2, var1]) and abs(((p << 31) - var2) * 3125) < I64


def test_datasheet_worked_example_values():
    # Numbers printed in the datasheet, not computed here.
    assert compensate_t(519888, DATASHEET_CALIB) == (128422, 2508)
    assert compensate_p(415148, 128422, DATASHEET_CALIB) == 25767233
    assert calib_bytes(DATASHEET_CALIB).hex() == EXAMPLE_CALIB_HEX


def test_driver_on_worked_example():
    d = bare_driver(DATASHEET_CALIB)
    out = [0, 0]
    d.compensate(519888, 415148, out)
    assert d.t_fine == 128422
    assert out == [2508, 25767233]
    assert abs(out[1] / 256 - 100653.25) < 0.01     # the datasheet prints 100653.25 (rounded)


def test_c_truncating_division_matters():
    # A negative numerator: C truncates toward zero, Python's // floors; the reference must be C's.
    from safehaven.hil.emu.bmp280 import cdiv
    assert cdiv(-7, 2) == -3 and -7 // 2 == -4 and cdiv(7, -2) == -3 and cdiv(-7, -2) == 3


def realistic_calib(rnd):
    """Calibrations in the bands real parts show (T1..P9 around the datasheet's)."""
    bands = [(24000, 32000), (24000, 29000), (-3000, 3000), (30000, 40000), (-12000, -9000), (2000, 4500),
             (2000, 9000), (-200, 200), (-20, 20), (12000, 17000), (-16000, -12000), (4000, 7000)]
    return tuple(rnd.randint(a, b) for a, b in bands)


def test_exact_over_seeded_realistic_calibrations():
    rnd = random.Random(20261122)
    checked = 0
    for _ in range(3000):
        calib = realistic_calib(rnd)
        adc_t, adc_p = rnd.randint(300000, 700000), rnd.randint(150000, 700000)
        if not in_int64(adc_t, adc_p, calib):
            continue
        d = bare_driver(calib)
        t = d.compensate_t(adc_t)
        assert (d.t_fine, t) == compensate_t(adc_t, calib)
        assert d.compensate_p(adc_p) == compensate_p(adc_p, d.t_fine, calib), (calib, adc_t, adc_p)
        checked += 1
    assert checked > 2500


s16 = st.integers(-32768, 32767)
u16 = st.integers(0, 65535)


@settings(max_examples=400, deadline=None)
@given(calib=st.tuples(u16, s16, s16, st.integers(1, 65535), s16, s16, s16, s16, s16, s16, s16, s16),
       adc_t=st.integers(0, (1 << 20) - 1), adc_p=st.integers(0, (1 << 20) - 1))
def test_exact_for_any_calibration_where_c_is_defined(calib, adc_t, adc_p):
    assume(in_int64(adc_t, adc_p, calib))
    d = bare_driver(calib)
    t = d.compensate_t(adc_t)
    assert (d.t_fine, t) == compensate_t(adc_t, calib)
    expected = compensate_p(adc_p, d.t_fine, calib)
    try:
        got = d.compensate_p(adc_p)
    except SensorError as e:
        # Only where an intermediate leaves the range the driver keeps in small ints (never a wrong value).
        assert e.kind == RANGE
        return
    assert got == expected


def test_out_of_range_pressure_is_an_error_not_a_clamp():
    d = bare_driver(DATASHEET_CALIB)
    out = [0, 0]
    # adc values whose exact compensation lies below 300 hPa / above 1100 hPa
    t_fine = compensate_t(519888, DATASHEET_CALIB)[0]
    low = next(a for a in range(415148, 1 << 20, 997) if compensate_p(a, t_fine, DATASHEET_CALIB) < 300 * 100 * 256)
    high = next(a for a in range(415148, 0, -997) if compensate_p(a, t_fine, DATASHEET_CALIB) > 1100 * 100 * 256)
    for adc_p in (low, high):
        with pytest.raises(SensorError) as err:
            d.compensate(519888, adc_p, out)
        assert err.value.kind == RANGE
    assert out == [0, 0]


CASES_SEED = 7


def vm_cases(n=40):
    rnd = random.Random(CASES_SEED)
    cases = []
    while len(cases) < n:
        calib = realistic_calib(rnd)
        adc_t, adc_p = rnd.randint(300000, 700000), rnd.randint(150000, 700000)
        if in_int64(adc_t, adc_p, calib):
            t_fine, t = compensate_t(adc_t, calib)
            cases.append([list(calib), adc_t, adc_p, t_fine, t, compensate_p(adc_p, t_fine, calib)])
    return cases


def test_exact_in_both_runtimes(runtime):
    cases = vm_cases()
    got = runtime.exec(
        "from drivers.bmp280 import Compensation\n"
        "res = []\n"
        "for calib, adc_t, adc_p, _, _, _ in %r:\n"
        "    d = Compensation(calib)\n"
        "    t = d.compensate_t(adc_t)\n"
        "    res.append([d.t_fine, t, d.compensate_p(adc_p)])\n"
        "result = res\n" % (cases,))
    assert got == [c[3:] for c in cases]


READ_FIXED_SETUP = """
from hil.emu.bus import I2CBus, RegisterDevice
from hil.emu.clock import ManualClock
from drivers.bmp280 import BMP280, FORCED
dev = RegisterDevice({0x88: bytes.fromhex('%s'), 0xD0: b'\\x58', 0xF7: bytes.fromhex('%s')})
bus = I2CBus()
bus.attach(0x76, dev)
bmp = BMP280(bus, clock=ManualClock())
out = [0, 0]
""" % (EXAMPLE_CALIB_HEX, EXAMPLE_DATA_HEX)
# a new temperature every call, so the t_fine-dependent terms are recomputed each time
READ_STEP = "dev.mem[0xFB] = (dev.mem[0xFB] + %d) & 0xFF\nbmp.read_fixed(out)"


def test_read_fixed_allocates_nothing_in_micropython(alloc_probe):
    normal, _, locked = alloc_probe(READ_FIXED_SETUP, READ_STEP % 1, locked=50)
    forced, forced_wrote, _ = alloc_probe(READ_FIXED_SETUP + "bmp.set_mode(FORCED)\n", READ_STEP % 3, locked=0,
                                          after="dev.writes > 100")
    assert forced_wrote            # the forced path really triggered conversions
    assert normal == 0 and forced == 0 and locked


def test_allocation_probe_can_fail(alloc_probe):
    # The same probe sees read(), which returns floats: it must report allocation.
    for setup, t_step in ((READ_FIXED_SETUP, 1), (READ_FIXED_SETUP + "bmp.set_mode(FORCED)\n", 3)):
        grown, _, _ = alloc_probe(setup, (READ_STEP % t_step).replace("bmp.read_fixed(out)", "bmp.read()"), locked=0)
        assert grown > 0


def _wide(x):
    from array import array
    a = array("i", [0] * 5)
    for i in range(5):
        a[i] = (x >> (15 * i)) & 0x7FFF
    return a


def _value(a):
    v = sum(a[i] << (15 * i) for i in range(5))
    return v - (1 << 75) if v >> 74 else v


@settings(max_examples=500, deadline=None)
@given(n=st.integers(0, (1 << 74) - 1), d=st.integers(1, (1 << 30) - 1))
def test_limb_division_equals_python(n, d):
    from drivers import bmp280 as B
    q = _wide(0)
    B._udiv(q, _wide(n), d)
    assert _value(q) == n // d
    B._udiv_bits(q, _wide(n), d)
    assert _value(q) == n // d


def test_limb_division_edges():
    from drivers import bmp280 as B
    cases = [((1 << 74) - 1, 1), ((1 << 74) - 1, (1 << 30) - 1), (1 << 62, 1 << 29), ((1 << 62) - 1, (1 << 29) + 1),
             (0, 5), (12345, 12346), ((1 << 45) - 1, 32767), ((1 << 60) + 12345, 36477 << 14)]
    for n, d in cases:
        q = _wide(0)
        B._udiv(q, _wide(n), d)
        assert _value(q) == n // d, (n, d)


@settings(max_examples=500, deadline=None)
@given(a=st.integers(-(1 << 44), 1 << 44), x=st.integers(-(1 << 30) + 1, (1 << 30) - 1))
def test_limb_multiply_equals_python(a, x):
    from drivers import bmp280 as B
    w = _wide(a)
    B._mul(w, x)
    assert _value(w) == a * x
