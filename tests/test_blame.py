"""Which rules a finding names: the rules of the features its shrunk example keeps, the
general rule of an area when there is none, and not the rules whose feature the
disagreement does not need."""

from __future__ import annotations

from dataclasses import replace

from podfit.cluster import Cluster
from podfit.conformance.blame import RULE_FEATURES, Dispute, blamed_rules, refine
from podfit.conformance.decisions import Decision
from podfit.conformance.properties import check, rule_ids
from podfit.model import Pod, Taint, Toleration
from podfit.spec import rules

from .test_properties import Answers, node, pending

TAINTS = rule_ids(["taints"])


def test_every_rule_in_the_feature_tables_is_a_spec_rule() -> None:
    known = {r.id for r in rules()}
    for area, entries in RULE_FEATURES.items():
        for entry in entries:
            assert entry.rule in known, (area, entry.rule)


def test_a_plain_untolerated_taint_names_the_general_rule() -> None:
    cluster = Cluster([node("a", taints=(Taint("dedicated", "NoSchedule"),))])
    finding = check("soundness", Answers(Decision(node="a")), cluster, pending())
    assert finding is not None
    assert finding.rule_ids == ("taints.filter.untolerated-noschedule",)


def test_an_exists_toleration_names_the_exists_rule_only() -> None:
    cluster = Cluster([node("a", taints=(Taint("dedicated", "NoSchedule"),))])
    pod = replace(pending(), tolerations=(Toleration(key="other", operator="Exists"),))
    finding = check("soundness", Answers(Decision(node="a")), cluster, pod)
    assert finding is not None
    assert finding.rule_ids == ("taints.filter.exists",)


def test_a_prefer_no_schedule_taint_names_its_rule_for_completeness() -> None:
    cluster = Cluster([node("a", taints=(Taint("soft", "PreferNoSchedule"),))])
    finding = check("completeness", Answers(Decision(node=None)), cluster, pending())
    assert finding is not None
    assert finding.rule_ids == ("taints.filter.prefer-no-schedule",)


def test_a_scheduler_that_did_not_answer_names_no_rule() -> None:
    cluster = Cluster([node("a")])
    finding = check("completeness", Answers(Decision(node=None, error="boom")), cluster, pending())
    assert finding is not None
    assert finding.rule_ids == ()


def test_refine_drops_a_rule_whose_feature_is_not_needed() -> None:
    # A finished pod on the node: the terminal-pods rule's feature. The disagreement
    # persists without it, so the rule is dropped and the general rule is named instead.
    finished = replace(pending(), name="done", node_name="a", phase="Succeeded")
    cluster = Cluster([node("a", taints=(Taint("dedicated", "NoSchedule"),)), finished])
    dispute = Dispute(cluster, pending(), ("a",))
    candidates = rule_ids(["resources", "taints"])
    assert "resources.filter.terminal-pods" in blamed_rules(["resources"], dispute, candidates)
    calls: list[Cluster] = []

    def still_fails(c: Cluster, p: Pod) -> bool:
        calls.append(c)
        return True

    named = refine(["resources"], dispute, candidates, still_fails)
    assert "resources.filter.terminal-pods" not in named
    assert named == ("resources.filter.no-requests",)
    assert calls and not any(p.is_terminal for p in calls[0].bound_pods())
    # When the disagreement goes away without the finished pod, the rule stays.
    kept = refine(["resources"], dispute, candidates, lambda c, p: False)
    assert "resources.filter.terminal-pods" in kept


def test_an_area_without_a_feature_table_keeps_every_candidate() -> None:
    dispute = Dispute(Cluster([node("a")]), pending(), ("a",))
    assert blamed_rules(["image-locality"], dispute, TAINTS) == TAINTS
