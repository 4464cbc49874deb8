"""Per-node aggregates the plugins read, built once per cluster state (kube-scheduler's
NodeInfo and cache snapshot).

Pods in a terminal phase (Succeeded, Failed) are left out: they hold no resources,
ports or affinity slots. Pods being deleted are still on their node.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from podfit.cluster import Cluster
from podfit.model import Node, Pod

from .podaffinity import PodTerms, pod_terms
from .resources import (
    PODS,
    pod_nonzero_requests,
    pod_requests,
    scheduler_units,
    to_scheduler_units,
)

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
    def of(cls, pod: Pod) -> PodInfo:
        terms = pod_terms(pod) if pod.affinity is not None else None
        return cls(
            pod=pod,
            requests=to_scheduler_units(pod_requests(pod)),
            nonzero_requests=to_scheduler_units(pod_nonzero_requests(pod)),
            ports=host_ports(pod),
            terms=None if terms is None or terms.empty else terms,
        )


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
    # The pods with inter-pod (anti-)affinity terms, in the order of ``pods``
    # (upstream's PodsWithAffinity).
    affinity_pods: list[PodInfo] = field(default_factory=list)

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
        if p.terms is not None:
            self.affinity_pods.append(p)
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
        for i, p in enumerate(self.pods):
            if p.pod.key == pod.key:
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
                if p.terms is not None:
                    self.affinity_pods = [a for a in self.affinity_pods if a is not p]
                self._index(p.pod, -1)
                return True
        return False

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
            affinity_pods=list(self.affinity_pods),
        )


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

    @classmethod
    def of(cls, cluster: Cluster) -> Snapshot:
        nodes = {name: NodeInfo.of(node) for name, node in cluster.nodes.items()}
        for pod in cluster.bound_pods():
            info = nodes.get(pod.node_name)
            if info is not None and not pod.is_terminal:
                info.add(PodInfo.of(pod))
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
        self.nodes[pod.node_name].add(PodInfo.of(pod))
        self.cache.clear()

    def remove_pod(self, pod: Pod) -> None:
        info = self.nodes.get(pod.node_name)
        if info is not None:
            info.remove(pod)
        self.cache.clear()

    def node_list(self) -> list[NodeInfo]:
        return list(self.nodes.values())

    def all_pods(self) -> Iterable[PodInfo]:
        for info in self.nodes.values():
            yield from info.pods
