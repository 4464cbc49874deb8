"""Pod requests, NodeResourcesFit and NodeResourcesBalancedAllocation against upstream's rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podfit.loading import pod_from_manifest
from podfit.manifest import parse_object
from podfit.model import Node, Pod
from podfit.reference.balancedallocation import (
    BalancedAllocation,
    balance_change_score,
    balance_score,
    parse_balanced_args,
)
from podfit.reference.framework import CycleState, Profile, run_cycle
from podfit.reference.nodeinfo import NodeInfo, PodInfo, Snapshot
from podfit.reference.noderesources import (
    ERR_REASON_TOO_MANY_PODS,
    NodeResourcesFit,
    ShapePoint,
    broken_linear,
    fit_status,
    fits_request,
    least_requested_score,
    most_requested_score,
    parse_fit_args,
    requested_to_capacity_ratio_scorer,
)
from podfit.reference.profile import ConfigError, PluginSet, build_profile
from podfit.reference.resources import (
    DEFAULT_MEMORY_REQUEST,
    DEFAULT_MILLI_CPU_REQUEST,
    is_extended_resource,
    is_scalar_resource,
    pod_limits,
    pod_nonzero_requests,
    pod_requests,
    pod_scoring_requests,
    to_scheduler_units,
)
from podfit.reference.status import Code
from podfit.validation import overcommit_allowed

MI = 1024 * 1024
GI = 1024 * MI

# --- builders ---------------------------------------------------------------------------------


def container(name: str, requests: Mapping[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": "busybox", **extra}
    if requests is not None:
        c.setdefault("resources", {})["requests"] = dict(requests)
        # Extended resources and hugepages cannot be overcommitted: the API server wants
        # their limit, equal to the request.
        fixed = {k: v for k, v in requests.items() if not overcommit_allowed(k)}
        if fixed:
            c["resources"]["limits"] = {**fixed, **c["resources"].get("limits", {})}
    return c


def make_pod(
    containers: Sequence[dict[str, Any]],
    init: Sequence[dict[str, Any]] = (),
    name: str = "p",
    **spec: Any,
) -> Pod:
    body: dict[str, Any] = {"containers": list(containers), **spec}
    if init:
        body["initContainers"] = list(init)
    return pod_from_manifest(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": body}
    )


def make_node(name: str = "n1", **allocatable: str) -> Node:
    obj = parse_object(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name},
            "status": {"allocatable": {"pods": "110", **allocatable}},
        }
    )
    assert isinstance(obj, Node)
    return obj


def cpu_pod(*millis: int, init: Sequence[int] = (), sidecars: Sequence[int] = ()) -> Pod:
    """App containers, then sidecars, then plain init containers, each requesting only cpu."""
    return make_pod(
        [container(f"a{i}", {"cpu": f"{m}m"}) for i, m in enumerate(millis)],
        [
            container(f"s{i}", {"cpu": f"{m}m"}, restartPolicy="Always")
            for i, m in enumerate(sidecars)
        ]
        + [container(f"i{i}", {"cpu": f"{m}m"}) for i, m in enumerate(init)],
    )


def units(pod: Pod) -> dict[str, int]:
    return to_scheduler_units(pod_requests(pod))


# --- pod_requests -----------------------------------------------------------------------------

REQUEST_CASES: list[tuple[str, Pod, dict[str, int]]] = [
    ("app containers add up", cpu_pod(100, 200, 300), {"cpu": 600}),
    ("init container larger than app sum wins", cpu_pod(100, 200, init=[500]), {"cpu": 500}),
    ("init containers are maxed, not summed", cpu_pod(300, init=[200, 250]), {"cpu": 300}),
    ("sidecar adds to app containers", cpu_pod(300, sidecars=[200]), {"cpu": 500}),
    ("init after sidecar runs next to it", cpu_pod(100, sidecars=[200], init=[400]), {"cpu": 600}),
    (
        "init before sidecar runs alone",
        make_pod(
            [container("a", {"cpu": "100m"})],
            [
                container("i", {"cpu": "400m"}),
                container("s", {"cpu": "200m"}, restartPolicy="Always"),
            ],
        ),
        {"cpu": 400},
    ),
    (
        "memory and cpu maxed independently",
        make_pod(
            [container("a", {"cpu": "1", "memory": "1Gi"})],
            [
                container("i1", {"cpu": "3", "memory": "1Gi"}),
                container("i2", {"cpu": "1", "memory": "5Gi"}),
            ],
        ),
        {"cpu": 3000, "memory": 5 * GI},
    ),
    (
        "overhead added once",
        make_pod(
            [container("a", {"cpu": "500m"}), container("b", {"cpu": "500m"})],
            overhead={"cpu": "250m"},
        ),
        {"cpu": 1250},
    ),
    (
        "limits-only container charged its limits",
        make_pod([container("a", resources={"limits": {"cpu": "2", "memory": "1Gi"}})]),
        {"cpu": 2000, "memory": GI},
    ),
    (
        "pod-level cpu replaces the containers, memory stays",
        make_pod(
            [container("a", {"cpu": "500m", "memory": "1Gi"}), container("b", {"cpu": "500m"})],
            resources={"requests": {"cpu": "3"}},
        ),
        {"cpu": 3000, "memory": GI},
    ),
    (
        "pod-level hugepages replace the containers' hugepages",
        make_pod(
            [
                container(
                    "a",
                    resources={
                        "requests": {"memory": "1Gi"},
                        "limits": {"memory": "1Gi", "hugepages-2Mi": "2Mi"},
                    },
                )
            ],
            resources={
                "requests": {"hugepages-2Mi": "6Mi", "memory": "2Gi"},
                "limits": {"hugepages-2Mi": "6Mi"},
            },
        ),
        {"memory": 2 * GI, "hugepages-2Mi": 6 * MI},
    ),
    (
        "pod-level then overhead",
        make_pod([container("a")], resources={"requests": {"cpu": "1"}}, overhead={"cpu": "100m"}),
        {"cpu": 1100},
    ),
    (
        # API defaulting rounds each container's 500u up to 1m before the scheduler adds them.
        "sub-millicore requests rounded per container by defaulting",
        make_pod([container("a", {"cpu": "500u"}), container("b", {"cpu": "500u"})]),
        {"cpu": 2},
    ),
    ("sub-millicore rounds up", make_pod([container("a", {"cpu": "1500u"})]), {"cpu": 2}),
    ("no requests at all", make_pod([container("a")]), {}),
]


@pytest.mark.parametrize(
    ("pod", "want"), [c[1:] for c in REQUEST_CASES], ids=[c[0] for c in REQUEST_CASES]
)
def test_pod_requests(pod: Pod, want: dict[str, int]) -> None:
    assert units(pod) == want


def test_pod_limits_add_overhead_only_to_set_limits() -> None:
    pod = make_pod(
        [container("a", resources={"limits": {"cpu": "1"}})],
        overhead={"cpu": "100m", "memory": "64Mi"},
    )
    limits = pod_limits(pod)
    assert limits == {"cpu": Fraction(11, 10)}


def test_pod_limits_sum_app_and_max_init() -> None:
    pod = make_pod(
        [
            container("a", resources={"limits": {"memory": "1Gi"}}),
            container("b", resources={"limits": {"memory": "1Gi"}}),
        ],
        [container("i", resources={"limits": {"memory": "3Gi"}})],
    )
    assert pod_limits(pod) == {"memory": Fraction(3 * GI)}


NONZERO_CASES: list[tuple[str, Pod, int, int]] = [
    ("defaults for a container without requests", make_pod([container("a")]), 100, 200 * MI),
    (
        "defaults per container, added up",
        make_pod([container("a"), container("b"), container("c", {"cpu": "1"})]),
        1200,
        600 * MI,
    ),
    ("explicit zero stays zero", make_pod([container("a", {"cpu": "0", "memory": "0"})]), 0, 0),
    (
        "sidecar without requests adds the defaults",
        make_pod([container("a")], [container("s", restartPolicy="Always")]),
        200,
        400 * MI,
    ),
    (
        "pod-level cpu: no memory default when a container names memory",
        make_pod(
            [container("a", {"memory": "1Gi"}), container("b")],
            resources={"requests": {"cpu": "1"}},
        ),
        1000,
        GI,
    ),
    (
        "pod-level cpu: memory default where nothing names memory",
        make_pod([container("a"), container("b")], resources={"requests": {"cpu": "1"}}),
        1000,
        400 * MI,
    ),
]


@pytest.mark.parametrize(
    ("pod", "cpu", "memory"), [c[1:] for c in NONZERO_CASES], ids=[c[0] for c in NONZERO_CASES]
)
def test_pod_nonzero_requests(pod: Pod, cpu: int, memory: int) -> None:
    got = to_scheduler_units(pod_nonzero_requests(pod))
    assert (got.get("cpu", 0), got.get("memory", 0)) == (cpu, memory)


def test_incoming_pod_scoring_ignores_pod_level_resources() -> None:
    # NodeResourcesFit's scorer is built without the pod-level-resources option (v1.34 to
    # v1.36 alike): it reads the containers only, each with the non-zero defaults. NodeInfo
    # gives "b" no memory default (a container names memory); the scorer does.
    pod = make_pod(
        [container("a", {"memory": "1Gi"}), container("b")], resources={"requests": {"cpu": "1"}}
    )
    scoring = to_scheduler_units(pod_scoring_requests(pod))
    assert scoring["memory"] == GI + DEFAULT_MEMORY_REQUEST
    assert scoring["cpu"] == 2 * DEFAULT_MILLI_CPU_REQUEST
    plain = to_scheduler_units(pod_scoring_requests(make_pod([container("a")])))
    assert plain == {"cpu": DEFAULT_MILLI_CPU_REQUEST, "memory": DEFAULT_MEMORY_REQUEST}


NAME_CASES = [
    ("nvidia.com/gpu", True, True),
    ("example.com/foo", True, True),
    ("cpu", False, False),
    ("hugepages-2Mi", False, True),
    ("kubernetes.io/something", False, True),
    ("requests.example.com/foo", False, False),
    ("attachable-volumes-aws-ebs", False, True),
]


@pytest.mark.parametrize(("name", "extended", "scalar"), NAME_CASES, ids=[c[0] for c in NAME_CASES])
def test_resource_name_classes(name: str, extended: bool, scalar: bool) -> None:
    assert is_extended_resource(name) is extended
    assert is_scalar_resource(name) is scalar


# --- filter -----------------------------------------------------------------------------------


def node_info(node: Node, *pods: Pod) -> NodeInfo:
    return NodeInfo.of(node, [PodInfo.of(p) for p in pods])


def reasons(pod: Pod, info: NodeInfo, args: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    fit = parse_fit_args(args)
    shortfalls = fits_request(
        PodInfo.of(pod).requests, info, fit.ignored_resources, fit.ignored_resource_groups
    )
    return tuple(s.reason for s in shortfalls)


FILTER_CASES: list[
    tuple[str, Pod, NodeInfo, dict[str, Any] | None, tuple[str, ...], Code | None]
] = [
    (
        "nothing requested fits a full node",
        make_pod([container("a")]),
        node_info(
            make_node(cpu="1", memory="1Gi"),
            make_pod([container("x", {"cpu": "1", "memory": "1Gi"})]),
        ),
        None,
        (),
        None,
    ),
    (
        "a zero request is not checked on an over-committed node",
        make_pod([container("a", {"cpu": "0", "memory": "1Gi"})]),
        node_info(make_node(cpu="1", memory="4Gi"), cpu_pod(2000)),
        None,
        (),
        None,
    ),
    (
        "all shortfalls in upstream order",
        make_pod(
            [
                container(
                    "a",
                    {
                        "ephemeral-storage": "2",
                        "example.com/b": "1",
                        "memory": "2",
                        "cpu": "2",
                        "example.com/a": "1",
                    },
                )
            ]
        ),
        node_info(make_node(cpu="1", memory="1", **{"ephemeral-storage": "1", "pods": "0"})),
        None,
        (
            ERR_REASON_TOO_MANY_PODS,
            "Insufficient cpu",
            "Insufficient memory",
            "Insufficient ephemeral-storage",
            "Insufficient example.com/a",
            "Insufficient example.com/b",
        ),
        Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
    ),
    (
        "too many pods alone is only Unschedulable",
        make_pod([container("a")]),
        node_info(make_node(pods="0")),
        None,
        (ERR_REASON_TOO_MANY_PODS,),
        Code.UNSCHEDULABLE,
    ),
    (
        "short of free room but not of allocatable",
        cpu_pod(600),
        node_info(make_node(cpu="1"), cpu_pod(500)),
        None,
        ("Insufficient cpu",),
        Code.UNSCHEDULABLE,
    ),
    (
        "ignoredResources skips an extended resource",
        make_pod([container("a", {"nvidia.com/gpu": "1"})]),
        node_info(make_node()),
        {"ignoredResources": ["nvidia.com/gpu"]},
        (),
        None,
    ),
    (
        "ignoredResourceGroups skips a domain only",
        make_pod([container("a", {"example.com/x": "1", "other.io/y": "1"})]),
        node_info(make_node()),
        {"ignoredResourceGroups": ["example.com"]},
        ("Insufficient other.io/y",),
        Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
    ),
    (
        "ignoredResources does not skip hugepages",
        make_pod([container("a", {"hugepages-2Mi": "4Mi", "memory": "1Gi"})]),
        node_info(make_node(memory="2Gi", **{"hugepages-2Mi": "2Mi"})),
        {"ignoredResources": ["hugepages-2Mi"]},
        ("Insufficient hugepages-2Mi",),
        Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
    ),
]


@pytest.mark.parametrize(
    ("pod", "info", "args", "want", "code"),
    [c[1:] for c in FILTER_CASES],
    ids=[c[0] for c in FILTER_CASES],
)
def test_fits_request(
    pod: Pod, info: NodeInfo, args: dict[str, Any] | None, want: tuple[str, ...], code: Code | None
) -> None:
    assert reasons(pod, info, args) == want
    fit = parse_fit_args(args)
    status = fit_status(
        fits_request(
            PodInfo.of(pod).requests, info, fit.ignored_resources, fit.ignored_resource_groups
        )
    )
    assert (status.code if status else None) == code


def test_snapshot_leaves_out_terminal_pods() -> None:
    from podfit.loading import cluster_from_manifests

    cluster = cluster_from_manifests(
        [
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": "n1"},
                "status": {"allocatable": {"cpu": "1", "pods": "1"}},
            },
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "done"},
                "spec": {"nodeName": "n1", "containers": [container("c", {"cpu": "1"})]},
                "status": {"phase": "Succeeded"},
            },
        ]
    )
    info = Snapshot.of(cluster).nodes["n1"]
    assert info.pods == [] and info.requested.get("cpu", 0) == 0
    assert reasons(cpu_pod(1000), info) == ()


# --- args -------------------------------------------------------------------------------------

BAD_FIT_ARGS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown type", {"scoringStrategy": {"type": "Balanced"}}, "Unsupported value"),
    (
        "missing type",
        {"scoringStrategy": {"resources": [{"name": "cpu", "weight": 1}]}},
        "scoringStrategy.type",
    ),
    (
        "weight too large",
        {
            "scoringStrategy": {
                "type": "MostAllocated",
                "resources": [{"name": "cpu", "weight": 101}],
            }
        },
        "(0, 100]",
    ),
    (
        "negative weight",
        {
            "scoringStrategy": {
                "type": "MostAllocated",
                "resources": [{"name": "cpu", "weight": -1}],
            }
        },
        "(0, 100]",
    ),
    (
        "empty shape",
        {
            "scoringStrategy": {
                "type": "RequestedToCapacityRatio",
                "requestedToCapacityRatio": {"shape": []},
            }
        },
        "at least one point",
    ),
    (
        "unsorted shape",
        {
            "scoringStrategy": {
                "type": "RequestedToCapacityRatio",
                "requestedToCapacityRatio": {
                    "shape": [{"utilization": 60, "score": 1}, {"utilization": 40, "score": 2}]
                },
            }
        },
        "increasing order",
    ),
    (
        "utilization above 100",
        {
            "scoringStrategy": {
                "type": "RequestedToCapacityRatio",
                "requestedToCapacityRatio": {"shape": [{"utilization": 101, "score": 1}]},
            }
        },
        "[0, 100]",
    ),
    (
        "score above 10",
        {
            "scoringStrategy": {
                "type": "RequestedToCapacityRatio",
                "requestedToCapacityRatio": {"shape": [{"utilization": 10, "score": 11}]},
            }
        },
        "[0, 10]",
    ),
    (
        "ratio without shape",
        {"scoringStrategy": {"type": "RequestedToCapacityRatio"}},
        "requestedToCapacityRatio",
    ),
    (
        "unknown field",
        {"scoringStrategy": {"type": "LeastAllocated", "weights": {}}},
        "unknown field",
    ),
    ("group with slash", {"ignoredResourceGroups": ["example.com/x"]}, "can't contain '/'"),
    ("invalid ignored name", {"ignoredResources": ["-bad-"]}, "ignoredResources[0]"),
]


@pytest.mark.parametrize(
    ("args", "message"), [c[1:] for c in BAD_FIT_ARGS], ids=[c[0] for c in BAD_FIT_ARGS]
)
def test_fit_args_rejected(args: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        NodeResourcesFit(args)
    assert message in str(caught.value)
    assert "NodeResourcesFit" in str(caught.value)


def test_fit_args_defaults() -> None:
    assert parse_fit_args(None).strategy.type == "LeastAllocated"
    typed = {"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "NodeResourcesFitArgs"}
    assert parse_fit_args(typed).strategy.type == "LeastAllocated"
    strategy = parse_fit_args({"scoringStrategy": {"type": "MostAllocated"}}).strategy
    assert [(r.name, r.weight) for r in strategy.resources] == [("cpu", 1), ("memory", 1)]
    zero = parse_fit_args(
        {"scoringStrategy": {"type": "MostAllocated", "resources": [{"name": "cpu", "weight": 0}]}}
    )
    assert [(r.name, r.weight) for r in zero.strategy.resources] == [("cpu", 1)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"resources": [{"name": "cpu", "weight": 2}]}, "must be 1"),
        ({"resources": [{"name": "cpu"}, {"name": "cpu"}]}, "Duplicate"),
        ({"shape": []}, "unknown field"),
    ],
    ids=["weight", "duplicate", "unknown"],
)
def test_balanced_args_rejected(args: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        BalancedAllocation(args)
    assert message in str(caught.value)


def test_balanced_args_default_to_cpu_and_memory() -> None:
    assert [r.name for r in parse_balanced_args(None)] == ["cpu", "memory"]
    assert [
        r.weight for r in parse_balanced_args({"resources": [{"name": "cpu", "weight": 0}]})
    ] == [1]


# --- score arithmetic -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "p", "want"),
    [
        ([(0, 100), (30, 0)], 10, 67),  # -33.3 truncates to -33, floor would give 66
        ([(0, 100), (30, 0)], 5, 84),
        ([(0, 0), (100, 100)], 37, 37),
        ([(20, 50), (80, 100)], 10, 50),  # flat before the first point
        ([(20, 50), (80, 100)], 90, 100),  # flat after the last point
        ([(20, 50), (80, 100)], 30, 58),  # 50 + 50*10/60 = 58.3
    ],
    ids=["falling-truncates", "falling-5", "identity", "before-first", "after-last", "rising"],
)
def test_broken_linear(shape: list[tuple[int, int]], p: int, want: int) -> None:
    assert broken_linear([ShapePoint(u, s) for u, s in shape])(p) == want


def test_requested_to_capacity_ratio_rounds_half_up_and_skips_zero_scores() -> None:
    scorer = requested_to_capacity_ratio_scorer([ShapePoint(0, 0), ShapePoint(100, 10)], [1, 1])
    assert scorer([50, 75], [100, 100]) == 63  # 62.5
    assert scorer([50, 0], [100, 100]) == 50  # the 0 drops out of the mean
    assert scorer([0, 0], [100, 100]) == 0
    assert scorer([5, 7], [0, 0]) == 0  # no resource on the node


def test_least_and_most_requested_scores() -> None:
    assert least_requested_score(3, 4) == 25
    assert least_requested_score(5, 4) == 0
    assert most_requested_score(5, 4) == 100
    assert most_requested_score(1, 3) == 33
    assert least_requested_score(1, 0) == most_requested_score(1, 0) == 0


@pytest.mark.parametrize(
    ("requested", "allocated", "allocatable", "want"),
    [
        ([1000, 4 * GI], [0, 0], [4000, 8 * GI], 68),
        ([3000, 5 * GI], [2000, GI], [4000, 8 * GI], 81),
        ([2000, 0], [0, 0], [4000, 8 * GI], 62),
        ([5, 5], [0, 0], [10, 10], 75),
        ([10, 5], [10, 0], [10, 10], 87),  # evens out a lopsided node: 50 + (50 + 75 - 50) // 2
        ([10, 10], [10, 0], [10, 10], 100),
    ],
    ids=["unbalancing-empty", "improving", "one-sided", "unchanged", "evening-out", "fully-even"],
)
def test_balance_change_score(
    requested: list[int], allocated: list[int], allocatable: list[int], want: int
) -> None:
    assert balance_change_score(requested, allocated, allocatable) == want


def test_balance_score_three_resources_and_missing_ones() -> None:
    assert balance_score([1, 1, 2], [4, 4, 4]) == 88
    assert balance_score([1, 1, 99], [4, 4, 0]) == 100  # the node lacks the third
    assert balance_score([8, 0], [4, 4]) == 50  # 2.0 capped at 1


# --- through the framework --------------------------------------------------------------------


def profile(args: Mapping[str, Mapping[str, Any]] | None = None) -> Profile:
    plugins = PluginSet(
        filters=("NodeResourcesFit",),
        scores=(("NodeResourcesFit", 1), ("NodeResourcesBalancedAllocation", 1)),
    )
    return build_profile(plugins=plugins, args=args)


def snapshot(*nodes: NodeInfo) -> Snapshot:
    from podfit.cluster import Cluster

    return Snapshot(cluster=Cluster(), nodes={n.name: n for n in nodes})


def test_cycle_filters_and_scores() -> None:
    busy = node_info(
        make_node("busy", cpu="4", memory="8Gi"),
        make_pod([container("x", {"cpu": "1", "memory": "4Gi"})], name="x"),
    )
    idle = node_info(make_node("idle", cpu="4", memory="8Gi"))
    small = node_info(make_node("small", cpu="500m", memory="8Gi"))
    pod = make_pod([container("a", {"cpu": "1", "memory": "2Gi"})])
    result = run_cycle(profile(), snapshot(busy, idle, small), pod)
    assert result.feasible == ["busy", "idle"]
    assert result.statuses["small"].code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    assert result.statuses["small"].reasons == ("Insufficient cpu",)
    assert result.scores["NodeResourcesFit"] == {"busy": 37, "idle": 75}
    # busy: with 0.5/0.75 -> 87, without 0.25/0.5 -> 87 -> 75; idle: with .25/.25 -> 100 -> 75
    assert result.scores["NodeResourcesBalancedAllocation"] == {"busy": 75, "idle": 75}


def test_balanced_allocation_skips_best_effort_pods() -> None:
    plugin = BalancedAllocation()
    info = PodInfo.of(make_pod([container("a")]))
    status = plugin.pre_score(CycleState(), info, snapshot(), [])
    assert status is not None and status.code is Code.SKIP
    requesting = PodInfo.of(make_pod([container("a", {"memory": "1"})]))
    assert plugin.pre_score(CycleState(), requesting, snapshot(), []) is None


# --- properties -------------------------------------------------------------------------------

millis = st.integers(min_value=0, max_value=4000)
pod_cpu = st.lists(millis, min_size=1, max_size=3)


@st.composite
def cpu_pods(draw: st.DrawFn, name: str = "p") -> Pod:
    return make_pod(
        [
            container(f"a{i}", {"cpu": f"{m}m", "memory": f"{m}Mi"})
            for i, m in enumerate(draw(pod_cpu))
        ],
        [
            container(f"s{i}", {"cpu": f"{m}m"}, restartPolicy="Always")
            for i, m in enumerate(draw(st.lists(millis, max_size=2)))
        ]
        + [
            container(f"i{i}", {"cpu": f"{m}m", "memory": f"{m}Mi"})
            for i, m in enumerate(draw(st.lists(millis, max_size=3)))
        ],
        name=name,
    )


@st.composite
def nodes_with_pods(draw: st.DrawFn) -> tuple[Node, list[Pod]]:
    node = make_node(
        cpu=f"{draw(st.integers(1, 16000))}m",
        memory=f"{draw(st.integers(1, 16000))}Mi",
        pods=str(draw(st.integers(0, 6))),
    )
    count = draw(st.integers(0, 4))
    return node, [draw(cpu_pods(name=f"e{i}")) for i in range(count)]


@given(cpu_pods())
@settings(max_examples=60, deadline=None)
def test_request_covers_each_phase(pod: Pod) -> None:
    """At least every app-phase sum and every init container next to earlier sidecars, and
    exactly the larger of the two phases (catches summing init containers)."""
    req = pod_requests(pod)["cpu"] if "cpu" in pod_requests(pod) else Fraction(0)
    app = sum((c.resources.requests["cpu"].value for c in pod.containers), Fraction(0))
    sidecars = Fraction(0)
    peak = Fraction(0)
    for c in pod.init_containers:
        value = c.resources.requests["cpu"].value
        if c.is_sidecar:
            sidecars += value
            peak = max(peak, sidecars)
        else:
            peak = max(peak, sidecars + value)
        assert req >= value
    assert req >= app + sidecars
    assert req == max(app + sidecars, peak)


@given(nodes_with_pods(), cpu_pods())
@settings(max_examples=60, deadline=None)
def test_removing_a_pod_keeps_a_feasible_node_feasible(
    nodepods: tuple[Node, list[Pod]], pod: Pod
) -> None:
    node, existing = nodepods
    info = node_info(node, *existing)
    request = PodInfo.of(pod).requests
    if fits_request(request, info):
        return
    for victim in existing:
        smaller = info.clone()
        assert smaller.remove(victim)
        assert fits_request(request, smaller) == []


@given(nodes_with_pods(), cpu_pods())
@settings(max_examples=60, deadline=None)
def test_shortfalls_are_unresolvable_only_beyond_allocatable(
    nodepods: tuple[Node, list[Pod]], pod: Pod
) -> None:
    node, existing = nodepods
    shortfalls = fits_request(PodInfo.of(pod).requests, node_info(node, *existing))
    empty = fits_request(PodInfo.of(pod).requests, NodeInfo.of(node))
    for s in shortfalls:
        # "Too many pods" is never unresolvable, even on a node that allows no pods.
        assert s.unresolvable == (s.resource != "pods" and s.requested > s.capacity)
        if s.unresolvable:
            assert s.resource in {e.resource for e in empty}


@given(
    nodes_with_pods(),
    cpu_pods(),
    st.sampled_from(["LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"]),
)
@settings(max_examples=80, deadline=None)
def test_scores_stay_within_0_and_100(
    nodepods: tuple[Node, list[Pod]], pod: Pod, kind: str
) -> None:
    node, existing = nodepods
    info = node_info(node, *existing)
    args: dict[str, Any] = {
        "scoringStrategy": {
            "type": kind,
            "resources": [{"name": "cpu", "weight": 3}, {"name": "memory", "weight": 1}],
        }
    }
    if kind == "RequestedToCapacityRatio":
        args["scoringStrategy"]["requestedToCapacityRatio"] = {
            "shape": [
                {"utilization": 0, "score": 10},
                {"utilization": 40, "score": 2},
                {"utilization": 100, "score": 7},
            ]
        }
    fit = NodeResourcesFit(args)
    balanced = BalancedAllocation()
    state = CycleState()
    pinfo = PodInfo.of(pod)
    fit.pre_score(state, pinfo, snapshot(info), [info])
    assert 0 <= fit.score(state, pinfo, info) <= 100
    if balanced.pre_score(state, pinfo, snapshot(info), [info]) is None:
        assert 50 <= balanced.score(state, pinfo, info) <= 100


@given(nodes_with_pods(), cpu_pods())
@settings(max_examples=60, deadline=None)
def test_more_load_never_raises_least_or_lowers_most(
    nodepods: tuple[Node, list[Pod]], pod: Pod
) -> None:
    node, existing = nodepods
    least, most = (
        NodeResourcesFit(),
        NodeResourcesFit({"scoringStrategy": {"type": "MostAllocated"}}),
    )
    pinfo = PodInfo.of(pod)
    previous: tuple[int, int] | None = None
    for n in range(len(existing) + 1):
        info = node_info(node, *existing[:n])
        scores = (least.score(CycleState(), pinfo, info), most.score(CycleState(), pinfo, info))
        if previous is not None:
            assert scores[0] <= previous[0] and scores[1] >= previous[1]
        previous = scores


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=4), st.data())
@settings(max_examples=60, deadline=None)
def test_balance_score_is_bounded_and_symmetric_for_two(
    allocatable: list[int], data: st.DataObject
) -> None:
    requested = [data.draw(st.integers(0, 2 * a + 1)) for a in allocatable]
    score = balance_score(requested, allocatable)
    assert 50 <= score <= 100
    if len(allocatable) == 2:
        assert balance_score(requested[::-1], allocatable[::-1]) == score
    # Requests beyond allocatable are capped: doubling an over-full resource changes nothing.
    over = [2 * r if r > a > 0 else r for r, a in zip(requested, allocatable, strict=True)]
    assert balance_score(over, allocatable) == score
