"""Pseudo-terminals for the benches and tests: the node's or instrument's end (the master) and the port a
program opens with pyserial (the slave's path), both raw, like a board's USB serial port."""
from __future__ import annotations

import fcntl
import os
import struct
import termios
import tty


class Pty:
    """A raw pty pair. keep_slave holds the slave open (so nothing is lost before a program opens the
    port, and `unread()` can count what it has not read yet); blocking=False makes master I/O non-blocking."""

    def __init__(self, keep_slave: bool = True, blocking: bool = True):
        self.master, slave = os.openpty()
        tty.setraw(slave)
        tty.setraw(self.master)
        self.port = os.ttyname(slave)
        self.slave: int | None = slave
        if not keep_slave:
            os.close(slave)
            self.slave = None
        if not blocking:
            os.set_blocking(self.master, False)

    def unread(self) -> int:
        """Bytes written on the master that the program on the port has not read yet."""
        assert self.slave is not None, "unread() needs keep_slave=True"
        return struct.unpack("i", fcntl.ioctl(self.slave, termios.FIONREAD, b"\0\0\0\0"))[0]

    def close(self) -> None:
        for fd in (self.master, self.slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass


def pty_pair() -> tuple[int, str]:
    """(master fd, port): a pty whose slave only the program that opens the port holds."""
    p = Pty(keep_slave=False)
    return p.master, p.port
