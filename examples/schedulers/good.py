"""A small first-fit scheduler written from the Kubernetes rules, not from podfit's reference.

It places a pod on the first node (in the order the cluster lists them) that passes the
node-level filters kube-scheduler applies, and does not score. It should pass::

    podfit conform --adapter python:examples/schedulers/good.py:scheduler

It reads only podfit's object model (podfit.model) and answers a Decision.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from fractions import Fraction

from podfit.cluster import Cluster
from podfit.conformance.decisions import NODE_AREAS, Decision
from podfit.model import Container, Node, NodeSelectorTerm, Pod, Requirement, Taint, Toleration

CORDON_TAINT = Taint(key="node.kubernetes.io/unschedulable", effect="NoSchedule")
GO_INT = re.compile(r"[+-]?[0-9]+")


# --- taints ---------------------------------------------------------------------------------


def tolerates(t: Toleration, taint: Taint) -> bool:
    if t.effect and t.effect != taint.effect:
        return False
    if t.key and t.key != taint.key:  # an empty key (with Exists) matches every key
        return False
    if t.operator == "Exists":
        return True
    return t.operator == "Equal" and t.value == taint.value


def tolerated(tolerations: Iterable[Toleration], taint: Taint) -> bool:
    return any(tolerates(t, taint) for t in tolerations)


# --- node affinity --------------------------------------------------------------------------


def as_int(text: str) -> int | None:
    return int(text) if GO_INT.fullmatch(text) else None


def requirement_holds(req: Requirement, labels: Mapping[str, str]) -> bool:
    value = labels.get(req.key)
    if req.operator == "In":
        return value is not None and value in req.values
    if req.operator == "NotIn":
        return value is None or value not in req.values
    if req.operator == "Exists":
        return value is not None
    if req.operator == "DoesNotExist":
        return value is None
    if req.operator in ("Gt", "Lt") and value is not None and len(req.values) == 1:
        have, bound = as_int(value), as_int(req.values[0])
        if have is None or bound is None:
            return False
        return have > bound if req.operator == "Gt" else have < bound
    return False


def term_holds(term: NodeSelectorTerm, node: Node) -> bool:
    if not term.match_expressions and not term.match_fields:
        return False  # an empty term selects no node
    if not all(requirement_holds(r, node.labels) for r in term.match_expressions):
        return False
    for req in term.match_fields:
        named = req.key == "metadata.name" and node.name in req.values
        if (req.operator == "In") != named:
            return False
    return True


def affinity_holds(pod: Pod, node: Node) -> bool:
    if any(node.labels.get(k) != v for k, v in pod.node_selector.items()):
        return False
    affinity = pod.affinity.node_affinity if pod.affinity else None
    if affinity is None or affinity.required is None:
        return True
    return any(term_holds(t, node) for t in affinity.required.terms)


# --- resources ------------------------------------------------------------------------------


def amounts(c: Container) -> dict[str, Fraction]:
    return {name: q.value for name, q in c.resources.requests.items()}


def held(pod: Pod, c: Container) -> dict[str, Fraction]:
    """What a container of a pod already on a node holds: while an in-place resize is under
    way, the larger of its spec and what its status reports (only the status, once the
    resize is Infeasible)."""
    if c.status_requests is None:
        return amounts(c)
    out = {} if pod.resize_infeasible else amounts(c)
    for source in (c.status_requests, c.allocated or {}):
        for name, q in source.items():
            out[name] = max(out.get(name, Fraction(0)), q.value)
    return out


def add(into: dict[str, Fraction], more: Mapping[str, Fraction]) -> None:
    for name, value in more.items():
        into[name] = into.get(name, Fraction(0)) + value


def requests(pod: Pod, *, bound: bool = False) -> dict[str, int]:
    """What the pod needs: app containers and sidecars run together; each ordinary init
    container runs alone next to the sidecars started before it; the pod needs the larger
    of the two, plus the overhead. cpu in millicores, the rest in units, rounded up. A pod
    already on a node (``bound``) holds what its resize status says."""

    def of(c: Container) -> dict[str, Fraction]:
        return held(pod, c) if bound else amounts(c)

    running: dict[str, Fraction] = {}
    for c in pod.containers:
        add(running, of(c))
    sidecars: dict[str, Fraction] = {}
    peak: dict[str, Fraction] = {}
    for c in pod.init_containers:
        sidecar = c.restart_policy == "Always"
        own = of(c) if sidecar else amounts(c)
        now = dict(sidecars)
        add(now, own)
        for name, value in now.items():
            peak[name] = max(peak.get(name, Fraction(0)), value)
        if sidecar:
            add(sidecars, own)
            add(running, own)
    total = {
        n: max(running.get(n, Fraction(0)), peak.get(n, Fraction(0))) for n in {*running, *peak}
    }
    add(total, {n: q.value for n, q in pod.overhead.items()})
    return {n: math.ceil(v * 1000) if n == "cpu" else math.ceil(v) for n, v in total.items()}


def allocatable(node: Node) -> dict[str, int]:
    return {
        n: math.ceil(q.value * 1000) if n == "cpu" else math.ceil(q.value)
        for n, q in node.allocatable.items()
    }


# --- ports ----------------------------------------------------------------------------------


def host_ports(pod: Pod) -> list[tuple[str, str, int]]:
    holders = [*pod.containers, *(c for c in pod.init_containers if c.restart_policy == "Always")]
    return [
        (p.host_ip or "0.0.0.0", p.protocol or "TCP", p.host_port)
        for c in holders
        for p in c.ports
        if p.host_port > 0
    ]


def clash(a: tuple[str, str, int], b: tuple[str, str, int]) -> bool:
    return a[1:] == b[1:] and (a[0] == b[0] or "0.0.0.0" in (a[0], b[0]))


# --- the scheduler --------------------------------------------------------------------------


class FirstFit:
    name = "examples/schedulers/good.py"
    areas = NODE_AREAS

    def why_not(self, cluster: Cluster, pod: Pod, node: Node) -> str | None:
        if node.unschedulable and not tolerated(pod.tolerations, CORDON_TAINT):
            return "node is cordoned"
        for taint in node.taints:
            if taint.effect in ("NoSchedule", "NoExecute") and not tolerated(
                pod.tolerations, taint
            ):
                return f"taint {taint} is not tolerated"
        if not affinity_holds(pod, node):
            return "nodeSelector or node affinity does not match"
        here = [p for p in cluster.pods_on(node.name) if not p.is_terminal and p.key != pod.key]
        wanted = [p for p in host_ports(pod)]
        used = [u for p in here for u in host_ports(p)]
        if any(clash(w, u) for w in wanted for u in used):
            return "a host port is taken"
        free = allocatable(node)
        if len(here) + 1 > free.get("pods", 0):
            return "too many pods"
        used_amounts: dict[str, int] = {}
        for p in here:
            for name, value in requests(p, bound=True).items():
                used_amounts[name] = used_amounts.get(name, 0) + value
        for name, want in requests(pod).items():
            if want > 0 and want > free.get(name, 0) - used_amounts.get(name, 0):
                return f"not enough {name}"
        return None

    def schedule(self, cluster: Cluster, pod: Pod) -> Decision:
        reasons: dict[str, tuple[str, ...]] = {}
        for node in cluster.nodes.values():
            why = self.why_not(cluster, pod, node)
            if why is None:
                return Decision(node=node.name)
            reasons[node.name] = (why,)
        return Decision(node=None, reasons=reasons)

    def close(self) -> None:
        pass


scheduler = FirstFit()
