"""API defaulting, each case naming the upstream source it follows."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

import pytest

from podfit.defaults import PriorityError, resolve_priority
from podfit.loading import cluster_from_manifests, pod_from_manifest
from podfit.model import PriorityClass


def pod(spec: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", **meta},
        "spec": {"containers": [{"name": "c", "image": "x"}], **spec},
    }


def test_namespace_and_scheduler_name_default() -> None:
    # pkg/apis/core/v1/defaults.go: SetDefaults_PodSpec (schedulerName); namespace from the request.
    p = pod_from_manifest(pod({}))
    assert p.namespace == "default"
    assert p.scheduler_name == "default-scheduler"


def test_requests_default_to_limits_per_resource() -> None:
    # pkg/apis/core/v1/defaults.go: SetDefaults_Pod copies each limit without a request.
    p = pod_from_manifest(
        pod(
            {
                "containers": [
                    {
                        "name": "c",
                        "resources": {
                            "limits": {"cpu": "2", "memory": "1Gi"},
                            "requests": {"cpu": "500m"},
                        },
                    }
                ],
                "initContainers": [{"name": "i", "resources": {"limits": {"nvidia.com/gpu": "1"}}}],
            }
        )
    )
    requests = p.containers[0].resources.requests
    assert requests["cpu"].value == Fraction(1, 2)  # an explicit request is kept
    assert requests["memory"].value == 2**30  # a missing one is copied from the limit
    assert p.init_containers[0].resources.requests["nvidia.com/gpu"].value == 1


def test_toleration_operator_has_no_default_and_means_equal() -> None:
    # The API server does not default a toleration's operator; an empty one means Equal
    # (core/v1 toleration.go ToleratesTaint). It stays omitted on the wire.
    from podfit.manifest import to_manifest
    from podfit.model import Taint
    from podfit.reference.taints import tolerates

    p = pod_from_manifest(pod({"tolerations": [{"key": "k", "value": "v"}]}))
    toleration = p.tolerations[0]
    assert toleration.operator == ""
    assert "operator" not in to_manifest(p)["spec"]["tolerations"][0]
    assert tolerates(toleration, Taint(key="k", value="v", effect="NoSchedule"))
    assert not tolerates(toleration, Taint(key="k", value="w", effect="NoSchedule"))


def test_toleration_without_key_must_be_exists() -> None:
    from podfit.errors import ManifestError

    with pytest.raises(ManifestError, match="operator must be Exists when `key` is empty"):
        pod_from_manifest(pod({"tolerations": [{"effect": "NoSchedule"}]}))


def test_topology_spread_policies_default() -> None:
    # pkg/scheduler: a nil nodeAffinityPolicy means Honor, a nil nodeTaintsPolicy means Ignore.
    p = pod_from_manifest(
        pod(
            {
                "topologySpreadConstraints": [
                    {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
                ]
            }
        )
    )
    c = p.topology_spread_constraints[0]
    # Not defaulted by the API server: omitted stays omitted (None), and means Honor/Ignore.
    assert (c.node_affinity_policy, c.node_taints_policy) == (None, None)
    assert (c.honors_node_affinity, c.honors_taints) == (True, False)
    from podfit.manifest import to_manifest

    written = to_manifest(p)["spec"]["topologySpreadConstraints"][0]
    assert "nodeAffinityPolicy" not in written and "nodeTaintsPolicy" not in written


def test_host_network_copies_container_port_to_host_port() -> None:
    # pkg/apis/core/v1/defaults.go: SetDefaults_PodSpec with hostNetwork.
    p = pod_from_manifest(
        pod(
            {"hostNetwork": True, "containers": [{"name": "c", "ports": [{"containerPort": 9100}]}]}
        )
    )
    assert p.containers[0].ports[0].host_port == 9100
    q = pod_from_manifest(pod({"containers": [{"name": "c", "ports": [{"containerPort": 9100}]}]}))
    assert q.containers[0].ports[0].host_port == 0


CLASSES = {
    "high": PriorityClass("high", 1000),
    "low-default": PriorityClass("low-default", 5, global_default=True),
    "polite": PriorityClass("polite", 500, preemption_policy="Never"),
}


@pytest.mark.parametrize(
    "spec,classes,priority,policy,class_name",
    [
        ({"priorityClassName": "high"}, CLASSES, 1000, "PreemptLowerPriority", "high"),
        ({}, CLASSES, 5, "PreemptLowerPriority", "low-default"),
        ({}, {"high": CLASSES["high"]}, 0, "PreemptLowerPriority", ""),
        ({"priorityClassName": "polite"}, CLASSES, 500, "Never", "polite"),
        (
            {"priorityClassName": "system-node-critical"},
            {},
            2000001000,
            "PreemptLowerPriority",
            "system-node-critical",
        ),
        (
            {"priority": 1000, "priorityClassName": "high"},
            CLASSES,
            1000,
            "PreemptLowerPriority",
            "high",
        ),
    ],
    ids=[
        "named class",
        "global default named",
        "no default is 0",
        "class policy",
        "built-in class",
        "equal priority accepted",
    ],
)
def test_priority_admission(
    spec: dict[str, Any],
    classes: dict[str, PriorityClass],
    priority: int,
    policy: str,
    class_name: str,
) -> None:
    # plugin/pkg/admission/priority/admission.go
    p = resolve_priority(pod_from_manifest(pod(spec)), classes)
    assert (p.priority, p.preemption_policy, p.priority_class_name) == (
        priority,
        policy,
        class_name,
    )


@pytest.mark.parametrize(
    "spec,message",
    [
        ({"priorityClassName": "gold"}, "no PriorityClass with name gold was found"),
        (
            {"priorityClassName": "high", "priority": 7},
            "the integer value of priority (7) must not be provided",
        ),
        (
            {"priorityClassName": "polite", "preemptionPolicy": "PreemptLowerPriority"},
            "PreemptionPolicy (PreemptLowerPriority) must not be provided",
        ),
    ],
    ids=["unknown class", "conflicting priority", "conflicting preemption policy"],
)
def test_priority_admission_rejects(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(PriorityError, match=re.escape(message)):
        resolve_priority(pod_from_manifest(pod(spec)), CLASSES)


def test_lowest_global_default_wins_and_dumped_pods_keep_their_priority() -> None:
    two = dict(CLASSES, other=PriorityClass("other", 50, global_default=True))
    assert resolve_priority(pod_from_manifest(pod({})), two).priority == 5
    dumped = pod_from_manifest(pod({"priority": 7, "priorityClassName": "high"}))
    assert resolve_priority(dumped, CLASSES, strict=False).priority == 7


def test_node_allocatable_defaults_to_capacity() -> None:
    # pkg/apis/core/v1/defaults.go: SetDefaults_NodeStatus.
    cluster = cluster_from_manifests(
        [
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": "n"},
                "status": {"capacity": {"cpu": "2", "pods": "5"}},
            }
        ]
    )
    assert cluster.nodes["n"].allocatable["cpu"].value == 2


def test_quantities_round_up_to_milli_precision() -> None:
    # pkg/apis/core/v1/defaults.go: SetDefaults_ResourceList rounds up to milli-units.
    p = pod_from_manifest(
        pod(
            {
                "containers": [
                    {"name": "c", "resources": {"requests": {"cpu": "0.0001", "memory": "0.5"}}}
                ]
            }
        )
    )
    requests = p.containers[0].resources.requests
    assert requests["cpu"].value == Fraction(1, 1000)
    assert requests["memory"].value == Fraction(1, 2)


def test_pod_level_request_defaults_to_pod_level_limit() -> None:
    # SetDefaults_Pod with PodLevelResources.
    p = pod_from_manifest(pod({"resources": {"limits": {"cpu": "2", "memory": "1Gi"}}}))
    assert p.resources is not None
    assert p.resources.requests["cpu"].value == 2 and p.resources.requests["memory"].value == 2**30
