# safehaven wire protocol: the single source of every message layout and protocol constant.
# Plain tables, usable from MicroPython (firmware codec) and CPython (ground construct/struct
# declarations). docs/protocol.md is the normative prose; this file is what code reads.
#
# A field is (name, struct code, scale): the SI value is wire_int / scale. Scale 0 marks a
# fixed-size ASCII field (struct "Ns"), decoded as text with trailing NULs removed.
try:
    from micropython import const
except ImportError:
    def const(x):  # type: ignore[no-redef,misc]
        return x

VERSION = const(1)

# ---- framing ----------------------------------------------------------------------------
HEADER_FORMAT = "<BBBBHI"      # version, msg_type, node_id, flags, seq, uptime_ms
HEADER_SIZE = const(10)
CRC_SIZE = const(4)            # CRC-32 (IEEE, as binascii.crc32), little-endian, last in the frame
MAX_RAW = const(253)           # header + payload + auth block + CRC, before COBS
MAX_ENCODED = const(254)       # COBS bytes of one frame, without the 0x00 delimiter
DELIMITER = const(0)

FLAG_AUTH = const(0x01)        # flags bit0: an auth block follows the payload

# ---- authentication block ------------------------------------------------------------------
AUTH_FORMAT = "<HI"            # boot epoch u16 (persisted by the sender), frame counter u32
AUTH_COUNTER_SIZE = const(6)
TAG_SIZE = const(8)            # truncated HMAC-SHA256
AUTH_SIZE = const(14)          # AUTH_COUNTER_SIZE + TAG_SIZE
KEY_SIZE = const(32)

# ---- message types -----------------------------------------------------------------------
TELEMETRY = const(1)
EVENT = const(2)
HEARTBEAT = const(3)
COMMAND = const(4)             # ground -> node; the only node-bound type
COMMAND_ACK = const(5)

MESSAGES = {
    TELEMETRY: ("telemetry", (
        ("pressure_pa", "I", 256),        # Q24.8 Pa
        ("temperature_c", "h", 100),      # 0.01 degC
        ("co2_ppm", "H", 1),
        ("rh_pct", "H", 100),             # 0.01 %RH
        ("rate_pa_s", "i", 100000),       # temperature-compensated dP/dt, 1e-5 Pa/s
        ("stat", "H", 100),               # detector statistic, 0.01 (dimensionless, 100.00 = alarm threshold)
        ("state", "B", 1),                # NOMINAL..FAULT
        ("status", "H", 1),               # ST_* bits
    )),
    EVENT: ("event", (
        ("event", "B", 1),                # EV_*
        ("state", "B", 1),                # detector state after the event
        ("rate_pa_s", "i", 100000),
        ("leak_kg_day", "I", 1000),       # estimated mass loss, g/day on the wire
        ("hole_mm", "H", 1000),           # equivalent hole diameter, um on the wire
        ("pressure_pa", "I", 256),        # Q24.8 Pa
    )),
    HEARTBEAT: ("heartbeat", (
        ("fw_version", "H", 1),           # major << 8 | minor
        ("board", "B", 1),                # BOARD_*
        ("reset_cause", "B", 1),          # RESET_*
        ("free_heap", "I", 1),            # bytes
        ("zone", "8s", 0),                # ASCII zone name, NUL padded
        ("i2c_errors", "H", 1),
        ("bmp_errors", "H", 1),
        ("scd_errors", "H", 1),
        ("rx_frame_errors", "H", 1),
        ("auth_failures", "H", 1),
        ("commands", "H", 1),             # commands accepted since boot
        ("mode", "B", 1),                 # MODE_*
    )),
    COMMAND: ("command", (
        ("request_id", "H", 1),
        ("command", "B", 1),              # CMD_*
        ("param", "B", 1),                # P_* / mode / source, per command
        ("value", "i", 1),
    )),
    COMMAND_ACK: ("command_ack", (
        ("request_id", "H", 1),
        ("command", "B", 1),
        ("result", "B", 1),               # ACK_*
        ("value", "i", 1),
    )),
}

# ---- detector states (telemetry.state, event.state) -------------------------------------------
NOMINAL = const(0)
SUSPECT = const(1)
LEAK = const(2)
RAPID = const(3)
FAULT = const(4)
STATE_NAMES = ("nominal", "suspect", "leak", "rapid", "fault")

# ---- event codes (event.event) -------------------------------------------------------------
EV_BOOT = const(0)
EV_LEAK_DETECTED = const(1)   # a habitat's slow leak: sent again once its rate is known to 10 % (a revision)
EV_LEAK_CLEARED = const(2)
EV_RAPID = const(3)           # a sustained fall; sent again ~1.6 s after its onset with a refined estimate
EV_SENSOR_FAULT = const(4)
EV_SENSOR_RECOVERED = const(5)
EV_TRANSIENT = const(6)       # a fall that stopped or reversed within ~1 s (hatch, valve pulse): never RAPID
LOSS_UNMEASURED = const(0)    # event.leak_kg_day and hole_mm (wire) of an alarm whose loss is not yet
                              # measured: a habitat's CUSUM LEAK until its refined EV_LEAK_DETECTED; a
                              # measured loss is sent as 1 g/day and 1 um at least
