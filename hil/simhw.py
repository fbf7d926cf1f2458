"""The `sim` board's hardware: the node's firmware runs unmodified against emulated sensors.

run_node(config, board) runs node.main with make_hardware(board, config), which returns the same
kind of object as a real board's (i2c, link, clock, led, wdt, reset_cause, board_code, reboot(),
free_heap(), next_epoch()), built from a VirtualClock, a SimUART and hil.emu's I2C bus with a
BMP280Emu (0x76) and an SCD4xEmu (0x62). Runs in the MicroPython VM and in CPython.

Sync contract with the bench (hil/sim.py is the other side), over hil.vmlink.call (JSON bytes):
  node -> bench  {"t_ms": <virtual ms since start>, "tx": "<hex of the bytes the node wrote since the last sync>"}
  bench -> node  {"until_ms": <end of the next step, virtual ms>, "rx": "<hex bytes for the node's serial input>",
                  "truth": {"pressure_pa", "temperature_c", "co2_ppm", "rh_pct"}  (true values at until_ms),
                  "faults": {"bmp280": {...}, "scd4x": {...}}  (hil.emu.faults names, applied with dev.faults.set),
                  "stop": false}
- The first sync happens in make_hardware, at t_ms 0, before the first sample: its truth is the
  starting value. Afterwards the clock syncs whenever virtual time reaches until_ms (inside sleep_ms).
                  "path": [[t_ms, pressure, temperature, co2, rh], ...]  (optional: a recorded trace's own
                           points inside the step, so a sample between step ends reads the trace there)
- Truth is interpolated linearly across a step, from the previous truth through the path's points to the
  one given for until_ms (a path point at or before the step's start replaces the truth it starts from).
- "stop": true raises SimStop out of the clock; node.main catches it and returns the node's summary.
- Virtual ticks wrap at 2^30 ms like a board's; config["sim"]["start_ticks_ms"] starts them anywhere
  (a test starts just before the wrap). config["sim"]["seed"] seeds the emulators' noise and per-part
  errors (default: the node id); config["sim"]["part_errors"] = false makes ideal parts (noise stays).
"""
import binascii
import gc
import json

from .emu.bmp280 import BMP280Emu
from .emu.bus import I2CBus
from .emu.clock import TickClock
from .emu.scd4x import SCD4xEmu

TX_CAPACITY = 16384
FIELDS = ("pressure_pa", "temperature_c", "co2_ppm", "rh_pct")
_EPOCHS: dict[int, int] = {}   # each node's boot epoch in this process


class SimStop(Exception):
    """The bench said stop: the node's loop ends cleanly."""


class SimReboot(Exception):
    """The firmware asked to reboot (CMD_REBOOT): node.main starts a fresh Node on the same hardware."""


def _mem_alloc():
    try:
        return gc.mem_alloc()  # type: ignore[attr-defined]
    except AttributeError:
        return 0


class Meter:
    """Heap bytes allocated by the bench side (emulators, sync) while the firmware runs, so a test
    can attribute the rest to the firmware: firmware = total delta - meter.excluded."""

    def __init__(self):
        self.on = False
        self.excluded = 0


class VirtualClock(TickClock):
    """The node's clock on the virtual bench: its sleeps move virtual time and sync with the bench at
    the end of each step."""

    def __init__(self, hw, start_ticks_ms=0):
        super().__init__(start_ticks_ms)
        self.hw = hw
        self.t = 0                       # virtual ms since start
        self.until = 0                   # end of the current step
        self.start = self._ms

    def _advance(self, ms):
        self.t += ms
        self._tick_us(ms * 1000)

    def sleep_ms(self, ms):
        while ms > 0:
            room = self.until - self.t
            if room <= 0:
                self.hw.sync()
                continue
            step = ms if ms < room else room
            self._advance(step)
            ms -= step
        if self.t >= self.until:
            self.hw.sync()

    def sleep_us(self, us):
        if us <= 0:
            return
        s = self._sub_us + us
        ms = s // 1000
        self._sub_us = 0
        self.sleep_ms(ms)                     # whole milliseconds (both ticks), with the bench's step syncs
        self._us = self.ticks_add(self._us, us - ms * 1000)
        self._sub_us = s % 1000


