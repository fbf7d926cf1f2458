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
from det_fixed import clamp, isqrt

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


# A fan's pressure oscillation, measured and subtracted from the slow path's block levels. A wave
# of a few Pa and a minute or so is far above the slow path's white noise (a 3 Pa, 60 s fan swings
# a 200 s slope by ~8e-3 Pa/s, 26x the noise's): allowing for it would cost a several-fold delay.
# Period: upward zero crossings (with hysteresis) of the level high-passed twice (a ramp, a
# repress and the thermal cycle leave nothing) and smoothed; two agreeing in a row lock it, none
# for two periods unlock it. Wave: least squares of sin and cos at that period over whole periods
# of the last blocks, on differences half a period apart (a leak's ramp becomes a constant the fit
# ignores), predicted for the coming block: no delay. Blocks the detector holds (pulses, steps)
# are replaced by the prediction, and the ring rejoins the level after them.
FAN_RING = 192               # blocks kept: whole periods plus half a period, periods up to 128
_FAN_MIN = 10                # shortest period taken for a fan, blocks
_FAN_MAX = 128
_DOUBT = 147                 # the stopped-fan test's threshold, ln 1e4 x16 (was ln 100: a leak's start flipped it)
_BEAT_FADE = 32              # blocks a residual wave's allowance fades over after its last peak
_FIT_EVERY = 4               # blocks between fits (the phase runs on in between)
_MEMORY = 600                # blocks a lost wave is still allowed for (it locks again in ~4 periods)
_SIN10 = (0, 25, 50, 75, 100, 125, 150, 175, 200, 224, 249, 273, 297, 321, 345, 369, 392, 415,
          438, 460, 483, 505, 526, 548, 569, 590, 610, 630, 650, 669, 688, 706, 724, 742, 759, 775,
          792, 807, 822, 837, 851, 865, 878, 891, 903, 915, 926, 936, 946, 955, 964, 972, 980, 987,
          993, 999, 1004, 1009, 1013, 1016, 1019, 1021, 1023, 1024, 1024)


def sin10(phase):
    # sin of a phase in 1/65536 turn, q10 (a quarter-wave table, 1/256 turn steps).
    k = (phase >> 8) & 255
    if k < 64:
        return _SIN10[k]
    if k < 128:
        return _SIN10[128 - k]
    if k < 192:
        return -_SIN10[k - 128]
    return -_SIN10[256 - k]


