"""ASCII serial relay board (Numato-style) for pump, vent and leak valves: client and emulator.

The host writes one command per line ending in CR: `relay on N`, `relay off N`, `relay read N`,
`relay readall`, `relay writeall XX` (hex mask), `ver`. The board echoes the command, prints any
answer (`on` / `off`, a hex mask, a version) on its own line, and ends with the prompt `>`.
An unknown command gets the line `ERR` (check your board's manual: some boards stay silent).

    board = RelayBoard(serial.serial_for_url("/dev/ttyACM0", baudrate=19200, timeout=1))
    board.set(0, True); board.get(0) -> True

Valves map names to channels (`Valves(board, {"pump": 0, "vent": 1, "leak": 2})`); `Valves.safe(state)`
puts every valve in the scenario's safe state and is what the bench calls on exit, error or Ctrl-C.
"""
from __future__ import annotations

from typing import Callable, Optional

PROMPT = b">"
EOL = b"\n\r"


class RelayError(IOError):
    """The board did not answer, refused a command, or answered garbage."""


class RelayBoard:
    def __init__(self, port, channels: int = 8):
        self.port = port
        self.channels = channels

    def command(self, line: str) -> list[str]:
        """Send one command; return the answer lines between the echo and the prompt."""
        self.port.reset_input_buffer()
        self.port.write(line.encode("ascii") + b"\r")
        raw = self.port.read_until(PROMPT)
        if not raw.endswith(PROMPT):
            raise RelayError(f"relay board did not answer {line!r} (got {raw!r}); check port and baud rate")
        lines = [x.strip() for x in raw[:-1].decode("ascii", "replace").replace("\r", "\n").split("\n")]
        lines = [x for x in lines if x]
        if lines and lines[0] == line:
            lines = lines[1:]  # the echo
        if lines and lines[-1] == "ERR":
            raise RelayError(f"relay board refused {line!r}")
        return lines

    def _check(self, n: int) -> None:
        if not 0 <= n < self.channels:
            raise RelayError(f"relay {n} out of range 0..{self.channels - 1}")

    def set(self, n: int, on: bool) -> None:
        self._check(n)
        self.command(f"relay {'on' if on else 'off'} {n}")

    def get(self, n: int) -> bool:
        self._check(n)
        ans = self.command(f"relay read {n}")
        if not ans or ans[-1] not in ("on", "off"):
            raise RelayError(f"relay read {n}: unexpected answer {ans!r}")
        return ans[-1] == "on"

    def read_all(self) -> int:
        ans = self.command("relay readall")
        try:
            return int(ans[-1], 16)
        except (IndexError, ValueError):
            raise RelayError(f"relay readall: unexpected answer {ans!r}") from None


class Valves:
    """Named valves on relay channels; on = open (or pump running)."""

    def __init__(self, board: RelayBoard, channels: dict[str, int]):
        self.board = board
        self.channels = dict(channels)

    def set(self, name: str, on: bool, verify: bool = True) -> None:
        ch = self.channels[name]
        self.board.set(ch, on)
        if verify and self.board.get(ch) != on:
            raise RelayError(f"valve {name} (relay {ch}) did not switch {'on' if on else 'off'}")

    def safe(self, state: dict[str, bool]) -> list[str]:
        """Put every valve in its safe state; keep going past errors and return them."""
        errors = []
        for name, ch in self.channels.items():
            try:
                self.board.set(ch, bool(state.get(name, False)))
            except (RelayError, OSError) as exc:
                errors.append(f"{name}: {exc}")
        return errors


class RelayEmulator:
    """The board's side: `feed(bytes) -> bytes`; on_change(channel, on) lets the physics follow."""

    def __init__(self, channels: int = 8, on_change: Optional[Callable[[int, bool], None]] = None):
        self.state = [False] * channels
        self.on_change = on_change
        self.buf = b""
        self.log: list[tuple[int, bool]] = []

    def feed(self, data: bytes) -> bytes:
        out = b""
        for ch in data:
            if ch in (0x0D, 0x0A):
                if self.buf:
                    out += self._line(self.buf.decode("ascii", "replace").strip())
                    self.buf = b""
                continue
            self.buf += bytes((ch,))
        return out

    def _line(self, line: str) -> bytes:
        ans = self._answer(line.split())
        body = line.encode() + EOL + (ans.encode() + EOL if ans else b"")
        return body + PROMPT

    def _answer(self, words: list[str]) -> str:
        if words == ["ver"]:
            return "00000001"
        if len(words) == 3 and words[0] == "relay" and words[2].isdigit():
            n = int(words[2])
            if n >= len(self.state):
                return "ERR"
            if words[1] in ("on", "off"):
                self._switch(n, words[1] == "on")
                return ""
            if words[1] == "read":
                return "on" if self.state[n] else "off"
        if words == ["relay", "readall"]:
            return "%02x" % sum(1 << i for i, on in enumerate(self.state) if on)
        if len(words) == 3 and words[:2] == ["relay", "writeall"]:
            try:
                mask = int(words[2], 16)
            except ValueError:
                return "ERR"
            for i in range(len(self.state)):
                self._switch(i, bool(mask >> i & 1))
            return ""
        return "ERR"

    def _switch(self, n: int, on: bool) -> None:
        if self.state[n] != on:
            self.state[n] = on
            self.log.append((n, on))
            if self.on_change:
                self.on_change(n, on)
