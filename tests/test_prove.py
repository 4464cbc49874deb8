"""podfit prove: claims over every pod, decided by Z3, counterexamples confirmed by the reference."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
import z3
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import podfit
from podfit.cli import cli
from podfit.cluster import Cluster
from podfit.conformance.strategies import (
    APP_VALUES,
    EXTENDED_RESOURCE,
    HOSTNAME_KEY,
    LABEL_KEYS,
    LABEL_VALUES,
    NAMESPACES,
    TAINT_KEYS,
    TAINT_VALUES,
    ZONE_KEY,
    ZONES,
    clusters,
    pods,
    scheduling_problems,
)
from podfit.errors import ManifestError
from podfit.loading import cluster_from_manifests
from podfit.model import Affinity, Pod
from podfit.solver.claims import Claim, parse_claim
from podfit.solver.encode import node_states
from podfit.solver.prove import (
    ProofDisagreement,
    SymbolicPod,
    Vocabulary,
)
from podfit.solver.session import Outcome, Session
from podfit.spec import safe_test_id

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CLUSTER = str(EXAMPLES / "cluster.yaml")
CLAIMS = EXAMPLES / "claims"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


# --- building blocks ---------------------------------------------------------------------------


def node(
    name: str,
    labels: dict[str, str] | None = None,
    *,
    taints: list[dict[str, str]] | None = None,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: str = "110",
    unschedulable: bool = False,
    extra: dict[str, str] | None = None,
) -> dict[str, Any]:
    allocatable = {"cpu": cpu, "memory": memory, "pods": pods, **(extra or {})}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {HOSTNAME_KEY: name, **(labels or {})}},
        "spec": {"taints": taints or [], "unschedulable": unschedulable},
        "status": {"capacity": allocatable, "allocatable": allocatable},
    }


def running(
    name: str,
    on: str,
    *,
    labels: dict[str, str] | None = None,
    namespace: str = "default",
    cpu: str | None = None,
    anti: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": "pause"}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    spec: dict[str, Any] = {"nodeName": on, "containers": [container]}
    if anti:
        spec["affinity"] = {
            "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": anti}
        }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": spec,
        "status": {"phase": "Running"},
    }


def cluster(*objects: dict[str, Any]) -> Cluster:
    return cluster_from_manifests(objects)


def claim(it: dict[str, Any], premise: dict[str, Any] | None = None, name: str = "c") -> Claim:
    doc: dict[str, Any] = {
        "apiVersion": "podfit.dev/v1alpha1",
        "kind": "Claim",
        "metadata": {"name": name},
        "it": it,
    }
    if premise is not None:
        doc["forEveryPod"] = premise
    return parse_claim(doc)


GPU_TAINT = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
NOT_GPU = {"doesNotTolerate": [GPU_TAINT]}
ON_GPU = {"cannotLandOn": {"matchLabels": {"gpu": "true"}}}


def refuted_on(c: Cluster, cl: Claim) -> podfit.solver.prove.ProveResult:
    result = podfit.prove(c, cl)
    assert result.status == "refuted", result.explanation
    assert result.confirmed and result.counterexample is not None
    return result


# --- the examples ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "want"),
    [
        ("gpu-needs-toleration.yaml", ["holds"]),
        ("db-in-zones.yaml", ["holds"]),
        ("web-on-ssd.yaml", ["refuted"]),
        ("small-pods-fit.yaml", ["holds", "holds"]),
    ],
)
def test_example_claims(path: str, want: list[str]) -> None:
    c = podfit.load(CLUSTER)
    results = [podfit.prove(c, cl) for cl in podfit.load_claims(CLAIMS / path)]
    assert [r.status for r in results] == want


def test_every_example_claim_is_tested() -> None:
    tested = {"gpu-needs-toleration.yaml", "db-in-zones.yaml", "web-on-ssd.yaml"}
    tested.add("small-pods-fit.yaml")
    assert {p.name for p in CLAIMS.glob("*.yaml")} == tested


def test_refuted_example_counterexample_and_explain(tmp_path: Path) -> None:
    out = tmp_path / "pod.yaml"
    code, stdout, _ = run(
        "prove", "-f", CLUSTER, "--claim", str(CLAIMS / "web-on-ssd.yaml"), "--out", str(out)
    )
    assert code == 1
    assert "claim web-on-ssd: refuted" in stdout and "node-a2" in stdout
    manifest = yaml.safe_load(out.read_text())
    assert manifest["kind"] == "Pod" and manifest["metadata"]["labels"] == {"app": "web"}
    assert manifest["metadata"]["namespace"] == "shop"
    # The counterexample is as small as the claim allows: no selector, no tolerations.
    assert "nodeSelector" not in manifest["spec"] and "tolerations" not in manifest["spec"]
    code, stdout, _ = run("explain", "-f", CLUSTER, "--pod", str(out), "-o", "json")
    assert code == 0 and "node-a2" in json.loads(stdout)["feasible"]


def test_holds_exit_0_and_json_shape() -> None:
    code, stdout, _ = run(
        "prove", "-f", CLUSTER, "--claim", str(CLAIMS / "small-pods-fit.yaml"), "-o", "json"
    )
    assert code == 0
    data = json.loads(stdout)
    assert data["status"] == "holds"
    assert [c["claim"] for c in data["claims"]] == ["small-pods-fit", "cordoned-stays-empty"]
    assert all(c["counterexample"] is None for c in data["claims"])


def test_several_claim_files_yaml_output(tmp_path: Path) -> None:
    out = tmp_path / "pods.yaml"
    code, stdout, _ = run(
        "prove",
        "-f",
        CLUSTER,
        "--claim",
        str(CLAIMS / "gpu-needs-toleration.yaml"),
        "--claim",
        str(CLAIMS / "web-on-ssd.yaml"),
        "-o",
        "yaml",
        "--out",
        str(out),
    )
    assert code == 1
    data = yaml.safe_load(stdout)
    assert data["status"] == "refuted"
    assert [c["status"] for c in data["claims"]] == ["holds", "refuted"]
    assert data["claims"][1]["node"] == "node-a2"
    assert data["claims"][1]["confirmedByReference"] is True
    assert [d["kind"] for d in yaml.safe_load_all(out.read_text())] == ["Pod"]


def test_out_not_written_when_nothing_is_refuted(tmp_path: Path) -> None:
    out = tmp_path / "pod.yaml"
    code, _, err = run(
        "prove", "-f", CLUSTER, "--claim", str(CLAIMS / "db-in-zones.yaml"), "--out", str(out)
    )
    assert code == 0 and not out.exists() and "not written" in err


def test_api_exports() -> None:
    for name in ("prove", "load_claim", "load_claims"):
        assert name in podfit.__all__ and callable(getattr(podfit, name))
    cl = podfit.load_claim(CLAIMS / "gpu-needs-toleration.yaml")
    assert cl.name == "gpu-needs-toleration" and cl.conclusion.kind == "cannotLandOn"


# --- small clusters: each filter -----------------------------------------------------------------


def test_taint_keeps_pods_away_until_removed() -> None:
    tainted = cluster(node("g", {"gpu": "true"}, taints=[GPU_TAINT]), node("n"))
    assert podfit.prove(tainted, claim(ON_GPU, NOT_GPU)).status == "holds"
    bare = cluster(node("g", {"gpu": "true"}), node("n"))
    r = refuted_on(bare, claim(ON_GPU, NOT_GPU))
    assert r.node == "g" and "g" in r.feasible


def test_noexecute_taint_and_other_effects() -> None:
    no_execute = {"key": "dedicated", "value": "gpu", "effect": "NoExecute"}
    c = cluster(node("g", {"gpu": "true"}, taints=[no_execute]))
    # Not tolerating the NoSchedule taint says nothing about the NoExecute one.
    r = refuted_on(c, claim(ON_GPU, NOT_GPU))
    tolerations = r.counterexample.tolerations  # type: ignore[union-attr]
    assert [(t.key, t.effect) for t in tolerations] == [("dedicated", "NoExecute")]
    prefer = {"key": "dedicated", "value": "gpu", "effect": "PreferNoSchedule"}
    soft = cluster(node("g", {"gpu": "true"}, taints=[prefer]))
    refuted_on(soft, claim(ON_GPU, {"tolerations": "none"}))


def test_tolerating_pods_can_land() -> None:
    c = cluster(node("g", {"gpu": "true"}, taints=[GPU_TAINT]), node("n"))
    can = {"canLandOn": {"matchLabels": {"gpu": "true"}}}
    premise = {
        "tolerates": [GPU_TAINT],
        "nodeSelector": "none",
        "requiredNodeAffinity": "none",
        "otherRequests": "none",
    }
    assert podfit.prove(c, claim(can, premise)).status == "holds"
    # Without otherRequests: none, a pod asking for a resource nobody has fits nowhere.
    del premise["otherRequests"]
    r = refuted_on(c, claim(can, premise))
    assert r.feasible == [] and r.node is None


def test_cordon() -> None:
    c = cluster(node("a", unschedulable=True), node("b"))
    cordon = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
    holds = claim({"cannotLandOn": {"names": ["a"]}}, {"doesNotTolerate": [cordon]})
    assert podfit.prove(c, holds).status == "holds"
    r = refuted_on(c, claim({"cannotLandOn": {"names": ["a"]}}))
    assert r.node == "a" and len(r.counterexample.tolerations) == 1  # type: ignore[union-attr]


def test_node_selector_premises() -> None:
    c = cluster(node("a1", {ZONE_KEY: "a"}), node("b1", {ZONE_KEY: "b"}), node("x", {}))
    only_a = {"landsOnlyOn": {"matchLabels": {ZONE_KEY: "a"}}}
    assert podfit.prove(c, claim(only_a, {"nodeSelector": {"has": {ZONE_KEY: "a"}}})).holds
    r = refuted_on(c, claim(only_a, {"nodeSelector": {"lacks": [ZONE_KEY]}}))
    assert r.node in ("b1", "x")
    # A pod that chooses nothing lands anywhere, including on the node without a zone.
    r = refuted_on(c, claim(only_a, {"nodeSelector": "none", "requiredNodeAffinity": "none"}))
    assert set(r.feasible) == {"a1", "b1", "x"}


def test_required_node_affinity_can_pick_any_node() -> None:
    twins = cluster(node("n1", {"t": "x"}), node("n2", {"t": "x"}))
    # Without a nodeSelector or requests to steer it, only required affinity keeps the pod
    # off n1 (the nodes differ in their names alone).
    free = {"nodeSelector": "none", "otherRequests": "none"}
    r = refuted_on(twins, claim({"canLandOn": {"names": ["n1"]}}, free))
    assert "n1" not in r.feasible
    affinity = r.counterexample.affinity  # type: ignore[union-attr]
    assert affinity is not None and affinity.node_affinity is not None
    choosing_nothing = {**free, "requiredNodeAffinity": "none"}
    assert podfit.prove(twins, claim({"canLandOn": {"names": ["n1"]}}, choosing_nothing)).holds
    # Any subset of nodes is reachable: here n2 alone.
    r = refuted_on(twins, claim({"landsOnlyOn": {"names": ["n1"]}}, free))
    assert "n2" in r.feasible


def test_requests_and_capacity() -> None:
    c = cluster(
        node("small", cpu="1", extra={EXTENDED_RESOURCE: "1"}),
        node("big", cpu="8"),
        running("busy", "small", cpu="500m"),
    )
    small = {"cannotLandOn": {"names": ["small"]}}
    assert podfit.prove(c, claim(small, {"requests": {"cpu": {"atLeast": "501m"}}})).holds
    r = refuted_on(c, claim(small, {"requests": {"cpu": {"atLeast": "500m"}}}))
    assert r.counterexample is not None
    assert str(r.counterexample.containers[0].resources.requests["cpu"]) == "500m"
    # Exactly what is free fits (resources.filter.insufficient: equality fits).
    gpu = {"landsOnlyOn": {"names": ["small"]}}
    assert podfit.prove(c, claim(gpu, {"requests": {EXTENDED_RESOURCE: {"atLeast": 1}}})).holds


def test_full_node_takes_no_pod() -> None:
    c = cluster(node("full", pods="1"), node("free"), running("p", "full"))
    assert podfit.prove(c, claim({"cannotLandOn": {"names": ["full"]}})).holds


def test_running_pods_anti_affinity() -> None:
    anti = [{"topologyKey": HOSTNAME_KEY, "labelSelector": {"matchLabels": {"app": "db"}}}]
    c = cluster(node("n1"), node("n2"), running("db-0", "n1", labels={"app": "db"}, anti=anti))
    db = {"labelSelector": {"matchLabels": {"app": "db"}}, "namespace": {"in": ["default"]}}
    n1 = {"cannotLandOn": {"names": ["n1"]}}
    assert podfit.prove(c, claim(n1, db)).holds
    # The term covers only the running pod's namespace.
    other = {**db, "namespace": {"in": ["team"]}}
    assert refuted_on(c, claim(n1, other)).counterexample.namespace == "team"  # type: ignore[union-attr]
    # Without the app=db premise, a pod without that label lands on n1.
    r = refuted_on(c, claim(n1, {"namespace": {"in": ["default"]}}))
    assert r.counterexample is not None and r.counterexample.labels.get("app") != "db"


def test_anti_affinity_namespace_selector_and_match_label_keys() -> None:
    everywhere = [
        {
            "topologyKey": ZONE_KEY,
            "labelSelector": {"matchLabels": {"app": "db"}},
            "namespaceSelector": {},
            "matchLabelKeys": ["release"],
        }
    ]
    c = cluster(
        cluster_namespace("team", {"env": "prod"}),
        node("a1", {ZONE_KEY: "a"}),
        node("a2", {ZONE_KEY: "a"}),
        node("b1", {ZONE_KEY: "b"}),
        running("db-0", "a1", labels={"app": "db", "release": "r1"}, anti=everywhere),
    )
    zone_a = {"cannotLandOn": {"matchLabels": {ZONE_KEY: "a"}}}
    same_release = {"labelSelector": {"matchLabels": {"app": "db", "release": "r1"}}}
    assert podfit.prove(c, claim(zone_a, same_release)).holds
    other_release = {"labelSelector": {"matchLabels": {"app": "db", "release": "r2"}}}
    refuted_on(c, claim(zone_a, other_release))


def test_anti_affinity_namespace_selectors_on_labels() -> None:
    def term(selector: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "topologyKey": HOSTNAME_KEY,
                "labelSelector": {"matchLabels": {"app": "db"}},
                "namespaceSelector": selector,
            }
        ]

    by_label = term({"matchLabels": {"env": "prod"}})
    by_name = term(
        {"matchExpressions": [{"key": NAME_LABEL, "operator": "NotIn", "values": ["dev"]}]}
    )
    c = cluster(
        cluster_namespace("team", {"env": "prod"}),
        node("n1"),
        node("n2"),
        node("n3"),
        running("db-0", "n1", labels={"app": "db"}, anti=by_label),
        running("db-1", "n2", labels={"app": "db"}, anti=by_name),
    )
    db = {"labelSelector": {"matchLabels": {"app": "db"}}}
    n1 = {"cannotLandOn": {"names": ["n1"]}}
    assert podfit.prove(c, claim(n1, {**db, "namespace": {"in": ["team"]}})).holds
    r = refuted_on(c, claim(n1, db))
    assert r.counterexample is not None and r.counterexample.namespace != "team"
    n2 = {"cannotLandOn": {"names": ["n2"]}}
    # Every namespace but dev, including ones no object or pod names.
    assert podfit.prove(c, claim(n2, {**db, "namespace": {"notIn": ["dev"]}})).holds
    r = refuted_on(c, claim(n2, db))
    assert r.counterexample is not None and r.counterexample.namespace == "dev"


NAME_LABEL = "kubernetes.io/metadata.name"


def cluster_namespace(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def test_gt_lt_node_predicates() -> None:
    c = cluster(node("old", {"gen": "9"}), node("new", {"gen": "10"}))
    newer = {"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["9"]}]}
    premise = {"nodeSelector": {"has": {"gen": "10"}}}
    assert podfit.prove(c, claim({"landsOnlyOn": newer}, premise)).holds


def test_vacuous_premise_and_empty_predicate_are_noted() -> None:
    c = cluster(node("n"))
    contradictory = {"tolerates": [GPU_TAINT], "doesNotTolerate": [GPU_TAINT]}
    r = podfit.prove(c, claim({"canLandSomewhere": True}, contradictory))
    assert r.holds and any("vacuously" in n for n in r.notes)
    r = podfit.prove(c, claim({"cannotLandOn": {"matchLabels": {"gpu": "true"}}}))
    assert r.holds and any("No node" in n for n in r.notes)
    r = podfit.prove(c, claim({"cannotLandOn": {"names": ["ghost"]}}))
    assert r.holds and any("ghost" in n for n in r.notes)


def test_no_nodes() -> None:
    empty = Cluster().finish()
    r = podfit.prove(empty, claim({"canLandSomewhere": True}))
    assert r.status == "refuted" and r.feasible == []
    assert podfit.prove(empty, claim({"cannotLandOn": {}})).holds


def test_counterexample_avoids_existing_pod_names() -> None:
    c = cluster(node("n"), running("c-counterexample", "n"))
    r = refuted_on(c, claim({"cannotLandOn": {}}))
    assert r.counterexample is not None and r.counterexample.key != "default/c-counterexample"


def test_priority_class_with_never_policy_does_not_break_the_counterexample() -> None:
    never = {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": "low"},
        "value": 1,
        "globalDefault": True,
        "preemptionPolicy": "Never",
    }
    refuted_on(cluster(never, node("n")), claim({"cannotLandOn": {}}))


# --- three-valued answers and the cross-check --------------------------------------------------


def test_timeout_is_unknown_never_refuted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Session, "check", lambda self, *a, **k: Outcome.UNKNOWN)
    r = podfit.prove(podfit.load(CLUSTER), podfit.load_claim(CLAIMS / "web-on-ssd.yaml"))
    assert r.status == "unknown" and r.counterexample is None
    assert "could not decide" in r.explanation[0]
    code, stdout, err = run(
        "prove", "-f", CLUSTER, "--claim", str(CLAIMS / "web-on-ssd.yaml"), "--timeout", "0.001"
    )
    assert code == 2
    assert "unknown" in stdout and "could not decide web-on-ssd" in err and "--timeout" in err


def test_unknown_while_shrinking_keeps_the_first_counterexample(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = Session.check
    calls = []

    def first_only(self: Session, *args: Any, **kwargs: Any) -> Outcome:
        calls.append(1)
        return real(self, *args, **kwargs) if len(calls) == 1 else Outcome.UNKNOWN

    monkeypatch.setattr(Session, "check", first_only)
    r = podfit.prove(podfit.load(CLUSTER), podfit.load_claim(CLAIMS / "web-on-ssd.yaml"))
    assert r.status == "refuted" and r.confirmed and len(calls) > 1


def test_a_wrong_solver_answer_is_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SymbolicPod, "feasible", lambda self, model: ["node-b2"])
    cl = podfit.load_claim(CLAIMS / "web-on-ssd.yaml")
    with pytest.raises(ProofDisagreement, match="does not confirm"):
        podfit.prove(podfit.load(CLUSTER), cl)
    code, _, err = run("prove", "-f", CLUSTER, "--claim", str(CLAIMS / "web-on-ssd.yaml"))
    assert code == 2 and "internal error" in err and "Traceback" not in err


def test_bad_timeout() -> None:
    for value in ("0", "-1", "inf", "nan"):
        code, _, err = run(
            "prove", "-f", CLUSTER, "--claim", str(CLAIMS / "db-in-zones.yaml"), "--timeout", value
        )
        assert code == 2 and "--timeout" in err, value


# --- bad claims ----------------------------------------------------------------------------------

HEADER = "apiVersion: podfit.dev/v1alpha1\nkind: Claim\nmetadata: {name: c}\n"


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        (HEADER + "it: {canLandSomewhere: true}\nforEveryPods: {}\n", ["forEveryPods", "unknown"]),
        (
            HEADER + "forEveryPod: {tolerate: []}\nit: {canLandSomewhere: true}\n",
            ["forEveryPod.tolerate", "did you mean 'tolerates'"],
        ),
        (
            HEADER + "it: {cannotLandOn: {matchLabel: {a: b}}}\n",
            ["it.cannotLandOn.matchLabel", "unknown field"],
        ),
        (HEADER + "it: {cannotLandOn: [a]}\n", ["it.cannotLandOn", "expected a mapping"]),
        (
            HEADER
            + "it:\n  cannotLandOn:\n    matchExpressions: [{key: a, operator: Near, values: [b]}]\n",
            ["matchExpressions[0].operator", "Near"],
        ),
        (
            HEADER
            + "forEveryPod:\n  labelSelector:\n    matchExpressions: [{key: a, operator: Gt, "
            "values: ['1']}]\nit: {canLandSomewhere: true}\n",
            ["labelSelector.matchExpressions[0].operator", "Gt"],
        ),
        (
            HEADER + "forEveryPod: {namespace: shop}\nit: {canLandSomewhere: true}\n",
            ["forEveryPod.namespace", "expected a mapping"],
        ),
        (
            HEADER + "forEveryPod: {tolerates: [{key: k, effect: Sometimes}]}\n"
            "it: {canLandSomewhere: true}\n",
            ["tolerates[0].effect", "Sometimes"],
        ),
        (
            HEADER + "forEveryPod: {tolerates: [{key: k}]}\nit: {canLandSomewhere: true}\n",
            ["tolerates[0].effect", "required"],
        ),
        (
            HEADER + "forEveryPod: {requests: {cpu: {atMost: lots}}}\n"
            "it: {canLandSomewhere: true}\n",
            ["requests.cpu.atMost"],
        ),
        (
            HEADER + "forEveryPod: {requests: {foo: {atMost: 1}}}\nit: {canLandSomewhere: true}\n",
            ["requests.foo", "not a resource the scheduler accounts for"],
        ),
        (
            HEADER + "forEveryPod: {requests: {cpu: {atLeast: 2, atMost: 1}}}\n"
            "it: {canLandSomewhere: true}\n",
            ["requests.cpu", "atLeast is larger"],
        ),
        (
            HEADER + "forEveryPod: {nodeSelector: sometimes}\nit: {canLandSomewhere: true}\n",
            ["forEveryPod.nodeSelector", "sometimes"],
        ),
        (HEADER + "it: {canLandSomewhere: false}\n", ["it.canLandSomewhere", "must be true"]),
        (HEADER, ["it", "is required"]),
        (
            HEADER + "it: {canLandSomewhere: true, cannotLandOn: {}}\n",
            ["it", "exactly one"],
        ),
        (
            HEADER.replace("Claim", "Pod") + "it: {canLandSomewhere: true}\n",
            ["kind", "expected Claim"],
        ),
        (
            HEADER.replace("v1alpha1", "v2") + "it: {canLandSomewhere: true}\n",
            ["apiVersion", "podfit.dev/v1alpha1"],
        ),
        (HEADER.replace("name: c", "name: Bad_Name") + "it: {canLandSomewhere: true}\n", ["name"]),
        (
            HEADER + "forEveryPod: {namespace: {in: [a.b]}}\nit: {canLandSomewhere: true}\n",
            ["forEveryPod.namespace.in[0]", "DNS-1123 label"],
        ),
        ("", ["no Claim found"]),
        ("it: [unclosed\n", ["invalid YAML"]),
        ("just text\n", ["expected a mapping"]),
        (
            HEADER + "it: {canLandSomewhere: true}\n---\n" + HEADER + "it: {cannotLandOn: {}}\n",
            ["two claims are named 'c'"],
        ),
    ],
    ids=lambda v: safe_test_id(v[:40]) if isinstance(v, str) else None,
)
def test_bad_claims_exit_2_with_a_located_message(
    tmp_path: Path, text: str, needles: list[str]
) -> None:
    path = tmp_path / "claim.yaml"
    path.write_text(text, encoding="utf-8")
    code, stdout, err = run("prove", "-f", CLUSTER, "--claim", str(path))
    assert code == 2, stdout
    assert err.startswith("podfit: error: ") and "Traceback" not in err
    assert str(path) in err
    for needle in needles:
        assert needle in err, err
    assert len(err.strip().splitlines()) == 1


def test_bad_claim_names_its_document(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(HEADER + "it: {cannotLandOn: {}}\n---\n" + HEADER + "it: {}\n")
    with pytest.raises(ManifestError, match="document 2"):
        podfit.load_claims(path)


def test_missing_claim_file_and_default_name(tmp_path: Path) -> None:
    code, _, err = run("prove", "-f", CLUSTER, "--claim", str(tmp_path / "nope.yaml"))
    assert code == 2 and "no such file" in err
    path = tmp_path / "My Claim.yaml"
    path.write_text("apiVersion: podfit.dev/v1alpha1\nkind: Claim\nit: {canLandSomewhere: true}\n")
    assert podfit.load_claim(path).name == "my-claim"


# --- properties ------------------------------------------------------------------------------------

# The long campaign (PODFIT_LONG=1, tox -e long) runs each property 10-20 times longer.
LONG = bool(os.environ.get("PODFIT_LONG"))
CLUSTER_AREAS = ("taints", "node-unschedulable", "node-affinity", "resources", "inter-pod-affinity")
FILTER_EFFECTS = ("NoSchedule", "NoExecute")


def in_shape(pod: Pod) -> Pod:
    """The pod cut down to the symbolic pod's shape (docs/claims.md)."""
    node_affinity = pod.affinity.node_affinity if pod.affinity is not None else None
    return dataclasses.replace(
        pod,
        affinity=Affinity(node_affinity=node_affinity) if node_affinity is not None else None,
        topology_spread_constraints=(),
        containers=tuple(dataclasses.replace(c, ports=()) for c in pod.containers),
        init_containers=tuple(dataclasses.replace(c, ports=()) for c in pod.init_containers),
        host_network=False,
        node_name="",
        scheduling_gates=(),
    )


