"""Rates nobody tuned for (issue 9 item 3, checked on untuned traces by the red team): for a fall of 1 Pa/s
or more the telemetry rate_pa_s is within 20 % (or 0.05 Pa/s) of the true compensated dP/dt within 2 s of
its start. A sustained, isothermal fall between 1 and 10 Pa/s (below the RAPID rate; 1-5 Pa/s is 900-4,600
kg/day in 916 m3, a 13-30 mm hole) on the habitat's physics, read through the BMP280 emulator's per-part
error model at 44 ms, once a second as the telemetry is sent. The strict xfail goes when it is fixed."""
import pytest

import detector as D
import habitat_streams as S

MS = 44


def telemetry(rate_pa_s, seed, seconds=12.0):
    onset = 100.0 + 0.37 * seed
    truth = S.Truth(S.module(amplitude_c=0.0), extra=lambda t: -rate_pa_s * (t - onset) if t > onset else 0.0)
    tel = []
    S.run(D.Detector(MS), truth, S.Part(seed=seed), MS, onset + seconds,
          on_block=lambda t, d: tel.append((round(t - onset, 1), d.state, d.rate_e5 / 1e5)) if t > onset else None)
    return tel


@pytest.mark.xfail(strict=True, reason="redteam: a sustained fall of 1-5 Pa/s (below RAPID) is reported as 0 "
                   "(NOMINAL) for 2-16 s and flaps between 0 and the fall (2 Pa/s: LEAK only at +13 s; 1 Pa/s: "
                   "+15-16 s); in `safehaven sim` a 25 mm hole in 916 m3 (-6.5 Pa/s, /tmp/redteam2/r2) was "
                   "reported as 0 for 5 s and -0.5..-1.6 Pa/s until RAPID at +4..+12 s (det_rate / det_fast)")
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("rate", [1.0, 2.0, 5.0])
def test_the_rate_of_a_fall_below_rapid_holds_from_two_seconds(rate, seed):
    off = [(dt, state, r) for dt, state, r in telemetry(rate, seed)
           if dt >= 2.0 and abs(r + rate) > max(0.2 * rate, 0.05)]
    assert off == []
