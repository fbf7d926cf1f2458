"""The safe haven's "time until the CO2 reaches its limit" against the physics' truth.

The air is hil.physics (crew exhaling ~1 kg CO2/day each, a scrubber processing scrub_m3_h); three
SCD4x emulators (hil.emu.scd4x: 5 s updates, tau63 60 s, repeatability noise, every per-part offset
and gain error on), driven through their I2C commands, are the nodes' readings; the live Engine gets
them as telemetry (1 Hz per node) and votes them. The truth is the physics' own: the time its zone
takes to reach the limit with the crew and scrubber it has now (closed form, the scrubber's
equilibrium included; infinite when that equilibrium is below the limit).

The tolerance (docs/shelter.md, "Safe-haven CO2"):
- no time from less than 60 s / 6 readings, and none for a capsule whose CO2 is not rising;
- from 2 min after a change of the rise (crew entering, a scrubber failing), or once the air has
  risen 100 ppm since it if that is later (a slow rise is invisible under the sensor's noise before),
  the time is never more than 10 % longer than the truth (the unsafe side), and not more than 30 %
  shorter than the straight-line time to the limit less the SCD4x's accuracy band (the number counts
  to the reading at which a part at the edge of its accuracy sees the limit);
- in between, once the reading can have left its old line by 20 ppm (4 sigma of the SCD4x's
  repeatability; d*u^2/(2*60 s) for a change of d ppm/s, at least 30 s), never more than 50 % longer
  than the truth: 'measuring' (no number) is the answer while a steeper rise is suspected but not sized;
- 'measuring' for at most 10 % of the settled seconds.
"""
import math
import statistics

import pytest

from safehaven.ground.engine import Engine
from safehaven.ground.policy import policy_from_dict
from safehaven.hil.emu.bus import I2CBus
from safehaven.hil.emu.clock import ManualClock
from safehaven.hil.emu.scd4x import SCD4xEmu
from safehaven.hil.physics import DAY_S, M_AIR, M_CO2, Habitat, Zone
from tests.test_engine import tel

LIMIT = 5300.0                      # policies/default.toml co2_limit_ppm
BAND_PPM = 2 * (0.05 * LIMIT + 50)  # a part reading high by its full accuracy against one reading low
SETTLE_S, SETTLE_PPM = 120.0, 100.0
UNSEEN_S, SEEN_PPM = 30.0, 20.0      # a change is visible once the reading left its old line by 4 sigma
MEASURING_MAX = 0.10                 # at most this share of the settled seconds without a number
OPTIMISTIC, PESSIMISTIC, EARLY = 1.10, 0.70, 1.50


class ZoneTruth:
    def __init__(self, hab, zone):
        self.hab, self.zone = hab, zone
        self.refresh()

    def refresh(self):
        v = self.hab.truth(self.zone)
        self.pressure_pa, self.temperature_c = v["pressure_pa"], v["temperature_c"]
        self.co2_ppm, self.rh_pct = v["co2_ppm"], v["rh_pct"]


class Scd4xPart:
    """One emulated SCD41 (per-part errors on) read as the node's driver reads it: periodic mode,
    read_measurement, NACK while no new data."""

    def __init__(self, truth, seed, start_s):
        self.clock, self.us = ManualClock(), 0
        self.bus = I2CBus()
        self.bus.attach(0x62, SCD4xEmu(truth, self.clock, seed=seed))
        self.start_s, self.started, self.ppm = start_s, False, None

    def _to(self, us):
        self.clock.advance_us(us - self.us)
        self.us = us

    def poll(self, t):
        self._to(int(round(t * 1e6)))
        if not self.started:
            if t >= self.start_s:
                self.bus.writeto(0x62, b"\x21\xb1")  # start_periodic_measurement
                self.started = True
            return
        try:
            self.bus.writeto(0x62, b"\xec\x05")      # read_measurement
            self._to(self.us + 1000)
            raw = self.bus.readfrom(0x62, 9)
        except OSError:
            return                                   # no new reading yet
        self.ppm = (raw[0] << 8) | raw[1]


def true_time_to_limit(z):
    """(truth, straight-line time at today's rise to the limit less the accuracy band) for zone z."""
    gen = z.crew * z.co2_per_crew_kg_day / DAY_S / M_CO2 / (z.mass_kg / M_AIR) * 1e6   # ppm/s
    k = z.scrub_m3_h / 3600.0 / z.volume_m3
    c = z.co2()
    rise = gen - k * c
    banded = (LIMIT - BAND_PPM - c) / rise if rise > 0 else math.inf
    if c >= LIMIT:
        return 0.0, banded
    if k == 0:
        return ((LIMIT - c) / rise if rise > 0 else math.inf), banded
    eq = gen / k
    if eq <= LIMIT:
        return math.inf, banded
    return -math.log((LIMIT - eq) / (c - eq)) / k, banded


