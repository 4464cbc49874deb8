"""Per-node aggregates the plugins read, built once per cluster state (kube-scheduler's
NodeInfo and cache snapshot).

Pods in a terminal phase (Succeeded, Failed) are left out: they hold no resources,
ports or affinity slots. Pods being deleted are still on their node.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from podfit.cluster import Cluster
from podfit.model import Node, Pod

from .podaffinity import PodTerms, pod_terms
from .resources import (
    PODS,
    bound_pod_nonzero_requests,
    bound_pod_requests,
    pod_nonzero_requests,
    pod_requests,
    resized_in_place,
    scheduler_units,
    to_scheduler_units,
)

if TYPE_CHECKING:
    from .columns import Columns

# (hostIP, protocol, hostPort)
HostPort = tuple[str, str, int]

# An empty hostIP binds every address (HostPortInfo's DefaultBindAllHostIP).
BIND_ALL_HOST_IP = "0.0.0.0"


def host_ports(pod: Pod) -> list[HostPort]:
    """The host ports a pod holds (upstream's GetHostPorts): sidecar init containers
    (restartPolicy Always) first, then the containers. Ordinary init containers are left
    out: they have finished before the pod's containers start."""
    out: list[HostPort] = []
    for c in (*(c for c in pod.init_containers if c.is_sidecar), *pod.containers):
        for p in c.ports:
            if p.host_port > 0:
                out.append((p.host_ip or BIND_ALL_HOST_IP, p.protocol or "TCP", p.host_port))
    return out


@dataclass(slots=True)
class PodInfo:
    """A pod and what scheduling derives from it once."""

    pod: Pod
    requests: dict[str, int]
    nonzero_requests: dict[str, int]
    ports: list[HostPort]
    # The pod's inter-pod (anti-)affinity terms, resolved; None when it has none.
    terms: PodTerms | None = None

    @classmethod
    def of(cls, pod: Pod, *, bound: bool = False) -> PodInfo:
        """What scheduling derives from ``pod``: as the pod being scheduled, or (``bound``)
        as a pod on a node, which holds what an in-place resize in progress gives it."""
        terms = pod_terms(pod) if pod.affinity is not None else None
        requests, nonzero = _requests(pod, bound=bound)
        return cls(
            pod=pod,
            requests=requests,
            nonzero_requests=nonzero,
            ports=host_ports(pod) if _has_ports(pod) else [],
            terms=None if terms is None or terms.empty else terms,
        )


def _has_ports(pod: Pod) -> bool:
    return any(c.ports for c in pod.containers) or any(c.ports for c in pod.init_containers)


# Pods read from one dump share their containers with the other replicas of their workload
# (podfit.fastbuild builds each distinct part once): their requests, in scheduler units, are
# computed once per distinct set of the parts they are computed from (the containers, the
# overhead, pod-level resources and, for a bound pod resized in place, its status).
# Keyed by identity; each entry keeps its parts alive, so an id is never reused meanwhile.
Units = dict[str, int]
_REQUESTS: dict[tuple[object, ...], tuple[tuple[object, ...], Units, Units]] = {}
_REQUESTS_LIMIT = 10_000


def _requests(pod: Pod, *, bound: bool) -> tuple[Units, Units]:
    """(requests, non-zero requests) in scheduler units; shared, never to be changed."""
    resized = bound and resized_in_place(pod)
    parts: tuple[object, ...] = (pod.containers, pod.init_containers, pod.overhead, pod.resources)
    if resized:
        parts += (pod.status_requests, pod.allocated)
    key = (resized, resized and pod.resize_infeasible, *map(id, parts))
    hit = _REQUESTS.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], parts, strict=True)):
        return hit[1], hit[2]
    if resized:
        requests = to_scheduler_units(bound_pod_requests(pod))
        nonzero = to_scheduler_units(bound_pod_nonzero_requests(pod))
    else:
        requests = to_scheduler_units(pod_requests(pod))
        nonzero = to_scheduler_units(pod_nonzero_requests(pod))
    if len(_REQUESTS) >= _REQUESTS_LIMIT:
        _REQUESTS.clear()
    _REQUESTS[key] = (parts, requests, nonzero)
    return requests, nonzero


_VERSIONS = itertools.count(1)
# The last version handed out: when it has not moved, no NodeInfo anywhere has changed.
_LAST_VERSION = [0]


def _next_version() -> int:
    _LAST_VERSION[0] = version = next(_VERSIONS)
    return version


def last_version() -> int:
    """The newest version any NodeInfo has had (see ``NodeInfo.version``)."""
    return _LAST_VERSION[0]


_COLUMNS_KEY = "columns"


