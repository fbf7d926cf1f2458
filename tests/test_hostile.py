"""Hostile input to every command: policies, scenarios, key files, databases and arguments made by
hypothesis. Whatever comes in: no traceback, no hang, and a failure is a non-zero exit with a message
(one line; FILE:LINE: FIELD: problem for files). Inputs that are certainly invalid (a NaN, an infinity,
a number no physical range holds) must be refused, never accepted quietly.

The commands run in this process (fast); a hang is caught by an interval timer. One property runs the
monitor as a subprocess with a timeout, as a user would. Examples are bounded to keep `make test` fast.
"""
import contextlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safehaven.ground.cli import INTERNAL_ERROR, main
from safehaven.ground.policy import DEFAULTS
from safehaven.ground.store import Store

FAST = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# Numbers no physical field accepts, written as TOML.
INVALID = ["nan", "inf", "-inf", "+inf", "1e400", "-1e400", "1e308", "-1e308", "9" * 400, "-" + "9" * 30]
NUMBERS = INVALID + ["0", "-1", "1e-9", "0.5", "1", "100000", "-0.0", "3e9"]


class Hang(BaseException):  # not an Exception: the catch-all in main must not swallow it
    pass


def _alarm(signum, frame):
    raise Hang()


def run_cli(argv, timeout_s=20.0):
    """(exit code, stdout, stderr) of `safehaven ARGV` in this process; Hang past timeout_s."""
    out, err = io.StringIO(), io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main([str(a) for a in argv])
            except SystemExit as exc:  # argparse: usage errors and --help
                rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    return rc, out.getvalue(), err.getvalue()


def check(argv, must_fail=False, timeout_s=20.0):
    """The property: no traceback (an exception escaping main fails the test itself), no hang, no
    internal error; a failure is a non-zero exit with a one-line message."""
    rc, out, err = run_cli(argv, timeout_s)
    assert rc != INTERNAL_ERROR and "internal error" not in err, (argv, err)
    assert "Traceback" not in err + out, (argv, err)
    if must_fail:
        assert rc != 0, (argv, out, err)
    if rc != 0:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert lines, (argv, "a failure without a message")
        assert len(lines) <= 2, (argv, err)  # the error, at most with one warning before it
    return rc, out, err


@pytest.fixture
def fresh(tmp_path):
    """A new folder per example: hypothesis runs many examples in one call of the test function."""
    made = iter(range(10 ** 6))

    def make():
        d = tmp_path / f"ex{next(made)}"
        d.mkdir()
        return d
    return make


def numeric_fields(d=DEFAULTS, prefix=""):
    out = []
    for k, v in d.items():
        if isinstance(v, dict):
            out += numeric_fields(v, f"{prefix}{k}.")
        elif isinstance(v, float):
            out.append(prefix + k)
    return out


def toml_line(field, value):
    table, _, key = field.rpartition(".")
    return (f"[{table}]\n" if table else "") + f"{key} = {value}\n"


# --- policies -----------------------------------------------------------------------------------------------
@FAST
@given(field=st.sampled_from(numeric_fields()), value=st.sampled_from(INVALID))
def test_hostile_policy_numbers_are_refused_by_monitor_and_replay(fresh, field, value):
    tmp_path = fresh()
    policy = tmp_path / "p.toml"
    policy.write_text(toml_line(field, value))
    rc, _, err = check(["replay", tmp_path / "none.bin", "--policy", policy], must_fail=True)
    assert f"{policy}:" in err and field in err, err
    rc, _, err = check(["monitor", "--node", "1=loop://", "--db", tmp_path / "m.sqlite", "--duration", "0.2",
                        "--policy", policy], must_fail=True)
    assert rc == 2 and field in err


@FAST
@given(content=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                         st.integers(1, 3000).map(lambda n: b"a = " + b"[" * n + b"]" * n),
                         st.integers(1, 2000).map(lambda n: b"a = " + b"{b=" * n + b"1" + b"}" * n)))
def test_arbitrary_policy_files(fresh, content):
    tmp_path = fresh()
    policy = tmp_path / "p.toml"
    policy.write_bytes(content)
    check(["replay", tmp_path / "none.bin", "--policy", policy])
    check(["monitor", "--node", "1=loop://", "--db", tmp_path / "m.sqlite", "--duration", "0.1", "--policy", policy])


