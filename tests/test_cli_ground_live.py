"""`safehaven monitor` against live nodes on socket:// ports, with `send`, `ack`, `status`, `export` and
`replay` working on its database while it runs; `send --port` directly on a pty."""
import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from safehaven.protocol.codec import Decoder, Encoder
from nodebench import answer_commands


def sigint_default():
    """The child takes Ctrl-C as a terminal gives it: a suite started in the background of a
    non-interactive shell (`make test &` in a script, nohup) has SIGINT ignored, which children
    inherit, and Python then installs no KeyboardInterrupt handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


SH = [sys.executable, "-m", "safehaven"]
POLICY = """name = "fast"
[shelter]
persist_rapid_s = 0.5
sheltered_after_s = 0.0
"""


def sh(*args, timeout=30):
    return subprocess.run(SH + list(args), capture_output=True, text=True, timeout=timeout, cwd=os.getcwd())


class TcpNode(threading.Thread):
    """A node behind socket://: streams telemetry at 10 Hz (rapid depressurisation after 1.5 s) and
    answers commands with command_ack."""

    def __init__(self, node_id, duration_s):
        super().__init__(daemon=True)
        self.node_id = node_id
        self.duration_s = duration_s
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()

    def run(self):
        conn, _ = self.sock.accept()
        conn.setblocking(False)
        enc = Encoder(self.node_id)
        dec = Decoder(node_id=self.node_id)
        t0 = time.monotonic()
        i = 0
        while time.monotonic() - t0 < self.duration_s and not self.stop.is_set():
            i += 1
            t = i / 10
            if i % 10 == 1:  # a heartbeat every second (the ground flushes its input when it opens)
                conn.sendall(bytes(enc.heartbeat(int(t * 1000), 0x0100, 4, 1, 100000, b"lab", 0, 0, 0, 0, 0, 0, 0)))
            rapid = t > 1.5
            p = 101000.0 - (40.0 * (t - 1.5) if rapid else 0.0) + self.node_id
            try:
                conn.sendall(bytes(enc.telemetry(int(t * 1000), int(p * 256), 2100, 800, 4000,
                                                 -4000000 if rapid else 0, 0, 3 if rapid else 0, 0)))
                dec.feed(conn.recv(4096))
            except BlockingIOError:
                pass
            except OSError:
                break
            answer_commands(dec, enc, conn.sendall, int(t * 1000))
            time.sleep(max(0.0, t0 + t - time.monotonic()))
        conn.close()
        self.sock.close()


class Ran:
    def __init__(self, rc, out, err):
        self.returncode, self.stdout, self.stderr = rc, out, err


def run_cli(capsys, *args):
    """A CLI command in this process (the monitor it talks to is a separate process)."""
    from safehaven.ground.cli import main
    capsys.readouterr()
    rc = main(list(args))
    out, err = capsys.readouterr()
    return Ran(rc, out, err)


def wait_for_monitor(db, timeout_s=30.0):
    """Until the monitor holds its database (its start takes longer than a second on a loaded machine),
    then one more second for the nodes' first heartbeats."""
    from safehaven.ground.store import Store, StoreError
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if db.exists():
                store = Store(db, readonly=True)
                alive = store.lease_info()["monitor"] == "alive"
                store.close()
                if alive:
                    break
        except StoreError:
            pass
        time.sleep(0.1)
    time.sleep(1.0)


def test_monitor_live_then_send_ack_status_export_replay(tmp_path, capsys):
    policy = tmp_path / "fast.toml"
    policy.write_text(POLICY)
    db = tmp_path / "live.sqlite"
    nodes = [TcpNode(n, 15.0) for n in (1, 2, 3)]  # outlives the test steps even on a loaded machine
    for n in nodes:
        n.start()
    args = []
    for n in nodes:
        args += ["--node", f"{n.node_id}=socket://127.0.0.1:{n.port}"]
    mon = subprocess.Popen(SH + ["monitor", *args, "--policy", str(policy), "--db", str(db), "--duration", "60"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=sigint_default)
    wait_for_monitor(db)
    sent = run_cli(capsys, "send", "2", "request_status", "--db", str(db))
    bad = run_cli(capsys, "send", "3", "set_telemetry_period", "100", "--db", str(db))
    unknown = run_cli(capsys, "send", "9", "reboot", "--db", str(db))
    deadline = time.monotonic() + 20   # a loaded machine (CI beside the bench) may take seconds to decide
    while b"SHELTER" not in db.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    acked = run_cli(capsys, "ack", "--sheltered", "--who", "cdr", "--db", str(db))
    mon.send_signal(signal.SIGINT)  # Ctrl-C: a clean stop
    out, err = mon.communicate(timeout=20)
    for n in nodes:
        n.stop.set()
        n.join(5)
    assert mon.returncode == 0, err
    assert sent.returncode == 0 and "node 2: ok (value 42)" in sent.stdout
    assert bad.returncode == 1 and "bad_arg" in bad.stderr
    assert unknown.returncode == 4 and "unknown node 9" in unknown.stderr
    assert acked.returncode == 0 and "accepted" in acked.stdout
    assert "STATE NOMINAL -> SHELTER" in out and "ACK SHELTER -> SHELTERED" in out
    assert "LINK node1 opened" in out

    status = json.loads(run_cli(capsys, "status", "--db", str(db), "--json").stdout)
    assert status["state"] == "SHELTERED" and set(status["nodes"]) == {"1", "2", "3"}

    replay = run_cli(capsys, "replay", str(db), "--json")
    assert replay.returncode == 0
    from safehaven.ground.store import Store
    store = Store(db, readonly=True)
    live = store.decisions()
    store.close()
    assert replay.stdout.splitlines() == live and len(live) >= 2

    export = run_cli(capsys, "export", str(db), "--csv")
    rows = list(csv.DictReader(io.StringIO(export.stdout)))
    kinds = {r["type"] for r in rows}
    assert {"telemetry", "heartbeat", "command_ack"} <= kinds
    assert all(float(r["arrival_s"]) > 1e9 for r in rows)  # wall-clock arrival times live


def test_send_directly_on_a_port(pty_node):
    path = pty_node(4)
    ok = sh("send", "4", "request_status", "--port", path)
    assert ok.returncode == 0 and "node 4: ok" in ok.stdout
    silent = sh("send", "5", "request_status", "--port", path, "--timeout", "0.5")
    assert silent.returncode == 3 and "no ack" in silent.stderr