@dataclass(slots=True)
class NodeInfo:
    node: Node
    pods: list[PodInfo] = field(default_factory=list)
    # Sums over the pods, in scheduler units (cpu in millicores).
    requested: dict[str, int] = field(default_factory=dict)
    nonzero_requested: dict[str, int] = field(default_factory=dict)
    allocatable: dict[str, int] = field(default_factory=dict)
    # Distinct (hostIP, protocol, port) the node's pods hold (upstream's HostPortInfo set).
    used_ports: list[HostPort] = field(default_factory=list)
    # (namespace, label key, value) -> pods carrying it, all and terminating only: lets the
    # cluster-level plugins count pods matching a one-label selector without a scan.
    label_index: dict[tuple[str, str, str], int] = field(default_factory=dict)
    terminating_index: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # A number no other NodeInfo state had: renewed whenever pods come or go, so derived
    # per-node data (reference.columns) knows which rows to read again.
    version: int = field(default_factory=_next_version)

    @property
    def name(self) -> str:
        return self.node.name

    @classmethod
    def of(cls, node: Node, pods: Iterable[PodInfo] = ()) -> NodeInfo:
        info = cls(
            node=node,
            allocatable={
                name: scheduler_units(name, q.value) for name, q in node.allocatable.items()
            },
        )
        for p in pods:
            info.add(p)
        return info

    def add(self, p: PodInfo) -> None:
        self.version = _next_version()
        self.pods.append(p)
        for name, value in p.requests.items():
            self.requested[name] = self.requested.get(name, 0) + value
        for name in ("cpu", "memory"):
            self.nonzero_requested[name] = self.nonzero_requested.get(
                name, 0
            ) + p.nonzero_requests.get(name, 0)
        # A set, as upstream's HostPortInfo: a port two pods declare is recorded once.
        for port in p.ports:
            if port not in self.used_ports:
                self.used_ports.append(port)
        self._index(p.pod, 1)

    def _index(self, pod: Pod, delta: int) -> None:
        ns = pod.namespace
        terminating = pod.is_terminating
        for key, value in pod.labels.items():
            entry = (ns, key, value)
            self.label_index[entry] = self.label_index.get(entry, 0) + delta
            if terminating:
                self.terminating_index[entry] = self.terminating_index.get(entry, 0) + delta

    def count_label(self, namespace: str, key: str, value: str, *, terminating: bool) -> int:
        """Pods in ``namespace`` labelled key=value (without terminating ones if asked)."""
        entry = (namespace, key, value)
        n = self.label_index.get(entry, 0)
        return n if terminating else n - self.terminating_index.get(entry, 0)

    def remove(self, pod: Pod) -> bool:
        return self.pop(pod) is not None

    def pop(self, pod: Pod) -> PodInfo | None:
        """Take the pod with ``pod``'s key off the node; its PodInfo, or None."""
        for i, p in enumerate(self.pods):
            if p.pod.key == pod.key:
                self.version = _next_version()
                del self.pods[i]
                for name, value in p.requests.items():
                    self.requested[name] -= value
                for name in ("cpu", "memory"):
                    self.nonzero_requested[name] -= p.nonzero_requests.get(name, 0)
                # Upstream removes the entry even when another pod on the node declares
                # the same port (possible only for pods bound without the scheduler).
                for port in p.ports:
                    if port in self.used_ports:
                        self.used_ports.remove(port)
                self._index(p.pod, -1)
                return p
        return None

    def allowed_pods(self) -> int:
        return self.allocatable.get(PODS, 0)

    def clone(self) -> NodeInfo:
        return NodeInfo(
            node=self.node,
            pods=list(self.pods),
            requested=dict(self.requested),
            nonzero_requested=dict(self.nonzero_requested),
            allocatable=self.allocatable,
            used_ports=list(self.used_ports),
            label_index=dict(self.label_index),
            terminating_index=dict(self.terminating_index),
        )


class PodIndex(Protocol):
    """Derived data over every pod of a snapshot, kept in step as pods come and go."""

    def add(self, node: NodeInfo, pod: PodInfo) -> None: ...

    def remove(self, node: NodeInfo, pod: PodInfo) -> None: ...


IndexT = TypeVar("IndexT", bound=PodIndex)

LabelEntry = tuple[str, str, str]  # (namespace, label key, value)


