"""Self-contained HTML pages for people: an explanation, a simulation, a conformance report.

Each page is one file with inline CSS and no external fetches, so it can be attached to a
ticket or a CI run and opened offline. Every value that comes from user YAML (pod, node
and label names, messages) is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from podfit.render import SHORT

__all__ = [
    "render_admit",
    "render_conformance_report",
    "render_explain",
    "render_simulation",
    "render_solve",
    "render_whatif",
]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#1d2330;
background:#fafbfc;font-size:14px}
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.4rem 0 .5rem}
.meta{color:#556;margin-bottom:1rem}.meta span{margin-right:1.2rem}
table{border-collapse:collapse;background:#fff;box-shadow:0 1px 2px #0002}
th,td{border:1px solid #dde1e6;padding:.35rem .55rem;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.node{white-space:nowrap}
tr.selected td{background:#e8f6ec;font-weight:600}
.pass{color:#17733a}.fail{color:#b3261e}.skip{color:#888}
.marker{color:#17733a}
.bar{display:inline-block;height:.6rem;background:#4a7bd0;border-radius:2px;
vertical-align:middle;margin-right:.35rem}
.barbox{display:inline-block;width:60px;height:.6rem;background:#e4e8ee;border-radius:2px;
vertical-align:middle;margin-right:.35rem}
.barbox .bar{margin:0;display:block;height:100%}
.barbox .over{background:#c0392b}
.message{padding:.6rem .8rem;border-radius:4px;margin:1rem 0;font-weight:600}
.message.ok{background:#e8f6ec;color:#17733a}.message.bad{background:#fdecea;color:#b3261e}
.note{background:#fff7e0;padding:.5rem .8rem;border-radius:4px}
pre{background:#f1f3f6;padding:.6rem;overflow-x:auto;font-size:12px}
code{font-family:ui-monospace,Menlo,Consolas,monospace}
details{margin:.5rem 0}
ul.why{margin:.3rem 0 0;padding-left:1.1rem;color:#1d2330;font-weight:normal}
.warning{background:#fdf0d5}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _page(title: str, body: Iterable[str]) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # No network: forbid every fetch except inline styles.
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _score_bar(score: Any) -> str:
    try:
        width = max(0, min(100, int(score)))
    except (TypeError, ValueError):
        return _e(score)
    return (
        f'<span class="barbox" title="{width}/100"><span class="bar" '
        f'style="width:{width}%"></span></span>{width}'
    )


def _usage_bar(requested: int, allocatable: int) -> str:
    if allocatable <= 0:
        share = 100 if requested > 0 else 0
    else:
        share = round(100 * requested / allocatable)
    css = "bar over" if requested > allocatable else "bar"
    return (
        f'<span class="barbox" title="{share}%"><span class="{css}" '
        f'style="width:{min(share, 100)}%"></span></span>{share}%'
    )


# --- explain ---------------------------------------------------------------------------------


def _node_matrix(d: Mapping[str, Any], *, table_id: str = "nodes") -> str:
    """The node x plugin table of an explanation: each node's filter verdict, its scores as
    bars, and the selected node marked."""
    weights: Mapping[str, int] = d.get("weights") or {}
    plugins = list(weights)
    selected = d.get("selected")
    head = ["<th>node</th>", "<th>filters</th>"]
    head += [f'<th title="{_e(p)}">{_e(SHORT.get(p, p))} ×{_e(weights[p])}</th>' for p in plugins]
    if plugins:
        head.append("<th>total</th>")
    rows = []
    for node in d.get("nodes", []):
        name = node.get("name")
        is_selected = name is not None and name == selected
        status = node.get("status")
        if isinstance(status, Mapping):
            reasons = "; ".join(str(r) for r in status.get("reasons", []))
            why = "".join(f"<li>{_e(w.get('text'))}</li>" for w in node.get("why") or [])
            verdict = (
                f'<td class="fail">✗ <b>{_e(status.get("plugin") or "PreFilter")}</b> '
                f"<small>({_e(status.get('code'))})</small><br>{_e(reasons)}"
                + (f'<ul class="why">{why}</ul>' if why else "")
                + "</td>"
            )
        elif status == "Success":
            verdict = '<td class="pass">✓ passes every filter</td>'
        else:
            verdict = f'<td class="skip">{_e(status or "not checked")}</td>'
        marker = '<span class="marker" title="selected">▶ </span>' if is_selected else ""
        cells = [f'<td class="node">{marker}{_e(name)}</td>', verdict]
        scores = node.get("scores") or {}
        for p in plugins:
            cells.append(f'<td class="num">{_score_bar(scores[p]) if p in scores else ""}</td>')
        if plugins:
            cells.append(f'<td class="num">{_e(node.get("total", ""))}</td>')
        attrs = ' class="selected" id="selected-node"' if is_selected else ""
        rows.append(f'<tr{attrs} data-node="{_e(name)}">{"".join(cells)}</tr>')
    return (
        f'<table id="{_e(table_id)}"><thead><tr>'
        + "".join(head)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def render_explain(d: Mapping[str, Any]) -> str:
    """An explanation (``ScheduleResult.to_dict()``) as a node x plugin table, with the
    concrete cause under each rejection, preemption's outcome and what would make it fit."""
    selected = d.get("selected")
    meta = [
        f"<span>QoS <b>{_e(d.get('qos') or '-')}</b></span>",
        f"<span>priority <b>{_e(d.get('priority'))}</b></span>",
        f"<span>scheduler <b>{_e(d.get('schedulerName'))}</b></span>",
    ]
    subject = (
        f'DaemonSet <code id="pod">{_e(d.get("daemonSet"))}</code>'
        if d.get("daemonSet")
        else f'<code id="pod">{_e(d.get("pod"))}</code>'
    )
    body = [
        f"<h1>Where {subject} fits</h1>",
        f'<div class="meta">{"".join(meta)}</div>',
    ]
    for note in d.get("notes") or []:
        body.append(f'<p class="note">{_e(note)}</p>')
    for warning in d.get("warnings") or []:
        body.append(f'<p class="note warning">Warning: {_e(warning)}</p>')
    if d.get("bypass"):
        body.append(f'<p class="note">{_e(d["bypass"])}</p>')
    if d.get("unmodelled"):
        body.append(f'<p class="note warning">Cannot decide: {_e(d["unmodelled"])}</p>')
    ok = bool(d.get("schedulable"))
    body.append(
        f'<div id="message" class="message {"ok" if ok else "bad"}">{_e(d.get("message"))}</div>'
    )
    for why in d.get("prefilterWhy") or []:
        body.append(f"<p>{_e(why.get('text'))}</p>")
    preemption = d.get("preemption")
    if preemption:
        victims = ", ".join(map(str, preemption.get("victims") or [])) or "no pod"
        body.append(
            '<h2>Preemption</h2><div id="preemption"><p>Would evict '
            f"<b>{_e(victims)}</b> on <b>{_e(preemption.get('nominatedNode'))}</b>: "
            "kube-scheduler nominates that node and the pod goes there once they are gone.</p>"
        )
        violated = preemption.get("violates") or []
        if violated:
            body.append(
                '<ul class="fail">'
                + "".join(
                    f"<li>evicting {_e(v.get('pod'))} violates PodDisruptionBudget "
                    f"{_e(v.get('podDisruptionBudget'))}</li>"
                    for v in violated
                )
                + "</ul>"
            )
        body.append("</div>")
    fixes = d.get("fixes") or []
    if fixes:
        body.append("<h2>What would make it fit</h2>")
        body.append("<p>Each change was applied and checked with podfit's reference.</p>")
        body.append(
            '<ol id="fixes">' + "".join(f"<li>{_e(f.get('text'))}</li>" for f in fixes) + "</ol>"
        )
    body.append("<h2>Nodes</h2>")
    body.append(_node_matrix(d))
    ties = [n for n in d.get("top") or [] if n != selected]
    if ok and ties:
        body.append(
            f"<p>Tied with {_e(', '.join(ties))}: kube-scheduler picks one of them at random.</p>"
        )
    if d.get("notModelled"):
        body.append(
            f'<p class="skip">Not modelled: {_e(", ".join(map(str, d["notModelled"])))}</p>'
        )
    return _page(f"podfit explain {d.get('pod', '')}", body)


