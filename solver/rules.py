"""The spec rule ids (``podfit.spec``) the solver names its facts after, and
kube-scheduler's filter order, which explanations follow."""

from __future__ import annotations


class Rules:
    """The spec rule ids (``podfit.spec``) the encoding names its facts after.

    Plain constants, so encoding never has to parse the rule files; the tests check that
    each one is a rule of the spec.
    """

    NODE_NAME = "node-affinity.filter.node-name"
    CORDONED = "node-unschedulable.filter.cordoned"
    TAINT_NO_SCHEDULE = "taints.filter.untolerated-noschedule"
    TAINT_NO_EXECUTE = "taints.filter.no-execute"
    NODE_SELECTOR = "node-affinity.filter.node-selector"
    REQUIRED_TERMS = "node-affinity.filter.required-terms"
    EMPTY_TERMS = "node-affinity.filter.empty-terms"
    INVALID_REQUIREMENT = "node-affinity.filter.invalid-requirement"
    PORTS_SAME = "node-ports.filter.same-port-clashes"
    PORTS_BIND_ALL = "node-ports.filter.bind-all-address"
    INSUFFICIENT = "resources.filter.insufficient"
    EXTENDED = "resources.filter.extended-resources"
    HUGEPAGES = "resources.filter.hugepages"
    TOO_MANY_PODS = "resources.filter.too-many-pods"
    SPREAD_MISSING_KEY = "topology-spread.filter.missing-topology-key"
    SPREAD_SKEW = "topology-spread.filter.skew"
    SPREAD_MIN_DOMAINS = "topology-spread.filter.min-domains"
    SPREAD_POLICIES = "topology-spread.filter.node-inclusion-policies"
    AFFINITY = "inter-pod-affinity.filter.required-affinity"
    AFFINITY_FIRST_POD = "inter-pod-affinity.filter.self-affinity-first-pod"
    ANTI_AFFINITY = "inter-pod-affinity.filter.required-anti-affinity"
    EXISTING_ANTI_AFFINITY = "inter-pod-affinity.filter.existing-anti-affinity"
    DECLARED_FEATURES = "node-declared-features.filter.required-features"
    # Not a scheduling rule: the question asked ("place every pod"); never in a result's core.
    PLACEMENT = "placement.required"

    # kube-scheduler's default filter order; explanations prefer the earliest rule.
    FILTER_ORDER: tuple[str, ...] = (
        CORDONED,
        NODE_NAME,
        TAINT_NO_SCHEDULE,
        TAINT_NO_EXECUTE,
        NODE_SELECTOR,
        EMPTY_TERMS,
        INVALID_REQUIREMENT,
        REQUIRED_TERMS,
        PORTS_SAME,
        PORTS_BIND_ALL,
        TOO_MANY_PODS,
        INSUFFICIENT,
        HUGEPAGES,
        EXTENDED,
        SPREAD_MISSING_KEY,
        SPREAD_POLICIES,
        SPREAD_MIN_DOMAINS,
        SPREAD_SKEW,
        AFFINITY,
        AFFINITY_FIRST_POD,
        ANTI_AFFINITY,
        EXISTING_ANTI_AFFINITY,
        DECLARED_FEATURES,
    )


def filter_rank(rule: str) -> int:
    """Position of a rule in kube-scheduler's filter order (unknown rules last)."""
    order = Rules.FILTER_ORDER
    return order.index(rule) if rule in order else len(order)


__all__ = ["Rules", "filter_rank"]
