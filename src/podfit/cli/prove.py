"""``podfit prove``: does a claim hold for every pod on this cluster? (docs/claims.md)

Exit codes as every podfit command: 0 every claim holds, 1 a claim is refuted (its
counterexample pod is printed, and written with ``--out``), 2 bad input — or a claim Z3
could not decide within ``--timeout``: "unknown", never a verdict.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from podfit.api import MAX_TIMEOUT_MS
from podfit.cli.common import (
    Finding,
    Seconds,
    files_option,
    kube_version_option,
    memory_option,
    output_option,
    version_line,
    versioned,
)
from podfit.errors import PodfitError
from podfit.output import emit, to_yaml, write_atomic
from podfit.versions import KubeVersion

if TYPE_CHECKING:
    from podfit.solver.prove import ProveResult


def overall(statuses: Sequence[str]) -> str:
    """unknown beats refuted beats holds."""
    for status in ("unknown", "refuted"):
        if status in statuses:
            return status
    return "holds"


def prove_text(d: dict[str, Any]) -> str:
    lines: list[str] = []
    for c in d["claims"]:
        if lines:
            lines.append("")
        lines.append(f"claim {c['claim']}: {c['status']}")
        if c["description"]:
            lines.append(f"  {c['description'].strip()}")
        lines += [f"  {line}" for line in c["explanation"]]
        if c["status"] == "refuted":
            where = ", ".join(c["feasible"]) or "no node"
            lines.append(f"  it can land on: {where}")
        lines += [f"  note: {n}" for n in c["notes"]]
        if c["counterexample"] is not None:
            lines += ["  counterexample (confirmed by podfit explain):", ""]
            lines += [f"    {row}" for row in to_yaml(c["counterexample"]).rstrip("\n").split("\n")]
    return "\n".join(lines)


@click.command()
@files_option
@click.option(
    "--claim",
    "claim_paths",
    multiple=True,
    required=True,
    metavar="FILE",
    help="A claim file (kind: Claim; several documents allowed). Repeatable.",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=Seconds(MAX_TIMEOUT_MS / 1000),
    default=10.0,
    show_default=True,
    help="Seconds per solver query; when it runs out the answer is 'unknown' (exit 2).",
)
@click.option(
    "--out",
    "out_path",
    default=None,
    metavar="FILE",
    help="Write the counterexample pod(s) here as manifests (only when a claim is refuted).",
)
@memory_option
@kube_version_option
@output_option
def prove(
    files: tuple[str, ...],
    claim_paths: tuple[str, ...],
    timeout_s: float,
    out_path: str | None,
    memory_mb: int | None,
    kube_version: KubeVersion,
    output: str,
) -> None:
    """Prove a claim about every pod with Z3, or refute it with a counterexample pod.

    A claim says, for every pod meeting a premise (forEveryPod), where it can or cannot be
    placed (it: cannotLandOn, landsOnlyOn, canLandOn, canLandSomewhere). Exit 0 when every
    claim holds, 1 when one is refuted, 2 on bad input or when the solver could not decide
    within --timeout.
    """
    import podfit

    # Claims first: a mistake there is cheaper to report than after loading a big cluster.
    claims = [claim for path in claim_paths for claim in podfit.load_claims(path)]
    names = [c.name for c in claims]
    for claim in claims:
        if names.count(claim.name) > 1:
            raise PodfitError(f"{claim.source}: two claims are named {claim.name!r}")
    cluster = podfit.load(*files)
    from podfit.solver.session import set_memory_limit

    set_memory_limit(memory_mb)
    results: list[ProveResult] = [
        podfit.prove(
            cluster, claim, timeout_ms=max(1, int(timeout_s * 1000)), kube_version=kube_version
        )
        for claim in claims
    ]
    statuses = [r.status for r in results]
    data = {"status": overall(statuses), "claims": [r.to_dict() for r in results]}
    emit(versioned(data, kube_version), output, version_line(prove_text))
    pods = [r.counterexample for r in results if r.counterexample is not None]
    if out_path:
        if pods:
            manifests = [podfit.to_manifest(p) for p in pods]
            write_atomic(out_path, to_yaml(manifests, many=True))
        else:
            click.echo(f"podfit: no counterexample, {out_path} not written", err=True)
    undecided = [r.claim.name for r in results if r.status == "unknown"]
    if undecided:
        limit = f"{timeout_s:g} s per query (raise --timeout)"
        if memory_mb is not None:
            limit = f"{timeout_s:g} s or {memory_mb} MB per query (raise --timeout or --memory)"
        click.echo(
            f"podfit: error: the solver could not decide {', '.join(undecided)} within "
            f"{limit}: the answer is unknown, not refuted",
            err=True,
        )
        sys.exit(2)
    if "refuted" in statuses:
        raise Finding()
