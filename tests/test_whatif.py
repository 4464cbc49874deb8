"""reference.whatif and ``podfit whatif``: one node change, its evictions, the pods that stay,
where replacements land and what happens to pending pods."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from podfit.cli.common import PodfitGroup
from podfit.cli.whatif import parse_condition, parse_label, parse_taint
from podfit.cli.whatif import whatif as whatif_command
from podfit.cluster import Cluster
from podfit.loading import cluster_from_manifests, load
from podfit.model import (
    Container,
    Node,
    OwnerReference,
    Pod,
    Toleration,
    frozen_map,
)
from podfit.reference.eviction import DrainOptions
from podfit.reference.whatif import (
    ConditionChange,
    CordonChange,
    DrainChange,
    LabelChange,
    TaintChange,
    UncordonChange,
    WhatIfError,
    apply_change,
    change_from_dict,
    change_to_dict,
    describe_seconds,
    whatif,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CLUSTER = str(EXAMPLES / "cluster.yaml")
PENDING = str(EXAMPLES / "pending.yaml")


def node(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "status": {
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def pod(
    name: str, node_name: str = "", owner: str | None = "ReplicaSet", **spec: Any
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if owner:
        meta["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": owner, "name": "o", "uid": "u", "controller": True}
        ]
    body: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}], **spec}
    if node_name:
        body["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": body}


# --- changes --------------------------------------------------------------------------------

CHANGES = [
    TaintChange("n1", "k", "NoExecute", "v"),
    TaintChange("n1", "k", "NoSchedule", remove=True),
    CordonChange("n1"),
    UncordonChange("n1"),
    LabelChange("n1", "zone", "a"),
    LabelChange("n1", "zone", None),
    ConditionChange("n1", "Ready", "False"),
    DrainChange("n1", DrainOptions(ignore_daemonsets=True, force=True)),
]


@pytest.mark.parametrize("change", CHANGES, ids=[c.describe() for c in CHANGES])
def test_change_round_trips_through_its_mapping(change: Any) -> None:
    assert change_from_dict(change_to_dict(change)) == change


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "explode", "node": "n1"}, "unknown change kind"),
        ({"kind": "taint"}, "needs the name of a node"),
        ({"kind": "label", "node": "n1", "key": "k", "value": 3}, "string, or null"),
        ({"kind": "condition", "node": "n1", "type": 5}, "needs a string 'type'"),
    ],
    ids=["kind", "node", "label value", "condition type"],
)
def test_bad_change_mappings(data: dict[str, Any], message: str) -> None:
    with pytest.raises(WhatIfError, match=message):
        change_from_dict(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (CordonChange("nope"), "no node 'nope' in the input \\(nodes: n1, n2\\)"),
        (TaintChange("n1", "k", "Sometimes"), "unknown taint effect"),
        (TaintChange("n1", "", "NoSchedule"), "a taint needs a key"),
        (TaintChange("n1", "k", ""), "needs an effect"),
        (TaintChange("n1", "absent", "NoSchedule", remove=True), "no taint absent"),
        (LabelChange("n1", "absent", None), "no label absent"),
        (ConditionChange("n1", "Sleepy"), "unknown node condition"),
        (ConditionChange("n1", "Ready", "Maybe"), "True, False or Unknown"),
    ],
    ids=[
        "unknown node",
        "effect",
        "key",
        "no effect",
        "remove missing taint",
        "remove missing label",
        "condition type",
        "condition status",
    ],
)
def test_changes_that_cannot_be_applied(change: Any, message: str) -> None:
    cluster = cluster_from_manifests([node("n1"), node("n2")])
    with pytest.raises(WhatIfError, match=message):
        apply_change(cluster, change)


def test_taint_overwrite_and_removal_by_key() -> None:
    cluster = cluster_from_manifests(
        [
            {
                **node("n1"),
                "spec": {
                    "taints": [
                        {"key": "k", "value": "a", "effect": "NoSchedule"},
                        {"key": "k", "effect": "NoExecute"},
                    ]
                },
            }
        ]
    )
    after, notes = apply_change(cluster, TaintChange("n1", "k", "NoSchedule", "b"))
    assert [str(t) for t in after.taints] == ["k:NoExecute", "k=b:NoSchedule"]
    assert notes and "overwrite" in notes[0]
    after, _ = apply_change(cluster, TaintChange("n1", "k", "", remove=True))
    assert after.taints == ()


# --- whatif ------------------------------------------------------------------------------------


def test_whatif_does_not_change_its_input() -> None:
    cluster = load(CLUSTER)
    before = (dict(cluster.nodes), dict(cluster.pods))
    whatif(cluster, TaintChange("node-a1", "k", "NoExecute"))
    assert (dict(cluster.nodes), dict(cluster.pods)) == before


def test_timeline_is_sorted_and_replacements_are_placed() -> None:
    cluster = cluster_from_manifests(
        [
            node("n1"),
            node("n2"),
            pod(
                "late",
                "n1",
                tolerations=[
                    {
                        "key": "k",
                        "operator": "Exists",
                        "effect": "NoExecute",
                        "tolerationSeconds": 90,
                    }
                ],
            ),
            pod("now", "n1"),
            pod("bare", "n1", owner=None),
        ]
    )
    result = whatif(cluster, TaintChange("n1", "k", "NoExecute"))
    assert [(e.pod.name, e.at) for e in result.timeline] == [("bare", 0), ("now", 0), ("late", 90)]
    # "late" tolerates the taint, so the scheduler may put its replacement back on n1.
    assert result.rescheduled == {"default/bare": None, "default/now": "n2", "default/late": "n1"}
    assert result.lost == ["default/bare"]
    assert result.left_without_node == ["default/bare"]
    data = result.to_dict()
    assert data["timeline"][1]["then"] == "its replacement is scheduled to n2"
    assert "evicted again after 90 s" in data["timeline"][2]["then"]
    assert data["node"]["taints"] == {"before": [], "after": ["k:NoExecute"]}


def test_replacement_back_on_the_tainted_node_is_flagged() -> None:
    cluster = cluster_from_manifests(
        [
            node("n1"),
            pod(
                "web",
                "n1",
                tolerations=[
                    {
                        "key": "k",
                        "operator": "Exists",
                        "effect": "NoExecute",
                        "tolerationSeconds": 60,
                    }
                ],
            ),
        ]
    )
    (eviction,) = whatif(cluster, TaintChange("n1", "k", "NoExecute")).timeline
    assert eviction.node == "n1"
    assert "evicted again after 60 s" in eviction.outcome


def test_pending_pods_before_and_after() -> None:
    cluster = cluster_from_manifests(
        [
            {**node("n1"), "spec": {"unschedulable": True}},
            pod("waiting", owner=None),
        ]
    )
    result = whatif(cluster, UncordonChange("n1"), pending=[])
    (change,) = result.pending
    assert (change.before, change.after, change.verdict) == (None, "n1", "becomes schedulable")
    assert "unschedulable" in change.before_message
    back = whatif(
        cluster_from_manifests([node("n1"), pod("waiting", owner=None)]), CordonChange("n1")
    )
    assert back.pending[0].verdict == "stops being schedulable"
    assert back.left_without_node == ["default/waiting"]


def test_extra_pending_pods_join_the_clusters() -> None:
    from podfit.loading import pod_from_manifest

    cluster = cluster_from_manifests([node("n1"), pod("a", owner=None)])
    extra = pod_from_manifest(pod("b", owner=None))
    result = whatif(cluster, CordonChange("n1"), pending=[extra])
    assert sorted(p.pod for p in result.pending) == ["default/a", "default/b"]


def test_label_change_creates_daemon_pods() -> None:
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {
                    "nodeSelector": {"role": "edge"},
                    "containers": [{"name": "c", "image": "busybox"}],
                },
            },
        },
    }
    cluster = cluster_from_manifests([node("n1"), ds])
    result = whatif(cluster, LabelChange("n1", "role", "edge"))
    assert result.daemon_pods == {"created": ["default/agent-n1"], "noLongerCreated": []}
    assert result.timeline == []


def test_memory_pressure_note_and_no_eviction() -> None:
    cluster = cluster_from_manifests([node("n1"), pod("a", "n1")])
    result = whatif(cluster, ConditionChange("n1", "MemoryPressure"))
    assert result.timeline == []
    assert any("kubelet also evicts" in n for n in result.notes)
    assert "NoSchedule taints never evict" in result.kept[0].why


def test_system_tolerations_can_be_switched_off() -> None:
    cluster = cluster_from_manifests([node("n1"), node("n2"), pod("a", "n1")])
    change = ConditionChange("n1", "Ready", "False")
    assert whatif(cluster, change).timeline[0].at == 300
    assert whatif(cluster, change, system_tolerations=False).timeline[0].at == 0


def test_drain_refusal_keeps_everything() -> None:
    cluster = cluster_from_manifests([node("n1"), node("n2"), pod("a", "n1", owner=None)])
    result = whatif(cluster, DrainChange("n1"))
    assert result.refused and result.timeline == [] and result.left_without_node == []
    assert result.to_dict()["drain"]["command"] == "kubectl drain n1"


def test_describe_seconds() -> None:
    assert [describe_seconds(x) for x in (None, 0, 45, 300)] == [
        "blocked",
        "0s",
        "45s",
        "300s (5m)",
    ]


# --- properties ---------------------------------------------------------------------------------

tolerations_st = st.lists(
    st.builds(
        Toleration,
        key=st.sampled_from(["", "k", "other"]),
        operator=st.sampled_from(["Exists", "Equal"]),
        value=st.just(""),
        effect=st.sampled_from(["", "NoSchedule", "PreferNoSchedule", "NoExecute"]),
        toleration_seconds=st.one_of(st.none(), st.integers(-5, 500)),
    ).filter(lambda t: t.key or t.operator == "Exists"),
    max_size=3,
)


def running(name: str, tolerations: list[Toleration], kind: str | None) -> Pod:
    refs = () if kind is None else (OwnerReference(kind, "o", controller=True),)
    return Pod(
        name=name,
        node_name="n1",
        containers=(Container(name="c"),),
        tolerations=tuple(tolerations),
        owner_references=refs,
    )


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["NoSchedule", "PreferNoSchedule"]),
    st.sampled_from(["k", "other", "node.kubernetes.io/not-ready"]),
    st.lists(
        st.tuples(tolerations_st, st.sampled_from([None, "ReplicaSet", "DaemonSet"])), max_size=4
    ),
)
def test_soft_taint_never_evicts_anything(
    effect: str, key: str, specs: list[tuple[list[Toleration], str | None]]
) -> None:
    pods = [running(f"p{i}", tols, kind) for i, (tols, kind) in enumerate(specs)]
    cluster = Cluster([Node(name="n1"), Node(name="n2"), *pods])
    result = whatif(cluster, TaintChange("n1", key, effect))
    assert result.timeline == []
    assert len(result.kept) == len(pods)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from(["DaemonSet", "static", "ReplicaSet", None]), max_size=6),
    st.booleans(),
    st.booleans(),
)
def test_drain_leaves_daemonset_and_static_pods(
    kinds: list[str | None], ignore_daemonsets: bool, force: bool
) -> None:
    pods = []
    for i, kind in enumerate(kinds):
        p = running(f"p{i}", [], None if kind == "static" else kind)
        if kind == "static":
            p = replace(
                p,
                annotations=frozen_map(
                    {"kubernetes.io/config.mirror": "h", "kubernetes.io/config.source": "file"}
                ),
            )
        pods.append(p)
    cluster = Cluster([Node(name="n1"), Node(name="n2"), *pods])
    options = DrainOptions(ignore_daemonsets=ignore_daemonsets, force=force)
    result = whatif(cluster, DrainChange("n1", options))
    evicted = {e.pod.key for e in result.timeline}
    for p, kind in zip(pods, kinds, strict=True):
        if kind in ("DaemonSet", "static"):
            assert p.key not in evicted
            assert any(k.pod.key == p.key for k in result.kept)
    assert result.node_after.unschedulable


# --- the command line ------------------------------------------------------------------------------

GROUP = PodfitGroup(name="podfit", commands={"whatif": whatif_command})


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(GROUP, ["whatif", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("n1=k=v:NoExecute", TaintChange("n1", "k", "NoExecute", "v")),
        ("n1=k:NoSchedule", TaintChange("n1", "k", "NoSchedule")),
        (
            "n1=example.com/k=v:PreferNoSchedule",
            TaintChange("n1", "example.com/k", "PreferNoSchedule", "v"),
        ),
        ("n1=k:NoSchedule-", TaintChange("n1", "k", "NoSchedule", remove=True)),
        ("n1=k-", TaintChange("n1", "k", "", remove=True)),
    ],
    ids=["key value effect", "key effect", "prefixed key", "remove", "remove every effect"],
)
def test_parse_taint(spec: str, expected: TaintChange) -> None:
    assert parse_taint(spec) == expected


def test_parse_label_and_condition() -> None:
    assert parse_label("n1", "disktype-") == LabelChange("n1", "disktype", None)
    assert parse_label("n1", "a=b") == LabelChange("n1", "a", "b")
    assert parse_condition("n1=Ready=False") == ConditionChange("n1", "Ready", "False")
    assert parse_condition("n1=MemoryPressure") == ConditionChange("n1", "MemoryPressure", "True")


def test_cli_text_timeline() -> None:
    code, out, _ = run("-f", CLUSTER, "--taint", "node-a1=maint=now:NoExecute")
    assert code == 1
    assert "What if: taint node-a1 with maint=now:NoExecute" in out
    assert "Evictions" in out and "shop/web-1" in out and "lost" in out
    assert "left without a node by the change: shop/web-1" in out


def test_cli_cordon_exits_0_and_lists_moved_pending_pods() -> None:
    code, out, _ = run("-f", CLUSTER, "--cordon", "node-a1", "--pending", PENDING)
    assert code == 0, out
    assert "No pod is evicted." in out
    assert "shop/batch-1" in out and "moves" in out
    assert "the change leaves no pod without a node" in out


def test_cli_json_and_yaml() -> None:
    code, out, _ = run("-f", CLUSTER, "--condition", "node-b1=Ready=False", "-o", "json")
    data = json.loads(out)
    assert code == 1
    assert data["change"] == {
        "kind": "condition",
        "node": "node-b1",
        "type": "Ready",
        "status": "False",
    }
    assert data["timeline"][0]["pod"] == "shop/web-2" and data["timeline"][0]["at"] == 300
    code, out, _ = run("-f", CLUSTER, "--label", "node-a1", "disktype-", "-o", "yaml")
    data = yaml.safe_load(out)
    assert code == 0 and data["timeline"] == []
    assert "disktype" not in data["node"]["labels"]["after"]


def test_cli_drain() -> None:
    code, out, _ = run("-f", CLUSTER, "--drain", "node-a2")
    assert code == 1
    assert (
        "$ kubectl drain node-a2" in out and "cannot delete Pods that declare no controller" in out
    )
    code, out, _ = run("-f", CLUSTER, "--drain", "node-a2", "--force", "-o", "json")
    data = json.loads(out)
    assert code == 1 and data["lost"] == ["shop/report-job"]
    assert data["drain"]["warnings"] == [
        "deleting Pods that declare no controller: shop/report-job"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give exactly one change"),
        (("--cordon", "node-a1", "--uncordon", "node-a1"), "got --cordon, --uncordon"),
        (("--cordon", "nope"), "no node 'nope' in the input"),
        (("--taint", "node-a1"), "--taint"),
        (("--taint", "node-a1=k"), "needs a key and an effect"),
        (("--taint", "node-a1=k:Sometimes"), "unknown taint effect"),
        (("--label", "node-a1", "novalue"), "KEY=VALUE or KEY-"),
        (("--condition", "node-a1"), "NODE=TYPE"),
        (("--condition", "node-a1=Hungry"), "unknown node condition"),
        (("--cordon", "node-a1", "--force"), "go with --drain"),
    ],
    ids=[
        "none",
        "two",
        "unknown node",
        "taint without key",
        "taint without effect",
        "bad effect",
        "label",
        "condition",
        "condition type",
        "force without drain",
    ],
)
def test_cli_bad_input_exits_2(args: tuple[str, ...], message: str) -> None:
    code, out, err = run("-f", CLUSTER, *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in out + err


def test_cli_unreadable_cluster_exits_2(tmp_path: Path) -> None:
    code, _, err = run("-f", str(tmp_path / "missing.yaml"), "--cordon", "n1")
    assert code == 2 and err.startswith("podfit: error: ")


def test_cli_condition_on_node_taints_shown(tmp_path: Path) -> None:
    cluster = tmp_path / "c.yaml"
    cluster.write_text(yaml.safe_dump_all([node("n1"), node("n2"), pod("a", "n1")]))
    code, out, _ = run("-f", str(cluster), "--condition", "n1=Ready=Unknown")
    assert code == 0
    assert "node.kubernetes.io/unreachable:NoExecute" in out
    assert "300s (5m)" in out


def test_an_already_scheduled_deletion_keeps_its_deadline() -> None:
    """processPodOnNode does not restart (or shorten) a timed deletion it already
    scheduled while the pod stays tolerated with seconds."""
    timed = {"operator": "Exists", "effect": "NoExecute"}
    cluster = cluster_from_manifests(
        [
            {**node("n1"), "spec": {"taints": [{"key": "a", "effect": "NoExecute"}]}},
            pod(
                "p",
                "n1",
                tolerations=[
                    {**timed, "key": "a", "tolerationSeconds": 100},
                    {**timed, "key": "b", "tolerationSeconds": 30},
                ],
            ),
        ]
    )
    (eviction,) = whatif(cluster, TaintChange("n1", "b", "NoExecute")).timeline
    assert eviction.at == 100
    assert "keeps that deadline" in eviction.why
    # Without the earlier taint the new 30 s apply.
    fresh = cluster_from_manifests(
        [node("n1"), pod("p", "n1", tolerations=[{**timed, "key": "b", "tolerationSeconds": 30}])]
    )
    assert whatif(fresh, TaintChange("n1", "b", "NoExecute")).timeline[0].at == 30


def test_condition_shorthands_name_the_ready_condition() -> None:
    from podfit.cli.whatif import parse_condition

    not_ready = parse_condition("node-a=NotReady")
    assert (not_ready.node, not_ready.type, not_ready.status) == ("node-a", "Ready", "False")
    unreachable = parse_condition("node-a=Unreachable")
    assert (unreachable.type, unreachable.status) == ("Ready", "Unknown")
    explicit = parse_condition("node-a=MemoryPressure")
    assert (explicit.type, explicit.status) == ("MemoryPressure", "True")
