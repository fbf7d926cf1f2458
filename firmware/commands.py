# Commands from the ground: execute(node, command, param, value) -> (ACK_* result, value).
# Every command is answered with a command_ack by the node loop; REBOOT acts after its ack.
# Off the hot path (commands are rare): floats and small allocations are fine here.
from detector import CHAMBER, HABITAT
from drivers.errors import SensorError
from protocol import messages as M

# wire parameter id -> (detector parameter, wire scale, lowest, highest) in detector units
PARAM_LIMITS = {
    M.P_THRESHOLD: ("threshold", 100, 1.0, 200.0),
    M.P_DRIFT: ("drift_pa_s", 100000, 1e-5, 10.0),
    M.P_RAPID_RATE: ("rapid_rate_pa_s", 100000, 0.1, 10000.0),
    M.P_WINDOW: ("window_samples", 1, 2, 500),
    M.P_NOISE: ("noise_pa", 256, 0.01, 100.0),
    M.P_CLEAR_HOLD: ("clear_hold_ms", 1, 1000, 86400000),
    M.P_VOLUME: ("volume_l", 1, 1, 10000000),
    M.P_SUSPECT: ("suspect", 100, 1.0, 100.0),
}
MIN_SAMPLE_MS = 5
MAX_SAMPLE_MS = 60000


def _set_param(node, param, value):
    spec = PARAM_LIMITS.get(param)
    if spec is None:
        return M.ACK_BAD_ARG, 0
    name, scale, lo, hi = spec
    v = value / scale if scale != 1 else value
    if v < lo or v > hi:
        return M.ACK_BAD_ARG, value
    node.det.set(name, v)
    return M.ACK_OK, value


def _zero(node, param, value):
    if param == M.ZERO_PRESSURE_RATE:
        node.det.reset()
        return M.ACK_OK, 0
    if param == M.ZERO_COUNTERS:
        node.i2c_errors = node.bmp_errors = node.scd_errors = node.commands = 0
        for k in node.dec.stats:
            node.dec.stats[k] = 0
        return M.ACK_OK, 0
    if param == M.ZERO_CO2_FRC:
        scd = node.scd
        if scd is None or not 0 < value <= 40000:
            return (M.ACK_REJECTED if scd is None else M.ACK_BAD_ARG), 0
        try:
            scd.stop_periodic_measurement()
            corr = scd.perform_forced_recalibration(value)
            scd.start_periodic_measurement()
        except SensorError:
            node.scd_errors += 1
            node.scd = None           # re-initialised by the loop
            return M.ACK_REJECTED, 0
        return M.ACK_OK, int(corr)
    return M.ACK_BAD_ARG, 0


def execute(node, command, param, value):
    try:
        if command == M.CMD_SET_PARAM:
            return _set_param(node, param, value)
        if command == M.CMD_SET_SAMPLE_PERIOD:
            if not MIN_SAMPLE_MS <= value <= MAX_SAMPLE_MS:
                return M.ACK_BAD_ARG, value
            node.set_sample_period(value)
            return M.ACK_OK, value
        if command == M.CMD_SET_TELEMETRY_PERIOD:
            if not 20 <= value <= 3600000:
                return M.ACK_BAD_ARG, value
            node.tel_ms = value
            node.t_tel = node.clock.ticks_add(node.clock.ticks_ms(), value)
            return M.ACK_OK, value
        if command == M.CMD_ZERO:
            return _zero(node, param, value)
        if command == M.CMD_SET_AMBIENT_SOURCE:
            if param not in (M.AMBIENT_BMP, M.AMBIENT_FIXED, M.AMBIENT_NONE):
                return M.ACK_BAD_ARG, 0
            if param == M.AMBIENT_FIXED and not 70000 * 256 <= value <= 120000 * 256:
                return M.ACK_BAD_ARG, value
            node.ambient_source = param
            if param == M.AMBIENT_FIXED:
                node.ambient_fixed_q8 = value
            node.t_amb = node.clock.ticks_ms()      # apply at the next iteration
            return M.ACK_OK, value
        if command == M.CMD_SET_MODE:
            if param not in (M.MODE_HABITAT, M.MODE_CHAMBER):
                return M.ACK_BAD_ARG, 0
            node.det.set("mode", CHAMBER if param == M.MODE_CHAMBER else HABITAT)
            return M.ACK_OK, param
        if command == M.CMD_REBOOT:
            return M.ACK_OK, 0
        if command == M.CMD_REQUEST_STATUS:
            return M.ACK_OK, 0
    except (ValueError, KeyError):
        return M.ACK_BAD_ARG, value
    return M.ACK_UNKNOWN, 0
