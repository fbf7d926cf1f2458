"""The `maintenance` command on the virtual bench: signed, acked, then a reboot into maintenance mode
(heartbeats say so, no telemetry, sensors idle), back to normal after 10 minutes without a byte heard."""
from safehaven.protocol import messages as M
from nodebench import KEY, NodeBench, config, named, run_node


def _modes(frames):
    return [(t, named(v, M.HEARTBEAT)["mode"]) for t, ty, v, _ in frames if ty == M.HEARTBEAT]


def _acks(frames):
    return {named(v, M.COMMAND_ACK)["request_id"]: (t, named(v, M.COMMAND_ACK)) for t, ty, v, _ in frames
            if ty == M.COMMAND_ACK}


def test_maintenance_round_trip(runtime):
    b = NodeBench(stop_ms=840000, step_ms=5000, key=KEY)
    unsigned = b.command(5000, M.CMD_MAINTENANCE, signed=False)
    r = b.command(10000, M.CMD_MAINTENANCE)
    status = b.command(200000, M.CMD_REQUEST_STATUS)        # heard: the 10 minutes start again
    other = b.command(200000, M.CMD_SET_SAMPLE_PERIOD, 0, 100)
    cfg = config(key=KEY.hex(), sample_period_ms=1000, telemetry_period_ms=5000)
    run_node(runtime, cfg, b)
    frames = b.frames()
    acks = _acks(frames)
    assert acks[unsigned][1]["result"] == M.ACK_AUTH_REQUIRED
    t_ack, ack = acks[r]
    assert ack["result"] == M.ACK_OK and ack["command"] == M.CMD_MAINTENANCE
    assert acks[status][1]["result"] == M.ACK_OK
    assert acks[other][1]["result"] == M.ACK_REJECTED         # maintenance obeys only status and reboot
    t_status = acks[status][0]
    modes = _modes(frames)
    maint = [t for t, m in modes if m == M.MODE_MAINTENANCE]
    assert maint and maint[0] >= t_ack
    back = [t for t, m in modes if t > maint[0] and m != M.MODE_MAINTENANCE]
    assert back, "never came back from maintenance"
    # back to normal 10 minutes after the last byte heard (the status request), not after the command
    assert t_status + 600000 <= back[0] <= t_status + 600000 + 15000
    tel = [t for t, ty, v, _ in frames if ty == M.TELEMETRY]
    assert not [t for t in tel if maint[0] < t < back[0]]     # sensors idle: no telemetry in maintenance
    assert [t for t in tel if t > back[0]]
    boots = [t for t, ty, v, _ in frames if ty == M.EVENT and named(v, M.EVENT)["event"] == M.EV_BOOT]
    assert len(boots) == 2 and boots[1] >= back[0] - 5000
    assert all(f[3] for f in frames)                           # every frame signed, in maintenance too


def test_reboot_command_ends_maintenance(runtime):
    b = NodeBench(stop_ms=40000, step_ms=1000)
    b.command(3000, M.CMD_MAINTENANCE)
    r = b.command(20000, M.CMD_REBOOT)
    run_node(runtime, config(), b)
    frames = b.frames()
    assert _acks(frames)[r][1]["result"] == M.ACK_OK
    modes = [m for t, m in _modes(frames)]
    assert M.MODE_MAINTENANCE in modes and modes[-1] == M.MODE_HABITAT
    tel = [(t, named(v, M.TELEMETRY)["status"]) for t, ty, v, _ in frames if ty == M.TELEMETRY]
    assert [t for t, _ in tel if t > 21000]
    # the SCD4x kept measuring through the MCU's resets (as a real one does): the node still gets it going
    assert not [t for t, st in tel if t > 26000 and st & M.ST_SCD_FAULT]


def test_the_link_tells_a_typed_ctrl_c_from_frame_bytes(monkeypatch):
    """The maintenance link's rule (firmware/link.py), byte by byte: no byte of a command frame is a
    Ctrl-C, whatever its node id, counter, tag or request id; mpremote's "\\r\\x03" is one between frames,
    after a frame cut off and a silence, and after bytes that are no frame."""
    import random

    import link
    from safehaven.ground.wire import encode_command
    now = [0]
    monkeypatch.setattr(link, "time", type("T", (), {"ticks_ms": staticmethod(lambda: now[0]),
                                                      "ticks_diff": staticmethod(lambda a, b: a - b)}))
    gate = link.StdioLink.__new__(link.StdioLink)
    gate.where, gate.inside, gate.last_ms = link._LOOSE, 0, 0

    def typed(data):
        now[0] += 1
        return [i for i, b in enumerate(data) if gate.typed(b)]

    rnd = random.Random(3)
    frames = [encode_command(rnd.randint(1, 254), rnd.randint(0, 65535), rnd.randint(1, 12), rnd.randint(0, 255),
                             rnd.randint(-2 ** 31, 2 ** 31 - 1), key=rnd.randbytes(32) if i % 2 else None,
                             counter=rnd.randint(0, 2 ** 40), seq=rnd.randint(0, 65535),
                             uptime_ms=rnd.randint(0, 2 ** 32 - 1)) for i in range(2000)]
    assert sum(f.count(3) for f in frames) > 300 and any(f[2:5] == bytes([1, 4, 3]) for f in frames)
    for f in frames:
        assert typed(f) == [] and typed(b"\r\x03") == [1]
    assert typed(b"\x03") == [0]                      # straight after a frame's 0x00
    assert typed(b"hello\x03") == [5]                 # after bytes that are no frame
    cut = frames[0][:12]
    assert typed(cut) == [] and typed(b"\r\x03") == []   # in a frame still arriving: its data
    now[0] += link.FRAME_GAP_MS + 1                   # ...until the ground has been silent a while
    assert typed(b"\r\x03") == [1]
