"""The node firmware in the VM (both runtimes) against the emulated sensors, through the sim board.

The bench side of the sync contract is tests/nodebench.py's NodeBench: constant or scripted truth,
faults and command bytes at chosen times; what the node wrote is decoded with the protocol's decoder.
"""
from nodebench import KEY, TRUTH, NodeBench, config, named, of_type, run_node

from safehaven.protocol import messages as M
from safehaven.protocol.codec import Decoder

def test_node_boots_and_sends_telemetry(runtime):
    bench = NodeBench(stop_ms=20000)
    summary = run_node(runtime, config(), bench)
    frames = bench.frames()
    assert bench.decoder.stats["crc_failures"] == 0 and bench.decoder.stats["skipped_bytes"] == 0
    hb = of_type(frames, M.HEARTBEAT)
    first = named(hb[0][2], M.HEARTBEAT)
    assert frames[0][1] == M.HEARTBEAT
    assert first["reset_cause"] == M.RESET_POWER_ON and first["board"] == M.BOARD_VIRTUAL
    assert first["zone"].rstrip(b"\x00") == b"B" and first["mode"] == M.MODE_HABITAT
    boot = named(of_type(frames, M.EVENT)[0][2], M.EVENT)
    assert boot["event"] == M.EV_BOOT
    tel = [named(f[2], M.TELEMETRY) for f in of_type(frames, M.TELEMETRY)]
    assert 18 <= len(tel) <= 21                       # 1 s period over 20 s
    for t in tel[3:]:
        assert abs(t["pressure_pa"] / 256 - TRUTH["pressure_pa"]) < 100    # BMP280 absolute +-1 hPa
        assert abs(t["temperature_c"] / 100 - TRUTH["temperature_c"]) < 1.5
        assert t["state"] == M.NOMINAL
        assert not t["status"] & (M.ST_BMP_FAULT | M.ST_SCD_FAULT | M.ST_OUT_OF_RANGE)
    co2 = [t["co2_ppm"] for t in tel if t["co2_ppm"]]
    assert co2 and abs(co2[-1] - 800) < 100            # SCD4x every 5 s, +-(50 ppm + 5 %)
    assert not tel[-1]["status"] & M.ST_CO2_UNCOMPENSATED   # fed the BMP280 pressure
    assert summary["samples"] >= 95 and summary["bmp_errors"] == 0


def test_heartbeats_are_periodic_and_count(runtime):
    bench = NodeBench(stop_ms=35000)
    run_node(runtime, config(heartbeat_period_ms=10000), bench)
    hb = of_type(bench.frames(), M.HEARTBEAT)
    assert len(hb) == 4                                # boot + 10, 20, 30 s
    assert [named(h[2], M.HEARTBEAT)["fw_version"] for h in hb] == [0x0100] * 4


def test_ticks_wrap(runtime):
    """Virtual ticks start 5 s before the 2^30 ms wrap: sampling, telemetry and uptime carry on. The
    node's uptime (ms since its reset) passes 2^30 without wrapping: it carries into bits 30-31 of the
    frame's u32 (small ints on the node), so the ground sees no phantom reboot every 12.4 days."""
    from safehaven.ground.wire import decode_all
    bench = NodeBench(stop_ms=20000)
    start = (1 << 30) - 5000
    cfg = config(sim={"start_ticks_ms": start})
    summary = run_node(runtime, cfg, bench)
    frames = bench.frames()
    tel = of_type(frames, M.TELEMETRY)
    assert 18 <= len(tel) <= 21
    assert all(named(f[2], M.TELEMETRY)["pressure_pa"] > 0 for f in tel)
    assert summary["samples"] >= 95 and summary["uptime_ms"] >= start + 19000
    ground, stats = decode_all(bytes(bench.tx))
    ups = [f.uptime_ms for f in ground]
    assert len(ground) == len(frames) and ups == sorted(ups)
    assert ups[0] < 1 << 30 < ups[-1] and start <= ups[0] and ups[-1] - ups[0] >= 19000
    assert stats.reboots == 0 and stats.gaps == 0


