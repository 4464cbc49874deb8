"""Which spec rules a counterexample turns on.

A finding's example has been shrunk by Hypothesis: every feature it still has is needed
for the disagreement (drop it and the scheduler agrees with the reference). So the rules
a finding names are the rules whose subject the shrunk example still shows on the node in
dispute: an ``Exists`` toleration names ``taints.filter.exists``, an init container
``resources.request.init-containers-max``, a held ``0.0.0.0`` port next to a specific one
``node-ports.filter.bind-all-address``. Each area also has a *general* rule (a NoSchedule
taint nothing tolerates, a request that does not fit, the skew) that is named only when no
rule of a more particular feature is: it is what is left when the example is as plain as
it gets.

:func:`blamed_rules` gives those rules for the areas a property blamed; a property whose
rules are not about features of the example (optimality: scores) keeps every rule of
its areas.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from podfit.cluster import Cluster
from podfit.model import (
    Container,
    ContainerPort,
    LabelSelector,
    Node,
    NodeSelectorTerm,
    Pod,
    PodAffinityTerm,
    ResourceQuota,
    TopologySpreadConstraint,
    frozen_resources,
)
from podfit.reference.taints import tolerates

__all__ = ["RULE_FEATURES", "Dispute", "RuleFeature", "blamed_rules", "featured_rules"]

UNSCHEDULABLE_KEY = "node.kubernetes.io/unschedulable"
BIND_ALL = frozenset({"", "0.0.0.0", "::"})
STANDARD_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage", "pods"})


@dataclass(frozen=True)
class Dispute:
    """The example a finding is about, and the nodes the two answers differ on."""

    cluster: Cluster
    pod: Pod
    nodes: tuple[str, ...]

    def disputed(self) -> Iterator[Node]:
        for name in self.nodes:
            node = self.cluster.nodes.get(name)
            if node is not None:
                yield node

    def pods_on(self, node: Node) -> list[Pod]:
        return list(self.cluster.pods_on(node.name))

    def running(self) -> list[Pod]:
        return list(self.cluster.bound_pods())


Feature = Callable[[Dispute], bool]
Reduce = Callable[[Cluster, Pod], "tuple[Cluster, Pod] | None"]


def _any_node(test: Callable[[Node], bool]) -> Feature:
    return lambda d: any(test(n) for n in d.disputed())


# --- taints and cordons ------------------------------------------------------------------------


def _filtering_taints(node: Node) -> list[tuple[str, str, str]]:
    return [(t.key, t.value, t.effect) for t in node.taints if t.effect != "PreferNoSchedule"]


def _exists_toleration(d: Dispute) -> bool:
    return any(t.operator == "Exists" for t in d.pod.tolerations)


def _equal_toleration_meets_a_taint(d: Dispute) -> bool:
    keys = {t.key for n in d.disputed() for t in n.taints}
    return any(t.operator in ("", "Equal") and t.key in keys for t in d.pod.tolerations)


def _effect_decides(d: Dispute) -> bool:
    """A toleration whose effect (or lack of one) decides whether it tolerates a taint of
    the node: it matches the taint's key and value, and the effects differ or it has none."""
    for node in d.disputed():
        for key, value, effect in _filtering_taints(node):
            for t in d.pod.tolerations:
                key_ok = t.key == key or (not t.key and t.operator == "Exists")
                value_ok = t.operator == "Exists" or t.value == value
                if key_ok and value_ok and t.effect != effect:
                    return True
    return False


def _effects_spelled_out(cluster: Cluster, pod: Pod) -> tuple[Cluster, Pod] | None:
    """The pod with each effect-less toleration given the effect of the first filtering
    taint it matches on some node (what it tolerates there stays the same)."""
    taints = [t for n in cluster.nodes.values() for t in n.taints if t.effect != "PreferNoSchedule"]
    changed = []
    for tol in pod.tolerations:
        if not tol.effect:
            hit = next((t for t in taints if tolerates(tol, t)), None)
            if hit is not None:
                tol = replace(tol, effect=hit.effect)
        changed.append(tol)
    if tuple(changed) == pod.tolerations:
        return None
    return cluster, replace(pod, tolerations=tuple(changed))


def _cordon_toleration(d: Dispute) -> bool:
    return any(
        t.key == UNSCHEDULABLE_KEY or (not t.key and t.operator == "Exists")
        for t in d.pod.tolerations
    )


# --- node affinity -----------------------------------------------------------------------------


