"""On-node leak detection benchmark: the firmware's own detector (firmware/detector.py) on a habitat's day,
beside two peers fed the same samples.

    .venv/bin/python bench/detection.py            # full run (~10 min on 2 cores)
    .venv/bin/python bench/detection.py --quick    # 3 seeds, 6 days nominal

Every signal is what one BMP280 part reports (REFERENCE.md sections 5 and 9), drawn per seed:
offset within +-1 hPa (sigma 33 Pa), offset temperature coefficient uniform in +-1.5 Pa/K (not removed by
P/T compensation), pressure noise 1.3 Pa (x16, no IIR), temperature noise 5 mK; on top of the true cabin:
an orbital thermal cycle of +-0.6 K over 5,580 s (random phase; the gas law moves pressure by P/T per K),
a 3 Pa fan oscillation (60 s), hatch/valve pulses (-85..-160 Pa at once, recovering with 95 % back in
20..60 s, no air lost) and a scheduled repress (+300 Pa over 10 minutes).

1. False alarms: 30 days of that day (several pulses and a repress per day), split over parts (seeds).
2. Slow leaks after one to two orbits of learning, each part twice: without the fan (the per-part errors
   and the thermal cycle: issue 9's item 7) and with the 3 Pa fan. Delay to LEAK against the CUSUM bound
   T = (6 sigma^2 dt ln(gamma) / beta^2)^(1/3) (gamma = one year of samples, sigma 1.3 Pa: the pressure
   noise only; the bound with the compensation's temperature noise, sigma 2.15 Pa, is printed beside it),
   the rate error 10 minutes after detection, and the kg/day of the LEAK event at the alarm and of the
   refined one the node sends once the slope since the onset is known to 10 % (worst over parts).
3. Rapid depressurisation (choked decay p0 e^(-t/tau), tau = p0 / beta, with the fast leak's cooling):
   delay to RAPID, the kg/day and hole of the first and the refined RAPID event against the true loss,
   the telemetry rate and the reserve time tau ln(p / 65 kPa) from it (tau = p / |rate|) from onset + 2 s.
4. Pulses at the node's default 44 ms: RAPID or LEAK on a pulse is a false alarm.

Peers, in the same run on the same samples:
- dP/dt trip: the raw pressure's 10 s difference below -1.1 Pa/s (0.5 mmHg/min, the Russian
  emergency figure; a Shuttle-style hardware trip), re-armed above half of it;
- block CUSUM: P/T-compensated pressure averaged over 60 s blocks, Page's CUSUM on the block-to-block
  differences for a 1e-3 Pa/s (~1 kg/day ISS) slope, threshold for one false alarm per year of blocks.
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "firmware"), str(REPO)]   # as on a node: firmware/ at the root, protocol/ beside it
import detector as D  # noqa: E402

P0, T0 = 101325.0, 22.0
YEAR_S = 3.156e7
ORBIT_S = 5580.0
SIGMA = 1.3
P_MIN = 65000.0
R_AIR = 287.05
FAN_PA = 3.0              # fan oscillation amplitude (--fan-pa; workers are forked after it is set)
FAN_PERIOD_S = 60.0       # (--fan-period)
T_NOISE = 0.005           # the part's temperature noise, K
SIGMA_T = math.hypot(SIGMA, (P0 / (T0 + 273.15)) * T_NOISE)   # through the P/T compensation: 2.15 Pa
ALARMS = (D.EV_LEAK_DETECTED, D.EV_RAPID)


def bound_s(sigma: float, dt: float, beta: float) -> float:
    gamma = YEAR_S / dt
    return (6 * sigma * sigma * dt * math.log(gamma) / (beta * beta)) ** (1 / 3)


# --- the world and one part -----------------------------------------------------------------------
class Day:
    """True cabin: thermal cycle, fan, pulses, represses, and a leak (slow ramp or choked decay)."""

    def __init__(self, rnd: random.Random, events: list, leak=None, fan_pa=None):
        self.phase = rnd.uniform(0, 2 * math.pi)
        self.fan_pa = FAN_PA if fan_pa is None else fan_pa
        self.events = sorted(events)   # (t, kind, size, time)
        self.active: list = []
        self.i = 0
        self.held = 0.0                # repress air added so far (settled ones), Pa
        self.leak = leak               # ("ramp", onset, beta) | ("choked", onset, tau) | None

    def at(self, t: float) -> tuple[float, float, float]:
        """(raw pressure, gas temperature degC, compensated pressure at T0) at t."""
        while self.i < len(self.events) and self.events[self.i][0] <= t:
            self.active.append(self.events[self.i])
            self.i += 1
        pc = P0 + self.held
        keep = []
        for ev in self.active:
            t0, kind, size, span = ev
            if kind == "pulse":
                if t - t0 < 10 * span:
                    pc -= size * math.exp(-3.0 * (t - t0) / span)
                    keep.append(ev)
            elif t - t0 < span:        # repress in progress
                pc += size * (t - t0) / span
                keep.append(ev)
            else:
                self.held += size
                pc += size
        self.active = keep
        if self.leak is not None and t > self.leak[1]:
            kind, onset, x = self.leak
            pc = pc - x * (t - onset) if kind == "ramp" else pc * math.exp(-(t - onset) / x)
        tc = T0 + 0.6 * math.sin(2 * math.pi * t / ORBIT_S + self.phase)
        raw = pc * (tc + 273.15) / (T0 + 273.15) + self.fan_pa * math.sin(2 * math.pi * t / FAN_PERIOD_S)
        return raw, tc, pc


class Part:
    """One BMP280's reading of the truth: its own offset and offset tempco, and noise."""

    def __init__(self, rnd: random.Random):
        self.rnd = rnd
        self.offset = max(-100.0, min(100.0, rnd.gauss(0.0, 33.0)))
        self.tempco = rnd.uniform(-1.5, 1.5)

    def read(self, raw: float, tc: float) -> tuple[int, int, float, float]:
        t_read = tc + self.rnd.gauss(0.0, T_NOISE)
        p = raw + self.offset + self.tempco * (tc - 25.0) + self.rnd.gauss(0.0, SIGMA)
        return int(round(t_read * 5120)), int(round(p * 256)), p, t_read


