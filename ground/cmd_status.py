"""`safehaven status [--db F] [--json]`: the habitat's state from the database (works with or without a
running monitor): the last decision with its reasons and zone figures, nodes, links, queues."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from safehaven.ground.dashboard import depress_lines, fmt_time, safe_text
from safehaven.ground.co2 import limit_in
from safehaven.ground.shelter import fmt_reserve
from safehaven.ground.store import Store, StoreError

HELP = "current state, reasons, zone figures, nodes and links from the database"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="F", default="safehaven.sqlite", help="database (default safehaven.sqlite)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def integrity(store) -> dict:
    """Frames refused as someone else's (per link, node and kind), unsigned opt-ins, the last burst."""
    refused = [{"link": link, "node_id": node, "kind": kind, "count": count, "last_t": t}
               for link, node, kind, count, t in store.refused()]
    totals: dict[str, int] = {}
    for r in refused:
        totals[r["kind"]] = totals.get(r["kind"], 0) + r["count"]
    return {"refused": refused, "totals": totals, "allow_unsigned": store.meta("allow_unsigned", []) or [],
            "authenticated": bool(store.meta("auth", False)), "last_burst": store.last_integrity_decision()}


def _print_integrity(info: dict) -> None:
    if not info["authenticated"]:
        print("authentication: off (no --key-file): any device on a link may speak for any node")
    if info["allow_unsigned"]:
        print("unsigned frames allowed from node " + ", ".join(str(n) for n in info["allow_unsigned"]))
    for r in info["refused"]:
        print(f"refused on {safe_text(r['link'])}: {r['count']} {r['kind']} claiming node {r['node_id']} "
              f"(last {fmt_time(r['last_t'])})")
    burst = info["last_burst"]
    if burst:
        print(f"{fmt_time(burst['t'])} LINK INTEGRITY: {safe_text('; '.join(burst['reasons']))}")


def collect(store) -> dict:
    last = store.last_decision()
    events = store.link_events()
    return {"integrity": integrity(store), "state": last["state"] if last else "NOMINAL", "last_decision": last,
            "nodes": {str(k): v for k, v in store.latest_node_configs().items()},
            "link_events": [list(e) for e in events[-10:]],
            "counts": {t: store.count(t) for t in ("rx", "decisions", "link_events")},
            "policy": store.meta("policy"), "monitor": store.lease_info()}


def monitor_line(m: dict) -> str:
    """Is a monitor recording, and how old is the last write (a stale state is not a current one)."""
    age = m.get("last_write_age_s")
    ago = "never" if age is None else f"{age:.1f} s ago"
    if m["monitor"] == "alive":
        return f"monitor: running (pid {m['pid']} on {m['host']}), last write {ago}"
    if m["monitor"] == "not responding":
        return (f"monitor: NOT RESPONDING (pid {m['pid']} on {m['host']}), last write {ago}: killed, hung, or "
                "its database writes are failing; the state below may be out of date")
    return f"monitor: none running, last write {ago}; the state below is as the last monitor left it"


def run(args: argparse.Namespace) -> int:
    if not Path(args.db).exists():
        print(f"safehaven status: {args.db}: no such database (monitor --db F creates it)", file=sys.stderr)
        return 4
    try:
        store = Store(args.db, readonly=True)
        try:
            info = collect(store)
        finally:
            store.close()
        if args.json:
            print(json.dumps(info, sort_keys=True))
        else:
            print_text(info)
    except StoreError as exc:
        print(f"safehaven status: {exc}", file=sys.stderr)
        return 4
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a record with fields missing
        print(f"safehaven status: {args.db}: damaged record: {type(exc).__name__} {exc}", file=sys.stderr)
        return 4
    return 0


def print_text(info: dict) -> None:
    last = info["last_decision"]
    print(monitor_line(info["monitor"]))
    print(f"state: {info['state']}" + (f" since {fmt_time(last['t'])}" if last else " (no decisions recorded)"))
    if last:
        for r in last["reasons"]:
            print(f"  {r}")
        for zone, z in sorted(last["zones"].items()):
            p = "-" if z["pressure_pa"] is None else f"{z['pressure_pa']:.1f} Pa"
            rate = "-" if z["rate_pa_s"] is None else f"{z['rate_pa_s']:+.5f} Pa/s"
            print(f"  zone {zone}: {p}, {rate}, reserve {fmt_reserve(z['reserve_s'], z['rate_pa_s'])}, votes {z['votes']} [{z['status']}]")
        for line in depress_lines(last.get("depress") or []):
            print(f"  {line}")
        sh = last["safe_haven"]
        if sh.get("co2_ppm") is not None:
            print(f"  safe haven {sh['zone']}: CO2 {sh['co2_ppm']:.0f} ppm, limit {limit_in(sh)}")
    for nid, cfg in sorted(info["nodes"].items(), key=lambda kv: int(kv[0])):
        print(f"node {nid}: " + ", ".join(f"{k} {v}" for k, v in sorted(cfg.items())))
    for t, link, event, detail in info["link_events"]:
        print(f"{fmt_time(t)} link {link} {event}: {detail}")
    _print_integrity(info["integrity"])
    c = info["counts"]
    print(f"recorded: {c['rx']} chunks, {c['decisions']} decisions, {c['link_events']} link events; "
          f"policy {info['policy']}")
