"""The HIL runner: --sim through the instrument protocols, Ctrl-C safe state, and the hardware path
against the gauge and relay-board emulators and a node's recorded bytes on real ptys."""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from safehaven.hil import bench
from safehaven.hil import scenario as sc
from safehaven.hil.gauge import PtyDevice, TPG36xEmulator
from safehaven.hil.relay import RelayEmulator
from safehaven.hil.sim import Sim

REPO = Path(__file__).resolve().parents[1]
CHAMBER = REPO / "scenarios" / "chamber_rate_of_rise.toml"


def sigint_default():
    """The child takes Ctrl-C as a terminal gives it: a suite started in the background of a
    non-interactive shell (`make test &` in a script, nohup) has SIGINT ignored, which children
    inherit, and Python then installs no KeyboardInterrupt handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_bench_run_sim_chamber(tmp_path):
    scen = sc.load(CHAMBER)
    summary = bench.run_sim(scen, tmp_path, "micropython", progress=lambda m: None)
    assert summary["passed"], summary["expectations"]
    # every valve event went through the relay protocol, in order, at its time
    want = [(e.t_s, e.target, e.value) for e in scen.events]
    got = [(round(t), name, on) for t, name, on in summary["valve_switches"]]
    assert got == [(round(t), n, v) for t, n, v in want]
    assert summary["valves_after_safe_state"] == scen.safe_state
    comp = summary["comparisons"]
    assert set(comp) == {"1", "2", "3"} and all(c["samples"] >= 10 and c["within"] for c in comp.values())
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite.get("failures") == "0" and int(suite.get("tests")) == len(scen.expectations) + 3
    assert "reference gauge" in (tmp_path / "report.md").read_text() or (tmp_path / "pressure.png").exists()


def test_ctrl_c_puts_valves_safe_and_still_reports(tmp_path):
    text = CHAMBER.read_text()
    long = re.sub(r"(?m)^duration_s = \d+", "duration_s = 100000", text)
    assert long != text       # the run must outlast the interrupt (a scenario now 160 s long ran to its end)
    scen_path = tmp_path / "long.toml"
    scen_path.write_text(long)
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "safehaven", "bench", "run", str(scen_path), "--sim",
                             "--runtime", "cpython", "--out", str(out)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=sigint_default)
    # wait until the pump has been switched on (progress line), then interrupt
    deadline = time.monotonic() + 60
    seen = b""
    while b"pump on" not in seen and time.monotonic() < deadline:
        seen += proc.stderr.readline()
    assert b"pump on" in seen, seen
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1, stderr.decode()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["passed"] is False
    assert summary["valves_after_safe_state"] == {"pump": False, "vent": False, "leak": False}
    assert "Interrupted" in (out / "report.md").read_text()
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert any(c.get("name") == "run completed" and c.find("failure") is not None for c in suite.iter("testcase"))


HW = """\
[scenario]
name = "hw"
kind = "chamber"
duration_s = 3
expect = ["nodes agree with reference within 150 Pa"]

[[zone]]
name = "chamber"
volume_m3 = 0.01

[chamber]
zone = "chamber"
valves = { pump = 3, vent = 1, leak = 2 }
safe = { pump = false, vent = true, leak = false }

[[event]]
t_s = 0.5
valve = "pump"
on = true

[[event]]
t_s = 1.0
valve = "pump"
on = false

[[node]]
id = 1
zone = "chamber"
"""


def _recorded_node_bytes(tmp_path) -> bytes:
    """A real node's byte stream: the firmware (CPython VM) at constant room pressure for a few seconds."""
    text = HW.replace("duration_s = 3", "duration_s = 4").replace('expect = ["nodes agree with reference within 150 Pa"]', "")
    text = text.split("[[event]]")[0] + "[[node]]\nid = 1\nzone = \"chamber\"\n"
    Sim(sc.loads(text, "rec.toml"), tmp_path / "rec", "cpython", progress=lambda m: None).run()
    return (tmp_path / "rec" / "node-1.bin").read_bytes()


def _wait_until_opened(port: str, timeout_s: float = 60.0) -> None:
    """Until a second descriptor of this process (the station's, beside the pty's own) is open on port."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        opened = 0
        for fd in os.listdir("/proc/self/fd"):
            try:
                opened += os.readlink(f"/proc/self/fd/{fd}") == port
            except OSError:
                pass
        if opened >= 2:
            return
        time.sleep(0.01)


def test_hardware_path_with_emulated_instruments(tmp_path):
    data = _recorded_node_bytes(tmp_path)
    relay = RelayEmulator()
    with PtyDevice(relay.feed) as valves, PtyDevice(TPG36xEmulator(lambda g: (0, 101325.0)).feed) as gauge, \
            PtyDevice(lambda d: b"") as node:
        def feed():   # the board starts talking once the station has opened its port (pyserial's open
            # flushes what came before: under load a fixed 0.5 s wait wrote into that flush, 0 frames)
            _wait_until_opened(node.port)
            time.sleep(0.3)
            os.write(node.master, data)
        threading.Thread(target=feed, daemon=True).start()
        scen = sc.loads(HW, "hw.toml")
        summary = bench.run_hardware(scen, {1: node.port}, gauge.port, valves.port, tmp_path / "out",
                                     progress=lambda m: None)
    assert relay.log == [(1, True), (3, True), (3, False)]   # safe state (vent open) first, then the events
    assert [(n, on) for _, n, on in summary["valve_switches"]] == [("pump", True), ("pump", False)]
    assert summary["valves_after_safe_state"] == {"pump": False, "vent": True, "leak": False}
    assert summary["nodes"]["1"]["frames"] > 0
    c = summary["comparisons"]["1"]
    assert c["samples"] >= 1 and c["max_abs_pa"] < 150 and summary["passed"], summary
    assert (tmp_path / "out" / "junit.xml").exists() and (tmp_path / "out" / "report.md").exists()