# --- the peers ------------------------------------------------------------------------------------
class DpDtTrip:
    """10 s difference of the raw pressure below -1.1 Pa/s trips; re-armed above half of it."""

    def __init__(self, ms: int, window_s: float = 10.0, trip_pa_s: float = -1.1):
        self.n = max(1, int(round(window_s * 1000 / ms)))
        self.ring = [0.0] * self.n
        self.i = self.filled = 0
        self.window_s, self.trip = self.n * ms / 1000, trip_pa_s
        self.tripped = False
        self.rate = 0.0

    def update(self, p: float) -> bool:
        old = self.ring[self.i]
        self.ring[self.i] = p
        self.i = (self.i + 1) % self.n
        if self.filled < self.n:
            self.filled += 1
            return False
        self.rate = (p - old) / self.window_s
        if not self.tripped and self.rate < self.trip:
            self.tripped = True
            return True
        if self.tripped and self.rate > self.trip / 2:
            self.tripped = False
        return False


class BlockCusum:
    """P/T-compensated 60 s block means; Page's CUSUM on their differences for a design slope."""

    def __init__(self, ms: int, design_pa_s: float = 1e-3, block_s: float = 60.0):
        self.n = max(1, int(round(block_s * 1000 / ms)))
        self.block_s = self.n * ms / 1000
        sd = math.sqrt(2.0) * SIGMA / math.sqrt(self.n)          # block-difference noise
        self.delta = design_pa_s * self.block_s
        self.k = self.delta / 2
        self.h = sd * sd / self.delta * math.log(YEAR_S / self.block_s)
        self.acc = 0.0
        self.count = 0
        self.prev = None
        self.s = 0.0
        self.diffs: list = []
        self.rate = 0.0

    def update(self, pc: float) -> bool:
        self.acc += pc
        self.count += 1
        if self.count < self.n:
            return False
        m = self.acc / self.n
        self.acc, self.count = 0.0, 0
        if self.prev is None:
            self.prev = m
            return False
        d = m - self.prev
        self.prev = m
        self.diffs = (self.diffs + [d])[-10:]
        self.rate = sum(self.diffs) / len(self.diffs) / self.block_s
        self.s = max(0.0, self.s - d - self.k)
        if self.s > self.h:
            self.s = 0.0
            return True
        return False


def _runners(ms: int, volume_m3: float = 916.0):
    det = D.Detector(ms, {"noise_pa": SIGMA, "volume_l": volume_m3 * 1000.0})
    return det, DpDtTrip(ms), BlockCusum(ms)


