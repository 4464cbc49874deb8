"""The object model: immutable views of the Kubernetes objects that scheduling reads.

Objects are built by :mod:`podfit.manifest` from manifests (already validated and
defaulted as the API server would) and turn back into manifests with
:func:`podfit.manifest.to_manifest`. Field names follow the Kubernetes API in
snake_case. Collections are tuples and read-only mappings so that objects can be
shared freely between the reference, the solver and conformance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Literal, TypeVar

from podfit.quantity import Quantity

ResourceList = Mapping[str, Quantity]
Labels = Mapping[str, str]

EMPTY_LABELS: Labels = MappingProxyType({})
EMPTY_RESOURCES: ResourceList = MappingProxyType({})

DEFAULT_SCHEDULER = "default-scheduler"
DEFAULT_NAMESPACE = "default"
# The label the API server sets on every namespace (NamespaceDefaultLabelName).
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
TAINT_EFFECTS: tuple[str, ...] = ("NoSchedule", "PreferNoSchedule", "NoExecute")
SELECTOR_OPERATORS: tuple[str, ...] = ("In", "NotIn", "Exists", "DoesNotExist")
NODE_SELECTOR_OPERATORS: tuple[str, ...] = (*SELECTOR_OPERATORS, "Gt", "Lt")
TOLERATION_OPERATORS: tuple[str, ...] = ("Equal", "Exists")
TERMINAL_PHASES: frozenset[str] = frozenset({"Succeeded", "Failed"})


def frozen_map(data: Mapping[str, str] | None = None) -> Labels:
    return MappingProxyType(dict(data or {}))


def frozen_resources(data: Mapping[str, Quantity] | None = None) -> ResourceList:
    return MappingProxyType(dict(data or {}))


# --- selectors -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Requirement:
    """One `matchExpressions` (or `matchFields`) entry: key, operator, values."""

    key: str
    operator: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """metav1.LabelSelector. Where a selector is optional, ``None`` stands for "not set"."""

    match_labels: Labels = field(default_factory=lambda: EMPTY_LABELS)
    match_expressions: tuple[Requirement, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions


@dataclass(frozen=True, slots=True)
class NodeSelectorTerm:
    match_expressions: tuple[Requirement, ...] = ()
    match_fields: tuple[Requirement, ...] = ()


@dataclass(frozen=True, slots=True)
class NodeSelector:
    """Required node affinity: the terms are ORed."""

    terms: tuple[NodeSelectorTerm, ...] = ()


@dataclass(frozen=True, slots=True)
class PreferredSchedulingTerm:
    weight: int
    preference: NodeSelectorTerm


@dataclass(frozen=True, slots=True)
class NodeAffinity:
    required: NodeSelector | None = None
    preferred: tuple[PreferredSchedulingTerm, ...] = ()


@dataclass(frozen=True, slots=True)
class PodAffinityTerm:
    topology_key: str
    label_selector: LabelSelector | None = None
    namespaces: tuple[str, ...] = ()
    namespace_selector: LabelSelector | None = None
    match_label_keys: tuple[str, ...] = ()
    mismatch_label_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WeightedPodAffinityTerm:
    weight: int
    term: PodAffinityTerm


@dataclass(frozen=True, slots=True)
class PodAffinity:
    """Used for both podAffinity and podAntiAffinity."""

    required: tuple[PodAffinityTerm, ...] = ()
    preferred: tuple[WeightedPodAffinityTerm, ...] = ()


@dataclass(frozen=True, slots=True)
class Affinity:
    node_affinity: NodeAffinity | None = None
    pod_affinity: PodAffinity | None = None
    pod_anti_affinity: PodAffinity | None = None


# --- taints and tolerations ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    effect: str
    value: str = ""
    time_added: datetime | None = None

    def __str__(self) -> str:
        return (
            f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"
        )


@dataclass(frozen=True, slots=True)
class Toleration:
    """A toleration as the API server stores it. ``operator`` has no API default: an empty
    operator (omitted) means Equal, and stays empty on the wire."""

    key: str = ""
    operator: str = ""
    value: str = ""
    effect: str = ""
    toleration_seconds: int | None = None


# --- topology spread -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopologySpreadConstraint:
    max_skew: int
    topology_key: str
    when_unsatisfiable: str
    label_selector: LabelSelector | None = None
    min_domains: int | None = None
    # No API default: None (omitted) means Honor and Ignore respectively.
    node_affinity_policy: str | None = None
    node_taints_policy: str | None = None

    @property
    def honors_node_affinity(self) -> bool:
        return self.node_affinity_policy != "Ignore"

    @property
    def honors_taints(self) -> bool:
        return self.node_taints_policy == "Honor"

    match_label_keys: tuple[str, ...] = ()


# --- containers and pods -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContainerPort:
    container_port: int
    host_port: int = 0
    host_ip: str = ""
    protocol: str = "TCP"
    name: str = ""


@dataclass(frozen=True, slots=True)
class ResourceRequirements:
    requests: ResourceList = field(default_factory=lambda: EMPTY_RESOURCES)
    limits: ResourceList = field(default_factory=lambda: EMPTY_RESOURCES)


@dataclass(frozen=True, slots=True)
class Container:
    name: str
    image: str = ""
    resources: ResourceRequirements = ResourceRequirements()
    ports: tuple[ContainerPort, ...] = ()
    # "Always" makes an init container a sidecar; nothing else matters to scheduling.
    restart_policy: str | None = None
    # restartPolicyRules as written (each {action, exitCodes}); only their actions matter
    # to scheduling (RestartAllContainers needs a node that declares it can).
    restart_policy_rules: tuple[Mapping[str, Any], ...] = ()
    # In-place resize, from the pod's status: what the kubelet actuated
    # (containerStatuses[].resources.requests) and allocated (allocatedResources).
    status_requests: ResourceList | None = None
    allocated: ResourceList | None = None

    @property
    def is_sidecar(self) -> bool:
        """For an init container: whether it keeps running beside the app (a sidecar)."""
        return self.restart_policy == "Always"


@dataclass(frozen=True, slots=True)
class Volume:
    """A pod volume: its name, the kind of its source (the source's field name, e.g.
    ``persistentVolumeClaim``, ``image``, ``emptyDir``) and the source as written."""

    name: str
    kind: str
    source: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def image(self) -> str:
        """An image volume's reference ("" for other kinds)."""
        return str(self.source.get("reference") or "") if self.kind == "image" else ""

    @property
    def claim_name(self) -> str:
        """A persistentVolumeClaim volume's claim ("" for other kinds)."""
        if self.kind != "persistentVolumeClaim":
            return ""
        return str(self.source.get("claimName") or "")