def _required_terms(pod: Pod) -> tuple[NodeSelectorTerm, ...] | None:
    affinity = pod.affinity
    if affinity is None or affinity.node_affinity is None:
        return None
    required = affinity.node_affinity.required
    return None if required is None else required.terms


def _requirements(pod: Pod) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    for term in _required_terms(pod) or ():
        for r in term.match_expressions:
            yield r.key, r.operator, r.values


def _match_fields(d: Dispute) -> bool:
    return any(term.match_fields for term in _required_terms(d.pod) or ())


def _empty_term(d: Dispute) -> bool:
    terms = _required_terms(d.pod)
    if terms is None:
        return False
    return not terms or any(not t.match_expressions and not t.match_fields for t in terms)


def _invalid_requirement(d: Dispute) -> bool:
    from podfit.reference.labels import node_selector_term_problems

    return any(node_selector_term_problems(t) for t in _required_terms(d.pod) or ())


def _numeric_operator(d: Dispute) -> bool:
    return any(op in ("Gt", "Lt") for _, op, _ in _requirements(d.pod))


def _set_operator_on_missing_label(d: Dispute) -> bool:
    """NotIn or DoesNotExist on a node that lacks the label (they hold there)."""
    return any(
        op in ("NotIn", "DoesNotExist") and key not in node.labels
        for key, op, _ in _requirements(d.pod)
        for node in d.disputed()
    )


def _several_terms(d: Dispute) -> bool:
    terms = _required_terms(d.pod) or ()
    return len(terms) > 1 or any(len(t.match_expressions) + len(t.match_fields) > 1 for t in terms)


# --- node ports --------------------------------------------------------------------------------


def _host_ports(pod: Pod, *, every_init: bool = True) -> Iterator[ContainerPort]:
    containers: list[Container] = list(pod.containers)
    containers += [c for c in pod.init_containers if every_init or c.restart_policy == "Always"]
    for c in containers:
        for p in c.ports:
            if p.host_port > 0 or pod.host_network:
                yield p


def _port_pairs(d: Dispute) -> Iterator[tuple[ContainerPort, ContainerPort]]:
    wanted = list(_host_ports(d.pod, every_init=False))
    for node in d.disputed():
        for held_pod in d.pods_on(node):
            for held in _host_ports(held_pod, every_init=False):
                for want in wanted:
                    w = want.host_port or want.container_port
                    h = held.host_port or held.container_port
                    if w == h:
                        yield want, held


def _protocol_or_address_differs(d: Dispute) -> bool:
    return any(
        w.protocol != h.protocol
        or (w.host_ip not in BIND_ALL and h.host_ip not in BIND_ALL and w.host_ip != h.host_ip)
        for w, h in _port_pairs(d)
    )


def _bind_all_meets_specific(d: Dispute) -> bool:
    return any((w.host_ip in BIND_ALL) != (h.host_ip in BIND_ALL) for w, h in _port_pairs(d))


def _init_container_ports(d: Dispute) -> bool:
    pods = [d.pod, *(p for n in d.disputed() for p in d.pods_on(n))]
    return any(
        c.restart_policy != "Always" and any(p.host_port > 0 for p in c.ports)
        for pod in pods
        for c in pod.init_containers
    )


def _host_network(d: Dispute) -> bool:
    return d.pod.host_network or any(p.host_network for n in d.disputed() for p in d.pods_on(n))


def _port_holder_finished_or_leaving(d: Dispute) -> bool:
    return any(
        (p.is_terminal or p.deletion_timestamp is not None) and any(_host_ports(p))
        for n in d.disputed()
        for p in d.pods_on(n)
    )


# --- resources ---------------------------------------------------------------------------------


def _requests(pod: Pod) -> dict[str, object]:
    from podfit.reference.resources import pod_requests

    return {k: v for k, v in pod_requests(pod).items() if v > 0}


def _requests_something(c: Container) -> bool:
    return any(q.value > 0 for q in c.resources.requests.values())


def _ordinary_init_containers(d: Dispute) -> bool:
    return any(
        c.restart_policy != "Always" and _requests_something(c) for c in d.pod.init_containers
    )


def _sidecars(d: Dispute) -> bool:
    return any(
        c.restart_policy == "Always" and _requests_something(c) for c in d.pod.init_containers
    )


def _limits_above_requests(d: Dispute) -> bool:
    for c in (*d.pod.containers, *d.pod.init_containers):
        for name, limit in c.resources.limits.items():
            request = c.resources.requests.get(name)
            if request is None or limit.value != request.value:
                return True
    return False


