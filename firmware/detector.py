# On-node leak detector: integer fixed point, allocation-free per sample (docs/detection.md).
#
#   det = Detector(sample_ms=44, params=None)      # params: dict of DEFAULTS keys
#   ev = det.update(t_fine, pressure_q8)           # per sample; -1 or an EV_* code
#   det.state, det.rate_e5 (1e-5 Pa/s), det.stat (0.01, 10000 = alarm), det.pc_q8
#
# Signal: temperature-compensated pressure pc = P * Tref / T (n ∝ P/T), written as
# P - (P/T) * (T - Tref) so every product stays a small int. A 3-point median removes spikes.
# Fast path: difference of the means of the last two half-windows (RAPID within ~1 s).
# Slow path: pc averaged over ~1 s blocks, residual against a learnt baseline, a bank of
# CUSUMs each tuned to one leak rate (allowance k_j, threshold h_j from the noise and the wanted
# false-alarm rate); hatch/door steps are recognised as transients and re-baselined.
try:
    from micropython import const
except ImportError:
    def const(x):  # type: ignore
        return x

import math

NOMINAL = const(0)
SUSPECT = const(1)
LEAK = const(2)
RAPID = const(3)
FAULT = const(4)

EV_NONE = const(-1)
EV_LEAK_DETECTED = const(1)
EV_LEAK_CLEARED = const(2)
EV_RAPID = const(3)
EV_SENSOR_FAULT = const(4)
EV_SENSOR_RECOVERED = const(5)

HABITAT = const(0)
CHAMBER = const(1)

_RING = const(32)            # entries in each rate ring
_LONG_EVERY = const(16)      # blocks per long-ring entry
_BANK = const(6)             # CUSUMs, tuned to drift_pa_s * 8^j
_CLAMP12 = const(1 << 22)    # block residual clamp, q8<<4 (1024 Pa): bounds every product
_BCLAMP = const(1 << 18)     # baseline sums: 3600 blocks x 2^18 < 2^30
_DMAX = const(1 << 20)       # |pc - anchor| beyond this (4096 Pa) re-anchors
_SXX = const(10912)          # sum of (2i-31)^2 over 32 entries
_TK0 = const(1398528)        # 273.15 K in t_fine units (1/5120 K)
_TUNE = const(32)            # blocks of noise seen before any CUSUM runs

R_AIR = 287.05               # J/(kg K)

DEFAULTS = {
    "mode": HABITAT,
    "noise_pa": 1.3,          # BMP280 x16 oversampling, no IIR (REFERENCE section 5)
    "threshold": 0.0,         # ln of the CUSUM in-control run length; 0 = from false_alarm_years
    "false_alarm_years": 1.0,
    "drift_pa_s": 2e-4,       # slowest leak rate the CUSUM bank is tuned for (~0.2 kg/day ISS)
    "rapid_rate_pa_s": 5.0,   # RAPID above this (floored at 6 sigma of the fast estimate)
    "window_samples": 0,      # fast-path half window; 0 = 0.5 s of samples
    "block_ms": 1000,         # slow-path block length
    "suspect": 50.0,          # statistic (% of threshold) that raises SUSPECT
    "clear_hold_ms": 600000,  # rate back to normal this long before LEAK/RAPID clears
    "rebase_s": 3600,         # baseline re-learnt this often while quiet
    "transient_pa_s": 0.5,    # |rate| above this over 8 blocks is a hatch/door transient
    "transient_max_s": 10,    # a "transient" lasting longer may alarm
    "stuck_samples": 100,     # identical raw pressures in a row = stuck sensor (as PX4)
    "volume_l": 916000.0,     # ISS pressurised volume
    "cd": 0.6,
}


def mul_plan(c):
    """(m, s) with c ~= m / 2^s, 2^14 <= m < 2^15, for mulshift (set-up time only)."""
    if c <= 0:
        return 0, 15
    s = 0
    while c * 2.0 ** s < 16384:
        s += 1
    while c * 2.0 ** s >= 32768:
        s -= 1
    return min(int(c * 2.0 ** s + 0.5), 32767), s


