"""``podfit whatif``: what one change to a node does to the pods already running there and to
the pending pods — evictions on a timeline, the pods that stay and why, where replacements
land, which pending pods gain or lose a place.

Exit codes as every podfit command: 0 every pod keeps a node, 1 some pod is left without a
node (or kubectl drain would refuse), 2 bad input or usage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from podfit.cli.common import (
    Finding,
    InputError,
    cluster_options,
    kube_version_option,
    load_cluster,
    output_option,
    read_pending,
    version_line,
    versioned,
)
from podfit.errors import PodfitError
from podfit.output import emit
from podfit.versions import KubeVersion

if TYPE_CHECKING:
    from podfit.reference.whatif import Change, ConditionChange, LabelChange, TaintChange


def parse_taint(spec: str) -> TaintChange:
    """``node=key=value:Effect``, ``node=key:Effect``; a trailing ``-`` removes the taint
    (``node=key:Effect-`` or ``node=key-``), as kubectl taint does."""
    from podfit.reference.whatif import TaintChange

    node, sep, rest = spec.partition("=")
    if not sep or not node or not rest:
        raise click.BadParameter(
            f"{spec!r}: expected NODE=KEY=VALUE:EFFECT, NODE=KEY:EFFECT or NODE=KEY:EFFECT-",
            param_hint="--taint",
        )
    remove = rest.endswith("-")
    if remove:
        rest = rest[:-1]
    body, colon, effect = rest.rpartition(":")
    if not colon:
        body, effect = rest, ""
    key, _, value = body.partition("=")
    if not key or (not effect and not remove):
        raise click.BadParameter(
            f"{spec!r}: a taint needs a key and an effect (NoSchedule, PreferNoSchedule, "
            "NoExecute)",
            param_hint="--taint",
        )
    return TaintChange(node, key=key, effect=effect, value=value, remove=remove)


def parse_label(node: str, spec: str) -> LabelChange:
    """``KEY=VALUE`` sets a label, ``KEY-`` removes it."""
    from podfit.reference.whatif import LabelChange

    if spec.endswith("-") and "=" not in spec:
        return LabelChange(node, key=spec[:-1], value=None)
    key, sep, value = spec.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{spec!r}: expected KEY=VALUE or KEY-", param_hint="--label")
    return LabelChange(node, key=key, value=value)


def parse_condition(spec: str) -> ConditionChange:
    """``node=Type`` (status True), ``node=Type=Status``, or ``node=NotReady`` /
    ``node=Unreachable`` (Ready False / Unknown)."""
    from podfit.reference.whatif import ConditionChange

    parts = spec.split("=")
    if len(parts) not in (2, 3) or not all(parts):
        raise click.BadParameter(
            f"{spec!r}: expected NODE=TYPE or NODE=TYPE=STATUS (e.g. node-1=Ready=False)",
            param_hint="--condition",
        )
    # The node states people name, as the Ready condition the node lifecycle controller reads.
    shorthand = {"NotReady": ("Ready", "False"), "Unreachable": ("Ready", "Unknown")}
    if parts[1] in shorthand and len(parts) == 2:
        type_, status = shorthand[parts[1]]
        return ConditionChange(parts[0], type=type_, status=status)
    status = parts[2] if len(parts) == 3 else "True"
    return ConditionChange(parts[0], type=parts[1], status=status)


def _at(value: int | None) -> str:
    from podfit.reference.whatif import describe_seconds

    return describe_seconds(value)


def whatif_text(d: dict[str, Any]) -> str:
    """What a change does, for people: words wrap at 100 columns and never split."""
    from podfit.render import Lines, use_color

    lines = Lines(use_color())
    lines.add(f"What if: {d['description']}", "bold", hang=2)
    node = d["node"]
    taints_before = ", ".join(node["taints"]["before"]) or "none"
    taints_after = ", ".join(node["taints"]["after"]) or "none"
    if taints_before != taints_after:
        lines.add(f"{node['name']} taints: {taints_before} → {taints_after}", hang=2)
    drain = d.get("drain")
    if drain:
        lines.add(f"$ {drain['command']}", hang=4)
        for warning in drain["warnings"]:
            lines.add(f"Warning: {warning}", "yellow", hang=2)
        for error in drain["errors"]:
            lines.add(f"error: {error}", "red", hang=2)

    lines.add()
    if d["timeline"]:
        lines.add("Evictions (seconds after the change):", "bold")
        width = max(len(_at(e["at"])) for e in d["timeline"])
        for e in d["timeline"]:
            then = e["then"]
            style = "red" if then.startswith(("lost", "its replacement stays")) else "green"
            if then.startswith("not recreated") or e["at"] is None:
                style = "yellow"
            lines.add(
                f"{_at(e['at']).rjust(width)}  {e['pod']}: {e['by']}: {e['why']}",
                indent=2,
                hang=4 + width,
            )
            lines.add(f"→ {then}", style, indent=4 + width, hang=6 + width)
    else:
        lines.add("No pod is evicted.", "green")

    if d["kept"]:
        lines.add()
        lines.add("Stay:", "bold")
        for k in d["kept"]:
            lines.add(f"{k['pod']}: {k['why']}", indent=2, hang=4)

    moved = [p for p in d["pending"] if p["verdict"] not in ("unchanged", "still pending")]
    if moved:
        lines.add()
        lines.add("Pending pods the change affects:", "bold")
        for p in moved:
            before = p["before"] or "pending"
            after = p["after"] or p["afterMessage"]
            style = "red" if p["after"] is None else "green"
            lines.add(
                f"{p['pod']} (before: {before}): {p['verdict']}: {after}", style, indent=2, hang=4
            )
    waiting = d.get("alreadyPending") or []
    if waiting:
        lines.add()
        lines.add(
            f"Already pending before the change, still pending ({len(waiting)}): "
            + ", ".join(waiting),
            "dim",
            hang=2,
        )
    elif d["pending"] and not moved:
        lines.add(f"{len(d['pending'])} pending pod(s): no change.")

    daemon = d.get("daemonPods") or {}
    if daemon.get("created"):
        lines.add(f"new daemon pods: {', '.join(daemon['created'])}", hang=2)
    if daemon.get("noLongerCreated"):
        lines.add(f"daemon pods no longer created: {', '.join(daemon['noLongerCreated'])}", hang=2)
    for note in d["notes"]:
        lines.add(f"note: {note}", "dim", hang=6)
    lines.add()
    blocked = d.get("blockedByDisruptionBudget") or []
    evicted = sum(1 for e in d["timeline"] if e["at"] is not None)
    summary = f"{evicted} evicted"
    if blocked:
        summary += f", {len(blocked)} blocked by a PodDisruptionBudget"
    summary += f", {len(d['lost'])} lost, {len(d['kept'])} stay"
    harmed = d.get("harmed") or []
    if harmed:
        lines.add(
            f"{summary}; left without a node by the change: {', '.join(harmed)}", "bold red", hang=2
        )
    elif drain and drain["refused"]:
        lines.add(f"{summary}; kubectl drain refuses", "bold red", hang=2)
    else:
        lines.add(f"{summary}; the change leaves no pod without a node", "bold green", hang=2)
    return lines.text()


@click.command()
@cluster_options
@click.option(
    "--taint",
    "taint",
    metavar="NODE=KEY[=VALUE]:EFFECT[-]",
    help="Add (or, with a trailing '-', remove) a taint.",
)
@click.option("--cordon", "cordon", metavar="NODE", help="Mark the node unschedulable.")
@click.option("--uncordon", "uncordon", metavar="NODE", help="Mark the node schedulable.")
@click.option(
    "--label",
    "label",
    nargs=2,
    metavar="NODE KEY=VALUE|KEY-",
    default=None,
    help="Set or remove a node label.",
)
@click.option(
    "--condition",
    "condition",
    metavar="NODE=TYPE[=STATUS]",
    help="Set a node condition (Ready, MemoryPressure, DiskPressure, PIDPressure, "
    "NetworkUnavailable); STATUS defaults to True.",
)
@click.option("--drain", "drain", metavar="NODE", help="kubectl drain the node.")
@click.option("--ignore-daemonsets", is_flag=True, help="With --drain: as kubectl's flag.")
@click.option(
    "--force",
    is_flag=True,
    help="With --drain: as kubectl's flag (pods without a controller are deleted).",
)
@click.option(
    "--pending",
    "pending_path",
    default=None,
    metavar="FILE",
    help="More pending pods or workloads (the cluster files' pods without nodeName always count).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="A KubeSchedulerConfiguration file.",
)
@kube_version_option
@output_option
@click.option("--html", "html_path", default=None, metavar="FILE", help="Also write an HTML page.")
def whatif(
    files: tuple[str, ...],
    kube_context: str | None,
    kubeconfig: str | None,
    taint: str | None,
    cordon: str | None,
    uncordon: str | None,
    label: tuple[str, str] | None,
    condition: str | None,
    drain: str | None,
    ignore_daemonsets: bool,
    force: bool,
    pending_path: str | None,
    config_path: str | None,
    kube_version: KubeVersion,
    output: str,
    html_path: str | None,
) -> None:
    """What one node change does to running and pending pods.

    Exactly one change: --taint, --cordon, --uncordon, --label, --condition or --drain.
    Shows the evictions on a timeline (seconds after the change), the pods that stay and
    why, where replacements are scheduled, and which pending pods gain or lose a node.
    Exit 1 when the change leaves a pod without a node (pods already pending before it do
    not count) or kubectl drain would refuse.
    """
    import podfit
    from podfit.reference.eviction import DrainOptions
    from podfit.reference.whatif import CordonChange, DrainChange, UncordonChange
    from podfit.reference.whatif import whatif as run_whatif

    given = [
        name
        for name, value in (
            ("--taint", taint),
            ("--cordon", cordon),
            ("--uncordon", uncordon),
            ("--label", label),
            ("--condition", condition),
            ("--drain", drain),
        )
        if value is not None
    ]
    if len(given) != 1:
        found = f" (got {', '.join(given)})" if given else ""
        raise click.UsageError(
            "give exactly one change: --taint, --cordon, --uncordon, --label, --condition or "
            f"--drain{found}"
        )
    if (ignore_daemonsets or force) and drain is None:
        raise click.UsageError("--ignore-daemonsets and --force go with --drain")
    change: Change
    if taint is not None:
        change = parse_taint(taint)
    elif cordon is not None:
        change = CordonChange(cordon)
    elif uncordon is not None:
        change = UncordonChange(uncordon)
    elif label is not None:
        change = parse_label(label[0], label[1])
    elif condition is not None:
        change = parse_condition(condition)
    else:
        assert drain is not None
        change = DrainChange(drain, DrainOptions(ignore_daemonsets=ignore_daemonsets, force=force))
    try:
        read = load_cluster(files, kube_context, kubeconfig)
        cluster = read.cluster
        pending: list[Any] = []
        if pending_path:
            cluster, pending, notes = read_pending(read, pending_path)
            for note in notes:
                click.echo(f"podfit: note: {note}", err=True)
        profiles = (
            podfit.load_config(config_path, kube_version=kube_version) if config_path else None
        )
        result = run_whatif(
            cluster, change, pending=pending, profiles=profiles, version=kube_version
        )
    except PodfitError as exc:
        raise InputError(str(exc)) from None
    data = versioned(result.to_dict(), kube_version)
    emit(data, output, version_line(whatif_text))
    if html_path:
        from podfit.html import render_whatif
        from podfit.output import write_atomic

        write_atomic(html_path, render_whatif(data))
    if result.harmed or result.refused:
        raise Finding()
