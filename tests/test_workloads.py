"""Workloads where a pod is expected: the pods their controllers create (names, labels,
owner references, volumes as a v1.36.2 control plane made them), the API server's
validation of templates, and ``--pod``/``--pods`` through the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import podfit
from podfit.cli import cli
from podfit.errors import ManifestError
from podfit.loading import cluster_from_manifests
from podfit.workloads import ALPHANUMS, read_pods, stand_in_hash, workload_pods

ROOT = Path(__file__).resolve().parent.parent
DUMP = ROOT / "examples" / "dump.yaml"
CONTAINERS = [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "100m"}}}]


def deployment(replicas: int = 2, **template_spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"}},
                "spec": {"containers": CONTAINERS, **template_spec},
            },
        },
    }


def job(**spec: Any) -> dict[str, Any]:
    template_spec = {"restartPolicy": "Never", "containers": CONTAINERS}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "pi", "uid": "0dc0ebd2-f55d-4b8d-8535-38e6e35bece1"},
        "spec": {"template": {"spec": template_spec}, **spec},
    }


def suffix_ok(name: str, prefix: str) -> bool:
    rest = name[len(prefix) :]
    return name.startswith(prefix) and len(rest) == 5 and set(rest) <= set(ALPHANUMS)


def test_deployment_pods_belong_to_its_replica_set_with_the_hash_label() -> None:
    made = workload_pods(deployment())
    assert len(made.pods) == 2
    value = made.pods[0].labels["pod-template-hash"]
    assert set(value) <= set(ALPHANUMS) and made.note.startswith("pod-template-hash")
    for p in made.pods:
        assert suffix_ok(p.name, f"web-{value}-")
        assert dict(p.labels) == {"app": "web", "pod-template-hash": value}
        assert dict(p.annotations) == {"a": "b"}
        ref = p.controller
        assert ref is not None and (ref.kind, ref.name, ref.api_version) == (
            "ReplicaSet",
            f"web-{value}",
            "apps/v1",
        )
    assert made.pods[0].name != made.pods[1].name


def test_deployment_takes_the_hash_of_its_replica_set_in_the_cluster() -> None:
    cluster = podfit.load(str(DUMP))
    web = {**deployment(replicas=5), "metadata": {"name": "web", "namespace": "shop"}}
    made = workload_pods(web, cluster)
    # 4 pods of web-5c7f8d9b4 exist (one pending): one more for 5 replicas.
    assert [p.labels["pod-template-hash"] for p in made.pods] == ["5c7f8d9b4"]
    assert made.note == ""
    assert workload_pods(deployment(replicas=2), cluster).pods == ()
    assert len(workload_pods(deployment(replicas=2), cluster, next_only=True).pods) == 1


def test_stateful_set_pods_have_their_identity_and_claims() -> None:
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "shop"},
        "spec": {
            "replicas": 2,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": CONTAINERS}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}}],
        },
    }
    made = workload_pods(sts)
    assert [p.name for p in made.pods] == ["db-0", "db-1"]
    second = made.pods[1]
    assert second.labels["statefulset.kubernetes.io/pod-name"] == "db-1"
    assert second.labels["apps.kubernetes.io/pod-index"] == "1"
    assert second.labels["controller-revision-hash"].startswith("db-")
    assert [(v.name, v.kind, v.claim_name) for v in second.volumes] == [
        ("data", "persistentVolumeClaim", "data-db-1")
    ]
    # Ordinals that exist are not created again; next_only makes the next one.
    assert [p.name for p in workload_pods(sts, taken={"shop/db-0"}).pods] == ["db-1"]
    assert [p.name for p in workload_pods(sts, taken={"shop/db-0", "shop/db-1"}).pods] == []
    nxt = workload_pods(sts, taken={"shop/db-0", "shop/db-1"}, next_only=True).pods
    assert [p.name for p in nxt] == ["db-2"]


def test_job_labels_and_indexes_as_the_api_server_and_controller_set_them() -> None:
    uid = "0dc0ebd2-f55d-4b8d-8535-38e6e35bece1"
    made = workload_pods(job(completions=5, parallelism=2, completionMode="Indexed"))
    assert len(made.pods) == 2
    first = made.pods[0]
    assert dict(first.labels) == {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-completion-index": "0",
        "batch.kubernetes.io/job-name": "pi",
        "controller-uid": uid,
        "job-name": "pi",
    }
    assert dict(first.annotations) == {"batch.kubernetes.io/job-completion-index": "0"}
    assert suffix_ok(first.name, "pi-0-") and suffix_ok(made.pods[1].name, "pi-1-")
    plain = workload_pods(job()).pods
    assert len(plain) == 1 and suffix_ok(plain[0].name, "pi-")
    assert workload_pods(job(parallelism=3, completions=2)).pods[1].restart_policy == "Never"
    assert len(workload_pods(job(parallelism=3, completions=2)).pods) == 2
    manual = job(manualSelector=True)
    assert "job-name" not in workload_pods(manual).pods[0].labels
    suspended = workload_pods(job(suspend=True))
    assert suspended.pods == () and "suspended" in suspended.note


def test_cron_job_names_its_job_after_the_scheduled_minute() -> None:
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "rep"},
        "spec": {
            "schedule": "* * * * *",
            "jobTemplate": {
                "metadata": {"labels": {"from": "cron"}},
                "spec": {
                    "template": {"spec": {"restartPolicy": "Never", "containers": CONTAINERS}}
                },
            },
        },
    }
    now = datetime(2026, 12, 6, 3, 45, 12, tzinfo=UTC)
    (p,) = workload_pods(cron, now=now).pods
    assert p.labels["job-name"] == "rep-29942145"  # as the live control plane named it
    assert "from" not in p.labels  # jobTemplate labels go on the Job, not its pods
    assert suffix_ok(p.name, "rep-29942145-")


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (
            {**job(), "spec": {"template": {"spec": {"containers": CONTAINERS}}}},
            'Job.batch "pi" is invalid: spec.template.spec.restartPolicy: Required value: '
            'valid values: "OnFailure", "Never"',
        ),
        (
            deployment(restartPolicy="Never"),
            'Deployment.apps "web" is invalid: spec.template.spec.restartPolicy: Unsupported '
            'value: "Never": supported values: "Always"',
        ),
        (
            {
                **deployment(),
                "spec": {**deployment()["spec"], "selector": {"matchLabels": {"app": "x"}}},
            },
            'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: '
            '{"app":"web"}: `selector` does not match template `labels`',
        ),
    ],
    ids=["job-restart-policy", "deployment-restart-policy", "selector-mismatch"],
)
def test_templates_the_api_server_refuses(manifest: dict[str, Any], message: str) -> None:
    # The messages are kube-apiserver v1.36.2's, from server-side dry runs.
    with pytest.raises(ManifestError) as raised:
        workload_pods(manifest)
    assert str(raised.value) == message


def test_stand_in_hash_has_upstreams_form() -> None:
    value = stand_in_hash("shop", "web", "template")
    assert set(value) <= set(ALPHANUMS) and 6 <= len(value) <= 10
    assert value == stand_in_hash("shop", "web", "template")


def test_read_pods_mixes_pods_and_workloads_and_locates_errors(tmp_path: Path) -> None:
    path = tmp_path / "mixed.yaml"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "solo"},
        "spec": {"containers": CONTAINERS},
    }
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}}
    path.write_text(yaml.safe_dump_all([pod, deployment(), job()]))
    got = read_pods(str(path))
    assert [p.name.split("-")[0] for p in got.pods] == ["solo", "web", "web", "pi"]
    path.write_text(yaml.safe_dump_all([pod, node]))
    with pytest.raises(ManifestError) as raised:
        read_pods(str(path))
    text = str(raised.value)
    assert str(path) in text and "document 2 (Node n)" in text and "only Pods" in text


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, Any], str]:
    def write(name: str, docs: Any) -> str:
        path = tmp_path / name
        path.write_text(yaml.safe_dump_all(docs if isinstance(docs, list) else [docs]))
        return str(path)

    return write


def test_explain_takes_a_deployment(write: Callable[[str, Any], str]) -> None:
    web = deployment(nodeSelector={"disktype": "ssd"})
    web["metadata"]["namespace"] = "shop"
    code, out, _ = run("explain", "-f", str(DUMP), "--pod", write("web.yaml", web), "-o", "json")
    data = json.loads(out)
    # The dump holds web's ReplicaSet: its hash names the pod; the pod spreads like web's.
    assert data["pod"].startswith("shop/web-5c7f8d9b4-") and data["notes"] == []
    assert code == 0, out
    web["metadata"]["name"] = "api"
    code, out, _ = run("explain", "-f", str(DUMP), "--pod", write("api.yaml", web), "-o", "json")
    assert "pod-template-hash" in json.loads(out)["notes"][0]


def test_explain_names_a_pod_of_the_files() -> None:
    code, out, _ = run(
        "explain", "-f", str(DUMP), "--pod", "shop/web-5c7f8d9b4-n6v9r", "-o", "json"
    )
    assert code == 1 and json.loads(out)["pod"] == "shop/web-5c7f8d9b4-n6v9r"
    code, _, err = run("explain", "-f", str(DUMP), "--pod", "shop/nope")
    assert code == 2 and "no pod shop/nope in the files" in err


def test_explain_a_daemon_set_node_by_node(write: Callable[[str, Any], str]) -> None:
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "monitoring"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {
                    "containers": [
                        {
                            "name": "a",
                            "image": "busybox",
                            "resources": {"requests": {"memory": "1Gi"}},
                        }
                    ]
                },
            },
        },
    }
    code, out, _ = run("explain", "-f", str(DUMP), "--pod", write("ds.yaml", ds), "-o", "json")
    data = json.loads(out)
    assert data["daemonSet"] == "monitoring/agent"
    nodes = {n["name"]: n for n in data["nodes"]}
    # The controller's tolerations take the cordoned node; taints keep it off cp-1 and gpu-b3.
    assert nodes["worker-b1"]["status"] == "Success"
    assert nodes["cp-1"]["status"]["plugin"] == "DaemonSet controller"
    assert nodes["worker-b2"]["why"][0]["text"].startswith("memory: requests 1Gi, 628Mi free")
    assert code == 1  # worker-b2 cannot hold its pod
    assert data["message"] == "DaemonSet monitoring/agent: its pod runs or fits on 6 of 9 node(s)"


def test_simulate_expands_replicas_and_daemon_sets(write: Callable[[str, Any], str]) -> None:
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": CONTAINERS},
            },
        },
    }
    nodes = [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": f"n{i}"},
            "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}},
        }
        for i in (1, 2)
    ]
    cluster = write("c.yaml", nodes)
    pods = write("p.yaml", [deployment(replicas=3), ds])
    code, out, _ = run("simulate", "-f", cluster, "--pods", pods, "-o", "json")
    data = json.loads(out)
    assert code == 0
    placed = [k for k, v in data["placements"].items() if v]
    assert sum(1 for k in placed if k.startswith("shop/web-")) == 3
    assert {k for k in placed if "agent" in k} == {"default/agent-n1", "default/agent-n2"}


def test_no_nodes_message_from_the_cli(write: Callable[[str, Any], str]) -> None:
    empty = write("empty.yaml", [])
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": CONTAINERS},
    }
    code, out, _ = run("explain", "-f", empty, "--pod", write("p.yaml", pod))
    assert code == 1 and out.rstrip().endswith("no nodes available to schedule pods")


def test_cluster_from_manifests_keeps_quota_status() -> None:
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "q"},
        "spec": {"hard": {"pods": "1"}},
        "status": {"hard": {"pods": "5"}, "used": {"pods": "2"}},
    }
    (q,) = cluster_from_manifests([quota]).resource_quotas.values()
    assert str(q.status_hard["pods"]) == "5" and str(q.used["pods"]) == "2" and q.has_status
    back = podfit.to_manifest(q)
    assert back["status"] == {"hard": {"pods": "5"}, "used": {"pods": "2"}}


BAD_WORKLOADS = {
    "spec a list": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: []\n",
        "spec: expected a mapping",
    ),
    "replicas a string": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: x, "
        "selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, "
        "spec: {containers: [{name: c}]}}}\n",
        "spec.replicas: expected an integer",
    ),
    "claim template without name": (
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: s}\nspec: {selector: "
        "{matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: "
        "[{name: c}]}}, volumeClaimTemplates: [{}]}\n",
        "spec.volumeClaimTemplates[0].metadata.name: is required",
    ),
    "job template not a mapping": (
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {jobTemplate: 3}\n",
        "spec.jobTemplate: expected a mapping",
    ),
    "unknown apiVersion": (
        "apiVersion: batch/v2\nkind: Job\nmetadata: {name: j}\n",
        "unknown apiVersion 'batch/v2' for kind Job",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_WORKLOADS))
@pytest.mark.parametrize("command", ["explain", "admit"])
def test_bad_workloads_are_one_located_line(tmp_path: Path, case: str, command: str) -> None:
    text, piece = BAD_WORKLOADS[case]
    path = tmp_path / "w.yaml"
    path.write_text(text)
    result = CliRunner().invoke(cli, [command, "-f", str(DUMP), "--pod", str(path)])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("podfit: error: ") and result.stderr.count("\n") == 1
    assert str(path) in result.stderr and "document 1" in result.stderr
    assert piece in result.stderr
    assert "Traceback" not in result.output
