"""ground.wire.StreamDecoder behaviour beyond the vectors: arbitrary chunking, oversize runs split
across reads, keys, sequence accounting, and commands from encode_command accepted by a node."""
import hashlib
import random

import pytest

from safehaven.ground.wire import StreamDecoder, decode_all, encode_command, encode_frame, next_counter
from safehaven.protocol import messages as M

KEY = hashlib.sha256(b"wire test key").digest()
TEL = (25767233, 2508, 420, 3700, -123, 50, M.NOMINAL, 0)


def _stream(n, node_id=1, key=None, start_seq=0, start_up=1000):
    return [encode_frame(M.TELEMETRY, node_id, (start_seq + i) & 0xFFFF, start_up + 1000 * i, TEL, key,
                         (1 << 32) + i) for i in range(n)]


def test_any_chunking_gives_the_same_frames_and_counters():
    rng = random.Random(5)
    frames = _stream(30)
    data = b"".join(f if i % 4 else f + rng.randbytes(rng.randrange(1, 400)) for i, f in enumerate(frames))
    whole, whole_stats = decode_all(data)
    dec = StreamDecoder()
    parts = []
    pos = 0
    while pos < len(data):
        step = rng.randrange(1, 60)
        parts += dec.feed(data[pos:pos + step])
        pos += step
    parts += dec.flush()
    assert [f.seq for f in whole] == list(range(30))
    assert parts == whole and dec.stats == whole_stats


def test_oversize_run_across_reads_is_counted_once_and_never_stalls():
    dec = StreamDecoder()
    frames = _stream(2)
    assert dec.feed(frames[0] + b"\x07" * 200) != []
    assert dec.feed(b"\x07" * 200) == []
    assert dec.feed(b"\x07" * 200) == []
    got = dec.feed(b"\x07" * 10 + frames[1])
    assert [f.seq for f in got] == [1]
    assert dec.stats.oversize == 1 and dec.stats.skipped_bytes == 610 and dec.stats.crc_failures == 0


def test_gap_reboot_wrap_and_reorder_accounting():
    data = b"".join(_stream(3, start_seq=65534, start_up=4294965000))      # seq and uptime wrap
    data += encode_frame(M.TELEMETRY, 1, 4, 3000, TEL)                      # seq 1..3 lost
    data += encode_frame(M.TELEMETRY, 1, 2, 1500, TEL)                      # a late one
    data += encode_frame(M.TELEMETRY, 1, 4, 3000, TEL)                      # repeated
    data += b"".join(_stream(4, node_id=2, start_seq=0, start_up=60000))
    data += encode_frame(M.TELEMETRY, 2, 0, 200, TEL)                       # node 2 rebooted
    frames, st = decode_all(data)
    assert len(frames) == 10
    assert (st.gaps, st.reordered, st.reboots, st.duplicates) == (3, 1, 1, 1)
    assert (st.nodes[1].gaps, st.nodes[1].reboots, st.nodes[2].gaps, st.nodes[2].reboots) == (3, 0, 0, 1)


def test_keys_select_who_must_sign():
    signed = _stream(2, node_id=3, key=KEY)
    plain_from_keyed = encode_frame(M.TELEMETRY, 3, 9, 99999, TEL)
    plain_other = encode_frame(M.TELEMETRY, 4, 0, 1000, TEL)
    frames, st = decode_all(b"".join(signed) + plain_from_keyed + plain_other, keys={3: KEY})
    assert [(f.node_id, f.authenticated) for f in frames] == [(3, True), (3, True)]     # node 4 has no key
    assert st.auth_failures == 1 and st.nodes[3].auth_failures == 1
    assert st.unknown_nodes == 1 and st.nodes[4].unknown_nodes == 1 and st.nodes[4].frames == 0
    frames, st = decode_all(b"".join(signed) + plain_other, keys={3: KEY}, allow_unsigned={4})   # opted in
    assert [(f.node_id, f.authenticated) for f in frames] == [(3, True), (3, True), (4, False)]
    assert st.unknown_nodes == 0
    frames, st = decode_all(b"".join(signed))                               # no key: cannot verify
    assert frames == [] and st.auth_failures == 2


