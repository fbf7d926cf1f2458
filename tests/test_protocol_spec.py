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
dec = Decoder(keys={3: binascii.unhexlify(KEY)} if KEY else None, queue=1000)
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


def test_item4_late_frames_are_counted_honestly(runtime):
    """Rule 7's three cases that used to miscount, on both decoders."""
    # a delayed copy of an older frame: already delivered, so a duplicate (was delivered again)
    g_seqs, g, p_seqs, p = both(runtime, [tel(0, 1000), tel(1, 2000), tel(2, 3000), tel(3, 4000), tel(1, 2000)])
    assert g_seqs == p_seqs == [0, 1, 2, 3]
    for stats in (g, p):
        assert (stats["duplicates"], stats["reordered"], stats["gaps"], stats["reboots"]) == (1, 0, 0, 0)
    # a copy of the stream's first frame: a duplicate (was a reboot and then 2 phantom gaps)
    pieces = [tel(0, 1000), tel(1, 2000), tel(2, 3000), tel(0, 1000), tel(3, 4000)]
    g_seqs, g, p_seqs, p = both(runtime, pieces)
    assert g_seqs == p_seqs == [0, 1, 2, 3]
    for stats in (g, p):
        assert (stats["duplicates"], stats["reordered"], stats["gaps"], stats["reboots"]) == (1, 0, 0, 0)
    # a frame that really was skipped, arriving late: delivered once, counted as late (lost = gaps - reordered)
    pieces = [tel(0, 1000), tel(2, 3000), tel(1, 2000), tel(3, 4000), tel(1, 2000)]
    g_seqs, g, p_seqs, p = both(runtime, pieces)
    assert g_seqs == p_seqs == [0, 2, 1, 3]
    for stats in (g, p):
        assert (stats["duplicates"], stats["reordered"], stats["gaps"], stats["reboots"]) == (1, 1, 1, 0)
    # one stale frame from before a reboot (seq 99) cannot be told from a jump over 96 lost frames when it
    # arrives; the new boot's frames 3..98 then fill that gap: every one delivered, each counted as late,
    # so frames lost = gaps - reordered = 0 (it used to read as ~99 lost with nothing to balance them).
    # The new boot's own seq 99 then meets the stray's seq with a later uptime: a restart of the stream.
    before = [tel(i, 1000 * i) for i in range(100)]
    after = [tel(i, 350 + 1000 * i) for i in range(110)]
    pieces = before + after[:3] + [before[99]] + after[3:]
    g_seqs, g, p_seqs, p = both(runtime, pieces)
    assert g_seqs == p_seqs == list(range(100)) + [0, 1, 2, 99] + list(range(3, 110))
    for stats in (g, p):
        assert (stats["gaps"], stats["reboots"], stats["reordered"], stats["duplicates"]) == (96, 2, 96, 0)


def test_item4_outages_reboots_and_frames_too_late_to_check(runtime):
    # 49 lost; seq 10 arrives 41 behind, beyond the 30-frame window: delivered as late, unchecked
    pieces = [tel(0, 1000), tel(50, 51000), tel(51, 52000), tel(10, 11000)]
    g_seqs, g, p_seqs, p = both(runtime, pieces)
    assert g_seqs == p_seqs == [0, 50, 51, 10]
    for stats in (g, p):
        assert (stats["gaps"], stats["reordered"], stats["duplicates"], stats["reboots"]) == (49, 1, 0, 0)
    # a reboot whose frames fall inside the old boot's seq and uptime span is not taken for copies:
    # no frame of the old boot had that (seq, uptime)
    pieces = [tel(i, 1000 * i) for i in range(10)] + [tel(i, 350 + 1000 * i) for i in range(3, 12)]
    g_seqs, g, p_seqs, p = both(runtime, pieces)
    assert g_seqs == p_seqs == list(range(10)) + list(range(3, 12))
    for stats in (g, p):
        assert (stats["gaps"], stats["reordered"], stats["duplicates"], stats["reboots"]) == (0, 0, 0, 1)
