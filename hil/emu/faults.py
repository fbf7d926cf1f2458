"""Fault injection for the emulated chips, settable at run time: dev.faults.set(offset=50, nack_rate=0.1).

Bus-level (applied by hil.emu.bus.I2CBus before the device sees a transaction):
    gone        device absent -> OSError(ENODEV); set back to False and it answers again
    timeout     the bus times out -> OSError(ETIMEDOUT)
    nack_rate   probability that a transaction is NACKed -> OSError(EIO)
Value-level (applied by the device to its primary quantity: Pa for the BMP280, ppm for the SCD4x):
    stuck       the output stays frozen at its last value
    offset      added to the true value
    drift_per_s grows linearly from the moment it is set
    noise_mult  multiplies the datasheet noise
    spike_rate  probability per sample of a spike of +-spike_size
Word-level (SCD4x): crc_corrupt, probability that a word read back carries a wrong CRC.
"""
from .prng import PRNG

ENODEV = 19
EIO = 5
ETIMEDOUT = 110
NAMES = ("gone", "timeout", "nack_rate", "stuck", "offset", "drift_per_s", "noise_mult",
         "spike_rate", "spike_size", "crc_corrupt")


class Faults:
    def __init__(self, seed=1):
        self.prng = PRNG(seed ^ 0x5A5A)
        self.clear()

    def clear(self):
        self.gone = False
        self.timeout = False
        self.nack_rate = 0.0
        self.stuck = False
        self.offset = 0.0
        self.drift_per_s = 0.0
        self.noise_mult = 1.0
        self.spike_rate = 0.0
        self.spike_size = 0.0
        self.crc_corrupt = 0.0
        self._drift_t0 = None

    def set(self, **kw):
        for name in kw:
            if name not in NAMES:
                raise ValueError("unknown fault %r (known: %s)" % (name, ", ".join(NAMES)))
            setattr(self, name, kw[name])
            if name == "drift_per_s":
                self._drift_t0 = None
        return self

    def as_dict(self):
        return dict((n, getattr(self, n)) for n in NAMES)

    @property
    def active(self):
        return self.gone or self.timeout or self.nack_rate > 0

    def bus_check(self):
        if self.gone:
            raise OSError(ENODEV)
        if self.timeout:
            raise OSError(ETIMEDOUT)
        if self.prng.chance(self.nack_rate):
            raise OSError(EIO)

    def apply(self, value, now_s):
        """The true value as the faulty sensor sees it (before its own noise)."""
        value += self.offset
        if self.drift_per_s:
            if self._drift_t0 is None:
                self._drift_t0 = now_s
            value += self.drift_per_s * (now_s - self._drift_t0)
        else:
            self._drift_t0 = None
        if self.spike_rate and self.prng.chance(self.spike_rate):
            value += self.spike_size if self.prng.random() < 0.5 else -self.spike_size
        return value

    def corrupt_crc(self):
        return self.crc_corrupt and self.prng.chance(self.crc_corrupt)
