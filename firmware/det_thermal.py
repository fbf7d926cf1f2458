# Baseline and thermal model: the level the slow path compares against.
#
# The BMP280's offset temperature coefficient (datasheet +-1.5 Pa/K) survives the P/T
# compensation: the compensated level moves by c * (T - Tref). On a +-0.6 K orbital cycle that is a
# slope of up to ~1e-3 Pa/s, the size of a 1 kg/day leak on the ISS. ThermalModel fits it online:
# 64-block segment means of the level (y) and temperature (x) in a ring of 192 (~3.4 h), least
# squares of y on [1, x, t] (the t term takes any leak or slow drift, so neither biases c), and
# the standard error of c from the fit's own residuals. The slow path subtracts c * x and widens
# every CUSUM's allowance by bound * |x - x_baseline|, bound = min(prior, 3 standard errors):
# before a thermal cycle has been seen c is not identifiable and the bound is the datasheet prior.
# Segments that jump (hatch steps, repress, pulses, fast leaks) are left out and the level after
# them is a new era with its own intercept (what the level did while unseen is unknown: joining
# the eras with the c then in use left a step of c's error times the temperature change across
# the gap, and pulled c 15-45 % low, seen failing on a recorded-style trace); the fit is frozen
# while an alarm is building, so a leak cannot teach it.
#
# The sensor's temperature lags the gas's (its package, its board): the compensation then leaves
# (P/T) x lag x dT/dt in the level, in quadrature with the cycle (7 Pa for 30 s on a +-0.6 K orbit).
# So the fit takes a third term, d x v with v the temperature's rate (a double EMA over 32 blocks,
# the same filtered v in the fit and in the correction, so its delay is the fit's business). d is
# fitted on the level corrected with the c in use, and c on the level corrected with the d in
# use; d is identifiable from the cycle's curvature long before c (~16 segments): its bound is
# 2 standard errors, and the c in use's error moves it by k = sum x v / sum v^2 per unit of c,
# so the allowance is bound_c x |dx - k dv| + bound_d x |dv|. Before d is fitted, its prior
# (lag_s x 343 Pa/K) x |dv|.
from det_fixed import clamp, isqrt

SEGMENTS = 192              # c and d are white-limited: their errors fall as 1/sqrt(segments)
SEGMENT_BLOCKS = 64
TEMPCO_Q = 3276.8            # tempco units per Pa/K: correction_q12 = tempco * dx >> 12, dx in t_fine
_Z = 3                       # standard errors in the bound
_FLOOR_Q = 98                # 0.03 Pa/K: never claim to know c better (its stability, not the fit)
_MIN_SEGMENTS = 64           # ~68 minutes: three quarters of an orbital thermal cycle
ERAS = 32                    # eras the fit tells apart (a gap takes 3 segments: the last 32 of up to 64)


_PRIOR_MAX = 64.0            # Pa/K: c * 6.4 K must stay a small int (31 bits) on the node
_RATE_SHIFT = 5              # the temperature's rate v: EMAs over 2^5 blocks
_RATE_SETTLE = 128           # blocks before v is the rate (the EMAs start at the first block's T)
_RATE_K = 4096 // 31         # v = (s1 - s2) / 31 (a double EMA's difference is the slope x 31)
_V_MAX = 8191                # v, 1/256 t_fine per block: 6e-3 K/s (an orbit's is ~7e-4)
_LAG_MAX_Q = 32767           # d, 2^-20 Pa per unit of v (~120 s of lag at 1 s blocks)
_LAG_FLOOR_S = 0.05          # never claim to know the lag better (0.012 Pa at an orbit's fastest dT/dt)
_LAG_Z = 2                   # standard errors in d's bound
_LAG_MIN_SEGMENTS = 64       # as c: over most of a thermal cycle
_LAG_EARLY = 16              # a lag well beyond the prior: from ~17 minutes of the cycle's curvature
# The water vapour's partial pressure h (det_vapour: q2 Pa, held): its coefficient g (q12 Pa per Pa)
# is 1 in physics, but it is fitted, as c and d are, because a recording (or a simulator) whose RH
# moves without its vapour in the pressure exists: the sim's zones hold RH at 40 % while T swings
# +-0.6 K (39 Pa of e that the pressure never carries). Until g is fitted it is 0 and its whole
# prior (1 Pa/Pa) is in the allowance: the vapour's swing is allowed for, never corrected wrongly.
VAP_Q = 4096                 # g units per Pa/Pa
_VAP_PRIOR_Q = 4096          # what g may be off by before it is fitted: all of the vapour
_VAP_MAX_Q = 8192            # g within +-2 Pa/Pa
_VAP_FLOOR_Q = 82            # never claim to know g better than 0.02
_VAP_Z = 2                   # standard errors in g's bound (as d's)
_VAP_SPREAD = 1 << 12        # sum of h~^2 (q2^2) before g is identifiable: ~16 segments at +-4 Pa


