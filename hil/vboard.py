"""A virtual board behind a pty: MicroPython's REPL as mpremote sees it, the real firmware behind it.

    vb = VirtualBoard(board, fs_dir)      # board: a boards/*.json dict; fs_dir: the board's flash
    print(vb.open())                      # the pty's path, for mpremote / safehaven flash / monitor
    vb.serve()                            # until killed (or vb.stop())

Each boot is a fresh MicroPython WebAssembly VM (hil/vm/board.mjs) with fs_dir as its filesystem and
the board's modules (hil/vm/board_shim.py): machine.I2C with the emulated BMP280 (0x76) and SCD41 (0x62)
of hil/emu on the board file's pins, machine.Pin (LED, button), machine.WDT, machine.UART (a second pty),
machine.reset/soft_reset/reset_cause, rp2.bootsel_button. This process speaks the REPL like
shared/runtime/pyexec.c: the friendly prompt, Ctrl-A raw REPL, Ctrl-B, Ctrl-C, Ctrl-D soft reset
(boot.py, and main.py only from the friendly REPL), and raw-paste mode (Ctrl-E A Ctrl-A, flow-control
window of 256 bytes), executing every block in the VM. Output of running code streams to the pty.

Keyboard interrupt as on a board: a Ctrl-C byte from the pty interrupts running code only while the
VM's interrupt character is Ctrl-C (micropython.kbd_intr), checked at every call the VM makes to
this process; with kbd_intr(-1) it is plain input data, so a node that called it cannot be stopped.

Time: the VM's ticks are the host's wall clock, and sleeps are served here in wall time, so a node
paces itself as on a board. The watchdog (machine.WDT) is timed here, in wall time, independently of
the VM: if nothing feeds it for its timeout (the node hung, or it was interrupted into the REPL) the
board resets with reset cause WDT, whether the VM is running, sleeping or idle at the prompt. A soft
reset keeps the watchdog running (as the RP2040's and ESP32's do); a hard reset stops it. A VM on a
loaded machine runs slower than a board, so the longest gap between feeds is reported on exit
(`max_feed_gap_ms`), to compare with the timeout.
"""
from __future__ import annotations

import json
import os
import selectors
import struct
import subprocess
import sys
import time
import tty
from pathlib import Path

from safehaven.hil.emu.bmp280 import BMP280Emu
from safehaven.hil.emu.bus import ENODEV, I2CBus
from safehaven.hil.emu.scd4x import SCD4xEmu
from safehaven.hil.vm import micropython_module, node_binary

RUNNER = Path(__file__).resolve().parent / "vm" / "board.mjs"
# machine.reset_cause() values (board_shim._Machine)
PWRON_RESET, HARD_RESET, WDT_RESET, SOFT_RESET = 1, 2, 3, 5
MPY_ARCHS = ("none", "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
             "xtensa", "xtensawin", "rv32imc", "rv64imc")
# mcu -> (sys.platform, machine name in the banner, WDT maximum ms, heap bytes MicroPython gets there)
MACHINES = {"rp2040": ("rp2", "Raspberry Pi Pico with RP2040", 8388, 192 * 1024),
            "rp2350": ("rp2", "Raspberry Pi Pico2 with RP2350", 16777, 480 * 1024),
            "esp32": ("esp32", "Generic ESP32 module with ESP32", 0, 110 * 1024),
            "esp32s3": ("esp32", "ESP32S3 module with ESP32S3", 0, 300 * 1024),
            "virtual": ("virtual", "safehaven virtual board", 0, 1024 * 1024)}
BANNER = "MicroPython v1.27.0 on 2025-12-09; {machine}\r\nType \"help()\" for more information.\r\n"
RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
PASTE_WINDOW = 256
BUTTON_PINS = {"bootsel": "bootsel"}


class _Reboot(Exception):
    def __init__(self, cause: int | None):
        self.cause = cause          # None: soft reset (the cause stays)


class _Truth:
    """What the emulated sensors measure: a still room (the sensors add their own noise and errors)."""

    def __init__(self) -> None:
        self.pressure_pa, self.temperature_c, self.co2_ppm, self.rh_pct = 101325.0, 22.0, 420.0, 40.0

    def refresh(self) -> None:
        pass


