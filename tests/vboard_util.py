"""Helpers for tests on a virtual board: start `safehaven vboard` as a user does, talk to it with mpremote."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import serial

REPO = Path(__file__).resolve().parents[1]


class VBoardProcess:
    """`safehaven vboard --board NAME --fs DIR` in its own process; .port is the first line it prints."""

    def __init__(self, board: str, fs: Path, *extra: str) -> None:
        self.fs = Path(fs)
        self.log_path = self.fs.with_name(self.fs.name + ".log")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "safehaven", "vboard", "--board", board, "--fs", str(fs),
                                      *extra], stdout=subprocess.PIPE, stderr=self._log, text=True, cwd=REPO)
        assert self.proc.stdout is not None
        self.port = self.proc.stdout.readline().strip()
        assert self.port.startswith("/dev/"), self.port

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_log(self, text: str, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while text not in self.log() and time.monotonic() < end:
            time.sleep(0.2)
        return text in self.log()

    def stop(self) -> str:
        """Stop it; its log (stderr)."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
        self._log.close()
        return self.log()

    def __enter__(self) -> "VBoardProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def mpremote(port: str, *cmd: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mpremote", "connect", port, *cmd], capture_output=True, text=True,
                          timeout=timeout)


def raw_repl_within(port: str, seconds: float) -> bool:
    """Does the board give a raw REPL (Ctrl-C, Ctrl-A as mpremote sends them) within `seconds`?"""
    with serial.Serial(port, timeout=0.1, exclusive=True) as s:
        s.write(b"\r\x03")
        time.sleep(0.05)
        s.write(b"\r\x01")
        seen = b""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            seen += s.read(4096)
            if b"raw REPL; CTRL-B to exit\r\n>" in seen:
                s.write(b"\x02")
                return True
            seen = seen[-64:]
    return False


def write_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.sync()
