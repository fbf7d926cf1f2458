"""Ground side of the wire protocol (CPython): stream decoding, command encoding, construct declarations.

Everything is built from protocol/messages.py, the single source of the layouts:
- `CONSTRUCTS` / `RAW_FRAME`: construct declarations of every message and of a whole (un-COBSed)
  frame; the readable reference, checked byte for byte against the firmware codec by the tests.
- `StreamDecoder`: the fast path (bytes.split + C COBS + zlib CRC + precompiled struct), the same
  layouts as the construct declarations, with per-link and per-node counters.
- `encode_command`: a signed or unsigned node-bound command frame for `safehaven send`.
See docs/protocol.md for the normative rules (framing, auth, replay, sequence accounting).
"""
from __future__ import annotations

import hmac
import hashlib
import json
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

from cobs.cobs import DecodeError as _CobsError
from cobs.cobs import decode as _cobs_decode
from cobs.cobs import encode as _cobs_encode

from safehaven.protocol import messages as M
from safehaven.protocol.link import COUNTERS, NODE_COUNTERS, REBOOT, REFUSED, REORDERED, ReplayGuard, Rules

CRC_RESIDUE = 0x2144DF1C  # crc32(data + crc32(data) as LE) for every data: one call checks a frame
_HEADER = struct.Struct(M.HEADER_FORMAT)
_AUTH = struct.Struct(M.AUTH_FORMAT)
_MIN_RAW = M.HEADER_SIZE + M.CRC_SIZE
_FLAG_AUTH = M.FLAG_AUTH



# ---- construct declarations ----------------------------------------------------------------
def _construct_field(code: str):
    import construct as c
    simple = {"B": c.Int8ul, "b": c.Int8sl, "H": c.Int16ul, "h": c.Int16sl, "I": c.Int32ul, "i": c.Int32sl}
    if code in simple:
        return simple[code]
    if code.endswith("s"):
        return c.Bytes(int(code[:-1]))
    raise ValueError(f"no construct for struct code {code!r}")


def _build_constructs():
    import construct as c
    header = c.Struct(*(name / _construct_field(code) for name, code in
                        zip(("version", "msg_type", "node_id", "flags", "seq", "uptime_ms"),
                            ("B", "B", "B", "B", "H", "I"))))
    payloads = {t: c.Struct(*(name / _construct_field(code) for name, code, _ in spec[1]))
                for t, spec in M.MESSAGES.items()}
    auth = c.Struct("epoch" / c.Int16ul, "counter" / c.Int32ul, "tag" / c.Bytes(M.TAG_SIZE))
    body = c.Struct("header" / header,
                    "payload" / c.Switch(c.this.header.msg_type, payloads),
                    "auth" / c.If(c.this.header.flags & M.FLAG_AUTH, auth))
    frame = c.Struct("body" / c.RawCopy(body),
                     "crc" / c.Checksum(c.Int32ul, zlib.crc32, c.this.body.data),
                     c.Terminated)
    return header, payloads, frame


HEADER_CONSTRUCT, CONSTRUCTS, RAW_FRAME = _build_constructs()
"""HEADER_CONSTRUCT: the 10-byte header; CONSTRUCTS[msg_type]: its payload;
RAW_FRAME: header | payload | optional auth block | CRC-32, i.e. a frame before COBS."""


# ---- decoded frames --------------------------------------------------------------------------
class Frame(NamedTuple):
    node_id: int
    msg_type: int
    name: str
    seq: int
    uptime_ms: int
    fields: dict            # SI values (wire / scale); enums, bits and counts as ints; ASCII as str
    raw: bytes              # the frame before COBS: header | payload | [auth] | CRC (RAW_FRAME parses it)
    authenticated: bool

    def wire(self) -> bytes:
        """The frame as on the wire (0x00 | COBS | 0x00); feeding it to a fresh decoder gives it back."""
        return b"\x00" + _cobs_encode(self.raw) + b"\x00"

    def to_dict(self) -> dict:
        """The spec's JSON object: header names, then the message's own field names."""
        out: dict[str, Any] = {"type": self.name, "node_id": self.node_id, "seq": self.seq,
                               "uptime_ms": self.uptime_ms, "authenticated": self.authenticated}
        out.update(self.fields)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))


