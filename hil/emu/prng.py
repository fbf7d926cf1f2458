"""A small deterministic PRNG (xorshift32) so the emulators' noise is the same in CPython and MicroPython."""
import math

_MASK32 = 0xFFFFFFFF


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
        u1 = self.random() or 1e-12
        u2 = self.random()
        r = math.sqrt(-2.0 * math.log(u1))
        self._spare = r * math.sin(2 * math.pi * u2)
        return r * math.cos(2 * math.pi * u2) * sigma
