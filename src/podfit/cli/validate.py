"""``podfit validate``: load manifests as the API server would."""

from __future__ import annotations

from typing import Any

import click

from podfit.cli.common import (
    files_option,
    kube_version_option,
    output_option,
    version_line,
    versioned,
)
from podfit.output import emit
from podfit.versions import KubeVersion


@click.command()
@files_option
@kube_version_option
@output_option
def validate(files: tuple[str, ...], kube_version: KubeVersion, output: str) -> None:
    """Load manifests, apply API defaulting, and report what was found and skipped (and
    the fields the release's API server would drop)."""
    from podfit.apiserver import dropped_fields
    from podfit.loading import LoadReport, load

    report = LoadReport()
    cluster = load(*files, report=report)
    bound = sum(1 for _ in cluster.bound_pods())
    data: dict[str, Any] = {
        "sources": report.sources,
        "loaded": dict(sorted(report.loaded.items())),
        "skipped": dict(sorted(report.skipped.items())),
        "nodes": len(cluster.nodes),
        "pods": {"bound": bound, "pending": len(cluster.pending_pods())},
        "dropped": {
            key: list(fields)
            for key, pod in cluster.pods.items()
            if (fields := dropped_fields(pod, kube_version))
        },
    }

    def text(d: dict[str, Any]) -> str:
        kinds = ", ".join(f"{n} {k}" for k, n in d["loaded"].items()) or "no objects"
        lines = [f"{', '.join(d['sources'])}: {kinds}"]
        lines.append(
            f"{d['nodes']} nodes; pods: {d['pods']['bound']} bound, {d['pods']['pending']} pending"
        )
        notice = report.notice()
        if notice:
            lines.append(notice)
        for key, fields in d["dropped"].items():
            lines.append(
                f"pod {key}: the {d['kubeVersion']} API server drops {', '.join(fields)} "
                "(its feature gate is off there)"
            )
        lines.append("valid")
        return "\n".join(lines)

    emit(versioned(data, kube_version), output, version_line(text))
