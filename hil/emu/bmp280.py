"""Register-level BMP280 emulator (CPython and MicroPython): attach to hil.emu.bus.I2CBus at 0x76/0x77.

    dev = bus.attach(0x76, BMP280Emu(truth, clock))
    dev.faults.set(offset=40.0)            # Pa

The register file behaves as the datasheet says: power-on values (data 0x80000, sleep), chip id 0x58,
soft reset 0xE0 <- 0xB6, pairwise writes, auto-increment reads, ctrl_meas/config (config writes are
ignored in normal mode), status (measuring, im_update) with conversion time from the oversampling,
forced and normal mode timing, the IIR filter applied to the ADC values, resolution per oversampling,
datasheet noise, and raw values made by inverting the integer compensation so that they compensate
back to the true pressure and temperature (within the resolution).

Also the plain reference compensation (`compensate_t`, `compensate_p`), the datasheet formula with
Python integers and C's truncating division, against which the driver's limb arithmetic is tested.
"""
from .clock import Elapsed
from .faults import Faults
from .prng import PRNG

# T1..T3, P1..P9 of the datasheet's worked example
DATASHEET_CALIB = (27504, 26435, -1000, 36477, -10685, 3024, 2855, 140, -7, 15500, -14600, 6000)
CHIP_ID = 0x58
SKIPPED = 0x80000
_OSRS = (0, 1, 2, 4, 8, 16)
_FILTERS = (0, 2, 4, 8, 16)
_STANDBY_US = (500, 62500, 125000, 250000, 500000, 1000000, 2000000, 4000000)
# Pressure noise in Pa RMS, unfiltered, per oversampling (x1 and x16 from the datasheet, between interpolated)
_P_NOISE_PA = (0.0, 3.3, 2.6, 2.1, 1.6, 1.3)
_T_NOISE_C = 0.005
_MEASURING_DELAY_US = 50     # the measuring bit is not yet set right after a forced trigger