# --- simulate --------------------------------------------------------------------------------


def _amount(resource: str, value: int) -> str:
    if resource == "cpu":
        return f"{value / 1000:g}"
    if resource == "memory":
        return f"{value / 2**30:.1f}Gi"
    return str(value)


def _usage_table(nodes: Iterable[Mapping[str, Any]], placed_on: Mapping[str, list[str]]) -> str:
    """Per node: cpu, memory and pod slots requested against allocatable, as bars, and the
    pods placed there."""
    rows = []
    for node in nodes:
        name = node.get("node")
        res = node.get("resources", {})
        cells = [f"<td>{_e(name)}</td>"]
        for resource in ("cpu", "memory", "pods"):
            r = res.get(resource, {"requested": 0, "allocatable": 0})
            req, alloc = int(r["requested"]), int(r["allocatable"])
            cells.append(
                f"<td>{_usage_bar(req, alloc)} "
                f"<small>{_e(_amount(resource, req))} / {_e(_amount(resource, alloc))}</small></td>"
            )
        new = placed_on.get(str(name), [])
        cells.append(f"<td>{'<br>'.join(_e(p) for p in new) or '-'}</td>")
        rows.append(f'<tr data-node="{_e(name)}">{"".join(cells)}</tr>')
    return (
        '<table id="nodes"><thead><tr><th>node</th><th>cpu requested / allocatable</th>'
        "<th>memory requested / allocatable</th><th>pods</th><th>placed here</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def render_solve(d: Mapping[str, Any]) -> str:
    """A solver answer (``SolveResult.to_dict()`` plus ``nodes``, the per-node usage with
    the placement applied): the placement per node, or the explanation."""
    status = str(d.get("status"))
    placement: Mapping[str, str] = d.get("placement") or {}
    unplaced = list(d.get("unplaced") or [])
    placed_on: dict[str, list[str]] = {}
    for pod, node in placement.items():
        placed_on.setdefault(node, []).append(pod)
    if status == "feasible":
        summary = f"feasible: {len(placement)} placed" + (
            f", {len(unplaced)} not placed" if unplaced else ""
        )
    elif status == "infeasible":
        summary = "infeasible: the pods cannot all be placed"
    else:
        summary = "unknown: the solver could not decide in time"
    ok = status == "feasible" and not unplaced
    body = [
        "<h1>Solver</h1>",
        f'<div id="message" class="message {"ok" if ok else "bad"}">{_e(summary)}</div>',
    ]
    if d.get("objective") is not None:
        body.append(f'<p class="note">Objective: <b>{_e(d["objective"])}</b></p>')
    explanation = list(d.get("explanation") or [])
    if explanation:
        body.append('<h2>Why</h2><ul id="explanation">')
        body += [f"<li>{_e(line)}</li>" for line in explanation]
        body.append("</ul>")
    if d.get("core"):
        body.append(
            '<p id="core">Rules: ' + ", ".join(f"<code>{_e(r)}</code>" for r in d["core"]) + "</p>"
        )
    if placement or d.get("nodes"):
        body.append("<h2>Placement per node</h2>")
        body.append(_usage_table(d.get("nodes") or [], placed_on))
    if unplaced:
        body.append('<h2>Not placed</h2><ul id="unplaced">')
        body += [f"<li><code>{_e(p)}</code></li>" for p in unplaced]
        body.append("</ul>")
    return _page("podfit solve", body)


def render_simulation(d: Mapping[str, Any]) -> str:
    """A simulation (``SimulationResult.to_dict()``): placements per node, pending pods."""
    decisions = list(d.get("decisions", []))
    pending = list(d.get("pending", []))
    placed_on: dict[str, list[str]] = {}
    for dec in decisions:
        if dec.get("node"):
            placed_on.setdefault(dec["node"], []).append(dec["pod"])
    placed = sum(len(v) for v in placed_on.values())
    body = [
        "<h1>Simulation</h1>",
        f'<div id="summary" class="message {"bad" if pending else "ok"}">'
        f"{placed} placed, {len(pending)} pending</div>",
    ]
    if d.get("evicted"):
        body.append(f'<p class="note">Evicted: {_e(", ".join(map(str, d["evicted"])))}</p>')
    body.append("<h2>Nodes</h2>")
    body.append(_usage_table(d.get("nodes", []), placed_on))
    body.append("<h2>Queue order</h2>")
    order_rows = []
    for i, dec in enumerate(decisions, start=1):
        if dec.get("node"):
            ties = (
                f" <small>(tied: {_e(', '.join(dec['ties']))})</small>" if dec.get("ties") else ""
            )
            where = f'<td class="pass">→ {_e(dec["node"])}{ties}</td>'
        else:
            where = f'<td class="fail">{_e(dec.get("message"))}</td>'
        order_rows.append(f'<tr><td class="num">{i}</td><td>{_e(dec.get("pod"))}</td>{where}</tr>')
    body.append(
        '<table id="decisions"><thead><tr><th>#</th><th>pod</th><th>node / why pending</th>'
        f"</tr></thead><tbody>{''.join(order_rows)}</tbody></table>"
    )
    if pending:
        body.append('<h2>Pending</h2><ul id="pending">')
        body += [
            f'<li><code>{_e(p.get("pod"))}</code>: <span class="fail">{_e(p.get("message"))}'
            "</span></li>"
            for p in pending
        ]
        body.append("</ul>")
    return _page("podfit simulate", body)


# --- whatif and admit -----------------------------------------------------------------------


def render_whatif(d: Mapping[str, Any]) -> str:
    """What a node change does (``WhatIfResult.to_dict()``): the evictions on a timeline,
    the pods that stay, the pending pods it affects, and the verdict on the change."""
    harmed = list(d.get("harmed") or [])
    blocked = list(d.get("blockedByDisruptionBudget") or [])
    timeline = list(d.get("timeline") or [])
    evicted = sum(1 for e in timeline if e.get("at") is not None)
    summary = f"{evicted} evicted"
    if blocked:
        summary += f", {len(blocked)} blocked by a PodDisruptionBudget"
    summary += f", {len(d.get('lost') or [])} lost, {len(d.get('kept') or [])} stay"
    drain = d.get("drain") or {}
    bad = bool(harmed) or bool(drain.get("refused"))
    verdict = (
        f"{summary}; left without a node by the change: {', '.join(harmed)}"
        if harmed
        else f"{summary}; "
        + (
            "kubectl drain refuses"
            if drain.get("refused")
            else "the change leaves no pod without a node"
        )
    )
    body = [
        f"<h1>What if: <code>{_e(d.get('description'))}</code></h1>",
        f'<div id="summary" class="message {"bad" if bad else "ok"}">{_e(verdict)}</div>',
    ]
    for error in drain.get("errors") or []:
        body.append(f'<p class="fail">error: {_e(error)}</p>')
    for warning in drain.get("warnings") or []:
        body.append(f'<p class="note warning">Warning: {_e(warning)}</p>')
    body.append("<h2>Evictions</h2>")
    if timeline:
        rows = []
        for e in timeline:
            at = "blocked" if e.get("at") is None else f"{e['at']} s"
            then_class = "fail" if e.get("node") is None else "pass"
            rows.append(
                f'<tr data-pod="{_e(e.get("pod"))}"><td class="num">{_e(at)}</td>'
                f"<td>{_e(e.get('pod'))}</td><td>{_e(e.get('by'))}: {_e(e.get('why'))}</td>"
                f'<td class="{then_class}">{_e(e.get("then"))}</td></tr>'
            )
        body.append(
            '<table id="timeline"><thead><tr><th>at</th><th>pod</th><th>why</th><th>then</th>'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    else:
        body.append("<p>No pod is evicted.</p>")
    if d.get("kept"):
        body.append('<h2>Stay</h2><ul id="kept">')
        body += [f"<li><code>{_e(k.get('pod'))}</code>: {_e(k.get('why'))}</li>" for k in d["kept"]]
        body.append("</ul>")
    affected = [
        p for p in d.get("pending") or [] if p.get("verdict") not in ("unchanged", "still pending")
    ]
    if affected:
        body.append('<h2>Pending pods the change affects</h2><ul id="pending">')
        for p in affected:
            after = p.get("after") or p.get("afterMessage")
            css = "fail" if p.get("after") is None else "pass"
            before = p.get("before") or "pending"
            body.append(
                f"<li><code>{_e(p.get('pod'))}</code> (before: {_e(before)}): "
                f'<span class="{css}">{_e(p.get("verdict"))}: {_e(after)}</span></li>'
            )
        body.append("</ul>")
    waiting = d.get("alreadyPending") or []
    if waiting:
        body.append(
            '<p id="already-pending" class="skip">Already pending before the change, still '
            f"pending: {_e(', '.join(waiting))}</p>"
        )
    for note in d.get("notes") or []:
        body.append(f'<p class="note">{_e(note)}</p>')
    return _page(f"podfit whatif {d.get('description', '')}", body)


def render_admit(d: Mapping[str, Any]) -> str:
    """An admission (``AdmissionResult.to_dict()``): the verdict, each quota's usage and
    where it came from, the notes, and the pod as stored."""
    meta = d.get("pod", {}).get("metadata", {})
    key = f"{meta.get('namespace', 'default')}/{meta.get('name')}"
    ok = bool(d.get("admitted"))
    verdict = "admitted" if ok else "rejected"
    body = [
        f'<h1>Admission of <code id="pod">{_e(key)}</code></h1>',
        f'<div class="meta"><span>QoS <b>{_e(d.get("qos"))}</b></span></div>',
        f'<div id="message" class="message {"ok" if ok else "bad"}">{_e(verdict)}'
        + (f": {_e(d.get('reason'))}" if d.get("reason") else "")
        + "</div>",
    ]
    before = d.get("usage", {}).get("before") or {}
    after = d.get("usage", {}).get("after") or {}
    sources = {q.get("name"): q for q in d.get("quotas") or []}
    if before:
        with_pod = "with the pod" if ok else "what the pod would have made"
        body.append("<h2>Quota usage</h2>")
        rows = []
        for quota, used in before.items():
            info = sources.get(quota, {})
            origin = "status.used" if info.get("usageFrom") == "status" else "recounted (no status)"
            for name, value in used.items():
                recount = (info.get("recount") or {}).get(name, value)
                cls = (
                    ' class="fail"'
                    if info.get("usageFrom") == "status" and recount != value
                    else ""
                )
                rows.append(
                    f'<tr data-quota="{_e(quota)}"><td>{_e(quota)}</td><td>{_e(origin)}</td>'
                    f'<td>{_e(name)}</td><td class="num">{_e(value)}</td>'
                    f'<td class="num">{_e(after.get(quota, {}).get(name, value))}</td>'
                    f'<td class="num">{_e((info.get("hard") or {}).get(name, ""))}</td>'
                    f'<td class="num"{cls}>{_e(recount)}</td></tr>'
                )
        body.append(
            '<table id="quotas"><thead><tr><th>quota</th><th>usage from</th><th>resource</th>'
            f"<th>before</th><th>{_e(with_pod)}</th><th>hard</th><th>the pods add up to</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    for note in d.get("notes") or []:
        body.append(f'<p class="note warning">{_e(note)}</p>')
    body.append("<h2>The pod after admission</h2>")
    body.append(f"<pre><code>{_e(_yaml(d.get('pod')))}</code></pre>")
    return _page(f"podfit admit {key}", body)


# --- conformance -----------------------------------------------------------------------------


def _yaml(data: Any) -> str:
    from podfit.output import to_yaml

    return to_yaml(data)


def _written_manifests(path: Any) -> dict[str, str] | None:
    """The counterexample files the runner wrote next to the finding, if they are there."""
    if not path:
        return None
    from pathlib import Path

    out = {}
    for name in ("cluster.yaml", "pod.yaml"):
        file = Path(str(path)) / name
        if file.is_file():
            out[name] = file.read_text(encoding="utf-8")
    return out or None


def render_conformance_report(report: Mapping[str, Any]) -> str:
    """A conformance run (``Report.to_dict()``): counts per rule area and every finding.

    A finding may carry ``manifests`` (a list of manifests, or a mapping of file name to
    content); they are shown as YAML next to the command that replays the finding.
    """
    ok = bool(report.get("ok"))
    totals = report.get("totals", {})
    status = "conforms" if ok else f"{len(report.get('findings', []))} finding(s)"
    if not report.get("complete", True):
        status += " (run incomplete: interrupted or timed out)"
    body = [
        f"<h1>Conformance of <code>{_e(report.get('scheduler'))}</code></h1>",
        '<div class="meta">'
        f"<span>seed <b>{_e(report.get('seed'))}</b></span>"
        f"<span>max examples <b>{_e(report.get('maxExamples'))}</b></span>"
        f"<span>started <b>{_e(report.get('started'))}</b></span>"
        f"<span>elapsed <b>{_e(report.get('elapsedSeconds'))} s</b></span></div>",
        f'<div id="message" class="message {"ok" if ok else "bad"}">{_e(status)} — '
        f"{_e(totals.get('run', 0))} examples, {_e(totals.get('passed', 0))} passed, "
        f"{_e(totals.get('failed', 0))} failed</div>",
        "<h2>Rule areas</h2>",
    ]
    failed_areas: dict[str, int] = {}
    for f in report.get("findings", []):
        for area in f.get("areas") or ["all"]:
            failed_areas[area] = failed_areas.get(area, 0) + 1
    rows = []
    for area, counts in (report.get("areas") or {}).items():
        bad = counts.get("failed", 0) or failed_areas.get(area, 0)
        verdict = '<td class="fail">✗ fails</td>' if bad else '<td class="pass">✓</td>'
        rows.append(
            f'<tr data-area="{_e(area)}"><td>{_e(area)}</td>{verdict}'
            f'<td class="num">{_e(counts.get("run", 0))}</td>'
            f'<td class="num">{_e(counts.get("passed", 0))}</td>'
            f'<td class="num">{_e(counts.get("failed", 0))}</td></tr>'
        )
    body.append(
        '<table id="areas"><thead><tr><th>area</th><th>result</th><th>run</th><th>passed</th>'
        f"<th>failed</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    rules: Mapping[str, Mapping[str, Any]] = report.get("rules") or {}
    if rules:
        body.append(f"<h2>Rules ({len(rules)} checked)</h2>")
        by_area: dict[str, list[str]] = {}
        for rule, info in rules.items():
            mark = (
                f'<span class="fail">✗ {_e(rule)}</span>'
                if info.get("findings")
                else f'<span class="pass">✓</span> {_e(rule)}'
            )
            by_area.setdefault(str(info.get("area")), []).append(f"<li>{mark}</li>")
        for area, items in by_area.items():
            body.append(
                f'<details data-area="{_e(area)}"><summary>{_e(area)} '
                f"({len(items)} rules)</summary><ul>{''.join(items)}</ul></details>"
            )
    not_covered = report.get("notCovered") or {}
    if not_covered:
        body.append("<h2>Not covered</h2><ul>")
        body += [f"<li><b>{_e(a)}</b>: {_e(why)}</li>" for a, why in not_covered.items()]
        body.append("</ul>")
    findings = list(report.get("findings", []))
    if findings:
        body.append('<h2>Findings</h2><div id="findings">')
    for i, f in enumerate(findings, start=1):
        body.append(f'<section class="finding" id="finding-{i}">')
        body.append(
            f"<h3>{i}. {_e(f.get('property'))} "
            f"<small>[{_e(', '.join(map(str, f.get('areas') or [])))}]</small></h3>"
        )
        body.append(f'<p class="fail">{_e(f.get("message"))}</p>')
        if f.get("rules"):
            body.append(
                "<p>Rules: " + ", ".join(f"<code>{_e(r)}</code>" for r in f["rules"]) + "</p>"
            )
        decision = f.get("decision")
        reference = f.get("reference") or {}
        body.append(
            f"<p>Scheduler: <code>{_e(_yaml(decision).strip() if decision else 'no answer')}"
            f"</code><br>Reference: <code>{_e(reference.get('message', ''))}</code></p>"
        )
        explained = f.get("explain")
        if isinstance(explained, Mapping):
            body.append("<p>The counterexample through podfit's reference, node by node:</p>")
            body.append(_node_matrix(explained, table_id=f"matrix-{i}"))
        if f.get("replay"):
            body.append(f"<p>Replay:</p><pre><code>{_e(f['replay'])}</code></pre>")
        manifests = f.get("manifests") or _written_manifests(f.get("path"))
        if isinstance(manifests, Mapping):
            for fname, content in manifests.items():
                text = content if isinstance(content, str) else _yaml(content)
                body.append(
                    f"<details><summary>{_e(fname)}</summary><pre><code>{_e(text)}"
                    "</code></pre></details>"
                )
        elif manifests:
            body.append(
                "<details><summary>manifests</summary><pre><code>"
                f"{_e(_yaml(list(manifests)))}</code></pre></details>"
            )
        if f.get("path"):
            body.append(f"<p>Written to <code>{_e(f['path'])}</code></p>")
        body.append("</section>")
    if findings:
        body.append("</div>")
    return _page(f"podfit conformance {report.get('scheduler', '')}", body)
