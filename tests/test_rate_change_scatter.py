"""The rate-change rule's standard error from the entries' own scatter (detector `_rate_changed`, det_rate
`BlockRates.long_scatter`; docs/detection.md section 5, "A loss that changes").

The rule compares the last 8.5 minutes' slope (32 long entries) with the one since the leak's onset, at 4 standard
errors of their difference. Those errors were the white block noise's alone; after a repress the first ~16 entries
of the refilled long ring carry the wave of a fan the notch lost in the ramp (+-2.5 Pa), and a +93 % slope passed as
a change at 4.0 white standard errors (tests/test_redteam_repress_rate.py part 2 on the thermal branch). The scatter
of the entries about their line now scales them when it is the larger. Here: it reads white entries at their
variance whatever the slope, it holds a difference of 6 white standard errors on the wave's entries but still finds
a change of 30, and it is the same integers, allocating nothing, in the MicroPython VM."""
import random

import detector as D
from det_rate import LONG_EVERY, RING, BlockRates

# a 0.1 Pa/s leak at 1 s blocks, white noise uniform in +-400 q8 (+-1.56 Pa) per block; 8 entries before the
# growing window starts, 40 after; the wave: +-640 q8 (2.5 Pa), 4 entries' period, on the long ring's first 16
SNIPPET = """
import detector as D
try:
    import micropython
    lock, unlock = micropython.heap_lock, micropython.heap_unlock
except ImportError:
    lock = unlock = lambda: None
d = D.Detector(1000)
r = d.rates
seed = [12345]
def noise(q8):
    seed[0] = (seed[0] * 1103515 + 12345) & 0x3FFFFFFF          # an LCG: integers on either VM
    return (seed[0] >> 10) %% (2 * q8 + 1) - q8
def fill(entries, slope_q8, wave_q8, wave_entries):
    level = 100000 << 8
    for e in range(entries):
        w = (wave_q8 if e %% 4 < 2 else -wave_q8) if e < wave_entries else 0
        for b in range(16):
            r.add(level + w + noise(400))
            level -= slope_q8
fill(8, 26, 0, 0)
r.grow_start(8, 0)
fill(40, 26, %(wave)d, 16)
recent = r.long_e5(D.RING)
since = [recent + 200, recent + 1000, recent]
out = [0, 0, 0, 0]
lock()
try:
    r.scatter = -1
    out[0] = r.long_scatter()
    for k in range(3):
        out[k + 1] = d._rate_changed(since[k])
finally:
    unlock()
result = [out, d.entry_var, r.grow_n, recent]
"""


def in_cpython(wave_q8):
    ns: dict = {}
    exec(SNIPPET % {"wave": wave_q8}, ns)
    return ns["result"]


def test_white_entries_read_at_their_variance_whatever_the_slope():
    # uniform +-400 q8 per block: 16-block means of variance (801^2 - 1) / 12 / 16 = 3,342 q8^2
    rnd = random.Random(5)
    for slope in (0, 26, 260):                 # 0, 0.1 and 1 Pa/s at 1 s blocks
        rnd.seed(5)
        r = BlockRates()
        r.configure(1.0)
        got = []
        level = 100000 << 8
        for block in range(200 * LONG_EVERY):
            r.add(level + rnd.randint(-400, 400))
            level -= slope
            if r.long_count == RING and r.long_n == 0:
                got.append(r.long_scatter())
        mean = sum(got) / len(got)
        assert 0.93 < mean / 3342.0 < 1.07, (slope, mean)


def test_a_lost_fans_wave_in_the_ring_widens_the_error_a_real_change_still_shows():
    (scatter, white6, white30, same), entry_var, n, recent = in_cpython(0)
    assert n == 48 and abs(recent + 10156) < 150           # the ramp's slope, 1e-5 Pa/s
    assert scatter < entry_var                               # white noise below the configured: no scaling
    assert white6 == recent and white30 == recent and same == 0
    (scatter, held, found, same), entry_var, n, recent = in_cpython(640)
    assert scatter > 10 * entry_var                          # the wave's residuals
    assert held == 0                                         # 6 white standard errors on the wave: not a change
    assert found == recent and same == 0                    # 30 of them: a change


def test_the_same_integers_allocating_nothing_in_micropython(mpy):
    for wave in (0, 640):
        assert mpy.exec(SNIPPET % {"wave": wave}) == in_cpython(wave)
