"""Every emulator fault mode, injected at 5 s and cleared at 20 s: the node counts it, flags it,
keeps sending what it has, and recovers (re-initialising the sensor with backoff)."""
import pytest

from safehaven.protocol import messages as M
from nodebench import NodeBench, config, named, run_node

ON, OFF, END = 5000, 20000, 45000
CLEAR = {"gone": False, "timeout": False, "nack_rate": 0.0, "stuck": False, "offset": 0.0, "drift_per_s": 0.0,
         "noise_mult": 1.0, "spike_rate": 0.0, "spike_size": 0.0}


def run_fault(vm, device, off=OFF, end=END, **fault):
    b = NodeBench(stop_ms=end)
    b.fault(ON, device, **fault)
    clear = {k: CLEAR[k] for k in fault if k in CLEAR}
    if "crc_corrupt" in fault:
        clear["crc_corrupt"] = 0.0
    b.fault(off, device, **clear)
    summary = run_node(vm, config(heartbeat_period_ms=5000, detector={"stuck_samples": 20}), b)
    frames = b.frames()
    tel = [(t, named(v, M.TELEMETRY)) for t, ty, v, _ in frames if ty == M.TELEMETRY]
    hbs = [(t, named(v, M.HEARTBEAT)) for t, ty, v, _ in frames if ty == M.HEARTBEAT]
    events = [(t, named(v, M.EVENT)) for t, ty, v, _ in frames if ty == M.EVENT]
    assert b.decoder.stats["crc_failures"] == 0
    # it never stops talking: telemetry every second throughout
    assert len(tel) >= end // 1000 - 2
    return summary, tel, hbs, events


def during(series, key, lo=ON + 6000, hi=OFF):
    return [x[key] for t, x in series if lo < t <= hi]


def after(series, key, lo=OFF + 15000):
    return [x[key] for t, x in series if t > lo]


@pytest.mark.parametrize("fault", [{"gone": True}, {"timeout": True}, {"nack_rate": 1.0}])
def test_bmp280_bus_faults(runtime, fault):
    summary, tel, hbs, events = run_fault(runtime, "bmp280", **fault)
    assert all(s & M.ST_BMP_FAULT for s in during(tel, "status"))
    assert all(st == M.FAULT for st in during(tel, "state"))
    assert not any(s & M.ST_BMP_FAULT for s in after(tel, "status"))
    assert all(st != M.FAULT for st in after(tel, "state"))
    codes = [e["event"] for t, e in events]
    assert M.EV_SENSOR_FAULT in codes and M.EV_SENSOR_RECOVERED in codes
    assert codes.index(M.EV_SENSOR_FAULT) < codes.index(M.EV_SENSOR_RECOVERED)
    last = hbs[-1][1]
    assert last["bmp_errors"] >= 3 and last["i2c_errors"] >= 3
    # re-initialised with backoff, not hammered every sample: 15 s of fault at 5 samples/s
    assert last["bmp_errors"] < 30


def test_bmp280_intermittent_nacks_are_counted_not_fatal(runtime):
    summary, tel, hbs, events = run_fault(runtime, "bmp280", nack_rate=0.2)
    assert hbs[-1][1]["bmp_errors"] > 3
    assert summary["samples"] > 150


def test_bmp280_stuck_is_a_fault_not_silence(runtime):
    summary, tel, hbs, events = run_fault(runtime, "bmp280", stuck=True)
    assert any(s & M.ST_BMP_STALE for s in during(tel, "status"))
    assert during(tel, "state")[-1] == M.FAULT
    assert not any(s & M.ST_BMP_STALE for s in after(tel, "status"))
    codes = [e["event"] for t, e in events]
    assert M.EV_SENSOR_FAULT in codes and M.EV_SENSOR_RECOVERED in codes


@pytest.mark.parametrize("fault", [{"spike_rate": 0.1, "spike_size": 300.0}, {"noise_mult": 2.0}])
def test_bmp280_spikes_and_noise_raise_no_alarm(runtime, fault):
    summary, tel, hbs, events = run_fault(runtime, "bmp280", **fault)
    assert all(st in (M.NOMINAL, M.SUSPECT) for st in during(tel, "state", lo=0, hi=END))
    assert [e["event"] for t, e in events] == [M.EV_BOOT]


@pytest.mark.parametrize("fault", [{"offset": 60.0}, {"drift_per_s": 2.0}])
def test_bmp280_value_faults_are_reported_faithfully(runtime, fault):
    # a wrong-but-plausible value is the ground's to catch (voting); the node reports what it reads
    summary, tel, hbs, events = run_fault(runtime, "bmp280", **fault)
    before = sum(during(tel, "pressure_pa", lo=2000, hi=ON)) / len(during(tel, "pressure_pa", lo=2000, hi=ON))
    inside = during(tel, "pressure_pa", lo=OFF - 3000, hi=OFF)
    assert all(p / 256 - before / 256 > 20 for p in inside)


@pytest.mark.parametrize("fault", [{"gone": True}, {"timeout": True}, {"nack_rate": 1.0}, {"crc_corrupt": 1.0}])
def test_scd4x_faults(runtime, fault):
    summary, tel, hbs, events = run_fault(runtime, "scd4x", **fault)
    assert all(s & M.ST_SCD_FAULT for s in during(tel, "status"))
    assert not any(s & M.ST_SCD_FAULT for s in after(tel, "status"))
    assert during(tel, "pressure_pa") and all(st != M.FAULT for st in during(tel, "state"))   # BMP280 goes on
    assert hbs[-1][1]["scd_errors"] >= 3
    co2 = after(tel, "co2_ppm")
    assert co2 and abs(co2[-1] - 800) < 100


def test_scd4x_stuck_is_flagged(runtime):
    summary, tel, hbs, events = run_fault(runtime, "scd4x", off=50000, end=70000, stuck=True)
    assert during(tel, "status", lo=45000, hi=50000)[-1] & M.ST_SCD_STALE     # 6 identical readings
    assert not any(s & M.ST_SCD_STALE for s in during(tel, "status", lo=0, hi=35000))
    assert not after(tel, "status", lo=65000)[-1] & M.ST_SCD_STALE