def _ratio(num, den, shift):
    # num x 2^shift // den within 31 bits (den > 0): num takes what bits it can, den gives the rest
    while shift and -(1 << 28) < num < (1 << 28):
        num <<= 1
        shift -= 1
    den >>= shift
    if den < 1:
        den = 1
    return num // den


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
        self.seg_v = [0] * SEGMENTS      # segment means of the temperature's rate v
        self.era_v = [0] * ERAS
        self.seg_h = [0] * SEGMENTS      # segment means of the vapour's pressure h, q2 Pa
        self.era_h = [0] * ERAS
        self.era_d = [0] * ERAS          # y's era means' remainders (scratch)
        self.prior_q = int(1.5 * TEMPCO_Q)
        self.lag_prior = 0
        self.lag_floor = 0
        self.jump_q8 = 128

    def configure(self, prior_pa_k, lag_s=0.0, block_s=1.0):
        # lag_s: the prior bound of the sensor's thermal lag, as d (2^-20 Pa per unit of v, v in
        # 1/256 t_fine per block): 343 Pa/K x lag_s x dT/dt
        self.prior_q = int(min(prior_pa_k, _PRIOR_MAX) * TEMPCO_Q)
        per_s = 343.0 * 1048576.0 / (256.0 * 5120.0 * block_s)
        self.lag_prior = min(_LAG_MAX_Q, int(lag_s * per_s))
        self.lag_floor = int(_LAG_FLOOR_S * per_s)
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
        self.lag = 0                     # d, 2^-20 Pa per unit of v
        self.lag_bound = self.lag_prior  # what d may still be off by
        self.lag_known = False
        self.couple = 0                  # k: d's error per unit of c's, t_fine per unit of v, q12
        self.s1 = 0                      # the temperature's EMAs, q8 t_fine
        self.s2 = 0
        self.rate_n = 0
        self.last_v = 0
        self.change_lag = 0              # d's change at the last refit
        self.vap = 0                     # g, VAP_Q per Pa/Pa
        self.vap_bound = _VAP_PRIOR_Q    # what g may still be off by
        self.vap_known = False
        self.change_vap = 0              # g's change at the last refit
        self.last_h = 0

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
        self.sum_v = 0
        self.sum_h = 0
        self.blocks = 0
        self.disturbed = False
        self.rejoin = 0                  # clean segments to go before a new era starts
        self.era += 1

    def rate(self, dx):
        # The temperature's rate v (1/256 t_fine per block) from this block's mean T - Tref: the
        # difference of two cascaded EMAs is the slope x 31 for a ramp (0 at first: it fills).
        x = clamp(dx, 1 << 15) << 8
        if self.rate_n == 0:
            self.s1 = x
            self.s2 = x
        if self.rate_n < _RATE_SETTLE:
            self.rate_n += 1
        self.s1 += (x - self.s1) >> _RATE_SHIFT
        self.s2 += (self.s1 - self.s2) >> _RATE_SHIFT
        return clamp(((self.s1 - self.s2) * _RATE_K) >> 12, _V_MAX)

    def rate_settled(self):
        return self.rate_n >= _RATE_SETTLE

    def correction12(self, dx, v, h=0):
        # c * (T - Tref) + d * v + g * h, q12 Pa.
        return per_kelvin(self.tempco, dx, 12) + ((self.lag * v) >> 8) + ((self.vap * h) >> 2)

    def vapour_allowance12(self, dh, slack_q2):
        # How far g's correction may be off, q12 Pa: g's bound times the vapour's distance from the
        # baseline's (dh), and what the held value may be off by (det_vapour.slack_q2) times what g
        # may be.
        if dh < 0:
            dh = -dh
        g = self.vap if self.vap > 0 else -self.vap
        return (self.vap_bound * clamp(dh, 1 << 15) + (g + self.vap_bound) * slack_q2) >> 2

    def allowance12(self, dx, dv):
        # How far the corrected level may still be off at this distance from the baseline's
        # temperature (dx) and rate (dv), q12 Pa: c's error moves d by k per unit (bound x |dx - k dv|)
        # (c's bound is 3 standard errors, d's 2, of one fit: once both are fitted they add in
        # quadrature, the prediction's own error; a prior is a bound and adds)
        dv = clamp(dv, _V_MAX)
        ex = dx - ((self.couple * dv) >> 12)
        a = per_kelvin(self.bound, ex if ex > 0 else -ex, 12)
        b = (self.lag_bound * (dv if dv > 0 else -dv)) >> 8
        if not (self.known and self.lag_known):
            return a + b
        s = 0
        while a > 16383 or b > 16383:
            a >>= 1
            b >>= 1
            s += 1
        return isqrt(a * a + b * b) << s

    def add_block(self, level_q8, dx, v, disturbed, quiet, h=0):
        # One block mean; returns the change of c when a segment completes and refits (else 0; d's
        # change is in change_lag).
        self.sum_y += level_q8
        self.sum_x += dx
        self.sum_v += v
        self.sum_h += h
        self.blocks += 1
        self.change_lag = 0
        self.change_vap = 0
        self.disturbed = self.disturbed or disturbed or self.rate_n < _RATE_SETTLE
        if self.blocks < SEGMENT_BLOCKS:
            return 0
        y = self.sum_y // SEGMENT_BLOCKS
        x = self.sum_x // SEGMENT_BLOCKS
        v = self.sum_v // SEGMENT_BLOCKS
        h = self.sum_h // SEGMENT_BLOCKS
        self.sum_y = 0
        self.sum_x = 0
        self.sum_v = 0
        self.sum_h = 0
        self.blocks = 0
        self.segment += 1
        dx = x - self.last_x
        dv = v - self.last_v
        dh = h - self.last_h
        expect = self.last_y + per_kelvin(self.tempco, dx, 16) + ((self.lag * dv) >> 12) + ((self.vap * dh) >> 6)
        # beyond the noise and what the c in use may still be off by over the temperature's change
        # (a module joined to others on another thermal cycle: air flowing to and fro moves its
        # level by tens of Pa/K; every segment "jumped" and c was never fitted, seen failing)
        jump = self.jump_q8 + ((self.allowance12(dx, dv) + self.vapour_allowance12(dh, 0)) >> 4)
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
        self.last_v = v
        self.last_h = h
        self.seg_h[self.slot] = h
        self.seg_y[self.slot] = clamp(y, 1 << 24)
        self.seg_x[self.slot] = x
        self.seg_v[self.slot] = v
        self.seg_t[self.slot] = self.segment
        self.seg_e[self.slot] = self.era
        self.slot = (self.slot + 1) % SEGMENTS
        if self.stored < SEGMENTS:
            self.stored += 1
        if not quiet:
            return 0
        old = self.tempco
        old_lag = self.lag
        old_vap = self.vap
        self._fit()
        self.change_lag = self.lag - old_lag
        self.change_vap = self.vap - old_vap
        return self.tempco - old

    def _era(self, j):
        # segment j's slot in the era tables, or -1 when it is out of the fit's window
        if self.seg_e[j] <= self.era - ERAS or self.seg_t[j] - self.segment < -255:
            return -1
        return self.seg_e[j] % ERAS

    def _fit(self):
        # least squares of y on [era intercepts, x, v, t]: x, v, y and t are taken relative to
        # their era's means (a segment alone in its era adds nothing), the time trend taken out
        # (Frisch-Waugh); c on y less the d in use, d on y less the c in use
        en = self.era_n
        ex = self.era_x
        ey = self.era_y
        et = self.era_t
        ev = self.era_v
        eh = self.era_h
        for e in range(ERAS):
            en[e] = 0
            ex[e] = 0
            ey[e] = 0
            et[e] = 0
            ev[e] = 0
            eh[e] = 0
        for j in range(self.stored):
            e = self._era(j)
            if e >= 0:
                en[e] += 1
                ex[e] += self.seg_x[j]
                ey[e] += self.seg_y[j] >> 4
                et[e] += self.seg_t[j] - self.segment
                ev[e] += self.seg_v[j]
                eh[e] += self.seg_h[j]
        n = 0
        eras = 0
        for e in range(ERAS):
            if en[e]:
                n += en[e]
                eras += 1
                ex[e] //= en[e]
                ey[e] = (ey[e] // en[e]) << 4
                et[e] //= en[e]
                ev[e] //= en[e]
                eh[e] //= en[e]
        if n - eras < 16:
            return
        # y's era means to 1/256 Pa (in 1/16 Pa their fraction stayed in every residual, 0.018 Pa rms
        # against a segment's 0.056)
        ed = self.era_d
        for e in range(ERAS):
            ed[e] = 0
        for j in range(self.stored):
            e = self._era(j)
            if e >= 0:
                ed[e] += clamp(self.seg_y[j] - ey[e], 1 << 16)
        for e in range(ERAS):
            if en[e]:
                ey[e] += ed[e] // en[e]
        stt = 0
        sxt = 0
        sty = 0
        svt = 0
        sht = 0
        for j in range(self.stored):
            e = self._era(j)
            if e >= 0:
                t = self.seg_t[j] - self.segment - et[e]
                stt += t * t
                sxt += clamp((self.seg_x[j] - ex[e]) >> 2, 2047) * t       # x in 1/1280 K
                sty += clamp(self.seg_y[j] - ey[e], 1 << 14) * t            # y in q8 (+-64 Pa)
                svt += clamp(self.seg_v[j] - ev[e], 2047) * t
                sht += clamp(self.seg_h[j] - eh[e], 2047) * t
        if stt == 0:
            return
        slope_x = (sxt << 4) // stt
        # y's trend in 1/4096 Pa per segment (in whole q8 its fraction left a ramp of up to 48/256 Pa
        # at the window's ends, which the residuals took for noise: c's standard error 1.6-2.7x the
        # data's, seen failing in tests/test_thermal_fit_precision.py); x, v and h are regressors,
        # whose trend's fraction the detrended y is blind to
        slope_y = clamp(_ratio(sty, stt, 4), 1 << 21)
        slope_v = (svt << 4) // stt
        slope_h = (sht << 4) // stt
        sxx = 0
        svv = 0
        sxv = 0
        shh = 0
        sxr = 0
        svr = 0
        srr = 0
        shr = 0
        srh = 0
        for j in range(self.stored):
            e = self._era(j)
            if e >= 0:
                t = self.seg_t[j] - self.segment - et[e]
                xt = clamp(clamp((self.seg_x[j] - ex[e]) >> 2, 2047) - ((slope_x * t) >> 4), 2047)
                vt = clamp(clamp(self.seg_v[j] - ev[e], 2047) - ((slope_v * t) >> 4), 2047)
                ht = clamp(clamp(self.seg_h[j] - eh[e], 2047) - ((slope_h * t) >> 4), 2047)   # q2 Pa
                y = clamp(self.seg_y[j] - ey[e], 1 << 16) - ((slope_y * t) >> 4)
                # The residual with c, d and g in use: each is fitted as a change of the one in use, on
                # sums of what is left. The same fit as on the level itself, but in a module joined to a
                # station on another cycle (-21 Pa/K, +-13 Pa on its orbit) the level's sums cut to 31 bits
                # lost the residual variance (c's bound at its floor, 0.03 Pa/K, against 0.10 in floats) and
                # its crests were clipped (c 0.36 Pa/K short, seen failing with 192 segments); what is left
                # is small. (+-32 Pa: the first fit, with nothing in use yet, takes the level whole.)
                r = y - ((self.vap * ht) >> 6) - ((self.lag * vt) >> 12) - ((self.tempco * xt) >> 14)
                rh = clamp(r >> 6, 2047)                 # q2 Pa (+-512 Pa: a crew's vapour is tens of Pa)
                r = clamp(r, 8191)
                sxx += xt * xt
                svv += vt * vt
                sxv += xt * vt
                shh += ht * ht
                sxr += (xt * r) >> 2        # quartered: 2047 x 8191 x 192 segments is 3.2e9, a small int holds 2^30
                svr += (vt * r) >> 2
                srr += (r * r) >> 4
                shr += ht * rh
                srh += (rh * rh) >> 4
        dof = n - eras - 2
        if shh >= _VAP_SPREAD:
            self._fit_vapour(shr, shh, srh, n, dof)
        if svv >= 1 << 14:
            self._fit_lag(svr, svv, sxv, srr, n, dof)
        if sxx >= 65536:                 # (else the temperature has hardly moved: c not identifiable)
            self._fit_tempco(sxr, sxx, srr, sxv, n, dof)

    def _fit_lag(self, svr, svv, sxv, srr, n, dof):
        # d = the d in use + sum v~r / sum v~^2 (svr quartered), used once it halves the prior (with
        # what c's error moves it by)
        lag = self.lag + _ratio(svr, svv, 14)
        var = clamp((srr - _explained(svr, svv >> 4, srr)) // dof, 16383)
        if var < 1:
            var = 1
        bound = _LAG_Z * isqrt(_ratio(var, svv, 28))
        # (never below the floor, nor below 1/16 of the lag: a first-order lag is a double EMA's
        # v only nearly; a 30 s lag's fit was off by more than its standard errors, seen)
        floor = self.lag_floor + ((lag if lag > 0 else -lag) >> 4)
        if bound < floor:
            bound = floor
        couple = _ratio(sxv, svv, 14)
        shared = per_kelvin(self.bound, couple >> 4, 12)
        if shared < 0:
            shared = -shared
        # used once it halves the prior over most of a cycle, as c; or, from ~17 minutes of a cycle
        # on, when the lag it shows is beyond the prior by twice all that (a 30 s lag on a 3 s prior:
        # the false LEAKs it raised left no quiet hour to learn it in)
        sure = 2 * (bound + shared)
        if n < _LAG_EARLY or not -_LAG_MAX_Q < lag < _LAG_MAX_Q:
            return
        if (n < _LAG_MIN_SEGMENTS or sure > self.lag_prior) and (lag if lag > 0 else -lag) - sure <= self.lag_prior:
            return
        if not self.lag_known:
            self.lag = lag                # taken whole, as c's first fit
        self.lag_known = True
        self.couple = couple
        self.lag += clamp(lag - self.lag, bound)
        miss = lag - self.lag
        self.lag_bound = bound + (miss if miss > 0 else -miss)

    def _fit_tempco(self, sxr, sxx, srr, sxv, n, dof):
        tempco = self.tempco + _ratio(sxr, sxx, 16)    # (sxr quartered)
        var = clamp((srr - _explained(sxr, sxx >> 4, srr)) // dof, 16383)
        if var < 1:
            var = 1
        stderr = isqrt((var << 16) // (sxx >> 16))
        bound = _Z * stderr
        if bound < _FLOOR_Q:
            bound = _FLOOR_Q
        # c is fitted on the level less the d in use, which may be off by d's bound (its prior until
        # d is fitted): over a window where x and v are not orthogonal that moves c by k' = sum x~v~ /
        # sum x~^2 per unit of d (4 k' in c's units). Before, a 5 s lag on the 3 s prior pulled c's first
        # fit 1.39 Pa/K off (k' -0.30 Pa/K per s of lag, 64 segments into the cycle) with a bound of
        # 0.96: false LEAKs, and the fit frozen by them kept c there (tests/test_redteam_sensor_lag.py)
        # (once d is fitted its in-use value follows c's, and the allowance's quadrature is that of the
        # joint fit: bound_c |dx - k dv| and d's own bound)
        if not self.lag_known:
            k2 = clamp(_ratio(sxv if sxv > 0 else -sxv, sxx, 12), 1 << 14)
            bound += clamp((self.lag_bound * k2) >> 10, 1 << 20)
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


    def _fit_vapour(self, shr, shh, srh, n, dof):
        # g = the g in use + sum h~r / sum h~^2, used from ~17 minutes of vapour moving once its bound
        # is under half the prior, then moved by at most its bound per segment (as c and d); 0 until
        # then, its prior all allowed for
        vap = self.vap + _ratio(shr, shh, 12)
        var = clamp((srh - _explained(shr, shh, srh)) // dof, 16383)
        if var < 1:
            var = 1
        bound = _VAP_Z * isqrt(_ratio(var, shh, 28))
        if bound < _VAP_FLOOR_Q:
            bound = _VAP_FLOOR_Q
        if n < _LAG_EARLY or 2 * bound > _VAP_PRIOR_Q or not -_VAP_MAX_Q < vap < _VAP_MAX_Q:
            return
        if not self.vap_known:
            self.vap = vap                # taken whole: the prior's allowance covered it until now
        self.vap_known = True
        self.vap += clamp(vap - self.vap, bound)
        miss = vap - self.vap
        self.vap_bound = bound + (miss if miss > 0 else -miss)


def _explained(sxy, sxx, syy):
    # sxy^2 / sxx >> 4 (the fit's explained sum of squares, in syy's units) within 31 bits
    v = sxy
    a = 0
    while v > 16383 or v < -16383:
        v >>= 1
        a += 1
    if a < 2:
        return ((sxy * sxy) // sxx) >> 4
    den = sxx >> (2 * a - 4)
    return syy if den == 0 else (v * v) // den


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
        self.v_mean = 0
        self.h_mean = 0
        self.start12 = 0
        self.sum12 = 0
        self.sum_dx = 0
        self.sum_v = 0
        self.sum_h = 0
        self.n = 0

    def relearn(self):
        # Learn the level again from the next block (a step that stayed); thresholds are kept.
        self.learning = True
        self.sum12 = 0
        self.sum_dx = 0
        self.sum_v = 0
        self.sum_h = 0
        self.n = 0

    def retemper(self, tempco_change, lag_change, vap_change=0):
        # The thermal correction changed by tempco_change, lag_change and vap_change (c, d and g):
        # the learnt level, and the window being learnt, move with it as if corrected with the new
        # ones all along.
        self.level12 -= per_kelvin(tempco_change, self.dx_mean, 12) + ((lag_change * self.v_mean) >> 8) + \
            ((vap_change * self.h_mean) >> 2)
        if self.n:
            shift = per_kelvin(tempco_change, self.sum_dx // self.n, 12) + ((lag_change * (self.sum_v // self.n)) >> 8) + \
                ((vap_change * (self.sum_h // self.n)) >> 2)
            self.sum12 -= clamp(shift, 1 << 18) * self.n

    def add(self, level12, dx, v, need, quiet, h=0):
        if self.n == 0 and self.learning:
            self.start12 = level12
        self.sum12 += clamp(level12 - self.start12, 1 << 18)     # 3600 blocks x 2^18 < 2^30
        self.sum_dx += clamp(dx, 1 << 15)
        self.sum_v += v                                          # 3600 x 2^14 < 2^30
        self.sum_h += clamp(h, 1 << 15)                          # 3600 x 2^15 < 2^30
        self.n += 1
        if self.learning:
            self.level12 = self.start12 + self.sum12 // self.n
            self.dx_mean = self.sum_dx // self.n
            self.v_mean = self.sum_v // self.n
            self.h_mean = self.sum_h // self.n
            if self.n >= need:
                self.learning = False
                self._restart()
        elif self.n >= self.rebase_blocks:
            if quiet:
                self.level12 = self.start12 + self.sum12 // self.n
                self.dx_mean = self.sum_dx // self.n
                self.v_mean = self.sum_v // self.n
                self.h_mean = self.sum_h // self.n
            self._restart()

    def _restart(self):
        self.start12 = self.level12
        self.sum12 = 0
        self.sum_dx = 0
        self.sum_v = 0
        self.sum_h = 0
        self.n = 0
