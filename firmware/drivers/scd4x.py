"""Sensirion SCD40/SCD41 CO2 sensor over I2C (MicroPython and CPython, any machine.I2C-like bus).

    from machine import I2C, Pin
    from drivers.scd4x import SCD4x
    scd = SCD4x(I2C(0, sda=Pin(4), scl=Pin(5)))     # wait 1 s after power-up before the first command
    scd.stop_periodic_measurement()                 # in case a previous run left it measuring
    scd.start_periodic_measurement()                # a new value every 5 s
    reading = scd.read()                            # (co2_ppm, temperature_c, rh_pct) or None if no new data
    out = [0, 0, 0]
    if scd.read_fixed(out): ...                     # ppm, 0.01 degC, 0.01 %RH; allocates nothing
    scd.set_ambient_pressure(pressure_pa)           # NDIR reads molecule density: feed the BMP280 pressure

Every word read is CRC-checked (CRC-8, poly 0x31, init 0xFF), every word written carries its CRC.
Commands the sensor refuses during periodic measurement raise SensorError(STATE) before touching the
bus. Waits go through `clock.sleep_ms` (default: time), so a virtual clock drives them on the bench.
"""
from drivers import default_clock
from drivers.errors import ARG, CRC, FAILED, RANGE, STATE, SensorError, const, read_into, write

IDLE = const(0)
PERIODIC = const(1)
LOW_POWER = const(2)
POWER_DOWN = const(3)

# command words (datasheet v1.3) and execution times in ms
START_PERIODIC = const(0x21B1)
READ_MEASUREMENT = const(0xEC05)
STOP_PERIODIC = const(0x3F86)
SET_TEMPERATURE_OFFSET = const(0x241D)
GET_TEMPERATURE_OFFSET = const(0x2318)
SET_ALTITUDE = const(0x2427)
GET_ALTITUDE = const(0x2322)
AMBIENT_PRESSURE = const(0xE000)
FORCED_RECALIBRATION = const(0x362F)
SET_ASC = const(0x2416)
GET_ASC = const(0x2313)
START_LOW_POWER = const(0x21AC)
GET_DATA_READY = const(0xE4B8)
PERSIST = const(0x3615)
SERIAL_NUMBER = const(0x3682)
SELF_TEST = const(0x3639)
FACTORY_RESET = const(0x3632)
REINIT = const(0x3646)
SINGLE_SHOT = const(0x219D)
SINGLE_SHOT_RHT = const(0x2196)
POWER_DOWN_CMD = const(0x36E0)
WAKE_UP = const(0x36F6)

# Commands the sensor accepts while measuring periodically; every other one is refused.
_PERIODIC_OK = (READ_MEASUREMENT, STOP_PERIODIC, AMBIENT_PRESSURE, GET_DATA_READY)
_MAX_PPM = const(40000)


def _table():
    t = bytearray(256)
    for i in range(256):
        c = i
        for _ in range(8):
            c = ((c << 1) ^ 0x31) & 0xFF if c & 0x80 else (c << 1) & 0xFF
        t[i] = c
    return t


_CRC_TABLE = _table()


def crc8(buf, start=0, n=2):
    """Sensirion CRC-8 of buf[start:start+n] (poly 0x31, init 0xFF); crc8(b'\\xbe\\xef') == 0x92."""
    c = 0xFF
    for i in range(start, start + n):
        c = _CRC_TABLE[c ^ buf[i]]
    return c