# Volume kinds the scheduler's volume plugins read (VolumeBinding, VolumeZone,
# NodeVolumeLimits, VolumeRestrictions), which podfit does not model: claims, generic
# ephemeral volumes, inline CSI, and the in-tree disk types they count or check for conflicts.
SCHEDULED_VOLUME_SOURCES = frozenset(
    {
        "persistentVolumeClaim",
        "ephemeral",
        "csi",
        "gcePersistentDisk",
        "awsElasticBlockStore",
        "azureDisk",
        "azureFile",
        "cinder",
        "vsphereVolume",
        "portworxVolume",
        "iscsi",
        "rbd",
    }
)


@dataclass(frozen=True, slots=True)
class OwnerReference:
    kind: str
    name: str
    api_version: str = ""
    controller: bool = False
    uid: str = ""


@dataclass(frozen=True, slots=True)
class Pod:
    name: str
    namespace: str = DEFAULT_NAMESPACE
    uid: str = ""
    labels: Labels = field(default_factory=lambda: EMPTY_LABELS)
    annotations: Labels = field(default_factory=lambda: EMPTY_LABELS)
    creation_timestamp: datetime | None = None
    deletion_timestamp: datetime | None = None
    owner_references: tuple[OwnerReference, ...] = ()
    containers: tuple[Container, ...] = ()
    init_containers: tuple[Container, ...] = ()
    overhead: ResourceList = field(default_factory=lambda: EMPTY_RESOURCES)
    # Pod-level resources (spec.resources), used by QoS and requests when set.
    resources: ResourceRequirements | None = None
    node_selector: Labels = field(default_factory=lambda: EMPTY_LABELS)
    affinity: Affinity | None = None
    tolerations: tuple[Toleration, ...] = ()
    topology_spread_constraints: tuple[TopologySpreadConstraint, ...] = ()
    priority: int | None = None
    priority_class_name: str = ""
    preemption_policy: str = "PreemptLowerPriority"
    scheduler_name: str = DEFAULT_SCHEDULER
    scheduling_gates: tuple[str, ...] = ()
    node_name: str = ""
    nominated_node_name: str = ""
    host_network: bool = False
    active_deadline_seconds: int | None = None
    restart_policy: str = "Always"
    phase: str = ""
    start_time: datetime | None = None
    # spec.resourceClaims' names: dynamic resource allocation, which podfit does not model.
    resource_claims: tuple[str, ...] = ()
    volumes: tuple[Volume, ...] = ()
    # spec.hostUsers: None when unset (the pod shares the host's user namespace).
    host_users: bool | None = None
    # In-place resize of pod-level resources, from the pod's status (status.resources'
    # requests and status.allocatedResources), and whether a resize is Infeasible.
    status_requests: ResourceList | None = None
    allocated: ResourceList | None = None
    resize_infeasible: bool = False
    # status.conditions has PodScheduled=True: the scheduler bound it (a pod created with a
    # nodeName never went through the scheduler and has no such condition).
    scheduled: bool = False

    @property
    def key(self) -> str:
        """namespace/name, how the scheduler and kubectl name a pod."""
        return f"{self.namespace}/{self.name}"

    @property
    def is_terminal(self) -> bool:
        """Succeeded and Failed pods hold no resources, ports or affinity slots."""
        return self.phase in TERMINAL_PHASES

    @property
    def is_terminating(self) -> bool:
        return self.deletion_timestamp is not None

    @property
    def effective_priority(self) -> int:
        return self.priority if self.priority is not None else 0

    @property
    def controller(self) -> OwnerReference | None:
        for ref in self.owner_references:
            if ref.controller:
                return ref
        return None

    def all_containers(self) -> tuple[Container, ...]:
        return self.init_containers + self.containers