# --- scenarios ----------------------------------------------------------------------------------------------
SCENARIO = {
    "scenario": {"duration_s": "60", "step_ms": "100"},
    "zone": {"name": '"lab"', "volume_m3": "30", "pressure_pa": "101325", "temperature_c": "22",
             "temp_amplitude_c": "0.5", "temp_period_s": "5400", "co2_ppm": "800", "rh_pct": "40", "crew": "2",
             "scrub_m3_h": "1", "wall_tau_s": "60"},
    "leak": {"zone": '"lab"', "onset_s": "30", "diameter_mm": "2", "cd": "0.6", "end_s": "50"},
    "node": {"id": "1", "zone": '"lab"'},
    "event": {"t_s": "10", "crew": "1", "from": '"lab"', "to": '"lab"'},
}
SCENARIO_FIELDS = [(t, k) for t, keys in SCENARIO.items() for k, v in keys.items() if not v.startswith('"')]


def scenario_text(table=None, key=None, value=None):
    parts = []
    for t, keys in SCENARIO.items():
        parts.append(f"[{t}]" if t == "scenario" else f"[[{t}]]")
        for k, v in keys.items():
            parts.append(f"{k} = {value if (t, k) == (table, key) else v}")
        parts.append("")
    return "\n".join(parts)


def test_the_hostile_scenario_template_is_valid():
    from safehaven.hil import scenario as sc
    sc.loads(scenario_text())


@FAST
@given(field=st.sampled_from(SCENARIO_FIELDS), value=st.sampled_from(INVALID))
def test_hostile_scenario_numbers_are_refused_before_anything_runs(fresh, field, value):
    tmp_path = fresh()
    f = tmp_path / "s.toml"
    f.write_text(scenario_text(*field, value))
    rc, _, err = check(["sim", f, "--out", tmp_path / "run"], must_fail=True)
    assert rc == 2 and f"{f}:" in err and field[1] in err, err
    assert not (tmp_path / "run").exists()  # refused before the bench started


@FAST
@given(content=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                         st.sampled_from(["zone", "leak", "node", "event"]).flatmap(
                             lambda t: st.text(max_size=12).map(lambda name: scenario_text(t, "zone" if t != "zone"
                                                                                           else "name",
                                                                                           json.dumps(name)).encode()))))
def test_arbitrary_scenario_files(fresh, content):
    tmp_path = fresh()
    f = tmp_path / "s.toml"
    f.write_bytes(content)
    rc, _, _ = check(["sim", f, "--out", tmp_path / "run", "--quiet", "--speed", "1000000"])
    assert rc != 0 or content == scenario_text().encode()


# --- key files ----------------------------------------------------------------------------------------------
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=70),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=5), kids, max_size=4),
                    max_leaves=12)
KEY_DOCS = st.one_of(
    JSON.map(lambda d: json.dumps(d).encode()),
    st.dictionaries(st.one_of(st.integers(-5, 300).map(str), st.text(max_size=4)),
                    st.one_of(st.text(alphabet="0123456789abcdefg", max_size=70), JSON), max_size=3).map(
        lambda nodes: json.dumps({"version": 1, "nodes": nodes}).encode()),
    st.binary(max_size=100))


@FAST
@given(content=KEY_DOCS)
def test_arbitrary_key_files(fresh, content):
    tmp_path = fresh()
    keys = tmp_path / "keys.json"
    keys.write_bytes(content)
    os.chmod(keys, 0o600)
    capture = tmp_path / "capture.bin"
    capture.write_bytes(b"")
    check(["decode", capture, "--key-file", keys])
    check(["replay", capture, "--key-file", keys])
    check(["monitor", "--node", "1=loop://", "--db", tmp_path / "m.sqlite", "--duration", "0.1", "--key-file", keys])
    check(["send", "1", "request_status", "--port", "loop://", "--timeout", "0.2", "--key-file", keys])


# --- databases ----------------------------------------------------------------------------------------------
VALUES = st.one_of(st.none(), st.integers(-(2 ** 63), 2 ** 63 - 1), st.floats(), st.text(max_size=30),
                   st.binary(max_size=30), st.sampled_from(["{}", "[]", '{"state": 5}', "null", '"x"']))
TABLES = {"rx": 5, "decisions": 5, "link_events": 5, "node_configs": 4, "meta": 2, "policies": 3, "lease": 5,
          "commands": 12, "acks": 6}


@st.composite
def broken_rows(draw):
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        table = draw(st.sampled_from(sorted(TABLES)))
        rows.append((table, [draw(VALUES) for _ in range(TABLES[table])]))
    return rows


