# CUSUM bank: one-sided CUSUMs W_j = max(0, W_j + r - k_j - allowance) on the block residual,
# each tuned to a leak slope beta_j = drift_pa_s * 8^j (docs/detection.md section 3).
import math

from det_fixed import clamp, isqrt

BANK = 6
_LEARN = 120                 # blocks learnt before any CUSUM runs: a fan's oscillation (60 s)
                             # averages out of the level to well under a fast CUSUM's allowance


class CusumBank:
    def __init__(self):
        self.allow = [0] * BANK      # allowance k_j, q12 per block
        self.limit = [1] * BANK      # threshold h_j, q12
        self.need = [_LEARN] * BANK   # learnt blocks before CUSUM j runs
        self.stat = [0] * BANK       # W_j, q12
        self.zero_at = [0] * BANK    # block number when W_j was last zero (the change's start)
        self.sigma12 = 1
        self.top_j = 0
        self.tuned_q10 = 1           # the block sigma tuned for, q10 Pa
        self.floor_q10 = 0           # the configured noise's, below which it never follows
        self.scale_q12 = 4096        # residuals in units of the tuned sigma: tuned / now (follow)
        self.follow_q10 = 0          # the sigma last followed (0: none since the tuning)

    def tune(self, sigma_b, drift_pa_s, block_s, ln_arl, rebase_blocks, wave_pa=0.0):
        # k, h and learning needs from the block noise sigma_b (Pa) (floats: set-up time).
        # wave_pa: the amplitude of a slow oscillation (a fan) on top of the white noise. A CUSUM
        # whose run to an alarm is a few minutes or less would ride its crests; an allowance
        # beyond the amplitude never accumulates it. The slow CUSUMs average it out.
        sig = sigma_b * 4096.0
        self.sigma12 = max(1, int(sig))
        self.tuned_q10 = max(1, min(1 << 17, int(sigma_b * 1024.0)))
        self.scale_q12 = 4096
        self.follow_q10 = 0
        for j in range(BANK):
            beta = drift_pa_s * (8 ** j) * block_s * 4096.0
            k = (beta * sig * sig * ln_arl / 4.0) ** (1.0 / 3.0)
            # Siegmund: ARL ~ exp(2k(h + 1.166 sigma)/sigma^2) / (2k^2/sigma^2)
            a = max(ln_arl + math.log(max(2.0 * k * k / (sig * sig), 1e-9)), 1.0)
            h = a * sig * sig / (2.0 * k) - 1.166 * sig
            # a fast CUSUM (k >> sigma) acts on single blocks: keep k + h a full z-score out
            h = max(h, math.sqrt(2.0 * ln_arl) * sig - k, sig)
            run = 1.89 * (sig * sig * ln_arl / (beta * beta)) ** (1.0 / 3.0)
            if run < 240:
                k += wave_pa * 4096.0
            self.allow[j] = max(1, int(k + 0.5))
            limit = max(int(h), 16)
            # a W on its way keeps its share of the threshold: re-derived thresholds (a quiet
            # rebase, a re-learnt level) must not turn the same evidence into an alarm
            self.stat[j] = self.stat[j] * limit // self.limit[j]
            self.limit[j] = limit
            # the learnt level's error sigma/sqrt(n) below k_j/4 before CUSUM j runs
            self.need[j] = min(rebase_blocks, max(_LEARN, int(16.0 * sig * sig / (k * k)) + 1))

    def follow(self, sigma_q10):
        # The block noise is now sigma_q10 (q10 Pa; integers: the steady state allocates nothing):
        # the residuals are scaled by tuned / now, which is the bank re-tuned for that sigma with its
        # slopes moved by the same ratio (a few %: the bank's 8x spacing makes that worth nothing)
        self.follow_q10 = sigma_q10
        if sigma_q10 < self.floor_q10:
            sigma_q10 = self.floor_q10
        self.sigma12 = sigma_q10 << 2      # (the young-alarm and crest rules take it too)
        self.scale_q12 = clamp((self.tuned_q10 << 12) // max(1, sigma_q10), 5120)
        if self.scale_q12 < 1024:
            self.scale_q12 = 1024

    def reset(self, block):
        for j in range(BANK):
            self.stat[j] = 0
            self.zero_at[j] = block

    def update(self, r12, extra12, learnt, learning, block):
        # Add one residual; returns max_j W_j / h_j in % (CUSUMs still waiting for the level skip).
        top = 0
        d = self.scale_q12 - 4096
        if d:
            r12 += ((r12 >> 6) * d) >> 6
            extra12 = clamp(extra12, 1 << 22)
            extra12 += ((extra12 >> 6) * d) >> 6
        for j in range(BANK):
            if learning and learnt < self.need[j]:
                continue
            w = self.stat[j] + r12 - self.allow[j] - extra12
            if w <= 0:
                w = 0
                self.zero_at[j] = block
            h = self.limit[j]
            if w > 2 * h:
                w = 2 * h
            self.stat[j] = w
            pct = (w * 100) // h
            if pct > top:
                top = pct
                self.top_j = j
        return top

    def run(self, block):
        # Blocks since the leading CUSUM was last zero (the change's start).
        return block - self.zero_at[self.top_j]


LONG_CHUNK = 64              # second differences per chunk mean
LONG_FIRST = 16              # chunks (1,024 second differences, ~17 min of 1 s blocks): first re-derivation
LONG_LAST = 28               # chunks (1,792, ~30 min): the last (floats: a milestone of learning, as the
                             # end of the level's; from then on the loop allocates nothing,
                             # tests/test_detector.py; a re-learnt level's re-derivation takes the record)
LONG_FULL = 64               # chunks (4,096, ~70 min) in the running mean; then an exponential one over ~64


class LongNoise:
    # The block noise over the hours (the CUSUMs' sigma): the mean square of second differences / 6,
    # as the detector's 64-block measures, over chunks of 64, their running mean over the first 64
    # chunks, then an exponential one. The 64-block measures read a part's sigma 0.98-1.40x its
    # own at the end of learning (with their 1.125 margin; bench/detection.py's slow-leak parts):
    # thresholds, and slow-leak delays, that far off for the node's life.
    def __init__(self):
        self.reset()

    def reset(self):
        self.sum = 0                 # this chunk's, q8^2
        self.fill = 0
        self.var16 = 0               # the mean, q8^2 << 4
        self.n = 0                   # chunks in it (to LONG_FULL)

    def add(self, x):
        # One second difference's square / 6 (q8^2); True when the mean has LONG_FIRST or LONG_LAST
        # chunks (then the detector re-derives the CUSUMs from it).
        self.sum += clamp(x, (1 << 24) - 1)
        self.fill += 1
        if self.fill < LONG_CHUNK:
            return False
        m = (self.sum // LONG_CHUNK) << 4
        self.sum = 0
        self.fill = 0
        if self.n < LONG_FULL:
            self.var16 += (m - self.var16) // (self.n + 1)
            self.n += 1
            return self.n == LONG_FIRST or self.n == LONG_LAST
        self.var16 += (m - self.var16) >> 6
        return False

    def margin(self):
        # What sigma is multiplied by (floats: at re-derivations only): 2 standard errors of a
        # sigma from n chunks, a second difference's square being worth about half a sample (its
        # neighbours share its blocks: correlations -2/3 and 1/6, so 1 + 2 (4/9 + 1/36) = 1.94)
        return 1.0 + 2.0 / math.sqrt(LONG_CHUNK * self.n)


def block_sigma_q10(white, slow):
    # The CUSUMs' block sigma (q10 Pa, integers) from the long record's two measures (LongNoise),
    # times 1 + 2 / sqrt(LONG_CHUNK n), margin()'s 2 standard errors (isqrt floors its root: up).
    # On white noise both read the same variance, and the larger of two noisy readings is biased
    # up (~0.4 sd of their difference, ~1 % of sigma): their mean, unless the slow one is out by
    # more than 4 / sqrt(LONG_CHUNK n) of the variance (~2.3 sd of the difference, which on
    # bench/detection.py's parts is ~1.7 / sqrt(LONG_CHUNK n)): a slow disturbance, which counts whole.
    n = white.n if white.n < slow.n else slow.n
    root = isqrt(LONG_CHUNK * n)
    var = white.var16
    if slow.var16 < var + (4 * var) // root:
        var = (var + slow.var16) >> 1
    else:
        var = slow.var16
    sig = isqrt(var)
    return sig + (2 * sig) // root
