# Step classifier on block means: hatch/door steps, repress and pulse recoveries are not leaks.
#
# An 8-block change beyond max(transient_pa_s x 8 s, 7 sigma) means the level is moving: CUSUMs
# wait. When it stops (8 quiet blocks) the level after it is learnt as the new baseline. A fall (a
# rise, for a chamber) that keeps going for longer than transient_max_s is a leak in its own right
# (in a habitat once it is below where the level was before it moved).
# A young CUSUM alarm is held until its implied slope would show (transient_max_s; after a crest, a
# fan's, up to 6x that): a leak keeps the residual growing at that slope, a step too small to count
# as moving leaves it flat, an oscillation that started (a fan's first dips) turns it back.
STEP_QUIET = 0
STEP_MOVING = 1
STEP_SETTLED = 2
STEP_FALLING = 3

YOUNG_LEAK = 0               # young_alarm(): the residual kept growing, a leak
YOUNG_HOLD = 1               # still watching: SUSPECT
YOUNG_STEP = 2               # it stopped: a step of `step12`, not a leak
YOUNG_BACK = 3               # it turned back: an oscillation (a fan starting), not a leak

_BACK = 8


class StepClassifier:
    def __init__(self):
        self.ring = [0] * _BACK
        self.change_q8 = 1024
        self.hold = 10

    def configure(self, change_q8, hold_blocks):
        self.change_q8 = change_q8
        self.hold = hold_blocks

    def reset(self):
        for j in range(_BACK):
            self.ring[j] = 0
        self.pos = 0
        self.count = 0
        self.moving_n = 0
        self.falling_n = 0
        self.fall_top = 0            # the steepest 8-block fall of this run of falling blocks
        self.settle_n = 0
        self.young_at = 0            # block where a held young alarm started (0: none)
        self.young_sum = 0
        self.young_late = 0
        self.young_need = 0
        self.young_half = 0
        self.step12 = 0
        self.start_q8 = 0

    def below_start(self, b_q8, sign):
        # Has the level gone beyond where it was before it moved, in the leak's direction? A fall
        # back from an overpressure (the far side of a hatch operation: +85..+160 Pa flowing back
        # over 20-60 s) falls for longer than any transient but loses nothing (seen failing: a
        # LEAK 18.8 s after it on every part, and a ground SHELTER).
        return (self.start_q8 - b_q8) * sign > self.change_q8

    def update(self, b_q8, sign):
        old = self.ring[self.pos] if self.count >= _BACK else b_q8
        self.ring[self.pos] = b_q8
        self.pos = (self.pos + 1) % _BACK
        if self.count < _BACK:
            self.count += 1
        change = b_q8 - old
        if change > self.change_q8 or change < -self.change_q8:
            if not self.moving_n:
                self.start_q8 = old          # the level before it moved
            self.moving_n += 1
            self.settle_n = 0
            self.falling_n = self.falling_n + 1 if change * sign < 0 else 0
            if self.falling_n == 1 or -change * sign > self.fall_top:
                self.fall_top = -change * sign
        else:
            self.falling_n = 0
            if self.moving_n:
                self.settle_n += 1
                if self.settle_n >= _BACK:
                    self.moving_n = 0
                    self.settle_n = 0
                    return STEP_SETTLED
        # (still falling at 3/4 of its steepest: a fan's half-wave, which a notch that has not locked
        # yet leaves, slows into its trough; a leak keeps its rate. Seen failing: a 6 Pa, 25 s fan
        # falls by 4-10 Pa in 8 blocks for 10 blocks, a LEAK at 20-145 s; at half, 145 s still)
        if self.falling_n >= self.hold and -change * sign * 4 > 3 * self.fall_top:
            return STEP_FALLING
        return STEP_MOVING if self.moving_n else STEP_QUIET

    def young_alarm(self, w12, run, r12, sigma12, block, swung):
        # A CUSUM alarmed with W = w12 after `run` blocks; r12 is this block's residual. The means of
        # two half-windows of `half` blocks from the alarm differ by slope x half for a leak (the
        # implied slope 2W/run^2); half is long enough for that to be 4 sigma. `swung`: the level
        # was well above the baseline just before (a fan's crest): then each half may be up to 3x
        # the hold, so that its dip (3 Pa in 30 s: the fast CUSUMs alarm ~8 s into it) has turned
        # back by the second half. Without a crest the wait stays short: a leak would pay for it.
        hold = self.hold
        if not self.young_at:
            slope12 = 2 * w12 // (run * run) if run else 0
            if run >= 3 * hold or slope12 <= 0:
                return YOUNG_LEAK            # old: no wait
            half = max(hold * 3 // 2 if swung else hold // 2, 4 * sigma12 // slope12 + 1)
            if half > (3 * hold if swung else hold // 2):
                return YOUNG_LEAK            # too slow to show within the hold: no wait
            self.young_at = block
            self.young_sum = 0
            self.young_late = 0
            self.young_half = half
            # accept above 40 % of what a leak adds; 20 % over a longer window (the implied slope
            # is an overestimate there: a slow leak's alarm comes when the noise favours it)
            self.young_need = (slope12 * half * (1 if swung else 2)) // 5
        half = self.young_half
        age = block - self.young_at
        if age < half:
            self.young_sum -= r12
        else:
            self.young_sum += r12
            self.young_late += r12
        if age < 2 * half - 1:
            return YOUNG_HOLD
        self.young_at = 0
        if self.young_sum // half < -self.young_need:
            return YOUNG_BACK
        if self.young_sum // half < self.young_need:
            self.step12 = self.young_late // half
            return YOUNG_STEP
        return YOUNG_LEAK

    def young_clear(self):
        self.young_at = 0


# Pulse hold: after a pulse the slow path waits until the recovery has settled, not for a fixed
# time. A pulse drops the level by A at once and it comes back (no air is lost), roughly as
# A e^(-t/tau). Once the deficit has fallen to A/4 the area under it so far, (3/4) A tau, gives tau
# (the area is little moved by a fan's oscillation or the noise, unlike the crossing time alone).
# From there the remaining tail is modelled, starting at A/4 and decaying by 1/tau per block. The
# hold ends when the tail is below `floor` (the slowest CUSUM's allowance: no CUSUM counts it), at
# the latest after `ceiling` blocks; what is left of the model is subtracted from the level as it
# keeps decaying, until it is below floor/16. A deficit that has not come back to A/4 within
# `judge` blocks is a step that stays (or a recovery too slow to tell from one): judged at once.
HOLD_OFF = 0                 # update(): no pulse held
HOLD_ON = 1                  # still recovering: the CUSUMs wait
HOLD_END = 2                 # the recovery has settled: judge the level

_MIN_HOLD = 8                # blocks: the fast path's window and the step classifier's quiet wait


class PulseHold:
    def __init__(self):
        self.judge = 90
        self.ceiling = 300
        self.reset()

    def configure(self, judge_blocks, ceiling_blocks):
        self.judge = judge_blocks
        self.ceiling = ceiling_blocks

    def reset(self):
        self.holding = False
        self.tail12 = 0              # modelled remaining deficit, q12 Pa (the leak's direction)
        self.tau_q4 = 0              # recovery time constant, 1/16 block (0: not known yet)
        self.age = 0                 # blocks since the pulse
        self.peak12 = 0              # deepest deficit since the pulse
        self.area = 0                # sum of the deficit since the peak, q4 Pa x blocks

    def start(self):
        # A pulse (the fast path's EV_TRANSIENT): follow its recovery from the next block.
        self.reset()
        self.holding = True

    def update(self, deficit12, floor12):
        # One block; deficit12 is the level below the baseline in the leak's direction (q12).
        # Returns HOLD_*; tail12 is what the level still lacks after the hold.
        if not self.holding:
            if self.tail12:
                self._decay()
                if self.tail12 <= floor12 >> 4:
                    self.tail12 = 0
            return HOLD_OFF
        self.age += 1
        if deficit12 > self.peak12:
            self.peak12 = deficit12      # deeper (the fall, or a second pulse): follow from here
            self.area = 0
            self.tau_q4 = 0
        if not self.tau_q4:
            self.area += deficit12 >> 8
            peak = self.peak12 >> 8
            if peak > 0 and 4 * deficit12 <= self.peak12:
                # (3/4) A tau = area: tau in 1/16 block, without leaving small-int range
                whole = self.area // peak
                self.tau_q4 = max(16, (whole * 64 + ((self.area - whole * peak) * 64) // peak) // 3)
                self.tail12 = self.peak12 >> 2
            elif self.age >= self.judge:
                self.tail12 = 0
                return self._end()
            return HOLD_ON
        self._decay()
        if (self.age >= _MIN_HOLD and self.tail12 <= floor12) or self.age >= self.ceiling:
            return self._end()
        return HOLD_ON

    def _decay(self):
        # e^(-1/tau) ~ 1 - 1/(tau + 1/2), rounded up so that the tail always reaches the floor
        d = 2 * self.tau_q4 + 16
        self.tail12 -= ((self.tail12 << 5) + d - 1) // d

    def _end(self):
        self.holding = False
        return HOLD_END
