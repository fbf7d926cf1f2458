"""One reader per node link through pyserial: real ports and URL handlers (socket://, loop://, rfc2217://,
spy://) alike. A link that fails (USB unplugged, server gone) is closed, retried every `reopen_s` and
reopened when it comes back, without touching the other links. Per-link byte/chunk/outage statistics.
"""
from __future__ import annotations

import errno
import os
import select
import selectors
import stat
import time
from typing import Any, Callable

import serial

DEFAULT_BAUD = 115200
READ_MAX = 4096


class LinkError(RuntimeError):
    """A link that cannot be opened, with what to do about it. `permanent`: retrying cannot help."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


URL_SCHEMES = ("socket", "rfc2217", "loop", "spy", "alt", "hwgrep", "cp2110")  # pyserial's URL handlers


def port_problem(url: str) -> str | None:
    """Why a port can never work (an unknown URL scheme, a TCP port outside 1-65535, a path that is a
    regular file or a directory), or None. A device that is merely absent is not a problem here: it
    may be plugged in later."""
    if not url or "\x00" in url:
        return f"{url!r}: empty or invalid port name"
    scheme, sep, rest = url.partition("://")
    if sep:
        if scheme not in URL_SCHEMES:
            return f"{url}: unknown URL scheme {scheme!r}; one of: {', '.join(s + '://' for s in URL_SCHEMES)}"
        if scheme == "spy":
            return port_problem(rest)
        if scheme in ("socket", "rfc2217"):
            host, colon, port = rest.split("?", 1)[0].rpartition(":")
            if not colon or not port.isdigit() or not 1 <= int(port) <= 65535:
                return f"{url}: expected {scheme}://HOST:PORT with a TCP port 1-65535"
        return None
    try:
        mode = os.stat(url).st_mode
    except OSError:
        return None  # not there (yet): a warning, retried
    if not stat.S_ISCHR(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "a regular file" if stat.S_ISREG(mode) else "not a device"
        return f"{url}: {kind}, not a serial device"
    return None


def classify(port: str, exc: BaseException) -> str:
    text = str(exc)
    low = text.lower()
    err = getattr(exc, "errno", None)
    if err == errno.EACCES or "permission denied" in low:
        return (f"{port}: no permission on the device; add your user to the group owning it "
                f"(e.g. `sudo usermod -aG dialout $USER`, then log in again)")
    if err == errno.EBUSY or "busy" in low or "exclusively lock" in low or "resource temporarily" in low:
        return f"{port}: port busy: another program (a monitor, mpremote, a terminal) has it open; close it first"
    if err == errno.ENOENT or "no such file" in low or "could not open port" in low and "2]" in low:
        return f"{port}: no such device; is the node plugged in? (it will be picked up when it appears)"
    if "connection refused" in low:
        return f"{port}: connection refused; is the server (node bridge or virtual bench) running?"
    return f"{port}: {text}"


class LinkReader:
    """A named link: `read()` returns the bytes available now (b"" when none or while the link is down)."""

    def __init__(self, name: str, url: str, baudrate: int = DEFAULT_BAUD, reopen_s: float = 1.0,
                 on_event: Callable[[str, str, str], None] | None = None) -> None:
        self.name = name
        self.url = url
        self.baudrate = baudrate
        self.reopen_s = reopen_s
        self.on_event = on_event or (lambda link, event, detail: None)
        self.ser: serial.SerialBase | None = None
        self.next_try = 0.0
        self.stats: dict[str, Any] = {"bytes": 0, "chunks": 0, "opens": 0, "losses": 0, "last_error": ""}

    @property
    def is_open(self) -> bool:
        return self.ser is not None

    def open(self) -> None:
        """Open now; raises LinkError with a clear message."""
        problem = port_problem(self.url)
        if problem is not None:
            raise LinkError(problem, permanent=True)
        exclusive = {"exclusive": True} if "://" not in self.url else {}
        try:
            ser = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=0, do_not_open=True, **exclusive)
            ser.open()
        except ValueError as exc:  # e.g. a baud rate the driver refuses: no retry will help
            raise LinkError(classify(self.url, exc), permanent=True) from None
        except (serial.SerialException, OSError) as exc:
            raise LinkError(classify(self.url, exc)) from None
        self.ser = ser
        self.stats["opens"] += 1
        self.on_event(self.name, "opened" if self.stats["opens"] == 1 else "reopened", self.url)

    def try_open(self) -> bool:
        now = time.monotonic()
        if self.ser is not None or now < self.next_try:
            return self.ser is not None
        self.next_try = now + self.reopen_s
        try:
            self.open()
        except LinkError as exc:
            if str(exc) != self.stats["last_error"]:
                self.on_event(self.name, "open_failed", str(exc))
            self.stats["last_error"] = str(exc)
            return False
        self.stats["last_error"] = ""
        return True

    def _lost(self, exc: BaseException) -> None:
        self.stats["losses"] += 1
        self.on_event(self.name, "lost", classify(self.url, exc))
        self.close()
        self.next_try = time.monotonic() + self.reopen_s

    def release(self, hold_s: float) -> None:
        """Close the port and leave it alone for hold_s (a node in maintenance: another tool needs it)."""
        self.close()
        self.next_try = time.monotonic() + hold_s
        self.on_event(self.name, "released", f"node in maintenance: port left free for {hold_s:.0f} s")

    def read(self) -> bytes:
        if self.ser is None and not self.try_open():
            return b""
        ser = self.ser
        assert ser is not None
        try:
            data = _read_now(ser)
        except (serial.SerialException, OSError) as exc:
            self._lost(exc)
            return b""
        if data:
            self.stats["bytes"] += len(data)
            self.stats["chunks"] += 1
        return bytes(data)

    def write(self, data: bytes) -> bool:
        if self.ser is None and not self.try_open():
            return False
        try:
            _write_all(self.ser, data)
        except (serial.SerialException, OSError) as exc:
            self._lost(exc)
            return False
        return True

    def fileno(self) -> int | None:
        ser = self.ser
        if ser is None:
            return None
        try:
            if hasattr(ser, "fd") and ser.fd is not None:
                return int(ser.fd)
            sock = getattr(ser, "_socket", None)
            return sock.fileno() if sock is not None else None
        except (OSError, ValueError, AttributeError):
            return None

    def close(self) -> None:
        ser, self.ser = self.ser, None
        if ser is not None:
            try:
                ser.close()
            except (serial.SerialException, OSError):
                pass


def _read_now(ser) -> bytes:
    """Whatever the port has now. pyserial's POSIX read waits with select(), which fails on descriptors
    above 1023 (a station with hundreds of links): read those with poll() instead, as pyserial would."""
    fd = getattr(ser, "fd", None)
    if type(ser) is not serial.Serial or not isinstance(fd, int) or not hasattr(select, "poll"):
        return ser.read(READ_MAX)  # timeout=0: whatever is there now (in_waiting is 0/1 on socket://)
    p = select.poll()
    p.register(fd, select.POLLIN)
    if not p.poll(0):
        return b""
    try:
        data = os.read(fd, READ_MAX)
    except BlockingIOError:
        return b""
    if not data:  # readable but empty: what pyserial reports as a disconnected device
        raise serial.SerialException("device reports readiness to read but returned no data "
                                     "(device disconnected or multiple access on port?)")
    return data


def _write_all(ser, data: bytes, timeout_s: float = 2.0) -> None:
    """Write and drain; on POSIX ports with poll() rather than pyserial's select() (see _read_now)."""
    fd = getattr(ser, "fd", None)
    if type(ser) is not serial.Serial or not isinstance(fd, int) or not hasattr(select, "poll"):
        ser.write(data)  # URL handlers (spy:// logs what passes) keep their own read/write
        ser.flush()
        return
    p = select.poll()
    p.register(fd, select.POLLOUT)
    view = memoryview(bytes(data))
    deadline = time.monotonic() + timeout_s
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            pass
        if view:
            if time.monotonic() > deadline:
                raise serial.SerialTimeoutException("write timeout: the device takes no data")
            p.poll(50)
    ser.flush()