class Truth:
    """True values for the emulators over the current step: piecewise linear from the value at its start,
    through the bench's knots inside it (a recorded trace's own points), to the value at its end."""

    def __init__(self, clock):
        self.clock = clock
        self.knots = [[0, 101325.0, 22.0, 420.0, 40.0]] * 2    # [t_ms, pressure, temperature, co2, rh]
        self.i = 0                                             # the segment clock.t is in
        self.pressure_pa = 101325.0
        self.temperature_c = 22.0
        self.co2_ppm = 420.0
        self.rh_pct = 40.0

    def step(self, t_now, until, values, path=()):
        """The next step, t_now to until ms: `values` at until; `path`, [t_ms, p, T, co2, rh] lists in
        time order, the knots between (one at or before t_now replaces the value the step starts from)."""
        self.refresh()
        start = [t_now, self.pressure_pa, self.temperature_c, self.co2_ppm, self.rh_pct]
        end = [until]
        for j in range(4):
            k = FIELDS[j]
            end.append(float(values[k]) if k in values else start[j + 1])
        knots = [start]
        for k in path:
            if k[0] <= t_now:
                knots[0] = [t_now, float(k[1]), float(k[2]), float(k[3]), float(k[4])]
            elif k[0] < until:
                knots.append([float(x) for x in k])
        if until <= t_now:              # first sync or a zero-length step: jump
            knots = [end]
        knots.append(end)
        self.knots = knots
        self.i = 0
        self.refresh()

    def refresh(self):
        t = self.clock.t
        knots = self.knots
        i = self.i
        last = len(knots) - 2
        while i < last and knots[i + 1][0] <= t:
            i += 1
        self.i = i
        a = knots[i]
        b = knots[i + 1]
        span = b[0] - a[0]
        f = 1.0 if span <= 0 else (t - a[0]) / span
        if f > 1.0:
            f = 1.0
        self.pressure_pa = a[1] + (b[1] - a[1]) * f
        self.temperature_c = a[2] + (b[2] - a[2]) * f
        self.co2_ppm = a[3] + (b[3] - a[3]) * f
        self.rh_pct = a[4] + (b[4] - a[4]) * f


class SimUART:
    """The node's serial port on the bench: writes collect until the next sync, rx comes from it."""

    def __init__(self):
        self.tx = bytearray(TX_CAPACITY)
        self.tx_n = 0
        self.tx_dropped = 0
        self.rx = bytearray(0)
        self.rx_i = 0

    def write(self, data):
        n = self.tx_n
        k = len(data)
        if n + k > TX_CAPACITY:
            self.tx_dropped += k          # a real UART would block or drop too; counted
            return k
        tx = self.tx
        for i in range(k):
            tx[n + i] = data[i]
        self.tx_n = n + k
        return k

    def take_tx(self):
        out = bytes(self.tx[:self.tx_n])
        self.tx_n = 0
        return out

    def feed_rx(self, data):
        self.rx = self.rx[self.rx_i:] + data
        self.rx_i = 0

    def any(self):
        return len(self.rx) - self.rx_i

    def readinto(self, buf):
        n = len(self.rx) - self.rx_i
        if n > len(buf):
            n = len(buf)
        rx = self.rx
        i0 = self.rx_i
        for i in range(n):
            buf[i] = rx[i0 + i]
        self.rx_i = i0 + n
        return n


class MeteredBus:
    """The emulated bus, with the heap the emulators allocate per call charged to the bench."""

    def __init__(self, bus, meter):
        self.bus = bus
        self.meter = meter

    def _start(self):
        return _mem_alloc() if self.meter.on else 0

    def _end(self, a0):
        if self.meter.on:
            self.meter.excluded += _mem_alloc() - a0

    def readfrom_mem_into(self, addr, reg, buf):
        a0 = self._start()
        try:
            self.bus.readfrom_mem_into(addr, reg, buf)
        finally:
            self._end(a0)

    def readfrom_mem(self, addr, reg, n):
        a0 = self._start()
        try:
            return self.bus.readfrom_mem(addr, reg, n)
        finally:
            self._end(a0)

    def writeto_mem(self, addr, reg, buf):
        a0 = self._start()
        try:
            self.bus.writeto_mem(addr, reg, buf)
        finally:
            self._end(a0)

    def writeto(self, addr, buf, stop=True):
        a0 = self._start()
        try:
            return self.bus.writeto(addr, buf, stop)
        finally:
            self._end(a0)

    def readfrom_into(self, addr, buf, stop=True):
        a0 = self._start()
        try:
            self.bus.readfrom_into(addr, buf, stop)
        finally:
            self._end(a0)


