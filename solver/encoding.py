"""The per-pod encoding's problem: one Bool per (pending pod, node), and *facts*, each a
tracked constraint naming the spec rule it comes from (see :mod:`podfit.solver.encode`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import z3

from podfit.cluster import Cluster

from .session import Session
from .state import NodeState, PendingPod


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
