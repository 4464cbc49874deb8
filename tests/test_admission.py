"""Admission: LimitRanger defaults and checks, ResourceQuota usage and checks, the admit
operation, and the ``podfit admit`` command."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import podfit
from podfit.cli.admit import admit as admit_command
from podfit.cli.common import PodfitGroup
from podfit.cluster import Cluster
from podfit.defaults import default_object
from podfit.loading import cluster_from_manifests, pod_from_manifest
from podfit.manifest import parse_object
from podfit.model import LimitRange, LimitRangeItem, Pod, ResourceQuota, Toleration
from podfit.quantity import quantity_from_yaml
from podfit.reference import limitranger
from podfit.reference.admission import AdmissionResult, admit, resource_validation_errors
from podfit.reference.resourcequota import (
    QuotaError,
    constraints_error,
    matching_resources,
    pod_usage,
    quota_used,
    scope_matches,
)

Res = Mapping[str, str]


def ctr(
    name: str, requests: Res | None = None, limits: Res | None = None, **extra: Any
) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if requests is not None:
        resources["requests"] = dict(requests)
    if limits is not None:
        resources["limits"] = dict(limits)
    out: dict[str, Any] = {"name": name, "image": "busybox", **extra}
    if resources:
        out["resources"] = resources
    return out


def pod_manifest(
    containers: Sequence[dict[str, Any]],
    init: Sequence[dict[str, Any]] = (),
    name: str = "p",
    phase: str | None = None,
    **spec: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"containers": list(containers), **spec}
    if init:
        body["initContainers"] = list(init)
    out: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": body,
    }
    if phase:
        out["status"] = {"phase": phase}
    return out


def make_pod(
    containers: Sequence[dict[str, Any]], init: Sequence[dict[str, Any]] = (), **spec: Any
) -> Pod:
    return pod_from_manifest(pod_manifest(containers, init, **spec))


def limit_range(*items: dict[str, Any], name: str = "lr") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": name},
        "spec": {"limits": list(items)},
    }


def quota(name: str = "q", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name}, "spec": spec}


def parsed_lr(*items: dict[str, Any]) -> LimitRange:
    obj = parse_object(limit_range(*items))
    assert isinstance(obj, LimitRange)
    return obj


def parsed_quota(**spec: Any) -> ResourceQuota:
    obj = default_object(parse_object(quota(**spec)))  # type: ignore[arg-type]
    assert isinstance(obj, ResourceQuota)
    return obj


def texts(values: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in values.items()}


# --- LimitRange defaulting when stored ----------------------------------------------------------


def test_stored_limit_range_defaults_container_items_only() -> None:
    lr = limitranger.default_limit_range(
        parsed_lr(
            {
                "type": "Container",
                "max": {"cpu": "2", "memory": "1Gi"},
                "default": {"memory": "512Mi"},
                "min": {"ephemeral-storage": "1Gi"},
            },
            {"type": "Pod", "max": {"cpu": "4"}},
        )
    )
    container, pod_item = lr.limits
    # max fills default, default fills defaultRequest, min fills what is still missing
    assert texts(container.default) == {"cpu": "2", "memory": "512Mi"}
    assert texts(container.default_request) == {
        "cpu": "2",
        "memory": "512Mi",
        "ephemeral-storage": "1Gi",
    }
    assert pod_item.default == {} and pod_item.default_request == {}


def test_explicit_default_request_wins_over_min() -> None:
    item = limitranger.default_limit_range_item(
        LimitRangeItem(
            type="Container",
            min={"cpu": quantity_from_yaml("100m")},
            default_request={"cpu": quantity_from_yaml("50m")},
        )
    )
    assert texts(item.default_request) == {"cpu": "50m"}


# --- LimitRanger mutation -------------------------------------------------------------------------


def test_annotation_lists_what_was_set_container_by_container() -> None:
    lr = limitranger.default_limit_range(
        parsed_lr(
            {
                "type": "Container",
                "default": {"cpu": "75m", "memory": "10Mi"},
                "defaultRequest": {"cpu": "50m", "memory": "5Mi"},
            }
        )
    )
    pod = make_pod(
        [
            ctr("app", {"memory": "8Mi"}),
            ctr("full", {"cpu": "10m", "memory": "1Mi"}, {"cpu": "10m", "memory": "1Mi"}),
        ],
        init=[ctr("setup")],
    )
    mutated = limitranger.mutate_pod(lr, pod)
    assert mutated.annotations[limitranger.LIMIT_RANGER_ANNOTATION] == (
        "LimitRanger plugin set: cpu request for container app; cpu, memory limit for container app; "
        "cpu, memory request for init container setup; cpu, memory limit for init container setup"
    )
    assert mutated.containers[1] == pod.containers[1]
    assert texts(mutated.containers[0].resources.requests) == {"memory": "8Mi", "cpu": "50m"}


def test_nothing_to_default_leaves_the_pod_untouched() -> None:
    lr = limitranger.default_limit_range(parsed_lr({"type": "Container", "default": {"cpu": "1"}}))
    pod = make_pod([ctr("c", {"cpu": "0"}, {"cpu": "0"})])
    assert limitranger.mutate_pod(lr, pod) is pod
    assert (
        limitranger.LIMIT_RANGER_ANNOTATION
        not in admit(
            cluster_from_manifests([limit_range({"type": "Container", "default": {"cpu": "1"}})]),
            pod,
        ).pod.annotations
    )


def test_later_container_item_overrides_earlier_within_one_limit_range() -> None:
    lr = parsed_lr(
        {"type": "Container", "default": {"cpu": "1"}},
        {"type": "Container", "default": {"cpu": "2"}},
    )
    requests, limits = limitranger.default_requirements(limitranger.default_limit_range(lr))
    assert texts(limits) == {"cpu": "2"} and texts(requests) == {"cpu": "2"}


# --- LimitRanger validation -----------------------------------------------------------------------

VALIDATION_ROWS: list[tuple[str, dict[str, Any], dict[str, Any], list[str]]] = [
    (
        "min-ok",
        {"type": "Container", "min": {"cpu": "50m"}},
        pod_manifest([ctr("c", {"cpu": "100m"})]),
        [],
    ),
    (
        "min-request",
        {"type": "Container", "min": {"cpu": "50m"}},
        pod_manifest([ctr("c", {"cpu": "40m"}, {"cpu": "200m"})]),
        ["minimum cpu usage per Container is 50m, but request is 40m"],
    ),
    (
        "min-no-request",
        {"type": "Container", "min": {"memory": "50Mi"}},
        pod_manifest([ctr("c")]),
        ["minimum memory usage per Container is 50Mi.  No request is specified"],
    ),
    (
        "min-limit",
        {"type": "Pod", "min": {"cpu": "100m"}},
        # the request passes by the init container's peak, the limit does not
        pod_manifest(
            [ctr("c", {"cpu": "50m"}, {"cpu": "60m"})],
            init=[ctr("i", {"cpu": "150m"}, {"cpu": "150m"})],
        ),
        [],
    ),
    (
        "max-no-limit",
        {"type": "Container", "max": {"cpu": "2"}},
        pod_manifest([ctr("c", {"cpu": "1"})]),
        ["maximum cpu usage per Container is 2.  No limit is specified"],
    ),
    (
        "max-request-above",
        {"type": "Pod", "max": {"cpu": "2"}},
        pod_manifest(
            [ctr("c", {"cpu": "1"}, {"cpu": "2"})],
            init=[ctr("s", {"cpu": "1500m"}, restartPolicy="Always")],
        ),
        ["maximum cpu usage per Pod is 2, but request is 2500m"],
    ),
    (
        "ratio-exact",
        {"type": "Container", "maxLimitRequestRatio": {"cpu": "1.5"}},
        pod_manifest([ctr("c", {"cpu": "500m"}, {"cpu": "750m"})]),
        [],
    ),
    (
        "ratio-over",
        {"type": "Container", "maxLimitRequestRatio": {"memory": "3"}},
        pod_manifest([ctr("c", {"memory": "300Mi"}, {"memory": "1000Mi"})]),
        ["memory max limit to request ratio per Container is 3, but provided ratio is 3.333333"],
    ),
    (
        "ratio-zero-limit",
        {"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}},
        pod_manifest([ctr("c", {"cpu": "1"}, {"cpu": "0"})]),
        [
            "cpu max limit to request ratio per Container is 2, but no limit is specified or limit is 0"
        ],
    ),
    (
        "order-min-max-ratio-by-name",
        {"type": "Container", "min": {"memory": "1Gi", "cpu": "1"}, "max": {"cpu": "100m"}},
        pod_manifest(
            [ctr("c", {"cpu": "500m", "memory": "1Mi"}, {"cpu": "500m", "memory": "1Mi"})]
        ),
        [
            "minimum cpu usage per Container is 1, but request is 500m",
            "minimum memory usage per Container is 1Gi, but request is 1Mi",
            "maximum cpu usage per Container is 100m, but limit is 500m",
        ],
    ),
    (
        "pvc-items-ignored-for-pods",
        {"type": "PersistentVolumeClaim", "max": {"storage": "1Gi"}},
        pod_manifest([ctr("c")]),
        [],
    ),
    (
        "pod-level-replaces-aggregate",
        {"type": "Pod", "max": {"memory": "1Gi"}},
        pod_manifest(
            [ctr("c", {"memory": "2Gi"}, {"memory": "2Gi"})],
            resources={"requests": {"memory": "512Mi"}, "limits": {"memory": "1Gi"}},
        ),
        [],
    ),
]


@pytest.mark.parametrize(
    ("item", "manifest", "errors"),
    [r[1:] for r in VALIDATION_ROWS],
    ids=[r[0] for r in VALIDATION_ROWS],
)
def test_validate_pod(item: dict[str, Any], manifest: dict[str, Any], errors: list[str]) -> None:
    lr = parsed_lr(item)
    assert limitranger.validate_pod(lr, pod_from_manifest(manifest)) == errors


def test_ratio_text_rounds_half_to_even() -> None:
    assert limitranger.ratio_text(Fraction(2000001), Fraction(2000000)) == "1.000000"  # 1.0000005
    assert limitranger.ratio_text(Fraction(2000003), Fraction(2000000)) == "1.000002"  # 1.0000015
    assert limitranger.ratio_text(Fraction(5, 3), Fraction(1)) == "1.666667"
    assert limitranger.ratio_text(Fraction(1000), Fraction(1)) == "1000.000000"


def test_aggregate_message() -> None:
    assert limitranger.aggregate_message(["a"]) == "a"
    assert limitranger.aggregate_message(["a", "a"]) == "a"
    assert limitranger.aggregate_message(["a", "b", "a"]) == "[a, b]"


def test_pod_aggregate_keeps_quantity_formats() -> None:
    pod = make_pod(
        [ctr(n, limits={"memory": "500Mi"}) for n in "abc"],
        init=[ctr("i", limits={"memory": "1.5Gi"})],
    )
    assert texts(limitranger.pod_limits(pod)) == {"memory": "1536Mi"}
    pod = make_pod([ctr(n, limits={"memory": "500Mi"}) for n in "abcd"])
    assert texts(limitranger.pod_limits(pod)) == {"memory": "2000Mi"}


def test_first_failing_limit_range_only_and_name_order() -> None:
    cluster = cluster_from_manifests(
        [
            limit_range({"type": "Container", "max": {"memory": "1Gi"}}, name="z-memory"),
            limit_range({"type": "Container", "max": {"cpu": "1"}}, name="a-cpu"),
        ]
    )
    result = admit(cluster, make_pod([ctr("c", limits={"cpu": "2", "memory": "2Gi"})]))
    assert (
        result.reason
        == 'pods "p" is forbidden: maximum cpu usage per Container is 1, but limit is 2'
    )


def test_several_errors_of_one_limit_range_in_brackets() -> None:
    cluster = cluster_from_manifests(
        [limit_range({"type": "Container", "max": {"cpu": "2", "memory": "1Gi"}})]
    )
    result = admit(cluster, make_pod([ctr("c", limits={"cpu": "3", "memory": "2Gi"})]))
    assert result.reason == (
        'pods "p" is forbidden: [maximum cpu usage per Container is 2, but limit is 3, '
        "maximum memory usage per Container is 1Gi, but limit is 2Gi]"
    )


# --- object validation ------------------------------------------------------------------------------


def test_resource_validation_errors() -> None:
    pod = make_pod(
        [ctr("a", {"cpu": "2"}, {"cpu": "1"}), ctr("b", {"example.com/dongle": "1"})],
        init=[ctr("i", {"hugepages-2Mi": "2Mi", "memory": "1Mi"}, {"hugepages-2Mi": "4Mi"})],
    )
    assert resource_validation_errors(pod) == [
        'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
        "spec.containers[1].resources.limits: Required value: Limit must be set for non overcommitable resources",
        'spec.initContainers[0].resources.requests: Invalid value: "2Mi": must be equal to hugepages-2Mi limit of 4Mi',
    ]
    result = admit(Cluster(), pod)
    assert not result.admitted and result.reason.startswith(
        'Pod "p" is invalid: [spec.containers[0]'
    )


# --- ResourceQuota: names, usage, constraints, scopes ------------------------------------------------


def test_matching_resources() -> None:
    names = [
        "cpu", "requests.memory", "limits.ephemeral-storage", "pods", "count/pods", "services",
        "hugepages-2Mi", "requests.hugepages-1Gi", "limits.hugepages-2Mi", "requests.nvidia.com/gpu",
        "nvidia.com/gpu", "limits.nvidia.com/gpu", "requests.storage",
        "requests.deviceclass.resource.kubernetes.io/gpu", "requests.kubernetes.io/other",
    ]  # fmt: skip
    assert matching_resources(names) == [
        "cpu", "requests.memory", "limits.ephemeral-storage", "pods", "count/pods",
        "hugepages-2Mi", "requests.hugepages-1Gi", "requests.nvidia.com/gpu",
        "requests.deviceclass.resource.kubernetes.io/gpu",
    ]  # fmt: skip


USAGE_ROWS: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    (
        "init-cpu",
        pod_manifest([ctr("c")], init=[ctr("i", {"cpu": "1m"}, {"cpu": "2m"})]),
        {"count/pods": "1", "pods": "1", "cpu": "1m", "requests.cpu": "1m", "limits.cpu": "2m"},
    ),
    (
        "init-ephemeral",
        pod_manifest(
            [ctr("c")],
            init=[ctr("i", {"ephemeral-storage": "32Mi"}, {"ephemeral-storage": "64Mi"})],
        ),
        {
            "count/pods": "1",
            "pods": "1",
            "ephemeral-storage": "32Mi",
            "requests.ephemeral-storage": "32Mi",
            "limits.ephemeral-storage": "64Mi",
        },
    ),
    (
        "hugepages",
        pod_manifest([ctr("c", {"hugepages-2Mi": "100Mi"})]),
        {
            "count/pods": "1",
            "pods": "1",
            "hugepages-2Mi": "100Mi",
            "requests.hugepages-2Mi": "100Mi",
        },
    ),
    (
        "extended-and-dra",
        pod_manifest(
            [
                ctr(
                    "c",
                    limits={
                        "example.com/dongle": "3",
                        "deviceclass.resource.kubernetes.io/gpu": "1",
                    },
                )
            ]
        ),
        {
            "count/pods": "1",
            "pods": "1",
            "requests.example.com/dongle": "3",
            "requests.deviceclass.resource.kubernetes.io/gpu": "1",
        },
    ),
    ("succeeded", pod_manifest([ctr("c", {"cpu": "1"})], phase="Succeeded"), {"count/pods": "1"}),
    ("failed", pod_manifest([ctr("c", {"cpu": "1"})], phase="Failed"), {"count/pods": "1"}),
    (
        "overhead-on-set-limits-only",
        pod_manifest(
            [ctr("c", {"cpu": "1", "memory": "1Gi"}, {"cpu": "2"})],
            overhead={"cpu": "1", "memory": "100Mi"},
        ),
        {
            "count/pods": "1",
            "pods": "1",
            "cpu": "2",
            "requests.cpu": "2",
            "limits.cpu": "3",
            "memory": "1124Mi",
            "requests.memory": "1124Mi",
        },
    ),
    (
        "pod-level",
        pod_manifest(
            [ctr("c", {"cpu": "100m"})],
            resources={"requests": {"memory": "1Mi"}, "limits": {"memory": "2Mi"}},
        ),
        {
            "count/pods": "1",
            "pods": "1",
            "cpu": "100m",
            "requests.cpu": "100m",
            "memory": "1Mi",
            "requests.memory": "1Mi",
            "limits.memory": "2Mi",
        },
    ),
    (
        "zero-request-is-a-key",
        pod_manifest([ctr("c", {"cpu": "0"})]),
        {"count/pods": "1", "pods": "1", "cpu": "0", "requests.cpu": "0"},
    ),
]


@pytest.mark.parametrize(
    ("manifest", "expected"), [r[1:] for r in USAGE_ROWS], ids=[r[0] for r in USAGE_ROWS]
)
def test_pod_usage(manifest: dict[str, Any], expected: dict[str, str]) -> None:
    assert texts(pod_usage(pod_from_manifest(manifest))) == expected


CONSTRAINT_ROWS: list[tuple[str, dict[str, Any], list[str], str | None]] = [
    ("init-missing-memory", pod_manifest([ctr("c", {"memory": "1Mi"})], init=[ctr("dummy", {"cpu": "1m"}, {"cpu": "2m"})]), ["memory"], "must specify memory for: dummy"),
    ("inits-sorted", pod_manifest([ctr("c", {"memory": "1"})], init=[ctr("foo", {"cpu": "1m"}), ctr("bar", {"cpu": "1m"})]), ["memory"], "must specify memory for: bar,foo"),
    ("two-resources", pod_manifest([ctr("foo"), ctr("bar")]), ["memory", "cpu"], "must specify cpu for: bar,foo; memory for: bar,foo"),
    ("limits-need-limits", pod_manifest([ctr("c", {"memory": "1Gi"})]), ["limits.memory"], "must specify limits.memory for: c"),
    ("other-resources-free", pod_manifest([ctr("c")]), ["requests.nvidia.com/gpu", "ephemeral-storage", "pods", "hugepages-2Mi"], None),
    ("pod-level-exempt", pod_manifest([ctr("a"), ctr("b")], resources={"requests": {"cpu": "1m"}}), ["memory", "cpu"], None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("manifest", "tracked", "error"),
    [r[1:] for r in CONSTRAINT_ROWS],
    ids=[r[0] for r in CONSTRAINT_ROWS],
)
def test_constraints_error(manifest: dict[str, Any], tracked: list[str], error: str | None) -> None:
    assert constraints_error(tracked, pod_from_manifest(manifest)) == error


def test_scope_selectors() -> None:
    from podfit.model import ScopedResourceSelectorRequirement as S

    plain = make_pod([ctr("c")])
    classy = make_pod([ctr("c")], priorityClassName="class1")
    busy = make_pod([ctr("c", {"cpu": "1"})], activeDeadlineSeconds=30)
    cases = [
        (S("Terminating", "Exists"), [False, False, True]),
        (S("NotTerminating", "Exists"), [True, True, False]),
        (S("BestEffort", "Exists"), [True, True, False]),
        (S("NotBestEffort", "Exists"), [False, False, True]),
        (S("PriorityClass", "In", ("class1",)), [False, True, False]),
        (S("PriorityClass", "NotIn", ("class1",)), [True, False, True]),
        (S("PriorityClass", "Exists"), [False, True, False]),
        (S("PriorityClass", "DoesNotExist"), [True, False, True]),
        (S("CrossNamespacePodAffinity", "Exists"), [False, False, False]),
    ]
    for selector, expected in cases:
        assert [scope_matches(selector, p) for p in (plain, classy, busy)] == expected, selector
    with pytest.raises(QuotaError, match="values set can't be empty"):
        scope_matches(S("PriorityClass", "In", ()), classy)


def test_invalid_scope_selector_is_a_user_error() -> None:
    cluster = cluster_from_manifests(
        [
            quota(
                hard={"pods": "1"},
                scopeSelector={
                    "matchExpressions": [{"scopeName": "PriorityClass", "operator": "In"}]
                },
            )
        ]
    )
    with pytest.raises(podfit.errors.PodfitError, match="ResourceQuota default/q"):
        admit(cluster, make_pod([ctr("c")]))


def test_quota_used_counts_matching_pods_from_zero() -> None:
    q = parsed_quota(
        hard={"pods": "5", "requests.cpu": "4", "services": "1"}, scopes=["NotBestEffort"]
    )
    pods = [
        make_pod([ctr("c", {"cpu": "1"})], name="a"),
        make_pod([ctr("c")], name="idle"),
        make_pod([ctr("c", {"cpu": "2"})], name="done", phase="Succeeded"),
    ]
    assert texts(quota_used(q, pods)) == {"pods": "1", "requests.cpu": "1"}
    assert texts(quota_used(q, [])) == {"pods": "0", "requests.cpu": "0"}


# --- the admit operation ---------------------------------------------------------------------------


def test_admitted_result_and_to_dict() -> None:
    cluster = cluster_from_manifests(
        [
            limit_range({"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"}}),
            quota(hard={"requests.cpu": "2", "limits.memory": "1Gi", "pods": "3"}),
            pod_manifest([ctr("c", {"cpu": "1"}, {"memory": "512Mi"})], name="existing"),
        ]
    )
    result = admit(cluster, make_pod([ctr("c")]))
    assert isinstance(result, AdmissionResult) and result.admitted and result.reason == ""
    assert result.qos == "Guaranteed"  # requests = limits = the defaults for cpu and memory
    assert result.usage_before == {
        "q": {"limits.memory": "512Mi", "pods": "1", "requests.cpu": "1"}
    }
    assert result.usage_after == {
        "q": {"limits.memory": "768Mi", "pods": "2", "requests.cpu": "1500m"}
    }
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data) == {"admitted", "reason", "qos", "usage", "quotas", "notes", "pod"}
    assert data["pod"]["kind"] == "Pod" and data["pod"]["spec"]["priority"] == 0
    assert data["usage"]["after"] == result.usage_after
    assert podfit.admit(cluster, make_pod([ctr("c")])).to_dict() == result.to_dict()


def test_rejected_result_keeps_usage_and_mutations() -> None:
    cluster = cluster_from_manifests(
        [
            limit_range({"type": "Container", "default": {"cpu": "2"}}),
            quota(hard={"requests.cpu": "1"}),
        ]
    )
    result = admit(cluster, make_pod([ctr("c")]))
    assert not result.admitted
    assert (
        result.reason
        == 'pods "p" is forbidden: exceeded quota: q, requested: requests.cpu=2, used: requests.cpu=0, limited: requests.cpu=1'
    )
    assert result.usage_before == {"q": {"requests.cpu": "0"}}
    assert result.usage_after == {"q": {"requests.cpu": "2"}}  # what the pod would make
    assert str(result.pod.containers[0].resources.requests["cpu"]) == "2"


def test_a_stored_pod_with_the_same_name_is_not_counted_twice() -> None:
    manifest = pod_manifest([ctr("c", {"cpu": "1"})])
    cluster = cluster_from_manifests([quota(hard={"requests.cpu": "1"}), manifest])
    assert admit(cluster, pod_from_manifest(manifest)).admitted


def test_priority_is_resolved_and_checked() -> None:
    cluster = cluster_from_manifests(
        [
            {
                "apiVersion": "scheduling.k8s.io/v1",
                "kind": "PriorityClass",
                "metadata": {"name": "gold"},
                "value": 1000,
                "preemptionPolicy": "Never",
            }
        ]
    )
    result = admit(cluster, make_pod([ctr("c")], priorityClassName="gold"))
    assert (
        result.admitted and result.pod.priority == 1000 and result.pod.preemption_policy == "Never"
    )
    clash = admit(cluster, make_pod([ctr("c")], priorityClassName="gold", priority=5))
    assert clash.reason.startswith(
        'pods "p" is forbidden: the integer value of priority (5) must not be provided'
    )


# --- properties ------------------------------------------------------------------------------------

cpu = st.integers(min_value=0, max_value=4000).map(lambda m: f"{m}m")
memory = st.integers(min_value=0, max_value=4096).map(lambda m: f"{m}Mi")
RESOURCES = {"cpu": cpu, "memory": memory, "example.com/dongle": st.integers(0, 4).map(str)}


@st.composite
def resource_maps(draw: st.DrawFn) -> dict[str, str] | None:
    return draw(st.none() | st.fixed_dictionaries({}, optional={"cpu": cpu, "memory": memory}))


@st.composite
def containers(draw: st.DrawFn, prefix: str) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(min_value=1, max_value=3))):
        requests = draw(resource_maps())
        limits = draw(resource_maps())
        if requests and limits:
            # keep requests within limits, as validation requires
            for name in set(requests) & set(limits):
                requests[name] = limits[name]
        if draw(st.booleans()):
            dongles = draw(st.integers(0, 3))
            limits = {**(limits or {}), "example.com/dongle": str(dongles)}
        out.append(ctr(f"{prefix}{i}", requests, limits))
    return out


@st.composite
def pods(draw: st.DrawFn, name: str = "p") -> dict[str, Any]:
    init = draw(
        st.lists(st.just(0), max_size=1).flatmap(
            lambda x: containers("init-") if x else st.just([])
        )
    )
    phase = draw(st.sampled_from([None, None, "Running", "Succeeded"]))
    return pod_manifest(draw(containers("c")), init, name=name, phase=phase)


@st.composite
def limit_ranges(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(min_value=0, max_value=2))):
        item: dict[str, Any] = {"type": draw(st.sampled_from(["Container", "Pod"]))}
        for key in ("default", "defaultRequest", "max", "min"):
            if draw(st.booleans()):
                item[key] = draw(st.fixed_dictionaries({}, optional={"cpu": cpu, "memory": memory}))
        out.append(limit_range(item, name=f"lr{i}"))
    return out


QUOTA_NAMES = [
    "cpu",
    "memory",
    "requests.cpu",
    "limits.memory",
    "pods",
    "count/pods",
    "requests.example.com/dongle",
]
HARD = {
    "cpu": cpu, "memory": memory, "requests.cpu": cpu, "limits.memory": memory,
    "pods": st.integers(0, 5).map(str), "count/pods": st.integers(0, 5).map(str),
    "requests.example.com/dongle": st.integers(0, 6).map(str),
}  # fmt: skip


@st.composite
def quotas(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(min_value=0, max_value=3))):
        names = draw(st.lists(st.sampled_from(QUOTA_NAMES), min_size=1, max_size=3, unique=True))
        spec: dict[str, Any] = {"hard": {n: draw(HARD[n]) for n in names}}
        scope = draw(st.sampled_from([None, "BestEffort", "NotBestEffort", "Terminating"]))
        if scope:
            spec["scopes"] = [scope]
        out.append(quota(f"q{i}", **spec))
    return out


@st.composite
def namespaces(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    existing = [draw(pods(name=f"e{i}")) for i in range(draw(st.integers(0, 3)))]
    pod = draw(pods())
    pod.pop("status", None)
    if draw(st.booleans()):
        pod["spec"]["activeDeadlineSeconds"] = 60
    return draw(limit_ranges()) + draw(quotas()) + existing, pod


@given(namespaces())
@settings(max_examples=50, deadline=None)
def test_admission_is_idempotent_on_its_own_output(
    case: tuple[list[dict[str, Any]], dict[str, Any]],
) -> None:
    objects, manifest = case
    cluster = cluster_from_manifests(objects)
    first = admit(cluster, pod_from_manifest(manifest))
    again = admit(cluster, first.pod)
    assert again.pod == first.pod
    assert (again.admitted, again.reason, again.qos) == (first.admitted, first.reason, first.qos)
    assert again.usage_after == first.usage_after


def _charged(pod: Pod) -> dict[str, Fraction]:
    """What the pod is charged, computed independently (no sidecars are generated here)."""
    if pod.is_terminal:
        return {"count/pods": Fraction(1)}
    out = {"count/pods": Fraction(1), "pods": Fraction(1)}
    for kind, field in (("requests", "requests"), ("limits", "limits")):
        totals: dict[str, Fraction] = {}
        for c in pod.containers:
            for name, q in getattr(c.resources, field).items():
                totals[name] = totals.get(name, Fraction(0)) + q.value
        for c in pod.init_containers:
            for name, q in getattr(c.resources, field).items():
                totals[name] = max(totals.get(name, Fraction(0)), q.value)
        for name, value in totals.items():
            if name in ("cpu", "memory"):
                out[f"{kind}.{name}"] = value
                if kind == "requests":
                    out[name] = value
            elif kind == "requests":
                out[f"requests.{name}"] = value
    return out


@st.composite
def declared_containers(draw: st.DrawFn, prefix: str, count: int) -> list[dict[str, Any]]:
    """Containers that declare cpu and memory requests and limits (so no "must specify")."""
    out = []
    for i in range(count):
        req_cpu, req_mem = draw(st.integers(0, 2000)), draw(st.integers(0, 2048))
        lim_cpu, lim_mem = (
            req_cpu + draw(st.integers(0, 1000)),
            req_mem + draw(st.integers(0, 1024)),
        )
        limits = {"cpu": f"{lim_cpu}m", "memory": f"{lim_mem}Mi"}
        if draw(st.booleans()):
            limits["example.com/dongle"] = str(draw(st.integers(0, 2)))
        out.append(ctr(f"{prefix}{i}", {"cpu": f"{req_cpu}m", "memory": f"{req_mem}Mi"}, limits))
    return out


@st.composite
def quota_namespaces(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    existing = []
    for i in range(draw(st.integers(0, 3))):
        phase = draw(st.sampled_from([None, "Running", "Succeeded"]))
        existing.append(pod_manifest(draw(declared_containers("c", 1)), name=f"e{i}", phase=phase))
    init = draw(declared_containers("init-", draw(st.integers(0, 1))))
    pod = pod_manifest(draw(declared_containers("c", draw(st.integers(1, 2)))), init)
    limits = {
        "cpu": st.integers(0, 6000).map(lambda m: f"{m}m"),
        "requests.cpu": st.integers(0, 6000).map(lambda m: f"{m}m"),
        "memory": st.integers(0, 6144).map(lambda m: f"{m}Mi"),
        "limits.memory": st.integers(0, 8192).map(lambda m: f"{m}Mi"),
        "pods": st.integers(0, 4).map(str),
        "count/pods": st.integers(0, 4).map(str),
        "requests.example.com/dongle": st.integers(0, 4).map(str),
    }
    quotas = []
    for i in range(draw(st.integers(1, 2))):
        names = draw(st.lists(st.sampled_from(sorted(limits)), min_size=1, max_size=3, unique=True))
        quotas.append(quota(f"q{i}", hard={n: draw(limits[n]) for n in names}))
    return quotas + existing, pod


@given(quota_namespaces())
@settings(max_examples=120, deadline=None)
def test_a_quota_never_admits_a_pod_over_its_hard_limit(
    case: tuple[list[dict[str, Any]], dict[str, Any]],
) -> None:
    objects, manifest = case
    cluster = cluster_from_manifests(objects)
    result = admit(cluster, pod_from_manifest(manifest))
    charge = _charged(result.pod)
    fits = True
    for q in cluster.resource_quotas.values():
        existing = list(cluster.pods_in(q.namespace))
        for name, hard in q.hard.items():
            if charge.get(name, Fraction(0)) == 0:
                continue  # a pod that adds nothing is not checked for this name
            before = sum((_charged(p).get(name, Fraction(0)) for p in existing), Fraction(0))
            if before + charge[name] > hard.value:
                fits = False
            elif result.admitted:
                after = quantity_from_yaml(result.usage_after[q.name][name]).value
                assert after == before + charge[name], (q.name, name)
    assert result.admitted == fits, result.reason
    if not fits:
        assert "exceeded quota: " in result.reason


# --- the podfit admit command ------------------------------------------------------------------------


def _group() -> click.Group:
    @click.group(cls=PodfitGroup)
    def cli() -> None:
        pass

    cli.add_command(admit_command)
    return cli


def _write(path: Path, docs: list[dict[str, Any]]) -> str:
    path.write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    return str(path)


@pytest.fixture
def namespace_files(tmp_path: Path) -> dict[str, str]:
    objects = _write(
        tmp_path / "ns.yaml",
        [
            limit_range({"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"}}),
            quota("compute", hard={"requests.cpu": "1", "pods": "5"}),
        ],
    )
    small = _write(tmp_path / "small.yaml", [pod_manifest([ctr("c")])])
    big = _write(
        tmp_path / "big.yaml", [pod_manifest([ctr("c", {"cpu": "2"}, {"cpu": "2"})], name="big")]
    )
    return {"objects": objects, "small": small, "big": big}


def test_cli_admitted_text(namespace_files: dict[str, str]) -> None:
    result = CliRunner().invoke(
        _group(), ["admit", "-f", namespace_files["objects"], "--pod", namespace_files["small"]]
    )
    assert result.exit_code == 0, result.output
    assert "Pod default/p: admitted (QoS Guaranteed)" in result.stdout
    assert "requests.cpu  0 -> 500m" in result.stdout
    assert "kubernetes.io/limit-ranger" in result.stdout


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_cli_rejected_exits_1_with_structured_output(
    namespace_files: dict[str, str], fmt: str
) -> None:
    args = ["admit", "-f", namespace_files["objects"], "--pod", namespace_files["big"], "-o", fmt]
    result = CliRunner().invoke(_group(), args)
    assert result.exit_code == 1
    data = json.loads(result.stdout) if fmt == "json" else yaml.safe_load(result.stdout)
    assert data["admitted"] is False
    assert (
        data["reason"]
        == 'pods "big" is forbidden: exceeded quota: compute, requested: requests.cpu=2, used: requests.cpu=0, limited: requests.cpu=1'
    )
    assert data["usage"]["before"] == {"compute": {"pods": "0", "requests.cpu": "0"}}
    # A rejection shows the usage the pod would have made.
    assert data["usage"]["after"] == {"compute": {"pods": "1", "requests.cpu": "2"}}
    assert data["pod"]["metadata"]["name"] == "big"


def test_cli_command_alone_exits_1_when_rejected(namespace_files: dict[str, str]) -> None:
    result = CliRunner().invoke(
        admit_command, ["-f", namespace_files["objects"], "--pod", namespace_files["big"]]
    )
    assert result.exit_code == 1
    assert "rejected" in result.stdout and "exceeded quota: compute" in result.stdout


def test_cli_bad_input_exits_2(tmp_path: Path, namespace_files: dict[str, str]) -> None:
    runner = CliRunner()
    missing = runner.invoke(
        _group(), ["admit", "-f", str(tmp_path / "nope.yaml"), "--pod", namespace_files["small"]]
    )
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    assert "Traceback" not in missing.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: v1\nkind: LimitRange\nmetadata: {name: x}\nspec: {limits: [{type: Container, max: {cpu: lots}}]}\n"
    )
    invalid = runner.invoke(admit_command, ["-f", str(bad), "--pod", namespace_files["small"]])
    assert invalid.exit_code == 2 and "spec.limits[0].max.cpu" in invalid.stderr
    two = _write(
        tmp_path / "two.yaml",
        [pod_manifest([ctr("c")], name="a"), pod_manifest([ctr("c")], name="b")],
    )
    several = runner.invoke(admit_command, ["-f", namespace_files["objects"], "--pod", two])
    assert several.exit_code == 2 and "expected exactly one Pod" in several.stderr
    unknown_class = _write(
        tmp_path / "gold.yaml", [pod_manifest([ctr("c")], priorityClassName="gold")]
    )
    # An unknown PriorityClass on the pod to admit is a rejection, not bad input.
    assert (
        runner.invoke(
            admit_command, ["-f", namespace_files["objects"], "--pod", unknown_class]
        ).exit_code
        == 1
    )
    usage = runner.invoke(admit_command, ["--pod", namespace_files["small"]])
    assert usage.exit_code == 2


# --- admission reads the quota's status, as the API server does --------------------------------


def status_quota(
    hard: dict[str, str], used: dict[str, str] | None, spec_hard: dict[str, str] | None = None
) -> dict[str, object]:
    out: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "q"},
        "spec": {"hard": spec_hard or hard},
        "status": {"hard": hard} if used is None else {"hard": hard, "used": used},
    }
    return out


def test_status_used_decides_and_the_recount_is_reported() -> None:
    # status.used says 2 pods, the files hold one: the API server goes by the status.
    cluster = cluster_from_manifests(
        [status_quota({"pods": "2"}, {"pods": "2"}), pod_manifest([ctr("c")], name="one")]
    )
    result = admit(cluster, make_pod([ctr("c")]))
    assert not result.admitted
    assert result.reason.endswith(
        "exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2"
    )
    (quota,) = result.quotas
    assert quota["usageFrom"] == "status" and quota["recount"] == {"pods": "1"}
    assert quota["mismatch"] == ["status.used says pods=2, the pods given add up to pods=1"]
    assert any("stale or partial dump" in n for n in result.notes)
    assert result.usage_after == {"q": {"pods": "3"}}  # what the pod would have made


def test_status_hard_is_the_limit_and_missing_usage_is_status_unknown() -> None:
    looser = cluster_from_manifests([status_quota({"pods": "5"}, {"pods": "1"}, {"pods": "1"})])
    assert admit(looser, make_pod([ctr("c")])).admitted
    unknown = cluster_from_manifests(
        [status_quota({"pods": "5", "requests.cpu": "2"}, {"pods": "0"})]
    )
    result = admit(unknown, make_pod([ctr("c", {"cpu": "1"})]))
    assert result.reason == (
        'pods "p" is forbidden: status unknown for quota: q, resources: pods,requests.cpu'
    )


def test_a_quota_without_status_is_judged_as_synced_and_says_so() -> None:
    cluster = cluster_from_manifests(
        [quota(hard={"pods": "1"}), pod_manifest([ctr("c")], name="one")]
    )
    result = admit(cluster, make_pod([ctr("c")]))
    assert not result.admitted and result.quotas[0]["usageFrom"] == "recount"
    assert any("has no status" in n and "does not enforce it" in n for n in result.notes)


def test_admitted_pod_has_the_default_toleration_seconds() -> None:
    result = admit(Cluster(), make_pod([ctr("c")]))
    added = [(t.key, t.operator, t.effect, t.toleration_seconds) for t in result.pod.tolerations]
    assert added == [
        ("node.kubernetes.io/not-ready", "Exists", "NoExecute", 300),
        ("node.kubernetes.io/unreachable", "Exists", "NoExecute", 300),
    ]
    own = make_pod([ctr("c")])
    own = replace(own, tolerations=(Toleration(operator="Exists", effect="NoExecute"),))
    assert len(admit(Cluster(), own).pod.tolerations) == 1


def test_cli_on_the_dump_flags_the_stale_quota(tmp_path: Path) -> None:
    pod = tmp_path / "debug.yaml"
    pod.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: debug, namespace: shop}\n"
        "spec: {containers: [{name: c, image: busybox}]}\n"
    )
    dump = Path(__file__).resolve().parent.parent / "examples" / "dump.yaml"
    result = CliRunner().invoke(_group(), ["admit", "-f", str(dump), "--pod", str(pod)])
    assert result.exit_code == 1
    flat = " ".join(result.stdout.split())
    assert "exceeded quota: shop-quota, requested: pods=1, used: pods=7, limited: pods=7" in flat
    assert "pods 7 -> 8 of 7 (the pods given add up to 6)" in flat
    assert "status.used says pods=7, the pods given add up to pods=6" in flat
    assert max(len(line) for line in result.stdout.splitlines()) <= 100
