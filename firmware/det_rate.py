# Block rates: least-squares slopes of the thermally corrected level over the last n blocks
# (short ring, up to 32 blocks) and the last n 16-block means (long ring, up to 8.5 minutes at
# 1 s blocks). The detector picks the ring (and n, from the leak's onset) for telemetry and events.
# While a leak lasts, a growing window: the slope of every 16-block mean since its onset, from
# running integer sums (its standard error falls as the window^-1.5). Once that error is a tenth of
# the rate, the detector sends EV_LEAK_DETECTED again with it (the alarm's own rate is fitted on the
# few minutes whose noise raised the alarm: it can be off by 2x or more).
from det_fixed import clamp, isqrt, mul_plan, mulshift

RING = 32
LONG_EVERY = 16
GROW_MAX = 256               # growing window: 256 x 16 blocks (~68 min at 1 s blocks), then anew
_GROW_LIM = 1 << 12          # its entries, q6 from the first (64 Pa): every sum stays < 2^30
PAST = 4                     # the growing window's slope this many entries back: the leak before a repress
TREND = 64                   # a leak's trend: the newest 64 means of 4 long entries (~68 min at 1 s blocks)
TREND_SLOT = 4
_TREND_LIM = 1 << 11         # their q4 distance from the middle one (128 Pa): every sum stays < 2^30
TREND_Z = 2                  # its bend is believed beyond this many standard errors (soft threshold)
TREND_SE = 6                 # and only while that error is below a sixth of the rate
TREND_MIN = 16               # slots before it speaks


