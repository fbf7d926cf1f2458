# Serial link to the ground: finished frames out, command bytes in, never blocking.
# USB CDC: raw bytes through sys.stdout.buffer / sys.stdin.buffer polled with select (text
# stdout would turn \n into \r\n); Ctrl-C interception is switched off so binary input is data
# (kept on in maintenance mode, so mpremote can interrupt the node into its REPL).
# UART: machine.UART's write/readinto (any object with those methods fits, e.g. a SimUART).
import sys


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
    def __init__(self, keep_ctrl_c=False):
        import select
        if not keep_ctrl_c:
            try:
                import micropython
                micropython.kbd_intr(-1)
            except (ImportError, AttributeError):
                pass
        self.out = sys.stdout.buffer  # type: ignore[attr-defined]
        self.inp = sys.stdin.buffer  # type: ignore[attr-defined]
        self.poll = select.poll()
        self.poll.register(sys.stdin, select.POLLIN)

    def write(self, frame):
        self.out.write(frame)

    def readinto(self, buf):
        n = 0
        while n < len(buf) and self.poll.poll(0):
            b = self.inp.read(1)
            if not b:
                break
            buf[n] = b[0]
            n += 1
        return n
