# Step classifier on block means: hatch/door steps, repress and pulse recoveries are not leaks.
#
# An 8-block change beyond max(transient_pa_s x 8 s, 7 sigma) means the level is moving: CUSUMs
# wait. When it stops (8 quiet blocks) the level after it is learnt as the new baseline. A fall (a
# rise, for a chamber) that keeps going for longer than transient_max_s is a leak in its own right.
# A young CUSUM alarm whose slope would show within transient_max_s is held that long: a leak keeps
# the residual growing at the implied slope, a step too small to count as moving leaves it flat.
STEP_QUIET = 0
STEP_MOVING = 1
STEP_SETTLED = 2
STEP_FALLING = 3

YOUNG_LEAK = 0               # young_alarm(): the residual kept growing, a leak
YOUNG_HOLD = 1               # still watching: SUSPECT
YOUNG_STEP = 2               # it stopped: a step of `step12`, not a leak

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
        self.settle_n = 0
        self.young_at = 0            # block where a held young alarm started (0: none)
        self.young_sum = 0
        self.young_late = 0
        self.young_need = 0
        self.step12 = 0

    def update(self, b_q8, sign):
        old = self.ring[self.pos] if self.count >= _BACK else b_q8
        self.ring[self.pos] = b_q8
        self.pos = (self.pos + 1) % _BACK
        if self.count < _BACK:
            self.count += 1
        change = b_q8 - old
        if change > self.change_q8 or change < -self.change_q8:
            self.moving_n += 1
            self.settle_n = 0
            self.falling_n = self.falling_n + 1 if change * sign < 0 else 0
        else:
            self.falling_n = 0
            if self.moving_n:
                self.settle_n += 1
                if self.settle_n >= _BACK:
                    self.moving_n = 0
                    self.settle_n = 0
                    return STEP_SETTLED
        if self.falling_n >= self.hold:
            return STEP_FALLING
        return STEP_MOVING if self.moving_n else STEP_QUIET

    def young_alarm(self, w12, run, r12, sigma12, block):
        # A CUSUM alarmed with W = w12 after `run` blocks; r12 is this block's residual.
        hold = self.hold
        if not self.young_at:
            if run >= 3 * hold or w12 * hold <= 4 * sigma12 * run * run:
                return YOUNG_LEAK            # old, or too slow to show within the hold: no wait
            self.young_at = block
            self.young_sum = 0
            self.young_late = 0
            # half-window means differ by beta * hold / 2 for a leak; accept above 40 % of that
            self.young_need = (w12 * hold * 2) // (run * run * 5)
        age = block - self.young_at
        half = hold // 2
        if age < half:
            self.young_sum -= r12
        else:
            self.young_sum += r12
            self.young_late += r12
        if age < 2 * half - 1:
            return YOUNG_HOLD
        self.young_at = 0
        if self.young_sum // half < self.young_need:
            self.step12 = self.young_late // half
            return YOUNG_STEP
        return YOUNG_LEAK

    def young_clear(self):
        self.young_at = 0
