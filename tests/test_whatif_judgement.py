"""whatif judges the change, not the cluster: exit 1 only for pods the change harms,
already-pending pods apart, budget-blocked evictions counted, text in 100 columns with no
word split."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from podfit.cli import cli
from podfit.loading import cluster_from_manifests
from podfit.reference.eviction import DrainOptions
from podfit.reference.whatif import CordonChange, DrainChange, TaintChange, whatif
from podfit.render import WIDTH

DUMP = str(Path(__file__).resolve().parent.parent / "examples" / "dump.yaml")


def node(name: str, cpu: str = "2") -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name},
        "status": {"allocatable": {"cpu": cpu, "memory": "4Gi", "pods": "110"}},
    }


def pod(
    name: str,
    on: str | None = None,
    cpu: str = "1",
    owner: bool = True,
    labels: dict[str, str] | None = None,
) -> dict[str, object]:
    meta: dict[str, object] = {"name": name, "namespace": "default", "labels": labels or {}}
    if owner:
        meta["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "rs",
                "uid": "u",
                "controller": True,
            }
        ]
    spec: dict[str, object] = {
        "containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": cpu}}}]
    }
    if on:
        spec["nodeName"] = on
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def test_pods_pending_before_the_change_do_not_count_against_it() -> None:
    cluster = cluster_from_manifests(
        [node("n1"), node("n2"), pod("big", cpu="8"), pod("a", on="n1")]
    )
    result = whatif(cluster, CordonChange("n2"))
    assert result.already_pending == ["default/big"]
    assert result.harmed == [] and result.left_without_node == ["default/big"]
    data = result.to_dict()
    assert data["harmed"] == [] and data["alreadyPending"] == ["default/big"]


def test_a_pod_the_change_evicts_into_nowhere_is_harmed() -> None:
    cluster = cluster_from_manifests([node("n1"), pod("a", on="n1"), pod("big", cpu="8")])
    result = whatif(cluster, TaintChange("n1", "k", "NoExecute"))
    assert result.harmed == ["default/a"]
    assert result.already_pending == ["default/big"]


def test_a_pending_pod_that_loses_its_place_is_harmed() -> None:
    cluster = cluster_from_manifests([node("n1"), pod("p")])
    assert whatif(cluster, CordonChange("n1")).harmed == ["default/p"]


def test_budget_blocked_evictions_are_counted() -> None:
    budget = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "b", "namespace": "default"},
        "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "x"}}},
    }
    cluster = cluster_from_manifests(
        [
            node("n1"),
            node("n2"),
            budget,
            pod("x1", on="n1", labels={"app": "x"}),
            pod("x2", on="n1", labels={"app": "x"}),
        ]
    )
    result = whatif(cluster, DrainChange("n1", DrainOptions()))
    assert result.blocked == ["default/x1", "default/x2"]
    assert result.to_dict()["blockedByDisruptionBudget"] == result.blocked


def test_cli_text_and_exit_codes_on_the_dump() -> None:
    runner = CliRunner()
    drain = runner.invoke(
        cli, ["whatif", "-f", DUMP, "--drain", "worker-a1", "--ignore-daemonsets", "--force"]
    )
    assert drain.exit_code == 1
    out = drain.stdout
    flat = " ".join(out.split())
    assert "1 evicted, 2 blocked by a PodDisruptionBudget, 1 lost" in flat
    assert max(len(line) for line in out.splitlines()) <= WIDTH
    data = json.loads(
        runner.invoke(
            cli,
            [
                "whatif",
                "-f",
                DUMP,
                "--drain",
                "worker-a1",
                "--ignore-daemonsets",
                "--force",
                "-o",
                "json",
            ],
        ).stdout
    )
    words = set(out.split())
    for entry in [*data["timeline"], *data["kept"]]:
        for text in (entry.get("why", ""), entry.get("then", "")):
            assert set(text.split()) <= words, text  # wrapped, never split
    assert "batch/log-shipper" in data["harmed"]
    # Cordoning a node nobody needs harms nothing.
    calm = runner.invoke(cli, ["whatif", "-f", DUMP, "--cordon", "gpu-b3"])
    assert calm.exit_code == 0, calm.stdout
    assert "the change leaves no pod without a node" in calm.stdout


def test_cli_exits_0_when_only_pods_pending_before_stay_pending(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump_all([node("n1"), node("n2"), pod("big", cpu="8")]))
    result = CliRunner().invoke(cli, ["whatif", "-f", str(path), "--cordon", "n2"])
    assert result.exit_code == 0, result.stdout
    flat = " ".join(result.stdout.split())
    assert "Already pending before the change, still pending (1): default/big" in flat
