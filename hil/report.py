"""Reports for both benches: Markdown with PNG plots (matplotlib, Agg backend) and JUnit XML.

Input is plain data so a virtual run and a chamber run render the same way:
- summary: {"scenario", "description", "runtime", "duration_s", "passed", "nodes": {id: {...}},
  "expectations": [{"text", "met", "detail"}], "detection": {...}, "comparisons": {...}}
- series: {"truth": {zone: {"t": [...], "pressure_pa": [...], "co2_ppm": [...]}},
           "nodes": {id: {"t": [...], "pressure_pa": [...], "rate_pa_s": [...], "co2_ppm": [...], "state": [...]}},
           "ground": {"t": [...], "state": [...]}, "reference": {"t": [...], "pressure_pa": [...]}}
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from safehaven.hil.scenario import GROUND_RANK, NODE_RANK

GROUND_LEVELS = ["NOMINAL", "MONITOR", "ISOLATE", "SHELTER", "SHELTERED"]


def _plot(path: Path, title: str, ylabel: str, lines: list[tuple[str, list, list, str]], step: bool = False,
          yticks: list[str] | None = None) -> bool:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    lines = [x for x in lines if x[1]]
    if not lines:
        return False
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=90)
    for label, t, y, style in lines:
        if step:
            ax.step(t, y, style, where="post", label=label, linewidth=1.2)
        else:
            ax.plot(t, y, style, label=label, linewidth=1.0)
    ax.set_title(title)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    if yticks:
        ax.set_yticks(range(len(yticks)))
        ax.set_yticklabels(yticks)
    ax.grid(True, alpha=0.3)
    if len(lines) <= 12:
        ax.legend(fontsize="x-small", loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def plots(series: dict, out: Path) -> list[str]:
    """Write the PNGs that have data; return their file names."""
    made = []
    truth = series.get("truth", {})
    nodes = series.get("nodes", {})
    ref = series.get("reference", {})

    def node_lines(key, scale=1.0):
        return [(f"node {nid}", s["t"], [v * scale if v is not None else None for v in s[key]], "-")
                for nid, s in sorted(nodes.items(), key=lambda kv: int(kv[0])) if s.get(key)]

    p = [(f"truth {z}", s["t"], s["pressure_pa"], "k--") for z, s in truth.items()] + node_lines("pressure_pa")
    if ref.get("t"):
        p.append(("reference gauge", ref["t"], ref["pressure_pa"], "k:"))
    if _plot(out / "pressure.png", "Pressure", "Pa", p):
        made.append("pressure.png")
    if _plot(out / "rate.png", "Temperature-compensated pressure rate (node)", "Pa/s", node_lines("rate_pa_s")):
        made.append("rate.png")
    c = [(f"truth {z}", s["t"], s["co2_ppm"], "k--") for z, s in truth.items() if s.get("co2_ppm")]
    if _plot(out / "co2.png", "CO2", "ppm", c + node_lines("co2_ppm")):
        made.append("co2.png")
    st = [(f"node {nid}", s["t"], [NODE_RANK.get(x, 0) for x in s["state"]], "-")
          for nid, s in sorted(nodes.items(), key=lambda kv: int(kv[0])) if s.get("state")]
    if _plot(out / "node_states.png", "Node detector states", "", st, step=True, yticks=list(NODE_RANK)):
        made.append("node_states.png")
    g = series.get("ground", {})
    if g.get("t"):
        levels = [GROUND_LEVELS.index(s) if s in GROUND_LEVELS else GROUND_RANK.get(s, 0) for s in g["state"]]
        if _plot(out / "ground_state.png", "Ground shelter state", "", [("ground", g["t"], levels, "b-")],
                 step=True, yticks=GROUND_LEVELS):
            made.append("ground_state.png")
    return made


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def markdown(summary: dict, images: list[str]) -> str:
    ok = summary.get("passed")
    lines = [f"# {summary.get('scenario', '?')}: {'PASS' if ok else 'FAIL'}", ""]
    if summary.get("description"):
        lines += [summary["description"], ""]
    lines += [f"- bench: {summary.get('bench', 'virtual')}, runtime: {summary.get('runtime', '-')}",
              f"- virtual time: {_fmt(summary.get('duration_s'))} s in {_fmt(summary.get('wall_s'))} s real time",
              ""]
    if summary.get("interrupted"):
        lines += ["**Interrupted**: the valves were put in the safe state; results cover the run so far.", ""]
    lines += ["## Expectations", "", "| expectation | result | detail |", "|---|---|---|"]
    for e in summary.get("expectations", []):
        lines.append(f"| {e['text']} | {'met' if e['met'] else '**NOT MET**'} | {e.get('detail', '')} |")
    lines += ["", "## Nodes", ""]
    nodes = summary.get("nodes", {})
    if nodes:
        keys = sorted({k for n in nodes.values() for k in n if not isinstance(n[k], (dict, list))})
        lines += ["| node | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
        for nid in sorted(nodes, key=int):
            lines.append(f"| {nid} | " + " | ".join(_fmt(nodes[nid].get(k)) for k in keys) + " |")
    det = summary.get("detection")
    if det:
        lines += ["", "## Detection delays against the scenario's truth", "", "```json",
                  json.dumps(det, indent=1, sort_keys=True), "```"]
    comp = summary.get("comparisons")
    if comp:
        lines += ["", "## Nodes against the reference gauge", "", "| node | samples | max abs error (Pa) | within |",
                  "|---|---|---|---|"]
        for nid, c in sorted(comp.items(), key=lambda kv: int(kv[0])):
            lines.append(f"| {nid} | {c['samples']} | {_fmt(c['max_abs_pa'])} | {c['within']} |")
    if images:
        lines += ["", "## Plots", ""] + [f"![{Path(i).stem}]({i})" for i in images]
    return "\n".join(lines) + "\n"


def write(summary: dict, series: dict, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    images = plots(series, out)
    path = out / "report.md"
    path.write_text(markdown(summary, images))
    return path


def junit(summary: dict, path: Path) -> Path:
    """JUnit XML: one test case per expectation (and one per node comparison) for a lab's CI."""
    cases = [(e["text"], e["met"], e.get("detail", "")) for e in summary.get("expectations", [])]
    for nid, c in sorted(summary.get("comparisons", {}).items(), key=lambda kv: int(kv[0])):
        cases.append((f"node {nid} pressure vs reference gauge", c["within"],
                      f"max abs error {c['max_abs_pa']} Pa over {c['samples']} samples"))
    if summary.get("interrupted"):
        cases.append(("run completed", False, "interrupted"))
    suite = ET.Element("testsuite", name=f"safehaven.{summary.get('scenario', 'bench')}",
                       tests=str(len(cases)), failures=str(sum(1 for c in cases if not c[1])),
                       time=f"{summary.get('wall_s', 0) or 0:.3f}")
    for name, met, detail in cases:
        case = ET.SubElement(suite, "testcase", classname=f"safehaven.{summary.get('scenario', 'bench')}", name=name)
        if not met:
            ET.SubElement(case, "failure", message=detail or "not met").text = detail
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    path.write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
    return path
