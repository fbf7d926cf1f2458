"""Adversarial: a live `safehaven monitor` with per-node keys, real socket:// links and a real SQLite file,
restarted once. Genuine nodes 1 and 2 (zone lab, keyed) report calm air the whole time. Attackers:
- unkeyed nodes: node 7 on its own link in its own zone, node 8 on node 2's link in zone lab, both
  reporting a rapid depressurisation (one fake node in its own zone used to cause SHELTER);
- cross-link replays: node 1's signed RAPID frames from an earlier boot, and copies of node 1's
  current frames, injected on node 2's link (they used to be accepted and cause SHELTER, and to
  make the genuine nodes' next frames be dropped as stale);
- replays after a restart: frames the first monitor accepted, sent again to the second one, and
  older RAPID frames of the current boot (the replay guard lived in memory only: 31 accepted, SHELTER);
- forged frames (a wrong key) and relabelled ones (node 1's signed frame renamed node 2; the auth
  block stripped), all reporting RAPID.
None of it may move the ground above NOMINAL or silence a genuine node, and all of it is visible.
"""
import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib

from cobs import cobs

from safehaven.protocol import messages as m
from safehaven.protocol.codec import Encoder

SH = [sys.executable, "-m", "safehaven"]
KEYS = {1: hashlib.sha256(b"trust test node 1").digest(), 2: hashlib.sha256(b"trust test node 2").digest()}
POLICY = """name = "fast"
[shelter]
persist_rapid_s = 0.5
[voting]
stale_s = 30.0
"""  # staleness is not what this test is about: a loaded CI machine may stall the sender for seconds
CALM = (int(101000.0 * 256), 2100, 800, 4000, 0, 0, m.NOMINAL, 0)
RAPID = (int(95000.0 * 256), 2100, 800, 4000, -4000000, 20000, m.RAPID, 0)


class Link(threading.Thread):
    """A node link behind socket://: sends what is queued to whoever is connected (the monitor)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(2)
        self.port = self.sock.getsockname()[1]
        self.conn = None
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def url(self):
        return f"socket://127.0.0.1:{self.port}"

    def run(self):
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with self.lock:
                if self.conn is not None:
                    self.conn.close()
                self.conn = conn

    def send(self, data):
        with self.lock:
            if self.conn is None:
                return False
            try:
                self.conn.sendall(data)
                return True
            except OSError:
                self.conn = None
                return False

    def close(self):
        self.stop.set()
        self.join(2)
        with self.lock:
            if self.conn is not None:
                self.conn.close()
        self.sock.close()


class Genuine:
    """A keyed node running since before the monitor started (boot epoch 5, counter already at 1000)."""

    def __init__(self, node_id, link, t_ms=2_000_000, heartbeat_ms=1000, key=True):
        self.enc = Encoder(node_id, key=KEYS[node_id] if key else None, epoch=5)
        self.enc.counter = 1000
        self.enc.seq = 1000
        self.link = link
        self.t_ms = t_ms
        self.heartbeat_ms = heartbeat_ms
        self.sent = []

    def tick(self):
        self.t_ms += 100
        frames = []
        if self.t_ms % self.heartbeat_ms == 0:
            frames.append(bytes(self.enc.heartbeat(self.t_ms, 0x0100, 4, 1, 100000, b"lab", 0, 0, 0, 0, 0, 0, 0)))
        frames.append(bytes(self.enc.telemetry(self.t_ms, *CALM)))
        for f in frames:
            if self.link.send(f):
                self.sent.append(f)


def relabel(frame, node_id=None, strip_auth=False):
    """Change a frame's node id and/or drop its auth block, then fix the CRC (what a forger can do)."""
    raw = bytearray(cobs.decode(frame[1:-1]))[:-4]
    if node_id is not None:
        raw[2] = node_id
    if strip_auth:
        raw = raw[:-m.AUTH_SIZE]
        raw[3] = 0
    raw += struct.pack("<I", zlib.crc32(raw))
    return b"\x00" + cobs.encode(bytes(raw)) + b"\x00"


