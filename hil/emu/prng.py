"""A small deterministic PRNG (xorshift32) so the emulators' noise is the same in CPython and MicroPython."""
import math

_MASK32 = 0xFFFFFFFF
_TWO_PI = 2 * math.pi


class PRNG:
    def __init__(self, seed=1):
        self.state = (seed * 2654435761 + 1) & _MASK32 or 1
        self._spare = None

    def next32(self):
        x = self.state
        x ^= (x << 13) & _MASK32
        x ^= x >> 17
        x ^= (x << 5) & _MASK32
        self.state = x
        return x

    def random(self):
        """Uniform in [0, 1)."""
        return (self.next32() >> 8) / 16777216.0

    def uniform(self, a, b):
        return a + (b - a) * self.random()

    def chance(self, p):
        return p > 0 and self.random() < p

    def gauss(self, sigma=1.0):
        """Normal(0, sigma) by Box-Muller."""
        if self._spare is not None:
            z, self._spare = self._spare, None
            return z * sigma
        x = self.state                  # next32() twice, inline (the emulators' hottest call)
        x ^= (x << 13) & _MASK32
        x ^= x >> 17
        x ^= (x << 5) & _MASK32
        u1 = (x >> 8) / 16777216.0 or 1e-12
        x ^= (x << 13) & _MASK32
        x ^= x >> 17
        x ^= (x << 5) & _MASK32
        self.state = x
        u2 = (x >> 8) / 16777216.0
        r = math.sqrt(-2.0 * math.log(u1))
        a = _TWO_PI * u2
        self._spare = r * math.sin(a)
        return r * math.cos(a) * sigma
