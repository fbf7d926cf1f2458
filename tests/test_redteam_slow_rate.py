"""A slow leak's telemetry rate over hours (issue 9 item 3, checked on untuned traces by the red team): within
30 % of the truth from 10 minutes after LEAK, for as long as the leak lasts. 0.9 kg/day in 916 m3 from 3 h,
a 3 Pa, 60 s fan, at the scenarios' 200 ms sampling (the setting of tests/test_detector_habitat.py's
40-minute check), here for 3 hours. """
import pytest

import detector as D
import habitat_streams as S
from safehaven.hil.physics import Leak

HOUR = 3600.0


# (failed on main 3832c90: 30-56 % off for ~10 minutes every ~68 min when the growing window restarted;
# a full window's slope now stands until its successor holds half as many entries)
@pytest.mark.parametrize("seed", [1, 2])
def test_slow_leak_rate_holds_for_hours(seed):
    onset = 3 * HOUR
    truth = S.Truth(S.module(), leaks=[Leak("m", onset_s=onset, diameter_mm=S.leak_hole_mm(0.9))],
                    extra=S.cycle(60.0, 3.0))
    tel = []
    S.run(D.Detector(200), truth, S.Part(seed=seed, tempco_pa_k=1.5 if seed % 2 else -1.5), 200, onset + 2 * HOUR,
          on_block=lambda t, d: tel.append((t, d.rate_e5 / 1e5)) if d.state == D.LEAK else None, every_s=10.0)
    assert tel, "the leak was not found"
    true_rate = truth.rate_pa_s()
    off = [(round((t - onset) / 60), round(r / true_rate - 1, 2)) for t, r in tel
           if t >= tel[0][0] + 600 and abs(r / true_rate - 1) >= 0.3]
    assert off == [], off[:8]