def _fractional_request(d: Dispute) -> bool:
    """A request that is not a whole number of the scheduler's units (a fraction of a byte,
    or of a millicore): its rounding decides."""
    for c in (*d.pod.containers, *d.pod.init_containers):
        for name, q in c.resources.requests.items():
            units = q.value * 1000 if name == "cpu" else q.value
            if units.denominator != 1:
                return True
    return False


def _resizing_pods_on_node(d: Dispute) -> bool:
    """A pod on the node whose status (being resized in place) differs from its spec."""
    for node in d.disputed():
        for p in d.pods_on(node):
            parts: list[Pod | Container] = [p, *p.containers, *p.init_containers]
            if any(c.status_requests is not None or c.allocated is not None for c in parts):
                return True
    return False


def _extended(d: Dispute) -> bool:
    return any(
        name not in STANDARD_RESOURCES and not name.startswith("hugepages-")
        for name in _requests(d.pod)
    )


def _hugepages(d: Dispute) -> bool:
    return any(name.startswith("hugepages-") for name in _requests(d.pod))


def _pod_slots_full(d: Dispute) -> bool:
    def full(node: Node) -> bool:
        q = node.allocatable.get("pods")
        held = sum(1 for p in d.pods_on(node) if not p.is_terminal)
        return q is not None and held + 1 > q.value

    return any(full(n) for n in d.disputed())


def _finished_pods_on_node(d: Dispute) -> bool:
    return any(p.is_terminal for n in d.disputed() for p in d.pods_on(n))


def _request_beyond_allocatable(d: Dispute) -> bool:
    from podfit.reference.resources import pod_requests

    wanted = pod_requests(d.pod)
    for node in d.disputed():
        for name, amount in wanted.items():
            q = node.allocatable.get(name)
            if amount > 0 and (q is None or amount > q.value):
                return True
    return False


# --- pod affinity and spread -------------------------------------------------------------------


def _terms(pod: Pod, *, affinity: bool = True, anti: bool = True) -> list[PodAffinityTerm]:
    if pod.affinity is None:
        return []
    out: list[PodAffinityTerm] = []
    if affinity and pod.affinity.pod_affinity is not None:
        out += pod.affinity.pod_affinity.required
    if anti and pod.affinity.pod_anti_affinity is not None:
        out += pod.affinity.pod_anti_affinity.required
    return out


def _every_term(d: Dispute) -> list[PodAffinityTerm]:
    return _terms(d.pod) + [t for p in d.running() for t in _terms(p, affinity=False)]


def _selectors(d: Dispute) -> list[LabelSelector | None]:
    out: list[LabelSelector | None] = [t.label_selector for t in _every_term(d)]
    out += [c.label_selector for c in d.pod.topology_spread_constraints]
    return out


def _nil_or_empty_selector(d: Dispute) -> bool:
    return any(s is None or (not s.match_labels and not s.match_expressions) for s in _selectors(d))


def _set_expressions(d: Dispute) -> bool:
    return any(s is not None and s.match_expressions for s in _selectors(d))


def _self_affinity(d: Dispute) -> bool:
    from podfit.reference.labels import selector_matches

    terms = [t for t in _terms(d.pod, anti=False) if t.label_selector is not None]
    # The exception is in play only while no running pod matches the term (the first pod).
    return any(
        selector_matches(t.label_selector, d.pod.labels)
        and not any(selector_matches(t.label_selector, p.labels) for p in d.running())
        for t in terms
    )


def _other_namespaces(d: Dispute) -> bool:
    terms = _every_term(d)
    if any(t.namespaces or t.namespace_selector is not None for t in terms):
        return True
    return bool(terms) and any(p.namespace != d.pod.namespace for p in d.running())


def _leaving_or_finished_pods(d: Dispute) -> bool:
    return any(p.is_terminal or p.deletion_timestamp is not None for p in d.running())


def _spread_key_missing(d: Dispute) -> bool:
    keys = {c.topology_key for c in d.pod.topology_spread_constraints}
    return any(k not in n.labels for k in keys for n in d.cluster.nodes.values())


def _inclusion_policy(d: Dispute) -> bool:
    constraints = d.pod.topology_spread_constraints
    if any(c.node_affinity_policy or c.node_taints_policy for c in constraints):
        return True
    # The default policies: node affinity honoured, taints ignored, when counting.
    filtered = bool(d.pod.node_selector) or _required_terms(d.pod) is not None
    tainted = any(n.taints for n in d.cluster.nodes.values())
    return bool(constraints) and (filtered or tainted)


