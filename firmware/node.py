# The node: one cooperative loop (no threads) that samples, detects, reports and obeys.
#
#   import node; node.main()                       # on a board (main.py): config.json + board.json
#   node.main(config={...}, board={...}, hw=...)   # virtual bench: dicts and the bench's hardware
#
# Per iteration: BMP280 sample when due -> detector -> events at once; SCD4x polled (periodic
# mode), fed the BMP280 pressure (rate-limited), its RH and temperature to the detector; telemetry and heartbeat when due; command bytes
# from the link -> command_ack; watchdog fed; sleep until the next thing is due. The steady-state
# iteration allocates nothing (fixed-point ints, preallocated buffers, the codec's reused frame).
import gc

import board as boardfile
import config as configfile
from commands import execute
from detector import CHAMBER, EV_NONE, HABITAT, Detector
from drivers.errors import BUS, RANGE, SensorError
from hw import make_hardware
from protocol import messages as M
from protocol.codec import Decoder, Encoder

FW_VERSION = 0x0100          # 1.0
BAD_READS = 3                # consecutive failures before a sensor is declared failed
BACKOFF_MIN_MS = 1000
BACKOFF_MAX_MS = 60000
SCD_STALE_MS = 20000         # no SCD4x data this long (it updates every 5 s) = stale
SCD_START_MS = 1000          # SCD4x needs 1 s after power-up before the first command
SCD_SAME_READINGS = 6        # identical CO2 readings in a row (30 s) = stuck
_U16 = 0xFFFF


def _u16(x):
    return x if x < _U16 else _U16


