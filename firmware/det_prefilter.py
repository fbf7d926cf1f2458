# Prefilter: raw BMP280 samples -> temperature-compensated pressure for the detector's paths.
#
# pc = P * Tref / T (the amount of gas, n ~ P/T), written P - (P/T) * (T - Tref) so every product
# stays a small int. Each sample comes out relative to the first raw pressure (the anchor) raw
# (the fast path's RAPID and pulse statistics: within a second the temperature moves nothing but
# the sensor's noise, 0.005 K = 1.7 Pa through the compensation) and compensated with the sample's
# own temperature (fast rates: a temperature filter would not lower the noise of a slope over tens
# of samples, and its lag would add a fast leak's cooling to the rate). The slow path compensates block means
# with the block's mean temperature (block_level12): no lag, which on a thermal cycle would leave
# a wave the thermal model does not describe (averaging the temperature over more blocks only
# moves its noise to longer time scales, where slow leaks live). A Hampel filter replaces one-sample spikes of the raw pressure by the
# median of three (one sample of delay).
from det_fixed import clamp

_TK0 = 1398528               # 273.15 K in t_fine units (1/5120 K)
_DMAX = 1 << 20              # |pc - anchor| beyond this (4096 Pa) re-anchors the detector

OUT_NONE = 0                 # update(): nothing out yet (the median needs three samples)
OUT_SAMPLE = 1               # fast_q8, slow_q8, temp_dx hold the next filtered sample
OUT_REANCHOR = 2             # the level moved beyond the fixed-point range: start again


def gas_factor(p_q8, t_fine):
    # P/T in Q24.8 Pa per t_fine unit, << 13.
    tk = t_fine + _TK0
    num = p_q8 << 4
    k_hi = num // tk
    return (k_hi << 9) + (((num - k_hi * tk) << 9) // tk)


def times_dt(factor, dt):
    # factor * dt >> 13 for |dt| < 2^19 without big ints.
    return ((factor * (dt >> 12)) >> 1) + ((factor * (dt & 0xFFF)) >> 13)


def compensation(p_q8, t_fine, tref):
    # P - P*Tref/T = (P/T)*(T - Tref), Q24.8 Pa.
    return times_dt(gas_factor(p_q8, t_fine), clamp(t_fine - tref, 1 << 19))


class Prefilter:
    def __init__(self):
        self.last_raw = -1           # stuck-sensor watch survives reset()
        self.same_count = 0
        self.spike_q8 = 2662
        self.reset()

    def configure(self, sample_ms, noise_pa):
        self.spike_q8 = int(8.0 * noise_pa * 256)

    def reset(self):
        self.seen = 0
        self.tref = 0
        self.anchor = 0
        self.older = 0               # the last three raw pressures: older, middle (out next), newest
        self.middle = 0
        self.middle_comp = 0         # compensation of the middle sample (its own temperature)
        self.middle_dx = 0
        self.raw_q8 = 0              # the sample out, q8 relative to the anchor: raw
        self.fast_q8 = 0             # and compensated
        self.temp_dx = 0             # its T - Tref, t_fine units
        self.pressure_q8 = 0         # the last raw pressure and temperature (hole size)
        self.t_fine = 0
        self.spikes = 0

    def stuck(self, p_q8, limit):
        # +1 when the raw value has not moved for `limit` samples, -1 when it moves again, else 0.
        if p_q8 == self.last_raw:
            self.same_count += 1
            return 1 if self.same_count == limit else 0
        self.last_raw = p_q8
        was = self.same_count >= limit
        self.same_count = 0
        return -1 if was else 0

    def update(self, t_fine, p_q8):
        self.pressure_q8 = p_q8
        self.t_fine = t_fine
        if self.seen == 0:
            self.tref = t_fine
            self.anchor = p_q8
        comp = compensation(p_q8, t_fine, self.tref)
        dx = clamp(t_fine - self.tref, 1 << 19)
        p = p_q8 - self.anchor
        if self.seen < 2:
            self.seen += 1
            self._shift(p, comp, dx)
            return OUT_NONE
        a = self.older
        b = self.middle
        mid = b
        if a > b:
            a, b = b, a
        med = b if p > b else (a if p < a else p)
        # Hampel: the middle sample stands unless far from the median of three (a plain median
        # would correlate the noise and slow every detection)
        dev = mid - med
        if dev > self.spike_q8 or dev < -self.spike_q8:
            mid = med
            self.spikes += 1
        self.raw_q8 = mid
        self.fast_q8 = mid - self.middle_comp
        self.temp_dx = self.middle_dx
        self._shift(p, comp, dx)
        if self.fast_q8 > _DMAX or self.fast_q8 < -_DMAX or mid > _DMAX or mid < -_DMAX:
            return OUT_REANCHOR
        return OUT_SAMPLE

    def _shift(self, p, comp, dx):
        self.older = self.middle
        self.middle = p
        self.middle_comp = comp
        self.middle_dx = dx

    def block_level12(self, p12, dx):
        # A block's compensated level (q12, relative to the anchor) from its mean raw pressure
        # (q12, relative to the anchor) and mean temperature (T - Tref).
        factor = gas_factor((p12 >> 4) + self.anchor, self.tref + dx)
        return p12 - (times_dt(factor, clamp(dx, 1 << 19)) << 4)