class SimWdt:
    def __init__(self, clock, timeout_ms):
        self.clock = clock
        self.timeout_ms = timeout_ms
        self.last = 0
        self.overruns = 0             # times a real watchdog would have reset the board

    def feed(self):
        t = self.clock.t
        if self.timeout_ms and t - self.last > self.timeout_ms:
            self.overruns += 1
        self.last = t


class SimLed:
    def __init__(self):
        self.v = 0

    def value(self, v=None):
        if v is not None:
            self.v = v
        return self.v


class SimHardware:
    stop_exceptions = (SimStop,)
    reboot_exceptions = (SimReboot,)

    def __init__(self, board, config, sync=None):
        from link import UartLink
        sim = config.get("sim") or {}
        self.board = board
        self.board_code = 4                     # BOARD_VIRTUAL
        self.reset_cause = 1                    # RESET_POWER_ON
        self.node_id = config.get("node_id", 1)
        self.meter = Meter()
        self.clock = VirtualClock(self, sim.get("start_ticks_ms", 0))
        self.truth = Truth(self.clock)
        seed = sim.get("seed", self.node_id)
        self.bus = I2CBus()
        part_errors = sim.get("part_errors", True)     # per-part datasheet errors, drawn from the seed
        self.bmp = BMP280Emu(self.truth, self.clock, seed=seed, accuracy=part_errors)
        self.scd = SCD4xEmu(self.truth, self.clock, seed=seed + 1000, accuracy=part_errors)
        self.bus.attach(0x76, self.bmp)
        self.bus.attach(0x62, self.scd)
        self.i2c = MeteredBus(self.bus, self.meter)
        self.uart = SimUART()
        self.link = UartLink(self.uart)
        self.wdt = SimWdt(self.clock, board.get("wdt_ms", 0))
        self.led = SimLed()
        self.devices = {"bmp280": self.bmp, "scd4x": self.scd}
        self.syncs = 0
        if sync is None:
            from . import vmlink            # only inside a VM (vmhost is the VM's bridge)
            sync = vmlink.call
        self._call = sync
        self.sync()                             # t 0: the first truth, before the first sample

    def sync(self):
        a0 = _mem_alloc() if self.meter.on else 0
        try:
            self._sync()
        finally:
            if self.meter.on:
                self.meter.excluded += _mem_alloc() - a0

    def _sync(self):
        clock = self.clock
        msg = json.dumps({"t_ms": clock.t, "tx": binascii.hexlify(self.uart.take_tx()).decode()})
        reply = json.loads(self._call(msg.encode()))
        self.syncs += 1
        if reply.get("stop"):
            raise SimStop()
        rx = reply.get("rx") or ""
        if rx:
            self.uart.feed_rx(binascii.unhexlify(rx))
        faults = reply.get("faults") or {}
        for name in faults:
            dev = self.devices.get(name)
            if dev is None:
                raise ValueError("sim: unknown device %r in faults (bmp280, scd4x)" % name)
            dev.faults.set(**faults[name])
        until = int(reply["until_ms"])
        self.truth.step(clock.t, until, reply.get("truth") or {}, reply.get("path") or ())
        clock.until = until

    def next_epoch(self):
        e = (_EPOCHS.get(self.node_id, 0) + 1) & 0xFFFF
        _EPOCHS[self.node_id] = e
        return e

    # The sim board's "flash" for the last accepted command counter: this object lives across SimReboot.
    def load_command_counter(self):
        return getattr(self, "_command_counter", None)

    def save_command_counter(self, epoch, counter):
        self._command_counter = (epoch, counter)

    def free_heap(self):
        try:
            return gc.mem_free()  # type: ignore[attr-defined]
        except AttributeError:
            return 0

    def reboot(self):
        raise SimReboot()

    # The maintenance flag, kept across SimReboot like the board's flash file; used up by the next boot.
    def enter_maintenance(self):
        self._maintenance = True
        raise SimReboot()

    def take_maintenance(self):
        flag = getattr(self, "_maintenance", False)
        self._maintenance = False
        return flag


def make_hardware(board, config, sync=None):
    return SimHardware(board, config, sync)


def run_node(config, board):
    """node.main on the sim board with this hardware passed in (the firmware never imports hil)."""
    import board as boardfile
    import config as configfile
    import node
    board = boardfile.validate(dict(board), "board")
    config = configfile.validate(config, "config")
    return node.main(config, board, hw=make_hardware(board, config))
