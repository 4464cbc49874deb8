"""The public Python API (re-exported by ``podfit``).

This module and the CLI are the only places in the core that reach into the
reference, the solver and conformance; they import lazily so that ``import podfit``
stays cheap.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from podfit.cluster import Cluster
from podfit.errors import ManifestError, UsageError
from podfit.loading import LoadReport, load, load_pod, load_pods
from podfit.manifest import to_manifest
from podfit.model import DaemonSet, Node, Pod
from podfit.quantity import Quantity, parse_quantity
from podfit.versions import SUPPORTED, KubeVersion, resolve_version

if TYPE_CHECKING:
    from podfit.reference.admission import AdmissionResult
    from podfit.reference.framework import Profile, ScheduleResult
    from podfit.reference.simulate import SimulationResult
    from podfit.reference.whatif import Change, WhatIfResult
    from podfit.solver import SolveResult
    from podfit.solver.claims import Claim
    from podfit.solver.prove import ProveResult

__all__ = [
    "SUPPORTED",
    "Cluster",
    "KubeVersion",
    "LoadReport",
    "Pod",
    "Quantity",
    "admit",
    "explain",
    "load",
    "load_claim",
    "load_claims",
    "load_config",
    "load_pod",
    "load_pods",
    "parse_quantity",
    "prove",
    "qos_class",
    "replay_placement",
    "simulate",
    "solve",
    "solve_each",
    "to_manifest",
    "whatif",
]


#: A Kubernetes release as the API takes it: "1.35", a KubeVersion, or None (the newest).
VersionLike = KubeVersion | str | None


def load_config(
    source: str | os.PathLike[str] | Mapping[str, Any], *, kube_version: VersionLike = None
) -> dict[str, Profile]:
    """Scheduler profiles (by schedulerName) from a KubeSchedulerConfiguration file or
    mapping, on top of the default plugins of ``kube_version``."""
    from podfit.reference.profile import ConfigError, profiles_from_config

    version = resolve_version(kube_version)
    if isinstance(source, Mapping):
        return profiles_from_config(source, version)
    from podfit.loading import load_document

    # Read as strictly as manifests: size limit, UTF-8, duplicate keys, one document.
    name, data = load_document(source)
    if not isinstance(data, dict):
        kind = "an empty file" if data is None else f"a {type(data).__name__}"
        raise ManifestError(f"expected a KubeSchedulerConfiguration, got {kind}", source=name)
    try:
        return profiles_from_config(data, version)
    except ManifestError as exc:
        raise exc.located(source=name) from None
    except ConfigError as exc:
        raise ManifestError(str(exc), source=name) from None


def _checked_config(
    config: Mapping[str, Profile] | None, version: KubeVersion
) -> Mapping[str, Profile] | None:
    """Profiles must be those of the release asked about (load_config's kube_version)."""
    for name, profile in (config or {}).items():
        if profile.version != version:
            raise UsageError(
                f"profile {name!r} was loaded for Kubernetes {profile.version}, but "
                f"kube_version is {version}: load the configuration with kube_version="
                f"{str(version)!r}"
            )
    return config


def explain(
    cluster: Cluster,
    pod: Pod | DaemonSet,
    *,
    config: Mapping[str, Profile] | None = None,
    kube_version: VersionLike = None,
) -> ScheduleResult:
    """Why ``pod`` does or doesn't fit, node by node: statuses, scores, selected node,
    message, as kube-scheduler of ``kube_version`` (default: the newest podfit models),
    with the concrete cause behind each rejection, preemption's outcome, and the changes
    that would make it fit. A DaemonSet is explained node by node, each node with the pod
    the controller creates for it."""
    from podfit.reference.scheduler import profiles_or_default, schedule_one

    version = resolve_version(kube_version)
    if isinstance(pod, DaemonSet):
        from podfit.reference.daemonset import explain_daemon_set

        chosen = profiles_or_default(_checked_config(config, version), version)
        profile = chosen.get(pod.template.scheduler_name)
        if profile is None:
            raise UsageError(
                f"DaemonSet {pod.namespace}/{pod.name}: schedulerName "
                f"{pod.template.scheduler_name!r} matches no profile ({', '.join(chosen)})"
            )
        return explain_daemon_set(cluster, pod, profile, version)
    return schedule_one(
        cluster, pod, _checked_config(config, version), details=True, version=version
    )


def simulate(
    cluster: Cluster,
    pods: list[Pod],
    *,
    config: Mapping[str, Profile] | None = None,
    kube_version: VersionLike = None,
) -> SimulationResult:
    """Schedule pending pods one at a time in queue order, each binding visible to the next."""
    from podfit.reference.simulate import simulate as run

    version = resolve_version(kube_version)
    return run(cluster, pods, _checked_config(config, version), version=version)


def qos_class(pod: Pod) -> str:
    """The pod's QoS class: "Guaranteed", "Burstable" or "BestEffort"."""
    from podfit.reference.qos import qos_class as compute

    return compute(pod)


def admit(cluster: Cluster, pod: Pod, *, kube_version: VersionLike = None) -> AdmissionResult:
    """Create ``pod`` through admission: LimitRange defaults, priority, LimitRange and
    ResourceQuota checks. Says whether it is admitted and why not, with the mutated pod."""
    from podfit.reference.admission import admit as run

    return run(cluster, pod, version=resolve_version(kube_version))


def whatif(
    cluster: Cluster,
    change: Change,
    *,
    pending: list[Pod] | None = None,
    config: Mapping[str, Profile] | None = None,
    kube_version: VersionLike = None,
) -> WhatIfResult:
    """Which running pods a cluster change evicts and when, where they go, and which
    pending pods start or stop fitting."""
    from podfit.reference.whatif import whatif as run

    version = resolve_version(kube_version)
    return run(
        cluster,
        change,
        pending=pending or (),
        profiles=_checked_config(config, version),
        version=version,
    )


def solve(
    cluster: Cluster,
    pods: list[Pod],
    *,
    timeout_ms: int = 10000,
    minimize: str | None = None,
    add_node_shape: Node | None = None,
    max_new_nodes: int = 20,
    require_all: bool = True,
    kube_version: VersionLike = None,
) -> SolveResult:
    """Ask Z3 whether the pods can all be placed at once (and optimisation questions).

    Batch semantics: the placement is one in which every placed pod passes every filter with
    all the others in place (pending pods count like running ones for topology spread and
    inter-pod affinity). Every placement returned (a partial one from ``require_all=False``
    included) is replayed through the reference filters; a disagreement between the two
    oracles is a bug and raises ``AssertionError``.
    """
    from podfit.defaults import resolve_priority
    from podfit.solver import maximize_placed, minimize_nodes, nodes_to_add
    from podfit.solver import solve as run
    from podfit.solver.api import added_nodes

    if timeout_ms <= 0:
        raise UsageError(f"--timeout must be positive, got {timeout_ms} ms")
    version = resolve_version(kube_version)
    cluster, pods = _as_stored(cluster, pods, version)
    admitted = [resolve_priority(p, cluster.priority_classes) for p in pods]
    work = cluster
    if add_node_shape is not None:
        result = nodes_to_add(
            cluster, admitted, add_node_shape, max_new_nodes, timeout_ms=timeout_ms
        )
        if result.status == "feasible" and result.objective:
            work = cluster.copy()
            for node in added_nodes(cluster, add_node_shape, result.objective):
                work.replace_node(node)
    elif minimize == "nodes":
        result = minimize_nodes(cluster, admitted, timeout_ms=timeout_ms)
    elif not require_all:
        result = maximize_placed(cluster, admitted, timeout_ms=timeout_ms)
    else:
        result = run(cluster, admitted, timeout_ms=timeout_ms)
    if result.status != "unknown" and result.placement:
        problems = replay_placement(work, admitted, result.placement, kube_version=version)
        if problems:
            raise AssertionError(
                "the solver's placement does not replay through the reference: "
                + "; ".join(problems)
            )
    return result


def _as_stored(
    cluster: Cluster, pods: Sequence[Pod], version: KubeVersion
) -> tuple[Cluster, list[Pod]]:
    """Cluster and pods as the release stores them; the solver has no model of resource
    claims, so a pod with any is refused rather than placed as if it had none."""
    from podfit.apiserver import cluster_as_stored, pod_as_stored

    stored = [pod_as_stored(p, version) for p in pods]
    for pod in stored:
        if pod.resource_claims:
            raise UsageError(
                f"pod {pod.key} has spec.resourceClaims (dynamic resource allocation), which "
                "podfit does not model: the solver cannot place it"
            )
    return cluster_as_stored(cluster, version), stored


def solve_each(
    cluster: Cluster,
    pods: Sequence[Pod],
    *,
    timeout_ms: int = 10000,
    kube_version: VersionLike = None,
) -> dict[str, SolveResult]:
    """For each pod on its own: can it run anywhere in the cluster as it is? Pod key ->
    the solver's answer: "feasible" with one node it fits, "infeasible" with why it fits on
    no node, or "unknown". Both oracles are held to each other: a node the solver names is
    replayed through the reference filters, and a pod the solver proves runs nowhere must
    be one the reference finds no node for (a disagreement raises ``AssertionError``)."""
    from podfit.defaults import resolve_priority
    from podfit.reference.framework import run_cycle, snapshot_of
    from podfit.reference.profile import default_profile
    from podfit.solver import solve as run

    if timeout_ms <= 0:
        raise UsageError(f"--timeout must be positive, got {timeout_ms} ms")
    version = resolve_version(kube_version)
    cluster, stored = _as_stored(cluster, pods, version)
    out: dict[str, SolveResult] = {}
    for pod in stored:
        admitted = resolve_priority(pod, cluster.priority_classes)
        result = run(cluster, [admitted], timeout_ms=timeout_ms)
        if result.status == "feasible":
            problems = replay_placement(cluster, [admitted], result.placement, kube_version=version)
            if problems:
                raise AssertionError(
                    "the solver's node does not replay through the reference: " + problems[0]
                )
        elif result.status == "infeasible":
            fits = run_cycle(default_profile(version), snapshot_of(cluster), admitted).feasible
            if fits:
                raise AssertionError(
                    f"the solver says {pod.key} runs nowhere; the reference fits it on "
                    + ", ".join(fits)
                )
        out[pod.key] = result
    return out


def replay_placement(
    cluster: Cluster,
    pods: list[Pod],
    placement: Mapping[str, str],
    *,
    kube_version: VersionLike = None,
) -> list[str]:
    """Bind the placement, then check every placed pod against the reference's filters with
    all the others in place. Returns the violations (empty when the placement is valid)."""
    from podfit.reference.framework import bind, evict, filter_one, snapshot_of
    from podfit.reference.profile import default_profile

    profile = default_profile(resolve_version(kube_version))
    work = cluster.copy()
    problems = []
    placed = []
    for pod in pods:
        node = placement.get(pod.key)
        if node is None:
            continue
        if node not in work.nodes:
            problems.append(f"{pod.key} on {node}: node {node!r} not found")
            continue
        placed.append(pod)
        bind(work, pod, node)
    for pod in placed:
        node = placement[pod.key]
        evict(work, work.pods[pod.key])
        status = filter_one(profile, snapshot_of(work), pod, node)
        if not status.is_success:
            problems.append(f"{pod.key} on {node}: {'; '.join(status.reasons)}")
        bind(work, pod, node)
    return problems


def load_claim(source: str | os.PathLike[str]) -> Claim:
    """Exactly one Claim (``podfit prove``'s claim language, docs/claims.md) from a file."""
    from podfit.solver.claims import load_claim as read

    return read(source)


def load_claims(source: str | os.PathLike[str]) -> list[Claim]:
    """Every Claim in a file (one or more YAML documents)."""
    from podfit.solver.claims import load_claims as read

    return read(source)


def prove(
    cluster: Cluster, claim: Claim, *, timeout_ms: int = 10000, kube_version: VersionLike = None
) -> ProveResult:
    """Z3 decides whether ``claim`` holds for every pod on ``cluster``: "holds", "refuted"
    (with a counterexample pod) or "unknown" (out of time; never a verdict).

    A counterexample is written out as a manifest, read back as ``podfit explain`` would
    read it and filtered by the reference; it is reported only when the reference confirms
    it satisfies the premise and breaks the conclusion on exactly the nodes the solver
    said. Otherwise the two oracles disagree, which is a bug: ``ProofDisagreement``.
    """
    from podfit.solver.prove import prove as run

    if timeout_ms <= 0:
        raise UsageError(f"--timeout must be positive, got {timeout_ms} ms")
    version = resolve_version(kube_version)
    result = run(cluster, claim, timeout_ms=timeout_ms)
    if result.counterexample is None:
        return result
    return _confirm(cluster, claim, result, version)


def _confirm(
    cluster: Cluster, claim: Claim, result: ProveResult, version: KubeVersion
) -> ProveResult:
    from podfit.loading import pod_from_manifest
    from podfit.solver.prove import ProofDisagreement

    assert result.counterexample is not None
    pod = pod_from_manifest(to_manifest(result.counterexample), source="<counterexample>")
    checked = explain(cluster, pod, kube_version=version)
    statuses = checked.statuses
    feasible = [n for n in checked.nodes if n in statuses and statuses[n].is_success]
    problems = [f"it does not satisfy forEveryPod: {p}" for p in claim.premise.problems(pod)]
    violation = claim.conclusion.violation(cluster.nodes.values(), feasible)
    if violation is None:
        problems.append("it does not break the conclusion")
    if set(feasible) != set(result.solver_feasible):
        problems.append(
            f"the reference places it on [{', '.join(feasible)}], the solver on "
            f"[{', '.join(result.solver_feasible)}]"
        )
    if problems:
        raise ProofDisagreement(
            f"internal error: the reference does not confirm the counterexample {pod.key} "
            f"for claim {claim.name!r}: {'; '.join(problems)} (a podfit bug: please report it "
            "with the cluster and the claim)"
        )
    node = None
    if claim.conclusion.kind in ("cannotLandOn", "landsOnlyOn"):
        inside = claim.conclusion.nodes
        node = next(
            n
            for n in feasible
            if (inside is not None and inside.matches(cluster.nodes[n]))
            == (claim.conclusion.kind == "cannotLandOn")
        )
    lines = [f"Counterexample: Pod {pod.key} satisfies forEveryPod, and {violation}."]
    if node is None:
        lines.append(f"podfit explain: {checked.message}")
    return dataclasses.replace(
        result,
        counterexample=pod,
        explanation=lines,
        node=node,
        feasible=feasible,
        confirmed=True,
    )
