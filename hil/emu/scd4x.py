"""Command-level SCD40/SCD41 emulator (CPython and MicroPython): attach to hil.emu.bus.I2CBus at 0x62.

    dev = bus.attach(0x62, SCD4xEmu(truth, clock, model="scd41"))
    dev.faults.set(crc_corrupt=0.5)

What the datasheet says the chip does, at the level of I2C transactions: 1000 ms after power-up
before it answers; a 16-bit command, then argument words each with CRC-8; the chip does not ACK
while a command executes; state machine idle / periodic (5 s) / low-power periodic (30 s) /
single shot (SCD41) / power-down (SCD41, wake_up never ACKed); data ready flag; read_measurement
NACKed when no new data and clearing the buffer; commands not allowed during periodic measurement
NACKed. Measurement model: 60 s first-order CO2 response, NDIR reading proportional to pressure and
corrected by the ambient pressure (set_ambient_pressure, else the altitude setting), per-part
accuracy within the datasheet's +-(40 or 50 ppm + 5 %), repeatability +-10 ppm, temperature
self-heating removed by the temperature offset setting (default 4 degC).
"""
import math

from .clock import Elapsed
from .faults import Faults
from .prng import PRNG

ENODEV = 19
EIO = 5
IDLE, PERIODIC, LOW_POWER, SINGLE, SLEEP = 0, 1, 2, 3, 4
DEFAULT_SERIAL = 0xF8969F073BBE
POWER_UP_MS = 1000
SELF_HEATING_C = 4.0
TAU_CO2_S = 60.0

# code: (execution ms, argument words, response words, allowed in periodic, models)
_CMDS = {
    0x21B1: (0, 0, 0, False, 2),   # start_periodic_measurement
    0xEC05: (1, 0, 3, True, 2),    # read_measurement
    0x3F86: (500, 0, 0, True, 2),  # stop_periodic_measurement
    0x241D: (1, 1, 0, False, 2),   # set_temperature_offset
    0x2318: (1, 0, 1, False, 2),   # get_temperature_offset
    0x2427: (1, 1, 0, False, 2),   # set_sensor_altitude
    0x2322: (1, 0, 1, False, 2),   # get_sensor_altitude
    0xE000: (1, -1, 1, True, 2),   # set (1 word) / get (read) ambient pressure
    0x362F: (400, 1, 1, False, 2),  # perform_forced_recalibration
    0x2416: (1, 1, 0, False, 2),   # set_automatic_self_calibration_enabled
    0x2313: (1, 0, 1, False, 2),   # get_automatic_self_calibration_enabled
    0x21AC: (0, 0, 0, False, 2),   # start_low_power_periodic_measurement
    0xE4B8: (1, 0, 1, True, 2),    # get_data_ready_status
    0x3615: (800, 0, 0, False, 2),  # persist_settings
    0x3682: (1, 0, 3, False, 2),   # get_serial_number
    0x3639: (10000, 0, 1, False, 2),  # perform_self_test
    0x3632: (1200, 0, 0, False, 2),  # perform_factory_reset
    0x3646: (20, 0, 0, False, 2),  # reinit
    0x219D: (5000, 0, 0, False, 1),  # measure_single_shot (SCD41)
    0x2196: (50, 0, 0, False, 1),  # measure_single_shot_rht_only (SCD41)
    0x36E0: (1, 0, 0, False, 1),   # power_down (SCD41)
    0x36F6: (20, 0, 0, False, 1),  # wake_up (SCD41)
}


def crc8(data, start=0, n=2):
    """CRC-8 poly 0x31, init 0xFF (bitwise, independent of the driver's table)."""
    c = 0xFF
    for i in range(start, start + n):
        c ^= data[i]
        for _ in range(8):
            c = ((c << 1) ^ 0x31) & 0xFF if c & 0x80 else (c << 1) & 0xFF
    return c


def words_with_crc(words):
    out = bytearray()
    for w in words:
        b = bytes(((w >> 8) & 0xFF, w & 0xFF))
        out += b
        out.append(crc8(b))
    return bytes(out)


def _default_settings():
    return {"t_offset": int(SELF_HEATING_C * 65535 / 175 + 0.5), "altitude_m": 0, "asc": 1, "frc_ppm": 0.0}


