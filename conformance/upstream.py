"""The upstream differential: podfit's reference against the real kube-scheduler.

An *oracle* is a scheduler binary named ``podfit-oracle-MAJOR.MINOR`` that runs
kube-scheduler's own code of that release behind the exec protocol and answers with every
detail its framework records (run with ``-details``: feasible nodes, each rejected node's
plugin, code and reasons, each plugin's weighted score, the best nodes, the FitError
message). The environment variable ``PODFIT_UPSTREAM_ORACLES`` names a directory holding
such binaries; :func:`find_oracles` lists the releases found there.

:func:`differences` runs one cluster and pod through the reference of that release and
through the oracle, and compares them field by field. :func:`campaign` does it for many
generated examples and counts what differed.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podfit.apiserver import cluster_as_stored, pod_as_stored
from podfit.cluster import Cluster
from podfit.defaults import resolve_priority
from podfit.errors import UsageError
from podfit.model import Pod
from podfit.versions import KubeVersion, parse_version

from .decisions import ALL_AREAS, Decision

#: The environment variable naming a directory of oracle binaries.
ENV = "PODFIT_UPSTREAM_ORACLES"
_NAME = re.compile(r"podfit-oracle-(\d+\.\d+)")


def find_oracles(directory: str | os.PathLike[str] | None = None) -> dict[KubeVersion, Path]:
    """The oracle binaries in ``directory`` (default: ``$PODFIT_UPSTREAM_ORACLES``), by
    release; empty when the variable is unset. Releases podfit does not model are skipped."""
    where = directory if directory is not None else os.environ.get(ENV)
    if not where:
        return {}
    root = Path(where)
    if not root.is_dir():
        raise UsageError(f"{ENV}={where}: not a directory")
    found: dict[KubeVersion, Path] = {}
    for entry in sorted(root.iterdir()):
        match = _NAME.fullmatch(entry.name)
        if match is None or not os.access(entry, os.X_OK):
            continue
        try:
            found[parse_version(match.group(1))] = entry
        except UsageError:
            continue
    return found


def oracle_spec(binary: Path, *, send_config: bool = True) -> str:
    """The adapter spec that runs ``binary`` with every detail (and scheduler configs)."""
    options = "?config=send" if send_config else "?"
    return f"exec:{binary} -details{options}"


# --- one example -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One field on which podfit and upstream disagree."""

    field: str
    podfit: Any
    upstream: Any

    def __str__(self) -> str:
        return f"{self.field}: podfit {self.podfit!r}, upstream {self.upstream!r}"


def differences(
    cluster: Cluster, pod: Pod, version: KubeVersion, ask: Callable[[Cluster, Pod], Decision]
) -> list[Difference]:
    """Every field on which the reference of ``version`` and the oracle (``ask``) disagree
    for ``pod`` on ``cluster``: the feasible set, per rejected node the plugin, code and
    reasons, per feasible node every plugin's weighted score, the best nodes, and, when
    nothing fits, the FitError message (preemption included)."""
    from podfit.reference.scheduler import schedule_one

    cluster = cluster_as_stored(cluster, version)
    pod = resolve_priority(pod_as_stored(pod, version), cluster.priority_classes)
    ours = schedule_one(cluster, pod, version=version)
    theirs = ask(cluster, pod)
    if theirs.error is not None:
        return [Difference("error", None, theirs.error)]
    details = theirs.details
    if details is None:
        return [Difference("details", "expected", "the oracle gave none (run it with -details)")]
    out: list[Difference] = []

    def check(name: str, mine: Any, upstream: Any) -> None:
        if mine != upstream:
            out.append(Difference(name, mine, upstream))

    check("feasible", sorted(ours.feasible), sorted(details.feasible or ()))
    rejected = ours.failed_statuses()
    for node in sorted(set(rejected) | set(details.codes)):
        status = rejected.get(node)
        check(f"{node}.plugin", status.plugin if status else None, details.plugins.get(node))
        check(f"{node}.code", status.code.value if status else None, details.codes.get(node))
        reasons = theirs.reasons.get(node)
        check(
            f"{node}.reasons",
            list(status.reasons) if status else None,
            list(reasons) if reasons is not None else None,
        )
    weighted = {
        node: {p: scores[node] * ours.weights[p] for p, scores in ours.scores.items()}
        for node in ours.totals
    }
    # kube-scheduler scores only when two or more nodes fit (schedulePod returns the one
    # feasible node unscored); the oracle's details score even one, so compare from two.
    if len(ours.feasible) > 1 or len(details.feasible or ()) > 1:
        check("pluginScores", weighted, _plain(details.plugin_scores or {}))
    if ours.feasible or details.feasible:
        check("top", sorted(ours.top), sorted(details.top or ()))
    else:
        check("message", ours.message, details.message)
    return out


