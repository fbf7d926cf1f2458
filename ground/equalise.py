"""Air moving between zones is not air lost: a mass balance over the zones (docs/shelter.md, "Equalising").

Opening the equalisation valve between a module and one at a lower pressure makes the first fall at
tens of Pa/s (its nodes call it RAPID) while the second rises; no air leaves the habitat. Each zone's
air is ∝ V·p/T, and its nodes send their temperature-compensated pressure pc (ground/series.py), so
over a window the air a zone gained is V·Δpc. A zone whose alarm (RAPID, LEAK, or a rate with evidence
beyond the thresholds) is balanced by the air other zones gained over the same BALANCE_WINDOW_S is
equalising, not leaking: it may reach MONITOR, never ISOLATE or SHELTER. Credit is strict:

- only a zone whose volume the policy gives, for both sides (a zone of unknown volume gets none);
- only a rise measured in the counterpart's own pressure, beyond its noise, at the same time as the
  fall; a counterpart reading more than ABOVE_PA above the falling zone cannot be fed by it;
- the air gained must match the air lost within BALANCE_REL (plus the noise): a repress from a tank
  beside a hole (a fraction of the hole's flow) or a rise that outgrows the fall (air from elsewhere)
  balances nothing, and the hole's SHELTER is not delayed.

The ground can only weigh what it has heard: a new RAPID alarm while a possible counterpart has sent no
pressure since the alarm began (1 Hz telemetry) holds the SHELTER for at most WAIT_S, the next
telemetry; a zone that has plainly not moved ends the wait at once.
"""
from __future__ import annotations

import math

from safehaven.ground.series import fit
from safehaven.ground.shelter import ZoneFigures

BALANCE_WINDOW_S = 20.0   # the air moved since the alarm began (LEAD_S before), over this window at most, is weighed
LEAD_S = 1.0              # one telemetry period: the window holds each zone's last point from before the fall
TREND_S = 20.0            # a counterpart's rise before the alarm (a repress) over this long is no credit
BALANCE_REL = 0.4         # the gain may miss the loss by this share (sample timing, each zone's gas temperature)
ABOVE_PA = 250.0          # two zones' parts may read this far apart at one pressure (BMP280 +-100 Pa each)
WAIT_S = 1.0              # a RAPID's SHELTER waits at most this long for a possible counterpart's telemetry
HOLD_S = 120.0            # an equalising verdict outlives the last measured balance this long (its tail)
RECENT_S = 2.0            # two telemetry periods: a net loss over them is a new fall (a hole while RAPID holds)


def level_at(points, t: float) -> float | None:
    """A node's pc at ground time t, interpolated between the points that arrived around it (None when
    none arrived before t)."""
    after = None
    for point in reversed(points):
        if point[3] <= t:
            if after is None or after[3] == point[3]:
                return point[1]
            w = (t - point[3]) / (after[3] - point[3])
            return point[1] + w * (after[1] - point[1])
        after = point
    return None


class Flow:
    """One zone's gain of air over the window: V·Δpc (m3·Pa) and its standard error."""

    __slots__ = ("zone", "volume_m3", "gain", "sigma", "pressure_pa")

    def __init__(self, zone: str, volume_m3: float, dp: float, sigma_pa: float, pressure_pa: float) -> None:
        self.zone = zone
        self.volume_m3 = volume_m3
        self.gain = volume_m3 * dp
        self.sigma = volume_m3 * sigma_pa
        self.pressure_pa = pressure_pa