class SCD4x:
    """SCD40/SCD41. The driver tracks the sensor's mode from its own commands to refuse early."""

    def __init__(self, i2c, address=0x62, clock=None):
        self.i2c = i2c
        self.address = address
        self.clock = clock if clock is not None else default_clock()
        self._w = bytearray(5)                 # command word + one argument word + CRC
        self._cmd = memoryview(self._w)[0:2]
        self._r = bytearray(9)                 # up to three words with CRCs
        self._r3 = memoryview(self._r)[0:3]
        self._r9 = memoryview(self._r)[0:9]
        self._out = [0, 0, 0]
        self._mode = IDLE
        self._discard = False

    @property
    def mode(self):
        return self._mode

    # --- command primitives ---------------------------------------------------------------------
    def _allowed(self, cmd):
        if self._mode == POWER_DOWN and cmd != WAKE_UP:
            raise SensorError(STATE, "SCD4x is powered down: wake_up() first")
        if self._mode in (PERIODIC, LOW_POWER) and cmd not in _PERIODIC_OK:
            raise SensorError(STATE, "SCD4x refuses command 0x%04x during periodic measurement" % cmd)

    def _send(self, cmd, wait_ms):
        self._allowed(cmd)
        w = self._w
        w[0] = cmd >> 8
        w[1] = cmd & 0xFF
        write(self.i2c, self.address, self._cmd, "SCD4x command", cmd)
        if wait_ms:
            self.clock.sleep_ms(wait_ms)

    def _send_word(self, cmd, word, wait_ms):
        self._allowed(cmd)
        w = self._w
        w[0] = cmd >> 8
        w[1] = cmd & 0xFF
        w[2] = word >> 8
        w[3] = word & 0xFF
        w[4] = crc8(w, 2)
        write(self.i2c, self.address, w, "SCD4x command", cmd)
        if wait_ms:
            self.clock.sleep_ms(wait_ms)

    def _read_words(self, buf, n):
        """Read n words (with CRCs) into buf; the words stay in the buffer, CRC-checked."""
        read_into(self.i2c, self.address, buf, "SCD4x read")
        for i in range(0, 3 * n, 3):
            if crc8(buf, i) != buf[i + 2]:
                raise SensorError(CRC, "SCD4x word %d CRC mismatch" % (i // 3))

    def _read_word(self, cmd, wait_ms):
        self._send(cmd, wait_ms)
        self._read_words(self._r3, 1)
        r = self._r
        return (r[0] << 8) | r[1]

    # --- periodic measurement -----------------------------------------------------------------
    def start_periodic_measurement(self):
        self._send(START_PERIODIC, 0)
        self._mode = PERIODIC

    def start_low_power_periodic_measurement(self):
        self._send(START_LOW_POWER, 0)
        self._mode = LOW_POWER

    def stop_periodic_measurement(self):
        """Also safe when the sensor was left measuring by an earlier run (the driver did not know)."""
        if self._mode == POWER_DOWN:
            raise SensorError(STATE, "SCD4x is powered down: wake_up() first")
        self._mode = IDLE
        w = self._w
        w[0] = STOP_PERIODIC >> 8
        w[1] = STOP_PERIODIC & 0xFF
        write(self.i2c, self.address, self._cmd, "SCD4x command", STOP_PERIODIC)
        self.clock.sleep_ms(500)

    def get_data_ready_status(self):
        return (self._read_word(GET_DATA_READY, 1) & 0x07FF) != 0

    def read_fixed(self, out):
        """out[0] CO2 ppm, out[1] 0.01 degC, out[2] 0.01 %RH; False (out untouched) when no new data."""
        if not self.get_data_ready_status():
            return False
        self._send(READ_MEASUREMENT, 1)
        self._read_words(self._r9, 3)
        r = self._r
        co2 = (r[0] << 8) | r[1]
        if co2 > _MAX_PPM:
            raise SensorError(RANGE, "SCD4x CO2 beyond 40000 ppm")
        if self._discard:                        # first reading after wake_up is not valid
            self._discard = False
            return False
        t = (r[3] << 8) | r[4]
        h = (r[6] << 8) | r[7]
        # 0.01 degC = -4500 + 17500*t/65535, rounded; 17500*65535 > 2^30, so divide in two steps.
        a = t * 4375
        qa = a // 65535
        out[0] = co2
        out[1] = -4500 + 4 * qa + (4 * (a - qa * 65535) + 32767) // 65535
        out[2] = (10000 * h + 32767) // 65535
        return True

    def read(self):
        """(co2_ppm, temperature_c, rh_pct) or None when no new data since the last read."""
        out = self._out
        if not self.read_fixed(out):
            return None
        return out[0], out[1] / 100, out[2] / 100

    # --- settings -------------------------------------------------------------------------------
    def set_ambient_pressure(self, pressure_pa):
        """NDIR compensation; sent in hPa, valid 700..1200 hPa (also allowed during measurement)."""
        hpa = int(pressure_pa + 50) // 100
        if hpa < 700 or hpa > 1200:
            raise SensorError(ARG, "ambient pressure %d hPa outside 700..1200" % hpa)
        self._send_word(AMBIENT_PRESSURE, hpa, 1)

    def get_ambient_pressure(self):
        """Pa (the sensor stores whole hPa)."""
        return self._read_word(AMBIENT_PRESSURE, 1) * 100

    def set_temperature_offset(self, offset_c):
        word = int(offset_c * 65535 / 175 + 0.5)
        if word < 0 or word > 0xFFFF:
            raise SensorError(ARG, "temperature offset must be 0..175 degC")
        self._send_word(SET_TEMPERATURE_OFFSET, word, 1)

    def get_temperature_offset(self):
        return self._read_word(GET_TEMPERATURE_OFFSET, 1) * 175 / 65535

    def set_sensor_altitude(self, altitude_m):
        if altitude_m < 0 or altitude_m > 3000:
            raise SensorError(ARG, "altitude must be 0..3000 m")
        self._send_word(SET_ALTITUDE, int(altitude_m), 1)

    def get_sensor_altitude(self):
        return self._read_word(GET_ALTITUDE, 1)

    def set_automatic_self_calibration(self, enabled):
        self._send_word(SET_ASC, 1 if enabled else 0, 1)

    def get_automatic_self_calibration(self):
        return self._read_word(GET_ASC, 1) != 0

    def perform_forced_recalibration(self, target_ppm):
        """Returns the correction in ppm; SensorError(FAILED) when the sensor reports 0xFFFF."""
        if target_ppm < 0 or target_ppm > 0xFFFF:
            raise SensorError(ARG, "target must be 0..65535 ppm")
        self._send_word(FORCED_RECALIBRATION, target_ppm, 400)
        self._read_words(self._r3, 1)
        r = self._r
        word = (r[0] << 8) | r[1]
        if word == 0xFFFF:
            raise SensorError(FAILED, "SCD4x forced recalibration failed (measure >= 3 min first)")
        return word - 0x8000

    def persist_settings(self):
        self._send(PERSIST, 800)

    def get_serial_number(self):
        self._send(SERIAL_NUMBER, 1)
        self._read_words(self._r9, 3)
        r = self._r
        return (((r[0] << 8) | r[1]) << 32) | (((r[3] << 8) | r[4]) << 16) | ((r[6] << 8) | r[7])

    @property
    def serial_number(self):
        """The 48-bit serial, as Adafruit's driver names it (the same read as get_serial_number())."""
        return self.get_serial_number()

    def perform_self_test(self):
        """Takes 10 s; SensorError(FAILED) when the sensor reports a malfunction."""
        self._send(SELF_TEST, 10000)
        self._read_words(self._r3, 1)
        r = self._r
        if r[0] or r[1]:
            raise SensorError(FAILED, "SCD4x self-test reports 0x%02x%02x" % (r[0], r[1]))

    def perform_factory_reset(self):
        self._send(FACTORY_RESET, 1200)

    def reinit(self):
        self._send(REINIT, 30)

    # --- SCD41 only ------------------------------------------------------------------------------
    def measure_single_shot(self):
        """SCD41: one CO2+T+RH measurement (5 s); then read() it."""
        self._send(SINGLE_SHOT, 5000)

    def measure_single_shot_rht_only(self):
        """SCD41: T and RH only (50 ms); CO2 reads 0."""
        self._send(SINGLE_SHOT_RHT, 50)

    def power_down(self):
        self._send(POWER_DOWN_CMD, 1)
        self._mode = POWER_DOWN

    def wake_up(self):
        """The sensor never ACKs wake_up, so a bus error here is expected; the next reading is discarded."""
        if self._mode != POWER_DOWN:
            raise SensorError(STATE, "SCD4x is not powered down")
        w = self._w
        w[0] = WAKE_UP >> 8
        w[1] = WAKE_UP & 0xFF
        try:
            self.i2c.writeto(self.address, self._cmd)
        except OSError:
            pass
        self.clock.sleep_ms(30)
        self._mode = IDLE
        self._discard = True