def cdiv(a, b):
    """C's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def compensate_t(adc_t, calib):
    """(t_fine, T in 0.01 degC): datasheet 3.11.3, 32-bit formula."""
    t1, t2, t3 = calib[0], calib[1], calib[2]
    var1 = (((adc_t >> 3) - (t1 << 1)) * t2) >> 11
    var2 = (((((adc_t >> 4) - t1) * ((adc_t >> 4) - t1)) >> 12) * t3) >> 14
    t_fine = var1 + var2
    return t_fine, (t_fine * 5 + 128) >> 8


def compensate_p(adc_p, t_fine, calib):
    """Pressure in Q24.8 Pa: datasheet 3.11.3, 64-bit formula (0 when the divisor is 0)."""
    return pressure_of(t_fine, calib)(adc_p)


def pressure_of(t_fine, calib):
    """compensate_p(., t_fine, calib) as a function of adc_p alone: the terms that depend only on the
    temperature are worked out once (the raw-value search evaluates it a dozen times per conversion)."""
    p1, p2, p3, p4, p5, p6, p7, p8, p9 = calib[3:12]
    var1 = t_fine - 128000
    var2 = var1 * var1 * p6
    var2 = var2 + ((var1 * p5) << 17)
    var2 = var2 + (p4 << 35)
    var1 = ((var1 * var1 * p3) >> 8) + ((var1 * p2) << 12)
    var1 = (((1 << 47) + var1) * p1) >> 33
    if var1 == 0:
        return lambda adc_p: 0
    div, off, p7_4 = var1, var2, p7 << 4

    def f(adc_p):
        p = 1048576 - adc_p
        p = cdiv(((p << 31) - off) * 3125, div)
        v1 = (p9 * (p >> 13) * (p >> 13)) >> 25
        v2 = (p8 * p) >> 19
        return ((p + v1 + v2) >> 8) + p7_4
    return f


def calib_bytes(calib):
    """The 24 bytes at 0x88..0x9F (little-endian; T1 and P1 unsigned, the rest signed)."""
    out = bytearray(24)
    for i in range(12):
        v = calib[i] & 0xFFFF
        out[2 * i] = v & 0xFF
        out[2 * i + 1] = v >> 8
    return bytes(out)


def _search(f, target, lo=0, hi=(1 << 20) - 1, up=None):
    """The integer x in [lo, hi] whose monotonic f(x) is closest to target (bisection on f(x) >= target)."""
    if up is None:
        up = f(hi) >= f(lo)
    a, b = lo, hi
    while b - a > 1:
        m = (a + b) >> 1
        if (f(m) >= target) == up:
            b = m
        else:
            a = m
    return a if abs(f(a) - target) <= abs(f(b) - target) else b


def _solve(f, target, hint):
    """_search's answer, found faster: Newton steps from a hint (the formulas are nearly linear), then a
    walk of a step or two to the transition f crosses target at (~6 evaluations, not ~40: each is a
    64-bit formula, heap bigints on MicroPython). Falls back to the full search far from the hint."""
    top = (1 << 20) - 1
    x = min(top - 64, max(0, hint))
    fx = f(x)
    slope = (f(x + 64) - fx) / 64
    if slope == 0:
        return _search(f, target, 0, top)
    up = slope > 0
    for _ in range(3):
        nx = min(top, max(0, int(x + (target - fx) / slope + 0.5)))
        if nx == x:
            break
        x, fx = nx, f(nx)
    # b is the first x (in the direction f rises towards target) with (f(x) >= target) == up; a = b - 1
    side = (fx >= target) == up
    for _ in range(64):
        y = x - 1 if side else x + 1
        if y < 0 or y > top:
            break
        fy = f(y)
        if ((fy >= target) == up) != side:
            a, fa, b, fb = (y, fy, x, fx) if side else (x, fx, y, fy)
            return a if abs(fa - target) <= abs(fb - target) else b
        x, fx = y, fy
    return _search(f, target, 0, top, up)


def raw_for(temperature_c, pressure_pa, calib=DATASHEET_CALIB, hint=None):
    """(adc_t, adc_p): the 20-bit raw values that compensate closest to the given T and P.
    hint: the previous (adc_t, adc_p), which makes the search a few Newton steps."""
    ft = lambda x: compensate_t(x, calib)[0]
    target_t = int(temperature_c * 5120)
    adc_t = _solve(ft, target_t, hint[0]) if hint else _search(ft, target_t)
    t_fine = compensate_t(adc_t, calib)[0]
    fp = pressure_of(t_fine, calib)
    target_p = int(pressure_pa * 256)
    adc_p = _solve(fp, target_p, hint[1]) if hint else _search(fp, target_p)
    return adc_t, adc_p


class BMP280Emu:
    def __init__(self, truth, clock, calib=None, seed=1, address=0x76, accuracy=True):
        self.truth = truth
        self.clock = clock
        self.address = address
        self.calib = tuple(calib) if calib is not None else DATASHEET_CALIB
        self.prng = PRNG(seed)
        self.faults = Faults(seed)
        # Per-part errors within the datasheet, drawn from the seed: absolute +-1 hPa (3 sigma), offset
        # temperature coefficient up to +-1.5 Pa/K; accuracy=False makes an ideal part (noise stays).
        offset = max(-100.0, min(100.0, self.prng.gauss(33.0)))
        tempco = self.prng.uniform(-1.5, 1.5)
        self.p_offset_pa = offset if accuracy else 0.0
        self.p_tempco_pa_k = tempco if accuracy else 0.0
        self.time = Elapsed(clock)
        self.conversions = 0
        self._hint = None
        self.mem = bytearray(256)
        self.mem[0xD0] = CHIP_ID
        self.mem[0x88:0xA0] = calib_bytes(self.calib)
        self._power_on()

    # --- state ----------------------------------------------------------------------------------
    def _power_on(self):
        m = self.mem
        for r in (0xF3, 0xF4, 0xF5):
            m[r] = 0
        m[0xF7:0xFD] = b"\x80\x00\x00\x80\x00\x00"
        self.ptr = 0
        self._iir_t = None
        self._iir_p = None
        self._conv_start = None      # forced conversion in progress: start and end in us
        self._conv_end = None
        self._next_end = None        # normal mode: end of the next conversion
        self._nvm_until = self.time.update() + 2000

    @property
    def mode(self):
        return self.mem[0xF4] & 0x03

    def t_meas_us(self):
        """Typical conversion time: 1 + 2*T_os + (2*P_os + 0.5) ms."""
        ctrl = self.mem[0xF4]
        t = _OSRS[min((ctrl >> 5) & 7, 5)]
        p = _OSRS[min((ctrl >> 2) & 7, 5)]
        return 1000 + 2000 * t + ((2000 * p + 500) if p else 0)

    def _period_us(self):
        return self.t_meas_us() + _STANDBY_US[self.mem[0xF5] >> 5]

    def _advance(self):
        now = self.time.update()
        if self._conv_end is not None and now >= self._conv_end:
            self._conv_end = self._conv_start = None
            self._convert()
            self.mem[0xF4] &= 0xFC          # forced mode returns to sleep
        if self._next_end is not None and now >= self._next_end:
            period = self._period_us()
            n = (now - self._next_end) // period + 1
            k = min(n, 40)                  # beyond 40 conversions the filter has settled anyway
            iir = (self.mem[0xF5] >> 2) & 7
            for i in range(k):              # without the IIR only the last one reaches the registers:
                if iir or i == k - 1:       # the others only draw their noise (same sequence)
                    self._convert()
                else:
                    self._draw()
            self._next_end += n * period
        return now

    # --- measurement model ----------------------------------------------------------------------
    def _draw(self):
        """A conversion that never reaches the registers: the same random draws and fault state as
        _convert's, in the same order, without the values (nobody reads them)."""
        self.conversions += 1
        f = self.faults
        if f.stuck:
            return
        self.prng.gauss()
        f.apply(0.0, self.time.now_us / 1e6)         # a drift's start, a spike's draws
        if min((self.mem[0xF4] >> 2) & 7, 5):
            self.prng.gauss()

    def _convert(self):
        self.conversions += 1
        if self.faults.stuck:
            return
        truth = self.truth
        truth.refresh()
        f = self.faults
        now_s = self.time.now_us / 1e6
        ctrl, cfg = self.mem[0xF4], self.mem[0xF5]
        osrs_t, osrs_p = min((ctrl >> 5) & 7, 5), min((ctrl >> 2) & 7, 5)
        coef = _FILTERS[min((cfg >> 2) & 7, 4)]
        t_c = truth.temperature_c + self.prng.gauss(_T_NOISE_C * f.noise_mult)
        p_pa = f.apply(truth.pressure_pa, now_s) + self.p_offset_pa + self.p_tempco_pa_k * (t_c - 25.0)
        p_pa += self.prng.gauss(_P_NOISE_PA[osrs_p] * f.noise_mult) if osrs_p else 0.0
        adc_t, adc_p = raw_for(t_c, p_pa, self.calib, self._hint)
        self._hint = (adc_t, adc_p)
        t_out = self._channel(adc_t, osrs_t, coef, "_iir_t")
        p_out = self._channel(adc_p, osrs_p, coef, "_iir_p")
        m = self.mem
        m[0xF7], m[0xF8], m[0xF9] = p_out >> 12, (p_out >> 4) & 0xFF, (p_out & 0x0F) << 4
        m[0xFA], m[0xFB], m[0xFC] = t_out >> 12, (t_out >> 4) & 0xFF, (t_out & 0x0F) << 4

    def _channel(self, adc, osrs, coef, state):
        """Resolution 16 + (osrs - 1) bits, then the IIR filter on the ADC values (20-bit output)."""
        if osrs == 0:
            setattr(self, state, None)
            return SKIPPED
        step = 1 << (5 - osrs)
        adc = min((1 << 20) - 1, (adc + step // 2) // step * step)
        if coef == 0:
            setattr(self, state, None)
            return adc
        x = getattr(self, state)
        x = float(adc) if x is None else (x * (coef - 1) + adc) / coef
        setattr(self, state, x)
        return min((1 << 20) - 1, int(x + 0.5))

    # --- register file --------------------------------------------------------------------------
    def _write(self, reg, value):
        now = self.time.now_us
        if reg == 0xE0:
            if value == 0xB6:
                self._power_on()
        elif reg == 0xF5:
            if self.mode != 3:              # "writes in normal mode may be ignored": this part ignores them
                self.mem[0xF5] = value & 0xFD
        elif reg == 0xF4:
            self.mem[0xF4] = value
            mode = value & 3
            self._conv_end = self._conv_start = self._next_end = None
            if mode in (1, 2):
                self._conv_start = now
                self._conv_end = now + self.t_meas_us()
            elif mode == 3:
                self._next_end = now + self.t_meas_us()

    def _read(self, reg):
        if reg == 0xF3:
            now = self.time.now_us
            measuring = 0
            if self._conv_end is not None and now >= self._conv_start + _MEASURING_DELAY_US:
                measuring = 0x08
            if self._next_end is not None and now >= self._next_end - self.t_meas_us():
                measuring = 0x08
            return measuring | (0x01 if now < self._nvm_until else 0)
        if reg == 0xE0:
            return 0
        return self.mem[reg]

    def i2c_write(self, reg, data):
        self._advance()
        n = len(data)
        i = 0
        if reg < 0:
            if n == 0:
                return
            reg = data[0]
            i = 1
        self.ptr = reg
        while i < n:                        # pairwise: value, then (register, value) ...
            self._write(reg, data[i])
            i += 1
            if i < n:
                reg = data[i]
                i += 1

    def i2c_read(self, buf):
        self._advance()
        p = self.ptr
        for i in range(len(buf)):
            buf[i] = self._read((p + i) & 0xFF)
