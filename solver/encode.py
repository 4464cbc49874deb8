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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import z3

from podfit.cluster import Cluster
from podfit.model import Pod

from .encoding import Encoding, Fact, Family
from .filters import STATIC_CHECKS, StaticCheck
from .interpod import InterPodAffinity
from .rules import Rules
from .session import Session
from .spread import TopologySpread
from .state import (
    PendingPod,
    clash_rule,
    host_ports,
    node_states,
    pod_requests,
    ports_clash,
    resource_rule,
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