def reference_feasible(c: Cluster, pod: Pod) -> set[str]:
    result = podfit.explain(c, pod)
    return {n for n, s in result.statuses.items() if s.is_success}


node_label_keys = st.sampled_from((*LABEL_KEYS, ZONE_KEY))
node_label_values = st.sampled_from((*LABEL_VALUES, *ZONES))
taints = st.builds(
    lambda k, v, e: {"key": k, "value": v, "effect": e},
    st.sampled_from(TAINT_KEYS),
    st.sampled_from(TAINT_VALUES),
    st.sampled_from(FILTER_EFFECTS),
)


@st.composite
def node_predicates(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(("labels", "expression", "names", "any")))
    if kind == "labels":
        return {"matchLabels": {draw(node_label_keys): draw(node_label_values)}}
    if kind == "expression":
        op = draw(st.sampled_from(("In", "NotIn", "Exists", "DoesNotExist")))
        req: dict[str, Any] = {"key": draw(node_label_keys), "operator": op}
        if op in ("In", "NotIn"):
            req["values"] = [draw(node_label_values)]
        return {"matchExpressions": [req]}
    if kind == "names":
        return {"names": [f"node-{draw(st.integers(0, 3))}"]}
    return {}


@st.composite
def claims(draw: st.DrawFn) -> Claim:
    """Small claims over the strategies' pools, so they talk about what clusters hold."""
    premise: dict[str, Any] = {}
    for part in draw(st.lists(st.integers(0, 8), max_size=3, unique=True)):
        if part == 0:
            op = draw(st.sampled_from(("in", "notIn")))
            premise["namespace"] = {op: [draw(st.sampled_from(NAMESPACES))]}
        elif part == 1:
            value = draw(st.sampled_from(APP_VALUES))
            premise["labelSelector"] = draw(
                st.sampled_from(
                    (
                        {"matchLabels": {"app": value}},
                        {
                            "matchExpressions": [
                                {"key": "app", "operator": "NotIn", "values": [value]}
                            ]
                        },
                        {"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]},
                    )
                )
            )
        elif part == 2:
            premise["doesNotTolerate"] = [draw(taints)]
        elif part == 3:
            premise["tolerates"] = [draw(taints)]
        elif part == 4:
            premise["nodeSelector"] = draw(
                st.sampled_from(
                    ("none", {"has": {draw(node_label_keys): draw(node_label_values)}}),
                )
            )
        elif part == 5:
            premise["requiredNodeAffinity"] = "none"
        elif part == 6:
            premise["requests"] = {"cpu": {"atMost": draw(st.sampled_from(("500m", "2")))}}
        elif part == 7:
            premise["otherRequests"] = "none"
        else:
            premise["tolerations"] = "none"
    if "tolerates" in premise and premise.get("tolerations") == "none":
        del premise["tolerations"]
    kind = draw(st.sampled_from(("cannotLandOn", "landsOnlyOn", "canLandOn", "canLandSomewhere")))
    it = {kind: True if kind == "canLandSomewhere" else draw(node_predicates())}
    return claim(it, premise, name="random")


def symbolic(c: Cluster, cl: Claim) -> tuple[Session, SymbolicPod]:
    session = Session(timeout_ms=10000)
    states = node_states(c)
    sym = SymbolicPod(session, Vocabulary(c, cl, states), states)
    session.add(*sym.domains(), *sym.define_fits())
    return session, sym


@settings(max_examples=2000 if LONG else 120, deadline=None)
@given(scheduling_problems(max_nodes=4, max_running_pods=5, areas=CLUSTER_AREAS), claims())
def test_abstraction_filters_like_the_reference(problem: tuple[Cluster, Pod], cl: Claim) -> None:
    """The symbolic pod pinned to a concrete pod's abstraction fits exactly the nodes the
    reference finds for that pod, and satisfies the premise when the pod does (and, but for
    "tolerations: none", only then)."""
    c, raw = problem
    pod = in_shape(raw)
    session, sym = symbolic(c, cl)
    pinned = sym.pin(pod)
    assert session.check(pinned) is Outcome.SAT
    assert set(sym.feasible(session.model())) == reference_feasible(c, pod)
    parts = sym.premise(cl.premise)
    premise = z3.And(parts) if parts else session.true()
    satisfied = session.check([*pinned, premise]) is Outcome.SAT
    holds = cl.premise.problems(pod) == []
    if holds:
        assert satisfied
    elif not cl.premise.no_tolerations:
        # "tolerations: none" is about the list itself: a pod whose tolerations tolerate
        # no taint of the vocabulary has the abstraction of a pod without any.
        assert not satisfied


@settings(max_examples=1000 if LONG else 60, deadline=None)
@given(
    clusters(max_nodes=4, max_running_pods=5, areas=CLUSTER_AREAS),
    claims(),
    st.data(),
)
def test_prove_agrees_with_the_reference(c: Cluster, cl: Claim, data: st.DataObject) -> None:
    """Refuted: the counterexample is confirmed (podfit.prove raises otherwise). Holds: no
    sampled pod that satisfies the premise breaks the conclusion."""
    result = podfit.prove(c, cl)
    assert result.status in ("holds", "refuted")
    nodes = list(c.nodes.values())
    if result.status == "refuted":
        assert result.confirmed and result.counterexample is not None
        assert cl.conclusion.violation(nodes, result.feasible) is not None
        return
    samples = pods(name="sample", areas=CLUSTER_AREAS, node_names=tuple(c.nodes) or ("n",))
    for _ in range(3):
        pod = in_shape(data.draw(samples))
        if cl.premise.problems(pod):
            continue
        assert cl.conclusion.violation(nodes, reference_feasible(c, pod)) is None