def test_keys_are_validated_and_never_shown():
    with pytest.raises(ValueError):
        StreamDecoder({1: b"short"})
    dec = StreamDecoder({1: KEY})
    assert KEY.hex() not in repr(dec) and KEY.hex() not in repr(dec.stats)


def test_frame_json_uses_spec_names():
    import json
    frame = decode_all(encode_frame(M.HEARTBEAT, 2, 5, 77, (258, M.BOARD_RP2040, M.RESET_WATCHDOG, 1000,
                                                             b"lab", 1, 2, 3, 4, 5, 6, M.MODE_CHAMBER)))[0][0]
    doc = json.loads(frame.to_json())
    assert doc["type"] == "heartbeat" and doc["zone"] == "lab" and doc["mode"] == M.MODE_CHAMBER
    assert set(doc) == {"type", "node_id", "seq", "uptime_ms", "authenticated"} | \
        {name for name, _, _ in M.MESSAGES[M.HEARTBEAT][1]}


def test_next_counter_only_grows():
    values = [next_counter() for _ in range(200)]
    assert all(b > a for a, b in zip(values, values[1:]))
    assert values[0] >> 32 > 0      # wall-clock ms: above any node's small boot epochs


def test_encode_command_round_trip_through_the_node_decoder(runtime):
    frames = [encode_command(5, 100 + i, M.CMD_SET_TELEMETRY_PERIOD, 0, 1000 * i, key=KEY) for i in range(3)]
    got = runtime.exec(
        "import binascii\nfrom protocol.codec import Decoder\n"
        f"d = Decoder(node_id=5, key=binascii.unhexlify({KEY.hex()!r}))\n"
        f"for h in {[f.hex() for f in frames + frames[:1]]!r}:\n    d.feed(binascii.unhexlify(h))\n"
        "out = []\nwhile True:\n    f = d.pop()\n    if f is None:\n        break\n    out.append(list(f[6]))\n"
        "result = [out, d.stats['replays']]")
    assert got == [[[100 + i, M.CMD_SET_TELEMETRY_PERIOD, 0, 1000 * i] for i in range(3)], 1]


def test_commands_from_separate_ground_processes_are_not_duplicates(runtime):
    import subprocess
    import sys
    code = ("import sys\nfrom ground.wire import encode_command\n"
            "sys.stdout.write(encode_command(5, 1, 8, 0, 0).hex())")
    frames = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
              for _ in range(2)]
    got = runtime.exec(
        "import binascii\nfrom protocol.codec import Decoder\nd = Decoder(node_id=5)\n"
        f"for h in {frames!r}:\n    d.feed(binascii.unhexlify(h))\n"
        "n = 0\nwhile d.pop() is not None:\n    n += 1\nresult = [n, d.stats['duplicates']]")
    assert got == [2, 0]


def test_an_alarm_without_a_measured_loss_reads_as_measuring_on_the_ground():
    # LOSS_UNMEASURED (0 g/day, 0 um) in an EV_LEAK_DETECTED: the node's codec sends it, the ground's
    # decoder reads the event and event_loss says "not yet measured" (None); the smallest measured loss
    # the node sends (1 g/day, 1 um) and every other event keep their figures
    from safehaven.ground.wire import event_loss
    from safehaven.protocol.codec import Encoder
    enc = Encoder(7)
    data = b"".join(bytes(enc.event(1000 * i, ev, M.LEAK, -96, g, um, 101325 * 256)) for i, (ev, g, um) in enumerate((
        (M.EV_LEAK_DETECTED, M.LOSS_UNMEASURED, M.LOSS_UNMEASURED), (M.EV_LEAK_DETECTED, 1, 1),
        (M.EV_RAPID, M.LOSS_UNMEASURED, M.LOSS_UNMEASURED), (M.EV_LEAK_CLEARED, 0, 0))))
    frames, _ = decode_all(data, allow_unsigned=(7,))
    assert [event_loss(f.fields) for f in frames] == [(None, None), (0.001, 0.001), (None, None), (0.0, 0.0)]
