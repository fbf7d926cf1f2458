"""Constructed per-node streams for the voting and shelter tests: a truth, three nodes, injected faults.

Each node samples the zone's true pressure with its own offset and noise; its detector state is what a
healthy node's detector would report (derived here from the truth, not from the code under test).
Faults (any node): stuck, offset (+500 Pa), silent, flapping (alternately truthful and lying, -800 Pa), liar
(plausible pressure but RAPID state and a -5 Pa/s rate), replay (re-sends its first minute's frames).
"""
from __future__ import annotations

import random
from typing import NamedTuple


class SimpleFrame(NamedTuple):
    node_id: int
    msg_type: int
    name: str
    seq: int
    uptime_ms: int
    fields: dict
    raw: bytes = b""
    authenticated: bool = False


ZONE = "lab"
OFFSETS = {1: 35.0, 2: -40.0, 3: 10.0}
NOISE_PA = 1.3


def truth(kind: str, t: float, onset: float = 60.0) -> tuple[float, float, int]:
    """(pressure_pa, rate_pa_s, healthy detector state) at time t for a scenario kind."""
    p0 = 101000.0
    if kind == "nominal" or t < onset:
        return p0, 0.0, 0
    dt = t - onset
    if kind == "leak":
        rate = -0.05
        return p0 + rate * dt, rate, (2 if dt >= 20 else 1 if dt >= 5 else 0)
    if kind == "rapid":
        rate = -50.0
        return p0 + rate * dt, rate, (3 if dt >= 1.0 else 0)
    raise ValueError(kind)


def heartbeat(node_id: int, seq: int, up: int, zone: str = ZONE) -> SimpleFrame:
    return SimpleFrame(node_id, 3, "heartbeat", seq, up, {"zone": zone, "i2c_errors": 0, "bmp_errors": 0,
                                                          "scd_errors": 0, "rx_frame_errors": 0,
                                                          "auth_failures": 0})


def stream(kind: str, faults: dict[int, set[str]], duration: float = 180.0, dt: float = 0.5,
           seed: int = 7) -> list[tuple[float, int, SimpleFrame]]:
    """[(arrival_s, node_id, frame)] in arrival order."""
    rnds = {n: random.Random(seed * 10 + n) for n in OFFSETS}  # per node: one node's fault leaves the others alone
    out: list[tuple[float, int, SimpleFrame]] = []
    seqs = {n: 0 for n in OFFSETS}
    history: dict[int, list[SimpleFrame]] = {n: [] for n in OFFSETS}
    stuck_at: dict[int, dict] = {}
    for n in OFFSETS:
        out.append((0.0, n, heartbeat(n, 0, 10)))
    steps = int(duration / dt)
    for i in range(1, steps + 1):
        t = i * dt
        p, rate, state = truth(kind, t)
        for n, off in OFFSETS.items():
            f = faults.get(n, set())
            if "silent" in f and t >= 30:
                continue
            seqs[n] += 1
            rnd = rnds[n]
            fields = {"pressure_pa": p + off + rnd.gauss(0, NOISE_PA), "rate_pa_s": rate + rnd.gauss(0, 0.004),
                      "temperature_c": 21.0 + rnd.gauss(0, 0.01), "co2_ppm": float(800 + rnd.randint(-10, 10)),
                      "rh_pct": 40.0, "stat": 0.0, "state": state, "status": 0}
            lying = "liar" in f or ("flapping" in f and t >= 30 and int(t / 3) % 2 == 0)
            if "offset" in f and t >= 30:
                fields["pressure_pa"] += 500.0
            if lying and t >= 30:
                fields.update(state=3, rate_pa_s=-5.0)
                if "flapping" in f:
                    fields["pressure_pa"] -= 800.0  # independent of the offset fault's +500
                if "liar" in f and kind != "nominal":
                    # a liar that hides a real leak: nominal state, zero rate, pre-leak pressure
                    fields.update(state=0, rate_pa_s=0.0, pressure_pa=truth(kind, 0)[0] + off)
            if "stuck" in f and t >= 30:
                stuck_at.setdefault(n, dict(fields))
                fields = dict(stuck_at[n])
            frame = SimpleFrame(n, 1, "telemetry", seqs[n] & 0xFFFF, int(t * 1000) + 10, fields)
            if "replay" in f and t >= 90:
                old = history[n][(i - 1) % len(history[n])]
                frame = old  # an old frame re-sent as it was recorded (same seq and uptime)
            elif t <= 60:
                history[n].append(frame)
            out.append((t + 0.001 * n, n, frame))
    return out


def run(engine, events) -> list:
    decisions = []
    for t, n, frame in events:
        decisions.extend(engine.ingest_frames(f"node{n}", [frame], t))
    decisions.extend(engine.tick(events[-1][0] + 1.0))
    return decisions


def test_streams_inject_what_they_say():
    """The generator itself: each fault changes what its node sends, and only that node."""
    clean = stream("nominal", {}, duration=100.0)
    for fault in ("stuck", "offset", "silent", "flapping", "liar", "replay"):
        faulty = stream("nominal", {3: {fault}}, duration=100.0)
        mine = [f for _, n, f in faulty if n == 3]
        theirs = [f for _, n, f in clean if n == 3]
        assert mine != theirs, fault
        assert [f for _, n, f in faulty if n != 3] == [f for _, n, f in clean if n != 3]
