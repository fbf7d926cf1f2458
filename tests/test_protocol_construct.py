"""The construct declarations in ground.wire agree byte for byte with the firmware codec, for every
message type, signed and unsigned, both ways: firmware builds -> construct parses (and rebuilds the
same bytes), construct builds -> the firmware Decoder parses (MicroPython and CPython)."""
import hashlib
import hmac
import zlib

import pytest
from cobs import cobs as cobs_ref

from safehaven.ground.wire import CONSTRUCTS, HEADER_CONSTRUCT, RAW_FRAME
from safehaven.protocol import messages as M

KEY = hashlib.sha256(b"construct test key").digest()
SAMPLES = {
    M.TELEMETRY: (25767233, -2508, 420, 3700, -104750, 10250, M.LEAK, 0x0123),
    M.EVENT: (M.EV_LEAK_CLEARED, M.NOMINAL, -110000000, 4294967295, 65535, 1),
    M.HEARTBEAT: (0x0203, M.BOARD_ESP32, M.RESET_BROWNOUT, 123456, b"zone-b12", 1, 2, 3, 4, 5, 6, M.MODE_CHAMBER),
    M.COMMAND: (65535, M.CMD_SET_PARAM, M.P_DRIFT, -2147483648),
    M.COMMAND_ACK: (9, M.CMD_ZERO, M.ACK_REJECTED, 2147483647),
}
METHODS = {M.TELEMETRY: "telemetry", M.EVENT: "event", M.HEARTBEAT: "heartbeat", M.COMMAND: "command",
           M.COMMAND_ACK: "command_ack"}


def _firmware_frames(runtime, signed):
    calls = "\n".join(f"out.append(bytes(e.{METHODS[t]}({1000 + t}, *{vals!r})))" for t, vals in SAMPLES.items())
    key = f", key=binascii.unhexlify({KEY.hex()!r}), epoch=9" if signed else ""
    return runtime.exec(f"import binascii\nfrom protocol.codec import Encoder\ne = Encoder(42{key})\n"
                        f"e.seq = 500\ne.counter = 77\nout = []\n{calls}\nresult = out")


@pytest.mark.parametrize("signed", [False, True])
def test_construct_parses_firmware_frames(runtime, signed):
    frames = _firmware_frames(runtime, signed)
    for k, (msg_type, values) in enumerate(SAMPLES.items()):
        wire = frames[k]
        raw = cobs_ref.decode(wire[1:-1])
        parsed = RAW_FRAME.parse(raw)
        head = parsed.body.value.header
        assert (head.version, head.msg_type, head.node_id, head.flags, head.seq, head.uptime_ms) == \
            (M.VERSION, msg_type, 42, M.FLAG_AUTH if signed else 0, 500 + k, 1000 + msg_type)
        payload = parsed.body.value.payload
        assert tuple(payload[name] for name, _, _ in M.MESSAGES[msg_type][1]) == values
        if signed:
            auth = parsed.body.value.auth
            assert (auth.epoch, auth.counter) == (9, 77 + k)
            signed_part = raw[:-4 - M.TAG_SIZE]
            assert auth.tag == hmac.new(KEY, signed_part, hashlib.sha256).digest()[:M.TAG_SIZE]
        else:
            assert parsed.body.value.auth is None
        assert RAW_FRAME.build(parsed) == raw          # and construct rebuilds the very same bytes


def _construct_frame(msg_type, seq, values, signed, counter):
    names = [name for name, _, _ in M.MESSAGES[msg_type][1]]
    header = dict(version=M.VERSION, msg_type=msg_type, node_id=42, flags=M.FLAG_AUTH if signed else 0,
                  seq=seq, uptime_ms=4000000000 + seq)
    body = HEADER_CONSTRUCT.build(header) + CONSTRUCTS[msg_type].build(dict(zip(names, values)))
    auth = None
    if signed:
        counter_part = body + (9).to_bytes(2, "little") + counter.to_bytes(4, "little")
        auth = dict(epoch=9, counter=counter, tag=hmac.new(KEY, counter_part, hashlib.sha256).digest()[:8])
    raw = RAW_FRAME.build(dict(body=dict(value=dict(header=header, payload=dict(zip(names, values)), auth=auth))))
    assert zlib.crc32(raw[:-4]).to_bytes(4, "little") == raw[-4:]
    return b"\x00" + cobs_ref.encode(raw) + b"\x00"


@pytest.mark.parametrize("signed", [False, True])
def test_firmware_decoder_parses_construct_frames(runtime, signed):
    stream = b"".join(_construct_frame(t, 10 + k, vals, signed, 100 + k) for k, (t, vals) in enumerate(SAMPLES.items()))
    keys = f"{{42: binascii.unhexlify({KEY.hex()!r})}}" if signed else "None"
    got = runtime.exec(
        "import binascii\nfrom protocol.codec import Decoder\n"
        f"d = Decoder(keys={keys})\nd.feed(binascii.unhexlify({stream.hex()!r}))\nout = []\n"
        "while True:\n    f = d.pop()\n    if f is None:\n        break\n    out.append(list(f[:6]) + [list(f[6])])\n"
        "result = out")
    assert len(got) == len(SAMPLES)
    for k, (msg_type, values) in enumerate(SAMPLES.items()):
        assert got[k] == [M.ACK_OK, msg_type, 42, 10 + k, 4000000010 + k, signed, list(values)]


def test_construct_rejects_a_bad_crc():
    import construct
    raw = bytearray(cobs_ref.decode(_construct_frame(M.COMMAND, 1, SAMPLES[M.COMMAND], False, 0)[1:-1]))
    raw[-1] ^= 0x80
    with pytest.raises(construct.ChecksumError):
        RAW_FRAME.parse(bytes(raw))
