# Fall tracker: the rate of a sustained fall (between the CUSUMs and RAPID) from its own onset.
#
# A least-squares slope over T s of the compensated level (noise sigma ~2.15 Pa per 44 ms sample:
# 1.3 Pa of pressure and 5 mK through the gas law) has a standard error sigma sqrt(12 / N^3) / dt,
# N = T / dt: 0.56 Pa/s at 2 s, 0.2 at 4 s, 0.07 at 8 s. A fixed window keeps the error its length
# gives it (64 samples: 0.33 Pa/s, so a 2 Pa/s fall flapped around 5 of them); a window growing from
# the fall's onset is as good as the samples allow. Entries are means of `sub` samples (~0.18 s), a
# ring of 64 (~11 s). Each block, until a fall is shown, a hinge (a level, then a line from an onset)
# is searched over the ring; when its fall is START_Z standard errors out, the growing window is the
# free slope of every entry since that onset (entries merged in pairs when it fills, so 64 slots
# span any length). Its rate is shown once SHOW_Z of its own standard errors out, at least `floor`
# (a fan's wave, transient_pa_s) and a second old (the pulse classifier has decided by then); it
# stands, the window growing, until the newest entries fall less by STOP_Z of their standard errors
# (the fall stopped, or eased as an equalisation does) or it drops below the floor. The noise the
# slopes are judged with is the entries' own, measured (the detector's sigma is a prior until its
# baseline is learnt, and carries a fan's wave: a fan's dip was shown as a fall with the prior);
# the fan's wave is taken out of the samples as the detector takes it out of its blocks. Not used
# in RAPID (the fast path's). Integers per sample and block; no allocation.
from det_fixed import clamp, isqrt, mul_plan, mulshift

HIST = 64                    # entries in the ring the onset is searched in
WIN = 64                     # slots of the growing window
START_Z = 4
SHOW_Z = 5
STOP_Z = 4
_RECENT = 32                 # newest entries the stop rule looks at
_LEVEL = 8                   # entries of level kept before any hinge
_MAX_SHIFT = 10              # window entries of up to 2^10 ring entries (hours), then it stops
_Y_LIM = 512                 # hinge search: q2 Pa from the ring's oldest entry, clamped (128 Pa)
NOISE_N = 64                 # entries of its own noise measured before the tracker searches
_SIG_MAX = 1023              # an entry's noise, q6 Pa (16 Pa): se1[3] x it stays below 2^30


