"""The filters decided per (pod, node) without looking at other pending pods, as
*exclusions* with the rule and a reason: spec.nodeName, cordon, taints, nodeSelector,
required node affinity, host ports held on the node. Also what both encodings of topology
spread share: a pod's DoNotSchedule constraints and which nodes take part in one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

from podfit.model import Pod, TopologySpreadConstraint

from .labels import term_text, term_verdict
from .rules import Rules
from .state import (
    CORDON_TAINT,
    NodeState,
    PendingPod,
    clash_rule,
    ports_clash,
    tolerated,
)


class Exclusion(NamedTuple):
    rule: str
    detail: str


StaticCheck = Callable[[PendingPod, NodeState], Iterator[Exclusion]]


def check_node_name(p: PendingPod, n: NodeState) -> Iterator[Exclusion]:
    if p.pod.node_name and p.pod.node_name != n.name:
        yield Exclusion(Rules.NODE_NAME, f"spec.nodeName is {p.pod.node_name}")


def check_cordoned(p: PendingPod, n: NodeState) -> Iterator[Exclusion]:
    if n.node.unschedulable and not tolerated(p.pod.tolerations, CORDON_TAINT):
        yield Exclusion(
            Rules.CORDONED, "cordoned (spec.unschedulable), which the pod does not tolerate"
        )


def check_taints(p: PendingPod, n: NodeState) -> Iterator[Exclusion]:
    for effect, rule in (
        ("NoSchedule", Rules.TAINT_NO_SCHEDULE),
        ("NoExecute", Rules.TAINT_NO_EXECUTE),
    ):
        missed = [
            t for t in n.node.taints if t.effect == effect and not tolerated(p.pod.tolerations, t)
        ]
        if missed:
            names = ", ".join(str(t) for t in missed)
            yield Exclusion(rule, f"untolerated taint {names}")


def check_node_selector(p: PendingPod, n: NodeState) -> Iterator[Exclusion]:
    selector = p.pod.node_selector
    if any(n.node.labels.get(k) != v for k, v in selector.items()):
        wanted = ", ".join(f"{k}={v}" for k, v in sorted(selector.items()))
        yield Exclusion(Rules.NODE_SELECTOR, f"nodeSelector {wanted} does not match")


def check_required_affinity(p: PendingPod, n: NodeState) -> Iterator[Exclusion]:
    affinity = p.pod.affinity
    required = (
        affinity.node_affinity.required
        if affinity is not None and affinity.node_affinity is not None
        else None
    )
    if required is None:
        return
    verdicts = [term_verdict(t, n.node) for t in required.terms]
    if "match" in verdicts:
        return
    usable = [t for t, v in zip(required.terms, verdicts, strict=True) if v != "empty"]
    if not usable:
        yield Exclusion(Rules.EMPTY_TERMS, "required node affinity has no non-empty term")
    elif all(v in ("empty", "invalid") for v in verdicts):
        yield Exclusion(
            Rules.INVALID_REQUIREMENT,
            "every required node affinity term has a requirement the scheduler cannot build",
        )
    else:
        terms = " or ".join(f"({term_text(t)})" for t in usable)
        yield Exclusion(Rules.REQUIRED_TERMS, f"required node affinity {terms} does not match")


def check_held_ports(p: PendingPod, n: NodeState) -> Iterator[Exclusion]:
    by_rule: dict[str, list[str]] = {}
    for want in p.ports:
        for held, holder in n.used_ports.items():
            if ports_clash(want, held):
                by_rule.setdefault(clash_rule(want, held), []).append(
                    f"host port {want} clashes with {held} held by {holder}"
                )
    for rule, clashes in by_rule.items():
        yield Exclusion(rule, "; ".join(dict.fromkeys(clashes)))


# The node features a pod's spec needs (spec: node-declared-features.filter.required-features).
RESTART_ALL = "RestartAllContainersOnContainerExits"
USERNS_HOST_NETWORK = "UserNamespacesHostNetworkSupport"


def needed_node_features(pod: Pod) -> frozenset[str]:
    needs = set()
    if any(
        rule.get("action") == "RestartAllContainers"
        for c in (*pod.containers, *pod.init_containers)
        for rule in c.restart_policy_rules
    ):
        needs.add(RESTART_ALL)
    if pod.host_network and pod.host_users is False:
        needs.add(USERNS_HOST_NETWORK)
    return frozenset(needs)


def check_declared_features(p: PendingPod, n: NodeState) -> Iterator[Exclusion]:
    # Releases before v1.36 lack the filter, but there the fields that need a feature are
    # dropped by the API server (podfit.apiserver) or rejected by its validation.
    missing = needed_node_features(p.pod) - set(n.node.declared_features)
    if missing:
        yield Exclusion(
            Rules.DECLARED_FEATURES,
            f"the pod needs node feature(s) {', '.join(sorted(missing))}, which the node does "
            "not declare",
        )


STATIC_CHECKS: tuple[StaticCheck, ...] = (
    check_cordoned,
    check_node_name,
    check_taints,
    check_node_selector,
    check_required_affinity,
    check_held_ports,
    check_declared_features,
)


# --- topology spread: what the per-pod and the counting encodings share ----------------------

DO_NOT_SCHEDULE = "DoNotSchedule"


def hard_constraints(pod: Pod) -> tuple[TopologySpreadConstraint, ...]:
    return tuple(
        c for c in pod.topology_spread_constraints if c.when_unsatisfiable == DO_NOT_SCHEDULE
    )


def eligible(p: PendingPod, c: TopologySpreadConstraint, keys: list[str], n: NodeState) -> bool:
    """Does node ``n`` take part in ``p``'s constraint ``c`` (its counts and domains)?"""
    labels = n.node.labels
    if any(k not in labels for k in keys):
        return False
    if c.honors_node_affinity and (
        any(True for _ in check_node_selector(p, n))
        or any(True for _ in check_required_affinity(p, n))
    ):
        return False
    return not (c.honors_taints and any(True for _ in check_taints(p, n)))
