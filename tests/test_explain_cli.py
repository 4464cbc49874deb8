"""``podfit explain`` on a realistic ``kubectl get -o yaml`` dump, as a person reads it:
kube-scheduler's reasons verbatim with the cause beside them, the same words in text, JSON
and HTML, preemption's outcome, confirmed fixes, grouping for many nodes, 100 columns."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

import podfit
from podfit.cli import cli
from podfit.html import render_explain
from podfit.loading import cluster_from_manifests, pod_from_manifest
from podfit.render import WIDTH, explain_view

ROOT = Path(__file__).resolve().parent.parent
DUMP = str(ROOT / "examples" / "dump.yaml")
PENDING = "shop/web-5c7f8d9b4-n6v9r"
# kube-scheduler v1.36.2's message for this pod (the oracle, and the dump's PodScheduled).
UPSTREAM = (
    "0/9 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 node(s) didn't "
    "match Pod's node affinity/selector, 1 node(s) didn't match pod anti-affinity rules, 1 "
    "node(s) didn't match pod topology spread constraints, 1 node(s) didn't satisfy existing "
    "pods anti-affinity rules, 1 node(s) were unschedulable, 2 node(s) had untolerated taint(s)."
)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout


def flat(text: str) -> str:
    return " ".join(text.split())


def test_text_has_the_reasons_verbatim_and_the_causes() -> None:
    code, out = run("explain", "-f", DUMP, "--pod", PENDING)
    assert code == 1
    text = flat(out)
    assert UPSTREAM in text  # the message, word for word
    for line in (
        "cp-1 TaintToleration: node(s) had untolerated taint(s) · untolerated taint "
        "node-role.kubernetes.io/control-plane:NoSchedule",
        "worker-a1 NodeResourcesFit: Insufficient cpu · cpu: requests 500m, 420m free of 3920m",
        "worker-a2 NodeAffinity: node(s) didn't match Pod's node affinity/selector · "
        "nodeSelector disktype=ssd: the node has disktype=hdd",
        "shop/web-5c7f8d9b4-t5mzd runs in kubernetes.io/hostname=worker-a3",
        "worker-b2 NodeResourcesFit: Insufficient memory · memory: requests 1Gi, 628Mi free of "
        "14.8Gi",
        "Preemption: would evict batch/ingest-6d9f7c8b5-k9t4q on worker-a1",
        "evicting batch/ingest-6d9f7c8b5-k9t4q violates PodDisruptionBudget batch/ingest",
        "1. drop nodeSelector disktype=ssd: then it fits on worker-a2",
    ):
        assert line in text, line


def test_every_line_fits_and_no_word_is_split() -> None:
    _, out = run("explain", "-f", DUMP, "--pod", PENDING)
    assert max(len(line) for line in out.splitlines()) <= WIDTH
    words = set(out.split())
    _, raw = run("explain", "-f", DUMP, "--pod", PENDING, "-o", "json")
    data = json.loads(raw)
    for node in data["nodes"]:
        for why in node.get("why", []):
            assert set(why["text"].split()) <= words, why["text"]
    for fix in data["fixes"]:
        assert set(fix["text"].split()) <= words


def test_json_and_html_say_the_same_words() -> None:
    _, raw = run("explain", "-f", DUMP, "--pod", PENDING, "-o", "json")
    data = json.loads(raw)
    page = render_explain(data)
    nodes = {n["name"]: n for n in data["nodes"]}
    taint = nodes["gpu-b3"]["why"][0]
    assert taint["kind"] == "untoleratedTaint"
    assert taint["taint"] == {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
    memory = nodes["worker-b2"]["why"][0]
    assert (memory["resource"], memory["requested"], memory["free"]) == (
        "memory",
        "1Gi",
        "643008Ki",
    )
    spread = nodes["worker-b4"]["why"][0]
    assert (spread["domain"], spread["count"], spread["minimum"], spread["skew"]) == (
        "eu-west-1b",
        2,
        1,
        2,
    )
    existing = nodes["worker-a4"]["why"][0]
    assert existing["pods"] == ["shop/search-indexer-0"]
    assert data["preemption"]["violates"] == [
        {"pod": "batch/ingest-6d9f7c8b5-k9t4q", "podDisruptionBudget": "batch/ingest"}
    ]
    assert data["message"] == UPSTREAM
    for node in data["nodes"]:
        for why in node.get("why", []):
            assert why["text"].replace("'", "&#x27;") in page
    for fix in data["fixes"]:
        assert fix["changes"] and fix["node"]
        assert fix["text"] in page


def big_cluster(nodes: int) -> dict[str, object]:
    manifests = []
    for i in range(nodes):
        labels = {"kubernetes.io/hostname": f"n{i}", "disktype": "hdd" if i % 3 else "nvme"}
        if i % 50 == 0:
            labels.pop("disktype")
        manifests.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": f"n{i}", "labels": labels},
                "spec": {"taints": [{"key": "gpu", "effect": "NoSchedule"}]} if i % 7 == 0 else {},
                "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}},
            }
        )
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"nodeSelector": {"disktype": "ssd"}, "containers": [{"name": "c", "image": "x"}]},
    }
    result = podfit.explain(cluster_from_manifests(manifests), pod_from_manifest(pod))
    return result.to_dict()


def test_many_nodes_are_grouped_by_reason_and_listed_on_request() -> None:
    d = big_cluster(300)
    grouped = explain_view(d)
    assert "Rejected: 300 nodes" in grouped
    assert re.search(
        r"257 nodes: NodeAffinity: node\(s\) didn't match Pod's node affinity/selector", grouped
    )
    assert "43 nodes: TaintToleration: node(s) had untolerated taint(s)" in grouped
    assert "nodeSelector disktype=ssd: the node has disktype=hdd" in grouped
    assert "(--all-nodes lists every node)" in grouped
    assert len(grouped.splitlines()) < 30
    listed = explain_view(d, all_nodes=True)
    assert len(listed.splitlines()) > 600
    for text in (grouped, listed):
        assert max(len(line) for line in text.splitlines()) <= WIDTH
    help_text = CliRunner().invoke(cli, ["explain", "--help"]).stdout
    assert "--all-nodes" in help_text


def test_unmodelled_volume_warning_is_in_the_text(tmp_path: Path) -> None:
    pod = tmp_path / "pod.yaml"
    pod.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: db, namespace: shop}\nspec:\n"
        "  containers: [{name: c, image: x}]\n"
        "  volumes: [{name: data, persistentVolumeClaim: {claimName: data-db-0}}]\n"
    )
    _, out = run("explain", "-f", DUMP, "--pod", str(pod))
    assert "warning: the pod has volumes the scheduler's volume plugins check: data" in flat(out)