EVENT_NAMES = ("boot", "leak_detected", "leak_cleared", "rapid", "sensor_fault", "sensor_recovered",
               "transient")

# ---- status bits (telemetry.status) -----------------------------------------------------------
ST_BMP_FAULT = const(0x0001)          # BMP280 not answering / failed reads
ST_SCD_FAULT = const(0x0002)
ST_BMP_STALE = const(0x0004)          # value unchanged too long
ST_SCD_STALE = const(0x0008)
ST_OUT_OF_RANGE = const(0x0010)       # pressure outside the BMP280's 300-1100 hPa: value not trustworthy
ST_CO2_UNCOMPENSATED = const(0x0020)  # SCD4x not fed the ambient pressure
ST_WARMUP = const(0x0040)             # detector still learning its baseline
ST_CALIBRATING = const(0x0080)
ST_AUTH_ENABLED = const(0x0100)       # node has a key and rejects unsigned commands
ST_TRANSIENT = const(0x0200)          # inside a pressure step or pulse (hatch, valve): alarms held
TRANSIENT_MAX_S = const(300)          # a pulse's ST_TRANSIENT lasts until its recovery settles, at most this
STATUS_BITS = (
    (ST_BMP_FAULT, "bmp_fault"), (ST_SCD_FAULT, "scd_fault"), (ST_BMP_STALE, "bmp_stale"),
    (ST_SCD_STALE, "scd_stale"), (ST_OUT_OF_RANGE, "out_of_range"),
    (ST_CO2_UNCOMPENSATED, "co2_uncompensated"), (ST_WARMUP, "warmup"),
    (ST_CALIBRATING, "calibrating"), (ST_AUTH_ENABLED, "auth_enabled"), (ST_TRANSIENT, "transient"),
)

# ---- commands (command.command) ------------------------------------------------------------
CMD_SET_PARAM = const(1)              # param = P_*, value in that parameter's wire scale
CMD_SET_SAMPLE_PERIOD = const(2)      # value = sample period, ms
CMD_SET_TELEMETRY_PERIOD = const(3)   # value = telemetry period, ms
CMD_ZERO = const(4)                   # param = ZERO_*; value = reference (e.g. CO2 ppm for FRC)
CMD_SET_AMBIENT_SOURCE = const(5)     # param = AMBIENT_*; value = Q24.8 Pa for AMBIENT_FIXED
CMD_SET_MODE = const(6)               # param = MODE_*
CMD_REBOOT = const(7)
CMD_REQUEST_STATUS = const(8)         # node answers with a heartbeat
CMD_MAINTENANCE = const(9)            # node reboots into maintenance mode (REPL free, no watchdog), after its ack
COMMAND_NAMES = {
    CMD_SET_PARAM: "set_param", CMD_SET_SAMPLE_PERIOD: "set_sample_period",
    CMD_SET_TELEMETRY_PERIOD: "set_telemetry_period", CMD_ZERO: "zero",
    CMD_SET_AMBIENT_SOURCE: "set_ambient_source", CMD_SET_MODE: "set_mode",
    CMD_REBOOT: "reboot", CMD_REQUEST_STATUS: "request_status", CMD_MAINTENANCE: "maintenance",
}

# Detector parameters for CMD_SET_PARAM: id -> (name, scale of value on the wire).
P_THRESHOLD = const(1)        # CUSUM alarm level as ln(gamma), gamma the blocks between false alarms; 0.01
P_DRIFT = const(2)            # CUSUM allowance k, 1e-5 Pa/s
P_RAPID_RATE = const(3)       # |dP/dt| that declares RAPID, 1e-5 Pa/s
P_WINDOW = const(4)           # slope window, samples
P_NOISE = const(5)            # pressure noise sigma, Q24.8 Pa
P_CLEAR_HOLD = const(6)       # time below threshold before LEAK clears, ms
P_VOLUME = const(7)           # enclosed volume for leak estimates, litres
P_SUSPECT = const(8)          # statistic that raises SUSPECT, 0.01
PARAMS = {
    P_THRESHOLD: ("threshold", 100), P_DRIFT: ("drift_pa_s", 100000),
    P_RAPID_RATE: ("rapid_rate_pa_s", 100000), P_WINDOW: ("window_samples", 1),
    P_NOISE: ("noise_pa", 256), P_CLEAR_HOLD: ("clear_hold_ms", 1),
    P_VOLUME: ("volume_l", 1), P_SUSPECT: ("suspect", 100),
}

