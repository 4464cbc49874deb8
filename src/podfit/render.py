"""Human views of results: tables a person reads at a glance, at 100 columns.

Colour only on a terminal, never when NO_COLOR is set.
"""

from __future__ import annotations

import io
import os
import sys
import textwrap
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

WIDTH = 100
NODE_WIDTH = 24
FILTER_MIN_WIDTH = 20

# Short column headings for score plugins.
SHORT = {
    "TaintToleration": "Taint",
    "NodeAffinity": "NodeAff",
    "NodeResourcesFit": "Fit",
    "PodTopologySpread": "Spread",
    "InterPodAffinity": "PodAff",
    "NodeResourcesBalancedAllocation": "Balance",
    "ImageLocality": "Image",
    "DynamicResources": "DRA",
}


def use_color(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def render(*items: Any, width: int = WIDTH) -> str:
    """Render rich renderables to a string (plain text unless stdout is a colour terminal)."""
    buf = io.StringIO()
    color = use_color()
    console = Console(
        file=buf,
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
    )
    for item in items:
        console.print(item)
    return buf.getvalue()


# --- plain fixed-width text (fast for thousands of nodes) ------------------------------------

_ANSI = {"bold": "1", "red": "31", "green": "32", "yellow": "33", "dim": "2"}

#: Above this many rejected (or feasible) nodes, explain groups them unless --all-nodes.
GROUP_ABOVE = 20
FEASIBLE_SHOWN = 10


class Lines:
    """Plain text lines, wrapped at WIDTH on word boundaries (a word never splits), with
    ANSI colour only when asked. Much cheaper than laying out a rich Table: explain stays
    fast for tens of thousands of nodes."""

    def __init__(self, color: bool, width: int = WIDTH) -> None:
        self.color = color
        self.width = width
        self.out: list[str] = []

    def style(self, text: str, style: str) -> str:
        if not self.color or not style:
            return text
        codes = ";".join(_ANSI[s] for s in style.split())
        return f"\x1b[{codes}m{text}\x1b[0m"

    def add(
        self, text: str = "", style: str = "", indent: int = 0, hang: int | None = None
    ) -> None:
        """One paragraph: the first line indented by ``indent``, the following ones by
        ``hang`` (default: the same)."""
        if not text:
            self.out.append("")
            return
        hang = indent if hang is None else hang
        wrapped = textwrap.wrap(
            text,
            width=self.width,
            initial_indent=" " * indent,
            subsequent_indent=" " * hang,
            break_long_words=False,
            break_on_hyphens=False,
        )
        for line in wrapped or [" " * indent]:
            lead = len(line) - len(line.lstrip(" "))
            self.out.append(line[:lead] + self.style(line[lead:], style))

    def raw(self, line: str) -> None:
        self.out.append(line)

    def text(self) -> str:
        return "\n".join(self.out) + "\n"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _reason(status: dict[str, Any]) -> str:
    # A node a PreFilter result left out has no plugin in its status (as upstream).
    plugin = status.get("plugin") or "PreFilter"
    return f"{plugin}: {'; '.join(status.get('reasons', []))}"


def _score_table(lines: Lines, d: dict[str, Any], nodes: list[dict[str, Any]]) -> None:
    """The feasible nodes with each score plugin's normalised score and the total."""
    plugins = list(d.get("weights") or {})
    selected = d.get("selected")
    name_width = min(max((len(n["name"]) for n in nodes), default=4), 40)
    name_width = max(name_width, 4)
    heads = [SHORT.get(p, p) for p in plugins]
    widths = [max(len(h), 3) for h in heads]
    row_width = 2 + name_width + sum(w + 2 for w in widths) + 7
    if not plugins or row_width > lines.width:
        for node in nodes:
            mark = "▶ " if node["name"] == selected else "  "
            total = f"  total {node['total']}" if "total" in node else ""
            lines.add(mark + node["name"] + total, "bold" if mark.strip() else "")
        return
    head1 = " " * (2 + name_width) + "".join(
        f"  {h:>{w}}" for h, w in zip(heads, widths, strict=True)
    )
    head2 = (
        "  "
        + "NODE".ljust(name_width)
        + "".join(
            f"  {'×' + str(d['weights'][p]):>{w}}" for p, w in zip(plugins, widths, strict=True)
        )
        + "  TOTAL"
    )
    lines.raw(lines.style(head1, "bold"))
    lines.raw(lines.style(head2, "bold"))
    for node in nodes:
        name = node["name"]
        is_selected = name == selected
        scores = node.get("scores") or {}
        cells = "".join(f"  {scores.get(p, ''):>{w}}" for p, w in zip(plugins, widths, strict=True))
        total = f"  {node.get('total', ''):>5}"
        if len(name) > name_width:
            lines.raw(("▶ " if is_selected else "  ") + name)
            name = ""
        row = ("▶ " if is_selected else "  ") + name.ljust(name_width) + cells + total
        lines.raw(lines.style(row, "bold green") if is_selected else row)


def _rejected_nodes(lines: Lines, rejected: list[dict[str, Any]]) -> None:
    """Every rejected node: its plugin and reasons, then each detail on its own line."""
    width = max((len(n["name"]) for n in rejected if len(n["name"]) <= 24), default=8)
    for node in rejected:
        name = node["name"]
        reason = _reason(node["status"])
        if len(name) > width:
            lines.add(name, indent=2)
            lines.add(reason, "red", indent=4 + width, hang=6 + width)
        else:
            lines.add(f"{name.ljust(width)}  {reason}", "red", indent=2, hang=6 + width)
        for why in node.get("why") or []:
            lines.add(f"· {why['text']}", indent=4 + width, hang=6 + width)


def _grouped(lines: Lines, rejected: list[dict[str, Any]]) -> None:
    """Rejected nodes grouped by plugin and reasons, as kube-scheduler's message counts
    them, each group split by its details (most common first, three shown)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for node in rejected:
        groups.setdefault(_reason(node["status"]), []).append(node)
    for reason, nodes in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0])):
        lines.add(f"{_count(len(nodes), 'node')}: {reason}", "red", indent=2, hang=6)
        causes: dict[str, list[str]] = {}
        texts: dict[int, str] = {}  # nodes with the same cause share one list of details
        for node in nodes:
            why = node.get("why") or []
            key = texts.get(id(why))
            if key is None:
                key = texts[id(why)] = "; ".join(w["text"] for w in why)
            causes.setdefault(key, []).append(node["name"])
        ordered = sorted(causes.items(), key=lambda c: (-len(c[1]), c[0]))
        for cause, names in ordered[:3]:
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            prefix = f"{_count(len(names), 'node')} ({shown})"
            lines.add(f"· {prefix}" + (f": {cause}" if cause else ""), indent=4, hang=6)
        if len(ordered) > 3:
            rest = sum(len(n) for _, n in ordered[3:])
            lines.add(
                f"· and {_count(rest, 'node')} with {len(ordered) - 3} other causes",
                "dim",
                indent=4,
                hang=6,
            )


def explain_view(d: dict[str, Any], *, all_nodes: bool = False, width: int = WIDTH) -> str:
    """An explanation for people: the feasible nodes' scores, the rejected nodes with
    kube-scheduler's reasons and the concrete causes beside them (grouped by reason when
    there are many), preemption, what would make the pod fit, and the message."""
    lines = Lines(use_color(), width)
    details = [f"priority {d['priority']}", f"scheduler {d['schedulerName']}"]
    if d.get("qos"):
        details.insert(0, f"QoS {d['qos']}")
    if d.get("kubeVersion"):
        details.append(f"Kubernetes {d['kubeVersion']}")
    subject = f"DaemonSet {d['daemonSet']}" if d.get("daemonSet") else f"Pod {d['pod']}"
    lines.add(f"{subject} ({', '.join(details)})", "bold", hang=2)
    for note in d.get("notes") or []:
        lines.add(f"note: {note}", "dim", hang=6)
    for warning in d.get("warnings") or []:
        lines.add(f"warning: {warning}", "yellow", hang=9)
    if d.get("bypass"):
        lines.add(f"note: {d['bypass']}", "yellow", hang=6)
    if d.get("unmodelled"):
        lines.add(f"cannot decide: {d['unmodelled']}", "bold yellow", hang=15)
    nodes = d.get("nodes") or []
    feasible = [n for n in nodes if n.get("status") == "Success"]
    rejected = [n for n in nodes if isinstance(n.get("status"), dict)]
    unchecked = [n for n in nodes if n.get("status") == "NotChecked"]
    if feasible:
        lines.add()
        lines.add(f"Fits on {_count(len(feasible), 'node')} of {len(nodes):,}:", "bold")
        shown = feasible
        if not all_nodes and len(feasible) > GROUP_ABOVE:
            shown = sorted(feasible, key=lambda n: -int(n.get("total", 0)))[:FEASIBLE_SHOWN]
        if d.get("daemonSet"):
            lines.add(", ".join(n["name"] for n in shown), indent=2)
        else:
            _score_table(lines, d, shown)
        if len(shown) < len(feasible):
            lines.add(
                f"... and {_count(len(feasible) - len(shown), 'more feasible node')} "
                "(--all-nodes lists them)",
                "dim",
                indent=2,
            )
    if rejected:
        lines.add()
        lines.add(f"Rejected: {_count(len(rejected), 'node')}", "bold")
        if all_nodes or len(rejected) <= GROUP_ABOVE:
            _rejected_nodes(lines, rejected)
        else:
            _grouped(lines, rejected)
            lines.add("(--all-nodes lists every node)", "dim", indent=2)
    for why in d.get("prefilterWhy") or []:
        lines.add(f"· {why['text']}", indent=2, hang=4)
    if unchecked:
        lines.add(f"{_count(len(unchecked), 'node')} not checked", "dim")
    preemption = d.get("preemption")
    if preemption:
        lines.add()
        victims = ", ".join(preemption.get("victims") or []) or "no pod"
        lines.add(
            f"Preemption: would evict {victims} on {preemption['nominatedNode']} "
            "(kube-scheduler nominates that node; the pod goes there once they are gone)",
            "bold",
            hang=2,
        )
        for v in preemption.get("violates") or []:
            lines.add(
                f"· evicting {v['pod']} violates PodDisruptionBudget {v['podDisruptionBudget']}",
                "yellow",
                indent=2,
                hang=4,
            )
    fixes = d.get("fixes") or []
    if fixes:
        lines.add()
        lines.add("What would make it fit (each checked with the reference):", "bold")
        for i, fix in enumerate(fixes, start=1):
            lines.add(f"{i}. {fix['text']}", indent=2, hang=5)
    lines.add()
    if d.get("schedulable"):
        ties = [n for n in d.get("top") or [] if n != d.get("selected")]
        tail = f" (tied with {', '.join(ties)}; kube-scheduler picks one at random)" if ties else ""
        lines.add(f"selected: {d['selected']}{tail}", "bold green", hang=2)
    else:
        lines.add(str(d["message"]), "bold red", hang=2)
    return lines.text()


def explain_text(d: dict[str, Any]) -> str:
    """The explanation as text (grouped when there are many nodes)."""
    return explain_view(d)


def _amount(name: str, value: int) -> str:
    if name == "cpu":
        return f"{value / 1000:g}"
    if name == "memory":
        return f"{value / 2**30:.1f}Gi"
    return str(value)


def simulate_view(d: dict[str, Any]) -> str:
    """Placements in queue order, pending pods with their message, and per-node usage."""
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("POD", no_wrap=True)
    table.add_column("NODE / WHY PENDING", overflow="fold", ratio=1)
    for i, dec in enumerate(d["decisions"], start=1):
        if dec["node"]:
            ties = f"  (tied: {', '.join(dec['ties'])})" if dec["ties"] else ""
            table.add_row(str(i), dec["pod"], Text(f"→ {dec['node']}{ties}", style="green"))
        else:
            table.add_row(str(i), dec["pod"], Text(dec["message"], style="red"))
    usage = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    usage.add_column("NODE", no_wrap=True)
    usage.add_column("PODS", justify="right")
    usage.add_column("CPU req/alloc", justify="right")
    usage.add_column("MEMORY req/alloc", justify="right")
    for node in d["nodes"]:
        r = node["resources"]
        usage.add_row(
            node["node"],
            f"{r['pods']['requested']}/{r['pods']['allocatable']}",
            f"{_amount('cpu', r['cpu']['requested'])}/{_amount('cpu', r['cpu']['allocatable'])}",
            f"{_amount('memory', r['memory']['requested'])}/"
            f"{_amount('memory', r['memory']['allocatable'])}",
        )
    placed = sum(1 for dec in d["decisions"] if dec["node"])
    summary = Text(f"{placed} placed, {len(d['pending'])} pending", style="bold")
    parts: list[Any] = [table, Text(""), usage, summary]
    if d["evicted"]:
        parts.insert(1, Text(f"evicted: {', '.join(d['evicted'])}", style="yellow"))
    return render(*parts)
