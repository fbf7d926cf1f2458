"""An emulated I2C bus with the machine.I2C interface; emulated chips attach by address.

    bus = I2CBus()
    bus.attach(0x76, BMP280Emu(truth, clock))
    bmp = BMP280(bus)

A device implements two transaction methods (so register- and command-style chips both fit):
    i2c_write(reg, data)  one write transaction: the byte `reg` (if reg >= 0) then the bytes of `data`
    i2c_read(buf)         one read transaction: fill buf
and raises OSError to NACK. If it has `.faults` (hil.emu.faults.Faults), the bus applies the bus-level
faults first: gone -> ENODEV, timeout -> ETIMEDOUT, nack_rate -> EIO. An absent address -> ENODEV,
as MicroPython's machine.I2C does. The dispatch path allocates nothing.
"""
ENODEV = 19
EIO = 5
ETIMEDOUT = 110
_EMPTY = b""


class I2CBus:
    def __init__(self):
        self._devices = {}

    def attach(self, address, device):
        self._devices[address] = device
        return device

    def detach(self, address):
        return self._devices.pop(address, None)

    def device(self, address):
        return self._devices.get(address)

    def scan(self):
        found = []
        for address in sorted(self._devices):
            dev = self._devices[address]
            faults = getattr(dev, "faults", None)
            if faults is None or not faults.gone:
                found.append(address)
        return found

    def _dev(self, address):
        dev = self._devices.get(address)
        if dev is None:
            raise OSError(ENODEV)
        faults = getattr(dev, "faults", None)
        if faults is not None and faults.active:
            faults.bus_check()
        return dev

    # machine.I2C memory operations -----------------------------------------------------------
    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        dev = self._dev(addr)
        dev.i2c_write(memaddr, _EMPTY)   # write the register pointer, then repeated start
        dev.i2c_read(buf)

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf, addrsize)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        self._dev(addr).i2c_write(memaddr, buf)

    # machine.I2C plain operations ------------------------------------------------------------
    def writeto(self, addr, buf, stop=True):
        self._dev(addr).i2c_write(-1, buf)
        return len(buf) + 1           # ACK count, like machine.I2C

    def readfrom_into(self, addr, buf, stop=True):
        self._dev(addr).i2c_read(buf)

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf, stop)
        return bytes(buf)


class RegisterDevice:
    """A plain register file (auto-increment reads, pairwise writes): a stand-in chip for tests and
    for measuring a driver's own allocation. regs: {address: bytes} loaded at those addresses."""

    def __init__(self, regs=None):
        self.mem = bytearray(256)
        self.ptr = 0
        self.writes = 0
        if regs:
            for address in regs:
                data = regs[address]
                self.mem[address:address + len(data)] = data

    def i2c_write(self, reg, data):
        n = len(data)
        i = 0
        if reg < 0:
            if n == 0:
                return
            reg = data[0]
            i = 1
        self.ptr = reg
        while i < n:
            self.mem[reg] = data[i]
            self.writes += 1
            i += 1
            if i < n:
                reg = data[i]
                i += 1

    def i2c_read(self, buf):
        p = self.ptr
        mem = self.mem
        for i in range(len(buf)):
            buf[i] = mem[(p + i) & 0xFF]