def monitor(links, db, keyfile, policy, duration, args=()):
    args = list(args)
    for node_id, link in links.items():
        args += ["--node", f"{node_id}={link.url()}"]
    return subprocess.Popen(SH + ["monitor", *args, "--zone", "1=lab", "--zone", "2=lab", "--db", str(db),
                                  "--key-file", str(keyfile), "--policy", str(policy), "--plain",
                                  "--duration", str(duration)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_session(links, genuine, db, keyfile, policy, attack, seconds=6.0, silent_s=0.0, args=()):
    """One monitor run: genuine nodes at 10 Hz (silent for the first silent_s: unplugged, or jammed),
    attack(i) called every 100 ms; returns (stdout, stderr)."""
    mon = monitor(links, db, keyfile, policy, seconds + 2.0, args)
    deadline = time.monotonic() + 10
    while not all(l.conn is not None for l in links.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)                       # pyserial flushes its input when it opens a port
    start = time.monotonic()
    for i in range(int(seconds * 10)):
        if i >= silent_s * 10:
            for g in genuine:
                g.tick()
        attack(i)
        time.sleep(max(0.0, start + (i + 1) * 0.1 - time.monotonic()))
    out, err = mon.communicate(timeout=30)
    assert mon.returncode == 0, err
    return out, err


def status(db):
    proc = subprocess.run(SH + ["status", "--db", str(db), "--json"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def decisions(db):
    """The live decision log, as recorded (JSON lines)."""
    from safehaven.ground.store import Store
    store = Store(db, readonly=True)
    try:
        return store.decisions()
    finally:
        store.close()


def station_files(tmp_path):
    """(key file, policy, database path) of a monitor run."""
    keyfile = tmp_path / "keys.json"
    keyfile.write_text(json.dumps({"version": 1, "nodes": {str(n): k.hex() for n, k in KEYS.items()}}))
    os.chmod(keyfile, 0o600)
    policy = tmp_path / "fast.toml"
    policy.write_text(POLICY)
    db = tmp_path / "habitat.sqlite"
    return keyfile, policy, db


def test_no_attack_moves_the_ground_or_silences_a_genuine_node(tmp_path):
    keyfile, policy, db = station_files(tmp_path)
    links = {1: Link(), 2: Link(), 7: Link()}
    for link in links.values():
        link.start()
    genuine = [Genuine(1, links[1]), Genuine(2, links[2])]
    # captured at an earlier, longer boot of node 1 (epoch 4): a rapid depressurisation, properly signed
    earlier = Encoder(1, key=KEYS[1], epoch=4)
    captured = [bytes(earlier.telemetry(50_000_000 + 100 * i, *RAPID)) for i in range(60)]
    # captured in the current boot of both nodes, before the first monitor listened (counters below 1000)
    this_boot = {n: Encoder(n, key=KEYS[n], epoch=5) for n in (1, 2)}
    older = {n: [bytes(this_boot[n].telemetry(1_000_000 + 100 * i, *RAPID)) for i in range(60)] for n in (1, 2)}
    renamed = [relabel(f, node_id=2) for f in older[1]]        # node 1's frames renamed: the tag no longer matches
    forger = {n: Encoder(n, key=bytes(32), epoch=9) for n in (1, 2)}
    fake7, fake8 = Encoder(7), Encoder(8)

    def attack_one(i):
        if i % 10 == 0:
            links[7].send(bytes(fake7.heartbeat(i * 100, 0x0100, 4, 1, 100000, b"evil", 0, 0, 0, 0, 0, 0, 0)))
            links[2].send(bytes(fake8.heartbeat(i * 100, 0x0100, 4, 1, 100000, b"lab", 0, 0, 0, 0, 0, 0, 0)))
        links[7].send(bytes(fake7.telemetry(i * 100, *RAPID)))
        links[2].send(bytes(fake8.telemetry(i * 100, *RAPID)))
        links[2].send(captured[i % len(captured)])                                   # cross-link, old boot
        if len(genuine[0].sent) > 5:
            links[2].send(genuine[0].sent[-3])                                        # cross-link, live copy
        links[1].send(bytes(forger[1].telemetry(genuine[0].t_ms + 50, *RAPID)))      # forged
        links[2].send(bytes(forger[2].telemetry(genuine[1].t_ms + 50, *RAPID)))
        links[1].send(renamed[i % len(renamed)])                                      # relabelled
        links[2].send(relabel(older[1][i % 60], node_id=2, strip_auth=True))         # relabelled, unsigned

    out1, err1 = run_session(links, genuine, db, keyfile, policy, attack_one)
    accepted = [f for g in genuine for f in g.sent]
    sent1 = {g.enc.node_id: len(g.sent) for g in genuine}

    def attack_two(i):    # after the restart, genuine nodes jammed at first: older RAPID frames of this boot,
        links[1].send(older[1][i % 60])                     # and what the first monitor accepted
        links[2].send(older[2][i % 60])
        links[1].send(accepted[i % len(accepted)])
        links[2].send(accepted[-1 - i % len(accepted)])
        links[7].send(bytes(fake7.telemetry(10_000 + i * 100, *RAPID)))

    out2, err2 = run_session(links, genuine, db, keyfile, policy, attack_two, silent_s=2.0)
    sent2 = {g.enc.node_id: len(g.sent) - sent1[g.enc.node_id] for g in genuine}
    for link in links.values():
        link.close()

    lines = decisions(db)
    log = [json.loads(line) for line in lines]
    states = {d["state"] for d in log}
    assert states == {"NOMINAL"}, [(d["event"], d["state"], d["reasons"]) for d in log if d["state"] != "NOMINAL"]
    info = status(db)
    assert info["state"] == "NOMINAL"
    # only the genuine nodes were heard (node configs come from accepted heartbeats), and both voted
    assert set(info["nodes"]) == {"1", "2"}
    health = [d for d in log if d["event"] == "node_health"]
    assert not health, [d["reasons"] for d in health]
    # inside each run (replay re-decides the record exactly, asserted below): only nodes 1 and 2 were
    # heard, both voted in lab, and every genuine frame was taken, none dropped as stale
    from safehaven.ground.cmd_replay import replay_db
    from safehaven.ground.keys import load_keys
    engines = []
    replayed = [d.to_json() for d in replay_db(str(db), keys=load_keys(keyfile), engines=engines)]
    assert replayed == lines and len(engines) == 2
    for engine, sent in zip(engines, (sent1, sent2)):
        assert set(engine.nodes) == {1, 2} and set(engine.voters["lab"].nodes) == {1, 2}
        assert "evil" not in engine.voters
        for node_id, count in sent.items():
            node = engine.nodes[node_id]
            assert node.stale_frames == 0 and count - 5 <= node.frames <= count, (node_id, node.frames, count)
    refused = {(r["link"], r["node_id"], r["kind"]): r["count"] for r in info["integrity"]["refused"]}
    totals = info["integrity"]["totals"]
    assert totals["unknown_nodes"] >= 100 and totals["replays"] >= 100 and totals["auth_failures"] >= 100
    assert refused[("node1", 1, "replays")] >= 50             # after the restart: accepted once, never again
    assert refused[("node2", 1, "replays")] >= 50             # node 1's frames on node 2's link
    assert info["integrity"]["last_burst"]["event"] == "link_integrity"
    # visible in the plain dashboard of both runs, and the state never moved
    for out in (out1, out2):
        assert "LINK_INTEGRITY NOMINAL -> NOMINAL: link integrity:" in out
        assert "refused frames:" in out
        assert "SHELTER" not in out and "ISOLATE" not in out and "MONITOR" not in out
    # the genuine nodes were heard all along: replay of the record agrees with the live log
    replay = subprocess.run(SH + ["replay", str(db), "--json", "--key-file", str(keyfile)], capture_output=True,
                            text=True, timeout=60)
    assert replay.returncode == 0 and replay.stdout.splitlines() == lines


def test_a_reflashed_node_is_heard_at_once_and_its_old_boot_stays_refused(tmp_path):
    """A reflash seen by a live monitor: node 1, up 20 s, is reflashed while the monitor has let go of
    its port, so its boot frames (heartbeat, boot event) go unheard; the first frames back are telemetry
    of the new boot (epoch 7: the maintenance boot took 6) at 9 s of uptime. They are new by the signed
    replay guard and must be taken at once (they were dropped as stale until the 30 s heartbeat). The old
    boot's frames sent again after it must still be refused."""
    keyfile, policy, db = station_files(tmp_path)
    links = {1: Link(), 2: Link()}
    for link in links.values():
        link.start()
    young = Genuine(1, links[1], t_ms=20_000, heartbeat_ms=30_000)
    genuine = [young, Genuine(2, links[2])]
    before = []

    def reflash(i):
        if i == 20:                                   # 2 s in: node 1 comes back from its reflash
            before.extend(young.sent)
            young.enc = Encoder(1, key=KEYS[1], epoch=7)
            young.t_ms = 9_000
        if i > 20:
            links[1].send(before[i % len(before)])    # its old boot, replayed

    try:
        run_session(links, genuine, db, keyfile, policy, reflash, seconds=5.0)
    finally:
        for link in links.values():
            link.close()
    from safehaven.ground.cmd_replay import replay_db
    from safehaven.ground.keys import load_keys
    engines = []
    assert [d.to_json() for d in replay_db(str(db), keys=load_keys(keyfile), engines=engines)] == decisions(db)
    node = engines[0].nodes[1]
    after = len(young.sent) - len(before)
    assert after >= 20 and young.t_ms - 1000 <= node.uptime_ms <= young.t_ms, (node.uptime_ms, young.t_ms)
    assert node.stale_frames == 0 and len(young.sent) - 5 <= node.frames <= len(young.sent), \
        (node.stale_frames, node.frames, len(young.sent))
    refused = {(r["link"], r["node_id"], r["kind"]): r["count"] for r in status(db)["integrity"]["refused"]}
    assert refused[("node1", 1, "replays")] >= 20


def test_a_reflashed_unsigned_node_is_heard_at_once(tmp_path):
    """The same reflash for a node without a key (--allow-unsigned 3, beside keyed node 1): node 3, up
    20 s, is silent for 4 s while it is reflashed and its boot frames go unheard; the first frames back
    are telemetry of the new boot at 1.1 s of uptime (a monitor stalled for up to ~3 s still hears a gap). Nothing proves them new, but a boot that began
    while the ground heard nothing of the node is one (docs/ground.md): they must be taken at once
    (they were dropped as stale until the uptime passed the old one or the 30 s heartbeat came)."""
    keyfile, policy, db = station_files(tmp_path)
    links = {1: Link(), 3: Link()}
    for link in links.values():
        link.start()
    unsigned = Genuine(3, links[3], t_ms=20_000, heartbeat_ms=30_000, key=False)
    keyed = Genuine(1, links[1])
    reflashing = []

    class Reflashed:
        def tick(self):
            if not reflashing:
                unsigned.tick()

    def reflash(i):
        if i == 20:                                   # 2 s in: node 3 is reflashed, silent for 4 s
            reflashing.append(len(unsigned.sent))
        if i == 60:                                   # back: a new boot, 1 s up, its boot frames lost
            unsigned.enc = Encoder(3)
            unsigned.enc.seq = 2
            unsigned.t_ms = 1_000
            reflashing.clear()

    try:
        run_session(links, [keyed, Reflashed()], db, keyfile, policy, reflash, seconds=8.0,
                    args=["--allow-unsigned", "3", "--zone", "3=lab"])
    finally:
        for link in links.values():
            link.close()
    from safehaven.ground.cmd_replay import replay_db
    from safehaven.ground.keys import load_keys
    engines = []
    assert [d.to_json() for d in replay_db(str(db), keys=load_keys(keyfile), engines=engines)] == decisions(db)
    node = engines[0].nodes[3]
    assert unsigned.t_ms >= 2_500 and unsigned.t_ms - 1000 <= node.uptime_ms <= unsigned.t_ms, \
        (node.uptime_ms, unsigned.t_ms)
    assert node.stale_frames == 0 and len(unsigned.sent) - 5 <= node.frames <= len(unsigned.sent), \
        (node.stale_frames, node.frames, len(unsigned.sent))
    assert engines[0].nodes[1].stale_frames == 0
