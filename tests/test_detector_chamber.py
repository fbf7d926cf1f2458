"""Chamber rate-of-rise on the detector (issue 9 item 5): a 10 L chamber isolated at 35 kPa whose
walls outgas, a + b (1 - e^(-t/tau)), read through the BMP280 emulator's per-part errors at the node's
default 44 ms (tests/chamber_streams.py). Outgassing's rate only decays and is no leak however long
it runs (up to the chamber's slowest, outgas_tau_s, and fastest at isolation, outgas_pa_s; one
source or many); a needle valve (a constant rate) is, with its own rate (the constant term), not
the rise's. Expectations come from the physics, never from the detector. bench/chamber.py prints the same figures over more seeds (docs/detection.md section 6)."""
import pytest

import detector as D
from det_chamber import HISTORY
from chamber_streams import (B_PA, MS, SPEC_PA_S, TAU_S, V_M3, ChamberTruth, alarms, desorption_1_over_t, detector,
                             run, samples, two_exponentials)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_outgassing_that_bends_over_is_never_a_leak(seed):
    # 12 tau: from 0.2 Pa/s at isolation to nothing; a rate of rise 4x the spec at first
    events, top = run(seed, 12 * TAU_S, ChamberTruth())
    assert alarms(events) == []
    print("seed %d: highest statistic %d %% of the threshold" % (seed, top // 100))


def test_slower_larger_outgassing_is_never_a_leak():
    # 100 Pa over tau = 10 min (0.17 Pa/s at first, still 3x the spec after 10 minutes), 10 tau
    events, top = run(5, 10 * 600.0, ChamberTruth(b_pa=100.0, tau_s=600.0))
    assert alarms(events) == []
    print("b 100 Pa, tau 600 s: highest statistic %d %%" % (top // 100))


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_needle_valve_after_outgassing_is_found_within_15_s(seed):
    onset = 4 * TAU_S
    truth = ChamberTruth(leak_pa_s=0.5, leak_s=onset)
    events, _ = run(seed, onset + 30.0, truth)
    first = alarms(events)[0]
    t, ev, rate, kg, true_rate, true_kg = first
    assert ev == D.EV_LEAK_DETECTED and onset < t <= onset + 15.0
    assert abs(true_rate - 0.5) < 0.01                                  # the needle is what we meant
    assert abs(rate - true_rate) <= 0.3 * true_rate
    assert abs(kg - true_kg) <= 0.3 * true_kg
    print("seed %d: LEAK %.1f s after the needle opened, rate %.3f Pa/s (%+.0f %%), %.2e kg/day (%+.0f %%)"
          % (seed, t - onset, rate, 100 * (rate / true_rate - 1), kg, 100 * (kg / true_kg - 1)))


@pytest.mark.parametrize("seed", [1, 2])
def test_leak_present_from_isolation_shows_as_a_rate_that_stops_decaying(seed):
    # 0.2 Pa/s under the outgassing from the start: the line the CUSUMs extrapolate has it in from
    # the first fit, and it is below the sustained-rise rule (0.5 Pa/s); the constant term of the
    # rates of rise tells it
    truth = ChamberTruth(leak_pa_s=0.2, leak_s=0.0)
    events, _ = run(seed, 1500.0, truth)
    first = alarms(events)[0]
    t, ev, rate, kg, true_rate, true_kg = first
    assert ev == D.EV_LEAK_DETECTED
    assert abs(rate - true_rate) <= 0.3 * true_rate and abs(kg - true_kg) <= 0.3 * true_kg
    print("seed %d: LEAK %.0f s after isolation, rate %.3f Pa/s (%+.0f %%)" % (seed, t, rate, 100 * (rate / true_rate - 1)))


def test_fast_leak_present_from_isolation_is_found_at_once():
    # 2 Pa/s from isolation (2.2 with the outgassing at first): faster than outgassing at isolation
    # may be (outgas_pa_s 1 Pa/s), a sustained rise; its rate is the rise's (the outgassing in it)
    truth = ChamberTruth(leak_pa_s=2.0, leak_s=0.0)
    events, _ = run(3, 120.0, truth)
    first = alarms(events)[0]
    t, ev, rate, kg, true_rate, true_kg = first
    assert ev == D.EV_LEAK_DETECTED and t < 30.0
    assert abs(rate - true_rate) <= 0.3 * true_rate


@pytest.mark.xfail(strict=True, reason="the hold-off (docs/detection.md section 6): 0.7 Pa/s at isolation "
                   "(0.5 needle + 0.2 of outgassing, tau 200 s) is also outgassing within the configured envelope "
                   "(0.5 Pa/s of tau = outgas_tau_s 2 h + the same 0.2; outgas_pa_s 1 Pa/s): over 30 s the two differ "
                   "by 0.03 Pa against 0.38 Pa of block noise. A bound valid for any such mix, c >= rate + outgas_tau_s "
                   "x its slope, reaches the spec after 549 s noise-free; at 3 standard errors the rate history's "
                   "finds it after 776-825 s (10 parts; the best window ~793 s: bench/chamber.py part 6). Declared "
                   "slower outgassing (outgas_pa_s 0.3) finds it after 18.3 s (..._known_to_be_slower)")
def test_slower_leak_present_from_isolation_is_found_at_once():
    truth = ChamberTruth(leak_pa_s=0.5, leak_s=0.0)
    events, _ = run(3, 120.0, truth)
    found = alarms(events)
    assert found and found[0][1] == D.EV_LEAK_DETECTED and found[0][0] < 30.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_leak_present_from_isolation_is_found_at_once_where_outgassing_is_known_to_be_slower(seed):
    # the hold-off's way out: a chamber whose outgassing at isolation is known to stay under
    # 0.3 Pa/s (outgas_pa_s) takes 0.7 Pa/s at isolation (0.5 needle + 0.2 outgassing) for a
    # sustained rise faster than outgassing may be: a LEAK within 30 s, its rate the rise's
    # (outgassing included: 0.7 Pa/s, +40 % of the needle's)
    truth = ChamberTruth(leak_pa_s=0.5, leak_s=0.0)
    events, _ = run(seed, 120.0, truth, outgas_pa_s=0.3)
    first = alarms(events)[0]
    t, ev, rate, kg, true_rate, true_kg = first
    assert ev == D.EV_LEAK_DETECTED and t < 30.0
    assert abs(rate - 0.7) <= 0.3 * 0.7
    print("seed %d: LEAK %.1f s after isolation, rate %.3f Pa/s (the needle's %+.0f %%)"
          % (seed, t, rate, 100 * (rate / true_rate - 1)))


def events_both_vms(runtime, ms, s):
    """The chamber detector's events [sample, event, rate_e5] over the samples s, its state and
    line slope at the end: in CPython, and as the VM under test gives them."""
    det = detector(ms)
    expected = []
    for i, (tf, p) in enumerate(s):
        ev = det.update(tf, p)
        if ev != -1:
            expected.append([i, ev, det.rate_e5])
    code = ("import detector as D\nd = D.Detector(%d, {'mode': D.CHAMBER, 'drift_pa_s': %r, 'volume_l': %r})\n"
            "ev = []\ns = [int(x) for x in %r.split()]\n"
            "for i in range(len(s) // 2):\n"
            "    e = d.update(s[2 * i], s[2 * i + 1])\n"
            "    if e != -1:\n"
            "        ev.append([i, e, d.rate_e5])\n"
            "result = [ev, d.state, d.chamber.slope12]\n") % (ms, SPEC_PA_S, V_M3 * 1e3,
                                                              " ".join("%d %d" % x for x in s))
    return [expected, det.state, det.chamber.slope12], runtime.exec(code)


def test_same_chamber_events_in_micropython(runtime):
    # isolation, outgassing, the needle at 1.5 tau: a LEAK from the CUSUMs against the
    # extrapolated line, and the event's rate from its hinge, bit for bit in both VMs
    s = samples(330.0, MS, ChamberTruth(leak_pa_s=0.5, leak_s=300.0), seed=2)
    expected, got = events_both_vms(runtime, MS, s)
    assert [e[1] for e in expected[0]] == [D.EV_LEAK_DETECTED]
    assert got == expected


def test_leak_present_at_isolation_same_event_in_micropython(runtime):
    # 1 s samples (a block each) of a 0.5 Pa/s needle open from isolation under the outgassing:
    # the LEAK from the rate history's constant term, at the same block with the same rate in
    # both VMs (the bound and the fits are set up with floats, judged in integers)
    s = samples(1100.0, 1000, ChamberTruth(leak_pa_s=0.5, leak_s=0.0), seed=3)
    expected, got = events_both_vms(runtime, 1000, s)
    events = expected[0]
    assert [e[1] for e in events] == [D.EV_LEAK_DETECTED] and events[0][0] > 600
    assert abs(events[0][2] / 1e5 - 0.5) < 0.1
    assert got == expected


def test_chamber_update_allocates_nothing_in_micropython(mpy):
    # 1 s samples (a block each) of outgassing: refits, the rate history and the floor rule run
    # under the heap lock
    s = samples(1800.0, 1000, ChamberTruth(), seed=4)
    code = ("import detector as D, micropython\n"
            "d = D.Detector(1000, {'mode': D.CHAMBER, 'drift_pa_s': %r})\n"
            "s = [int(x) for x in %r.split()]\n"
            "for i in range(300):\n"
            "    d.update(s[2 * i], s[2 * i + 1])\n"
            "micropython.heap_lock()\n"
            "try:\n"
            "    for i in range(300, len(s) // 2):\n"
            "        d.update(s[2 * i], s[2 * i + 1])\n"
            "finally:\n"
            "    micropython.heap_unlock()\n"
            "result = [d.chamber.ready, d.chamber.rates, d.state]\n") % (SPEC_PA_S, " ".join("%d %d" % x for x in s))
    ready, rates, state = mpy.exec(code)
    assert ready and rates == HISTORY and state == D.NOMINAL


# ---- issue 9 item 5, what was still wrong: slow outgassing, fast outgassing at first, and a leak
# present at isolation reported with the outgassing in its rate

@pytest.mark.parametrize("b_pa,tau_s,seed", [(200.0, 2400.0, 1), (600.0, 3000.0, 2)])
def test_slow_outgassing_is_never_a_leak(b_pa, tau_s, seed):
    # tau 40-50 minutes: the rate (0.08-0.2 Pa/s at first, above the spec for an hour and more)
    # falls by less than a fifth in 8.5 minutes; it still only decays, and tau is within the
    # chamber's configured outgas_tau_s (2 h): 1.5 tau of it, no LEAK
    events, top = run(seed, 1.5 * tau_s, ChamberTruth(b_pa=b_pa, tau_s=tau_s))
    assert alarms(events) == []
    print("b %.0f Pa, tau %.0f s: highest statistic %d %%" % (b_pa, tau_s, top // 100))


@pytest.mark.parametrize("b_pa,tau_s,seed", [(50.0, 60.0, 1), (100.0, 120.0, 2)])
def test_fast_outgassing_at_first_is_never_a_leak(b_pa, tau_s, seed):
    # 0.83 Pa/s at isolation (faster than transient_pa_s for 10-20 s), under the chamber's
    # configured highest outgassing rate at isolation (outgas_pa_s, 1 Pa/s): 10 tau, no LEAK
    events, top = run(seed, 10 * tau_s, ChamberTruth(b_pa=b_pa, tau_s=tau_s))
    assert alarms(events) == []
    print("b %.0f Pa, tau %.0f s: highest statistic %d %%" % (b_pa, tau_s, top // 100))


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("b_pa,more", [(B_PA, two_exponentials), (0.0, desorption_1_over_t)])
def test_outgassing_of_many_time_constants_is_never_a_leak(b_pa, more, seed):
    # Real walls desorb with many time constants, all within outgas_tau_s here (the 1/t law's
    # beyond 2 h carry a few mPa/s). One exponential fitted to the rates takes the fast source's
    # curvature and calls the slow one's rate a constant: c ~0.05-0.07 Pa/s, a LEAK at ~12 minutes.
    # The bound that holds for any such mixture, c >= r + outgas_tau_s r', does not.
    events, top = run(seed, 2400.0, ChamberTruth(b_pa=b_pa, more_vapour=more))
    assert alarms(events) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_leak_present_at_isolation_reports_its_own_rate(seed):
    # 0.5 Pa/s from isolation under 0.2 Pa/s of outgassing at first (0.7 Pa/s in all, below
    # outgas_pa_s): the LEAK's rate is the constant term of the fit of the rates of rise, the
    # needle's alone, not the rise's; found once the bound on that term is above the spec (the
    # outgassing x outgas_tau_s / tau below the needle's rate: 549 s noise-free), at 3 standard
    # errors of the block noise over a window that lags behind the decay: within 14 minutes (the
    # best window allows ~13; rates 64 blocks apart over 8.5 minutes took 16, seen failing)
    truth = ChamberTruth(leak_pa_s=0.5, leak_s=0.0)
    events, _ = run(seed, 1200.0, truth)
    first = alarms(events)[0]
    t, ev, rate, kg, true_rate, true_kg = first
    assert ev == D.EV_LEAK_DETECTED and t <= 840.0
    assert abs(rate - true_rate) <= 0.3 * true_rate and abs(kg - true_kg) <= 0.3 * true_kg
    print("seed %d: LEAK %.0f s after isolation, rate %.3f Pa/s (%+.0f %%)" % (seed, t, rate, 100 * (rate / true_rate - 1)))


@pytest.mark.xfail(strict=True, reason="a limit of the configuration (docs/detection.md section 6): the constant "
                   "term is bounded through tau <= outgas_tau_s (2 h), c >= rate + outgas_tau_s x its slope; outgassing "
                   "of tau 4 h leaves rate x (1 - 2 h / 4 h) of it in that bound, 0.1 Pa/s, twice the spec: it is "
                   "'0.1 Pa/s of leak + outgassing of tau 2 h' as much as outgassing, a LEAK 452 s after isolation "
                   "(3 parts); only an outgas_tau_s of 4 h or more accepts it")
def test_outgassing_slower_than_outgas_tau_s_is_never_a_leak():
    events, _ = run(1, 800.0, ChamberTruth(b_pa=3000.0, tau_s=14400.0))
    assert alarms(events) == []


@pytest.mark.xfail(strict=True, reason="a limit of the noise (docs/detection.md section 6): under 0.2 Pa/s of "
                   "outgassing (tau 200 s) the bound c >= rate + outgas_tau_s x its slope holds the outgassing's rate x "
                   "(outgas_tau_s / tau - 1) = 35x against the 0.1 Pa/s needle: noise-free it passes the spec after "
                   "988 s, but its slope must be measured to 3 standard errors of the block noise over a window that "
                   "lags behind the decay: the best window (31 rates over ~600 blocks) finds it after ~1506 s "
                   "(bench/chamber.py part 6), the firmware after 1408-1586 s (10 parts; 1489-1748 with rates every "
                   "64 blocks). Within 20 minutes needs outgas_tau_s <= ~40 minutes (then 1100-1181 s, 3 parts)")
def test_small_leak_present_at_isolation_is_found_within_20_minutes():
    events, _ = run(1, 1200.0, ChamberTruth(leak_pa_s=0.1, leak_s=0.0))
    found = alarms(events)
    assert found and found[0][1] == D.EV_LEAK_DETECTED


@pytest.mark.parametrize("pump_pa_s,seed", [(0.6, 1), (1.0, 2), (3.0, 1)])
def test_slow_pump_down_then_isolation_is_never_a_leak(pump_pa_s, seed):
    # a throttled pump taking the chamber down faster than transient_pa_s for 5 minutes, then
    # isolated (outgassing as always): the line is never learnt on the fall (a line falling
    # through the pump-down's end would read the flat level after it as a rise)
    truth = ChamberTruth(more_vapour=lambda t: -pump_pa_s * min(t, 300.0))
    events, _ = run(seed, 1000.0, truth)
    assert alarms(events) == []
