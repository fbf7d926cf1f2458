"""The station survives its own commands and restarts: bad commands refused at `send` and never fatal
to the monitor, latched states kept across a restart, one monitor per database, storage faults
reported, foreign databases left alone, ports that can never work refused at start."""
import json
import os
import stat
import threading

import pytest

from safehaven.ground.cli import main
from safehaven.ground.clock import WallClock
from safehaven.ground.engine import Engine
from safehaven.ground.ptys import pty_pair
from safehaven.ground.policy import policy_from_dict
from safehaven.ground.station import Station
from safehaven.ground.store import Store
from safehaven.protocol import messages as m




class Polling:
    """A station polling in a thread on one pty link with no node behind it (as `monitor` does)."""

    def __init__(self, db, policy=None):
        self.master, self.path = pty_pair()
        self.db, self.policy = db, policy or policy_from_dict({})
        self.stop, self.ready = threading.Event(), threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(5)

    def _run(self):
        store = Store(self.db)
        self.station = Station({"node1": self.path}, Engine(self.policy), store, WallClock(), ack_timeout_s=0.3)
        self.station.open()
        self.ready.set()
        try:
            while not self.stop.is_set():
                self.station.poll(0.02)
        except BaseException as exc:  # what the monitor would die of
            self.error = exc
        self.station.close()
        store.close()

    def close(self):
        self.stop.set()
        self.thread.join(5)
        os.close(self.master)


# --- commands ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, problem", [
    (["set_param", "threshold", "1e12"], "outside"),
    (["set_param", "threshold", "nan"], "not a finite number"),
    (["set_param", "volume_l", "inf"], "not a finite number"),
    (["set_param", "window_samples", "1"], "outside 2..500"),
    (["set_sample_period", "3e9"], "outside 5..60000"),
    (["set_telemetry_period", "-5"], "outside 20..3600000"),
    (["set_ambient_source", "fixed", "5"], "outside 70000..120000"),
    (["zero", "co2_frc", "1e15"], "outside 1..40000"),
])
def test_send_refuses_values_the_node_would_refuse(tmp_path, sh, argv, problem):
    r = sh("send", "1", *argv, "--db", tmp_path / "none.sqlite")
    assert r.returncode == 2 and problem in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_send_refuses_node_ids_outside_the_wire_range(tmp_path, sh):
    r = sh("send", "300", "request_status", "--db", tmp_path / "none.sqlite")
    assert r.returncode == 2 and "1-255" in r.stderr


def test_limits_are_the_nodes_own():
    """The ground's check and the node's answer agree at the edges of every parameter."""
    for pid, (lo, hi) in m.PARAM_LIMITS.items():
        scale = m.PARAMS[pid][1]
        assert m.check_command(m.CMD_SET_PARAM, pid, round(lo * scale)) is None
        assert m.check_command(m.CMD_SET_PARAM, pid, round(hi * scale)) is None
        assert m.check_command(m.CMD_SET_PARAM, pid, round(hi * scale) + 1) is not None
        assert m.check_command(m.CMD_SET_PARAM, pid, round(lo * scale) - 1) is not None


def test_a_bad_queued_command_fails_and_the_monitor_lives_on(tmp_path):
    """`send 1 set_param threshold 1e12` used to kill the monitor with struct.error, and again after each
    restart while it stayed queued. Queued as an older `send` (or an interrupted one) left it."""
    db = tmp_path / "live.sqlite"
    Store(db).close()
    queue = Store(db)
    bad = [queue.queue_command(1, m.CMD_SET_PARAM, m.P_THRESHOLD, 10 ** 14),
           queue.queue_command(1, m.CMD_SET_SAMPLE_PERIOD, 0, 3_000_000_000),
           queue.queue_command(999, m.CMD_REQUEST_STATUS, 0, 0)]
    good = queue.queue_command(1, m.CMD_REQUEST_STATUS, 0, 0)
    run = Polling(db)
    try:
        import time
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and queue.command_row(good)["status"] in ("queued", "sent"):
            time.sleep(0.05)
        assert run.thread.is_alive() and run.error is None
        for cmd_id in bad:
            row = queue.command_row(cmd_id)
            assert row["status"] == "invalid" and row["message"], row
        assert queue.command_row(good)["status"] == "timeout"  # sent; no node answers on this pty
    finally:
        run.close()
        queue.close()
    assert run.error is None


# --- restarts ---------------------------------------------------------------------------------------
FAST = {"name": "fast", "shelter": {"persist_rapid_s": 0.5, "sheltered_after_s": 0.0, "clear_s": 1.0}}


