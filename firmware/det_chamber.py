# Chamber rate-of-rise: outgassing is not a leak (docs/detection.md section 6).
#
# An isolated chamber rises from outgassing, p = a + b (1 - e^(-t/tau)): its rate only decays. A
# leak adds a rate that stays. The slow path's reference is a line fitted to the last FIT blocks
# (leaving out the newest GUARD, so a leak starting now does not teach it) and extrapolated: the
# curve of a decaying rate falls below its own line, so outgassing drives the residual negative,
# while a leak's added rate makes it grow. The line is refitted every REFIT blocks while quiet.
# A leak present from the start is in the line too. It is the constant term c of the rate of rise:
# outgassing, a mix of decaying sources with time constants up to the chamber's slowest
# (outgas_tau_s), has c = 0 and c >= rate + outgas_tau_s x slope. That bound over the rates kept
# every EVERY blocks (each over FIT blocks): over the newest SHORT of them (little lag behind fast
# outgassing) or all HISTORY (less noise), above the spec (drift_pa_s) by 3 standard errors, is a
# leak, reported with c of the best single-exponential fit c + d q^n. Before
# the line is learnt (the first SPAN blocks after isolation) a rise is only a leak faster than
# outgassing at isolation may be (outgas_pa_s): what the rise is made of is not yet observable.
from det_fixed import clamp, mul_plan, mulshift
from det_steps import STEP_MOVING, STEP_QUIET, STEP_SETTLED

FIT = 120
GUARD = 8
SPAN = FIT + GUARD
REFIT = 16
EVERY = 16
HISTORY = 31                 # rates EVERY blocks apart: their decay judged over 30 x 16 blocks (~8 min)
SHORT = 17                   # and over the newest 16 x 16 (~4.3 min), judged from then on
FLOOR_SPAN = (HISTORY - 1) * EVERY
TAUS = 20                    # at most: EVERY / 2 blocks up to outgas_tau_s, sqrt(2) apart
_LAGS = FIT // EVERY + 1     # overlapping rates: neighbours up to this many entries apart correlate
_Z = 3
CHAMBER_SETTLE = 8           # blocks of a rise before its LEAK event: the rate to ~10 %, not ~30 %


def _bound_plan(k, tau_max, rho, sig16):
    # The bound over the newest k rates: the newest + outgas_tau_s x their least-squares slope
    # (per EVERY blocks): weights 1 on the newest, f (2n - k + 1) on each. Its plan, and 3
    # standard errors (q16) from the rates' own (sig16) and their correlation.
    f = tau_max * 6.0 / (EVERY * k * (k * k - 1))
    var = 0.0
    for n in range(k):
        wn = f * (2 * n - k + 1) + (1.0 if n == k - 1 else 0.0)
        for L in range(_LAGS):
            if n + L < k:
                wm = f * (2 * (n + L) - k + 1) + (1.0 if n + L == k - 1 else 0.0)
                var += (1.0 if L == 0 else 2.0) * rho[L] * wn * wm
    m, s = mul_plan(f)
    return m, s, int(_Z * sig16 * var ** 0.5) + 1


