"""The planned-depress world of tests/test_ground_depress.py and tests/test_ground_depress_masking.py: an
airlock (6 m3) vented at 60 s through a 20 mm valve (a choked orifice to vacuum: -630 Pa/s at first, tau 160 s),
its 3 nodes RAPID from 60.5 s; a cabin (100 m3) beside it with 3 nodes, with an optional 15 mm hole; the
engine over the frames the firmware codec makes, with announcements given at their times."""
import math

from safehaven.ground.engine import Engine
from safehaven.ground.policy import policy_from_dict
from safehaven.protocol.codec import Encoder
from safehaven.protocol.messages import NOMINAL, RAPID

P0, VENT_S, TAU_S, HZ = 101325.0, 60.0, 160.0, 5
ZONES = {1: "airlock", 2: "airlock", 3: "airlock", 4: "cabin", 5: "cabin", 6: "cabin"}
POLICY = {"safe_haven_zone": "dragon",
          "zones": {"airlock": {"volume_m3": 6.0}, "cabin": {"volume_m3": 100.0}, "dragon": {"volume_m3": 9.3}}}


def airlock(t):
    if t < VENT_S:
        return P0, 0.0, NOMINAL
    p = P0 * math.exp(-(t - VENT_S) / TAU_S)
    return p, -p / TAU_S, RAPID if t >= VENT_S + 0.5 else NOMINAL


def cabin(t, hole_at=None):
    """Sealed; with hole_at, a 15 mm hole (-21.4 Pa/s at first, tau 4,735 s) from then on."""
    if hole_at is None or t < hole_at:
        return P0, 0.0, NOMINAL
    p = P0 * math.exp(-(t - hole_at) / 4735.0)
    return p, -p / 4735.0, RAPID if t >= hole_at + 0.5 else NOMINAL


def streams(end_s, hole_at=None):
    encs = {n: Encoder(n, epoch=1) for n in ZONES}
    out = []
    for n, enc in encs.items():
        out.append((n * 0.001, f"node{n}", bytes(enc.heartbeat(0, 0x0100, 4, 1, 100000, ZONES[n].encode(),
                                                                0, 0, 0, 0, 0, 0, 0))))
    for i in range(1, int(end_s * HZ) + 1):
        t = i / HZ
        for n, enc in encs.items():
            p, rate, state = airlock(t) if ZONES[n] == "airlock" else cabin(t, hole_at)
            noise = ((n * 7919 + i * 104729) % 13 - 6) * 0.2
            blob = bytes(enc.telemetry(i * 1000 // HZ, int((p + noise + 10 * n) * 256), 2200 + n, 800, 4000,
                                       int(rate * 1e5), 0, state, 0))
            if i % (10 * HZ) == 0:
                blob += bytes(enc.heartbeat(i * 1000 // HZ, 0x0100, 4, 1, 100000, ZONES[n].encode(),
                                            0, 0, 0, 0, 0, 0, 0))
            out.append((t + n * 0.001, f"node{n}", blob))
    return out


def run(end_s=120.0, hole_at=None, announce=None, policy=None, with_engine=False):
    """The engine over the streams; announce: (t, zone, for_s, max_rate) given at t. (decisions, answers),
    and the engine with with_engine."""
    e = Engine(policy_from_dict(policy or POLICY))
    out, answers = [], []
    pending = list(announce or [])
    for t, link, blob in streams(end_s, hole_at):
        while pending and pending[0][0] <= t:
            at, zone, for_s, max_rate = pending.pop(0)
            got = e.announce(at, zone, for_s, max_rate, "eva-lead")
            answers.append(got[-1])
            out += got
        out += e.ingest(link, blob, t)
    out += e.tick(end_s + 1.0)
    return (out, answers, e) if with_engine else (out, answers)


def states(out):
    return [(round(d.time, 2), d.state) for d in out if d.event == "state"]


def first(out, state):
    return next((d.time for d in out if d.event == "state" and d.state == state), None)
