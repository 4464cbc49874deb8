"""QoS classes and OOM score adjustment against upstream's rules and tests."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import replace
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import podfit
from podfit.defaults import resolve_priority
from podfit.loading import pod_from_manifest
from podfit.model import Container, Pod, ResourceRequirements
from podfit.quantity import parse_quantity
from podfit.reference.oom import (
    BEST_EFFORT_OOM_SCORE_ADJ,
    GUARANTEED_OOM_SCORE_ADJ,
    go_div,
    is_critical_pod,
    is_node_critical_pod,
    oom_score_adj,
    pod_oom_scores,
    unclaimed_memory_share,
)
from podfit.reference.qos import (
    BEST_EFFORT,
    BURSTABLE,
    GUARANTEED,
    qos_class,
    requirements_qos,
    uses_pod_level_resources,
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


def make_pod(
    containers: Sequence[dict[str, Any]],
    init: Sequence[dict[str, Any]] = (),
    annotations: Mapping[str, str] | None = None,
    **spec: Any,
) -> Pod:
    body: dict[str, Any] = {"containers": list(containers), **spec}
    if init:
        body["initContainers"] = list(init)
    meta: dict[str, Any] = {"name": "p"}
    if annotations:
        meta["annotations"] = dict(annotations)
    return pod_from_manifest({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": body})


G = {"cpu": "100m", "memory": "100Mi"}

# --- QoS: upstream's TestComputePodQOS rows, in podfit terms ------------------------------------

QOS_ROWS: list[tuple[str, Pod, str]] = [
    ("guaranteed", make_pod([ctr("a", G, G)]), GUARANTEED),
    ("guaranteed-guaranteed", make_pod([ctr("a", G, G), ctr("b", G, G)]), GUARANTEED),
    ("best-effort", make_pod([ctr("a")]), BEST_EFFORT),
    ("best-effort-best-effort", make_pod([ctr("a"), ctr("b")]), BEST_EFFORT),
    (
        "best-effort-burstable",
        make_pod([ctr("a"), ctr("b", {"cpu": "1"}, {"cpu": "2"})]),
        BURSTABLE,
    ),
    ("best-effort-guaranteed", make_pod([ctr("a"), ctr("b", G, G)]), BURSTABLE),
    (
        "burstable-cpu-guaranteed-memory",
        make_pod([ctr("a", {"memory": "100Mi"}, {"memory": "100Mi"})]),
        BURSTABLE,
    ),
    ("burstable-no-limits", make_pod([ctr("a", G)]), BURSTABLE),
    (
        "burstable-guaranteed",
        make_pod(
            [
                ctr("a", {"cpu": "1", "memory": "100Mi"}, {"cpu": "2", "memory": "100Mi"}),
                ctr("b", G, G),
            ]
        ),
        BURSTABLE,
    ),
    (
        "burstable-unbounded-but-requests-match-limits",
        make_pod([ctr("a", G, {"cpu": "200m", "memory": "200Mi"}), ctr("b", G)]),
        BURSTABLE,
    ),
    (
        "burstable-1",
        make_pod([ctr("a", {"cpu": "10m", "memory": "100Mi"}, {"cpu": "100m", "memory": "200Mi"})]),
        BURSTABLE,
    ),
    (
        "burstable-2",
        make_pod([ctr("a", {"cpu": "0", "memory": "0"}, {"cpu": "100m", "memory": "200Mi"})]),
        BURSTABLE,
    ),
    (
        "best-effort-hugepages",
        make_pod(
            [
                ctr(
                    "a",
                    {"cpu": "0", "memory": "0", "hugepages-2Mi": "1Gi"},
                    {"cpu": "0", "memory": "0", "hugepages-2Mi": "1Gi"},
                )
            ]
        ),
        BEST_EFFORT,
    ),
    (
        "init-container",
        make_pod(
            [ctr("a")],
            init=[ctr("i", {"cpu": "10m", "memory": "100Mi"}, {"cpu": "100m", "memory": "200Mi"})],
        ),
        BURSTABLE,
    ),
    ("empty-init-spoils-guaranteed", make_pod([ctr("a", G, G)], init=[ctr("i")]), BURSTABLE),
    (
        "guaranteed-sidecar",
        make_pod([ctr("a", G, G)], init=[ctr("s", G, G, restartPolicy="Always")]),
        GUARANTEED,
    ),
    ("limits-only-defaulted", make_pod([ctr("a", limits=G)]), GUARANTEED),
    (
        "equal-in-different-units",
        make_pod(
            [ctr("a", {"cpu": "1", "memory": "1Gi"}, {"cpu": "1000m", "memory": "1073741824"})]
        ),
        GUARANTEED,
    ),
    (
        "extended-resource-only",
        make_pod([ctr("a", limits={"example.com/dongle": "2"})]),
        BEST_EFFORT,
    ),
    (
        "guaranteed-with-pod-level-resources",
        make_pod(
            [ctr("a")],
            resources={
                "requests": {"cpu": "10m", "memory": "100Mi"},
                "limits": {"cpu": "10m", "memory": "100Mi"},
            },
        ),
        GUARANTEED,
    ),
    (
        "guaranteed-with-pod-and-container-level",
        make_pod(
            [ctr("a", {"cpu": "3m", "memory": "10Mi"}, {"cpu": "5m", "memory": "20Mi"})],
            resources={
                "requests": {"cpu": "10m", "memory": "100Mi"},
                "limits": {"cpu": "10m", "memory": "100Mi"},
            },
        ),
        GUARANTEED,
    ),
    (
        "burstable-with-pod-level",
        make_pod(
            [ctr("a")],
            resources={
                "requests": {"cpu": "10m", "memory": "10Mi"},
                "limits": {"cpu": "20m", "memory": "50Mi"},
            },
        ),
        BURSTABLE,
    ),
    (
        "burstable-with-pod-and-container-level",
        make_pod(
            [ctr("a", {"cpu": "5m", "memory": "10Mi"}, {"cpu": "5m", "memory": "10Mi"})],
            resources={
                "requests": {"cpu": "10m", "memory": "10Mi"},
                "limits": {"cpu": "20m", "memory": "50Mi"},
            },
        ),
        BURSTABLE,
    ),
    (
        "burstable-with-pod-level-requests-only",
        make_pod(
            [ctr("a", {"cpu": "5m", "memory": "10Mi"})],
            resources={"requests": {"cpu": "10m", "memory": "10Mi"}},
        ),
        BURSTABLE,
    ),
    ("empty-pod-level-falls-through", make_pod([ctr("a", G, G)], resources={}), GUARANTEED),
]


@pytest.mark.parametrize(
    ("pod", "expected"), [r[1:] for r in QOS_ROWS], ids=[r[0] for r in QOS_ROWS]
)
def test_qos_class(pod: Pod, expected: str) -> None:
    assert qos_class(pod) == expected
    assert podfit.qos_class(pod) == expected


def test_limits_only_is_burstable_without_defaulting() -> None:
    # Upstream's unit tests call QoS on undefaulted pods: limits without requests are Burstable.
    defaulted = make_pod([ctr("c", limits=G)])
    limits = defaulted.containers[0].resources.limits
    undefaulted = Pod(
        name="p", containers=(Container("c", resources=ResourceRequirements(limits=limits)),)
    )
    assert qos_class(undefaulted) == BURSTABLE
    assert qos_class(defaulted) == GUARANTEED


def test_requirements_qos_needs_both_cpu_and_memory() -> None:
    pod = make_pod([ctr("a", {"cpu": "1"}, {"cpu": "1"})])
    assert requirements_qos(pod.containers[0].resources) == BURSTABLE
    assert requirements_qos(ResourceRequirements()) == BEST_EFFORT


def test_pod_level_detection() -> None:
    assert not uses_pod_level_resources(make_pod([ctr("a")]))
    assert not uses_pod_level_resources(make_pod([ctr("a")], resources={}))
    assert uses_pod_level_resources(
        make_pod([ctr("a")], resources={"limits": {"hugepages-2Mi": "2Mi", "memory": "1Gi"}})
    )


def test_no_containers_is_best_effort() -> None:
    assert qos_class(Pod(name="empty")) == BEST_EFFORT


# --- QoS properties ------------------------------------------------------------------------------

cpu_milli = st.integers(min_value=1, max_value=8000)
memory_mi = st.integers(min_value=1, max_value=16384)
names = st.sampled_from(["a", "b", "c", "d"])


@st.composite
def guaranteed_containers(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(min_value=1, max_value=4))
    out = []
    for i in range(count):
        values = {"cpu": f"{draw(cpu_milli)}m", "memory": f"{draw(memory_mi)}Mi"}
        extra = draw(st.sampled_from([{}, {"ephemeral-storage": "1Gi"}, {"example.com/x": "1"}]))
        limits_only = draw(st.booleans())
        requests = None if limits_only else {**values, **extra}
        out.append(ctr(f"c{i}", requests, {**values, **extra}))
    return out


@given(guaranteed_containers(), st.integers(min_value=0, max_value=2))
@settings(max_examples=60, deadline=None)
def test_equal_requests_and_limits_everywhere_is_guaranteed(
    containers: list[dict[str, Any]], inits: int
) -> None:
    pod = make_pod(
        containers[inits:] or containers[:1],
        init=[{**c, "name": f"init-{c['name']}"} for c in containers[:inits]],
    )
    assert qos_class(pod) == GUARANTEED


def _strip(c: Container) -> Container:
    return replace(c, resources=ResourceRequirements())


@st.composite
def any_containers(draw: st.DrawFn) -> list[dict[str, Any]]:
    out = []
    for i in range(draw(st.integers(min_value=1, max_value=4))):
        requests = draw(
            st.none()
            | st.fixed_dictionaries(
                {},
                optional={
                    "cpu": cpu_milli.map(lambda m: f"{m}m"),
                    "memory": memory_mi.map(lambda m: f"{m}Mi"),
                },
            )
        )
        limits = draw(
            st.none()
            | st.fixed_dictionaries(
                {},
                optional={
                    "cpu": cpu_milli.map(lambda m: f"{m}m"),
                    "memory": memory_mi.map(lambda m: f"{m}Mi"),
                },
            )
        )
        out.append(ctr(f"c{i}", _within(requests, limits), limits))
    return out


def _within(requests: dict[str, str] | None, limits: dict[str, str] | None) -> Res | None:
    """Requests cut to their limits: the API server refuses a request above its limit."""
    if requests is None or limits is None:
        return requests
    out = dict(requests)
    for name, limit in limits.items():
        if name in out and parse_quantity(out[name]) > parse_quantity(limit):
            out[name] = limit
    return out


@given(any_containers(), st.booleans())
@settings(max_examples=60, deadline=None)
def test_removing_all_resources_makes_a_pod_best_effort(
    containers: list[dict[str, Any]], as_init: bool
) -> None:
    pod = make_pod(containers[:1], init=containers[1:] if as_init else ())
    stripped = replace(
        pod,
        containers=tuple(_strip(c) for c in pod.containers),
        init_containers=tuple(_strip(c) for c in pod.init_containers),
    )
    assert qos_class(stripped) == BEST_EFFORT


def _sum_form_qos(pod: Pod) -> str:
    """The older sum-then-compare formulation, independent of the per-container one."""
    requests: dict[str, Fraction] = {}
    limits: dict[str, Fraction] = {}
    guaranteed = True
    for c in pod.all_containers():
        found = set()
        for name in ("cpu", "memory"):
            req = c.resources.requests.get(name)
            if req is not None and req.value > 0:
                requests[name] = requests.get(name, Fraction(0)) + req.value
            lim = c.resources.limits.get(name)
            if lim is not None and lim.value > 0:
                limits[name] = limits.get(name, Fraction(0)) + lim.value
                found.add(name)
        if found != {"cpu", "memory"}:
            guaranteed = False
    if not requests and not limits:
        return BEST_EFFORT
    if guaranteed and requests == limits:
        return GUARANTEED
    return BURSTABLE


@st.composite
def valid_containers(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Containers whose requests never exceed their limits (what validation allows)."""
    out = []
    for i in range(draw(st.integers(min_value=1, max_value=4))):
        requests: dict[str, str] = {}
        limits: dict[str, str] = {}
        for name, unit in (("cpu", "m"), ("memory", "Mi")):
            shape = draw(
                st.sampled_from(["none", "request", "limit", "both-equal", "both-lower", "zero"])
            )
            value = draw(st.integers(min_value=1, max_value=4000))
            if shape == "request":
                requests[name] = f"{value}{unit}"
            elif shape == "limit":
                limits[name] = f"{value}{unit}"
            elif shape == "both-equal":
                requests[name] = limits[name] = f"{value}{unit}"
            elif shape == "both-lower":
                requests[name] = f"{value}{unit}"
                limits[name] = f"{value + draw(st.integers(1, 100))}{unit}"
            elif shape == "zero":
                requests[name] = "0"
        out.append(ctr(f"c{i}", requests or None, limits or None))
    return out


