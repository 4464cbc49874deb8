"""The cluster: every loaded object, indexed the way the rules look them up."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from podfit.defaults import PriorityError, priority_fields
from podfit.errors import ManifestError
from podfit.model import (
    NAMESPACE_NAME_LABEL,
    DaemonSet,
    KubeObject,
    Labels,
    LimitRange,
    Namespace,
    Node,
    Pod,
    PodDisruptionBudget,
    PriorityClass,
    ResourceQuota,
    Service,
    WorkloadSelector,
    evolve,
    frozen_map,
    object_label,
)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an object was read from, for messages."""

    source: str
    document: int

    def error(self, obj: KubeObject, message: str, field: str | None = None) -> ManifestError:
        return ManifestError(
            message, source=self.source, document=self.document, obj=object_label(obj), field=field
        )


#: The Cluster's tables of objects, each a dict by key.
OBJECT_TABLES = (
    "nodes",
    "pods",
    "namespaces",
    "limit_ranges",
    "resource_quotas",
    "priority_classes",
    "daemon_sets",
    "pdbs",
    "services",
    "workloads",
)


class Cluster:
    """Nodes, pods and the namespace policy objects, with per-node and per-namespace indexes.

    The model objects are immutable; the cluster itself changes only through ``add``,
    ``bind`` and ``remove_pod`` so the indexes stay right. ``copy()`` is cheap enough to
    let a simulation work on its own copy.
    """

    def __init__(self, objects: Iterable[KubeObject] = ()) -> None:
        self.nodes: dict[str, Node] = {}
        self.pods: dict[str, Pod] = {}
        self.namespaces: dict[str, Namespace] = {}
        self.limit_ranges: dict[str, LimitRange] = {}
        self.resource_quotas: dict[str, ResourceQuota] = {}
        self.priority_classes: dict[str, PriorityClass] = {}
        self.daemon_sets: dict[str, DaemonSet] = {}
        self.pdbs: dict[str, PodDisruptionBudget] = {}
        self.services: dict[str, Service] = {}
        # ReplicaSets, StatefulSets, ReplicationControllers by "Kind/namespace/name".
        self.workloads: dict[str, WorkloadSelector] = {}
        self.origins: dict[str, Origin] = {}
        self._by_node: dict[str, dict[str, Pod]] = {}
        self._by_namespace: dict[str, dict[str, Pod]] = {}
        # Grows on every change, so derived data (the scheduler's snapshot) knows when to rebuild.
        self.version = 0
        for obj in objects:
            self.add(obj)

    # --- building -----------------------------------------------------------------------

    _TABLES: ClassVar[dict[type, str]] = {
        Node: "nodes",
        Pod: "pods",
        Namespace: "namespaces",
        LimitRange: "limit_ranges",
        ResourceQuota: "resource_quotas",
        PriorityClass: "priority_classes",
        DaemonSet: "daemon_sets",
        PodDisruptionBudget: "pdbs",
        Service: "services",
        WorkloadSelector: "workloads",
    }

    def _table(self, obj: KubeObject) -> dict[str, KubeObject]:
        table: dict[str, KubeObject] = getattr(self, self._TABLES[type(obj)])
        return table

    @staticmethod
    def key_of(obj: KubeObject) -> str:
        if isinstance(obj, WorkloadSelector):
            return f"{obj.kind}/{obj.namespace}/{obj.name}"
        namespace = getattr(obj, "namespace", None)
        return f"{namespace}/{obj.name}" if namespace is not None else obj.name

    def add(self, obj: KubeObject, origin: Origin | None = None) -> None:
        """Add one object; a second object of the same kind and name is an error."""
        table = self._table(obj)
        key = self.key_of(obj)
        if key in table:
            label = object_label(obj)
            first = self.origins.get(f"{type(obj).__name__}:{key}")
            where = (
                f" (first defined in {first.source}: document {first.document})" if first else ""
            )
            message = f"duplicate {label}{where}"
            if origin is not None:
                raise origin.error(obj, message)
            raise ManifestError(message)
        table[key] = obj
        self.version += 1
        if origin is not None:
            self.origins[f"{type(obj).__name__}:{key}"] = origin
        if isinstance(obj, Pod):
            self._index(obj)

    def _index(self, pod: Pod) -> None:
        if pod.node_name:
            self._by_node.setdefault(pod.node_name, {})[pod.key] = pod
        self._by_namespace.setdefault(pod.namespace, {})[pod.key] = pod

    def _unindex(self, pod: Pod) -> None:
        if pod.node_name:
            self._by_node.get(pod.node_name, {}).pop(pod.key, None)
        self._by_namespace.get(pod.namespace, {}).pop(pod.key, None)

    def finish(self, *, owned: bool = False) -> Cluster:
        """Check cross-object references and resolve priorities; returns self.

        A pod bound to a node that is not in the input is an error; so is a pod naming a
        PriorityClass that does not exist. ``owned``: the pods were built for this cluster
        alone and nothing else holds them yet (a fresh load), so the resolved priority is
        written into them rather than into copies (a copy of every pod of a large dump
        costs a noticeable part of its loading).
        """
        nodes, classes = self.nodes, self.priority_classes
        setter = object.__setattr__
        for key, pod in list(self.pods.items()):
            if pod.node_name and pod.node_name not in nodes and not pod.is_terminal:
                message = f"pod is bound to node {pod.node_name!r}, which is not in the input"
                raise self._pod_error(key, pod, message, "spec.nodeName")
            try:
                fields = priority_fields(pod, classes, strict=False)
            except PriorityError as exc:
                raise self._pod_error(key, pod, str(exc), "spec.priorityClassName") from None
            if fields is None:
                continue
            if owned:
                for name, value in fields.items():
                    setter(pod, name, value)
                continue
            resolved = evolve(pod, **fields)
            if resolved is not pod:
                # Same key, node and namespace: swap the object in place in every index.
                self.pods[key] = resolved
                if pod.node_name:
                    self._by_node[pod.node_name][key] = resolved
                self._by_namespace[pod.namespace][key] = resolved
                self.version += 1
        return self

    def _pod_error(self, key: str, pod: Pod, message: str, field: str) -> ManifestError:
        origin = self.origins.get(f"Pod:{key}")
        return origin.error(pod, message, field) if origin else ManifestError(message, field=field)

    # --- lookups --------------------------------------------------------------------------

    def pods_on(self, node_name: str) -> list[Pod]:
        """Pods bound to the node, terminal ones included (rules skip those themselves)."""
        return list(self._by_node.get(node_name, {}).values())

    def pods_in(self, namespace: str) -> list[Pod]:
        return list(self._by_namespace.get(namespace, {}).values())

    def bound_pods(self) -> Iterator[Pod]:
        return (p for p in self.pods.values() if p.node_name)

    def pending_pods(self) -> list[Pod]:
        return [p for p in self.pods.values() if not p.node_name and not p.is_terminal]

    def namespace_labels(self, name: str) -> Labels:
        """A namespace's labels; one not in the input has just the label the API server
        gives every namespace (kubernetes.io/metadata.name)."""
        ns = self.namespaces.get(name)
        return ns.labels if ns is not None else frozen_map({NAMESPACE_NAME_LABEL: name})

    def workload(self, kind: str, namespace: str, name: str) -> WorkloadSelector | None:
        """A ReplicaSet, StatefulSet or ReplicationController by kind, namespace and name."""
        return self.workloads.get(f"{kind}/{namespace}/{name}")

    def objects(self) -> Iterator[KubeObject]:
        yield from self.namespaces.values()
        yield from self.priority_classes.values()
        yield from self.nodes.values()
        yield from self.limit_ranges.values()
        yield from self.resource_quotas.values()
        yield from self.pdbs.values()
        yield from self.daemon_sets.values()
        yield from self.services.values()
        yield from self.workloads.values()
        yield from self.pods.values()

    # --- changes ----------------------------------------------------------------------------

    def replace_pod(self, pod: Pod) -> None:
        old = self.pods.get(pod.key)
        if old is not None:
            self._unindex(old)
        self.pods[pod.key] = pod
        self._index(pod)
        self.version += 1

    def bind(self, pod: Pod, node_name: str) -> Pod:
        """Bind (or add and bind) a pod to a node; returns the bound pod."""
        bound = evolve(
            pod, node_name=node_name, phase=pod.phase or "Running", nominated_node_name=""
        )
        self.replace_pod(bound)
        return bound

    def remove_pod(self, key: str) -> Pod | None:
        pod = self.pods.pop(key, None)
        if pod is not None:
            self._unindex(pod)
            self.version += 1
        return pod

    def replace_node(self, node: Node) -> None:
        self.nodes[node.name] = node
        self.version += 1

    def copy(self) -> Cluster:
        other = Cluster()
        for name in (*OBJECT_TABLES, "origins"):
            setattr(other, name, dict(getattr(self, name)))
        other._by_node = {k: dict(v) for k, v in self._by_node.items()}
        other._by_namespace = {k: dict(v) for k, v in self._by_namespace.items()}
        return other

    def __repr__(self) -> str:
        return f"<Cluster nodes={len(self.nodes)} pods={len(self.pods)}>"
