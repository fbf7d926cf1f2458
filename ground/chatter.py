"""Chattering reports latched until they settle (docs/ground.md, "Chattering reports").

A report that goes in and out of its condition again and again is what ISA-18.2 calls a chattering
alarm: it tells the operator nothing new and buries what does. A link flipping one bit in 1-2 % of its
bytes loses a third to half of the frames; each node then misses 3 s of telemetry every minute or so,
and its sensors were reported 'stale' and 'healthy again' 800-2,900 times in a nominal hour
(tests/test_redteam_noisy_link.py). Per key (a node's sensor) a ChatterLatch tells:

- a departure from normal at once, unless one to the same value (e.g. 'stale') was told less than
  SUMMARY_S ago: another value is told at once (a sensor fault while its link drops frames);
- the episode's end (an off-delay) once normal has held SETTLE_S, and at least twice the longest it held
  between two departures in the episode (a key that chatters at random comes back for longer spells);
- what it did meanwhile that was not told, in one summary at most every SUMMARY_S;
- a departure that lasts longer than twice any in the episode, and at least STAYS_S, at once: a node that
  really dies (or a sensor that stays out) after a chattering episode is no longer chattering, and its
  silence was otherwise told only in the next summary, up to 15 min later, while the vote had dropped it.

Only the reports are latched: the vote drops a stale node at once and takes it back at once.
"""
from __future__ import annotations

import math

SETTLE_S = 60.0     # normal for this long (at least) ends an episode
SUMMARY_S = 900.0   # a key's departures are told at most this often; the rest go in a summary
STAYS_S = 10.0      # an untold departure out this long (and twice any in its episode) is told at once

START, KIND, SUMMARY, END, STAYS = "start", "kind", "summary", "end", "stays"


class Key:
    __slots__ = ("value", "normal", "episode", "told", "told_t", "kinds", "bad", "since", "normal_since",
                 "longest", "untold", "total", "out_since", "longest_out")

    def __init__(self) -> None:
        self.value = ""
        self.normal = True
        self.episode = False               # out of normal, or back but not settled yet
        self.told = False                  # the operator was told the episode began
        self.told_t = -math.inf            # the key's last report
        self.kinds: dict[str, float] = {}  # value -> when a departure to it was last told
        self.bad = ""                      # the latest value out of normal
        self.since = 0.0                   # of the departures counted in `untold` / `total`
        self.normal_since: float | None = None
        self.longest = 0.0                 # the longest normal spell between two departures
        self.untold = 0                    # departures not told since the last report
        self.total = 0                     # departures since the last report (told or not)
        self.out_since: float | None = None  # the current departure's start (None while normal)
        self.longest_out = 0.0             # the longest departure in the episode, back since


class ChatterLatch:
    def __init__(self, settle_s: float = SETTLE_S, summary_s: float = SUMMARY_S, stays_s: float = STAYS_S) -> None:
        self.settle_s = settle_s
        self.summary_s = summary_s
        self.stays_s = stays_s
        self.keys: dict = {}

    def change(self, now: float, key, value: str, normal: bool) -> str | None:
        """A key's new value: START or KIND to report now, None when it is only counted."""
        k = self.keys.get(key)
        if k is None:
            k = self.keys[key] = Key()
        k.value, k.normal = value, normal
        if normal:
            if k.episode and k.normal_since is None:
                k.normal_since = now
            if k.out_since is not None:
                k.longest_out = max(k.longest_out, now - k.out_since)
                k.out_since = None
            return None
        if k.out_since is None:
            k.out_since = now
        if k.total == 0:
            k.since = now
        k.total += 1
        k.bad = value
        if k.episode:
            if k.normal_since is not None:
                k.longest = max(k.longest, now - k.normal_since)
        else:
            k.episode, k.told, k.longest, k.longest_out = True, False, 0.0, 0.0
        k.normal_since = None
        if now - k.kinds.get(value, -math.inf) < self.summary_s or (k.untold and value in k.kinds):
            k.untold += 1
            return None   # told lately (or a summary is pending): in the next summary
        return self._tell(now, k, KIND if k.told else START)

    def _tell(self, now: float, k: Key, what: str) -> str:
        k.told = True
        k.kinds[k.value] = now
        k.told_t = now
        k.untold = k.total = 0
        return what

    def due(self, now: float) -> list[tuple]:
        """(key, what, text) for the reports now due: END ('healthy again ...') or SUMMARY."""
        out = []
        for key, k in self.keys.items():
            if k.episode and k.normal_since is not None \
                    and now - k.normal_since >= max(self.settle_s, 2.0 * k.longest):
                k.episode = False
                if k.told:
                    again = f"; out {k.total} more times in {_span(now - k.told_t)}" if k.total else ""
                    out.append((key, END, f"healthy again (was {k.bad}{again})"))
                    k.told_t = now
                    k.untold = k.total = 0
            elif k.untold and not k.normal and k.out_since is not None \
                    and now - k.out_since >= max(self.stays_s, 2.0 * k.longest_out):
                out.append((key, STAYS, f"excluded from the vote: {k.value} for {_span(now - k.out_since)} now, "
                                        f"longer than any of its {k.total} departures in {_span(now - k.since)}"))
                k.told = True
                k.kinds[k.value] = now
                k.told_t = now
                k.untold = k.total = 0
            elif k.untold and now - k.told_t >= self.summary_s:
                state = "in the vote now" if k.normal else f"excluded now: {k.value}"
                out.append((key, SUMMARY, f"keeps leaving the vote: excluded {k.total} times in "
                                          f"{_span(now - k.since)}, {state}"))
                k.told = k.episode and not k.normal   # told it is out now: its end will be told
                k.kinds[k.bad] = now
                k.told_t = now
                k.untold = k.total = 0
        return out


def _span(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"
