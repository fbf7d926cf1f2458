# Firmware-side codec (MicroPython and CPython): wire integers in, finished frames out.
#
# Frame on the wire: 0x00 | COBS(header | payload | [auth block] | CRC-32 LE) | 0x00
# (docs/protocol.md). The Encoder packs into one preallocated buffer and returns a memoryview
# made once per message type, so an unsigned frame allocates nothing; a signed frame allocates
# the sha256 objects. The Decoder turns received bytes back into wire integers (the node uses it
# for its command input, tests use it on any stream).
import struct

from . import cobs
from .auth import Hmac
from .crc import crc32_check, crc32_into
from .link import COUNTERS, REBOOT, REORDERED, UNCHECKED, Rules, stream_key
from .messages import (ACK_AUTH_REQUIRED, ACK_OK, AUTH_COUNTER_SIZE, AUTH_FORMAT, AUTH_SIZE, COMMAND, COMMAND_ACK,
                               CRC_SIZE, EVENT, FLAG_AUTH, HEADER_FORMAT, HEADER_SIZE, HEARTBEAT,
                               MAX_ENCODED, MAX_RAW, MESSAGES, TELEMETRY, VERSION, payload_format)


def message_format(msg_type):
    """Full struct format (header + payload) of one message type."""
    return HEADER_FORMAT + payload_format(msg_type)


def frame_size(msg_type, signed):
    """Bytes on the wire of one frame of this type, both delimiters included."""
    raw = struct.calcsize(message_format(msg_type)) + (AUTH_SIZE if signed else 0) + CRC_SIZE
    return raw + 3  # COBS adds one byte below 254; plus the leading and trailing 0x00


class Encoder:
    """Frames for one node (or for the ground's commands to it). seq counts every frame sent.

    key: 32-byte node key to sign every frame; epoch: boot epoch u16 the node persists and
    bumps at each boot, so the (epoch, counter) pair never repeats across reboots.
    uptime_hi (0-3): bits 30-31 of uptime_ms, ORed into every header; a node counts uptime in
    2^30 ms ticks (small ints) and carries here, so its frames wrap at 2^32 as the spec says.
    Arguments are wire integers (see protocol/messages.py); out-of-range values raise
    struct.error on CPython and are truncated by MicroPython, so callers clamp.
    """

    def __init__(self, node_id, key=None, epoch=0):
        self.node_id = node_id
        self.seq = 0
        self.epoch = epoch
        self.counter = 0
        self.uptime_hi = 0            # bits 30-31 of uptime_ms, for a caller that counts in 2^30 ticks
        self._mac = Hmac(key) if key is not None else None
        self._flags = FLAG_AUTH if key is not None else 0
        self._raw = bytearray(MAX_RAW)
        self._out = bytearray(MAX_ENCODED + 2)
        signed = key is not None
        self._f_tel = message_format(TELEMETRY)
        self._f_evt = message_format(EVENT)
        self._f_hb = message_format(HEARTBEAT)
        self._f_cmd = message_format(COMMAND)
        self._f_ack = message_format(COMMAND_ACK)
        out = memoryview(self._out)
        self._v_tel = out[:frame_size(TELEMETRY, signed)]
        self._v_evt = out[:frame_size(EVENT, signed)]
        self._v_hb = out[:frame_size(HEARTBEAT, signed)]
        self._v_cmd = out[:frame_size(COMMAND, signed)]
        self._v_ack = out[:frame_size(COMMAND_ACK, signed)]
        self._n_tel = struct.calcsize(self._f_tel)
        self._n_evt = struct.calcsize(self._f_evt)
        self._n_hb = struct.calcsize(self._f_hb)
        self._n_cmd = struct.calcsize(self._f_cmd)
        self._n_ack = struct.calcsize(self._f_ack)

    def telemetry(self, uptime_ms, pressure_q8, temp_c100, co2_ppm, rh_c100, rate, stat, state, status):
        struct.pack_into(self._f_tel, self._raw, 0, VERSION, TELEMETRY, self.node_id, self._flags, self.seq,
                         uptime_ms, pressure_q8, temp_c100, co2_ppm, rh_c100, rate, stat, state, status)
        return self._finish(self._n_tel, self._v_tel)

    def event(self, uptime_ms, event, state, rate, leak_g_day, hole_um, pressure_q8):
        struct.pack_into(self._f_evt, self._raw, 0, VERSION, EVENT, self.node_id, self._flags, self.seq,
                         uptime_ms, event, state, rate, leak_g_day, hole_um, pressure_q8)
        return self._finish(self._n_evt, self._v_evt)

    def heartbeat(self, uptime_ms, fw_version, board, reset_cause, free_heap, zone, i2c_errors, bmp_errors,
                  scd_errors, rx_frame_errors, auth_failures, commands, mode):
        struct.pack_into(self._f_hb, self._raw, 0, VERSION, HEARTBEAT, self.node_id, self._flags, self.seq,
                         uptime_ms, fw_version, board, reset_cause, free_heap, zone, i2c_errors, bmp_errors,
                         scd_errors, rx_frame_errors, auth_failures, commands, mode)
        return self._finish(self._n_hb, self._v_hb)

    def command(self, uptime_ms, request_id, command, param, value):
        struct.pack_into(self._f_cmd, self._raw, 0, VERSION, COMMAND, self.node_id, self._flags, self.seq,
                         uptime_ms, request_id, command, param, value)
        return self._finish(self._n_cmd, self._v_cmd)

    def command_ack(self, uptime_ms, request_id, command, result, value):
        struct.pack_into(self._f_ack, self._raw, 0, VERSION, COMMAND_ACK, self.node_id, self._flags, self.seq,
                         uptime_ms, request_id, command, result, value)
        return self._finish(self._n_ack, self._v_ack)

    def _finish(self, n, view):
        raw = self._raw
        if self.uptime_hi:
            raw[HEADER_SIZE - 1] |= self.uptime_hi << 6     # the top byte of the u32 uptime (LE, offset 6)
        if self._mac is not None:
            struct.pack_into(AUTH_FORMAT, raw, n, self.epoch, self.counter)
            self.counter += 1
            n += AUTH_COUNTER_SIZE
            self._mac.tag_into(raw, n, n)
            n += AUTH_SIZE - AUTH_COUNTER_SIZE
        crc32_into(raw, n)
        n += CRC_SIZE
        out = self._out
        out[0] = 0
        end = cobs.encode_into(raw, n, out, 1)
        out[end] = 0
        self.seq = (self.seq + 1) & 0xFFFF
        return view


