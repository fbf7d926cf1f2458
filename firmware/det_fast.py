# Fast path: a rapid depressurisation from the samples themselves, told apart from pulses.
#
# RAPID statistic: the difference of the means of the last two half-windows of R samples (0.5 s),
# a fall beyond rapid_rate_pa_s (or 6 sigma of the statistic) on two samples in a row. Pulse
# classifier: hatch equalisation, valve pulses and door slams drop the pressure within ~0.1 s and
# then stop or reverse; a hole keeps it falling. Over the last `span` samples a step (two levels)
# and a line are both fitted; when the step explains more (by a noise margin) the fall is a pulse:
# EV_TRANSIENT, never RAPID. A sustained fall is a line once it has lasted about twice as long as
# the step takes, so a 10 Pa/s fall is RAPID in ~0.7 s and a 200 Pa/s one in ~0.6 s.
# Rate: a hinge fit (level, then a line from the onset of the raw fall) over the last ~2.8 s at
# RAPID and again ~1.6 s after the onset (the refined event), then the ring's least-squares slope,
# so the events and the telemetry carry the fall's own rate.
from det_fixed import clamp, hinge_ls, mul_plan, mulshift

_ISENTROPIC = 1.0 - 0.4 / 1.4     # compensated / raw slope of air expanding without heat
_COOLED_Z = 4                     # the compensated slope is trusted this many standard errors off
_COOLED_DOUBT_Z = 2               # ... and doubted from this many (RAPID waits)
_LOSS_TOL_PCT = 30                # an event's kg/day and hole are sent when within this (%)
_LOSS_Z_X10 = 40                  # ... by this many standard errors (x10) of the rate
_Y_LIM = 1 << 16                  # the shapes' samples, q4 Pa from the ring's oldest (4 kPa)
FAST_NONE = 0
FAST_RAPID = 1               # a sustained fall (every sample while it lasts)
FAST_PULSE = 2               # a new pulse or step: EV_TRANSIENT


