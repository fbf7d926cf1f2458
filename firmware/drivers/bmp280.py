"""Bosch BMP280 pressure/temperature sensor over I2C (MicroPython and CPython, any machine.I2C-like bus).

    from machine import I2C, Pin
    from drivers.bmp280 import BMP280, FORCED
    bmp = BMP280(I2C(0, sda=Pin(4), scl=Pin(5)), address=0x76)
    temperature_c, pressure_pa = bmp.read()        # floats, for people
    out = [0, 0]
    bmp.read_fixed(out)   # out[0] = 0.01 degC, out[1] = Q24.8 Pa; allocates nothing (the node's hot path)

Compensation is the datasheet's integer formula (section 3.11.3) computed exactly. Its 64-bit
intermediates do not fit MicroPython's small ints (+-2^30), so they are done in preallocated
15-bit limbs (two's complement, 5 limbs = 75 bits) and read_fixed never touches the heap.
Every failure raises drivers.errors.SensorError; a value is never clamped.
"""
from array import array


from drivers import default_clock
from drivers.errors import (ARG, CHIP_ID, NOT_READY, RANGE, SKIPPED, STATE, SensorError, const, read_mem_into,
                            write_mem)

SLEEP = const(0)
FORCED = const(1)
NORMAL = const(3)

_REG_CALIB = const(0x88)
_REG_ID = const(0xD0)
_REG_RESET = const(0xE0)
_REG_STATUS = const(0xF3)
_REG_CTRL = const(0xF4)
_REG_CONFIG = const(0xF5)
_REG_DATA = const(0xF7)
_SKIPPED = const(0x80000)
_CHIP_IDS = (0x58, 0x56, 0x57)
_OSRS = (0, 1, 2, 4, 8, 16)                     # osrs code -> oversampling count
_FILTERS = (0, 2, 4, 8, 16)                     # filter code -> IIR coefficient (0 = off)
_STANDBY_US = (500, 62500, 125000, 250000, 500000, 1000000, 2000000, 4000000)
# Physical range (datasheet): 300..1100 hPa in Q24.8 Pa, -40..85 degC in 0.01 degC.
_P_MIN_Q8 = const(7680000)
_P_MAX_Q8 = const(28160000)
_T_MIN = const(-4000)
_T_MAX = const(8500)

_M = const(0x7FFF)   # one 15-bit limb
_NL = const(5)       # limbs per wide number: 75 bits, enough for every intermediate


# --- wide integers in 15-bit limbs (a: array('i') of _NL limbs, two's complement mod 2^75) ---------
# Every product below is limb (< 2^15) times a value < 2^15, so nothing leaves the small-int range.

def _set(a, x):
    """a = x for |x| < 2^30."""
    for i in range(_NL):
        a[i] = x & _M
        x >>= 15


def _copy(a, b):
    for i in range(_NL):
        a[i] = b[i]


def _add(a, b):
    """a += b."""
    c = 0
    for i in range(_NL):
        s = a[i] + b[i] + c
        a[i] = s & _M
        c = s >> 15


def _neg(a):
    c = 1
    for i in range(_NL):
        s = (a[i] ^ _M) + c
        a[i] = s & _M
        c = s >> 15


def _mul15(a, m):
    """a *= m for 0 <= m < 2^15 (modulo 2^75)."""
    c = 0
    for i in range(_NL):
        s = a[i] * m + c
        a[i] = s & _M
        c = s >> 15


def _mul(a, x):
    """a *= x for |x| < 2^30, in one pass over the limbs with x split in 15-bit halves.
    Bounds: each product <= (2^15-1)^2 = 2^30 - 2^16 + 1 and the carry stays <= 2^16 - 2, so every
    intermediate is below 2^30."""
    neg = x < 0
    if neg:
        x = -x
    xl = x & _M
    xh = x >> 15
    c = 0
    prev = 0
    for i in range(_NL):
        ai = a[i]
        s = ai * xl + c
        c = s >> 15
        s = (s & _M) + prev * xh
        a[i] = s & _M
        c += s >> 15
        prev = ai
    if neg:
        _neg(a)


