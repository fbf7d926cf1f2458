"""Habitat and vacuum-chamber physics for the virtual bench (CPython, deterministic, virtual time).

The model is a handful of well-mixed gas volumes:
- a Zone holds a mass of air at a gas temperature; pressure follows the ideal gas law p = m·R·T/V,
  so a wall-temperature cycle moves pressure by p/T per kelvin (~343 Pa/K at 1 atm, 295 K);
- a Leak is a sharp-edged orifice to vacuum (or, for a chamber, from the room into the chamber);
  flow is the compressible orifice law, choked below the critical pressure ratio, which gives
  REFERENCE.md's ṁ = 0.0404·Cd·A·p/√T (2 mm in an ISS volume ~39 kg/day; 10 L with 0.2 mm ~38 Pa/s);
- a fast leak cools the remaining gas isentropically (dT/T = (γ-1)·dm/m) while the walls warm it back
  with a first-order time constant, so pressure falls faster than isothermal decay at first;
- crew exhale CO2 (~1 kg/day each), a scrubber removes it from the air it processes;
- a Hatch joins two zones: open, air flows through it (clamped to pressure equalisation) and fans
  exchange air at a mixing rate; closed, nothing passes;
- a Chamber is a zone with a pump (speed, base pressure), outgassing vapour that bends a rate-of-rise
  curve over (isolated: a + b·(1 − e^(−t/τ)), τ = saturation·V / initial throughput, or given), a vent
  valve and a needle valve to the room;
- what moves a habitat's pressure that is not a leak (REFERENCE.md section 9): a pressure pulse (hatch
  operation, valve pulse: air moves within 0.1 s into an adjoining volume and flows back with a time
  constant, nothing lost), a scheduled repress (air added at a constant rate) and a fan oscillation
  (a small periodic pressure term, no mass).

Truth for accuracy checks: `compensated_pa` (the pressure at the zone's mean wall temperature, i.e. the
air mass: what a P/T-compensated sensor tracks) and `reserve_s` (τ·ln(p/p_min) from the true holes).

Everything advances in substeps of at most `max_substep_s`; the same inputs give the same outputs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

GAMMA = 1.4
R_AIR = 287.05            # J/(kg·K), specific gas constant of dry air
M_AIR = 0.028965          # kg/mol
M_CO2 = 0.04401           # kg/mol
CRITICAL_RATIO = (2 / (GAMMA + 1)) ** (GAMMA / (GAMMA - 1))  # 0.528: below it the orifice chokes
CHOKED_K = math.sqrt(GAMMA / R_AIR * (2 / (GAMMA + 1)) ** ((GAMMA + 1) / (GAMMA - 1)))  # 0.0404
ZERO_C = 273.15
ATM_PA = 101325.0
CREW_CO2_KG_DAY = 1.0     # REFERENCE.md: a person exhales roughly 1 kg CO2/day
DAY_S = 86400.0


def hole_area_m2(diameter_mm: float) -> float:
    r = diameter_mm * 1e-3 / 2
    return math.pi * r * r


def orifice_mass_flow(p_up: float, t_up_k: float, p_down: float, cd: float, area_m2: float) -> float:
    """Mass flow (kg/s) from p_up to p_down through an orifice: choked or subsonic isentropic flow."""
    if p_up <= p_down or area_m2 <= 0 or p_up <= 0:
        return 0.0
    ratio = p_down / p_up
    if ratio <= CRITICAL_RATIO:
        return CHOKED_K * cd * area_m2 * p_up / math.sqrt(t_up_k)
    term = ratio ** (2 / GAMMA) - ratio ** ((GAMMA + 1) / GAMMA)
    return cd * area_m2 * p_up * math.sqrt(2 * GAMMA / ((GAMMA - 1) * R_AIR * t_up_k) * max(term, 0.0))


def hole_for_rate(rate_kg_day: float, pressure_pa: float, temperature_k: float, cd: float = 0.6) -> float:
    """Equivalent hole diameter (mm) of a choked leak to vacuum losing rate_kg_day."""
    mdot = rate_kg_day / DAY_S
    area = mdot * math.sqrt(temperature_k) / (CHOKED_K * cd * pressure_pa)
    return 2 * math.sqrt(area / math.pi) * 1e3


@dataclass
class Zone:
    name: str
    volume_m3: float
    pressure_pa: float = ATM_PA
    temperature_c: float = 22.0
    temp_amplitude_c: float = 0.0      # wall temperature cycle (orbital ~90 min, daily ~24 h)
    temp_period_s: float = 5400.0
    co2_ppm: float = 400.0
    rh_pct: float = 40.0
    crew: int = 0
    co2_per_crew_kg_day: float = CREW_CO2_KG_DAY
    scrub_m3_h: float = 0.0            # air processed by the CO2 scrubber (removes all CO2 in it)
    wall_tau_s: float = 60.0           # how fast the walls bring cooled gas back to wall temperature
    safe_haven: bool = False
    fan_amplitude_pa: float = 0.0      # fan-driven pressure oscillation (no mass moves)
    fan_period_s: float = 60.0
    # state (set in __post_init__)
    mass_kg: float = field(init=False, default=0.0)
    gas_dt_k: float = field(init=False, default=0.0)   # gas temperature minus wall temperature
    co2_mol: float = field(init=False, default=0.0)
    held_kg: float = field(init=False, default=0.0)    # air a pulse moved out, flowing back
    held_tau_s: float = field(init=False, default=1.0)
    repress_kg_s: float = field(init=False, default=0.0)
    repress_until_s: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.mass_kg = self.pressure_pa * self.volume_m3 / (R_AIR * self.wall_k(0.0))
        self.co2_mol = self.co2_ppm * 1e-6 * self.mass_kg / M_AIR

    def wall_k(self, t_s: float) -> float:
        cyc = 0.0
        if self.temp_amplitude_c and self.temp_period_s > 0:
            cyc = self.temp_amplitude_c * math.sin(2 * math.pi * t_s / self.temp_period_s)
        return self.temperature_c + cyc + ZERO_C

    def gas_k(self, t_s: float) -> float:
        return self.wall_k(t_s) + self.gas_dt_k

    def pressure(self, t_s: float) -> float:
        return self.mass_kg * R_AIR * self.gas_k(t_s) / self.volume_m3

    def fan_pa(self, t_s: float) -> float:
        if not self.fan_amplitude_pa or self.fan_period_s <= 0:
            return 0.0
        return self.fan_amplitude_pa * math.sin(2 * math.pi * t_s / self.fan_period_s)

    def compensated_pa(self) -> float:
        """The pressure this air mass has at the zone's mean wall temperature: what P/T compensation tracks."""
        return self.mass_kg * R_AIR * (self.temperature_c + ZERO_C) / self.volume_m3

    def co2(self) -> float:
        total_mol = self.mass_kg / M_AIR
        return 1e6 * self.co2_mol / total_mol if total_mol > 0 else 0.0

    def remove_mass(self, dm_kg: float, t_s: float) -> None:
        """Air leaves (dm > 0): CO2 leaves with it; the remaining gas expands and cools isentropically."""
        if dm_kg <= 0 or self.mass_kg <= 0:
            return
        dm_kg = min(dm_kg, self.mass_kg * 0.5)
        frac = dm_kg / self.mass_kg
        self.gas_dt_k -= (GAMMA - 1) * self.gas_k(t_s) * frac
        self.co2_mol *= 1 - frac
        self.mass_kg -= dm_kg

    def add_mass(self, dm_kg: float, co2_ppm: float) -> None:
        if dm_kg <= 0:
            return
        self.co2_mol += co2_ppm * 1e-6 * dm_kg / M_AIR
        self.mass_kg += dm_kg


