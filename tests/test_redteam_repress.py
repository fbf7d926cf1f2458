"""A scheduled repress during a real slow leak (issue 9, checked on untuned traces by the red team): crews
repress to make up for a leak, and the air they add does not stop the air leaving. 0.9 kg/day in 916 m3
from 3 h of the orbit (+-0.6 K), a +300 Pa repress over 10 min at 4 h, read through the BMP280 emulator's
per-part error model. It failed on main before the leak was carried through the re-learn (detector._relearn_in_leak)."""
import pytest

import detector as D
import habitat_streams as S
from safehaven.hil.physics import Leak

ONSET_S = 3 * 3600.0
REPRESS_S = 4 * 3600.0


def repress(t):
    return 300.0 * min(max(t - REPRESS_S, 0.0) / 600.0, 1.0)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_leak_stays_reported_through_a_scheduled_repress(seed):
    truth = S.Truth(S.module(amplitude_c=0.6), leaks=[Leak("m", onset_s=ONSET_S, diameter_mm=S.leak_hole_mm(0.9))],
                    extra=repress)
    det = D.Detector(sample_ms=200, params={"volume_l": 916000})
    states = []
    events = S.run(det, truth, S.Part(seed=seed), 200, REPRESS_S + 1500.0,
                   on_block=lambda t, d: states.append((round(t), d.state)), every_s=5.0)
    found = min(t for t, ev in events if ev == D.EV_LEAK_DETECTED)
    assert found < REPRESS_S                                    # found before the repress (~40 min after onset)
    # LEAK from then on; the repress's 10 minutes and 5 more are given to re-learn the level, if it must
    dropped = [(t, s) for t, s in states if t > found and not REPRESS_S <= t <= REPRESS_S + 900 and s != D.LEAK]
    assert dropped == [], dropped[:3]