def _habitat_events(rnd: random.Random, t0: float, t1: float, pulses_per_day: float, represses_per_day: float):
    events, t = [], t0
    while True:
        t += rnd.expovariate(pulses_per_day / 86400.0)
        if t >= t1:
            break
        events.append((t, "pulse", rnd.uniform(85.0, 160.0), rnd.uniform(20.0, 60.0)))
    t = t0
    while represses_per_day:
        t += rnd.expovariate(represses_per_day / 86400.0)
        if t >= t1:
            break
        events.append((t, "repress", 300.0, 600.0))
    return events


# --- the runs (one seed each, in worker processes) ------------------------------------------------
def nominal(args) -> dict:
    """Alarms of each detector over `days` of one part's habitat day."""
    days, seed, ms = args
    rnd = random.Random(seed)
    part = Part(rnd)
    end = days * 86400.0
    day = Day(rnd, _habitat_events(rnd, 0.0, end, 4.0, 1.0))
    det, trip, cus = _runners(ms)
    out = {"firmware": [], "dpdt": [], "cusum": [], "pulses": sum(1 for e in day.events if e[1] == "pulse"),
           "represses": sum(1 for e in day.events if e[1] == "repress"), "top": 0}
    dt = ms / 1000.0
    for i in range(int(end / dt)):
        t = i * dt
        raw, tc, _ = day.at(t)
        tf, pq, p, t_read = part.read(raw, tc)
        ev = det.update(tf, pq)
        if ev in ALARMS:
            out["firmware"].append(round(t))
        if trip.update(p):
            out["dpdt"].append(round(t))
        if cus.update(p * (T0 + 273.15) / (t_read + 273.15)):
            out["cusum"].append(round(t))
        out["top"] = max(out["top"], det.stat)
    return out


def slow_leak(args, to_alarm: bool = False) -> dict:
    """Delay to LEAK of each detector for a slope beta after one to two orbits, and the rate 10 min later.
    to_alarm: stop at the firmware's first alarm (its delay, or "false_at" if before the onset)."""
    beta, seed, ms, fan_pa = args
    rnd = random.Random(seed)
    part = Part(rnd)
    onset = ORBIT_S + rnd.uniform(0, ORBIT_S)
    bnd = bound_s(SIGMA, ms / 1000.0, beta)
    end = onset + max(20 * bnd, 2700.0) + 600.0
    day = Day(rnd, [], ("ramp", onset, beta), fan_pa)
    det, trip, cus = _runners(ms)
    found: dict = {"firmware": None, "dpdt": None, "cusum": None}
    false: dict = {"firmware": 0, "dpdt": 0, "cusum": 0}
    rate_err: dict = {"firmware": None, "cusum": None}
    kg_err = []                  # the firmware's LEAK events: the alarm's, then the refined one
    true_kg = beta * 916.0 / (R_AIR * (T0 + 273.15)) * 86400.0
    dt = ms / 1000.0
    i = 0
    while True:
        t = i * dt
        i += 1
        if t > end:
            break
        raw, tc, _ = day.at(t)
        tf, pq, p, t_read = part.read(raw, tc)
        ev = det.update(tf, pq)
        if ev == D.EV_LEAK_DETECTED and t >= onset:
            kg = det.leak_estimate()[1]        # None: the alarm's event, its loss not yet measured
            kg_err.append(None if kg is None else kg / true_kg - 1.0)
        hits = {"firmware": ev in ALARMS, "dpdt": trip.update(p),
                "cusum": cus.update(p * (T0 + 273.15) / (t_read + 273.15))}
        for name, hit in hits.items():
            if hit and found[name] is None:
                if t < onset:
                    false[name] += 1
                else:
                    found[name] = t - onset
        if to_alarm and (found["firmware"] is not None or false["firmware"]):
            break
        for name, rate in (("firmware", det.rate_e5 / 1e5), ("cusum", cus.rate)):
            if found[name] is not None and rate_err[name] is None and t - onset >= found[name] + 600.0:
                rate_err[name] = (rate + beta) / beta
        if found["firmware"] is not None and found["cusum"] is not None and None not in rate_err.values() \
                and len(kg_err) >= 2:
            break
    return {"beta": beta, "fan": fan_pa, "bound": bnd, "found": found, "false": false, "rate_err": rate_err,
            "kg_err": kg_err, "false_at": t if to_alarm and false["firmware"] else None}


