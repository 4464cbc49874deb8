"""Hostile input through the command line: every one exits 2 with a one-line
``podfit: error:`` that says where (file, document, field), never a traceback.

``tests/test_loading.py`` checks the loader's messages at the Python level; this file drives
the four commands that read manifests (validate, explain, admit, simulate) end to end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from podfit.cli import cli

NODE = (
    "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n"
    "status: {allocatable: {cpu: '4', memory: 8Gi, pods: '110'}}\n"
)
POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n"
CONFIG = (
    "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"
    "profiles: [{schedulerName: default-scheduler}]\n"
)


def pod_spec(extra: str) -> str:
    """A Pod whose spec holds one container plus ``extra`` (YAML flow mapping entries)."""
    return f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec: {{containers: [{{name: c}}], {extra}}}\n"


def container(extra: str) -> str:
    return f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec: {{containers: [{{name: c, {extra}}}]}}\n"


def node(extra: str) -> str:
    return f"apiVersion: v1\nkind: Node\nmetadata: {{name: n2}}\n{extra}\n"


def required_expr(expr: str) -> str:
    return pod_spec(
        "affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: "
        f"{{nodeSelectorTerms: [{{matchExpressions: [{expr}]}}]}}}}}}"
    )


def alias_bomb() -> str:
    lines = ["  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    return (
        "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nx:\n"
        + "\n".join(lines)
        + ("\nmetadata2: *a9\nspec: {taints: *a9}\n")
    )


# name -> (manifest text, pieces the one-line message must contain). The text goes in the
# cluster file (-f); the pod file holds a valid pod unless the row is about the pod file.
MANIFESTS: dict[str, tuple[str | bytes, list[str]]] = {
    "malformed YAML": ("apiVersion: v1\nkind: Node\nmetadata: {name: [\n", ["invalid YAML"]),
    "unclosed quote": ("apiVersion: 'v1\nkind: Node\n", ["document 1", "invalid YAML"]),
    "tab indentation": (
        "apiVersion: v1\nkind: Node\nmetadata:\n\tname: n1\n",
        ["document 1", "line 4", "tabs"],
    ),
    "duplicate key": (
        "apiVersion: v1\nkind: Node\nmetadata: {name: a, name: b}\n",
        ["document 1", "duplicate key 'name'"],
    ),
    "alias bomb": (alias_bomb(), ["document 1"]),
    "unknown kind": ("apiVersion: v1\nkind: Nod\nmetadata: {name: a}\n", ["unknown kind 'Nod'"]),
    "unknown apiVersion": (
        "apiVersion: v2\nkind: Node\nmetadata: {name: a}\n",
        ["apiVersion", "'v2'"],
    ),
    "apiVersion not a string": (
        "apiVersion: 1\nkind: Node\nmetadata: {name: a}\n",
        ["apiVersion"],
    ),
    "kind not a string": ("apiVersion: v1\nkind: [Node]\nmetadata: {name: a}\n", ["kind"]),
    "document is a list": ("- apiVersion: v1\n", ["document 1"]),
    "document is a scalar": ("just text\n", ["document 1"]),
    "metadata as list": ("apiVersion: v1\nkind: Node\nmetadata: [a]\n", ["metadata"]),
    "name as mapping": (
        "apiVersion: v1\nkind: Node\nmetadata: {name: {a: b}}\n",
        ["metadata.name"],
    ),
    "labels as list": (
        "apiVersion: v1\nkind: Node\nmetadata: {name: n1, labels: [a, b]}\n",
        ["metadata.labels", "expected a mapping"],
    ),
    "label value as list": (
        "apiVersion: v1\nkind: Node\nmetadata: {name: n1, labels: {a: [b]}}\n",
        ["metadata.labels.a"],
    ),
    "label key too long": (
        "apiVersion: v1\nkind: Node\nmetadata: {name: n1, labels: {" + "k" * 64 + ": v}}\n",
        ["metadata.labels", "invalid label key"],
    ),
    "label key integer": (
        "apiVersion: v1\nkind: Node\nmetadata: {name: n1, labels: {1: v}}\n",
        ["metadata.labels"],
    ),
    "label value too long": (
        "apiVersion: v1\nkind: Node\nmetadata: {name: n1, labels: {a: " + "v" * 64 + "}}\n",
        ["metadata.labels.a", "invalid label value"],
    ),
    "containers as mapping": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: {name: c}}\n",
        ["spec.containers", "expected a list"],
    ),
    "container as string": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [c]}\n",
        ["spec.containers[0]"],
    ),
    "spec as string": ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: big\n", ["spec"]),
    "resources as string": (container("resources: lots"), ["spec.containers[0].resources"]),
    "requests as list": (
        container("resources: {requests: [cpu]}"),
        ["spec.containers[0].resources.requests"],
    ),
    "invalid quantity": (
        container("resources: {requests: {cpu: 1.2.3}}"),
        ["spec.containers[0].resources.requests.cpu"],
    ),
    "quantity as list": (
        container("resources: {requests: {memory: [1Gi]}}"),
        ["spec.containers[0].resources.requests.memory"],
    ),
    "quantity as boolean": (
        container("resources: {limits: {cpu: true}}"),
        ["spec.containers[0].resources.limits.cpu"],
    ),
    "negative request": (
        container("resources: {requests: {memory: -1Gi}}"),
        ["spec.containers[0].resources.requests.memory"],
    ),
    "absurd float request": (
        container("resources: {requests: {cpu: 1.0e+400}}"),
        ["spec.containers[0].resources.requests.cpu"],
    ),
    "infinite request": (
        container("resources: {requests: {cpu: .inf}}"),
        ["spec.containers[0].resources.requests.cpu"],
    ),
    "NaN request": (
        container("resources: {requests: {cpu: .nan}}"),
        ["spec.containers[0].resources.requests.cpu"],
    ),
    "huge exponent request": (
        container("resources: {requests: {cpu: 1e999999999}}"),
        ["spec.containers[0].resources.requests.cpu"],
    ),
    "negative capacity": (
        node("status: {capacity: {cpu: '-4'}}"),
        ["Node n2", "status.capacity.cpu"],
    ),
    "taints as mapping": (
        node("spec: {taints: {key: k, effect: NoSchedule}}"),
        ["spec.taints", "expected a list"],
    ),
    "taint without effect": (node("spec: {taints: [{key: k}]}"), ["spec.taints[0].effect"]),
    "tolerations as mapping": (
        pod_spec("tolerations: {key: k}"),
        ["spec.tolerations", "expected a list"],
    ),
    "tolerationSeconds as string": (
        pod_spec("tolerations: [{key: k, effect: NoExecute, tolerationSeconds: soon}]"),
        ["spec.tolerations[0].tolerationSeconds"],
    ),
    "tolerationSeconds as float": (
        pod_spec("tolerations: [{key: k, effect: NoExecute, tolerationSeconds: 1.5}]"),
        ["spec.tolerations[0].tolerationSeconds"],
    ),
    "toleration operator unknown": (
        pod_spec("tolerations: [{key: k, operator: Maybe}]"),
        ["spec.tolerations[0].operator", "Maybe"],
    ),
    "priority as string": (pod_spec("priority: high"), ["spec.priority"]),
    "priority beyond int32": (pod_spec("priority: 99999999999"), ["spec.priority"]),
    "nodeSelector as list": (pod_spec("nodeSelector: [a]"), ["spec.nodeSelector"]),
    "nodeName as list": (pod_spec("nodeName: [n1]"), ["spec.nodeName"]),
    "schedulerName as mapping": (pod_spec("schedulerName: {a: b}"), ["spec.schedulerName"]),
    "maxSkew 0": (
        pod_spec(
            "topologySpreadConstraints: [{maxSkew: 0, topologyKey: zone, "
            "whenUnsatisfiable: DoNotSchedule, labelSelector: {}}]"
        ),
        ["spec.topologySpreadConstraints[0].maxSkew"],
    ),
    "maxSkew as string": (
        pod_spec(
            "topologySpreadConstraints: [{maxSkew: one, topologyKey: zone, "
            "whenUnsatisfiable: DoNotSchedule}]"
        ),
        ["spec.topologySpreadConstraints[0].maxSkew"],
    ),
    "whenUnsatisfiable unknown": (
        pod_spec(
            "topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, "
            "whenUnsatisfiable: Sometimes}]"
        ),
        ["spec.topologySpreadConstraints[0].whenUnsatisfiable"],
    ),
    "preferred weight 0": (
        pod_spec(
            "affinity: {nodeAffinity: {preferredDuringSchedulingIgnoredDuringExecution: "
            "[{weight: 0, preference: {matchExpressions: [{key: a, operator: Exists}]}}]}}"
        ),
        ["preferredDuringSchedulingIgnoredDuringExecution[0].weight"],
    ),
    "preferred weight 101": (
        pod_spec(
            "affinity: {nodeAffinity: {preferredDuringSchedulingIgnoredDuringExecution: "
            "[{weight: 101, preference: {matchExpressions: [{key: a, operator: Exists}]}}]}}"
        ),
        ["preferredDuringSchedulingIgnoredDuringExecution[0].weight"],
    ),
    "pod anti-affinity weight 101": (
        pod_spec(
            "affinity: {podAntiAffinity: {preferredDuringSchedulingIgnoredDuringExecution: "
            "[{weight: 101, podAffinityTerm: {topologyKey: zone, labelSelector: {}}}]}}"
        ),
        ["podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight"],
    ),
    "affinity as list": (pod_spec("affinity: [a]"), ["spec.affinity"]),
    "unknown node selector operator": (
        required_expr("{key: a, operator: Like, values: [b]}"),
        ["matchExpressions[0].operator", "Like"],
    ),
    "Gt with a word": (
        required_expr("{key: a, operator: Gt, values: [ten]}"),
        ["matchExpressions[0].values[0]"],
    ),
    "Lt with a float": (
        required_expr("{key: a, operator: Lt, values: ['1.5']}"),
        ["matchExpressions[0].values[0]"],
    ),
    "Gt with two values": (
        required_expr("{key: a, operator: Gt, values: ['1', '2']}"),
        ["matchExpressions[0].values"],
    ),
    "Exists with values": (
        required_expr("{key: a, operator: Exists, values: [b]}"),
        ["matchExpressions[0].values"],
    ),
    "values as string": (
        required_expr("{key: a, operator: In, values: b}"),
        ["matchExpressions[0].values"],
    ),
    "label selector operator unknown": (
        pod_spec(
            "affinity: {podAffinity: {requiredDuringSchedulingIgnoredDuringExecution: "
            "[{topologyKey: zone, labelSelector: {matchExpressions: [{key: a, operator: Gt, "
            "values: ['1']}]}}]}}"
        ),
        ["matchExpressions[0].operator"],
    ),
    "hostPort as string": (
        container("ports: [{containerPort: 80, hostPort: eighty}]"),
        ["spec.containers[0].ports[0].hostPort"],
    ),
    "unschedulable as string": (node("spec: {unschedulable: 'yes'}"), ["spec.unschedulable"]),
    "PriorityClass value as string": (
        "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata: {name: gold}\n"
        "value: lots\n",
        ["value"],
    ),
    "List items as mapping": ("apiVersion: v1\nkind: List\nitems: {a: b}\n", ["items"]),
    "binary file": (b"\x7fELF\x02\x01\x01\x00\x00\x00" * 20, ["binary"]),
    "not UTF-8": (b"apiVersion: v1\nkind: \xff\xfe\n", ["UTF-8"]),
    "control characters": ("apiVersion: v1\nkind: Node\x07\n", ["invalid YAML"]),
    "integer of 5000 digits": (pod_spec("priority: " + "9" * 5000), ["document 1", "digits"]),
    "priority beyond int64": (pod_spec("priority: " + "9" * 30), ["spec.priority"]),
    "deep nesting": ("a: " + "[" * 3000 + "]" * 3000 + "\n", ["document 1"]),
}

# Absurd but valid: the API server accepts these (quantities have no upper bound; kube-scheduler
# clamps them to int64), so each command must run to an answer, not fail or crash.
ACCEPTED: dict[str, str] = {
    "request 1e400": container("resources: {requests: {cpu: 1e400, memory: 1e400}}"),
    "allocatable 1e400": node("status: {allocatable: {cpu: 1e400, memory: 1e400, pods: 1e9}}"),
    "request of 10^18 cores": container("resources: {requests: {cpu: '1E'}}"),
    "priority class value 10^9": "apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\n"
    "metadata: {name: top}\nvalue: 1000000000\n",
}

COMMANDS = ["validate", "explain", "admit", "simulate"]


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    def write_file(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write_file


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {result.exception!r}") from result.exception
    return result.exit_code, result.stdout, result.stderr


def command_args(command: str, files: list[Path], pod: Path) -> list[str]:
    args = [command]
    for path in files:
        args += ["-f", str(path)]
    if command in ("explain", "admit"):
        args += ["--pod", str(pod)]
    if command == "whatif":
        args += ["--cordon", "n1"]
    return args


def assert_input_error(code: int, out: str, err: str, pieces: list[str]) -> None:
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err
    assert err.startswith("podfit: error: "), err
    assert err.count("\n") == 1 and err.endswith("\n"), f"not one line: {err!r}"
    for piece in pieces:
        assert piece in err, err


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("content,pieces", list(MANIFESTS.values()), ids=list(MANIFESTS))
def test_bad_cluster_file(
    write: Callable[[str, str | bytes], Path],
    command: str,
    content: str | bytes,
    pieces: list[str],
) -> None:
    bad = write("bad.yaml", content)
    pod = write("pod.yaml", POD)
    code, out, err = invoke(*command_args(command, [write("ok.yaml", NODE), bad], pod))
    assert_input_error(code, out, err, [str(bad), *pieces])


@pytest.mark.parametrize("command", ["explain", "admit"])
@pytest.mark.parametrize("content,pieces", list(MANIFESTS.values()), ids=list(MANIFESTS))
def test_bad_pod_file(
    write: Callable[[str, str | bytes], Path],
    command: str,
    content: str | bytes,
    pieces: list[str],
) -> None:
    bad = write("pod.yaml", content)
    code, out, err = invoke(*command_args(command, [write("ok.yaml", NODE)], bad))
    assert_input_error(code, out, err, [str(bad), *pieces])


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("content", list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_absurd_but_valid(
    write: Callable[[str, str | bytes], Path], command: str, content: str
) -> None:
    pod = write("pod.yaml", content if "kind: Pod" in content else POD)
    code, out, err = invoke(
        *command_args(command, [write("ok.yaml", NODE + "---\n" + content)], pod)
    )
    assert code in (0, 1), (code, out, err)
    assert "Traceback" not in out + err and err == ""


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("where", ["cluster", "pod"])
@pytest.mark.parametrize("kind", ["missing file", "directory", "empty pod file"])
def test_missing_directory_empty(
    tmp_path: Path, write: Callable[[str, str | bytes], Path], command: str, where: str, kind: str
) -> None:
    if where == "pod" and command not in ("explain", "admit"):
        pytest.skip("command takes no --pod")
    if kind == "empty pod file" and where == "cluster":
        pytest.skip("an empty cluster file is valid")
    target = tmp_path / "target.yaml"
    if kind == "directory":
        target.mkdir()
    elif kind == "empty pod file":
        target.write_text("")
    good_cluster, good_pod = write("ok.yaml", NODE), write("pod.yaml", POD)
    cluster_file, pod_file = (target, good_pod) if where == "cluster" else (good_cluster, target)
    code, out, err = invoke(*command_args(command, [cluster_file], pod_file))
    expected = {
        "missing file": "no such file",
        "directory": "directory",
        "empty pod file": "expected exactly one Pod or workload, found none",
    }[kind]
    assert_input_error(code, out, err, [str(target), expected])


def test_pod_priority_that_admission_refuses(write: Callable[[str, str | bytes], Path]) -> None:
    pod = write("pod.yaml", pod_spec("priority: -2147483648"))
    code, out, err = invoke("explain", "-f", str(write("ok.yaml", NODE)), "--pod", str(pod))
    assert_input_error(code, out, err, [str(pod), "Pod default/p", "spec.priority", "computed 0"])


def test_empty_cluster_file_is_valid(write: Callable[[str, str | bytes], Path]) -> None:
    code, out, _ = invoke("validate", "-f", str(write("empty.yaml", "")))
    assert code == 0 and "0 nodes" in out


@pytest.mark.parametrize("command", ["explain", "admit"])
def test_pod_file_with_two_pods(write: Callable[[str, str | bytes], Path], command: str) -> None:
    two = write("pods.yaml", POD + "---\n" + POD.replace("name: p}", "name: q}"))
    code, out, err = invoke(*command_args(command, [write("ok.yaml", NODE)], two))
    assert_input_error(code, out, err, [str(two), "expected exactly one Pod or workload, found 2"])


@pytest.mark.parametrize("command", ["explain", "admit"])
def test_pod_file_with_a_node(write: Callable[[str, str | bytes], Path], command: str) -> None:
    wrong = write("pods.yaml", NODE)
    code, out, err = invoke(*command_args(command, [write("ok.yaml", NODE)], wrong))
    assert_input_error(code, out, err, [str(wrong), "document 1 (Node n1)", "only Pods"])


def test_simulate_pods_file_with_a_node(write: Callable[[str, str | bytes], Path]) -> None:
    wrong = write("pods.yaml", POD + "---\n" + NODE)
    code, out, err = invoke("simulate", "-f", str(write("ok.yaml", NODE)), "--pods", str(wrong))
    assert_input_error(code, out, err, [str(wrong), "document 2 (Node n1)", "only Pods"])


BAD_CONFIGS: dict[str, tuple[str | bytes | None, list[str]]] = {
    "not a KubeSchedulerConfiguration": (NODE, ["KubeSchedulerConfiguration"]),
    "unknown plugin": (
        CONFIG.replace(
            "profiles: [{schedulerName: default-scheduler}]",
            "profiles: [{schedulerName: default-scheduler, plugins: "
            "{filter: {enabled: [{name: NoSuchPlugin}]}}}]",
        ),
        ["NoSuchPlugin"],
    ),
    "unknown apiVersion": (
        CONFIG.replace("kubescheduler.config.k8s.io/v1", "kubescheduler.config.k8s.io/v9"),
        ["v9"],
    ),
    "profiles as mapping": (
        CONFIG.replace("[{schedulerName: default-scheduler}]", "{schedulerName: x}"),
        ["profiles"],
    ),
    "plugin weight as string": (
        CONFIG.replace(
            "profiles: [{schedulerName: default-scheduler}]",
            "profiles: [{schedulerName: default-scheduler, plugins: "
            "{score: {enabled: [{name: NodeAffinity, weight: heavy}]}}}]",
        ),
        ["weight"],
    ),
    "malformed YAML": ("profiles: [\n", ["invalid YAML"]),
    "scalar": ("hello\n", ["expected a KubeSchedulerConfiguration"]),
    "empty": ("", ["expected a KubeSchedulerConfiguration, got an empty file"]),
    "two documents": (CONFIG + "---\n" + CONFIG, ["expected one YAML document, found 2"]),
    "binary": (b"\x00\x01\x02\xff" * 10, ["binary file"]),
    "not UTF-8": (b"kind: \xff\n", ["not UTF-8"]),
    "duplicate key": (CONFIG + "kind: KubeSchedulerConfiguration\n", ["duplicate key"]),
    "missing": (None, ["no such file"]),
}


@pytest.mark.parametrize("command", ["explain", "simulate", "whatif"])
@pytest.mark.parametrize("content,pieces", list(BAD_CONFIGS.values()), ids=list(BAD_CONFIGS))
def test_bad_config(
    tmp_path: Path,
    write: Callable[[str, str | bytes], Path],
    command: str,
    content: str | bytes | None,
    pieces: list[str],
) -> None:
    config = write("config.yaml", content) if content is not None else tmp_path / "none.yaml"
    args = command_args(command, [write("ok.yaml", NODE)], write("pod.yaml", POD))
    code, out, err = invoke(*args, "--config", str(config))
    assert_input_error(code, out, err, [str(config), *pieces])


def test_huge_document_is_bounded(write: Callable[[str, str | bytes], Path]) -> None:
    # 50 MB in one label value: rejected as invalid, in bounded time, without echoing it.
    big = write(
        "big.yaml",
        "apiVersion: v1\nkind: Node\nmetadata: {name: n1, labels: {a: "
        + "x" * (50 * 1024 * 1024)
        + "}}\n",
    )
    start = time.monotonic()
    code, out, err = invoke("validate", "-f", str(big))
    elapsed = time.monotonic() - start
    assert_input_error(code, out, err, [str(big), "metadata.labels.a", "invalid label value"])
    assert len(err) < 1000, "the message must not echo the whole value"
    assert elapsed < 20, elapsed


def test_many_documents_are_bounded(write: Callable[[str, str | bytes], Path]) -> None:
    # A huge stream of empty documents and one bad one at the end: found, and located.
    text = "---\n" * 50_000 + "apiVersion: v1\nkind: Nod\n"
    bad = write("many.yaml", text)
    start = time.monotonic()
    code, out, err = invoke("validate", "-f", str(bad))
    assert_input_error(code, out, err, [str(bad), "document 50000", "unknown kind"])
    assert time.monotonic() - start < 20


def bad_input_count() -> int:
    """How many hostile inputs this file tries (used by benchmarks/bench_reliability.py)."""
    return len(MANIFESTS) + len(BAD_CONFIGS) + 3 + 2 + 2 + 2
