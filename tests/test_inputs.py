"""Inputs that cannot lie: every number in a policy, scenario, config or command is finite and in a
physical range, zone names are 1-8 ASCII characters, and anything else is refused as
`FILE:LINE: FIELD: problem`, never accepted quietly (a NaN threshold switches a safety check off)."""
import pytest

from safehaven.ground.policy import PolicyError, load_policy


@pytest.mark.parametrize("toml, where", [
    ("[voting]\nstale_s = nan\n", ":2: voting.stale_s: must be a finite number"),          # dead node never stale
    ("[shelter]\nmin_safe_pressure_pa = nan\n", ":2: shelter.min_safe_pressure_pa: must be a finite"),
    ("[shelter]\nmin_safe_pressure_pa = -1e308\n", ":2: shelter.min_safe_pressure_pa: -1e+308 outside"),
    ("[shelter]\nrapid_rate_pa_s = inf\n", ":2: shelter.rapid_rate_pa_s: must be a finite number"),
    ("[voting]\neval_period_s = 1e-9\n", ":2: voting.eval_period_s: 1e-09 outside 0.05..60"),  # 100 % CPU
    ("[voting]\neval_min_interval_s = 0.0\neval_period_s = 1e-9\n", ":3: voting.eval_period_s:"),
    ("[shelter]\nhysteresis = -inf\n", ":2: shelter.hysteresis:"),
    ("[voting.pressure_pa]\nagree_abs = nan\n", ":2: voting.pressure_pa.agree_abs: must be a finite"),
    ("[shelter]\nco2_limit_ppm = 1e9\n", ":2: shelter.co2_limit_ppm:"),
    ("\n\nshelter.clear_s = 0\n", ":3: shelter.clear_s: 0 outside"),
    ("[shelter]\nevacuation_s = " + "9" * 400 + "\n", ":2: shelter.evacuation_s: number too large"),
    ("safe_haven_zone = 'läb'\n", ":1: safe_haven_zone: zone names are 1-8 printable ASCII"),
    ("safe_haven_zone = 'a-very-long-zone'\n", ":1: safe_haven_zone: zone names"),
    ("[zones.\"läb\"]\nvolume_m3 = 5.0\n", ":1: zones.läb: zone names"),
    ("[zones.lab]\nvolume_m3 = nan\n", ":2: zones.lab.volume_m3: must be a finite"),
    ("name = ''\n", ":1: name: must be 1-64 printable"),
    ("[shelter]\nrapid_rate_pa_s = 30000.0\n", ":2: shelter.rapid_rate_pa_s: 30000 outside"),
])
def test_policy_numbers_are_finite_and_physical(tmp_path, toml, where):
    f = tmp_path / "p.toml"
    f.write_text(toml)
    with pytest.raises(PolicyError) as exc:
        load_policy(f)
    assert str(exc.value).startswith(str(f) + where), str(exc.value)


@pytest.mark.parametrize("content, problem", [
    (b"a = " + b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    (b"a = " + b"{b=" * 3000 + b"1" + b"}" * 3000, "nested too deeply"),
    (b"\xff\xfe\x00bad", "not UTF-8"),
    (b"\x00\x01\x02\x03", "not valid TOML"),
    (b"[shelter\n", "not valid TOML"),
])
def test_policy_files_that_are_not_policies(tmp_path, content, problem):
    f = tmp_path / "p.toml"
    f.write_bytes(content)
    with pytest.raises(PolicyError, match=problem):
        load_policy(f)
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path)


