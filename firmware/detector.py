# On-node leak detector: integer fixed point, allocation-free per sample (docs/detection.md).
#
#   det = Detector(sample_ms=44, params=None)      # params: dict of DEFAULTS keys
#   ev = det.update(t_fine, pressure_q8)           # per sample; EV_NONE or an EV_* code
#   det.state, det.rate_e5 (1e-5 Pa/s), det.stat (0.01, 10000 = alarm), det.warm, det.transient
#   rate_pa_s, kg_day, hole_mm = det.leak_estimate()   # kg_day, hole_mm None: not yet measured
#   det.vapour(t_c100, rh_c100)                    # per SCD4x reading (0.01 degC, 0.01 %RH), if any
#
# The parts, in the order a sample meets them:
#   det_prefilter  temperature compensation (n ~ P/T), spike filter, stuck-sensor watch
#   det_fast       RAPID from the samples, the pulse classifier, the rate since a fall's onset
#   det_fall       a sustained fall's rate from its own onset, as soon as it is significant
#   per ~1 s block of the slow path:
#   det_prefilter  FanNotch: a fan's oscillation measured and subtracted
#   det_steps      steps, repress and pulse recoveries held and re-learnt; sustained falls
#   det_thermal    the sensor's residual tempco fitted online (ThermalModel) and the level (Baseline)
#   det_vapour     the water vapour's pressure from the SCD4x (det.vapour), a regressor of the level
#   det_cusum      a bank of CUSUMs, each tuned to one leak slope
#   det_boot       while the first level after a reset is learnt: a fall the priors cannot make
#   det_rate       least-squares slopes over 32 blocks and over 32 x 16 blocks
#   det_chamber    chamber mode: the reference extrapolates the rate of rise (outgassing is no leak)
# States, events and modes are protocol.messages' own constants. Functions are described in
# comments, not docstrings: MicroPython keeps docstrings in the board's RAM.
import math

from det_boot import BootFall
from det_chamber import CHAMBER_SETTLE, FLOOR_SPAN, ChamberTrend
from det_cusum import BANK, LONG_FIRST, LONG_LAST, CusumBank, LongNoise, block_sigma_q10
from det_fall import FallTrack
from det_fast import FAST_PULSE, FAST_RAPID, FastPath
from det_fixed import clamp, isqrt
from det_prefilter import OUT_NONE, OUT_REANCHOR, FanNotch, Prefilter
from det_rate import LONG_EVERY, RING, BlockRates, ratio
from det_steps import (HOLD_END, STEP_FALLING, STEP_MOVING, STEP_QUIET, STEP_SETTLED, YOUNG_BACK,
                       YOUNG_HOLD, YOUNG_LEAK, YOUNG_STEP, PulseHold, StepClassifier)
from det_thermal import Baseline, ThermalModel
from det_vapour import VapourTrack
from protocol.messages import (EV_LEAK_CLEARED, EV_LEAK_DETECTED, EV_RAPID, EV_SENSOR_FAULT,
                               EV_SENSOR_RECOVERED, EV_TRANSIENT, FAULT, LEAK, MODE_CHAMBER,
                               MODE_HABITAT, NOMINAL, RAPID, SUSPECT, TRANSIENT_MAX_S)

EV_NONE = -1
HABITAT = MODE_HABITAT
CHAMBER = MODE_CHAMBER
R_AIR = 287.05               # J/(kg K)
_CLAMP12 = 1 << 22           # block residual clamp, q12 (1024 Pa): bounds every CUSUM sum
_CREST_BLOCKS = 64           # a crest this recent lets a young alarm wait for a fan's dip to turn
_TUNE = 48                   # blocks before the thresholds are first re-derived from the noise seen
_FAST_FALL_PA_S = 30.0       # a fall this fast may be a pulse (>= 85 Pa within a second): RAPID waits
# a ramp (a hole) or a step (a door slam, 0.1 s and then flat or flowing back)? over 100 parts at 44 ms a
# -5 Pa step's ramp-over-step was at most -1 noise variances and a 10 Pa/s hole's at least -4 (5 % below 2)
_RAMP_NV = 3                 # RAPID once the fall is a better ramp than a step by this (noise variances)
_AFTER_STEP_Z = 4            # ... or once the samples after a step's edge fall by this many standard errors
_STEP_NV = 10                # a step (EV_TRANSIENT) once it is the better fit by this; between: wait
_FAST_FALL_WAIT_MS = 900     # this long from its onset (its onset is sharp: RAPID still within 1 s)
# a fall that stopped (a door closing over half a second) or a hole? (FastPath.shapes, noise variances)
_STOP_NV = 12                # a fall that stopped fits better than a ramp by this: a pulse
_STOP_DOUBT_NV = 4           # ... by this: wait (until _DOUBT_MS after the onset; holes reached 6 in 100)
_DOUBT_MS = 920              # RAPID waits no longer than this for the doubt to resolve
_SLAM_NV = 10                # a slam and a falling line after it fit better than a fall that stopped
_SLAM_AFTER_Z = 3            # ... and the line after it falls by this many of its standard errors
SHAPE_RAMP = 0               # _fall_shape(): a ramp (or a step: the step-or-ramp rule decides)
SHAPE_SLAM = 1               # a slam, then still falling: a hole opening with a slam
SHAPE_STOP = 2               # a fall that stopped: a pulse
SHAPE_WAIT = 3               # a fall that stopped, or a hole's noise: wait
_REPIN = 128                 # blocks after a CUSUM's alarm: the ramp's onset found again on more of it
_BOOT_ENTRIES = 8            # long-ring entries (~2 minutes) before a fall while booting is judged
_BOOT_Z = 5                  # standard errors it must be out, beyond what the priors allow
_CLEAR_Z = 3                 # standard errors a slope must be out before a LEAK clears on it
_KNOWN_SE = 10               # a leak's rate is known (its refined event) at this many standard errors

DEFAULTS = {
    "mode": HABITAT,
    "noise_pa": 1.3,          # BMP280 x16 oversampling, no IIR (REFERENCE section 5): a floor
    "threshold": 0.0,         # ln of the CUSUM in-control run length; 0 = from false_alarm_years
    "false_alarm_years": 1.0,
    "drift_pa_s": 2e-4,       # slowest leak rate the CUSUM bank is tuned for (~0.2 kg/day ISS)
    "rapid_rate_pa_s": 5.0,   # RAPID above this (floored at 6 sigma of the fast statistic)
    "window_samples": 0,      # fast-path half window; 0 = 0.5 s of samples
    "block_ms": 1000,         # slow-path block length
    "suspect": 50.0,          # statistic (% of threshold) that raises SUSPECT
    "clear_hold_ms": 600000,  # rate back to normal this long before LEAK clears
    "rebase_s": 3600,         # baseline re-learnt this often while quiet
    "transient_pa_s": 0.5,    # a level moving faster than this is a step, repress or pulse
    "transient_max_s": 10,    # a fall moving that fast for longer is a leak
    "outgas_pa_s": 1.0,       # chamber: highest outgassing rate of rise at isolation
    "outgas_tau_s": 7200.0,   # chamber: slowest outgassing time constant (longer ones read as leaks)
    "tempco_pa_k": 2.0,       # prior bound of the residual tempco until a thermal cycle is fitted
    "lag_s": 3.0,             # prior bound of the sensor's thermal lag behind the gas until fitted
    "stuck_samples": 100,     # identical raw pressures in a row = stuck sensor (as PX4)
    "volume_l": 916000.0,     # ISS pressurised volume
    "cd": 0.6,
}


def leak_kg_day(rate_pa_s, volume_m3, temp_k):
    # Mass loss for a decay of the compensated pressure (referred to temp_k) at constant volume.
    return -rate_pa_s * volume_m3 / (R_AIR * temp_k) * 86400.0


def hole_mm(kg_day, pressure_pa, temp_k, cd):
    # Equivalent sharp-edged hole: choked flow m = 0.0404 Cd A p / sqrt(T), upstream p and T.
    if kg_day <= 0 or pressure_pa <= 0:
        return 0.0
    area = (kg_day / 86400.0) * math.sqrt(temp_k) / (0.0404 * cd * pressure_pa)
    return 2000.0 * math.sqrt(area / math.pi)


def _average(mean, x, n):
    # Running mean of the first 64 values, then an exponential average over ~64.
    if n < 64:
        return mean + (x - mean) // (n + 1)
    return mean + ((x - mean) >> 6)


