"""The monitor's view: a rich live dashboard on a terminal, plain timestamped lines otherwise.

Both take `update(snapshot, decisions, link_events)`; the snapshot is Engine.snapshot().
"""
from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from safehaven.ground.co2 import limit_in
from safehaven.ground.shelter import fmt_reserve
from safehaven.protocol.messages import STATE_NAMES

STATE_STYLE = {"NOMINAL": "bold green", "ALL_CLEAR": "bold green", "MONITOR": "bold yellow",
               "ISOLATE": "bold dark_orange", "SHELTER": "bold white on red", "SHELTERED": "bold white on magenta"}


def fmt_time(t: float) -> str:
    if t > 1e9:  # wall time
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1000):03d}Z"
    return f"t+{t:.3f}s"


def safe_text(text: str) -> str:
    """Control characters (newlines included) shown as escapes: nothing a node or an operator typed can
    start a line of its own in the log."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def integrity_line(snap: dict) -> str:
    """Refused frames and unsigned opt-ins, one line ('' when there is nothing to say)."""
    info = snap.get("integrity") or {}
    refused = info.get("refused") or {}
    parts = []
    if any(refused.values()):
        parts.append(f"refused frames: {refused.get('auth_failures', 0)} bad tag, "
                     f"{refused.get('unknown_nodes', 0)} unknown node, {refused.get('replays', 0)} replay")
    if info.get("allow_unsigned"):
        parts.append("unsigned allowed from node " + ", ".join(str(n) for n in info["allow_unsigned"]))
    return "; ".join(parts)


def depress_lines(announced: list) -> list[str]:
    """The announced depresses in force and the zones held depressed (Shelter.announced_now), one line each."""
    return [f"depressed: zone {safe_text(d['zone'])} since {fmt_time(d['depressed_since_s'])} (planned depress by "
            f"{safe_text(d['who'])}): no alarm, not in the crew's reserve, until repressed to the cabin's level"
            if d.get("depressed_since_s") is not None else
            f"planned depress: zone {safe_text(d['zone'])} by {safe_text(d['who'])} until {fmt_time(d['until_s'])}"
            + (f", at most {d['max_rate_pa_s']:g} Pa/s" if d.get("max_rate_pa_s") is not None else ", any rate")
            for d in announced]


def planned(snap: dict) -> dict[str, str]:
    """zone -> "planned depress" or "depressed" for the zones an announcement covers: their rows say so, not
    as an alarm (the vented airlock's row was bold red while the decisions said MONITOR, as planned)."""
    return {d["zone"]: "depressed" if d.get("depressed_since_s") is not None else "planned depress"
            for d in snap.get("depress") or []}


def by_loss(zones: dict) -> list:
    """(zone, figures) with the fastest loss first (the order hatches are closed in), then by name."""
    return sorted(zones.items(), key=lambda kv: (min(kv[1].get("rate_pa_s") or 0.0, 0.0), kv[0]))


def _num(v: Any, fmt: str, unit: str = "") -> str:
    return "-" if v is None else format(v, fmt) + unit


class PlainView:
    """One line per decision and link event, a status line every `every_s` (for pipes and CI)."""

    def __init__(self, out: TextIO | None = None, every_s: float = 10.0) -> None:
        self.out = out if out is not None else sys.stdout
        self.every_s = every_s
        self.last = -1e18
        self.seen_events = 0
        self.trust_shown = False

    def update(self, snap: dict, decisions: list, link_events: list) -> None:
        for t, link, event, detail in link_events[self.seen_events:]:
            self.out.write(f"{fmt_time(t)} LINK {safe_text(link)} {event}: {safe_text(detail)}\n")
        self.seen_events = len(link_events)
        for d in decisions:
            reasons = safe_text("; ".join(d.reasons))
            if d.node is not None:
                self.out.write(f"{fmt_time(d.time)} NODE {d.node} {d.event} ({d.quantity}): {reasons}\n")
            else:
                self.out.write(f"{fmt_time(d.time)} {d.event.upper()} {d.previous} -> {d.state}: {reasons}\n")
        now = snap.get("t") or 0.0
        trust = integrity_line(snap)
        if now - self.last >= self.every_s or (trust and not self.trust_shown):   # refused frames: at once
            self.last = now
            self.trust_shown = bool(trust)
            parts = [f"{fmt_time(now)} STATUS {snap['state']}"]
            tags = planned(snap)
            for zone, z in by_loss(snap["zones"]):
                tag = f", {tags[zone]}" if zone in tags else ""
                parts.append(f"{zone}: {_num(z['pressure_pa'], '.1f', ' Pa')} {_num(z['rate_pa_s'], '+.4f', ' Pa/s')}"
                             f" reserve {fmt_reserve(z['reserve_s'], z['rate_pa_s'])} CO2 {_num(z['co2_ppm'], '.0f', ' ppm')} [{z['status']}{tag}]")
            parts.extend(depress_lines(snap.get("depress") or []))
            if trust:
                parts.append(trust)
            self.out.write(" | ".join(parts) + "\n")
        self.out.flush()

    def close(self) -> None:
        self.out.flush()


class RichView:
    """Live terminal dashboard: state and reasons, zones, nodes, links, recent decisions."""

    def __init__(self, refresh_s: float = 0.25) -> None:
        from rich.console import Console
        from rich.live import Live
        self.console = Console()
        self.live = Live(console=self.console, refresh_per_second=max(1, int(1 / refresh_s)), screen=False)
        self.live.start()
        self.recent: list[str] = []
        self.seen_events = 0

    def update(self, snap: dict, decisions: list, link_events: list) -> None:
        for d in decisions:
            who = f"node {d.node} {d.event}" if d.node is not None else (
                d.event.upper() if d.event == "link_integrity" else f"{d.previous} -> {d.state}")
            self.recent.append(f"{fmt_time(d.time)} {who}: {safe_text('; '.join(d.reasons))}")
        for t, link, event, detail in link_events[self.seen_events:]:
            self.recent.append(f"{fmt_time(t)} link {safe_text(link)} {event}: {safe_text(detail)}")
        self.seen_events = len(link_events)
        del self.recent[:-8]
        self.live.update(self.render(snap))

    def render(self, snap: dict):
        from rich.console import Group
        from rich.panel import Panel
        from rich.table import Table
        from rich.text import Text
        state = snap["state"]
        head = Text()
        head.append(f" {state} ", style=STATE_STYLE.get(state, "bold"))
        head.append(f"  since {fmt_time(snap['since'])}  policy {snap['policy']['name']} "
                    f"({snap['policy']['hash']})\n")
        for r in snap["reasons"]:
            head.append(f"  {r}\n", style="yellow" if state != "NOMINAL" else "")
        sh = snap["safe_haven"]
        head.append(f"  safe haven {sh['zone']}: CO2 {_num(sh['co2_ppm'], '.0f', ' ppm')}, "
                    f"trend {_num(sh['co2_rate_ppm_h'], '+.0f', ' ppm/h')}, "
                    f"limit {limit_in(sh)}")
        for line in depress_lines(snap.get("depress") or []):
            head.append(f"\n  {line}", style="bold yellow")
        trust = integrity_line(snap)
        if trust:
            head.append(f"\n  {trust}", style="bold red" if "refused" in trust else "yellow")
        zt = Table(title="zones (voted), fastest loss first", expand=True)
        for col in ("zone", "pressure Pa", "rate Pa/s", "series Pa/s", "Pa/h", "kg/day", "reserve", "T °C",
                    "CO2 ppm", "votes", "status"):
            zt.add_column(col)
        tags = planned(snap)
        for zone, z in by_loss(snap["zones"]):
            rate = z["rate_pa_s"]
            alarm = rate is not None and rate < 0 and z["reserve_s"] is not None and z["reserve_s"] < 3600
            tag = tags.get(zone)
            zt.add_row(zone, _num(z["pressure_pa"], ".1f"), _num(rate, "+.5f"), _num(z.get("series_rate_pa_s"), "+.5f"),
                       _num(None if rate is None else rate * 3600, "+.1f"), "measuring" if z.get("kg_day_measuring") else _num(z["kg_day"], ".2f"),
                       fmt_reserve(z["reserve_s"], rate), _num(z["temperature_c"], ".2f"), _num(z["co2_ppm"], ".0f"),
                       z["votes"], z["status"] + (f", {tag}" if tag else ""),
                       style="yellow" if tag else "bold red" if alarm else None)
        nt = Table(title="nodes", expand=True)
        for col in ("node", "zone", "link", "age", "detector", "pressure", "rate", "temp", "CO2", "err", "isolated"):
            nt.add_column(col)
        for nid, n in snap["nodes"].items():
            health = snap["zones"].get(n["zone"] or "", {}).get("health", {}).get(nid, {})
            cells = []
            for q in ("pressure_pa", "rate_pa_s", "temperature_c", "co2_ppm"):
                h = health.get(q, "-")
                if q == "rate_pa_s" and h == "ok" and n.get("rate_off_series"):
                    cells.append(Text("series", style="bold yellow"))  # its rate disagreed with its pressures
                    continue
                cells.append(Text(h, style="green" if h == "ok" else "bold red"))
            det = STATE_NAMES[n["state"]] if isinstance(n["state"], int) and 0 <= n["state"] < len(STATE_NAMES) else "-"
            nt.add_row(nid, n["zone"] or "?", n["link"], _num(n["age_s"], ".1f", " s"),
                       Text(det, style="red" if det not in ("nominal", "-") else ""), *cells,
                       _num(n["error_density"], ".0f"), ",".join(n["isolated"]) or "-")
        lt = Table(title="links", expand=True)
        for col in ("link", "bytes", "frames", "fps", "crc", "auth", "unknown", "replays", "gaps", "dups", "reboots",
                    "age"):
            lt.add_column(col)
        for link, s in sorted(snap["links"].items()):
            d = s["decoder"]
            lt.add_row(link, str(s["bytes"]), str(s["frames"]), _num(s["rate_fps"], ".1f"),
                       str(d.get("crc_failures", "-")), str(d.get("auth_failures", "-")),
                       str(d.get("unknown_nodes", "-")), str(d.get("replays", "-")), str(d.get("gaps", "-")),
                       str(d.get("duplicates", "-")), str(d.get("reboots", "-")), _num(s["age_s"], ".1f", " s"))
        recent = Text("\n".join(self.recent) or "no decisions yet")
        return Group(Panel(head, title="safehaven"), zt, nt, lt, Panel(recent, title="recent"))

    def close(self) -> None:
        self.live.stop()


def make_view(plain: bool | None = None, out: TextIO | None = None):
    out = out if out is not None else sys.stdout
    if plain is None:
        plain = not out.isatty()
    return PlainView(out) if plain else RichView()