def _shl(a, n):
    """a <<= n (modulo 2^75)."""
    k = n // 15
    r = n - k * 15
    for i in range(_NL - 1, -1, -1):
        j = i - k
        hi = a[j] if j >= 0 else 0
        lo = a[j - 1] if j >= 1 else 0
        a[i] = ((hi << r) & _M) | (lo >> (15 - r))


def _sar(a, n):
    """a >>= n, arithmetic (floor), like C's >> on int64_t."""
    fill = _M if a[_NL - 1] & 0x4000 else 0
    k = n // 15
    r = n - k * 15
    for i in range(_NL):
        j = i + k
        lo = a[j] if j < _NL else fill
        hi = a[j + 1] if j + 1 < _NL else fill
        a[i] = (lo >> r) | ((hi << (15 - r)) & _M)


def _fits(a):
    """True when a is in [-2^30, 2^30), i.e. a MicroPython small int."""
    fill = _M if a[_NL - 1] & 0x4000 else 0
    for i in range(2, _NL):
        if a[i] != fill:
            return False
    return True


def _small(a):
    """The value of a as an int; only valid when _fits(a)."""
    hi = a[1] - 32768 if a[_NL - 1] & 0x4000 else a[1]
    return hi * 32768 + a[0]


def _bits(a):
    """Bit length of a non-negative wide number."""
    for i in range(_NL - 1, -1, -1):
        v = a[i]
        if v:
            b = i * 15
            while v:
                v >>= 1
                b += 1
            return b
    return 0


def _udiv_bits(q, n, d):
    """q = n // d for n >= 0 (limbs) and 0 < d < 2^30, one bit at a time; remainder stays < d."""
    r = 0
    for i in range(_NL - 1, -1, -1):
        limb = n[i]
        ql = 0
        if limb == 0 and r == 0:
            q[i] = 0
            continue
        for b in range(14, -1, -1):
            bit = (limb >> b) & 1
            t = d - r - bit          # 2r + bit >= d  <=>  r >= t (no 31-bit intermediate)
            ql <<= 1
            if r >= t:
                r -= t
                ql |= 1
            else:
                r += r + bit
        q[i] = ql


def _udiv(q, n, d):
    """q = n // d for n >= 0 (limbs) and 0 < d < 2^30: long division by 15-bit digits (Knuth D with a
    two-digit divisor). d is normalised into [2^29, 2^30) by shifting n and d alike; the quotient digit
    estimate r // dh is at most 2 too large and is corrected with the remainder kept as two small parts.
    Falls back to the bit-serial division when the shifted n would not fit the limbs."""
    s = 0
    while d < 0x20000000:
        d <<= 1
        s += 1
    if s:
        if _bits(n) + s > 15 * _NL - 1:     # n << s would reach the sign bit
            _udiv_bits(q, n, d >> s)
            return
        _shl(n, s)
    dh = d >> 15
    dl = d & _M
    r = 0
    for i in range(_NL - 1, -1, -1):
        limb = n[i]
        qh = r // dh
        if qh > _M:
            qh = _M
        x = qh * dl
        t = r - qh * dh - (x >> 15)         # remainder = t * 2^15 + u, kept in two small parts
        u = limb - (x & _M)
        if u < 0:
            u += 32768
            t -= 1
        while t < 0:                        # estimate too large (at most twice): add d back
            qh -= 1
            t += dh
            u += dl
            if u > _M:
                u -= 32768
                t += 1
        r = t * 32768 + u
        q[i] = qh


def _mulshr(a, b, s):
    """(a * b) >> s exactly, without forming the product when |a*b| may exceed 2^30."""
    return (a >> s) * b + (((a & ((1 << s) - 1)) * b) >> s)


def _code(table, value, what):
    for i in range(len(table)):
        if table[i] == value:
            return i
    raise SensorError(ARG, "%s must be one of %s, not %r" % (what, table, value))


