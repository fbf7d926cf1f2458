"""Equalising two modules at different pressures (issue 9 item 2 names hatch equalisation; checked by the red team on a
recording nobody tuned for). A 100 m3 module at 101,325 Pa and a 60 m3 one 1 kPa lower (isolated for a while); the
crew opens the equalisation valve between them (an MPEV, 20-30 mm) before the hatch. Air flows from one to the
other through the orifice for tens of seconds: the first falls by 375 Pa (30 mm: -17 Pa/s at first, 90 % in 29 s),
the second rises by 625 Pa, and none is lost. The recording holds each module's pressure (a +-0.5-0.6 K orbit, a
cabin fan) with the orifice flow (REFERENCE.md section 2, subsonic), 3 nodes in the first module and 2 in the
second, every emulator per-part error on, at the default 44 ms.

Measured on main de8928f (`safehaven sim`, CPython runtime; 3 + 3 nodes, the valve opened at 600 s of 800; in this
test, 3 + 2 nodes opened at 300 s of 360, SHELTER at +1.3 s as well): a 30 mm valve: every node in the falling module RAPID,
the ground SHELTER at +1.3 s ("rapid depressurisation: 3 of 3 nodes report RAPID", 1,780 kg/day, reserve 43 min),
"confirmed by the pressure" at +8 s while the same decision shows the other module rising at +27 Pa/s
(-1,654 kg/day: the air a lost), and SHELTER held to the end of the run (192 s); two nodes isolated at +53 s.
A 20 mm valve (-7.8 Pa/s at first, 90 % in 66 s): the same, SHELTER at +1.6 s. The whole hatch opened at once
(0.8 m: equal within 0.05 s, a step on each side; the control) stays at MONITOR. The strict xfail goes when the
ground (or the nodes) tell air moving between joined modules from air lost.

Fixed in ground/equalise.py (docs/shelter.md, "Equalising"): the ground weighs the air each zone gained
(V·Δpc) since the alarm began; a loss the other zones' gain balances is air moved, held at MONITOR. 30 mm:
'equalising' at +1.3 s (a lost 1,911 m3·Pa, b gained 1,492), MONITOR at +31 s ('3 of 3 nodes suspect'),
never above; the same at 20 mm; the guard below (a hole beside a repress) still SHELTERs within 2 s."""
import math

import pytest

from tests.test_traces import HEADER

R_AIR = 287.05
GAS_K = 294.15
VOLUMES = {"a": 100.0, "b": 60.0}
OPEN_S, END_S = 300.0, 360.0


def equalisation(valve_mm, dp_pa, p0=101325.0, dt=0.01):
    """(t, pa, pb) after the valve opens: a subsonic orifice (Cd 0.6) between the two volumes, never past equal."""
    va, vb = VOLUMES["a"], VOLUMES["b"]
    area = math.pi * (valve_mm / 2000.0) ** 2
    ma, mb = p0 * va / (R_AIR * GAS_K), (p0 - dp_pa) * vb / (R_AIR * GAS_K)
    out, t = [], 0.0
    while t <= END_S - OPEN_S + 1.0:
        pa, pb = ma * R_AIR * GAS_K / va, mb * R_AIR * GAS_K / vb
        out.append((t, pa, pb))
        flow = 0.6 * area * math.sqrt(2.0 * pa / (R_AIR * GAS_K) * max(pa - pb, 0.0))
        flow = min(flow, (pa - pb) / (R_AIR * GAS_K * (1 / va + 1 / vb)) / dt)
        ma, mb, t = ma - flow * dt, mb + flow * dt, t + dt
    return out


def recordings(valve_mm, dp_pa=1000.0):
    """Both modules' recordings: rows every 0.5 s, every 0.05 s for 2 minutes from 0.5 s before the valve opens."""
    flow = equalisation(valve_mm, dp_pa)

    def pressures(t):
        k = min(max(int(round((t - OPEN_S) / 0.01)), 0), len(flow) - 1)
        return flow[k][1:] if t > OPEN_S else flow[0][1:]
    return traces(pressures)


