"""Type-check firmware/ and protocol/ against the MicroPython stubs, so CPython-only calls fail here;
then ground/ and hil/ against CPython's own typeshed (they run on the station and the bench, not the node;
hil/vm/board_shim.py is left out: it runs inside the MicroPython VM and installs module doubles on purpose).

The stub packages install MicroPython's stdlib as a custom typeshed (site-packages/stdlib) plus
top-level .pyi modules (machine, micropython, time, ...). We gather those into build/mpy-stubs and
run mypy without CPython's typeshed; only errors in our own files count (the stubs have their own).
"""
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHECKED = ("firmware", "protocol")


def gather_stubs(site: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for pyi in site.glob("*.pyi"):
        shutil.copy(pyi, dest)
    for pkg in site.iterdir():
        if pkg.is_dir() and (pkg / "__init__.pyi").exists():
            shutil.copytree(pkg, dest / pkg.name)


def check_cpython(folder: str, exclude: str = "") -> int:
    """One folder in CPython 3.11 with its site-packages (pyserial ships no types: its imports are Any)."""
    cmd = [sys.executable, "-m", "mypy", "--python-version", "3.11", "--ignore-missing-imports",
           "--no-error-summary", "--cache-dir", str(REPO / "build" / f"mypy-cache-{folder}"), folder]
    if exclude:
        cmd += ["--exclude", exclude]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    errors = [line for line in proc.stdout.splitlines() if ": error:" in line]
    for line in proc.stdout.splitlines():
        print(line)
    print(f"typecheck: {folder}/ against CPython 3.11: {len(errors)} error(s)")
    return 1 if errors or proc.returncode not in (0, 1) else 0


def main() -> int:
    site = Path(sysconfig.get_paths()["purelib"])
    if not (site / "stdlib" / "builtins.pyi").exists():
        print("typecheck: MicroPython stubs are not installed (pip install -e '.[dev]')", file=sys.stderr)
        return 2
    stubs = REPO / "build" / "mpy-stubs"
    gather_stubs(site, stubs)
    files = sorted(str(p.relative_to(REPO)) for d in CHECKED for p in (REPO / d).rglob("*.py"))
    config = REPO / "build" / "mypy-micropython.ini"
    # Nothing may be missing from the stubs: firmware/ and protocol/ import neither the bench nor CPython.
    config.write_text("[mypy]\n")
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(config), "--custom-typeshed-dir", str(site),
           "--no-site-packages", "--python-version", "3.11", "--follow-imports=silent", "--explicit-package-bases",
           "--no-error-summary", "--cache-dir", str(REPO / "build" / "mypy-cache"), *files]
    # firmware/ is the board's root folder (imports read `drivers.bmp280`), the repo holds `protocol`.
    env = {"MYPYPATH": f"{stubs}:{REPO / 'firmware'}:{REPO}", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env)
    ours = [line for line in proc.stdout.splitlines() if line.startswith(CHECKED)]
    errors = [line for line in ours if ": error:" in line]
    for line in ours:
        print(line)
    print(f"typecheck: {len(files)} files in {', '.join(CHECKED)} against MicroPython stubs: "
          f"{len(errors)} error(s)")
    return (1 if errors else 0) | check_cpython("ground") | check_cpython("hil", exclude="hil/vm/board_shim\\.py$")


if __name__ == "__main__":
    sys.exit(main())
