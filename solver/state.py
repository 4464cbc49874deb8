"""The cluster as the filters see it: a pending pod's effective request and host ports,
each node's free resources, pod slots, held ports and running pods, and tolerations.

Shared by the per-pod encoding (:mod:`podfit.solver.encode`), the counting encoding
(:mod:`podfit.solver.classes`) and the proofs (:mod:`podfit.solver.prove`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from podfit.cluster import Cluster
from podfit.model import Container, Node, Pod, Taint, Toleration
from podfit.quantity import Quantity, to_milli, to_units

from .labels import valid_label_key
from .rules import Rules

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
