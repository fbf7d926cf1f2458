"""`safehaven keys new` and `safehaven decode`, run as the console script users run."""
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from safehaven.ground.keys import KeyFileError, load_keys

REPO = Path(__file__).resolve().parents[1]
VECTORS = REPO / "protocol" / "vectors"


def _cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "safehaven", *args], cwd=REPO, input=stdin,
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
    doc = json.loads((VECTORS / "keys.json").read_text())
    del doc["public"]                     # a real key file: secret
    path.write_text(json.dumps(doc))
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_keys(path)
    os.chmod(path, 0o600)
    assert sorted(load_keys(path)) == [2, 4]
    path.write_text('{"nodes": {"1": "abcd"}}')
    with pytest.raises(KeyFileError) as err:
        load_keys(path)
    assert "abcd" not in str(err.value)


def test_keys_new_never_writes_through_a_planted_symlink(tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    out = tmp_path / "keys.json"
    (tmp_path / "keys.json.tmp").symlink_to(victim)            # where the old code wrote its temp file
    proc = _cli("keys", "new", "--node", "1", "--out", str(out))
    assert proc.returncode == 0 and victim.read_text() == "precious\n"
    assert not out.is_symlink() and stat.S_IMODE(out.stat().st_mode) == 0o600
    # whatever temp name is used, an existing entry there is never opened (O_EXCL | O_NOFOLLOW)
    from safehaven.ground import keys as keymod
    monkeypatch.setattr(keymod.secrets, "token_hex", lambda n: "planted")
    (tmp_path / ".keys2.json.planted.tmp").symlink_to(victim)
    with pytest.raises(FileExistsError):
        keymod.save_keys(tmp_path / "keys2.json", {1: bytes(32)})
    assert victim.read_text() == "precious\n" and not (tmp_path / "keys2.json").exists()


@pytest.mark.parametrize("content, problem", [
    (b"\xff\xfe{not utf-8", "not a safehaven key file"),
    (b'{"version": 2, "nodes": {"1": "' + b"00" * 32 + b'"}}', "version 2 is not supported"),
    (b'{"nodes": {"1": "' + b"00" * 32 + b'"}}', "version None is not supported"),
    (b'{"version": 1, "nodes": {}}', "no nodes"),
    (b'{"version": 1, "nodes": {"300": "' + b"00" * 32 + b'"}}', "not a number 0-255"),
    (b'[1, 2]', "not a safehaven key file"),
])
def test_bad_key_files_are_one_line_errors(tmp_path, content, problem):
    path = tmp_path / "keys.json"
    path.write_bytes(content)
    os.chmod(path, 0o600)
    with pytest.raises(KeyFileError, match=problem):
        load_keys(path)
    proc = _cli("decode", str(VECTORS / "auth.bin"), "--key-file", str(path))
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert problem.encode() in proc.stderr


def test_public_test_keys_load_from_the_checkout_whatever_their_mode():
    # git does not store mode 0600: the repository's test keys declare themselves public instead
    assert sorted(load_keys(VECTORS / "keys.json")) == [2, 4]
    proc = _cli("decode", "protocol/vectors/auth.bin", "--key-file", "protocol/vectors/keys.json")
    assert proc.returncode == 0 and b"PUBLIC" in proc.stderr


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


def test_decode_fails_only_when_input_cannot_be_read_or_holds_no_frame(tmp_path):
    assert _cli("decode", str(tmp_path / "missing.bin")).returncode == 1
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    proc = _cli("decode", str(empty))
    assert proc.returncode == 1 and proc.stdout == b""
    assert proc.stderr.decode() == f"safehaven decode: {empty}: no frames: 0 bytes, 0 valid frames\n"
    # one valid frame among damaged ones: decoded, counted, exit 0
    proc = _cli("decode", "-", stdin=b"noise\x00" + (VECTORS / "telemetry.bin").read_bytes()[:40] + b"\x00")
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) >= 1 and b"crc_failures=" in proc.stderr


def test_decode_benchmark_runs_and_prints_its_ratio():
    # Not a speed test: a small run proving the benchmark works and both decoders see every frame.
    proc = subprocess.run([sys.executable, "bench/decode.py", "--frames", "2000", "--repeat", "1",
                           "--garbage-every", "10"], cwd=REPO, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    assert "ratio:" in out and "safehaven 100.0 %" in out


def test_decode_output_errors_are_reported_as_such(tmp_path):
    from safehaven.ground.wire import encode_frame
    from safehaven.protocol import messages as M
    # 20000 distinct frames: far more output than a pipe holds, so the writer meets the closed pipe
    data = b"".join(encode_frame(M.TELEMETRY, 3, i & 0xFFFF, 1000 * i, (25767233, 2508, 420, 3700, -123, 50, 0, 0))
                    for i in range(20000))
    # a reader that stops early (`| head -1`) is not an error, and no traceback follows
    proc = subprocess.run(f"{sys.executable} -m safehaven decode - | head -1", shell=True, cwd=REPO, input=data,
                          capture_output=True, timeout=60, executable="/bin/bash")
    assert len(proc.stdout.splitlines()) == 1 and proc.stderr == b""
    pipe = subprocess.run(f"{sys.executable} -m safehaven decode - | head -1; exit ${{PIPESTATUS[0]}}",
                          shell=True, cwd=REPO, input=data, capture_output=True, timeout=60, executable="/bin/bash")
    assert pipe.returncode == 0
    # a full disk is a write error on the output, not a "read error" on the input
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([sys.executable, "-m", "safehaven", "decode", str(VECTORS / "garbage.bin")],
                              cwd=REPO, stdout=full, stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == 3 and b"cannot write the output" in proc.stderr and b"Traceback" not in proc.stderr
    assert b"read error" not in proc.stderr
