# Commands from the ground: execute(node, command, param, value) -> (ACK_* result, value).
# Every command is answered with a command_ack by the node loop; REBOOT acts after its ack.
# Off the hot path (commands are rare): floats and small allocations are fine here.
from detector import CHAMBER, HABITAT
from drivers.errors import SensorError
from protocol import messages as M

# Limits live in protocol/messages.py (check_command): the ground checks the same table before sending.


def _set_param(node, param, value):
    spec = M.PARAMS.get(param)
    if spec is None:
        return M.ACK_BAD_ARG, 0
    if M.check_command(M.CMD_SET_PARAM, param, value) is not None:
        return M.ACK_BAD_ARG, value
    name, scale = spec
    node.det.set(name, value / scale if scale != 1 else value)
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
        if scd is None or M.check_command(M.CMD_ZERO, param, value) is not None:
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
            if M.check_command(command, param, value) is not None:
                return M.ACK_BAD_ARG, value
            node.set_sample_period(value)
            return M.ACK_OK, value
        if command == M.CMD_SET_TELEMETRY_PERIOD:
            if M.check_command(command, param, value) is not None:
                return M.ACK_BAD_ARG, value
            node.tel_ms = value
            node.t_tel = node.clock.ticks_add(node.clock.ticks_ms(), value)
            return M.ACK_OK, value
        if command == M.CMD_ZERO:
            return _zero(node, param, value)
        if command == M.CMD_SET_AMBIENT_SOURCE:
            if param not in (M.AMBIENT_BMP, M.AMBIENT_FIXED, M.AMBIENT_NONE):
                return M.ACK_BAD_ARG, 0
            if M.check_command(command, param, value) is not None:
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
        if command == M.CMD_MAINTENANCE:          # acts after its ack (node.poll_link)
            return M.ACK_OK, 0
    except (ValueError, KeyError):
        return M.ACK_BAD_ARG, value
    return M.ACK_UNKNOWN, 0
