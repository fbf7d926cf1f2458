# Water vapour: the part of the pressure that comes and goes without air being lost.
#
# The BMP280 reads the total pressure, dry air plus water vapour (Dalton). A crew's exercise adds
# tens of Pa of vapour over an hour and the heat exchanger takes it back out: no air is lost, but
# the level falls as a leak's would. The SCD4x reads RH and its own temperature every 5 s; the
# vapour's partial pressure is e = RH x es(T_scd) with es the Magnus formula. The SCD's own
# temperature goes with its own RH: RH is relative to saturation at the sensor's temperature, so
# the product is the vapour pressure of the air whatever the sensor's self-heating.
#
# Two things in the readings are not vapour that the pressure carries. One reading's noise (0.1 %RH
# and 0.02 K: ~2.9 Pa at 22 degC and 40 %RH) is ~14x the pressure's over the minutes a slow leak
# takes: subtracting e as read would blind the slow path. And a part of e follows the temperature
# without being in the pressure: an RH offset (the SCD4x's +-6 %RH) gives e an error of
# offset x es'(T), up to 9.7 Pa/K; a simulator (or a recording) that holds RH while T cycles makes
# e swing 64 Pa/K (+-39 Pa on a +-0.6 K orbit). A crew's vapour does not follow the orbit. So:
# - e and the SCD's temperature are low-passed alike (EMAs over 16 readings, ~80 s);
# - the slope k of e on that temperature is fitted over ~43 minutes (exponentially weighted
#   covariances), and kept only while the temperature explains e to within 1.5 Pa (a crew's vapour
#   in the window leaves more: k is then frozen, so the vapour cannot teach it);
# - u = e - k T is held with a dead band (a backlash): the held value moves only when u leaves the
#   band around it, so a steady humidity adds nothing to the level, and a real change moves it, late
#   by at most the band plus the EMA's lag;
# - nothing is used until k has been fitted once (~45 minutes of readings over a temperature that
#   moved by 0.1 K or more): until then the node is as without an SCD4x.
# VapourTrack.held_q2 is that value (q2 Pa, relative to its first, referred to the reference
# temperature as the pressure is: n ~ P/T). Integers only; no allocation per reading.
from det_fixed import clamp

# es(T) x 4 (q2 Pa) at -10 .. 61 degC, 1 K apart (Magnus: 610.94 exp(17.625 T / (T + 243.04)) Pa)
_ES_Q2 = (1147, 1241, 1341, 1449, 1564, 1688, 1820, 1961, 2111, 2272, 2444, 2627, 2822, 3030, 3251,
          3486, 3737, 4003, 4285, 4586, 4904, 5242, 5600, 5980, 6382, 6808, 7258, 7735, 8239, 8771,
          9334, 9928, 10554, 11215, 11912, 12647, 13421, 14236, 15094, 15997, 16947, 17945, 18994,
          20097, 21255, 22470, 23746, 25084, 26487, 27958, 29499, 31113, 32804, 34573, 36425,
          38362, 40387, 42504, 44717, 47028, 49442, 51962, 54592, 57337, 60199, 63183, 66294,
          69536, 72913, 76430, 80092, 83904)
_T_LOW = -1000               # 0.01 degC: the table's first entry (-10 degC)
_T_HIGH = 5999               # the last temperature whose three neighbours are in the table
_TK0 = 1398528               # 273.15 K in t_fine units (1/5120 K)
_EMA_SHIFT = 4               # EMAs over 2^4 readings (~80 s at 5 s): 75 s of lag on a ramp
_BAND_Q6 = 154               # the dead band, 2.4 Pa (q6): 4.5 sigma of the EMA of a 3 Pa reading noise
BAND_Q2 = _BAND_Q6 >> 4
_FIT_SHIFT = 9               # e on T: exponentially weighted over 2^9 readings (~43 minutes)
_FIT_READINGS = 540          # readings before k is first believed (the weights filled)
_SPREAD_MIN = 25600          # T's variance over the window, (0.1 K)^2 in (q4 0.01 degC)^2
_RESIDUE_MAX = 9216          # what T leaves of e's variance, (1.5 Pa)^2 in q6^2
_K_MAX = 4095                # k within 400 Pa/K (q8: q6 Pa per q4 0.01 degC)
_WINDOW = 16                 # readings per window of the held value's movement (~80 s)
_PEAK_WINDOWS = 45           # windows per hour: the fastest movement is kept for an hour or two
_H_MAX = 32767               # held_q2 within +-8 kPa




def saturation_q2(t_c100):
    # es(T) x 4 for T in 0.01 degC: quadratic (Newton) through the three table entries from T's
    # kelvin down (linear left 1.2 Pa of error at 22 degC, a ripple with every kelvin)
    t = clamp(t_c100 - _T_LOW, _T_HIGH - _T_LOW)
    if t < 0:
        t = 0
    i = t // 100
    f = t - i * 100
    a0 = _ES_Q2[i]
    a1 = _ES_Q2[i + 1]
    a2 = _ES_Q2[i + 2]
    return a0 + (f * (a1 - a0)) // 100 + (f * (f - 100) * (a2 - 2 * a1 + a0)) // 20000


def vapour_q2(t_c100, rh_c100):
    # e = RH x es(T), q2 Pa, from the SCD4x's own temperature (0.01 degC) and RH (0.01 %)
    rh = clamp(rh_c100, 10000)
    if rh < 0:
        rh = 0
    return (rh * saturation_q2(t_c100)) // 10000          # 10000 x 84000 < 2^30


