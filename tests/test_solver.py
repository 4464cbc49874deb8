"""The Z3 oracle (podfit.solver): placements, minimal cores, unknown, optimisation, and
agreement with the reference scheduler on random small clusters."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podfit import spec
from podfit.cluster import Cluster
from podfit.loading import cluster_from_manifests, pod_from_manifest
from podfit.model import Pod
from podfit.reference.scheduler import schedule_one
from podfit.solver import (
    Outcome,
    Session,
    Undecided,
    feasible_nodes,
    maximize_placed,
    minimize_nodes,
    nodes_to_add,
    solve,
)
from podfit.solver.encode import encode
from podfit.solver.explain import minimal_core, quantity_text
from podfit.solver.labels import expression_matches, expression_problem, parse_go_int64
from podfit.solver.rules import Rules
from podfit.solver.state import pod_requests
from podfit.validation import overcommit_allowed

# --- manifest builders ----------------------------------------------------------------------


def node(
    name: str,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: str | None = "110",
    labels: dict[str, str] | None = None,
    taints: list[dict[str, str]] | None = None,
    unschedulable: bool = False,
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    allocatable = {"cpu": cpu, "memory": memory, **(extra or {})}
    if pods is not None:
        allocatable["pods"] = pods
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"taints": taints or [], "unschedulable": unschedulable},
        "status": {"allocatable": allocatable},
    }


def pod(
    name: str,
    cpu: str | None = None,
    *,
    memory: str | None = None,
    requests: dict[str, str] | None = None,
    node_name: str | None = None,
    selector: dict[str, str] | None = None,
    tolerations: list[dict[str, Any]] | None = None,
    ports: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    affinity: dict[str, Any] | None = None,
    priority: int | None = None,
    phase: str | None = None,
) -> dict[str, Any]:
    req = dict(requests or {})
    if cpu is not None:
        req["cpu"] = cpu
    if memory is not None:
        req["memory"] = memory
    # Extended resources cannot be overcommitted: the API server wants a limit equal to them.
    extended = {k: v for k, v in req.items() if not overcommit_allowed(k)}
    resources: dict[str, Any] = {"requests": req, **({"limits": extended} if extended else {})}
    container: dict[str, Any] = {"name": "c", "image": "busybox", "resources": resources}
    if ports:
        container["ports"] = ports
    spec: dict[str, Any] = {"containers": [container]}
    for key, value in (
        ("nodeName", node_name),
        ("nodeSelector", selector),
        ("tolerations", tolerations),
        ("initContainers", init),
        ("affinity", affinity),
        ("priority", priority),
    ):
        if value is not None:
            spec[key] = value
    manifest: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": spec,
    }
    if phase is not None:
        manifest["status"] = {"phase": phase}
    return manifest


def cluster(*objects: dict[str, Any]) -> Cluster:
    return cluster_from_manifests(list(objects))


def pending(*manifests: dict[str, Any]) -> list[Pod]:
    return [pod_from_manifest(m) for m in manifests]


def port(number: int, ip: str = "", protocol: str = "TCP") -> dict[str, Any]:
    entry: dict[str, Any] = {"containerPort": number, "hostPort": number, "protocol": protocol}
    if ip:
        entry["hostIP"] = ip
    return entry


SSD = {"disktype": "ssd"}

# --- feasible placements ----------------------------------------------------------------------


def test_two_big_pods_go_to_different_nodes() -> None:
    c = cluster(node("n1", cpu="4"), node("n2", cpu="4"))
    result = solve(c, pending(pod("a", "3"), pod("b", "3")))
    assert result.status == "feasible"
    assert sorted(result.placement.values()) == ["n1", "n2"]
    assert result.core == [] and result.unplaced == []


def test_placement_respects_every_static_rule() -> None:
    c = cluster(
        node("cordoned", unschedulable=True, labels=SSD),
        node(
            "tainted", labels=SSD, taints=[{"key": "gpu", "value": "true", "effect": "NoSchedule"}]
        ),
        node("hdd", labels={"disktype": "hdd"}),
        node("good", labels=SSD),
    )
    result = solve(c, pending(pod("p", "1", selector=SSD)))
    assert result.placement == {"default/p": "good"}


def test_existing_usage_and_terminal_pods() -> None:
    # n1 is full by a running pod; n2's only pod has Succeeded and holds nothing.
    c = cluster(
        node("n1", cpu="2"),
        node("n2", cpu="2"),
        pod("busy", "2", node_name="n1"),
        pod("done", "2", node_name="n2", phase="Succeeded"),
    )
    assert solve(c, pending(pod("p", "1"))).placement == {"default/p": "n2"}


def test_sidecar_and_init_requests() -> None:
    # Effective cpu = max(1 + sidecar 1, init 1 + sidecar 1) = 2: fits a 2-cpu node exactly.
    sidecar = {
        "name": "s",
        "image": "x",
        "restartPolicy": "Always",
        "resources": {"requests": {"cpu": "1"}},
    }
    plain = {"name": "i", "image": "x", "resources": {"requests": {"cpu": "1"}}}
    c = cluster(node("n1", cpu="2"))
    assert solve(c, pending(pod("p", "1", init=[sidecar, plain]))).status == "feasible"
    heavy = {"name": "i", "image": "x", "resources": {"requests": {"cpu": "1500m"}}}
    result = solve(c, pending(pod("p", "1", init=[sidecar, heavy])))  # 1.5 + 1 > 2
    assert result.status == "infeasible"
    assert result.core == ["resources.filter.insufficient"]


def test_require_all_false_may_leave_pods_out() -> None:
    c = cluster(node("n1", cpu="1"))
    result = solve(c, pending(pod("a", "1"), pod("b", "1")), require_all=False)
    assert result.status == "feasible"
    assert len(result.placement) + len(result.unplaced) == 2


# --- infeasible: minimal cores naming the rules -------------------------------------------------

INFEASIBLE: list[tuple[str, Cluster, list[Pod], list[str], list[str]]] = [
    (
        "selector-then-capacity",
        cluster(
            node("node-a", cpu="3", labels=SSD),
            node("node-b", cpu="1", labels=SSD),
            node("node-c", cpu="16", labels={"disktype": "hdd"}),
        ),
        pending(pod("web-3", "3", selector=SSD), pod("web-4", "3", selector=SSD)),
        ["node-affinity.filter.node-selector", "resources.filter.insufficient"],
        ["default/web-3 and default/web-4", "node-c", "4 cpu free", "6 cpu together"],
    ),
    (
        "cordoned",
        cluster(node("n1", unschedulable=True)),
        pending(pod("p", "1")),
        ["node-unschedulable.filter.cordoned"],
        ["default/p cannot run on n1", "So default/p fits on no node."],
    ),
    (
        "no-execute-taint",
        cluster(node("n1", taints=[{"key": "k", "effect": "NoExecute"}])),
        pending(
            pod("p", "1", tolerations=[{"key": "k", "operator": "Exists", "effect": "NoSchedule"}])
        ),
        ["taints.filter.no-execute"],
        ["untolerated taint k:NoExecute"],
    ),
    (
        "node-name",
        cluster(node("n1"), node("n2")),
        pending(pod("p", "1", node_name="n3")),
        ["node-affinity.filter.node-name"],
        ["spec.nodeName is n3"],
    ),
    (
        "empty-affinity-term",
        cluster(node("n1")),
        pending(
            pod(
                "p",
                affinity={
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [{"matchExpressions": []}]
                        }
                    }
                },
            )
        ),
        ["node-affinity.filter.empty-terms"],
        ["no non-empty term"],
    ),
    (
        "same-host-port",
        cluster(node("n1")),
        pending(pod("a", ports=[port(8080)]), pod("b", ports=[port(8080)])),
        ["node-ports.filter.same-port-clashes"],
        ["default/a and default/b both want host port TCP 0.0.0.0:8080"],
    ),
    (
        "bind-all-vs-specific",
        cluster(node("n1"), pod("holder", ports=[port(53, "10.0.0.1", "UDP")], node_name="n1")),
        pending(pod("p", ports=[port(53, "", "UDP")])),
        ["node-ports.filter.bind-all-address"],
        ["held by default/holder"],
    ),
    (
        "pod-slots",
        cluster(node("n1", pods="2"), pod("old", node_name="n1")),
        pending(pod("a"), pod("b")),
        ["resources.filter.too-many-pods"],
        ["n1 has room for 1 more pod, and 2 pods need one each"],
    ),
    (
        "no-pods-allocatable",
        cluster(node("n1", pods=None)),
        pending(pod("a")),
        ["resources.filter.too-many-pods"],
        ["n1 has room for 0 more pods, and default/a needs one"],
    ),
    (
        "extended-resource-missing",
        cluster(node("n1"), node("n2", extra={"example.com/gpu": "1"})),
        pending(pod("p", requests={"example.com/gpu": "2"})),
        ["resources.filter.extended-resources"],
        ["2 example.com/gpu"],
    ),
    (
        "hugepages",
        cluster(node("n1", extra={"hugepages-2Mi": "4Mi"})),
        pending(
            pod("a", memory="1Mi", requests={"hugepages-2Mi": "4Mi"}),
            pod("b", memory="1Mi", requests={"hugepages-2Mi": "2Mi"}),
        ),
        ["resources.filter.hugepages"],
        ["4Mi hugepages-2Mi free"],
    ),
]


@pytest.mark.parametrize(
    ("c", "pods", "rules", "phrases"),
    [row[1:] for row in INFEASIBLE],
    ids=[row[0] for row in INFEASIBLE],
)
def test_infeasible_core_names_the_rules(
    c: Cluster, pods: list[Pod], rules: list[str], phrases: list[str]
) -> None:
    result = solve(c, pods)
    assert result.status == "infeasible"
    assert result.placement == {}
    assert result.core == rules
    assert set(result.core) <= SPEC_IDS
    text = " ".join(result.explanation)
    for phrase in phrases:
        assert phrase in text, (phrase, result.explanation)


@pytest.mark.parametrize(
    ("c", "pods"), [row[1:3] for row in INFEASIBLE], ids=[row[0] for row in INFEASIBLE]
)
def test_core_is_minimal(c: Cluster, pods: list[Pod]) -> None:
    """Checked from outside: the core is unsatisfiable and each fact in it is needed."""
    session = Session(timeout_ms=5000)
    enc = encode(c, pods, session)
    core = minimal_core(enc, budget_ms=5000)
    assert core.minimal
    labels = [f.label for f in core.facts]
    assert session.check(enc.assumptions(labels)) is Outcome.UNSAT
    for label in labels:
        rest = [other for other in labels if other != label]
        assert session.check(enc.assumptions(rest)) is Outcome.SAT, label


def test_core_keeps_the_rule_upstream_reports_first() -> None:
    # A cordoned node that is also tainted: kube-scheduler reports NodeUnschedulable.
    taint = {"key": "k", "value": "v", "effect": "NoSchedule"}
    c = cluster(node("n1", unschedulable=True, taints=[taint]))
    assert solve(c, pending(pod("p"))).core == ["node-unschedulable.filter.cordoned"]


def test_fragmentation_is_explained_as_packing() -> None:
    # 3 + 3 cpu free and three 2-cpu pods: 6 <= 6 in total, but two of them (4 cpu) fit on
    # no single node, so the third has nowhere to go. The aggregate cut does not apply here.
    c = cluster(node("n1", cpu="3"), node("n2", cpu="3"))
    result = solve(c, pending(pod("a", "2"), pod("b", "2"), pod("c", "2")))
    assert result.status == "infeasible"
    assert result.core == ["resources.filter.insufficient"]
    assert any("do not pack" in s for s in result.explanation)


SPEC_IDS = {r.id for r in spec.rules()}


# --- single pods: feasible nodes against the spec's statements --------------------------------

SIDECAR_8080 = {"name": "s", "image": "x", "restartPolicy": "Always", "ports": [port(8080)]}
INIT_8080 = {"name": "i", "image": "x", "ports": [port(8080)]}
CORDON = "node.kubernetes.io/unschedulable"

FEASIBLE_ROWS: list[tuple[str, list[dict[str, Any]], dict[str, Any], set[str]]] = [
    (
        "notin-matches-absent-label",
        [node("n1", labels={"zone": "a"}), node("n2"), node("n3", labels={"zone": "b"})],
        pod(
            "p",
            affinity={
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {"key": "zone", "operator": "NotIn", "values": ["a"]}
                                ]
                            }
                        ]
                    }
                }
            },
        ),
        {"n2", "n3"},
    ),
    (
        "gt-parses-leading-zeros-and-needs-the-label",
        [node("n1", labels={"gen": "0206"}), node("n2", labels={"gen": "0204"}), node("n3")],
        pod(
            "p",
            affinity={
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {"key": "gen", "operator": "Gt", "values": ["204"]}
                                ]
                            }
                        ]
                    }
                }
            },
        ),
        {"n1"},
    ),
    (
        "match-fields-notin",
        [node("n1"), node("n2")],
        pod(
            "p",
            affinity={
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchFields": [
                                    {"key": "metadata.name", "operator": "NotIn", "values": ["n1"]}
                                ]
                            }
                        ]
                    }
                }
            },
        ),
        {"n2"},
    ),
    (
        "terms-are-ored-and-an-invalid-term-is-skipped",
        [node("n1", labels={"a": "x"}), node("n2", labels={"b": "y"})],
        pod(
            "p",
            affinity={
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {"key": "a", "operator": "Gt", "values": ["ten"]}
                                ]
                            },
                            {"matchExpressions": [{"key": "b", "operator": "In", "values": ["y"]}]},
                        ]
                    }
                }
            },
        ),
        {"n2"},
    ),
    (
        "toleration-effect-must-match",
        [node("n1", taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}]), node("n2")],
        pod("p", tolerations=[{"key": "k", "value": "v", "effect": "PreferNoSchedule"}]),
        {"n2"},
    ),
    (
        "prefer-no-schedule-is-not-filtered",
        [node("n1", taints=[{"key": "k", "effect": "PreferNoSchedule"}])],
        pod("p"),
        {"n1"},
    ),
    (
        "equal-without-value-only-tolerates-empty-value",
        [
            node("n1", taints=[{"key": "k", "effect": "NoSchedule"}]),
            node("n2", taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}]),
        ],
        pod("p", tolerations=[{"key": "k"}]),
        {"n1"},
    ),
    (
        "cordon-toleration-forms",
        [node("n1", unschedulable=True)],
        pod("p", tolerations=[{"operator": "Exists", "effect": "NoSchedule"}]),
        {"n1"},
    ),
    (
        "cordon-not-tolerated-with-a-value-or-noexecute",
        [node("n1", unschedulable=True)],
        pod(
            "p",
            tolerations=[
                {"key": CORDON, "value": "true"},
                {"key": CORDON, "operator": "Exists", "effect": "NoExecute"},
            ],
        ),
        set(),
    ),
    (
        "sidecar-ports-count-plain-init-ports-do-not",
        [
            node("n1"),
            node("n2"),
            pod("side", node_name="n1", init=[SIDECAR_8080]),
            pod("init", node_name="n2", init=[INIT_8080]),
        ],
        pod("p", ports=[port(8080)]),
        {"n2"},
    ),
    (
        "incoming-sidecar-port-clashes",
        [node("n1"), node("n2"), pod("holder", node_name="n1", ports=[port(8080)])],
        pod("p", init=[SIDECAR_8080]),
        {"n2"},
    ),
    (
        "specific-ips-differ-bind-all-clashes-ipv6-any-is-specific",
        [
            node("n1"),
            node("n2"),
            node("n3"),
            pod("a", node_name="n1", ports=[port(80, "10.0.0.1")]),
            pod("b", node_name="n2", ports=[port(80, "0.0.0.0")]),
            pod("c", node_name="n3", ports=[port(80, "::")]),
        ],
        pod("p", ports=[port(80, "10.0.0.2")]),
        {"n1", "n3"},
    ),
    (
        "terminal-pods-free-their-ports-and-resources",
        [node("n1", cpu="1"), pod("done", "1", node_name="n1", ports=[port(80)], phase="Failed")],
        pod("p", "1", ports=[port(80)]),
        {"n1"},
    ),
    (
        "equal-to-free-fits-one-milli-more-does-not",
        [
            node("n1", cpu="1"),
            node("n2", cpu="1"),
            pod("a", "400m", node_name="n1"),
            pod("b", "401m", node_name="n2"),
        ],
        pod("p", "600m"),
        {"n1"},
    ),
    (
        "zero-request-skips-overcommitted-resource",
        [
            node("n1", cpu="1", extra={"example.com/dev": "1"}),
            pod("a", requests={"cpu": "2", "example.com/dev": "2"}, node_name="n1"),
        ],
        pod("p", requests={"example.com/dev": "0"}),
        {"n1"},
    ),
]


@pytest.mark.parametrize(
    ("objects", "incoming", "want"),
    [r[1:] for r in FEASIBLE_ROWS],
    ids=[r[0] for r in FEASIBLE_ROWS],
)
def test_feasible_nodes_rows(
    objects: list[dict[str, Any]], incoming: dict[str, Any], want: set[str]
) -> None:
    c, p = cluster(*objects), pending(incoming)[0]
    assert feasible_nodes(c, p) == want
    assert set(schedule_one(c, p, preemption=False).feasible) == want


# --- unknown -------------------------------------------------------------------------------------


def hard_packing() -> tuple[Cluster, list[Pod]]:
    """Exact-fit bin packing: 40 odd-sized pods into 8 nodes whose free cpu sums to theirs."""
    rng = random.Random(11)
    sizes = [rng.randint(101, 997) for _ in range(40)]
    per_node = -(-sum(sizes) // 8)
    sizes[-1] += per_node * 8 - sum(sizes)
    c = cluster(*(node(f"n{i}", cpu=f"{per_node}m") for i in range(8)))
    return c, pending(*(pod(f"p{i}", f"{s}m") for i, s in enumerate(sizes)))


def test_timeout_is_unknown_never_infeasible() -> None:
    c, pods = hard_packing()
    result = solve(c, pods, timeout_ms=1)
    assert result.status == "unknown"
    assert result.core == [] and result.placement == {}
    assert "1 ms" in result.explanation[0]
    assert maximize_placed(c, pods, timeout_ms=1).status == "unknown"


def test_session_rejects_nonpositive_timeout() -> None:
    with pytest.raises(ValueError):
        Session(timeout_ms=0)


def test_feasible_nodes_raises_when_undecided(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Session, "check", lambda self, *a, **k: Outcome.UNKNOWN)
    with pytest.raises(Undecided):
        feasible_nodes(cluster(node("n1")), pending(pod("p"))[0])


# --- optimisation ------------------------------------------------------------------------------


def test_maximize_placed_counts() -> None:
    c = cluster(node("n1", cpu="4"))
    result = maximize_placed(c, pending(pod("a", "2"), pod("b", "2"), pod("c", "2")))
    assert result.status == "infeasible"
    assert result.objective == 2 and len(result.placement) == 2 and len(result.unplaced) == 1


def test_maximize_placed_prefers_priority_over_count() -> None:
    c = cluster(node("n1", cpu="4"))
    pods = pending(pod("big", "3", priority=1000), pod("s1", "2"), pod("s2", "2"))
    result = maximize_placed(c, pods)
    assert result.placement == {"default/big": "n1"}
    assert result.objective == 1


def test_minimize_nodes_packs_and_prefers_busy_nodes() -> None:
    c = cluster(node("n1"), node("n2"), node("n3"), pod("old", "1", node_name="n2"))
    result = minimize_nodes(c, pending(pod("a", "1"), pod("b", "1"), pod("c", "1")))
    assert result.status == "feasible" and result.objective == 1
    assert set(result.placement.values()) == {"n2"}


def test_minimize_nodes_needs_two_when_one_is_too_small() -> None:
    c = cluster(node("n1", cpu="2"), node("n2", cpu="2"), node("n3", cpu="2"))
    result = minimize_nodes(c, pending(pod("a", "1500m"), pod("b", "1500m")))
    assert result.objective == 2


def test_minimize_nodes_infeasible_explains() -> None:
    result = minimize_nodes(cluster(node("n1", cpu="1")), pending(pod("a", "2")))
    assert result.status == "infeasible" and result.core == ["resources.filter.insufficient"]


def test_nodes_to_add() -> None:
    c = cluster(node("n1", cpu="4"))
    shape = c.nodes["n1"]
    pods = pending(pod("a", "3"), pod("b", "3"), pod("c", "3"))
    result = nodes_to_add(c, pods, shape, 5)
    assert result.status == "feasible" and result.objective == 2
    assert set(result.placement.values()) == {"n1", "n1-new-1", "n1-new-2"}
    short = nodes_to_add(c, pods, shape, 1)
    assert short.status == "infeasible"
    assert short.explanation[0].startswith("Even with 1 more node(s)")
    assert nodes_to_add(c, pods[:1], shape, 3).objective == 0


# --- rule semantics the encoding relies on --------------------------------------------------------

REQUEST_ROWS = [
    # (init containers [(cpu, sidecar)], app container cpu, expected millicores) — notes App. B
    ("init-max", [("4", False)], "1", 4000),
    ("init-below-sum", [("2", False)], "5", 5000),
    ("sidecar-adds", [("1", True)], "1", 2000),
    ("sidecars-and-init", [("5", False), ("1", True), ("2", True), ("3", True)], "1", 7000),
    (
        "init-after-sidecars",
        [("5", False), ("1", True), ("2", True), ("5", False), ("3", True)],
        "1",
        8000,
    ),
    ("sidecar-then-big-init", [("10", True), ("200", False)], "100", 210000),
    ("exact-sum-before-rounding", [], "0.0005", 1),
]


@pytest.mark.parametrize(
    ("init", "app", "want"), [r[1:] for r in REQUEST_ROWS], ids=[r[0] for r in REQUEST_ROWS]
)
def test_pod_requests(init: list[tuple[str, bool]], app: str, want: int) -> None:
    inits = [
        {"name": f"i{i}", "image": "x", "resources": {"requests": {"cpu": cpu}}}
        | ({"restartPolicy": "Always"} if sidecar else {})
        for i, (cpu, sidecar) in enumerate(init)
    ]
    p = pending(pod("p", app, init=inits or None))[0]
    assert pod_requests(p)["cpu"] == want


def test_pod_requests_overhead_and_pod_level() -> None:
    manifest = pod("p", "1", memory="1Gi")
    manifest["spec"]["overhead"] = {"cpu": "250m", "memory": "64Mi"}
    manifest["spec"]["resources"] = {"requests": {"memory": "2Gi"}}
    assert pod_requests(pending(manifest)[0]) == {"cpu": 1250, "memory": 2 * 2**30 + 64 * 2**20}


GT_LT_ROWS = [
    ("gt-leading-zero", "Gt", "0204", {"v": "0206"}, True),
    ("gt-strict", "Gt", "5", {"v": "5"}, False),
    ("lt-unparsable-label", "Lt", "5", {"v": "abc"}, False),
    ("gt-absent-label", "Gt", "5", {}, False),
    ("lt-plus-label", "Lt", "5", {"v": "+4"}, True),
]


@pytest.mark.parametrize(
    ("op", "bound", "labels", "want"), [r[1:] for r in GT_LT_ROWS], ids=[r[0] for r in GT_LT_ROWS]
)
def test_gt_lt(op: str, bound: str, labels: dict[str, str], want: bool) -> None:
    from podfit.model import Requirement

    req = Requirement("v", op, (bound,))
    assert expression_problem(req) is None
    assert expression_matches(req, labels) is want


def test_invalid_requirements_and_int_parsing() -> None:
    from podfit.model import Requirement

    assert expression_problem(Requirement("v", "Gt", ("-1",))) is not None  # not a label value
    assert expression_problem(Requirement("v", "NotIn", ("a b",))) is not None
    assert expression_problem(Requirement("bad key", "Exists")) is not None
    assert parse_go_int64("9223372036854775807") == 2**63 - 1
    assert parse_go_int64("9223372036854775808") is None
    assert parse_go_int64(" 5") is None and parse_go_int64("5\n") is None


def test_quantity_text() -> None:
    assert quantity_text("cpu", 1500) == "1500m cpu"
    assert quantity_text("cpu", 4000) == "4 cpu"
    assert quantity_text("memory", 3 * 2**30) == "3Gi memory"
    assert quantity_text("memory", 1000) == "1000 memory"


def test_rule_ids_are_spec_rules() -> None:
    named = [v for k, v in vars(Rules).items() if k.isupper() and isinstance(v, str)]
    assert Rules.PLACEMENT not in SPEC_IDS  # the question asked, never reported as a rule
    assert sorted(set(named) - SPEC_IDS) == [Rules.PLACEMENT]
    assert set(Rules.FILTER_ORDER) == set(named) - {Rules.PLACEMENT}


# --- agreement with the reference scheduler ---------------------------------------------------

# Small domains, so that labels, taints and ports of nodes and pods often meet.
KEYS = ["zone", "disk"]
VALUES = ["a", "1", "05"]
TAINT_KEYS = ["dedicated", "node.kubernetes.io/unschedulable"]
EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
# Each example concentrates on one area (the others stay mostly out of the way), so the
# corner cases of each area come up often; "mixed" lets everything vary at once.
FOCUS = ["taints", "affinity", "resources", "ports", "mixed"]


def sometimes(
    strategy: st.SearchStrategy[Any], otherwise: Any, one_in: int
) -> st.SearchStrategy[Any]:
    """``strategy`` about once in ``one_in`` draws, else ``otherwise``."""
    return st.integers(1, one_in).flatmap(lambda i: strategy if i == 1 else st.just(otherwise))


def chance(focus: str, area: str) -> int:
    """How rarely an area's features appear: always in focus, often when mixed, else seldom."""
    return 1 if focus == area else 2 if focus == "mixed" else 6