def _plain(scores: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    return {node: dict(per_plugin) for node, per_plugin in scores.items()}


# --- campaigns ---------------------------------------------------------------------------------


@dataclass
class CampaignResult:
    """What a campaign compared, and what differed (by field)."""

    version: KubeVersion
    examples: int = 0
    differing: int = 0
    by_field: Counter[str] = field(default_factory=Counter)
    first: list[tuple[Cluster, Pod, list[Difference]]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "kubeVersion": str(self.version),
            "examples": self.examples,
            "differences": self.differing,
            "byField": dict(self.by_field.most_common()),
            "seconds": round(self.seconds, 1),
        }


def _field_kind(name: str) -> str:
    """``node-1.reasons`` -> ``reasons``: differences counted by kind, not by node."""
    return name.rsplit(".", 1)[-1]


def generated_examples(
    seed: int, count: int, *, max_nodes: int = 4, max_running_pods: int = 6
) -> Iterator[tuple[Cluster, Pod]]:
    """``count`` random (cluster, pod) pairs over every rule area, from ``seed``: the
    conformance strategies drawn without shrinking (a campaign wants breadth)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as with_seed

    from .strategies import scheduling_problems

    drawn: list[tuple[Cluster, Pod]] = []
    strategy = scheduling_problems(
        max_nodes=max_nodes, max_running_pods=max_running_pods, areas=ALL_AREAS
    )

    @with_seed(seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        derandomize=False,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(problem: tuple[Cluster, Pod]) -> None:
        drawn.append(problem)

    collect()
    yield from drawn


def campaign(
    version: KubeVersion,
    ask: Callable[[Cluster, Pod], Decision],
    *,
    examples: int,
    seed: int = 0,
    keep: int = 3,
    on_progress: Callable[[CampaignResult], None] | None = None,
    batch: int = 2000,
) -> CampaignResult:
    """Compare ``examples`` generated examples; keep the first ``keep`` that differ."""
    result = CampaignResult(version)
    started = time.monotonic()
    done = 0
    while done < examples:
        size = min(batch, examples - done)
        for cluster, pod in generated_examples(seed + done, size):
            found = differences(cluster, pod, version, ask)
            result.examples += 1
            if found:
                result.differing += 1
                result.by_field.update({_field_kind(d.field) for d in found})
                if len(result.first) < keep:
                    result.first.append((cluster, pod, found))
        done += size
        result.seconds = time.monotonic() - started
        if on_progress is not None:
            on_progress(result)
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m podfit.conformance.upstream [EXAMPLES] [SEED]``: a campaign against every
    oracle in ``$PODFIT_UPSTREAM_ORACLES``; prints counts, exits 1 on any difference."""
    import json
    import sys

    from podfit.adapters import resolve

    args = argv if argv is not None else sys.argv[1:]
    examples = int(args[0]) if args else 100_000
    seed = int(args[1]) if len(args) > 1 else 0
    oracles = find_oracles()
    if not oracles:
        print(f"no oracles: set {ENV} to a directory of podfit-oracle-MAJOR.MINOR binaries")
        return 2
    failed = False
    for version, binary in oracles.items():
        scheduler = resolve(oracle_spec(binary, send_config=False))
        try:

            def show(r: CampaignResult) -> None:
                print(f"  {r.version}: {r.examples} examples, {r.differing} differ", flush=True)

            result = campaign(version, scheduler.schedule, examples=examples, seed=seed,
                              on_progress=show)  # fmt: skip
        finally:
            scheduler.close()
        print(json.dumps(result.to_dict()))
        for _, pod, found in result.first:
            print(f"  e.g. {pod.key}: " + "; ".join(str(d) for d in found[:5]))
        failed |= result.differing > 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
