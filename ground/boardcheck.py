"""The node's own checks (firmware/board.py, firmware/config.py), for the host's commands and the benches.

They run in a child CPython whose import path is the board's: firmware/ as the root and `protocol` beside
it. So their imports (board, config, detector, drivers, protocol) never mix with this process's modules,
and they work the same from a checkout and from an installed wheel (safehaven.ROOT holds both folders).
"""
from __future__ import annotations

import json
import subprocess
import sys

from safehaven import ROOT

FIRMWARE = ROOT / "firmware"
_CHILD = """\
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
import board, config
op, data = json.load(sys.stdin)
def config_problem(cfg):
    try:
        config.validate(cfg, "config")
    except config.ConfigError as e:
        return str(e)
if op == "board":
    try:
        out = {"board": board.load(data)}
    except board.BoardError as e:
        out = {"error": str(e)}
else:
    out = {"problems": [config_problem(cfg) for cfg in data]}
print(json.dumps(out))
"""


class FirmwareCheckError(ValueError):
    """The firmware's verdict (a one-line BoardError message), or why its checks could not run."""


def _child(op: str, data) -> dict:
    proc = subprocess.run([sys.executable, "-I", "-c", _CHILD, json.dumps([str(FIRMWARE), str(ROOT)])],
                          input=json.dumps([op, data]), capture_output=True, text=True)
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or not lines:
        why = (proc.stderr.strip().splitlines() or ["no answer"])[-1]
        raise FirmwareCheckError(f"the firmware's checks failed to run: {why}")
    return json.loads(lines[-1])


def load_board(path: str) -> dict:
    """A board file as firmware/board.py reads it (defaults filled in); FirmwareCheckError names the problem."""
    out = _child("board", path)
    if "error" in out:
        raise FirmwareCheckError(out["error"])
    return out["board"]


def config_problems(configs: list[dict]) -> list[str | None]:
    """firmware/config.py's verdict on each node config: None, or its one-line message."""
    return _child("configs", configs)["problems"]
