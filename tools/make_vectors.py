"""Write protocol/vectors/: golden byte streams made by the MicroPython encoder, with expected decodes.

`make vectors` (python -m tools.make_vectors) runs protocol.codec.Encoder inside the MicroPython VM,
then builds streams from its frames (clean, signed, with garbage, truncations, bit flips,
duplicates, reordering, a node reboot, an uptime wrap, forged and replayed signed frames, unknown
versions/types, oversize runs). The expected decode of every stream is derived here from the
encoder's *inputs* and from what was done to the bytes, never from a decoder:
- an accepted frame's fields are the wire integers given to the encoder divided by the table's scale;
- a run of bytes between two 0x00 that is not exactly an intact frame is a corrupt frame
  (or oversize when longer than MAX_ENCODED); what a frame piece should yield is declared with it.
Each vector is NAME.bin (the stream) and NAME.json ({"description", "keys", "frames", "counters"}).
keys.json holds the *public test keys* the signed vectors use (never use them on a real node).
"""
from __future__ import annotations

import hashlib
import json
import random
import struct
import sys
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from safehaven.protocol import messages as M  # noqa: E402
from safehaven.protocol.link import COUNTERS, NODE_COUNTERS  # noqa: E402

OUT = REPO / "protocol" / "vectors"
TEST_KEYS = {2: hashlib.sha256(b"safehaven public test key, node 2").digest(),
             4: hashlib.sha256(b"safehaven public test key, node 4").digest()}
_METHOD = {msg_type: name for msg_type, (name, _fields) in M.MESSAGES.items()}   # Encoder.<message name>

# Inputs per message type: wire integers in messages.py order (uptime first), edge values included.
SAMPLES: dict[int, list[tuple]] = {
    M.TELEMETRY: [
        # first frame just before the u32 uptime wraps; the next ones come after the wrap
        (4294967295, 4294967295, 32767, 65535, 10000, 2147483647, 65535, M.RAPID, 0xFFFF),
        (1000, 25767233, 2508, 420, 3700, -123, 50, M.NOMINAL, 0),
        (2000, 25767100, 2511, 433, 3712, -104750, 10250, M.LEAK, M.ST_SCD_STALE),
        (3000, 0, -4000, 0, 0, -2147483648, 0, M.FAULT, M.ST_BMP_FAULT | M.ST_OUT_OF_RANGE),
    ],
    M.EVENT: [
        (5000, M.EV_BOOT, M.NOMINAL, 0, 0, 0, 25767233),
        (6000, M.EV_LEAK_DETECTED, M.LEAK, -107, 1000, 210, 25760000),
        (7000, M.EV_RAPID, M.RAPID, -110000000, 4294967295, 65535, 1),
        (8000, M.EV_SENSOR_RECOVERED, M.SUSPECT, 2147483647, 60, 200, 25767233),
    ],
    M.HEARTBEAT: [
        (9000, 0x0102, M.BOARD_RP2040, M.RESET_POWER_ON, 181232, "6c6162", 0, 0, 0, 0, 0, 0, M.MODE_HABITAT),
        (10000, 0xFFFF, M.BOARD_ESP32, M.RESET_WATCHDOG, 4294967295, "6e6f6465302d3132", 65535, 1, 2, 3, 4, 65535,
         M.MODE_CHAMBER),
    ],
    M.COMMAND: [
        (11000, 1, M.CMD_SET_PARAM, M.P_THRESHOLD, 1250),
        (11500, 2, M.CMD_SET_AMBIENT_SOURCE, M.AMBIENT_FIXED, 25600000),
        (12000, 65535, M.CMD_ZERO, M.ZERO_CO2_FRC, -2147483648),
        (12500, 3, M.CMD_REBOOT, 0, 0),
    ],
    M.COMMAND_ACK: [
        (13000, 1, M.CMD_SET_PARAM, M.ACK_OK, 1250),
        (14000, 65535, M.CMD_SET_MODE, M.ACK_AUTH_REQUIRED, 2147483647),
        (15000, 7, 99, M.ACK_UNKNOWN, -1),
    ],
}