class ChamberTrend:
    def __init__(self):
        self.ring = [0] * SPAN       # block levels, q8 Pa, oldest at pos
        self.history = [0] * HISTORY  # rates of rise, q16 Pa per block, oldest at hpos once full
        self.plan_m, self.plan_s = mul_plan(96.0 / (FIT * (FIT * FIT - 1)))
        # per tau of the grid: q (q15; an entry's outgassing is q^n of the oldest's, n EVERYs on)
        self.q15 = [0] * TAUS
        self.taus = 0
        self.tau_j = 0               # the grid's tau of the best fit at the last LEAK
        self.low_m = 0               # plan of outgas_tau_s x the rates' least-squares slope (all)
        self.low_s = 15
        self.low_err = 1             # 3 standard errors of the bound c >= r + outgas_tau_s r' (q16)
        self.short_m = 0             # the same over the newest SHORT rates
        self.short_s = 15
        self.short_err = 1
        self.spec16 = 0
        self.early_e5 = 0
        self.sig_level12 = 1
        self.sig_slope12 = 1
        self.step_slope12 = 1
        self.step_level12 = 1
        self.fit_end12 = 0
        self.fit_slope12 = 0
        self.fit_slope16 = 0
        self.c16 = 0                 # the leak's rate (c of the best fit) at the last judgement
        self.bound16 = 0             # the bound on c at the last judgement (q16)
        self.margin16 = 0            # and less its 3 standard errors (the better of the two windows)
        self.e5_per12 = 24.0
        self.e5_m = 0
        self.e5_s = 15
        self.reset()

    def tune(self, sigma_b, drift_pa_s, block_s, outgas_pa_s=1.0, outgas_tau_s=7200.0):
        # Uncertainties of the reference from the block noise sigma_b (Pa); floats: set-up time.
        # The line's value at its end, and its slope (least squares over FIT blocks), in q12.
        self.e5_per12 = 1e5 / (4096.0 * block_s)
        self.e5_m, self.e5_s = mul_plan(self.e5_per12)
        sig = sigma_b * 4096.0
        n = FIT
        self.sig_slope12 = max(1, int(sig * (12.0 / (n * (n * n - 1))) ** 0.5 + 0.5))
        self.sig_level12 = max(1, int(sig * (4.0 / n) ** 0.5 + 0.5))
        self.step_slope12 = int(1.414 * self.sig_slope12) + 1     # two fits' difference
        self.step_level12 = int(1.414 * self.sig_level12) + 1
        self.spec16 = int(drift_pa_s * block_s * 65536.0)
        # a rise before the line is learnt: a leak only faster than outgassing at isolation may be
        # (+ the spec, + 3 standard errors of a 16-block rate)
        short = sigma_b * (12.0 / (16 * 255)) ** 0.5 / block_s
        self.early_e5 = int((outgas_pa_s + drift_pa_s + _Z * short) * 1e5)
        self._grid(sig * 16.0 * (12.0 / (n * (n * n - 1))) ** 0.5, outgas_tau_s / block_s)

    def _grid(self, sig16, tau_max):
        # The bounds on c and what they may be off by, and the taus of the rate fit. The rates over
        # FIT blocks kept EVERY apart overlap: entries L apart correlate by rho[L] (white block noise).
        c = (FIT - 1) / 2.0
        xx = sum((i - c) * (i - c) for i in range(FIT))
        rho = [sum((i - c) * (i + L * EVERY - c) for i in range(FIT - L * EVERY)) / xx if L * EVERY < FIT else 0.0
               for L in range(_LAGS)]
        self.low_m, self.low_s, self.low_err = _bound_plan(HISTORY, tau_max, rho, sig16)
        self.short_m, self.short_s, self.short_err = _bound_plan(SHORT, tau_max, rho, sig16)
        tau = EVERY / 2.0
        j = 0
        while j < TAUS:
            if tau >= tau_max or j == TAUS - 1:
                tau = max(tau_max, 1.0)
            self.q15[j] = int(32768.0 * 2.718281828 ** (-EVERY / tau) + 0.5)
            j += 1
            if tau >= tau_max:
                break
            tau *= 1.41421356
        self.taus = j

    def reset(self):
        self.pos = 0
        self.count = 0
        self.ready = False           # a reference line is in hand
        self.ref12 = 0               # the line at block ref_block, q12 relative to the anchor
        self.slope12 = 0             # q12 per block
        self.ref_block = 0
        self.since_fit = 0
        self.since_rate = 0
        self.rates = 0               # history entries filled
        self.hpos = 0
        self.drift12 = 0             # the learnt rate of rise, summed block by block
        self.c16 = 0

    def steady_q8(self, level12):
        # The level with the learnt rate of rise taken out (continuous: no jump at a refit), for
        # the step classifier: a rise at the outgassing's own rate is not a moving level.
        return (level12 - self.drift12) >> 4

    def judge(self, step, level12, block, change12):
        # The step classifier's verdict for a chamber: a rise is for the CUSUMs to judge against
        # the extrapolated line (the sustained-rise rule stays); only a fall below the line
        # (pumping again, a vent closing...) is a moving level or a step that stays.
        if not self.ready or (step != STEP_MOVING and step != STEP_SETTLED):
            return step
        if step == STEP_SETTLED:
            change12 >>= 1
        if level12 - self.reference12(block) < -change12:
            return step
        return STEP_QUIET

    def add(self, level12, block, quiet):
        # One block level (q12); refit while quiet; returns True when the rate has stopped
        # decaying above the spec (a leak present since the line was first learnt).
        if self.ready:
            self.drift12 += self.slope12
        self.ring[self.pos] = level12 >> 4
        self.pos = (self.pos + 1) % SPAN
        if self.count < SPAN:
            self.count += 1
            if self.count < SPAN:
                return False
        self.since_fit += 1
        if quiet and (self.since_fit >= REFIT or not self.ready):
            self.since_fit = 0
            self._fit(self.pos)
            ref12 = self.fit_end12
            slope12 = self.fit_slope12
            if self.ready:
                # outgassing's rate only decays: the line may bend down freely, up only by the
                # noise of two fits' difference, so a leak beginning cannot teach it
                slope12 = min(slope12, self.slope12 + self.step_slope12)
                ref12 = min(ref12, self.reference12(block - GUARD) + self.step_level12)
            self.ref12 = ref12
            self.slope12 = slope12
            self.ref_block = block - GUARD
            self.ready = True
        self.since_rate += 1
        if self.since_rate < EVERY:
            return False
        self.since_rate = 0
        self._fit(self.pos + GUARD)
        self.history[self.hpos] = self.fit_slope16
        self.hpos = (self.hpos + 1) % HISTORY
        if self.rates < HISTORY:
            self.rates += 1
            if self.rates < SHORT:
                return False
        return self._constant_above_spec()

    def _constant_above_spec(self):
        # True when the rates of rise have a constant term above the spec by 3 standard errors.
        # Outgassing is a sum of decaying sources, rate = c + sum d_i e^(-t/tau_i), d_i >= 0; with
        # every tau_i <= outgas_tau_s its slope is at most -(rate - c) / outgas_tau_s, so
        # c >= rate + outgas_tau_s x slope whatever the mix (the least-squares slope of a decaying,
        # convex rate over the window is below its slope at the end: the bound holds). The newest
        # SHORT rates lag less behind a fast source's decay, all HISTORY are less noisy: the better
        # margin of the two counts. One exponential fitted to a mix would take the fast source's
        # curvature and call the slow one's rate a constant: the fits c + d q^n only give the
        # reported rate, c16, the best fit's c (not below the bound), at the alarm.
        k = self.rates
        full = 0
        short = 0
        for n in range(k):                  # oldest first
            r = self.history[(self.hpos - k + n) % HISTORY]
            full += (2 * n - k + 1) * r
            if n >= k - SHORT:
                short += (2 * (n - k + SHORT) - SHORT + 1) * r
        newest = self.history[(self.hpos - 1) % HISTORY]
        low = newest + mulshift(short, self.short_m, self.short_s)
        margin = low - self.short_err
        if k == HISTORY:
            full = newest + mulshift(full, self.low_m, self.low_s)
            if full - self.low_err > margin:
                low = full
                margin = full - self.low_err
        self.bound16 = low
        self.margin16 = margin
        if margin <= self.spec16:
            return False
        self.c16 = self._constant(k, low)
        return True

    def _constant(self, k, low):
        # c of the best fit c + d q^n (d >= 0, least squares) to the newest k rates over the tau
        # grid, not below the bound `low` (q16; floats: at a LEAK only).
        best = -1.0
        c_best = low
        for j in range(self.taus):
            q = self.q15[j] / 32768.0
            u = 1.0
            su = suu = sr = srr = sur = 0.0
            for n in range(k):
                r = float(self.history[(self.hpos - k + n) % HISTORY])
                su += u
                suu += u * u
                sr += r
                srr += r * r
                sur += u * r
                u *= q
            det = k * suu - su * su
            d = (k * sur - su * sr) / det if det > 0 else 0.0
            if d < 0:
                d = 0.0
            c = (sr - d * su) / k
            rss = srr - 2 * c * sr - 2 * d * sur + k * c * c + 2 * c * d * su + d * d * suu
            if best < 0 or rss < best:
                best = rss
                c_best = c
                self.tau_j = j
        return int(c_best) if c_best > low else low

    def _fit(self, start):
        # The least-squares line over FIT ring entries from `start`: its value at the last
        # (fit_end12) and its slope (fit_slope12); attributes, as a tuple would allocate.
        j = start % SPAN
        base = self.ring[j]
        sxy = 0
        sy = 0
        for i in range(FIT):
            y = clamp(self.ring[j] - base, 1 << 16)
            sxy += (2 * i - FIT + 1) * y
            sy += y
            j += 1
            if j == SPAN:
                j = 0
        slope12 = mulshift(sxy, self.plan_m, self.plan_s)
        self.fit_slope12 = slope12
        self.fit_slope16 = mulshift(sxy, self.plan_m, self.plan_s - 4)
        self.fit_end12 = (base << 4) + (sy << 4) // FIT + (slope12 * (FIT - 1)) // 2

    def reference12(self, block):
        # The extrapolated line: where outgassing alone would at most have taken the level.
        return self.ref12 + self.slope12 * clamp(block - self.ref_block, 1 << 12)

    def allowance12(self, block):
        # What the extrapolated line may be off by (3 standard errors of its end and slope).
        return _Z * (self.sig_level12 + self.sig_slope12 * clamp(block - self.ref_block, 1 << 12))

    def onset_rate12(self, block):
        # The rise's rate at a CUSUM alarm (q12 per block; floats: events only): a hinge on the
        # extrapolated line (zero, then a ramp from the best onset) over the ring, the onset found
        # to the block, then to an eighth of one (a few seconds of a rise are a few blocks). The
        # line pins the level before, so those few seconds give the rate.
        r = [0.0] * SPAN                    # residuals, newest first
        best = 0.0
        onset = 1
        s_r = 0.0
        s_mr = 0.0
        for a in range(1, SPAN + 1):        # onset `a` blocks ago
            m = a - 1
            r[m] = float((self.ring[(self.pos - a) % SPAN] << 4) - self.reference12(block - m))
            s_r += r[m]
            s_mr += m * r[m]
            sxr = a * s_r - s_mr            # sum over the ramp's blocks of (a - m) r
            fit = sxr * sxr * 6.0 / (a * (a + 1) * (2 * a + 1))
            if fit > best:                  # the ramp that explains most of the residuals
                best = fit
                onset = a
        best = 0.0
        rate = 0.0
        for k in range(-8, 9):
            u = onset + 0.5 + k / 8.0       # the onset u blocks ago; block m spans ages m..m+1
            if u <= 0:
                continue
            sfr = 0.0
            sff = 0.0
            m = 0
            while m < u and m < SPAN:
                f = u - m - 0.5 if u >= m + 1 else (u - m) * (u - m) / 2.0
                sfr += f * r[m]
                sff += f * f
                m += 1
            if sfr * sfr / sff > best:
                best = sfr * sfr / sff
                rate = sfr / sff
        return rate

    def rate_e5(self, rate12):
        # q12 per block -> 1e-5 Pa/s (events only: floats).
        return int(rate12 * self.e5_per12)

    def leak_rate12(self):
        # The constant term's rate (q12 per block; floats: events only): the rate-history alarm's.
        return self.c16 / 16.0

    def early_leak(self, rate_e5):
        # A sustained rise (1e-5 Pa/s): a leak only faster than outgassing at isolation may be,
        # beyond the learnt line once there is one (a rise from before it is in it).
        if self.ready:
            rate_e5 -= mulshift(self.slope12, self.e5_m, self.e5_s)
        return rate_e5 > self.early_e5
