"""One exception type for every sensor failure, with a small-int kind the node loop can count, and the
drivers' bus calls that raise it. The drivers take `const` from here too (one MicroPython/CPython shim).

    try:
        bmp.read_fixed(out)
    except SensorError as e:
        errors[e.kind] += 1          # e.kind is BUS, CRC, CHIP_ID, RANGE, ...
"""
try:
    from micropython import const
except ImportError:
    def const(x):  # type: ignore
        return x

BUS = const(1)        # the bus raised OSError (ENODEV 19, EIO 5, ETIMEDOUT 110): see .errno
CRC = const(2)        # a word's CRC-8 did not match
CHIP_ID = const(3)    # the device at the address is not the expected chip
RANGE = const(4)      # the value is outside the sensor's physical range (never clamped)
STATE = const(5)      # the command is refused in the sensor's current mode (nothing was sent)
NOT_READY = const(6)  # the conversion did not finish in the datasheet's maximum time
SKIPPED = const(7)    # the chip reports "not measured" (BMP280 raw 0x80000)
FAILED = const(8)     # the sensor ran the command and reported failure (FRC, self-test)
ARG = const(9)        # the argument is outside what the command accepts (nothing was sent)

KIND_NAMES = ("?", "BUS", "CRC", "CHIP_ID", "RANGE", "STATE", "NOT_READY", "SKIPPED", "FAILED", "ARG")


class SensorError(Exception):
    """A sensor failure. .kind is one of the codes above; .errno is the bus errno for BUS, else 0."""

    def __init__(self, kind, detail="", errno=0):
        super().__init__(kind, detail)
        self.kind = kind
        self.detail = detail
        self.errno = errno

    def __str__(self):
        name = KIND_NAMES[self.kind] if 0 <= self.kind < len(KIND_NAMES) else str(self.kind)
        if self.errno:
            return "%s (errno %d): %s" % (name, self.errno, self.detail)
        return "%s: %s" % (name, self.detail)


def bus_error(exc, what):
    """Wrap an OSError from the bus; the errno tells ENODEV/EIO/ETIMEDOUT apart."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
    return SensorError(BUS, what, code)


# The drivers' bus calls: an OSError becomes SensorError(BUS) naming the transfer ("<what> 0x<n>").
# The message is only formatted on failure, so a good transfer allocates nothing.
def read_mem_into(i2c, address, reg, buf, what):
    try:
        i2c.readfrom_mem_into(address, reg, buf)
    except OSError as e:
        raise bus_error(e, "%s 0x%02x" % (what, reg))


def write_mem(i2c, address, reg, buf, what):
    try:
        i2c.writeto_mem(address, reg, buf)
    except OSError as e:
        raise bus_error(e, "%s 0x%02x" % (what, reg))


def read_into(i2c, address, buf, what):
    try:
        i2c.readfrom_into(address, buf)
    except OSError as e:
        raise bus_error(e, what)


def write(i2c, address, buf, what, code):
    try:
        i2c.writeto(address, buf)
    except OSError as e:
        raise bus_error(e, "%s 0x%04x" % (what, code))