def _hard_constraints(pod: Pod) -> list[TopologySpreadConstraint]:
    return [c for c in pod.topology_spread_constraints if c.when_unsatisfiable == "DoNotSchedule"]


@dataclass(frozen=True)
class RuleFeature:
    """A rule and the feature of an example it is about. A *general* rule is named only
    when no particular rule of the blamed areas is (its feature, when it has one, must
    still hold)."""

    rule: str
    feature: Feature | None = None
    general: bool = False
    #: The example without the feature (for :func:`refine`): when the property still fails
    #: there, the disagreement does not turn on this rule.
    without: Reduce | None = None


def _f(rule: str, feature: Feature, without: Reduce | None = None) -> RuleFeature:
    return RuleFeature(rule, feature, without=without)


def _without_pods(drop: Callable[[Pod], bool]) -> Reduce:
    def reduce(cluster: Cluster, pod: Pod) -> tuple[Cluster, Pod] | None:
        kept = [o for o in cluster.objects() if not (isinstance(o, Pod) and drop(o))]
        if len(kept) == sum(1 for _ in cluster.objects()):
            return None
        return Cluster(kept), pod

    return reduce


_without_leaving_pods = _without_pods(lambda p: p.is_terminal or p.deletion_timestamp is not None)


def _without_limit_field(name: str) -> Reduce:
    def reduce(cluster: Cluster, pod: Pod) -> tuple[Cluster, Pod] | None:
        out = cluster.copy()
        changed = False
        for key, lr in cluster.limit_ranges.items():
            cleared: dict[str, Any] = {name: frozen_resources()}
            items = tuple(replace(i, **cleared) for i in lr.limits)
            if items != lr.limits:
                out.limit_ranges[key] = replace(lr, limits=items)
                changed = True
        return (out, pod) if changed else None

    return reduce


def _general(rule: str, feature: Feature | None = None) -> RuleFeature:
    return RuleFeature(rule, feature, general=True)


def _taint_effect(effect: str) -> Feature:
    return _any_node(lambda n: any(t.effect == effect for t in n.taints))


def _spread(test: Callable[[TopologySpreadConstraint], bool]) -> Feature:
    return lambda d: any(test(c) for c in d.pod.topology_spread_constraints)


# --- admission and QoS (the pod as it comes to the API server) -----------------------------------


def _limit_items(d: Dispute) -> list[tuple[str, str]]:
    """(item type, field) of every bound the namespace's LimitRanges set."""
    out = []
    for lr in d.cluster.limit_ranges.values():
        if lr.namespace != d.pod.namespace:
            continue
        for item in lr.limits:
            for name in ("max", "min", "default", "default_request", "max_limit_request_ratio"):
                if getattr(item, name):
                    out.append((item.type, name))
    return out


def _limit(types: tuple[str, ...], fields: tuple[str, ...]) -> Feature:
    return lambda d: any(t in types and f in fields for t, f in _limit_items(d))


def _quotas(d: Dispute) -> list[ResourceQuota]:
    return [q for q in d.cluster.resource_quotas.values() if q.namespace == d.pod.namespace]


def _limits_without_requests(d: Dispute) -> bool:
    return any(
        name not in c.resources.requests
        for c in (*d.pod.containers, *d.pod.init_containers)
        for name in c.resources.limits
    )


def _resources_besides_cpu_memory(d: Dispute) -> bool:
    return any(
        name not in ("cpu", "memory")
        for c in (*d.pod.containers, *d.pod.init_containers)
        for part in (c.resources.requests, c.resources.limits)
        for name in part
    )