def _converter(spec_fields, offset: int = 0) -> Callable[[tuple], dict]:
    """A compiled function mapping the unpacked wire tuple (payload from v[offset]) to the SI fields dict."""
    names = ["_"] * offset + [f"x{i}" for i in range(len(spec_fields))]
    parts = []
    for i, (name, _code, scale) in enumerate(spec_fields):
        if scale == 0:
            parts.append(f"{name!r}: x{i}.rstrip(b'\\x00').decode('ascii', 'replace')")
        elif scale == 1:
            parts.append(f"{name!r}: x{i}")
        else:
            parts.append(f"{name!r}: x{i} / {scale!r}")
    namespace: dict = {}
    source = f"def convert(v):\n    {', '.join(names)}, = v\n    return {{{', '.join(parts)}}}\n"
    exec(source, namespace)  # built from the messages.py table only
    return namespace["convert"]


def event_loss(fields: dict) -> tuple[float | None, float | None]:
    """(kg/day, hole mm) an event's fields carry; (None, None) for an alarm whose loss the node has not
    measured yet (M.LOSS_UNMEASURED: a habitat's LEAK at its CUSUM alarm, "measuring" until the node
    sends EV_LEAK_DETECTED again with it). A measured loss is 1 g/day and 1 um at least on the wire."""
    if fields.get("event") in (M.EV_LEAK_DETECTED, M.EV_RAPID) and \
            fields.get("leak_kg_day") == M.LOSS_UNMEASURED and fields.get("hole_mm") == M.LOSS_UNMEASURED:
        return None, None
    return fields.get("leak_kg_day"), fields.get("hole_mm")


def wire_to_si(msg_type: int, values: tuple) -> dict:
    """Wire integers (messages.py order) to the SI fields dict, as StreamDecoder reports them."""
    return _SPECS[msg_type][3](values)


class _Spec(NamedTuple):
    name: str
    payload: struct.Struct
    end: int                # header + payload bytes
    convert: Callable[[tuple], dict]


_SPECS: dict[int, _Spec] = {t: _Spec(spec[0], struct.Struct("<" + M.payload_format(t)),
                   M.HEADER_SIZE + struct.calcsize("<" + M.payload_format(t)), _converter(spec[1]))
          for t, spec in M.MESSAGES.items()}


# msg_type -> (unpack header+payload, header+payload bytes): the rule book's layouts (protocol.link.Rules)
_LAYOUTS = {t: (struct.Struct(M.HEADER_FORMAT + M.payload_format(t)).unpack_from, sp.end) for t, sp in _SPECS.items()}
# msg_type -> (name, convert the header+payload tuple from v[6] to SI fields)
_NAMED = {t: (sp.name, _converter(M.MESSAGES[t][1], 6)) for t, sp in _SPECS.items()}


# ---- counters ----------------------------------------------------------------------------------
@dataclass
class NodeStats:
    frames: int = 0
    gaps: int = 0
    duplicates: int = 0
    reordered: int = 0
    reboots: int = 0
    auth_failures: int = 0
    unknown_nodes: int = 0
    replays: int = 0


@dataclass
class WireStats:
    frames: int = 0
    bytes: int = 0
    skipped_bytes: int = 0
    crc_failures: int = 0           # corrupt frames: bad COBS, runt, or CRC mismatch
    auth_failures: int = 0          # bad tag, unknown key, or unsigned from a node that has a key
    unknown_nodes: int = 0          # unsigned from a node without a key, when the receiver holds keys
    replays: int = 0                # signed frame whose (epoch, counter) is not newer
    unknown_versions: int = 0
    unknown_types: int = 0
    bad_lengths: int = 0            # CRC fine but the length does not match the type
    oversize: int = 0               # runs longer than MAX_ENCODED without delimiter
    gaps: int = 0                   # frames missed (sequence numbers skipped)
    duplicates: int = 0
    reordered: int = 0
    reboots: int = 0
    nodes: dict = field(default_factory=dict)   # node_id -> NodeStats

    def node(self, node_id: int) -> NodeStats:
        st = self.nodes.get(node_id)
        if st is None:
            st = self.nodes[node_id] = NodeStats()
        return st

    def as_dict(self) -> dict:
        out: dict[str, Any] = {name: getattr(self, name) for name in COUNTERS}
        out["nodes"] = {str(n): {k: getattr(s, k) for k in NODE_COUNTERS} for n, s in sorted(self.nodes.items())}
        return out