class _WallClock:
    def ticks_ms(self) -> int:
        return int(time.monotonic() * 1000) & 0x3FFFFFFF

    def ticks_us(self) -> int:
        return int(time.monotonic() * 1000000) & 0x3FFFFFFF

    def ticks_diff(self, a: int, b: int) -> int:
        return ((a - b + (1 << 29)) & 0x3FFFFFFF) - (1 << 29)

    def ticks_add(self, t: int, d: int) -> int:
        return (t + d) & 0x3FFFFFFF


class VirtualBoard:
    def __init__(self, board: dict, fs_dir: Path, hold_button: bool = False, log=sys.stderr) -> None:
        self.board = board
        self.fs_dir = Path(fs_dir)
        self.fs_dir.mkdir(parents=True, exist_ok=True)
        self.log = log
        self.hold_button = hold_button        # the board's button held through the first boot
        clock = _WallClock()
        truth = _Truth()
        self.bus = I2CBus()
        self.bus.attach(0x76, BMP280Emu(truth, clock, seed=1))
        self.bus.attach(0x62, SCD4xEmu(truth, clock, seed=2))
        self.master = self.slave = -1
        self.uart_master = self.uart_slave = -1
        self.path = self.uart_path = ""
        self.rx = bytearray()                 # pty bytes not yet taken by the REPL or the program
        self.uart_rx = bytearray()
        self.raw = False                      # friendly or raw REPL
        self.proc: subprocess.Popen | None = None
        self.vmbuf = bytearray()
        self.intr_char = -1
        self.pending_intr = False
        self.wdt_ms = 0
        self.last_feed = 0.0
        self.max_feed_gap_ms = 0.0
        self.boots = 0
        self.dropped = 0
        self.led = 0
        self.led_changes = 0
        self._stop = False
        self.events: list[tuple[float, str]] = []
        self._sel: selectors.BaseSelector | None = None
        self._sel_fds: list[int] = []

    # ---- ports ------------------------------------------------------------------------------------
    def open(self) -> str:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        if self.board["link"]["kind"] == "uart":
            self.uart_master, self.uart_slave = os.openpty()
            tty.setraw(self.uart_slave)
            os.set_blocking(self.uart_master, False)
            self.uart_path = os.ttyname(self.uart_slave)
        return self.path

    def _write(self, data: bytes, fd: int | None = None) -> None:
        fd = self.master if fd is None else fd
        while data:
            try:
                n = os.write(fd, data)
            except BlockingIOError:
                self.dropped += len(data)      # nobody reads the port: a board drops its USB output too
                return
            data = data[n:]

    def _note(self, what: str) -> None:
        self.events.append((time.monotonic(), what))
        print(f"vboard: {what}", file=self.log, flush=True)

    # ---- the VM -----------------------------------------------------------------------------------------
    def _board_info(self, cause: int) -> str:
        platform, machine, wdt_max, heap = MACHINES[self.board["mcu"]]
        button = self.board.get("button")
        led = self.board.get("led")
        return json.dumps({"mcu": self.board["mcu"], "platform": platform, "machine": machine,
                           "arch_code": MPY_ARCHS.index(self.board["arch"]), "wdt_max_ms": wdt_max, "heap": heap,
                           "button": button, "led": led, "reset_cause": cause,
                           "unique_id": "e6614104032b5a2f"})

    def _start_vm(self, cause: int) -> None:
        self._kill_vm()
        argv = [node_binary(), str(RUNNER), f"--module={micropython_module()}", f"--fs={self.fs_dir}",
                f"--board={self._board_info(cause)}"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self.vmbuf = bytearray()
        kind, body = self._vm_msg(ready=True)
        if kind != "D":
            raise RuntimeError(f"virtual board VM did not start: {body[:200]!r}")

    def _kill_vm(self) -> None:
        if self._sel is not None:    # its descriptors close with the VM; a new one may reuse their numbers
            self._sel.close()
            self._sel = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            for f in (self.proc.stdin, self.proc.stdout):
                if f is not None:
                    f.close()
            self.proc = None

    def _send(self, kind: str, body: bytes) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(struct.pack("<IB", len(body), ord(kind)) + body)

    def _vm_msg(self, ready: bool = False) -> tuple[str, bytes]:
        """The VM's next message, servicing the pty, the watchdog and the output meanwhile."""
        while True:
            if len(self.vmbuf) >= 5:
                (n,) = struct.unpack_from("<I", self.vmbuf)
                if len(self.vmbuf) >= 5 + n:
                    kind, body = chr(self.vmbuf[4]), bytes(self.vmbuf[5:5 + n])
                    del self.vmbuf[:5 + n]
                    if kind == "O":
                        self._write(body)
                        continue
                    return kind, body
            self._pump(1.0, vm=True)

    def _pump(self, timeout: float, vm: bool = False) -> None:
        """Wait up to timeout for pty input (or VM output when vm); fire the watchdog when due."""
        fds = [self.master] + ([self.uart_master] if self.uart_master >= 0 else [])
        if vm and self.proc is not None and self.proc.stdout is not None:
            fds.append(self.proc.stdout.fileno())
        if self.wdt_ms:
            due = self.last_feed + self.wdt_ms / 1000 - time.monotonic()
            timeout = max(0.0, min(timeout, due))
        r = self._ready(fds, timeout)
        if self.master in r:
            self.rx += self._read(self.master)
        if self.uart_master >= 0 and self.uart_master in r:
            self.uart_rx += self._read(self.uart_master)
        if vm and self.proc is not None and self.proc.stdout is not None and self.proc.stdout.fileno() in r:
            data = os.read(self.proc.stdout.fileno(), 65536)
            if not data:
                code = self.proc.wait()
                self._note(f"the VM exited (status {code}); hard reset")
                raise _Reboot(HARD_RESET)
            self.vmbuf += data
        if self.wdt_ms and (time.monotonic() - self.last_feed) * 1000 >= self.wdt_ms:
            self._note(f"watchdog: not fed for {self.wdt_ms} ms, reset")
            raise _Reboot(WDT_RESET)

    def _ready(self, fds: list[int], timeout: float) -> list[int]:
        """The descriptors of fds with input within timeout: a selector (epoll: any descriptor number,
        select() stops at 1023), made again when the set changes and at each boot (_kill_vm)."""
        if self._sel is None or self._sel_fds != fds:
            if self._sel is not None:
                self._sel.close()
            self._sel, self._sel_fds = selectors.DefaultSelector(), list(fds)
            for fd in fds:
                self._sel.register(fd, selectors.EVENT_READ)
        return [key.fd for key, _ in self._sel.select(timeout)]

    @staticmethod
    def _read(fd: int) -> bytes:
        try:
            return os.read(fd, 4096)
        except (BlockingIOError, OSError):
            return b""

    def _take_intr(self) -> bool:
        """A Ctrl-C waiting in the input while the VM's interrupt character is Ctrl-C: consume it."""
        if self.intr_char == 3 and 3 in self.rx:
            del self.rx[self.rx.index(3)]
            return True
        return False

    def run(self, kind: str, text: str) -> str:
        """Execute in the VM like pyexec (file, raw block or friendly line); the traceback text or ''."""
        self._send("E", json.dumps({"kind": kind, "text": text}).encode())
        while True:
            k, body = self._vm_msg()
            if k == "D":
                self.intr_char = -1
                return json.loads(body)["err"]
            if k == "C":
                self.intr_char = body[0] - 1
                reply = self._call(json.loads(body[1:]))
                intr = self._take_intr()
                self._send("R", (("!" if intr else "") + json.dumps(reply)).encode())

    # ---- calls from the board's modules -----------------------------------------------------------------
    def _wait(self, ms: float, until=lambda: False) -> None:
        """Let wall time pass (servicing the pty) until ms elapse, until() holds, or a Ctrl-C interrupts."""
        end = time.monotonic() + ms / 1000
        while True:
            if until() or (self.intr_char == 3 and 3 in self.rx):
                return
            left = end - time.monotonic()
            if left <= 0:
                return
            self._pump(min(left, 0.5))

    def _call(self, req: dict) -> dict:
        op = req["op"]
        if op == "sleep":
            self._wait(max(0, req["ms"]))
            return {}
        if op == "poll":
            ms = req["ms"]
            self._wait(3600e3 if ms < 0 else ms, until=lambda: bool(self._data()))
            return {"n": len(self._data())}
        if op == "read":
            self._wait(3600e3, until=lambda: len(self._data()) >= req["n"])
            data = self._data()[:req["n"]]
            self._consume(len(data))
            return {"d": data.hex()}
        if op == "feed":
            self._feed()
            return {}
        if op == "wdt":
            self.wdt_ms = req["ms"]
            self.last_feed = time.monotonic()
            self._note(f"watchdog started, {self.wdt_ms} ms")
            return {}
        if op == "i2c_init":
            ok = req["sda"] == self.board["i2c"]["sda"] and req["scl"] == self.board["i2c"]["scl"]
            return {"bus": 1 if ok else 0}       # wrong pins: a bus with nothing on it
        if op == "i2c":
            return self._i2c(req)
        if op == "led":
            if req["v"] != self.led:
                self.led, self.led_changes = req["v"], self.led_changes + 1
            return {}
        if op == "button":
            return {"held": self.hold_button and self.boots == 1}
        if op == "reset":
            raise _Reboot(HARD_RESET if req["kind"] == "hard" else None)
        if op == "uart_init":
            return {}
        if op == "uart_write":
            self._write(bytes.fromhex(req["d"]), self.uart_master)
            return {}
        if op == "uart_any":
            self._pump(0)
            return {"n": len(self.uart_rx)}
        if op == "uart_read":
            n = len(self.uart_rx) if req["n"] < 0 else min(req["n"], len(self.uart_rx))
            data = bytes(self.uart_rx[:n])
            del self.uart_rx[:n]
            return {"d": data.hex()}
        raise RuntimeError(f"virtual board: unknown call {op!r}")

    def _data(self) -> bytes:
        """Input the program can read: with Ctrl-C interrupting, only what came before the first one."""
        if self.intr_char == 3 and 3 in self.rx:
            return bytes(self.rx[:self.rx.index(3)])
        return bytes(self.rx)

    def _consume(self, n: int) -> None:
        del self.rx[:n]

    def _feed(self) -> None:
        now = time.monotonic()
        if self.wdt_ms:
            self.max_feed_gap_ms = max(self.max_feed_gap_ms, (now - self.last_feed) * 1000)
        self.last_feed = now

    def _i2c(self, req: dict) -> dict:
        fn, addr = req["fn"], req["addr"]
        if not req["bus"]:
            return {"found": []} if fn == "scan" else {"errno": ENODEV}
        try:
            if fn == "scan":
                return {"found": self.bus.scan()}
            if fn == "readfrom_mem":
                buf = bytearray(req["n"])
                self.bus.readfrom_mem_into(addr, req["reg"], buf)
                return {"d": buf.hex()}
            if fn == "writeto_mem":
                self.bus.writeto_mem(addr, req["reg"], bytes.fromhex(req["d"]))
                return {}
            if fn == "writeto":
                acks = self.bus.writeto(addr, bytes.fromhex(req["d"]))
                return {"acks": acks if isinstance(acks, int) else len(req["d"]) // 2 + 1}
            if fn == "readfrom":
                buf = bytearray(req["n"])
                self.bus.readfrom_into(addr, buf)
                return {"d": buf.hex()}
        except OSError as e:
            return {"errno": e.args[0] if e.args else 5}
        raise RuntimeError(f"virtual board: unknown I2C operation {fn!r}")

    # ---- boot and the REPL ---------------------------------------------------------------------------
    def _boot(self, cause: int, soft: bool) -> None:
        self.boots += 1
        if not soft:
            self.wdt_ms = 0
        self.cause = cause
        if soft:
            self._write(b"MPY: soft reboot\r\n")
        self._start_vm(cause)
        self._run_file("boot.py")
        if not self.raw:
            self._run_file("main.py")
            self._write(BANNER.format(machine=MACHINES[self.board["mcu"]][1]).encode() + b">>> ")
        else:
            self._write(RAW_BANNER + b">")

    def _run_file(self, name: str) -> None:
        if (self.fs_dir / name).is_file():
            err = self.run("file", name)
            if err:
                self._write(err.replace("\n", "\r\n").encode())
                self._note(f"{name} stopped: {err.strip().splitlines()[-1]}")

    def serve(self) -> None:
        """Boot, then run the REPL until stop() (or the process is killed)."""
        cause: int = PWRON_RESET
        soft = False
        while not self._stop:
            try:
                self._boot(cause, soft)
                self._repl()
            except _Reboot as r:
                soft = r.cause is None
                cause = self.cause if r.cause is None else r.cause
                if not soft:
                    self.raw = False            # a hard reset comes up in the friendly REPL
        self._kill_vm()

    def stop(self) -> None:
        self._stop = True

    def close(self) -> None:
        self._kill_vm()
        for fd in (self.master, self.slave, self.uart_master, self.uart_slave):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = self.uart_master = self.uart_slave = -1

    def _getc(self) -> int:
        while not self.rx:
            if self._stop:
                raise _Reboot(HARD_RESET)
            self._pump(0.5)
        c = self.rx[0]
        del self.rx[0]
        return c

    def _repl(self) -> None:
        line = bytearray()
        cont: list[str] = []
        while True:
            c = self._getc()
            if self.raw:
                line = self._raw_char(c, line)
                continue
            if c == 0x01:                       # Ctrl-A: raw REPL
                self._write(b"\r\n" + RAW_BANNER + b">")
                self.raw, line, cont = True, bytearray(), []
            elif c == 0x02:                     # Ctrl-B: banner, friendly REPL
                self._write(b"\r\n" + BANNER.format(machine=MACHINES[self.board["mcu"]][1]).encode() + b">>> ")
                line, cont = bytearray(), []
            elif c == 0x03:                     # Ctrl-C: drop the line
                self._write(b"\r\n>>> ")
                line, cont = bytearray(), []
            elif c == 0x04:                     # Ctrl-D on an empty line: soft reset
                if not line and not cont:
                    self._write(b"\r\n")
                    raise _Reboot(None)
            elif c in (0x08, 0x7F):
                if line:
                    line.pop()
                    self._write(b"\x08 \x08")
            elif c == 0x0D:
                self._write(b"\r\n")
                text = line.decode("utf-8", "replace")
                line = bytearray()
                if cont or text.rstrip().endswith(":"):
                    cont.append(text)
                    if text.strip():
                        self._write(b"... ")
                        continue
                    text, cont = "\n".join(cont), []
                if text.strip():
                    err = self._friendly_run(text)
                    if err:
                        self._write(err.replace("\n", "\r\n").encode())
                self._write(b">>> ")
            elif c == 0x1B or c < 0x20 and c not in (0x09,):
                pass                            # escape sequences and other control bytes: ignored
            else:
                line.append(c)
                self._write(bytes([c]))

    def _friendly_run(self, text: str) -> str:
        # printed lines end in \r\n on a board; the VM's print gives \n
        real_write = self._write

        def cooked(data: bytes, fd: int | None = None) -> None:
            real_write(data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") if fd is None else data, fd)

        self._write = cooked  # type: ignore[method-assign]
        try:
            return self.run("single", text)
        finally:
            self._write = real_write  # type: ignore[method-assign]

    def _raw_char(self, c: int, line: bytearray) -> bytearray:
        if c == 0x01:
            if len(line) == 2 and line[0] == 0x05:
                if line[1] != ord("A"):
                    self._write(b"R\x00")
                    return bytearray()
                self._write(b"R\x01" + struct.pack("<H", PASTE_WINDOW))
                self._raw_paste()
                return bytearray()
            self._write(RAW_BANNER + b">")
            return bytearray()
        if c == 0x02:
            self._write(b"\r\n" + BANNER.format(machine=MACHINES[self.board["mcu"]][1]).encode() + b">>> ")
            self.raw = False
            return bytearray()
        if c == 0x03:
            return bytearray()
        if c == 0x04:
            self._write(b"OK")
            if not line:
                self._write(b"\r\n")
                raise _Reboot(None)
            self._raw_exec(bytes(line))
            return bytearray()
        line.append(c)
        return line

    def _raw_paste(self) -> None:
        code = bytearray()
        window = PASTE_WINDOW
        while True:
            c = self._getc()
            if c in (0x03, 0x04):
                self._write(b"\x04")
                if c == 0x03:
                    self._write(b"\x04Traceback (most recent call last):\r\nKeyboardInterrupt: \r\n\x04>")
                    return
                break
            code.append(c)
            window -= 1
            if window == 0:
                self._write(b"\x01")
                window = PASTE_WINDOW
        self._raw_exec(bytes(code), ok=False)

    def _raw_exec(self, code: bytes, ok: bool = True) -> None:
        err = self.run("exec", code.decode("utf-8", "replace"))
        self._write(b"\x04" + err.replace("\n", "\r\n").encode() + b"\x04>")
