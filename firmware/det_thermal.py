# Baseline and thermal model: the level the slow path compares against.
#
# The BMP280's offset temperature coefficient (datasheet +-1.5 Pa/K) survives the P/T
# compensation: the compensated level moves by c * (T - Tref). On a +-0.6 K orbital cycle that is a
# slope of up to ~1e-3 Pa/s, the size of a 1 kg/day leak on the ISS. ThermalModel fits it online:
# 64-block segment means of the level (y) and temperature (x) in a ring of 96 (~1.7 h), least
# squares of y on [1, x, t] (the t term takes any leak or slow drift, so neither biases c), and
# the standard error of c from the fit's own residuals. The slow path subtracts c * x and widens
# every CUSUM's allowance by bound * |x - x_baseline|, bound = min(prior, 4 standard errors):
# before a thermal cycle has been seen c is not identifiable and the bound is the datasheet prior.
# Segments that jump (hatch steps, repress, pulses, fast leaks) are left out and the level after
# them is a new era with its own intercept (what the level did while unseen is unknown: joining
# the eras with the c then in use left a step of c's error times the temperature change across
# the gap, and pulled c 15-45 % low, seen failing on a recorded-style trace); the fit is frozen
# while an alarm is building, so a leak cannot teach it.
from det_fixed import clamp, isqrt

SEGMENTS = 96
SEGMENT_BLOCKS = 64
TEMPCO_Q = 3276.8            # tempco units per Pa/K: correction_q12 = tempco * dx >> 12, dx in t_fine
_Z = 4                       # standard errors in the bound
_FLOOR_Q = 98                # 0.03 Pa/K: never claim to know c better (its stability, not the fit)
_MIN_SEGMENTS = 64           # ~68 minutes: three quarters of an orbital thermal cycle
ERAS = 32                    # eras the fit tells apart (a gap takes 3 segments: 96 / 3)


_PRIOR_MAX = 64.0            # Pa/K: c * 6.4 K must stay a small int (31 bits) on the node


def per_kelvin(q, dx, shift):
    # q (TEMPCO_Q per Pa/K) times dx (t_fine, clamped to 6.4 K) >> shift, within 31 bits: beyond
    # 9.9 Pa/K (a joined module's) three bits of q are dropped (0.0024 Pa/K)
    dx = clamp(dx, 1 << 15)
    if -32768 < q < 32768:
        return (q * dx) >> shift
    return ((q >> 3) * dx) >> (shift - 3)