class Node:
    def __init__(self, config, board, hw):
        self.cfg = config
        self.board = board
        self.hw = hw
        self.clock = hw.clock
        key = configfile.key_bytes(config)
        self.key = key
        self.epoch = hw.next_epoch() if key else 0
        nid = config["node_id"]
        self.enc = Encoder(nid, key, self.epoch)
        self.dec = Decoder(node_id=nid, key=key)
        if key:
            # Refuse commands captured before a reboot: restore the last accepted counter.
            last = hw.load_command_counter()
            if last:
                self.dec.restore_command_counter(last[0], last[1])
        params = dict(config["detector"])
        params["mode"] = CHAMBER if config["mode"] == "chamber" else HABITAT
        params.setdefault("volume_l", config["volume_l"])
        self.sample_ms = config["sample_period_ms"]
        self.det = Detector(self.sample_ms, params)
        zone = config["zone"].encode()
        self.zone = zone + b"\x00" * (8 - len(zone))
        self.tel_ms = config["telemetry_period_ms"]
        self.hb_ms = config["heartbeat_period_ms"]
        self.amb_ms = config["ambient_period_ms"]
        self.scd_poll = config["scd_poll_ms"]
        self.ambient_source = config["ambient_source"]
        self.ambient_fixed_q8 = int(config["ambient_fixed_pa"]) * 256
        self.tp = [0, 0]              # BMP280: 0.01 degC, Q24.8 Pa
        self.co = [0, 0, 0]           # SCD4x: ppm, 0.01 degC, 0.01 %RH
        self.rx = bytearray(64)
        self.rxv = memoryview(self.rx)
        self.p_q8 = 0
        self.t_c100 = 0
        self.bmp = None
        self.scd = None
        self.scd_enabled = config["scd4x"].get("enabled", True)
        self.bmp_bad = 0
        self.scd_bad = 0
        self.bmp_backoff = BACKOFF_MIN_MS
        self.scd_backoff = BACKOFF_MIN_MS
        self.scd_started = False
        self.led = 0
        self.co2_last = -1
        self.co2_same = 0
        self.i2c_errors = 0
        self.bmp_errors = 0
        self.scd_errors = 0
        self.commands = 0
        self.frames = 0
        self.events = 0
        self.samples = 0
        self.status = M.ST_CO2_UNCOMPENSATED | M.ST_WARMUP
        if key:
            self.status |= M.ST_AUTH_ENABLED
        self.pending = None           # (request_id, command) to act on after its ack
        now = self.clock.ticks_ms()
        self.last = now
        self.uptime = now             # ms since the board's reset; bits 30-31 live in enc.uptime_hi
        self.t_sample = now
        self.t_tel = self.clock.ticks_add(now, self.tel_ms)
        self.t_hb = self.clock.ticks_add(now, self.hb_ms)
        self.t_amb = now
        self.t_bmp_try = now
        self.t_scd_try = self.clock.ticks_add(now, SCD_START_MS)
        self.t_scd = self.t_scd_try
        self.t_scd_data = now

    # ---- frames out ----------------------------------------------------------------------------
    def send(self, frame):
        self.hw.link.write(frame)
        self.frames += 1

    def led_step(self):
        """Running: the LED toggles with each telemetry frame; a sensor failed: it stays on."""
        self.led = 1 if self.status & (M.ST_BMP_FAULT | M.ST_SCD_FAULT) else self.led ^ 1
        self.hw.led.value(self.led)

    def telemetry(self):
        self.led_step()
        det = self.det
        st = det.stat
        self.send(self.enc.telemetry(self.uptime, self.p_q8, self.t_c100, self.co[0], self.co[2],
                                     det.rate_e5, st if st < _U16 else _U16, det.state, self.status))

    def event(self, ev):
        det = self.det
        rate = det.rate_e5
        g_day = 0
        hole_um = 0
        if ev == M.EV_LEAK_DETECTED or ev == M.EV_RAPID:
            rate_pa_s, kg, mm = det.leak_estimate()
            if kg is not None:            # a measured loss is 1 g/day, 1 um at least: 0 is LOSS_UNMEASURED
                g_day = max(1, min(int(kg * 1000 + 0.5), 0xFFFFFFFF))
                hole_um = max(1, min(int(mm * 1000 + 0.5), _U16))
        self.events += 1
        self.send(self.enc.event(self.uptime, ev, det.state, rate, g_day, hole_um, self.p_q8))

    def rx_errors(self):
        s = self.dec.stats
        return s["crc_failures"] + s["bad_lengths"] + s["oversize"] + s["unknown_versions"] + s["unknown_types"]

    def heartbeat(self):
        mode = M.MODE_CHAMBER if self.det.sign < 0 else M.MODE_HABITAT
        self.send(self.enc.heartbeat(self.uptime, FW_VERSION, self.hw.board_code, self.hw.reset_cause,
                                     self.hw.free_heap(), self.zone, _u16(self.i2c_errors),
                                     _u16(self.bmp_errors), _u16(self.scd_errors), _u16(self.rx_errors()),
                                     _u16(self.dec.stats["auth_failures"]), _u16(self.commands), mode))

    # ---- sensors ---------------------------------------------------------------------------------
    def _count(self, e):
        if e.kind == BUS:
            self.i2c_errors += 1

    def bmp_init(self, now):
        from drivers.bmp280 import BMP280
        c = self.cfg["bmp280"]
        try:
            self.bmp = BMP280(self.hw.i2c, c.get("address", 0x76), osrs_t=c.get("osrs_t", 2),
                              osrs_p=c.get("osrs_p", 16), iir=c.get("iir", 0), clock=self.clock)
            self.bmp_backoff = BACKOFF_MIN_MS
            # first conversion in normal mode: don't read the power-on 0x80000
            self.t_sample = self.clock.ticks_add(now, self.bmp.max_measurement_ms + 1)
        except SensorError as e:
            self.bmp_errors += 1
            self._count(e)
            self.bmp_fault(now)

    def bmp_fault(self, now):
        """Declare the BMP280 failed, retry later with a doubling backoff."""
        self.bmp = None
        self.status |= M.ST_BMP_FAULT
        self.t_bmp_try = self.clock.ticks_add(now, self.bmp_backoff)
        self.bmp_backoff = min(self.bmp_backoff * 2, BACKOFF_MAX_MS)
        ev = self.det.sensor_fault(True)
        if ev != EV_NONE:
            self.event(ev)

    def sample(self, now):
        if self.bmp is None:
            if self.clock.ticks_diff(now, self.t_bmp_try) < 0:
                return
            self.bmp_init(now)
            return
        try:
            self.bmp.read_fixed(self.tp)
        except SensorError as e:
            self.bmp_errors += 1
            self._count(e)
            if e.kind == RANGE:
                self.status |= M.ST_OUT_OF_RANGE
            self.bmp_bad += 1
            if self.bmp_bad >= BAD_READS:
                self.bmp_bad = 0
                if e.kind == RANGE:
                    ev = self.det.sensor_fault(True)      # can't judge; the chip itself is fine
                    if ev != EV_NONE:
                        self.event(ev)
                else:
                    self.bmp_fault(now)
            return
        self.samples += 1
        self.bmp_bad = 0
        self.status &= ~(M.ST_BMP_FAULT | M.ST_OUT_OF_RANGE)
        self.t_c100 = self.tp[0]
        self.p_q8 = self.tp[1]
        det = self.det
        ev = det.sensor_fault(False)
        if ev != EV_NONE:
            self.event(ev)
        ev = det.update(self.bmp.t_fine, self.p_q8)
        if det.stale:
            self.status |= M.ST_BMP_STALE
        else:
            self.status &= ~M.ST_BMP_STALE
        if det.warm:
            self.status |= M.ST_WARMUP
        else:
            self.status &= ~M.ST_WARMUP
        if det.transient:
            self.status |= M.ST_TRANSIENT
        else:
            self.status &= ~M.ST_TRANSIENT
        if ev != EV_NONE:
            self.event(ev)

    def scd_init(self, now):
        from drivers.scd4x import SCD4x
        try:
            scd = SCD4x(self.hw.i2c, self.cfg["scd4x"].get("address", 0x62), clock=self.clock)
            if self.scd_started:
                try:
                    scd.stop_periodic_measurement()   # it may still be measuring since before
                except SensorError:
                    pass
            self.scd_start(scd)
            self.scd = scd
            self.scd_started = True
            self.scd_backoff = BACKOFF_MIN_MS
            self.t_scd_data = now
            self.t_amb = now
        except SensorError as e:
            self.scd_errors += 1
            self._count(e)
            self.scd_fault(now)

    def scd_start(self, scd):
        """Set the self-calibration, then start periodic measurement. ASC is off unless the config asks:
        it takes the lowest CO2 of each week as 400 ppm of outdoor air, which a crewed cabin never breathes
        (it would read ~1,600 ppm low at 2,000 ppm). The setting is volatile, so it is sent at every start
        (persisting it would wear the EEPROM). An MCU reset (watchdog, reboot, flash) does not power-cycle
        the SCD4x: still measuring, it refuses both until stopped (500 ms), so stop it then and only then."""
        asc = self.cfg["scd4x"].get("asc", False)
        try:
            scd.set_automatic_self_calibration(asc)
        except SensorError:
            scd.stop_periodic_measurement()
            scd.set_automatic_self_calibration(asc)
        scd.start_periodic_measurement()

    def scd_fault(self, now):
        self.scd = None
        self.status |= M.ST_SCD_FAULT
        self.t_scd_try = self.clock.ticks_add(now, self.scd_backoff)
        self.scd_backoff = min(self.scd_backoff * 2, BACKOFF_MAX_MS)

    def poll_scd(self, now):
        if self.scd is None:
            if self.clock.ticks_diff(now, self.t_scd_try) < 0:
                return
            self.scd_init(now)
            if self.scd is None:
                return
        try:
            got = self.scd.read_fixed(self.co)
        except SensorError as e:
            self.scd_errors += 1
            self._count(e)
            self.scd_bad += 1
            if self.scd_bad >= BAD_READS:
                self.scd_bad = 0
                self.scd_fault(now)
            return
        self.scd_bad = 0
        self.status &= ~M.ST_SCD_FAULT
        if got:
            self.t_scd_data = now
            # real readings move (repeatability +-10 ppm): a frozen value is a stuck sensor
            if self.co[0] == self.co2_last:
                self.co2_same += 1
            else:
                self.co2_same = 0
            self.co2_last = self.co[0]
            if self.co2_same >= SCD_SAME_READINGS:
                self.status |= M.ST_SCD_STALE
            else:
                self.status &= ~M.ST_SCD_STALE
                # the water vapour's pressure, a part of what the BMP280 reads (detector.vapour)
                self.det.vapour(self.co[1], self.co[2])
        elif self.clock.ticks_diff(now, self.t_scd_data) > SCD_STALE_MS:
            self.status |= M.ST_SCD_STALE

    def feed_ambient(self):
        """SCD4x NDIR compensation with the BMP280's (or a fixed) pressure."""
        src = self.ambient_source
        if self.scd is None or src == M.AMBIENT_NONE or (src == M.AMBIENT_BMP and self.p_q8 == 0):
            self.status |= M.ST_CO2_UNCOMPENSATED
            return
        q8 = self.p_q8 if src == M.AMBIENT_BMP else self.ambient_fixed_q8
        try:
            self.scd.set_ambient_pressure(q8 >> 8)
            self.status &= ~M.ST_CO2_UNCOMPENSATED
        except SensorError as e:
            self.scd_errors += 1
            self._count(e)
            self.status |= M.ST_CO2_UNCOMPENSATED

    # ---- commands ------------------------------------------------------------------------------------
    def poll_link(self):
        n = self.hw.link.readinto(self.rx)
        if not n:
            return
        self.dec.feed(self.rxv[:n])
        while True:
            f = self.dec.pop()
            if f is None:
                break
            status, msg_type, node_id, seq, uptime, authed, values = f
            request_id, command, param, value = values
            if status != M.ACK_OK:
                self.send(self.enc.command_ack(self.uptime, request_id, command, status, 0))
                continue
            if authed:
                last = self.dec.last_command_counter()
                if last:
                    self.hw.save_command_counter(last[0], last[1])
            result, out = execute(self, command, param, value)
            if result == M.ACK_OK:
                self.commands += 1
            self.send(self.enc.command_ack(self.uptime, request_id, command, result, out))
            if result == M.ACK_OK and command == M.CMD_REQUEST_STATUS:
                self.heartbeat()
            if result == M.ACK_OK and command == M.CMD_REBOOT:
                self.hw.reboot()
            if result == M.ACK_OK and command == M.CMD_MAINTENANCE:
                self.hw.enter_maintenance()

    def set_sample_period(self, ms):
        self.sample_ms = ms
        self.det.configure(ms)

    # ---- the loop --------------------------------------------------------------------------------------
    def boot(self):
        self.heartbeat()
        self.event(M.EV_BOOT)

    def step(self):
        clock = self.clock
        now = clock.ticks_ms()
        d = clock.ticks_diff(now, self.last)
        if self.uptime > 0x3FFFFFFF - d:  # past 2^30 ms: carry into bits 30-31, small ints only
            self.uptime = self.uptime - (0x3FFFFFFF - d) - 1
            self.enc.uptime_hi = (self.enc.uptime_hi + 1) & 3
        else:
            self.uptime += d
        self.last = now
        if clock.ticks_diff(now, self.t_sample) >= 0:
            self.t_sample = clock.ticks_add(self.t_sample, self.sample_ms)
            self.sample(now)
            if clock.ticks_diff(now, self.t_sample) >= 0:     # fell behind: skip, don't burst
                self.t_sample = clock.ticks_add(now, self.sample_ms)
        if self.scd_enabled and clock.ticks_diff(now, self.t_scd) >= 0:
            self.poll_scd(now)
            self.t_scd = clock.ticks_add(now, self.scd_poll)
        if clock.ticks_diff(now, self.t_amb) >= 0:
            self.t_amb = clock.ticks_add(now, self.amb_ms)
            if self.scd_enabled:
                self.feed_ambient()
        if clock.ticks_diff(now, self.t_tel) >= 0:
            self.t_tel = clock.ticks_add(self.t_tel, self.tel_ms)
            if clock.ticks_diff(now, self.t_tel) >= 0:
                self.t_tel = clock.ticks_add(now, self.tel_ms)
            self.telemetry()
        if clock.ticks_diff(now, self.t_hb) >= 0:
            self.t_hb = clock.ticks_add(now, self.hb_ms)
            self.heartbeat()
        self.poll_link()
        self.hw.wdt.feed()
        # sleep until the next thing is due (the link is polled at least every sample)
        now = clock.ticks_ms()
        wait = clock.ticks_diff(self.t_sample, now)
        d = clock.ticks_diff(self.t_tel, now)
        if d < wait:
            wait = d
        if self.scd_enabled:
            d = clock.ticks_diff(self.t_scd, now)
            if d < wait:
                wait = d
        if wait > 0:
            clock.sleep_ms(wait)

    def run(self):
        self.boot()
        while True:
            self.step()

    def summary(self):
        s = self.dec.stats
        return {"frames": self.frames, "events": self.events, "samples": self.samples,
                "commands": self.commands, "i2c_errors": self.i2c_errors, "bmp_errors": self.bmp_errors,
                "scd_errors": self.scd_errors, "rx_frame_errors": self.rx_errors(),
                "auth_failures": s["auth_failures"], "state": self.det.state, "status": self.status,
                "uptime_ms": self.uptime + (self.enc.uptime_hi << 30), "free_heap": self.hw.free_heap()}


def _after_boot(config, board, hw):
    """The node, or maintenance mode when the command asked for it before a (virtual bench) reboot;
    on a board main.py decides that at boot (maintenance.wanted)."""
    take = getattr(hw, "take_maintenance", None)
    if take is not None and take():
        from maintenance import Maintenance
        return Maintenance(config, hw, FW_VERSION)
    return Node(config, board, hw)


def main(config=None, board=None, hw=None):
    """Run the node until the hardware says stop (virtual bench); on a board, forever.
    hw: the hardware; None builds this board's (hw.make_hardware). The bench passes its own."""
    if board is None:
        board = boardfile.load("board.json")
    else:
        board = boardfile.validate(dict(board), "board")
    if config is None:
        config = configfile.load("config.json")
    else:
        config = configfile.validate(config, "config")
    if hw is None:
        hw = make_hardware(board, config)
    gc.collect()
    while True:
        node = _after_boot(config, board, hw)
        try:
            node.run()
        except hw.stop_exceptions:
            return node.summary()
        except hw.reboot_exceptions:
            hw.reset_cause = M.RESET_SOFT
            gc.collect()