#: Per rule area, the rules conformance checks there and the features they are about.
RULE_FEATURES: Mapping[str, tuple[RuleFeature, ...]] = {
    "node-unschedulable": (
        _f("node-unschedulable.filter.toleration-forms", _cordon_toleration),
        _f(
            "node-unschedulable.filter.flag-not-taint",
            _any_node(lambda n: any(t.key == UNSCHEDULABLE_KEY for t in n.taints)),
        ),
        _general("node-unschedulable.filter.cordoned"),
    ),
    "taints": (
        _f("taints.filter.prefer-no-schedule", _taint_effect("PreferNoSchedule")),
        _f("taints.filter.exists", _exists_toleration),
        _f("taints.filter.operator-defaults-to-equal", _equal_toleration_meets_a_taint),
        _f("taints.filter.empty-effect", _effect_decides, _effects_spelled_out),
        _f("taints.filter.no-execute", _taint_effect("NoExecute")),
        _general("taints.filter.untolerated-noschedule"),
    ),
    "node-affinity": (
        _f("node-affinity.filter.node-name", lambda d: bool(d.pod.node_name)),
        _f("selectors.node-term.match-fields", _match_fields),
        _f("node-affinity.prefilter.node-name-narrowing", _match_fields),
        _f("selectors.node-term.gt-lt-integers", _numeric_operator),
        _f("selectors.node-term.empty-term", _empty_term),
        _f("node-affinity.filter.empty-terms", _empty_term),
        _f("selectors.node-term.invalid-requirement", _invalid_requirement),
        _f("node-affinity.filter.invalid-requirement", _invalid_requirement),
        _f("selectors.requirement.operators", _set_operator_on_missing_label),
        _f(
            "node-affinity.filter.selector-and-affinity",
            lambda d: bool(d.pod.node_selector) and _required_terms(d.pod) is not None,
        ),
        _f("node-affinity.filter.required-terms", _several_terms),
        _general("node-affinity.filter.node-selector", lambda d: bool(d.pod.node_selector)),
        _general(
            "node-affinity.filter.required-terms", lambda d: _required_terms(d.pod) is not None
        ),
    ),
    "node-ports": (
        _f("node-ports.prefilter.which-ports-count", _init_container_ports),
        _f("node-ports.filter.host-network", _host_network),
        _f(
            "node-ports.filter.who-holds-ports",
            _port_holder_finished_or_leaving,
            _without_leaving_pods,
        ),
        _f("node-ports.filter.bind-all-address", _bind_all_meets_specific),
        _f("node-ports.filter.different-address-or-protocol", _protocol_or_address_differs),
        _general("node-ports.filter.same-port-clashes"),
    ),
    "resources": (
        _f("resources.request.init-containers-max", _ordinary_init_containers),
        _f("resources.request.sidecars-accumulate", _sidecars),
        _f("resources.request.overhead", lambda d: bool(d.pod.overhead)),
        _f("resources.request.pod-level", lambda d: d.pod.resources is not None),
        _f("resources.request.limits-only", _limits_above_requests),
        _f("resources.request.rounding", _fractional_request),
        _f("resources.request.in-place-resize", _resizing_pods_on_node),
        _f("resources.filter.extended-resources", _extended),
        _f("resources.filter.hugepages", _hugepages),
        _f("resources.filter.terminal-pods", _finished_pods_on_node, _without_leaving_pods),
        _f("resources.filter.too-many-pods", _pod_slots_full),
        _general("resources.filter.no-requests", lambda d: not _requests(d.pod)),
        _general("resources.filter.insufficient", lambda d: bool(_requests(d.pod))),
        _general("resources.filter.unresolvable", _request_beyond_allocatable),
    ),
    "inter-pod-affinity": (
        _f(
            "inter-pod-affinity.filter.existing-anti-affinity",
            lambda d: any(_terms(p, affinity=False) for p in d.running()),
        ),
        _f("inter-pod-affinity.filter.self-affinity-first-pod", _self_affinity),
        _f("inter-pod-affinity.filter.namespaces", _other_namespaces),
        _f("inter-pod-affinity.filter.label-selector-nil-and-empty", _nil_or_empty_selector),
        _f("selectors.label-selector.nil-vs-empty", _nil_or_empty_selector),
        _f(
            "inter-pod-affinity.filter.terminating-and-finished-pods",
            _leaving_or_finished_pods,
            _without_leaving_pods,
        ),
        _f("selectors.requirement.operators", _set_expressions),
        _general(
            "inter-pod-affinity.filter.required-affinity", lambda d: bool(_terms(d.pod, anti=False))
        ),
        _general(
            "inter-pod-affinity.filter.required-anti-affinity",
            lambda d: bool(_terms(d.pod, affinity=False)),
        ),
    ),
    "topology-spread": (
        _f("topology-spread.filter.min-domains", _spread(lambda c: c.min_domains is not None)),
        _f("topology-spread.filter.match-label-keys", _spread(lambda c: bool(c.match_label_keys))),
        _f("topology-spread.filter.label-selector-nil-and-empty", _nil_or_empty_selector),
        _f("topology-spread.filter.missing-topology-key", _spread_key_missing),
        _f("topology-spread.filter.node-inclusion-policies", _inclusion_policy),
        _f(
            "topology-spread.filter.terminating-pods",
            _leaving_or_finished_pods,
            _without_leaving_pods,
        ),
        _f(
            "topology-spread.filter.multiple-constraints",
            lambda d: len(_hard_constraints(d.pod)) > 1,
        ),
        _general("topology-spread.filter.skew"),
    ),
    "qos": (
        _f("qos.classification.init-containers", lambda d: bool(d.pod.init_containers)),
        _f("qos.classification.pod-level-resources", lambda d: d.pod.resources is not None),
        _f("qos.classification.cpu-memory-only", _resources_besides_cpu_memory),
        _general("qos.classification.guaranteed"),
        _general("qos.classification.best-effort"),
    ),
    "admission": (
        _f("limitrange.admission.container-min-max", _limit(("Container",), ("max", "min"))),
        _f("limitrange.admission.pod-aggregate", _limit(("Pod",), ("max", "min"))),
        _f(
            "limitrange.admission.ratio",
            _limit(("Container", "Pod"), ("max_limit_request_ratio",)),
            _without_limit_field("max_limit_request_ratio"),
        ),
        _f(
            "limitrange.admission.defaults",
            _limit(("Container",), ("default",)),
            _without_limit_field("default"),
        ),
        _f(
            "limitrange.admission.defaults",
            _limit(("Container",), ("default_request",)),
            _without_limit_field("default_request"),
        ),
        _f("limitrange.admission.limits-only", _limits_without_requests),
        _f(
            "limitrange.admission.several-limitranges",
            lambda d: (
                sum(1 for lr in d.cluster.limit_ranges.values() if lr.namespace == d.pod.namespace)
                > 1
            ),
        ),
        _f(
            "resourcequota.admission.scopes",
            lambda d: any(q.scopes or q.scope_selector for q in _quotas(d)),
        ),
        _f(
            "resourcequota.admission.finished-pods",
            lambda d: (
                bool(_quotas(d))
                and any(p.is_terminal for p in d.running() if p.namespace == d.pod.namespace)
            ),
        ),
        _general("resourcequota.admission.exceeded", lambda d: bool(_quotas(d))),
        _general("resourcequota.admission.must-specify", lambda d: bool(_quotas(d))),
    ),
}