class Equaliser:
    def __init__(self, policy) -> None:
        self.policy = policy
        self.noise = policy.voting["series_noise_pa"]
        self.gamma = policy.voting["series_gamma"]
        self.alarm_since: dict[str, float] = {}   # an alarm's start, kept through gaps shorter than the window
        self.alarm_last: dict[str, float] = {}
        self.verdict: dict[str, tuple[float, tuple[str, ...]]] = {}   # zone -> (last balanced, counterparts)
        # A new fall in a zone taken as equalising (a hole after the valve, red team: SHELTER at +4.5 s, the
        # 20 s window still counting the equalisation's gain): weighed from its own onset, its verdict
        # suspended until that balance is measured (tests/test_redteam_equalise_hole.py)
        self.onset: dict[str, float] = {}      # zone -> the latest new fall's start (the window's start)
        self.suspended: set[str] = set()       # zones whose verdict waits for the new fall's balance
        self.was_rapid: set[str] = set()       # zones whose own figures said RAPID at the last update

    def known_volume(self, zone: str) -> float | None:
        return self.policy.zones.get(zone, {}).get("volume_m3")

    def _alarmed(self, f: ZoneFigures) -> bool:
        p = self.policy.shelter
        return f.rapid or f.leak or (f.rapid_rate_pa_s is not None and f.rapid_rate_pa_s <= -p["rapid_rate_pa_s"]) \
            or (f.leak_rate_pa_s is not None and f.leak_rate_pa_s <= -p["leak_rate_pa_s"])

    def update(self, now: float, figures: list[ZoneFigures], voters: dict, votes: dict) -> list[str]:
        """Mark the zones whose alarm is air moved to another zone (their figures lose the alarm) or
        whose RAPID waits for a counterpart's pressure (hold_until); returns the reasons of a new
        'equalising' decision, if any."""
        alarmed = [f for f in figures if self._alarmed(f)]
        for f in figures:
            if f in alarmed:
                self.alarm_since.setdefault(f.zone, now)
                self.alarm_last[f.zone] = now
            elif now - self.alarm_last.get(f.zone, -math.inf) > BALANCE_WINDOW_S:
                self.alarm_since.pop(f.zone, None)
                self.onset.pop(f.zone, None)
        self._new_falls(now, alarmed)
        if not alarmed:
            return []
        healthy = {f.zone: self._healthy_points(voters[f.zone], votes[f.zone]) for f in figures if f.zone in voters}
        told = []
        for f in alarmed:
            volume = self.known_volume(f.zone)
            if volume is None or f.pressure_pa is None or not healthy.get(f.zone):
                continue
            candidates = [g for g in figures if g is not f and g not in alarmed and self.known_volume(g.zone)
                          and g.pressure_pa is not None and healthy.get(g.zone)
                          and g.pressure_pa <= f.pressure_pa + ABOVE_PA]
            if not candidates:
                continue
            since = self.alarm_since[f.zone]
            start = max(since, self.onset.get(f.zone, since))   # the alarm's, or a new fall's, start
            t_c = min(max(p[-1][3] for p in healthy[g.zone]) for g in [f] + candidates)
            t_s = max(start - LEAD_S, t_c - BALANCE_WINDOW_S)
            # a counterpart's rise before the alarm (a repress) is no credit; the rise it had before a new
            # fall is the equalisation's own, weighed with the rest
            if f.zone in self.verdict and f.zone not in self.suspended and \
                    self._net_loss(f, candidates, healthy, max(t_s, t_c - RECENT_S), t_c):
                # a new fall, weighed from then on (its window starts where the loss was measured)
                start = self.onset[f.zone] = t_c - RECENT_S + LEAD_S
                t_s = t_c - RECENT_S
            flows = {g.zone: self._flow(g, healthy[g.zone], t_s, t_c, since - LEAD_S if g is not f else None)
                     for g in [f] + candidates}
            risen = self._weigh(flows[f.zone], [flows[g.zone] for g in candidates])
            last = self.verdict.get(f.zone)
            waiting = last is None or f.zone in self.suspended
            if risen:
                if last is None or now - last[0] > HOLD_S:
                    told.append(self._reason(flows[f.zone], risen))
                self.verdict[f.zone] = (now, tuple(g.zone for g in risen))
                self.suspended.discard(f.zone)
            elif risen is not None and t_c > start:
                self.verdict.pop(f.zone, None)   # a net loss measured since the alarm: it stands
                self.suspended.discard(f.zone)
            elif self._rapid(f) and now < start + WAIT_S and waiting:
                f.hold_until = start + WAIT_S    # the air moved since the alarm is not measurable yet
            elif f.zone in self.suspended and now >= start + WAIT_S:
                self.suspended.discard(f.zone)   # no loss measurable: a fall the pressure does not show
            last = self.verdict.get(f.zone)
            if last is not None and now - last[0] <= HOLD_S and f.zone not in self.suspended:
                self._equalising(f, last[1])
        return told

    def _new_falls(self, now: float, alarmed: list[ZoneFigures]) -> None:
        """A zone taken as equalising whose nodes vote RAPID again after they had stopped: a new fall, its
        balance weighed from now, its verdict suspended meanwhile (for at most WAIT_S). The nodes' own
        event: the rate with evidence may stay beyond the rapid rate through an equalisation's tail."""
        rapid = {f.zone for f in alarmed if f.rapid}
        for z in rapid - self.was_rapid:
            if z in self.verdict and z not in self.suspended:
                self.onset[z] = now
                self.suspended.add(z)
        self.was_rapid = rapid

    def _net_loss(self, f: ZoneFigures, candidates: list, healthy: dict, t_s: float, t_c: float) -> bool:
        """Over the last RECENT_S, did the zone lose more air than the others gained, beyond the balance's
        slack and the noise? A hole opening while its nodes still hold the equalisation's RAPID sends no
        new onset; the balance over the whole window still holds the equalisation's gain (SHELTER 3-9 s
        late, tests/test_equalise_hole.py)."""
        fall = self._flow(f, healthy[f.zone], t_s, t_c, None)
        others = [self._flow(g, healthy[g.zone], t_s, t_c, None) for g in candidates]
        loss = -fall.gain
        if not loss > self.gamma * fall.sigma:
            return False
        risen = [o for o in others if o.gain > 0.0]
        sigma = math.sqrt(fall.sigma ** 2 + sum(o.sigma ** 2 for o in risen))
        return loss - sum(o.gain for o in risen) > BALANCE_REL * loss + self.gamma * sigma

    def _rapid(self, f: ZoneFigures) -> bool:
        return f.rapid or (f.rapid_rate_pa_s is not None and f.rapid_rate_pa_s <= -self.policy.shelter["rapid_rate_pa_s"])

    def _healthy_points(self, voter, vote) -> list:
        return [ns.series.points for nid, ns in voter.nodes.items()
                if vote.health.get(nid, {}).get("pressure_pa") == "ok" and ns.series.points]

    def _flow(self, f: ZoneFigures, series: list, t_s: float, t_c: float, trend_to: float | None) -> Flow:
        """The zone's median Δpc over [t_s, t_c], each node's pc interpolated at both ends; less, for a
        counterpart, the rise it already had over TREND_S before trend_to (a repress going on)."""
        deltas = []
        for points in series:
            end, start = level_at(points, t_c), level_at(points, t_s)
            if start is None:
                start = points[0][1]
            if end is None:
                continue
            if trend_to is not None:
                s = fit([(p[0], p[1]) for p in points if trend_to - TREND_S < p[3] <= trend_to], self.noise)
                if s is not None and s.slope_pa_s > 0:
                    end -= s.slope_pa_s * (t_c - t_s)
            deltas.append(end - start)
        deltas.sort()
        n = len(deltas)
        dp = (deltas[n // 2] if n % 2 else 0.5 * (deltas[n // 2 - 1] + deltas[n // 2])) if n else 0.0
        sigma = self.noise * math.sqrt(2.0) / math.sqrt(max(n, 1)) if n else math.inf
        return Flow(f.zone, self.known_volume(f.zone) or 0.0, dp, sigma, f.pressure_pa or 0.0)

    def _weigh(self, fall: Flow, others: list[Flow]) -> list[Flow] | None:
        """The counterparts that balance the zone's fall ([] when its loss is not air moved; None when
        the loss is not yet measurable: nothing to weigh yet)."""
        g = self.gamma
        if not fall.gain < -g * fall.sigma:
            return None
        risen = [o for o in others if o.gain > g * o.sigma]
        gain = sum(o.gain for o in risen)
        loss = -fall.gain
        sigma = math.sqrt(fall.sigma ** 2 + sum(o.sigma ** 2 for o in risen))
        if risen and abs(gain - loss) <= BALANCE_REL * loss + g * sigma:
            return risen
        return []

    @staticmethod
    def _equalising(f: ZoneFigures, counterparts: tuple[str, ...]) -> None:
        """No air lost: the zone's fall may reach MONITOR, not ISOLATE or SHELTER."""
        f.suspect = f.suspect or f.rapid or f.leak
        f.rapid = f.leak = False
        f.leak_rate_pa_s = f.rapid_rate_pa_s = None
        f.alarm_rate_pa_s = 0.0 if f.alarm_rate_pa_s is None else max(f.alarm_rate_pa_s, 0.0)
        f.equalising = counterparts

    @staticmethod
    def _reason(fall: Flow, risen: list[Flow]) -> str:
        gain = sum(o.gain for o in risen)
        into = ", ".join(f"{o.zone} (+{o.gain / o.volume_m3:.0f} Pa in {o.volume_m3:g} m3)" for o in risen)
        return (f"zone {fall.zone}: equalising, no air lost: it lost {-fall.gain:.0f} m3·Pa "
                f"({fall.gain / fall.volume_m3:+.0f} Pa in {fall.volume_m3:g} m3) since its alarm "
                f"and {into} gained {gain:.0f} m3·Pa (a valve or hatch between them); its alarm holds at MONITOR "
                f"while the air balances")
