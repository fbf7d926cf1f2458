"""Sample streams for chamber-mode detector tests and bench/chamber.py: a 10 L chamber isolated at
35 kPa (inside the BMP280's 30-110 kPa range) from hil.physics, its walls outgassing as
a + b (1 - e^(-t/tau)), a needle valve (a choked orifice from the room: a constant rate of rise),
read through the BMP280 emulator's per-part errors (habitat_streams.Part) at the node's default 44 ms.
Expectations come from the physics (`ChamberTruth`), never from the detector."""
import math

import detector as D
import habitat_streams as S
from safehaven.hil.physics import R_AIR, ZERO_C, Chamber, Habitat, Zone, hole_area_m2, orifice_mass_flow

MS = 44
V_M3 = 0.010
P_TEST = 35000.0
SPEC_PA_S = 0.05          # the chamber's leak-test spec (drift_pa_s), as scenarios/chamber_*.toml
# outgassing as a vacuum course's rate-of-rise record: 0.20 -> 0.58 mbar in 10 minutes, the rate
# falling from 0.10 to 0.016 mbar/min (vactech.pages.dev, module 2): b ~40 Pa, tau ~200 s
B_PA, TAU_S = 40.0, 200.0
ROOM_K = 22.0 + ZERO_C


def needle_mm(rate_pa_s, volume_m3=V_M3):
    """The needle valve's equivalent hole for a rate of rise into the chamber (choked from the room)."""
    mdot = rate_pa_s * volume_m3 / (R_AIR * ROOM_K)
    area = mdot * math.sqrt(ROOM_K) / (0.0404 * 0.6 * 101325.0)
    return 2e3 * math.sqrt(area / math.pi)


class ChamberTruth:
    """An isolated chamber: outgassing (b, tau) from t=0, the needle valve open from leak_s; real
    walls desorb with many time constants: more_vapour adds a second source's vapour pressure."""

    def __init__(self, b_pa=B_PA, tau_s=TAU_S, leak_pa_s=0.0, leak_s=None, pressure_pa=P_TEST, more_vapour=None):
        self.zone = Zone("ch", V_M3, pressure_pa=pressure_pa)
        self.ch = Chamber("ch", outgassing_sat_pa=b_pa, outgassing_tau_s=tau_s,
                          needle_diameter_mm=needle_mm(leak_pa_s) if leak_pa_s else 0.2)
        self.hab = Habitat([self.zone], chamber=self.ch)
        self.leak_s = leak_s
        self.more_vapour = more_vapour    # t_s -> Pa: another source's vapour (no air comes in)

    def at(self, t_s):
        self.ch.needle_open = self.leak_s is not None and t_s >= self.leak_s
        self.hab.advance_to(t_s)
        tr = self.hab.truth("ch")
        return tr["pressure_pa"] + (self.more_vapour(t_s) if self.more_vapour else 0.0), tr["temperature_c"]

    def kg_day(self):
        """Air coming in through the needle now (the gain a leak test reports)."""
        if not self.ch.needle_open:
            return 0.0
        return orifice_mass_flow(101325.0, ROOM_K, self.zone.pressure(self.hab.t_s), 0.6,
                                 hole_area_m2(self.ch.needle_diameter_mm)) * 86400.0

    def rate_pa_s(self):
        """True rate of rise of the air (compensated: referred to the chamber's temperature)."""
        return self.kg_day() / 86400.0 * R_AIR * (self.zone.temperature_c + ZERO_C) / V_M3


def two_exponentials(t_s):
    """A second desorbing source (more_vapour) beside the default: b 200 Pa, tau 40 min."""
    return 200.0 * (1.0 - math.exp(-t_s / 2400.0))


def desorption_1_over_t(t_s):
    """Desorption as ~1/t, many time constants at once (more_vapour): 0.5 Pa/s / (1 + t / 120 s)."""
    return 60.0 * math.log(1.0 + t_s / 120.0)


def detector(ms=MS, spec_pa_s=SPEC_PA_S, **params):
    return D.Detector(ms, dict(params, mode=D.CHAMBER, drift_pa_s=spec_pa_s, volume_l=V_M3 * 1e3))


def run(seed, duration_s, truth, spec_pa_s=SPEC_PA_S, **params):
    """[(t, event, rate Pa/s, kg/day, true rate, true kg/day)] and the detector's highest statistic
    (params: the chamber's other detector parameters, e.g. outgas_pa_s)."""
    det = detector(spec_pa_s=spec_pa_s, **params)
    out = []

    def on_event(t, ev, d):
        rate, kg, _ = d.leak_estimate()
        out.append((t, ev, rate, kg, truth.rate_pa_s(), truth.kg_day()))

    top = [0]
    S.run(det, truth, S.Part(seed=seed), MS, duration_s, on_event=on_event,
          on_block=lambda t, d: top.__setitem__(0, max(top[0], d.stat)))
    return out, top[0]


def alarms(events):
    return [e for e in events if e[1] in (D.EV_LEAK_DETECTED, D.EV_RAPID)]


def samples(seconds, ms, truth, seed=1):
    part = S.Part(seed=seed)
    return [part.read(*truth.at(i * ms / 1000.0)) for i in range(int(seconds * 1000 / ms))]
