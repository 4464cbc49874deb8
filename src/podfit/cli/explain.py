"""``podfit explain``: why a pod does or doesn't fit, node by node."""

from __future__ import annotations

import sys

import click

from podfit.cli.common import (
    Finding,
    config_option,
    files_option,
    kube_version_option,
    load_config,
    output_option,
)
from podfit.output import emit, write_atomic
from podfit.versions import KubeVersion


@click.command()
@files_option
@click.option("--pod", "pod_path", required=True, metavar="FILE", help="The pod to place.")
@config_option
@kube_version_option
@output_option
@click.option("--html", "html_path", default=None, metavar="FILE", help="Also write an HTML page.")
def explain(
    files: tuple[str, ...],
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

    cluster = podfit.load(*files)
    pod = podfit.load_pod(pod_path)
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
