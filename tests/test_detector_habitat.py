"""The detector on a habitat's day (issue 9): physics truth (hil.physics) read through the BMP280
emulator's per-part errors (offset, offset tempco up to the datasheet's +-1.5 Pa/K, noise,
resolution), fed straight to the detector at the node's default 44 ms. Expectations come from
the truth and REFERENCE.md, never from the detector. The MicroPython VM runs the thermal model's
fits too (small ints on a 32-bit port, nothing allocated)."""
import copy
import math
import random

import pytest

import detector as D
import habitat_streams as S
from safehaven.hil.physics import Leak

MS = 44
HOUR = 3600.0


def bound_s(beta, sigma=S.P_NOISE_PA, ms=MS):
    """REFERENCE.md section 3: the CUSUM delay bound for a slope beta, gamma = one year of samples."""
    dt = ms / 1000.0
    return (6 * sigma * sigma * dt * math.log(3.156e7 / dt) / (beta * beta)) ** (1 / 3)


def alarms(events):
    return [(round(t), ev) for t, ev in events if ev in (D.EV_LEAK_DETECTED, D.EV_RAPID)]


def leak_changes(events):
    """(t, ev) of each LEAK and its clear; an EV_LEAK_DETECTED while in LEAK (the refined estimate of
    the same leak) is a revision, left out."""
    out = []
    for t, ev in events:
        if ev == D.EV_LEAK_CLEARED or (ev == D.EV_LEAK_DETECTED and not (out and out[-1][1] == ev)):
            out.append((t, ev))
    return out


def fan(amplitude_pa, period_s, on_s=0.0, off_s=math.inf):
    """A fan's pressure oscillation (no air moves) between on_s and off_s."""
    return lambda t: amplitude_pa * math.sin(2 * math.pi * (t - on_s) / period_s) if on_s <= t < off_s else 0.0


NO_LEAK_DAYS = [
    pytest.param(1.5, None, id="tempco+1.5"),
    pytest.param(-1.5, None, id="tempco-1.5"),
    pytest.param(1.5, (3.0, 60.0, 0.0, math.inf), id="tempco+1.5-fan60"),
    pytest.param(-1.5, (3.0, 45.0, 0.0, math.inf), id="tempco-1.5-fan45"),
    pytest.param(1.5, (3.0, 90.0, 0.0, 5 * HOUR), id="tempco+1.5-fan90-stops"),
]


