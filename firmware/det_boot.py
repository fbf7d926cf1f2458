# A node booting (or restarting) into a running leak (docs/detection.md section 3). While the first
# level after a reset is learnt, the CUSUMs compare the level with a baseline that follows it down:
# a leak running since before the boot was found only once learning ended (9.3 kg/day in 916 m3:
# +663..+833 s after a restart, against 104-121 s from a quiet start). The long ring's slope meanwhile
# already measures it. BootFall keeps, beside that ring's 16-block level means, the same means of
# what makes the level fall with no air lost while nothing is fitted yet: the temperature (times
# the tempco prior), its rate (times the lag prior) and the water vapour's partial pressure (all of
# it). The detector calls the ring's fall a leak once it is beyond 5 of its standard errors and
# beyond the most those could make over the same entries.
from det_rate import RING, slope_of

_LAG_PA_K = 343.0            # P/T: the lag's share is 343 Pa/K x lag x the temperature's rate


class BootFall:
    def __init__(self):
        self.x = [0] * RING          # the entries' mean temperature, t_fine from the reference
        self.v = [0] * RING          # 16 x their mean temperature rate (det_thermal's v)
        self.h = [0] * RING          # their mean vapour pressure, q8 Pa
        self.prior_q = 0
        self.lag_k = 0
        self.reset()

    def configure(self, prior_q, lag_s, block_s):
        # prior_q: the tempco prior (det_thermal TEMPCO_Q per Pa/K); the lag prior's share per unit
        # of the rate entries' slope, q12 (343 Pa/K x lag_s; v is 1/256 t_fine per block)
        self.prior_q = prior_q
        self.lag_k = int(_LAG_PA_K * lag_s / (5120.0 * 16.0 * block_s) * 4096.0 + 0.5)
        self.reset()

    def reset(self):
        # Forget the window; the entry being summed is dropped (its blocks are not all counted).
        self.pos = 0
        self.count = 0
        self.partial = True
        self.sx = 0
        self.sv = 0
        self.sh = 0

    def add(self, dx, v, h_q2, done):
        # One block the long ring took; done: it completed the ring's entry.
        self.sx += dx >> 4
        self.sv += v
        self.sh += h_q2 << 2
        if not done:
            return
        if not self.partial:
            self.x[self.pos] = self.sx
            self.v[self.pos] = self.sv
            self.h[self.pos] = self.sh
            self.pos = (self.pos + 1) % RING
            if self.count < RING:
                self.count += 1
        self.partial = False
        self.sx = 0
        self.sv = 0
        self.sh = 0

    def most_e5(self, n, rates):
        # The steepest slope (1e-5 Pa/s) the newest n entries' level could have from the tempco, the
        # lag and the vapour within their priors (each entry ring's slope, as the level's).
        sx = slope_of(self.x, self.pos, n, rates.long_m, rates.long_s)
        sv = slope_of(self.v, self.pos, n, rates.long_m, rates.long_s)
        sh = slope_of(self.h, self.pos, n, rates.long_m, rates.long_s)
        sx = sx if sx > 0 else -sx
        sv = sv if sv > 0 else -sv
        sh = sh if sh > 0 else -sh
        # (sx is 1e5 x the mean temperature's t_fine per s / 256: x prior / 20 Pa/K, TEMPCO_Q 3276.8)
        return ((sx * self.prior_q) >> 16) + ((sv * self.lag_k) >> 12) + sh