# ---- encoding in the MicroPython VM ----------------------------------------------------------
_SNIPPET = """
import binascii, json
from protocol.codec import Encoder
spec = json.loads(SPEC)
encs = []
for e in spec["encoders"]:
    key = binascii.unhexlify(e[1]) if e[1] else None
    encs.append(Encoder(e[0], key, e[2]))
out = []
for call in spec["calls"]:
    enc = encs[call[0]]
    if call[3] is not None:
        enc.seq = call[3]
    args = call[2]
    if call[1] == "heartbeat":
        args = args[:5] + [binascii.unhexlify(args[5])] + args[6:]
    out.append(binascii.hexlify(getattr(enc, call[1])(*args)).decode())
result = out
"""


class Plan:
    """Encoders and calls, run in one go in the VM; remembers what each frame should decode to."""

    def __init__(self):
        self.encoders: list[list] = []
        self.calls: list[list] = []
        self.records: list[dict] = []
        self._seq: list[int] = []

    def encoder(self, node_id: int, key: bytes | None = None, epoch: int = 0) -> int:
        self.encoders.append([node_id, key.hex() if key else None, epoch])
        self._seq.append(0)
        return len(self.encoders) - 1

    def send(self, enc: int, msg_type: int, args: tuple, seq: int | None = None) -> int:
        if seq is not None:
            self._seq[enc] = seq
        node_id, key, _ = self.encoders[enc]
        my_seq = self._seq[enc]
        self._seq[enc] = (my_seq + 1) & 0xFFFF
        self.calls.append([enc, _METHOD[msg_type], list(args), seq])
        self.records.append({"msg_type": msg_type, "node_id": node_id, "seq": my_seq, "args": args,
                             "signed": key is not None})
        return len(self.records) - 1

    def run(self, vm) -> list[bytes]:
        spec = json.dumps({"encoders": self.encoders, "calls": self.calls})
        out = vm.exec(f"SPEC = {spec!r}\n" + _SNIPPET)
        frames = [bytes.fromhex(h) for h in out]
        for rec, fr in zip(self.records, frames):
            rec["wire"] = fr
        return frames


def expected_fields(msg_type: int, args: tuple) -> dict:
    """The spec's decode of one message, from the encoder's inputs: wire / scale."""
    fields = M.MESSAGES[msg_type][1]
    out = {}
    for (name, _code, scale), value in zip(fields, args[1:]):
        if scale == 0:
            out[name] = bytes.fromhex(value).decode("ascii")
        elif scale == 1:
            out[name] = value
        else:
            out[name] = value / scale
    return out


def expected_frame(rec: dict) -> dict:
    out = {"type": M.MESSAGES[rec["msg_type"]][0], "node_id": rec["node_id"], "seq": rec["seq"],
           "uptime_ms": rec["args"][0], "authenticated": rec["signed"]}
    out.update(expected_fields(rec["msg_type"], rec["args"]))
    return out