class BMP280:
    """BMP280 on an I2C bus. Constructor kwargs set the measurement; defaults are Bosch's
    "indoor navigation" use case (normal mode, pressure x16, temperature x2, IIR 16, standby 0.5 ms)."""

    def __init__(self, i2c, address=0x76, mode=NORMAL, osrs_t=2, osrs_p=16, iir=16, standby_ms=0.5, clock=None):
        self.i2c = i2c
        self.address = address
        self.clock = clock if clock is not None else default_clock()
        self._one = bytearray(1)
        self._data = bytearray(6)
        self._calib = bytearray(24)
        self.comp = None
        self.t_fine = 0
        self._tt = array("i", [0, 0])            # read_fixed's scratch for read()
        self._mode = SLEEP
        self._osrs_t = _code(_OSRS, osrs_t, "osrs_t")
        self._osrs_p = _code(_OSRS, osrs_p, "osrs_p")
        self._filter = _code(_FILTERS, iir, "iir")
        self._t_sb = _code(_STANDBY_US, int(standby_ms * 1000), "standby_ms*1000")
        self._check_id()
        self.reset()
        self._read_calibration()
        self._write_config()
        self.set_mode(mode)

    # --- bus ----------------------------------------------------------------------------------
    def _read_into(self, reg, buf):
        read_mem_into(self.i2c, self.address, reg, buf, "BMP280 read")

    def _write_reg(self, reg, value):
        self._one[0] = value
        write_mem(self.i2c, self.address, reg, self._one, "BMP280 write")

    def _check_id(self):
        self._read_into(_REG_ID, self._one)
        if self._one[0] not in _CHIP_IDS:
            raise SensorError(CHIP_ID, "chip id 0x%02x at 0x%02x is not a BMP280" % (self._one[0], self.address))
        self.chip_id = self._one[0]

    def reset(self):
        """Soft reset (0xE0 <- 0xB6), then wait for the NVM copy (im_update) to finish."""
        self._write_reg(_REG_RESET, 0xB6)
        self._mode = SLEEP
        self.clock.sleep_ms(2)
        for _ in range(10):
            self._read_into(_REG_STATUS, self._one)
            if not self._one[0] & 0x01:
                return
            self.clock.sleep_ms(1)
        raise SensorError(NOT_READY, "BMP280 NVM copy did not finish after reset")

    def _read_calibration(self):
        c = self._calib
        self._read_into(_REG_CALIB, c)
        w = [c[i] | (c[i + 1] << 8) for i in range(0, 24, 2)]
        for i in (1, 2, 4, 5, 6, 7, 8, 9, 10, 11):
            if w[i] >= 32768:
                w[i] -= 65536
        self.comp = Compensation(w)

    # --- configuration ------------------------------------------------------------------------
    def _ctrl(self, mode):
        return (self._osrs_t << 5) | (self._osrs_p << 2) | mode

    def _write_config(self):
        # The chip may ignore config writes in normal mode: go through sleep.
        mode = self._mode
        if mode == NORMAL:
            self._write_reg(_REG_CTRL, self._ctrl(SLEEP))
        self._write_reg(_REG_CONFIG, (self._t_sb << 5) | (self._filter << 2))
        # Worst case conversion time, datasheet: 1.25 + 2.3*T + (2.3*P + 0.575) ms.
        t, p = _OSRS[self._osrs_t], _OSRS[self._osrs_p]
        us = 1250 + 2300 * t + ((2300 * p + 575) if p else 0)
        self._tmax_ms = (us + 999) // 1000
        if mode == NORMAL:
            self._write_reg(_REG_CTRL, self._ctrl(NORMAL))

    def set_mode(self, mode):
        if mode not in (SLEEP, FORCED, NORMAL):
            raise SensorError(ARG, "mode must be SLEEP, FORCED or NORMAL")
        self._mode = mode
        # Forced mode is triggered per reading; until then the chip sleeps.
        self._write_reg(_REG_CTRL, self._ctrl(NORMAL if mode == NORMAL else SLEEP))

    def set_oversampling(self, osrs_t, osrs_p):
        self._osrs_t = _code(_OSRS, osrs_t, "osrs_t")
        self._osrs_p = _code(_OSRS, osrs_p, "osrs_p")
        self._write_config()
        self._write_reg(_REG_CTRL, self._ctrl(NORMAL if self._mode == NORMAL else SLEEP))

    def set_filter(self, iir):
        self._filter = _code(_FILTERS, iir, "iir")
        self._write_config()

    def set_standby(self, standby_ms):
        self._t_sb = _code(_STANDBY_US, int(standby_ms * 1000), "standby_ms*1000")
        self._write_config()

    @property
    def mode(self):
        return self._mode

    @property
    def max_measurement_ms(self):
        return self._tmax_ms

    # --- measurement --------------------------------------------------------------------------
    def _measure(self):
        """Fill self._data with one burst 0xF7..0xFC (triggering and waiting in forced mode)."""
        mode = self._mode
        if mode == FORCED:
            self._write_reg(_REG_CTRL, self._ctrl(FORCED))
            # The measuring bit may not be set yet right after the trigger: wait the maximum time first.
            self.clock.sleep_ms(self._tmax_ms)
            for _ in range(5):
                self._read_into(_REG_STATUS, self._one)
                if not self._one[0] & 0x08:
                    break
                self.clock.sleep_ms(1)
            else:
                raise SensorError(NOT_READY, "BMP280 still measuring after the maximum conversion time")
        elif mode != NORMAL:
            raise SensorError(STATE, "BMP280 is in sleep mode: set_mode(FORCED or NORMAL) first")
        self._read_into(_REG_DATA, self._data)

    def read_raw(self):
        """(adc_t, adc_p), the 20-bit ADC values; raises SKIPPED on 0x80000."""
        self._measure()
        d = self._data
        adc_p = (d[0] << 12) | (d[1] << 4) | (d[2] >> 4)
        adc_t = (d[3] << 12) | (d[4] << 4) | (d[5] >> 4)
        if adc_t == _SKIPPED or adc_p == _SKIPPED:
            raise SensorError(SKIPPED, "BMP280 reports a channel not measured (0x80000)")
        return adc_t, adc_p

    def read_fixed(self, out):
        """out[0] = temperature in 0.01 degC, out[1] = pressure in Q24.8 Pa. Allocates nothing."""
        self._measure()
        d = self._data
        adc_p = (d[0] << 12) | (d[1] << 4) | (d[2] >> 4)
        adc_t = (d[3] << 12) | (d[4] << 4) | (d[5] >> 4)
        if adc_t == _SKIPPED or adc_p == _SKIPPED:
            raise SensorError(SKIPPED, "BMP280 reports a channel not measured (0x80000)")
        self.comp.compensate(adc_t, adc_p, out)
        self.t_fine = self.comp.t_fine          # 1/5120 degC: the detector uses the chip's own resolution

    def read(self):
        """(temperature_c, pressure_pa) as floats."""
        tt = self._tt
        self.read_fixed(tt)
        return tt[0] / 100, tt[1] / 256

    def compensate(self, adc_t, adc_p, out):
        self.comp.compensate(adc_t, adc_p, out)
        self.t_fine = self.comp.t_fine


