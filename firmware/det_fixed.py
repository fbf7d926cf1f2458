# Fixed-point helpers for the detector's parts: every value stays a small int (< 2^30), so the
# per-sample path allocates nothing on a 32-bit MicroPython port.


def mul_plan(c):
    # (m, s) with c ~= m / 2^s, 2^14 <= m < 2^15, for mulshift (set-up time only: floats).
    if c <= 0:
        return 0, 15
    s = 0
    while c * 2.0 ** s < 16384:
        s += 1
    while c * 2.0 ** s >= 32768:
        s -= 1
    return min(int(c * 2.0 ** s + 0.5), 32767), s


def mulshift(x, m, s):
    # x * m / 2^s without leaving small-int range (|x| < 2^29, m < 2^15).
    hi = x >> 15
    lo = x & 0x7FFF
    if s >= 15:
        return ((hi * m) >> (s - 15)) + ((lo * m) >> s)
    return ((hi * m) << (15 - s)) + ((lo * m) >> s)


def clamp(x, lim):
    if x > lim:
        return lim
    if x < -lim:
        return -lim
    return x


def isqrt(n):
    # floor(sqrt(n)) for 0 <= n < 2^30, integers only.
    if n <= 0:
        return 0
    x = 32768                       # >= sqrt(n) for n < 2^30: Newton steps down from above
    while True:
        y = (x + n // x) >> 1
        if y >= x:
            return x
        x = y


def hinge_ls(n, s_h, s_hh, s_y, s_yy, s_hy):
    # Least squares of y on a level and a hinge h (0 before it, rising after): (slope, rss), from
    # the sums over the n points. Floats: event time only (the hinge searches), never per sample.
    det = n * s_hh - s_h * s_h
    slope = (n * s_hy - s_h * s_y) / det
    level = (s_y - slope * s_h) / n
    return slope, s_yy - level * s_y - slope * s_hy
