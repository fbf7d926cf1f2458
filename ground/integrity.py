"""Link integrity: frames refused as someone else's, reported to the operator as a ground decision.

A frame with a bad tag (`auth_failures`), from a node the key file does not name (`unknown_nodes`) or
seen before (`replays`) never reaches the voters: it is an attack, or a node flashed with the wrong key.
It is not a node's fault either, so it never counts against a genuine node (or a forger could silence
it). A burst of them (BURST within WINDOW_S, on any links) is a `link_integrity` decision that names
the links, nodes and kinds, at most once per REPEAT_S while it goes on. The decision leaves the
shelter state where it is: refused frames are no evidence about the air, and a state an attacker could
raise would be an evacuation he could order (docs/ground.md, "Who may vote").

Corrupted bytes (CRC, oversize and bad-length failures) are the link's, not its nodes': a long cable
beside a pump flips bits while every frame that arrives intact is as good as on a clean line, and
bytes anyone can inject must not silence a node. LinkNoiseWatch reports them as a `link_integrity`
decision too (NOISE within WINDOW_S on one link, at most once per REPEAT_S); the node keeps its vote.
"""
from __future__ import annotations

import math
from collections import deque

from safehaven.protocol.link import REFUSED

BURST = 3            # refused frames within WINDOW_S that make a burst
WINDOW_S = 10.0
REPEAT_S = 60.0      # a burst that goes on is reported again at most this often

_KIND = {"auth_failures": "bad tag", "unknown_nodes": "unknown node", "replays": "replay"}


class IntegrityWatch:
    """Fed the refused-frame counters of every link's decoder; says when a burst is a decision."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, int, str], int] = {}    # (link, node, counter) -> count so far
        self.recent: deque = deque()                         # (t, link, node, counter, count)
        self.last_report = -math.inf
        self.totals = dict.fromkeys(REFUSED, 0)

    def update(self, t: float, link: str, stats) -> list[str] | None:
        """stats: a link decoder's WireStats. Returns the decision's reasons when a burst is due."""
        for node_id, ns in stats.nodes.items():
            for counter in REFUSED:
                count = getattr(ns, counter)
                key = (link, node_id, counter)
                new = count - self.seen.get(key, 0)
                if new > 0:
                    self.seen[key] = count
                    self.recent.append((t, link, node_id, counter, new))
                    self.totals[counter] += new
        while self.recent and self.recent[0][0] < t - WINDOW_S:
            self.recent.popleft()
        burst = sum(r[4] for r in self.recent)
        if burst < BURST or t - self.last_report < REPEAT_S:
            return None
        self.last_report = t
        return [self._reason(burst)]

    def _reason(self, burst: int) -> str:
        parts: dict[tuple[str, str], list[int]] = {}
        counts: dict[tuple[str, str], int] = {}
        for _t, link, node_id, counter, new in self.recent:
            key = (link, _KIND[counter])
            counts[key] = counts.get(key, 0) + new
            nodes = parts.setdefault(key, [])
            if node_id not in nodes:
                nodes.append(node_id)
        what = "; ".join(f"{link}: {counts[(link, kind)]} {kind} (claiming node "
                         f"{', '.join(str(n) for n in sorted(parts[(link, kind)]))})"
                         for link, kind in sorted(parts))
        return (f"link integrity: {burst} frames refused in {WINDOW_S:.0f} s, not voted ({what}); "
                f"an attack, or a node with the wrong key")


NOISE = 5            # corrupted frames within WINDOW_S on one link that make a report


class LinkNoiseWatch:
    """Fed a link's corrupted-frame count; says when the link is noisy enough to tell the operator."""

    def __init__(self) -> None:
        self.recent: dict[str, deque] = {}      # link -> (t, new corrupted frames)
        self.last_report: dict[str, float] = {}

    def update(self, t: float, link: str, new: int) -> list[str] | None:
        recent = self.recent.setdefault(link, deque())
        if new > 0:
            recent.append((t, new))
        while recent and recent[0][0] < t - WINDOW_S:
            recent.popleft()
        count = sum(n for _t, n in recent)
        if count < NOISE or t - self.last_report.get(link, -math.inf) < REPEAT_S:
            return None
        self.last_report[link] = t
        return [f"link noise: {link}: {count} corrupted frames in {WINDOW_S:.0f} s (a noisy cable, a loose "
                f"connector or a baud mismatch); its nodes' intact frames still vote"]
