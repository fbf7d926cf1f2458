"""The engine on real bytes: frames made by the firmware codec, decoded by ground.wire; forged and
replayed frames on signed links; replay of a database equals the live decisions byte for byte."""
import json
import os
import random

import pytest

from safehaven.ground.clock import ManualClock
from safehaven.ground.cmd_replay import bin_frames, replay_bins, replay_db
from safehaven.ground.engine import Engine
from safehaven.ground.ptys import pty_pair
from safehaven.ground.policy import load_policy, policy_from_dict
from safehaven.ground.station import Station
from safehaven.ground.store import Store
from safehaven.protocol.codec import Encoder


KEYS = {n: bytes([n]) * 32 for n in (1, 2, 3)}


class Node:
    """A node's byte stream: heartbeat at boot and every 10 s, telemetry at `hz`."""

    def __init__(self, node_id, zone="lab", key=None, offset_pa=0.0, seed=0):
        self.enc = Encoder(node_id, key=key, epoch=1)
        self.zone = zone.encode()
        self.offset = offset_pa
        self.rnd = random.Random(seed)

    def heartbeat(self, t):
        return bytes(self.enc.heartbeat(int(t * 1000), 0x0100, 4, 1, 100000, self.zone, 0, 0, 0, 0, 0, 0, 0))

    def telemetry(self, t, p, rate, state, co2=800.0):
        pv = p + self.offset + self.rnd.gauss(0, 1.3)
        return bytes(self.enc.telemetry(int(t * 1000), int(pv * 256), 2100 + self.rnd.randint(-2, 2), int(co2),
                                        4000, int(rate * 100000) + self.rnd.randint(-300, 300), 0, state, 0))


def truth(t):
    """Nominal until 20 s, then a rapid depressurisation at -40 Pa/s."""
    if t < 20:
        return 101000.0, 0.0, 0
    return 101000.0 - 40.0 * (t - 20), -40.0, 3 if t >= 20.5 else 0


def chunks(duration=40.0, hz=5, keys=None, extra=None):
    """[(t, link, bytes)]: each node's frames of one step as one chunk."""
    nodes = {n: Node(n, key=(keys or {}).get(n), offset_pa=[0, 30, -20, 5][n], seed=n) for n in (1, 2, 3)}
    out = []
    for n, node in nodes.items():
        out.append((0.0 + n * 0.001, f"node{n}", node.heartbeat(0.0)))
    for i in range(1, int(duration * hz) + 1):
        t = i / hz
        p, rate, state = truth(t)
        for n, node in nodes.items():
            blob = node.telemetry(t, p, rate, state)
            if i % (10 * hz) == 0:
                blob += node.heartbeat(t)
            out.append((t + n * 0.001, f"node{n}", blob))
        if extra:
            out.extend(extra(t, nodes))
    return out


def decide(events, keys=None, policy=None):
    e = Engine(policy or load_policy(), keys=keys)
    out = []
    for t, link, blob in events:
        out += e.ingest(link, blob, t)
    return e, out


def states(decisions):
    return [(round(d.time, 3), d.state) for d in decisions if d.event == "state"]


def test_rapid_depressurisation_from_real_bytes():
    e, out = decide(chunks())
    assert states(out)[0][1] == "SHELTER" and 20.5 <= states(out)[0][0] <= 23.0
    snap = e.snapshot()
    assert snap["zones"]["lab"]["quantities"]["pressure_pa"]["n"] == 3
    assert snap["links"]["node1"]["decoder"]["frames"] > 0


def test_forged_frames_can_neither_cause_nor_mask_on_signed_links():
    """An attacker without the keys injects frames for every node on every link: RAPID telemetry while
    all is well, then calm telemetry during a real rapid depressurisation. Nothing changes."""
    forgers = {n: Node(n, key=bytes(32), seed=90 + n) for n in (1, 2, 3)}

    def forge(t, nodes):
        calm = t >= 20
        return [(t + 0.0005, f"node{n}", forgers[m].telemetry(t, 101000.0 if calm else 60000.0,
                                                               0.0 if calm else -50.0, 0 if calm else 3))
                for n in (1, 2, 3) for m in (1, 2, 3)]

    _, clean = decide(chunks(duration=30.0, keys=KEYS), keys=KEYS)
    e, out = decide(chunks(duration=30.0, keys=KEYS, extra=forge), keys=KEYS)
    alarms = [d for d in out if d.event == "link_integrity"]
    assert [d.to_json() for d in out if d.event != "link_integrity"] == [d.to_json() for d in clean]
    assert states(out)[0][1] == "SHELTER"
    # the attack is reported (at most once a minute while it goes on) and never moves the state by itself
    assert len(alarms) == 1 and alarms[0].time < 1.0 and alarms[0].state == alarms[0].previous == "NOMINAL"
    assert "bad tag" in alarms[0].reasons[0]
    assert sum(s["decoder"]["auth_failures"] for s in e.snapshot()["links"].values()) >= 9 * 30 * 5 - 9


def test_replayed_frames_are_rejected_on_signed_links():
    recorded = []

    def record(t, nodes):
        return []

    base = chunks(duration=30.0, keys=KEYS)
    old = [c for c in base if c[0] < 10.0 and c[1] == "node3"]
    replayed = base + [(30.0 + c[0] / 100, "node3", c[2]) for c in old]
    e, _ = decide(replayed, keys=KEYS)
    assert e.snapshot()["links"]["node3"]["decoder"]["replays"] >= len(old) - 1
    del recorded, record


