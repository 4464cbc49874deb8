"""``podfit validate``: load manifests as the API server would."""

from __future__ import annotations

from typing import Any

import click

from podfit.cli.common import files_option, output_option
from podfit.output import emit


@click.command()
@files_option
@output_option
def validate(files: tuple[str, ...], output: str) -> None:
    """Load manifests, apply API defaulting, and report what was found and skipped."""
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
        lines.append("valid")
        return "\n".join(lines)

    emit(data, output, text)