labels_st = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=2)
taint_st = st.fixed_dictionaries(
    {"key": st.sampled_from(TAINT_KEYS), "effect": st.sampled_from(EFFECTS)},
    optional={"value": st.sampled_from(["", "x"])},
)
toleration_st = st.one_of(
    st.fixed_dictionaries(
        {"key": st.sampled_from(TAINT_KEYS), "value": st.sampled_from(["", "x"])},
        optional={"operator": st.just("Equal"), "effect": st.sampled_from(EFFECTS)},
    ),
    st.fixed_dictionaries(
        {"key": st.sampled_from(["", *TAINT_KEYS]), "operator": st.just("Exists")},
        optional={"effect": st.sampled_from(EFFECTS)},
    ),
)
port_st = st.builds(
    port,
    st.sampled_from([8080, 8080, 80]),
    st.sampled_from(["", "0.0.0.0", "127.0.0.1", "10.0.0.1"]),
    st.sampled_from(["TCP", "TCP", "UDP"]),
)


def _with_memory(requests: dict[str, str]) -> dict[str, str]:
    """Hugepages need a cpu or memory request beside them (the API server says so)."""
    if "hugepages-2Mi" in requests and not {"cpu", "memory"} & set(requests):
        return {**requests, "memory": "0"}
    return requests


