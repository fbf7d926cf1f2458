"""Pfeiffer TPG 26x/36x vacuum gauge controller: a client and an emulator of its serial protocol.

Protocol (RS-232, 9600 8N1): the host sends a three-letter mnemonic (optionally ",parameters") ending
in CR (LF optional); the controller answers ACK (0x06) CR LF, or NAK (0x15) CR LF for an unknown or
malformed command; the host then sends ENQ (0x05) and receives the data line, e.g. for PR1
`0,+1.0132E+03` CR LF (status, value in the current unit).
Status: 0 ok, 1 underrange, 2 overrange, 3 sensor error, 4 sensor off, 5 no sensor, 6 identification error.
Units (UNI): 0 mbar, 1 Torr, 2 Pa (3 micron, 4 hPa, 5 V on the 36x).

    gauge = TPG36x(serial.serial_for_url("/dev/ttyUSB0", baudrate=9600, timeout=1))
    status, pa = gauge.pressure_pa(1)

The emulator is a pure byte handler (`feed(bytes) -> bytes`) plus `PtyDevice`, which serves any such
handler on one end of a pseudo-terminal pair so the client talks to it through a real pyserial port.
"""
from __future__ import annotations

import os
import selectors
import socket
import threading
from typing import Callable, Optional

from safehaven.ground.ptys import Pty

ACK, NAK, ENQ = b"\x06", b"\x15", b"\x05"
CRLF = b"\r\n"
STATUS_TEXT = {0: "ok", 1: "underrange", 2: "overrange", 3: "sensor error", 4: "sensor off",
               5: "no sensor", 6: "identification error"}
PA_PER_UNIT = {0: 100.0, 1: 133.322368, 2: 1.0, 3: 0.133322368, 4: 100.0}
UNIT_NAME = {0: "mbar", 1: "Torr", 2: "Pa", 3: "micron", 4: "hPa", 5: "V"}


class GaugeError(IOError):
    """The controller refused a command (NAK), did not answer, or answered garbage."""


def format_reading(status: int, value: float) -> bytes:
    """`status,±x.xxxxE±xx` as the controller prints it."""
    return b"%d,%+.4E" % (status, value)


def parse_reading(line: bytes) -> tuple[int, float]:
    try:
        status_s, value_s = line.strip().split(b",", 1)
        return int(status_s), float(value_s)
    except ValueError:
        raise GaugeError(f"malformed gauge reading {line!r}") from None


class TPG36x:
    """Client over any pyserial-like object (read/write/readline with a timeout)."""

    def __init__(self, port, retries: int = 1):
        self.port = port
        self.retries = retries

    def _line(self) -> bytes:
        line = self.port.read_until(b"\n")
        if not line.endswith(b"\n"):
            raise GaugeError(f"gauge did not answer (got {line!r}); check cable, baud rate (9600 8N1) and port")
        return line.rstrip(b"\r\n")

    def query(self, mnemonic: str) -> bytes:
        """Send a mnemonic, expect ACK, send ENQ, return the data line."""
        last: Optional[Exception] = None
        for _ in range(self.retries + 1):
            try:
                self.port.reset_input_buffer()
                self.port.write(mnemonic.encode("ascii") + CRLF)
                ack = self._line()
                if ack == NAK:
                    raise GaugeError(f"gauge refused {mnemonic!r} (NAK)")
                if ack != ACK:
                    raise GaugeError(f"expected ACK for {mnemonic!r}, got {ack!r}")
                self.port.write(ENQ)
                return self._line()
            except GaugeError as exc:
                last = exc
                if "NAK" in str(exc):
                    break
        raise last  # type: ignore[misc]

    def unit(self) -> int:
        return int(self.query("UNI"))

    def set_unit(self, unit: int) -> None:
        if int(self.query(f"UNI,{unit}")) != unit:
            raise GaugeError(f"gauge did not switch to unit {unit}")

    def ids(self) -> list[str]:
        return self.query("TID").decode("ascii", "replace").split(",")

    def pressure(self, gauge: int = 1) -> tuple[int, float]:
        """(status, value in the controller's current unit)."""
        return parse_reading(self.query(f"PR{gauge}"))

    def pressure_pa(self, gauge: int = 1) -> tuple[int, float]:
        status, value = self.pressure(gauge)
        unit = self.unit()
        if unit not in PA_PER_UNIT:
            raise GaugeError(f"gauge unit {UNIT_NAME.get(unit, unit)} is not a pressure unit")
        return status, value * PA_PER_UNIT[unit]


