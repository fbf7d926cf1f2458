# Chamber rate-of-rise: outgassing is not a leak (docs/detection.md section 6).
#
# An isolated chamber rises from outgassing, p = a + b (1 - e^(-t/tau)): its rate only decays. A
# leak adds a rate that stays. The slow path's reference is a line fitted to the last FIT blocks
# (leaving out the newest GUARD, so a leak starting now does not teach it) and extrapolated: the
# curve of a decaying rate falls below its own line, so outgassing drives the residual negative,
# while a leak's added rate makes it grow. The line is refitted every REFIT blocks while quiet. A
# leak present from the start is in the line too; it shows as a rate that stops decaying: the
# rate over FIT blocks, kept every EVERY blocks, is above the chamber's spec (drift_pa_s) by 3
# standard errors at every entry of HISTORY and has fallen by less than a fifth across them.
from det_fixed import clamp, mul_plan, mulshift
from det_steps import STEP_MOVING, STEP_QUIET, STEP_SETTLED

FIT = 120
GUARD = 8
SPAN = FIT + GUARD
REFIT = 16
EVERY = 64
HISTORY = 9                  # rates EVERY blocks apart: a decay judged over 8 x 64 blocks (~8.5 min)
FLOOR_SPAN = (HISTORY - 1) * EVERY
_Z = 3
CHAMBER_SETTLE = 8           # blocks of a rise before its LEAK event: the rate to ~10 %, not ~30 %


class ChamberTrend:
    def __init__(self):
        self.ring = [0] * SPAN       # block levels, q8 Pa, oldest at pos
        self.history = [0] * HISTORY  # rates of rise, q12 Pa per block
        self.plan_m, self.plan_s = mul_plan(96.0 / (FIT * (FIT * FIT - 1)))
        self.sig_level12 = 1
        self.sig_slope12 = 1
        self.floor12 = 0
        self.step_slope12 = 1
        self.step_level12 = 1
        self.fit_end12 = 0
        self.fit_slope12 = 0
        self.e5_per12 = 24.0
        self.reset()

    def tune(self, sigma_b, drift_pa_s, block_s):
        # Uncertainties of the reference from the block noise sigma_b (Pa); floats: set-up time.
        # The line's value at its end, and its slope (least squares over FIT blocks), in q12.
        self.e5_per12 = 1e5 / (4096.0 * block_s)
        sig = sigma_b * 4096.0
        n = FIT
        self.sig_slope12 = max(1, int(sig * (12.0 / (n * (n * n - 1))) ** 0.5 + 0.5))
        self.sig_level12 = max(1, int(sig * (4.0 / n) ** 0.5 + 0.5))
        self.floor12 = int(drift_pa_s * block_s * 4096.0) + _Z * self.sig_slope12
        self.step_slope12 = int(1.414 * self.sig_slope12) + 1     # two fits' difference
        self.step_level12 = int(1.414 * self.sig_level12) + 1

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
        rate = self.fit_slope12
        self.history[self.hpos] = rate
        self.hpos = (self.hpos + 1) % HISTORY
        if self.rates < HISTORY:
            self.rates += 1
            return False
        for j in range(HISTORY):
            if self.history[j] < self.floor12:
                return False
        oldest = self.history[self.hpos]
        return 5 * rate >= 4 * oldest

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

    def rate12(self):
        # The newest rate of rise (q12 per block): the event's rate when the floor rule alarms.
        return self.history[(self.hpos - 1) % HISTORY]
