"""Golden vectors (protocol/vectors/): every stream decodes to its expected frames and counters under
ground.wire (CPython) and under the portable protocol.codec.Decoder in both runtimes, and the
MicroPython encoder regenerates exactly the committed bytes."""
import json
from pathlib import Path

import pytest

from safehaven.ground.wire import COUNTERS, StreamDecoder, wire_to_si
from safehaven.protocol import messages as M

VECTORS = Path(__file__).resolve().parents[1] / "protocol" / "vectors"
NAMES = sorted(p.stem for p in VECTORS.glob("*.bin"))
KEYS = {int(n): bytes.fromhex(h) for n, h in json.loads((VECTORS / "keys.json").read_text())["nodes"].items()}


def _load(name):
    expected = json.loads((VECTORS / f"{name}.json").read_text())
    return (VECTORS / f"{name}.bin").read_bytes(), expected, (KEYS if expected["keys"] else None)


def test_every_kind_of_vector_is_there():
    kinds = {M.MESSAGES[t][0] for t in M.MESSAGES} | {"signed", "garbage", "truncated", "bitflips", "duplicates",
                                                      "reboot", "auth", "unknown"}
    assert kinds <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_ground_wire_decodes_vector(name):
    data, expected, keys = _load(name)
    dec = StreamDecoder(keys)
    frames = []
    for i in range(0, len(data), 7):        # odd chunking: frames straddle feed() calls
        frames += dec.feed(data[i:i + 7])
    assert [f.to_dict() for f in frames] == expected["frames"]
    assert dec.stats.as_dict() == expected["counters"]
    assert all(StreamDecoder(keys).feed(f.wire())[0].to_dict() == f.to_dict() for f in frames)


_PORTABLE = """
import binascii
from protocol.codec import Decoder
keys = None
if KEYS:
    keys = {}
    for k in KEYS:
        keys[int(k)] = binascii.unhexlify(KEYS[k])
dec = Decoder(keys=keys, queue=1000)
data = binascii.unhexlify(DATA)
for i in range(0, len(data), 13):
    dec.feed(data[i:i + 13])
frames = []
while True:
    f = dec.pop()
    if f is None:
        break
    values = []
    for v in f[6]:
        values.append(binascii.hexlify(v).decode() if isinstance(v, bytes) else v)
    frames.append([f[0], f[1], f[2], f[3], f[4], f[5], values])
result = {"frames": frames, "stats": dec.stats}
"""


@pytest.mark.parametrize("name", NAMES)
def test_portable_decoder_decodes_vector(runtime, name):
    data, expected, keys = _load(name)
    keys_hex = {str(n): k.hex() for n, k in keys.items()} if keys else None
    got = runtime.exec(f"DATA = {data.hex()!r}\nKEYS = {keys_hex!r}\n" + _PORTABLE)
    frames = []
    for status, msg_type, node_id, seq, uptime, signed, values in got["frames"]:
        assert status == M.ACK_OK
        values = tuple(bytes.fromhex(v) if isinstance(v, str) else v for v in values)
        frames.append({"type": M.MESSAGES[msg_type][0], "node_id": node_id, "seq": seq, "uptime_ms": uptime,
                       "authenticated": signed, **wire_to_si(msg_type, values)})
    assert frames == expected["frames"]
    assert {k: got["stats"][k] for k in COUNTERS} == {k: expected["counters"][k] for k in COUNTERS}


def test_regenerated_vectors_equal_committed(mpy):
    from tools.make_vectors import build_vectors
    vectors = build_vectors(mpy)
    assert sorted(vectors) == NAMES
    for name, (data, expected) in vectors.items():
        assert data == (VECTORS / f"{name}.bin").read_bytes(), name
        assert expected == json.loads((VECTORS / f"{name}.json").read_text()), name