def make_db(path, rows):
    Store(path).close()
    con = sqlite3.connect(path)
    for table, values in rows:
        cols = [r[1] for r in con.execute(f"PRAGMA table_info({table})")][:len(values)]
        if table == "lease":
            values[0] = 1
        with contextlib.suppress(sqlite3.Error):  # a NOT NULL or UNIQUE refusal: that row is not made
            con.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(cols)}) VALUES "
                        f"({', '.join('?' * len(cols))})", values)
    con.commit()
    con.close()


@FAST
@given(rows=broken_rows())
def test_databases_with_broken_rows(fresh, rows):
    tmp_path = fresh()
    db = tmp_path / "b.sqlite"
    make_db(db, rows)
    for argv in (["status", "--db", db], ["status", "--db", db, "--json"], ["replay", db, "--json"],
                 ["export", db, "--csv"], ["export", db, "--csv", "--what", "decisions"],
                 ["ack", "--db", db, "--timeout", "0.1"], ["monitor", "--node", "1=loop://", "--db", db, "--duration", "0.3"]):
        check(argv)


@FAST
@given(content=st.one_of(st.binary(max_size=200), st.binary(max_size=200).map(lambda b: b"SQLite format 3\x00" + b)))
def test_files_that_are_not_databases(fresh, content):
    tmp_path = fresh()
    db = tmp_path / "x.sqlite"
    db.write_bytes(content)
    for argv in (["status", "--db", db], ["replay", db], ["export", db, "--csv"], ["ack", "--db", db, "--timeout", "0.2"],
                 ["monitor", "--node", "1=loop://", "--db", db, "--duration", "0.2"]):
        rc, _, _ = check(argv)
        if content and argv[0] != "replay":  # replay reads a non-database as a raw node stream
            assert rc != 0
    if content:  # an empty file is a new database; anything else is never modified
        assert db.read_bytes() == content


# --- arguments ----------------------------------------------------------------------------------------------
WORDS = st.one_of(st.sampled_from(NUMBERS + ["1=loop://", "1=läb", "1=xyz://a", "1=socket://h:99999", "=", "1=",
                                             "--", "-", "/etc/passwd", "/", "", "\x00", "a\nb", "set_param",
                                             "threshold", "request_status", "zero", "co2_frc", "fixed", "reboot", "run", "new",
                                             "--db", "--node", "--zone", "--timeout", "--who", "--json", "--out",
                                             "--policy", "--key-file", "--baud", "--what", "decisions"]),
                  st.text(max_size=8))
COMMANDS = {
    "monitor": ["--node", "1=loop://", "--duration", "0.2"],
    "replay": [], "send": ["--timeout", "0.2"], "ack": ["--timeout", "0.2"], "status": [], "export": ["--csv"],
    "decode": [], "keys": [], "flash": ["--dry-run"], "bench": ["--sim", "--out", "run"], "sim": ["--out", "run"],
}


@FAST
@given(command=st.sampled_from(sorted(COMMANDS)), words=st.lists(WORDS, max_size=6))
def test_arbitrary_arguments(fresh, monkeypatch, command, words):
    tmp_path = fresh()
    monkeypatch.chdir(tmp_path)  # relative names (a default safehaven.sqlite) land here
    db = ["--db", tmp_path / "a.sqlite"] if command in ("send", "ack", "status", "monitor") else []
    check([command, *words, *COMMANDS[command], *db])


@pytest.mark.parametrize("argv", [["demo", "--speed", "nan"], ["demo", "--speed", "-1"], ["sim", "x", "--speed", "inf",
                                  "--out", "o"], ["bench", "run", "x", "--gauge-baud", "-1", "--out", "o"]])
def test_pacing_and_rates_that_cannot_work(argv):
    rc, _, err = check(argv, must_fail=True)
    assert rc == 2


# --- a real process: no hang, one line, whatever the policy ------------------------------------------------------
@settings(max_examples=4, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["voting.eval_period_s", "voting.stale_s", "shelter.rapid_rate_pa_s",
                              "shelter.min_safe_pressure_pa"]), value=st.sampled_from(["1e-9", "nan", "inf", "-1e308"]))
def test_monitor_process_with_a_hostile_policy_exits_at_once(fresh, field, value):
    """eval_period_s = 1e-9 hung the monitor at 100 % CPU; NaN/inf switched checks off."""
    tmp_path = fresh()
    policy = tmp_path / "p.toml"
    policy.write_text(toml_line(field, value))
    r = subprocess.run([sys.executable, "-m", "safehaven", "monitor", "--node", "1=loop://", "--policy", str(policy),
                        "--db", str(tmp_path / "m.sqlite")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and f"{policy}:" in r.stderr and field in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