def found(stats: list[WireStats], nbytes: int | None = None) -> str:
    """What streams held, in one line: `26 bytes, 0 valid frames (crc_failures=1, skipped_bytes=26)`
    (nbytes: the input's own size, when the decoder was fed more, e.g. added delimiters)."""
    total = {k: sum(getattr(s, k) for s in stats) for k in COUNTERS}
    rest = ", ".join(f"{k}={v}" for k, v in total.items() if v and k not in ("frames", "bytes"))
    size = total["bytes"] if nbytes is None else nbytes
    return f"{size} bytes, {total['frames']} valid frames" + (f" ({rest})" if rest else "")


# ---- the stream decoder ----------------------------------------------------------------------
class _Verifier:
    """verify(buf, n, off) for protocol.link.Rules, on the C hmac (a copy of the keyed state per frame)."""

    def __init__(self, key: bytes) -> None:
        self._mac = hmac.new(key, digestmod=hashlib.sha256)

    def verify(self, buf, n: int, off: int) -> bool:
        h = self._mac.copy()
        h.update(memoryview(buf)[:n])
        return hmac.compare_digest(h.digest()[:M.TAG_SIZE], buf[off:off + M.TAG_SIZE])

    def __repr__(self) -> str:
        return "<Verifier key=(redacted)>"


class StreamDecoder:
    """Feed it bytes as they arrive; get back the frames they completed; flush() at the end of input.

    keys: {node_id: 32-byte key}. A node with a key must sign (unsigned frames from it are
    auth failures); a signed frame from a node without a key cannot be checked and is rejected;
    with keys, an unsigned frame from a node without one is refused (`unknown_nodes`) unless the
    node is in allow_unsigned. replay: a ReplayGuard shared by every link of a receiver (a frame
    accepted on one link is a replay on all). The rules are protocol.link's, shared with the node.
    """

    def __init__(self, keys: dict[int, bytes] | None = None, allow_unsigned=(),
                 replay: ReplayGuard | None = None) -> None:
        self.stats = WireStats()
        macs: dict[int, _Verifier] = {}
        for node_id, key in (keys or {}).items():
            if len(key) != M.KEY_SIZE:
                raise ValueError(f"key for node {node_id} must be {M.KEY_SIZE} bytes")
            macs[int(node_id)] = _Verifier(key)
        self.rules = Rules(_LAYOUTS, macs, frozenset(int(n) for n in allow_unsigned), replay)
        self._pending = b""
        self._discarding = False

    def __repr__(self) -> str:
        return f"<StreamDecoder nodes_with_keys={sorted(self.rules.macs)} frames={self.stats.frames}>"

    def feed(self, data: bytes) -> list[Frame]:
        st = self.stats
        st.bytes += len(data)
        if self._pending:
            data = self._pending + data
        chunks = data.split(b"\x00")
        tail = chunks.pop()
        if self._discarding:                        # inside a run already counted as oversize
            if chunks:
                st.skipped_bytes += len(chunks[0])
                chunks[0] = b""
                self._discarding = False
            else:
                st.skipped_bytes += len(tail)
                tail = b""
        if len(tail) > M.MAX_ENCODED:
            st.oversize += 1
            st.skipped_bytes += len(tail)
            self._discarding = True
            tail = b""
        self._pending = tail
        return self._chunks(chunks)

    def flush(self) -> list[Frame]:
        """End of input: the bytes after the last delimiter are judged as a frame (docs/protocol.md §6)."""
        tail, self._pending = self._pending, b""
        self._discarding = False
        return self._chunks([tail])

    def _chunks(self, chunks: list[bytes]) -> list[Frame]:
        out: list[Frame] = []
        append = out.append
        rules = self.rules
        judge = rules.judge
        named = _NAMED
        cobs_decode, crc32, new = _cobs_decode, zlib.crc32, tuple.__new__
        taken: dict[int, int] = {}              # accepted frames per node, counted once per call
        taken_get = taken.get
        for chunk in chunks:
            if not chunk:
                continue
            n = len(chunk)
            if n > M.MAX_ENCODED:
                self._reject("oversize", n, None)
                continue
            try:
                raw = cobs_decode(chunk)
            except _CobsError:
                raw = b""
            if len(raw) < _MIN_RAW or crc32(raw) != CRC_RESIDUE:
                self._reject("crc_failures", n, None)
                continue
            v = judge(raw, len(raw))
            if v is None:
                self._reject(rules.verdict, n, raw[2])
                continue
            node_id = v[2]
            got = rules.got
            if got:
                self._sequence(got, node_id)
            taken[node_id] = taken_get(node_id, 0) + 1
            name, convert = named[v[1]]
            append(new(Frame, (node_id, v[1], name, v[4], v[5], convert(v), raw, v[3] & _FLAG_AUTH != 0)))
        if taken:
            st = self.stats
            for node_id, count in taken.items():
                st.node(node_id).frames += count
                st.frames += count
        return out

    def _sequence(self, got: int, node_id: int) -> None:
        st = self.stats
        ns = st.node(node_id)
        if got > 0:
            st.gaps += got
            ns.gaps += got
        elif got == REORDERED:
            st.reordered += 1
            ns.reordered += 1
        elif got == REBOOT:
            st.reboots += 1
            ns.reboots += 1

    def _reject(self, counter: str, n: int, node_id: int | None) -> None:
        st = self.stats
        setattr(st, counter, getattr(st, counter) + 1)
        st.skipped_bytes += n
        if node_id is not None and counter in NODE_COUNTERS:
            ns = st.node(node_id)
            setattr(ns, counter, getattr(ns, counter) + 1)

    def refused(self) -> int:
        """Frames refused as someone else's (auth failures, unknown nodes, replays) so far."""
        st = self.stats
        return sum(getattr(st, name) for name in REFUSED)


