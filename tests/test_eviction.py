"""reference.eviction: the taint eviction controller, condition taints, DefaultTolerationSeconds,
static and mirror pods, the kubelet's memory ranking and admission, and kubectl drain's
filters — upstream's taint_eviction_test.go and admission_test.go cases plus properties."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podfit.cluster import Cluster
from podfit.loading import cluster_from_manifests
from podfit.model import (
    TAINT_EFFECTS,
    Container,
    Node,
    NodeCondition,
    OwnerReference,
    Pod,
    ResourceRequirements,
    Taint,
    Toleration,
    frozen_map,
    frozen_resources,
)
from podfit.quantity import quantity_from_yaml
from podfit.reference.eviction import (
    DAEMONSET_FATAL,
    PDB_MULTIPLE,
    PDB_VIOLATION,
    STATIC_POD_TOLERATION,
    UNMANAGED_FATAL,
    DrainOptions,
    condition_taints,
    default_toleration_seconds,
    disruption_budget_refusals,
    drain_plan,
    kubelet_admits,
    kubelet_memory_ranking,
    kubelet_memory_victim,
    matching_tolerations,
    min_toleration_seconds,
    noexecute_evictions,
    noexecute_tainting_mode,
    noexecute_verdict,
    pod_memory_request,
    reconcile_condition_taints,
    static_pod_name,
    with_system_tolerations,
    zone_key,
    zone_states,
)

NS, PNS, NE = "NoSchedule", "PreferNoSchedule", "NoExecute"
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
MI = 1024 * 1024


def tol(
    key: str = "", value: str = "", effect: str = NE, seconds: int | None = None, op: str = "Equal"
) -> Toleration:
    return Toleration(key=key, operator=op, value=value, effect=effect, toleration_seconds=seconds)


def pod(name: str = "p", *tolerations: Toleration, node: str = "n1", **kw: object) -> Pod:
    return Pod(
        name=name,
        node_name=node,
        containers=(Container(name="c"),),
        tolerations=tuple(tolerations),
        **kw,  # type: ignore[arg-type]
    )


def ready_node(name: str, status: str | None = "True", **labels: str) -> Node:
    conditions = () if status is None else (NodeCondition("Ready", status),)
    return Node(name=name, conditions=conditions, labels=frozen_map(labels))


# --- the taint eviction controller (taint_eviction_test.go) ------------------------------------

T1 = Taint("testTaint1", NE, "test1")
T2 = Taint("testTaint2", NE, "test2")


def upstream_tol(index: int, seconds: int | None) -> Toleration:
    return tol(f"testTaint{index}", f"test{index}", NE, seconds)


@pytest.mark.parametrize(
    ("tolerations", "taints", "seconds"),
    [
        ((), [T1], 0),
        ((upstream_tol(1, 100),), [T1], 100),
        ((upstream_tol(1, None),), [T1], None),
        ((upstream_tol(2, None),), [T1], 0),  # infinite toleration of another taint
        ((upstream_tol(1, 100),), [T1, T2], 0),  # only one added taint tolerated
        ((upstream_tol(1, 1), upstream_tol(2, 100)), [T1, T2], 1),
        ((upstream_tol(1, 1),), [], None),  # taint removed
        ((), [Taint("k", NS), Taint("k", PNS)], None),
    ],
    ids=[
        "schedule on tainted node",
        "finite toleration",
        "infinite toleration",
        "infinite invalid toleration",
        "only one added taint tolerated",
        "multiple tolerations: first runs out",
        "no taint",
        "soft effects only",
    ],
)
def test_controller_verdicts(
    tolerations: tuple[Toleration, ...], taints: list[Taint], seconds: int | None
) -> None:
    assert noexecute_verdict(pod("p", *tolerations), taints).seconds == seconds


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        ([], 0),
        ([None], None),
        ([1, 2], 1),
        ([1, None], 1),
        ([None, 1], 1),
        ([5, 0, None], 0),
        ([7, -3], 0),
        ([None, None], None),
    ],
    ids=["none", "nil", "min", "min with nil", "nil first", "zero", "negative", "all nil"],
)
def test_min_toleration_seconds(seconds: list[int | None], expected: int | None) -> None:
    """TestGetMinTolerationTime, plus zero and negative values."""
    used = [tol("k", seconds=s) for s in seconds]
    assert min_toleration_seconds(used) == expected


def test_multiple_taints_switching_between_infinite_and_timed() -> None:
    """TestUpdateNodeWithMultipleTaints: the endless taint keeps it, adding the timed one
    schedules deletion after 60 s, removing it again cancels."""
    t1, t2 = Taint("taint1", NE), Taint("taint2", NE)
    p = pod("p", tol("taint1", op="Exists"), tol("taint2", op="Exists", seconds=60))
    assert noexecute_verdict(p, []).seconds is None
    assert noexecute_verdict(p, [t1]).seconds is None
    assert noexecute_verdict(p, [t1, t2]).seconds == 60
    assert noexecute_verdict(p, [t1]).seconds is None


def test_first_matching_toleration_is_the_one_used() -> None:
    taint = Taint("k", NE)
    forever, timed = tol("k", op="Exists"), tol("k", op="Exists", seconds=60)
    assert matching_tolerations([taint], [forever, timed]) == [forever]
    assert noexecute_verdict(pod("p", forever, timed), [taint]).seconds is None
    assert noexecute_verdict(pod("p", timed, forever), [taint]).seconds == 60


def test_noexecute_evictions_covers_the_nodes_pods_only() -> None:
    node = Node(name="n1")
    pods = [pod("a"), pod("b", tol("k", op="Exists", seconds=30)), pod("c", node="n2")]
    out = noexecute_evictions(node, pods, [Taint("k", NE), Taint("x", NS)])
    assert [(p.name, s) for p, s in out] == [("a", 0), ("b", 30)]


def test_verdict_reason_names_the_taint() -> None:
    verdict = noexecute_verdict(pod("p"), [Taint("dedicated", NE, "gpu")])
    assert "dedicated=gpu:NoExecute" in verdict.reason and verdict.untolerated
    timed = noexecute_verdict(pod("p", tol("k", op="Exists", seconds=9)), [Taint("k", NE)])
    assert "tolerationSeconds 9" in timed.reason


# --- properties ---------------------------------------------------------------------------------

keys = st.sampled_from(["a", "b", "c", "node.kubernetes.io/not-ready"])
values = st.sampled_from(["", "x", "y"])
taints_st = st.builds(Taint, key=keys, effect=st.sampled_from(TAINT_EFFECTS), value=values)
tolerations_st = st.builds(
    Toleration,
    key=st.one_of(st.just(""), keys),
    operator=st.sampled_from(["Equal", "Exists"]),
    value=values,
    effect=st.sampled_from(["", *TAINT_EFFECTS]),
    toleration_seconds=st.one_of(st.none(), st.integers(-10, 1000)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(taints_st, max_size=6), st.lists(tolerations_st, max_size=5))
def test_soft_taints_never_evict(taints: list[Taint], tolerations: list[Toleration]) -> None:
    soft = [t for t in taints if t.effect in (NS, PNS)]
    assert noexecute_verdict(pod("p", *tolerations), soft).seconds is None


@settings(max_examples=150, deadline=None)
@given(st.lists(taints_st, max_size=6), st.lists(tolerations_st, max_size=5))
def test_wildcard_exists_without_seconds_keeps_the_pod(
    taints: list[Taint], tolerations: list[Toleration]
) -> None:
    """An Exists toleration with no key and no effect and no seconds, placed first, is the
    one every taint pairs with, so the pod stays whatever else it tolerates."""
    wildcard = Toleration(operator="Exists")
    assert noexecute_verdict(pod("p", wildcard, *tolerations), taints).seconds is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("abcdefgh"), st.one_of(st.none(), st.integers(1, 10_000))),
        min_size=1,
        max_size=6,
        unique_by=lambda kv: kv[0],
    ),
    st.randoms(),
)
def test_eviction_time_is_the_minimum_over_matching_tolerations(
    per_taint: list[tuple[str, int | None]], rnd: object
) -> None:
    """One toleration per NoExecute taint: the pod goes after the smallest seconds among
    them, never when none sets seconds; unrelated tolerations and soft taints change
    nothing, and one untolerated NoExecute taint means at once."""
    taints = [Taint(k, NE) for k, _ in per_taint]
    tolerations = [tol(k, op="Exists", seconds=s) for k, s in per_taint]
    rnd.shuffle(tolerations)  # type: ignore[attr-defined]
    timed = [s for _, s in per_taint if s is not None]
    expected = min(timed) if timed else None
    noise = [tol("zz", seconds=1), tol("a", effect=NS)]
    the_pod = pod("p", *tolerations, *noise)
    assert noexecute_verdict(the_pod, [*taints, Taint("soft", NS)]).seconds == expected
    assert noexecute_verdict(the_pod, [*taints, Taint("untolerated", NE)]).seconds == 0


# --- condition taints and the node lifecycle controller ----------------------------------------


@pytest.mark.parametrize(
    ("conditions", "unschedulable", "expected"),
    [
        ({"Ready": "False"}, False, [f"{NOT_READY}:{NS}", f"{NOT_READY}:{NE}"]),
        ({"Ready": "Unknown"}, False, [f"{UNREACHABLE}:{NS}", f"{UNREACHABLE}:{NE}"]),
        ({"Ready": "True"}, False, []),
        ({}, False, []),
        ({"MemoryPressure": "True"}, False, [f"node.kubernetes.io/memory-pressure:{NS}"]),
        ({"MemoryPressure": "False"}, False, []),
        ({"DiskPressure": "True"}, False, [f"node.kubernetes.io/disk-pressure:{NS}"]),
        ({"PIDPressure": "True"}, False, [f"node.kubernetes.io/pid-pressure:{NS}"]),
        ({"NetworkUnavailable": "True"}, False, [f"node.kubernetes.io/network-unavailable:{NS}"]),
        ({"Ready": "True"}, True, [f"node.kubernetes.io/unschedulable:{NS}"]),
        (
            {"Ready": "False", "MemoryPressure": "True"},
            True,
            [
                f"{NOT_READY}:{NS}",
                f"node.kubernetes.io/memory-pressure:{NS}",
                f"node.kubernetes.io/unschedulable:{NS}",
                f"{NOT_READY}:{NE}",
            ],
        ),
    ],
    ids=[
        "not ready",
        "unknown",
        "ready",
        "no conditions",
        "memory",
        "memory false",
        "disk",
        "pid",
        "network",
        "cordoned",
        "several",
    ],
)
def test_condition_taints(
    conditions: dict[str, str], unschedulable: bool, expected: list[str]
) -> None:
    node = Node(
        name="n",
        conditions=tuple(NodeCondition(t, s) for t, s in conditions.items()),
        unschedulable=unschedulable,
    )
    assert [str(t) for t in condition_taints(node)] == expected


def test_reconcile_keeps_user_taints_and_swaps_noexecute() -> None:
    node = Node(
        name="n",
        taints=(Taint("team", NS, "a"), Taint(NOT_READY, NS), Taint(NOT_READY, NE)),
        conditions=(NodeCondition("Ready", "Unknown"),),
    )
    after = reconcile_condition_taints(node)
    assert [str(t) for t in after.taints] == [
        "team=a:NoSchedule",
        f"{UNREACHABLE}:{NS}",
        f"{UNREACHABLE}:{NE}",
    ]
    halted = reconcile_condition_taints(node, "halted")
    assert Taint(NOT_READY, NE) in halted.taints and Taint(UNREACHABLE, NE) not in halted.taints
    lifted = reconcile_condition_taints(node, "master-disruption")
    assert not [t for t in lifted.taints if t.effect == NE]


def test_zone_key_prefers_beta_labels() -> None:
    node = Node(
        name="n",
        labels=frozen_map(
            {
                "topology.kubernetes.io/zone": "new",
                "failure-domain.beta.kubernetes.io/zone": "old",
                "topology.kubernetes.io/region": "r",
            }
        ),
    )
    assert zone_key(node) == "r:\x00:old"
    assert zone_key(Node(name="m")) == ""


@pytest.mark.parametrize(
    ("ready", "state"),
    [
        (["True", "True", "True"], "Normal"),
        (["False", "True", "True"], "Normal"),
        (["False", "False", "True"], "Normal"),  # not more than two down
        (["False", "False", "False", "True"], "PartialDisruption"),
        (["False", "False", "False", "True", "True", "True"], "Normal"),  # 50% < 55%
        (["False", "Unknown"], "FullDisruption"),
        ([None, "False"], "Normal"),  # podfit counts a missing Ready as Ready
    ],
    ids=["healthy", "one down", "two down", "three of four", "half", "all down", "missing"],
)
def test_zone_states(ready: list[str | None], state: str) -> None:
    nodes = [ready_node(f"n{i}", s) for i, s in enumerate(ready)]
    assert zone_states(nodes)[""] == (state, len(ready))


def test_excluded_nodes_do_not_count() -> None:
    down = ready_node("down", "False")
    excluded = replace(
        ready_node("x", "True"),
        labels=frozen_map({"node.kubernetes.io/exclude-disruption": ""}),
    )
    mode, _ = noexecute_tainting_mode([down, excluded], down)
    assert mode == "master-disruption"


def test_tainting_modes() -> None:
    a = [ready_node(f"a{i}", "False", **{"topology.kubernetes.io/zone": "a"}) for i in range(3)]
    a.append(ready_node("a3", "True", **{"topology.kubernetes.io/zone": "a"}))
    b = [ready_node("b0", "True", **{"topology.kubernetes.io/zone": "b"})]
    assert noexecute_tainting_mode([*a, *b], a[0])[0] == "halted"
    assert noexecute_tainting_mode([*a, *b], a[0], large_cluster_threshold=3)[0] == "normal"
    full_a = [ready_node("z", "False", **{"topology.kubernetes.io/zone": "z"})]
    assert noexecute_tainting_mode([*full_a, *b], full_a[0])[0] == "normal"
    assert noexecute_tainting_mode(full_a, full_a[0])[0] == "master-disruption"


# --- DefaultTolerationSeconds (admission_test.go) ---------------------------------------------

NR300 = tol(NOT_READY, effect=NE, seconds=300, op="Exists")
UR300 = tol(UNREACHABLE, effect=NE, seconds=300, op="Exists")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ((), (NR300, UR300)),
        ((tol("foo", "bar", NS),), (tol("foo", "bar", NS), NR300, UR300)),
        (
            (tol(NOT_READY, op="Exists", seconds=700),),
            (tol(NOT_READY, op="Exists", seconds=700), UR300),
        ),
        (
            (tol(UNREACHABLE, op="Exists", seconds=700),),
            (tol(UNREACHABLE, op="Exists", seconds=700), NR300),
        ),
        (
            (tol(UNREACHABLE, op="Exists", effect=""),),
            (tol(UNREACHABLE, op="Exists", effect=""), NR300),
        ),
        (
            (Toleration(operator="Exists", toleration_seconds=700),),
            (Toleration(operator="Exists", toleration_seconds=700),),
        ),
        ((tol(NOT_READY, "yes"),), (tol(NOT_READY, "yes"), UR300)),
        (
            (tol(NOT_READY, op="Exists", effect=NS),),
            (tol(NOT_READY, op="Exists", effect=NS), NR300, UR300),
        ),
    ],
    ids=[
        "none",
        "unrelated",
        "own not-ready",
        "own unreachable",
        "unreachable any effect",
        "wildcard",
        "equal with value counts",
        "NoSchedule does not count",
    ],
)
def test_default_toleration_seconds(
    given: tuple[Toleration, ...], expected: tuple[Toleration, ...]
) -> None:
    assert default_toleration_seconds(pod("p", *given)).tolerations == expected


def test_default_toleration_seconds_flags_and_idempotence() -> None:
    once = default_toleration_seconds(pod("p"), 60, unreachable_seconds=90)
    assert [t.toleration_seconds for t in once.tolerations] == [60, 90]
    assert default_toleration_seconds(once) is once


# --- static, mirror and daemon pods --------------------------------------------------------


def test_static_pod_name_lowercases_the_node() -> None:
    assert static_pod_name("etcd", "Master-1") == "etcd-master-1"


def static(source: str, mirror: bool = True) -> Pod:
    notes = {"kubernetes.io/config.source": source}
    if mirror:
        notes["kubernetes.io/config.mirror"] = "hash"
    return replace(pod("etcd-n1"), annotations=frozen_map(notes))


def test_system_tolerations() -> None:
    from_file = with_system_tolerations(static("file"))
    assert STATIC_POD_TOLERATION in from_file.tolerations
    # The Exists/NoExecute toleration satisfies DefaultTolerationSeconds for both keys.
    assert len(from_file.tolerations) == 1
    from_http = with_system_tolerations(static("http"))
    assert STATIC_POD_TOLERATION not in from_http.tolerations
    assert noexecute_verdict(from_file, [Taint("any", NE)]).seconds is None
    daemon = replace(
        pod("agent"), owner_references=(OwnerReference("DaemonSet", "agent", controller=True),)
    )
    tolerated = with_system_tolerations(daemon)
    assert noexecute_verdict(tolerated, [Taint(NOT_READY, NE)]).seconds is None
    assert noexecute_verdict(tolerated, [Taint(UNREACHABLE, NE)]).seconds is None
    assert with_system_tolerations(tolerated) == tolerated
    plain = with_system_tolerations(pod("web"))
    assert noexecute_verdict(plain, [Taint(NOT_READY, NE)]).seconds == 300


# --- the kubelet: memory ranking and admission ------------------------------------------------


def mem_pod(
    name: str,
    request_mi: int | None = None,
    limit_mi: int | None = None,
    priority: int = 0,
    overhead_mi: int | None = None,
) -> Pod:
    requests = {} if request_mi is None else {"memory": quantity_from_yaml(f"{request_mi}Mi")}
    limits = {} if limit_mi is None else {"memory": quantity_from_yaml(f"{limit_mi}Mi")}
    overhead = {} if overhead_mi is None else {"memory": quantity_from_yaml(f"{overhead_mi}Mi")}
    container = Container(
        name="c",
        resources=ResourceRequirements(frozen_resources(requests), frozen_resources(limits)),
    )
    return Pod(
        name=name,
        node_name="n1",
        containers=(container,),
        priority=priority,
        overhead=frozen_resources(overhead),
    )


def test_memory_request_with_init_containers_and_overhead() -> None:
    init = Container(
        name="i",
        resources=ResourceRequirements(frozen_resources({"memory": quantity_from_yaml("300Mi")})),
    )
    p = replace(mem_pod("p", 100, overhead_mi=10), init_containers=(init,))
    assert pod_memory_request(p) == 310 * MI
    assert pod_memory_request(mem_pod("b", overhead_mi=10)) == 0


def test_ranking_ignores_qos_except_through_requests() -> None:
    guaranteed = mem_pod("guaranteed", 1024, 1024, priority=0)
    besteffort = mem_pod("besteffort", priority=1_000_000)
    burstable = mem_pod("burstable", 100, priority=10)
    usage = {
        "default/guaranteed": 1024 * MI,
        "default/besteffort": 1,
        "default/burstable": 900 * MI,
    }
    ranked = [p.name for p in kubelet_memory_ranking([guaranteed, besteffort, burstable], usage)]
    assert ranked == ["burstable", "besteffort", "guaranteed"]
    assert kubelet_memory_victim([guaranteed, besteffort, burstable], usage) == burstable


def test_victim_skips_critical_pods_and_may_be_none() -> None:
    critical = mem_pod("critical", priority=2_000_000_000)
    assert kubelet_memory_victim([critical], {"default/critical": 5 * MI}) is None
    assert kubelet_memory_victim([], {}) is None


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-100, 10**9), st.integers(1, 8 * 1024 * MI)), min_size=1, max_size=4
    ),
    st.lists(
        st.tuples(st.integers(1, 4096), st.integers(-100, 10**9), st.integers(0, 100)),
        min_size=1,
        max_size=4,
    ),
)
def test_besteffort_using_memory_always_ranks_before_guaranteed(
    besteffort: list[tuple[int, int]], guaranteed: list[tuple[int, int, int]]
) -> None:
    """Whatever the priorities: a BestEffort pod using any memory exceeds its zero request,
    a Guaranteed pod within its limit never exceeds its request."""
    pods: list[Pod] = []
    usage: dict[str, int] = {}
    for i, (prio, used) in enumerate(besteffort):
        p = mem_pod(f"be{i}", priority=prio)
        pods.append(p)
        usage[p.key] = used
    for i, (size, prio, pct) in enumerate(guaranteed):
        p = mem_pod(f"g{i}", size, size, prio)
        pods.append(p)
        usage[p.key] = size * MI * pct // 100
    ranked = [p.name for p in kubelet_memory_ranking(pods, usage)]
    last_besteffort = max(i for i, n in enumerate(ranked) if n.startswith("be"))
    first_guaranteed = min(i for i, n in enumerate(ranked) if n.startswith("g"))
    assert last_besteffort < first_guaranteed


@pytest.mark.parametrize(
    ("conditions", "the_pod", "admitted"),
    [
        ({}, mem_pod("be"), True),
        ({"MemoryPressure": "True"}, mem_pod("be"), False),
        ({"MemoryPressure": "True"}, mem_pod("bu", 100), True),
        (
            {"MemoryPressure": "True"},
            replace(
                mem_pod("be"),
                tolerations=(tol("node.kubernetes.io/memory-pressure", op="Exists", effect=NS),),
            ),
            True,
        ),
        ({"DiskPressure": "True"}, mem_pod("g", 100, 100), False),
        ({"MemoryPressure": "True", "PIDPressure": "True"}, mem_pod("bu", 100), False),
        ({"DiskPressure": "True"}, mem_pod("crit", priority=2_000_000_000), True),
        ({"MemoryPressure": "False"}, mem_pod("be"), True),
    ],
    ids=[
        "no pressure",
        "besteffort under memory",
        "burstable under memory",
        "besteffort tolerating memory-pressure",
        "disk rejects all",
        "two conditions",
        "critical always",
        "false condition",
    ],
)
def test_kubelet_admission(conditions: dict[str, str], the_pod: Pod, admitted: bool) -> None:
    node = Node(name="n1", conditions=tuple(NodeCondition(t, s) for t, s in conditions.items()))
    ok, message = kubelet_admits(node, the_pod)
    assert ok is admitted
    assert (message == "") is admitted
    if not ok:
        assert message.startswith("The node had condition: [")


# --- kubectl drain ---------------------------------------------------------------------------


def owned(name: str, kind: str | None, **kw: object) -> Pod:
    refs = () if kind is None else (OwnerReference(kind, "owner", controller=True),)
    return replace(pod(name), owner_references=refs, **kw)  # type: ignore[arg-type]


def drain_cluster(*pods: Pod) -> Cluster:
    return Cluster([Node(name="n1"), Node(name="n2"), *pods])


@pytest.mark.parametrize(
    ("options", "evicted", "skipped", "errors"),
    [
        (
            DrainOptions(),
            [],
            [],
            [f"cannot delete {DAEMONSET_FATAL}: default/ds", f"{UNMANAGED_FATAL}: default/bare"],
        ),
        (
            DrainOptions(ignore_daemonsets=True),
            [],
            ["ds", "mirror"],
            [f"{UNMANAGED_FATAL}: default/bare"],
        ),
        (DrainOptions(force=True), [], [], [f"cannot delete {DAEMONSET_FATAL}: default/ds"]),
        (DrainOptions(ignore_daemonsets=True, force=True), ["rs", "bare"], ["ds", "mirror"], []),
    ],
    ids=["defaults", "ignore daemonsets", "force", "both"],
)
def test_drain_filters(
    options: DrainOptions, evicted: list[str], skipped: list[str], errors: list[str]
) -> None:
    mirror = replace(
        pod("mirror"),
        annotations=frozen_map(
            {"kubernetes.io/config.mirror": "h", "kubernetes.io/config.source": "file"}
        ),
    )
    done = owned("done", None, phase="Succeeded")
    cluster = drain_cluster(
        owned("ds", "DaemonSet"),
        owned("rs", "ReplicaSet"),
        owned("bare", None),
        mirror,
        done,
        owned("elsewhere", None, node_name="n2"),
    )
    plan = drain_plan(cluster, "n1", options)
    assert [p.name for p in plan.evict] == evicted
    if not errors:
        assert [p.name for p, _ in plan.skipped] == skipped
    assert plan.errors == errors
    assert plan.refused is bool(errors)


def test_disruption_budgets_count_down_and_refuse_two_budgets() -> None:
    objects = [
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}},
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "web"},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}},
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "db"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}},
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "all", "namespace": "other"},
            "spec": {"maxUnavailable": 0, "selector": {}},
        },
    ]
    for name, app in (("w1", "web"), ("w2", "web"), ("d1", "db"), ("free", "none")):
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "labels": {"app": app}},
                "spec": {"nodeName": "n1", "containers": [{"name": "c"}]},
            }
        )
    cluster = cluster_from_manifests(objects)
    pods = [cluster.pods[f"default/{n}"] for n in ("w1", "w2", "d1", "free")]
    refused = disruption_budget_refusals(cluster, pods)
    assert set(refused) == {"default/w2", "default/d1"}
    assert refused["default/w2"].startswith(PDB_VIOLATION)
    assert "default/web" in refused["default/w2"]
    # Two budgets on one pod: the API cannot tell which to charge.
    second = cluster_from_manifests([{**objects[1], "metadata": {"name": "web2"}}])
    cluster.add(second.pdbs["default/web2"])
    assert disruption_budget_refusals(cluster, pods[:1]) == {"default/w1": PDB_MULTIPLE}