def _port_key(entry: dict[str, Any]) -> tuple[str, str, int]:
    return (entry["protocol"], entry.get("hostIP", ""), entry["hostPort"])


requests_st = st.fixed_dictionaries(
    {},
    optional={
        "cpu": st.sampled_from(["0", "300m", "500m", "1", "1500m"]),
        "memory": st.sampled_from(["0", "256Mi", "1Gi"]),
        "example.com/dev": st.sampled_from(["0", "1", "2"]),
        "hugepages-2Mi": st.sampled_from(["2Mi", "4Mi"]),
    },
).map(_with_memory)
# A pod's containers may not claim one host port twice (protocol, host IP, port).
ports_st = st.lists(port_st, min_size=1, max_size=2, unique_by=_port_key)


@st.composite
def node_st(draw: st.DrawFn, name: str, focus: str) -> dict[str, Any]:
    rare = chance(focus, "resources")
    extra = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "example.com/dev": st.sampled_from(["0", "1", "2"]),
                "hugepages-2Mi": st.sampled_from(["2Mi", "4Mi"]),
            },
        )
    )
    return node(
        name,
        cpu=draw(sometimes(st.sampled_from(["0", "500m", "1", "2"]), "2", rare + 1)),
        memory=draw(sometimes(st.sampled_from(["0", "512Mi", "2Gi"]), "2Gi", rare + 1)),
        pods=draw(sometimes(st.sampled_from([None, "0", "1", "2", "110"]), "110", rare + 1)),
        labels=draw(labels_st),
        taints=draw(
            sometimes(
                st.lists(
                    taint_st, min_size=1, max_size=2, unique_by=lambda t: (t["key"], t["effect"])
                ),
                [],
                chance(focus, "taints") + 1,
            )
        ),
        unschedulable=draw(sometimes(st.just(True), False, chance(focus, "taints") * 2 + 1)),
        extra=extra,
    )


