# The receiving rule book (docs/protocol.md section 6), shared by both decoders so node and ground
# accept, reject and count alike: the counter names, the replay guard for signed frames, and
# Rules.judge(), rules 4 to 7 (sequence accounting included: gaps, duplicates, late frames, reboots)
# for a frame whose COBS and CRC are already checked. Framing (rules 1 to 3) stays with each decoder: the
# ground splits bytes with C code, the node collects them into a fixed buffer.
# A stream is one sender's frames about one node: stream_key(node_id, msg_type).
import struct

from .auth import newer
from .messages import AUTH_COUNTER_SIZE, AUTH_FORMAT, AUTH_SIZE, COMMAND, CRC_SIZE, FLAG_AUTH, VERSION

# Every counter a receiver keeps, in the spec's order; NODE_COUNTERS are also kept per node.
COUNTERS = ("frames", "bytes", "skipped_bytes", "crc_failures", "auth_failures", "unknown_nodes", "replays",
            "unknown_versions", "unknown_types", "bad_lengths", "oversize", "gaps", "duplicates", "reordered",
            "reboots")
NODE_COUNTERS = ("frames", "gaps", "duplicates", "reordered", "reboots", "auth_failures", "unknown_nodes",
                 "replays")
REFUSED = ("auth_failures", "unknown_nodes", "replays")   # someone else's frames: never a node's fault

DUPLICATE = -1     # a frame already delivered (same seq and uptime as the last, or a late copy): dropped
REORDERED = -2     # a skipped frame of the current boot arriving late: delivered, counted once as late
REBOOT = -3        # the sender restarted (uptime went backwards)
UNCHECKED = -4     # Rules.got on a node: an unsigned command to a node with a key (answer it, never run it)
WINDOW = 30        # late frames are told from copies within the last WINDOW seq numbers (a small int mask)
_MASK = (1 << WINDOW) - 1


def stream_key(node_id, msg_type):
    """Node-bound commands and node frames are separate streams (separate seq, separate counters)."""
    return node_id * 2 + (1 if msg_type == COMMAND else 0)


class ReplayGuard:
    """Last accepted (epoch, counter) per stream; a signed frame must be strictly newer.

    One guard may serve several decoders (the ground shares one across all its links, so a frame
    accepted on one link is a replay on every other) and be restored from storage with accept().
    """

    def __init__(self):
        self._last = {}

    def fresh(self, stream, epoch, counter):
        last = self._last.get(stream)
        return last is None or newer(epoch, counter, last[0], last[1])

    def accept(self, stream, epoch, counter):
        self._last[stream] = (epoch, counter)

    def last(self, stream):
        """(epoch, counter) last accepted, or None; a node persists it for node-bound commands."""
        return self._last.get(stream)

    def items(self):
        """(stream, (epoch, counter)) pairs, for a receiver that persists the guard."""
        return self._last.items()


def _advance(missing, k):
    """The missing-seq mask after the stream moved k ahead (bit i: seq last-1-i was skipped)."""
    if k > WINDOW:
        return _MASK
    kept = (missing & ((1 << (WINDOW - k)) - 1)) << k if k < WINDOW else 0
    return kept | ((1 << (k - 1)) - 1)