class SCD4xEmu:
    def __init__(self, truth, clock, model="scd41", seed=1, address=0x62, serial=DEFAULT_SERIAL, accuracy=True):
        if model not in ("scd40", "scd41"):
            raise ValueError("model must be 'scd40' or 'scd41'")
        self.truth = truth
        self.clock = clock
        self.model = model
        self.address = address
        self.serial = serial
        self.prng = PRNG(seed)
        self.faults = Faults(seed)
        self.time = Elapsed(clock)
        # Per-part calibration error inside the datasheet accuracy (3 sigma = the spec); accuracy=False
        # makes an ideal part (drawn all the same, so the noise sequence does not change).
        base = 40.0 if model == "scd41" else 50.0
        on = 1.0 if accuracy else 0.0
        self.co2_offset_ppm = on * self._bounded(base / 3, base)
        self.co2_gain = 1.0 + on * self._bounded(0.05 / 3, 0.05)
        self.t_error_c = on * self._bounded(0.8 / 3, 0.8)
        self.rh_error_pct = on * self._bounded(6.0 / 3, 6.0)
        self.repeatability_ppm = 10.0 / 2       # +-10 ppm read as 2 sigma
        self.eeprom = _default_settings()
        self.settings = dict(self.eeprom)
        self.ambient_hpa = 0                     # 0: use the altitude setting
        self.state = IDLE
        self.busy_until_us = POWER_UP_MS * 1000  # not answering until power-up is done
        self.response = None                     # words the next read returns
        self.ready = False
        self.data = (0, 0, 0)
        self.wake_pending = False
        self.periodic_s = 0.0                    # total time spent measuring (FRC needs >= 3 min)
        self._co2_lag = None
        self._last_model_us = None
        self._next_us = None
        self.commands = []                       # the last command words received (at most 256), for tests

    def _bounded(self, sigma, limit):
        return max(-limit, min(limit, self.prng.gauss(sigma)))

    # --- measurement model ----------------------------------------------------------------------
    def _reference_pa(self):
        if self.ambient_hpa:
            return self.ambient_hpa * 100.0
        return 101325.0 * math.pow(1 - 2.25577e-5 * self.settings["altitude_m"], 5.25588)

    def _measure(self, now_us, co2=True):
        truth = self.truth
        truth.refresh()
        f = self.faults
        if f.stuck and self.data != (0, 0, 0):
            return self.data
        dt = 0.0 if self._last_model_us is None else (now_us - self._last_model_us) / 1e6
        self._last_model_us = now_us
        true_co2 = f.apply(truth.co2_ppm, now_us / 1e6)
        if self._co2_lag is None:
            self._co2_lag = true_co2
        else:
            self._co2_lag += (true_co2 - self._co2_lag) * (1 - math.exp(-dt / TAU_CO2_S))
        reading = self._co2_lag * truth.pressure_pa / self._reference_pa()
        reading = reading * self.co2_gain + self.co2_offset_ppm + self.settings["frc_ppm"]
        reading += self.prng.gauss(self.repeatability_ppm * f.noise_mult)
        ppm = max(0, min(40000, int(reading + 0.5))) if co2 else 0
        offset_c = self.settings["t_offset"] * 175 / 65535
        t_c = truth.temperature_c + self.t_error_c + SELF_HEATING_C - offset_c + self.prng.gauss(0.02)
        rh = truth.rh_pct + self.rh_error_pct + self.prng.gauss(0.1)
        t_word = max(0, min(65535, int((t_c + 45) * 65535 / 175 + 0.5)))
        rh_word = max(0, min(65535, int(rh * 65535 / 100 + 0.5)))
        return (ppm, t_word, rh_word)

    def _advance(self):
        now = self.time.update()
        if self.state in (PERIODIC, LOW_POWER) and now >= self._next_us:
            period = 5000000 if self.state == PERIODIC else 30000000
            missed = (now - self._next_us) // period
            self._next_us += (missed + 1) * period
            self.periodic_s += (missed + 1) * period / 1e6
            self.data = self._measure(now)
            self.ready = True
        if self.state == SINGLE and now >= self.busy_until_us:
            self.data = self._measure(now, self._single_co2)
            self.ready = True
            self.state = IDLE
        return now

    # --- I2C ------------------------------------------------------------------------------------
    def i2c_write(self, reg, data):
        now = self._advance()
        if reg >= 0:                       # a memory-style write: the register byte is the first byte
            data = bytes((reg,)) + bytes(data)
        if len(data) < 2:
            raise OSError(EIO)
        cmd = (data[0] << 8) | data[1]
        if self.state == SLEEP:
            if cmd == 0x36F6:              # wake_up: executed, never ACKed
                self.state = IDLE
                self.busy_until_us = now + 20000
                self.wake_pending = True
            raise OSError(ENODEV)
        if now < self.busy_until_us:
            raise OSError(ENODEV)          # still executing the previous command
        spec = _CMDS.get(cmd)
        if spec is None or (spec[4] == 1 and self.model != "scd41"):
            raise OSError(EIO)
        exec_ms, nargs, nresp, periodic_ok, _ = spec
        if self.state in (PERIODIC, LOW_POWER) and not periodic_ok:
            raise OSError(EIO)
        args = []
        i = 2
        while i + 3 <= len(data):
            if crc8(data, i) != data[i + 2]:
                raise OSError(EIO)         # argument CRC wrong: NACKed, not executed
            args.append((data[i] << 8) | data[i + 1])
            i += 3
        if i != len(data) or (nargs >= 0 and len(args) != nargs):
            raise OSError(EIO)
        self.commands.append(cmd)
        if len(self.commands) > 256:        # bounded: long bench runs must not grow the VM's heap
            del self.commands[:128]
        self.response = None
        self.busy_until_us = now + exec_ms * 1000
        self._execute(cmd, args, now)

    def i2c_read(self, buf):
        now = self._advance()
        if self.state == SLEEP or now < self.busy_until_us or self.response is None:
            raise OSError(ENODEV)
        words, self.response = self.response, None
        out = words_with_crc(words)
        if self.faults.corrupt_crc():
            k = 3 * (self.prng.next32() % len(words)) + 2
            out = out[:k] + bytes((out[k] ^ 0x5A,)) + out[k + 1:]
        n = min(len(buf), len(out))
        for i in range(n):
            buf[i] = out[i]
        for i in range(n, len(buf)):
            buf[i] = 0xFF

    # --- commands -------------------------------------------------------------------------------
    def _execute(self, cmd, args, now):
        s = self.settings
        if cmd in (0x21B1, 0x21AC):
            self.state = PERIODIC if cmd == 0x21B1 else LOW_POWER
            self._next_us = now + (5000000 if cmd == 0x21B1 else 30000000)
            self.ready = False
        elif cmd == 0xEC05:
            if not self.ready:
                return                     # the read will be NACKed
            self.ready = False
            d = self.data
            if self.wake_pending:          # the first reading after wake-up is not valid
                self.wake_pending = False
                d = (max(0, d[0] - 400), d[1], d[2])
            self.response = d
        elif cmd == 0x3F86:
            self.state = IDLE
        elif cmd == 0xE4B8:
            self.response = (0x8006 if self.ready else 0x8000,)
        elif cmd == 0x241D:
            s["t_offset"] = args[0]
        elif cmd == 0x2318:
            self.response = (s["t_offset"],)
        elif cmd == 0x2427:
            s["altitude_m"] = args[0]
        elif cmd == 0x2322:
            self.response = (s["altitude_m"],)
        elif cmd == 0xE000:
            if args:
                if 700 <= args[0] <= 1200:
                    self.ambient_hpa = args[0]
            else:
                self.response = (self.ambient_hpa or int(self._reference_pa() / 100 + 0.5),)
        elif cmd == 0x362F:
            self.response = (self._frc(args[0], now),)
        elif cmd == 0x2416:
            s["asc"] = args[0]
        elif cmd == 0x2313:
            self.response = (s["asc"],)
        elif cmd == 0x3615:
            self.eeprom = dict(s)
        elif cmd == 0x3682:
            n = self.serial
            self.response = ((n >> 32) & 0xFFFF, (n >> 16) & 0xFFFF, n & 0xFFFF)
        elif cmd == 0x3639:
            self.response = (0,)
        elif cmd == 0x3632:
            self.eeprom = _default_settings()
            self.settings = dict(self.eeprom)
        elif cmd == 0x3646:
            self.settings = dict(self.eeprom)
        elif cmd in (0x219D, 0x2196):
            self.state = SINGLE
            self._single_co2 = cmd == 0x219D
            self.ready = False
        elif cmd == 0x36E0:
            self.state = SLEEP

    def _frc(self, target_ppm, now):
        """Forced recalibration: needs >= 3 min of measuring before; returns word = correction + 0x8000."""
        if self.periodic_s < 180:
            return 0xFFFF
        current = self._measure(now)[0]
        correction = target_ppm - current
        self.settings["frc_ppm"] += correction
        return (correction + 0x8000) & 0xFFFF