def test_an_empty_policy_is_the_defaults(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text("")
    assert load_policy(f).hash == load_policy(None).hash


def test_the_shipped_policy_is_inside_every_range():
    from pathlib import Path
    load_policy(Path(__file__).parent.parent / "policies" / "default.toml")


# --- scenarios ------------------------------------------------------------------------------------------
BASE = """[scenario]
duration_s = {duration}
{scenario}
[[zone]]
name = "{zone}"
volume_m3 = 30
{zone_extra}
[[leak]]
zone = "{zone}"
onset_s = 30
diameter_mm = {leak}

[[node]]
id = 1
zone = "{zone}"
{node_extra}
"""


def scenario(tmp_path, scenario="", zone="lab", zone_extra="", leak="25", node_extra="", duration="60"):
    f = tmp_path / "s.toml"
    f.write_text(BASE.format(scenario=scenario, zone=zone, zone_extra=zone_extra, leak=leak, node_extra=node_extra,
                             duration=duration))
    return f


@pytest.mark.parametrize("kw, where", [
    (dict(zone_extra="temperature_c = -300.0"), ":7: zone[0].temperature_c: -300.0 outside"),
    (dict(zone_extra="crew = -50"), ":7: zone[0].crew: -50 outside"),
    (dict(zone_extra="rh_pct = 500.0"), ":7: zone[0].rh_pct: 500.0 outside"),
    (dict(leak="nan"), ":11: leak[0].diameter_mm: must be a finite number"),
    (dict(duration="inf"), ":2: scenario.duration_s: must be a finite number"),  # hung the bench
    (dict(zone_extra="co2_ppm = " + "9" * 400), ":7: zone[0].co2_ppm: number too large"),
    (dict(zone="läb"), ":5: zone[0].name: zone names are 1-8 printable ASCII"),       # never matched
    (dict(node_extra="config = {sample_period_ms = 3}"), ":16: node[0].config: field 'sample_period_ms' = 3 outside"),
    (dict(node_extra="config = {detector = {noise_pa = nan}}"), ":16: node[0].config.detector.noise_pa: must be"),
    (dict(scenario="policy = {voting = {stale_s = 1e-9}}"), ":3: scenario.policy.voting.stale_s: 1e-09 outside"),
])
def test_scenario_numbers_are_finite_and_physical(tmp_path, kw, where):
    from safehaven.hil import scenario as sc
    f = scenario(tmp_path, **kw)
    with pytest.raises(sc.ScenarioError) as exc:
        sc.load(f)
    assert str(exc.value).startswith(str(f) + where), str(exc.value)


@pytest.mark.parametrize("content, problem", [
    (b"", ":1: scenario: missing"),
    (b"\x00\x01\x02garbage\xff", ": file: not UTF-8"),
    (b"\xef\xbb\xbf[scenario]\xc3\x28", ": file: not UTF-8"),
    (b"a = " + b"[" * 5000 + b"]" * 5000, ":1: toml: nested too deeply"),
])
def test_scenario_files_that_are_not_scenarios(tmp_path, content, problem):
    from safehaven.hil import scenario as sc
    f = tmp_path / "s.toml"
    f.write_bytes(content)
    with pytest.raises(sc.ScenarioError) as exc:
        sc.load(f)
    assert problem in str(exc.value), str(exc.value)


def test_every_shipped_scenario_is_inside_the_ranges():
    from safehaven import ROOT
    from safehaven.hil import scenario as sc
    for f in sorted((ROOT / "scenarios").glob("*.toml")):
        sc.load(f)


# --- node config -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("over, problem", [
    ({"volume_l": float("nan")}, "volume_l"), ({"volume_l": float("inf")}, "volume_l"),
    ({"detector": {"noise_pa": float("nan")}}, "detector.noise_pa"),
    ({"detector": {"drift_pa_s": float("inf")}}, "detector.drift_pa_s"),
    ({"ambient_fixed_pa": -5}, "ambient_fixed_pa"), ({"zone": "läb"}, "zone"), ({"zone": ""}, "zone"),
])
def test_node_config_numbers_are_finite(runtime, over, problem):
    """The node's own validation (both VMs), which the scenario loader and `flash` also use."""
    code = ("import config\ntry:\n    config.validate(%r)\n    result = 'accepted'\nexcept config.ConfigError as e:\n"
            "    result = str(e)\n") % (over,)
    code = code.replace("nan", "float('nan')").replace("inf", "float('inf')")
    result = runtime.exec(code)
    assert problem in result and result != "accepted"


# --- commands on hostile files ------------------------------------------------------------------------------


def broken_db(path):
    """Our schema with rows a hand edit or a foreign tool could leave."""
    import sqlite3
    from safehaven.ground.store import Store
    Store(path).close()
    con = sqlite3.connect(path)
    con.execute("INSERT INTO rx (t, link, kind, data) VALUES (1.0, 'a', 'data', 'text, not bytes')")
    con.execute("INSERT INTO rx (t, link, kind, data) VALUES (2.0, '', 'ack', x'7b6e6f')")
    con.execute("INSERT INTO decisions (t, event, state, json) VALUES (1.0, 'state', 'X', 'not json')")
    con.commit()
    con.close()
    return path


