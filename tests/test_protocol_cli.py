"""`safehaven keys new` and `safehaven decode`, run as the console script users run."""
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ground.keys import KeyFileError, load_keys

REPO = Path(__file__).resolve().parents[1]
VECTORS = REPO / "protocol" / "vectors"


def _cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "ground.cli", *args], cwd=REPO, input=stdin,
                          capture_output=True, timeout=60)


def test_keys_new_writes_owner_only_file_and_never_prints_keys(tmp_path):
    out = tmp_path / "keys.json"
    proc = _cli("keys", "new", "--node", "1", "--node", "7", "--out", str(out))
    assert proc.returncode == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    keys = load_keys(out)
    assert sorted(keys) == [1, 7] and all(len(k) == 32 for k in keys.values()) and keys[1] != keys[7]
    for k in keys.values():
        assert k.hex().encode() not in proc.stdout + proc.stderr
    again = _cli("keys", "new", "--node", "1", "--out", str(out))
    assert again.returncode != 0 and b"--force" in again.stderr and load_keys(out) == keys
    forced = _cli("keys", "new", "--node", "1", "--out", str(out), "--force")
    assert forced.returncode == 0 and sorted(load_keys(out)) == [1]


def test_keys_new_rejects_bad_node_ids(tmp_path):
    assert _cli("keys", "new", "--node", "300", "--out", str(tmp_path / "k")).returncode != 0
    assert not (tmp_path / "k").exists()


def test_load_keys_refuses_a_readable_file(tmp_path):
    path = tmp_path / "keys.json"
    shutil.copy(VECTORS / "keys.json", path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_keys(path)
    os.chmod(path, 0o600)
    assert sorted(load_keys(path)) == [2, 4]
    path.write_text('{"nodes": {"1": "abcd"}}')
    with pytest.raises(KeyFileError) as err:
        load_keys(path)
    assert "abcd" not in str(err.value)


def _private_test_keys(tmp_path):
    path = tmp_path / "keys.json"
    shutil.copy(VECTORS / "keys.json", path)
    os.chmod(path, 0o600)
    return path


def test_decode_signed_vector_prints_the_expected_json(tmp_path):
    expected = json.loads((VECTORS / "auth.json").read_text())
    proc = _cli("decode", str(VECTORS / "auth.bin"), "--json", "--key-file", str(_private_test_keys(tmp_path)))
    assert proc.returncode == 0
    assert [json.loads(line) for line in proc.stdout.splitlines()] == expected["frames"]
    err = proc.stderr.decode()
    for name in ("skipped_bytes", "crc_failures", "auth_failures", "unknown_types", "gaps", "duplicates", "reboots"):
        assert f"{name}={expected['counters'][name]}" in err
    keys = json.loads((VECTORS / "keys.json").read_text())["nodes"]
    assert not any(k in proc.stdout.decode() + err for k in keys.values())


def test_decode_reads_stdin_and_survives_any_bytes():
    data = (VECTORS / "garbage.bin").read_bytes() + os.urandom(5000) + b"\x00" * 3
    proc = _cli("decode", "-", stdin=data)
    assert proc.returncode == 0
    n = len(json.loads((VECTORS / "garbage.json").read_text())["frames"])
    assert len(proc.stdout.splitlines()) >= n
    assert b"bytes=" in proc.stderr


def test_decode_fails_only_when_input_cannot_be_read(tmp_path):
    assert _cli("decode", str(tmp_path / "missing.bin")).returncode != 0
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    proc = _cli("decode", str(empty))
    assert proc.returncode == 0 and proc.stdout == b"" and b"frames=0" in proc.stderr


def test_decode_benchmark_runs_and_prints_its_ratio():
    # Not a speed test: a small run proving the benchmark works and both decoders see every frame.
    proc = subprocess.run([sys.executable, "bench/decode.py", "--frames", "2000", "--repeat", "1",
                           "--garbage-every", "10"], cwd=REPO, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    assert "ratio:" in out and "safehaven 100.0 %" in out