class Compensation:
    """The datasheet's integer compensation (3.11.3) for one calibration (T1..T3, P1..P9), exact,
    allocation-free: the 64-bit pressure formula runs in preallocated 15-bit limbs."""

    def __init__(self, calib):
        (self.T1, self.T2, self.T3, self.P1, self.P2, self.P3,
         self.P4, self.P5, self.P6, self.P7, self.P8, self.P9) = calib
        self._a = array("i", [0] * _NL)
        self._b = array("i", [0] * _NL)
        self._vv = array("i", [0] * _NL)
        self._q = array("i", [0] * _NL)
        self._f = array("i", [0] * _NL)
        self._var2 = array("i", [0] * _NL)       # cached t_fine-only term (pressure var2)
        self._div = 0                            # cached t_fine-only divisor (pressure var1)
        self._t_fine = None                      # the t_fine the cache is for
        self.t_fine = 0

    def compensate(self, adc_t, adc_p, out):
        """out[0] = T in 0.01 degC, out[1] = P in Q24.8 Pa from raw ADC values; RANGE if outside."""
        t = self.compensate_t(adc_t)
        if t < _T_MIN or t > _T_MAX:
            raise SensorError(RANGE, "BMP280 temperature outside -40..85 degC")
        p = self.compensate_p(adc_p)
        if p < _P_MIN_Q8 or p > _P_MAX_Q8:
            raise SensorError(RANGE, "BMP280 pressure outside 300..1100 hPa")
        out[0] = t
        out[1] = p

    def compensate_t(self, adc_t):
        """Temperature in 0.01 degC; sets self.t_fine. 32-bit formula with products split below 2^30."""
        var1 = _mulshr((adc_t >> 3) - (self.T1 << 1), self.T2, 11)
        e = (adc_t >> 4) - self.T1
        var2 = _mulshr(_mulshr(e, e, 12), self.T3, 14)
        self.t_fine = var1 + var2
        return (self.t_fine * 5 + 128) >> 8

    def _temperature_terms(self, t_fine):
        """Pressure formula's t_fine-only part: var2 (wide) and the divisor var1 (small int)."""
        a = self._a      # (one name per line: a 4-tuple unpack would allocate on MicroPython)
        b = self._b
        vv = self._vv
        v = t_fine - 128000
        _set(vv, v)
        _mul(vv, v)                                  # v*v
        _copy(a, vv)
        _mul(a, self.P6)                             # var2 = v*v*P6
        _set(b, v)
        _mul(b, self.P5)
        _shl(b, 17)
        _add(a, b)                                      # + (v*P5) << 17
        _set(b, self.P4)
        _shl(b, 35)
        _add(a, b)                                      # + P4 << 35
        _copy(self._var2, a)
        _copy(a, vv)
        _mul(a, self.P3)
        _sar(a, 8)                                      # var1 = (v*v*P3) >> 8
        _set(b, v)
        _mul(b, self.P2)
        _shl(b, 12)
        _add(a, b)                                      # + (v*P2) << 12
        _set(b, 1)
        _shl(b, 47)
        _add(a, b)
        _mul(a, self.P1)
        _sar(a, 33)                                     # var1 = ((1<<47) + var1) * P1 >> 33
        if not _fits(a):
            raise SensorError(RANGE, "BMP280 calibration gives a divisor beyond 2^30")
        self._div = _small(a)
        self._t_fine = t_fine

    def compensate_p(self, adc_p):
        """Pressure in Q24.8 Pa for self.t_fine (call compensate_t first); 0 if the divisor is 0."""
        if self._t_fine != self.t_fine:
            self._temperature_terms(self.t_fine)
        d = self._div
        if d == 0:
            return 0                                    # datasheet: avoid division by zero
        n = self._a
        b = self._b
        q = self._q
        f = self._f
        _set(n, 1048576 - adc_p)
        _shl(n, 31)
        _copy(b, self._var2)
        _neg(b)
        _add(n, b)
        _mul15(n, 3125)                                 # ((p << 31) - var2) * 3125
        neg = False
        if n[_NL - 1] & 0x4000:
            _neg(n)
            neg = True
        if d < 0:
            d = -d
            neg = not neg
        _udiv(q, n, d)                                  # C division truncates toward zero
        if neg:
            _neg(q)
        _copy(f, q)
        _sar(f, 13)
        if not _fits(f):
            raise SensorError(RANGE, "BMP280 pressure intermediate out of range")
        x = _small(f)
        _set(f, x)
        _mul(f, x)
        _mul(f, self.P9)
        _sar(f, 25)                                     # var1 = (P9 * (p>>13) * (p>>13)) >> 25
        _copy(b, q)
        _mul(b, self.P8)
        _sar(b, 19)                                     # var2 = (P8 * p) >> 19
        _add(q, f)
        _add(q, b)
        _sar(q, 8)
        if not _fits(q):
            raise SensorError(RANGE, "BMP280 pressure out of range")
        return _small(q) + (self.P7 << 4)
