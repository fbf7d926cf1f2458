# Board hardware factory: the only firmware module that imports `machine`.
# make_hardware(board, config, maintenance) -> Hardware with i2c, link, clock, led, wdt, reset_cause,
# board_code, reboot(), enter_maintenance(), free_heap(), next_epoch(). In maintenance no watchdog
# runs and Ctrl-C stays on. The virtual bench brings its own hardware (node.main(..., hw=...)).
import gc

from clock import Clock
from protocol.messages import (RESET_BROWNOUT, RESET_DEEPSLEEP, RESET_HARD, RESET_POWER_ON, RESET_SOFT,
                               RESET_UNKNOWN, RESET_WATCHDOG)


class NeverStops(Exception):
    """A board's loop runs forever; the virtual bench raises its own stop exception instead."""


class _NoWdt:
    def feed(self):
        pass


class _NoLed:
    def value(self, v=None):
        return 0


def _reset_cause(machine):
    try:
        cause = machine.reset_cause()
    except AttributeError:
        return RESET_UNKNOWN
    table = ((getattr(machine, "PWRON_RESET", None), RESET_POWER_ON),
             (getattr(machine, "HARD_RESET", None), RESET_HARD),
             (getattr(machine, "WDT_RESET", None), RESET_WATCHDOG),
             (getattr(machine, "SOFT_RESET", None), RESET_SOFT),
             (getattr(machine, "DEEPSLEEP_RESET", None), RESET_DEEPSLEEP),
             (getattr(machine, "BROWNOUT_RESET", None), RESET_BROWNOUT))
    for code, ours in table:
        if code is not None and cause == code:
            return ours
    return RESET_UNKNOWN


def write_atomic(path, text):
    """Write a whole file or leave the old one: a reset mid-write never leaves half a file behind."""
    import os
    tmp = path + ".tmp"
    try:
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, path)
    except OSError:
        pass


def read_pair(path):
    """(epoch, counter) of the last accepted signed command, or None."""
    try:
        with open(path) as f:
            a, b = f.read().split()
        return int(a), int(b)
    except (OSError, ValueError):
        return None


def write_pair(path, epoch, counter):
    write_atomic(path, "%d %d" % (epoch, counter))


def read_epoch(path):
    """Boot epoch: read, add one, write back (a u16). Signed frames never repeat a counter."""
    epoch = 0
    try:
        with open(path) as f:
            epoch = int(f.read().strip() or "0")
    except (OSError, ValueError):
        epoch = 0
    epoch = (epoch + 1) & 0xFFFF
    write_atomic(path, str(epoch))
    return epoch


class Hardware:
    stop_exceptions = (NeverStops,)
    reboot_exceptions = (NeverStops,)

    def __init__(self, board, config, maintenance=False):
        import machine  # type: ignore[import-not-found]
        self.machine = machine
        self.board = board
        self.board_code = board.get("board_code", 0)
        self.clock = Clock()
        self.reset_cause = _reset_cause(machine)
        bus = board["i2c"]
        self.i2c = machine.I2C(bus["id"], sda=machine.Pin(bus["sda"]), scl=machine.Pin(bus["scl"]),
                               freq=bus["freq"])
        link = board["link"]
        if link["kind"] == "uart":
            from link import UartLink
            uart = machine.UART(link["id"], baudrate=link["baud"], tx=machine.Pin(link["tx"]),
                                rx=machine.Pin(link["rx"]))
            self.link = UartLink(uart)
        else:
            from link import StdioLink
            self.link = StdioLink(ctrl_c=maintenance)     # maintenance: mpremote's Ctrl-C must work
        self.led = _NoLed()
        if board.get("led") is not None:
            try:
                self.led = machine.Pin(board["led"], machine.Pin.OUT)
            except (ValueError, TypeError):
                pass
        self.wdt = _NoWdt()
        if board.get("wdt_ms") and not maintenance:
            self.wdt = machine.WDT(timeout=board["wdt_ms"])
        self.epoch_file = config.get("epoch_file", "epoch")
        self.command_counter_file = config.get("command_counter_file", "cmdctr")

    def next_epoch(self):
        return read_epoch(self.epoch_file)

    def load_command_counter(self):
        return read_pair(self.command_counter_file)

    def save_command_counter(self, epoch, counter):
        write_pair(self.command_counter_file, epoch, counter)

    def free_heap(self):
        return gc.mem_free()

    def reboot(self):
        self.machine.reset()

    def enter_maintenance(self):
        """The `maintenance` command, after its ack: flag for the next boot, then reset (which stops the watchdog)."""
        from maintenance import request
        request()
        self.machine.reset()


def make_hardware(board, config, maintenance=False):
    return Hardware(board, config, maintenance)