class FastPath:
    def __init__(self):
        self.ring = [0]
        self.level = [0]
        self.sum0 = [0]
        self.sum1 = [0]
        self.slope_m = [0]
        self.slope_s = [0]
        self.sign = 1
        self.rapid_e5 = 0

    def configure(self, sample_ms, half, rapid_pa_s, noise_pa, sign):
        # Thresholds and rate plans (floats: set-up time only).
        self.sign = sign
        self.half = half
        self.sample_s = sample_ms / 1000.0
        self.size = max(64, 2 * half + 16)
        self.ring = [0] * self.size
        self.level = [0] * self.size     # the same samples, compensated (rates)
        self.span = min(2 * half, 32)
        self.noise_pa = noise_pa
        self.set_rapid(rapid_pa_s)
        # pulse margin: 6 sigma^2 in the classifier's units ((0.5 Pa)^2 / 64)
        self.margin = int(6.0 * 4.0 * noise_pa * noise_pa / 64.0) + 1
        # least-squares slope of n samples in 1e-5 Pa/s: sum (2i - n + 1) y_q4 * 6e5 / (16 dt n (n^2-1))
        self.slope_m = [0] * (self.size + 1)
        self.slope_s = [0] * (self.size + 1)
        self.sum0 = [0] * (self.size + 1)     # prefix sums of the ring for the shapes (shapes())
        self.sum1 = [0] * (self.size + 1)
        for n in range(3, self.size + 1):
            m, s = mul_plan(6e5 / (16.0 * self.sample_s * n * (n * n - 1)))
            self.slope_m[n] = m
            self.slope_s[n] = s
        self.reset()

    def set_rapid(self, rapid_pa_s):
        self.rapid_pa_s = rapid_pa_s
        r = self.half
        self.rapid_sum = int(rapid_pa_s * self.sample_s * 256 * r * r)
        self.rapid_e5 = int(rapid_pa_s * 1e5)

    def reset(self):
        for j in range(self.size):
            self.ring[j] = 0
            self.level[j] = 0
        self.pos = 0                 # next slot of the ring
        self.count = 0               # samples in the ring (up to size)
        self.sum_old = 0             # sums of the two half-windows
        self.sum_new = 0
        self.falling_n = 0           # samples in a row beyond the RAPID threshold, not a pulse's
        self.beyond_n = 0            # samples in a row beyond it, a pulse's too
        self.judged_pulse = False    # this fall was judged a pulse at a RAPID candidate (stopped())
        self.falling = False
        self.pulse_left = 0          # samples until the last pulse has left the window
        self.onset_age = 0           # samples since the fall's onset (RAPID)
        self.hinge_e5 = 0            # rate from the hinge fit at RAPID, 1e-5 Pa/s
        self._hinge_slope = 0.0
        self._raw_slope = 0.0        # the raw pressure's hinge slope, Pa per sample
        self._hinge_var = 0.0        # the hinge fit's residual variance, Pa^2 (compensated)
        self._raw_var = 0.0          # the raw fit's
        self._raw_best = 0.0         # and its residual sum of squares
        self._onset_spread = 0.0     # the raw slope's spread over the onsets the raw pressure allows
        self.reach = 4 * self.half   # onset ages searched by the last find_onset
        self.hinge_se_e5 = 0         # the same, 1e-5 Pa/s
        self.cool_doubt = False      # the compensated fall is well short of the raw one: a cooling?
        self.step_after = 0          # samples after the best step's edge (ramp_over_step)
        self.stop_over_ramp = 0      # shapes(): a fall that stopped over a ramp to now, noise variances
        self.stop_age = 0            # ... samples since it stopped
        self.slam_over_stop = 0      # a slam and a line after it over the fall that stopped
        self.slam_after = 0          # ... samples after the slam's edge
        self.spread = 0              # mean square of the statistic while quiet (its noise)

    def _at(self, back):
        # The sample `back` samples before the newest (0 = newest).
        j = self.pos - 1 - back
        if j < 0:
            j += self.size
        return self.ring[j]

    def _level_at(self, back):
        j = self.pos - 1 - back
        if j < 0:
            j += self.size
        return self.level[j]

    def update(self, d, level):
        # One sample (q8, relative to the anchor): d the raw pressure (detection: no temperature
        # noise), level compensated with the filtered temperature (rates); FAST_* code.
        r = self.half
        self.ring[self.pos] = d
        self.level[self.pos] = level
        self.pos = self.pos + 1 if self.pos + 1 < self.size else 0
        if self.count < self.size:
            self.count += 1
        self.onset_age += 1
        mid = self._at(r)
        self.sum_new += d - mid                  # slots not yet written hold 0: the sums stay exact
        self.sum_old += mid - self._at(2 * r)
        if self.pulse_left:
            self.pulse_left -= 1
        if self.count <= 2 * r:
            return FAST_NONE
        diff = clamp(self.sum_old - self.sum_new, 1 << 14)
        drop = (self.sum_old - self.sum_new) * self.sign
        if drop < self.rapid_sum:
            self.falling_n = 0
            self.beyond_n = 0
            self.falling = False
            self.judged_pulse = False
            if not self.pulse_left:
                self.spread += (((diff * diff) >> 4) - self.spread) >> 10
            return FAST_NONE
        self.falling = True
        self.beyond_n += 1
        if self._pulse():
            self.falling_n = 0
            new = not self.pulse_left
            self.pulse_left = 2 * r
            return FAST_PULSE if new else FAST_NONE
        self.falling_n += 1
        return FAST_RAPID if self.falling_n >= 2 else FAST_NONE

    def _pulse(self):
        # Does a step explain the last `span` samples better than a line does?
        n = self.span
        total = 0
        for k in range(n):
            total += self._at(k)
        mean = total // n
        syy = 0
        sty = 0
        left = 0
        best = 0
        for k in range(n):
            y = clamp((self._at(n - 1 - k) - mean) >> 7, 1 << 12)     # oldest first, 0.5 Pa
            syy += y * y
            sty += (2 * k - n + 1) * y
            if k < n - 1:
                left += y
                u = left >> 3
                e = (u * u) // ((k + 1) * (n - k - 1)) * n
                if e > best:
                    best = e
        q = (sty << 4) // (n * (n * n - 1) // 3)
        line = (q * (sty >> 7)) >> 3
        return best > line + self.margin

    def find_onset(self, reach=0):
        # The fall's onset and rate by a hinge fit over the ring: level a until sample k, then a
        # line from a. The onset is the maximum-likelihood k for the raw pressure (its noise is
        # 1.3 Pa; the compensated level's is 2.1 Pa with the temperature's, and an onset known to a
        # sample or two pins the line to the level before, halving the rate's error); the rate is
        # the compensated level's slope from that onset, its standard error with it. Onsets up to
        # `reach` samples old (default ~2 s) are searched. At RAPID only: floats allowed.
        self.reach = reach or 4 * self.half
        self.onset_age = self._hinge(self._at, 0, self.reach)
        self.hinge_e5 = int(self._cooled(self._hinge_slope, self._raw_slope) * 1e5 / self.sample_s)

    def _rate_se(self):
        # Standard error (Pa per sample) of the compensated hinge slope, from the fits' residuals:
        # its own noise with the onset pinned; the onset's noise (found on the raw pressure) as it
        # moves the slope: the raw line free at the onset (its own intercept) minus pinned, or the
        # spread of the slopes over the onsets the raw pressure allows (profile likelihood: where
        # the fall's start is shallow against the noise, wider); and the onset's place between
        # two samples (uniform, 1/12 of a sample squared).
        n = self.count
        m = self.onset_age
        if m < 3:
            return 1e4
        sh = m * (m - 1) / 2.0
        shh = (m - 1) * m * (2 * m - 1) / 6.0
        pinned = n / (n * shh - sh * sh)
        free = 1.0 / (shh - sh * sh / m)
        slope = self.hinge_e5 * self.sample_s / 1e5
        ratio = slope / self._raw_slope if self._raw_slope else 1.0
        onset = max(self._raw_var * (free - pinned), self._onset_spread * self._onset_spread)
        phase = slope * sh / shh
        return (self._hinge_var * pinned + onset * ratio * ratio + phase * phase / 12.0) ** 0.5

    def rate_known(self):
        # After find_onset: is the hinge rate known well enough to send its kg/day and hole, the
        # tolerance (30 %) at least _LOSS_Z_X10 / 10 of its standard errors? (The worst errors of
        # 200 parts were 3.6-4.5 standard errors: an event is sent when the noise favours a fall.)
        # The onset's uncertainty from the profile: the raw hinges within z^2 sigma^2 of the best.
        z = _LOSS_Z_X10 / 10.0
        self._hinge(self._at, 0, self.reach, self._raw_best + z * z * self._raw_var)
        self._onset_spread /= z
        self.hinge_se_e5 = int(min(self._rate_se() * 1e5 / self.sample_s, 1 << 29))
        return self.hinge_se_e5 * _LOSS_Z_X10 // _LOSS_TOL_PCT <= abs(self.hinge_e5) // 10

    def known_age(self):
        # The onset age at which the rate should be known (its error falls as the age^1.5).
        m = self.onset_age
        allowed = abs(self.hinge_e5) * _LOSS_TOL_PCT / _LOSS_Z_X10 / 10.0
        if allowed <= 0 or self.hinge_se_e5 <= allowed:
            return m + 1
        return max(m + 1, int(m * (self.hinge_se_e5 / allowed) ** (2.0 / 3.0) + 0.999))

    def _cooled(self, slope, raw):
        # The compensated slope within what the gas can do: as it leaves, the rest expands and
        # cools at most isentropically (dT/T = (1 - 1/1.4) dP/P; the walls warm it back over tens
        # of seconds) and never warms, so the compensated fall is between 0.714 and 1 times the
        # raw one. The temperature's noise (1.7 Pa a sample) is most of the compensated slope's
        # error: outside those bounds it is noise (a 10 Pa/s fall reported 49 % slow, seen).
        # A habitat's only: gas let into a chamber heats by more than that.
        self.cool_doubt = False
        if self.sign < 0:
            return slope
        if slope * slope > raw * raw and raw * slope > 0:
            return raw
        low = raw * _ISENTROPIC
        # shallower than that by 4 standard errors: the gas cooled with no air lost (an eclipse,
        # a cold vent: the sensors see it); the compensated slope is the loss. By 2-4: not told yet
        # (real falls at 10-21 Pa/s were at most 1.8 over 500 parts; coolings that went RAPID, 2.3-3.9)
        z = (slope - low) * self.sign / self._pinned_var() ** 0.5
        self.cool_doubt = _COOLED_DOUBT_Z <= z < _COOLED_Z
        if z >= _COOLED_Z:
            return slope
        if raw * slope <= 0:
            return raw
        return low if slope * slope < low * low else slope

    def _pinned_var(self):
        # The compensated hinge slope's variance (Pa per sample, squared) from its own residuals,
        # the onset pinned (the temperature's noise is most of it).
        n = self.count
        m = self.onset_age
        sh = m * (m - 1) / 2.0
        shh = (m - 1) * m * (2 * m - 1) / 6.0
        return max(self._hinge_var * n / max(n * shh - sh * sh, 1.0), 1e-9)

    def carry_rate(self, rate_e5):
        # Re-anchored (reset) during a fall: its last rate stands until a ring of samples since
        # here is in hand (onset_rate_e5).
        self.hinge_e5 = rate_e5

    def _hinge(self, at, only, reach, within=0.0):
        # Best hinge age (samples since the onset, up to reach) of the samples at(k), or the fit at
        # age `only`; the slope (Pa per sample) of the compensated level at it goes to _hinge_slope,
        # the residuals' variance to _hinge_var (the raw fit's to _raw_var). With `within`: the
        # half-range of the slopes of every hinge whose residual sum of squares is within it
        # (the onset's own uncertainty, to _onset_spread).
        n = self.count
        base = at(n - 1)
        sum_y = 0.0
        sum_yy = 0.0
        for k in range(n):
            y = (at(k) - base) / 256.0
            sum_y += y
            sum_yy += y * y
        best = None
        best_m = 0
        low = high = None
        min_after = max(4, self.half // 2)
        tail_y = 0.0                 # sums over the samples after the hinge, i counted from it
        tail_iy = 0.0
        for m in range(1, min(n - 8, reach) + 1):
            y = (at(m - 1) - base) / 256.0
            tail_iy += tail_y        # every sample already in the tail moves one step further out
            tail_y += y
            if m < min_after or (only and m != only):
                continue             # a hinge at the last few samples would fit their noise
            # regressors 1 and h (0 before the hinge, 0..m-1 after): two-parameter least squares
            sh = m * (m - 1) / 2.0
            shh = (m - 1) * m * (2 * m - 1) / 6.0
            slope, rss = hinge_ls(n, sh, shh, sum_y, sum_yy, tail_iy)
            if within:
                if rss <= within:
                    low = slope if low is None or slope < low else low
                    high = slope if high is None or slope > high else high
            elif best is None or rss < best:
                best = rss
                best_m = m
                self._hinge_slope = slope
        if within:
            self._onset_spread = (high - low) / 2.0 if low is not None else 0.0
            return 0
        self._hinge_var = max(best or 0.0, 0.0) / (n - 2)    # the residuals' variance, Pa^2
        if best_m and not only:
            self._raw_slope = self._hinge_slope
            self._raw_var = self._hinge_var
            self._raw_best = best
            self._hinge(self._level_at, best_m, reach)
        return best_m

    def still_falling(self, recent_n, z):
        # After find_onset: is the fall still going at its own mean rate since the onset? A choked
        # leak's rate changes by well under 1 % in a second; a hatch equalisation or a valve pulse
        # decelerates to 0 or reverses. The slope of the last recent_n raw samples is a stop when
        # below half the raw hinge slope by more than z standard errors: at 10-100 Pa/s the fall's
        # own deceleration is not resolvable (never rejected); a 240 Pa/s fall that stopped 0.25 s
        # ago is. At a RAPID candidate only: floats allowed.
        m = min(recent_n, self.onset_age)
        if m < 4:
            return True
        recent, se = self._fall_slope(m)
        return recent >= -self.sign * self._raw_slope / 2 - z * se

    def _fall_slope(self, m):
        # The least-squares slope of the newest m raw samples, Pa per sample in the fall's direction
        # (> 0: falling), and its standard error (the raw samples' noise from the statistic's spread
        # while quiet: var 2 R sigma^2, at least noise_pa). At a RAPID candidate only: floats allowed.
        base = self._at(m - 1)
        sty = 0
        for k in range(m):
            sty += (2 * k - m + 1) * (self._at(m - 1 - k) - base)
        sigma = max(self.noise_pa, (self.spread * 8.0 / self.half) ** 0.5 / 256.0)
        return -self.sign * sty * 6.0 / (256.0 * m * (m * m - 1)), sigma * (12.0 / (m * (m * m - 1))) ** 0.5

    def ramp_over_step(self, edge):
        # After find_onset: how much better the fall since its onset is a ramp than a step, in
        # noise variances (int). A door slam or a valve click drops the level within ~0.1 s and then
        # stays or flows back over tens of seconds; a hole's fall goes on. The step: a level, `edge`
        # free samples (its own edge), another level; best split within the onsets searched. The
        # ramp: the raw hinge (_raw_best). > 0: the ramp fits better (a fall), < 0: the step.
        n = self.count
        base = self._at(n - 1)
        total = 0.0
        total2 = 0.0
        for k in range(n):
            y = (self._at(k) - base) / 256.0
            total += y
            total2 += y * y
        after = after2 = mid = mid2 = 0.0
        for k in range(edge):
            y = (self._at(k) - base) / 256.0
            mid += y
            mid2 += y * y
        best = None
        for e in range(1, min(n - edge - 8, self.reach) + 1):
            y = (self._at(e - 1) - base) / 256.0       # leaves the edge for the level after
            after += y
            after2 += y * y
            y2 = (self._at(e - 1 + edge) - base) / 256.0
            mid += y2 - y
            mid2 += y2 * y2 - y * y
            nb = n - e - edge
            before = total - after - mid
            rss = after2 - after * after / e + (total2 - after2 - mid2) - before * before / nb
            if best is None or rss < best:
                best = rss
                self.step_after = e
        sigma = max(self.noise_pa, (self.spread * 8.0 / self.half) ** 0.5 / 256.0)
        return int((best - self._raw_best) / (sigma * sigma))

    def _sigma(self):
        # The raw samples' noise (Pa): the statistic's spread while quiet, at least noise_pa.
        return max(self.noise_pa, (self.spread * 8.0 / self.half) ** 0.5 / 256.0)

    def _prefix(self):
        # Prefix sums of the ring, oldest first (time index j = 0 .. n-1, y in q4 Pa from the oldest
        # sample): sum0[j] = y_0 + .. + y_(j-1), sum1[j] = sum of i y_i below j. Ints: |y| < 2^16, so
        # sum1 < 2^28. Returns the sum of y^2 (a float: event time only).
        n = self.count
        base = self._at(n - 1)
        s0 = s1 = 0
        yy = 0.0
        for j in range(n):
            self.sum0[j] = s0
            self.sum1[j] = s1
            y = clamp((self._at(n - 1 - j) - base) >> 4, _Y_LIM)
            s0 += y
            s1 += j * y
            yy += y * y
        self.sum0[n] = s0
        self.sum1[n] = s1
        return yy

    def _y(self, j):
        n = self.count
        return clamp((self._at(n - 1 - j) - self._at(n - 1)) >> 4, _Y_LIM)

    def shapes(self, edge, min_flat):
        # After find_onset, three shapes of the fall over the ring's raw samples, exhaustively (the
        # ring is small; a stop searched from the hinge's onset stuck in a local optimum and called
        # 85 Pa pulses reached over 0.3 s RAPID):
        # - a ramp: a level, then a line from an onset to now (a hole; the raw hinge);
        # - a fall that stopped: a level, a line from an onset to a stop, a level again (a door
        #   closing over half a second, a hatch equalising), the stop at least min_flat samples old;
        # - a slam, then a line: a level, `edge` free samples, a line (a hole opening with a slam).
        # stop_over_ramp and slam_over_stop: how much better each fits than the one before, in noise
        # variances (the stop has one parameter more than the ramp; the slam `edge` more than the stop).
        n = self.count
        yy = self._prefix()
        sy = self.sum0[n]
        syy = yy - sy * sy / n
        ramp = stop = None
        lo = max(0, n - 1 - self.reach)
        for i0 in range(lo, n - 4):
            for i1 in range(i0 + 3, n):
                flat = n - 1 - i1
                if 0 < flat < min_flat:
                    continue
                rss = syy - self._explained(n, i0, i1, sy)
                if flat == 0:
                    if ramp is None or rss < ramp:
                        ramp = rss
                elif stop is None or rss < stop:
                    stop = rss
                    self.stop_age = flat
        slam = None
        for i0 in range(lo + 4, n - edge - 4):
            rss = self._slam(n, i0, edge, yy)
            if slam is None or rss < slam:
                slam = rss
                self.slam_after = n - i0 - edge
        var = self._sigma() * self._sigma() * 256.0
        self.stop_over_ramp = int((ramp - stop) / var) if stop is not None else -99
        self.slam_over_stop = int((min(ramp, stop if stop is not None else ramp) - slam) / var)

    def _explained(self, n, i0, i1, sy):
        # The variance a level and the piecewise line h (0 up to i0, rising by 1 a sample to i1, then
        # flat) explain beyond the mean, from the prefix sums.
        s0 = self.sum0
        s1 = self.sum1
        rise = i1 - i0
        after = n - 1 - i1
        sh = rise * (rise + 1) / 2.0 + rise * after
        shh = rise * (rise + 1) * (2 * rise + 1) / 6.0 + rise * rise * after
        shy = (s1[i1 + 1] - s1[i0 + 1]) - i0 * (s0[i1 + 1] - s0[i0 + 1]) + rise * (sy - s0[i1 + 1])
        c = shy - sh * sy / n
        return c * c / (shh - sh * sh / n)

    def _slam(self, n, i0, edge, yy):
        # Residuals of a level before i0, `edge` free samples, a free line from i0 + edge to now.
        s0 = self.sum0
        s1 = self.sum1
        a = i0 + edge
        e = n - a
        before = s0[i0]
        after = s0[n] - s0[a]
        free = 0.0
        for j in range(i0, a):
            y = self._y(j)
            free += y * y
        mid = (a + n - 1) / 2.0
        sxy = (s1[n] - s1[a]) - mid * after
        return yy - free - before * before / i0 - after * after / e - sxy * sxy * 12.0 / (e * (e * e - 1))

    def falls_after_step(self, z, m):
        # Do the m samples after a step's edge (ramp_over_step's, or the slam's of shapes()) still
        # fall, by z standard errors of their own slope? (A hole that opens with a slam: a step and a
        # ramp, fitted by neither.)
        if m < 4:
            return False
        slope, se = self._fall_slope(m)
        return slope >= z * se

    def held_as_pulse(self, settle):
        # Beyond the RAPID threshold for `settle` samples, every one of them held as a pulse's by the
        # step-or-line classifier (falling_n 0), never judged a pulse at a candidate, and the newest
        # half-window (at least 4 samples) of raw samples still falling beyond the RAPID rate: a
        # hole behind a slam may be (the shapes decide, in floats), a pulse recovering or a step
        # that stays is not (integers: a pulse and its hold allocate nothing).
        if not self.falling or self.falling_n or self.beyond_n < settle or self.judged_pulse:
            return False
        return -self.sign * self._slope_e5(self.ring, max(4, self.half)) > self.rapid_e5

    def line_after(self, m):
        # The rate (hinge_e5) of a fall behind a slam: the free line of the compensated level over the
        # m samples after the slam's edge; its onset there.
        self.onset_age = m
        self.hinge_e5 = self.rate_e5(m)

    def stopped(self):
        # A fall judged a stop (still_falling, a fall that stopped, a step): the statistic counts it
        # as a pulse's for its window, and no later fit calls this fall a hole behind a slam;
        # True if this is a new pulse (EV_TRANSIENT).
        self.judged_pulse = True
        self.falling_n = 0
        new = not self.pulse_left
        self.pulse_left = 2 * self.half
        return new

    def rate_e5(self, n):
        # Least-squares slope of the newest n compensated samples (3 <= n <= size), 1e-5 Pa/s.
        return self._slope_e5(self.level, n)

    def _slope_e5(self, samples, n):
        # The same of the ring's raw (ring) or compensated (level) samples; integers.
        if n > self.count:
            n = self.count
        if n < 3:
            return 0
        j0 = self.pos - n
        if j0 < 0:
            j0 += self.size
        base = samples[j0]
        sty = 0
        j = j0
        for k in range(n):
            sty += (2 * k - n + 1) * clamp((samples[j] - base) >> 4, 1 << 14)
            j = j + 1 if j + 1 < self.size else 0
        return mulshift(sty, self.slope_m[n], self.slope_s[n])

    def onset_rate_e5(self):
        # The hinge fit's rate until a whole ring of the fall is in hand (a free line over fewer
        # samples is noisier than the hinge pinned to the level before), then the ring's slope.
        if self.onset_age < self.size:
            return self.hinge_e5
        return self.rate_e5(self.size)