@st.composite
def expression_st(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]))
    expr: dict[str, Any] = {"key": draw(st.sampled_from(KEYS)), "operator": op}
    if op in ("In", "NotIn"):
        expr["values"] = draw(st.lists(st.sampled_from(VALUES), min_size=1, max_size=2))
    elif op in ("Gt", "Lt"):
        expr["values"] = [draw(st.sampled_from(["0", "1", "3"]))]
    return expr


@st.composite
def affinity_st(draw: st.DrawFn, names: list[str]) -> dict[str, Any]:
    terms = []
    for _ in range(draw(st.integers(1, 2))):
        term: dict[str, Any] = {"matchExpressions": draw(st.lists(expression_st(), max_size=2))}
        if draw(st.booleans()):
            op = draw(st.sampled_from(["In", "NotIn"]))
            term["matchFields"] = [
                {"key": "metadata.name", "operator": op, "values": [draw(st.sampled_from(names))]}
            ]
        terms.append(term)
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}
        }
    }


@st.composite
def init_containers_st(draw: st.DrawFn, focus: str) -> list[dict[str, Any]] | None:
    count = draw(
        sometimes(st.integers(1, 3), 0, min(chance(focus, "resources"), chance(focus, "ports")))
    )
    containers = []
    claimed: set[tuple[str, str, int]] = set()
    for i in range(count):
        requests = draw(requests_st)
        fixed = {k: v for k, v in requests.items() if not overcommit_allowed(k)}
        container: dict[str, Any] = {
            "name": f"i{i}",
            "image": "x",
            "resources": {"requests": requests, **({"limits": fixed} if fixed else {})},
        }
        ports = [p for p in draw(st.lists(port_st, max_size=1)) if _port_key(p) not in claimed]
        claimed.update(_port_key(p) for p in ports)
        if ports:
            container["ports"] = ports
        if draw(st.booleans()):
            container["restartPolicy"] = "Always"
        containers.append(container)
    return containers or None