class ThermalModel:
    def __init__(self):
        self.seg_y = [0] * SEGMENTS      # segment means, q8 Pa, level kept continuous
        self.seg_x = [0] * SEGMENTS      # segment means of T - Tref, t_fine
        self.seg_t = [0] * SEGMENTS      # segment number
        self.seg_e = [0] * SEGMENTS      # era: segments joined without a gap
        self.era_n = [0] * ERAS          # the fit's per-era counts and means (scratch)
        self.era_x = [0] * ERAS
        self.era_y = [0] * ERAS
        self.era_t = [0] * ERAS
        self.prior_q = int(1.5 * TEMPCO_Q)
        self.jump_q8 = 128

    def configure(self, prior_pa_k):
        self.prior_q = int(min(prior_pa_k, _PRIOR_MAX) * TEMPCO_Q)
        self.reset()

    def set_noise(self, sigma_block_q12):
        # Segment-to-segment jumps beyond max(0.5 Pa, 8 sigma of a segment mean) are disturbances.
        self.jump_q8 = max(128, (8 * sigma_block_q12) >> 7)     # sigma_seg = sigma_b / 8

    def reset(self):
        self.segment = 0                 # segments seen
        self.era = 0
        self.forget()
        self.last_y = 0
        self.last_x = 0
        self.tempco = 0                  # c, TEMPCO_Q per Pa/K
        self.bound = self.prior_q        # what c may still be off by
        self.known = False

    def forget(self):
        # Drop the stored segments (c and its bound stay): a leak's era
        # ended. Its onset is a hinge in the level that the fit's t term cannot take, and against
        # the orbit it reads as tempco: a window holding it pulled c 0.6 Pa/K off after a LEAK
        # cleared (seen failing: slow_leak_orbit's rates 1.4-2x too steep). The fit starts again
        # from the segments after it, once there are _MIN_SEGMENTS of them.
        self.stored = 0
        self.slot = 0
        self.sum_y = 0
        self.sum_x = 0
        self.blocks = 0
        self.disturbed = False
        self.rejoin = 0                  # clean segments to go before a new era starts
        self.era += 1

    def correction12(self, dx):
        # c * (T - Tref), q12 Pa.
        return per_kelvin(self.tempco, dx, 12)

    def allowance12(self, dx):
        # How far the corrected level may still be off at this temperature distance, q12 Pa.
        return per_kelvin(self.bound, dx if dx > 0 else -dx, 12)

    def add_block(self, level_q8, dx, disturbed, quiet):
        # One block mean; returns the change of c when a segment completes and refits (else 0).
        self.sum_y += level_q8
        self.sum_x += dx
        self.blocks += 1
        self.disturbed = self.disturbed or disturbed
        if self.blocks < SEGMENT_BLOCKS:
            return 0
        y = self.sum_y // SEGMENT_BLOCKS
        x = self.sum_x // SEGMENT_BLOCKS
        self.sum_y = 0
        self.sum_x = 0
        self.blocks = 0
        self.segment += 1
        dx = x - self.last_x
        expect = self.last_y + per_kelvin(self.tempco, dx, 16)
        # beyond the noise and what the c in use may still be off by over the temperature's change
        # (a module joined to others on another thermal cycle: air flowing to and fro moves its
        # level by tens of Pa/K; every segment "jumped" and c was never fitted, seen failing)
        jump = self.jump_q8 + per_kelvin(self.bound, dx if dx > 0 else -dx, 16)
        jumped = self.stored and not self.rejoin and (y - expect > jump or expect - y > jump)
        if self.disturbed or jumped:
            # left out, and so is the next segment (a pulse recovers with a tail beyond its hold);
            # the one after starts a new era. Re-anchoring on a disturbed segment's mean left a
            # step of its dip in the fitted series: c ran 1.5 Pa/K off (seen failing)
            self.disturbed = False
            self.rejoin = 2
            return 0
        if self.rejoin:
            self.rejoin -= 1
            if self.rejoin:
                return 0
            self.era += 1
        self.last_y = y
        self.last_x = x
        self.seg_y[self.slot] = clamp(y, 1 << 24)
        self.seg_x[self.slot] = x
        self.seg_t[self.slot] = self.segment
        self.seg_e[self.slot] = self.era
        self.slot = (self.slot + 1) % SEGMENTS
        if self.stored < SEGMENTS:
            self.stored += 1
        if not quiet:
            return 0
        old = self.tempco
        self._fit()
        return self.tempco - old

    def _era(self, j):
        # segment j's slot in the era tables, or -1 when it is out of the fit's window
        if self.seg_e[j] <= self.era - ERAS or self.seg_t[j] - self.segment < -255:
            return -1
        return self.seg_e[j] % ERAS

    def _fit(self):
        # least squares of y on [era intercepts, x, t]: x, y and t are taken relative to their
        # era's means (a segment alone in its era adds nothing)
        en = self.era_n
        ex = self.era_x
        ey = self.era_y
        et = self.era_t
        for e in range(ERAS):
            en[e] = 0
            ex[e] = 0
            ey[e] = 0
            et[e] = 0
        for j in range(self.stored):
            e = self._era(j)
            if e >= 0:
                en[e] += 1
                ex[e] += self.seg_x[j]
                ey[e] += self.seg_y[j] >> 4
                et[e] += self.seg_t[j] - self.segment
        n = 0
        eras = 0
        for e in range(ERAS):
            if en[e]:
                n += en[e]
                eras += 1
                ex[e] //= en[e]
                ey[e] = (ey[e] // en[e]) << 4
                et[e] //= en[e]
        if n - eras < 16:
            return
        stt = 0
        sxt = 0
        sty = 0
        for j in range(self.stored):
            e = self._era(j)
            if e >= 0:
                t = self.seg_t[j] - self.segment - et[e]
                stt += t * t
                sxt += clamp((self.seg_x[j] - ex[e]) >> 2, 2047) * t       # x in 1/1280 K
                sty += clamp((self.seg_y[j] - ey[e]) >> 4, 2047) * t       # y in 1/16 Pa
        if stt == 0:
            return
        # take the time trend out of x and y (Frisch-Waugh), then c = sum x~y~ / sum x~^2
        slope_x = (sxt << 4) // stt
        slope_y = (sty << 4) // stt                                       # q8 per segment
        sxx = 0
        sxy = 0
        syy = 0
        for j in range(self.stored):
            e = self._era(j)
            if e >= 0:
                t = self.seg_t[j] - self.segment - et[e]
                xt = clamp(clamp((self.seg_x[j] - ex[e]) >> 2, 2047) - ((slope_x * t) >> 4), 2047)
                yt = clamp(clamp(self.seg_y[j] - ey[e], 1 << 16) - slope_y * t, 4095)
                sxx += xt * xt
                sxy += xt * yt
                syy += (yt * yt) >> 4
        if sxx < 65536:
            return                       # the temperature has hardly moved: c not identifiable
        tempco = sxy // (sxx >> 14)
        v = sxy
        a = 0
        while v > 16383 or v < -16383:
            v >>= 1
            a += 1
        if a < 2:
            explained = ((sxy * sxy) // sxx) >> 4
        else:
            den = sxx >> (2 * a - 4)
            explained = syy if den == 0 else (v * v) // den
        var = clamp((syy - explained) // (n - eras - 2), 16383)
        if var < 1:
            var = 1
        stderr = isqrt((var << 16) // (sxx >> 16))
        bound = _Z * stderr
        if bound < _FLOOR_Q:
            bound = _FLOOR_Q
        # used once it halves the prior's uncertainty over most of a thermal cycle (a leak that
        # began inside the window pulls c; its misfit widens the standard error), and moved by at
        # most its bound per segment so the level it corrects never jumps beyond the allowance
        if n < _MIN_SEGMENTS or 2 * bound > self.prior_q or not -self.prior_q < tempco < self.prior_q:
            return
        if not self.known:
            # the first fit is taken whole: until now the allowance was the prior, which covers it
            # (moved by its bound per segment, a module joined to another's larger cycle, -21 Pa/K,
            # took 12 h to get there, its allowance that wide all along)
            self.tempco = tempco
        self.known = True
        self.tempco += clamp(tempco - self.tempco, bound)
        miss = tempco - self.tempco
        self.bound = bound + (miss if miss > 0 else -miss)     # of the c in use


class Baseline:
    # The level (q12 Pa, thermally corrected) the residual is taken against: a growing mean while
    # learning, then one window mean per rebase period while quiet. The window's mean temperature
    # goes with it: the thermal model's remaining error grows with the distance from it.

    def __init__(self):
        self.rebase_blocks = 3600
        self.reset()

    def reset(self):
        self.learning = True
        self.level12 = 0
        self.dx_mean = 0
        self.start12 = 0
        self.sum12 = 0
        self.sum_dx = 0
        self.n = 0

    def relearn(self):
        # Learn the level again from the next block (a step that stayed); thresholds are kept.
        self.learning = True
        self.sum12 = 0
        self.sum_dx = 0
        self.n = 0

    def retemper(self, tempco_change):
        # The thermal correction changed by tempco_change: the learnt level, and the window being
        # learnt, move with it as if corrected with the new one all along.
        self.level12 -= per_kelvin(tempco_change, self.dx_mean, 12)
        if self.n:
            self.sum12 -= clamp(per_kelvin(tempco_change, self.sum_dx // self.n, 12), 1 << 18) * self.n

    def add(self, level12, dx, need, quiet):
        if self.n == 0 and self.learning:
            self.start12 = level12
        self.sum12 += clamp(level12 - self.start12, 1 << 18)     # 3600 blocks x 2^18 < 2^30
        self.sum_dx += clamp(dx, 1 << 15)
        self.n += 1
        if self.learning:
            self.level12 = self.start12 + self.sum12 // self.n
            self.dx_mean = self.sum_dx // self.n
            if self.n >= need:
                self.learning = False
                self._restart()
        elif self.n >= self.rebase_blocks:
            if quiet:
                self.level12 = self.start12 + self.sum12 // self.n
                self.dx_mean = self.sum_dx // self.n
            self._restart()

    def _restart(self):
        self.start12 = self.level12
        self.sum12 = 0
        self.sum_dx = 0
        self.n = 0
