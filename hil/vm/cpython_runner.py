"""CPython twin of runner.mjs: the same pipe protocol, so firmware code runs under either runtime.

Started by hil.vm.CPythonVM as `python -m hil.vm.cpython_runner --root=DIR`. The snippet's
`vmhost.call(hex)` goes to the parent exactly as it does from the MicroPython VM.
"""
import io
import json
import os
import struct
import sys
import types

_IN = sys.stdin.buffer
_OUT = sys.stdout.buffer


def _read_exact(n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = _IN.read(n - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data


def read_msg() -> tuple[str, bytes]:
    head = _read_exact(5)
    (length,) = struct.unpack_from("<I", head)
    return chr(head[4]), _read_exact(length) if length else b""


def write_msg(kind: str, body: bytes) -> None:
    _OUT.write(struct.pack("<IB", len(body), ord(kind)) + body)
    _OUT.flush()


def _call(hexdata: str) -> str:
    write_msg("C", bytes.fromhex(hexdata))
    kind, body = read_msg()
    if kind == "Q":
        sys.exit(0)
    return body.hex()


def main() -> None:
    root = os.path.abspath(dict(a.lstrip("-").split("=", 1) for a in sys.argv[1:] if "=" in a).get("root", "."))
    sys.path[:0] = [os.path.join(root, "firmware"), root]
    vmhost = types.ModuleType("vmhost")
    vmhost.call = _call  # type: ignore[attr-defined]
    sys.modules["vmhost"] = vmhost
    here = os.path.dirname(os.path.abspath(__file__))
    ns: dict = {}
    with open(os.path.join(here, "vmexec.py")) as f:
        exec(f.read(), ns)
    echo = os.environ.get("SAFEHAVEN_VM_ECHO") == "1"
    write_msg("D", json.dumps({"ok": True, "result": "ready", "stdout": ""}).encode())
    while True:
        kind, body = read_msg()
        if kind == "Q":
            return
        if kind != "E":
            continue
        captured = io.StringIO()
        real_stdout = sys.stdout
        sys.stdout = captured
        try:
            outcome = json.loads(ns["_vm_exec"](body.decode()))
        finally:
            sys.stdout = real_stdout
        outcome["stdout"] = captured.getvalue()
        if echo:
            sys.stderr.write(outcome["stdout"])
        write_msg("D", json.dumps(outcome).encode())


if __name__ == "__main__":
    main()