class Detector:
    def __init__(self, sample_ms=44, params=None):
        self.p = dict(DEFAULTS)
        if params:
            for k in params:
                self.set(k, params[k], False)
        self.sample_ms = sample_ms
        self.faulted = False
        self.stale = False
        self.state = NOMINAL
        self.prefilter = Prefilter()
        self.fan = FanNotch()
        self.fast = FastPath()
        self.fall = FallTrack()
        self.steps = StepClassifier()
        self.pulse = PulseHold()
        self.thermal = ThermalModel()
        self.baseline = Baseline()
        self.vapour_track = VapourTrack()
        self.cusum = CusumBank()
        self.rates = BlockRates()
        self.boot = BootFall()          # a fall while the first level after a reset is learnt
        self.chamber = ChamberTrend()
        self.noise_var = 0
        self.noise_n = 0
        self.noise_long = LongNoise()    # the same two measures over the hours: the CUSUMs' sigma
        self.slow_long = LongNoise()
        self.configure()

    # ---- configuration (off the hot path; floats allowed) -------------------------------
    def set(self, name, value, apply=True):
        if name not in DEFAULTS:
            raise KeyError(name)
        if name == "mode":
            value = int(value)
            if value not in (HABITAT, CHAMBER):
                raise ValueError("mode")
        elif value < 0:
            raise ValueError(name)
        self.p[name] = value
        if apply:
            self.configure()

    def configure(self, sample_ms=None):
        if sample_ms:
            self.sample_ms = sample_ms
        p = self.p
        ms = self.sample_ms
        self.sign = 1 if p["mode"] == HABITAT else -1
        self.block_n = max(1, (p["block_ms"] + ms // 2) // ms)
        self.block_s = self.block_n * ms / 1000.0
        # second differences of block means beyond 6 sigma of what noise_pa predicts for blocks of
        # block_n samples are clipped (a transient's curvature is not noise): 4 Pa at 44 ms, 13.5 Pa
        # at 500 ms; q8, below 128 Pa so its square stays a small int
        self.noise_clip_q8 = min(32767, int(6.0 * math.sqrt(6.0 / self.block_n) * p["noise_pa"] * 256))
        half = int(p["window_samples"] or max(2, (500 + ms // 2) // ms))
        self.prefilter.configure(ms, p["noise_pa"])
        self.fast.configure(ms, half, p["rapid_rate_pa_s"], p["noise_pa"], self.sign)
        self.rates.configure(self.block_s)
        # a fan's steepest slope in 1e-5 Pa/s from its amplitude (q8) x phase step (1/65536 turn
        # per block), x 2^-16: 2 pi 1e5 / (65536 x 256 x block_s)
        self.fan_slope_k = int(2.0 * math.pi * 1e5 / (65536.0 * 256.0 * self.block_s) * 65536.0)
        # (a chamber's pump-down and venting move the temperature fast: no lag term there)
        self.thermal.configure(p["tempco_pa_k"], p["lag_s"] if p["mode"] == HABITAT else 0.0, self.block_s)
        self.boot.configure(self.thermal.prior_q, p["lag_s"], self.block_s)
        self.baseline.rebase_blocks = min(3600, max(8, int(p["rebase_s"] / self.block_s)))
        self.hold_blocks = max(10, int(p["transient_max_s"] / self.block_s))
        self.fall.configure(ms, self.hold_blocks * self.block_s)
        self.fall.set_noise(p["noise_pa"])
        # a pulse not back to a quarter within 90 s (the longest recoveries seen) is judged as a
        # step; a recovery is waited for TRANSIENT_MAX_S (5 minutes) at most
        self.pulse_wait = max(1, int(TRANSIENT_MAX_S / self.block_s))
        self.pulse.configure(max(1, int(90.0 / self.block_s)), self.pulse_wait)
        self.suspect_pct = int(p["suspect"])
        self.rapid_settle = max(4, int(750 / ms))
        self.rapid_refine = max(self.rapid_settle + 4, int(1600 / ms))
        # still falling? judged on the last ~0.26 s (~0.22 s of a fast fall, whose stop shows sooner)
        self.rapid_recent = max(4, (260 + ms // 2) // ms)
        self.rapid_recent_fast = max(4, (220 + ms // 2) // ms)
        self.rapid_edge = max(1, 100 // ms)     # a door slam's own edge (~0.1 s): free in the step fit
        self.rapid_doubt = max(self.rapid_settle, int(_DOUBT_MS / ms))
        self.rapid_settle_fast = max(self.rapid_settle, int(_FAST_FALL_WAIT_MS / ms))
        self.rapid_fast_e5 = int(_FAST_FALL_PA_S * 1e5)
        self.rapid_confirm_e5 = int(p["rapid_rate_pa_s"] * 1e5)
        self.clear_blocks = max(1, int(p["clear_hold_ms"] / 1000.0 / self.block_s))
        self.below_q8 = int(p["transient_pa_s"] * 4 * self.block_s * 256)
        self._noise(p["noise_pa"])
        self.reset()

    def _noise(self, sigma, wave_pa=0.0):
        # Everything that scales with the per-sample noise sigma (Pa): thresholds, allowances.
        p = self.p
        dt = self.sample_ms / 1000.0
        r = self.fast.half
        self.sigma = sigma
        sig_rate = p["noise_pa"] * math.sqrt(2.0 / r) / (r * dt)
        self.fast.set_rapid(max(p["rapid_rate_pa_s"], 6.0 * sig_rate))
        sig_b = sigma / math.sqrt(self.block_n)
        blocks_per_year = p["false_alarm_years"] * 3.156e7 / self.block_s
        ln_arl = p["threshold"] or math.log(max(blocks_per_year * BANK, 10.0))
        self.ln_arl = ln_arl
        self._tune_cusum(sig_b, wave_pa)
        self.thermal.set_noise(int(sig_b * 4096))
        # the fan's crossings from the white noise alone (the fan's own swing is not noise)
        white = p["noise_pa"] / math.sqrt(self.block_n)
        if self.noise_n >= 4:
            white = max(white, math.sqrt(self.noise_var * 256.0) / 4096.0)
        self.fan.configure(int(white * 256))
        self.chamber.tune(sig_b, p["drift_pa_s"], self.block_s, p["outgas_pa_s"], p["outgas_tau_s"])
        change = max(p["transient_pa_s"] * 8 * self.block_s, 7.0 * sig_b * math.sqrt(2.0))
        self.steps.configure(int(change * 256), self.hold_blocks)
        # rate rungs: a slope is believed when 5 standard errors out
        n = self.fast.size
        self.fast_rate_e5 = int(5e5 * sigma * math.sqrt(12.0 / (n * (n * n - 1))) / dt)
        self.short_rate_e5 = int(5e5 * sig_b * math.sqrt(12.0 / (RING * (RING * RING - 1))) / self.block_s)
        # the 32-block slope of a fall speaks only for a level moving like a step would: a fan's
        # oscillation has 32-block slopes of tenths of a Pa/s and no air goes anywhere
        self.moving_e5 = max(self.short_rate_e5, int(p["transient_pa_s"] * 1e5))
        # a rise (air added, never a leak) on significance and the fan: the steepest 32-block
        # slope of a wave of amplitude A is 6 x 0.436 A / (32 blocks), per q8 of what is left
        self.rise_k = int(6.0 * 0.436 / (RING * self.block_s) * 1e5 / 256.0) + 1
        sig_long = sig_b / 4.0 * math.sqrt(12.0 / (RING * (RING * RING - 1))) / (LONG_EVERY * self.block_s)
        self.drift_e5 = int(p["drift_pa_s"] * 1e5)
        self.clear_e5 = max(self.drift_e5, int(_CLEAR_Z * sig_long * 1e5))
        # standard error of an n-entry slope of 16-block means, x 16 (1e-5 Pa/s): this / isqrt(n (n^2 - 1))
        self.slope_se_k = int(16e5 * sig_b / 4.0 * math.sqrt(12.0) / (LONG_EVERY * self.block_s))
        # and the variance of one 16-block mean it stands for (q8^2): what the entries' own scatter is
        # measured against (_rate_changed)
        self.entry_var = max(1, int((sig_b * 256.0) ** 2 / LONG_EVERY))

    def _tune_cusum(self, sig_b, wave_pa):
        # The CUSUMs from the block noise sig_b (Pa) and a wave's amplitude; a habitat's from the
        # long record once it has LONG_FIRST chunks of both measures (floats: at milestones only)
        if self._long_ready():
            white = self.noise_long.var16 / 16.0
            slow = self.slow_long.var16 / 16.0
            up = max(self.noise_long.margin(), self.slow_long.margin())
            sig_b = max(self.p["noise_pa"] / math.sqrt(self.block_n), block_sigma_q10(self.noise_long, self.slow_long) / 1024.0)
            wave_pa = up * math.sqrt(max(slow - 2 * white, 0)) / 256.0 * 1.2 * math.sqrt(2.0)
        self.cusum.tune(sig_b, self.p["drift_pa_s"], self.block_s, self.ln_arl, self.baseline.rebase_blocks, wave_pa)
        self.cusum.floor_q10 = int(self.p["noise_pa"] / math.sqrt(self.block_n) * 1024.0)
        # what _follow starts from: the record's sigma just tuned for (none while learning's measures rule)
        self._long_sigma(self.cusum.tuned_q10 if self._long_ready() else 0)

    def _long_sigma(self, sig):
        # The long record's sigma the bank follows (q10 Pa; 0: none), and the white 64-block
        # variance (q8^2) beyond which a noise that rose lately is followed at once: 1.75x its square
        self.long_sig_q10 = sig
        self.rise_var = (7 * sig * sig) >> 6

    def _long_ready(self):
        return self.sign > 0 and self.noise_long.n >= LONG_FIRST and self.slow_long.n >= LONG_FIRST

    def reset(self):
        # Forget everything learnt (boot, zero command, sensor recovery, re-anchoring).
        self.prefilter.reset()
        self.fan.reset()
        self.thermal.reset()
        self.vapour_track.reset()
        self.rates.reset()
        self.fast.reset()
        self.fall.forget()
        self.steps.reset()
        self.baseline.reset()
        self.block = 0
        self.block_sum = 0
        self.block_dx = 0
        self.block_fill = 0
        self.tuned = False
        self.noise_var = 0           # block noise variances, q8^2: white, and slow disturbances
        self.noise_n = 0
        self.slow_var = 0
        self.slow_n = 0
        self.slow_wait = 0           # ring entries still to come before the slow measure's reach is
                                     # all after the fan's lock (the wave subtracted from each)
        self.noise_long.reset()
        self.slow_long.reset()
        self._long_sigma(0)          # the bank's sigma from the long record, once it follows it
        self.last_b12 = 0
        self.last2_b12 = 0
        self.rising = False          # the 32-block slope is a significant rise (a repress)
        self.rise_held = False       # its rate stands while the ring refills after a re-learn
        self.rise_e5 = 0
        self.fall_peak = 0           # steepest 32-block fall in this and the last 128 blocks
        self.fall_last = 0
        self.up_peak = 0             # the fast rung's steepest rise and fall, this and the last
        self.up_last = 0             # 128 blocks (an oscillation not subtracted swings both ways)
        self.down_peak = 0
        self.down_last = 0
        self.swung_up = 0
        self.prior12 = 0             # the learnt level before a rise that stayed (a habitat's),
        self.prior_until = 0         # standing for a fall's telemetry until this block
        self._relearn()
        self.booting = self.sign > 0  # the first level since the reset is being learnt (habitat)
        self.boot.reset()

    def _relearn(self):
        # Learn the level again (after a leak clears or a step stays); the tempco and the
        # thresholds are kept. A leak's segments leave the thermal fit with it.
        if self.state == LEAK:
            self.thermal.forget()
        self.boot.reset()             # (a step during the first learning: its window starts again)
        self.state = NOMINAL
        self.steps.young_clear()
        self.baseline.relearn()
        self.cusum.reset(self.block)
        self.chamber.reset()
        self.stat = 0
        self.rate_e5 = 0
        self.rapid_quiet = 0
        self.rapid_refined = False   # the RAPID event's estimate has been refined (sent again)
        self.rapid_known = True      # its rate is known well enough for the loss (else LOSS_UNMEASURED)
        self.rapid_fit_at = 0        # onset age at which to fit the fall's hinge again (0: done)
        self.leak_refined = False    # the LEAK event's too (once the rate since onset is known to 10 %)
        self.loss_known = True       # the LEAK's loss is measured (False: its events carry no kg/day yet)
        self.leak_calm = 0
        self.leak_block = 0          # block where the leak began (its rate window starts there)
        self.repin_at = 0            # block when the ramp's onset is found again (0: not)
        self.leak_ref_e5 = 0         # the leak's loss rate over its growing window (>= a long ring)
        self.leak_ref_se16 = 0       # and its standard error x 16 (0: not known yet)
        self.known_n = 0             # the growing window's entries when _leak_known last passed (0: not)
        self.before_e5 = 0           # a leak's rate over its windows before a repress restarted them,
        self.before_w = 0            # and their weight n (n^2 - 1) (0: none)
        self.pending_e5 = 0          # the run's window's rate just before a rise began in a LEAK
        self.pending_n = 0
        self.transient = False
        self.pulse.reset()            # no pulse's recovery waited for
        self.above_n = 0              # blocks the level has stayed beyond the non-leak side
        self.r_smooth = 0             # residual smoothed over ~4 blocks, q12
        self.crest_block = -_CREST_BLOCKS     # last block the level was well above the baseline

    def _relearn_in_leak(self):
        # A repress during a leak: the air added does not stop the air leaving (red team: LEAK fell
        # to NOMINAL with no EV_LEAK_CLEARED and came back 10-30 min later). The level is learnt
        # again and the rate windows start after it, but the leak, its last rate and the evidence
        # _leak_stopped compares with are kept; it clears only as any leak does.
        # What the windows knew of the leak before the rise began is kept (pooled with any earlier
        # such span): the rate after the repress is the common slope of the spans on either side
        # of it, each with its own level (seen failing: +7,408 % 50 s after a +300 Pa repress, from
        # a 3-entry slope, then -99 % at 530 s from a young window; red team).
        if self.pending_n < 3:
            self.pending_e5, self.pending_n = self.rates.past()
        if self.pending_n >= 3 and self.pending_e5 * self.sign < 0:
            self._pool_before(self.pending_e5, self.pending_n * (self.pending_n * self.pending_n - 1))
        keep = (self.rate_e5, self.leak_refined, self.loss_known, self.leak_ref_e5, self.leak_ref_se16,
                self.before_e5, self.before_w)
        self._relearn()
        self.rates.reset()
        self.state = LEAK
        self.leak_block = self.block
        (self.rate_e5, self.leak_refined, self.loss_known, self.leak_ref_e5, self.leak_ref_se16,
         self.before_e5, self.before_w) = keep

    def _pool_before(self, rate_e5, weight):
        # Adds a span's rate (weight n (n^2 - 1), its inverse variance) to the leak's rate before.
        self.before_e5 = self._pooled(self.before_e5, self.before_w, rate_e5, weight)
        self.before_w = min(self.before_w + weight, 1 << 29)

    @property
    def warm(self):
        # Still learning the level (ST_WARMUP).
        return self.baseline.learning

    # ---- faults ------------------------------------------------------------------------------
    def sensor_fault(self, bad):
        # Node reports the pressure sensor failing (bad) or back; returns an event or EV_NONE.
        if bad and not self.faulted:
            self.faulted = True
            self.state = FAULT
            return EV_SENSOR_FAULT
        if not bad and self.faulted and self.prefilter.same_count < self.p["stuck_samples"]:
            self.faulted = False
            self.reset()
            return EV_SENSOR_RECOVERED
        return EV_NONE

    # ---- humidity (per SCD4x reading, every ~5 s: small ints only) -----------------------------
    def vapour(self, t_c100, rh_c100):
        # One SCD4x reading (its own temperature, 0.01 degC; RH, 0.01 %): the water vapour's
        # partial pressure, a regressor of the level (det_vapour, det_thermal). A node with no
        # SCD4x, or whose readings stop, holds the last value: the level is as without it.
        # (A chamber has none: its pump-down moves the RH and the pressure apart.)
        if self.sign < 0 or self.prefilter.seen == 0 or self.faulted:
            return
        self.vapour_track.add(t_c100, rh_c100, self.prefilter.t_fine, self.prefilter.tref)

    # ---- per sample (hot path: small ints only) ------------------------------------------------
    def update(self, t_fine, p_q8):
        # One BMP280 sample: t_fine (1/5120 degC, the chip's own resolution) and Q24.8 Pa.
        stuck = self.prefilter.stuck(p_q8, self.p["stuck_samples"])
        if stuck:
            self.stale = stuck > 0
            return self.sensor_fault(self.stale)
        if self.faulted:
            return EV_NONE
        out = self.prefilter.update(t_fine, p_q8)
        if out == OUT_NONE:
            return EV_NONE
        if out == OUT_REANCHOR:
            # beyond the fixed-point range (4 kPa from the anchor): start again from here; a leak
            # or depressurisation that took it there is still going on
            state = self.state
            rate = self.rate_e5
            self.reset()
            if state == LEAK or state == RAPID:
                self.state = state
                self.rate_e5 = rate
                self.fast.carry_rate(rate)
                self.rapid_refined = True
                self.leak_refined = True
            return EV_NONE
        ev = self._sample(self.prefilter.raw_q8, self.prefilter.fast_q8)
        self.fall.add(self.prefilter.fast_q8 >> 4)
        self.block_sum += self.prefilter.raw_q8
        self.block_dx += self.prefilter.temp_dx
        self.block_fill += 1
        if self.block_fill >= self.block_n:
            n = self.block_fill
            s = self.block_sum
            dx = self.block_dx // n
            ev2 = self._block(self.prefilter.block_level12(((s // n) << 4) + (((s % n) << 4) // n), dx), dx)
            self.block_sum = 0
            self.block_dx = 0
            self.block_fill = 0
            if ev == EV_NONE:
                ev = ev2
        return ev

    def _sample(self, d, level):
        code = self.fast.update(d, level)
        st = self.state
        if code == FAST_RAPID and st != RAPID and self.fast.falling_n >= 4:
            # the event carries the fall's rate: wait until ~0.75 s of it are in hand (the hinge
            # fit's error falls as the fall's duration^1.5), at most 0.5 s after the threshold
            self.fast.find_onset()
            # a fast fall may be a pulse that stops within a second: it is waited for longer
            fast = -self.fast.hinge_e5 * self.sign >= self.rapid_fast_e5
            settle = self.rapid_settle_fast if fast else self.rapid_settle
            if self.fast.onset_age < settle and self.fast.falling_n < (settle - 4 if fast else settle // 2 + 2):
                return EV_NONE
            if -self.fast.hinge_e5 * self.sign < self.rapid_confirm_e5:
                return EV_NONE                # the fall's own rate is well below RAPID: noise
            if self.fast.cool_doubt:
                return EV_NONE                # the gas cooling with no air lost? wait for more of it
            if self._above_level(level):
                return EV_NONE                # falling back from an overpressure: nothing lost
            shape = self._fall_shape(fast)
            if shape == SHAPE_SLAM:
                return self._rapid_behind_slam()
            if shape == SHAPE_WAIT:
                return EV_NONE                # stopped, or a hole's noise? wait for more of it
            if shape == SHAPE_STOP:
                return self._pulse_seen(self.fast.stopped())   # it stopped: a pulse, not a hole
            if shape == SHAPE_RAMP:
                told = self.fast.ramp_over_step(self.rapid_edge)
                if told < _RAMP_NV and not self.fast.falls_after_step(_AFTER_STEP_Z, self.fast.step_after):
                    if told <= -_STEP_NV:
                        return self._pulse_seen(self.fast.stopped())   # a step (a door slam): a pulse
                    return EV_NONE            # a ramp or a step? wait for more of it
            return self._rapid_on()
        if st != RAPID and code != FAST_PULSE and self.fast.held_as_pulse(self.rapid_settle):
            return self._slam_hole(level)
        if st == RAPID:
            if self.rapid_fit_at and self.fast.onset_age >= self.rapid_fit_at:
                return self._rapid_refit()
            if self.fast.falling:
                self.rapid_quiet = 0
            else:
                # the fall stopped (a hatch's equalisation that lasted over a second, a step that
                # stays): a whole ring without the fall and its slope below half the RAPID rate
                # (a hole keeps falling for hours); then the level after it is learnt again
                self.rapid_quiet += 1
                q = self.rapid_quiet
                left = 0
                if q >= self.fast.size and not q & 7 and self.fast.count == self.fast.size:
                    left = -self.fast.rate_e5(self.fast.size) * self.sign
                if left and left < self.rapid_confirm_e5 >> 1:
                    # still falling beyond transient_pa_s: a hole partly patched (15 -> 4 mm leaves
                    # 1.5 Pa/s) is a LEAK from here once two more rings agree, not a clear (seen
                    # failing: EV_LEAK_CLEARED, then NOMINAL for 71-166 s; red team bdf07c9)
                    if left > self.moving_e5 and q < 3 * self.fast.size:
                        return EV_NONE
                    self._relearn()
                    if left > self.moving_e5:
                        self.rates.reset()
                        return self._leak(self.block, -left * self.sign)
                    self.steps.falling_n = 0      # the fall was RAPID's own, not a leak's
                    return EV_LEAK_CLEARED
            return EV_NONE
        if code == FAST_PULSE:
            return self._pulse_seen(True)
        return EV_NONE

    def _fall_shape(self, fast):
        # A RAPID candidate: which shape fits the ring's raw samples? A slam with a line still falling
        # after it (a hole opening with a slam); a fall that stopped (a door closing over 0.3-0.7 s, a
        # pulse's fall that is no longer going at its own rate); doubt while RAPID can still come
        # within a second; or the ramp (the step-or-ramp rule decides). A fall once judged a pulse is
        # never a slam after (an 85 Pa pulse reached over 0.3 s was re-judged so: RAPID at 0.9 s); a
        # fall that a slam fits better than a stop is never judged a stop (a hole behind a -15 Pa
        # step was judged a stop that way and held as a pulse for 3 s).
        f = self.fast
        f.shapes(self.rapid_edge, 2)
        doubt = f.onset_age < self.rapid_doubt and f.falling_n < self.rapid_doubt // 2 + 2
        if f.slam_over_stop >= _SLAM_NV and not f.judged_pulse:
            if f.falls_after_step(_SLAM_AFTER_Z, f.slam_after):
                return SHAPE_SLAM
            if doubt:
                return SHAPE_WAIT
        if fast:                          # (its half rate is >= 5 standard errors: 2 will do)
            going = f.still_falling(self.rapid_recent_fast, 2.0)
        else:
            going = f.still_falling(self.rapid_recent, 3.0)
        if not going or f.stop_over_ramp >= _STOP_NV:
            return SHAPE_STOP
        if f.stop_over_ramp >= _STOP_DOUBT_NV and doubt:
            return SHAPE_WAIT
        return SHAPE_RAMP

    def _slam_hole(self, level):
        # The pulse classifier holds a fall as a step (a slam within 0.1 s zeroes the count of falling
        # samples until it leaves its window: a 10 Pa/s hole behind a -40 Pa step was RAPID at +1.13 s):
        # a hole opening with the slam is one still falling after it at the RAPID rate.
        f = self.fast
        f.find_onset()
        if self._above_level(level) or self._fall_shape(False) != SHAPE_SLAM:
            return EV_NONE
        return self._rapid_behind_slam()

    def _rapid_behind_slam(self):
        # RAPID with the rate of the line after the slam (the hinge's spans the slam: 4x too fast),
        # unless the ramp fits better than a step: a sharp hole's own onset (100 Pa/s, the gas cooling
        # at first) is held as a pulse and fitted as a slam too; its hinge rate and loss stand (seen
        # failing: its first event without the loss, the loss known at 1.74 s)
        if self.fast.ramp_over_step(self.rapid_edge) >= _RAMP_NV:
            return self._rapid_on()
        self.fast.line_after(self.fast.slam_after)
        if -self.fast.hinge_e5 * self.sign < self.rapid_confirm_e5:
            return EV_NONE
        return self._rapid_on(False)

    def _rapid_on(self, fitted=True):
        # RAPID. Its kg/day and hole only if known to 30 % (else LOSS_UNMEASURED until the refined
        # event); a rate from the line after a slam (not fitted: not the hinge) never is.
        self.state = RAPID
        self.rapid_quiet = 0
        self.rapid_refined = False
        self.rapid_known = fitted and self.fast.rate_known()
        self.rapid_fit_at = self.fast.known_age() if fitted and not self.rapid_known else self.rapid_refine
        self.rate_e5 = self._nonzero(self.fast.onset_rate_e5())
        return EV_RAPID

    def _rapid_refit(self):
        # The hinge again over the longer fall: ~1.6 s after the onset (rapid_refine; its rate's error
        # a third of the first's), or, when the first event could not carry the loss, as soon as the
        # rate is known to 30 % (~1.4 s at 10 Pa/s, ~0.9 s at 20): EV_RAPID again with it (the ground
        # takes a node's latest event). One that came before rapid_refine is refitted then too, for
        # the telemetry only.
        reach = self.fast.size - 8
        self.fast.find_onset(reach)
        if not self.rapid_known and not self.fast.rate_known() and self.fast.onset_age < reach:
            self.rapid_fit_at = self.fast.known_age()
            return EV_NONE
        self._rapid_rate()
        self.rapid_known = True
        self.rapid_fit_at = self.rapid_refine if self.fast.onset_age < self.rapid_refine else 0
        if self.rapid_refined:
            return EV_NONE
        self.rapid_refined = True
        return EV_RAPID

    def _above_level(self, level_q8):
        # A habitat's fast level still above the learnt one: the far side of a hatch operation
        # (+85..+160 Pa at once, flowing back over 20-60 s) falls at up to 8 Pa/s, and that was
        # RAPID (seen failing: +160 Pa / 20 s on 3 parts of 3). A hole takes the level below the
        # learnt one within a second (10 Pa/s: 9 Pa, against a fan's few Pa); one opening during a
        # repress that has not settled yet waits until it is below the level before the repress.
        if self.sign < 0 or (self.baseline.learning and not self.baseline.n):
            return False
        return level_q8 > self.baseline.level12 >> 4

    def _pulse_seen(self, new):
        # A pulse (a step, or a fall that stopped): EV_TRANSIENT once, its recovery waited for.
        self.transient = True
        # the fall counted towards "longer than any transient" is this pulse's own: two valve
        # pulses 3 s apart made one 11-block fall, a LEAK on every part (seen failing)
        self.steps.falling_n = 0
        if not new:
            return EV_NONE
        self.pulse.start()
        return EV_TRANSIENT

    # ---- per block ----------------------------------------------------------------------------
    def _block(self, b12, dx):
        self.block += 1
        v = self.thermal.rate(dx)
        h = self.vapour_track.held_q2
        corr12 = self.thermal.correction12(dx, v, h)
        level12 = b12 - corr12
        locked = self.fan.locked
        fan_q8 = self.fan.update(level12 >> 4, (self.transient and self.fan.subtracting()) or self.pulse.holding or self.fast.pulse_left,
                                 self.rising)
        if self.fan.locked and not locked:
            self.slow_n = 0                   # measured again without the wave now subtracted,
            self.slow_long.reset()            # once the 31 entries it reaches back are all so
            self.slow_wait = 31
            self.boot.reset()                 # (and the booting window: entries with the wave in)
        level12 -= fan_q8 << 4
        b12 -= fan_q8 << 4
        self.fall.fan_q4 = fan_q8 >> 4
        level_q8 = level12 >> 4
        chamber = self.sign < 0
        step = self.steps.update(self.chamber.steady_q8(level12) if chamber else level_q8, self.sign)
        if chamber:
            step = self.chamber.judge(step, level12, self.block, self.steps.change_q8 << 4)
        # a pulse's recovery: no air lost, no slope, no noise to learn; waited for until it settles
        holding = self.pulse.holding
        hold = self.pulse.update(clamp((self.baseline.level12 - level12) * self.sign, _CLAMP12),
                                 max(self.cusum.allow[0], 256))
        if hold == HOLD_END and self.fan.locked:
            # the notch fits nothing held, so its phase ran free through the wait: for its first
            # periods after, a ~1 Pa dip may be left, which a young alarm waits for to turn as it
            # does after a crest (seen failing: a false LEAK 12 s after a 245-block hold, 55 s fan)
            self.crest_block = self.block
        if hold == HOLD_END and step == STEP_QUIET:
            step = STEP_SETTLED                   # judge the level when the wait is over
        elif self.pulse.holding and step == STEP_SETTLED:
            step = STEP_MOVING
        if not self.pulse.holding:
            level12 += self.pulse.tail12 * self.sign   # what a recovery longer than the wait lacks
        moving = step == STEP_MOVING or step == STEP_FALLING or self.pulse.holding
        self.transient = moving
        if not holding:
            self.rates.add(level_q8)
            if self.slow_wait:
                self.slow_wait -= 1
            if self.booting:
                if not self.thermal.rate_settled():
                    self.boot.reset()         # (the temperature's rate is not known yet)
                self.boot.add(dx, v, h, self.rates.long_n == 0)
        st = self.state
        quiet = st == NOMINAL and self.stat < 5000
        if not moving and step != STEP_SETTLED and self.block > 2:
            self._measure_noise(b12, level_q8)
        self.last2_b12 = self.last_b12
        self.last_b12 = b12
        change = self.thermal.add_block(b12 >> 4, dx, v, moving or step == STEP_SETTLED, quiet, h)
        if change or self.thermal.change_lag or self.thermal.change_vap:
            base12 = self.baseline.level12
            self.baseline.retemper(change, self.thermal.change_lag, self.thermal.change_vap)
            self.prior12 += self.baseline.level12 - base12     # (the level before a rise moves with it)
            # the notch's ring holds levels corrected the old way: moved as the coming ones move (a
            # first fit taken whole, -21 Pa/K in a joined module, stepped them 10 Pa: its fits read the
            # step as a turn and its stopped-fan test as a stop, and the level re-learnt meanwhile was
            # a false LEAK once the wave was fitted again; tests/test_detector_joined.py)
            self.fan.shift((corr12 - self.thermal.correction12(dx, v, h)) >> 4)
        self._telemetry_rate(level_q8)
        if st == RAPID or st == FAULT:
            return EV_NONE
        # (its first line is learnt on a rise that moves too: a rise slower than outgassing at
        # isolation may be is for the rate history to judge, and the line takes it out of the
        # moving-level rule; never on a fall, the pump's, which would leave the level after it high)
        if chamber and self.chamber.add(level12, self.block, quiet and (
                not moving or (not self.chamber.ready and self.rates.short_e5(16) > 0))) and st != LEAK:
            # the rates of rise have a constant term above the spec: a leak since the line was learnt
            return self._leak(self.block - FLOOR_SPAN, self.chamber.rate_e5(self.chamber.leak_rate12()))
        if st != LEAK and self.fall.leaking():
            # a fall shown since its onset longer than any transient (shown only below the learnt
            # level: an overpressure flowing back is none): a leak, with its rate
            return self._leak(self.block - self.fall.age * self.fall.sub // self.block_n, 0)
        if step == STEP_FALLING and st != LEAK and (self.chamber.early_leak(self.rates.short_e5(16)) if chamber
                                                    else self.steps.below_start(level_q8, self.sign)):
            # falling faster than transient_pa_s for longer than any transient: a leak by itself
            return self._leak(self.block - self.hold_blocks, self.rates.short_e5(16))
        if step == STEP_SETTLED and st != LEAK:
            r12 = level12 - self.baseline.level12
            if self.baseline.learning or r12 > self.steps.change_q8 << 3 or r12 < -(self.steps.change_q8 << 3):
                self._keep_prior(level12)
                self._relearn()               # a step that stayed: its level is the new baseline
                self.rates.reset()            # and slopes start after it
            return EV_NONE                    # (back where it was, as after a pulse: carry on)
        if moving:
            if self.pulse.holding:
                # what the level does under a pulse is unseen: the CUSUMs take the in-control mean
                # (r = 0) meanwhile, so a fan's crest before the pulse is not joined to one after
                self.stat = 100 * self.cusum.update(0, 0, self.baseline.n, self.baseline.learning, self.block)
            return EV_NONE                    # alarms wait while the level moves
        learning = self.baseline.learning
        if self.booting and (st == NOMINAL or st == SUSPECT) and self.rates.long_n == 0 and self._booting_fall():
            return self._boot_leak()
        self.baseline.add(level12, dx, v, self.cusum.need[0], quiet, h)
        if not self.baseline.learning:
            self.booting = False
        if learning and (self.baseline.n == _TUNE or (not self.baseline.learning and not self.tuned)):
            self.tuned = not self.baseline.learning
            self._retune()
        ref12 = self.chamber.reference12(self.block) if chamber and self.chamber.ready else self.baseline.level12
        r12 = clamp((ref12 - level12) * self.sign, _CLAMP12)
        if r12 < -(self.steps.change_q8 << 4):
            self.above_n += 1                 # risen (habitat; fallen, chamber) and staying:
            if self.above_n > 32:             # a repress or a step the classifier did not see
                rising = self.rising
                if self.state == LEAK:
                    self._relearn_in_leak()
                    return EV_NONE
                self._keep_prior(level12)
                self._relearn()
                self.rates.reset()
                if rising:                    # a repress goes on: its 32-block rate stands
                    self.rate_e5 = self.rise_e5   # while the ring refills
                    self.rise_held = True
                return EV_NONE
        else:
            self.above_n = 0
        extra = self.thermal.allowance12(dx - self.baseline.dx_mean, v - self.baseline.v_mean) + ((self.fan.left if self.fan.left > self.fan.odd else self.fan.odd) << 4)
        # the vapour's, once it moved beyond its band (lately, or since the baseline's window): a
        # steady humidity adds nothing, nor does the noise crossing the band
        dh = h - self.baseline.h_mean
        slack = self.vapour_track.slack_q2(dh)
        if slack:
            extra += self.thermal.vapour_allowance12(dh, slack)
        learning = self.baseline.learning
        if chamber:
            extra += self.chamber.allowance12(self.block)
            learning = learning or not self.chamber.ready
        # a crest: the level well above the baseline (4 sigma of a block, smoothed over ~4 blocks)
        self.r_smooth += (r12 - self.r_smooth) >> 2
        if self.r_smooth < -4 * self.cusum.sigma12:
            self.crest_block = self.block
        top = self.cusum.update(r12, extra, self.baseline.n, learning, self.block)
        self.stat = top * 100
        return self._decide(top, r12)

    def _decide(self, top, r12):
        if self.state == LEAK:
            if self._leak_stopped():
                self.leak_calm += 1
                if self.leak_calm >= self.clear_blocks:
                    self._relearn()
                    return EV_LEAK_CLEARED
            else:
                self.leak_calm = 0
            if not self.leak_refined and self.sign > 0 and self._leak_known():
                # the slope since the onset is known to 10 %: EV_LEAK_DETECTED again with it (the
                # alarm's rate came from the minutes whose noise raised it; the ground takes a
                # node's latest event as a revision)
                self.leak_refined = True
                self.loss_known = True
                self.rate_e5 = self.rates.grow_e5()
                return EV_LEAK_DETECTED
            return EV_NONE
        if top < 100:
            self.steps.young_clear()
            self.state = SUSPECT if top >= self.suspect_pct else NOMINAL
            return EV_NONE
        j = self.cusum.top_j
        run = self.cusum.run(self.block)
        young = YOUNG_LEAK
        if self.sign > 0:
            swung = self.block - self.crest_block < _CREST_BLOCKS
            young = self.steps.young_alarm(self.cusum.stat[j], run, r12, self.cusum.sigma12, self.block, swung)
        elif run < CHAMBER_SETTLE:            # a chamber has no hatches; its event carries the
            young = YOUNG_HOLD                # rise's rate: a few blocks more of it fix that rate
        if young == YOUNG_HOLD:
            self.state = SUSPECT
            return EV_NONE
        if young == YOUNG_BACK:
            # it turned back: an oscillation starting (a fan before the notch locks), no leak; the
            # CUSUMs restart from the level they had
            self.cusum.reset(self.block)
            self.state = SUSPECT
            return EV_NONE
        if young == YOUNG_STEP:
            # it stopped: a small step; the level after it is the baseline, the CUSUMs restart
            # (a leak judged a step by bad luck is found again from there)
            shift = self.steps.step12 * self.sign
            self.baseline.level12 -= shift
            self.baseline.start12 -= shift
            self.cusum.reset(self.block)
            self.state = NOMINAL
            return EV_NONE
        if self.sign < 0:
            return self._leak(self.block - run, self.chamber.rate_e5(self.chamber.onset_rate12(self.block)))
        ev = self._leak(self.block - run, self._leak_rate())
        # the alarm's rate is fitted on the minutes whose noise raised it (-72..+237 % seen): its
        # event carries no kg/day or hole (protocol LOSS_UNMEASURED) until the refined one
        self.loss_known = False
        return ev

    def _booting_fall(self):
        # Is the long ring's slope since the boot a fall beyond _BOOT_Z of its standard errors (the
        # white noise's, scaled by the entries' own scatter when larger: a fan before its lock) and
        # beyond the most the tempco, lag and vapour priors could make over the same entries?
        n = self.boot.count
        if n < _BOOT_ENTRIES or n > self.rates.long_count:
            return False
        fall = -self.rates.long_e5(n)
        if fall <= 0:
            return False
        # (the thresholds' noise is no measure here: while booting it is the last milestone's, which
        # took a fan's wave before the notch's lock for noise, 9.5 Pa for a 3 Pa fan: a leak's
        # standard error read 3x its own. The white block noise measured now, with 1.5x its
        # variance for that measure's own error, or the entries' scatter when larger)
        var = self.noise_var * 3 // (2 * LONG_EVERY)
        scatter = self.rates.long_scatter(n)
        se = self._scaled_se(self._slope_se16(n), scatter if scatter > var else var)
        return (fall - self.boot.most_e5(n, self.rates)) * 16 > _BOOT_Z * se

    def _scaled_se(self, se, var):
        # A standard error from the white block noise (entry_var), scaled to an entries' variance var
        # (q8^2): the ratio x 256 within 2^20, its root x 16 within 2^10 (small ints)
        up = ratio(var, self.entry_var, 8)
        return (se * isqrt(up if up < 1 << 20 else 1 << 20)) >> 4

    def _boot_leak(self):
        # A leak running since before the boot: its onset is the window's start (or earlier); its
        # event carries no kg/day until the refined one, as a CUSUM's alarm
        ev = self._leak(self.block - self.boot.count * LONG_EVERY, self.rates.long_e5(self.boot.count))
        self.booting = False
        self.loss_known = False
        return ev

    def _slope_se16(self, n):
        # Standard error (x 16, 1e-5 Pa/s) of the slope of n 16-block means, from the block noise.
        return self.slope_se_k // isqrt(n * (n * n - 1))

    def _leak_known(self):
        # Is the growing window's slope since the onset a fall known to a tenth (_KNOWN_SE standard
        # errors), at this entry and at the one before (one entry, 16 blocks, later than the first)?
        # The first entry to pass is the one whose error happened to point the rate's way: with
        # honest white noise alone, 0.6-0.9 % of first passages are beyond 30 % (a z of 2.3 passes
        # where the SE is 13 % of the rate), and a fan's residual wave within a window of a period or
        # two makes it 1.4-5 % (bench/refine_probe.py --montecarlo; seen: +33.6 % at 4 entries, z
        # 2.5, on a thermal candidate). Two in a row: none of 3,000 beyond 30 % with white noise,
        # none from 5 entries on with the wave (docs/detection.md section 5).
        n = self.rates.grow_n if self.rates.grow_on else 0
        if n < 3 or -self.rates.grow_e5() * 16 <= _KNOWN_SE * self._slope_se16(n):
            self.known_n = 0
            return False
        if self.known_n == n - 1:
            return True
        self.known_n = n                      # (passed at this entry: the next must pass too)
        return False

    def _leak_stopped(self):
        # Evidence, this block, that the air stopped going (docs/detection.md section 3): the loss
        # rate since the onset (the growing window, once it spans a full long ring) is not
        # significant nor above drift_pa_s (a false alarm, or a stop long ago), or the last 32 x 16 blocks lose no
        # significant air AND significantly less than the leak did, so their noise alone never
        # clears a real leak. The leak's rate is the growing window's while the last 32 x 16
        # blocks still lose air: after a stop it is not diluted by the air no longer lost, and it
        # outlives the window's restart (GROW_MAX).
        rates = self.rates
        if rates.long_count < RING:
            return False
        loss = -self.sign
        recent = rates.long_e5(RING) * loss
        n = rates.grow_n if rates.grow_on else 0
        if n >= RING:
            since = rates.grow_e5() * loss
            se = self._slope_se16(n)
            if since * 16 < _CLEAR_Z * se or since < self.drift_e5:
                return True
            if recent >= self.clear_e5 or self.leak_ref_se16 == 0:
                self.leak_ref_e5 = since
                self.leak_ref_se16 = se
        if recent >= self.clear_e5 or self.leak_ref_se16 == 0:
            return False
        se_g = self.leak_ref_se16
        se_r = self._slope_se16(RING)
        return (self.leak_ref_e5 - recent) * 16 > _CLEAR_Z * isqrt(se_g * se_g + se_r * se_r)

    def _leak(self, onset_block, rate_e5):
        self.booting = False                  # (a level learnt after a leak is no boot's)
        if self.fall.shown:
            rate_e5 = self.fall.rate_e5       # a sustained fall's: the slope since its own onset
        self.state = LEAK
        self.leak_calm = 0
        self.leak_block = onset_block
        self.leak_refined = False
        self.loss_known = True
        self.rate_e5 = self._nonzero(rate_e5)
        return EV_LEAK_DETECTED

    def _measure_noise(self, b12, level_q8):
        # Block noise as the CUSUMs meet it: the larger of two running variances of second
        # differences (var = 6 sigma^2 for white noise), of neighbouring blocks and of blocks 15
        # apart (slower disturbances such as a fan's oscillation, which the first hides). Both
        # are blind to the level, to slopes (leaks, repress) and to the thermal cycle. (A fixed
        # 4 Pa clip read 2-sample blocks' noise 25 % low at 500 ms, and the thresholds with it.)
        d = clamp((b12 - 2 * self.last_b12 + self.last2_b12) >> 4, self.noise_clip_q8)
        self.noise_var = _average(self.noise_var, (d * d) // 6, self.noise_n)    # q8^2
        if self.noise_n < 64:
            self.noise_n += 1
        due = self.noise_long.add((d * d) // 6)
        if self.rates.short_count > 30 and not self.slow_wait:
            j = self.rates.short_pos - 16
            k = self.rates.short_pos - 31
            d = clamp(level_q8 - 2 * self.rates.short[j] + self.rates.short[k], 1 << 13)
            self.slow_var = _average(self.slow_var, (d * d) // 6, self.slow_n)
            if self.slow_n < 64:
                self.slow_n += 1
            due = self.slow_long.add((d * d) // 6) or due
        if due and self.tuned and self._long_ready():
            self._tune_cusum(0.0, 0.0)        # the long record's milestones (before it: learning's)
        elif not self.noise_long.fill and self.tuned and self._long_ready() and self.noise_long.n >= LONG_LAST \
                and self.slow_long.n >= LONG_LAST:
            # then, at each chunk, the bank follows the record in integers: its margin shrinks as
            # the record grows (2 standard errors: 4.7 % at LONG_LAST, 3.1 % from LONG_FULL on)
            self._long_sigma(block_sigma_q10(self.noise_long, self.slow_long))
        if self.long_sig_q10:
            self._follow(self.long_sig_q10)

    def _follow(self, sig):
        # ... and a noise that rose lately at once, not over the record's hour: the white 64-block
        # measure beyond 1.75x the record's variance (~3 of its standard errors), with its margin (a
        # part's noise doubled raised a false LEAK 34 s later at 500 ms, at 1 s 276 and 949 s later).
        # (One comparison per block; the square precomputed: no product that outgrows a small int.)
        if self.noise_var > self.rise_var:
            fast = isqrt(self.noise_var << 4)
            fast += fast >> 3
            if fast > sig:
                sig = fast
        if sig != self.cusum.follow_q10:
            self.cusum.follow(sig)

    def _retune(self):
        # Thresholds from the noise actually seen (sensor + temperature compensation), never below
        # the configured noise_pa. At learning milestones only: floats allowed.
        if self.noise_n < 4:
            return
        var = self.noise_var if self.noise_var > self.slow_var else self.slow_var
        sig_b = math.sqrt(var * 256.0) / 4096.0                      # Pa, block means
        # an upper bound, not the estimate: sigma from n blocks is uncertain by ~1/sqrt(2n), and an
        # underestimate costs false alarms exponentially
        n_eff = self.noise_n if self.noise_n < 64 else 128
        up = 1.0 + 2.0 / math.sqrt(2.0 * n_eff)
        # what the slow measure sees beyond white noise is an oscillation of amplitude ~sqrt(2) x
        # its sigma (second differences 15 apart see a 60 s wave at 2/sqrt(6) of its sigma: x1.2)
        # (white noise alone gives both measures the same variance, within ~25 %: not a wave)
        wave = math.sqrt(max(self.slow_var - 2 * self.noise_var, 0) * 256.0) / 4096.0 * 1.2 * math.sqrt(2.0)
        self._noise(max(self.p["noise_pa"], up * sig_b * math.sqrt(self.block_n)), up * wave)
        # the fall tracker's floor: the white part alone (neighbouring blocks; the slow measure
        # carries a fan's wave, 9.5 Pa for a 3 Pa fan before its lock, which blinded the tracker)
        white = math.sqrt(self.noise_var * 256.0) / 4096.0 * math.sqrt(self.block_n)
        self.fall.set_noise(max(self.p["noise_pa"], up * white))
        r = self.fast.half
        sig_rate = math.sqrt(self.fast.spread * 16.0) / (256.0 * r * r * self.sample_ms / 1000.0)
        self.fast.set_rapid(max(self.fast.rapid_pa_s, 6.0 * 1.05 * sig_rate))

    # ---- rates --------------------------------------------------------------------------------
    def _nonzero(self, rate_e5):
        # A leak's rate is never reported as 0 or as a rise (habitat) / fall (chamber).
        if rate_e5 * self.sign >= 0:
            return -self.sign
        return rate_e5

    def _rapid_rate(self):
        # The fall's rate since its onset; the last one stands while there is none (re-anchored).
        rate = self.fast.onset_rate_e5()
        if rate * self.sign < 0:
            self.rate_e5 = rate

    def _leak_rate(self):
        # Rate at a CUSUM alarm: a ramp from the learnt level over the last ~9 minutes, its onset
        # searched (det_rate.pinned_slope). The data that raised the alarm favour the leak: the
        # refined event follows once the slope since the onset is known to 10 % (_leak_known).
        slope = self.rates.pinned_slope(self.baseline.level12 >> 4)
        return -int(slope * 1e5 / (256.0 * self.block_s))

    def _rise_floor_e5(self, slope_e5):
        # The 32-block rung's floor for a rise (a habitat's; a chamber's fall), which loses no air:
        # its significance (5 standard errors), the steepest 32-block slope of what is left of a
        # known fan's wave, and the steepest fall of that rung over the last 128-256 blocks (a
        # wave not yet locked swings as far down as up; a repress never falls).
        fall = -slope_e5 * self.sign
        if fall > self.fall_peak:
            self.fall_peak = fall
        if not self.block & 127:
            self.fall_last = self.fall_peak
            self.fall_peak = 0
        floor = self.fan.left * self.rise_k
        if floor < self.short_rate_e5:
            floor = self.short_rate_e5
        if floor < self.fall_peak:
            floor = self.fall_peak
        return floor if floor > self.fall_last else self.fall_last

    def _telemetry_rate(self, level_q8):
        # The compensated dP/dt for telemetry: the fastest rung whose slope is significant (the
        # last ~3 s of samples, 32 blocks; full windows, 5 standard errors of the measured noise,
        # not while a pulse recovers: no air is lost; a fall on the 32-block rung only from
        # transient_pa_s, as a fan's oscillation has 32-block slopes of tenths of a Pa/s; a rise,
        # which loses no air, beyond what a fan's wave can make), else the slope over 32 x 16
        # blocks once it spans 4 minutes (0 before: a young slope is mostly noise). During a leak,
        # windows start at its onset and the rate is never 0. Over all of these, a sustained fall's
        # slope since its own onset once det_fall shows it (significant in its growing window).
        # Outside a leak, a fall on the fast, 32-block or tracker rung only once the level is below
        # the learnt one by what transient_pa_s falls in 4 blocks, 2 Pa (then, while the tracker
        # shows it, below it): an overpressure flowing back (+85..+200 Pa, 20-60 s) loses no air and was
        # shown at -2.5..-7.6 Pa/s for 10-30 s (red team 9f87676's pulses); with no margin, a fan's
        # residue took the level below it at the tail's end and a -1.4 Pa/s fall was shown.
        st = self.state
        if st == RAPID:
            self.rising = False
            self.fall.reset()                 # (RAPID's rate is the fast path's; the ring starts after)
            self._rapid_rate()
            return
        since = self.block - self.leak_block if st == LEAK else 1 << 20
        settled = self.block >= _TUNE and not self.pulse.holding and not self.fast.pulse_left
        short = 0
        if settled and self.rates.short_count == RING:
            short = self.rates.short_e5(since if since < RING else RING)
        rise = self._rise_floor_e5(short)
        n = self.rates.short_count
        if n == RING or not settled or st != NOMINAL and st != SUSPECT or \
                n >= 16 and self.rates.short_e5(n) * self.sign < (self.rise_e5 * self.sign) >> 1:
            self.rise_held = False            # (the refilling ring's own slope: the ramp stopped)
        if short * self.sign > rise:
            self.rise_e5 = short
        if self.rise_held:
            short = self.rise_e5              # the repress's rate stands for the refilling ring
        # a repress: the fan notch keeps its lock through the ramp's start; once it is over, the
        # long ring starts after it (its 8.5-minute slope would carry the repress for minutes)
        if self.rising and not self.rise_held and short * self.sign <= rise:
            self.rates.reset_long()
        was_rising = self.rising
        self.rising = self.rise_held or short * self.sign > rise
        if self.rising and not was_rising and st == LEAK:
            self.pending_e5, self.pending_n = self.rates.past()   # the leak's rate before the rise
        rate = 0
        if settled and self.fast.count == self.fast.size:
            rate = self.fast.rate_e5(self.fast.size)
        # (the samples still carry a fan's wave: its steepest slope is not a rate either; a fan
        # seen but not yet locked, while the node boots into it, by its swing: seen failing, a
        # ground ISOLATE at 162 s on warm-up rates of +-0.3-0.5 Pa/s with a 3 Pa, 60 s fan)
        amp = self.fan.amplitude()
        step = self.fan.step
        if self.fan.pending() and self.fan.swing() > amp:
            amp = self.fan.swing()
            step = self.fan.swing_step()
        wave = ((amp * step) >> 8) * self.fan_slope_k >> 8
        swung = self._swung_e5(rate if st == NOMINAL or st == SUSPECT else 0)
        floor = self.fast_rate_e5 + (wave if wave > swung else swung)
        lost = st != NOMINAL and st != SUSPECT or \
            self._below_level(level_q8, 0 if self.fall.shown else self.below_q8)
        # (the tracker's samples are free of a locked wave; one not locked is as steep as the fast
        # rung's rises, which its 64 samples flatten: 0.77x for a 25 s wave at 200 ms)
        swung = 0 if self.fan.locked else (self.swung_up * 3) >> 1
        self._fall(settled, lost, wave if wave > swung else swung)
        if rate * self.sign > 0 and short * self.sign > 0:
            floor += short * self.sign        # a rise (no air lost): the fan-free 32-block slope,
        news = rate
        if st == LEAK:                        # in a leak, only a change of its rate is news: the
            news -= self.rate_e5              # fan's flank on a 0.6 Pa/s leak read +56..+85 % (200 ms)
        if -floor < news < floor or rate * self.sign < 0 and not lost:   # unless it steepens beyond
            rate = short                                                    # that (an equalisation)
            floor = rise if rate * self.sign > 0 else self.moving_e5
            news = rate
            if st == LEAK and since >= 16 * LONG_EVERY:   # (once the long ring holds 4 minutes of
                news -= self.rate_e5                     # it: 0.4 Pa/s read 0.52 on this rung)
            if -floor < news < floor or rate * self.sign < 0 and not lost:
                rate = 0
                n_long = since // LONG_EVERY
                if n_long > RING:
                    n_long = RING
                if n_long >= 3 and (st == LEAK or self.rates.long_count >= 16):
                    rate = self.rates.long_e5(n_long)
                if st == LEAK and self.rates.grow_n > RING:
                    rate = self.rates.since_e5(self.slope_se_k)   # beyond the long ring: since the onset
                    n_long = self.rates.grow_n
                    bent = self.rates.trend_e5(self.slope_se_k)
                    if bent:
                        rate = bent       # unless the leak's last hour bends: a growing hole's rate
                    changed = self._rate_changed(rate)
                    if changed:
                        self.rate_e5 = self._nonzero(changed)
                        return
                if st == LEAK and self.before_w:
                    rate = self._with_before(rate, n_long)   # a repress restarted the windows
        if self.fall.shown:
            rate = self.fall.rate_e5          # a sustained fall's slope since its onset
        if st == LEAK:
            if not self.rates.grow_on:        # (a CUSUM's alarm a block ago: its ramp's onset too)
                early = 0 if self.loss_known else (self.rates.pinned_age + 1) // LONG_EVERY
                self.rates.grow_start((self.block - self.leak_block) // LONG_EVERY, early)
                self.repin_at = self.block + _REPIN if early else 0
            elif self.block == self.repin_at:
                self._repin()
            if rate * self.sign < 0:
                self.rate_e5 = rate
            return                            # else keep the last leak rate: never 0 in LEAK
        self.rates.grow_on = False
        self.rate_e5 = rate

    def _repin(self):
        # The ramp's onset found again _REPIN blocks after a CUSUM's alarm, on that much more of the
        # ramp (the long ring still reaches before the onset of any alarm within ~6 minutes of it):
        # the rate since the onset's window starts there (floats: once per alarm, as at the alarm)
        self.rates.pinned_slope(self.baseline.level12 >> 4)
        self.rates.regrow((self.rates.pinned_age + 1) // LONG_EVERY)

    def _swung_e5(self, rate):
        # The fast rung's floor for this slope: the steepest significant slope of the other sign
        # it had in NOMINAL / SUSPECT over this and the last 128 blocks (rate 0: none this block).
        # A wave the notch has not locked swings both ways, a leak never rises, a repress never
        # falls (seen failing: a 6 Pa, 25 s fan in 9.3 m3 the notch never locks, shown as
        # -1.3..+1.3 Pa/s in NOMINAL and voted into a ground SHELTER; red team 1182dcc).
        up = rate * self.sign
        if up > self.fast_rate_e5 and up > self.up_peak:
            self.up_peak = up
        if -up > self.fast_rate_e5 and -up > self.down_peak:
            self.down_peak = -up
        if not self.block & 127:
            self.up_last = self.up_peak
            self.down_last = self.down_peak
            self.up_peak = 0
            self.down_peak = 0
        self.swung_up = self.up_peak if self.up_peak > self.up_last else self.up_last
        down = self.down_peak if self.down_peak > self.down_last else self.down_last
        return down if up > 0 else self.swung_up

    def _pooled(self, a_e5, a_w, b_e5, b_w):
        # The mean of two rates weighted a_w : b_w (small ints throughout).
        total = a_w + b_w
        while total > 32767:
            total >>= 1
            b_w >>= 1
        if total <= 0:
            return b_e5
        return a_e5 + ((clamp(b_e5 - a_e5, 1 << 19) * ((b_w << 10) // total)) >> 10)

    def _with_before(self, rate_e5, n):
        # A leak's rate after a repress restarted its windows: the slope of its n newest 16-block
        # means (0: none yet) pooled with the spans before, unless, once they span a long ring, the
        # two differ by 4 standard errors of their difference (the loss changed meanwhile: the spans
        # before are dropped). (Younger, a fan the notch lost after the ramp sloped 14 entries by
        # 4.3 of their white-noise standard errors: seen.)
        if n < 3:
            return self.before_e5
        w = n * (n * n - 1)
        if n >= RING:
            se_b = min(self.slope_se_k // isqrt(self.before_w), 1 << 14)
            se_n = min(self._slope_se16(n), 1 << 14)
            if abs(rate_e5 - self.before_e5) * 16 > 4 * isqrt(se_b * se_b + se_n * se_n):
                self.before_w = 0
                return rate_e5
        return self._pooled(self.before_e5, self.before_w, rate_e5, w)

    def _rate_changed(self, since_e5):
        # The last 8.5 minutes' slope when it differs from the one since the onset by 4 standard
        # errors of their difference (nested windows: var(a - b) = var(a) - var(b)), else 0: the
        # loss changed (a hatch closed on the leak, the hole grew). Seen failing: a module sealed
        # off from the leak read its old fall, diluted, for 17 minutes (red team 55173ef).
        if self.rates.long_count < RING:
            return 0
        recent = self.rates.long_e5(RING)
        d = (recent - since_e5) * 16
        if d < 0:
            d = -d
        se_r = self._slope_se16(RING)
        se_g = self._slope_se16(self.rates.grow_n)
        # (at least half the recent slope's own: a window barely longer than the long ring differs
        # from it by its first entries alone, and one a fan the notch had lost put 1.5 Pa high read as
        # a change at 33 entries, 0 shown for a 0.9 kg/day leak after a repress; seen)
        se = max(isqrt(se_r * se_r - se_g * se_g), se_r >> 1)
        # Those errors are the white block noise's; the entries scatter about their line by more
        # where a fan's or the thermal model's residual is left in them (after a repress 1.5-1.8x
        # the white variance, and the last 8.5 minutes' slope off the truth by 1.3 of its white
        # errors rms, up to 3.2: a frame at +93 % shown as a change at 4.0 of them; seen). So they
        # scale by the entries' own residual scatter about the recent line when it is the larger
        # (never below the white noise's: a negative correlation, the fan's wave, is not counted).
        # Once per entry.
        scatter = self.rates.long_scatter()
        se = self._scaled_se(se, scatter if scatter > self.entry_var else self.entry_var)
        if d > 4 * se:
            return recent if recent else -self.sign
        return 0

    def _fall(self, settled, lost, wave):
        # The fall tracker (det_fall), habitat only, outside RAPID: not on a pulse (its ring starts
        # again after one), nor in the first _TUNE blocks, nor while the level is not below the
        # learnt one; judged with its own entries' noise, shown beyond transient_pa_s and a fan's
        # wave.
        if self.sign < 0 or self.block < _TUNE:
            self.fall.stop()
        elif not settled:
            self.fall.reset()
        else:                                 # (in a LEAK, only a fall it showed before goes on:
            # one found in a slow leak's ring has no onset; 0.6 Pa/s and a fan's rest read +30..+50 %)
            self.fall.block(self.moving_e5, wave, lost and (self.fall.shown or self.state != LEAK))

    def _below_level(self, level_q8, margin_q8):
        # Is a habitat's level below the learnt one by margin_q8 (nothing learnt yet, or a chamber:
        # yes), and below the level before a rise that stayed, for a pulse's wait after it? A hole
        # takes it there at once; a flow-back's fall has eased to a few tenths of a Pa/s by then.
        if self.sign < 0:
            return True
        base = self.baseline.level12
        learnt = not self.baseline.learning or self.baseline.n
        if self.block < self.prior_until and (not learnt or self.prior12 < base):
            base = self.prior12
            # (a fan notch that lost its phase in the pulse subtracts up to twice the wave: seen, a
            # 3 Pa fan's notch 7 Pa off 60 s after +85 Pa, a -1.1 Pa/s fall shown at 200 ms)
            margin_q8 += 2 * self.fan.amplitude()
        elif not learnt:
            return True
        return (base >> 4) - level_q8 > margin_q8

    def _keep_prior(self, level12):
        # A habitat's level re-learnt above the learnt one: for TRANSIENT_MAX_S a fall is shown only
        # once below the old level too. An overpressure's tail (+160 Pa, tau 60 s) settled 32 Pa up,
        # was learnt there at +96 s and fell on below it, shown at -0.9 Pa/s (its air was never lost).
        if self.sign < 0 or level12 <= self.baseline.level12 or self.baseline.learning and not self.baseline.n:
            return
        if self.block >= self.prior_until or self.baseline.level12 < self.prior12:
            self.prior12 = self.baseline.level12
        self.prior_until = self.block + self.pulse_wait

    # ---- outputs for events (floats allowed) ----------------------------------------------------
    def leak_estimate(self):
        # (dP/dt Pa/s, kg/day in the leak's direction, hole mm); kg/day and hole None while a LEAK's
        # loss is not yet measured (its alarm's event: protocol LOSS_UNMEASURED).
        #
        # The rate is of the compensated pressure, referred to the reference temperature, so the
        # mass loss uses that temperature (fast-leak cooling is not mistaken for lost air). The hole
        # uses the gas as it flows now: cabin pressure and temperature for a habitat, the room at
        # ~1 atm for a chamber (air flows in).
        #
        rate = self.rate_e5 / 1e5
        if self.state == LEAK and not self.loss_known or self.state == RAPID and not self.rapid_known:
            return rate, None, None
        tref_k = self.prefilter.tref / 5120.0 + 273.15
        gas_k = self.prefilter.t_fine / 5120.0 + 273.15
        kg = leak_kg_day(rate * self.sign, self.p["volume_l"] / 1000.0, tref_k)
        upstream = self.prefilter.pressure_q8 / 256.0 if self.sign > 0 else 101325.0
        return rate, max(kg, 0.0), hole_mm(kg, upstream, gas_k, self.p["cd"])
