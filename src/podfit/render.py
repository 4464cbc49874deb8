"""Human views of results: tables a person reads at a glance, at 100 columns.

Colour only on a terminal, never when NO_COLOR is set.
"""

from __future__ import annotations

import io
import os
import sys
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


def explain_text(d: dict[str, Any]) -> str:
    """The node x plugin table of an explanation."""
    head = Text()
    head.append(f"Pod {d['pod']}", style="bold")
    details = [f"priority {d['priority']}", f"scheduler {d['schedulerName']}"]
    if d.get("qos"):
        details.insert(0, f"QoS {d['qos']}")
    if d.get("kubeVersion"):
        details.append(f"Kubernetes {d['kubeVersion']}")
    head.append(f" ({', '.join(details)})")
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    # Long node names fold and the filter column keeps room for its reasons, so that a
    # table with every score column still fits in WIDTH columns.
    table.add_column("NODE", overflow="fold", max_width=NODE_WIDTH)
    table.add_column("FILTER", overflow="fold", ratio=1, min_width=FILTER_MIN_WIDTH)
    plugins = list(d["weights"])
    for plugin in plugins:
        # The weight goes under the name: narrower columns leave the reasons room.
        heading = f"{SHORT.get(plugin, plugin)}\n×{d['weights'][plugin]}"
        table.add_column(heading, justify="right", no_wrap=True)
    if plugins:
        table.add_column("TOTAL", justify="right")
    for node in d["nodes"]:
        name = node["name"]
        selected = name == d["selected"]
        status = node["status"]
        if isinstance(status, dict):
            # A node a PreFilter result left out has no plugin in its status (as upstream).
            plugin = status["plugin"] or "PreFilter"
            verdict = Text(f"✗ {plugin}: {'; '.join(status['reasons'])}", style="red")
        elif status == "Success":
            verdict = Text("✓ fits", style="green")
        else:
            verdict = Text("- not checked", style="dim")
        row: list[Any] = [
            Text(("▶ " if selected else "  ") + name, style="bold" if selected else "")
        ]
        row.append(verdict)
        if plugins:
            scores = node.get("scores", {})
            row += [str(scores[p]) if p in scores else "" for p in plugins]
            row.append(Text(str(node.get("total", "")), style="bold" if selected else ""))
        table.add_row(*row)
    lines: list[Any] = [head]
    if d.get("bypass"):
        lines.append(Text(f"note: {d['bypass']}", style="yellow"))
    if d.get("unmodelled"):
        lines.append(Text(f"cannot decide: {d['unmodelled']}", style="bold yellow"))
    lines.append(table)
    if d["schedulable"]:
        ties = [n for n in d["top"] if n != d["selected"]]
        tail = f" (tied with {', '.join(ties)}; kube-scheduler picks one at random)" if ties else ""
        lines.append(Text(f"selected: {d['selected']}{tail}", style="bold green"))
    else:
        lines.append(Text(d["message"], style="bold red"))
    return render(*lines)


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
