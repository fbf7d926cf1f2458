"""Bad input, property-tested: random bytes, truncations, flipped bits, garbage, oversize runs,
spliced and forged frames. No exception escapes, no altered frame is accepted, and every frame
the damage did not touch is recovered, by ground.wire and by the portable Decoder."""
import hashlib
import zlib

from cobs import cobs as cobs_ref
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safehaven.ground.wire import StreamDecoder, encode_frame
from safehaven.protocol import messages as M
from safehaven.protocol.codec import Decoder

KEY = hashlib.sha256(b"fuzz key").digest()
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CHEAP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

u32 = st.integers(0, 2**32 - 1)
i32 = st.integers(-2**31, 2**31 - 1)
u16 = st.integers(0, 65535)
telemetry = st.tuples(u32, st.integers(-32768, 32767), u16, u16, i32, u16, st.integers(0, 4), u16)
OPS = ("keep", "keep", "keep", "flip", "truncate", "garbage_inside", "splice", "forge", "glue")


@st.composite
def damaged_streams(draw, signed):
    """(stream bytes, wire frames that must come out in order, every frame sent, signed)."""
    n = draw(st.integers(1, 10))
    frames = [encode_frame(M.TELEMETRY, 3, i, 1000 * (i + 1), draw(telemetry), KEY if signed else None, i)
              for i in range(n)]
    out, intact = [], []
    for i, wire in enumerate(frames):
        op = draw(st.sampled_from(OPS))
        if draw(st.booleans()):                     # noise between frames, zeros allowed
            out.append(draw(st.binary(max_size=40)))
        if draw(st.integers(0, 9)) == 0:            # an oversize run between frames
            out.append(b"\x00" + bytes(draw(st.integers(1, 255)) for _ in range(1)) * 300 + b"\x00")
        body = bytearray(wire[1:-1])
        if op == "keep":
            out.append(wire)
            intact.append(wire)
            continue
        if op == "flip":
            pos = draw(st.integers(0, len(body) - 1))
            body[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            body = body[:draw(st.integers(0, len(body) - 1))]
        elif op == "garbage_inside":
            pos = draw(st.integers(1, len(body) - 1))
            body[pos:pos] = draw(st.binary(min_size=1, max_size=20))
        elif op == "splice":
            other = frames[(i + 1) % n][1:-1] if n > 1 else bytes(reversed(body))
            cut = draw(st.integers(1, len(body) - 1))
            body = body[:cut] + other[cut:]
        elif op == "forge":                         # change content and fix the CRC: only a tag can tell
            raw = bytearray(cobs_ref.decode(bytes(body)))
            pos = draw(st.integers(0, len(raw) - 5))
            raw[pos] ^= draw(st.integers(1, 255))
            raw[-4:] = zlib.crc32(raw[:-4]).to_bytes(4, "little")
            body = bytearray(cobs_ref.encode(bytes(raw)))
        elif op == "glue":                          # trailing delimiter lost, stray bytes glued on
            out.append(b"\x00" + bytes(body) + b"\x01\x02")
            continue
        out.append(b"\x00" + bytes(body) + b"\x00")
    return b"".join(out), intact, frames, signed


def _accepted_by_ground(data, signed):
    dec = StreamDecoder({3: KEY} if signed else None)
    frames = dec.feed(data) + dec.flush()
    return [f.wire() for f in frames]


def _accepted_by_portable(data, signed):
    dec = Decoder(keys={3: KEY} if signed else None, queue=100)
    dec.feed(data)
    dec.flush()
    out = []
    while (f := dec.pop()) is not None:
        out.append(f)
    return out


def _in_order_within(needed, got):
    it = iter(got)
    return all(any(g == n for g in it) for n in needed)


def _check(accepted_raws, intact, sent, signed):
    # Nothing intact is lost, in order. A splice may recreate a copy of a frame that was sent (an
    # unsigned stream cannot tell it from a retransmission): extra copies are no alteration.
    assert _in_order_within(intact, accepted_raws)
    altered = [r for r in accepted_raws if r not in sent]
    if signed:
        assert altered == []
    for raw in altered:     # unsigned: only a forger who fixed the CRC gets through, by design
        assert zlib.crc32(cobs_ref.decode(raw[1:-1])) == 0x2144DF1C


@FAST
@given(st.booleans().flatmap(damaged_streams))
def test_ground_recovers_every_untouched_frame_and_accepts_no_altered_one(case):
    data, intact, sent, signed = case
    _check(_accepted_by_ground(data, signed), intact, sent, signed)


@CHEAP
@given(st.booleans().flatmap(damaged_streams))
def test_portable_decoder_agrees_with_ground(case):
    data, _intact, _sent, signed = case
    ground = StreamDecoder({3: KEY} if signed else None)
    expected = [(f.seq, f.uptime_ms) for f in ground.feed(data) + ground.flush()]
    got = [(f[3], f[4]) for f in _accepted_by_portable(data, signed)]
    assert got == expected


@FAST
@given(st.binary(max_size=3000), st.lists(st.integers(1, 400), max_size=20))
def test_random_bytes_never_raise_and_counters_add_up(data, cuts):
    dec = StreamDecoder({1: KEY})
    pos = 0
    for c in cuts + [len(data)]:
        dec.feed(data[pos:pos + c])
        pos += c
    s = dec.stats
    assert s.bytes == len(data) and s.skipped_bytes <= s.bytes
    assert s.frames == 0 or s.frames <= s.bytes // 14


@CHEAP
@given(st.binary(max_size=1500))
def test_random_bytes_never_raise_in_the_portable_decoder(data):
    dec = Decoder(keys={1: KEY}, node_id=1)
    dec.feed(data)
    assert dec.stats["bytes"] == len(data)