class Ingest:
    """All links of a station; `poll(timeout_s)` returns [(link, bytes)] read in one pass."""

    def __init__(self, links: dict[str, str], baudrate: int = DEFAULT_BAUD, reopen_s: float = 1.0,
                 on_event: Callable[[str, str, str], None] | None = None) -> None:
        self.readers = {name: LinkReader(name, url, baudrate, reopen_s, on_event) for name, url in links.items()}

    def open_all(self, strict: bool = False) -> list[str]:
        """Open every link; returns the problems. strict: raise on ports that can never work, busy or
        without permission (nothing will fix those by waiting)."""
        problems = []
        for r in self.readers.values():
            try:
                r.open()
            except LinkError as exc:
                msg = str(exc)
                if strict and (exc.permanent or "busy" in msg or "permission" in msg):
                    raise
                problems.append(msg)
                r.next_try = time.monotonic() + r.reopen_s
        return problems

    def read_once(self) -> list[tuple[str, bytes]]:
        out = []
        for name, r in self.readers.items():
            data = r.read()
            if data:
                out.append((name, data))
        return out

    def poll(self, timeout_s: float) -> list[tuple[str, bytes]]:
        deadline = time.monotonic() + max(0.0, timeout_s)
        sel = None
        try:
            while True:
                got = self.read_once()
                left = deadline - time.monotonic()
                if got or left <= 0:
                    return got
                slice_s = min(left, 0.02)
                sel = self._selector(sel)
                if sel is not None:
                    sel.select(slice_s)
                else:
                    time.sleep(min(slice_s, 0.005))
        finally:
            if sel is not None:
                sel.close()

    def _selector(self, sel):
        """A selector on every link's descriptor (epoll: no FD_SETSIZE limit, so 254 nodes are fine),
        or None when a link has none to wait on (down, or a URL handler without one)."""
        fds = [r.fileno() for r in self.readers.values()]
        if not fds or None in fds:
            if sel is not None:
                sel.close()
            return None
        if sel is not None and sorted(k.fd for k in sel.get_map().values()) == sorted(fds):  # type: ignore[union-attr]
            return sel
        if sel is not None:
            sel.close()
        sel = selectors.DefaultSelector()
        try:
            for fd in set(fds):
                sel.register(fd, selectors.EVENT_READ)
        except (OSError, ValueError):
            sel.close()
            return None
        return sel

    def close(self) -> None:
        for r in self.readers.values():
            r.close()