def test_auth_signs_frames_and_refuses_unsigned_commands(runtime):
    bench = NodeBench(stop_ms=8000, key=KEY)
    bad = bench.command(3000, M.CMD_SET_TELEMETRY_PERIOD, 0, 500, signed=False)
    good = bench.command(5000, M.CMD_SET_TELEMETRY_PERIOD, 0, 2000, signed=True)
    run_node(runtime, config(key=KEY.hex()), bench)
    frames = bench.frames()
    assert frames and all(f[3] for f in frames)          # every frame signed and verified
    acks = {named(f[2], M.COMMAND_ACK)["request_id"]: named(f[2], M.COMMAND_ACK) for f in of_type(frames, M.COMMAND_ACK)}
    assert acks[bad]["result"] == M.ACK_AUTH_REQUIRED
    assert acks[good]["result"] == M.ACK_OK
    tel = [f[0] for f in of_type(frames, M.TELEMETRY)]
    # unsigned 500 ms never applied: 1 s until the signed command, then 2 s
    assert len([t for t in tel if 3000 < t <= 5000]) <= 3
    assert len([t for t in tel if t > 6000]) <= 2
    # a decoder without the key rejects them all
    dec = Decoder()
    dec.feed(bytes(bench.tx))
    assert dec.pop() is None and dec.stats["auth_failures"] > 0


def _auth_epoch(tx: bytes) -> int:
    """Boot epoch of the first frame in a signed stream (auth block right after the payload)."""
    import struct

    from safehaven.protocol import cobs
    first = bytearray(tx.split(b"\x00")[1])
    raw = bytearray(300)
    cobs.decode_into(first, 0, len(first), raw)
    size = struct.calcsize(M.HEADER_FORMAT + M.payload_format(raw[1]))
    return struct.unpack_from(M.AUTH_FORMAT, raw, size)[0]


def test_boot_epoch_increases_across_boots(runtime):
    epochs = []
    for _ in range(2):
        bench = NodeBench(stop_ms=1000, key=KEY, node_id=9)
        run_node(runtime, config(key=KEY.hex(), node_id=9), bench)
        assert all(f[3] for f in bench.frames())
        epochs.append(_auth_epoch(bytes(bench.tx)))
    assert epochs[1] == epochs[0] + 1


def test_ground_decoder_and_safehaven_decode_accept_the_stream(runtime, tmp_path):
    """What the node sends is what the ground station reads: ground.wire and `safehaven decode`."""
    import subprocess
    import sys

    from safehaven.ground.wire import StreamDecoder
    bench = NodeBench(stop_ms=12000, key=KEY)
    bench.command(3000, M.CMD_REQUEST_STATUS)
    run_node(runtime, config(key=KEY.hex()), bench)
    dec = StreamDecoder(keys={3: KEY})
    frames = dec.feed(bytes(bench.tx))
    names = [f.name for f in frames]
    assert names[0] == "heartbeat" and names.count("telemetry") >= 10 and "command_ack" in names
    assert all(f.authenticated and f.node_id == 3 for f in frames)
    tel = [f for f in frames if f.name == "telemetry"][-1]
    assert abs(tel.fields["pressure_pa"] - TRUTH["pressure_pa"]) < 100
    assert tel.fields["state"] == M.NOMINAL
    stream = tmp_path / "node-3.bin"
    stream.write_bytes(bytes(bench.tx))
    keyfile = tmp_path / "keys.json"
    keyfile.write_text('{"version": 1, "nodes": {"3": "%s"}}' % KEY.hex())
    keyfile.chmod(0o600)
    out = subprocess.run([sys.executable, "-m", "safehaven", "decode", str(stream), "--json", "--key-file",
                          str(keyfile)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = [l for l in out.stdout.splitlines() if l.strip()]
    assert len(lines) == len(frames)
    assert KEY.hex() not in out.stdout and KEY.hex() not in out.stderr


def test_board_epoch_file_counts_boots(runtime, tmp_path):
    """On a board the boot epoch lives in a small flash file, bumped at every boot (hw.read_epoch)."""
    path = str(tmp_path / "epoch") if runtime.runtime == "cpython" else "/tmp_epoch_test"
    got = runtime.exec("import hw\ntry:\n    import os\n    os.remove(%r)\nexcept OSError:\n    pass\n"
                       "result = [hw.read_epoch(%r) for _ in range(3)]\n"
                       "f = open(%r, 'w')\nf.write('65535')\nf.close()\nresult.append(hw.read_epoch(%r))\n"
                       % (path, path, path, path))
    assert got == [1, 2, 3, 0]                     # u16: wraps after 65535