def featured_rules(
    area: str, dispute: Dispute, exclude: frozenset[str] = frozenset()
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The rules of ``area`` whose feature the example shows, and the area's general rules
    that apply to it (``exclude``: rules known not to matter)."""
    particular: list[str] = []
    general: list[str] = []
    for entry in RULE_FEATURES.get(area, ()):
        if entry.rule in exclude or (entry.feature is not None and not entry.feature(dispute)):
            continue
        (general if entry.general else particular).append(entry.rule)
    return tuple(dict.fromkeys(particular)), tuple(dict.fromkeys(general))


def blamed_rules(
    areas: Iterable[str],
    dispute: Dispute,
    candidates: tuple[str, ...],
    exclude: frozenset[str] = frozenset(),
) -> tuple[str, ...]:
    """The rules among ``candidates`` (the rules of the blamed areas) that the example
    turns on: those of its particular features, else the areas' general rules, else (an
    area without a feature table) every candidate."""
    particular: list[str] = []
    general: list[str] = []
    for area in sorted(areas):
        if area not in RULE_FEATURES:
            return candidates
        p, g = featured_rules(area, dispute, exclude)
        particular += p
        general += g
    named = tuple(dict.fromkeys(r for r in particular or general if r in candidates))
    return named or candidates


def refine(
    areas: Iterable[str],
    dispute: Dispute,
    candidates: tuple[str, ...],
    still_fails: Callable[[Cluster, Pod], bool],
) -> tuple[str, ...]:
    """:func:`blamed_rules`, less the rules whose feature the disagreement does not need:
    the example without that feature (finished pods removed, a LimitRange field cleared)
    still fails the property. Asks the scheduler once per such rule; rules whose feature
    cannot be taken out of an example are kept."""
    chosen = tuple(areas)
    named = blamed_rules(chosen, dispute, candidates)
    dropped: set[str] = set()
    for area in chosen:
        for entry in RULE_FEATURES.get(area, ()):
            if entry.rule not in named or entry.without is None or entry.rule in dropped:
                continue
            reduced = entry.without(dispute.cluster, dispute.pod)
            if reduced is not None and still_fails(*reduced):
                dropped.add(entry.rule)
    if not dropped:
        return named
    return blamed_rules(chosen, dispute, candidates, frozenset(dropped))
