"""The Z3 encoding of kube-scheduler's node-level filter rules for a batch of pending pods.

Written from ``podfit.spec`` and the upstream notes, independently of ``podfit.reference``.

Variables: one Bool ``x[pod, node]`` per pending pod and node ("the pod runs there"); a
pod runs on at most one node. Every constraint that can rule a placement out is a
*fact*: a :class:`Fact` names the spec rule it comes from and the pods, node and
resource it is about, and is asserted as ``Implies(indicator, constraint)`` where the
indicator is a Bool named after the fact. Solving under all indicators as assumptions
gives an unsat core made of rules, which :mod:`podfit.solver.explain` shrinks and puts
into words.

Constraint families (each a small class with ``encode(encoding)``):

* static filters, decided per (pod, node) while encoding because they do not depend on
  other pending pods: spec.nodeName, cordoned nodes, NoSchedule/NoExecute taints,
  spec.nodeSelector, required node affinity, host ports already held on the node; each
  failing (rule, pod, node) becomes a fact ``Not(x[pod, node])``;
* placement: each pod is placed (``require_all``), guarded per pod so cores name pods;
* capacity: per node and resource, the pending pods' requests on the node (a
  pseudo-Boolean sum) fit in allocatable minus what the node's pods already request;
* pod slots: per node, pending pods placed there fit in the free pod count;
* host ports: two pending pods whose host ports clash never share a node;
* topology spread (:mod:`podfit.solver.spread`) and inter-pod (anti-)affinity
  (:mod:`podfit.solver.interpod`), where pending pods placed in the batch count like the
  pods already running.

Batch semantics: a placement is valid when every pending pod passes every filter with all
the other pods of the batch in place (the check ``podfit.api.replay_placement`` makes).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal, NamedTuple, Protocol

import z3

from podfit.cluster import Cluster
from podfit.model import Container, Node, NodeSelectorTerm, Pod, Requirement, Taint, Toleration
from podfit.quantity import Quantity, to_milli, to_units

from .session import Session

# --- rule ids -------------------------------------------------------------------------------


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


# --- labels and node selectors (apimachinery / component-helpers semantics) ----------------

_NAME_PART = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*")
_GO_INT = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
NODE_EXPRESSION_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")


def valid_label_key(key: str) -> bool:
    """IsQualifiedName: ``[prefix/]name``, prefix a DNS-1123 subdomain, name ≤ 63 bytes."""
    parts = key.split("/")
    if len(parts) > 2:
        return False
    if len(parts) == 2:
        prefix, name = parts
        if not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix):
            return False
    else:
        name = key
    return 0 < len(name.encode()) <= 63 and _NAME_PART.fullmatch(name) is not None


def valid_label_value(value: str) -> bool:
    return len(value.encode()) <= 63 and (value == "" or _NAME_PART.fullmatch(value) is not None)


def parse_go_int64(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 64): sign and leading zeros allowed, nothing else."""
    if not _GO_INT.fullmatch(text):
        return None
    number = int(text)
    return number if _INT64_MIN <= number <= _INT64_MAX else None


def expression_problem(req: Requirement) -> str | None:
    """Why labels.NewRequirement would reject a node selector expression (None: it is fine)."""
    op, values = req.operator, req.values
    if op not in NODE_EXPRESSION_OPERATORS:
        return f"operator {op!r} is not supported"
    if not valid_label_key(req.key):
        return f"{req.key!r} is not a valid label key"
    if op in ("In", "NotIn") and not values:
        return f"{op} needs at least one value"
    if op in ("Exists", "DoesNotExist") and values:
        return f"{op} takes no values"
    if op in ("Gt", "Lt") and (len(values) != 1 or parse_go_int64(values[0]) is None):
        return f"{op} needs exactly one integer value"
    for value in values:
        if not valid_label_value(value):
            return f"{value!r} is not a valid label value"
    return None


def expression_matches(req: Requirement, labels: Mapping[str, str]) -> bool:
    present = req.key in labels
    value = labels.get(req.key, "")
    op = req.operator
    if op == "In":
        return present and value in req.values
    if op == "NotIn":
        return not present or value not in req.values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and len(req.values) == 1:
        have, bound = parse_go_int64(value), parse_go_int64(req.values[0])
        if have is None or bound is None:
            return False
        return have > bound if op == "Gt" else have < bound
    return False