def shelter(volume_m3, crew, scrub_m3_h=0.0, entry_s=40.0, scrub_off_s=None, seed=1, duration_s=900.0,
            co2_ppm=800.0):
    """Rows (t, ground's time or None, truth, banded straight line, air ppm) every second."""
    z = Zone("haven", volume_m3, co2_ppm=co2_ppm, scrub_m3_h=scrub_m3_h)
    hab = Habitat([z])
    truth = ZoneTruth(hab, "haven")
    parts = {n: Scd4xPart(truth, seed * 10 + n, 0.3 + 1.7 * n) for n in (1, 2, 3)}
    e = Engine(policy_from_dict({"safe_haven_zone": "haven"}), zones={n: "haven" for n in parts})
    rows = []
    for i in range(1, int(duration_s) + 1):
        t = float(i)
        if t == entry_s:
            z.crew = crew
        if t == scrub_off_s:
            z.scrub_m3_h = 0.0
        for k in range(4):   # the SCD4x's 5 s updates land between the seconds
            hab.advance_to(t - 0.75 + 0.25 * k)
            truth.refresh()
            for p in parts.values():
                p.poll(t - 0.75 + 0.25 * k)
        for n, p in parts.items():   # a node sends 0 ppm until its SCD4x's first reading (firmware/node.py)
            co2 = 0.0 if p.ppm is None else float(p.ppm)
            e.ingest_frames(f"l{n}", [tel(n, i, i * 1000 + n, p=101325.0, co2=co2)], t + 0.01 * n)
        true_s, banded_s = true_time_to_limit(z)
        rows.append((t, e.safe_haven["co2_time_to_limit_s"], true_s, banded_s, z.co2()))
    return rows


CASES = {   # volume m3, crew, scrubber m3/h, the change (crew entering or the scrubber failing), seed
    "capsule 9.3 m3, crew 4": dict(volume_m3=9.3, crew=4),
    "capsule 4 m3, crew 4": dict(volume_m3=4.0, crew=4, seed=2, duration_s=700.0),
    "module 20 m3, crew 1": dict(volume_m3=20.0, crew=1, seed=3),
    "4 m3, crew 1": dict(volume_m3=4.0, crew=1, seed=4),
    "9.3 m3, crew 3, scrubber fails at 300 s": dict(volume_m3=9.3, crew=3, scrub_m3_h=30.0, scrub_off_s=300.0, seed=5),
    "20 m3, crew 2, scrubber too small (bends over)": dict(volume_m3=20.0, crew=2, scrub_m3_h=6.0, seed=6),
}


def _unseen_s(air_at, change):
    """How long a 60 s sensor needs to leave its old line by SEEN_PPM after the rise changed by d ppm/s:
    d*u^2/(2 tau) (the lagged ramp's start), and at least UNSEEN_S."""
    c = round(change)
    d = abs((air_at[c + 10] - air_at[c]) - (air_at[c] - air_at[c - 10])) / 10.0
    return max(UNSEEN_S, math.sqrt(2 * 60.0 * SEEN_PPM / d)) if d > 0 else math.inf


def _check(rows, changes, early=False):
    """Every second against the tolerance; changes: the times the rise changed (crew in, scrubber off)."""
    first = rows[0][0]
    air_at = {round(r[0]): r[4] for r in rows}
    unseen = {c: _unseen_s(air_at, c) for c in changes}
    problems = []
    settled_s = measuring_s = 0
    for t, est, true_s, banded_s, air in rows:
        since = [c for c in changes if c <= t]
        change = since[-1] if since else None
        settled = change is not None and t >= change + SETTLE_S and air - air_at[round(change)] >= SETTLE_PPM
        if settled and not math.isinf(true_s):
            settled_s += 1
            measuring_s += est is None
        if t < first + 60.0:
            if est is not None:
                problems.append(f"t={t:.0f}: {est:.0f} s from under a minute of readings")
        elif change is None:
            if est is not None and est < 2 * 3600:
                problems.append(f"t={t:.0f}: {est:.0f} s before anyone is in the capsule (flat CO2)")
        elif est is None or math.isinf(true_s):
            continue
        elif not settled:
            if early and t >= change + unseen[change] and est > EARLY * true_s:
                problems.append(f"t={t:.0f}: {est:.0f} s against {true_s:.0f} s "
                                f"({est / true_s - 1:+.0%}) while the change settles")
        elif est > OPTIMISTIC * true_s:
            problems.append(f"t={t:.0f}: {est:.0f} s against {true_s:.0f} s ({est / true_s - 1:+.0%}, optimistic)")
        elif banded_s > 0 and est < PESSIMISTIC * banded_s:
            problems.append(f"t={t:.0f}: {est:.0f} s against {banded_s:.0f} s at the band "
                            f"({est / banded_s - 1:+.0%}, pessimistic)")
    if measuring_s > MEASURING_MAX * settled_s:
        problems.append(f"'measuring' for {measuring_s} of {settled_s} settled seconds")
    return problems


_RUNS: dict = {}


def _case(name, early=False):
    kw = CASES[name]
    rows = _RUNS.get(name) or _RUNS.setdefault(name, shelter(**kw))   # both tests read one run
    changes = [kw.get("entry_s", 40.0)] + ([kw["scrub_off_s"]] if "scrub_off_s" in kw else [])
    assert any(r[1] is not None for r in rows), "the ground never reported a time"
    return _check(rows, changes, early)


@pytest.mark.parametrize("name", list(CASES))
def test_time_to_co2_limit_follows_the_physics(name):
    problems = _case(name)
    assert not problems, f"{name}: {len(problems)} bad seconds, first: " + "; ".join(problems[:4])


@pytest.mark.parametrize("name", list(CASES))
def test_time_to_co2_limit_while_a_change_settles(name):
    """Between a change and the settled tolerance: 'measuring' while a steeper rise is suspected but not
    yet sized (before, up to +94 % / +99 % for 30-60 s in a 4 m3 capsule)."""
    problems = _case(name, early=True)
    assert not problems, f"{name}: {len(problems)} bad seconds, first: " + "; ".join(problems[:4])
