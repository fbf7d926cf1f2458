"""Recorded-style traces through `safehaven sim` (docs/scenarios.md, "Traces"): the way a user
checks the project on a habitat's own recording. The traces and their truth come from the closed
forms in this file (REFERENCE.md section 2), not from hil.physics, so a shared mistake in the
physics model cannot hide here; the numbers the crew acts on are read back from what the ground
stored (telemetry.sqlite through `safehaven export`, decisions.jsonl)."""
import csv
import io
import json
import math

import pytest

R_AIR = 287.05
P0 = 101325.0
WALL_C = 22.0
P_MIN = 65000.0          # the default policy's min_safe_pressure_pa


def tau_s(volume_m3, hole_mm, wall_c=WALL_C, cd=0.6):
    """Choked orifice: dp/dt = -p / tau, tau = V / (0.0404 Cd A R sqrt(T))."""
    area = math.pi * (hole_mm / 2000.0) ** 2
    return volume_m3 / (0.0404 * cd * area * R_AIR * math.sqrt(wall_c + 273.15))


def rapid_trace(onset_s, end_s, tau):
    """Cabin air on a thermal cycle with a fan, then a hole at onset_s: the recorded pressure and
    temperature (isothermal: the wall holds the gas, as a recording a minute later shows)."""
    rows = []
    t = 0.0
    while t <= end_s:
        temp = WALL_C + 0.6 * math.sin(2 * math.pi * t / 5580.0)
        p = P0 * (temp + 273.15) / (WALL_C + 273.15)
        if t > onset_s:
            p *= math.exp(-(t - onset_s) / tau)
        p += 3.0 * math.sin(2 * math.pi * t / 60.0)
        rows.append(f"{t:.2f},{p:.3f},{temp:.4f},800,40")
        t += 0.05 if onset_s - 1 <= t <= onset_s + 10 else 0.5
    return "t_s,pressure_pa,temperature_c,co2_ppm,rh_pct\n" + "\n".join(rows) + "\n"


SCENARIO = """
[scenario]
name = "trace_rapid"
description = "a recorded 15 mm hole in 100 m3"
duration_s = %(end)s
step_ms = 100
expect = ["never above NOMINAL before t=%(onset)s", "SHELTER within 2 s of t=%(onset)s"]

[[zone]]
name = "lab"
volume_m3 = 100
trace = "lab.csv"

[[node]]
id = 1
zone = "lab"

[[node]]
id = 2
zone = "lab"

[[node]]
id = 3
zone = "lab"
"""


def frames(sh, db):
    ran = sh("export", "--csv", str(db))
    assert ran.returncode == 0, ran.stderr
    return list(csv.DictReader(io.StringIO(ran.stdout)))


def test_a_recorded_rapid_depressurisation(tmp_path, sh):
    onset, end, volume, hole = 90.0, 150.0, 100.0, 15.0
    tau = tau_s(volume, hole)
    (tmp_path / "lab.csv").write_text(rapid_trace(onset, end, tau))
    (tmp_path / "s.toml").write_text(SCENARIO % {"end": end, "onset": onset})
    out = tmp_path / "out"
    ran = sh("sim", str(tmp_path / "s.toml"), "--runtime", "cpython", "--out", str(out), "--quiet")
    assert ran.returncode == 0, ran.stdout + ran.stderr

    def true_p(t):
        return P0 * math.exp(-(t - onset) / tau)
    rows = frames(sh, out / "telemetry.sqlite")
    for node in ("1", "2", "3"):
        mine = [r for r in rows if r["node_id"] == node]
        rapid = [r for r in mine if r["type"] == "event" and r["state"] == "3"]
        assert rapid, f"node {node} never sent a RAPID event"
        ev = rapid[0]
        t_ev = float(ev["uptime_ms"]) / 1000.0
        true_kg = true_p(t_ev) / tau * volume / (R_AIR * (WALL_C + 273.15)) * 86400.0
        assert abs(float(ev["leak_kg_day"]) / true_kg - 1) < 0.3, (node, ev["leak_kg_day"], true_kg)
        assert abs(float(ev["hole_mm"]) / hole - 1) < 0.3, (node, ev["hole_mm"])
        late = [r for r in mine if r["type"] == "telemetry" and float(r["uptime_ms"]) / 1000.0 >= onset + 2.5]
        assert late
        for r in late:
            true_rate = -true_p(float(r["uptime_ms"]) / 1000.0) / tau
            assert abs(float(r["rate_pa_s"]) / true_rate - 1) < 0.2, (node, r["uptime_ms"], r["rate_pa_s"], true_rate)
    decisions = [json.loads(line) for line in (out / "decisions.jsonl").read_text().splitlines()]
    shelter = [d for d in decisions if d["state"] == "SHELTER"][0]
    reserve = shelter["zones"]["lab"]["reserve_s"]
    true_reserve = tau * math.log(true_p(shelter["t"]) / P_MIN)
    assert abs(reserve / true_reserve - 1) < 0.3, (reserve, true_reserve)
    print(f"trace: SHELTER at +{shelter['t'] - onset:.1f} s, reserve {reserve:.0f} s (truth {true_reserve:.0f} s)")