# Command limits: what `safehaven send` accepts and what the node enforces, one table for both ends.
# Values are checked on the wire integer as the node sees it (wire / scale for set_param).
# set_param: parameter id -> (lowest, highest) in the parameter's SI unit.
PARAM_LIMITS = {
    P_THRESHOLD: (1.0, 200.0), P_DRIFT: (1e-5, 10.0), P_RAPID_RATE: (0.1, 10000.0),
    P_WINDOW: (2, 500), P_NOISE: (0.01, 100.0), P_CLEAR_HOLD: (1000, 86400000),
    P_VOLUME: (1, 10000000), P_SUSPECT: (1.0, 100.0),
}
SAMPLE_PERIOD_MS = (5, 60000)
TELEMETRY_PERIOD_MS = (20, 3600000)
AMBIENT_FIXED_PA = (70000, 120000)     # sent as Q24.8
CO2_FRC_PPM = (1, 40000)               # forced recalibration reference

ZERO_PRESSURE_RATE = const(0)  # re-learn the pressure baseline / rate offset
ZERO_CO2_FRC = const(1)        # SCD4x forced recalibration to value ppm
ZERO_COUNTERS = const(2)       # clear the error counters

AMBIENT_BMP = const(0)         # feed the node's own BMP280 pressure to the SCD4x
AMBIENT_FIXED = const(1)       # use value (Q24.8 Pa)
AMBIENT_NONE = const(2)        # leave the SCD4x uncompensated

MODE_HABITAT = const(0)
MODE_CHAMBER = const(1)
MODE_NAMES = ("habitat", "chamber")   # the modes set_mode takes
MODE_MAINTENANCE = const(2)           # heartbeat.mode only: in maintenance mode (sensors idle, REPL free)
HEARTBEAT_MODE_NAMES = ("habitat", "chamber", "maintenance")

# ---- command results (command_ack.result) -------------------------------------------------------
ACK_OK = const(0)
ACK_BAD_ARG = const(1)
ACK_UNKNOWN = const(2)
ACK_AUTH_REQUIRED = const(3)
ACK_REJECTED = const(4)
ACK_NAMES = ("ok", "bad_arg", "unknown", "auth_required", "rejected")

# ---- boards (heartbeat.board) --------------------------------------------------------------
BOARD_UNKNOWN = const(0)
BOARD_RP2040 = const(1)
BOARD_RP2350 = const(2)
BOARD_ESP32 = const(3)
BOARD_VIRTUAL = const(4)
BOARD_NAMES = ("unknown", "rp2040", "rp2350", "esp32", "virtual")

# ---- reset causes (heartbeat.reset_cause) --------------------------------------------------------
RESET_UNKNOWN = const(0)
RESET_POWER_ON = const(1)
RESET_HARD = const(2)
RESET_WATCHDOG = const(3)
RESET_SOFT = const(4)
RESET_DEEPSLEEP = const(5)
RESET_BROWNOUT = const(6)
RESET_NAMES = ("unknown", "power_on", "hard", "watchdog", "soft", "deepsleep", "brownout")


def payload_format(msg_type):
    """struct format of a message's payload (no byte-order prefix)."""
    fmt = ""
    for field in MESSAGES[msg_type][1]:
        fmt += field[1]
    return fmt


def type_by_name(name):
    for msg_type in MESSAGES:
        if MESSAGES[msg_type][0] == name:
            return msg_type
    return None


def check_command(command, param, value):
    """None if the node accepts (command, param, value) as wire integers, else what is wrong.
    Used by the node before acting and by the ground before sending (off the hot path)."""
    if not 0 <= param <= 255:
        return "param %d outside 0..255" % param
    lim = None
    if command == CMD_SET_PARAM:
        if param not in PARAMS:
            return "unknown parameter %d" % param
        lim = PARAM_LIMITS[param]
        scale = PARAMS[param][1]
        v = value / scale if scale != 1 else value
        unit = PARAMS[param][0]
    elif command == CMD_SET_SAMPLE_PERIOD:
        lim, v, unit = SAMPLE_PERIOD_MS, value, "sample period ms"
    elif command == CMD_SET_TELEMETRY_PERIOD:
        lim, v, unit = TELEMETRY_PERIOD_MS, value, "telemetry period ms"
    elif command == CMD_ZERO:
        if param not in (ZERO_PRESSURE_RATE, ZERO_CO2_FRC, ZERO_COUNTERS):
            return "unknown zero target %d" % param
        if param == ZERO_CO2_FRC:
            lim, v, unit = CO2_FRC_PPM, value, "CO2 reference ppm"
    elif command == CMD_SET_AMBIENT_SOURCE:
        if param not in (AMBIENT_BMP, AMBIENT_FIXED, AMBIENT_NONE):
            return "unknown ambient source %d" % param
        if param == AMBIENT_FIXED:
            lim, v, unit = AMBIENT_FIXED_PA, value / 256, "ambient pressure Pa"
    elif command == CMD_SET_MODE:
        if param not in (MODE_HABITAT, MODE_CHAMBER):
            return "unknown mode %d" % param
    elif command not in COMMAND_NAMES:
        return "unknown command %d" % command
    if lim is not None and not lim[0] <= v <= lim[1]:
        return "%s %s outside %s..%s" % (unit, v, lim[0], lim[1])
    if not -0x80000000 <= value <= 0x7FFFFFFF:
        return "value %d outside the wire's int32" % value
    return None
