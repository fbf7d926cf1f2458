"""A session on a board's REPL through mpremote's serial transport, for flash, verify and probe.

    with open_session(port, node_id=3, key_file="keys.json", db="safehaven.sqlite") as s:
        s.exec("print(1)")

open_session gets the board into maintenance mode first (docs/wiring.md): a running node has Ctrl-C
switched off and a watchdog that would reset it mid-copy. In order:
  - the port is busy: a monitor holds it, so the `maintenance` command goes through the monitor's
    database; the monitor lets go of the port after the node's ack;
  - the REPL answers within a few seconds (a fresh board, a node already in maintenance, or a node
    whose link is a UART): a node not yet in maintenance is flagged and reset into it from the REPL;
  - otherwise the node is running on this port: the `maintenance` command goes to it directly.
Then it waits for the REPL of the node in maintenance. mpremote's own enter_raw_repl waits forever
while a node streams frames, so the first attempt here has a deadline.
"""
from __future__ import annotations

import time

from safehaven.ground import cmd_send
from safehaven.ground.ingest import LinkError
from safehaven.protocol.messages import CMD_MAINTENANCE

RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
ATTEMPTS = 3                 # maintenance command sends before giving up on a silent node
# 1: in maintenance mode now; 2: our firmware is there but not in maintenance; 0: no firmware of ours
STATE = ("import sys, os\nm = sys.modules.get('maintenance')\n"
         "print(1 if m and getattr(m, 'ACTIVE', 0) else (2 if [f for f in os.listdir('/') "
         "if f.startswith('maintenance.')] else 0))")


class BoardError(RuntimeError):
    pass


class Session:
    """One open serial connection, in the raw REPL once enter() succeeded."""

    def __init__(self, port: str, wait_s: float = 0.0) -> None:
        from mpremote.transport import TransportError
        from mpremote.transport_serial import SerialTransport
        self.port = port
        deadline = time.monotonic() + wait_s
        while True:                      # a USB board re-enumerates after a reset: its port comes back
            try:
                self.t = SerialTransport(port, baudrate=115200)
                return
            except TransportError as e:
                if time.monotonic() >= deadline:
                    raise BoardError(f"cannot open {port}: {e}") from None
                time.sleep(0.2)

    def enter(self, seconds: float) -> bool:
        """Ctrl-C, Ctrl-A as mpremote sends them; True once the raw REPL banner is seen within seconds.
        Read a byte at a time: the prompt's ">" after it stays for mpremote's exec."""
        ser = self.t.serial
        ser.write(b"\r\x03")
        time.sleep(0.05)
        ser.write(b"\r\x01")
        seen = b""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if ser.in_waiting:
                seen = (seen + ser.read(1))[-64:]
                if seen.endswith(RAW_BANNER):
                    self.t.in_raw_repl = True
                    return True
            else:
                time.sleep(0.02)
        return False

    def exec(self, code: str, timeout: float = 30) -> str:
        from mpremote.transport import TransportError, TransportExecError
        try:
            out, err = self.t.exec_raw(code, timeout=timeout)
        except TransportError as e:
            raise BoardError(f"the board stopped answering ({e})") from None
        if err:
            raise BoardError(err.decode(errors="replace").strip().splitlines()[-1])
        try:
            return out.decode()
        except UnicodeDecodeError:
            raise BoardError("the board answered with bytes that are not text") from None

    def write_file(self, dest: str, data: bytes) -> None:
        from mpremote.transport import TransportError
        try:
            self.t.fs_writefile(dest, data, chunk_size=1024)
        except (TransportError, OSError) as e:
            raise BoardError(f"writing {dest}: {e}") from None

    def reset(self) -> None:
        """Hard reset (machine.reset); the session is over."""
        try:
            self.t.exec_raw_no_follow("import machine\nmachine.reset()")
        except Exception:  # noqa: BLE001 - the board is resetting under us
            pass
        self.close()

    def close(self) -> None:
        try:
            self.t.close()
        except OSError:
            pass

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def port_busy(port: str) -> bool:
    import serial
    try:
        s = serial.Serial(port, exclusive=True, timeout=0)
    except serial.SerialException as e:
        text = str(e).lower()
        if "busy" in text or "lock" in text or "resource temporarily" in text:
            return True
        raise BoardError(f"cannot open {port}: {e}") from None
    s.close()
    return False


def _maintenance_command(say, port: str, node_id: int | None, key_file: str | None, db: str | None,
                         busy: bool) -> None:
    if node_id is None:
        raise BoardError(f"the node on {port} is running (no REPL): give its --node-id to send it the maintenance "
                         "command, or hold its button at power-up (docs/wiring.md)")
    if busy and not db:
        raise BoardError(f"{port} is busy: close the monitor/terminal that holds it")
    for attempt in range(ATTEMPTS):          # a loaded machine can miss an ack; a node in maintenance acks again
        if busy:
            say(f"{port} is held by a monitor: maintenance command to node {node_id} through {db}")
            result = cmd_send.command_via_db(db, node_id, CMD_MAINTENANCE, 0, 0, timeout=5.0)
            if result["status"] == "no_database":
                raise BoardError(f"{port} is busy and {db} does not exist: close the monitor/terminal that holds "
                                 "the port, or give the monitor's --db")
        else:
            say(f"the node on {port} is running: maintenance command to node {node_id}")
            try:
                result = cmd_send.command_direct(port, node_id, CMD_MAINTENANCE, 0, 0, key_file, timeout=5.0)
            except LinkError as e:
                raise BoardError(str(e)) from None
        if result["status"] != "timeout":
            break
    if result["status"] != "ok":
        hint = {"auth_required": "the node has a key: give --key-file",
                "timeout": "no answer: is this the node's port and --node-id?",
                "not_picked_up": "no monitor is using that database"}.get(result["status"], "")
        raise BoardError(f"node {node_id} refused or missed the maintenance command ({result['status']}"
                         f"{'; ' + hint if hint else ''}); or hold its button at power-up (docs/wiring.md)")


def open_session(port: str, node_id: int | None = None, key_file: str | None = None, db: str | None = None,
                 say=lambda text: None, boot_s: float = 30.0) -> Session:
    """A session in the raw REPL of the board on port, in maintenance mode (see the module docstring)."""
    busy = port_busy(port)
    if busy:
        _maintenance_command(say, port, node_id, key_file, db, busy=True)
    else:
        s = Session(port)
        if s.enter(3.0):
            state = s.exec(STATE).strip()
            if state != "2":
                return s
            say("the node answered at its REPL but is not in maintenance: resetting it into maintenance")
            s.exec("import maintenance\nmaintenance.request()")
            s.reset()
        else:
            s.close()
            _maintenance_command(say, port, node_id, key_file, db, busy=False)
    say("waiting for the node's REPL in maintenance mode")
    deadline = time.monotonic() + boot_s
    while time.monotonic() < deadline:
        try:
            if port_busy(port):
                time.sleep(0.2)
                continue
            s = Session(port, wait_s=max(0.0, deadline - time.monotonic()))
        except BoardError:
            time.sleep(0.2)
            continue
        if s.enter(min(5.0, max(0.5, deadline - time.monotonic()))):
            return s
        s.close()
    raise BoardError(f"no REPL on {port} within {boot_s:.0f} s after the maintenance command; hold the board's "
                     "button at power-up for maintenance mode (docs/wiring.md)")
