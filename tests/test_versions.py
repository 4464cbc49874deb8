"""Kubernetes versions: parsing, the change table, and behaviour per release."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import podfit
from podfit import spec
from podfit.cli import cli
from podfit.errors import UsageError
from podfit.loading import cluster_from_manifests, pod_from_manifest
from podfit.spec.versions import change_holds, changes
from podfit.versions import LATEST, SUPPORTED, VERSIONS, KubeVersion, parse_version

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def v(text: str) -> KubeVersion:
    return parse_version(text)


# --- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1.33", "v1.34", " 1.36 "])
def test_supported_versions_parse(text: str) -> None:
    assert str(parse_version(text)) in SUPPORTED


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1.32", "Kubernetes 1.32 is not modelled (podfit models 1.33, 1.34, 1.35, 1.36)"),
        ("1.37", "not modelled"),
        ("2.0", "not modelled"),
        ("1.35.4", "not a Kubernetes version of the form MAJOR.MINOR"),
        ("latest", "not a Kubernetes version"),
        ("", "not a Kubernetes version"),
    ],
)
def test_unknown_versions_are_usage_errors_naming_the_supported_ones(
    text: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_version(text)


def test_versions_are_ordered_and_latest_is_newest() -> None:
    assert list(VERSIONS) == sorted(VERSIONS)
    assert LATEST == VERSIONS[-1] == v("1.36")
    assert v("1.34").between(v("1.33"), None) and not v("1.34").between(None, v("1.33"))


# --- the change table --------------------------------------------------------------------------


def test_every_change_names_rules_that_exist_and_carry_its_range() -> None:
    ids = {r.id: r for r in spec.rules()}
    for change in changes().values():
        assert change.first is not None or change.last is not None, change.id
        assert change.rules, change.id
        for rule_id in change.rules:
            assert rule_id in ids, (change.id, rule_id)
        # Somewhere among its rules the change is visible: a rule or example range, or a
        # versioned expectation.
        rules = [ids[r] for r in change.rules]
        versioned = any(
            r.holds != spec.ALWAYS or any(e.holds != spec.ALWAYS or e.versioned for e in r.examples)
            for r in rules
        )
        assert versioned, change.id


def test_every_change_holds_somewhere_and_not_everywhere() -> None:
    for change in changes().values():
        held = [change.holds(version) for version in VERSIONS]
        assert any(held) and not all(held), change.id


def test_change_ranges_are_what_upstream_releases_have() -> None:
    # The ones read off each release's source (docs/rules/versions.md).
    assert [change_holds("balanced-allocation-change-of-balance", x) for x in VERSIONS] == [
        False,
        False,
        False,
        True,
    ]
    assert [change_holds("dynamic-resources-in-default-profile", x) for x in VERSIONS] == [
        False,
        True,
        True,
        True,
    ]
    assert [change_holds("taint-reason-hides-taint", x) for x in VERSIONS] == [
        False,
        True,
        True,
        True,
    ]


# --- behaviour per release ---------------------------------------------------------------------

NODE = {
    "apiVersion": "v1",
    "kind": "Node",
    "metadata": {"name": "n1"},
    "spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]},
    "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}},
}


def pod(**spec_extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec_extra},
    }


def explain_at(version: str, objects: list[dict[str, Any]], pod_manifest: dict[str, Any]) -> Any:
    cluster = cluster_from_manifests(objects, "objects")
    return podfit.explain(cluster, pod_from_manifest(pod_manifest, "pod"), kube_version=version)


@pytest.mark.parametrize("version", SUPPORTED)
def test_message_per_release(version: str) -> None:
    result = explain_at(version, [NODE], pod())
    dra = version != "1.33"
    taint = "node(s) had untolerated taint(s)" if dra else "untolerated taint {dedicated: gpu}"
    assert taint in result.message
    assert ("no new claims to deallocate, preemption:" in result.message) is dra
    assert result.kube_version == v(version)
    assert result.to_dict()["kubeVersion"] == version


def test_dynamic_resources_scores_from_1_35_and_stays_out_before_1_34() -> None:
    node2 = {**NODE, "metadata": {"name": "n2"}, "spec": {}}
    node3 = {**NODE, "metadata": {"name": "n3"}, "spec": {}}

    def weights(x: str) -> dict[str, int]:
        return dict(explain_at(x, [node2, node3], pod()).weights)

    assert "DynamicResources" not in weights("1.33")
    assert "DynamicResources" not in weights("1.34")
    assert weights("1.35")["DynamicResources"] == 2
    assert weights("1.36")["DynamicResources"] == 2


def test_a_pod_with_resource_claims_is_never_placed_from_1_34() -> None:
    claims = {"resourceClaims": [{"name": "gpu", "resourceClaimName": "gpu-claim"}]}
    node = {**NODE, "spec": {}}
    result = explain_at("1.36", [node], pod(**claims))
    assert result.unmodelled and not result.schedulable and result.selected is None
    assert "resourceClaims" in result.message
    # 1.33's API server drops the field (the gate is off there): the pod schedules.
    assert explain_at("1.33", [node], pod(**claims)).selected == "n1"


def test_pod_level_resources_are_dropped_by_the_1_33_api_server() -> None:
    node = {
        **NODE,
        "spec": {},
        "status": {"allocatable": {"cpu": "2", "memory": "8Gi", "pods": "9"}},
    }
    big = pod(resources={"requests": {"cpu": "3"}, "limits": {"cpu": "3"}})
    assert explain_at("1.33", [node], big).feasible == ["n1"]
    assert explain_at("1.34", [node], big).feasible == []


def test_profiles_must_match_the_version_asked_about() -> None:
    cluster = podfit.load(EXAMPLES / "cluster.yaml")
    config = {"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration"}
    profiles = podfit.load_config(config, kube_version="1.35")
    with pytest.raises(UsageError, match=r"loaded for Kubernetes 1\.35, but kube_version is 1\.36"):
        podfit.explain(cluster, podfit.load_pod(EXAMPLES / "pod.yaml"), config=profiles)


# --- the CLI -----------------------------------------------------------------------------------

COMMANDS = {
    "validate": ["validate", "-f", str(EXAMPLES / "cluster.yaml")],
    "explain": ["explain", "-f", str(EXAMPLES / "cluster.yaml"), "--pod", str(EXAMPLES / "pod.yaml")],
    "simulate": ["simulate", "-f", str(EXAMPLES / "cluster.yaml"), "--pods", str(EXAMPLES / "pending.yaml")],
    "solve": ["solve", "-f", str(EXAMPLES / "cluster.yaml"), "--pods", str(EXAMPLES / "pending.yaml")],
    "admit": ["admit", "-f", str(EXAMPLES / "cluster.yaml"), "--pod", str(EXAMPLES / "pod.yaml")],
    "whatif": ["whatif", "-f", str(EXAMPLES / "cluster.yaml"), "--cordon", "node-a1"],
    "prove": ["prove", "-f", str(EXAMPLES / "cluster.yaml"), "--claim", str(EXAMPLES / "claims" / "gpu-needs-toleration.yaml")],
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_names_the_version_it_follows(command: str) -> None:
    runner = CliRunner()
    done = runner.invoke(cli, [*COMMANDS[command], "--kube-version", "1.34", "-o", "json"])
    assert done.exit_code in (0, 1), done.output
    assert json.loads(done.stdout)["kubeVersion"] == "1.34"
    text = runner.invoke(cli, COMMANDS[command])
    assert "Kubernetes 1.36" in text.stdout, text.stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_unknown_version_is_a_usage_error(command: str) -> None:
    done = CliRunner().invoke(cli, [*COMMANDS[command], "--kube-version", "1.30"])
    assert done.exit_code == 2
    assert "podfit models 1.33, 1.34, 1.35, 1.36" in done.stderr
    assert "Traceback" not in done.stderr


def test_conform_and_spec_verify_take_a_version() -> None:
    runner = CliRunner()
    done = runner.invoke(
        cli,
        ["conform", "--adapter", "reference", "--max-examples", "3", "--rules", "taints",
         "--kube-version", "1.33", "-o", "json", "--no-stateful"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["kubeVersion"] == "1.33"
    done = runner.invoke(
        cli, ["spec", "verify", "--rules", "taints.filter.untolerated-noschedule",
              "--kube-version", "1.33", "-o", "json"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["kubeVersions"] == ["1.33"]


def test_explain_exits_2_for_a_pod_it_cannot_decide(tmp_path: Path) -> None:
    claims = pod(resourceClaims=[{"name": "gpu", "resourceClaimName": "gpu-claim"}])
    pod_file = tmp_path / "pod.json"
    pod_file.write_text(json.dumps(claims))
    done = CliRunner().invoke(
        cli, ["explain", "-f", str(EXAMPLES / "cluster.yaml"), "--pod", str(pod_file)]
    )
    assert done.exit_code == 2
    assert "cannot decide" in done.stderr and "resourceClaims" in done.stderr