# ---- streams and their expected outcome ------------------------------------------------------
class Stream:
    """Pieces of a stream: frames with a declared outcome, or raw bytes (noise, damaged frames)."""

    def __init__(self, description: str, keys: bool = False):
        self.description = description
        self.keys = keys
        self.pieces: list[tuple[bytes, dict | None, str | None]] = []

    def frame(self, rec: dict, outcome: str = "accept", wire: bytes | None = None) -> None:
        self.pieces.append((wire if wire is not None else rec["wire"], rec, outcome))

    def raw(self, data: bytes) -> None:
        self.pieces.append((data, None, None))

    def build(self) -> tuple[bytes, dict]:
        data = b"".join(p[0] for p in self.pieces)
        marks = {}            # (start, end) of a frame piece's COBS body -> (record, outcome)
        pos = 0
        for wire, rec, outcome in self.pieces:
            if rec is not None:
                assert wire[0] == 0 and wire[-1] == 0 and 0 not in wire[1:-1]
                marks[(pos + 1, pos + len(wire) - 1)] = (rec, outcome)
            pos += len(wire)
        counters: dict = dict.fromkeys(COUNTERS, 0)
        counters["bytes"] = len(data)
        nodes: dict[int, dict] = {}
        frames: list[dict] = []
        last_seq: dict[int, int] = {}
        start = 0
        for end in [i for i, b in enumerate(data) if b == 0] + [None]:
            if end is None:
                assert start == len(data), "vector streams end with a delimiter"
                break
            if end > start:
                self._chunk(data, start, end, marks.get((start, end)), counters, nodes, frames, last_seq)
            start = end + 1
        counters["nodes"] = {str(n): nodes[n] for n in sorted(nodes)}
        return data, {"description": self.description, "keys": "keys.json" if self.keys else None,
                      "frames": frames, "counters": counters}

    @staticmethod
    def _chunk(data, start, end, mark, counters, nodes, frames, last_seq):
        n = end - start
        if mark is None:
            _assert_corrupt(data[start:end])
            counters["oversize" if n > M.MAX_ENCODED else "crc_failures"] += 1
            counters["skipped_bytes"] += n
            return
        rec, outcome = mark
        node = nodes.setdefault(rec["node_id"], dict.fromkeys(NODE_COUNTERS, 0))
        stream = rec["node_id"] * 2 + (rec["msg_type"] == M.COMMAND)
        if outcome in ("accept", "reordered", "reboot"):
            counters["frames"] += 1
            node["frames"] += 1
            frames.append(expected_frame(rec))
            if outcome == "accept" and stream in last_seq:
                gap = (rec["seq"] - last_seq[stream] - 1) & 0xFFFF
                counters["gaps"] += gap
                node["gaps"] += gap
            if outcome != "accept":
                counters[{"reordered": "reordered", "reboot": "reboots"}[outcome]] += 1
                node[{"reordered": "reordered", "reboot": "reboots"}[outcome]] += 1
            if outcome != "reordered":
                last_seq[stream] = rec["seq"]
            return
        counters[outcome] += 1
        counters["skipped_bytes"] += n
        if outcome in NODE_COUNTERS:
            node[outcome] += 1


def _assert_corrupt(chunk: bytes) -> None:
    """A damaged piece must really be damaged (else the vector would lie): checked with the references."""
    from cobs.cobs import DecodeError, decode
    if len(chunk) > M.MAX_ENCODED:
        return
    try:
        raw = decode(chunk)
    except DecodeError:
        return
    assert len(raw) < M.HEADER_SIZE + M.CRC_SIZE or zlib.crc32(raw[:-4]) != struct.unpack("<I", raw[-4:])[0], \
        f"damaged chunk {chunk.hex()} still passes the CRC; pick other damage"


def reframe(wire: bytes, edit) -> bytes:
    """Decode a frame, let edit(bytearray) change it, fix the CRC, encode again (crafted frames)."""
    from cobs.cobs import decode, encode
    raw = bytearray(decode(wire[1:-1]))
    body = bytearray(raw[:-4])
    edit(body)
    return b"\x00" + encode(bytes(body) + struct.pack("<I", zlib.crc32(body))) + b"\x00"