@pytest.mark.parametrize("tempco,fan_spec", NO_LEAK_DAYS)
def test_eight_hours_of_orbital_thermal_cycles_raise_nothing(tempco, fan_spec):
    # 916 m3, wall +-0.6 K on a 93-minute orbit: the worst datasheet tempco leaves ~1e-3 Pa/s
    # slopes in the compensated level, the size of a 1 kg/day leak. Before the thermal model
    # this raised a LEAK within the first hour. A 3 Pa fan of 45-90 s, running from the start
    # (or stopping after 5 h), is subtracted once its period is locked and must raise nothing.
    det = D.Detector(MS)
    top = [0]
    locked = []

    def on_block(t, d):
        top[0] = max(top[0], d.stat)
        locked.append((t, d.fan.locked))
    events = S.run(det, S.Truth(S.module(), extra=fan(*fan_spec) if fan_spec else None),
                   S.Part(seed=3, tempco_pa_k=tempco), MS, 8 * HOUR, on_block=on_block, every_s=60.0)
    assert alarms(events) == []
    assert det.thermal.known                                   # the tempco was fitted ...
    true_c = tempco - S.Part(seed=3).offset_pa / 295.15          # (+ the offset's share through P/T)
    assert abs(det.thermal.tempco / 3276.8 - true_c) < 0.1     # ... to the part's own value
    if fan_spec:                                               # the fan was locked on while it ran
        _, period, on_s, off_s = fan_spec
        running = [lk for t, lk in locked if on_s + 10 * period < t < off_s]
        assert running and all(running)
        assert not locked[-1][1] if off_s < 8 * HOUR else abs(det.fan.period_q8 / 256.0 * det.block_s / period - 1) < 0.01
    else:
        assert not any(lk for t, lk in locked)                 # no fan is made up from noise
    print("tempco %+.1f Pa/K: fitted %+.3f, bound %.3f Pa/K, highest statistic %d %%"
          % (tempco, det.thermal.tempco / 3276.8, det.thermal.bound / 3276.8, top[0] // 100))


def test_a_fan_that_starts_after_learning_raises_nothing():
    # its first dips (3 Pa over 30 s) look like short falls until they turn back: the young alarms
    # they raise are held until a leak's slope would show, and the fan is locked within ~4 periods
    events = S.run(D.Detector(MS), S.Truth(S.module(), extra=fan(3.0, 60.0, 2 * HOUR)),
                   S.Part(seed=3, tempco_pa_k=1.5), MS, 2 * HOUR + 600)
    assert alarms(events) == []


SLOW_LEAKS = [
    pytest.param(1, None, id="seed1"),
    pytest.param(2, None, id="seed2"),
    pytest.param(4, None, id="seed4"),
    pytest.param(1, (3.0, 60.0), id="seed1-fan60"),
    pytest.param(2, (3.0, 45.0), id="seed2-fan45"),
    pytest.param(4, (3.0, 90.0), id="seed4-fan90"),
]


@pytest.mark.parametrize("seed,fan_spec", SLOW_LEAKS)
def test_slow_leak_after_hours_of_cycling_is_found_near_the_bound(seed, fan_spec):
    # 0.9 kg/day in 916 m3 (~9.6e-4 Pa/s, the PrK tunnel in June 2026) from 3 h, after two
    # thermal cycles; the ground must reach MONITOR within 45 minutes. With a 3 Pa fan the delay
    # and the telemetry rate must be as good as without (before the fan was subtracted: 3.5-4x
    # the bound, the 8.5-minute rate up to 2x off).
    onset = 3 * HOUR
    truth = S.Truth(S.module(), leaks=[Leak("m", onset_s=onset, diameter_mm=S.leak_hole_mm(0.9))],
                    extra=fan(*fan_spec) if fan_spec else None)
    det = D.Detector(MS)
    found = []
    tel = []

    def on_event(t, ev, d):
        if ev == D.EV_LEAK_DETECTED:
            found.append((t, d.leak_estimate()))

    def on_block(t, d):
        if found and d.state == D.LEAK:
            tel.append((t - found[0][0], d.rate_e5 / 1e5))
    events = S.run(det, truth, S.Part(seed=seed, tempco_pa_k=1.5 if seed % 2 else -1.5), MS, onset + 2100,
                   on_event=on_event, on_block=on_block, every_s=30.0)
    assert [e for e in alarms(events) if e[0] < onset] == []
    assert found, "the leak was not found"
    beta = -truth.rate_pa_s()
    delay = found[0][0] - onset
    # the bound (~214 s) counts the pressure noise only; the temperature compensation adds the
    # sensor's 0.005 K (~1.7 Pa per sample: x1.4 on the bound, 2.15 Pa in all) and the tempco's
    # uncertainty widens the allowance
    assert delay < 2.0 * bound_s(beta)
    assert delay < 45 * 60
    late = [r for dt, r in tel if 600 <= dt <= 1500]            # telemetry 10-25 min after it
    assert late and all(abs(r / -beta - 1) < 0.3 for r in late), late
    print("seed %d fan %s: found %.0f s after onset (%.2fx the bound); events' kg/day %s (truth %.2f)"
          % (seed, fan_spec, delay, delay / bound_s(beta), [e[1] for _, e in found], truth.kg_day()))


@pytest.mark.parametrize("seed", [1, 2, 4, 10])
def test_slow_leak_rate_at_200_ms_holds_from_ten_minutes_after_detection(seed):
    # The same leak, 3 Pa 60 s fan, at the scenarios' 200 ms sampling: ~5 samples a block, so the
    # 8.5-minute slope alone is ~30 % off (1 sd) from white noise; the growing window since the
    # onset must hold the rate within 30 % from 10 minutes after LEAK (issue 9 item 3). Anchored at
    # the alarming CUSUM's run alone (~3-5 minutes after the onset) it was 45 % low at seed 4 and 36 %
    # at seed 10 (a young window whose first 8 minutes fell at -0.3e-3 Pa/s, ~2 standard errors).
    onset = 3 * HOUR
    truth = S.Truth(S.module(), leaks=[Leak("m", onset_s=onset, diameter_mm=S.leak_hole_mm(0.9))],
                    extra=S.cycle(60.0, 3.0))
    det = D.Detector(200)
    tel = []

    def on_block(t, d):
        if d.state == D.LEAK:
            tel.append((t, d.rate_e5 / 1e5))
    events = S.run(det, truth, S.Part(seed=seed, tempco_pa_k=1.5 if seed % 2 else -1.5), 200, onset + 2400,
                   on_block=on_block, every_s=10.0)
    assert tel, "the leak was not found"
    assert D.EV_LEAK_CLEARED not in [ev for _, ev in events]
    beta = -truth.rate_pa_s()
    late = [r for t, r in tel if t >= tel[0][0] + 600]
    worst = max(abs(r / -beta - 1) for r in late)
    print("seed %d: LEAK %.0f s after onset, rate from 10 min after: worst %.0f %% off"
          % (seed, tel[0][0] - onset, 100 * worst))
    assert late and worst < 0.3, late


def test_a_patched_leak_clears_and_leaves_the_tempco_alone():
    # 5 kg/day in 916 m3 at 200 ms, patched after 20 minutes. When LEAK clears, the thermal fit's
    # window still holds the leak's onset and end: a bend its time term cannot take, which against
    # the orbit it reads as tempco. Before the fit forgot a leak's segments, c ran 3.3 Pa/K off
    # after the clear (0.4 with the clear waiting for evidence that the air stopped) and the
    # telemetry rate swung to 3.5e-3 Pa/s (seen failing). The same pull, after LEAKs that cleared
    # during the leak, made slow_leak_orbit's rates 1.4-2x too steep.
    onset, patched = 3 * HOUR, 3 * HOUR + 1200
    truth = S.Truth(S.module(), leaks=[Leak("m", onset_s=onset, diameter_mm=S.leak_hole_mm(5.0), end_s=patched)],
                    extra=S.cycle(60.0, 3.0))
    part = S.Part(seed=1, tempco_pa_k=1.5)
    true_c = part.tempco_pa_k - part.offset_pa / 295.15          # (+ the offset's share through P/T)
    det = D.Detector(200)
    fitted = []

    def on_block(t, d):
        if t > patched:
            fitted.append(d.thermal.tempco / 3276.8)
    events = S.run(det, truth, part, 200, patched + 2.5 * HOUR, on_block=on_block, every_s=60.0)
    leaks = [(round(t), ev) for t, ev in leak_changes(events)]
    assert [ev for t, ev in leaks] == [D.EV_LEAK_DETECTED, D.EV_LEAK_CLEARED], leaks
    worst = max(fitted, key=lambda c: abs(c - true_c))
    print("patched leak: %s; tempco %+.3f Pa/K, after the patch worst %+.3f" % (leaks, true_c, worst))
    assert abs(worst - true_c) < 0.2


@pytest.mark.parametrize("seed", [4, 10])
def test_a_slow_leak_at_200_ms_is_not_cleared_by_its_noisy_slopes(seed):
    # 0.9 kg/day at 200 ms: the 8.5-minute slope's standard error (~3.3e-4 Pa/s) is a third of the
    # leak's rate, so slopes of a third of it come by chance. Clearing on "the slope is small"
    # cleared this leak ~16 min after onset (seed 4, seen failing); LEAK may clear only on slopes
    # significantly below the leak's own rate, or a loss since the onset that is not significant.
    onset = 3 * HOUR
    truth = S.Truth(S.module(), leaks=[Leak("m", onset_s=onset, diameter_mm=S.leak_hole_mm(0.9))],
                    extra=S.cycle(60.0, 3.0))
    det = D.Detector(200)
    events = S.run(det, truth, S.Part(seed=seed, tempco_pa_k=1.5 if seed % 2 else -1.5), 200, onset + 3600)
    assert [ev for t, ev in leak_changes(events)] == [D.EV_LEAK_DETECTED]
    assert det.state == D.LEAK


def test_a_sealed_leak_clears_and_is_not_raised_again():
    # 0.9 kg/day for 30 minutes, then sealed: LEAK clears once the last 8.5 minutes lose
    # significantly less than the leak did, plus clear_hold_ms (10 min). It took 53 min when it
    # waited for the slope since the onset to fall (seen failing); the tempco fit, refitted on the
    # leak's ramp after the clear, ran 0.75 Pa/K off and raised a false LEAK 26 min later (seen).
    onset = 3 * HOUR
    sealed = onset + 1800
    truth = S.Truth(S.module(), leaks=[Leak("m", onset_s=onset, diameter_mm=S.leak_hole_mm(0.9), end_s=sealed)],
                    extra=S.cycle(60.0, 3.0))
    events = S.run(D.Detector(MS), truth, S.Part(seed=1, tempco_pa_k=1.5), MS, sealed + 3600)
    states = leak_changes(events)
    assert [ev for _, ev in states] == [D.EV_LEAK_DETECTED, D.EV_LEAK_CLEARED], states
    assert sealed < states[1][0] < sealed + 1500
    print("cleared %.0f s after the leak was sealed" % (states[1][0] - sealed))


def test_false_leak_alarms_clear_within_twenty_five_minutes():
    # CUSUMs made to false-alarm (ln gamma = 4 instead of ~18) on noise alone (a part without a
    # tempco, so no thermal residual is a real slope): every LEAK clears once the loss since its
    # onset, over a full long ring, is not significant, plus clear_hold_ms. Measured 1,090-1,117 s
    # (the old rule: 667-1,498 s; a guard of the false-alarm route, passes with either rule).
    events = S.run(D.Detector(MS, {"threshold": 4.0}), S.Truth(S.module(), extra=S.cycle(60.0, 3.0)),
                   S.Part(seed=3, tempco_pa_k=0.0), MS, 4 * HOUR)
    found = [t for t, ev in leak_changes(events) if ev == D.EV_LEAK_DETECTED]
    cleared = [t for t, ev in events if ev == D.EV_LEAK_CLEARED]
    assert len(found) >= 3
    ends = cleared + [4 * HOUR] * (len(found) - len(cleared))
    assert all(c - f < 1500 for f, c in zip(found, ends)), list(zip(found, ends))


EVENT_RATES = (1e-3, 1e-2, 3e-2)            # Pa/s: 0.94, 9.4 and 28 kg/day in 916 m3
EVENT_PARTS = (1, 2, 3)                     # parts (offset, tempco, noise) ...
EVENT_NOISE = (0, 1, 2)                     # ... x noise continuations from the learnt state
_EVENT_RUNS: dict = {}


UNMEASURED = "unmeasured"                   # an event whose kg/day and hole are not yet measured


def leak_events(ms):
    """Every LEAK event's kg/day error (first, then the refined one; UNMEASURED when it carries none) for
    each rate x part x noise seed:
    3 h of the orbit and a 3 Pa, 60 s fan learnt once per part, then each leak from that state with
    its own noise. {rate: [(part, noise, [(t after onset, kg/day error), ...])]} (cached per ms)."""
    if ms in _EVENT_RUNS:
        return _EVENT_RUNS[ms]
    onset = 3 * HOUR
    out = {r: [] for r in EVENT_RATES}
    for seed in EVENT_PARTS:
        truth = S.Truth(S.module(), extra=S.cycle(60.0, 3.0))
        det, part = D.Detector(ms), S.Part(seed=seed)
        assert alarms(S.run(det, truth, part, ms, onset)) == []
        for rate in EVENT_RATES:
            kg_day = rate * 916.0 / (287.05 * 295.15) * 86400.0
            for noise in EVENT_NOISE:
                d, tr, pt = copy.deepcopy((det, truth, part))
                tr.hab.leaks.append(Leak("m", onset_s=onset, diameter_mm=S.leak_hole_mm(kg_day)))
                pt.rnd = random.Random(1000 * seed + noise)
                got = []
                t, dt = onset, ms / 1000.0
                while t < onset + 2400.0 and len(got) < 2:
                    ev = d.update(*pt.read(*tr.at(t)))
                    if ev == D.EV_LEAK_DETECTED:
                        kg = d.leak_estimate()[1]          # None: not yet measured (LOSS_UNMEASURED)
                        got.append((round(t - onset), UNMEASURED if kg is None else kg / tr.kg_day() - 1.0))
                    elif ev == D.EV_LEAK_CLEARED:       # cleared during the leak (seen before 138ad1e)
                        got.append((round(t - onset), None))
                        break
                    t += dt
                out[rate].append((seed, noise, got))
    _EVENT_RUNS[ms] = out
    return out


@pytest.mark.parametrize("ms,which", [
    pytest.param(MS, 0, id="44ms-first"),
    pytest.param(MS, -1, id="44ms-refined"),
    pytest.param(200, 0, id="200ms-first"),
    pytest.param(200, -1, id="200ms-refined"),
])
def test_slow_leak_event_kg_day_within_30_percent(ms, which):
    # Issue 9 item 3: the kg/day a LEAK event carries (the hole follows from it) within 30 % of the
    # truth, for every part and noise seed. The alarm's rate is fitted on the few minutes whose noise
    # raised it (selection bias: -72..+237 % seen at 44 ms), so the alarm's event carries no kg/day or
    # hole (protocol LOSS_UNMEASURED: "measuring"); once the slope since the onset is known to 10 % the
    # node sends EV_LEAK_DETECTED again with them. Every event that carries a number is held to 30 %.
    runs = leak_events(ms)
    for rate, cell in runs.items():
        print("%g Pa/s at %d ms: %s" % (rate, ms, " ".join(
            "/".join("cleared@%ds" % t if e is None else "%s@%ds" % (e if e == UNMEASURED else "%+.0f%%" % (100 * e), t)
                     for t, e in got) for _, _, got in cell)))
    for rate, cell in runs.items():
        assert all(got and got[0][1] is not None for _, _, got in cell), "a leak of %g Pa/s was not found" % rate
        # (before LEAK cleared only on evidence, 138ad1e, 3 of 9 at 200 ms cleared during the leak)
        assert all(e is not None for _, _, got in cell for _, e in got), "a LEAK cleared during the leak"
        if which:
            assert all(len(got) == 2 for _, _, got in cell), "no refined event for %g Pa/s" % rate
            assert all(got[-1][1] != UNMEASURED for _, _, got in cell), "a refined event without kg/day"
        carried = [got[which][1] for _, _, got in cell if got[which][1] != UNMEASURED]
        worst = max(carried, key=abs) if carried else 0.0
        assert abs(worst) < 0.3, "%g Pa/s at %d ms: event kg/day %+.0f %% off" % (rate, ms, 100 * worst)


def test_leak_starting_during_warm_up_is_found():
    # the old detector missed a leak that began while it learnt its level
    truth = S.Truth(S.module(), leaks=[Leak("m", onset_s=60.0, diameter_mm=S.leak_hole_mm(0.9))])
    events = S.run(D.Detector(MS), truth, S.Part(seed=5, tempco_pa_k=1.5), MS, 45 * 60)
    found = [t for t, ev in events if ev == D.EV_LEAK_DETECTED]
    assert found and found[0] < 45 * 60


def pulses(t):
    # hatch/valve pulses of REFERENCE.md section 9 and a door slam, on a 3 Pa, 60 s fan
    p = 3.0 * math.sin(2 * math.pi * t / 60.0)
    p += S.pulse(1500, 85, 0.1, 20)(t) + S.pulse(1700, 160, 0.1, 60)(t) + S.pulse(1900, 120, 0.05, 40)(t)
    if 2100 < t < 2100.15:
        p -= 40.0
    elif 2100.15 <= t < 2100.4:
        p += 20.0
    return p


def test_pulses_are_transients_never_rapid_and_leaks_are_still_found():
    truth = S.Truth(S.module(volume_m3=100.0), extra=pulses,
                    leaks=[Leak("m", onset_s=2400.0, diameter_mm=S.leak_hole_mm(20.0, 101325.0))])
    det = D.Detector(MS, {"volume_l": 100000.0})
    flagged = []
    events = S.run(det, truth, S.Part(seed=8), MS, 3600,
                   on_block=lambda t, d: flagged.append(t) if d.transient else None)
    transients = [t for t, ev in events if ev == D.EV_TRANSIENT]
    assert [round(t) for t in transients] == [1500, 1700, 1900, 2100]
    assert any(1500 < t < 1530 for t in flagged)                # ST_TRANSIENT while it recovers
    assert [e for e in alarms(events) if e[0] < 2400] == []
    found = [t for t, ev in events if ev == D.EV_LEAK_DETECTED]   # 20 kg/day in 100 m3: 0.2 Pa/s
    assert found and 2400 < found[0] < 2400 + 60


def test_a_step_that_stays_is_relearnt_and_a_repress_is_no_alarm():
    def extra(t):
        step = -85.0 if t > 1500 else 0.0                        # a hatch opened to a lower volume
        return step + 300.0 * min(max(t - 4000, 0.0) / 600.0, 1.0)  # scheduled repress
    det = D.Detector(MS)
    levels = []
    events = S.run(det, S.Truth(S.module(), extra=extra), S.Part(seed=9), MS, 4 * HOUR,
                   on_block=lambda t, d: levels.append((t, d.baseline.level12 / 4096.0, d.warm)),
                   every_s=60.0)
    assert alarms(events) == []
    before = [lv for t, lv, warm in levels if 1200 < t < 1500 and not warm]
    after = [lv for t, lv, warm in levels if 3000 < t < 4000 and not warm]
    assert before and after and abs(after[-1] - before[-1] + 85.0) < 2.0


def rapid_run(rate_pa_s, seed, volume_m3=100.0, onset=120.0, ms=MS, after_s=6.0):
    """A choked hole sized (from the physics' own orifice law) to lose rate_pa_s of compensated pressure
    at onset: RAPID events (time after onset, leak_estimate, true rate, kg/day, hole) and telemetry."""
    kg_day = rate_pa_s * volume_m3 / (287.05 * 295.15) * 86400.0
    hole = S.leak_hole_mm(kg_day, 101325.0)
    truth = S.Truth(S.module(volume_m3=volume_m3, amplitude_c=0.0), leaks=[Leak("m", onset_s=onset, diameter_mm=hole)])
    det = D.Detector(ms, {"volume_l": volume_m3 * 1000.0})
    out = {"tel": [], "rapid": [], "hole": hole}

    def on_event(t, ev, d):
        if ev == D.EV_RAPID:
            out["rapid"].append((t - onset, d.leak_estimate(), truth.rate_pa_s(), truth.kg_day()))

    def on_block(t, d):
        if t > onset:
            out["tel"].append((t - onset, d.state, d.rate_e5 / 1e5, truth.rate_pa_s()))
    S.run(det, truth, S.Part(seed=seed), ms, onset + after_s, on_event=on_event, on_block=on_block, every_s=0.25)
    return out


def errors(event, hole):
    """Relative errors of an event's rate, kg/day and hole against the truth; kg/day and hole None when
    the event does not carry them (LOSS_UNMEASURED: the rate not yet known to 30 %)."""
    _, (rate, kg, mm), true_rate, true_kg = event
    if kg is None:
        return rate / true_rate - 1, None, None
    return rate / true_rate - 1, kg / true_kg - 1, mm / hole - 1


RAPID_SPEEDS = [10.0, 21.4, 100.0]    # the RAPID floor, the issue-9 15 mm hole in 100 m3, a breach


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("rate", RAPID_SPEEDS)
def test_rapid_depressurisation_numbers_follow_the_truth(rate, seed):
    # the old node said 886 kg/day, a 9.6 mm hole and -0.09 Pa/s at 2 s for a 15 mm hole (21.4 Pa/s,
    # ~2,180 kg/day). The raw fall is ~40 % faster at first (the gas cools): the compensated rate
    # is the air leaving. RAPID within 1 s; EV_RAPID again with a refined estimate before 2 s, which
    # always carries the loss; the first carries it when its rate is known to 30 % (a breach's).
    out = rapid_run(rate, seed)
    assert len(out["rapid"]) == 2, out["rapid"]
    first, refined = out["rapid"]
    assert 0 < first[0] <= 1.0
    assert first[0] < refined[0] <= 2.0
    assert all(abs(e) < 0.3 for e in errors(refined, out["hole"])), errors(refined, out["hole"])
    assert abs(errors(first, out["hole"])[0]) < (0.3 if rate > 20 else 0.45)     # the provisional rate
    if rate == 100.0:
        assert first[1][1] is not None
    if first[1][1] is not None:
        assert all(abs(e) < 0.3 for e in errors(first, out["hole"])), errors(first, out["hole"])
    for dt, state, r, tr in out["tel"]:
        if state == D.RAPID:
            assert r < 0                                           # never 0 while RAPID
        if dt >= 2.0:
            assert abs(r / tr - 1) < 0.2, (dt, r, tr)


def loss_by(rate, parts, ms=MS, volume_m3=100.0):
    """Over parts and onset phases: (worst RAPID delay, worst error of any RAPID event's kg/day or hole
    that carries them, latest time the first such event came, first events that carried them)."""
    delay = worst = known_at = 0.0
    first_carried = 0
    for seed in range(parts):
        out = rapid_run(rate, seed, volume_m3, 120.0 + seed * 0.618 % 1.0, ms, after_s=3.0)
        assert out["rapid"], seed
        delay = max(delay, out["rapid"][0][0])
        carried = [(ev[0], errors(ev, out["hole"])) for ev in out["rapid"] if ev[1][1] is not None]
        assert carried, (seed, out["rapid"])
        known_at = max(known_at, carried[0][0])
        worst = max([worst] + [max(abs(e[1]), abs(e[2])) for _, e in carried])
        first_carried += out["rapid"][0][1][1] is not None
    return delay, worst, known_at, first_carried


def test_every_rapid_loss_sent_at_ten_pa_per_second_is_within_30_percent():
    # issue 9: the kg/day and hole in events within 30 % of the truth. The first event has ~0.75 s of
    # a 10 Pa/s fall: over these 200 parts and onset phases its kg/day had sd 15 %, 10 beyond 30 %
    # (worst -39/+55 %; seen failing: the node sent it anyway). It is sent only once the rate's
    # standard error allows (30 % >= 4 of them): the first event carries LOSS_UNMEASURED, the refined
    # one the loss as soon as it is known (~1.4 s), never later than 2 s. RAPID itself is not delayed.
    delay, worst, known_at, _ = loss_by(10.0, 200)
    assert delay <= 1.0
    assert worst < 0.3
    assert known_at <= 2.0


@pytest.mark.parametrize("rate, ms, volume_m3, by_s", [
    (21.4, MS, 100.0, 2.0), (100.0, MS, 100.0, 1.0), (10.0, MS, 60.0, 2.0), (10.0, MS, 916.0, 2.0),
    (10.0, 100, 100.0, 2.5), (100.0, 100, 100.0, 1.5), (10.0, 200, 100.0, 3.0), (100.0, 200, 100.0, 2.0)])
def test_rapid_loss_is_sent_only_within_30_percent_at_every_speed_and_sample_period(rate, ms, volume_m3, by_s):
    # the same over 40 parts: faster falls, other volumes (the choked decay's time constant) and
    # sample periods (fewer samples of the fall: the loss comes later). A breach's first event carries it.
    delay, worst, known_at, first_carried = loss_by(rate, 40, ms, volume_m3)
    assert delay <= (1.0 if ms == MS else 2.5)
    assert worst < 0.3
    assert known_at <= by_s
    if rate == 100.0 and ms <= 100:
        assert first_carried == 40


@pytest.mark.parametrize("seed", range(3))
def test_sustained_ten_pa_per_second_is_rapid_within_a_second(seed):
    onset = 100.0 + 0.37 * seed
    truth = S.Truth(S.module(amplitude_c=0.0), extra=lambda t: -10.0 * (t - onset) if t > onset else 0.0)
    events = S.run(D.Detector(MS), truth, S.Part(seed=seed), MS, onset + 3)
    rapid = [t for t, ev in events if ev == D.EV_RAPID]
    assert rapid and 0 < rapid[0] - onset <= 1.0
    assert [t for t, ev in events if ev != D.EV_RAPID and ev != D.EV_TRANSIENT and t > 3] == []


@pytest.mark.parametrize("ms", [MS, 200])
def test_rapid_rate_holds_through_a_long_fall(ms):
    # 25 mm in 100 m3 (~60 Pa/s, the demo's hole): the fall passes the detector's 4 kPa
    # fixed-point range within about a minute and it re-anchors while RAPID. The rate the crew
    # sees must follow the truth through that, not drop to the "never 0" floor of 1e-5 Pa/s.
    onset = 120.0
    truth = S.Truth(S.module(volume_m3=100.0, amplitude_c=0.0), leaks=[Leak("m", onset_s=onset, diameter_mm=25.0)])
    det = D.Detector(ms, {"volume_l": 100000.0})
    tel = []

    def on_block(t, d):
        if t > onset + 2.0:
            tel.append((round(t - onset, 2), d.state, d.rate_e5 / 1e5, truth.rate_pa_s()))
    S.run(det, truth, S.Part(seed=1), ms, onset + 200, on_block=on_block, every_s=0.5)
    assert truth.hab.truth("m")["pressure_pa"] < 101325.0 - 3 * 4096     # three re-anchors at least
    bad = [x for x in tel if x[1] != D.RAPID or abs(x[2] / x[3] - 1) >= 0.2]
    assert bad == [], bad[:5]


def day_with_pulses(extra_pulses=()):
    # habitat_day's setting: a 3 Pa, 60 s fan on the orbital cycle; pulses once the tempco is fitted
    fan = S.cycle(60.0, 3.0)
    parts = [S.recovery(t0, drop, tau) for t0, drop, tau in extra_pulses]
    return lambda t: fan(t) + sum(f(t) for f in parts)


# (start, drop Pa, time constant s): habitat_day's -160 Pa hatch pulse (recover_s 60: tau 20 s) is
# still 1.8 Pa low after 90 s, which the old fixed 90 s hold handed to the CUSUMs (every node LEAK
# ~115 s after it); a slower one that outlasts the 5-minute ceiling; a quick valve pulse
PULSES = [(9000.0, 160.0, 20.0), (10200.0, 160.0, 60.0), (11400.0, 85.0, 7.0)]


@pytest.mark.parametrize("ms,seed", [(MS, 1), (200, 2)])
def test_slow_pulse_recoveries_are_waited_for_not_taken_for_leaks(ms, seed):
    det = D.Detector(ms)
    held = []
    events = S.run(det, S.Truth(S.module(), extra=day_with_pulses(PULSES)), S.Part(seed=seed), ms, 12600,
                   on_block=lambda t, d: held.append(t) if d.transient else None)
    assert alarms(events) == []
    assert [round(t) for t, ev in events if ev == D.EV_TRANSIENT] == [round(p[0]) for p in PULSES]
    for t0, drop, tau in PULSES:
        hold = max(t for t in held if t0 <= t < t0 + 1000) - t0
        assert hold < 300 + 2                                    # the ceiling
        if tau * math.log(drop) < 300:                         # settles within it: the tail
            assert drop * math.exp(-hold / tau) < 0.5           # it left is well under the noise
        print("%.0f Pa, tau %.0f s: held %.0f s" % (drop, tau, hold))


@pytest.mark.parametrize("ms,seed,rate_pa_s,within_s", [(MS, 1, 9.6e-4, 1200.0), (200, 2, 0.05, 300.0)])
def test_leak_starting_right_after_a_pulse_is_found(ms, seed, rate_pa_s, within_s):
    # a leak starting 30 s after the -160 Pa pulse, while it recovers: 0.9 kg/day in 916 m3, and
    # 0.05 Pa/s; without a pulse (same fan) they are found after ~750-920 s and ~70 s
    onset = PULSES[0][0] + 30.0
    kg_day = rate_pa_s * 916.0 / (287.05 * 295.15) * 86400.0
    truth = S.Truth(S.module(), extra=day_with_pulses(PULSES[:1]),
                    leaks=[Leak("m", onset_s=onset, diameter_mm=S.leak_hole_mm(kg_day))])
    events = S.run(D.Detector(ms), truth, S.Part(seed=seed), ms, onset + within_s)
    assert [e for e in alarms(events) if e[0] < onset] == []
    found = [t for t, ev in events if ev == D.EV_LEAK_DETECTED]
    assert found, "the leak was not found within %.0f s" % within_s
    print("%.2g Pa/s found %.0f s after its onset" % (rate_pa_s, found[0] - onset))


def test_the_rate_follows_a_scheduled_repress():
    # +300 Pa over 10 min (air added: +0.5 Pa/s) on the orbit with a 3 Pa, 61 s fan, at 200 ms
    def extra(t):
        return 300.0 * min(max(t - 3000, 0.0) / 600.0, 1.0) + 3.0 * math.sin(2 * math.pi * t / 61.0)
    rates = []
    S.run(D.Detector(200), S.Truth(S.module(), extra=extra), S.Part(seed=4), 200, 3600,
          on_block=lambda t, d: rates.append((round(t), d.rate_e5 / 1e5)) if 3060 < t < 3600 else None,
          every_s=5.0)
    bad = [(t, r) for t, r in rates if abs(r / 0.5 - 1) > 0.3]
    assert rates and bad == [], bad[:8]


class RecordedDay:
    """A recording-style 8 h day nobody here tuned for (the lead's red-team trace 1): wall +-0.7 K on
    a 90-minute orbit, a 3 Pa 55 s fan, four pulses (tau 25-58 s) and a +300 Pa repress of air."""
    PULSES = [(1498.74, 96.2, 57.9), (5104.41, 139.3, 54.0), (17984.0, 101.5, 24.7), (27333.87, 148.4, 30.7)]

    def at(self, t):
        temp_c = 20.3 + 0.7 * math.sin(2 * math.pi * t / 5400.0 + 2.2508131192642566)
        comp = 101325.0 + 300.0 * min(max(t - 13576.5, 0.0) / 600.0, 1.0)
        p = comp * (temp_c + 273.15) / 293.45 + 3.0 * math.sin(2 * math.pi * t / 55.0 + 6.278855041883476)
        for t0, drop, tau in self.PULSES:
            if t0 <= t < t0 + 0.1:
                p -= drop * (t - t0) / 0.1
            elif t >= t0 + 0.1:
                p -= drop * math.exp(-(t - t0 - 0.1) / tau)
        return p, temp_c


@pytest.mark.slow
def test_no_alarm_when_the_fan_notch_comes_out_of_a_long_pulse_hold():
    # The notch fits nothing held; through the 245-block hold of the last pulse its phase ran free
    # (locked period ~0.7 % long) and left a ~0.9 Pa dip for ~15 s after it. With no crest seen,
    # a young alarm had the short wait: LEAK 255 s after the pulse (seen failing on this part with
    # noise seed 10; about 2 in 10 seeds)
    from safehaven.hil.emu.bmp280 import PRNG
    g = PRNG(6)                                                 # the emulator's part of node 6
    part = S.Part(seed=10, offset_pa=max(-100.0, min(100.0, g.gauss(33.0))), tempco_pa_k=g.uniform(-1.5, 1.5))
    events = S.run(D.Detector(MS), RecordedDay(), part, MS, 27700)
    assert [round(t) for t, ev in events if ev == D.EV_TRANSIENT] == [round(p[0]) for p in RecordedDay.PULSES]
    assert alarms(events) == []


def test_a_fan_that_stops_leaves_the_statistic_below_the_threshold():
    top = [0]

    def on_block(t, d):
        if t > 5 * HOUR - 60:
            top[0] = max(top[0], d.stat)
    S.run(D.Detector(MS), S.Truth(S.module(), extra=fan(3.0, 90.0, 0.0, 5 * HOUR)), S.Part(seed=3, tempco_pa_k=1.5),
          MS, 5 * HOUR + 300, on_block=on_block)
    assert top[0] < 10000, "highest statistic after the stop %d %%" % (top[0] // 100)
