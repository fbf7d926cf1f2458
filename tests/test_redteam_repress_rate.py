"""The rate of a known slow leak after a scheduled repress (issue 9 item 3: a slow leak's telemetry rate within 30 %
of the true compensated dP/dt from 10 minutes after detection; checked by the red team on a day nobody tuned for).
Crews repress to make up for a slow leak while it is being hunted: 0.9 kg/day (9.6e-4 Pa/s) in 916 m3 from 3 h of
the orbit (+-0.6 K, 3 Pa 60 s fan), found ~9 minutes later; 30 minutes after the onset a +300 Pa repress over 10
minutes; every BMP280 per-part error on, 200 ms. Through the repress the node keeps the leak's rate (-0.00087
Pa/s): fine. The rate checked here is the one after the repress has ended, when the true rate is the leak's again.

Measured on main 57a9a3f (/tmp/redteam5/p_repleak.py -0.00096 10800 12600 300 600 14400 NODE, STEP=10):
- part 1: LEAK at +510 s (refined +1,600 s, 0.81 kg/day); after the repress ends (+2,400 s) the telemetry reads
  -0.0466 Pa/s 70 s later (+4,750 %: 44 kg/day shown), -0.0148 at 100 s, -0.0069..-0.0074 to 190 s (+600 %), then
  within 30 % for two minutes, then -0.00013..-0.00034 Pa/s (-65..-86 %) from 370 s to ~800 s, within 30 % only
  ~14 minutes after the repress. In all 64 of the 121 frames of those 20 minutes beyond 30 %: +7,408 % at 50 s,
  -99 % at 530 s, the last at 830 s.
- part 2: LEAK at +638 s; 81 of 121 beyond 30 %: +3,192 % at 60 s, -96 % at 440 s, the last at 1,170 s.
- the control, the same leak and part without the repress: within 30 % over the same minutes.
The strict xfail goes when the rate after a repress is the leak's again within a minute or two."""
import pytest

import detector as D
import habitat_streams as S
from safehaven.hil.physics import Leak

ONSET_S, REPRESS_S, REPRESS_PA, OVER_S = 3 * 3600.0, 3 * 3600.0 + 1800.0, 300.0, 600.0
END_S = REPRESS_S + OVER_S + 1200.0            # 20 minutes after the repress ends


def off_frames(node_id, repress_pa):
    """(s after the repress's end, telemetry / true rate - 1) every 10 s from its end to 20 minutes after, where
    beyond 30 %; and the seconds from onset to the first LEAK."""
    fan = S.cycle(60.0, 3.0)
    truth = S.Truth(S.module(volume_m3=916.0), leaks=[Leak("m", onset_s=ONSET_S, diameter_mm=S.leak_hole_mm(0.9))],
                    extra=lambda t: fan(t) + repress_pa * min(max(t - REPRESS_S, 0.0) / OVER_S, 1.0))
    det = D.Detector(sample_ms=200, params={"volume_l": 916000})
    off = []

    def on_block(t, d):
        if t >= REPRESS_S + OVER_S:
            err = d.rate_e5 / 1e5 / truth.rate_pa_s() - 1.0
            if abs(err) > 0.30:
                off.append((round(t - REPRESS_S - OVER_S), round(err, 2)))
    events = S.run(det, truth, S.emulator_part(node_id), 200, END_S, on_block=on_block, every_s=10.0)
    found = min(t for t, ev in events if ev == D.EV_LEAK_DETECTED) - ONSET_S
    return off, found


# (failed on main 4890d73: 69 / 81 of 121 beyond 30 %, +7,396 % at 50 s, -99 % at 290-540 s; now the leak's
# windows before the repress are pooled with those after it: part 1 -12..-18 %, part 2 -1..+11 %)
@pytest.mark.parametrize("node_id", [1, 2])
def test_a_slow_leaks_rate_holds_after_a_repress(node_id):
    off, found = off_frames(node_id, REPRESS_PA)
    assert found < 1200.0                           # found before the repress: its rate known from 10 min after
    assert off == []


@pytest.mark.parametrize("node_id", [1, 2])
def test_the_same_slow_leaks_rate_holds_without_a_repress(node_id):
    # the control: the same leak, part and minutes, no repress
    off, found = off_frames(node_id, 0.0)
    assert found < 1200.0
    assert off == []