class BlockRates:
    def __init__(self):
        self.short = [0] * RING
        self.long = [0] * RING
        self.short_m = [0] * (RING + 1)
        self.short_s = [0] * (RING + 1)
        self.long_m = [0] * (RING + 1)
        self.long_s = [0] * (RING + 1)
        self.g_n = [0, 0]                # growing windows: 0 since the alarming CUSUM's run, 1 since
        self.g_base = [0, 0]             # the ramp's onset pinned_slope found (when older)
        self.g_sy = [0, 0]
        self.g_sxy = [0, 0]
        self.g_held = [0, 0]             # a full window's last slope, standing while its successor
        self.g_full = [0, 0]             # is young (1: it restarted full)
        self.past_e5 = [0] * PAST        # the run's window's slope and length at its last PAST entries
        self.past_n = [0] * PAST
        self.trend = [0] * TREND         # the leak's 64-block means (q8), a ring from its run's start

    def configure(self, block_s):
        for n in range(3, RING + 1):
            c = 6e5 / (256.0 * block_s * n * (n * n - 1))
            self.short_m[n], self.short_s[n] = mul_plan(c)
            self.long_m[n], self.long_s[n] = mul_plan(c / LONG_EVERY)
        # x / (n (n^2-1) / 256) -> 1e-5 Pa/s: entries q6 of 16-block means, 6 x 1e5 / 64 / 256 per 16 blocks
        self.grow_m, self.grow_s = mul_plan(6e5 / (64.0 * 256.0 * LONG_EVERY * block_s))
        # the trend's slopes, q4 per slot x 2^10 -> 1e-5 Pa/s
        self.trend_m, self.trend_s = mul_plan(1e5 / (16.0 * 1024.0 * LONG_EVERY * TREND_SLOT * block_s))
        self.reset()

    def reset(self):
        for j in range(RING):
            self.short[j] = 0
        self.short_pos = 0
        self.short_count = 0
        self.reset_long()

    def reset_long(self):
        # The long ring and the growing window only (after a repress: its slope must not linger).
        for j in range(RING):
            self.long[j] = 0
        self.long_pos = 0
        self.long_count = 0
        self.long_sum = 0
        self.scatter = -1                # the long ring's residual mean square (-1: not yet for this entry)
        self.long_n = 0
        self.grow_on = False
        self.pinned_age = 0              # blocks since the onset pinned_slope found last
        for k in range(2):
            self.g_n[k] = 0
            self.g_full[k] = 0
        self.forget_past()
        self.trend_n = 0                 # slots held (up to TREND)
        self.trend_pos = 0
        self.trend_sum = 0               # long entries summed for the next slot
        self.trend_k = 0
        self.trend_line_e5 = 0           # the straight line's slope over the slots (0: none)
        self.trend_bend_e5 = 0           # the quadratic's at the newest slot less that

    def forget_past(self):
        for j in range(PAST):
            self.past_n[j] = 0
        self.past_pos = 0

    def past(self):
        # (slope, entries) of the run's growing window PAST entries ago (entries 0: none), before a
        # repress that has just been seen began: its first minute is in the newest entries already
        return self.past_e5[self.past_pos], self.past_n[self.past_pos]

    @property
    def grow_n(self):
        # (a full window's slope standing for its young successor counts as full)
        return GROW_MAX if self._held(0) else self.g_n[0]

    def _held(self, k):
        return self.g_full[k] and self.g_n[k] < GROW_MAX // 2

    def grow_start(self, n, n_early):
        # Growing windows from the newest n long-ring entries (0: the alarming CUSUM's run, as far as
        # the ring reaches) and n_early (1: the ramp's onset pinned_slope found, when older); grow_on =
        # False stops them.
        self.grow_on = True
        for k in range(2):
            self.g_n[k] = 0
            self.g_full[k] = 0
            m = min(n if k == 0 or n_early <= n else n_early, self.long_count)
            j = self.long_pos - m
            if j < 0:
                j += RING
            for _ in range(m):
                self._grow(k, self.long[j])
                if k == 0:
                    self._trend_add(self.long[j])
                j += 1
                if j == RING:
                    j = 0

    def regrow(self, n):
        # Window 1 anew from the newest n long-ring entries: the ramp's onset found again later, on
        # more of the ramp (at an early alarm pinned_slope has a few minutes of it: 136 s late at
        # 200 ms, and a 1e-3 Pa/s rate since then 33 % slow 10 minutes after the alarm).
        self.g_n[1] = 0
        self.g_full[1] = 0
        m = min(n, self.long_count)
        j = self.long_pos - m
        if j < 0:
            j += RING
        for _ in range(m):
            self._grow(1, self.long[j])
            j += 1
            if j == RING:
                j = 0

    def _trend_add(self, entry):
        # A long entry into the trend's next slot; a full slot refits the trend.
        self.trend_sum += entry >> 2
        self.trend_k += 1
        if self.trend_k < TREND_SLOT:
            return
        self.trend[self.trend_pos] = self.trend_sum
        self.trend_pos = self.trend_pos + 1 if self.trend_pos + 1 < TREND else 0
        if self.trend_n < TREND:
            self.trend_n += 1
        self.trend_sum = 0
        self.trend_k = 0
        self._trend_fit()

    def _trend_fit(self):
        # Least squares of the slots on orthogonal polynomials of their index i (n slots):
        # P1 = 2i - (n - 1), P2 = 3 P1^2 - (n^2 - 1). The straight line's slope per slot is
        # 6 sum(P1 y) / (n (n^2 - 1)); the quadratic's at the newest slot adds 15 sum(P2 y) /
        # (n (n + 1) (n^2 - 4)) (the bend). y: q4 from the middle slot.
        n = self.trend_n
        self.trend_line_e5 = 0
        self.trend_bend_e5 = 0
        if n < TREND_MIN:
            return
        j = self.trend_pos - n
        if j < 0:
            j += TREND
        mid = j + n // 2
        if mid >= TREND:
            mid -= TREND
        base = self.trend[mid]
        s1 = 0
        s2 = 0
        nn = n * n - 1
        for i in range(n):
            y = (self.trend[j] - base) >> 4
            if y > _TREND_LIM or y < -_TREND_LIM:
                return                       # a fall this far is no slow leak's trend
            p1 = 2 * i - (n - 1)
            s1 += p1 * y
            s2 += (3 * p1 * p1 - nn) * y
            j = j + 1 if j + 1 < TREND else 0
        line = ratio(6 * s1, n * nn, 10)
        bend = 15 * ratio(s2, n * (n + 1) * (n * n - 4), 10)
        self.trend_bend_e5 = mulshift(bend, self.trend_m, self.trend_s)
        self.trend_line_e5 = mulshift(line, self.trend_m, self.trend_s)

    def trend_e5(self, se_k):
        # A leak's rate at the newest slot when its trend bends (a growing hole), else 0: the
        # straight line's slope plus the quadratic's bend, shrunk by TREND_Z of its standard errors
        # (a soft threshold: a bend of noise alone moves the rate by (z - TREND_Z) of them, and only
        # while they are below a sixth of the rate). se_k: as since_e5's; the bend's standard error
        # is se_k x 0.0303 / sqrt(n (n + 1) (n^2 - 4) / (n - 1)) (3.9x the line's).
        n = self.trend_n
        line = self.trend_line_e5
        if not line or n < TREND_MIN:
            return 0
        se = ((se_k * 31) >> 10) // isqrt(n * (n + 1) * (n * n - 4) // (n - 1))
        bend = self.trend_bend_e5
        if (line if line > 0 else -line) < TREND_SE * se:
            return 0
        if bend > TREND_Z * se:
            return line + bend - TREND_Z * se
        if bend < -TREND_Z * se:
            return line + bend + TREND_Z * se
        return 0

    def _grow(self, k, entry):
        y = (entry - self.g_base[k]) >> 2
        full = self.g_n[k] >= GROW_MAX
        if full:
            # its slope stands until the new window holds half as many entries: restarted alone,
            # the telemetry fell back to the 8.5-minute slope, 30-56 % off for ~10 minutes every
            # ~68 minutes at 200 ms (red team)
            self.g_held[k] = self._slope(k)
        self.g_full[k] = 1 if full else (self.g_full[k] if self.g_n[k] else 0)
        if self.g_n[k] == 0 or full or y > _GROW_LIM or y < -_GROW_LIM:
            self.g_n[k] = 0                # first, full, or the level went far: anew from here
            self.g_base[k] = entry         # (the long ring speaks for its first 32 entries)
            self.g_sy[k] = 0
            self.g_sxy[k] = 0
            y = 0
        self.g_sy[k] += y
        self.g_sxy[k] += self.g_n[k] * y
        self.g_n[k] += 1

    def grow_e5(self, k=0):
        return self.g_held[k] if self._held(k) else self._slope(k)

    def _slope(self, k):
        # Slope of a growing window (0 below 3 entries): 12 (sum i y - (n-1)/2 sum y) / (n (n^2-1)).
        n = self.g_n[k]
        if n < 3:
            return 0
        x = 2 * self.g_sxy[k] - (n - 1) * self.g_sy[k]      # |x| < 2^29 (256^2 x 2^12)
        # x 2^8 / (n (n^2 - 1)): x takes what bits it can (dividing by (n (n^2 - 1)) >> 8 instead
        # read 16 entries' slope 6.3 % steep, 18's 3.2 %: 15.94 truncated to 15, 22.7 to 22)
        return mulshift(ratio(x, n * (n * n - 1), 8), self.grow_m, self.grow_s)

    def since_e5(self, se_k):
        # A habitat leak's rate since its onset: the longer window's (1), whose first entries may
        # precede the onset (a flat stretch: a slower fall), unless it falls slower than the alarm's
        # run's (0), whose entries it holds, by 2 standard errors of their difference (nested
        # windows: var(a - b) = var(a) - var(b)). se_k: an n-entry slope's standard error x 16 is
        # se_k / sqrt(n (n^2 - 1)). (Two-sided, it fell back on the young run's window when noise had
        # put that one 2 SE low: 40 % off at 200 ms.)
        a = self.grow_e5(0)
        na = GROW_MAX if self._held(0) else self.g_n[0]
        nb = GROW_MAX if self._held(1) else self.g_n[1]
        if nb <= na:
            return a
        b = self.grow_e5(1)
        d = (b - a) * 16                   # > 0: the longer window falls slower
        if d <= 0:
            return b
        se_a = se_k // isqrt(na * (na * na - 1))
        se_b = se_k // isqrt(nb * (nb * nb - 1))
        return b if d * d <= 4 * (se_a * se_a - se_b * se_b) else a

    def add(self, level_q8):
        self.short[self.short_pos] = level_q8
        self.short_pos = (self.short_pos + 1) % RING
        if self.short_count < RING:
            self.short_count += 1
        self.long_sum += level_q8 >> 4            # 16 x 2^26 stays a small int
        self.long_n += 1
        if self.long_n == LONG_EVERY:
            self.long[self.long_pos] = self.long_sum
            self.long_pos = (self.long_pos + 1) % RING
            if self.long_count < RING:
                self.long_count += 1
            self.long_sum = 0
            self.long_n = 0
            self.scatter = -1
            if self.grow_on:
                self._grow(0, self.long[self.long_pos - 1])
                self._grow(1, self.long[self.long_pos - 1])
                self._trend_add(self.long[self.long_pos - 1])
                self.past_e5[self.past_pos] = self.grow_e5(0)
                self.past_n[self.past_pos] = self.grow_n
                self.past_pos = self.past_pos + 1 if self.past_pos + 1 < PAST else 0

    def short_e5(self, n):
        return slope_of(self.short, self.short_pos, min(n, self.short_count), self.short_m, self.short_s)

    def long_e5(self, n):
        return slope_of(self.long, self.long_pos, min(n, self.long_count), self.long_m, self.long_s)

    def long_scatter(self, n=0):
        # Mean square (q8^2) of the full long ring's entries (or of its newest n, uncached) about
        # their least-squares line, over n - 2 degrees of freedom: the entries' own scatter, whatever
        # its source (noise, a fan's or the thermal model's residual), once per entry. Entries from
        # their mean within 1024 Pa (a 4 Pa/s fall's 8.5 minutes), residuals within 16 Pa: every sum
        # stays a small int (6 x 512 x 2^18 and 32 x 4095^2 < 2^30).
        whole = not n
        if whole:
            if self.scatter >= 0:
                return self.scatter
            n = self.long_count if self.long_count == RING else 0
        if n < 3 or n > self.long_count:
            return 0
        ring = self.long
        first = self.long_pos - n
        if first < 0:
            first += RING
        j = first
        base = ring[j]
        mean = 0
        for _ in range(n):
            mean += clamp(ring[j] - base, 1 << 19)
            j = j + 1 if j + 1 < RING else 0
        mean = base + mean // n
        sxy = 0
        j = first
        for i in range(n):
            sxy += (2 * i - n + 1) * clamp(ring[j] - mean, 1 << 18)
            j = j + 1 if j + 1 < RING else 0
        b32 = ratio(6 * sxy, n * (n * n - 1), 5)     # slope per entry x 32 (q8)
        ss = 0
        j = first
        for i in range(n):
            r = clamp(clamp(ring[j] - mean, 1 << 18) - ((b32 * (2 * i - n + 1)) >> 6), 4095)
            ss += r * r
            j = j + 1 if j + 1 < RING else 0
        if whole:
            self.scatter = ss // (n - 2)
        return ss // (n - 2)

    def pinned_slope(self, base_q8):
        # Fall (q8 per block) of a ramp from the learnt level base_q8 (q8): the residual base - level
        # fitted as b (t - t0)+ over the short ring's blocks and the long ring's older 16-block means,
        # the onset t0 searched every 2 blocks within the short ring and every 8 before it (6 blocks
        # after it at least). Pinned to a level learnt over up to an hour, not one fitted to the
        # minutes before the alarm: a hinge with its own level, over 32 blocks when a fast CUSUM
        # raised the alarm, was up to 16x off at 1e-2 Pa/s (the onset older than its ring). At
        # events only: floats.
        ns = self.short_count
        nl = self.long_count
        skip = (ns - self.long_n + LONG_EVERY - 1) // LONG_EVERY     # long entries the short ring holds
        if skip < 0:
            skip = 0
        oldest = -(ns - 1)
        if nl > skip:
            oldest = -(self.long_n + LONG_EVERY * nl - 1)
        best = 0.0
        slope = 0.0
        self.pinned_age = 0
        t0 = oldest
        while t0 <= -6:
            srh = 0.0
            shh = 0.0
            j = self.short_pos
            for k in range(ns):              # block t = -k (newest first): h = t - t0
                h = -k - t0
                if h <= 0:
                    break
                j = j - 1 if j else RING - 1
                r = base_q8 - self.short[j]
                srh += r * h
                shh += h * h
            for k in range(skip, nl):        # entry k: blocks lo..lo + 15, the mean of (t - t0)+
                lo = -(self.long_n + LONG_EVERY * k + LONG_EVERY - 1)
                hi = lo + LONG_EVERY - 1
                if t0 >= hi:
                    break
                h = (lo + hi) / 2.0 - t0 if t0 <= lo else (hi - t0) * (hi - t0 + 1) / (2.0 * LONG_EVERY)
                j = self.long_pos - 1 - k
                if j < 0:
                    j += RING
                r = base_q8 - self.long[j]
                srh += LONG_EVERY * r * h
                shh += LONG_EVERY * h * h
            if srh > 0 and srh * srh > best * shh:
                best = srh * srh / shh       # the residual sum of squares falls by this much
                slope = srh / shh
                self.pinned_age = -t0        # blocks since the ramp's onset
            t0 += 2 if t0 >= -ns else 8
        return slope


def ratio(num, den, shift):
    # num x 2^shift // den within 31 bits (den > 0): num takes what bits it can, den gives the rest
    while shift and -(1 << 28) < num < (1 << 28):
        num <<= 1
        shift -= 1
    den >>= shift
    return num // (den if den > 0 else 1)


def slope_of(ring, pos, n, plan_m, plan_s):
    # Slope of the newest n entries (0 below 3): sum (2i - n + 1) * entry, times a plan. Entries
    # within 2048 Pa of the oldest (sum |2i - n + 1| <= 512: |sxy| < 2^28, as mulshift needs): at
    # 256 Pa the 8.5-minute slope of a 0.8 Pa/s leak read -0.565 (clamped; the 32-block rung hid it).
    if n < 3:
        return 0
    j = pos - n
    if j < 0:
        j += RING
    base = ring[j]
    sxy = 0
    for i in range(n):
        sxy += (2 * i - n + 1) * clamp(ring[j] - base, 1 << 19)
        j += 1
        if j == RING:
            j = 0
    return mulshift(sxy, plan_m[n], plan_s[n])

