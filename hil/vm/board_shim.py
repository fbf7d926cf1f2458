# The board's own modules inside a virtual board's VM (hil/vm/board.mjs runs this once per boot).
# machine (I2C, Pin, WDT, UART, reset, reset_cause), rp2.bootsel_button, and the parts of sys,
# time and select a board has and the WebAssembly port lacks, all served by the host (hil/vboard.py)
# through vbhost.call(JSON). Installed in sys.modules, so `import machine` in main.py finds them.
import io
import json
import micropython
import sys as _rsys
import time as _rtime
import select as _rselect

import vbhost

_BOARD = json.loads(_vb_board_json)  # noqa: F821  (set by board.mjs)


def _call(op, **kw):
    kw["op"] = op
    return json.loads(vbhost.call(json.dumps(kw)))


# ---- sys: the board's identity and a stdin served by the host -------------------------------------
class _Impl:
    def __init__(self, real, mpy, machine):
        self.name = real.name
        self.version = real.version
        self._machine = machine
        self._mpy = mpy
        self._build = _BOARD.get("mcu", "")

    def __repr__(self):
        return "(name='%s', version=%s, _machine='%s', _mpy=%d)" % (self.name, self.version, self._machine, self._mpy)


class _StdinBuffer:
    def read(self, n=-1):
        r = _call("read", n=1 if n is None or n < 0 else n)
        return bytes.fromhex(r["d"])

    def readinto(self, buf, n=-1):
        want = len(buf) if n < 0 else n
        data = self.read(want)
        for i in range(len(data)):
            buf[i] = data[i]
        return len(data)


class _Stdin:
    def __init__(self):
        self.buffer = _StdinBuffer()

    def read(self, n=-1):
        return self.buffer.read(n).decode()

    def readline(self):
        line = b""
        while not line.endswith(b"\n") and not line.endswith(b"\r"):
            line += self.buffer.read(1)
        return line.decode()


class _Sys:
    def __init__(self):
        real_mpy = getattr(_rsys.implementation, "_mpy", 0)
        self.implementation = _Impl(_rsys.implementation, (real_mpy & 0x3FF) | (_BOARD["arch_code"] << 10),
                                    _BOARD["machine"])
        self.platform = _BOARD["platform"]
        self.stdin = _Stdin()

    def __getattr__(self, name):
        return getattr(_rsys, name)


