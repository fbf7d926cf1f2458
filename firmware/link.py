# Serial link to the ground: finished frames out, command bytes in, never blocking.
# USB CDC: raw bytes through sys.stdout.buffer / sys.stdin.buffer polled with select (text
# stdout would turn \n into \r\n); Ctrl-C interception is switched off so binary input is data: a
# command frame's counter, tag or request id may hold a 0x03 byte. In maintenance mode mpremote must
# still stop the node into its REPL: the link itself tells a Ctrl-C typed outside a frame (REFERENCE.md
# section 6: kbd_intr(-1) while reading frames).
# UART: machine.UART's write/readinto (any object with those methods fits, e.g. a SimUART).
import sys
import time

from protocol.messages import COMMAND, MAX_ENCODED, VERSION

CTRL_C = 3
FRAME_GAP_MS = 200            # the ground writes a frame at once: a silence this long ends a cut-off one
# where the next byte falls: outside frames, after a 0x00, then a frame's first bytes, inside one
_LOOSE, _START, _VERSION, _TYPE, _FRAME = 0, 1, 2, 3, 4


class UartLink:
    def __init__(self, uart):
        self.uart = uart

    def write(self, frame):
        self.uart.write(frame)

    def readinto(self, buf):
        """Bytes waiting (up to len(buf)) into buf; 0 when none."""
        if not self.uart.any():
            return 0
        n = self.uart.readinto(buf)
        return n or 0


class StdioLink:
    def __init__(self, ctrl_c=False):
        """ctrl_c: a Ctrl-C typed outside a frame raises KeyboardInterrupt (maintenance mode); the
        bytes after it stay in the input for the REPL, as after a board's own interrupt."""
        import select
        try:
            import micropython
            micropython.kbd_intr(-1)
        except (ImportError, AttributeError):
            pass
        self.out = sys.stdout.buffer  # type: ignore[attr-defined]
        self.inp = sys.stdin.buffer  # type: ignore[attr-defined]
        self.poll = select.poll()
        self.poll.register(sys.stdin, select.POLLIN)
        self.ctrl_c = ctrl_c
        self.where = _LOOSE
        self.inside = 0
        self.last_ms = 0

    def write(self, frame):
        self.out.write(frame)

    def readinto(self, buf):
        n = 0
        while n < len(buf) and self.poll.poll(0):
            b = self.inp.read(1)
            if not b:
                break
            if self.ctrl_c and self.typed(b[0]):
                raise KeyboardInterrupt
            buf[n] = b[0]
            n += 1
        return n

    def typed(self, b):
        """Is b a Ctrl-C typed at the node rather than a byte of a frame? A command frame starts after a
        0x00 with a COBS code of 4 or more (version, type and node id are never 0), then VERSION and
        COMMAND; inside it every byte is data until the next 0x00, MAX_ENCODED bytes or a silence.
        mpremote's "\r\x03" is never such a start."""
        now = time.ticks_ms()  # type: ignore[attr-defined]
        if time.ticks_diff(now, self.last_ms) > FRAME_GAP_MS:  # type: ignore[attr-defined]
            self.where = _LOOSE
        self.last_ms = now
        where = self.where
        if b == 0:
            self.where, self.inside = _START, 0
            return False
        if where == _FRAME and self.inside < MAX_ENCODED:
            self.inside += 1
            return False
        if (where == _START and b >= 4) or (where == _VERSION and b == VERSION) or (where == _TYPE and b == COMMAND):
            self.where = where + 1
            return False
        self.where = _LOOSE
        return b == CTRL_C
