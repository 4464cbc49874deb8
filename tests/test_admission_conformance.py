"""Admission and QoS agreement: the strategies make valid namespaces with LimitRanges and
quotas, the reference agrees with itself, broken implementations are caught, and an
implementation that fails to answer is a finding."""

from __future__ import annotations

from hypothesis import given, settings

from podfit.adapters.reference_adapter import ReferenceScheduler
from podfit.cluster import Cluster
from podfit.conformance.admission import (
    admission_problems,
    check_admission,
    check_qos,
    claimed_admission_areas,
    limit_ranges,
    resource_quotas,
)
from podfit.conformance.decisions import NODE_AREAS, AdmissionDecision
from podfit.conformance.runner import run_conformance
from podfit.loading import cluster_from_manifests
from podfit.manifest import to_manifest
from podfit.model import LimitRange, Pod, ResourceQuota


@settings(max_examples=60, deadline=None)
@given(admission_problems())
def test_problems_survive_manifests_and_the_reference_agrees_with_itself(
    problem: tuple[Cluster, Pod],
) -> None:
    cluster, pod = problem
    again = cluster_from_manifests([to_manifest(o) for o in cluster.objects()])
    assert again.limit_ranges == cluster.limit_ranges
    assert again.resource_quotas == cluster.resource_quotas
    reference = ReferenceScheduler()
    assert check_admission(reference, cluster, pod) is None
    assert check_qos(reference, cluster, pod) is None


@settings(max_examples=40, deadline=None)
@given(limit_ranges(), resource_quotas())
def test_limit_ranges_are_ordered_and_quotas_use_known_keys(
    lr: LimitRange, quota: ResourceQuota
) -> None:
    for item in lr.limits:
        for name, high in item.max.items():
            for bound in (item.min, item.default, item.default_request):
                if name in bound:
                    assert bound[name].value <= high.value
    assert set(quota.hard) <= {
        "pods", "count/pods", "requests.cpu", "limits.cpu", "requests.memory",
        "limits.memory", "cpu", "memory",
    }  # fmt: skip


class Broken:
    name = "broken"
    areas = NODE_AREAS | {"admission", "qos"}

    def __init__(self, answer: object) -> None:
        self.answer = answer

    def admit(self, cluster: Cluster, pod: Pod) -> object:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def qos_class(self, pod: Pod) -> object:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_a_crash_or_a_wrong_type_is_a_finding() -> None:
    cluster = Cluster()
    from podfit.conformance.strategies import finish_pod
    from podfit.model import Container

    pod = finish_pod(Pod(name="p", containers=(Container(name="c", image="i"),)))
    crash = check_admission(Broken(RuntimeError("boom")), cluster, pod)
    assert crash is not None and "failed to answer: RuntimeError: boom" in crash.message
    wrong = check_admission(Broken("yes"), cluster, pod)
    assert wrong is not None and "not an AdmissionDecision" in wrong.message
    refused = check_admission(Broken(AdmissionDecision(admitted=False)), cluster, pod)
    assert refused is not None and "but podfit admitted" in refused.message
    assert refused.replay == "admit"
    qos = check_qos(Broken("Guaranteed"), cluster, pod)
    assert qos is not None and "podfit says 'BestEffort'" in qos.message


def test_an_adapter_claims_admission_only_with_the_method() -> None:
    class NoMethods:
        name = "x"
        areas = frozenset({"admission", "qos", "taints"})

    assert claimed_admission_areas(NoMethods()) == frozenset()
    assert claimed_admission_areas(ReferenceScheduler()) == {"admission", "qos"}
    report = run_conformance(
        ReferenceScheduler(), areas=["admission", "qos"], seed=3, max_examples=30
    )
    assert report.ok and set(report.covered) == {"admission", "qos"}
    assert [u.unit.name for u in report.units] == ["admission[admission]", "qos[qos]"]