def field_problem(req: Requirement) -> str | None:
    if req.operator not in ("In", "NotIn"):
        return f"matchFields operator {req.operator!r} is not supported"
    if len(req.values) != 1:
        return "matchFields need exactly one value"
    return None


def field_matches(req: Requirement, node_name: str) -> bool:
    # The node's only field is metadata.name; any other key reads as "".
    actual = node_name if req.key == "metadata.name" else ""
    return (actual == req.values[0]) == (req.operator == "In")


TermVerdict = Literal["match", "no-match", "invalid", "empty"]


def term_verdict(term: NodeSelectorTerm, node: Node) -> TermVerdict:
    if not term.match_expressions and not term.match_fields:
        return "empty"
    problems = [expression_problem(r) for r in term.match_expressions]
    problems += [field_problem(r) for r in term.match_fields]
    if any(p is not None for p in problems):
        return "invalid"
    if not all(expression_matches(r, node.labels) for r in term.match_expressions):
        return "no-match"
    # A node without a name has no fields, and then matchFields are not looked at.
    if node.name and not all(field_matches(r, node.name) for r in term.match_fields):
        return "no-match"
    return "match"


def term_text(term: NodeSelectorTerm) -> str:
    def one(r: Requirement) -> str:
        if r.operator in ("Exists", "DoesNotExist"):
            return f"{r.key} {r.operator}"
        return f"{r.key} {r.operator} [{', '.join(r.values)}]"

    parts = [one(r) for r in term.match_expressions]
    parts += [f"field {one(r)}" for r in term.match_fields]
    return " and ".join(parts) if parts else "(empty term)"


# --- taints and tolerations -----------------------------------------------------------------