@st.composite
def scenario(draw: st.DrawFn) -> tuple[Cluster, Pod]:
    focus = draw(st.sampled_from(FOCUS))
    names = [f"n{i}" for i in range(draw(st.integers(2, 5)))]
    objects = [draw(node_st(name, focus)) for name in names]
    for i in range(draw(st.integers(0, 4))):
        running = pod(
            f"run{i}",
            requests=draw(sometimes(requests_st, {"cpu": "500m"}, chance(focus, "resources"))),
            node_name=draw(st.sampled_from(names)),
            ports=draw(sometimes(ports_st, [], chance(focus, "ports"))),
            init=draw(init_containers_st(focus)),
            phase=draw(st.sampled_from([None, "Running", "Succeeded", "Failed"])),
        )
        if draw(sometimes(st.just(True), False, 4)):
            running["spec"]["hostNetwork"] = True
        objects.append(running)
    incoming = pod(
        "incoming",
        requests=draw(sometimes(requests_st, {"cpu": "100m"}, chance(focus, "resources"))),
        selector=draw(sometimes(labels_st, None, chance(focus, "affinity") + 1)),
        tolerations=draw(
            sometimes(
                st.lists(toleration_st, min_size=1, max_size=3), None, chance(focus, "taints")
            )
        ),
        ports=draw(sometimes(ports_st, None, chance(focus, "ports"))),
        init=draw(init_containers_st(focus)),
        affinity=draw(sometimes(affinity_st(names), None, chance(focus, "affinity"))),
        node_name=draw(sometimes(st.sampled_from([*names, "elsewhere"]), None, 10)),
    )
    if draw(sometimes(st.just(True), False, chance(focus, "resources") * 2)):
        incoming["spec"]["overhead"] = {"cpu": "250m", "memory": "64Mi"}
    return cluster(*objects), pending(incoming)[0]


@settings(max_examples=100, deadline=None)
@given(scenario())
def test_feasible_nodes_agree_with_reference(case: tuple[Cluster, Pod]) -> None:
    c, p = case
    expected = set(schedule_one(c, p, preemption=False).feasible)
    assert feasible_nodes(c, p, timeout_ms=5000) == expected


def test_solver_never_imports_the_reference() -> None:
    import ast
    from pathlib import Path

    import podfit.solver

    for path in Path(podfit.solver.__file__).parent.glob("*.py"):
        for stmt in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(stmt, ast.ImportFrom):
                names = [f"{'.' * stmt.level}{stmt.module or ''}"]
            elif isinstance(stmt, ast.Import):
                names = [alias.name for alias in stmt.names]
            else:
                continue
            for name in names:
                assert "reference" not in name, f"{path.name} imports {name}"
