"""The backends that run spec examples: podfit's reference and the solver.

Each case kind (``quantity``, ``selector``, ``schedule``, ...) has one function per
backend that turns ``given`` into an outcome mapping with the keys INTERPRETING.md
defines. A backend supports the case kinds it has a function for.

The solver answers one question of a ``schedule`` case, the feasible node set (it has no
per-node statuses, scores or messages, and runs the default profile only), so it runs the
schedule examples whose ``expect`` names ``feasible`` and that give no scheduler
``config``, and is checked on that key alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from podfit.conformance.decisions import Decision, Scheduler
from podfit.errors import PodfitError
from podfit.quantity import Quantity, QuantityError, quantity_from_yaml
from podfit.spec import Example
from podfit.versions import VERSIONS, KubeVersion

from .spec_runner import Backend

#: Runs one case kind: ``given`` and the release to behave as -> the outcome.
CaseRunner = Callable[[Mapping[str, Any], KubeVersion], Mapping[str, Any]]


def fraction_text(q: Quantity) -> str:
    v = q.value
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def run_quantity(given: Mapping[str, Any], version: KubeVersion) -> Mapping[str, Any]:
    try:
        q = quantity_from_yaml(given["quantity"])
    except QuantityError as exc:
        return {"error": True, "message": str(exc)}
    return {
        "exact": fraction_text(q),
        "value": q.value_rounded_up(),
        "milli_value": q.milli_value(),
        "canonical": q.canonical(),
    }


class CaseBackend:
    """A backend made of one runner per case kind."""

    def __init__(
        self,
        name: str,
        runners: Mapping[str, CaseRunner],
        versions: tuple[KubeVersion, ...] = VERSIONS,
    ) -> None:
        self.name = name
        self.runners = dict(runners)
        self.versions = versions

    def supports(self, example: Example) -> bool:
        return example.case in self.runners

    def run(self, example: Example, version: KubeVersion) -> Mapping[str, Any]:
        return self.runners[example.case](example.given, version)

    def checked(self, example: Example, version: KubeVersion) -> Mapping[str, Any]:
        return example.expect_for(version)


def reference_backend() -> Backend:
    from .reference_cases import RUNNERS

    return CaseBackend("reference", {"quantity": run_quantity, **RUNNERS})


def run_solver_schedule(given: Mapping[str, Any], version: KubeVersion) -> Mapping[str, Any]:
    from podfit.apiserver import cluster_as_stored, pod_as_stored
    from podfit.loading import cluster_from_manifests, pod_from_manifest
    from podfit.solver import feasible_nodes

    cluster = cluster_from_manifests(given["objects"], "given.objects")
    pod = pod_from_manifest(given["pod"], "given.pod")
    stored = cluster_as_stored(cluster, version)
    return {"feasible": sorted(feasible_nodes(stored, pod_as_stored(pod, version)))}


#: The ``expect`` keys the solver answers for schedule cases.
SOLVER_SCHEDULE_KEYS = frozenset({"feasible"})


class SolverBackend(CaseBackend):
    """The Z3 encoding: feasible node sets of schedule cases (default profile only)."""

    def __init__(self) -> None:
        super().__init__("solver", {"schedule": run_solver_schedule})

    def supports(self, example: Example) -> bool:
        if example.case != "schedule" or "config" in example.given:
            return False
        spec = example.given.get("pod", {}).get("spec", {})
        if spec.get("schedulerName", "default-scheduler") != "default-scheduler":
            return False  # another scheduler's pod: the default profile never sees it
        return bool(set(example.expect) & SOLVER_SCHEDULE_KEYS)

    def checked(self, example: Example, version: KubeVersion) -> Mapping[str, Any]:
        expect = example.expect_for(version)
        return {k: v for k, v in expect.items() if k in SOLVER_SCHEDULE_KEYS}


def solver_backend() -> Backend:
    return SolverBackend()


def backends() -> dict[str, Backend]:
    """Every backend podfit ships, by name."""
    return {"reference": reference_backend(), "solver": solver_backend()}


class AdapterError(PodfitError):
    """The scheduler under test could not answer an example (crash, timeout, garbage)."""


class AdapterBackend:
    """Any scheduler under test, through its adapter, as one Kubernetes release.

    It runs the ``schedule`` examples (the only case kind a scheduler answers) and is
    checked on what it says: the node it picks must be one the example expects to be
    feasible (or none when none is), and the reasons it gives for a node (when it gives
    any) must be the expected ones. A scheduler that also gives kube-scheduler's details (the exec
    protocol's optional fields: every feasible node, each rejecting plugin and code, each
    plugin's weighted score, the best nodes, the FitError message) is checked on all of
    them. Examples with a scheduler ``config`` run only if the adapter sends it.
    """

    def __init__(self, scheduler: Scheduler, version: KubeVersion) -> None:
        self.scheduler = scheduler
        self.name = scheduler.name
        self.versions: tuple[KubeVersion, ...] = (version,)
        self._details: dict[int, bool] = {}
        self._reasons: dict[int, frozenset[str]] = {}

    def supports(self, example: Example) -> bool:
        if example.case != "schedule" or "bypass" in example.expect:
            return False
        if "config" in example.given:
            return bool(getattr(self.scheduler, "send_config", False))
        spec = example.given.get("pod", {}).get("spec", {})
        return bool(spec.get("schedulerName", "default-scheduler") == "default-scheduler")

    def run(self, example: Example, version: KubeVersion) -> Mapping[str, Any]:
        from podfit.apiserver import cluster_as_stored, pod_as_stored
        from podfit.defaults import resolve_priority
        from podfit.loading import cluster_from_manifests, pod_from_manifest

        cluster = cluster_as_stored(
            cluster_from_manifests(example.given["objects"], "objects"), version
        )
        pod = pod_as_stored(pod_from_manifest(example.given["pod"], "given.pod"), version)
        # Priority admission ran when the pod was created: the scheduler sees its priority.
        pod = resolve_priority(pod, cluster.priority_classes)
        config = example.given.get("config")
        if config is not None:
            decision = self.scheduler.schedule(cluster, pod, config=config)  # type: ignore[call-arg]
        else:
            decision = self.scheduler.schedule(cluster, pod)
        if decision.error is not None:
            raise AdapterError(f"{self.name}: {decision.error}")
        self._details[id(example)] = decision.details is not None
        self._reasons[id(example)] = frozenset(n for n, r in decision.reasons.items() if r)
        return outcome_of(decision)

    def checked(self, example: Example, version: KubeVersion) -> Mapping[str, Any]:
        expect = dict(example.expect_for(version))
        if self._details.get(id(example)):
            return expect
        # The decision, and the reasons for the nodes it gave reasons for (a scheduler
        # that answers only with a node name is checked on the node alone).
        out: dict[str, Any] = {}
        if "feasible" in expect:
            out["nodeIn"] = expect["feasible"]
        gave = self._reasons.get(id(example), frozenset())
        statuses = {
            node: {"reasons": s["reasons"]}
            for node, s in expect.get("statuses", {}).items()
            if "reasons" in s and node in gave
        }
        if statuses:
            out["statuses"] = statuses
        return out


def outcome_of(decision: Decision) -> dict[str, Any]:
    """A scheduler's answer in the terms of a schedule example's ``expect``."""
    out: dict[str, Any] = {"nodeIn": decision.node}
    statuses: dict[str, dict[str, Any]] = {
        node: {"reasons": list(reasons)} for node, reasons in decision.reasons.items()
    }
    details = decision.details
    if details is not None:
        for node, plugin in details.plugins.items():
            statuses.setdefault(node, {})["plugin"] = plugin
        for node, code in details.codes.items():
            statuses.setdefault(node, {})["code"] = code
        if details.feasible is not None:
            out["feasible"] = list(details.feasible)
        if details.top is not None:
            out["top"] = list(details.top)
        out["message"] = details.message or (
            f"scheduled to {decision.node}" if decision.node else ""
        )
        if details.plugin_scores is not None and details.weights is not None:
            out["scores"] = normalised_scores(details.plugin_scores, details.weights)
        elif details.feasible is not None and len(details.feasible) > 1:
            # Every score plugin skipped the pod: each feasible node totals 0.
            out["scores"] = {"total": dict.fromkeys(details.feasible, 0)}
    out["statuses"] = statuses
    return out


def normalised_scores(
    weighted: Mapping[str, Mapping[str, int]], weights: Mapping[str, int]
) -> dict[str, dict[str, int]]:
    """Per plugin, per node, the score before weights (as spec examples give them), and
    the weighted total per node under ``total``."""
    out: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for node, per_plugin in weighted.items():
        totals.setdefault(node, 0)
        for plugin, score in per_plugin.items():
            weight = weights.get(plugin) or 1
            out.setdefault(plugin, {})[node] = score // weight
            totals[node] = totals.get(node, 0) + score
    if totals:
        out["total"] = totals
    return out