@dataclass
class Leak:
    zone: str
    onset_s: float = 0.0
    diameter_mm: float = 0.0
    cd: float = 0.6
    grow_to_mm: Optional[float] = None   # diameter reached at onset + grow_s (linear in area)
    grow_s: float = 0.0
    end_s: Optional[float] = None        # patched at this time

    def area_m2(self, t_s: float) -> float:
        if t_s < self.onset_s or (self.end_s is not None and t_s >= self.end_s):
            return 0.0
        a0 = hole_area_m2(self.diameter_mm)
        if self.grow_to_mm is None or self.grow_s <= 0:
            return a0
        f = min(1.0, (t_s - self.onset_s) / self.grow_s)
        return a0 + f * (hole_area_m2(self.grow_to_mm) - a0)


@dataclass
class Hatch:
    a: str
    b: str
    diameter_m: float = 0.8
    open: bool = True
    mixing_m3_s: float = 0.07            # intermodule ventilation through an open hatch

    @property
    def name(self) -> str:
        return f"{self.a}-{self.b}"


@dataclass
class Chamber:
    """Vacuum-chamber extras for one zone: pump, outgassing vapour, vent and needle valves."""
    zone: str
    pump_speed_l_s: float = 5.0
    base_pressure_pa: float = 1.0
    outgassing_pa_l_s: float = 0.0      # initial vapour throughput from the walls
    outgassing_sat_pa: float = 50.0     # vapour partial pressure at which desorption stops
    outgassing_tau_s: float = 0.0       # or the rise's time constant (sets the throughput)
    vent_diameter_mm: float = 6.0
    needle_diameter_mm: float = 0.2
    room_pressure_pa: float = ATM_PA
    room_temperature_c: float = 22.0
    pump_on: bool = False
    vent_open: bool = False
    needle_open: bool = False
    vapour_pa: float = field(init=False, default=0.0)

    def outgassing_tau(self, volume_m3: float) -> float:
        """Time constant of the isolated rise v = sat - (sat - v0)·e^(-t/τ) (0: no outgassing):
        desorption slows in proportion to the vapour's distance from saturation, τ = sat·V / Q."""
        if self.outgassing_sat_pa <= 0:
            return 0.0
        if self.outgassing_tau_s > 0:
            return self.outgassing_tau_s
        if self.outgassing_pa_l_s > 0:
            return self.outgassing_sat_pa * volume_m3 * 1e3 / self.outgassing_pa_l_s
        return 0.0


