"""``podfit simulate``: pending pods one at a time in queue order."""

from __future__ import annotations

from typing import Any

import click

from podfit.cli.common import (
    Finding,
    cluster_options,
    config_option,
    kube_version_option,
    load_cluster,
    load_config,
    output_option,
    read_pending,
    version_line,
    versioned,
)
from podfit.output import emit, write_atomic
from podfit.versions import KubeVersion


@click.command()
@cluster_options
@click.option(
    "--pods",
    "pods_path",
    default=None,
    metavar="FILE",
    help="Pending pods, or workloads (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, "
    "CronJob: the pods their controllers create). Default: the cluster's pods without nodeName.",
)
@config_option
@kube_version_option
@click.option("--bindings", is_flag=True, help="Print the placements as kind: Binding manifests.")
@output_option
@click.option("--html", "html_path", default=None, metavar="FILE", help="Also write an HTML page.")
def simulate(
    files: tuple[str, ...],
    kube_context: str | None,
    kubeconfig: str | None,
    pods_path: str | None,
    config_path: str | None,
    kube_version: KubeVersion,
    bindings: bool,
    output: str,
    html_path: str | None,
) -> None:
    """Schedule pending pods one at a time in queue order (exit 1 if any stays pending)."""
    from podfit.output import to_yaml

    read = load_cluster(files, kube_context, kubeconfig)
    cluster = read.cluster
    notes: list[str] = []
    if pods_path:
        cluster, pods, notes = read_pending(read, pods_path)
    else:
        pods = cluster.pending_pods()
    for note in notes:
        click.echo(f"podfit: note: {note}", err=True)
    profiles = load_config(config_path, kube_version) if config_path else None
    from podfit.progress import Working
    from podfit.reference.simulate import simulate as run

    with Working("simulating") as working:
        result = run(cluster, pods, profiles, on_attempt=working.update, version=kube_version)
    if bindings:
        docs = [
            {
                "apiVersion": "v1",
                "kind": "Binding",
                "metadata": {"name": d.pod.name, "namespace": d.pod.namespace},
                "target": {"apiVersion": "v1", "kind": "Node", "name": d.node},
            }
            for d in result.decisions
            if d.node is not None
        ]
        click.echo(to_yaml(docs, many=True), nl=False)
    else:
        emit(versioned(result.to_dict(), kube_version), output, version_line(simulate_text))
    if html_path:
        from podfit.html import render_simulation

        write_atomic(html_path, render_simulation(versioned(result.to_dict(), kube_version)))
    if result.pending:
        raise Finding()


def simulate_text(d: dict[str, Any]) -> str:
    from podfit.render import simulate_view

    return simulate_view(d)
