"""Node memory in the real MicroPython VM: zero heap allocation per steady-state loop iteration
(sampling, detection, telemetry frames, SCD4x polling) and peak heap <= 80 KB.

How the firmware is measured alone: the emulated sensors and the bench sync allocate (floats,
JSON), so hil.simhw meters them: every bus call and every sync adds its own gc.mem_alloc() delta
to meter.excluded, and the firmware's allocation is the total delta minus that (gc disabled in
the window so nothing is freed meanwhile). A fresh VM, so the firmware's modules count in full.
"""
import json

# The budget: the guide's boards have ~200 KB of MicroPython heap (RP2040 ~190 KB; a PSRAM-less ESP32
# ~110 KB). 80 KB for firmware, protocol and drivers compiled from source plus every node object
# leaves the smallest board ~30 KB for frames in flight, commands and a REPL session.
PEAK_HEAP_BUDGET = 80 * 1024

from safehaven.hil.vm import MicroPythonVM
from nodebench import BOARD, TRUTH

# Inside one exec the wasm port's gc.collect() cannot free what the running snippet's frames
# reached, so live heap is read in separate execs; the node is kept in a module between them.
BUILD_HW = """
import sys, gc
from hil import simhw
import board as bf, config as cf
board = bf.validate(%(board)r, "sim.json")
cfg = cf.validate(%(cfg)r, "config")
hw = simhw.make_hardware(board, cfg)
simhw.PROBE = [board, cfg, hw, None]
result = 0
"""
LIVE = "import gc\ngc.collect()\nresult = gc.mem_alloc()"
BUILD_NODE = """
from hil import simhw
import node
board, cfg, hw, _ = simhw.PROBE
n = node.Node(cfg, board, hw)
n.boot()
for i in range(%(warm)d):
    n.step()
simhw.PROBE[3] = n
result = n.det.warm
"""
WINDOWS = """
import gc
from hil import simhw
board, cfg, hw, n = simhw.PROBE

def window(steps):
    hw.meter.excluded = 0
    hw.meter.on = True
    gc.disable()
    a0 = gc.mem_alloc()
    f0 = n.frames
    s0 = n.samples
    for i in range(steps):
        n.step()
    total = gc.mem_alloc() - a0
    gc.enable()
    hw.meter.on = False
    return [total - hw.meter.excluded, total, n.frames - f0, n.samples - s0]

steady = window(%(steps)d)
n.hb_ms = 2000                  # now with heartbeats (off the hot path) for the peak
n.t_hb = hw.clock.ticks_ms()
busy = window(%(steps)d)
result = {"steady": steady, "busy": busy, "state": n.det.state}
"""


def bench_handler():
    def handler(req: bytes) -> bytes:
        t = json.loads(req)["t_ms"]
        return json.dumps({"until_ms": t + 1000, "rx": "", "truth": TRUTH, "faults": {}, "stop": False}).encode()
    return handler


def test_zero_allocation_per_iteration_and_peak_heap():
    cfg = {"node_id": 5, "zone": "A", "sample_period_ms": 500, "telemetry_period_ms": 1000,
           "heartbeat_period_ms": 3600000, "ambient_period_ms": 3600000, "scd_poll_ms": 1000,
           "detector": {"drift_pa_s": 0.2, "block_ms": 500}}   # a short learning period, then steady state
    args = {"board": BOARD, "cfg": cfg, "warm": 400, "steps": 100}
    h = bench_handler()
    with MicroPythonVM() as vm:
        vm.exec(BUILD_HW % args, handler=h)
        base = vm.exec(LIVE)
        warm = vm.exec(BUILD_NODE % args, handler=h)
        live = vm.exec(LIVE) - base            # firmware modules + node objects (+ emulator state growth)
        got = vm.exec(WINDOWS % args, handler=h)
    assert warm is False                       # past the detector's learning: steady state
    fw, total, frames, samples = got["steady"]
    assert samples >= 50 and frames >= 25      # the window really sampled and sent telemetry
    assert total > 0                           # the emulators did allocate: the meter is needed
    assert fw == 0, got
    assert got["busy"][2] > frames             # heartbeats were sent in the busy window
    peak = live + max(0, got["busy"][0])       # live heap plus the garbage of a busy window
    print("node memory: live %d B, busy-window garbage %d B, peak bound %d B" % (live, got["busy"][0], peak))
    assert peak <= PEAK_HEAP_BUDGET, (live, got)
