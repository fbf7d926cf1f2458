"""Sample streams for detector tests: physics truth (hil.physics) read through the BMP280
emulator's per-part error model (hil.emu.bmp280: offset, offset temperature coefficient, noise,
output resolution), without the register-level emulation so that hours of 44 ms samples take
seconds. Expectations come from the truth (`Truth`), never from the detector.
"""
import math
import random

import detector as D

from safehaven.hil.emu import bmp280 as emu
from safehaven.hil.emu.prng import PRNG
from safehaven.hil.physics import Habitat, Leak, Zone, hole_for_rate

P_NOISE_PA = emu._P_NOISE_PA[5]          # x16 oversampling, no IIR: the node's configuration
T_NOISE_C = emu._T_NOISE_C
T_STEP_C = 0.0025                        # x2 temperature oversampling: 17-bit, 0.0025 degC
P_STEP_PA = 0.16                         # x16 pressure oversampling: 20-bit, 0.16 Pa
ORBIT_S = 5580.0                         # ~93-minute orbital thermal cycle


class Part:
    """One BMP280's errors, drawn as the emulator draws them unless given."""

    def __init__(self, seed=1, offset_pa=None, tempco_pa_k=None, noise_pa=P_NOISE_PA):
        rnd = random.Random(seed)
        self.offset_pa = rnd.gauss(0.0, 33.0) if offset_pa is None else offset_pa
        self.tempco_pa_k = rnd.uniform(-1.5, 1.5) if tempco_pa_k is None else tempco_pa_k
        self.noise_pa = noise_pa
        self.rnd = random.Random(seed * 7919 + 1)

    def read(self, pressure_pa, temperature_c):
        """(t_fine, Q24.8 Pa) as the driver hands them to the detector."""
        t_c = temperature_c + self.rnd.gauss(0.0, T_NOISE_C)
        p = pressure_pa + self.offset_pa + self.tempco_pa_k * (t_c - 25.0) + self.rnd.gauss(0.0, self.noise_pa)
        t_c = round(t_c / T_STEP_C) * T_STEP_C
        p = round(p / P_STEP_PA) * P_STEP_PA
        return int(t_c * 5120), int(p * 256)


def module(volume_m3=916.0, amplitude_c=0.6, period_s=ORBIT_S, temperature_c=22.0, pressure_pa=101325.0):
    return Zone("m", volume_m3, pressure_pa=pressure_pa, temperature_c=temperature_c,
                temp_amplitude_c=amplitude_c, temp_period_s=period_s)


def leak_hole_mm(kg_day, pressure_pa=101325.0, temperature_c=22.0):
    return hole_for_rate(kg_day, pressure_pa, temperature_c + 273.15)


class Truth:
    """The physics, advanced sample by sample; `extra(t)` adds a pressure disturbance (Pa) that
    moves no air out (pulses, fans, repress) to what the sensor sees, at the first sample's
    temperature (it follows the gas law from there)."""

    def __init__(self, zone, leaks=(), extra=None):
        self.hab = Habitat([zone], leaks=list(leaks))
        self.zone = zone
        self.extra = extra
        self.tref_k = None

    def at(self, t_s):
        self.hab.advance_to(t_s)
        tr = self.hab.truth(self.zone.name)
        if self.tref_k is None:
            self.tref_k = tr["temperature_c"] + 273.15
        # what stays (a repress's air, a hatch opened to another volume) is gas and follows the
        # gas law as the rest does; a fan's or a pulse's part of it is changed by ~0.2 %, nothing
        extra = self.extra(t_s) * (tr["temperature_c"] + 273.15) / self.tref_k if self.extra else 0.0
        return tr["pressure_pa"] + extra, tr["temperature_c"]

    def rate_pa_s(self):
        """True dP/dt of the compensated pressure (referred to the first sample's temperature)."""
        mdot = self.hab.leak_rate_kg_day(self.zone.name) / 86400.0
        return -mdot * 287.05 * self.tref_k / self.zone.volume_m3

    def kg_day(self):
        return self.hab.leak_rate_kg_day(self.zone.name)


def run(det, truth, part, sample_ms, duration_s, start_s=0.0, on_event=None, on_block=None, every_s=1.0, scd=None):
    """Feed the detector; on_event(t, ev, det) for every event, on_block(t, det) every every_s;
    scd (a Hygrometer): its reading every 5 s to det.vapour, as the node does."""
    dt = sample_ms / 1000.0
    n = int(round((duration_s - start_s) / dt))
    next_block = start_s
    next_scd = start_s + 1.0
    events = []
    for i in range(n):
        t = start_s + i * dt
        p, tc = truth.at(t)
        tf, pq8 = part.read(p, tc)
        ev = det.update(tf, pq8)
        if scd is not None and t >= next_scd:
            next_scd += SCD_PERIOD_S
            det.vapour(*scd.read(t, tc))
        if ev != -1:
            events.append((t, ev))
            if on_event:
                on_event(t, ev, det)
        if on_block and t >= next_block:
            next_block += every_s
            on_block(t, det)
    return events


