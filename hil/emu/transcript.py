"""I2C transcripts: a plain-text record of bus transactions, replayed against a driver or recorded from a bus.

Format (one transaction a line; `#` starts a comment; hex bytes, case-insensitive):

    w 76 f4 57          write transaction to 0x76: bytes f4 57 (register, value)
    w 76 f7             write the register pointer ...
    r 76 65 5a c0 7e ed 00    ... then a read transaction returning these bytes
    r 62 !19            a transaction the bus fails with OSError(19) (ENODEV: NACK); also w ... !5
    loop                replay restarts here once the end is reached (steady-state replays)

A memory read (readfrom_mem_into) is the write of the register byte followed by the read, exactly as
a logic analyser shows it, so a capture from a real board (or `Recorder` wrapped around machine.I2C)
drops in. `TranscriptBus` replays: every write must match byte for byte, every read must ask for
the recorded length; any difference raises TranscriptMismatch naming the line. The replay path
allocates nothing, so it can measure a driver's or a node loop's own allocation.
"""
from array import array

_NAMES = {"ENODEV": 19, "EIO": 5, "ETIMEDOUT": 110}


class TranscriptMismatch(AssertionError):
    pass


def _hexbyte(tok, lineno):
    try:
        v = int(tok, 16)
    except ValueError:
        v = -1
    if not 0 <= v <= 0xFF:
        raise ValueError("transcript line %d: %r is not a hex byte" % (lineno, tok))
    return v


def parse(text):
    """[(lineno, op 'w'|'r'|'loop', addr, bytes, errno)] from transcript text."""
    entries = []
    lineno = 0
    for line in text.split("\n"):
        lineno += 1
        k = line.find("#")
        if k >= 0:
            line = line[:k]
        toks = line.split()
        if not toks:
            continue
        op = toks[0].lower()
        if op == "loop":
            entries.append((lineno, "loop", 0, b"", 0))
            continue
        if op not in ("w", "r") or len(toks) < 2:
            raise ValueError("transcript line %d: expected 'w ADDR BYTES', 'r ADDR BYTES' or 'loop'" % lineno)
        addr = _hexbyte(toks[1], lineno)
        errno = 0
        data = bytearray()
        for tok in toks[2:]:
            if tok.startswith("!"):
                name = tok[1:]
                errno = _NAMES.get(name.upper(), 0) or (int(name) if name.isdigit() else 0)
                if not errno:
                    raise ValueError("transcript line %d: bad error %r" % (lineno, tok))
            else:
                data.append(_hexbyte(tok, lineno))
        entries.append((lineno, op, addr, bytes(data), errno))
    return entries


def format_entry(op, addr, data=b"", errno=0):
    s = "%s %02x" % (op, addr)
    if data:
        s += " " + " ".join("%02x" % b for b in data)
    if errno:
        s += " !%d" % errno
    return s


