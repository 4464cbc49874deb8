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
    load_pod_arg,
    output_option,
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
@click.option("--html", "html_path", default=None, metavar="FILE", help="Also write an HTML page.")
def explain(
    files: tuple[str, ...],
    kube_context: str | None,
    kubeconfig: str | None,
    pod_path: str,
    config_path: str | None,
    kube_version: KubeVersion,
    output: str,
    html_path: str | None,
) -> None:
    """Why a pod does or doesn't fit, node by node (exit 1 when it fits nowhere; 2 when
    the pod uses something podfit does not model)."""
    import podfit
    from podfit.defaults import PriorityError
    from podfit.errors import ManifestError
    from podfit.render import explain_text

    read = load_cluster(files, kube_context, kubeconfig, leave_out=pod_path)
    cluster = read.cluster
    # A pod the scheduler has bound is explained as the scheduler saw it.
    pod = load_pod_arg(read, pod_path, as_scheduled=True)
    profiles = load_config(config_path, kube_version) if config_path else None
    try:
        result = podfit.explain(cluster, pod, config=profiles, kube_version=kube_version)
    except PriorityError as exc:
        # Admission's verdict on the pod file: say which file and field, as for any bad input.
        raise ManifestError(
            str(exc), source=pod_path, obj=f"Pod {pod.key}", field="spec.priority"
        ) from None
    emit(result.to_dict(), output, explain_text)
    if html_path:
        from podfit.html import render_explain

        write_atomic(html_path, render_explain(result.to_dict()))
    if result.unmodelled:
        click.echo(f"podfit: error: cannot decide: {result.unmodelled}", err=True)
        sys.exit(2)
    if not result.schedulable and result.bypass is None:
        raise Finding()