SCD_PERIOD_S = 5.0


def saturation_pa(temperature_c):
    """Magnus: the water vapour's saturation pressure (Pa) over water."""
    return 610.94 * math.exp(17.625 * temperature_c / (temperature_c + 243.04))


class Hygrometer:
    """An SCD4x's RH and temperature readings as hil/emu/scd4x.py draws its per-part errors (RH within
    +-6 %RH, temperature within +-0.8 K, 3 sigma = the datasheet's; noise 0.1 %RH and 0.02 K) for a
    node id. vapour_pa(t, temperature_c): the air's true water vapour pressure (Pa)."""

    def __init__(self, node_id, vapour_pa):
        g = PRNG(node_id)
        bounded = [max(-lim, min(lim, g.gauss(sig))) for sig, lim in ((40.0 / 3, 40.0), (0.05 / 3, 0.05), (0.8 / 3, 0.8), (2.0, 6.0))]
        self.t_error_c, self.rh_error_pct = bounded[2], bounded[3]
        self.vapour_pa = vapour_pa
        self.noise = g

    def read(self, t, temperature_c):
        """(0.01 degC, 0.01 %RH) as the driver hands them over: RH relative to the sensor's temperature."""
        rh = 100.0 * self.vapour_pa(t, temperature_c) / saturation_pa(temperature_c)
        t_c = temperature_c + self.t_error_c + self.noise.gauss(0.02)
        rh = rh + self.rh_error_pct + self.noise.gauss(0.1)
        return int(round(t_c * 100)), int(round(min(100.0, max(0.0, rh)) * 100))


def sealed_vapour(rh_pct=40.0, temperature_c=22.0, extra=None):
    """A sealed module's vapour: what rh_pct at temperature_c holds, following the gas law with the
    temperature (no water added or taken), plus extra(t) Pa (a crew's, at temperature_c) likewise."""
    e0 = rh_pct / 100.0 * saturation_pa(temperature_c)
    t0_k = temperature_c + 273.15
    return lambda t, tc: (e0 + (extra(t) if extra else 0.0)) * (tc + 273.15) / t0_k


def exercise_vapour(d_rh_pct, start_s=3600.0, rise_s=2700.0, dry_s=3600.0, temperature_c=22.0):
    """A crew's exercise (Pa of water vapour added): d_rh_pct at temperature_c, ramped up over rise_s from
    start_s, dried back by the heat exchanger over dry_s; no air is lost."""
    top = d_rh_pct / 100.0 * saturation_pa(temperature_c)

    def f(t):
        if t < start_s:
            return 0.0
        if t < start_s + rise_s:
            return top * (t - start_s) / rise_s
        return top * max(0.0, 1.0 - (t - start_s - rise_s) / dry_s)
    return f


def alarm_times(events):
    """The whole seconds of the LEAK and RAPID events among run()'s (t, event) pairs."""
    return [round(t) for t, ev in events if ev in (D.EV_LEAK_DETECTED, D.EV_RAPID)]


def day_alarms(node_id, extra, volume_m3, sample_ms, duration_s, scd=None, on_block=None):
    """(detector, alarm_times) of one part (node_id's emulator errors) on the orbit of a module of volume_m3 with
    extra(t) Pa on top of its gas law (fans, vapour, scrubbed CO2), sampled every sample_ms for duration_s."""
    truth = Truth(module(volume_m3=volume_m3), extra=extra)
    det = D.Detector(sample_ms=sample_ms, params={"volume_l": int(volume_m3 * 1000)})
    events = run(det, truth, emulator_part(node_id), sample_ms, duration_s, scd=scd, on_block=on_block)
    return det, alarm_times(events)


def pulse(t0, drop_pa, fall_s=0.1, recover_s=40.0):
    """A valve pulse or hatch operation: -drop within fall_s, recovering linearly over recover_s."""
    def f(t):
        if t < t0:
            return 0.0
        if t < t0 + fall_s:
            return -drop_pa * (t - t0) / fall_s
        if t < t0 + fall_s + recover_s:
            return -drop_pa * (1.0 - (t - t0 - fall_s) / recover_s)
        return 0.0
    return f


def cycle(period_s, amplitude_pa):
    return lambda t: amplitude_pa * math.sin(2 * math.pi * t / period_s)


def recovery(t0, drop_pa, tau_s):
    """A pulse as hil.physics makes one (scenario `pulse`): -drop at once, flowing back as e^(-t/tau)."""
    return lambda t: -drop_pa * math.exp(-(t - t0) / tau_s) if t >= t0 else 0.0


def emulator_part(node_id):
    """The per-part errors hil/emu/bmp280.py draws for a node id (its seed), noise from the same id."""
    g = PRNG(node_id)
    offset = max(-100.0, min(100.0, g.gauss(33.0)))
    return Part(seed=node_id, offset_pa=offset, tempco_pa_k=g.uniform(-1.5, 1.5))
