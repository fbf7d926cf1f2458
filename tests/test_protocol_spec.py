"""docs/protocol.md as an independent implementation read it: the places where text and code used to part
ways, each decided once and checked on both decoders (ground.wire under CPython, protocol.codec.Decoder
under CPython and MicroPython), which share the rule book in protocol/link.py."""
import hashlib

import pytest

from safehaven.ground.wire import StreamDecoder, encode_frame
from safehaven.protocol import messages as M

KEY = hashlib.sha256(b"spec test key").digest()
TEL = (25767233, 2508, 420, 3700, -123, 50, M.NOMINAL, 0)

_PORTABLE = """
import binascii
from protocol.codec import Decoder
dec = Decoder(keys={3: binascii.unhexlify(KEY)} if KEY else None, queue=100)
for piece in PIECES:
    dec.feed(binascii.unhexlify(piece))
if FLUSH:
    dec.flush()
seqs = []
while True:
    f = dec.pop()
    if f is None:
        break
    seqs.append(f[3])
result = {"seqs": seqs, "stats": dec.stats}
"""


def both(runtime, pieces, key=None, flush=True):
    """(ground seqs, ground counters, portable seqs, portable counters) for the same byte pieces."""
    dec = StreamDecoder({3: key} if key else None)
    frames = []
    for p in pieces:
        frames += dec.feed(p)
    if flush:
        frames += dec.flush()
    got = runtime.exec(f"PIECES = {[p.hex() for p in pieces]!r}\nKEY = {key.hex() if key else None!r}\n"
                       f"FLUSH = {flush!r}\n" + _PORTABLE)
    return [f.seq for f in frames], dec.stats.as_dict(), got["seqs"], got["stats"]


def tel(seq, up, key=None, counter=0):
    return encode_frame(M.TELEMETRY, 3, seq, up, TEL, key, counter)


def test_item1_one_length_rule_254_is_a_chunk_255_is_oversize(runtime):
    """§1 and §6 rule 2 say the same: a run of more than MAX_ENCODED (254) bytes is oversize."""
    for n, counter in ((254, "crc_failures"), (255, "oversize")):
        pieces = [tel(0, 1000), b"\x07" * n, tel(1, 2000)]
        g_seqs, g, p_seqs, p = both(runtime, pieces)
        assert g_seqs == p_seqs == [0, 1]
        for stats in (g, p):
            assert stats[counter] == 1 and stats["crc_failures" if counter == "oversize" else "oversize"] == 0
            assert stats["skipped_bytes"] == n


def test_item2_end_of_input_judges_the_last_unterminated_frame(runtime):
    """A frame whose trailing delimiter never came is delivered by flush() at the end of the input,
    not before; an oversize run at the end delivers nothing."""
    last = tel(1, 2000)[:-1]                       # trailing 0x00 lost
    g_seqs, g, p_seqs, p = both(runtime, [tel(0, 1000), last], flush=False)
    assert g_seqs == p_seqs == [0] and g["frames"] == p["frames"] == 1
    g_seqs, g, p_seqs, p = both(runtime, [tel(0, 1000), last])
    assert g_seqs == p_seqs == [0, 1] and g["bytes"] == p["bytes"] == len(tel(0, 1000)) + len(last)
    g_seqs, g, p_seqs, p = both(runtime, [tel(0, 1000), b"\x00" + b"\x07" * 300])
    assert g_seqs == p_seqs == [0] and g["oversize"] == p["oversize"] == 1


def test_item3_a_dropped_signed_duplicate_does_not_move_the_pair(runtime):
    """A re-signed copy (same seq and uptime, newer counter) is a duplicate: dropped, and the
    (epoch, counter) pair stays where the last accepted frame left it."""
    pieces = [tel(0, 1000, KEY, 10), tel(0, 1000, KEY, 20), tel(1, 2000, KEY, 15)]
    g_seqs, g, p_seqs, p = both(runtime, pieces, KEY)
    assert g_seqs == p_seqs == [0, 1]
    for stats in (g, p):
        assert stats["duplicates"] == 1 and stats["replays"] == 0 and stats["frames"] == 2
