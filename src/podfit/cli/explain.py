"""``podfit explain``: why a pod does or doesn't fit, node by node."""

from __future__ import annotations

import sys

import click

from podfit.cli.common import (
    Finding,
    cluster_options,
    config_option,
    kube_version_option,
    load_cluster,
    load_config,
    output_option,
    read_pod_arg,
)
from podfit.output import emit, write_atomic
from podfit.versions import KubeVersion


@click.command()
@cluster_options
@click.option(
    "--pod",
    "pod_path",
    required=True,
    metavar="FILE|NAMESPACE/NAME",
    help="The pod to place: a file, or with --kube a pod of the cluster.",
)
@config_option
@kube_version_option
@output_option
@click.option(
    "--all-nodes",
    is_flag=True,
    help="List every node in the text output (by default many nodes are grouped by reason).",
)
@click.option("--html", "html_path", default=None, metavar="FILE", help="Also write an HTML page.")
def explain(
    files: tuple[str, ...],
    kube_context: str | None,
    kubeconfig: str | None,
    pod_path: str,
    config_path: str | None,
    kube_version: KubeVersion,
    output: str,
    all_nodes: bool,
    html_path: str | None,
) -> None:
    """Why a pod does or doesn't fit, node by node, with the concrete cause behind each
    reason and what would make it fit (exit 1 when it fits nowhere; 2 when the pod uses
    something podfit does not model).

    --pod takes a Pod, or a Deployment, ReplicaSet, StatefulSet, Job or CronJob (the next
    pod its controller creates), or a DaemonSet (its pod on every node); with -f also a
    pod of the files by NAMESPACE/NAME."""
    from functools import partial

    import podfit
    from podfit.defaults import PriorityError
    from podfit.errors import ManifestError
    from podfit.render import explain_view

    read = load_cluster(files, kube_context, kubeconfig, leave_out=pod_path)
    cluster = read.cluster
    # A pod the scheduler has bound is explained as the scheduler saw it.
    arg = read_pod_arg(read, pod_path, as_scheduled=True)
    target = arg.pod if arg.pod is not None else arg.daemon_set
    assert target is not None
    profiles = load_config(config_path, kube_version) if config_path else None
    try:
        result = podfit.explain(cluster, target, config=profiles, kube_version=kube_version)
    except PriorityError as exc:
        # Admission's verdict on the pod file: say which file and field, as for any bad input.
        what = f"Pod {arg.pod.key}" if arg.pod is not None else None
        raise ManifestError(str(exc), source=pod_path, obj=what, field="spec.priority") from None
    data = {**result.to_dict(), "notes": arg.notes}
    emit(data, output, partial(explain_view, all_nodes=all_nodes))
    if html_path:
        from podfit.html import render_explain

        write_atomic(html_path, render_explain(data))
    if result.unmodelled:
        click.echo(f"podfit: error: cannot decide: {result.unmodelled}", err=True)
        sys.exit(2)
    if result.daemon_set is not None:
        if any(
            s.is_rejection and s.plugin != "DaemonSet controller" for s in result.statuses.values()
        ):
            raise Finding()
    elif not result.schedulable and result.bypass is None:
        raise Finding()