def rapid(args) -> dict:
    """Choked decay at an initial rate beta in 100 m3, the gas cooling as it expands (dT/T = 0.4 dm/m, the
    walls warming it back over 60 s: the raw fall is ~40 % steeper at first): delay to RAPID; the kg/day,
    hole and rate of the first and the refined EV_RAPID; the telemetry rate and the reserve from it
    (tau = p / |rate|) from onset + 2 s to + 6 s. args: (beta, seed, ms[, sensor lag s]) (the BMP280's
    temperature lagging the gas: not in the emulator)."""
    beta, seed, ms = args[:3]
    lag_s = args[3] if len(args) > 3 else 0.0
    rnd = random.Random(seed)
    part = Part(rnd)
    volume = 100.0
    onset = 300.0 + rnd.uniform(0, 1)
    tau = P0 / beta
    day = Day(rnd, [], ("choked", onset, tau))
    det, trip, cus = _runners(ms, volume)
    out: dict = {"beta": beta, "firmware": None, "dpdt": None, "false": 0, "rate_err": {}, "reserve_err": {},
                 "events": []}
    dt = ms / 1000.0
    cool = 0.0                     # gas minus wall temperature, K
    sensed = None                  # the sensor's temperature (lagging the gas by lag_s)
    i = 0
    while True:
        t = i * dt
        i += 1
        raw, tc, pc = day.at(t)
        if t > onset:
            cool += -0.4 * (tc + cool + 273.15) * dt / tau - cool * dt / 60.0
        raw += pc * cool / (T0 + 273.15)
        gas = tc + cool
        sensed = gas if sensed is None or not lag_s else sensed + (gas - sensed) * min(1.0, dt / lag_s)
        tf, pq, p, t_read = part.read(raw, sensed)
        ev = det.update(tf, pq)
        tripped = trip.update(p)
        if t < onset:
            out["false"] += ev in ALARMS
            continue
        true_rate = -pc / tau
        if ev == D.EV_RAPID:
            true_kg = -true_rate * volume / (R_AIR * (T0 + 273.15)) * 86400.0
            true_mm = D.hole_mm(true_kg, raw, gas + 273.15, 0.6)
            r, kg, mm = det.leak_estimate()     # kg, mm None: not yet measured (LOSS_UNMEASURED)
            out["events"].append((t - onset, None if kg is None else (kg - true_kg) / true_kg,
                                  None if mm is None else (mm - true_mm) / true_mm))
            if out["firmware"] is None:
                out["firmware"] = t - onset
        if tripped and out["dpdt"] is None:
            out["dpdt"] = t - onset
        if t - onset >= 2.0:
            true_reserve = tau * math.log(pc / P_MIN)
            for name, rate in (("firmware", det.rate_e5 / 1e5), ("dpdt", trip.rate)):
                err = rate / true_rate - 1
                res = ((p / -rate) * math.log(p / P_MIN) - true_reserve) / true_reserve if rate < 0 else math.inf
                if abs(err) >= abs(out["rate_err"].get(name, 0.0)):
                    out["rate_err"][name] = err
                if abs(res) >= abs(out["reserve_err"].get(name, 0.0)):
                    out["reserve_err"][name] = res
        if t - onset >= 6.0:
            return out


def _cell(err: float, n: int, of: int) -> str:
    """A first event's worst error, and how many of the runs' first events carried the loss."""
    return f"{err:+.0%} {n}/{of}" if n else f"- 0/{of}"