def decode_all(data: bytes, keys: dict[int, bytes] | None = None, allow_unsigned=()) -> tuple[list[Frame], WireStats]:
    """Decode a whole capture at once; a last frame without its trailing delimiter is judged too (flush)."""
    dec = StreamDecoder(keys, allow_unsigned)
    frames = dec.feed(data)
    frames += dec.flush()
    return frames, dec.stats


# ---- encoding (ground -> node commands; also used by tests and tools) ----------------------------
_cmd_lock = threading.Lock()
_cmd_seq: dict[int, int] = {}
_last_counter = [0]


def next_counter() -> int:
    """A 48-bit (epoch << 32 | counter) that only grows: Unix time in ms, bumped if called twice in one ms.

    The ground has no persisted boot epoch, so wall-clock time plays that role; keep its clock right.
    """
    with _cmd_lock:
        now = time.time_ns() // 1_000_000
        value = max(now, _last_counter[0] + 1)
        _last_counter[0] = value
        return value & 0xFFFF_FFFF_FFFF


def encode_frame(msg_type: int, node_id: int, seq: int, uptime_ms: int, values: tuple,
                 key: bytes | None = None, counter: int = 0) -> bytes:
    """Any message as wire bytes (0x00 | COBS | 0x00). counter is the 48-bit auth counter."""
    spec = _SPECS[msg_type]
    flags = M.FLAG_AUTH if key is not None else 0
    body = _HEADER.pack(M.VERSION, msg_type, node_id, flags, seq & 0xFFFF, uptime_ms & 0xFFFFFFFF)
    body += spec.payload.pack(*values)
    if key is not None:
        if len(key) != M.KEY_SIZE:
            raise ValueError(f"key must be {M.KEY_SIZE} bytes")
        body += _AUTH.pack(counter >> 32, counter & 0xFFFFFFFF)
        body += hmac.new(key, body, hashlib.sha256).digest()[:M.TAG_SIZE]
    body += struct.pack("<I", zlib.crc32(body))
    return b"\x00" + _cobs_encode(body) + b"\x00"


def encode_command(node_id: int, request_id: int, command: int, param: int, value: int,
                   key: bytes | None = None, counter: int | None = None,
                   seq: int | None = None, uptime_ms: int | None = None) -> bytes:
    """A node-bound command frame. Signed when key is given (counter defaults to next_counter()).

    seq defaults to a per-node counter of this process; uptime_ms to Unix time in ms modulo 2^32, so
    a command from a new process never looks like a duplicate of an older one (a node counts the
    new process as a restart of the ground's stream).
    """
    if seq is None:
        with _cmd_lock:
            seq = _cmd_seq.get(node_id, 0)
            _cmd_seq[node_id] = (seq + 1) & 0xFFFF
    if uptime_ms is None:
        uptime_ms = (time.time_ns() // 1_000_000) & 0xFFFFFFFF
    if key is not None and counter is None:
        counter = next_counter()
    return encode_frame(M.COMMAND, node_id, seq, uptime_ms, (request_id, command, param, value), key, counter or 0)