class TranscriptBus:
    """A machine.I2C-like bus that replays a transcript and fails on the first difference."""

    def __init__(self, text):
        entries = parse(text)
        self._loop = -1
        self.ops = bytearray()
        self.addrs = bytearray()
        self.errnos = array("H")
        self.lines = array("H")
        self.starts = array("H")
        self.lens = array("H")
        self.data = bytearray()
        for lineno, op, addr, data, errno in entries:
            if op == "loop":
                self._loop = len(self.ops)
                continue
            self.ops.append(1 if op == "r" else 0)
            self.addrs.append(addr)
            self.errnos.append(errno)
            self.lines.append(lineno)
            self.starts.append(len(self.data))
            self.lens.append(len(data))
            self.data.extend(data)
        self.pos = 0
        self.replayed = 0

    @property
    def done(self):
        return self.pos >= len(self.ops)

    def assert_done(self):
        if not self.done:
            raise TranscriptMismatch("transcript line %d not reached: the driver stopped early" % self.lines[self.pos])

    def _next(self, op, addr):
        i = self.pos
        if i >= len(self.ops):
            if self._loop < 0:
                raise TranscriptMismatch("transcript ended, but the driver did %s at 0x%02x" % ("wr"[op], addr))
            i = self._loop
        if self.ops[i] != op or self.addrs[i] != addr:
            raise TranscriptMismatch("transcript line %d: expected %s at 0x%02x, the driver did %s at 0x%02x"
                                     % (self.lines[i], "wr"[self.ops[i]], self.addrs[i], "wr"[op], addr))
        self.pos = i + 1
        self.replayed += 1
        return i

    def _mismatch(self, i, got):
        exp = bytes(self.data[self.starts[i]:self.starts[i] + self.lens[i]])
        raise TranscriptMismatch("transcript line %d: expected %s, got %s"
                                 % (self.lines[i], format_entry("wr"[self.ops[i]], self.addrs[i], exp),
                                    format_entry("wr"[self.ops[i]], self.addrs[i], bytes(got))))

    def _write(self, addr, reg, buf):
        i = self._next(0, addr)
        n = len(buf)
        s = self.starts[i]
        k = 0
        if self.errnos[i] and self.lens[i] == 0:     # a failed write recorded without its bytes
            raise OSError(self.errnos[i])
        if reg >= 0:
            k = 1
            if self.lens[i] < 1 or self.data[s] != reg:
                self._mismatch(i, bytes((reg,)) + bytes(buf))
        if self.lens[i] != n + k:
            self._mismatch(i, (bytes((reg,)) if reg >= 0 else b"") + bytes(buf))
        d = self.data
        for j in range(n):
            if d[s + k + j] != buf[j]:
                self._mismatch(i, (bytes((reg,)) if reg >= 0 else b"") + bytes(buf))
        if self.errnos[i]:
            raise OSError(self.errnos[i])

    def _read(self, addr, buf):
        i = self._next(1, addr)
        if self.errnos[i]:
            raise OSError(self.errnos[i])
        n = len(buf)
        if self.lens[i] != n:
            raise TranscriptMismatch("transcript line %d: the driver read %d bytes, the transcript has %d"
                                     % (self.lines[i], n, self.lens[i]))
        s = self.starts[i]
        d = self.data
        for j in range(n):
            buf[j] = d[s + j]

    # machine.I2C interface
    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        self._write(addr, memaddr, b"")
        self._read(addr, buf)

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        self._write(addr, memaddr, buf)

    def writeto(self, addr, buf, stop=True):
        self._write(addr, -1, buf)
        return len(buf) + 1

    def readfrom_into(self, addr, buf, stop=True):
        self._read(addr, buf)

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self._read(addr, buf)
        return bytes(buf)


class Recorder:
    """Wraps any machine.I2C-like bus and writes what passes through as transcript lines."""

    def __init__(self, bus):
        self.bus = bus
        self.lines = []

    def _rec(self, op, addr, data, errno=0):
        self.lines.append(format_entry(op, addr, data, errno))

    def _call(self, op, addr, data, fn, *args):
        try:
            r = fn(*args)
        except OSError as e:
            self._rec(op, addr, b"" if op == "r" else data, e.args[0] if e.args else 5)
            raise
        self._rec(op, addr, data() if callable(data) else data)
        return r

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        # Two transactions on the wire: the pointer write and the read (a failure is charged to the write).
        try:
            self.bus.readfrom_mem_into(addr, memaddr, buf)
        except OSError as e:
            self._rec("w", addr, bytes((memaddr,)), e.args[0] if e.args else 5)
            raise
        self._rec("w", addr, bytes((memaddr,)))
        self._rec("r", addr, bytes(buf))

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        self._call("w", addr, bytes((memaddr,)) + bytes(buf), self.bus.writeto_mem, addr, memaddr, buf)

    def writeto(self, addr, buf, stop=True):
        return self._call("w", addr, bytes(buf), self.bus.writeto, addr, buf)

    def readfrom_into(self, addr, buf, stop=True):
        self._call("r", addr, lambda: bytes(buf), self.bus.readfrom_into, addr, buf)

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf)
        return bytes(buf)

    def text(self, header=""):
        head = "".join("# %s\n" % h for h in header.split("\n")) if header else ""
        return head + "\n".join(self.lines) + "\n"

    def save(self, path, header=""):
        with open(path, "w") as f:
            f.write(self.text(header))