def test_unsigned_replayed_old_frames_do_not_count():
    base = chunks(duration=30.0)
    old = [c for c in base if 1.0 < c[0] < 10.0 and c[1] == "node3"]
    e, _ = decide(base + [(30.5, "node3", b"".join(c[2] for c in old))])
    assert e.nodes[3].stale_frames + e.snapshot()["links"]["node3"]["decoder"]["duplicates"] >= len(old)


def test_garbage_on_a_link_is_reported_and_its_node_keeps_its_vote():
    # a noisy cable (or bytes anyone can inject) is the link's fault, not the node's: its intact frames
    # still vote (red team: 0.5 % bit errors had every node excluded and a 15 mm hole never sheltered)
    noise = random.Random(5)

    def garbage(t, nodes):
        return [(t + 0.0002, "node2", bytes(noise.randrange(1, 256) for _ in range(40)) + b"\x00")]

    e, out = decide(chunks(duration=15.0, extra=garbage))
    snap = e.snapshot()
    assert snap["links"]["node2"]["decoder"]["crc_failures"] > 10
    assert snap["zones"]["lab"]["health"]["2"]["pressure_pa"] == "ok"
    reports = [d for d in out if d.event == "link_integrity"]
    assert reports and all(d.state == d.previous for d in reports)
    assert "link noise: node2:" in reports[0].reasons[0]
    assert states(out) == []


def test_station_live_on_ptys_then_replay_is_byte_identical(tmp_path):
    masters, links = {}, {}
    for n in (1, 2, 3):
        masters[n], links[f"node{n}"] = pty_pair()
    db = tmp_path / "live.sqlite"
    store = Store(db)
    clock = ManualClock(0.0)
    pol = policy_from_dict({"shelter": {"sheltered_after_s": 5.0}})
    station = Station(links, Engine(pol), store, clock)
    assert station.open() == []
    live = []
    for t, link, blob in chunks(duration=30.0):
        clock.set(max(clock.now(), t))
        os.write(masters[int(link[4:])], blob)
        live += station.poll(0.2)
        if link == "node3" and 27.0 <= t < 27.1:
            live += station.acknowledge("cdr")  # rejected: conditions are not clear
    for _ in range(5):
        clock.advance(1.0)
        live += station.poll(0.01)
    station.close()
    store.close()
    for fd in masters.values():
        os.close(fd)
    assert [s for _, s in states(live)] == ["SHELTER", "SHELTERED"]
    assert any(d.event == "ack_rejected" for d in live)
    replayed = [d.to_json() for d in replay_db(str(db))]
    assert replayed == [d.to_json() for d in live]
    assert Store(db, readonly=True).decisions() == replayed


def test_bin_streams_replay_on_the_nodes_clock(tmp_path):
    paths = []
    per_node = {}
    for t, link, blob in chunks(duration=30.0):
        per_node.setdefault(link, b"")
        per_node[link] += blob
    for link, data in per_node.items():
        p = tmp_path / f"{link}.bin"
        p.write_bytes(data)
        paths.append(str(p))
    frames = bin_frames(paths[0])
    assert [t for t, _ in frames] == sorted(t for t, _ in frames)
    out = list(replay_bins(paths, load_policy()))
    first = states(out)[0]
    assert first[1] == "SHELTER" and 20.4 <= first[0] <= 23.0
    assert json.loads(out[0].to_json())["policy"]["name"] == "default"


def test_replay_with_another_policy_and_with_the_recorded_one(tmp_path):
    db = tmp_path / "rec.sqlite"
    store = Store(db)
    pol = policy_from_dict({"name": "recorded"})
    store.record_policy(pol)
    for t, link, blob in chunks(duration=30.0):
        store.record_chunk(link, t, blob)
    store.close()
    recorded = list(replay_db(str(db)))
    assert states(recorded)[0][1] == "SHELTER" and recorded[0].policy["name"] == "recorded"
    lax = policy_from_dict({"name": "lax", "shelter": {"rapid_rate_pa_s": 100.0, "leak_rate_pa_s": 100.0,
                                                       "suspect_rate_pa_s": 100.0, "margin_s": 0.0,
                                                       "evacuation_s": 1.0}})
    other = list(replay_db(str(db), policy=lax))
    assert "SHELTER" in [s for _, s in states(other)]  # the nodes' own RAPID votes still count
    assert all(d.policy == lax.ref() for d in other)


def test_ticks_that_decide_nothing_leave_no_trace():
    """Replay only has the ticks that produced decisions: the others must not change anything, including
    ticks before the first byte arrives (the live monitor polls from t=0)."""
    rnd = random.Random(3)
    events = chunks(duration=30.0)
    live, recorded, out_live = Engine(load_policy()), [], []
    live_ticks = [-1.5, -0.6]  # polls before the first byte
    for tt in live_ticks:
        assert live.tick(tt) == []
    for t, link, blob in events:
        out_live += live.ingest(link, blob, t)
        recorded.append(("data", t, link, blob))
        if rnd.random() < 0.3:
            tt = t + rnd.random() * 0.2
            new = live.tick(tt)
            out_live += new
            if new:
                recorded.append(("tick", tt, "", b""))
    replay, out_replay = Engine(load_policy()), []
    for kind, t, link, blob in recorded:
        out_replay += replay.ingest(link, blob, t) if kind == "data" else replay.tick(t)
    assert [d.to_json() for d in out_replay] == [d.to_json() for d in out_live]
    assert out_live[0].event == "start"
