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