def traces(pressures):
    """Each module's recording of pressures(t) -> (pa, pb), with its orbit's temperature and a cabin fan."""
    rows = {"a": [], "b": []}
    t = 0.0
    while t <= END_S + 1e-9:
        pa, pb = pressures(t)
        for zone, p, wall, amp, phase, fan_pa, fan_s in (("a", pa, 21.0, 0.6, 0.7, 3.0, 55.0),
                                                         ("b", pb, 22.0, 0.5, 2.0, 2.0, 47.0)):
            temp = wall + amp * math.sin(2 * math.pi * t / 5580.0 + phase)
            fan = fan_pa * math.sin(2 * math.pi * t / fan_s + phase)
            rows[zone].append(f"{t:.2f},{p * (temp + 273.15) / (wall + 273.15) + fan:.3f},{temp:.5f},800,40")
        t = round(t + (0.05 if OPEN_S - 0.5 <= t <= OPEN_S + 120 else 0.5), 2)
    return {zone: HEADER + "\n".join(r) + "\n" for zone, r in rows.items()}


def hole_beside_repress(hole_mm=15.0, repress_pa_s=8.0, p0=101325.0, dp_pa=1000.0):
    """A choked hole opens in a at OPEN_S while b, 1 kPa lower, is being repressurised from a tank since
    200 s (a real repress's pace is ~0.5 Pa/s; this one is 16x that): air gained, air lost, not moved."""
    tau = VOLUMES["a"] / (0.6 * math.pi * (hole_mm / 2000.0) ** 2 * 0.6847 * math.sqrt(R_AIR * GAS_K))

    def pressures(t):
        pa = p0 * math.exp(-max(t - OPEN_S, 0.0) / tau)
        return pa, p0 - dp_pa + repress_pa_s * min(max(t - 200.0, 0.0), 600.0)
    return traces(pressures)


SCENARIO = f"""[scenario]
name = "equalise"
description = "modules of 100 and 60 m3, 1 kPa apart, joined through a valve at {OPEN_S:.0f} s: no air is lost"
duration_s = {END_S}
step_ms = 100
expect = ["never above MONITOR"]

[[zone]]
name = "a"
volume_m3 = {VOLUMES["a"]}
trace = "a.csv"

[[zone]]
name = "b"
volume_m3 = {VOLUMES["b"]}
trace = "b.csv"
""" + "".join(f'\n[[node]]\nid = {i}\nzone = "{"a" if i <= 3 else "b"}"\n' for i in range(1, 6))


def run(sh, tmp_path, valve_mm, texts=None, scenario=SCENARIO):
    for zone, text in (texts or recordings(valve_mm)).items():
        (tmp_path / f"{zone}.csv").write_text(text)
    (tmp_path / "s.toml").write_text(scenario)
    return sh("sim", str(tmp_path / "s.toml"), "--runtime", "cpython", "--out", str(tmp_path / "out"), "--quiet")


@pytest.mark.slow
def test_equalising_through_a_valve_is_no_depressurisation(tmp_path, sh):
    ran = run(sh, tmp_path, 30.0)
    assert ran.returncode == 0, ran.stdout + ran.stderr


@pytest.mark.slow
def test_equalising_through_the_open_hatch_is_no_depressurisation(tmp_path, sh):
    # the control: the same modules and parts, the whole 0.8 m hatch opened (equal within 0.05 s: a step)
    ran = run(sh, tmp_path, 800.0)
    assert ran.returncode == 0, ran.stdout + ran.stderr


@pytest.mark.slow
def test_a_hole_beside_a_repress_is_sheltered_within_2_s(tmp_path, sh):
    # the guard: a 15 mm hole in a (-21 Pa/s) while b, 1 kPa lower, gains air from a tank at +8 Pa/s: b
    # rises at the same time as a falls, and its gain (480 m3.Pa/s) is no counterpart of a's loss (2,100)
    scenario = SCENARIO.replace('"never above MONITOR"', f'"SHELTER by t={OPEN_S + 2:.0f}"')
    ran = run(sh, tmp_path, None, hole_beside_repress(), scenario)
    assert ran.returncode == 0, ran.stdout + ran.stderr
