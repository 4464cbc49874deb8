"""Deliberately broken schedulers, to show that conformance catches realistic bugs.

Each mutant is the reference scheduler with one plugin replaced by a subclass that gets
one rule wrong the way real schedulers (and people) do: PreferNoSchedule taken as a hard
taint, init containers added up instead of maxed, ``0.0.0.0`` not clashing with a
specific host IP, label values compared as strings, and so on. Everything else is the
reference, so the only way to tell a mutant apart is the bug itself.

``MUTANTS`` maps a mutant's name to a factory; ``podfit conform --adapter mutant:NAME``
runs one. Each mutant says which rule area its bug lives in (``bug_area``) and what it
gets wrong (``bug``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from fractions import Fraction

from podfit.cluster import Cluster
from podfit.conformance.decisions import ALL_AREAS, AdmissionDecision, Decision, Scheduler
from podfit.model import (
    DEFAULT_SCHEDULER,
    Container,
    LabelSelector,
    NodeSelectorTerm,
    Pod,
    PodAffinity,
    Requirement,
    Taint,
    Toleration,
    TopologySpreadConstraint,
    frozen_resources,
)
from podfit.reference.framework import CycleState, Plugin, Profile
from podfit.reference.labels import (
    GT,
    IN,
    LT,
    NODE_NAME_FIELD,
    NOT_IN,
    is_empty_term,
    node_selector_map_matches,
    node_selector_term_problems,
    requirement_matches,
)
from podfit.reference.nodeaffinity import ERR_REASON_POD, NodeAffinity, pod_required_affinity
from podfit.reference.nodeinfo import BIND_ALL_HOST_IP, HostPort, NodeInfo, PodInfo, Snapshot
from podfit.reference.nodeports import ERR_REASON as PORTS_REASON
from podfit.reference.nodeports import NodePorts, sanitize
from podfit.reference.noderesources import (
    InsufficientResource,
    NodeResourcesFit,
    fit_status,
    fits_request,
)
from podfit.reference.nodeunschedulable import ERR_REASON_UNSCHEDULABLE, NodeUnschedulable
from podfit.reference.profile import default_profile
from podfit.reference.resources import (
    CPU,
    EPHEMERAL_STORAGE,
    MEMORY,
    PODS,
    aggregate,
    container_limits,
    container_requests,
    pod_requests,
    to_scheduler_units,
)
from podfit.reference.scheduler import schedule_one
from podfit.reference.status import SKIP, Status, unresolvable, unschedulable
from podfit.reference.taints import (
    ERR_REASON_UNTOLERATED,
    FILTER_EFFECTS,
    NO_EXECUTE,
    NO_SCHEDULE,
    PREFER_NO_SCHEDULE,
    UNSCHEDULABLE_TAINT_KEY,
    tolerates,
)
from podfit.reference.tainttoleration import TaintToleration

from .reference_adapter import ReferenceScheduler, decision_of

__all__ = ["BUG_RULES", "MUTANTS", "MutantScheduler"]


class MutantScheduler:
    """The reference scheduler with some of its plugins swapped for broken ones."""

    def __init__(self, name: str, bug: str, bug_area: str, *plugins: Plugin) -> None:
        self.name = f"mutant:{name}"
        self.bug = bug
        self.bug_area = bug_area
        self.areas: frozenset[str] = ALL_AREAS
        self.profiles: Mapping[str, Profile] = {
            DEFAULT_SCHEDULER: _swap(default_profile(), plugins)
        }

    def schedule(self, cluster: Cluster, pod: Pod) -> Decision:
        return decision_of(schedule_one(cluster, pod, self.profiles, preemption=False))

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"<MutantScheduler {self.name}: {self.bug}>"


def _swap(profile: Profile, plugins: tuple[Plugin, ...]) -> Profile:
    """The profile with each plugin of the same name replaced (filter and score alike)."""
    by_name = {p.name: p for p in plugins}
    return Profile(
        scheduler_name=profile.scheduler_name,
        filter_plugins=tuple(by_name.get(p.name, p) for p in profile.filter_plugins),
        score_plugins=tuple((by_name.get(p.name, p), w) for p, w in profile.score_plugins),
        extra=profile.extra,
    )


# --- taints ------------------------------------------------------------------------------------


class _TaintFilter(TaintToleration):
    """TaintToleration's Filter with the matching and the effects that filter overridable
    (scoring stays the reference's)."""

    effects: tuple[str, ...] = FILTER_EFFECTS

    def tolerates(self, toleration: Toleration, taint: Taint) -> bool:
        return tolerates(toleration, taint)

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        for taint in node.node.taints:
            if taint.effect not in self.effects:
                continue
            if not any(self.tolerates(t, taint) for t in pod.pod.tolerations):
                return unresolvable(ERR_REASON_UNTOLERATED)
        return None


class PreferNoScheduleFilters(_TaintFilter):
    effects = (NO_SCHEDULE, NO_EXECUTE, PREFER_NO_SCHEDULE)


class NoExecuteIgnored(_TaintFilter):
    effects = (NO_SCHEDULE,)


class ExistsKeyIsWildcard(_TaintFilter):
    def tolerates(self, toleration: Toleration, taint: Taint) -> bool:
        if toleration.operator == "Exists":
            return not toleration.effect or toleration.effect == taint.effect
        return tolerates(toleration, taint)


class OperatorDefaultsToExists(_TaintFilter):
    """Reads a toleration written without ``operator`` (which means ``Equal``; the API
    server leaves it empty) as ``Exists``: the value is never compared."""

    def tolerates(self, toleration: Toleration, taint: Taint) -> bool:
        if not toleration.operator:
            toleration = replace(toleration, operator="Exists", value="")
        return tolerates(toleration, taint)


class EmptyEffectMatchesNoScheduleOnly(_TaintFilter):
    def tolerates(self, toleration: Toleration, taint: Taint) -> bool:
        if not toleration.effect:
            toleration = replace(toleration, effect=NO_SCHEDULE)
        return tolerates(toleration, taint)


# --- node-unschedulable ------------------------------------------------------------------------


class CordonIgnored(NodeUnschedulable):
    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        return None


class CordonToleratedByAnyEffect(NodeUnschedulable):
    """Accepts any toleration naming the cordon key (or every key), whatever its effect."""

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        if not node.node.unschedulable:
            return None
        for t in pod.pod.tolerations:
            if (t.key == UNSCHEDULABLE_TAINT_KEY or (not t.key and t.operator == "Exists")) and (
                t.operator == "Exists" or not t.value
            ):
                return None
        return unresolvable(ERR_REASON_UNSCHEDULABLE)


# --- node affinity -----------------------------------------------------------------------------


class _AffinityFilter(NodeAffinity):
    """NodeAffinity's Filter with the pieces of matching overridable."""

    def requirement(self, req: Requirement, labels: Mapping[str, str]) -> bool:
        return requirement_matches(req, labels)

    def term(self, term: NodeSelectorTerm, labels: Mapping[str, str], name: str) -> bool:
        if is_empty_term(term) or node_selector_term_problems(term):
            return False
        if not all(self.requirement(r, labels) for r in term.match_expressions):
            return False
        for req in term.match_fields:
            equal = req.key == NODE_NAME_FIELD and name == req.values[0]
            if (req.operator == IN and not equal) or (req.operator == NOT_IN and equal):
                return False
        return True

    def node_selector(self, pod: Pod, labels: Mapping[str, str]) -> bool:
        return node_selector_map_matches(pod.node_selector, labels)

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        n = node.node
        if not self.node_selector(pod.pod, n.labels):
            return unresolvable(ERR_REASON_POD)
        required = pod_required_affinity(pod.pod)
        if required is not None and not any(self.term(t, n.labels, n.name) for t in required.terms):
            return unresolvable(ERR_REASON_POD)
        return None


class GtComparesStrings(_AffinityFilter):
    def requirement(self, req: Requirement, labels: Mapping[str, str]) -> bool:
        if req.operator in (GT, LT) and req.key in labels and len(req.values) == 1:
            have, bound = labels[req.key], req.values[0]
            return have > bound if req.operator == GT else have < bound
        return requirement_matches(req, labels)


class NotInNeedsTheLabel(_AffinityFilter):
    def requirement(self, req: Requirement, labels: Mapping[str, str]) -> bool:
        if req.operator == NOT_IN and req.key not in labels:
            return False
        return requirement_matches(req, labels)


class MatchFieldsIgnored(_AffinityFilter):
    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status | None:
        # No narrowing to the nodes named in matchFields either.
        if pod_required_affinity(pod.pod) is None and not pod.pod.node_selector:
            return SKIP
        return None

    def term(self, term: NodeSelectorTerm, labels: Mapping[str, str], name: str) -> bool:
        if is_empty_term(term):
            return False  # only matchFields are misread: an empty term still matches nothing
        return all(self.requirement(r, labels) for r in term.match_expressions)


class EmptyTermMatchesEverything(_AffinityFilter):
    def term(self, term: NodeSelectorTerm, labels: Mapping[str, str], name: str) -> bool:
        if is_empty_term(term):
            return True
        return super().term(term, labels, name)


class NodeSelectorIgnoredWithAffinity(_AffinityFilter):
    def node_selector(self, pod: Pod, labels: Mapping[str, str]) -> bool:
        if pod_required_affinity(pod) is not None:
            return True
        return super().node_selector(pod, labels)


# --- node ports --------------------------------------------------------------------------------


class _PortsFilter(NodePorts):
    """NodePorts with the pod's ports and the clash test overridable."""

    def wanted(self, pod: Pod) -> list[HostPort]:
        from podfit.reference.nodeinfo import host_ports

        return host_ports(pod)

    def clash(self, used: HostPort, wanted: HostPort) -> bool:
        used_ip, used_protocol, used_port = sanitize(used)
        ip, protocol, port = sanitize(wanted)
        if port != used_port or protocol != used_protocol:
            return False
        return BIND_ALL_HOST_IP in (ip, used_ip) or ip == used_ip

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status | None:
        return None if self.wanted(pod.pod) else SKIP

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        for want in self.wanted(pod.pod):
            if any(self.clash(used, want) for used in node.used_ports):
                return unschedulable(PORTS_REASON)
        return None


class BindAllIsJustAnAddress(_PortsFilter):
    def clash(self, used: HostPort, wanted: HostPort) -> bool:
        return sanitize(used) == sanitize(wanted)


class ProtocolIgnored(_PortsFilter):
    def clash(self, used: HostPort, wanted: HostPort) -> bool:
        used_ip, _, used_port = sanitize(used)
        ip, _, port = sanitize(wanted)
        return port == used_port and (BIND_ALL_HOST_IP in (ip, used_ip) or ip == used_ip)


class InitContainerPortsCounted(_PortsFilter):
    def wanted(self, pod: Pod) -> list[HostPort]:
        return [
            (p.host_ip or BIND_ALL_HOST_IP, p.protocol or "TCP", p.host_port)
            for c in pod.all_containers()
            for p in c.ports
            if p.host_port > 0
        ]


# --- resources ---------------------------------------------------------------------------------


class _FitFilter(NodeResourcesFit):
    """NodeResourcesFit's Filter with the pod's request and the node's usage overridable."""

    def request(self, pod: Pod) -> dict[str, int]:
        return to_scheduler_units(pod_requests(pod))

    def usage(self, state: CycleState, node: NodeInfo) -> NodeInfo:
        return node

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status | None:
        state["mutant/snapshot"] = snapshot
        return None

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        shortfalls = fits_request(
            self.request(pod.pod),
            self.usage(state, node),
            self.fit_args.ignored_resources,
            self.fit_args.ignored_resource_groups,
        )
        return fit_status(self.keep(shortfalls, node))

    def keep(
        self, shortfalls: list[InsufficientResource], node: NodeInfo
    ) -> list[InsufficientResource]:
        return shortfalls


class InitContainersSummed(_FitFilter):
    def request(self, pod: Pod) -> dict[str, int]:
        total: dict[str, Fraction] = {}
        for c in (*pod.init_containers, *pod.containers):
            for name, value in container_requests(c).items():
                total[name] = total.get(name, Fraction(0)) + value
        for name, q in pod.overhead.items():
            total[name] = total.get(name, Fraction(0)) + q.value
        return to_scheduler_units(total)


class SidecarsIgnored(_FitFilter):
    def request(self, pod: Pod) -> dict[str, int]:
        ordinary = tuple(c for c in pod.init_containers if not c.is_sidecar)
        return to_scheduler_units(pod_requests(replace(pod, init_containers=ordinary)))


class OverheadIgnored(_FitFilter):
    def request(self, pod: Pod) -> dict[str, int]:
        return to_scheduler_units(pod_requests(replace(pod, overhead={})))


class LimitsInsteadOfRequests(_FitFilter):
    def request(self, pod: Pod) -> dict[str, int]:
        def amounts(c: Container) -> dict[str, Fraction]:
            return {**container_requests(c), **container_limits(c)}

        return to_scheduler_units(aggregate(pod, amounts))


class ExtendedResourcesUnchecked(_FitFilter):
    def request(self, pod: Pod) -> dict[str, int]:
        full = super().request(pod)
        return {k: v for k, v in full.items() if k in (CPU, MEMORY, EPHEMERAL_STORAGE)}


class FractionsRoundedDown(_FitFilter):
    """Charges a fractional amount of bytes (memory "0.1Gi" is 107374182.4) rounded down,
    where kube-scheduler rounds every quantity up to a whole unit (Quantity.Value)."""

    def request(self, pod: Pod) -> dict[str, int]:
        return {
            name: math.floor(value * 1000) if name == CPU else math.floor(value)
            for name, value in pod_requests(pod).items()
        }


class ResizeStatusIgnored(_FitFilter):
    """Charges the pods on a node their spec requests alone, ignoring an in-place resize
    under way (the status's requests, which the node holds when they are larger)."""

    def usage(self, state: CycleState, node: NodeInfo) -> NodeInfo:
        pods = [
            PodInfo.of(
                replace(
                    p.pod,
                    containers=tuple(replace(c, status_requests=None) for c in p.pod.containers),
                    init_containers=tuple(
                        replace(c, status_requests=None) for c in p.pod.init_containers
                    ),
                    resize_infeasible=False,
                ),
                bound=True,
            )
            for p in node.pods
        ]
        return NodeInfo.of(node.node, pods)


class TerminalPodsCounted(_FitFilter):
    def usage(self, state: CycleState, node: NodeInfo) -> NodeInfo:
        snapshot: Snapshot = state["mutant/snapshot"]
        # Every pod on the node, finished ones included (the bug), each holding what a pod
        # on a node holds (an in-place resize in progress counted, as the reference does).
        pods = [PodInfo.of(p, bound=True) for p in snapshot.cluster.pods_on(node.name)]
        return NodeInfo.of(node.node, pods)


class TooManyPodsOffByOne(_FitFilter):
    def keep(
        self, shortfalls: list[InsufficientResource], node: NodeInfo
    ) -> list[InsufficientResource]:
        # Only rejects once the node is over its pod count, not when it is exactly full.
        return [s for s in shortfalls if s.resource != PODS or len(node.pods) > node.allowed_pods()]


# --- the registry ------------------------------------------------------------------------------


# --- cluster rules: the reference on a misread input -------------------------------------------


Rewrite = Callable[[Cluster, Pod], tuple[Cluster, Pod]]


class MisreadingScheduler(MutantScheduler):
    """The reference scheduler fed a misread copy of its input: the bug is in how the
    scheduler reads the pods (a field dropped or off by one), not in a plugin's code."""

    def __init__(self, name: str, bug: str, bug_area: str, rewrite: Rewrite) -> None:
        super().__init__(name, bug, bug_area)
        self.rewrite = rewrite

    def schedule(self, cluster: Cluster, pod: Pod) -> Decision:
        cluster, pod = self.rewrite(cluster.copy(), pod)
        return super().schedule(cluster, pod)


def _without_anti_affinity(pod: Pod) -> Pod:
    if pod.affinity is None or pod.affinity.pod_anti_affinity is None:
        return pod
    return replace(pod, affinity=replace(pod.affinity, pod_anti_affinity=None))


def existing_anti_affinity_ignored(cluster: Cluster, pod: Pod) -> tuple[Cluster, Pod]:
    """Only the incoming pod's terms are read: the symmetry rule is lost."""
    for existing in list(cluster.bound_pods()):
        cluster.replace_pod(_without_anti_affinity(existing))
    return cluster, pod


def _terms_everywhere(affinity: PodAffinity | None) -> PodAffinity | None:
    if affinity is None:
        return None
    return replace(
        affinity,
        required=tuple(
            replace(t, namespaces=(), namespace_selector=LabelSelector()) for t in affinity.required
        ),
    )


def affinity_namespaces_ignored(cluster: Cluster, pod: Pod) -> tuple[Cluster, Pod]:
    """Required (anti-)affinity terms match pods of every namespace, not the pod's own (or
    the listed ones)."""
    a = pod.affinity
    if a is None:
        return cluster, pod
    widened = replace(
        a,
        pod_affinity=_terms_everywhere(a.pod_affinity),
        pod_anti_affinity=_terms_everywhere(a.pod_anti_affinity),
    )
    return cluster, replace(pod, affinity=widened)


def _respread(
    pod: Pod, change: Callable[[TopologySpreadConstraint], TopologySpreadConstraint]
) -> Pod:
    return replace(
        pod,
        topology_spread_constraints=tuple(
            change(c) if c.when_unsatisfiable == "DoNotSchedule" else c
            for c in pod.topology_spread_constraints
        ),
    )


def max_skew_off_by_one(cluster: Cluster, pod: Pod) -> tuple[Cluster, Pod]:
    """The skew is compared with ``>`` maxSkew + 1: one more pod than allowed fits."""
    return cluster, _respread(pod, lambda c: replace(c, max_skew=c.max_skew + 1))


def min_domains_ignored(cluster: Cluster, pod: Pod) -> tuple[Cluster, Pod]:
    """minDomains never makes the global minimum 0."""
    return cluster, _respread(pod, lambda c: replace(c, min_domains=None))


def _misreading(name: str, bug: str, area: str, rewrite: Rewrite) -> Callable[[], Scheduler]:
    def make() -> Scheduler:
        return MisreadingScheduler(name, bug, area, rewrite)

    make.__name__ = f"mutant_{name.replace('-', '_')}"
    make.__doc__ = bug
    return make


# --- admission and QoS -------------------------------------------------------------------------


class AdmissionMutant(ReferenceScheduler):
    """The reference scheduler whose admission or QoS answer has one bug."""

    def __init__(self, name: str, bug: str, bug_area: str) -> None:
        super().__init__()
        self.name = f"mutant:{name}"
        self.bug = bug
        self.bug_area = bug_area


class QosIgnoresInitContainers(AdmissionMutant):
    def qos_class(self, pod: Pod) -> str:
        return super().qos_class(replace(pod, init_containers=()))


class LimitRangeMaxIgnored(AdmissionMutant):
    """Never checks a LimitRange's max (its role in defaulting, a Container item's default
    limit where none is given, is kept)."""

    def admit(self, cluster: Cluster, pod: Pod) -> AdmissionDecision:
        loose = cluster.copy()
        for key, lr in list(loose.limit_ranges.items()):
            items = []
            for item in lr.limits:
                default = item.default
                if item.type == "Container":
                    default = frozen_resources({**item.max, **item.default})
                items.append(replace(item, max=frozen_resources(), default=default))
            loose.limit_ranges[key] = replace(lr, limits=tuple(items))
        return super().admit(loose, pod)


def _mutant(
    name: str, bug: str, area: str, plugin: Callable[[], Plugin]
) -> Callable[[], Scheduler]:
    def make() -> Scheduler:
        return MutantScheduler(name, bug, area, plugin())

    make.__name__ = f"mutant_{name.replace('-', '_')}"
    make.__doc__ = bug
    return make


#: The spec rules each mutant breaks: its findings must name one of them.
BUG_RULES: Mapping[str, tuple[str, ...]] = {
    "prefer-no-schedule-filters": ("taints.filter.prefer-no-schedule",),
    "no-execute-ignored": ("taints.filter.no-execute",),
    "exists-key-wildcard": ("taints.filter.exists",),
    "operator-defaults-to-exists": ("taints.filter.operator-defaults-to-equal",),
    "empty-effect-noschedule-only": ("taints.filter.empty-effect",),
    "cordon-ignored": ("node-unschedulable.filter.cordoned",),
    "cordon-any-effect": ("node-unschedulable.filter.toleration-forms",),
    "gt-compares-strings": ("selectors.node-term.gt-lt-integers",),
    "notin-needs-label": ("selectors.requirement.operators",),
    "match-fields-ignored": ("selectors.node-term.match-fields",),
    "empty-term-matches-all": ("node-affinity.filter.empty-terms",),
    "node-selector-ignored-with-affinity": ("node-affinity.filter.selector-and-affinity",),
    "bind-all-is-an-address": ("node-ports.filter.bind-all-address",),
    "port-protocol-ignored": ("node-ports.filter.different-address-or-protocol",),
    "init-container-ports": ("node-ports.prefilter.which-ports-count",),
    "init-containers-summed": ("resources.request.init-containers-max",),
    "sidecars-ignored": ("resources.request.sidecars-accumulate",),
    "overhead-ignored": ("resources.request.overhead",),
    "limits-as-requests": ("resources.request.limits-only",),
    "extended-resources-unchecked": ("resources.filter.extended-resources",),
    "fractions-rounded-down": ("resources.request.rounding",),
    "resize-status-ignored": ("resources.request.in-place-resize",),
    "terminal-pods-counted": ("resources.filter.terminal-pods",),
    "too-many-pods-off-by-one": ("resources.filter.too-many-pods",),
    "existing-anti-affinity-ignored": ("inter-pod-affinity.filter.existing-anti-affinity",),
    "affinity-namespaces-ignored": ("inter-pod-affinity.filter.namespaces",),
    "max-skew-off-by-one": ("topology-spread.filter.skew",),
    "min-domains-ignored": ("topology-spread.filter.min-domains",),
    "qos-ignores-init-containers": ("qos.classification.init-containers",),
    "limitrange-max-ignored": (
        "limitrange.admission.container-min-max",
        "limitrange.admission.pod-aggregate",
    ),
}


MUTANTS: dict[str, Callable[[], Scheduler]] = {
    "prefer-no-schedule-filters": _mutant(
        "prefer-no-schedule-filters",
        "PreferNoSchedule taints keep pods off nodes, as if they were NoSchedule",
        "taints",
        PreferNoScheduleFilters,
    ),
    "no-execute-ignored": _mutant(
        "no-execute-ignored",
        "NoExecute taints are ignored when scheduling (only NoSchedule filters)",
        "taints",
        NoExecuteIgnored,
    ),
    "exists-key-wildcard": _mutant(
        "exists-key-wildcard",
        "an Exists toleration with a key tolerates taints of every key",
        "taints",
        ExistsKeyIsWildcard,
    ),
    "operator-defaults-to-exists": _mutant(
        "operator-defaults-to-exists",
        "a toleration without operator is read as Exists (the value is never compared)",
        "taints",
        OperatorDefaultsToExists,
    ),
    "empty-effect-noschedule-only": _mutant(
        "empty-effect-noschedule-only",
        "a toleration with no effect tolerates only NoSchedule taints, not every effect",
        "taints",
        EmptyEffectMatchesNoScheduleOnly,
    ),
    "cordon-ignored": _mutant(
        "cordon-ignored",
        "cordoned nodes (spec.unschedulable) are used like any other",
        "node-unschedulable",
        CordonIgnored,
    ),
    "cordon-any-effect": _mutant(
        "cordon-any-effect",
        "any toleration of the cordon key lets a pod onto a cordoned node, whatever its effect",
        "node-unschedulable",
        CordonToleratedByAnyEffect,
    ),
    "gt-compares-strings": _mutant(
        "gt-compares-strings",
        "Gt and Lt compare label values as strings ('10' < '9')",
        "node-affinity",
        GtComparesStrings,
    ),
    "notin-needs-label": _mutant(
        "notin-needs-label",
        "NotIn fails on nodes that lack the label (it should hold)",
        "node-affinity",
        NotInNeedsTheLabel,
    ),
    "match-fields-ignored": _mutant(
        "match-fields-ignored",
        "matchFields (metadata.name) requirements are ignored",
        "node-affinity",
        MatchFieldsIgnored,
    ),
    "empty-term-matches-all": _mutant(
        "empty-term-matches-all",
        "an empty node selector term matches every node (it matches none)",
        "node-affinity",
        EmptyTermMatchesEverything,
    ),
    "node-selector-ignored-with-affinity": _mutant(
        "node-selector-ignored-with-affinity",
        "spec.nodeSelector is ignored when the pod also has required node affinity",
        "node-affinity",
        NodeSelectorIgnoredWithAffinity,
    ),
    "bind-all-is-an-address": _mutant(
        "bind-all-is-an-address",
        "hostIP 0.0.0.0 clashes only with 0.0.0.0, not with specific addresses",
        "node-ports",
        BindAllIsJustAnAddress,
    ),
    "port-protocol-ignored": _mutant(
        "port-protocol-ignored",
        "a TCP and a UDP host port of the same number are taken to clash",
        "node-ports",
        ProtocolIgnored,
    ),
    "init-container-ports": _mutant(
        "init-container-ports",
        "host ports of ordinary init containers are counted (only sidecars keep theirs)",
        "node-ports",
        InitContainerPortsCounted,
    ),
    "init-containers-summed": _mutant(
        "init-containers-summed",
        "init container requests are added to the app containers' instead of maxed",
        "resources",
        InitContainersSummed,
    ),
    "sidecars-ignored": _mutant(
        "sidecars-ignored",
        "sidecar (restartPolicy: Always) init containers' requests are not counted",
        "resources",
        SidecarsIgnored,
    ),
    "overhead-ignored": _mutant(
        "overhead-ignored",
        "the pod overhead (RuntimeClass) is not added to the requests",
        "resources",
        OverheadIgnored,
    ),
    "limits-as-requests": _mutant(
        "limits-as-requests",
        "limits are checked against allocatable instead of requests",
        "resources",
        LimitsInsteadOfRequests,
    ),
    "extended-resources-unchecked": _mutant(
        "extended-resources-unchecked",
        "extended resources (example.com/gpu) are not checked",
        "resources",
        ExtendedResourcesUnchecked,
    ),
    "fractions-rounded-down": _mutant(
        "fractions-rounded-down",
        "fractional quantities are rounded down (memory 0.1Gi charged 107374182 bytes, not "
        "107374183 as Quantity.Value rounds up)",
        "resources",
        FractionsRoundedDown,
    ),
    "resize-status-ignored": _mutant(
        "resize-status-ignored",
        "pods being resized in place are charged their spec requests, not the larger status",
        "resources",
        ResizeStatusIgnored,
    ),
    "terminal-pods-counted": _mutant(
        "terminal-pods-counted",
        "Succeeded and Failed pods still use resources and pod slots",
        "resources",
        TerminalPodsCounted,
    ),
    "too-many-pods-off-by-one": _mutant(
        "too-many-pods-off-by-one",
        "a node whose pod count is exactly full still takes one more pod",
        "resources",
        TooManyPodsOffByOne,
    ),
    "existing-anti-affinity-ignored": _misreading(
        "existing-anti-affinity-ignored",
        "running pods' required anti-affinity is ignored (no symmetry)",
        "inter-pod-affinity",
        existing_anti_affinity_ignored,
    ),
    "affinity-namespaces-ignored": _misreading(
        "affinity-namespaces-ignored",
        "required pod (anti-)affinity terms match pods in every namespace",
        "inter-pod-affinity",
        affinity_namespaces_ignored,
    ),
    "max-skew-off-by-one": _misreading(
        "max-skew-off-by-one",
        "DoNotSchedule spread allows a skew of maxSkew + 1",
        "topology-spread",
        max_skew_off_by_one,
    ),
    "min-domains-ignored": _misreading(
        "min-domains-ignored",
        "minDomains is ignored (too few domains never forces the global minimum to 0)",
        "topology-spread",
        min_domains_ignored,
    ),
    "qos-ignores-init-containers": lambda: QosIgnoresInitContainers(
        "qos-ignores-init-containers",
        "the QoS class is computed from the app containers only",
        "qos",
    ),
    "limitrange-max-ignored": lambda: LimitRangeMaxIgnored(
        "limitrange-max-ignored",
        "LimitRange max is not enforced at admission",
        "admission",
    ),
}