class Node:
    """Frames of one node written into a pty, as a USB serial node would send them."""

    def __init__(self, node_id=1, zone=b"lab"):
        from safehaven.protocol.codec import Encoder
        self.enc, self.zone, self.t_ms, self.p = Encoder(node_id), zone, 0, 101000.0
        self.master, self.path = pty_pair()

    def send(self, rapid: bool, heartbeat: bool = False):
        self.t_ms += 100
        self.p -= 4.0 if rapid else 0.0  # falling at the -40 Pa/s it reports (else the ground calls it a pulse)
        p = self.p
        data = b""
        if heartbeat:
            data += bytes(self.enc.heartbeat(self.t_ms, 0x0100, 4, 1, 100000, self.zone, 0, 0, 0, 0, 0, 0, 0))
        data += bytes(self.enc.telemetry(self.t_ms, int(p * 256), 2100, 800, 4000, -4000000 if rapid else 0,
                                         0, m.RAPID if rapid else m.NOMINAL, 0))
        os.write(self.master, data)

    def close(self):
        os.close(self.master)


def run_for(station, clock, node, seconds, rapid):
    """Poll a station while the node streams at 10 Hz; returns the decisions."""
    out = []
    for i in range(int(seconds * 10)):
        node.send(rapid, heartbeat=i % 10 == 0)
        clock.advance(0.1)
        out += station.poll(0.05)
    return out


def start(db, clock, node, lease=True):
    from safehaven.ground.clock import ManualClock  # noqa: F401  (the caller's clock)
    store = Store(db)
    if lease:
        store.acquire_lease()
    station = Station({"node1": node.path}, Engine(policy_from_dict(FAST)), store, clock)
    station.open()
    return station, store


def test_a_restart_keeps_shelter_and_ack_then_works(tmp_path, sh):
    """SHELTER was forgotten on restart: the new monitor said NOMINAL and refused `ack` ("NOMINAL needs no
    acknowledgement") while replay of the same DB said SHELTER."""
    from safehaven.ground.clock import ManualClock
    db, clock, node = tmp_path / "h.sqlite", ManualClock(1_700_000_000.0), Node()
    try:
        station, store = start(db, clock, node)
        run_for(station, clock, node, 3.0, rapid=True)
        assert station.engine.state == "SHELTER"
        store.commit()  # the last periodic flush; then the process dies (kill -9: no close) ...
        station.ingest.close()  # ... and the kernel closes its ports
        del station, store

        clock.advance(5.0)
        station, store = start(db, clock, node)
        first = station.poll(0.0)
        assert station.engine.state == "SHELTER"
        assert first[0].event == "restored" and first[0].state == "SHELTER"
        assert any("rapid depressurisation" in r for r in first[0].reasons)  # why, kept from before
        run_for(station, clock, node, 0.5, rapid=False)
        early = station.acknowledge("ops")
        assert early[-1].event == "ack_rejected" and "conditions not clear" in early[-1].reasons[0]
        run_for(station, clock, node, 2.0, rapid=False)
        late = station.acknowledge("ops")[-1]
        assert late.state == "ALL_CLEAR", late.reasons
        station.close()
        store.close()
    finally:
        node.close()
    live = Store(db, readonly=True).decisions()
    r = sh("replay", db, "--json")
    assert r.returncode == 0
    assert r.stdout.splitlines() == live  # replay of a restarted monitor equals what it decided
    assert [json.loads(d)["event"] for d in live].count("start") == 2


def test_restart_after_sheltered_keeps_sheltered_and_its_time(tmp_path):
    from safehaven.ground.clock import ManualClock
    db, clock, node = tmp_path / "h.sqlite", ManualClock(1_700_000_000.0), Node()
    try:
        station, store = start(db, clock, node)
        run_for(station, clock, node, 3.0, rapid=True)
        station.acknowledge("crew", sheltered=True)
        since = station.engine.shelter.since
        station.close()
        store.close()  # Ctrl-C
        station, store = start(db, clock, node)
        station.poll(0.0)
        assert station.engine.state == "SHELTERED" and station.engine.shelter.since == pytest.approx(since, abs=1e-5)
        station.close()
        store.close()
    finally:
        node.close()


