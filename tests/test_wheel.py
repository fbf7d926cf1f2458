"""The wheel as a user gets it: `pip install` (not editable) into a fresh venv, commands run from another folder.

Offline: the wheel is built without build isolation and installed with --no-index --no-deps; its
dependencies come from this venv's site-packages, added to the new venv by a .pth file (which adds a
path, not the editable install's finder: `safehaven` resolves to the installed wheel only).
"""
import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(".*", "__pycache__", "*.egg-info", "build", "dist", "node_modules", "out", "*.db")


def run(argv, cwd, timeout=300):
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(path of the `safehaven` script, folder to run it in) of a wheel installed into a fresh venv."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(REPO, src, ignore=lambda d, names: SKIP(d, names) if Path(d) != REPO / "tests" else names)
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                 "-w", str(tmp / "dist"), str(src)], tmp)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("safehaven-*.whl")
    venv = tmp / "venv"
    assert run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp).returncode == 0
    py = venv / "bin" / "python"
    inst = run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-index", "--no-deps", str(wheel)], tmp)
    assert inst.returncode == 0, inst.stderr
    site = run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp).stdout.strip()
    (Path(site) / "dev_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp / "work"
    work.mkdir()
    return venv / "bin" / "safehaven", work, Path(site)


def test_wheel_installs_one_import_name_with_its_data(installed):
    _, _, site = installed
    ours = {p.name for p in site.iterdir()} - {"dev_deps.pth", "_virtualenv.py", "_virtualenv.pth"}
    assert {n for n in ours if not n.startswith("safehaven")} == set(), ours
    pkg = site / "safehaven"
    for f in ("firmware/node.py", "firmware/drivers/bmp280.py", "boards/pico.json", "scenarios/demo_habitat.toml",
              "policies/default.toml", "protocol/messages.py", "hil/vm/runner.mjs", "hil/emu/bmp280.py"):
        assert (pkg / f).is_file(), f


def test_wheel_flash_dry_run(installed):
    exe, work, _ = installed
    res = run([str(exe), "flash", "--board", "pico", "--node-id", "1", "--zone", "a", "--dry-run"], work)
    assert res.returncode == 0, res.stderr
    assert "mpy-cross -march=armv6m" in res.stdout
    for dest in ("/main.py", "/node.mpy", "/drivers/bmp280.mpy", "/protocol/codec.mpy", "/config.json"):
        assert dest in res.stdout, dest
    assert not list(work.iterdir())


def test_wheel_decode_matches_the_checkout(installed):
    exe, work, _ = installed
    shutil.copy(REPO / "protocol" / "vectors" / "telemetry.bin", work / "telemetry.bin")
    res = run([str(exe), "decode", "telemetry.bin", "--json"], work)
    assert res.returncode == 0, res.stderr
    here = run([sys.executable, "-m", "safehaven", "decode", str(work / "telemetry.bin"), "--json"], REPO)
    frames = [json.loads(line) for line in res.stdout.splitlines()]
    assert frames and res.stdout == here.stdout
    (work / "telemetry.bin").unlink()


def test_wheel_sim_runs_and_names_the_missing_vm(installed, short_scenario):
    exe, work, _ = installed
    (work / "short.toml").write_text(short_scenario(14, (1,), ["node 1 RAPID within 2 s of t=10"]))
    # no node_modules here or above: the MicroPython VM is absent, and the error says how to install it
    res = run([str(exe), "sim", "short.toml", "--out", "run-mpy"], work)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.count("\n") == 1 and "npm install @micropython/micropython-webassembly-pyscript@" in res.stderr
    res = run([str(exe), "sim", "short.toml", "--runtime", "cpython", "--out", "run", "--quiet"], work)
    assert res.returncode == 0, res.stdout + res.stderr
    summary = json.loads((work / "run" / "summary.json").read_text())
    assert summary["passed"] and summary["nodes"]["1"]["vm"] == "ok" and summary["nodes"]["1"]["frames"] > 0
    assert (work / "run" / "report.md").read_text().startswith("# short: PASS")
