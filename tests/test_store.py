"""The SQLite store: what it records, concurrent CLI queues, and what survives a kill -9."""
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from safehaven.ground.policy import load_policy
from safehaven.ground.store import Store, StoreError

WRITER = r"""
import sys, time
from ground.store import Store
s = Store(sys.argv[1])
i = 0
while True:
    t = time.monotonic()
    s.record_chunk("node1", t, i.to_bytes(4, "little"))
    print(i, repr(t), flush=True)      # written (not necessarily committed yet)
    s.maybe_commit()
    i += 1
    time.sleep(0.0005)
"""


def test_kill_9_loses_at_most_the_last_second(tmp_path):
    db = tmp_path / "t.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, text=True,
                            cwd=os.getcwd())
    time.sleep(2.5)
    os.kill(proc.pid, signal.SIGKILL)
    lines = proc.stdout.read().splitlines()
    proc.wait()
    written = []
    for line in lines:
        try:
            i, t = line.split()
            written.append((int(i), float(t)))
        except ValueError:
            break  # the line the kill cut short
    s = Store(db)
    rows = list(s.iter_rx())
    s.close()
    # what survived is an intact prefix of what was written, in order
    assert [int.from_bytes(r[4], "little") for r in rows] == list(range(len(rows)))
    assert [r[1] for r in rows] == [t for _, t in written[:len(rows)]]
    # and it covers everything written more than a second before the last write
    t_last = written[-1][1]
    older = [i for i, t in written if t <= t_last - 1.5]  # 1 s + slack for a loaded CI machine
    assert older and len(rows) > older[-1]


def test_records_and_reads_back(tmp_path):
    s = Store(tmp_path / "a.sqlite")
    pol = load_policy()
    s.record_policy(pol)
    s.record_chunk("n1", 1.5, b"\x01\x02")
    s.record_tick(2.0)
    s.record_ack(3.0, "cdr", True)
    s.record_link_event(1.0, "n1", "opened", "loop://")
    s.record_node_config(1.2, 7, {"zone": "lab"})
    s.record_node_config(1.3, 7, {"zone": "dragon"})
    s.commit()
    r = Store(tmp_path / "a.sqlite", readonly=True)
    assert [(k, d) for _, _, _, k, d in r.iter_rx()] == [("data", b"\x01\x02"), ("tick", b""),
                                                         ("ack", b'{"sheltered": true, "who": "cdr"}')]
    assert r.policy_json() == pol.canonical
    assert r.latest_node_configs() == {7: {"zone": "dragon"}}
    assert r.link_events() == [(1.0, "n1", "opened", "loop://")]
    s.close()
    r.close()


def test_queues_between_processes(tmp_path):
    path = tmp_path / "q.sqlite"
    monitor = Store(path)
    monitor.record_chunk("n1", 0.0, b"x")  # buffered: the monitor holds no lock between flushes
    cli = Store(path, busy_timeout_s=0.2)
    ack_id = cli.queue_ack("cdr", sheltered=True)
    cmd_id = cli.queue_command(3, 8, 0, 0)
    assert monitor.pending_acks() == [(ack_id, "cdr", True)]
    assert monitor.queued_commands() == [(cmd_id, 3, 8, 0, 0)]
    monitor.finish_ack(ack_id, "accepted", "ok")
    monitor.update_command(cmd_id, "ok", request_id=5, result_value=1, t_done=2.0)
    assert cli.ack_row(ack_id) == ("accepted", "ok")
    assert cli.command_row(cmd_id)["status"] == "ok"
    assert monitor.pending_acks() == [] and monitor.queued_commands() == []
    assert cli.count("rx") == 0
    monitor.commit()
    assert cli.count("rx") == 1


def test_a_locked_database_is_reported_and_the_monitor_keeps_its_data(tmp_path):
    path = tmp_path / "l.sqlite"
    monitor = Store(path, busy_timeout_s=0.1)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # someone else holds the write lock
    with pytest.raises(StoreError, match="locked"):
        Store(path, busy_timeout_s=0.1).queue_ack("cdr")
    monitor.record_chunk("n1", 0.0, b"x")
    with pytest.raises(StoreError, match="database is locked by another writer"):
        monitor.commit()
    other.execute("COMMIT")
    monitor.commit()  # nothing was lost while locked
    assert [r[4] for r in monitor.iter_rx()] == [b"x"]


def test_clear_errors(tmp_path):
    with pytest.raises(StoreError, match="no such database"):
        Store(tmp_path / "none.sqlite", readonly=True)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not a safehaven database"):
        Store(junk)
    assert sqlite3.sqlite_version