def mulshift(x, m, s):
    """x * m / 2^s without leaving small-int range (|x| < 2^29, m < 2^15)."""
    hi = x >> 15
    lo = x & 0x7FFF
    if s >= 15:
        return ((hi * m) >> (s - 15)) + ((lo * m) >> s)
    return ((hi * m) << (15 - s)) + ((lo * m) >> s)


def _clamp(x, lim):
    if x > lim:
        return lim
    if x < -lim:
        return -lim
    return x


def compensation(p_q8, t_fine, tref):
    """P - P*Tref/T = (P/T)*(T - Tref), Q24.8 Pa, T in 1/5120 K: small ints throughout."""
    tk = t_fine + _TK0
    num = p_q8 << 4
    k_hi = num // tk
    k = (k_hi << 9) + (((num - k_hi * tk) << 9) // tk)   # P/T, Q24.8 Pa per 1/5120 K, << 13
    dt = _clamp(t_fine - tref, 1 << 19)
    return ((k * (dt >> 12)) >> 1) + ((k * (dt & 0xFFF)) >> 13)


def leak_kg_day(rate_pa_s, volume_m3, temp_k):
    """Mass loss for a pressure decay at constant volume (ideal gas, air)."""
    return -rate_pa_s * volume_m3 / (R_AIR * temp_k) * 86400.0


def hole_mm(kg_day, pressure_pa, temp_k, cd):
    """Equivalent sharp-edged hole: choked flow m = 0.0404 Cd A p / sqrt(T)."""
    if kg_day <= 0 or pressure_pa <= 0:
        return 0.0
    area = (kg_day / 86400.0) * math.sqrt(temp_k) / (0.0404 * cd * pressure_pa)
    return 2000.0 * math.sqrt(area / math.pi)


class Detector:
    def __init__(self, sample_ms=44, params=None):
        self.p = dict(DEFAULTS)
        if params:
            for k in params:
                self.set(k, params[k], False)
        self.sample_ms = sample_ms
        self.last_raw = -1               # stuck-sensor watch survives reset()
        self.same_n = 0
        self.faulted = False
        self.stale = False
        self.ring_s = [0] * _RING          # block means, q8, short-rate ring
        self.ring_l = [0] * _RING          # 16-block means, q8, long-rate ring
        self.win = [0] * 2                 # fast-path ring, resized in configure()
        self.k = [0] * _BANK               # CUSUM allowances, q12 per block
        self.h = [1] * _BANK               # thresholds, q12
        self.need = [4] * _BANK            # baseline blocks before CUSUM j runs
        self.z = [0] * _BANK               # block index when CUSUM j was last zero
        self.fastj = [0] * _BANK           # CUSUM j tuned to a slope that shows within 2 blocks
        self.top_j = 0
        self.w = [0] * _BANK               # statistics, q12
        self.configure()

    # ---- configuration (off the hot path; floats allowed) -------------------------------
    def set(self, name, value, apply=True):
        if name not in DEFAULTS:
            raise KeyError(name)
        if name == "mode":
            value = int(value)
            if value not in (HABITAT, CHAMBER):
                raise ValueError("mode")
        elif value < 0:
            raise ValueError(name)
        self.p[name] = value
        if apply:
            self.configure()

    def configure(self, sample_ms=None):
        if sample_ms:
            self.sample_ms = sample_ms
        p = self.p
        ms = self.sample_ms
        self.sign = 1 if p["mode"] == HABITAT else -1
        self.block_n = max(1, (p["block_ms"] + ms // 2) // ms)
        block_s = self.block_n * ms / 1000.0
        r = p["window_samples"] or max(2, (500 + ms // 2) // ms)
        self.half = int(r)
        self.win = [0] * (2 * self.half)
        self.rebase_blocks = min(3600, max(8, int(p["rebase_s"] / block_s)))
        self.t_shift = 0                   # temperature IIR ~0.4 s: sensor noise out, no thermal lag
        while (ms << (self.t_shift + 1)) <= 400:
            self.t_shift += 1
        self._noise(p["noise_pa"])
        self.suspect_pct = int(p["suspect"])
        self.trans_max = max(1, int(p["transient_max_s"] / block_s))
        self.clear_samples = max(1, int(p["clear_hold_ms"] / ms))
        self.clear_blocks = max(1, int(p["clear_hold_ms"] / 1000.0 / block_s))
        # rate rings: rate_e5 = Sxy * C, Sxy = sum (2i-31) * entry_q8
        c_s = 2.0 * 1e5 / (_SXX * 256.0 * block_s)
        self.mul_s = mul_plan(c_s)
        self.mul_l = mul_plan(c_s / _LONG_EVERY)
        self.reset()

    def _noise(self, sigma):
        """Everything that scales with the per-sample noise sigma (Pa): thresholds, allowances."""
        p = self.p
        ms = self.sample_ms
        r = self.half
        dt = ms / 1000.0
        block_s = self.block_n * dt
        self.sigma = sigma
        # fast path: S_new - S_old ~ beta_q8_per_sample * R^2; noise sigma*sqrt(2R) in that sum
        # (from the configured noise: the fast statistic's own spread is measured separately)
        sig_rate = p["noise_pa"] * math.sqrt(2.0 / r) / (r * dt)
        self.rapid_pa_s = max(p["rapid_rate_pa_s"], 6.0 * sig_rate)
        self.rapid_sum = int(self.rapid_pa_s * dt * 256 * r * r)
        self.spike_q8 = int(8.0 * p["noise_pa"] * 256)
        # slow path: CUSUM bank on block means (noise sigma_b), q12 = q8 << 4
        sig_b = sigma / math.sqrt(self.block_n) * 4096.0
        self.sig_b12 = int(sig_b)
        blocks_per_year = p["false_alarm_years"] * 3.156e7 / block_s
        for j in range(_BANK):
            beta = p["drift_pa_s"] * (8 ** j) * block_s * 4096.0      # q12 per block
            lnarl = p["threshold"] or math.log(max(blocks_per_year * _BANK, 10.0))
            k = (beta * sig_b * sig_b * lnarl / 4.0) ** (1.0 / 3.0)
            # Siegmund: ARL ~ exp(2k(h + 1.166 sigma)/sigma^2) / (2k^2/sigma^2)
            corr = math.log(max(2.0 * k * k / (sig_b * sig_b), 1e-9))
            a = max(lnarl + corr, 1.0) if not p["threshold"] else lnarl
            h = a * sig_b * sig_b / (2.0 * k) - 1.166 * sig_b
            # a fast CUSUM (k >> sigma) acts on single blocks: keep k + h a full z-score out
            h = max(h, math.sqrt(2.0 * lnarl) * sig_b - k, sig_b)
            self.k[j] = max(1, int(k + 0.5))
            self.h[j] = max(int(h), 16)
        # CUSUMs whose slope grows the residual by > 8 sigma within transient_max_s must see it
        # keep growing that long (half the expected growth, q12) before a LEAK: else a step
        trans_blocks = max(1, int(p["transient_max_s"] / block_s))
        for j in range(_BANK):
            grow = p["drift_pa_s"] * (8 ** j) * block_s * 4096.0 * trans_blocks
            self.fastj[j] = int(grow / 2) if grow > 8.0 * sig_b else 0
        # the learnt level's error sigma_b/sqrt(n) must stay below k_j/4 before CUSUM j runs
        for j in range(_BANK):
            self.need[j] = min(self.rebase_blocks, max(_TUNE, int(16.0 * sig_b * sig_b / (self.k[j] ** 2)) + 1))
        # a hatch/door step: the 8-block change beyond transient_pa_s and far beyond noise
        diff_sig = sigma / math.sqrt(self.block_n) * math.sqrt(2.0) * 256
        self.trans_q8 = int(max(p["transient_pa_s"] * 8 * block_s * 256, 7.0 * diff_sig))
        sig_s = sigma / math.sqrt(self.block_n) * math.sqrt(12.0 / (_RING * (_RING * _RING - 1))) / block_s
        self.short_snr_e5 = int(4 * sig_s * 1e5)
        sig_l = sig_s / (4.0 * _LONG_EVERY)
        self.clear_e5 = int(max(p["drift_pa_s"], 3 * sig_l) * 1e5)

    def reset(self):
        """Forget the baseline (boot, zero command, recovery, after a leak clears)."""
        self.state = NOMINAL
        self.warm = True
        self.anchor = 0
        self.tref = 0
        self.have = 0
        self.m1 = 0
        self.m2 = 0
        self.pc_q8 = 0
        self.d = 0
        self.i = 0
        self.s_old = 0
        self.s_new = 0
        self.filled = 0
        self.rapid_n = 0
        self.quiet_n = 0
        self.bsum = 0
        self.bn = 0
        self.nblocks = 0
        self.mu12 = 0
        self.base12 = 0
        self.reb_sum = 0
        self.reb_n = 0
        self.trans_n = 0
        self.settle_n = 0
        self.rs_i = 0
        self.rl_i = 0
        self.rl_sum = 0
        self.rl_n = 0
        self.rate_e5 = 0
        self.vfast = 0
        self.spikes = 0
        self.pend_n = 0
        self.pend_r = 0
        self.pend_r2 = 0
        self.pend_need = 0
        self.r12 = 0
        self.drop2 = 0
        self.ring_n = 0
        self.stat = 0
        self.tuned = False
        self.tf16 = 0
        self.mom1 = 0
        self.var = 0
        self.var_n = 0
        self.calm_n = 0
        for j in range(_BANK):
            self.w[j] = 0
            self.z[j] = 0
        for j in range(_RING):
            self.ring_s[j] = 0
            self.ring_l[j] = 0
        for j in range(len(self.win)):
            self.win[j] = 0

    # ---- faults ------------------------------------------------------------------------------
    def sensor_fault(self, bad):
        """Node reports the pressure sensor failing (bad) or back; returns an event or -1."""
        if bad and not self.faulted:
            self.faulted = True
            self.state = FAULT
            return EV_SENSOR_FAULT
        if not bad and self.faulted and self.same_n < self.p["stuck_samples"]:
            self.faulted = False
            self.reset()
            return EV_SENSOR_RECOVERED
        return EV_NONE

    # ---- per sample (hot path: small ints only) ------------------------------------------------
    def update(self, t_fine, p_q8):
        """One BMP280 sample: t_fine (1/5120 degC, the chip's own resolution) and Q24.8 Pa."""
        if p_q8 == self.last_raw:
            self.same_n += 1
            if self.same_n == self.p["stuck_samples"]:
                self.stale = True
                return self.sensor_fault(True)
        else:
            self.last_raw = p_q8
            if self.same_n >= self.p["stuck_samples"]:
                self.same_n = 0
                self.stale = False
                return self.sensor_fault(False)
            self.same_n = 0
        if self.faulted:
            return EV_NONE
        if self.have == 0:
            self.tref = t_fine
            self.tf16 = t_fine << 4
        else:                                 # the gas warms slowly; the sensor's reading is noisy
            self.tf16 += ((t_fine << 4) - self.tf16) >> self.t_shift
        pc = p_q8 - compensation(p_q8, self.tf16 >> 4, self.tref)
        # 3-point median: one-sample spikes never reach the detectors
        if self.have < 2:
            self.m1 = self.m2
            self.m2 = pc
            self.have += 1
            if self.have < 2:
                self.anchor = pc
            return EV_NONE
        a = self.m1
        b = self.m2
        mid = b
        self.m1 = b
        self.m2 = pc
        if a > b:
            a, b = b, a
        med = b if pc > b else (a if pc < a else pc)
        # Hampel-style: the middle sample stands unless it is far from the 3-point median (a
        # spike); a plain median would make the noise correlated and the detector slower
        dev = mid - med
        if dev > self.spike_q8 or dev < -self.spike_q8:
            mid = med
            self.spikes += 1
        self.pc_q8 = mid
        d = mid - self.anchor
        if d > _DMAX or d < -_DMAX:
            ev = EV_LEAK_CLEARED if self.state in (LEAK, RAPID) else EV_NONE
            self.reset()
            return ev
        self.d = d
        ev = self._fast(d)
        self.bsum += d
        self.bn += 1
        if self.bn >= self.block_n:
            n = self.bn
            s = self.bsum
            self.bsum = 0
            self.bn = 0
            b12 = ((s // n) << 4) + (((s % n) << 4) // n)
            ev2 = self._block(b12)
            if ev == EV_NONE:
                ev = ev2
        return ev

    def _fast(self, d):
        r = self.half
        i = self.i
        win = self.win
        mid = i + r
        if mid >= 2 * r:
            mid -= 2 * r
        # win[i] is the oldest sample; win[mid] moves from the new half to the old half
        self.s_old += win[mid] - win[i]
        self.s_new += d - win[mid]
        win[i] = d
        i += 1
        self.i = i if i < 2 * r else 0
        if self.filled < 2 * r:
            self.filled += 1
            return EV_NONE
        dd = _clamp(self.s_old - self.s_new, 1 << 14)
        self.vfast += (((dd * dd) >> 4) - self.vfast) >> 10      # noise of the fast statistic
        drop = (self.s_old - self.s_new) * self.sign
        if drop >= self.rapid_sum:
            self.rapid_n += 1
            self.quiet_n = 0
            if self.rapid_n >= 2 and self.state != RAPID:
                self.state = RAPID
                self.rate_e5 = int((self.s_new - self.s_old) * 1e5 / (256.0 * r * r * self.sample_ms / 1000.0))
                return EV_RAPID
        else:
            self.rapid_n = 0
            if self.state == RAPID:
                self.quiet_n += 1
                if self.quiet_n >= self.clear_samples:
                    self.state = NOMINAL
                    self._rebase_now()
                    return EV_LEAK_CLEARED
        return EV_NONE

    # ---- per block ----------------------------------------------------------------------------
    def _new_level(self, r_mean):
        """A step (hatch, door): take the level after it as the baseline and start the CUSUMs
        again; if it was a leak after all, they find it again from there."""
        self.mu12 -= r_mean * self.sign
        self.base12 = self.mu12
        self.reb_sum = 0
        self.reb_n = 0
        for j in range(_BANK):
            self.w[j] = 0
            self.z[j] = self.nblocks
        self.state = NOMINAL

    def _rebase_now(self):
        self.warm = True
        self.nblocks = 0
        self.mu12 = 0
        self.calm_n = 0
        self.pend_n = 0
        for j in range(_BANK):
            self.z[j] = 0
        self.reb_sum = 0
        self.reb_n = 0
        self.tuned = False
        for j in range(_BANK):
            self.w[j] = 0

    def _rates(self, b_q8):
        if self.nblocks == 1 and self.rl_n == 0 and self.ring_l[0] == 0:
            for j in range(_RING):            # first block after a reset: a flat history
                self.ring_s[j] = b_q8
                self.ring_l[j] = b_q8
        self.ring_s[self.rs_i] = b_q8
        self.rs_i = (self.rs_i + 1) % _RING
        self.rl_sum += b_q8
        self.rl_n += 1
        if self.rl_n >= _LONG_EVERY:
            self.ring_l[self.rl_i] = self.rl_sum // _LONG_EVERY
            self.rl_i = (self.rl_i + 1) % _RING
            self.rl_sum = 0
            self.rl_n = 0
        if self.ring_n < _RING * (_LONG_EVERY + 1):
            self.ring_n += 1                  # rings fill up: a slope needs a full ring
        if self.ring_n < _RING:
            self.rate_e5 = 0
            return
        short = self._slope(self.ring_s, self.rs_i, self.mul_s)
        if short > self.short_snr_e5 or short < -self.short_snr_e5:
            self.rate_e5 = short              # a fast change: the 32-block slope sees it
        elif self.ring_n >= _RING * (_LONG_EVERY + 1):
            self.rate_e5 = self._slope(self.ring_l, self.rl_i, self.mul_l)
        else:
            self.rate_e5 = 0                  # nothing significant yet

    def _slope(self, ring, start, plan):
        sxy = 0
        base = ring[start]
        for n in range(_RING):
            j = start + n
            if j >= _RING:
                j -= _RING
            sxy += (2 * n - (_RING - 1)) * _clamp(ring[j] - base, 1 << 16)
        return mulshift(sxy, plan[0], plan[1])

    def _block(self, b12):
        b_q8 = b12 >> 4
        self.nblocks += 1
        if self.reb_n or not self.warm:
            self._spread(b12)                 # about a level already learnt
        self.drop2 = (self.ring_s[(self.rs_i + _RING - 2) % _RING] - b_q8) * self.sign
        old = self.ring_s[(self.rs_i + _RING - 8) % _RING]
        self._rates(b_q8)
        if self.nblocks <= 8:
            old = b_q8
            self.drop2 = 0
        step = b_q8 - old
        if step > self.trans_q8 or step < -self.trans_q8:
            self.trans_n += 1
            self.settle_n = 0
        elif self.trans_n:
            self.settle_n += 1
            if self.settle_n >= 8:
                self.trans_n = 0
                self.settle_n = 0
                if self.state != LEAK:
                    self._rebase_now()
        if self.trans_n >= self.trans_max and step * self.sign < -self.trans_q8 and self.state != LEAK and self.state != RAPID:
            # falling (habitat) / rising (chamber) for longer than any hatch or door transient
            self.state = LEAK
            self.calm_n = 0
            self.rate_e5 = int(step * 1e5 / (256.0 * 8 * self.block_n * self.sample_ms / 1000.0))
            return EV_LEAK_DETECTED
        if self.trans_n and self.warm:
            return EV_NONE                    # no baseline to learn from a moving level
        self._baseline(b12)
        r = _clamp((self.mu12 - b12) * self.sign, _CLAMP12)
        self.r12 = r
        top = 0
        n = self.reb_n
        for j in range(_BANK):
            if self.warm and n < self.need[j]:
                continue                      # baseline not yet good enough for this CUSUM
            w = self.w[j] + r - self.k[j]
            if w <= 0:
                w = 0
                self.z[j] = self.nblocks
            hj = self.h[j]
            if w > 2 * hj:
                w = 2 * hj
            self.w[j] = w
            pct = (w * 100) // hj
            if pct > top:
                top = pct
                self.top_j = j
        self.stat = top * 100
        return self._decide(top)

    def _spread(self, b12):
        """Noise of the block means as they really are (median, temperature filter and sensor
        correlations included): running first and second moments about the learnt level."""
        x = _clamp(b12 - self.base12, 1 << 14)
        x2 = (x * x) >> 6
        if self.var_n < 64:
            self.var_n += 1
            self.mom1 += (x - self.mom1) // self.var_n
            self.var += (x2 - self.var) // self.var_n
        else:
            self.mom1 += (x - self.mom1) >> 6
            self.var += (x2 - self.var) >> 6

    def _baseline(self, b12):
        """Learn the level: a growing mean while warm, then one window mean per rebase period."""
        if self.reb_n == 0 and self.warm:
            self.base12 = b12
        self.reb_sum += _clamp(b12 - self.base12, _BCLAMP)
        self.reb_n += 1
        if self.warm:
            self.mu12 = self.base12 + self.reb_sum // self.reb_n
            if self.reb_n == _TUNE or (self.reb_n >= self.need[0] and not self.tuned):
                self.tuned = self.reb_n >= self.need[0]
                self._retune()                # may ask for a longer learning period
            if self.reb_n >= self.need[0]:
                self.warm = False
                self.reb_sum = 0
                self.reb_n = 0
                self.base12 = self.mu12
        elif self.reb_n >= self.rebase_blocks:
            if self.stat < 2500 and self.state == NOMINAL:
                self.mu12 = self.base12 + self.reb_sum // self.reb_n
                self.base12 = self.mu12
            self.reb_sum = 0
            self.reb_n = 0

    def _decide(self, top):
        st = self.state
        if st == RAPID or st == FAULT:
            return EV_NONE
        if st == LEAK:
            rate = self.rate_e5 * self.sign
            if -rate < self.clear_e5:
                self.calm_n += 1
                if self.calm_n >= self.clear_blocks:
                    self.state = NOMINAL
                    self._rebase_now()
                    return EV_LEAK_CLEARED
            else:
                self.calm_n = 0
            return EV_NONE
        if top >= 100 and (self.trans_n == 0 or self.trans_n >= self.trans_max):
            j = self.top_j
            run = self.nblocks - self.z[j]
            # (a slope too small to show within the window can't be a step's doing: no wait)
            if self.pend_n or (run < 3 * self.trans_max and self.w[j] * self.trans_max > 4 * self.sig_b12 * run * run):
                # a young change: a hatch/door step looks like a leak until it stops. Watch the
                # residual for transient_max_s: a leak keeps growing at the slope the CUSUM
                # implies (W ~ beta n^2 / 2), a step leaves it flat.
                if not self.pend_n:
                    self.pend_n = self.nblocks
                    self.pend_r = 0
                    self.pend_r2 = 0
                    # half-window means differ by beta * T/2 for a leak; accept above 40 % of that
                    self.pend_need = int(self.w[j] / float(run * run) * self.trans_max / 2.5)
                age = self.nblocks - self.pend_n
                half = self.trans_max // 2
                if age < half:
                    self.pend_r -= self.r12
                else:
                    self.pend_r += self.r12
                    self.pend_r2 += self.r12
                if age < 2 * half - 1:
                    self.state = SUSPECT
                    return EV_NONE
                grown = self.pend_r // half
                self.pend_n = 0
                if grown < self.pend_need:
                    self._new_level(self.pend_r2 // half)    # it stopped: a step, not a leak
                    return EV_NONE
            self.state = LEAK
            self.calm_n = 0
            self._implied_rate()
            return EV_LEAK_DETECTED
        self.pend_n = 0
        self.state = SUSPECT if top >= self.suspect_pct else NOMINAL
        return EV_NONE

    def _retune(self):
        """Thresholds from the noise actually seen (sensor + temperature compensation), never
        below the configured noise_pa. Once per learnt baseline: floats allowed."""
        if self.var_n < 4:
            return
        sig_b = math.sqrt(max((self.var << 6) - self.mom1 * self.mom1, 0)) / 4096.0     # Pa, block means
        # an upper bound, not the estimate: sigma from n blocks is uncertain by ~1/sqrt(2n), and an
        # underestimate costs false alarms exponentially (n = 32 at the first retune: x1.25)
        n_eff = self.var_n if self.var_n < 64 else 128
        up = 1.0 + 2.0 / math.sqrt(2.0 * n_eff)
        self._noise(max(self.p["noise_pa"], up * sig_b * math.sqrt(self.block_n)))
        # the fast path from its own statistic's spread (6 sigma; floors at the configured noise)
        r = self.half
        sig_rate = math.sqrt(self.vfast * 16.0) / (256.0 * r * r * self.sample_ms / 1000.0)
        self.rapid_pa_s = max(self.p["rapid_rate_pa_s"], 6.0 * 1.05 * sig_rate, self.rapid_pa_s)
        self.rapid_sum = int(self.rapid_pa_s * self.sample_ms / 1000.0 * 256 * r * r)

    def _implied_rate(self):
        """Slope implied by the alarming CUSUM: since its last zero the residual ramps up from
        about k, so W = sum (r - k) ~ beta n^2 / 2."""
        j = self.top_j
        n = max(1, self.nblocks - self.z[j])
        beta12 = 2.0 * self.w[j] / (n * n)     # q12 per block
        rate = beta12 / 4096.0 / (self.block_n * self.sample_ms / 1000.0)
        self.rate_e5 = int(-rate * self.sign * 1e5)

    # ---- outputs for events (floats allowed) ----------------------------------------------------
    def leak_estimate(self, temp_c):
        """(dP/dt Pa/s, kg/day in the leak's direction, hole mm) from the rate and the volume.

        Habitat: air flows out at cabin pressure. Chamber: air flows in from ~1 atm outside.
        """
        rate = self.rate_e5 / 1e5
        tk = temp_c + 273.15
        kg = leak_kg_day(rate * self.sign, self.p["volume_l"] / 1000.0, tk)
        upstream = self.pc_q8 / 256.0 if self.sign > 0 else 101325.0
        return rate, max(kg, 0.0), hole_mm(kg, upstream, tk, self.p["cd"])