class VapourTrack:
    def __init__(self):
        self.reset()

    def reset(self):
        self.readings = 0
        self.ema_e = 0               # e, q6 Pa (referred to Tref)
        self.ema_t = 0               # the SCD's temperature, q4 0.01 degC
        self.mean_e = 0              # their weighted means, << 6 more
        self.mean_t = 0
        self.var_t = 0               # weighted (co)variances of the deviations from those means
        self.var_e = 0
        self.cov = 0
        self.slope = 0               # k, q8 (q6 Pa per q4 0.01 degC)
        self.fitted = False          # k believed once: the held value is in use
        self.anchor_t = 0            # the temperature k T is taken from, q4
        self.anchor_u = 0            # held_q2 is relative to the first u, q6
        self.held_q6 = 0
        self.held_q2 = 0             # what the level is corrected with (0: no humidity used)
        self.window_n = 0
        self.window_start = 0        # held_q6 at the start of this window of readings
        self.moved = 0               # |held| movement over this window and the last, q6
        self.last_moved = 0
        self.peak = 0                # the most it moved in a window, this hour and the last
        self.last_peak = 0
        self.windows = 0

    def add(self, t_c100, rh_c100, t_fine, tref):
        # One SCD4x reading with the BMP280's temperature (t_fine) and the detector's reference:
        # e is referred to tref as the pressure is (e Tref / T), else the gas law's share of the
        # vapour (e / T per K, 3.4 Pa/K at 1 kPa) would be left in the level as a tempco.
        e = vapour_q2(t_c100, rh_c100)
        tk = (t_fine + _TK0) >> 4
        if tk > 0:
            e -= ((e >> 4) * clamp(t_fine - tref, 1 << 17)) // tk
        e <<= 4
        t = clamp(t_c100, 9999) << 4
        if self.readings == 0:
            self.ema_e = e
            self.ema_t = t
            self.mean_e = e << 6
            self.mean_t = t << 6
        if self.readings < _FIT_READINGS:
            self.readings += 1
        self.ema_e += (e - self.ema_e) >> _EMA_SHIFT
        self.ema_t += (t - self.ema_t) >> _EMA_SHIFT
        self._fit()
        if self.fitted:
            self._hold()

    def _fit(self):
        # k from exponentially weighted (co)variances of the low-passed e and T; believed while T
        # explains e to within 1.5 Pa over the window (else frozen: a crew's vapour is in it)
        self.mean_e += ((self.ema_e << 6) - self.mean_e) >> _FIT_SHIFT
        self.mean_t += ((self.ema_t << 6) - self.mean_t) >> _FIT_SHIFT
        de = clamp(self.ema_e - (self.mean_e >> 6), 1 << 14)
        dt = clamp(self.ema_t - (self.mean_t >> 6), 1 << 12)
        self.var_t += ((dt * dt) - self.var_t) >> _FIT_SHIFT
        self.var_e += ((de * de) - self.var_e) >> _FIT_SHIFT
        self.cov += ((dt * de) - self.cov) >> _FIT_SHIFT
        if self.readings < _FIT_READINGS or self.var_t < _SPREAD_MIN:
            return
        cov = clamp(self.cov, 1 << 21)
        slope = clamp((cov << 8) // self.var_t, _K_MAX)
        if self.var_e - (cov >> 8) * slope > _RESIDUE_MAX:
            return
        self.slope = slope
        if not self.fitted:
            self.fitted = True
            self.anchor_t = self.ema_t
            self.anchor_u = self._u()
            self.held_q6 = self.anchor_u
            self.window_start = self.held_q6

    def _u(self):
        # e less what the temperature explains, q6 Pa
        return self.ema_e - ((self.slope * clamp(self.ema_t - self.anchor_t, 1 << 15)) >> 8)

    def _hold(self):
        u = self._u()
        if u > self.held_q6 + _BAND_Q6:
            self.held_q6 = u - _BAND_Q6
        elif u < self.held_q6 - _BAND_Q6:
            self.held_q6 = u + _BAND_Q6
        self.held_q2 = clamp((self.held_q6 - self.anchor_u) >> 4, _H_MAX)
        self.window_n += 1
        moved = self.held_q6 - self.window_start
        if moved < 0:
            moved = -moved
        if self.window_n >= _WINDOW:
            self.window_n = 0
            self.window_start = self.held_q6
            self.last_moved = moved
            self.windows += 1
            if self.windows >= _PEAK_WINDOWS:
                self.windows = 0
                self.last_peak = self.peak
                self.peak = 0
        self.moved = moved if moved > self.last_moved else self.last_moved
        if self.moved > self.peak:
            self.peak = self.moved

    def slack_q2(self, dh):
        # How far the held value may be from the vapour's own once it has moved by more than the
        # band (in 80 s, over the last hour or two, or since the baseline's: dh): the band and the
        # EMA's lag behind a ramp (~75 s of it: the most it moved in 80 s), each on either side: the
        # level learnt while the vapour rose was corrected short by both, and the level now, while it
        # falls, long by both (seen failing with one side only: a LEAK 280 s into the drying of a
        # +3 %RH exercise). A smaller move is the noise crossing the band (3 in 8 h on a sealed
        # module's part 1, and a 6 Pa allowance for 4 h after them): its dh is allowed for, as any
        # vapour change within the band is not (no worse than with no SCD4x).
        peak = self.peak if self.peak > self.last_peak else self.last_peak
        if dh < 0:
            dh = -dh
        if (peak >> 4) <= BAND_Q2 and dh <= BAND_Q2:
            return 0
        return 2 * BAND_Q2 + (peak >> 3)
