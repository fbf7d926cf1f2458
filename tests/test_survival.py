"""The station survives its own commands and restarts: bad commands refused at `send` and never fatal
to the monitor, latched states kept across a restart, one monitor per database, storage faults
reported, foreign databases left alone, ports that can never work refused at start."""
import json
import os
import stat
import threading

import pytest

from ground.cli import main
from ground.clock import WallClock
from ground.engine import Engine
from ground.ingest import pty_pair
from ground.policy import policy_from_dict
from ground.station import Station
from ground.store import Store
from protocol import messages as m


class Ran:
    def __init__(self, rc, out, err):
        self.returncode, self.stdout, self.stderr = rc, out, err


@pytest.fixture
def sh(capsys):
    def run(*args):
        capsys.readouterr()
        rc = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return Ran(rc, out, err)
    return run


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