@given(valid_containers(), st.integers(min_value=0, max_value=3))
@settings(max_examples=150, deadline=None)
def test_per_container_form_agrees_with_sum_form_on_valid_pods(
    containers: list[dict[str, Any]], inits: int
) -> None:
    pod = make_pod(
        containers[: max(1, len(containers) - inits)],
        init=containers[max(1, len(containers) - inits) :],
    )
    assert qos_class(pod) == _sum_form_qos(pod)


# --- OOM score: upstream's policy_test rows ------------------------------------------------------

GB = 1_000_000_000


def test_go_div_truncates_toward_zero() -> None:
    assert go_div(7, 2) == 3
    assert go_div(-7, 2) == -3
    assert go_div(7, -2) == -3
    assert go_div(-7, -2) == 3


OOM_ROWS: list[tuple[str, Pod, int, dict[str, int]]] = [
    ("cpu-limit-only", make_pod([ctr("c", limits={"cpu": "10"})]), 4 * GB, {"c": 999}),
    (
        # upstream's row is undefaulted; here the zero memory request must be explicit
        "zero-request-memory-limit",
        make_pod([ctr("c", {"cpu": "0", "memory": "0"}, {"memory": "10G"})]),
        8 * GB,
        {"c": 999},
    ),
    (
        "defaulted-request-from-limit",
        make_pod([ctr("c", {"cpu": "0"}, {"memory": "10G"})]),
        8 * GB,
        {"c": 3},
    ),
    ("zero-memory-limit", make_pod([ctr("c", limits={"memory": "0"})]), 7_230_457_451, {"c": 1000}),
    ("best-effort", make_pod([ctr("c")]), 4 * GB, {"c": 1000}),
    (
        "guaranteed",
        make_pod([ctr("c", {"cpu": "5m", "memory": "10G"}, {"cpu": "5m", "memory": "10G"})]),
        123_456_789,
        {"c": -997},
    ),
    (
        "half",
        make_pod([ctr("c", {"cpu": "5m", "memory": "4000000000"}, {"memory": "10G"})]),
        8 * GB,
        {"c": 500},
    ),
    ("nearly-all", make_pod([ctr("c", {"memory": str(8 * GB - 1)})]), 8 * GB, {"c": 3}),
    (
        "single",
        make_pod([ctr("c", {"memory": str(GB)}, {"memory": str(GB + 1000)})]),
        8 * GB,
        {"c": 875},
    ),
    (
        "init-and-main",
        make_pod([ctr("main", {"memory": str(GB)})], init=[ctr("init", {"memory": str(GB)})]),
        8 * GB,
        {"init": 875, "main": 875},
    ),
    (
        "small-sidecar-capped",
        make_pod(
            [ctr("main", {"memory": str(GB)})],
            init=[
                ctr("init", {"memory": str(GB)}),
                ctr("sidecar", {"memory": "400000000"}, restartPolicy="Always"),
            ],
        ),
        8 * GB,
        {"init": 875, "sidecar": 875, "main": 875},
    ),
    (
        "big-sidecar-keeps-own",
        make_pod(
            [ctr("main", {"memory": str(GB)})],
            init=[ctr("sidecar", {"memory": str(4 * GB)}, restartPolicy="Always")],
        ),
        8 * GB,
        {"sidecar": 500, "main": 875},
    ),
    (
        "pod-level-two-empty",
        make_pod(
            [ctr("a"), ctr("b")],
            resources={
                "requests": {"memory": str(2 * GB)},
                "limits": {"memory": str(2 * GB + 1000)},
            },
        ),
        4 * GB,
        {"a": 750, "b": 750},
    ),
    (
        "pod-level-one-claims",
        make_pod(
            [ctr("a", {"memory": str(GB)}), ctr("b")],
            resources={
                "requests": {"memory": str(2 * GB)},
                "limits": {"memory": str(2 * GB + 1000)},
            },
        ),
        4 * GB,
        {"a": 625, "b": 875},
    ),
    (
        "pod-level-sidecar",
        make_pod(
            [ctr("a", {"memory": str(GB)}), ctr("b", {"memory": str(GB // 2)})],
            init=[ctr("s", {"memory": str(GB // 5)}, restartPolicy="Always")],
            resources={
                "requests": {"memory": str(2 * GB)},
                "limits": {"memory": str(2 * GB + 1000)},
            },
        ),
        4 * GB,
        {"s": 850, "a": 725, "b": 850},
    ),
    (
        "pod-level-guaranteed",
        make_pod(
            [ctr("a", {"memory": str(GB)}), ctr("b")],
            resources={
                "requests": {"cpu": "1", "memory": str(2 * GB)},
                "limits": {"cpu": "1", "memory": str(2 * GB)},
            },
        ),
        4 * GB,
        {"a": -997, "b": -997},
    ),
]


@pytest.mark.parametrize(
    ("pod", "capacity", "expected"), [r[1:] for r in OOM_ROWS], ids=[r[0] for r in OOM_ROWS]
)
def test_pod_oom_scores(pod: Pod, capacity: int, expected: dict[str, int]) -> None:
    assert pod_oom_scores(pod, capacity) == expected


def test_critical_pods() -> None:
    node_critical = resolve_priority(
        make_pod([ctr("c")], priorityClassName="system-node-critical"), {}
    )
    cluster_critical = resolve_priority(
        make_pod([ctr("c")], priorityClassName="system-cluster-critical"), {}
    )
    assert is_node_critical_pod(node_critical)
    assert is_critical_pod(cluster_critical) and not is_node_critical_pod(cluster_critical)
    assert pod_oom_scores(node_critical, 4 * GB) == {"c": GUARANTEED_OOM_SCORE_ADJ}
    assert pod_oom_scores(cluster_critical, 4 * GB) == {"c": BEST_EFFORT_OOM_SCORE_ADJ}
    # A static pod (config source other than the API server) with the class name is critical
    # even without a resolved priority; a pod whose source is the API server is not.
    static = make_pod(
        [ctr("c")],
        annotations={"kubernetes.io/config.source": "file"},
        priorityClassName="system-node-critical",
    )
    from_api = make_pod(
        [ctr("c")],
        annotations={"kubernetes.io/config.source": "api"},
        priorityClassName="system-node-critical",
    )
    mirror = make_pod(
        [ctr("c")],
        annotations={"kubernetes.io/config.mirror": "x"},
        priorityClassName="system-node-critical",
    )
    assert oom_score_adj(static, static.containers[0], 4 * GB) == -997
    assert oom_score_adj(from_api, from_api.containers[0], 4 * GB) == 1000
    assert oom_score_adj(mirror, mirror.containers[0], 4 * GB) == -997


def test_unclaimed_share_counts_init_containers_in_divisor() -> None:
    pod = make_pod(
        [ctr("a", {"memory": "100"})],
        init=[ctr("i", {"memory": "40"})],
        resources={"requests": {"memory": "300"}, "limits": {"memory": "400"}},
    )
    # aggregate = max(100, 40) = 100; (300 - 100) // 2 containers
    assert unclaimed_memory_share(pod) == 100


def test_memory_capacity_must_be_positive() -> None:
    pod = make_pod([ctr("c", {"memory": "1Gi"})])
    with pytest.raises(ValueError, match="positive"):
        oom_score_adj(pod, pod.containers[0], 0)


# --- OOM properties ------------------------------------------------------------------------------


@given(
    st.lists(st.integers(min_value=0, max_value=64 * GB), min_size=1, max_size=4),
    st.integers(min_value=1, max_value=128 * GB),
)
@settings(max_examples=100, deadline=None)
def test_burstable_scores_stay_between_the_other_classes(
    requests: list[int], capacity: int
) -> None:
    # Requests without limits keep every container Burstable unless all are zero.
    pod = make_pod([ctr(f"c{i}", {"memory": str(r), "cpu": "1m"}) for i, r in enumerate(requests)])
    scores = pod_oom_scores(pod, capacity)
    assert all(3 <= s <= 999 for s in scores.values())
    # A larger request never makes a container easier to kill.
    ordered = sorted(zip(requests, scores.values(), strict=True))
    assert all(a[1] >= b[1] for a, b in itertools.pairwise(ordered))


@given(
    st.lists(st.integers(min_value=1, max_value=8 * GB), min_size=1, max_size=3),
    st.integers(min_value=1, max_value=8 * GB),
    st.integers(min_value=GB, max_value=16 * GB),
)
@settings(max_examples=100, deadline=None)
def test_a_sidecar_is_never_more_killable_than_every_app_container(
    app: list[int], sidecar: int, capacity: int
) -> None:
    pod = make_pod(
        [ctr(f"c{i}", {"memory": str(r)}) for i, r in enumerate(app)],
        init=[ctr("side", {"memory": str(sidecar)}, restartPolicy="Always")],
    )
    scores = pod_oom_scores(pod, capacity)
    assert scores["side"] <= max(scores[f"c{i}"] for i in range(len(app)))