class Decoder:
    """Portable stream decoder: feed(bytes), then pop() frames until it returns None; flush() at the
    end of the input (a last frame whose trailing delimiter never came is then judged too).

    A frame is (status, msg_type, node_id, seq, uptime_ms, authenticated, values) with values the
    wire integers in messages.py order (ASCII fields as bytes). status is ACK_OK, or
    ACK_AUTH_REQUIRED for an unsigned command to a node that has a key (answer it, never run it).

    keys: {node_id: 32-byte key}; a decoder with keys refuses unsigned frames from other nodes
    (`unknown_nodes`) unless they are in allow_unsigned. node_id: set on a node: only COMMAND
    frames addressed to it are taken, others are counted as ignored. The rules are protocol.link's
    (shared with ground.wire); counters are in .stats (COUNTERS plus "ignored" and "dropped").
    """

    def __init__(self, keys=None, node_id=None, key=None, queue=8, allow_unsigned=None):
        macs = {}
        if key is not None:
            keys = {node_id: key}
        if keys:
            for nid in keys:
                macs[nid] = Hmac(keys[nid])
        self.node_id = node_id
        self.stats = {}
        for name in COUNTERS:
            self.stats[name] = 0
        self.stats["ignored"] = 0
        self.stats["dropped"] = 0
        layouts = {}
        for t in MESSAGES:
            layouts[t] = (_unpacker(message_format(t)), struct.calcsize(message_format(t)))
        self.rules = Rules(layouts, macs, allow_unsigned, None, node_id)
        self.replay = self.rules.replay
        self._queue = []
        self._queue_max = queue
        self._buf = bytearray(MAX_ENCODED)
        self._raw = bytearray(MAX_RAW)
        self._n = 0
        self._over = False

    def feed(self, data):
        stats = self.stats
        stats["bytes"] += len(data)
        buf = self._buf
        for b in data:
            if b == 0:
                self.flush()
            elif self._over:
                stats["skipped_bytes"] += 1
            elif self._n == MAX_ENCODED:
                # more than MAX_ENCODED bytes without a delimiter: drop them and the rest of the run
                self._over = True
                stats["oversize"] += 1
                stats["skipped_bytes"] += self._n + 1
                self._n = 0
            else:
                buf[self._n] = b
                self._n += 1

    def flush(self):
        """End of input (or a delimiter): judge the bytes collected since the last delimiter."""
        if self._n:
            self._frame(self._n)
        self._n = 0
        self._over = False

    def last_command_counter(self):
        """(epoch, counter) of the last signed command accepted for this node, or None: persist it."""
        return self.replay.last(stream_key(self.node_id, COMMAND))

    def restore_command_counter(self, epoch, counter):
        """After a reboot, refuse commands not newer than the persisted pair (no replays across boots)."""
        self.replay.accept(stream_key(self.node_id, COMMAND), epoch, counter)

    def pop(self):
        if self._queue:
            return self._queue.pop(0)
        return None

    def _reject(self, counter, n):
        self.stats[counter] += 1
        self.stats["skipped_bytes"] += n

    def _frame(self, n):
        raw = self._raw
        size = cobs.decode_into(self._buf, 0, n, raw)
        if size < HEADER_SIZE + CRC_SIZE or not crc32_check(raw, size):
            return self._reject("crc_failures", n)
        rules = self.rules
        v = rules.judge(raw, size)
        if v is None:
            return self._reject(rules.verdict, n)
        stats = self.stats
        got = rules.got
        status = ACK_OK
        if got == UNCHECKED:
            self._reject(rules.verdict, n)
            status = ACK_AUTH_REQUIRED
        else:
            if got == REORDERED:
                stats["reordered"] += 1
            elif got == REBOOT:
                stats["reboots"] += 1
            else:
                stats["gaps"] += got
            stats["frames"] += 1
        if len(self._queue) >= self._queue_max:
            self._queue.pop(0)
            stats["dropped"] += 1
        self._queue.append((status, v[1], v[2], v[4], v[5], bool(v[3] & FLAG_AUTH), v[6:]))
        return None


def _unpacker(fmt):
    return lambda buf: struct.unpack_from(fmt, buf, 0)
