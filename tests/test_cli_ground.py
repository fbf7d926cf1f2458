"""The ground CLI commands that need no live node: arguments, exit codes, errors, the ack/command queues
between a running station and the CLI processes, status."""
import json
import os
import threading
import time

import pytest

from safehaven.ground.cli import main
from safehaven.ground.clock import WallClock
from safehaven.ground.cmd_send import encode_args
from safehaven.ground.engine import Engine
from safehaven.ground.ptys import pty_pair
from safehaven.ground.policy import policy_from_dict
from safehaven.ground.station import Station
from safehaven.ground.store import Store
from safehaven.protocol import messages as m





@pytest.mark.parametrize("cmd", ["monitor", "replay", "send", "status", "ack", "export"])
def test_help_for_each_command(cmd, capsys):
    with pytest.raises(SystemExit) as exc:
        main([cmd, "--help"])
    assert exc.value.code == 0
    assert "usage: safehaven " + cmd in capsys.readouterr().out


def test_encode_args_in_si_units():
    assert encode_args("set_param", ["threshold", "12.5"]) == (m.CMD_SET_PARAM, m.P_THRESHOLD, 1250)
    assert encode_args("set_telemetry_period", ["500"]) == (m.CMD_SET_TELEMETRY_PERIOD, 0, 500)
    assert encode_args("set_mode", ["chamber"]) == (m.CMD_SET_MODE, m.MODE_CHAMBER, 0)
    assert encode_args("set_ambient_source", ["fixed", "100000"]) == (m.CMD_SET_AMBIENT_SOURCE, m.AMBIENT_FIXED,
                                                                     100000 * 256)
    assert encode_args("reboot", []) == (m.CMD_REBOOT, 0, 0)
    with pytest.raises(ValueError, match="unknown command 'fly'"):
        encode_args("fly", [])
    with pytest.raises(ValueError, match="unknown parameter 'bogus'"):
        encode_args("set_param", ["bogus", "1"])
    with pytest.raises(ValueError, match="usage: send NODE set_mode"):
        encode_args("set_mode", [])


def test_bad_arguments_exit_2(tmp_path, capsys):
    assert main(["send", "1", "fly"]) == 2
    assert "unknown command" in capsys.readouterr().err
    assert main(["monitor", "--node", "x=loop://", "--db", str(tmp_path / "a.sqlite")]) == 2
    assert "node ID must be a number" in capsys.readouterr().err
    bad = tmp_path / "p.toml"
    bad.write_text("[shelter]\nmargin = 1\n")
    assert main(["monitor", "--node", "1=loop://", "--policy", str(bad), "--db", str(tmp_path / "b.sqlite")]) == 2
    assert "p.toml:2: shelter.margin: unknown field" in capsys.readouterr().err


def test_monitor_refuses_a_busy_port(tmp_path, capsys):
    master, path = pty_pair()
    holder = Station({"x": path}, Engine(policy_from_dict({})), None, WallClock())
    holder.open(strict=True)
    try:
        rc = main(["monitor", "--node", f"1={path}", "--db", str(tmp_path / "m.sqlite"), "--duration", "0.2"])
        assert rc == 4 and "port busy" in capsys.readouterr().err
    finally:
        holder.close()
        os.close(master)


def test_monitor_waits_for_a_missing_device(tmp_path, sh):
    r = sh("monitor", "--node", f"1={tmp_path / 'ttyNONE'}", "--db", str(tmp_path / "m.sqlite"), "--duration", "0.5")
    assert r.returncode == 0 and "no such device" in r.stderr
    assert "STATUS NOMINAL" in r.stdout  # plain lines: stdout is a pipe here


def test_send_and_ack_without_a_monitor(tmp_path, sh):
    db = tmp_path / "none.sqlite"
    r = sh("ack", "--db", str(db))
    assert r.returncode == 4 and "no database" in r.stderr
    Store(db).close()
    r = sh("ack", "--db", str(db), "--timeout", "0.3")
    assert r.returncode == 3 and "no monitor" in r.stderr
    r = sh("send", "1", "request_status", "--db", str(db), "--timeout", "0.1")
    assert r.returncode == 3 and "no monitor picked the command up" in r.stderr


class RunningStation:
    """A station polling in a thread, as `monitor` does, on one pty link with no node behind it."""

    def __init__(self, db, policy):
        self.master, path = pty_pair()
        self.db = db
        self.policy = policy
        self.path = path
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(5)

    def _run(self):
        store = Store(self.db)
        self.station = Station({"node1": self.path}, Engine(self.policy), store, WallClock(), ack_timeout_s=0.3)
        self.station.open()
        self.ready.set()
        while not self.stop.is_set():
            self.station.poll(0.02)
        self.station.close()
        store.close()

    def close(self):
        self.stop.set()
        self.thread.join(5)
        os.close(self.master)


def test_ack_through_a_running_station(tmp_path, sh):
    pol = policy_from_dict({"shelter": {"clear_s": 0.2}})
    run = RunningStation(tmp_path / "live.sqlite", pol)
    try:
        r = sh("ack", "--db", str(tmp_path / "live.sqlite"), "--sheltered")
        assert r.returncode == 1 and "rejected: not in SHELTER" in r.stdout
        r = sh("ack", "--db", str(tmp_path / "live.sqlite"))
        assert r.returncode == 1 and "needs no acknowledgement" in r.stdout
        r = sh("send", "7", "request_status", "--db", str(tmp_path / "live.sqlite"), "--timeout", "1")
        assert r.returncode == 4 and "unknown node 7" in r.stderr
    finally:
        run.close()
    r = sh("status", "--db", str(tmp_path / "live.sqlite"), "--json")
    info = json.loads(r.stdout)
    assert r.returncode == 0 and info["state"] == "NOMINAL"
    assert info["policy"] == pol.hash
    assert any(e[2] == "opened" for e in info["link_events"])
    store = Store(tmp_path / "live.sqlite", readonly=True)
    kinds = [row[3] for row in store.iter_rx()]
    decisions = [json.loads(d)["event"] for d in store.decisions()]
    store.close()
    assert kinds.count("ack") == 2 and decisions.count("ack_rejected") == 2


def test_status_of_a_missing_database(tmp_path, sh):
    r = sh("status", "--db", str(tmp_path / "x.sqlite"))
    assert r.returncode == 4 and "no such database" in r.stderr


def test_key_files_load_for_the_ground_and_bad_ones_are_clear_errors(tmp_path, sh):
    from safehaven.ground.args import key_file
    from safehaven.ground.keys import new_keys, save_keys
    keys = new_keys([1, 2])
    path = tmp_path / "keys.json"
    save_keys(path, keys)
    assert key_file(str(path)) == keys
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    os.chmod(bad, 0o600)
    r = sh("monitor", "--node", "1=loop://", "--key-file", str(bad), "--db", str(tmp_path / "k.sqlite"))
    assert r.returncode == 2 and "bad.json" in r.stderr
    assert "{not json" not in r.stderr + r.stdout
