"""Driver figures in the real MicroPython VM (WebAssembly port under Node) and in CPython.

    .venv/bin/python bench/drivers.py

Per call: time and heap bytes allocated, for the BMP280 compensation done with small-int limbs
(the driver) against the peer it replaces, the datasheet formula with MicroPython's bigints; the
drivers' read_fixed over a replayed transcript (a new temperature every call, the worst case);
the emulators' cost per conversion. Also the heap each driver instance and module takes.
The VM is not a board: the times compare implementations on one machine; the bytes are the port's.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from safehaven.hil.vm import CPythonVM, MicroPythonVM  # noqa: E402

CAL = "706b436718fc7d8e43d6d00b270b8c00f9ff8c3cf8c67017"
CODE = """
import gc, time
try:
    now_us = time.ticks_us
    diff = time.ticks_diff
except AttributeError:
    now_us = lambda: int(time.monotonic() * 1000000)
    diff = lambda a, b: a - b
from hil.emu.bmp280 import compensate_p, compensate_t, DATASHEET_CALIB

def measure(f, n):
    f()
    gc.collect()
    try:
        gc.disable()
    except AttributeError:
        pass
    m0 = gc.mem_alloc() if hasattr(gc, 'mem_alloc') else 0
    t0 = now_us()
    for i in range(n):
        f()
    t1 = now_us()
    m1 = gc.mem_alloc() if hasattr(gc, 'mem_alloc') else 0
    gc.enable()
    return [diff(t1, t0) / n, (m1 - m0) / n]

res = []
gc.collect()
h0 = gc.mem_alloc() if hasattr(gc, 'mem_alloc') else 0
from drivers import bmp280, scd4x, errors
gc.collect()
res.append(['drivers_modules_heap_bytes', (gc.mem_alloc() - h0) if hasattr(gc, 'mem_alloc') else 0])
from hil.emu.transcript import TranscriptBus
from hil.emu.clock import ManualClock

comp = bmp280.Compensation(DATASHEET_CALIB)
out = [0, 0]
state = [519888]
def limb_new_t():
    state[0] ^= 16                       # a new t_fine every call: the t_fine-only terms are redone
    comp.compensate(state[0], 415148, out)
def limb_same_t():
    comp.compensate(519888, 415148, out)
def bigint_plain():
    t_fine, t = compensate_t(519888, DATASHEET_CALIB)
    out[1] = compensate_p(415148, t_fine, DATASHEET_CALIB)
res.append(['bmp280_compensate_limbs_new_t', measure(limb_new_t, 1000)])
res.append(['bmp280_compensate_limbs_same_t', measure(limb_same_t, 1000)])
res.append(['bmp280_compensate_bigint_peer', measure(bigint_plain, 1000)])

clk = ManualClock()
gc.collect()
h0 = gc.mem_alloc() if hasattr(gc, 'mem_alloc') else 0
tb = TranscriptBus(BMP_TRANSCRIPT + 'loop\\nw 76 f7\\nr 76 65 5a c0 7e ed 00\\n')
h1 = gc.mem_alloc() if hasattr(gc, 'mem_alloc') else 0
bmp = bmp280.BMP280(tb, clock=clk)
gc.collect()
res.append(['bmp280_instance_heap_bytes', (gc.mem_alloc() - h1) if hasattr(gc, 'mem_alloc') else 0])
def bmp_read():
    tb.data[len(tb.data) - 2] ^= 0x10    # a new temperature every read
    bmp.read_fixed(out)
res.append(['bmp280_read_fixed_replay', measure(bmp_read, 1000)])

tb2 = TranscriptBus('w 62 21 b1\\nloop\\nw 62 e4 b8\\nr 62 80 06 04\\nw 62 ec 05\\nr 62 01 f4 33 66 67 a2 5e b9 3c\\n')
gc.collect()
h1 = gc.mem_alloc() if hasattr(gc, 'mem_alloc') else 0
scd = scd4x.SCD4x(tb2, clock=clk)
gc.collect()
res.append(['scd4x_instance_heap_bytes', (gc.mem_alloc() - h1) if hasattr(gc, 'mem_alloc') else 0])
scd.start_periodic_measurement()
out3 = [0, 0, 0]
res.append(['scd4x_read_fixed_replay', measure(lambda: scd.read_fixed(out3), 1000)])

from hil.emu.bus import I2CBus
from hil.emu.bmp280 import BMP280Emu
from hil.emu.scd4x import SCD4xEmu
from hil.emu.clock import StaticTruth
bus = I2CBus()
bus.attach(0x76, BMP280Emu(StaticTruth(), clk))
bus.attach(0x62, SCD4xEmu(StaticTruth(), clk))
b = bmp280.BMP280(bus, clock=clk, mode=bmp280.FORCED)
res.append(['bmp280_forced_read_with_emulator', measure(lambda: b.read_fixed(out), 300)])
clk.sleep_ms(1000)
s = scd4x.SCD4x(bus, clock=clk)
s.start_periodic_measurement()
def scd_cycle():
    clk.sleep_ms(5000)
    s.read_fixed(out3)
res.append(['scd4x_read_with_emulator', measure(scd_cycle, 300)])
result = res
"""


def main():
    transcript = (Path(__file__).resolve().parents[1] / "tests" / "transcripts" / "bmp280_datasheet.txt").read_text()
    transcript = transcript.rsplit("w 76 f7", 1)[0]
    code = "BMP_TRANSCRIPT = %r\n" % transcript + CODE
    rows = {}
    for vm_cls in (MicroPythonVM, CPythonVM):
        with vm_cls() as vm:
            rows[vm.runtime] = vm.exec(code)
    mp, cp = dict(rows["micropython"]), dict(rows["cpython"])
    print("| per call | MicroPython VM us | MicroPython heap bytes | CPython us |")
    print("|---|---:|---:|---:|")
    for key, v in rows["micropython"]:
        if isinstance(v, list):
            print("| %s | %.1f | %.0f | %.1f |" % (key, v[0], v[1], cp[key][0]))
    print()
    for key, v in rows["micropython"]:
        if not isinstance(v, list):
            print("%s (MicroPython VM): %d" % (key, v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
