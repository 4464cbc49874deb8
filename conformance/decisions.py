"""What a scheduler under test answers, and how podfit talks to it.

Every adapter (in-process callable, subprocess, HTTP extender, live cluster, podfit's
own reference, mutants) implements :class:`Scheduler`: given a cluster and a pending
pod, return a :class:`Decision`. Adapters declare the rule areas they implement so
conformance generates and checks only those.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from podfit.cluster import Cluster
from podfit.model import Pod

# Rule areas an adapter can claim (spec area names). "resources" covers NodeResourcesFit.
NODE_AREAS: frozenset[str] = frozenset(
    {"node-affinity", "node-unschedulable", "taints", "resources", "node-ports"}
)
CLUSTER_AREAS: frozenset[str] = frozenset({"inter-pod-affinity", "topology-spread"})
ALL_AREAS: frozenset[str] = NODE_AREAS | CLUSTER_AREAS
# Areas outside scheduling an adapter may claim: it then has admit() and/or qos_class().
ADMISSION_AREAS: frozenset[str] = frozenset({"admission", "qos"})


@dataclass(frozen=True)
class Details:
    """What a scheduler may add to its answer, as kube-scheduler's framework records it.

    ``feasible``: every node that passed the filters; ``plugins`` and ``codes``: per
    rejected node, the plugin that rejected it ("" when upstream's status names none) and
    the status code; ``plugin_scores``: per feasible node, each score plugin's *weighted*
    score; ``weights``: the profile's score weights; ``top``: the nodes with the best total;
    ``message``: the pod-level FitError message when nothing fits. Each is None (or empty)
    when the scheduler does not say.
    """

    feasible: tuple[str, ...] | None = None
    plugins: Mapping[str, str] = field(default_factory=dict)
    codes: Mapping[str, str] = field(default_factory=dict)
    plugin_scores: Mapping[str, Mapping[str, int]] | None = None
    weights: Mapping[str, int] | None = None
    top: tuple[str, ...] | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.feasible is not None:
            out["feasible"] = list(self.feasible)
        if self.plugins:
            out["plugin"] = dict(self.plugins)
        if self.codes:
            out["code"] = dict(self.codes)
        if self.plugin_scores is not None:
            out["pluginScores"] = {n: dict(s) for n, s in self.plugin_scores.items()}
        if self.weights is not None:
            out["weights"] = dict(self.weights)
        if self.top is not None:
            out["top"] = list(self.top)
        if self.message is not None:
            out["message"] = self.message
        return out


@dataclass(frozen=True)
class Decision:
    """A scheduler's answer for one pod.

    ``node`` is the chosen node's name, or None for "unschedulable". ``reasons`` maps a
    node name to the scheduler's reason strings when it gives them (optional).
    ``error`` is set when the scheduler failed to answer (crash, timeout, garbage): that
    is a finding about the scheduler, not an "unschedulable" answer.
    """

    node: str | None
    reasons: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    error: str | None = None
    scores: Mapping[str, int] | None = None
    details: Details | None = None

    @property
    def unschedulable(self) -> bool:
        return self.node is None and self.error is None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"node": self.node}
        if self.reasons:
            out["reasons"] = {k: list(v) for k, v in self.reasons.items()}
        if self.error:
            out["error"] = self.error
        if self.scores is not None:
            out["scores"] = dict(self.scores)
        if self.details is not None:
            out.update(self.details.to_dict())
        return out


@dataclass(frozen=True)
class AdmissionDecision:
    """An implementation's admission answer: is the pod created, why not, and (optionally)
    the pod as admitted, LimitRange defaults applied. ``error`` when it failed to answer."""

    admitted: bool
    reason: str = ""
    pod: Pod | None = None
    error: str | None = None


class AdapterError(Exception):
    """The adapter cannot be set up (bad spec string, unreachable scheduler at start)."""


@runtime_checkable
class Scheduler(Protocol):
    """A scheduler under test."""

    #: short name for reports, e.g. "exec:./my-scheduler"
    name: str
    #: the spec rule areas it implements (subset of ALL_AREAS)
    areas: frozenset[str]

    def schedule(self, cluster: Cluster, pod: Pod) -> Decision: ...

    def close(self) -> None: ...