# ---- the vectors ---------------------------------------------------------------------------
def build_vectors(vm) -> dict[str, tuple[bytes, dict]]:
    plan = Plan()
    rng = random.Random(20261122)
    per_type = {}
    for t, samples in SAMPLES.items():
        enc = plan.encoder(1)
        per_type[t] = [plan.send(enc, t, args) for args in samples]
    signed_enc = plan.encoder(2, TEST_KEYS[2], epoch=7)
    signed = [plan.send(signed_enc, t, SAMPLES[t][0]) for t in SAMPLES]
    # a long clean telemetry run used for damage
    base = plan.encoder(3)
    run = [plan.send(base, M.TELEMETRY, (1000 * (i + 1), 25767233 - 3 * i, 2508, 420 + i, 3700, -100 - i, i, 0, 0))
           for i in range(24)]
    # reboot: node 6 runs, restarts (new encoder, uptime from the start again); node 5 wraps its uptime
    n6a = plan.encoder(6)
    before = [plan.send(n6a, M.TELEMETRY, (60000 + 1000 * i, 25767233, 2500, 410, 4000, 0, 0, 0, 0)) for i in range(4)]
    n6b = plan.encoder(6)
    after = [plan.send(n6b, M.EVENT, (350, M.EV_BOOT, M.NOMINAL, 0, 0, 0, 25767233))]
    after += [plan.send(n6b, M.TELEMETRY, (1350 + 1000 * i, 25767233, 2500, 410, 4000, 0, 0, 0, 0)) for i in range(3)]
    n5 = plan.encoder(5)
    wrap = [plan.send(n5, M.TELEMETRY, ((4294966000 + 1000 * i) & 0xFFFFFFFF, 25767233, 2500, 410, 4000, 0, 0, 0, 0),
                      seq=65534 if i == 0 else None) for i in range(4)]
    # signed node 4: epoch 3, then a reboot into epoch 4 (counter restarts)
    s4a = plan.encoder(4, TEST_KEYS[4], epoch=3)
    s4_before = [plan.send(s4a, M.TELEMETRY, (20000 + 1000 * i, 25767233, 2500, 410, 4000, 0, 0, 0, 0)) for i in range(3)]
    s4b = plan.encoder(4, TEST_KEYS[4], epoch=4)
    s4_after = [plan.send(s4b, M.TELEMETRY, (500 + 1000 * i, 25767233, 2500, 410, 4000, 0, 0, 0, 0)) for i in range(2)]
    unsigned4 = plan.encoder(4)
    forged_plain = plan.send(unsigned4, M.TELEMETRY, (90000, 25767233, 2500, 410, 4000, 0, 0, 0, 0))
    no_key = plan.encoder(9, hashlib.sha256(b"a key the ground does not have").digest(), epoch=1)
    unknown_key = plan.send(no_key, M.TELEMETRY, (1000, 25767233, 2500, 410, 4000, 0, 0, 0, 0))
    recs = plan.records
    plan.run(vm)

    vectors: dict[str, tuple[bytes, dict]] = {}
    for t, idx in per_type.items():
        s = Stream(f"{M.MESSAGES[t][0]}: clean unsigned frames from node 1, edge values included")
        for i in idx:
            s.frame(recs[i])
        vectors[M.MESSAGES[t][0]] = s.build()

    s = Stream("signed: one frame of every type from node 2 (epoch 7), key in keys.json", keys=True)
    for i in signed:
        s.frame(recs[i])
    vectors["signed"] = s.build()

    s = Stream("garbage: random bytes (with and without 0x00) and a long run between intact frames")
    for k, i in enumerate(run[:12]):
        s.frame(recs[i])
        if k % 3 == 1:
            s.raw(bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 40))))
        elif k % 3 == 2:
            s.raw(bytes(rng.randrange(0, 256) for _ in range(rng.randrange(1, 80))))
    s.raw(bytes(rng.randrange(1, 256) for _ in range(700)) + b"\x00")
    s.frame(recs[run[12]], "accept")
    vectors["garbage"] = s.build()

    s = Stream("truncated: frames cut short; each costs only itself (counted as a sequence gap)")
    for k, i in enumerate(run[:10]):
        wire = recs[i]["wire"]
        if k in (2, 5, 6):
            s.raw(wire[: len(wire) // 2 + k])     # the next frame's leading 0x00 ends the stub
        else:
            s.frame(recs[i])
    vectors["truncated"] = s.build()

    s = Stream("bitflips: one flipped bit in some frames, one in a delimiter (costs only that frame)")
    for k, i in enumerate(run[:14]):
        wire = bytearray(recs[i]["wire"])
        if k in (1, 4, 9):
            pos = rng.randrange(1, len(wire) - 1)
            wire[pos] ^= 1 << rng.randrange(8)
            s.raw(bytes(wire))
        elif k == 6:
            wire[-1] = 0x55       # the trailing delimiter; the next frame's leading 0x00 still ends the run
            s.raw(bytes(wire))
        else:
            s.frame(recs[i])
    vectors["bitflips"] = s.build()

    s = Stream("duplicates and reordering: repeated frames are dropped, a late frame is delivered and counted")
    order = [0, 1, 1, 2, 4, 3, 5, 5, 5, 6]
    seen = set()
    for k, j in enumerate(order):
        rec = recs[run[j]]
        if j in seen:
            s.frame(rec, "duplicates")
        elif j == 3:
            s.frame(rec, "reordered")
        else:
            s.frame(rec)
        seen.add(j)
    vectors["duplicates"] = s.build()

    s = Stream("reboot: node 6 restarts (uptime and seq start again); node 5's uptime wraps past 2^32 (no reboot)")
    for i in before:
        s.frame(recs[i])
    s.frame(recs[wrap[0]])
    s.frame(recs[wrap[1]])
    s.frame(recs[after[0]], "reboot")
    s.frame(recs[wrap[2]])
    for i in after[1:]:
        s.frame(recs[i])
    s.frame(recs[wrap[3]])
    vectors["reboot"] = s.build()

    s = Stream("auth: signed node 4 with replayed, altered, forged, unsigned and unknown-key frames, "
               "then a reboot into a new epoch", keys=True)
    s.frame(recs[s4_before[0]])
    s.frame(recs[s4_before[1]])
    s.frame(recs[s4_before[1]], "replays")                       # replay of the last frame
    s.frame(recs[s4_before[0]], "replays")                       # replay of an older one
    tampered = reframe(recs[s4_before[2]]["wire"], lambda b: b.__setitem__(12, b[12] ^ 0x40))  # pressure, CRC fixed
    s.frame(recs[s4_before[2]], "auth_failures", wire=tampered)
    s.frame(recs[forged_plain], "auth_failures")                 # unsigned frame claiming node 4
    s.frame(recs[unknown_key], "auth_failures")                  # signed, but the ground has no key for node 9
    s.frame(recs[s4_before[2]])
    s.frame(recs[s4_after[0]], "reboot")
    s.frame(recs[s4_before[2]], "replays")                       # old epoch after the reboot
    s.frame(recs[s4_after[1]])
    vectors["auth"] = s.build()

    s = Stream("unknown: a future version, an unknown type and a wrong length with valid CRCs are skipped")
    s.frame(recs[run[0]])
    s.frame(recs[run[1]], "unknown_versions", wire=reframe(recs[run[1]]["wire"], lambda b: b.__setitem__(0, 2)))
    s.frame(recs[run[2]], "unknown_types", wire=reframe(recs[run[2]]["wire"], lambda b: b.__setitem__(1, 99)))
    s.frame(recs[run[3]], "bad_lengths", wire=reframe(recs[run[3]]["wire"], lambda b: b.__delitem__(-1)))
    s.frame(recs[run[4]])
    vectors["unknown"] = s.build()
    return vectors


def write_vectors(vectors: dict[str, tuple[bytes, dict]], out: Path = OUT) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, (data, expected) in sorted(vectors.items()):
        (out / f"{name}.bin").write_bytes(data)
        (out / f"{name}.json").write_text(json.dumps(expected, indent=1) + "\n")
    keys = {"comment": "PUBLIC test keys for the signed vectors; never load these onto a real node",
            "public": True, "version": 1, "nodes": {str(n): k.hex() for n, k in sorted(TEST_KEYS.items())}}
    (out / "keys.json").write_text(json.dumps(keys, indent=1) + "\n")


def main() -> int:
    from safehaven.hil.vm import MicroPythonVM
    with MicroPythonVM() as vm:
        vectors = build_vectors(vm)
    write_vectors(vectors)
    print(f"wrote {len(vectors)} vectors to {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
