"""``podfit solve``: Z3 places the whole batch at once, or explains why not."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from podfit.api import MAX_NEW_NODES, MAX_TIMEOUT_MS
from podfit.cli.common import (
    Finding,
    Seconds,
    cluster_options,
    kube_version_option,
    load_cluster,
    memory_option,
    output_option,
    run_within,
    version_line,
    versioned,
)
from podfit.errors import PodfitError
from podfit.output import emit, write_atomic
from podfit.versions import KubeVersion

if TYPE_CHECKING:
    from podfit.cluster import Cluster
    from podfit.model import Pod
    from podfit.solver import SolveResult


@click.command()
@cluster_options
@click.option("--pods", "pods_path", default=None, metavar="FILE", help="Pending pods.")
@click.option(
    "--minimize",
    type=click.Choice(["nodes"]),
    default=None,
    help="Use as few nodes as possible.",
)
@click.option(
    "--add-node-shape",
    "shape_path",
    default=None,
    metavar="FILE",
    help="A Node manifest: how many nodes of this shape must be added for everything to fit.",
)
@click.option(
    "--max-new-nodes",
    type=click.IntRange(min=0, max=MAX_NEW_NODES),
    default=20,
    show_default=True,
    help=f"With --add-node-shape: the most nodes to add (at most {MAX_NEW_NODES}).",
)
@click.option(
    "--maximize-placed",
    is_flag=True,
    help="Place as many pods as possible, higher priorities first.",
)
@click.option(
    "--each",
    is_flag=True,
    help="Ask for each pod on its own whether it can run anywhere in the cluster at all.",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=Seconds(MAX_TIMEOUT_MS / 1000),
    default=10.0,
    show_default=True,
    help="Seconds for the whole answer once the input is read (encoding, every query, the "
    "explanation, every pod of --each); when they run out the answer is 'unknown'.",
)
@memory_option
@click.option("--bindings", is_flag=True, help="Print the placement as kind: Binding manifests.")
@click.option("--html", "html_path", default=None, metavar="FILE", help="Also write an HTML page.")
@kube_version_option
@output_option
def solve(
    files: tuple[str, ...],
    kube_context: str | None,
    kubeconfig: str | None,
    pods_path: str | None,
    minimize: str | None,
    shape_path: str | None,
    max_new_nodes: int,
    maximize_placed: bool,
    each: bool,
    timeout_s: float,
    memory_mb: int | None,
    bindings: bool,
    html_path: str | None,
    kube_version: KubeVersion,
    output: str,
) -> None:
    """Ask Z3 whether the pending pods can all be placed at once, and if not, why.

    Exit 1 when they cannot; exit 2 when the solver could not decide within --timeout or
    --memory (the answer is then unknown, never infeasible).
    """
    import podfit
    from podfit.output import to_yaml

    if each:
        others = {
            "--minimize": minimize,
            "--add-node-shape": shape_path,
            "--maximize-placed": maximize_placed,
            "--bindings": bindings,
            "--html": html_path,
        }
        clash = [name for name, value in others.items() if value]
        if clash:
            raise PodfitError(f"--each asks about each pod alone; it does not go with {clash[0]}")
    cluster = load_cluster(files, kube_context, kubeconfig).cluster
    pods = podfit.load_pods(pods_path) if pods_path else cluster.pending_pods()
    shape = None
    if shape_path:
        nodes = [o for o in podfit.load(shape_path).nodes.values()]
        if len(nodes) != 1:
            raise PodfitError(f"{shape_path}: expected exactly one Node, found {len(nodes)}")
        shape = nodes[0]
    from podfit.progress import Working
    from podfit.solver.session import set_memory_limit

    set_memory_limit(memory_mb)
    if each:
        _solve_each(cluster, pods, timeout_s, memory_mb, output, kube_version)
        return
    with Working(f"solving {len(pods)} pods on {len(cluster.nodes)} nodes"):
        finished, answer = run_within(
            timeout_s + GRACE_S,
            lambda: podfit.solve(
                cluster,
                pods,
                timeout_ms=max(1, int(timeout_s * 1000)),
                minimize=minimize,
                add_node_shape=shape,
                max_new_nodes=max_new_nodes,
                require_all=not maximize_placed,
                kube_version=kube_version,
            ),
        )
    result = answer if finished and answer is not None else _late(timeout_s)
    if html_path:
        from podfit.html import render_solve

        write_atomic(html_path, render_solve(_solve_page(cluster, pods, result.to_dict())))
    if bindings and result.status == "feasible":
        namespaces = {p.key: p.namespace for p in pods}
        docs = [
            {
                "apiVersion": "v1",
                "kind": "Binding",
                "metadata": {"name": key.split("/", 1)[1], "namespace": namespaces[key]},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node},
            }
            for key, node in result.placement.items()
        ]
        click.echo(to_yaml(docs, many=True), nl=False)
    else:
        emit(versioned(result.to_dict(), kube_version), output, version_line(solve_text))
    if result.status == "unknown":
        if any("out of memory" in line for line in result.explanation):
            why = f"ran out of memory ({memory_mb} MB; raise --memory)"
        else:
            why = f"could not decide within {timeout_s:g} s (raise --timeout)"
        click.echo(f"podfit: error: the solver {why}: the answer is unknown", err=True)
        sys.exit(2)
    if result.status == "infeasible" or result.unplaced:
        raise Finding()


#: How long past --timeout the command waits for the solver to notice the time is up
#: (it looks at the clock between steps) before answering "unknown" without it.
GRACE_S = 2.0


def _late(timeout_s: float) -> SolveResult:
    from podfit.solver import SolveResult

    return SolveResult(
        "unknown",
        explanation=[f"The time limit of {timeout_s:g} s ran out before the solver answered."],
    )


def _solve_each(
    cluster: Cluster,
    pods: Sequence[Pod],
    timeout_s: float,
    memory_mb: int | None,
    output: str,
    kube_version: KubeVersion,
) -> None:
    """``solve --each``: exit 1 when a pod can run nowhere, 2 when one is undecided."""
    import podfit
    from podfit.progress import Working

    with Working(f"asking about {len(pods)} pods one at a time"):
        finished, found = run_within(
            timeout_s + GRACE_S,
            lambda: podfit.solve_each(
                cluster, pods, timeout_ms=max(1, int(timeout_s * 1000)), kube_version=kube_version
            ),
        )
    answers = found if finished and found is not None else {p.key: _late(timeout_s) for p in pods}
    statuses = {r.status for r in answers.values()}
    overall = next((s for s in ("unknown", "infeasible") if s in statuses), "feasible")
    d = {
        "status": overall,
        "pods": [
            {
                "pod": key,
                "status": r.status,
                "node": next(iter(r.placement.values()), None),
                "explanation": r.explanation,
                "core": r.core,
            }
            for key, r in answers.items()
        ],
    }
    emit(versioned(d, kube_version), output, version_line(solve_each_text))
    if overall == "unknown":
        why = (
            f"ran out of memory ({memory_mb} MB; raise --memory)"
            if any("out of memory" in line for r in answers.values() for line in r.explanation)
            else f"could not decide within {timeout_s:g} s (raise --timeout)"
        )
        click.echo(f"podfit: error: the solver {why}: some answers are unknown", err=True)
        sys.exit(2)
    if overall == "infeasible":
        raise Finding()


def solve_each_text(d: dict[str, Any]) -> str:
    lines = ["solver: each pod on its own"]
    for p in d["pods"]:
        if p["status"] == "feasible":
            lines.append(f"  {p['pod']}: can run (on {p['node']}, for one)")
        elif p["status"] == "infeasible":
            lines.append(f"  {p['pod']}: can run nowhere")
            lines += [f"    {line}" for line in p["explanation"]]
            if p["core"]:
                lines.append("    rules: " + ", ".join(p["core"]))
        else:
            lines.append(f"  {p['pod']}: unknown")
            lines += [f"    {line}" for line in p["explanation"]]
    return "\n".join(lines)


def _solve_page(cluster: Cluster, pods: Sequence[Pod], d: dict[str, Any]) -> dict[str, Any]:
    """The answer plus each node's usage with the placement applied (for the HTML page)."""
    from podfit.reference.simulate import node_summaries

    placed = cluster.copy()
    by_key = {p.key: p for p in pods}
    for key, node in d["placement"].items():
        if key in by_key and node in placed.nodes:
            placed.bind(by_key[key], node)
    return {**d, "nodes": node_summaries(placed)}


def solve_text(d: dict[str, Any]) -> str:
    lines = [f"solver: {d['status']}"]
    for pod, node in d["placement"].items():
        lines.append(f"  {pod} -> {node}")
    for pod in d["unplaced"]:
        lines.append(f"  {pod} -> (not placed)")
    lines += [f"  {line}" for line in d["explanation"]]
    if d["core"]:
        lines.append("rules: " + ", ".join(d["core"]))
    return "\n".join(lines)