# ---- time: ticks from the host's wall clock (the WebAssembly port's own), sleeps served by the host ---
class _Time:
    def __getattr__(self, name):
        return getattr(_rtime, name)

    def sleep_ms(self, ms):
        _call("sleep", ms=int(ms))

    def sleep_us(self, us):
        if us >= 1000:
            _call("sleep", ms=int(us) // 1000)

    def sleep(self, s):
        _call("sleep", ms=int(s * 1000))


# ---- select: polling the host's stdin; other objects go to the real poll -----------------------------
class _Poll:
    def __init__(self):
        self._real = _rselect.poll()
        self._stdin = None

    def register(self, obj, mask=_rselect.POLLIN | _rselect.POLLOUT):
        if obj is sys.stdin or obj is sys.stdin.buffer:
            self._stdin = obj
        else:
            self._real.register(obj, mask)

    def modify(self, obj, mask):
        if obj is not self._stdin:
            self._real.modify(obj, mask)

    def unregister(self, obj):
        if obj is self._stdin:
            self._stdin = None
        else:
            self._real.unregister(obj)

    def poll(self, timeout=-1):
        out = []
        if self._stdin is not None:
            if _call("poll", ms=-1 if timeout is None else int(timeout))["n"]:
                out.append((self._stdin, _rselect.POLLIN))
        return out + list(self._real.poll(0))

    def ipoll(self, timeout=-1, flags=0):
        return iter(self.poll(timeout))


class _Select:
    POLLIN = _rselect.POLLIN
    POLLOUT = _rselect.POLLOUT
    POLLERR = _rselect.POLLERR
    POLLHUP = _rselect.POLLHUP

    def poll(self):
        return _Poll()

    def __getattr__(self, name):
        return getattr(_rselect, name)


# ---- os and open: errors carry the board's errno numbers (the WebAssembly FS has its own) ------------
_ERRNO = {63: 1, 44: 2, 29: 5, 8: 9, 2: 13, 20: 17, 54: 20, 31: 21, 28: 22, 51: 28, 55: 39, 10: 16,
          43: 19, 75: 18, 37: 36, 69: 30, 6: 11}


def _board_errno(f):
    def wrapped(*a, **kw):
        try:
            return f(*a, **kw)
        except OSError as e:
            code = e.args[0] if e.args else 0
            if isinstance(code, int) and code in _ERRNO:
                raise OSError(_ERRNO[code])
            raise
    return wrapped


_HIDDEN = ("dev", "home", "proc", "tmp")     # the WebAssembly FS's own folders: not on a board


class _Os:
    def __init__(self, real):
        self._real = real
        for name in ("stat", "mkdir", "remove", "unlink", "rename", "rmdir", "chdir", "statvfs"):
            if hasattr(real, name):
                setattr(self, name, _board_errno(getattr(real, name)))
        self._listdir = _board_errno(real.listdir)
        self._ilistdir = _board_errno(real.ilistdir)

    def _root(self, path):
        return path in ("/", "") and self._real.getcwd() == "/" or path == "/"

    def listdir(self, path=""):
        names = self._listdir(path) if path else self._listdir()
        return [n for n in names if not (self._root(path) and n in _HIDDEN)]

    def ilistdir(self, path=""):
        items = self._ilistdir(path) if path else self._ilistdir()
        return iter([e for e in items if not (self._root(path) and e[0] in _HIDDEN)])

    def __getattr__(self, name):
        return getattr(self._real, name)


# ---- machine ------------------------------------------------------------------------------------
class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.mode = mode
        self.v = 0
        if value is not None:
            self.value(value)

    def value(self, v=None):
        if v is None:
            if self.id == _BOARD.get("button"):
                return 0 if _call("button")["held"] else 1     # active low, pulled up
            return self.v
        self.v = 1 if v else 0
        if self.id == _BOARD.get("led"):
            _call("led", v=self.v)
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def toggle(self):
        self.value(1 - self.v)


def _pin_id(p):
    return p.id if isinstance(p, Pin) else p


class I2C:
    def __init__(self, id=0, scl=None, sda=None, freq=400000, timeout=50000):
        self._bus = _call("i2c_init", id=id, scl=_pin_id(scl), sda=_pin_id(sda), freq=freq)["bus"]

    def _op(self, fn, addr, **kw):
        r = _call("i2c", bus=self._bus, fn=fn, addr=addr, **kw)
        if "errno" in r:
            raise OSError(r["errno"])
        return r

    def scan(self):
        return _call("i2c", bus=self._bus, fn="scan", addr=0)["found"]

    def readfrom_mem_into(self, addr, memaddr, buf, addrsize=8):
        data = bytes.fromhex(self._op("readfrom_mem", addr, reg=memaddr, n=len(buf))["d"])
        for i in range(len(buf)):
            buf[i] = data[i]

    def readfrom_mem(self, addr, memaddr, nbytes, addrsize=8):
        return bytes.fromhex(self._op("readfrom_mem", addr, reg=memaddr, n=nbytes)["d"])

    def writeto_mem(self, addr, memaddr, buf, addrsize=8):
        self._op("writeto_mem", addr, reg=memaddr, d=bytes(buf).hex())

    def writeto(self, addr, buf, stop=True):
        return self._op("writeto", addr, d=bytes(buf).hex())["acks"]

    def readfrom_into(self, addr, buf, stop=True):
        data = bytes.fromhex(self._op("readfrom", addr, n=len(buf))["d"])
        for i in range(len(buf)):
            buf[i] = data[i]

    def readfrom(self, addr, nbytes, stop=True):
        return bytes.fromhex(self._op("readfrom", addr, n=nbytes)["d"])


class WDT:
    def __init__(self, id=0, timeout=5000):
        top = _BOARD.get("wdt_max_ms", 0)
        if top and timeout > top:
            raise ValueError("timeout exceeds %d" % top)
        _call("wdt", ms=timeout)

    def feed(self):
        _call("feed")


class UART:
    def __init__(self, id, baudrate=115200, tx=None, rx=None, **kw):
        self.id = id
        _call("uart_init", id=id, baud=baudrate, tx=_pin_id(tx), rx=_pin_id(rx))

    def write(self, buf):
        _call("uart_write", d=bytes(buf).hex())
        return len(buf)

    def any(self):
        return _call("uart_any")["n"]

    def read(self, n=-1):
        return bytes.fromhex(_call("uart_read", n=n)["d"]) or None

    def readinto(self, buf, n=-1):
        data = self.read(len(buf) if n < 0 else n) or b""
        for i in range(len(data)):
            buf[i] = data[i]
        return len(data)


class _Machine:
    Pin = Pin
    I2C = I2C
    SoftI2C = I2C
    WDT = WDT
    UART = UART
    PWRON_RESET = 1
    HARD_RESET = 2
    WDT_RESET = 3
    DEEPSLEEP_RESET = 4
    SOFT_RESET = 5

    def reset(self):
        _call("reset", kind="hard")
        while True:
            pass

    def soft_reset(self):
        _call("reset", kind="soft")
        while True:
            pass

    def reset_cause(self):
        return _BOARD["reset_cause"]

    def unique_id(self):
        return bytes.fromhex(_BOARD["unique_id"])

    def freq(self, hz=None):
        return _BOARD.get("freq", 125000000)

    def idle(self):
        pass

    def bootloader(self):
        raise OSError(1)


class _Gc:
    """gc as on the board: free heap out of the board's RAM, not the WebAssembly VM's growable heap."""

    def __init__(self, real):
        self._real = real

    def mem_free(self):
        return max(0, _BOARD["heap"] - self._real.mem_alloc())

    def __getattr__(self, name):
        return getattr(self._real, name)


class _Rp2:
    def bootsel_button(self):
        return 1 if _call("button")["held"] else 0


sys = _Sys()
_rsys.modules["sys"] = sys
_rsys.modules["time"] = _Time()
_rsys.modules["select"] = _Select()
_rsys.modules["machine"] = _Machine()
import os as _ros  # noqa: E402
import builtins as _builtins  # noqa: E402
_rsys.modules["os"] = _Os(_ros)
import gc as _rgc  # noqa: E402
_rsys.modules["gc"] = _Gc(_rgc)
_builtins.open = _board_errno(_builtins.open)
if _BOARD.get("platform") == "rp2":
    _rsys.modules["rp2"] = _Rp2()

_ns = {"__name__": "__main__"}


def _vb_exec(kind, text):
    """Run a file, a raw-REPL block or a friendly-REPL line like pyexec does; the traceback text or ''."""
    micropython.kbd_intr(3)
    try:
        if kind == "file":
            with open(text) as f:
                src = f.read()
            code = compile(src, text, "exec")
        else:
            code = compile(text, "<stdin>", "single" if kind == "single" else "exec")
        exec(code, _ns)
        err = ""
    except BaseException as e:  # everything, as the REPL does
        buf = io.StringIO()
        _rsys.print_exception(e, buf)
        err = "".join(line + "\n" for line in buf.getvalue().split("\n")
                      if line and "<vboard>" not in line and "_vb_exec" not in line)
    micropython.kbd_intr(-1)
    return err