CORDON_TAINT = Taint(key="node.kubernetes.io/unschedulable", effect="NoSchedule")


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    """v1.Toleration.ToleratesTaint with the comparison operators' feature gate off."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator in ("", "Equal"):
        return toleration.value == taint.value
    return toleration.operator == "Exists"


def tolerated(tolerations: Iterable[Toleration], taint: Taint) -> bool:
    return any(tolerates(t, taint) for t in tolerations)


# --- resources ------------------------------------------------------------------------------

NATIVE_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def is_scheduler_resource(name: str) -> bool:
    """Resources NodeResourcesFit accounts: cpu, memory, ephemeral-storage and the scalar
    ones (hugepages-*, kubernetes.io/-prefixed, attachable-volumes-*, extended names).
    Any other name (``foo``) and ``pods`` are not requests the filter looks at."""
    if name in NATIVE_RESOURCES:
        return True
    if name == "pods":
        return False
    if name.startswith(("hugepages-", "attachable-volumes-")) or "kubernetes.io/" in name:
        return True
    return "/" in name and not name.startswith("requests.") and valid_label_key("requests." + name)


def resource_rule(name: str) -> str:
    if name in NATIVE_RESOURCES:
        return Rules.INSUFFICIENT
    if name.startswith("hugepages-"):
        return Rules.HUGEPAGES
    return Rules.EXTENDED


def _add_into(acc: dict[str, Fraction], requests: Mapping[str, Quantity]) -> None:
    for name, q in requests.items():
        acc[name] = acc.get(name, Fraction(0)) + q.value


def _pod_level(name: str) -> bool:
    return name in ("cpu", "memory") or name.startswith("hugepages-")


def scheduler_units(name: str, amount: Fraction) -> int:
    return to_milli(amount) if name == "cpu" else to_units(amount)


def _held(
    spec: Mapping[str, Quantity],
    status: Mapping[str, Quantity] | None,
    allocated: Mapping[str, Quantity] | None,
    infeasible: bool,
) -> Mapping[str, Quantity]:
    """What a pod on a node holds while an in-place resize is under way: per resource the
    largest of the spec (left out when the resize is Infeasible), the status and the
    allocation. Without a status it holds its spec."""
    if status is None:
        return spec
    held: dict[str, Quantity] = {} if infeasible else dict(spec)
    for source in (status, allocated or {}):
        for name, q in source.items():
            if name not in held or q.value > held[name].value:
                held[name] = q
    return held


def pod_requests(pod: Pod, *, bound: bool = False) -> dict[str, int]:
    """The pod's effective request in scheduler units (cpu in millicores, the rest in units).

    max(app containers + sidecars, each init container + the sidecars started before it),
    per resource; pod-level requests replace that for cpu, memory and hugepages; overhead
    is added last. Quantities are summed exactly and rounded up once, per pod. A ``bound``
    pod holds what an in-place resize gives it (containers, sidecars and pod level).
    """

    def requests(c: Container, resizable: bool) -> Mapping[str, Quantity]:
        if not (bound and resizable):
            return c.resources.requests
        return _held(c.resources.requests, c.status_requests, c.allocated, pod.resize_infeasible)

    running: dict[str, Fraction] = {}
    for c in pod.containers:
        _add_into(running, requests(c, True))
    sidecars: dict[str, Fraction] = {}
    init_peak: dict[str, Fraction] = {}
    for ic in pod.init_containers:
        if ic.is_sidecar:
            _add_into(running, requests(ic, True))
            _add_into(sidecars, requests(ic, True))
            need = dict(sidecars)
        else:
            need = dict(sidecars)
            _add_into(need, ic.resources.requests)
        for name, amount in need.items():
            init_peak[name] = max(init_peak.get(name, Fraction(0)), amount)
    total = {
        name: max(running.get(name, Fraction(0)), init_peak.get(name, Fraction(0)))
        for name in running.keys() | init_peak.keys()
    }
    if pod.resources is not None:
        pod_level: Mapping[str, Quantity] = pod.resources.requests
        if bound:
            pod_level = _held(pod_level, pod.status_requests, pod.allocated, pod.resize_infeasible)
        for name in pod.resources.requests:
            if _pod_level(name):
                held = pod_level.get(name)
                total[name] = held.value if held is not None else Fraction(0)
    for name, q in pod.overhead.items():
        total[name] = total.get(name, Fraction(0)) + q.value
    return {
        name: scheduler_units(name, amount)
        for name, amount in total.items()
        if is_scheduler_resource(name)
    }


# --- host ports -----------------------------------------------------------------------------

BIND_ALL = "0.0.0.0"


class HostPort(NamedTuple):
    ip: str
    protocol: str
    port: int

    def __str__(self) -> str:
        return f"{self.protocol} {self.ip}:{self.port}"


def host_ports(pod: Pod) -> tuple[HostPort, ...]:
    """hostPort > 0 of sidecar init containers and app containers (not plain init ones)."""
    containers = [c for c in pod.init_containers if c.is_sidecar] + list(pod.containers)
    return tuple(
        HostPort(p.host_ip or BIND_ALL, p.protocol or "TCP", p.host_port)
        for c in containers
        for p in c.ports
        if p.host_port > 0
    )


def ports_clash(a: HostPort, b: HostPort) -> bool:
    return (
        a.protocol == b.protocol and a.port == b.port and (a.ip == b.ip or BIND_ALL in (a.ip, b.ip))
    )


def clash_rule(a: HostPort, b: HostPort) -> str:
    return Rules.PORTS_SAME if a.ip == b.ip else Rules.PORTS_BIND_ALL


# --- the cluster as the filters see it ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PendingPod:
    pod: Pod
    requests: Mapping[str, int]
    ports: tuple[HostPort, ...]

    @property
    def key(self) -> str:
        return self.pod.key


@dataclass(frozen=True, slots=True)
class NodeState:
    node: Node
    allocatable: Mapping[str, int]
    allowed_pods: int
    requested: Mapping[str, int]
    pod_count: int
    # Each held host port with the key of a pod holding it.
    used_ports: Mapping[HostPort, str]
    # The non-terminal pods bound to the node (the pods being placed excepted).
    pods: tuple[Pod, ...] = ()

    @property
    def name(self) -> str:
        return self.node.name

    def free(self, resource: str) -> int:
        return self.allocatable.get(resource, 0) - self.requested.get(resource, 0)


def node_states(cluster: Cluster, skip_pods: Iterable[str] = ()) -> list[NodeState]:
    """Every node with what its non-terminal pods hold (pods in ``skip_pods`` excepted)."""
    skipped = set(skip_pods)
    states = []
    for node in cluster.nodes.values():
        allocatable = {
            name: scheduler_units(name, q.value)
            for name, q in node.allocatable.items()
            if is_scheduler_resource(name)
        }
        pods_q = node.allocatable.get("pods")
        requested: dict[str, int] = {}
        used: dict[HostPort, str] = {}
        running: list[Pod] = []
        for pod in cluster.pods_on(node.name):
            if pod.is_terminal or pod.key in skipped:
                continue
            running.append(pod)
            for name, amount in pod_requests(pod, bound=True).items():
                requested[name] = requested.get(name, 0) + amount
            for port in host_ports(pod):
                used.setdefault(port, pod.key)
        states.append(
            NodeState(
                node=node,
                allocatable=allocatable,
                allowed_pods=to_units(pods_q.value) if pods_q is not None else 0,
                requested=requested,
                pod_count=len(running),
                used_ports=used,
                pods=tuple(running),
            )
        )
    return states


def label_of(indicator: z3.BoolRef) -> str:
    name: str = indicator.decl().name()
    return name


# --- facts ----------------------------------------------------------------------------------

FactKind = Literal[
    "placement",
    "exclusion",
    "capacity",
    "pod-count",
    "port-pair",
    "anti-affinity",
    "affinity",
    "spread",
]


@dataclass(frozen=True, slots=True)
class Fact:
    """One tracked constraint: which rule, about which pods / node / resource.

    ``amount`` is the free quantity for capacity and pod-count facts; ``detail`` is a
    node-independent phrase for exclusions, port pairs and the cluster-level rules, used by
    explanations; ``key`` is the topology key of the cluster-level rules; ``related`` names
    further spec rules the fact depends on (the first-pod exception of pod affinity).
    The label (an indicator's name) is unique per fact.
    """

    kind: FactKind
    rule: str
    pods: tuple[str, ...] = ()
    node: str = ""
    resource: str = ""
    amount: int = 0
    detail: str = ""
    key: str = ""
    related: tuple[str, ...] = ()
    # For anti-affinity between two groups of pods: the second group (``pods`` lists both).
    others: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        parts = [f"rule={self.rule}"]
        if self.pods:
            parts.append("pod=" + ",".join(self.pods))
        if self.node:
            parts.append(f"node={self.node}")
        if self.resource:
            parts.append(f"resource={self.resource}")
        if self.others:
            parts.append("other=" + ",".join(self.others))
        if self.key:
            parts.append(f"key={self.key}")
        if self.kind in ("anti-affinity", "affinity", "spread") and self.detail:
            # Two constraints of one pod on the same key differ by what they select.
            parts.append(f"what={self.detail}")
        return " ".join(parts)


@dataclass
class Encoding:
    """The variables, facts and indicator literals of one encoded problem."""

    session: Session
    cluster: Cluster
    pods: tuple[PendingPod, ...]
    nodes: tuple[NodeState, ...]
    require_all: bool
    place: dict[tuple[str, str], z3.BoolRef] = field(default_factory=dict)
    facts: dict[str, Fact] = field(default_factory=dict)
    indicators: dict[str, z3.BoolRef] = field(default_factory=dict)
    # Nodes that exist only when their literal is true (copies of a shape that may be
    # added); every other node exists.
    optional: dict[str, z3.BoolRef] = field(default_factory=dict)
    _within: dict[tuple[str, frozenset[str]], z3.BoolRef] = field(default_factory=dict)
    _domains: dict[str, dict[str, list[NodeState]]] = field(default_factory=dict)

    def x(self, pod: str, node: str) -> z3.BoolRef:
        return self.place[(pod, node)]

    def exists(self, node: str) -> z3.BoolRef | bool:
        """Whether the node is part of the cluster (True, or a literal for optional nodes)."""
        return self.optional.get(node, True)

    def domain_nodes(self, key: str) -> dict[str, list[NodeState]]:
        """The nodes carrying label ``key``, by value (nodes without it are in no domain)."""
        domains = self._domains.get(key)
        if domains is None:
            domains = {}
            for n in self.nodes:
                value = n.node.labels.get(key)
                if value is not None:
                    domains.setdefault(value, []).append(n)
            self._domains[key] = domains
        return domains

    def within(self, pod: str, key: str, value: str) -> z3.BoolRef:
        """The pending pod runs on a node whose label ``key`` is ``value``."""
        members = frozenset(n.name for n in self.domain_nodes(key).get(value, []))
        return self.on_any(pod, members)

    def on_any(self, pod: str, nodes: frozenset[str]) -> z3.BoolRef:
        """The pending pod runs on one of ``nodes``: a helper Bool defined once per pod and
        node set (the node's own literal for one node). Constraints about topology domains
        are stated on these, so that a conflict learnt for one node of a domain holds for
        all of them."""
        cached = self._within.get((pod, nodes))
        if cached is not None:
            return cached
        if len(nodes) == 1:
            lit = self.x(pod, next(iter(nodes)))
        else:
            lit = self.session.var(f"on[{pod}@{len(self._within)}]")
            options = [self.x(pod, n.name) for n in self.nodes if n.name in nodes]
            self.session.add(lit == self.session.any_of(options))
        self._within[(pod, nodes)] = lit
        return lit

    def placed(self, pod: str) -> z3.BoolRef:
        """The pod runs on some node."""
        return self.session.any_of([self.place[(pod, n.name)] for n in self.nodes])

    def guard(self, fact: Fact, constraint: z3.BoolRef) -> None:
        """Assert ``constraint`` under the fact's indicator (created on first use)."""
        label = fact.label
        indicator = self.indicators.get(label)
        if indicator is None:
            indicator = self.session.var(label)
            self.indicators[label] = indicator
            self.facts[label] = fact
        self.session.add(z3.Implies(indicator, constraint))

    def assumptions(self, labels: Iterable[str] | None = None) -> list[z3.BoolRef]:
        chosen = self.indicators.keys() if labels is None else labels
        return [self.indicators[label] for label in chosen]

    def fact_of(self, indicator: z3.BoolRef) -> Fact:
        return self.facts[label_of(indicator)]

    def pod(self, key: str) -> PendingPod:
        for p in self.pods:
            if p.key == key:
                return p
        raise KeyError(key)

    def node(self, name: str) -> NodeState:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)


# --- constraint families --------------------------------------------------------------------


class Family(Protocol):
    """A kind of constraint: adds its facts (and any helper variables) to an encoding."""

    @property
    def name(self) -> str: ...

    def encode(self, enc: Encoding) -> None: ...


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


@dataclass(frozen=True)
class StaticFilters:
    """Per (pod, node) rules that do not depend on other pending pods."""

    checks: tuple[StaticCheck, ...] = STATIC_CHECKS
    name: str = "static-filters"

    def encode(self, enc: Encoding) -> None:
        for p in enc.pods:
            for n in enc.nodes:
                for check in self.checks:
                    for rule, detail in check(p, n):
                        fact = Fact("exclusion", rule, pods=(p.key,), node=n.name, detail=detail)
                        enc.guard(fact, z3.Not(enc.x(p.key, n.name)))


@dataclass(frozen=True)
class Placement:
    """At most one node per pod (hard); with ``require_all``, at least one (per-pod fact)."""

    name: str = "placement"

    def encode(self, enc: Encoding) -> None:
        for p in enc.pods:
            options = [enc.x(p.key, n.name) for n in enc.nodes]
            if len(options) > 1:
                enc.session.add(enc.session.at_most(options, 1))
            for name, exists in enc.optional.items():
                enc.session.add(z3.Implies(enc.x(p.key, name), exists))
            if enc.require_all:
                enc.guard(Fact("placement", Rules.PLACEMENT, pods=(p.key,)), enc.placed(p.key))


_CINT_MAX = 2**31 - 1


def bounded_sum(
    session: Session, terms: Sequence[tuple[z3.BoolRef, int]], bound: int
) -> z3.BoolRef | None:
    """``Σ coefficient·x ≤ bound`` over positive coefficients, or None when it always holds.

    A pseudo-Boolean ``PbLe`` after dividing by the coefficients' gcd (exact for integer
    sums); Z3 takes PB coefficients as C ints, so bytes of memory fall back to integer
    arithmetic.
    """
    terms = [(x, c) for x, c in terms if c > 0]
    if not terms or sum(c for _, c in terms) <= bound:
        return None
    if bound < 0:
        return z3.And([z3.Not(x) for x, _ in terms])
    divisor = math.gcd(*(c for _, c in terms))
    scaled = [(x, c // divisor) for x, c in terms]
    limit = bound // divisor
    if max(c for _, c in scaled) <= _CINT_MAX and limit <= _CINT_MAX:
        return session.pb_le(scaled, limit)
    total = z3.Sum([z3.If(x, session.int_val(c), session.int_val(0)) for x, c in terms])
    return total <= bound


@dataclass(frozen=True)
class Capacity:
    """NodeResourcesFit per resource: requests placed on a node fit in what is free there."""

    name: str = "capacity"

    def encode(self, enc: Encoding) -> None:
        resources = sorted({r for p in enc.pods for r, amount in p.requests.items() if amount > 0})
        for resource in resources:
            guards = []
            for n in enc.nodes:
                free = n.free(resource)
                terms = [(enc.x(p.key, n.name), p.requests.get(resource, 0)) for p in enc.pods]
                constraint = bounded_sum(enc.session, terms, free)
                if constraint is not None:
                    fact = Fact(
                        "capacity",
                        resource_rule(resource),
                        node=n.name,
                        resource=resource,
                        amount=free,
                    )
                    enc.guard(fact, constraint)
                    guards.append(enc.indicators[fact.label])
            self._aggregate(enc, resource, guards)

    @staticmethod
    def _aggregate(enc: Encoding, resource: str, guards: list[z3.BoolRef]) -> None:
        """A redundant cut: what is placed in total fits in what is free in total.

        Implied by the per-node facts (a pod is on at most one node), so it is asserted
        only under all of them and is no fact of its own; it lets Z3 refute "6 cpu into
        4 free" without searching through the ways to split the pods over the nodes.
        """
        if len(guards) < 2:
            return
        total_free = sum(max(n.free(resource), 0) for n in enc.nodes)
        terms = [(enc.placed(p.key), p.requests.get(resource, 0)) for p in enc.pods]
        cut = bounded_sum(enc.session, terms, total_free)
        if cut is not None:
            enc.session.add(z3.Implies(z3.And(guards), cut))


@dataclass(frozen=True)
class PodSlots:
    """NodeResourcesFit's pod count: every pod takes one of the node's allocatable pods."""

    name: str = "pod-slots"

    def encode(self, enc: Encoding) -> None:
        for n in enc.nodes:
            free = n.allowed_pods - n.pod_count
            terms = [(enc.x(p.key, n.name), 1) for p in enc.pods]
            constraint = bounded_sum(enc.session, terms, free)
            if constraint is not None:
                fact = Fact("pod-count", Rules.TOO_MANY_PODS, node=n.name, amount=free)
                enc.guard(fact, constraint)


@dataclass(frozen=True)
class HostPortPairs:
    """NodePorts among pending pods: two pods with clashing host ports never share a node."""

    name: str = "host-port-pairs"

    def encode(self, enc: Encoding) -> None:
        with_ports = [p for p in enc.pods if p.ports]
        for i, a in enumerate(with_ports):
            for b in with_ports[i + 1 :]:
                clashes = [(pa, pb) for pa in a.ports for pb in b.ports if ports_clash(pa, pb)]
                if not clashes:
                    continue
                pa, pb = clashes[0]
                detail = f"{pa}" if pa == pb else f"{pa} and {pb}"
                fact = Fact("port-pair", clash_rule(pa, pb), pods=(a.key, b.key), detail=detail)
                apart = z3.And(
                    [z3.Not(z3.And(enc.x(a.key, n.name), enc.x(b.key, n.name))) for n in enc.nodes]
                )
                enc.guard(fact, apart)


NODE_FAMILIES: tuple[Family, ...] = (
    StaticFilters(),
    Placement(),
    Capacity(),
    PodSlots(),
    HostPortPairs(),
)


def default_families() -> tuple[Family, ...]:
    """Every family: the node-level ones, then topology spread and inter-pod affinity."""
    from .interpod import InterPodAffinity
    from .spread import TopologySpread

    return (*NODE_FAMILIES, TopologySpread(), InterPodAffinity())


def encode(
    cluster: Cluster,
    pods: Sequence[Pod],
    session: Session,
    *,
    require_all: bool = True,
    families: Sequence[Family] | None = None,
    optional: Mapping[str, z3.BoolRef] | None = None,
) -> Encoding:
    """Encode placing ``pods`` (pending) on ``cluster``'s nodes into ``session``.

    Pods of ``cluster`` bound to a node hold their resources and ports there, except
    terminal ones and any that are among ``pods`` (a pod is never counted against itself).
    ``optional`` maps node names to literals: such a node exists (and can take pods, and
    counts as a topology domain) only when its literal is true.
    """
    keys = [p.key for p in pods]
    if len(set(keys)) != len(keys):
        raise ValueError("the pods to place must have distinct namespace/name keys")
    pending = tuple(PendingPod(p, pod_requests(p), host_ports(p)) for p in pods)
    nodes = tuple(node_states(cluster, skip_pods=keys))
    enc = Encoding(session, cluster, pending, nodes, require_all)
    enc.optional.update(optional or {})
    for p in pending:
        for n in nodes:
            enc.place[(p.key, n.name)] = session.var(f"x[{p.key}@{n.name}]")
    for family in default_families() if families is None else families:
        family.encode(enc)
    return enc
