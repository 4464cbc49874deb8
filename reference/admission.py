"""Pod creation through the API server's admission chain, as far as scheduling cares.

Upstream order (``pkg/kubeapiserver/options/plugins.go``, the apiserver's create handler):
API defaulting when the request is decoded; mutating admission (LimitRanger, then Priority);
PrepareForCreate (the QoS class is computed and stored) and object validation; validating
admission (LimitRanger, then ResourceQuota last). The first step that fails rejects the pod
with its message:

- Priority, LimitRanger and ResourceQuota: ``pods "<name>" is forbidden: <reason>``;
- validation: ``Pod "<name>" is invalid: <field errors>`` (here only the resource checks a
  LimitRange default can break: request above limit, and extended resources or hugepages
  whose request differs from their limit or that have no limit).

The result carries the pod as mutated so far, its QoS class, and each quota's usage in
the namespace before the pod and after it (unchanged when the pod is rejected).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from podfit.apiserver import pod_as_stored
from podfit.cluster import Cluster
from podfit.defaults import PriorityError, default_pod, resolve_priority
from podfit.manifest import to_manifest
from podfit.model import Container, Pod
from podfit.reference import limitranger, resourcequota
from podfit.reference.eviction import default_toleration_seconds
from podfit.reference.limitranger import Quantities, aggregate_message
from podfit.reference.qos import qos_class
from podfit.reference.resources import is_hugepages, is_native_resource
from podfit.versions import LATEST, KubeVersion

Usage = dict[str, dict[str, str]]


@dataclass
class AdmissionResult:
    admitted: bool
    reason: str
    pod: Pod
    qos: str
    usage_before: Usage = field(default_factory=dict)
    # With the pod: after admission, or for a quota rejection the usage it would have made.
    usage_after: Usage = field(default_factory=dict)
    # Per quota of the namespace: where its usage came from, the recount, disagreements.
    quotas: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "admitted": self.admitted,
            "reason": self.reason,
            "qos": self.qos,
            "usage": {"before": self.usage_before, "after": self.usage_after},
            "quotas": self.quotas,
            "notes": self.notes,
            "pod": to_manifest(self.pod),
        }


def forbidden(pod: Pod, reason: str) -> str:
    """admission.NewForbidden's message for a pod."""
    if not pod.name:
        return f"pods is forbidden: {reason}"
    return f'pods "{pod.name}" is forbidden: {reason}'


def invalid(pod: Pod, errors: list[str]) -> str:
    """apierrors.NewInvalid's message: the field errors aggregated."""
    return f'Pod "{pod.name}" is invalid: {aggregate_message(errors)}'


def is_overcommit_allowed(name: str) -> bool:
    """Only native resources other than hugepages may request less than their limit."""
    return is_native_resource(name) and not is_hugepages(name)


def _container_resource_errors(container: Container, path: str) -> list[str]:
    errors: list[str] = []
    limits = container.resources.limits
    for name, request in sorted(container.resources.requests.items()):
        limit = limits.get(name)
        if limit is None:
            if not is_overcommit_allowed(name):
                errors.append(
                    f"{path}.limits: Required value: "
                    "Limit must be set for non overcommitable resources"
                )
            continue
        if not is_overcommit_allowed(name) and request.value != limit.value:
            detail = f"must be equal to {name} limit of {limit}"
        elif request.value > limit.value:
            detail = f"must be less than or equal to {name} limit of {limit}"
        else:
            continue
        errors.append(f'{path}.requests: Invalid value: "{request}": {detail}')
    return errors


def resource_validation_errors(pod: Pod) -> list[str]:
    """ValidateResourceRequirements for every container, app containers first."""
    errors: list[str] = []
    for i, container in enumerate(pod.containers):
        errors += _container_resource_errors(container, f"spec.containers[{i}].resources")
    for i, container in enumerate(pod.init_containers):
        errors += _container_resource_errors(container, f"spec.initContainers[{i}].resources")
    return errors


def _texts(usage: dict[str, Quantities]) -> Usage:
    return {
        quota: {name: str(q) for name, q in sorted(values.items())}
        for quota, values in usage.items()
    }


def _quota_report(
    views: Iterable[resourcequota.QuotaView],
) -> tuple[list[dict[str, Any]], list[str]]:
    """Per quota, where admission's figures come from, and notes on what to watch."""
    report: list[dict[str, Any]] = []
    notes: list[str] = []
    for v in views:
        key = f"{v.quota.namespace}/{v.name}"
        report.append(
            {
                "name": v.name,
                "usageFrom": "status" if v.from_status else "recount",
                "hard": {n: str(q) for n, q in sorted(v.hard.items())},
                "used": {n: str(q) for n, q in sorted(v.used.items())},
                "recount": {n: str(q) for n, q in sorted(v.recount.items())},
                "mismatch": list(v.mismatch),
            }
        )
        if v.mismatch:
            notes.append(
                f"ResourceQuota {key}: {'; '.join(v.mismatch)}: a stale or partial dump (the "
                "API server goes by status.used)"
            )
        if not v.from_status:
            notes.append(
                f"ResourceQuota {key} has no status: until the quota controller writes "
                "status.hard and status.used the API server does not enforce it; podfit "
                "judges it as it will be then, on spec.hard and the usage of the pods given"
            )
    return report, notes


def admit(cluster: Cluster, pod: Pod, *, version: KubeVersion = LATEST) -> AdmissionResult:
    """Create ``pod`` in its namespace of ``cluster``: what the API server of ``version``
    does to it."""
    pod = pod_as_stored(default_pod(pod), version)
    namespace = pod.namespace
    limit_ranges = limitranger.namespace_limit_ranges(cluster.limit_ranges.values(), namespace)
    quotas = [q for q in cluster.resource_quotas.values() if q.namespace == namespace]
    existing = cluster.pods_in(namespace)
    others = [p for p in existing if p.key != pod.key]
    views = [
        resourcequota.quota_view(q, others)
        for q in resourcequota.namespace_quotas(quotas, namespace)
    ]
    report, notes = _quota_report(views)

    def rejected(
        mutated: Pod, reason: str, before: Usage, after: Usage | None = None
    ) -> AdmissionResult:
        return AdmissionResult(
            False, reason, mutated, qos_class(mutated), before, after or before, report, notes
        )

    # Usage before the pod, reported whatever the outcome.
    baseline = _texts({v.name: v.used for v in views})

    pod = limitranger.apply_defaults(limit_ranges, pod)
    try:
        pod = resolve_priority(pod, cluster.priority_classes)
    except PriorityError as exc:
        return rejected(pod, forbidden(pod, str(exc)), baseline)
    # DefaultTolerationSeconds (a mutating admission plugin after Priority): not-ready and
    # unreachable NoExecute tolerations of 300 s for a pod that has none.
    pod = default_toleration_seconds(pod)
    errors = resource_validation_errors(pod)
    if errors:
        return rejected(pod, invalid(pod, errors), baseline)
    limit_error = limitranger.validate(limit_ranges, pod)
    if limit_error is not None:
        return rejected(pod, forbidden(pod, limit_error), baseline)
    decision = resourcequota.check_pod(quotas, existing, pod)
    if not decision.admitted:
        return rejected(
            pod,
            forbidden(pod, decision.reason),
            _texts(decision.usage_before),
            _texts(decision.usage_after),
        )
    return AdmissionResult(
        True,
        "",
        pod,
        qos_class(pod),
        _texts(decision.usage_before),
        _texts(decision.usage_after),
        report,
        notes,
    )