# --- nodes ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContainerImage:
    names: tuple[str, ...]
    size_bytes: int = 0


@dataclass(frozen=True, slots=True)
class NodeCondition:
    type: str
    status: str


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    uid: str = ""
    labels: Labels = field(default_factory=lambda: EMPTY_LABELS)
    annotations: Labels = field(default_factory=lambda: EMPTY_LABELS)
    taints: tuple[Taint, ...] = ()
    unschedulable: bool = False
    capacity: ResourceList = field(default_factory=lambda: EMPTY_RESOURCES)
    allocatable: ResourceList = field(default_factory=lambda: EMPTY_RESOURCES)
    images: tuple[ContainerImage, ...] = ()
    conditions: tuple[NodeCondition, ...] = ()
    creation_timestamp: datetime | None = None
    # status.declaredFeatures: the features the node declares (NodeDeclaredFeatures).
    declared_features: tuple[str, ...] = ()

    def condition(self, type_: str) -> str | None:
        for cond in self.conditions:
            if cond.type == type_:
                return cond.status
        return None


# --- namespace-scoped policy objects -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    labels: Labels = field(default_factory=lambda: EMPTY_LABELS)


@dataclass(frozen=True, slots=True)
class LimitRangeItem:
    type: str
    max: ResourceList = field(default_factory=lambda: EMPTY_RESOURCES)
    min: ResourceList = field(default_factory=lambda: EMPTY_RESOURCES)
    default: ResourceList = field(default_factory=lambda: EMPTY_RESOURCES)
    default_request: ResourceList = field(default_factory=lambda: EMPTY_RESOURCES)
    max_limit_request_ratio: ResourceList = field(default_factory=lambda: EMPTY_RESOURCES)


@dataclass(frozen=True, slots=True)
class LimitRange:
    name: str
    namespace: str = DEFAULT_NAMESPACE
    limits: tuple[LimitRangeItem, ...] = ()