class TPG36xEmulator:
    """The controller's side: `feed(bytes) -> bytes`. `read_pa(gauge) -> (status, pascal)` supplies truth."""

    def __init__(self, read_pa: Callable[[int], tuple[int, float]], unit: int = 0,
                 ids: tuple[str, ...] = ("PBR", "noSen")):
        self.read_pa = read_pa
        self.unit = unit
        self.ids = ids
        self.pending: Optional[bytes] = None   # the data line the next ENQ returns
        self.buf = b""
        self.commands = 0

    def feed(self, data: bytes) -> bytes:
        out = b""
        for ch in data:
            b = bytes((ch,))
            if b == ENQ:
                if self.pending is not None:
                    out += self.pending + CRLF
                continue
            if b == b"\n" and not self.buf:
                continue  # the optional LF after CR
            if b in (b"\r", b"\n"):
                out += self._command(self.buf)
                self.buf = b""
                continue
            self.buf += b
            if len(self.buf) > 64:
                self.buf = b""
                out += NAK + CRLF
        return out

    def _command(self, line: bytes) -> bytes:
        self.commands += 1
        text = line.decode("ascii", "replace").strip().upper()
        name, _, arg = text.partition(",")
        data = self._answer(name, arg)
        if data is None:
            self.pending = None
            return NAK + CRLF
        self.pending = data
        return ACK + CRLF

    def _answer(self, name: str, arg: str) -> Optional[bytes]:
        if name in ("PR1", "PR2") and not arg:
            gauge = int(name[2])
            if gauge > len(self.ids) or self.ids[gauge - 1] == "noSen":
                return format_reading(5, 0.0)
            status, pa = self.read_pa(gauge)
            return format_reading(status, pa / PA_PER_UNIT[self.unit])
        if name == "UNI":
            if arg:
                if not arg.isdigit() or int(arg) not in UNIT_NAME:
                    return None
                self.unit = int(arg)
                if self.unit not in PA_PER_UNIT:
                    self.unit = 0
            return b"%d" % self.unit
        if name == "TID" and not arg:
            return ",".join(self.ids).encode()
        if name == "ERR" and not arg:
            return b"0000"
        return None


class PtyDevice:
    """Serve a byte handler on the master side of a pty; clients open `.port` with pyserial."""

    def __init__(self, handler: Callable[[bytes], bytes]):
        self.handler = handler
        self._pty = Pty()
        self.master, self.port = self._pty.master, self._pty.port
        self._stop = threading.Event()
        self.lock = threading.Lock()   # hold it to change the device's state from another thread
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"pty-{self.port}")
        self._thread.start()

    def _run(self) -> None:
        with selectors.DefaultSelector() as sel:   # epoll: any descriptor number (select() stops at 1023)
            sel.register(self.master, selectors.EVENT_READ)
            while not self._stop.is_set():
                if not sel.select(0.05):
                    continue
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    return
                with self.lock:
                    out = self.handler(data)
                if out:
                    os.write(self.master, out)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        self._pty.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class TcpDevice:
    """Serve a byte handler on a local TCP port; clients open `.port` (socket://...) with pyserial."""

    def __init__(self, handler: Callable[[bytes], bytes]):
        self.handler = handler
        self.lock = threading.Lock()
        self._srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", 0))
        self._srv.listen(1)
        self.port = "socket://127.0.0.1:%d" % self._srv.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"tcp-{self.port}")
        self._thread.start()

    def _run(self) -> None:
        self._srv.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self._srv.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(0.05)
                while not self._stop.is_set():
                    try:
                        data = conn.recv(4096)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if not data:
                        break
                    with self.lock:
                        out = self.handler(data)
                    if out:
                        conn.sendall(out)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        self._srv.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
