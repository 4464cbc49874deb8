"""podfit's own reference scheduler as a :class:`~podfit.conformance.decisions.Scheduler`.

It runs one scheduling cycle of the default profile (or the profiles given) without
preemption and answers the first of the best-scoring nodes, with every rejected node's
reasons and every feasible node's total score. Conformance uses it as the yardstick and
as the scheduler that must always pass.
"""

from __future__ import annotations

from collections.abc import Mapping

from podfit.cluster import Cluster
from podfit.conformance.decisions import ADMISSION_AREAS, ALL_AREAS, AdmissionDecision, Decision
from podfit.model import DEFAULT_SCHEDULER, Pod
from podfit.reference.framework import Profile, ScheduleResult
from podfit.reference.profile import default_profile
from podfit.reference.scheduler import schedule_one


def decision_of(result: ScheduleResult) -> Decision:
    """A scheduling cycle's outcome as a Decision (a bypassed pod gets no node)."""
    reasons = {name: status.reasons for name, status in result.failed_statuses().items()}
    if result.bypass:
        return Decision(node=None, reasons=reasons)
    return Decision(
        node=result.selected,
        reasons=reasons,
        scores=dict(result.totals) if result.totals else None,
    )


class ReferenceScheduler:
    """The reference implementation, claiming every rule area, admission and QoS included."""

    name = "reference"

    def __init__(
        self,
        profiles: Mapping[str, Profile] | None = None,
        *,
        areas: frozenset[str] = ALL_AREAS | ADMISSION_AREAS,
    ) -> None:
        # Built once: building a profile per pod would dominate the cost of a cycle.
        self.profiles = profiles or {DEFAULT_SCHEDULER: default_profile()}
        self.areas = areas

    def schedule(self, cluster: Cluster, pod: Pod) -> Decision:
        return decision_of(schedule_one(cluster, pod, self.profiles, preemption=False))

    def admit(self, cluster: Cluster, pod: Pod) -> AdmissionDecision:
        from podfit.reference.admission import admit

        result = admit(cluster, pod)
        return AdmissionDecision(result.admitted, result.reason, result.pod)

    def qos_class(self, pod: Pod) -> str:
        from podfit.reference.qos import qos_class

        return qos_class(pod)

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"<ReferenceScheduler areas={sorted(self.areas)}>"