def _rapid_table(rapid_r: list, betas, ms: int) -> tuple:
    """Print the rapid-depressurisation table; (ok, summary rows)."""
    print(f"\n== Rapid depressurisation in 100 m3 (choked decay, fast-leak cooling, {ms} ms): delay; kg/day and hole "
          f"of the first EV_RAPID (when it carries them: in n of N runs) and the refined one; telemetry rate and reserve from it, "
          f"worst from onset + 2 s to + 6 s")
    print(f"{'Pa/s':>6} | {'RAPID worst s':>13} {'1st kg/day':>14} {'1st hole':>12} {'refined at':>10} "
          f"{'kg/day':>7} {'hole':>6} {'rate err':>8} {'reserve err':>11} {'false':>5} | "
          f"{'dP/dt worst s':>13} {'rate err':>8} {'reserve err':>11}")
    ok = True
    w = dict.fromkeys(("delay", "trip", "first_kg", "first_mm", "kg", "mm", "rate", "res", "peer_rate", "peer_res"), 0.0)
    for b in betas:
        cell = [r for r in rapid_r if r["beta"] == b]
        fw_w = max(r["firmware"] if r["firmware"] is not None else math.inf for r in cell)
        tr_w = max(r["dpdt"] if r["dpdt"] is not None else math.inf for r in cell)
        first = [r["events"][0] for r in cell if r["events"] and r["events"][0][1] is not None]   # carrying the loss
        refined = [r["events"][1] for r in cell if len(r["events"]) > 1]
        ref_at = max(e[0] for e in refined) if len(refined) == len(cell) else math.inf
        row = {"first_kg": _worst([e[1] for e in first]), "first_mm": _worst([e[2] for e in first]),
               "kg": _worst([e[1] for e in refined]) if len(refined) == len(cell) else math.inf,
               "mm": _worst([e[2] for e in refined]) if len(refined) == len(cell) else math.inf,
               "rate": _worst([r["rate_err"]["firmware"] for r in cell]),
               "res": _worst([r["reserve_err"]["firmware"] for r in cell]),
               "peer_rate": _worst([r["rate_err"]["dpdt"] for r in cell]),
               "peer_res": _worst([r["reserve_err"]["dpdt"] for r in cell])}
        false = sum(r["false"] for r in cell)
        ok &= not false
        w["delay"], w["trip"] = max(w["delay"], fw_w), max(w["trip"], tr_w)
        for k, v in row.items():
            w[k] = max(w[k], abs(v) if v == v else 0.0 if k.startswith("first") else math.inf)   # (none carried)
        print(f"{b:6.1f} | {fw_w:13.2f} {_cell(row['first_kg'], len(first), len(cell)):>14} "
              f"{_cell(row['first_mm'], len(first), len(cell)):>12} {ref_at:9.2f}s "
              f"{row['kg']:+7.0%} {row['mm']:+6.0%} {row['rate']:+8.0%} {row['res']:+11.0%} {false:5d} | "
              f"{tr_w:13.2f} {row['peer_rate']:+8.0%} {row['peer_res']:+11.0%}")
    ok &= w["delay"] <= 1.0 and w["rate"] <= 0.2 and w["res"] <= 0.3
    ok &= max(w["first_kg"], w["first_mm"], w["kg"], w["mm"]) <= 0.3
    rows = {"RAPID: worst delay s": (w["delay"], w["trip"], math.nan),
            "rapid: worst rate error from +2 s": (w["rate"], w["peer_rate"], math.nan),
            "rapid: worst reserve error from +2 s": (w["res"], w["peer_res"], math.nan),
            "rapid: kg/day error, first event": (w["first_kg"], math.nan, math.nan),
            "rapid: hole error, first event": (w["first_mm"], math.nan, math.nan),
            "rapid: kg/day error, refined event": (w["kg"], math.nan, math.nan),
            "rapid: hole error, refined event": (w["mm"], math.nan, math.nan)}
    return ok, rows


def pulses(args) -> dict:
    """Ten pulses after learning, at the node's default 44 ms: alarms of each detector."""
    seed, ms = args
    rnd = random.Random(seed)
    part = Part(rnd)
    events = [(600.0 + 240.0 * k + rnd.uniform(0, 60), "pulse", rnd.uniform(85.0, 160.0), rnd.uniform(20.0, 60.0))
              for k in range(10)]
    day = Day(rnd, events)
    det, trip, cus = _runners(ms, 100.0)
    out = {"firmware": 0, "firmware_rapid": 0, "dpdt": 0, "cusum": 0}
    dt = ms / 1000.0
    for i in range(int(3300 / dt)):
        raw, tc, _ = day.at(i * dt)
        tf, pq, p, t_read = part.read(raw, tc)
        ev = det.update(tf, pq)
        out["firmware"] += ev in ALARMS
        out["firmware_rapid"] += ev == D.EV_RAPID
        out["dpdt"] += trip.update(p)
        out["cusum"] += cus.update(p * (T0 + 273.15) / (t_read + 273.15))
    return out


# --- report ----------------------------------------------------------------------------------------
def _mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else float("nan")


def _worst(xs):
    xs = [x for x in xs if x is not None]
    return max(xs, key=abs) if xs else float("nan")


