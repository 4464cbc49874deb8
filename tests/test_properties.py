"""The conformance properties: the reference passes, every mutant is caught, and each check
says the right thing on hand-made examples."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from podfit.adapters.mutants import BUG_RULES, MUTANTS, AdmissionMutant, MutantScheduler
from podfit.adapters.reference_adapter import ReferenceScheduler
from podfit.cluster import Cluster
from podfit.conformance.decisions import ADMISSION_AREAS, ALL_AREAS, NODE_AREAS, Decision
from podfit.conformance.properties import (
    PropertyFailed,
    SchedulerStateMachine,
    areas_for_rules,
    check,
    check_example,
    evaluate,
    involved_areas,
    reference_verdict,
    rule_ids,
    single_node_cluster,
)
from podfit.conformance.runner import run_conformance
from podfit.conformance.strategies import cpu_quantity, finish_pod, quantity_of
from podfit.model import Container, Node, Pod, Taint, Toleration, frozen_resources
from podfit.spec import rules as spec_rules

# --- hand-made examples ---------------------------------------------------------------------


def node(name: str, *, taints: tuple[Taint, ...] = (), cordoned: bool = False) -> Node:
    allocatable = frozen_resources(
        {"cpu": cpu_quantity(2000), "memory": quantity_of(2**31), "pods": quantity_of(110)}
    )
    return Node(
        name=name, taints=taints, unschedulable=cordoned, allocatable=allocatable,
        capacity=allocatable,
    )  # fmt: skip


def pending(**fields: object) -> Pod:
    return finish_pod(
        Pod(name="pending", containers=(Container(name="c0", image="pause"),), **fields)  # type: ignore[arg-type]
    )


class Answers:
    """A scheduler that gives a fixed answer (or raises)."""

    def __init__(self, answer: Decision | Exception, areas: frozenset[str] = NODE_AREAS) -> None:
        self.answer = answer
        self.name = "fixed"
        self.areas = areas

    def schedule(self, cluster: Cluster, pod: Pod) -> Decision:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def close(self) -> None:
        pass


TAINTED = Cluster([node("a", taints=(Taint("dedicated", "NoSchedule"),)), node("b")])


def test_soundness_catches_a_pick_the_reference_rejects() -> None:
    finding = check("soundness", Answers(Decision(node="a")), TAINTED, pending())
    assert finding is not None
    assert "picked a, which the reference rejects (TaintToleration" in finding.message
    assert finding.areas == ("taints",)
    assert "taints.filter.untolerated-noschedule" in finding.rule_ids
    assert all(r.startswith("taints.") for r in finding.rule_ids)
    assert check("soundness", Answers(Decision(node="b")), TAINTED, pending()) is None


def test_soundness_judges_only_the_claimed_areas() -> None:
    # A scheduler that does not claim taints may ignore them.
    ignores = Answers(Decision(node="a"), areas=frozenset({"resources"}))
    assert check("soundness", ignores, TAINTED, pending()) is None


def test_completeness_catches_giving_up_while_a_node_fits() -> None:
    finding = check("completeness", Answers(Decision(node=None)), TAINTED, pending())
    assert finding is not None
    assert "answered unschedulable, but 1 node(s) pass" in finding.message
    assert finding.reference.feasible == ("b",)
    everything_tainted = Cluster([node("a", taints=(Taint("dedicated", "NoSchedule"),))])
    assert (
        check("completeness", Answers(Decision(node=None)), everything_tainted, pending()) is None
    )


@pytest.mark.parametrize(
    "answer, expected",
    [
        (RuntimeError("boom"), "the scheduler raised RuntimeError: boom"),
        (Decision(node=None, error="timed out"), "did not answer: timed out"),
        ("node-b", "returned str, not a Decision"),
    ],
)
def test_a_scheduler_that_fails_to_answer_fails_every_property(
    answer: object, expected: str
) -> None:
    scheduler = Answers(answer)  # type: ignore[arg-type]
    for prop in ("soundness", "completeness"):
        finding = check(prop, scheduler, TAINTED, pending())
        assert finding is not None and expected in finding.message


def test_a_node_that_does_not_exist_is_unsound() -> None:
    finding = check("soundness", Answers(Decision(node="ghost")), TAINTED, pending())
    assert finding is not None and "'ghost', which is not in the cluster" in finding.message


def test_strict_optimality_and_reasons() -> None:
    # b has a PreferNoSchedule taint: a is the only best node.
    cluster = Cluster([node("a"), node("b", taints=(Taint("soft", "PreferNoSchedule"),))])
    verdict = reference_verdict(cluster, pending(), NODE_AREAS)
    assert verdict.top == ("a",)
    assert check("optimality", Answers(Decision(node="b")), cluster, pending()) is not None
    assert check("optimality", Answers(Decision(node="a")), cluster, pending()) is None
    wrong = Decision(node="b", reasons={"a": ("Insufficient cpu",)})
    finding = check("reasons", Answers(wrong), TAINTED, pending())
    assert finding is not None and "a: gave ['Insufficient cpu']" in finding.message
    right = Decision(node="b", reasons={"a": ("node(s) had untolerated taint(s)",)})
    assert check("reasons", Answers(right), TAINTED, pending()) is None


def test_one_node_parts_find_what_another_node_hides() -> None:
    # The scheduler rejects a good node but picks another good one: on the whole cluster it
    # is complete; on the one-node part made of "b" it gives up.
    class RejectsB(Answers):
        def schedule(self, cluster: Cluster, pod: Pod) -> Decision:
            return Decision(node="a" if "a" in cluster.nodes else None)

    cluster = Cluster([node("a"), node("b")])
    assert check("completeness", RejectsB(Decision(node=None)), cluster, pending()) is None
    findings = check_example(RejectsB(Decision(node=None)), cluster, pending(), "completeness")
    assert findings and list(findings[0].cluster.nodes) == ["b"]
    part = single_node_cluster(cluster, "b")
    assert list(part.nodes) == ["b"] and not part.pods


def test_involved_areas() -> None:
    tolerating = pending(tolerations=(Toleration(key="k", operator="Exists"),))
    assert involved_areas(Cluster([node("a")]), tolerating) == {"taints"}
    assert involved_areas(Cluster([node("a", cordoned=True)]), pending()) == {"node-unschedulable"}


def test_rule_ids_and_areas_for_rules() -> None:
    assert rule_ids(["taints"])  # the spec has filter rules for taints
    assert not any(r.startswith("resources.") for r in rule_ids(["taints"]))
    assert areas_for_rules(["taints"]) == {"taints"}
    assert areas_for_rules(["taints.filter.no-execute"]) == {"taints"}
    assert areas_for_rules(["selectors.node-term"]) == {"node-affinity"}
    with pytest.raises(ValueError, match="no rule area or rule id 'nope'"):
        areas_for_rules(["nope"])
    with pytest.raises(ValueError, match="not checked by conformance"):
        areas_for_rules(["image-locality"])


# --- the reference passes, every mutant is caught --------------------------------------------


def test_the_reference_passes() -> None:
    report = run_conformance(ReferenceScheduler(), max_examples=60, seed=11)
    assert report.ok, [f.message for f in report.findings]
    assert set(report.covered) == ALL_AREAS | ADMISSION_AREAS
    assert report.totals().run > 60 * 2 * len(ALL_AREAS)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_every_mutant_is_caught_and_its_finding_names_the_rule_it_breaks(name: str) -> None:
    mutant = MUTANTS[name]()
    assert isinstance(mutant, MutantScheduler | AdmissionMutant)
    assert mutant.name == f"mutant:{name}"
    # The default budget (200 examples per property and area, and the stateful run) on
    # the area of the bug, stopping at the first finding, shrunk as a user would get it.
    report = run_conformance(mutant, areas=[mutant.bug_area], seed=2024, fail_fast=True)
    assert report.findings, f"{name} ({mutant.bug}) was not caught"
    finding = report.findings[0]
    assert mutant.bug_area in finding.areas
    # The finding names the broken rule, and few others (those the shrunk example still
    # needs: a sidecar that fills the node next to the overhead, ...).
    assert set(BUG_RULES[name]) & set(finding.rule_ids), (name, finding.rule_ids)
    assert len(finding.rule_ids) <= 3, (name, finding.rule_ids)


def test_every_mutant_says_which_rule_it_breaks() -> None:
    assert set(BUG_RULES) == set(MUTANTS)
    known = {r.id for r in spec_rules()}
    assert {r for rules in BUG_RULES.values() for r in rules} <= known


def test_the_state_machine_passes_the_reference() -> None:
    machine = SchedulerStateMachine.for_scheduler(ReferenceScheduler(), areas=NODE_AREAS)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=15, stateful_step_count=15, deadline=None, database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )  # fmt: skip


def test_the_state_machine_catches_a_mutant_and_binds_its_choices() -> None:
    decisions: list[int] = []
    machine = SchedulerStateMachine.for_scheduler(
        MUTANTS["cordon-ignored"](),
        areas={"node-unschedulable"},
        on_decision=lambda findings: decisions.append(len(findings)),
    )
    with pytest.raises(PropertyFailed) as failed:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=50, stateful_step_count=15, deadline=None, database=None,
                suppress_health_check=list(HealthCheck),
                phases=(Phase.explicit, Phase.generate),  # caught is enough: no shrinking
            ),
        )  # fmt: skip
    assert failed.value.finding.property == "soundness"
    assert decisions and decisions[-1] == 1


def test_evaluate_gives_the_scheduler_a_copy() -> None:
    class Meddles(Answers):
        def schedule(self, cluster: Cluster, pod: Pod) -> Decision:
            cluster.remove_pod("default/x")
            cluster.nodes.clear()
            return Decision(node=None)

    cluster = Cluster([node("a"), replace(pending(), name="x", node_name="a", phase="Running")])
    evaluate(Meddles(Decision(node=None)), cluster, pending())
    assert list(cluster.nodes) == ["a"] and "default/x" in cluster.pods


# --- the long run ------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("PODFIT_LONG"), reason="long campaign: set PODFIT_LONG=1")
def test_the_reference_passes_ten_thousand_examples() -> None:
    report = run_conformance(ReferenceScheduler(), max_examples=750, seed=20240601)
    assert report.ok, [f.message for f in report.findings]
    assert report.totals().run >= 10_000
