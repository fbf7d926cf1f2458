# Per-stream bookkeeping shared by both decoders, so node and ground count alike:
# replay guard for signed frames and sequence tracking (gaps, duplicates, reordering, reboots).
# A stream is one sender's frames about one node: stream_key(node_id, msg_type).
from protocol.auth import newer
from protocol.messages import COMMAND

DUPLICATE = -1     # same seq and uptime as the last frame: dropped
REORDERED = -2     # older frame of the current boot arriving late: delivered, not counted as gap
REBOOT = -3        # the sender restarted (uptime went backwards)


def stream_key(node_id, msg_type):
    """Node-bound commands and node frames are separate streams (separate seq, separate counters)."""
    return node_id * 2 + (1 if msg_type == COMMAND else 0)


class ReplayGuard:
    """Last accepted (epoch, counter) per stream; a signed frame must be strictly newer."""

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


class SeqTracker:
    """Classify each accepted frame against the previous one of its stream.

    update() returns the number of frames missed before this one (>= 0), or DUPLICATE,
    REORDERED or REBOOT. uptime_ms is u32 and wraps; seq is u16 and wraps.
    """

    def __init__(self):
        self.states = {}   # stream -> [last_seq, last_uptime, era_seq, era_uptime]

    def update(self, stream, seq, uptime):
        st = self.states.get(stream)
        if st is None:
            self.states[stream] = [seq, uptime, seq, uptime]
            return 0
        last_seq = st[0]
        last_up = st[1]
        if seq == last_seq and uptime == last_up:
            return DUPLICATE
        seq_ahead = (seq - last_seq) & 0xFFFF
        up_back = ((last_up - uptime) & 0xFFFFFFFF) < 0x80000000 and uptime != last_up
        if not up_back and 0 < seq_ahead < 0x8000:
            st[0] = seq
            st[1] = uptime
            return seq_ahead - 1
        if up_back and self._within_era(st, seq, uptime):
            return REORDERED
        st[0] = seq
        st[1] = uptime
        st[2] = seq
        st[3] = uptime
        return REBOOT

    @staticmethod
    def _within_era(st, seq, uptime):
        # An older frame of this boot lies strictly between the first and the last frame seen.
        span = (st[0] - st[2]) & 0xFFFF
        back = (st[0] - seq) & 0xFFFF
        if not 0 < back < span:
            return False
        return ((uptime - st[3]) & 0xFFFFFFFF) < ((st[1] - st[3]) & 0xFFFFFFFF)