def _slow_table(cells: list, betas, fan: float, ms: int):
    """One table of slow-leak rows; returns the worst mean delay / bound (firmware, -, CUSUM 60 s) and the
    firmware's worst rate error. A missed or falsely alarmed leak counts as missed."""
    what = f"with the {fan:g} Pa, {FAN_PERIOD_S:g} s fan" if fan else "no fan"
    print(f"\n== Slow leaks after 1-2 orbits, {what} (sigma {SIGMA} Pa, {ms} ms): delay vs the CUSUM bound, "
          f"rate 10 min later")
    print(f"{'beta Pa/s':>10} {'~kg/day ISS':>11} {'bound s':>8} {'bound_T s':>9} | {'firmware mean':>13} {'ratio':>6} "
          f"{'ratio_T':>7} {'missed':>6} {'false':>5} {'rate err':>8} {'kg 1st':>7} {'refined':>7} | {'CUSUM60 ratio':>13} "
          f"{'missed':>6} {'false':>5} "
          f"{'rate err':>8} | {'dP/dt trips':>11}")
    worst_ratio = worst_peer = worst_rate = worst_kg = 0.0
    for b in betas:
        cell = [r for r in cells if r["beta"] == b]
        bnd = cell[0]["bound"]
        bnd_t = bound_s(SIGMA_T, ms / 1000.0, b)
        row = []
        for name in ("firmware", "cusum"):
            delays = [r["found"][name] for r in cell if r["found"][name] is not None]
            missed = len(cell) - len(delays)
            false = sum(r["false"][name] for r in cell)
            ratio = _mean(delays) / bnd if delays else float("inf")
            rerr = _worst([r["rate_err"][name] for r in cell])
            row.append((_mean(delays), ratio, missed, false, rerr))
        dpdt = sum(1 for r in cell if r["found"]["dpdt"] is not None)
        (fm, fr, fmiss, ffalse, frerr), (_, cr, cmiss, cfalse, crerr) = row
        worst_ratio = max(worst_ratio, fr if not fmiss and not ffalse else math.inf)
        worst_peer = max(worst_peer, cr if not cmiss else math.inf)
        worst_rate = max(worst_rate, abs(frerr) if frerr == frerr else math.inf)
        # the LEAK events' kg/day (worst over parts): the alarm's (nan: it carries none, LOSS_UNMEASURED),
        # and the refined one (none: missing)
        kg1 = _worst([r["kg_err"][0] if r["kg_err"] else math.inf for r in cell])
        kg2 = _worst([r["kg_err"][1] if len(r["kg_err"]) > 1 else math.inf for r in cell])
        worst_kg = max(worst_kg, abs(kg2))
        print(f"{b:10.0e} {b / 1.07e-3:11.2f} {bnd:8.1f} {bnd_t:9.1f} | {fm:13.1f} {fr:6.2f} {fm / bnd_t:7.2f} {fmiss:6d} "
              f"{ffalse:5d} {frerr:+8.0%} {f'{kg1:+7.0%}' if kg1 == kg1 else '   none'} {kg2:+7.0%} | {cr:13.2f} {cmiss:6d} {cfalse:5d} {crerr:+8.0%} | "
              f"{dpdt:>9d}/{len(cell)}")
    return (worst_ratio, math.inf, worst_peer), worst_rate, worst_kg


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 seeds, 6 days nominal")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--days", type=float, default=None, help="nominal days in all (default 30)")
    ap.add_argument("--nominal-ms", type=int, default=500, help="sample period of the nominal month (default 500)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--fan-pa", type=float, default=FAN_PA, help="fan oscillation amplitude, Pa (default 3)")
    ap.add_argument("--fan-period", type=float, default=FAN_PERIOD_S, help="fan period, s (default 60)")
    a = ap.parse_args(argv)
    globals()["FAN_PA"] = a.fan_pa
    globals()["FAN_PERIOD_S"] = a.fan_period
    seeds = a.seeds or (3 if a.quick else 8)
    days = a.days or (6.0 if a.quick else 30.0)
    ms = 44
    dt = ms / 1000.0
    t_start = time.time()
    print(f"# bench/detection.py: firmware/detector.py and two peers on a habitat's day ({seeds} parts per cell)")
    print(f"per part: offset N(0, 33 Pa) within +-1 hPa, tempco U(-1.5, 1.5) Pa/K, noise {SIGMA} Pa; "
          f"+-0.6 K orbit of {ORBIT_S:.0f} s, {FAN_PA:g} Pa fan ({FAN_PERIOD_S:g} s), pulses -85..-160 Pa, repress +300 Pa / 10 min")
    parts = max(a.workers, 6)
    betas = (1e-3, 3e-3, 1e-2, 3e-2)
    rapid_betas = (10.0, 21.4, 100.0)
    with ProcessPoolExecutor(a.workers) as pool:
        fans = (0.0, FAN_PA) if FAN_PA else (0.0,)
        slow_jobs = [(b, 1000 * k + 7, ms, f) for f in fans for b in betas for k in range(seeds)]
        slow_f = pool.map(slow_leak, slow_jobs, chunksize=1)
        rapid_jobs = [(b, 500 + k, ms) for b in rapid_betas for k in range(max(seeds, 5))]
        rapid_f = pool.map(rapid, rapid_jobs)
        pulse_f = pool.map(pulses, [(300 + k, ms) for k in range(seeds)])
        nom_f = pool.map(nominal, [(days / parts, 90 + k, a.nominal_ms) for k in range(parts)])
        slow_r, rapid_r, pulse_r, nom_r = list(slow_f), list(rapid_f), list(pulse_f), list(nom_f)
    ok = True
    summary: dict = {}

    print(f"\n== False alarms: {days:g} days of the habitat day ({parts} parts, {a.nominal_ms} ms sampling, "
          f"{sum(r['pulses'] for r in nom_r)} pulses, {sum(r['represses'] for r in nom_r)} represses)")
    per_month = {}
    for name in ("firmware", "dpdt", "cusum"):
        n = sum(len(r[name]) for r in nom_r)
        per_month[name] = n * 30.0 / days
        print(f"{name:>9}: {n} alarms = {per_month[name]:.1f} per 30 days; first {sorted(x for r in nom_r for x in r[name])[:4]}")
    print(f"firmware statistic peaked at {max(r['top'] for r in nom_r) / 100:.0f} % of its threshold")
    ok &= per_month["firmware"] == 0
    summary["false alarms / 30 days"] = (per_month["firmware"], per_month["dpdt"], per_month["cusum"])

    print("\n== Pulses at 44 ms (10 per part): alarms")
    fw = sum(r["firmware"] for r in pulse_r)
    print(f"firmware {fw} (RAPID {sum(r['firmware_rapid'] for r in pulse_r)}), dP/dt trip "
          f"{sum(r['dpdt'] for r in pulse_r)}, block CUSUM {sum(r['cusum'] for r in pulse_r)} over {10 * len(pulse_r)} pulses")
    ok &= fw == 0
    summary["alarms on pulses"] = (fw, sum(r["dpdt"] for r in pulse_r), sum(r["cusum"] for r in pulse_r))

    for fan in fans:
        ratio, rate, kg = _slow_table([r for r in slow_r if r["fan"] == fan], betas, fan, ms)
        ok &= ratio[0] < math.inf and kg <= 0.3      # none missed, no false alarm before the onset
        ok &= ratio[0] <= 1.5 and rate <= 0.3        # issue 9's goal, with the fan as without it
        tag = f"with the {fan:g} Pa fan" if fan else "no fan"
        summary[f"slow leak ({tag}): worst mean delay / bound"] = ratio
        summary[f"slow leak ({tag}): worst rate error 10 min after"] = (rate, math.nan, math.nan)
        summary[f"slow leak ({tag}): kg/day error, refined event"] = (kg, math.nan, math.nan)

    rapid_ok, rapid_rows = _rapid_table(rapid_r, rapid_betas, ms)
    ok &= rapid_ok
    summary.update(rapid_rows)

    print("\n== Summary (goal: 0 false alarms / 30 days and on pulses, slow delay <= 1.5x bound, RAPID <= 1 s, "
          "rate <= 20 % fast / 30 % slow, reserve and kg/day <= 30 %)")
    print(f"{'':56} {'firmware':>10} {'dP/dt 10 s':>10} {'CUSUM 60 s':>10}")
    for k, vals in summary.items():
        cells = []
        for v in vals:
            if v != v:
                cells.append("-")
            elif math.isinf(v):
                cells.append("missed")
            elif "error" in k:
                cells.append(f"{v:.0%}")
            else:
                cells.append(f"{v:.2f}" if isinstance(v, float) and not float(v).is_integer() else f"{v:g}")
        print(f"{k:56} {cells[0]:>10} {cells[1]:>10} {cells[2]:>10}")
    print(f"\n{'PASS' if ok else 'FAIL'} in {time.time() - t_start:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
