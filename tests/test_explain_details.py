"""The concrete cause behind each rejection (``Plugin.detail``) and the fixes ``explain``
suggests: table tests per plugin, and Hypothesis properties on generated clusters —
details never change a verdict, every rejected node gets one, every suggested fix really
makes the pod fit when applied to the cluster itself, and the scheduler's snapshot is left
as it was."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import podfit
from podfit.cluster import Cluster
from podfit.conformance.strategies import scheduling_problems
from podfit.loading import cluster_from_manifests, pod_from_manifest
from podfit.model import Node, Pod, frozen_map
from podfit.reference.detail import exact_amount, human_amount, human_amounts
from podfit.reference.fixes import Fix
from podfit.reference.framework import ScheduleResult, snapshot_of
from podfit.reference.nodeinfo import Snapshot
from podfit.reference.scheduler import schedule_one

# --- manifests ---------------------------------------------------------------------------------


def node(
    name: str,
    *,
    labels: dict[str, str] | None = None,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: str = "110",
    **spec: Any,
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": spec,
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}},
    }


def pod(
    name: str,
    *,
    on: str | None = None,
    labels: dict[str, str] | None = None,
    cpu: str | None = None,
    memory: str | None = None,
    priority: int = 0,
    **spec: Any,
) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    body: dict[str, Any] = {
        "containers": [{"name": "c", "image": "busybox", "resources": {"requests": requests}}],
        **spec,
    }
    if on:
        body["nodeName"] = on
        body["priority"] = priority
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": labels or {}},
        "spec": body,
    }


def explain(objects: list[dict[str, Any]], pending: dict[str, Any]) -> ScheduleResult:
    return podfit.explain(cluster_from_manifests(objects), pod_from_manifest(pending))


def why(result: ScheduleResult, node_name: str) -> list[str]:
    return [d.text for d in result.details.get(node_name, ())]


# --- each plugin says what it knows -------------------------------------------------------------


def test_taint_detail_names_every_untolerated_taint_whatever_the_reason_hides() -> None:
    tainted = node(
        "n1",
        taints=[
            {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
            {"key": "soft", "effect": "PreferNoSchedule"},
            {"key": "maint", "effect": "NoExecute"},
        ],
    )
    result = explain([tainted], pod("p"))
    assert result.statuses["n1"].reasons == ("node(s) had untolerated taint(s)",)
    assert why(result, "n1") == [
        "untolerated taint dedicated=gpu:NoSchedule",
        "untolerated taint maint:NoExecute",
    ]
    assert result.details["n1"][0].to_dict() == {
        "kind": "untoleratedTaint",
        "text": "untolerated taint dedicated=gpu:NoSchedule",
        "taint": {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
    }


def test_node_affinity_detail_gives_the_failing_entry_and_the_nodes_value() -> None:
    objects = [node("hdd", labels={"disktype": "hdd"}), node("bare")]
    result = explain(objects, pod("p", nodeSelector={"disktype": "ssd"}))
    assert why(result, "hdd") == ["nodeSelector disktype=ssd: the node has disktype=hdd"]
    assert why(result, "bare") == ["nodeSelector disktype=ssd: the node has no label disktype"]
    data = result.details["hdd"][0].data
    assert data == {"key": "disktype", "value": "ssd", "nodeValue": "hdd"}

    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]},
                    {"matchExpressions": [{"key": "gpu", "operator": "Exists"}]},
                ]
            }
        }
    }
    result = explain([node("c1", labels={"zone": "c"})], pod("p", affinity=affinity))
    assert why(result, "c1") == [
        "required node affinity term 1 of 2: zone In [a, b]: the node has zone=c",
        "required node affinity term 2 of 2: gpu Exists: the node has no label gpu",
    ]
    assert result.details["c1"][0].data["expression"] == {
        "key": "zone",
        "operator": "In",
        "values": ["a", "b"],
    }


def test_node_names_left_out_by_prefilter_say_which_nodes_the_pod_names() -> None:
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}
                ]
            }
        }
    }
    result = explain([node("n1"), node("n2", cpu="0")], pod("p", cpu="1", affinity=affinity))
    assert result.statuses["n1"].plugin == ""
    assert why(result, "n1") == [
        "the pod's required node affinity selects nodes by name (n2), not this one"
    ]


def test_host_port_detail_names_the_pod_holding_it() -> None:
    port = [{"containerPort": 80, "hostPort": 8080}]
    holder = pod("holder", on="n1")
    holder["spec"]["containers"][0]["ports"] = port
    pending = pod("p")
    pending["spec"]["containers"][0]["ports"] = port
    result = explain([node("n1"), holder], pending)
    assert why(result, "n1") == ["hostPort 8080/TCP is taken by default/holder"]
    assert result.details["n1"][0].data["pods"] == ["default/holder"]


def test_resource_detail_in_human_units() -> None:
    busy = pod("busy", on="n1", memory="15383224Ki")
    objects = [node("n1", cpu="2", memory="16026232Ki"), busy]
    result = explain(objects, pod("p", cpu="3", memory="1Gi"))
    assert why(result, "n1") == [
        "cpu: requests 3, more than the node's whole 2",
        "memory: requests 1Gi, 628Mi free of 15.3Gi",
    ]
    memory = result.details["n1"][1].data
    assert memory["free"] == "643008Ki" and memory["requested"] == "1Gi"
    assert memory["reason"] == "Insufficient memory"
    full = [node("n1", cpu="2", pods="1"), pod("x", on="n1", cpu="1800m")]
    result = explain(full, pod("p", cpu="500m"))
    assert why(result, "n1") == [
        "pods: 1 already run here, the node allows 1",
        "cpu: requests 500m, 200m free of 2",
    ]


def test_spread_detail_gives_counts_minimum_and_skew() -> None:
    spread = [
        {
            "maxSkew": 1,
            "topologyKey": "zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "web"}},
        }
    ]
    web = {"app": "web"}
    objects = [
        node("a1", labels={"zone": "a"}),
        node("b1", labels={"zone": "b"}),
        node("x"),
        pod("w1", on="a1", labels=web),
        pod("w2", on="a1", labels=web),
    ]
    result = explain(objects, pod("p", labels=web, topologySpreadConstraints=spread))
    assert why(result, "a1") == [
        "topology spread constraint (zone, maxSkew 1, pods matching app=web): zone=a has 2 of "
        "them, the minimum is 0 (b), so the pod would make the skew 3"
    ]
    data = result.details["a1"][0].data
    assert (data["count"], data["minimum"], data["skew"]) == (2, 0, 3)
    assert data["counts"] == {"a": 2, "b": 0}
    assert why(result, "x") == [
        "topology spread constraint: the node has no label zone (its topologyKey)"
    ]


def test_inter_pod_details_name_the_pods_in_the_way() -> None:
    anti = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "zone"}
            ]
        }
    }
    objects = [
        node("a1", labels={"zone": "a"}),
        node("a2", labels={"zone": "a"}),
        node("b1", labels={"zone": "b"}),
        pod("web-1", on="a1", labels={"app": "web"}),
        pod("db", on="b1", labels={"app": "db"}, affinity=anti),
    ]
    result = explain(objects, pod("p", labels={"app": "web"}, affinity=anti))
    # a2 runs nothing: the web pod on a1 shares its zone.
    assert why(result, "a2") == [
        "required anti-affinity (pods matching app=web, topologyKey zone): default/web-1 runs "
        "in zone=a"
    ]
    assert result.details["a2"][0].data["pods"] == ["default/web-1"]
    assert why(result, "b1") == [
        "default/db in zone=b has required anti-affinity that selects this pod"
    ]
    affinity = {
        "podAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "zone"}
            ]
        }
    }
    objects.append(pod("cache", on="a1", labels={"app": "cache"}))
    result = explain(objects, pod("q", affinity=affinity))
    assert why(result, "b1") == [
        "required pod affinity (pods matching app=cache, topologyKey zone): no pod matching every "
        "required affinity term runs in zone=b"
    ]


def test_cordoned_and_node_name_details() -> None:
    result = explain([node("n1", unschedulable=True)], pod("p"))
    assert why(result, "n1")[0].startswith("the node is cordoned (spec.unschedulable: true)")
    result = explain([node("n1"), node("n2")], pod("p", nodeName="n2"))
    assert why(result, "n1") == ["the pod's spec.nodeName is n2"]


def test_json_has_why_only_for_rejected_nodes_and_the_upstream_reason_unchanged() -> None:
    result = explain(
        [node("ok"), node("t", taints=[{"key": "k", "effect": "NoSchedule"}])], pod("p")
    )
    nodes = {n["name"]: n for n in result.to_dict()["nodes"]}
    assert "why" not in nodes["ok"]
    assert nodes["t"]["status"]["reasons"] == ["node(s) had untolerated taint(s)"]
    assert nodes["t"]["why"][0]["taint"] == {"key": "k", "value": "", "effect": "NoSchedule"}


def test_legacy_taint_reason_is_kept_verbatim_next_to_the_detail() -> None:
    tainted = node("n1", taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}])
    result = podfit.explain(
        cluster_from_manifests([tainted]), pod_from_manifest(pod("p")), kube_version="1.33"
    )
    assert result.statuses["n1"].reasons == ("node(s) had untolerated taint {k: v}",)
    assert why(result, "n1") == ["untolerated taint k=v:NoSchedule"]


def test_no_nodes_is_upstreams_message_without_preemption() -> None:
    result = explain([], pod("p", cpu="1"))
    assert result.message == "no nodes available to schedule pods"
    assert result.postfilter_message == "" and result.fixes == []


def test_preemption_outcome_names_the_budget_it_violates() -> None:
    budget = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "batch", "namespace": "default"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "batch"}}},
    }
    high = {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": "high"},
        "value": 1000,
    }
    objects = [
        node("n1", cpu="2"),
        high,
        budget,
        pod("b1", on="n1", labels={"app": "batch"}, cpu="2"),
    ]
    result = explain(objects, pod("p", cpu="1", priorityClassName="high"))
    assert result.nominated == "n1" and result.victims == ["default/b1"]
    assert result.violated == [("default/b1", "default/batch")]
    assert result.to_dict()["preemption"]["violates"] == [
        {"pod": "default/b1", "podDisruptionBudget": "default/batch"}
    ]


def test_unmodelled_volumes_are_a_visible_warning() -> None:
    pending = pod("p")
    pending["spec"]["volumes"] = [
        {"name": "data", "persistentVolumeClaim": {"claimName": "data-0"}},
        {"name": "conf", "configMap": {"name": "c"}},
    ]
    result = explain([node("n1")], pending)
    assert len(result.warnings) == 1
    assert "data (persistentVolumeClaim data-0)" in result.warnings[0]
    assert "conf" not in result.warnings[0]
    assert explain([node("n1")], pod("p")).warnings == []


# --- amounts --------------------------------------------------------------------------------


def test_human_amounts() -> None:
    assert human_amount("memory", 643008 * 1024) == "628Mi"
    assert human_amount("memory", 3 * 2**29) == "1.5Gi"
    assert human_amount("cpu", 500) == "500m"
    assert human_amount("cpu", 2000) == "2"
    assert human_amount("cpu", 3920) == "3920m"
    assert human_amount("pods", 110) == "110"
    assert exact_amount("memory", 643008 * 1024) == "643008Ki"
    assert exact_amount("cpu", 500) == "500m"


@given(
    st.sampled_from(["cpu", "memory", "ephemeral-storage", "example.com/gpu"]),
    st.lists(st.integers(min_value=0, max_value=2**50), min_size=2, max_size=4),
)
def test_different_amounts_never_read_the_same(resource: str, amounts: list[int]) -> None:
    texts = human_amounts(resource, *amounts)
    for i, a in enumerate(amounts):
        for j, b in enumerate(amounts):
            if a != b:
                assert texts[i] != texts[j]


# --- fixes ---------------------------------------------------------------------------------------


def apply_to_cluster(cluster: Cluster, pod_: Pod, fix: Fix) -> tuple[Cluster, Pod]:
    """The fix applied to the cluster objects themselves (not to a scheduler snapshot)."""
    work = cluster.copy()
    for change in fix.changes:
        if change.pod_change is not None:
            pod_ = change.pod_change(pod_)
        elif change.kind == "evictPods":
            for key in change.data["pods"]:
                work.remove_pod(key)
        elif change.kind == "uncordon":
            n = work.nodes[change.data["node"]]
            work.replace_node(
                replace(
                    n,
                    unschedulable=False,
                    taints=tuple(
                        t for t in n.taints if t.key != "node.kubernetes.io/unschedulable"
                    ),
                )
            )
        elif change.kind == "addNode":
            like = work.nodes[change.data["like"]]
            name = change.data["name"]
            labels = dict(like.labels)
            if "kubernetes.io/hostname" in labels:
                labels["kubernetes.io/hostname"] = name
            work.replace_node(
                Node(
                    name=name,
                    labels=frozen_map(labels),
                    taints=like.taints,
                    capacity=like.capacity,
                    allocatable=like.allocatable,
                )
            )
        else:
            raise AssertionError(f"unknown change {change.kind}")
    return work, pod_


def snapshot_state(snap: Snapshot) -> dict[str, Any]:
    return {
        name: (
            [p.pod.key for p in info.pods],
            dict(info.requested),
            list(info.used_ports),
            {k: v for k, v in info.label_index.items() if v},
            info.node,
        )
        for name, info in snap.nodes.items()
    }


def test_dump_fixes_are_ranked_and_each_holds() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    cluster = podfit.load(str(root / "examples" / "dump.yaml"))
    pending = cluster.pods["shop/web-5c7f8d9b4-n6v9r"]
    result = podfit.explain(cluster, pending)
    texts = [f.text for f in result.fixes]
    assert texts[0] == "drop nodeSelector disktype=ssd: then it fits on worker-a2"
    assert any("evict shop/search-indexer-0 from worker-a4" in t for t in texts)
    assert any(t.startswith("add a node like worker-a1") for t in texts)
    sizes = [len(f.changes) for f in result.fixes]
    assert sizes == sorted(sizes)
    for fix in result.fixes:
        work, changed = apply_to_cluster(cluster, result.pod, fix)
        again = schedule_one(work, changed, preemption=False)
        assert again.statuses[fix.node].is_success, fix.text


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scheduling_problems(max_nodes=4, max_running_pods=6))
def test_details_and_fixes_on_generated_clusters(problem: tuple[Cluster, Pod]) -> None:
    cluster, pending = problem
    plain = schedule_one(cluster, pending, preemption=False)
    snapshot = snapshot_of(cluster)
    before = snapshot_state(snapshot)
    result = podfit.explain(cluster, pending)
    # Details and fixes change no verdict, and leave the scheduler's snapshot as it was.
    assert result.statuses == plain.statuses
    assert snapshot_state(snapshot_of(cluster)) == before
    if result.prefilter is None:
        for name, status in result.statuses.items():
            if status.is_rejection:
                assert result.details.get(name), (name, status)
    # Every fix, applied to the cluster itself, lets the pod through the filters there.
    for fix in result.fixes:
        work, changed = apply_to_cluster(cluster, result.pod, fix)
        again = schedule_one(work, changed, preemption=False)
        assert again.statuses[fix.node].is_success, (fix.text, again.statuses[fix.node])
