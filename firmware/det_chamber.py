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
# every EVERY blocks (each over FIT blocks, HISTORY of them), above the spec (drift_pa_s) by 3
# standard errors, is a leak, reported with c of the best single-exponential fit c + d q^n. Before
# the line is learnt (the first SPAN blocks after isolation) a rise is only a leak faster than
# outgassing at isolation may be (outgas_pa_s): what the rise is made of is not yet observable.
from det_fixed import clamp, mul_plan, mulshift
from det_steps import STEP_MOVING, STEP_QUIET, STEP_SETTLED

FIT = 120
GUARD = 8
SPAN = FIT + GUARD
REFIT = 16
EVERY = 64
HISTORY = 9                  # rates EVERY blocks apart: their decay judged over 8 x 64 blocks (~8.5 min)
FLOOR_SPAN = (HISTORY - 1) * EVERY
TAUS = 20                    # at most: EVERY / 2 blocks up to outgas_tau_s, sqrt(2) apart
_Z = 3
CHAMBER_SETTLE = 8           # blocks of a rise before its LEAK event: the rate to ~10 %, not ~30 %


class ChamberTrend:
    def __init__(self):
        self.ring = [0] * SPAN       # block levels, q8 Pa, oldest at pos
        self.history = [0] * HISTORY  # rates of rise, q16 Pa per block, oldest at hpos
        self.plan_m, self.plan_s = mul_plan(96.0 / (FIT * (FIT * FIT - 1)))
        # per tau of the grid: q (q15; an entry's outgassing is q^n of the oldest's, n EVERYs on),
        # the mean of the q^n (q12), the plan of 1 / their spread, and 3 standard errors of c (q16)
        self.q15 = [0] * TAUS
        self.u_mean = [0] * TAUS
        self.d_m = [0] * TAUS
        self.d_s = [0] * TAUS
        self.taus = 0
        self.low_m = 0               # plan of outgas_tau_s x the rates' least-squares slope
        self.low_s = 15
        self.low_err = 1             # 3 standard errors of the bound c >= r + outgas_tau_s r' (q16)
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
        self.tau_rss = 0
        self.tau_c = 0
        self.bound16 = 0             # the bound on c at the last judgement (q16)
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
        # The bound on c and what it may be off by, and the taus of the rate fit. The rates over FIT
        # blocks kept EVERY apart overlap: neighbours correlate by rho (white block noise), no others.
        w = [i - (FIT - 1) / 2.0 for i in range(FIT)]
        rho = sum(w[i] * w[i + EVERY] for i in range(FIT - EVERY)) / sum(x * x for x in w) if EVERY < FIT else 0.0
        k = HISTORY
        # the bound: the newest rate + outgas_tau_s x the slope of the rates (least squares over
        # the HISTORY entries, per EVERY blocks): weights 1 on the newest, f (2n - k + 1) on each
        f = tau_max * 6.0 / (EVERY * k * (k * k - 1))
        self.low_m, self.low_s = mul_plan(f)
        w = [f * (2 * n - k + 1) for n in range(k)]
        w[k - 1] += 1.0
        var = sum(x * x for x in w) + 2.0 * rho * sum(w[n] * w[n + 1] for n in range(k - 1))
        self.low_err = int(_Z * sig16 * var ** 0.5) + 1
        tau = EVERY / 2.0
        j = 0
        while j < TAUS:
            if tau >= tau_max or j == TAUS - 1:
                tau = max(tau_max, 1.0)
            q15 = int(32768.0 * 2.718281828 ** (-EVERY / tau) + 0.5)
            u = [4096] * k                  # q^n, oldest first, as _fit_tau steps it
            for n in range(1, k):
                u[n] = (u[n - 1] * q15) >> 15
            mean = sum(u) / float(k)
            suu = sum((x - mean) ** 2 for x in u)
            self.q15[j] = q15
            self.u_mean[j] = int(mean + 0.5)
            self.d_m[j], self.d_s[j] = mul_plan(65536.0 / suu)
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
            if self.rates < HISTORY:
                return False
        return self._constant_above_spec()

    def _constant_above_spec(self):
        # True when the rates of rise have a constant term above the spec by 3 standard errors.
        # Outgassing is a sum of decaying sources, rate = c + sum d_i e^(-t/tau_i), d_i >= 0; with
        # every tau_i <= outgas_tau_s its slope is at most -(rate - c) / outgas_tau_s, so
        # c >= rate + outgas_tau_s x slope whatever the mix (the least-squares slope of a decaying,
        # convex rate over the history is below its slope at the end: the bound holds). One
        # exponential fitted to a mix would take the fast source's curvature and call the slow
        # one's rate a constant: the fits c + d q^n (one per tau of the grid) only give the
        # reported rate, c16, the best fit's c (not below the bound).
        k = HISTORY
        total = 0
        sxy = 0
        for n in range(k):                  # oldest first: hpos
            r = self.history[(self.hpos + n) % k]
            total += r
            sxy += (2 * n - k + 1) * r
        low = self.history[(self.hpos - 1) % k] + mulshift(sxy, self.low_m, self.low_s)
        mean = total // k
        best = -1
        self.c16 = low
        for j in range(self.taus):
            self._fit_tau(j, mean)
            if best < 0 or self.tau_rss < best:
                best = self.tau_rss
                self.c16 = self.tau_c if self.tau_c > low else low
        self.bound16 = low
        return low - self.low_err > self.spec16

    def _fit_tau(self, j, mean):
        # The fit c + d q^n at the grid's tau j, d >= 0: tau_rss (residual sum, q16^2 / 4) and
        # tau_c (q16); attributes, as a tuple would allocate.
        k = HISTORY
        q15 = self.q15[j]
        um = self.u_mean[j]
        cov = 0
        u = 4096
        for n in range(k):                  # oldest first: hpos
            r = clamp(self.history[(self.hpos + n) % k] - mean, 1 << 16)
            cov += (r * (u - um)) >> 4
            u = (u * q15) >> 15
        d = mulshift(cov, self.d_m[j], self.d_s[j]) if cov > 0 else 0
        d = clamp(d, 1 << 24)
        c = mean - mulshift(d, um, 12)
        rss = 0
        u = 4096
        for n in range(k):
            e = clamp(self.history[(self.hpos + n) % k] - c - mulshift(d, u, 12), 1 << 13)
            rss += (e * e) >> 2
            u = (u * q15) >> 15
        self.tau_rss = rss
        self.tau_c = c

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