@pytest.mark.parametrize("argv, code, problem", [
    (["replay", "{tmp}"], 2, "not a file"),
    (["replay", "{broken}"], 3, "damaged record: rx row 1"),
    (["export", "{broken}", "--csv"], 4, "damaged record: rx row 1"),
    (["export", "{broken}", "--csv", "--what", "decisions"], 4, "damaged record: a decision"),
    (["status", "--db", "{broken}"], 4, "damaged record: the last decision"),
    (["export", "{broken}", "--csv", "--out", "{tmp}"], 2, "cannot write"),
    (["export", "{broken}", "--csv", "--out", "{tmp}/no/such/folder.csv"], 2, "No such file or directory"),
    (["status", "--db", "{tmp}"], 4, "a directory, not a database"),
    (["sim", "{broken}", "--out", "o"], 2, "not UTF-8"),
])
def test_commands_on_hostile_files_fail_in_one_line(tmp_path, sh, argv, code, problem):
    """Each of these was a traceback."""
    broken = broken_db(tmp_path / "b.sqlite")
    r = sh(*[a.format(tmp=tmp_path, broken=broken) for a in argv])
    assert r.returncode == code and problem in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_sim_out_on_an_existing_file(tmp_path, sh):
    from safehaven import ROOT
    out = tmp_path / "exists.txt"
    out.write_text("keep me")
    r = sh("sim", ROOT / "scenarios" / "rapid_depress.toml", "--out", out)
    assert r.returncode == 2 and "exists and is not a directory" in r.stderr
    assert out.read_text() == "keep me"


@pytest.mark.parametrize("content, found", [
    (b"", "0 bytes, 0 valid frames"),
    (b"time,pressure_pa\n1,101325\n", "26 bytes, 0 valid frames (skipped_bytes=26, crc_failures=1)"),
    (b"\x00\x05abc\x00\x00\x07\x01\x01\x00", "11 bytes, 0 valid frames (skipped_bytes=7, crc_failures=2)"),
])
@pytest.mark.parametrize("command", ["replay", "decode"])
def test_a_file_without_frames_is_an_error_not_an_empty_result(tmp_path, sh, content, found, command):
    """An empty file, a text file or bytes without one valid frame: one line saying what was found,
    a non-zero exit and no output (it exited 0 with nothing), and the file is left as it was."""
    f = tmp_path / "capture.bin"
    f.write_bytes(content)
    r = sh(command, f, "--json")
    assert r.returncode == (2 if command == "replay" else 1), (r.returncode, r.stderr)
    assert r.stdout == "" and "Traceback" not in r.stderr
    assert r.stderr.strip() == r.stderr.strip().splitlines()[0], r.stderr
    assert f"{f}: no frames: {found}" in r.stderr, r.stderr
    assert f.read_bytes() == content


def test_replay_of_several_streams_names_the_one_without_frames(tmp_path, sh):
    from safehaven.ground.wire import encode_frame
    from safehaven.protocol import messages as M
    good, text = tmp_path / "node-1.bin", tmp_path / "notes.txt"
    good.write_bytes(b"".join(encode_frame(M.TELEMETRY, 1, i, 1000 * i, (25767233, 2508, 420, 3700, -123, 50, 0, 0))
                              for i in range(5)))
    text.write_text("node 1 moved to the lab\n")
    r = sh("replay", good, text)
    assert r.returncode == 2 and f"{text}: no frames: 24 bytes, 0 valid frames" in r.stderr, r.stderr
    assert r.stdout == "" and sh("replay", good).returncode == 0


def test_replay_of_a_database_without_frames(tmp_path, sh):
    from safehaven.ground.store import Store
    db = tmp_path / "quiet.sqlite"
    with_start = Store(db)
    with_start.record_start(1.0, {"zones": {}})
    with_start.record_chunk("node1", 2.0, b"hello\n")
    with_start.record_tick(3.0)
    with_start.commit()
    with_start.close()
    r = sh("replay", db, "--json")
    assert r.returncode == 2 and f"{db}: no frames: 6 bytes, 0 valid frames; nothing to replay" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
