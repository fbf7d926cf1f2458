# Maintenance mode: the node stands aside so it can be flashed or brought up (docs/wiring.md).
# Entered at boot when the `maintenance` command left its flag (good for one boot: a plain reset
# returns to normal) or when the board's button is held during the first 2 s after power-up.
# No watchdog runs, a typed Ctrl-C stops the loop into the REPL (mpremote) while a 0x03 byte inside a
# command frame stays data (the link tells them apart, firmware/link.py), the sensors are
# left idle, and a heartbeat with mode MAINTENANCE goes out every 5 s. `reboot` and
# `request_status` commands are obeyed; after 10 minutes without a byte heard the node resets
# to normal. Imports little at the top, so it still runs when the rest of the firmware is broken.
# LED: booting = fast blink (the button window); maintenance = two short blinks every 2 s.
FLAG = "maint"
BUTTON_WINDOW_MS = 2000
SILENCE_MS = 600000
HEARTBEAT_MS = 5000
ACTIVE = False                # True while this mode runs (flash reads it from the REPL)


def request(path=FLAG):
    from hw import write_atomic
    write_atomic(path, "1")


def take(path=FLAG):
    """The flag, consumed: True once after the command asked for maintenance."""
    import os
    try:
        os.remove(path)
        return True
    except OSError:
        return False


def _button(board):
    """A function reading the board's button (True = held), or None when it has none."""
    b = board.get("button")
    if b == "bootsel":
        import rp2  # type: ignore[import-not-found]
        return lambda: bool(rp2.bootsel_button())
    if isinstance(b, int):
        import machine  # type: ignore[import-not-found]
        pin = machine.Pin(b, machine.Pin.IN, machine.Pin.PULL_UP)
        return lambda: pin.value() == 0
    return None


def _led(board):
    if board.get("led") is None:
        return None
    try:
        import machine  # type: ignore[import-not-found]
        return machine.Pin(board["led"], machine.Pin.OUT)
    except (ImportError, ValueError, TypeError):
        return None


def button_held(board, window_ms=BUTTON_WINDOW_MS):
    """Watch the button for window_ms after power-up, blinking fast (booting); True if it was held."""
    import time
    read = _button(board)
    if read is None:
        return False
    led = _led(board)
    start = time.ticks_ms()  # type: ignore[attr-defined]
    on = 0
    while time.ticks_diff(time.ticks_ms(), start) < window_ms:  # type: ignore[attr-defined]
        if read():
            return True
        on ^= 1
        if led is not None:
            led.value(on)
        time.sleep_ms(100)  # type: ignore[attr-defined]
    return False


def wanted():
    """At boot on a board: the command's flag (consumed), or the button held. Never raises."""
    if take():
        return True
    try:
        import board as boardfile
        return button_held(boardfile.load("board.json"))
    except Exception:  # noqa: BLE001 - a broken board file must not stop the node from booting
        return False


def main():
    """On a board (main.py): maintenance mode until interrupted (REPL), rebooted or 10 minutes of silence."""
    import board as boardfile
    import config as configfile
    from hw import make_hardware
    b = boardfile.load("board.json")
    try:
        cfg = configfile.load("config.json")
    except configfile.ConfigError:
        cfg = configfile.validate({}, "defaults")       # not configured yet: heartbeats as node 1
    hw = make_hardware(b, cfg, maintenance=True)
    try:
        from node import FW_VERSION
    except Exception:  # noqa: BLE001 - the firmware being replaced may be broken
        FW_VERSION = 0
    Maintenance(cfg, hw, FW_VERSION).run()


class Maintenance:
    def __init__(self, config, hw, fw_version=0):
        from protocol.codec import Decoder, Encoder
        import config as configfile
        self.hw = hw
        self.clock = hw.clock
        key = configfile.key_bytes(config)
        nid = config["node_id"]
        self.enc = Encoder(nid, key, hw.next_epoch() if key else 0)
        self.dec = Decoder(node_id=nid, key=key)
        if key:
            last = hw.load_command_counter()          # commands captured before this boot stay refused
            if last:
                self.dec.restore_command_counter(last[0], last[1])
        zone = config["zone"].encode()
        self.zone = zone + b"\x00" * (8 - len(zone))
        self.fw_version = fw_version
        self.rx = bytearray(64)
        self.led = getattr(hw, "led", None)
        self.commands = 0

    def heartbeat(self, uptime):
        from protocol import messages as M
        s = self.dec.stats
        self.hw.link.write(self.enc.heartbeat(uptime, self.fw_version, self.hw.board_code, self.hw.reset_cause,
                                              self.hw.free_heap(), self.zone, 0, 0, 0, 0,
                                              min(s["auth_failures"], 0xFFFF), self.commands, M.MODE_MAINTENANCE))

    def obey(self, uptime):
        """Commands heard: request_status and reboot are obeyed, the rest refused. True: reboot now."""
        from protocol import messages as M
        reboot = False
        while True:
            f = self.dec.pop()
            if f is None:
                return reboot
            status, _, _, _, _, _, values = f
            request_id, command = values[0], values[1]
            if status == M.ACK_OK:
                status = M.ACK_OK if command in (M.CMD_REQUEST_STATUS, M.CMD_REBOOT, M.CMD_MAINTENANCE) \
                    else M.ACK_REJECTED
            if status == M.ACK_OK:
                self.commands += 1
                last = self.dec.last_command_counter() if values is not None and f[5] else None
                if last:
                    self.hw.save_command_counter(last[0], last[1])
            self.hw.link.write(self.enc.command_ack(uptime, request_id, command, status, 0))
            if status == M.ACK_OK and command == M.CMD_REQUEST_STATUS:
                self.heartbeat(uptime)
            reboot = reboot or (status == M.ACK_OK and command == M.CMD_REBOOT)

    def summary(self):
        return {"mode": "maintenance", "commands": self.commands, "auth_failures": self.dec.stats["auth_failures"]}

    def run(self):
        global ACTIVE
        ACTIVE = True
        clock = self.clock
        start = heard = last_hb = clock.ticks_ms()
        self.heartbeat(0)
        while True:
            now = clock.ticks_ms()
            uptime = clock.ticks_diff(now, start) & 0x3FFFFFFF
            n = self.hw.link.readinto(self.rx)
            if n:
                heard = now
                self.dec.feed(memoryview(self.rx)[:n])
                if self.obey(uptime):
                    self.hw.reboot()
            if clock.ticks_diff(now, last_hb) >= HEARTBEAT_MS:
                last_hb = now
                self.heartbeat(uptime)
            if clock.ticks_diff(now, heard) >= SILENCE_MS:
                self.hw.reboot()                        # back to normal: the flag was used up at boot
            if self.led is not None:
                phase = uptime % 2000
                self.led.value(1 if phase < 100 or 200 <= phase < 300 else 0)
            clock.sleep_ms(50)
