"""A node that restarts in the middle of a leak (checked by the red team: a watchdog reset, a brown-out, or an I2C
dropout, after which firmware/node.py restarts the detector on EV_SENSOR_RECOVERED). 9.3 kg/day (0.01 Pa/s) in
916 m3 starting after 3 h of the +-0.6 K orbit with a 3 Pa, 55 s fan, read through the BMP280 emulator's
per-part errors for the node id at 200 ms; the node found it 104-121 s after the onset, and 20 minutes after the
onset it restarts (a fresh Detector on the same part and the same air).

Measured on main 1d1a769: after the restart the node reports NOMINAL, rate 0, for 6 minutes, then NOMINAL with
the right rate (telemetry within +1..+14 % of the truth at +360 s) and LEAK only at +663..+833 s (parts 1, 2, 3
at 200 ms: +663, +797, +810 s; part 1 at 44 ms: +833 s, where it first found the leak in 63 s): 6-13 times
longer than it took to find the same leak the first time. A node booting into a running leak is the same case
(0.1 Pa/s in 100 m3 from boot: LEAK after 325 s against 57-97 s when it starts after boot). Through `safehaven sim` (3 nodes at 200 ms, a 10 s `gone`
fault on every BMP280 20 minutes after the onset: the detector restarts on EV_SENSOR_RECOVERED): LEAK again
+724..+847 s after the recovery, rate 0 for the first ~6 minutes; the ground stayed ISOLATE (latched).

Now (det_boot.py, docs/detection.md section 3): while the first level after a reset is learnt, the long ring's
slope is a leak once it falls beyond 5 of its standard errors and beyond what the tempco, lag and vapour priors
could make over the same entries. The window starts once the temperature's rate is known (128 blocks) and again
at the fan notch's lock (and at a step relearnt during learning): parts 1, 2, 3 LEAK again at +400 / +368 / +400 s.
Seen failing first: the strict xfail XPASSed."""
import pytest

import detector as D
import habitat_streams as S
from safehaven.hil.physics import Leak

MS = 200
ONSET_S = 3 * 3600.0
RESTART_S = ONSET_S + 1200.0
WITHIN_S = 480.0
_RUNS: dict = {}


def leak_found(node_id):
    """(seconds from the onset to the first LEAK, seconds from the restart to the next LEAK or None)."""
    if node_id in _RUNS:
        return _RUNS[node_id]
    kg_day = 0.01 * 916.0 / (287.05 * 295.15) * 86400.0
    truth = S.Truth(S.module(volume_m3=916.0, amplitude_c=0.6),
                    leaks=[Leak("m", onset_s=ONSET_S, diameter_mm=S.leak_hole_mm(kg_day))], extra=S.cycle(55.0, 3.0))
    part = S.emulator_part(node_id)
    first = S.run(D.Detector(sample_ms=MS, params={"volume_l": 916000}), truth, part, MS, RESTART_S)
    again = S.run(D.Detector(sample_ms=MS, params={"volume_l": 916000}), truth, part, MS, RESTART_S + WITHIN_S,
                  start_s=RESTART_S)
    found = [t - ONSET_S for t, ev in first if ev == D.EV_LEAK_DETECTED and t > ONSET_S]
    refound = [t - RESTART_S for t, ev in again if ev == D.EV_LEAK_DETECTED]
    _RUNS[node_id] = (found[0] if found else None, refound[0] if refound else None)
    return _RUNS[node_id]


@pytest.mark.slow
@pytest.mark.parametrize("node_id", [1, 2, 3])
def test_a_node_restarting_mid_leak_finds_it_again_within_8_minutes(node_id):
    _, refound = leak_found(node_id)
    assert refound is not None, f"no LEAK within {WITHIN_S:.0f} s of the restart"


@pytest.mark.slow
@pytest.mark.parametrize("node_id", [1, 2, 3])
def test_the_same_node_found_the_leak_within_8_minutes_of_its_onset(node_id):
    # the control: the same part and leak, before the restart
    found, _ = leak_found(node_id)
    assert found is not None and found <= WITHIN_S, found
