"""Water vapour from crew activity is not lost air (issue 9: 0 false alarms on a day with no air lost; checked by
the red team on recordings nobody tuned for). The BMP280 reads the total pressure, dry air plus water vapour; the
detector compensates the temperature only. A crew member exercising in a 100 m3 module (orbit +-0.6 K, 3 Pa 60 s
fan) raises the humidity by 3 %RH over 45 minutes (about 60 g of water net, the condensing heat exchanger lagging
behind the sweat and breath), and the heat exchanger dries it back over the next hour: the vapour's partial
pressure rises by 79 Pa and falls by 79 Pa (-0.022 Pa/s), and not a gram of air leaves the module. The node has the
SCD4x's humidity and temperature to tell the vapour's part (the Magnus formula); it did not use them.

Measured on main 5acee60, the detector in CPython on the module's physics with the vapour added (it follows the
gas law as the rest does), through the BMP280 emulator's per-part errors, 200 ms (/tmp/redteam5/p_rh.py VOL dRH
3600 2700 3600 10800 NODE):
- +3 %RH (79 Pa): LEAK on every part ~6 minutes into the drying: part 1 at 6,578 s, part 2 at 6,648 s, part 3 at
  6,634 s, the refined event 1.9-2.4 kg/day; +2 %RH (53 Pa): part 1 at 6,694 s (1.4 kg/day); +4 / +7 %RH at 6,595 /
  6,461 s. In 916 m3 a +1 %RH swing (26 Pa) is a LEAK of 7.4 kg/day (part 1, 7,220 s).
- `safehaven sim` on a recording of the same day at +7 %RH (the trace's rh_pct column holds the humidity; 3 nodes
  at 200 ms, /tmp/redteam5/rh/gen.py r7 7 3600 2700 3600 10800): every node LEAK at 6,450-6,518 s, the ground
  ISOLATE at 6,468 s (latched). The same recording without the exercise: nothing.
- the control, the same day and parts without the exercise: nothing.
The strict xfail went when the vapour's part was taken out of the pressure the detector judges (det_vapour,
docs/detection.md section 3): the node feeds the SCD4x's readings (every 5 s, the emulator's per-part RH and
temperature errors, tests/habitat_streams.Hygrometer) to the detector, which fits the vapour's coefficient (1.0 here)
and allows for it until then. Seen failing first with the feed and a one-sided slack: a LEAK at 6,583 s on part 1."""

import pytest

import habitat_streams as S

END_S = 10800.0


def alarms(node_id, d_rh_pct):
    fan, vap = S.cycle(60.0, 3.0), S.exercise_vapour(d_rh_pct)
    # the SCD4x beside the BMP280 reads the same air: its vapour follows the gas law, plus the crew's
    scd = S.Hygrometer(node_id, S.sealed_vapour(extra=vap))
    return S.day_alarms(node_id, lambda t: vap(t) + fan(t), 100.0, 200, END_S, scd=scd)[1]


@pytest.mark.parametrize("node_id", [1, 2])
def test_humidity_from_exercise_dried_back_is_no_leak(node_id):
    assert alarms(node_id, 3.0) == []


@pytest.mark.parametrize("node_id", [1, 2])
def test_the_same_day_without_the_exercise_is_no_leak(node_id):
    # the control: the same module, orbit, fan and parts
    assert alarms(node_id, 0.0) == []
