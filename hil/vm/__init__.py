"""Run firmware-side Python in the real MicroPython VM (WebAssembly port under Node) or in CPython.

Both runtimes speak one pipe protocol (see runner.mjs), so a test or the virtual bench drives
either the same way:

    with MicroPythonVM() as vm:
        vm.exec("from protocol import cobs; result = cobs.encode(b'a\\x00b')")

Code inside the VM talks back to the parent synchronously with `vmhost.call(hex) -> hex`
(hil/vmlink.py wraps it for bytes); the parent answers through `handler(bytes) -> bytes`.
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Optional

from safehaven import ROOT as REPO_ROOT
RUNNER_JS = Path(__file__).with_name("runner.mjs")

Handler = Callable[[bytes], bytes]


class VMError(RuntimeError):
    """A snippet raised inside the VM; .traceback holds the VM's own traceback."""

    def __init__(self, error: str, traceback: str = "", stdout: str = ""):
        super().__init__(error + ("\n" + traceback if traceback else ""))
        self.error, self.traceback, self.stdout = error, traceback, stdout


class VMUnavailable(RuntimeError):
    """Node or the MicroPython npm package is missing; the message says what to install."""


def _decode_result(v: Any) -> Any:
    if isinstance(v, dict):
        if set(v) == {"__bytes__"}:
            return bytes.fromhex(v["__bytes__"])
        return {k: _decode_result(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_decode_result(x) for x in v]
    return v


class _PipeVM:
    runtime = "?"

    def __init__(self, argv: list[str], handler: Optional[Handler] = None, cwd: Path = REPO_ROOT):
        self.handler = handler
        self.last_stdout = ""
        env = dict(os.environ)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(cwd), env=env)
        ready = self._wait_done(None)
        if ready != "ready":
            raise VMUnavailable(f"{self.runtime} runner did not start: {ready!r}")

    # low-level protocol ---------------------------------------------------------
    def _write(self, kind: str, body: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(struct.pack("<IB", len(body), ord(kind)) + body)
        self.proc.stdin.flush()

    def _read(self) -> tuple[str, bytes]:
        assert self.proc.stdout is not None
        head = self.proc.stdout.read(5)
        if len(head) < 5:
            code = self.proc.wait()
            raise VMError(f"{self.runtime} runner exited (status {code})")
        (length,) = struct.unpack_from("<I", head)
        body = self.proc.stdout.read(length) if length else b""
        return chr(head[4]), body

    def start(self, code: str) -> None:
        """Begin running a snippet; then call next_event()/reply() until it is done."""
        self._write("E", code.encode())

    def next_event(self) -> tuple[str, Any]:
        """('call', bytes) when the snippet calls vmhost; ('done', outcome dict) at its end."""
        kind, body = self._read()
        if kind == "C":
            return "call", body
        return "done", json.loads(body)

    def reply(self, data: bytes) -> None:
        self._write("R", data)

    def _wait_done(self, handler: Optional[Handler]) -> Any:
        while True:
            kind, payload = self.next_event()
            if kind == "call":
                if handler is None:
                    raise VMError("snippet called vmhost but no handler was given")
                self.reply(handler(payload))
                continue
            self.last_stdout = payload.get("stdout", "")
            if not payload.get("ok"):
                raise VMError(payload.get("error", "?"), payload.get("traceback", ""), self.last_stdout)
            return _decode_result(payload.get("result"))

    # high-level -------------------------------------------------------------------
    def exec(self, code: str, handler: Optional[Handler] = None) -> Any:
        """Run `code` in a fresh namespace; return its `result` variable (JSON-able, bytes allowed)."""
        self.start(code)
        return self._wait_done(handler or self.handler)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self._write("Q", b"")
                self.proc.stdin.close()  # type: ignore[union-attr]
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


NPM_PACKAGE = "@micropython/micropython-webassembly-pyscript"
NPM_VERSION = "1.27.0"   # as pinned in package-lock.json


def micropython_module() -> Path:
    """micropython.mjs of the npm package: the checkout's node_modules, else the nearest node_modules
    above the current folder (where `npm install` puts it for an installed safehaven)."""
    cwd = Path.cwd().resolve()
    for folder in (REPO_ROOT, cwd, *cwd.parents):
        mjs = folder / "node_modules" / NPM_PACKAGE / "micropython.mjs"
        if mjs.is_file():
            return mjs
    raise VMUnavailable(f"the MicroPython VM is not installed: run `npm install {NPM_PACKAGE}@{NPM_VERSION}` "
                        "here (`make setup` in a checkout), or use --runtime cpython")


def node_binary() -> str:
    node = shutil.which("node")
    if not node:
        raise VMUnavailable("the MicroPython VM needs Node.js 20 or newer on PATH, or use --runtime cpython")
    return node


def check_runtime(runtime: str) -> None:
    """Raise VMUnavailable (one line saying what to install) when `runtime` cannot start here."""
    if runtime == "micropython":
        node_binary()
        micropython_module()


class MicroPythonVM(_PipeVM):
    """The official MicroPython WebAssembly port (1.27) in a Node child process."""

    runtime = "micropython"

    def __init__(self, handler: Optional[Handler] = None, heap_bytes: int = 1024 * 1024, root: Path = REPO_ROOT):
        argv = [node_binary(), str(RUNNER_JS), f"--module={micropython_module()}", f"--root={root}",
                f"--heap={heap_bytes}"]
        super().__init__(argv, handler)


class CPythonVM(_PipeVM):
    """The same firmware code under CPython, behind the same pipe protocol."""

    runtime = "cpython"

    def __init__(self, handler: Optional[Handler] = None, root: Path = REPO_ROOT):
        argv = [sys.executable, "-m", "safehaven.hil.vm.cpython_runner", f"--root={root}"]
        super().__init__(argv, handler)


def make_vm(runtime: str, handler: Optional[Handler] = None) -> _PipeVM:
    if runtime == "micropython":
        return MicroPythonVM(handler)
    if runtime == "cpython":
        return CPythonVM(handler)
    raise ValueError(f"unknown runtime {runtime!r}; use 'micropython' or 'cpython'")
