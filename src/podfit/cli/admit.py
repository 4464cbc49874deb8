"""``podfit admit``: create a pod through the API server's admission (LimitRange, priority,
ResourceQuota) and show the verdict, the mutated pod, its QoS class and quota usage.

Exit codes as every podfit command: 0 admitted, 1 rejected, 2 bad input.
"""

from __future__ import annotations

from typing import Any

import click

from podfit.cli.common import (
    Finding,
    InputError,
    cluster_options,
    kube_version_option,
    load_cluster,
    load_pod_arg,
    output_option,
    version_line,
    versioned,
)
from podfit.errors import PodfitError
from podfit.output import emit, to_yaml
from podfit.versions import KubeVersion


def admit_text(d: dict[str, Any]) -> str:
    pod = d["pod"]["metadata"]
    verdict = "admitted" if d["admitted"] else "rejected"
    lines = [f"Pod {pod.get('namespace', 'default')}/{pod['name']}: {verdict} (QoS {d['qos']})"]
    if d["reason"]:
        lines.append(f"  {d['reason']}")
    before, after = d["usage"]["before"], d["usage"]["after"]
    if before:
        lines += ["", "quota usage (before -> after):"]
        for quota, used in before.items():
            lines.append(f"  {quota}:")
            changed = after.get(quota, used)
            width = max((len(name) for name in used), default=0)
            for name, value in used.items():
                new = changed.get(name, value)
                arrow = f"{value} -> {new}" if new != value else value
                lines.append(f"    {name:<{width}}  {arrow}")
    lines += ["", "pod after admission:", to_yaml(d["pod"]).rstrip("\n")]
    return "\n".join(lines)


@click.command()
@cluster_options
@click.option(
    "--pod",
    "pod_path",
    required=True,
    metavar="FILE|NAMESPACE/NAME",
    help="The pod to create (one Pod), or with --kube a pod of the cluster (counted once).",
)
@kube_version_option
@output_option
def admit(
    files: tuple[str, ...],
    kube_context: str | None,
    kubeconfig: str | None,
    pod_path: str,
    kube_version: KubeVersion,
    output: str,
) -> None:
    """Create a pod through admission: LimitRange defaults and limits, priority, quota.

    The files hold the namespace's LimitRanges, ResourceQuotas, PriorityClasses and
    existing pods (quota usage is counted from those pods). Exit 1 when the pod is rejected.
    """
    import podfit

    try:
        read = load_cluster(files, kube_context, kubeconfig, leave_out=pod_path)
        pod = load_pod_arg(read, pod_path)
        result = podfit.admit(read.cluster, pod, kube_version=kube_version)
    except PodfitError as exc:
        raise InputError(str(exc)) from None
    emit(versioned(result.to_dict(), kube_version), output, version_line(admit_text))
    if not result.admitted:
        raise Finding()