class FanNotch:
    def __init__(self):
        self.ring = [0] * FAN_RING       # levels, q8 (disturbed blocks: the prediction)
        self.hyst_q8 = 128
        self.noise2 = 64
        self.reset()

    def configure(self, sigma_block_q8):
        # Hysteresis of the crossings: 1.2 sigma of a block (3 sigma of the smoothed signal).
        self.hyst_q8 = max(32, (5 * sigma_block_q8) >> 2)
        self.noise2 = max(64, 2 * sigma_block_q8 * sigma_block_q8)

    def reset(self):
        for j in range(FAN_RING):
            self.ring[j] = 0
        self.pos = 0
        self.count = 0
        self.hp1 = 0                     # two high-pass stages (EMA over 32 blocks), then a
        self.hp2 = 0                     # low-pass over 4: z, the signal whose crossings count
        self.hpo1 = 0                    # one high-pass stage of the level less the prediction,
        self.hpp = 0                     # and of the prediction alone (what a stopped fan leaves)
        self.doubt = 0                   # Page's statistic against the verdict below, x16
        self.present = True              # the fan still there
        self.z = 0
        self.low = False                 # z went below -hysteresis since the last up-crossing
        self.cross_age = 0               # q8 blocks since z last crossed 0 upwards
        self.up_age = 1 << 24            # q8 blocks since the last counted up-crossing
        self.period_q8 = 0               # blocks, q8
        self.candidate_q8 = 0            # a period seen once that disagrees with period_q8
        self.agree = 0
        self.missed = 0                  # crossings in a row off the locked period
        self.locked = False
        self.step = 0                    # phase per block, 1/65536 turn
        self.phase = 0                   # of the coming block
        self.half = 0                    # differences this many blocks apart (~half a period)
        self.span = 0                    # blocks fitted (whole periods)
        self.turn_p = 2048               # 1 - cos and sin of the phase over `half` blocks, q10
        self.turn_q = 0
        self.a = 0                       # the wave: a sin + b cos of the phase, q8
        self.compare = False             # the last fit's a, b may be compared with the next's
        self.gain = 0                    # of the wave subtracted, /16
        self.left = 0                    # what of the wave was not subtracted, q8 (allowed for)
        self.odd = 0                     # a wave left beside the prediction, q8 (the CUSUMs allow for it)
        self.memory = 0                  # blocks the last wave is remembered after an unlock
        self.ramping = False
        self.ramp_n = 0                  # blocks the level has been ramping
        self.settle = 0                  # blocks until a ramp's end has left the fitted window
        self.lock_q8 = 0                 # the period the crossings locked (the fits tune near it)
        self.held = 0                    # blocks of the current hold (the phase runs free)
        self.drift = 0                   # q8: what the phase's drift over a hold may leave
        self.drift_n = 0                 # blocks it is still allowed for after the hold
        self.b = 0
        self.fitted = False              # a fit since the lock: its wave is what is subtracted
        self.res_var = 0                 # what is left with the prediction taken out: its variance, q8^2,
        self.res_mean = 0                # about its mean, q8
        self.beat_peak = 0               # the last peak of the residual wave's amplitude, q8,
        self.beat_n = 0                  # and the blocks left of its fade
        self.base = 0                    # fan-free level of the last undisturbed block, q8
        self.away = False
        self.wait = 0
        self.crest_age = _FAN_MAX        # blocks since z was last above / below the hysteresis,
        self.trough_age = _FAN_MAX       # and the extremes of those excursions (q8): a swing
        self.crest_q8 = 0
        self.trough_q8 = 0
        self.turns = 0                   # excursions in turn (crest, trough, ...), up to 3

    def shift(self, d_q8):
        # The level moved by d_q8 with no change in the air (the thermal model's correction changed):
        # what the notch holds of it moves alike (the high-passes' means, the ring, the fan-free base)
        if not d_q8:
            return
        for j in range(FAN_RING):
            self.ring[j] += d_q8
        self.hp1 += d_q8
        self.hpo1 += d_q8
        self.base += d_q8

    def subtracting(self):
        # The locked wave is fully subtracted: a level that moves is no longer the fan's own swing
        # (until then the blocks the step classifier calls moving are the fan's: a 6 Pa, 25 s fan
        # moves the level 10 Pa in 8 blocks, and a notch that held them never locked on it).
        # A wave left beside the prediction (the period or phase off, seen: 1.6 % short, 37 degrees
        # off two periods after the first fit) moves the level too: a notch that held on it would
        # never fit again.
        return self.locked and self.fitted and self.gain >= 16 and self.res_var <= 3 * (self.noise2 >> 1)

    def update(self, level_q8, disturbed, ramping=False):
        # The fan's part of this block's level to subtract (q8; 0 while none is locked), then
        # learn from the block. self.left: what of the wave is not subtracted (allowed for).
        # ramping: the level rises steadily (a repress). The fits take a ramp as a constant, not
        # its start: they wait until it has left the blocks they fit; the crossings and the
        # stopped-fan test meet the high-passes' answer to it and judge nothing meanwhile (a
        # verdict from its first blocks, before it was known, is undone).
        if self.ramping and not ramping:
            # the ramp's end is a kink in the ring's differences that the fit's mean does not
            # remove: each fit would read it as a turn and tune the period away (red team); the
            # fits go on (the wave's phase), the period waits until the kink has left them
            self.settle = self.span + self.half
            self.compare = False
        self.ramping = ramping
        if not ramping:
            self.ramp_n = 0
            if self.settle:
                self.settle -= 1
        elif self.ramp_n < FAN_RING:
            if not self.ramp_n:
                self.present = True
                self.doubt = 0
            self.ramp_n += 1
        pred = 0
        if self.gain or self.locked:
            pred = (self.a * sin10(self.phase) + self.b * sin10(self.phase + 16384)) >> 10
        if disturbed:
            v = self.base + pred
            self.away = True
            if self.held < 1 << 14:
                self.held += 1
        else:
            if self.away and self.count:
                self._rejoin(level_q8 - pred - self.base)
                self.compare = False
                self._drifted()
            self.away = False
            v = level_q8
            self.base = level_q8 - pred
        if not self.count:
            self.hp1 = v
            self.hpo1 = v
        # the level high-passed twice (EMAs over 32 blocks: ramps leave nothing), and once the
        # level less the prediction (a slope leaves a constant: at once, a fan that stops leaves
        # minus the prediction itself, without the filter's phase)
        ea = v - self.hp1
        self.hp1 += ea >> 5
        ea -= self.hp2
        self.hp2 += ea >> 5
        eb = v - pred - self.hpo1
        self.hpo1 += eb >> 5
        hq = pred - self.hpp
        self.hpp += hq >> 5
        if not disturbed and self.locked and not ramping:
            e = clamp(eb, 4095)
            self._still_there(e, clamp(hq, 4095))
            self.res_mean += (e - self.res_mean) >> 4      # (a leak's slope leaves a constant
            e -= self.res_mean                            # in e: no wave)
            self.res_var += (e * e - self.res_var) >> 4
        # a lock gained or lost fades the wave in or out over 16 blocks: switched at once it
        # would be a step of its amplitude
        if self.drift_n:
            self.drift_n -= 1
        if self.locked:
            if self.gain < 16:
                self.gain += 1
        elif self.gain:
            self.gain -= 1
        used = (pred * self.gain) >> 4
        if not self.present:
            used >>= 1                           # in doubt: half of it taken out, and the other
        if self.locked:                          # half allowed for either way (a fan that stopped
            self.left = used - pred if used > pred else pred - used   # leaves minus it)
            if not self.present:
                self.left = pred if pred > 0 else -pred
            # (a wave left beside the prediction: for the CUSUMs only; the telemetry's rise floor
            # keeps `left`, a repress's start read as one held its rate at 0 for ~35 s)
            self.odd = self._beat() + (self.left >> 1 if not self.present else 0)
            if self.drift_n:
                d = self.drift * self.drift_n // self.span
                if d > self.left:
                    self.left = d
        else:                                    # a wave lost, or still remembered: its phase
            self.odd = 0
            self.beat_peak = 0
            self.beat_n = 0
            self.left = self.amplitude()         # is not known; one seen but not locked yet: its
            swing = self.swing()                 # swing
            if swing > self.left:
                self.left = swing
        self.ring[self.pos] = v
        self.pos = (self.pos + 1) % FAN_RING
        if self.count < FAN_RING:
            self.count += 1
        self.phase = (self.phase + self.step) & 0xFFFF
        self._crossings(ea)
        if self.memory:
            self.memory -= 1
            if not self.memory and not self.locked:
                self.a = 0
                self.b = 0
        # (held blocks teach it nothing: a fit on its own predictions lets the period drift)
        if self.locked and not disturbed and (not ramping or self.ramp_n > self.span + self.half):
            self.wait -= 1
            if self.wait <= 0 and self.count >= self.span + self.half:
                self.wait = _FIT_EVERY
                self._fit()
        return used

    def _beat(self):
        # The residual wave's amplitude (below), held at its last peak and faded out over _BEAT_FADE
        # blocks after it.
        r = self._residual()
        if r >= self.beat_peak * self.beat_n // _BEAT_FADE:
            self.beat_peak = r
            self.beat_n = _BEAT_FADE
            return r
        if self.beat_n:
            self.beat_n -= 1
        return self.beat_peak * self.beat_n // _BEAT_FADE

    def _residual(self):
        # The amplitude (q8) of a wave left with the prediction taken out, from its variance about
        # its mean over ~16 blocks beyond the white noise's (0 within 3x it: the prediction fits). A fan that
        # changed speed beats against the old prediction (up to twice its amplitude) for the ~3
        # periods until the lock goes: seen failing, a 90 s fan going to 45 s was a LEAK 41-83 s after.
        white = self.noise2 >> 1
        if self.res_var <= 3 * white:
            return 0
        return (5 * isqrt(2 * (self.res_var - white))) >> 2

    def swing(self):
        # The amplitude (q8) of an oscillation seen in z: beyond the hysteresis both ways within the
        # longest period, the two excursions alike within 2x (a wave; the ramps of a repress too
        # slow to be held leave a crest and a trough several times apart), and either each beyond
        # 1.5x the hysteresis (4.5 sigma of z: no noise) or three excursions in turn, crest, trough,
        # crest or the other way, each within the longest period of the last (a wave repeats; a
        # leak's start, high-passed twice, is one bump of one sign, ~0.37 x its rate x 32 blocks:
        # beside one noise excursion of the other sign it made a "swing" of 0.6-0.75 Pa on a day
        # with no fan at 44 ms, and a 3e-2 Pa/s leak was found 22 s late). The hysteresis follows the
        # block noise, ~3x larger at 500 ms than at 44 ms, while a fan's z does not: a 3 Pa fan's is
        # 5-10x the hysteresis at 44 ms, 1.4-1.6x at 500 ms, and a node booting into it there needs
        # its swing (1.5x alone: a false LEAK 232 s after boot). 0 when none is. Half its
        # peak-to-peak, x 5/4 for the filters' loss (z keeps 0.7-0.93 of a 20-128 block wave).
        c = self.crest_q8
        t = -self.trough_q8
        if self.crest_age < _FAN_MAX and self.trough_age < _FAN_MAX and c <= 2 * t and t <= 2 * c:
            least = (3 * self.hyst_q8) >> 1
            if self.turns >= 3 or (c > least and t > least):
                return (5 * (c + t)) >> 3
        return 0

    def swing_step(self):
        # The phase per block (1/65536 turn) of the swing seen: a period of twice its crest-to-trough
        # distance, not below the shortest fan's (its steepest slope is what matters).
        half = self.crest_age - self.trough_age
        if half < 0:
            half = -half
        return 65536 // (2 * half if 2 * half > _FAN_MIN else _FAN_MIN)

    def pending(self):
        # An oscillation is seen that is not yet fully subtracted (not locked, or fading in).
        return (self.gain < 16 or not self.locked) and self.swing() > 0

    def amplitude(self):
        # |a| + |b| (q8): at least the wave's amplitude; 0 when none is known.
        return (self.a if self.a > 0 else -self.a) + (self.b if self.b > 0 else -self.b)

    def _still_there(self, e, q):
        # Page's test on what is left with the prediction taken out, e, against the prediction,
        # q: a fan that stopped leaves e = -q. Log-likelihood ratio per block
        # -(2 e q + q^2) / (2 sigma^2), x16; in doubt beyond ln 100, sure again the same way back.
        llr = -((2 * e + q) * q * 16) // self.noise2
        if not self.present:
            llr = -llr
        d = self.doubt + llr
        self.doubt = 0 if d < 0 else (d if d < 256 else 256)
        if self.doubt > _DOUBT:
            self.present = not self.present
            self.doubt = 0

    def _drifted(self):
        # Through a hold nothing is fitted and the phase runs free: a period off by ~1 % (what the
        # fits hold it to) turns it by 2 pi x 1 % per period held. What that leaves of the wave is
        # allowed for while the fits, which still see the held blocks' predictions, take it back
        # (one span, fading). (Red team: a 245-block hold left a 0.9 Pa dip that was a LEAK.)
        if self.locked and self.period_q8 and self.held > 1:
            turns = (self.held << 16) // self.period_q8                 # periods held, q8
            self.drift = self.amplitude() * turns // 4074              # x 2 pi / 100 / 256
            self.drift_n = self.span
        self.held = 0

    def _rejoin(self, jump):
        # After a hold the level may have moved (a step that stays): the ring moves with it, so
        # the differences see no step.
        for j in range(FAN_RING):
            self.ring[j] += jump
        self.hp1 += jump
        self.hpo1 += jump

    def _crossings(self, high):
        last = self.z
        self.z += (high - self.z) >> 2
        z = self.z
        self.cross_age += 256
        if self.up_age < 1 << 24:
            self.up_age += 256
        if last < 0 <= z:
            self.cross_age = 256 - ((-last << 8) // (z - last))     # where between the blocks
        h = self.hyst_q8
        self._swing(z, h)
        if z < -h:
            self.low = True
        elif z > h and self.low:
            self.low = False
            period = self.up_age - self.cross_age
            self.up_age = self.cross_age
            self._period(period)
        if self.locked and not self.ramping and self.up_age > 2 * self.period_q8 + 512:
            self._unlock()

    def _swing(self, z, h):
        # The excursions of z beyond +-h: a crest and a trough within the longest period are a
        # wave (a leak's ramp, high-passed twice, leaves one sign only); its half peak-to-peak. A
        # repress's ramp (its start high-passed: ~6 Pa at 0.5 Pa/s) is no wave.
        if self.crest_age < _FAN_MAX:
            self.crest_age += 1
        if self.trough_age < _FAN_MAX:
            self.trough_age += 1
        if self.ramping:
            return
        # An excursion's extreme is new only once the other side was seen since: noise that takes z
        # back under the hysteresis for a block or two near a crest does not start a small crest
        # (seen failing: a 181 q8 re-crest after a 486 one, then a 393 trough, "not alike", no swing
        # allowed, and a 2 Pa, 100 s fan's dip was a LEAK 173 s after boot).
        # A new excursion after one of the other sign within the longest period is one more turn.
        if z > h:
            if self.trough_age < self.crest_age or self.crest_age >= _FAN_MAX:
                self._turn(self.trough_age)
                self.crest_q8 = z
            elif z > self.crest_q8:
                self.crest_q8 = z
            self.crest_age = 0
        elif z < -h:
            if self.crest_age < self.trough_age or self.trough_age >= _FAN_MAX:
                self._turn(self.crest_age)
                self.trough_q8 = z
            elif z < self.trough_q8:
                self.trough_q8 = z
            self.trough_age = 0

    def _turn(self, other_age):
        # excursions in turn, each within the longest period of the last (the first: 1)
        if other_age < _FAN_MAX:
            if self.turns < 3:
                self.turns += 1
        else:
            self.turns = 1

    def _period(self, p):
        if p < _FAN_MIN << 8 or p > _FAN_MAX << 8:
            if self.locked and p > _FAN_MAX << 8:
                self._miss()                                     # no fan's crossing
            return
        P = self.period_q8
        if P and (p - P) * 8 < P and (P - p) * 8 < P:
            if not self.locked:                                  # once locked the fits' own
                self.period_q8 += (p - P) >> 1                   # phase drift tunes it
            self.agree += 1
            self.missed = 0
        elif self.locked:
            self._miss()                                         # noise, or a new period
            return
        elif self.candidate_q8 and (p - self.candidate_q8) * 8 < self.candidate_q8 \
                and (self.candidate_q8 - p) * 8 < self.candidate_q8:
            self.period_q8 = (p + self.candidate_q8) >> 1      # two in a row: the fan changed
            self.agree = 1
            self.locked = False
        else:
            self.candidate_q8 = p
            return
        self.candidate_q8 = 0
        self.step = (1 << 24) // self.period_q8
        self.compare = False
        self._shape()
        if self.agree >= 2 and not self.locked:
            if self._harmonic():
                self.period_q8 >>= 1                             # one up-crossing in two missed
                self.step = (1 << 24) // self.period_q8
                self._shape()
            self.locked = True
            self.fitted = False
            self.lock_q8 = self.period_q8
            self.wait = 0

    def _harmonic(self):
        # Is the period agreed on twice the fan's? At 1 s a block is one sample: the smoothed
        # crossings' noise is near the hysteresis and a 3 Pa fan's trough is missed now and then;
        # two in a row locked on 2 x 55 s, and its wave subtracted from the fan's was a LEAK. The
        # ring's differences a quarter of that period apart, over its whole periods: the wave at
        # twice its frequency stronger (power / gain^2: 2 and 4) means the fan's is half of it.
        p = self.period_q8 >> 8
        q = p >> 2
        if p < 2 * _FAN_MIN or self.count < p + q:
            return False
        n = p * ((self.count - q) // p)
        step = self.step
        s1 = c1 = s2 = c2 = 0
        ph = 0
        for i in range(n):
            j = self.pos - n + i
            d = clamp(self.ring[j % FAN_RING] - self.ring[(j - q) % FAN_RING], 4095)
            s1 += d * sin10(ph)
            c1 += d * sin10(ph + 16384)
            s2 += d * sin10(2 * ph)
            c2 += d * sin10(2 * ph + 16384)
            ph = (ph + step) & 0xFFFF
        s1 = (s1 // n) >> 6
        c1 = (c1 // n) >> 6
        s2 = (s2 // n) >> 6
        c2 = (c2 // n) >> 6
        return 2 * (s1 * s1 + c1 * c1) < s2 * s2 + c2 * c2

    def _miss(self):
        # A crossing that does not fit the lock counts against it: three in a row, start again
        # (not while a repress ramp is in the fit: its end moves the crossings).
        self.missed += 1
        if self.missed >= 3 and not self.ramping:
            self._unlock()

    def _shape(self):
        # Differences half a period apart, whole periods fitted, and the turn between the two.
        P = self.period_q8
        self.half = (P + 256) >> 9
        k = ((FAN_RING - self.half) << 8) // P
        self.span = (k * P + 128) >> 8
        turn = self.half * self.step
        self.turn_p = 1024 - sin10(turn + 16384)
        self.turn_q = sin10(turn)

    def _unlock(self):
        # The wave's a, b and step stay while it fades out, and are remembered a while (what is
        # not removed of it is allowed for).
        self.memory = _MEMORY
        self.locked = False
        self.agree = 0
        self.period_q8 = 0
        self.candidate_q8 = 0

    def _diff(self, i):
        # The fit's i-th difference: the i-th block of its window less the block `half` before it
        # (the window: the last `span` blocks; Python's % wraps a negative index into the ring).
        j = self.pos - self.span + i
        return self.ring[j % FAN_RING] - self.ring[(j - self.half) % FAN_RING]

    def _fit(self):
        n = self.span
        step = self.step
        ph = self.phase - n * step
        sum_d = 0
        for i in range(n):                     # the mean first: a repress's ramp makes the
            sum_d += clamp(self._diff(i), 1 << 16)           # differences tens of Pa
        mean = sum_d // n
        sum_d = 0
        sum_s = 0
        sum_c = 0
        ds = 0
        dc = 0
        for i in range(n):
            d = clamp(self._diff(i) - mean, 4095)
            s = sin10(ph)
            c = sin10(ph + 16384)
            sum_d += d
            sum_s += s
            sum_c += c
            ds += d * s
            dc += d * c
            ph += step
        m = sum_d // n
        ad = ((ds - m * sum_s) // n) >> 9          # the differences' wave, q8
        bd = ((dc - m * sum_c) // n) >> 9
        p = self.turn_p
        q = self.turn_q
        den = (p * p + q * q) >> 10
        if den < 64:
            return
        a = (p * ad + q * bd) // den
        b = (p * bd - q * ad) // den
        # a wave that turns from fit to fit runs at another period than the phase: tune the
        # step by an eighth of the turn (sin of the turn = cross / r2; 2608 = 65536 / 2 pi / 4). A new step re-phases
        # the ring, so the fit after it is not compared. (Rounded, not floored: a floor moved the
        # step down on every small turn either way, and the period settled 0.9 % long on a clean
        # 60 s fan, its wave left at 0.15 Pa in quadrature.)
        r2 = (a * a + b * b) >> 6
        if self.compare and r2 > 64 and not self.settle:
            cross = (self.a * b - self.b * a) >> 6
            self.step += (clamp(cross, 1 << 19) * 326 + (r2 >> 1)) // r2   # an eighth of the turn per block
            self.period_q8 = (1 << 24) // self.step if self.step > 0 else 0
            self.compare = False
            L = self.lock_q8
            if (self.period_q8 - L) * 8 > L or (L - self.period_q8) * 8 > L \
                    or self.period_q8 > _FAN_MAX << 8:
                self._unlock()             # tuned beyond what the crossings agreed on: not that fan
                return                     # (or beyond the longest: the ring holds no whole period)
        else:
            self.compare = True
        self.a = a
        self.b = b
        self.fitted = True