class FallTrack:
    def __init__(self):
        self.hist = [0] * HIST
        self.win = [0] * WIN
        self.plan_m = [0] * (WIN + 1)
        self.plan_s = [0] * (WIN + 1)
        self.se1 = [0] * (WIN + 1)
        self.sub = 4
        self.min_age = 6
        self.hold = 57
        self.start_k = 1
        self.floor_e5 = 0
        self.fan_q4 = 0              # the fan's wave as the detector subtracts it (the last block's)
        self.prior_q6 = 64
        self.forget()

    def configure(self, sample_ms, hold_s):
        # Entry length and slope plans (floats: set-up time only). se1[n]: the standard error of an
        # n-entry slope (1e-5 Pa/s) per Pa of an entry's noise.
        self.sub = max(1, (176 + sample_ms // 2) // sample_ms)
        self.entry_s = self.sub * sample_ms / 1000.0
        for n in range(3, WIN + 1):
            self.plan_m[n], self.plan_s[n] = mul_plan(6e5 / (16.0 * self.entry_s * n * (n * n - 1)))
            self.se1[n] = int(1e5 * (12.0 / (n * (n * n - 1))) ** 0.5 / self.entry_s)
        self.min_age = max(3, int(1.0 / self.entry_s + 0.999))
        self.hold = int(hold_s / self.entry_s + 0.999)
        self.forget()

    def set_noise(self, sigma_pa):
        # The detector's noise per sample (noise_pa until measured, then an upper bound of its
        # blocks' white noise), per entry in q6 Pa: the tracker's own measure is never taken below it.
        self.prior_q6 = min(_SIG_MAX, int(64.0 * sigma_pa / self.sub ** 0.5) + 1)

    def forget(self):
        # Everything, the noise measured included (the detector's reset: boot, re-anchoring).
        self.nvar = 0                # running mean square of the entries' second differences (q8)
        self.nn = 0
        self.e1 = 0
        self.e2 = 0
        self.en = 0
        self.sig_q6 = self.prior_q6
        self.clip = 1 << 14
        self.wave_e5 = 0
        self.reset()

    def reset(self):
        for j in range(HIST):
            self.hist[j] = 0
        self.pos = 0
        self.count = 0
        self.acc = 0
        self.k = 0
        self.stop()

    def stop(self):
        self.on = False              # a window is growing from an onset
        self.shown = False           # and its rate is significant: rate_e5 is the fall's
        self.rate_e5 = 0
        self.age = 0                 # ring entries since the onset
        self.wn = 0
        self.shift = 0               # window entries are 2^shift ring entries
        self.wacc = 0
        self.wk = 0

    def add(self, level_q4):
        # One sample of the compensated level (q4 Pa, from the anchor), less the fan's wave at the
        # last block (a 3 Pa, 60 s fan left in made a 1 Pa/s fall read 10-28 % steep for 30 s: the
        # onset is found where the wave adds to the fall; a block behind, what is left is a
        # sawtooth of +-0.15 Pa, no slope).
        self.acc += level_q4 - self.fan_q4
        self.k += 1
        if self.k < self.sub:
            return
        e = self.acc // self.sub
        self.acc = 0
        self.k = 0
        self._noise(e)
        self.hist[self.pos] = e
        self.pos = self.pos + 1 if self.pos + 1 < HIST else 0
        if self.count < HIST:
            self.count += 1
        if self.on:
            self.age += 1
            self._grow(e)

    def _noise(self, e):
        # The entries' own noise: second differences (var 6 sigma^2 for white noise; blind to a
        # level and a slope), clipped at 6 of their standard deviations (a pulse's edge).
        if self.en >= 2:
            d = clamp(e - 2 * self.e1 + self.e2, self.clip)
            if self.nn < NOISE_N:
                self.nn += 1
                self.nvar += (d * d - self.nvar) // self.nn
            else:
                self.nvar += (d * d - self.nvar) >> 6
        else:
            self.en += 1
        self.e2 = self.e1
        self.e1 = e

    def _tune(self):
        # Once a block: the noise the slopes are judged with (q6 Pa per entry), an upper bound:
        # the measure over ~64-128 entries x 9/8, and never below the detector's.
        prior = self.prior_q6
        sig = isqrt(self.nvar * 8 // 3) * 9 // 8 if self.nn >= NOISE_N else 0
        self.sig_q6 = prior if sig < prior else (sig if sig < _SIG_MAX else _SIG_MAX)
        self.clip = 6 * isqrt(6 * ((self.sig_q6 * self.sig_q6) >> 4)) + 16
        self.start_k = ((START_Z * self.sig_q6) >> 1) + 1

    def _se(self, n):
        return (self.se1[n] * self.sig_q6) >> 6

    def _grow(self, e):
        self.wacc += e
        self.wk += 1
        if self.wk < 1 << self.shift:
            return
        self.win[self.wn] = self.wacc >> self.shift
        self.wacc = 0
        self.wk = 0
        self.wn += 1
        if self.wn < WIN:
            return
        if self.shift == _MAX_SHIFT:
            self.stop()              # hours of fall: the detector's own windows speak for it
            return
        for i in range(WIN // 2):
            self.win[i] = (self.win[2 * i] + self.win[2 * i + 1]) >> 1
        self.wn = WIN // 2
        self.shift += 1

    def _entry(self, back):
        j = self.pos - 1 - back
        if j < 0:
            j += HIST
        return self.hist[j]

    def _search(self):
        # The best hinge over the full ring: (fall's z x START_Z / start_k, entries since its onset).
        # Regressors 1 and g = 2h + 1 (h entries from the onset); b = num / den, its z-score
        # -num / (sigma sqrt(HIST den)); the best onset maximises -num / sqrt(den) as well.
        n = HIST
        base = self._entry(n - 1)
        s_y = 0
        for j in range(n):
            s_y += clamp((self.hist[j] - base) >> 2, _Y_LIM)
        tail = 0
        s_gy = 0
        best = 0
        best_m = 0
        for m in range(1, n - _LEVEL + 1):
            y = clamp((self._entry(m - 1) - base) >> 2, _Y_LIM)
            s_gy += 2 * tail + y     # the tail's entries move one step further from the onset
            tail += y
            if m < self.min_age:
                continue
            s_g = m * m
            den = n * (m * (4 * m * m - 1) // 3) - s_g * s_g
            z = -(n * s_gy - s_g * s_y) // isqrt(den)
            if z > best:
                best = z
                best_m = m
        return best_m if best >= self.start_k else 0

    def _start(self, m):
        self.stop()
        self.on = True
        self.age = m
        for back in range(m - 1, -1, -1):
            self._grow(self._entry(back))

    def _slope(self, n):
        # Free least-squares slope of the window's n entries (1e-5 Pa/s).
        base = self.win[0]
        sxy = 0
        for i in range(n):
            sxy += (2 * i - n + 1) * clamp(self.win[i] - base, 1 << 16)
        return mulshift(sxy, self.plan_m[n], self.plan_s[n]) >> self.shift

    def se_e5(self):
        # Standard error of the window's slope: that of wn entries / L^1.5, L = 2^shift.
        s = self.shift
        se = self._se(self.wn) >> s >> (s >> 1)
        return (se * 181) >> 8 if s & 1 else se

    def _recent(self, n):
        # Slope of the ring's newest n entries (1e-5 Pa/s) and its standard error.
        base = self._entry(n - 1)
        sxy = 0
        for i in range(n):
            sxy += (2 * i - n + 1) * clamp(self._entry(n - 1 - i) - base, 1 << 16)
        return mulshift(sxy, self.plan_m[n], self.plan_s[n])

    def block(self, moving_e5, wave_e5, below):
        # Once a block (habitat, no pulse, tuned): find or follow a fall; rate_e5 and shown. The
        # floor: transient_pa_s and a fan's steepest slope, the largest of the last ~minute (the
        # fan's estimate may drop out for a while: a 3 Pa fan's dip was shown as -0.53 Pa/s).
        # below: the level is below the learnt one (else no fall is lost air: an overpressure
        # flowing back; the ring is kept, the onset is searched in it once it is).
        w = self.wave_e5 - (self.wave_e5 >> 6)
        self.wave_e5 = wave_e5 if wave_e5 > w else w
        floor_e5 = moving_e5 + self.wave_e5
        self.floor_e5 = floor_e5
        self._tune()
        if not below:
            self.stop()
            return
        if not self.shown:
            m = self._search() if self.count == HIST and self.nn >= NOISE_N else 0
            if not m:
                self.stop()
                return
            self._start(m)
            if self.wn < 3:
                return
            rate = self._slope(self.wn)
            if -rate >= floor_e5 and -rate >= SHOW_Z * self.se_e5():
                self.shown = True
                self.rate_e5 = rate
            return
        if self.wn < 3:
            return
        rate = self._slope(self.wn)
        n = self.age if self.age < _RECENT else _RECENT
        if n >= 3 and self.count >= n:
            recent = self._recent(n)
            if recent - rate > STOP_Z * self._se(n) or -rate < 2 * self.se_e5() or -rate * 4 < floor_e5 * 3:
                self.stop()          # it stopped or eased: the ring starts again after it
                self.count = 0
                return
        self.rate_e5 = rate

    def leaking(self):
        # Shown, and still falling after longer than any transient (transient_max_s): the entries
        # since that point at least `floor` and 3 of their standard errors out, and not shallower
        # than the window by 2 of them (an equalisation that stops by then is no leak).
        n = self.age - self.hold
        if not self.shown or n < self.min_age:
            return False
        if n > _RECENT:
            n = _RECENT
        recent = self._recent(n)
        se = self._se(n)
        return -recent >= self.floor_e5 and -recent >= 3 * se and recent - self.rate_e5 <= 2 * se

    def onset_ago_s(self):
        return self.age * self.entry_s
