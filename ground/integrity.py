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
decision too: when NOISE within WINDOW_S on one link begin, then (a cable stays noisy: at 1-2 % of the
bytes, once a minute made 160-180 decisions an hour) a summary every SUMMARY_S while it goes on, and
its end once the link has been clean for SETTLE_S (ground/chatter.py); the node keeps its vote.
"""
from __future__ import annotations

import math
from collections import deque

from safehaven.ground.chatter import SETTLE_S, SUMMARY_S
from safehaven.protocol.link import REFUSED

BURST = 3            # refused frames within WINDOW_S that make a burst
WINDOW_S = 10.0
REPEAT_S = 60.0      # a burst that goes on is reported again at most this often

_KIND = {"auth_failures": "bad tag", "unknown_nodes": "unknown node", "replays": "replay"}


class Window:
    """Counts, with what they were about, over the last WINDOW_S."""

    def __init__(self) -> None:
        self.recent: deque = deque()   # (t, count, about)

    def add(self, t: float, count: int, about=None) -> None:
        if count > 0:
            self.recent.append((t, count, about))

    def total(self, t: float) -> int:
        recent = self.recent
        while recent and recent[0][0] < t - WINDOW_S:
            recent.popleft()
        return sum(r[1] for r in recent)


class IntegrityWatch:
    """Fed the refused-frame counters of every link's decoder; says when a burst is a decision."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, int, str], int] = {}    # (link, node, counter) -> count so far
        self.window = Window()                               # about: (link, node, counter)
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
                    self.window.add(t, new, key)
                    self.totals[counter] += new
        burst = self.window.total(t)
        if burst < BURST or t - self.last_report < REPEAT_S:
            return None
        self.last_report = t
        return [self._reason(burst)]

    def _reason(self, burst: int) -> str:
        parts: dict[tuple[str, str], list[int]] = {}
        counts: dict[tuple[str, str], int] = {}
        for _t, new, (link, node_id, counter) in self.window.recent:
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


class LinkNoise:
    __slots__ = ("window", "since", "told_t", "count", "total", "last_t")

    def __init__(self) -> None:
        self.window = Window()
        self.since: float | None = None   # the noise episode's start (None: quiet)
        self.told_t = 0.0
        self.count = 0                    # corrupted frames since the last report
        self.total = 0                    # in the episode
        self.last_t = 0.0                 # the latest corrupted frame


class LinkNoiseWatch:
    """Fed a link's corrupted-frame count; says when its noise begins, goes on, ends."""

    def __init__(self) -> None:
        self.links: dict[str, LinkNoise] = {}

    def update(self, t: float, link: str, new: int) -> list[str] | None:
        ln = self.links.get(link)
        if ln is None:
            ln = self.links[link] = LinkNoise()
        ln.window.add(t, new)
        if new > 0:
            ln.count += new
            ln.total += new
            ln.last_t = t
        if ln.since is None:
            count = ln.window.total(t)
            if count < NOISE:
                ln.count = ln.total = 0
                return None
            ln.since = ln.told_t = t
            ln.count, ln.total = 0, count
            return [f"link noise: {link}: {count} corrupted frames in {WINDOW_S:.0f} s (a noisy cable, a loose "
                    f"connector or a baud mismatch); its nodes' intact frames still vote"]
        if t - ln.last_t >= SETTLE_S:
            ln.since, total, since = None, ln.total, ln.since
            assert since is not None   # set whenever the noise was told (above)
            ln.count = ln.total = 0
            return [f"link noise over: {link}: no corrupted frame for {SETTLE_S:.0f} s ({total} in "
                    f"{(ln.last_t - since) / 60:.0f} min)"]
        if ln.count and t - ln.told_t >= SUMMARY_S:
            count, ln.count, ln.told_t = ln.count, 0, t
            return [f"link noise goes on: {link}: {count} corrupted frames in the last {SUMMARY_S / 60:.0f} min "
                    f"({ln.total} since it began); its nodes' intact frames still vote"]
        return None
