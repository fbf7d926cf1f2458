"""A fan (or any ventilation cycle) of a 5-minute period on a habitat's day (issue 9: 0 false alarms; checked by
the red team on recordings nobody tuned for). A sealed 916 m3 module on the +-0.6 K, 5,580 s orbit whose fan swings
the pressure by 3 Pa with a 300 s period (a thermostat-cycled cabin fan); nothing leaks. The detector's fan notch
locks periods of 10-128 blocks only (docs/detection.md section 1); a scenario takes `fan_period_s = 300` without a
word, and nothing in the docs says a slower fan is not allowed for.

Measured on main d7f35e3, the detector in CPython on the habitat's physics read through the BMP280 emulator's
per-part errors (/tmp/redteam5/p_slowfan.py AMP PERIOD sine 200 DUR NODE), 200 ms:
- 3 Pa, 300 s, 2 h: false EV_LEAK_DETECTED on every part tried, and not only while booting: part 1 at 177, 784,
  3,764, 5,006, 6,185 s; part 2 at 165, 1,366, 1,376, 6,461 s; parts 3, 4 at 182 / 155 s and again at 1,416 /
  1,363 s (each with a rate of -0.004..-0.08 Pa/s, 3-70 kg/day); at 44 ms part 1 at 160 s.
- 1 Pa, 600 s (the smallest tried), 4 h: 9 false LEAKs on part 1 (392 s, 2,135 s, ...); 2 Pa 150 s: none;
  3 Pa 150 s: 4.
- the control, a 3 Pa, 60 s fan on the same parts for 2 h: nothing.
- `safehaven sim` (3 nodes at 200 ms, --runtime cpython, /tmp/redteam5/slowfan/s.toml, 2 h): every node LEAK at
  171-179 s and the ground ISOLATE at 181 s (latched).
The strict xfails go when a slow fan is allowed for."""
import pytest

import habitat_streams as S

SCENARIO = """[scenario]
name = "slow_fan"
description = "916 m3 sealed, orbit +-0.6 K, a 3 Pa fan cycling every 5 minutes; nothing leaks"
duration_s = 900
step_ms = 1000
expect = ["never above MONITOR"]

[node_defaults]
sample_period_ms = 200

[[zone]]
name = "lab"
volume_m3 = 916
temperature_c = 22.0
temp_amplitude_c = 0.6
temp_period_s = 5580
fan_amplitude_pa = 3.0
fan_period_s = %s

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


def leaks(node_id, fan_s, duration_s=7200.0, fan_pa=3.0, sample_ms=200):
    return S.day_alarms(node_id, S.cycle(fan_s, fan_pa), 916.0, sample_ms, duration_s)[1]


@pytest.mark.xfail(strict=True, reason="redteam: a 3 Pa fan of 300 s on the orbit (916 m3, nothing leaks, 200 ms) "
                   "is a false LEAK on every part, again and again: part 1 at 177, 784, 3764, 5006, 6185 s; part 2 "
                   "at 165, 1366, 1376, 6461 s (the notch locks 10-128 s only)")
@pytest.mark.parametrize("node_id", [1, 2])
def test_a_fan_of_five_minutes_raises_no_leak(node_id):
    assert leaks(node_id, 300.0) == []


@pytest.mark.parametrize("node_id", [1, 2])
def test_a_fan_of_one_minute_raises_no_leak(node_id):
    # the control: the same parts and day, a 60 s fan
    assert leaks(node_id, 60.0) == []


def run_sim(sh, tmp_path, fan_s):
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO % fan_s)
    return sh("sim", path, "--runtime", "cpython", "--out", tmp_path / "out", "--quiet")


@pytest.mark.xfail(strict=True, reason="redteam: the same 5-minute fan through `safehaven sim` (3 nodes, 200 ms): "
                   "every node LEAK at 171-179 s, the ground ISOLATE at 181 s")
def test_a_fan_of_five_minutes_in_the_sim_stays_at_monitor(tmp_path, sh):
    ran = run_sim(sh, tmp_path, 300)
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_a_fan_of_one_minute_in_the_sim_stays_at_monitor(tmp_path, sh):
    # the control
    ran = run_sim(sh, tmp_path, 60)
    assert ran.returncode == 0, ran.stdout + ran.stderr
