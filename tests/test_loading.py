"""Loading manifests: formats users have, and a clear located error for every mistake."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

import podfit
from podfit.errors import ManifestError
from podfit.loading import LoadReport

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DATA = Path(__file__).resolve().parent / "data"

NODE = """apiVersion: v1
kind: Node
metadata: {name: n1, labels: {zone: a}}
status: {allocatable: {cpu: "2", memory: 4Gi, pods: "10"}}
"""


def test_example_cluster_loads() -> None:
    report = LoadReport()
    cluster = podfit.load(EXAMPLES / "cluster.yaml", report=report)
    assert set(cluster.nodes) == {"node-a1", "node-a2", "node-b1", "node-b2", "gpu-1"}
    # Services are kept: PodTopologySpread's default constraints spread what they select.
    assert report.skipped == {}
    assert report.loaded["Service"] == 1
    assert cluster.services["shop/web"].selector == {"app": "web"}
    assert cluster.pods["shop/web-1"].node_name == "node-a1"
    # Priority resolved from the class named, and from the globalDefault class otherwise.
    assert cluster.pods["shop/web-1"].priority == 1000
    assert cluster.pods["shop/report-job"].priority == 10
    assert {p.name for p in cluster.pods_on("node-a2")} == {"report-job", "old-job"}


def test_kubectl_list_dump_loads() -> None:
    report = LoadReport()
    cluster = podfit.load(DATA / "kubectl-dump.yaml", report=report)
    assert list(cluster.nodes) == ["kind-control-plane"]
    node = cluster.nodes["kind-control-plane"]
    assert node.taints[0].key == "node-role.kubernetes.io/control-plane"
    assert node.allocatable["memory"].value == 32657480 * 1024
    pod = cluster.pods["kube-system/coredns-6f6b679f8f-8x2vq"]
    assert pod.priority == 2000000000
    assert pod.controller is not None and pod.controller.kind == "ReplicaSet"
    assert report.skipped == {}
    # A Service without spec.selector selects no pods.
    assert cluster.services["kube-system/kube-dns"].selector is None
    assert cluster.namespace_labels("kube-system") == {"kubernetes.io/metadata.name": "kube-system"}


def test_multiple_files_and_streams() -> None:
    pod = io.StringIO(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  nodeName: n1\n"
        "  containers: [{name: c, image: x}]\n"
    )
    cluster = podfit.load(io.StringIO(NODE), pod)
    assert cluster.pods_on("n1")[0].name == "p"


def test_load_pod_requires_exactly_one(write) -> None:  # type: ignore[no-untyped-def]
    two = write(
        "two.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c}]}\n---\n"
        "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec: {containers: [{name: c}]}\n",
    )
    with pytest.raises(ManifestError, match="expected exactly one Pod, found 2"):
        podfit.load_pod(two)


def test_round_trip_through_manifests() -> None:
    cluster = podfit.load(EXAMPLES / "cluster.yaml")
    again = podfit.load(io.StringIO(podfit_dump(cluster)))
    assert again.nodes == cluster.nodes
    assert again.pods == cluster.pods
    assert again.limit_ranges == cluster.limit_ranges
    assert again.resource_quotas == cluster.resource_quotas
    assert again.services == cluster.services


def podfit_dump(cluster: podfit.Cluster) -> str:
    from podfit.output import to_yaml

    return to_yaml([podfit.to_manifest(o) for o in cluster.objects()], many=True)


# Each bad input: file text, then pieces the message must contain.
BAD = {
    "invalid quantity": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n"
        "  - name: c\n    resources: {requests: {cpu: 1.2.3}}\n",
        ["document 1 (Pod default/web)", "spec.containers[0].resources.requests.cpu", "1.2.3"],
    ),
    "upper-case K suffix": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n"
        "  - name: c\n    resources: {limits: {memory: 1K}}\n",
        ["spec.containers[0].resources.limits.memory", "1K"],
    ),
    "negative request": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n"
        "  - name: c\n    resources: {requests: {cpu: '-1'}}\n",
        ["spec.containers[0].resources.requests.cpu", "greater than or equal to 0"],
    ),
    "tab indentation": (
        "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: web\n",
        ["document 1", "invalid YAML", "line 4"],
    ),
    "duplicate key": (
        "apiVersion: v1\nkind: Node\nmetadata: {name: a}\nmetadata: {name: b}\n",
        ["duplicate key 'metadata'"],
    ),
    "unknown core kind": (
        "apiVersion: v1\nkind: Pood\nmetadata: {name: a}\n",
        ["unknown kind 'Pood'"],
    ),
    "wrong apiVersion": (
        "apiVersion: apps/v1\nkind: Pod\nmetadata: {name: a}\n",
        ["apiVersion", "unknown apiVersion 'apps/v1' for kind Pod"],
    ),
    "missing kind": ("apiVersion: v1\nmetadata: {name: a}\n", ["kind: is required"]),
    "not a mapping": ("- a\n- b\n", ["expected a Kubernetes object"]),
    "unknown toleration operator": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c}]\n"
        "  tolerations: [{key: k, operator: Equals, value: v}]\n",
        ["spec.tolerations[0].operator", 'Unsupported value: "Equals"', '"Equal", "Exists"'],
    ),
    "unknown selector operator": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c}]\n"
        "  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n"
        "        nodeSelectorTerms:\n        - matchExpressions: [{key: a, operator: Gte, values: ['1']}]\n",
        ["nodeSelectorTerms[0].matchExpressions[0].operator", "Gte"],
    ),
    "Gt with two values": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c}]\n"
        "  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n"
        "        nodeSelectorTerms:\n        - matchExpressions: [{key: a, operator: Gt, values: ['1', '2']}]\n",
        ["matchExpressions[0].values", "must be specified single value"],
    ),
    "In without values": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c}]\n"
        "  affinity:\n    podAntiAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n"
        "      - topologyKey: zone\n        labelSelector: {matchExpressions: [{key: a, operator: In}]}\n",
        ["matchExpressions[0].values", "must be specified"],
    ),
    "label value not a string": (
        "apiVersion: v1\nkind: Node\nmetadata: {name: n, labels: {gpu: true}}\n",
        ["metadata.labels.gpu", "expected a string, got boolean"],
    ),
    "invalid label key": (
        "apiVersion: v1\nkind: Node\nmetadata: {name: n, labels: {'-bad': x}}\n",
        ["metadata.labels", 'Invalid value: "-bad": name part must consist of'],
    ),
    "invalid label value": (
        "apiVersion: v1\nkind: Node\nmetadata: {name: n, labels: {a: 'has space'}}\n",
        ["metadata.labels.a", 'Invalid value: "has space": a valid label must be'],
    ),
    "no containers": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n",
        ["spec.containers", "Required value"],
    ),
    "missing name": (
        "apiVersion: v1\nkind: Node\nmetadata: {}\n",
        ["metadata.name: Required value: name or generateName is required"],
    ),
    "wrong type for list": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: {name: c}}\n",
        ["spec.containers", "expected a list, got mapping"],
    ),
    "taint effect": (
        "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nspec: {taints: [{key: k, effect: NoSchedul}]}\n",
        ["spec.taints[0].effect", "NoSchedul"],
    ),
    "host port out of range": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "  - {name: c, ports: [{containerPort: 80, hostPort: 70000}]}\n",
        ["spec.containers[0].ports[0].hostPort", "between 1 and 65535"],
    ),
    "item in a List": (
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Node\n  metadata: {name: a}\n"
        "- apiVersion: v1\n  kind: Node\n  metadata: {name: b}\n  spec: {unschedulable: 'yes'}\n",
        ["document 1 (Node b)", "items[1].spec.unschedulable", "expected true or false"],
    ),
    "second document": (
        NODE
        + "---\napiVersion: v1\nkind: Node\nmetadata: {name: n2}\nstatus: {capacity: {cpu: lots}}\n",
        ["document 2 (Node n2)", "status.capacity.cpu"],
    ),
    "duplicate object": (NODE + "---\n" + NODE, ["document 2 (Node n1)", "duplicate Node n1"]),
    "pod bound to missing node": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {nodeName: ghost, containers: [{name: c}]}\n",
        ["Pod default/p", "spec.nodeName", "ghost"],
    ),
    "unknown priority class": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {priorityClassName: gold, containers: [{name: c}]}\n",
        ["spec.priorityClassName", "no PriorityClass with name gold"],
    ),
}


@pytest.mark.parametrize("text,pieces", list(BAD.values()), ids=list(BAD))
def test_bad_input_is_located(write, text: str, pieces: list[str]) -> None:  # type: ignore[no-untyped-def]
    path = write("bad.yaml", text)
    with pytest.raises(ManifestError) as info:
        podfit.load(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    for piece in pieces:
        assert piece in message, message


def test_missing_file_directory_binary_empty(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no such file"):
        podfit.load(tmp_path / "nope.yaml")
    with pytest.raises(ManifestError, match="is a directory"):
        podfit.load(tmp_path)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\x7fELF\x00\x01\x02")
    with pytest.raises(ManifestError, match="binary file"):
        podfit.load(binary)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert len(podfit.load(empty).nodes) == 0


def test_alias_bomb_is_bounded(write) -> None:  # type: ignore[no-untyped-def]
    # Eleven levels of ten-fold aliases: 10**11 strings if anything expanded them.
    lines = ["  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]
    text = (
        "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nextra:\n"
        + "\n".join(lines)
        + "\nspec:\n  taints: *a11\n"
    )
    with pytest.raises(ManifestError, match=r"document 1: .*excessive aliasing"):
        podfit.load(write("bomb.yaml", text))


def test_yaml_is_read_without_libyaml_too(tmp_path: Path) -> None:
    """libyaml's C loader where PyYAML has it; without it, the pure-Python one, with the
    same strictness (duplicate keys) and the same spec."""
    import subprocess
    import sys

    dup = tmp_path / "dup.yaml"
    dup.write_text("apiVersion: v1\nkind: Node\nmetadata: {name: a}\nmetadata: {name: b}\n")
    code = (
        "import yaml\n"
        "for name in ('CSafeLoader', 'CLoader', 'CBaseLoader'):\n"
        "    if hasattr(yaml, name): delattr(yaml, name)\n"
        "import podfit, podfit.spec, podfit.loading\n"
        "assert podfit.loading._SafeLoader is yaml.SafeLoader\n"
        "print(len(podfit.spec.rules()))\n"
        "print(len(podfit.load('examples/cluster.yaml').nodes))\n"
        "try:\n"
        f"    podfit.load({str(dup)!r})\n"
        "except podfit.errors.PodfitError as exc:\n"
        "    print('refused:', exc)\n"
    )
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PODFIT_CACHE_DIR": "off"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rules, nodes, refused = done.stdout.splitlines()
    assert int(rules) > 100 and int(nodes) == 5
    assert "duplicate key 'metadata'" in refused


def test_priorities_resolved_in_place_only_for_pods_the_cluster_owns() -> None:
    """A fresh load writes resolved priorities into its own pods; finishing a cluster of
    pods that something else holds copies them (the originals stay unresolved)."""
    from podfit.cluster import Cluster
    from podfit.model import Container, PriorityClass
    from podfit.model import Pod as PodModel

    default = PriorityClass(name="normal", value=7, global_default=True)
    held = PodModel(name="p", containers=(Container(name="c"),))
    cluster = Cluster()
    cluster.add(default)
    cluster.add(held)
    cluster.finish()
    assert held.priority is None
    assert cluster.pods["default/p"].priority == 7
    assert cluster.pods["default/p"].priority_class_name == "normal"

    owned = PodModel(name="q", containers=(Container(name="c"),))
    fresh = Cluster()
    fresh.add(default)
    fresh.add(owned)
    fresh.finish(owned=True)
    assert fresh.pods["default/q"] is owned
    assert (owned.priority, owned.priority_class_name) == (7, "normal")

    loaded = podfit.load(
        io.StringIO(
            "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: normal}\n"
            "value: 7\nglobalDefault: true\n---\napiVersion: v1\nkind: Pod\n"
            "metadata: {name: r}\nspec: {containers: [{name: c, image: x}]}\n"
        )
    )
    assert loaded.pods["default/r"].priority == 7
    assert loaded.pods["default/r"].preemption_policy == "PreemptLowerPriority"