# --- one monitor per database ------------------------------------------------------------------------
def test_a_second_monitor_is_refused_and_status_shows_the_first(tmp_path, sh):
    import subprocess
    import sys
    db = tmp_path / "m.sqlite"
    first = subprocess.Popen([sys.executable, "-m", "safehaven", "monitor", "--node", "1=loop://", "--db", str(db),
                              "--plain"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        import time
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if db.exists() and sh("status", "--db", db).stdout.startswith("monitor: running"):
                break
            time.sleep(0.2)
        r = sh("status", "--db", db)
        assert r.stdout.startswith(f"monitor: running (pid {first.pid}"), r.stdout + r.stderr
        r = sh("monitor", "--node", "1=loop://", "--db", db, "--duration", "0.5")
        assert r.returncode == 3 and f"another monitor (pid {first.pid}" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    finally:
        first.kill()  # kill -9: the lease stays, its writes stop
        first.wait(10)
    r = sh("status", "--db", db)
    assert r.stdout.startswith("monitor: none running") or "NOT RESPONDING" in r.stdout.splitlines()[0]
    r = sh("monitor", "--node", "1=loop://", "--db", db, "--duration", "0.3")
    assert r.returncode == 0, r.stderr  # a dead holder frees the database at once
    assert sh("status", "--db", db).stdout.startswith("monitor: none running")  # released at exit


# --- foreign and private databases --------------------------------------------------------------------
def test_a_foreign_sqlite_file_is_refused_and_never_modified(tmp_path, sh):
    import hashlib
    import sqlite3
    foreign = tmp_path / "accounts.sqlite"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE users (name TEXT)")
    con.execute("INSERT INTO users VALUES ('ada')")
    con.commit()
    con.close()
    before = hashlib.sha256(foreign.read_bytes()).hexdigest()
    for argv in (["monitor", "--node", "1=loop://", "--db", foreign, "--duration", "0.2"],
                 ["send", "1", "request_status", "--db", foreign, "--timeout", "0.1"],
                 ["ack", "--db", foreign, "--timeout", "0.1"], ["status", "--db", foreign],
                 ["replay", foreign], ["export", foreign, "--csv"]):
        r = sh(*argv)
        assert r.returncode != 0 and "not a safehaven database" in r.stderr, (argv, r.stderr)
    assert hashlib.sha256(foreign.read_bytes()).hexdigest() == before
    assert not (tmp_path / "accounts.sqlite-wal").exists()


def test_database_files_are_private(tmp_path, sh):
    db = tmp_path / "p.sqlite"
    store = Store(db)
    store.set_meta("x", 1)
    store.commit()
    for name in (db, tmp_path / "p.sqlite-wal", tmp_path / "p.sqlite-shm"):
        assert stat.S_IMODE(name.stat().st_mode) == 0o600, name
    store.close()
    old = tmp_path / "old.sqlite"   # written before the rule, 0644
    Store(old).close()
    os.chmod(old, 0o644)
    Store(old).close()
    assert stat.S_IMODE(old.stat().st_mode) == 0o600


# --- storage faults -----------------------------------------------------------------------------------
def poll_for(station, clock, node, seconds):
    """Real seconds (the store flushes on its own monotonic clock), node streaming at ~10 Hz."""
    import time
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        node.send(False, heartbeat=i % 10 == 0)
        clock.advance(0.1)
        station.poll(0.05)
        i += 1


def storage_events(station):
    return [(e, d) for _t, link, e, d in station.link_events if link == "storage"]


def test_a_write_lock_held_elsewhere_is_reported_at_once_and_caught_up(tmp_path):
    """Another process held the write lock for 8 s: the monitor buffered and said nothing."""
    import sqlite3
    from safehaven.ground.clock import ManualClock
    db, clock, node = tmp_path / "l.sqlite", ManualClock(1_700_000_000.0), Node()
    station, store = start(db, clock, node)
    other = sqlite3.connect(db, isolation_level=None)
    try:
        poll_for(station, clock, node, 1.2)
        other.execute("BEGIN IMMEDIATE")  # a stray writer (sqlite3 shell, a script) holds the lock
        poll_for(station, clock, node, 1.5)
        events = storage_events(station)
        assert events and events[0][0] == "write_failed" and "locked by another writer" in events[0][1]
        assert station.engine.nodes[1].frames > 20  # still reading and deciding meanwhile
        other.execute("ROLLBACK")
        poll_for(station, clock, node, 1.5)
        assert storage_events(station)[-1][0] == "write_ok"
        chunks = station.engine.link_stats["node1"]["chunks"]
        station.close()
        store.close()
        back = Store(db, readonly=True)
        assert [r[2] for r in back.link_events() if r[1] == "storage"] == ["write_failed", "write_ok"]
        assert sum(1 for r in back.iter_rx() if r[3] == "data") == chunks  # nothing lost
    finally:
        other.close()
        node.close()


def test_a_full_disk_is_reported_and_stopping_is_one_line(tmp_path, capsys):
    """On a full disk the monitor ran on with no warning and ended in a traceback at Ctrl-C."""
    import argparse
    from safehaven.ground.clock import ManualClock
    from safehaven.ground.cmd_monitor import _loop
    from safehaven.ground.dashboard import PlainView
    db, clock, node = tmp_path / "f.sqlite", ManualClock(1_700_000_000.0), Node()
    station, store = start(db, clock, node)
    try:
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        store.db.execute(f"PRAGMA max_page_count = {pages}")  # SQLITE_FULL from now on, as on a full disk
        import io
        out = io.StringIO()
        stop = threading.Event()

        def stream():
            while not stop.wait(0.02):
                for _ in range(10):  # fast enough to need new pages within the first flush
                    node.send(False)
        feeder = threading.Thread(target=stream, daemon=True)
        feeder.start()
        rc = _loop(argparse.Namespace(duration=1.5), station, store, PlainView(out))
    finally:
        stop.set()
        feeder.join(5)
        node.close()
    err = capsys.readouterr().err
    assert "LINK storage write_failed" in out.getvalue() and "disk full" in out.getvalue()
    assert rc == 3 and "disk full" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


# --- ports that can never work --------------------------------------------------------------------------
@pytest.mark.parametrize("port, problem", [
    ("xyz://foo", "unknown URL scheme 'xyz'"),
    ("socket://127.0.0.1:70000", "TCP port 1-65535"),
    ("spy://socket://localhost", "TCP port 1-65535"),
    ("/etc/passwd", "a regular file, not a serial device"),
    ("/tmp", "a directory, not a serial device"),
])
def test_a_port_that_can_never_work_is_an_error_at_start(tmp_path, sh, port, problem):
    """These only warned, and the monitor ran forever and exited 0."""
    r = sh("monitor", "--node", f"1={port}", "--db", tmp_path / "p.sqlite", "--duration", "0.3")
    assert r.returncode == 4 and problem in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_negative_baud_rate_is_a_usage_error(tmp_path, sh):
    with pytest.raises(SystemExit) as exc:
        sh("monitor", "--node", "1=loop://", "--baud", "-1", "--db", tmp_path / "p.sqlite", "--duration", "0.3")
    assert exc.value.code == 2


def test_a_refused_port_says_why_and_is_retried(tmp_path, sh):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there: connection refused, transient (a server may start)
    r = sh("monitor", "--node", f"1=socket://127.0.0.1:{port}", "--db", tmp_path / "p.sqlite", "--duration", "0.3")
    assert r.returncode == 0 and "connection refused" in r.stderr
    r = sh("send", "1", "request_status", "--port", f"socket://127.0.0.1:{port}")
    assert r.returncode == 4 and "connection refused" in r.stderr


def test_many_links_are_polled_without_select_limits(high_fds):
    """select() fails on descriptors above 1023 (254 node links plus everything else a station has open)."""
    from safehaven.ground.ingest import Ingest
    pairs = []
    try:
        pairs = [pty_pair() for _ in range(4)]
        ingest = Ingest({f"node{i}": path for i, (_, path) in enumerate(pairs)})
        ingest.open_all(strict=True)
        assert min(r.fileno() for r in ingest.readers.values()) > 1024
        os.write(pairs[2][0], b"hello")
        got = ingest.poll(1.0)
        sent = ingest.readers["node1"].write(b"command")
        ingest.close()
        assert got == [("node2", b"hello")]
        assert sent and os.read(pairs[1][0], 100) == b"command"
    finally:
        for master, _ in pairs:
            os.close(master)


def test_a_command_left_queued_by_an_interrupted_send_is_never_sent_late(tmp_path):
    """An interrupted `send` left its command queued: the next monitor, started minutes later, sent it."""
    import time
    db = tmp_path / "q.sqlite"
    queue = Store(db)
    stale = queue.queue_command(1, m.CMD_REBOOT, 0, 0)
    queue.db.execute("UPDATE commands SET queued_wall = queued_wall - 600 WHERE id = ?", (stale,))
    run = Polling(db)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and queue.command_row(stale)["status"] == "queued":
            time.sleep(0.05)
        assert queue.command_row(stale)["status"] == "expired"
    finally:
        run.close()
        queue.close()