class Rules:
    """Rules 4 to 7 of docs/protocol.md section 6 for one intact frame: the one rule book.

    layouts: {msg_type: (unpack, end)}: unpack(buf) gives the header and payload as one tuple,
    end is their size in bytes. macs: {node_id: verifier with verify(buf, n, off)}; a receiver
    that holds keys refuses unsigned frames from a node without one (`unknown_nodes`) unless the
    node is in allow_unsigned. replay: a ReplayGuard to share (one per receiver, not per link).
    node_id: set on a node, which takes only the commands addressed to it.

    judge(raw, size) returns the header and payload tuple of an accepted frame, with .got the
    sequence outcome (frames missed >= 0, REORDERED or REBOOT); otherwise None with .verdict the
    counter to count. One exception, on a node only: an unsigned command to a node with a key is
    returned with .got UNCHECKED (count it in auth_failures; answer it with ACK_AUTH_REQUIRED,
    never run it; it is not tracked).
    """

    def __init__(self, layouts, macs=None, allow_unsigned=None, replay=None, node_id=None):
        self.layouts = layouts
        self.macs = macs or {}
        self.allow = allow_unsigned or ()
        self.replay = ReplayGuard() if replay is None else replay
        # rule 7, per stream: [last_seq, last_uptime, era_seq, era_uptime, missing (bit i: seq last-1-i
        # was skipped), the uptimes of the last 32 seq numbers taken (by seq & 31): a copy from a stranger]
        self.streams = {}
        self.node_id = node_id
        self.verdict = ""
        self.got = 0

    def judge(self, raw, size):
        layout = self.layouts.get(raw[1])
        if layout is None or raw[0] != VERSION:
            self.verdict = "unknown_types" if raw[0] == VERSION else "unknown_versions"
            return None
        signed = raw[3] & FLAG_AUTH
        end = layout[1]
        if size != (end + CRC_SIZE + AUTH_SIZE if signed else end + CRC_SIZE):
            self.verdict = "bad_lengths"
            return None
        v = layout[0](raw)
        node_id = v[2]
        if self.node_id is not None and (v[1] != COMMAND or node_id != self.node_id):
            self.verdict = "ignored"
            return None
        stream = node_id * 2 + (1 if v[1] == COMMAND else 0)
        macs = self.macs
        mac = macs.get(node_id) if macs else None
        if signed:
            if mac is None or not mac.verify(raw, end + AUTH_COUNTER_SIZE, end + AUTH_COUNTER_SIZE):
                self.verdict = "auth_failures"
                return None
            epoch, counter = struct.unpack_from(AUTH_FORMAT, raw, end)
            if not self.replay.fresh(stream, epoch, counter):
                self.verdict = "replays"
                return None
        elif mac is not None:
            self.verdict = "auth_failures"
            if self.node_id is None:
                return None
            self.got = UNCHECKED
            return v
        elif macs and node_id not in self.allow:
            self.verdict = "unknown_nodes"
            return None
        # rule 7, sequence accounting (seq u16 and uptime u32 both wrap)
        seq = v[4]
        uptime = v[5]
        st = self.streams.get(stream)
        if st is None:
            ring = [-1] * 32
            ring[seq & 31] = uptime
            self.streams[stream] = [seq, uptime, seq, uptime, 0, ring]
            got = 0
        else:
            ahead = (seq - st[0]) & 0xFFFF
            if uptime == st[1]:
                if ahead == 0:
                    self.verdict = "duplicates"
                    return None
                back = False
            else:
                back = ((st[1] - uptime) & 0xFFFFFFFF) < 0x80000000
            if 0 < ahead < 0x8000 and not back:      # the next frame, or a jump over lost ones
                if ahead != 1:
                    st[4] = _advance(st[4], ahead)
                elif st[4]:
                    st[4] = (st[4] & (_MASK >> 1)) << 1
                st[0] = seq
                st[1] = uptime
                st[5][seq & 31] = uptime
                got = ahead - 1
            else:
                got = self._behind(st, seq, uptime)
                if got == DUPLICATE:
                    self.verdict = "duplicates"
                    return None
        if signed:
            self.replay.accept(stream, epoch, counter)   # only now: a dropped duplicate moves nothing
        self.got = got
        return v

    def _behind(self, st, seq, uptime):
        """Rule 7 for a frame that is not the next of its stream: REORDERED, DUPLICATE or REBOOT."""
        if uptime != st[1] and ((st[1] - uptime) & 0xFFFFFFFF) < 0x80000000:   # uptime went back
            # a frame of this boot lies between its first frame and the last one, seq and uptime alike
            span = (st[0] - st[2]) & 0xFFFF
            back = (st[0] - seq) & 0xFFFF
            if 0 < back <= span and ((uptime - st[3]) & 0xFFFFFFFF) < ((st[1] - st[3]) & 0xFFFFFFFF):
                if back <= WINDOW:
                    bit = 1 << (back - 1)
                    if st[4] & bit:
                        st[4] &= ~bit
                        st[5][seq & 31] = uptime
                        return REORDERED    # it had been skipped: late, delivered once
                    if st[5][seq & 31] == uptime:
                        return DUPLICATE    # a copy of a frame delivered before
                elif back < span:
                    return REORDERED        # too far back to check: delivered as late
                elif uptime == st[3]:
                    return DUPLICATE        # a copy of this boot's first frame
        st[0] = seq
        st[1] = uptime
        st[2] = seq
        st[3] = uptime
        st[4] = 0
        ring = st[5]
        for i in range(32):
            ring[i] = -1
        ring[seq & 31] = uptime
        return REBOOT