class PodsByLabel:
    """(namespace, label key, value) -> node name -> the pods there carrying it, in the
    node's pod order: the nodes a one-label selector finds pods on, and those pods, without
    visiting the others."""

    def __init__(self) -> None:
        self.all: dict[LabelEntry, dict[str, list[PodInfo]]] = {}
        # entry -> how many of its pods are terminating (they are in ``all`` too)
        self.terminating: dict[LabelEntry, int] = {}

    def add(self, node: NodeInfo, pod: PodInfo) -> None:
        # Pods are added in the node's pod order (the index is built from NodeInfo.pods
        # and a bound pod joins both at the end), so each list keeps that order.
        ns, name = pod.pod.namespace, node.name
        terminating = pod.pod.is_terminating
        for key, value in pod.pod.labels.items():
            entry = (ns, key, value)
            self.all.setdefault(entry, {}).setdefault(name, []).append(pod)
            if terminating:
                self.terminating[entry] = self.terminating.get(entry, 0) + 1

    def remove(self, node: NodeInfo, pod: PodInfo) -> None:
        ns, name = pod.pod.namespace, node.name
        terminating = pod.pod.is_terminating
        for key, value in pod.pod.labels.items():
            entry = (ns, key, value)
            by_node = self.all[entry]
            pods = by_node[name]
            del pods[next(i for i, p in enumerate(pods) if p is pod)]
            if not pods:
                del by_node[name]
                if not by_node:
                    del self.all[entry]
            if terminating:
                left = self.terminating[entry] - 1
                if left:
                    self.terminating[entry] = left
                else:
                    del self.terminating[entry]

    def nodes(self, entry: LabelEntry, *, terminating: bool) -> dict[str, list[PodInfo]]:
        """Node name -> the pods there carrying the label (without terminating ones if
        asked); only nodes with at least one such pod."""
        pods = self.all.get(entry)
        if pods is None:
            return {}
        if terminating or entry not in self.terminating:
            return pods
        out = {}
        for node, here in pods.items():
            kept = [p for p in here if not p.pod.is_terminating]
            if kept:
                out[node] = kept
        return out


@dataclass(slots=True)
class Snapshot:
    """Every node's NodeInfo, in the cluster's node order."""

    cluster: Cluster
    nodes: dict[str, NodeInfo]
    # image name -> number of nodes that have it (ImageLocality's spread).
    image_nodes: dict[str, int] = field(default_factory=dict)
    # Derived data plugins keep across cycles (e.g. pods with affinity terms); cleared on change.
    cache: dict[str, Any] = field(default_factory=dict)
    # Derived data that depends on the nodes only (e.g. image facts): kept when pods are bound
    # or evicted, as the snapshot's nodes never change.
    node_cache: dict[str, Any] = field(default_factory=dict)
    # Where the next sampled scheduling cycle starts (kube-scheduler's nextStartNodeIndex).
    next_start_node: int = 0
    # Derived data over the pods (see ``index``), built on first use and then kept in step
    # with every pod bound or removed, so a cycle does not revisit every pod.
    indexes: dict[str, PodIndex] = field(default_factory=dict)

    @classmethod
    def of(cls, cluster: Cluster) -> Snapshot:
        nodes = {name: NodeInfo.of(node) for name, node in cluster.nodes.items()}
        for pod in cluster.bound_pods():
            info = nodes.get(pod.node_name)
            if info is not None and not pod.is_terminal:
                info.add(PodInfo.of(pod, bound=True))
        images: dict[str, int] = {}
        for node in cluster.nodes.values():
            seen: set[str] = set()
            for image in node.images:
                for name in image.names:
                    if name not in seen:
                        seen.add(name)
                        images[name] = images.get(name, 0) + 1
        return cls(cluster=cluster, nodes=nodes, image_nodes=images)

    def add_pod(self, pod: Pod) -> None:
        """Account a newly bound pod (kept in step with the cluster by the caller)."""
        info = self.nodes[pod.node_name]
        p = PodInfo.of(pod, bound=True)
        info.add(p)
        for index in self.indexes.values():
            index.add(info, p)
        self.cache.clear()

    def remove_pod(self, pod: Pod) -> None:
        info = self.nodes.get(pod.node_name)
        if info is not None:
            p = info.pop(pod)
            if p is not None:
                for index in self.indexes.values():
                    index.remove(info, p)
        self.cache.clear()

    def index(self, name: str, factory: Callable[[], IndexT]) -> IndexT:
        """The index called ``name``, built from every pod by ``factory()`` on first use."""
        index = self.indexes.get(name)
        if index is None:
            index = factory()
            for info in self.nodes.values():
                for p in info.pods:
                    index.add(info, p)
            self.indexes[name] = index
        return cast(IndexT, index)

    def pods_by_label(self) -> PodsByLabel:
        return self.index("pods-by-label", PodsByLabel)

    def node_list(self) -> list[NodeInfo]:
        return list(self.nodes.values())

    def columns(self) -> Columns:
        """The nodes' facts as arrays (reference.columns), current with their pods."""
        from .columns import Columns

        nodes = self.node_list()
        columns: Columns | None = self.node_cache.get(_COLUMNS_KEY)
        if columns is None or len(columns.nodes) != len(nodes):
            columns = self.node_cache[_COLUMNS_KEY] = Columns(nodes)
        else:
            columns.refresh(nodes)
        return columns

    def all_pods(self) -> Iterable[PodInfo]:
        for info in self.nodes.values():
            yield from info.pods
