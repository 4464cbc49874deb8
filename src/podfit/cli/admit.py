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
    from podfit.render import Lines, use_color

    lines = Lines(use_color())
    pod = d["pod"]["metadata"]
    verdict = "admitted" if d["admitted"] else "rejected"
    lines.add(
        f"Pod {pod.get('namespace', 'default')}/{pod['name']}: {verdict} (QoS {d['qos']})",
        "bold green" if d["admitted"] else "bold red",
    )
    if d["reason"]:
        lines.add(d["reason"], "red", indent=2, hang=4)
    before, after = d["usage"]["before"], d["usage"]["after"]
    sources = {q["name"]: q for q in d.get("quotas") or []}
    if before:
        with_pod = "with the pod" if d["admitted"] else "what the pod would have made"
        lines.add()
        lines.add(f"quota usage (before -> {with_pod}):", "bold")
        for quota, used in before.items():
            info = sources.get(quota, {})
            origin = (
                "from status.used"
                if info.get("usageFrom") == "status"
                else "recounted from the pods (no status yet)"
            )
            lines.add(f"{quota} ({origin}):", indent=2, hang=4)
            changed = after.get(quota, used)
            hard = info.get("hard", {})
            recount = info.get("recount", {})
            width = max((len(name) for name in used), default=0)
            for name, value in used.items():
                new = changed.get(name, value)
                text = f"{value} -> {new}" if new != value else value
                if name in hard:
                    text += f" of {hard[name]}"
                if info.get("usageFrom") == "status" and recount.get(name, value) != value:
                    text += f" (the pods given add up to {recount[name]})"
                lines.add(f"{name:<{width}}  {text}", indent=4, hang=6 + width)
    for note in d.get("notes") or []:
        lines.add(f"note: {note}", "yellow", hang=6)
    lines.add()
    lines.add("pod after admission:", "bold")
    for line in to_yaml(d["pod"]).rstrip("\n").splitlines():
        lines.raw(line)
    return lines.text()


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
@click.option("--html", "html_path", default=None, metavar="FILE", help="Also write an HTML page.")
def admit(
    files: tuple[str, ...],
    kube_context: str | None,
    kubeconfig: str | None,
    pod_path: str,
    kube_version: KubeVersion,
    output: str,
    html_path: str | None,
) -> None:
    """Create a pod through admission: LimitRange defaults and limits, priority, quota.

    The files hold the namespace's LimitRanges, ResourceQuotas, PriorityClasses and
    existing pods. Quota admission goes by each quota's status (status.hard, status.used),
    as the API server does; the usage is also recounted from the pods and a difference is
    reported. A quota without status is judged on spec.hard and the recount. --pod also
    takes a workload (the next pod its controller creates). Exit 1 when the pod is rejected.
    """
    import podfit

    try:
        read = load_cluster(files, kube_context, kubeconfig, leave_out=pod_path)
        pod = load_pod_arg(read, pod_path)
        result = podfit.admit(read.cluster, pod, kube_version=kube_version)
    except PodfitError as exc:
        raise InputError(str(exc)) from None
    data = versioned(result.to_dict(), kube_version)
    emit(data, output, version_line(admit_text))
    if html_path:
        from podfit.html import render_admit
        from podfit.output import write_atomic

        write_atomic(html_path, render_admit(data))
    if not result.admitted:
        raise Finding()