@dataclass(frozen=True, slots=True)
class ScopedResourceSelectorRequirement:
    scope_name: str
    operator: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResourceQuota:
    name: str
    namespace: str = DEFAULT_NAMESPACE
    hard: ResourceList = field(default_factory=lambda: EMPTY_RESOURCES)
    scopes: tuple[str, ...] = ()
    scope_selector: tuple[ScopedResourceSelectorRequirement, ...] = ()
    # status.used and status.hard: what the quota controller last wrote, and what the
    # API server's quota admission compares with (empty until the controller has synced).
    used: ResourceList = field(default_factory=lambda: EMPTY_RESOURCES)
    status_hard: ResourceList = field(default_factory=lambda: EMPTY_RESOURCES)

    @property
    def has_status(self) -> bool:
        return bool(self.status_hard) or bool(self.used)


@dataclass(frozen=True, slots=True)
class PriorityClass:
    name: str
    value: int
    global_default: bool = False
    preemption_policy: str = "PreemptLowerPriority"
    description: str = ""


@dataclass(frozen=True, slots=True)
class DaemonSet:
    name: str
    namespace: str = DEFAULT_NAMESPACE
    selector: LabelSelector = field(default_factory=LabelSelector)
    template: Pod = field(default_factory=lambda: Pod(name=""))
    labels: Labels = field(default_factory=lambda: EMPTY_LABELS)


@dataclass(frozen=True, slots=True)
class PodDisruptionBudget:
    name: str
    namespace: str = DEFAULT_NAMESPACE
    selector: LabelSelector | None = None
    min_available: int | str | None = None
    max_unavailable: int | str | None = None
    disruptions_allowed: int | None = None


@dataclass(frozen=True, slots=True)
class Service:
    """Only the selector: PodTopologySpread's default constraints spread the pods a Service
    selects. ``None`` means no selector (the Service selects no pods)."""

    name: str
    namespace: str = DEFAULT_NAMESPACE
    selector: Labels | None = None


# The controllers whose selector PodTopologySpread's default constraints use for the pods they
# own, with the apiVersion an owner reference must carry to name them.
WORKLOAD_KINDS: dict[str, str] = {
    "ReplicationController": "v1",
    "ReplicaSet": "apps/v1",
    "StatefulSet": "apps/v1",
}


@dataclass(frozen=True, slots=True)
class WorkloadSelector:
    """A ReplicaSet, StatefulSet or ReplicationController, reduced to its pod selector (an RC's
    selector map is kept as matchLabels)."""

    kind: str
    name: str
    namespace: str = DEFAULT_NAMESPACE
    selector: LabelSelector | None = None


KubeObject = (
    Node
    | Pod
    | Namespace
    | LimitRange
    | ResourceQuota
    | PriorityClass
    | DaemonSet
    | PodDisruptionBudget
    | Service
    | WorkloadSelector
)


def object_label(obj: KubeObject) -> str:
    """How messages name an object: ``Pod default/web`` or ``Node node-a``."""
    kind = obj.kind if isinstance(obj, WorkloadSelector) else type(obj).__name__
    namespace = getattr(obj, "namespace", None)
    return f"{kind} {namespace}/{obj.name}" if namespace else f"{kind} {obj.name}"


_T = TypeVar("_T")


def evolve(obj: _T, **changes: Any) -> _T:
    """A copy of a model object with some fields changed: ``dataclasses.replace`` without
    its per-call work, for the hot paths of loading (the model's classes are slotted, with
    every field in ``__init__`` and no ``__post_init__``)."""
    cls = type(obj)
    new = object.__new__(cls)
    setter = object.__setattr__
    for name in cls.__slots__:  # type: ignore[attr-defined]
        setter(new, name, changes.pop(name) if name in changes else getattr(obj, name))
    if changes:
        raise TypeError(f"{cls.__name__} has no field {next(iter(changes))!r}")
    return new


def fraction_of(q: Quantity | None) -> Fraction:
    return q.value if q is not None else Fraction(0)