class Habitat:
    """All zones, hatches, leaks and (optionally) a chamber, advanced together in virtual time."""

    def __init__(self, zones: list[Zone], hatches: Optional[list[Hatch]] = None,
                 leaks: Optional[list[Leak]] = None, chamber: Optional[Chamber] = None,
                 max_substep_s: float = 0.05):
        self.zones = {z.name: z for z in zones}
        self.hatches = list(hatches or [])
        self.leaks = list(leaks or [])
        self.chamber = chamber
        self.max_substep_s = max_substep_s
        self.t_s = 0.0
        self.leaked_kg = 0.0

    # --- queries ---------------------------------------------------------------------
    def truth(self, zone: str) -> dict:
        z = self.zones[zone]
        p = z.pressure(self.t_s) + z.fan_pa(self.t_s)
        if self.chamber is not None and self.chamber.zone == zone:
            p += self.chamber.vapour_pa
        return {"pressure_pa": p, "temperature_c": z.gas_k(self.t_s) - ZERO_C,
                "co2_ppm": z.co2(), "rh_pct": z.rh_pct}

    def leak_rate_kg_day(self, zone: str) -> float:
        """Current true loss to vacuum from `zone` (negative for a chamber gaining air)."""
        z = self.zones[zone]
        total = 0.0
        for leak in self.leaks:
            if leak.zone == zone:
                total += self._leak_flow(leak, z)
        return total * DAY_S

    def connected(self, zone: str) -> list[str]:
        """The zones sharing air with `zone` through open hatches (itself included)."""
        group, todo = {zone}, [zone]
        while todo:
            z = todo.pop()
            for h in self.hatches:
                if h.open and z in (h.a, h.b):
                    other = h.b if z == h.a else h.a
                    if other not in group:
                        group.add(other)
                        todo.append(other)
        return sorted(group)

    def hole_mm(self, zone: str) -> float:
        """Equivalent diameter of the holes open now in `zone` (areas added)."""
        area = sum(leak.area_m2(self.t_s) for leak in self.leaks if leak.zone == zone)
        return 2 * math.sqrt(area / math.pi) * 1e3

    def reserve_s(self, zone: str, min_safe_pa: float) -> Optional[float]:
        """True reserve time to min_safe_pa: τ·ln(p/p_min), τ = V / (0.0404·R·√T · Σ Cd·A) over the zones
        joined by open hatches (REFERENCE.md sections 2 and 9); None without a hole."""
        group = self.connected(zone)
        volume = sum(self.zones[g].volume_m3 for g in group)
        conductance = sum(leak.cd * leak.area_m2(self.t_s) for leak in self.leaks if leak.zone in group)
        if conductance <= 0:
            return None
        t_k = self.zones[zone].temperature_c + ZERO_C
        tau = volume / (CHOKED_K * R_AIR * math.sqrt(t_k) * conductance)
        p = self.zones[zone].pressure(self.t_s)
        return tau * math.log(p / min_safe_pa) if p > min_safe_pa else 0.0

    # --- disturbances that are not leaks (scenario events) -----------------------------------
    def pulse(self, zone: str, drop_pa: float, recover_s: float) -> None:
        """A hatch operation or valve pulse: drop_pa of air leaves at once into an adjoining volume and
        flows back, 95 % of it within recover_s (time constant recover_s / 3); no air is lost."""
        z = self.zones[zone]
        dm = min(drop_pa * z.volume_m3 / (R_AIR * z.gas_k(self.t_s)), 0.5 * z.mass_kg)
        frac = dm / z.mass_kg
        z.co2_mol *= 1 - frac
        z.mass_kg -= dm
        z.held_kg += dm
        z.held_tau_s = max(recover_s / 3.0, 1e-3)

    def repress(self, zone: str, rise_pa: float, over_s: float) -> None:
        """A scheduled repress: air from the tanks raises the pressure by rise_pa at a constant rate over over_s."""
        z = self.zones[zone]
        z.repress_kg_s = rise_pa * z.volume_m3 / (R_AIR * (z.temperature_c + ZERO_C)) / max(over_s, 1e-3)
        z.repress_until_s = self.t_s + over_s

    def hatch(self, name: str) -> Hatch:
        for h in self.hatches:
            if h.name == name or f"{h.b}-{h.a}" == name:
                return h
        raise KeyError(name)

    # --- stepping ----------------------------------------------------------------------
    def advance_to(self, t_s: float) -> None:
        while self.t_s < t_s - 1e-12:
            dt = min(self.max_substep_s, t_s - self.t_s)
            self._substep(dt)
            self.t_s += dt

    def _leak_flow(self, leak: Leak, z: Zone) -> float:
        area = leak.area_m2(self.t_s)
        if area <= 0:
            return 0.0
        if self.chamber is not None and self.chamber.zone == z.name:
            c = self.chamber  # a chamber leak lets room air in
            return -orifice_mass_flow(c.room_pressure_pa, c.room_temperature_c + ZERO_C,
                                      z.pressure(self.t_s), leak.cd, area)
        return orifice_mass_flow(z.pressure(self.t_s), z.gas_k(self.t_s), 0.0, leak.cd, area)

    def _substep(self, dt: float) -> None:
        t = self.t_s
        for leak in self.leaks:
            z = self.zones[leak.zone]
            flow = self._leak_flow(leak, z) * dt
            if flow > 0:
                z.remove_mass(flow, t)
                self.leaked_kg += flow
            elif flow < 0:
                z.add_mass(-flow, 400.0)
        for h in self.hatches:
            if h.open:
                self._hatch_flow(h, dt)
        for z in self.zones.values():
            self._crew_and_scrubber(z, dt)
            self._pulse_and_repress(z, t, dt)
            z.gas_dt_k *= math.exp(-dt / z.wall_tau_s)  # walls restore gas temperature
        if self.chamber is not None:
            self._chamber(self.chamber, dt)

    def _hatch_flow(self, h: Hatch, dt: float) -> None:
        za, zb = self.zones[h.a], self.zones[h.b]
        t = self.t_s
        pa, pb = za.pressure(t), zb.pressure(t)
        up, down = (za, zb) if pa > pb else (zb, za)
        p_up, p_down = max(pa, pb), min(pa, pb)
        area = math.pi * (h.diameter_m / 2) ** 2
        dm = orifice_mass_flow(p_up, up.gas_k(t), p_down, 0.6, area) * dt
        # never overshoot equalisation: mass that would make both pressures equal
        k_up = R_AIR * up.gas_k(t) / up.volume_m3
        k_down = R_AIR * down.gas_k(t) / down.volume_m3
        dm = min(dm, (p_up - p_down) / (k_up + k_down))
        if dm > 0:
            ppm = up.co2()
            frac = dm / up.mass_kg
            up.co2_mol *= 1 - frac
            up.mass_kg -= dm
            down.add_mass(dm, ppm)
        # fans mix the two volumes: equal air volumes swapped, CO2 follows concentration
        swap = min(h.mixing_m3_s * dt, 0.5 * min(za.volume_m3, zb.volume_m3))
        ca, cb = za.co2_mol / za.volume_m3, zb.co2_mol / zb.volume_m3
        moved = (ca - cb) * swap
        za.co2_mol -= moved
        zb.co2_mol += moved

    @staticmethod
    def _pulse_and_repress(z: Zone, t: float, dt: float) -> None:
        if z.held_kg > 0:
            back = z.held_kg * (1 - math.exp(-dt / z.held_tau_s))
            z.held_kg -= back
            z.add_mass(back, z.co2())
        if z.repress_kg_s > 0 and t < z.repress_until_s:
            z.add_mass(z.repress_kg_s * min(dt, z.repress_until_s - t), 0.0)

    @staticmethod
    def _crew_and_scrubber(z: Zone, dt: float) -> None:
        if z.crew:
            z.co2_mol += z.crew * z.co2_per_crew_kg_day / DAY_S * dt / M_CO2
        if z.scrub_m3_h > 0:
            frac = min(1.0, z.scrub_m3_h / 3600.0 * dt / z.volume_m3)
            z.co2_mol -= z.co2_mol * frac

    def _chamber(self, c: Chamber, dt: float) -> None:
        z = self.zones[c.zone]
        t = self.t_s
        room_k = c.room_temperature_c + ZERO_C
        p = z.pressure(t)
        if c.pump_on:
            # throughput S·(p - p_base) removes air and vapour alike
            k = math.exp(-c.pump_speed_l_s * 1e-3 * dt / z.volume_m3)
            target = min(c.base_pressure_pa, p)
            new_p = target + (p - target) * k
            z.mass_kg *= new_p / p if p > 0 else 1.0
            c.vapour_pa *= k
        if c.vent_open:
            z.add_mass(orifice_mass_flow(c.room_pressure_pa, room_k, p, 0.6,
                                         hole_area_m2(c.vent_diameter_mm)) * dt, 400.0)
            self._clamp_to_room(z, c)
        if c.needle_open:
            z.add_mass(orifice_mass_flow(c.room_pressure_pa, room_k, p, 0.6,
                                         hole_area_m2(c.needle_diameter_mm)) * dt, 400.0)
            self._clamp_to_room(z, c)
        tau = c.outgassing_tau(z.volume_m3)
        if tau > 0 and c.vapour_pa < c.outgassing_sat_pa:
            # desorption slows as the vapour approaches saturation: isolated, the rise bends over
            # as a + b·(1 - e^(-t/τ)), b = sat - v0 (stepped exactly, whatever the substep)
            c.vapour_pa += (c.outgassing_sat_pa - c.vapour_pa) * -math.expm1(-dt / tau)

    def _clamp_to_room(self, z: Zone, c: Chamber) -> None:
        limit = c.room_pressure_pa * z.volume_m3 / (R_AIR * z.gas_k(self.t_s))
        z.mass_kg = min(z.mass_kg, limit)
