"""Manifests (parsed YAML mappings) to model objects and back.

``parse_object`` turns one manifest into a model object, raising
:class:`~podfit.errors.ManifestError` with the field path on any problem.
``to_manifest`` turns a model object back into a manifest that ``kubectl apply``
accepts. API defaulting is not done here but in :mod:`podfit.defaults`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from podfit.errors import ManifestError
from podfit.fields import INT32_MAX, INT32_MIN, Field
from podfit.model import (
    NODE_SELECTOR_OPERATORS,
    SELECTOR_OPERATORS,
    TAINT_EFFECTS,
    TOLERATION_OPERATORS,
    WORKLOAD_KINDS,
    Affinity,
    Container,
    ContainerImage,
    ContainerPort,
    DaemonSet,
    KubeObject,
    LabelSelector,
    LimitRange,
    LimitRangeItem,
    Namespace,
    Node,
    NodeAffinity,
    NodeCondition,
    NodeSelector,
    NodeSelectorTerm,
    OwnerReference,
    Pod,
    PodAffinity,
    PodAffinityTerm,
    PodDisruptionBudget,
    PreferredSchedulingTerm,
    PriorityClass,
    Requirement,
    ResourceList,
    ResourceQuota,
    ResourceRequirements,
    ScopedResourceSelectorRequirement,
    Service,
    Taint,
    Toleration,
    TopologySpreadConstraint,
    Volume,
    WeightedPodAffinityTerm,
    WorkloadSelector,
    frozen_map,
    frozen_resources,
)
from podfit.validation import qualified_name_problems

# kind -> accepted apiVersions
SCHEDULING_KINDS: dict[str, tuple[str, ...]] = {
    "Node": ("v1",),
    "Pod": ("v1",),
    "Namespace": ("v1",),
    "LimitRange": ("v1",),
    "ResourceQuota": ("v1",),
    "PriorityClass": (
        "scheduling.k8s.io/v1",
        "scheduling.k8s.io/v1beta1",
        "scheduling.k8s.io/v1alpha1",
    ),
    "DaemonSet": ("apps/v1",),
    "PodDisruptionBudget": ("policy/v1", "policy/v1beta1"),
    # Selectors only: PodTopologySpread's default constraints spread what they select.
    "Service": ("v1",),
    "ReplicationController": ("v1",),
    "ReplicaSet": ("apps/v1",),
    "StatefulSet": ("apps/v1",),
}

# Kinds of the core group that do not affect scheduling: skipped with a notice.
CORE_V1_OTHER_KINDS = frozenset(
    {
        "Binding",
        "ComponentStatus",
        "ConfigMap",
        "Endpoints",
        "Event",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "PodTemplate",
        "Secret",
        "ServiceAccount",
    }
)

PROTOCOLS = ("TCP", "UDP", "SCTP")


# --- selectors -----------------------------------------------------------------------------


def parse_requirement(f: Field, operators: tuple[str, ...], *, what: str = "key") -> Requirement:
    key = f.at(what).text(required=True)
    operator = f.at("operator").choice(operators)
    values = f.at("values").str_list()
    if operator in ("In", "NotIn") and not values:
        raise f.at("values").error(f"must be specified when operator is {operator!r}")
    if operator in ("Exists", "DoesNotExist") and values:
        raise f.at("values").error(f"may not be specified when operator is {operator!r}")
    if operator in ("Gt", "Lt"):
        if len(values) != 1:
            raise f.at("values").error(f"must have exactly one element for operator {operator!r}")
        try:
            int(values[0], 10)
        except ValueError:
            raise (
                f.at("values")
                .items()[0]
                .error(f"for operator {operator!r} the value must be an integer, got {values[0]!r}")
            ) from None
    return Requirement(key=key, operator=operator, values=values)


def parse_label_selector(f: Field) -> LabelSelector | None:
    """A metav1.LabelSelector; ``None`` when the field is absent (which differs from ``{}``)."""
    if f.value is None:
        return None
    f.mapping()
    expressions = tuple(
        parse_requirement(item, SELECTOR_OPERATORS) for item in f.at("matchExpressions").items()
    )
    for item, req in zip(f.at("matchExpressions").items(), expressions, strict=True):
        for problem in qualified_name_problems(req.key):
            raise item.at("key").error(f"invalid label key {req.key!r}: {problem}")
    return LabelSelector(
        match_labels=frozen_map(f.at("matchLabels").labels()), match_expressions=expressions
    )


def parse_node_selector_term(f: Field) -> NodeSelectorTerm:
    fields = tuple(
        parse_requirement(item, NODE_SELECTOR_OPERATORS) for item in f.at("matchFields").items()
    )
    for item, req in zip(f.at("matchFields").items(), fields, strict=True):
        if req.key != "metadata.name":
            raise item.at("key").error(
                f"unsupported field {req.key!r} (only 'metadata.name' is supported)"
            )
        if req.operator not in ("In", "NotIn"):
            raise item.at("operator").error(
                f"operator {req.operator!r} is not supported for matchFields (use In or NotIn)"
            )
        if len(req.values) != 1:
            raise item.at("values").error("must have exactly one element for matchFields")
    return NodeSelectorTerm(
        match_expressions=tuple(
            parse_requirement(item, NODE_SELECTOR_OPERATORS)
            for item in f.at("matchExpressions").items()
        ),
        match_fields=fields,
    )


def parse_pod_affinity_term(f: Field) -> PodAffinityTerm:
    return PodAffinityTerm(
        topology_key=f.at("topologyKey").text(required=True),
        label_selector=parse_label_selector(f.at("labelSelector")),
        namespaces=f.at("namespaces").str_list(),
        namespace_selector=parse_label_selector(f.at("namespaceSelector")),
        match_label_keys=f.at("matchLabelKeys").str_list(),
        mismatch_label_keys=f.at("mismatchLabelKeys").str_list(),
    )


def parse_weight(f: Field) -> int:
    weight = f.integer()
    if not 1 <= weight <= 100:
        raise f.error(f"must be in the range 1-100, got {weight}")
    return weight


def parse_pod_affinity(f: Field) -> PodAffinity | None:
    if f.value is None:
        return None
    return PodAffinity(
        required=tuple(
            parse_pod_affinity_term(item)
            for item in f.at("requiredDuringSchedulingIgnoredDuringExecution").items()
        ),
        preferred=tuple(
            WeightedPodAffinityTerm(
                weight=parse_weight(item.at("weight")),
                term=parse_pod_affinity_term(item.at("podAffinityTerm")),
            )
            for item in f.at("preferredDuringSchedulingIgnoredDuringExecution").items()
        ),
    )


def parse_affinity(f: Field) -> Affinity | None:
    if f.value is None:
        return None
    node_affinity = None
    na = f.at("nodeAffinity")
    if na.value is not None:
        required = None
        req = na.at("requiredDuringSchedulingIgnoredDuringExecution")
        if req.value is not None:
            required = NodeSelector(
                terms=tuple(
                    parse_node_selector_term(t) for t in req.at("nodeSelectorTerms").items()
                )
            )
        node_affinity = NodeAffinity(
            required=required,
            preferred=tuple(
                PreferredSchedulingTerm(
                    weight=parse_weight(item.at("weight")),
                    preference=parse_node_selector_term(item.at("preference")),
                )
                for item in na.at("preferredDuringSchedulingIgnoredDuringExecution").items()
            ),
        )
    return Affinity(
        node_affinity=node_affinity,
        pod_affinity=parse_pod_affinity(f.at("podAffinity")),
        pod_anti_affinity=parse_pod_affinity(f.at("podAntiAffinity")),
    )


# --- pods ----------------------------------------------------------------------------------


def parse_toleration(f: Field) -> Toleration:
    # No default: an omitted operator means Equal and stays omitted (as the API stores it).
    operator = f.at("operator").choice(TOLERATION_OPERATORS, default="")
    key = f.at("key").text()
    value = f.at("value").text()
    if operator == "Exists" and value:
        raise f.at("value").error("must be empty when operator is 'Exists'")
    if not key and operator != "Exists":
        raise f.at("operator").error("must be 'Exists' when key is empty")
    effect = f.at("effect").choice(("", *TAINT_EFFECTS), default="")
    seconds = f.at("tolerationSeconds").optional_integer()
    if seconds is not None and effect != "NoExecute":
        raise f.at("effect").error("must be 'NoExecute' when tolerationSeconds is set")
    return Toleration(
        key=key, operator=operator, value=value, effect=effect, toleration_seconds=seconds
    )


def parse_topology_spread(f: Field) -> TopologySpreadConstraint:
    return TopologySpreadConstraint(
        max_skew=f.at("maxSkew").integer(minimum=1),
        topology_key=f.at("topologyKey").text(required=True),
        when_unsatisfiable=f.at("whenUnsatisfiable").choice(("DoNotSchedule", "ScheduleAnyway")),
        label_selector=parse_label_selector(f.at("labelSelector")),
        min_domains=f.at("minDomains").optional_integer(minimum=1),
        node_affinity_policy=f.at("nodeAffinityPolicy").choice(("Honor", "Ignore"), "") or None,
        node_taints_policy=f.at("nodeTaintsPolicy").choice(("Honor", "Ignore"), "") or None,
        match_label_keys=f.at("matchLabelKeys").str_list(),
    )


def parse_resources(f: Field) -> ResourceRequirements:
    return ResourceRequirements(
        requests=frozen_resources(f.at("requests").resources()),
        limits=frozen_resources(f.at("limits").resources()),
    )


def parse_container(f: Field, *, init: bool) -> Container:
    ports = []
    for item in f.at("ports").items():
        container_port = item.at("containerPort").integer()
        host_port = item.at("hostPort").integer(0)
        for name, port in (("containerPort", container_port), ("hostPort", host_port)):
            if not (1 <= port <= 65535) and not (name == "hostPort" and port == 0):
                raise item.at(name).error(f"must be between 1 and 65535, inclusive, got {port}")
        ports.append(
            ContainerPort(
                container_port=container_port,
                host_port=host_port,
                host_ip=item.at("hostIP").text(),
                protocol=item.at("protocol").choice(PROTOCOLS, default="TCP"),
                name=item.at("name").text(),
            )
        )
    # Any container may set restartPolicy (with restartPolicyRules, v1.35+); only an init
    # container's Always matters to scheduling (it makes a sidecar).
    restart = f.at("restartPolicy")
    rules = []
    for rule in f.at("restartPolicyRules").items():
        rule.at("action").text(required=True)
        rules.append(MappingProxyType(dict(rule.mapping())))
    return Container(
        name=f.at("name").text(required=True),
        image=f.at("image").text(),
        resources=parse_resources(f.at("resources")),
        ports=tuple(ports),
        restart_policy=(
            restart.choice(("Always", "OnFailure", "Never")) if restart.value is not None else None
        ),
        restart_policy_rules=tuple(rules),
    )


def parse_volume(f: Field) -> Volume:
    """A pod volume: its name and its one source (kept as written)."""
    name = f.at("name").text(required=True)
    kinds = [key for key in f.mapping() if key != "name"]
    if len(kinds) != 1:
        raise f.error(
            "must specify exactly one volume type"
            + (f", got {', '.join(sorted(kinds))}" if kinds else "")
        )
    source = f.at(kinds[0]).value
    if source is not None and not isinstance(source, Mapping):
        raise f.at(kinds[0]).error(f"expected a mapping, got {type(source).__name__}")
    return Volume(name=name, kind=kinds[0], source=MappingProxyType(dict(source or {})))


def _container_statuses(status: Field, key: str) -> dict[str, Field]:
    """``status.containerStatuses`` (or ``initContainerStatuses``) by container name."""
    return {s.at("name").text(required=True): s for s in status.at(key).items()}


def _with_status(c: Container, found: Field | None) -> Container:
    """The container with the resources its status reports (in-place resize)."""
    if found is None or (not found.has("resources") and not found.has("allocatedResources")):
        return c
    actuated = found.at("resources").at("requests")
    return replace(
        c,
        status_requests=frozen_resources(actuated.resources()) if found.has("resources") else None,
        allocated=(
            frozen_resources(found.at("allocatedResources").resources())
            if found.has("allocatedResources")
            else None
        ),
    )


def _resize_infeasible(status: Field) -> bool:
    for c in status.at("conditions").items():
        if c.at("type").text() == "PodResizePending":
            return c.at("reason").text() == "Infeasible"
    return False


def parse_owner_reference(f: Field) -> OwnerReference:
    return OwnerReference(
        kind=f.at("kind").text(required=True),
        name=f.at("name").text(required=True),
        api_version=f.at("apiVersion").text(),
        controller=f.at("controller").boolean(),
        uid=f.at("uid").text(),
    )


def parse_pod_spec(meta: Field, spec: Field, status: Field, *, template: bool = False) -> Pod:
    statuses = _container_statuses(status, "containerStatuses")
    containers = tuple(
        _with_status(parse_container(c, init=False), statuses.get(c.at("name").text()))
        for c in spec.at("containers").items()
    )
    if not containers:
        raise spec.at("containers").error("must have at least one container")
    init_statuses = _container_statuses(status, "initContainerStatuses")
    init_containers = tuple(
        _with_status(parse_container(c, init=True), init_statuses.get(c.at("name").text()))
        for c in spec.at("initContainers").items()
    )
    names = [c.name for c in (*init_containers, *containers)]
    for name in names:
        if names.count(name) > 1:
            raise spec.error(f"container name {name!r} is used more than once")
    pod_resources = spec.at("resources")
    return Pod(
        name=meta.at("name").text(required=not template),
        namespace=meta.at("namespace").text(),
        uid=meta.at("uid").text(),
        labels=frozen_map(meta.at("labels").labels()),
        annotations=frozen_map(meta.at("annotations").str_map()),
        creation_timestamp=meta.at("creationTimestamp").timestamp(),
        deletion_timestamp=meta.at("deletionTimestamp").timestamp(),
        owner_references=tuple(
            parse_owner_reference(r) for r in meta.at("ownerReferences").items()
        ),
        containers=containers,
        init_containers=init_containers,
        overhead=frozen_resources(spec.at("overhead").resources()),
        resources=parse_resources(pod_resources) if pod_resources.value is not None else None,
        node_selector=frozen_map(spec.at("nodeSelector").str_map()),
        affinity=parse_affinity(spec.at("affinity")),
        tolerations=tuple(parse_toleration(t) for t in spec.at("tolerations").items()),
        topology_spread_constraints=tuple(
            parse_topology_spread(t) for t in spec.at("topologySpreadConstraints").items()
        ),
        priority=spec.at("priority").optional_integer(minimum=INT32_MIN, maximum=INT32_MAX),
        priority_class_name=spec.at("priorityClassName").text(),
        # Left empty when absent: the Priority admission step fills it from the class.
        preemption_policy=spec.at("preemptionPolicy").choice(
            ("PreemptLowerPriority", "Never"), default=""
        ),
        scheduler_name=spec.at("schedulerName").text(),
        scheduling_gates=tuple(
            g.at("name").text(required=True) for g in spec.at("schedulingGates").items()
        ),
        node_name=spec.at("nodeName").text(),
        nominated_node_name=status.at("nominatedNodeName").text(),
        host_network=spec.at("hostNetwork").boolean(),
        active_deadline_seconds=spec.at("activeDeadlineSeconds").optional_integer(minimum=1),
        restart_policy=spec.at("restartPolicy").choice(
            ("Always", "OnFailure", "Never"), default="Always"
        ),
        phase=status.at("phase").choice(
            ("Pending", "Running", "Succeeded", "Failed", "Unknown"), default=""
        ),
        start_time=status.at("startTime").timestamp(),
        resource_claims=tuple(
            c.at("name").text(required=True) for c in spec.at("resourceClaims").items()
        ),
        volumes=tuple(parse_volume(v) for v in spec.at("volumes").items()),
        host_users=spec.at("hostUsers").boolean() if spec.has("hostUsers") else None,
        status_requests=(
            frozen_resources(status.at("resources").at("requests").resources())
            if status.has("resources")
            else None
        ),
        allocated=(
            frozen_resources(status.at("allocatedResources").resources())
            if status.has("allocatedResources")
            else None
        ),
        resize_infeasible=_resize_infeasible(status),
        scheduled=any(
            c.value.get("type") == "PodScheduled" and c.value.get("status") == "True"
            for c in status.at("conditions").items()
            if isinstance(c.value, dict)
        ),
    )


def parse_pod(f: Field) -> Pod:
    return parse_pod_spec(f.at("metadata"), f.at("spec"), f.at("status"))


# --- nodes and the rest --------------------------------------------------------------------


def parse_taint(f: Field) -> Taint:
    key = f.at("key").text(required=True)
    for problem in qualified_name_problems(key):
        raise f.at("key").error(f"invalid taint key {key!r}: {problem}")
    return Taint(
        key=key,
        value=f.at("value").text(),
        effect=f.at("effect").choice(TAINT_EFFECTS),
        time_added=f.at("timeAdded").timestamp(),
    )


def parse_node(f: Field) -> Node:
    meta, spec, status = f.at("metadata"), f.at("spec"), f.at("status")
    capacity = status.at("capacity").resources()
    allocatable = status.at("allocatable").resources() if status.has("allocatable") else capacity
    return Node(
        name=meta.at("name").text(required=True),
        uid=meta.at("uid").text(),
        labels=frozen_map(meta.at("labels").labels()),
        annotations=frozen_map(meta.at("annotations").str_map()),
        creation_timestamp=meta.at("creationTimestamp").timestamp(),
        taints=tuple(parse_taint(t) for t in spec.at("taints").items()),
        unschedulable=spec.at("unschedulable").boolean(),
        capacity=frozen_resources(capacity),
        allocatable=frozen_resources(allocatable),
        images=tuple(
            ContainerImage(
                names=img.at("names").str_list(), size_bytes=img.at("sizeBytes").integer(0)
            )
            for img in status.at("images").items()
        ),
        conditions=tuple(
            NodeCondition(
                type=c.at("type").text(required=True),
                status=c.at("status").choice(("True", "False", "Unknown")),
            )
            for c in status.at("conditions").items()
        ),
        declared_features=status.at("declaredFeatures").str_list(),
    )


def parse_namespace(f: Field) -> Namespace:
    meta = f.at("metadata")
    return Namespace(
        name=meta.at("name").text(required=True), labels=frozen_map(meta.at("labels").labels())
    )


def parse_limit_range(f: Field) -> LimitRange:
    meta = f.at("metadata")
    items = []
    for item in f.at("spec").at("limits").items():
        items.append(
            LimitRangeItem(
                type=item.at("type").choice(("Container", "Pod", "PersistentVolumeClaim")),
                max=frozen_resources(item.at("max").resources()),
                min=frozen_resources(item.at("min").resources()),
                default=frozen_resources(item.at("default").resources()),
                default_request=frozen_resources(item.at("defaultRequest").resources()),
                max_limit_request_ratio=frozen_resources(
                    item.at("maxLimitRequestRatio").resources()
                ),
            )
        )
    return LimitRange(
        name=meta.at("name").text(required=True),
        namespace=meta.at("namespace").text(),
        limits=tuple(items),
    )


QUOTA_SCOPES = (
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
)


def parse_resource_quota(f: Field) -> ResourceQuota:
    meta, spec = f.at("metadata"), f.at("spec")
    return ResourceQuota(
        name=meta.at("name").text(required=True),
        namespace=meta.at("namespace").text(),
        hard=frozen_resources(spec.at("hard").resources()),
        scopes=tuple(s.choice(QUOTA_SCOPES) for s in spec.at("scopes").items()),
        scope_selector=tuple(
            ScopedResourceSelectorRequirement(
                scope_name=e.at("scopeName").choice(QUOTA_SCOPES),
                operator=e.at("operator").choice(SELECTOR_OPERATORS),
                values=e.at("values").str_list(),
            )
            for e in spec.at("scopeSelector").at("matchExpressions").items()
        ),
        used=frozen_resources(f.at("status").at("used").resources()),
        status_hard=frozen_resources(f.at("status").at("hard").resources()),
    )


def parse_priority_class(f: Field) -> PriorityClass:
    value = f.at("value").integer()
    if not -2147483648 <= value <= 1000000000 and not f.at("metadata").at("name").text().startswith(
        "system-"
    ):
        raise f.at("value").error(
            f"must be at most 1000000000 for user-defined classes, got {value}"
        )
    return PriorityClass(
        name=f.at("metadata").at("name").text(required=True),
        value=value,
        global_default=f.at("globalDefault").boolean(),
        preemption_policy=f.at("preemptionPolicy").choice(
            ("PreemptLowerPriority", "Never"), default="PreemptLowerPriority"
        ),
        description=f.at("description").text(),
    )


def parse_daemon_set(f: Field) -> DaemonSet:
    meta, spec = f.at("metadata"), f.at("spec")
    template = spec.at("template")
    selector = parse_label_selector(spec.at("selector"))
    if selector is None:
        raise spec.at("selector").error("is required")
    return DaemonSet(
        name=meta.at("name").text(required=True),
        namespace=meta.at("namespace").text(),
        labels=frozen_map(meta.at("labels").labels()),
        selector=selector,
        template=parse_pod_spec(
            template.at("metadata"), template.at("spec"), Field(None, "status"), template=True
        ),
    )


def _int_or_percent(f: Field) -> int | str | None:
    if f.value is None:
        return None
    if isinstance(f.value, str):
        if not (f.value.endswith("%") and f.value[:-1].isdigit()):
            raise f.error(f"expected an integer or a percentage like '50%', got {f.value!r}")
        return f.value
    return f.integer(minimum=0)


def parse_pdb(f: Field) -> PodDisruptionBudget:
    meta, spec = f.at("metadata"), f.at("spec")
    return PodDisruptionBudget(
        name=meta.at("name").text(required=True),
        namespace=meta.at("namespace").text(),
        selector=parse_label_selector(spec.at("selector")),
        min_available=_int_or_percent(spec.at("minAvailable")),
        max_unavailable=_int_or_percent(spec.at("maxUnavailable")),
        disruptions_allowed=f.at("status").at("disruptionsAllowed").optional_integer(minimum=0),
    )


def parse_service(f: Field) -> Service:
    meta = f.at("metadata")
    selector = f.at("spec").at("selector")
    return Service(
        name=meta.at("name").text(required=True),
        namespace=meta.at("namespace").text(),
        selector=frozen_map(selector.labels()) if selector.value is not None else None,
    )


def parse_workload(f: Field) -> WorkloadSelector:
    """ReplicaSet/StatefulSet (spec.selector is a LabelSelector) or ReplicationController
    (spec.selector is a map; when empty the API server defaults it to the template's labels)."""
    meta, spec = f.at("metadata"), f.at("spec")
    kind = f.at("kind").text(required=True)
    selector: LabelSelector | None
    if kind == "ReplicationController":
        labels = (
            spec.at("selector").labels() or spec.at("template").at("metadata").at("labels").labels()
        )
        selector = LabelSelector(match_labels=frozen_map(labels))
    else:
        selector = parse_label_selector(spec.at("selector"))
    return WorkloadSelector(
        kind=kind,
        name=meta.at("name").text(required=True),
        namespace=meta.at("namespace").text(),
        selector=selector,
    )


NAMESPACED_KINDS = frozenset(SCHEDULING_KINDS) - {"Node", "Namespace", "PriorityClass"}

PARSERS: dict[str, Callable[[Field], KubeObject]] = {
    "Node": parse_node,
    "Pod": parse_pod,
    "Namespace": parse_namespace,
    "LimitRange": parse_limit_range,
    "ResourceQuota": parse_resource_quota,
    "PriorityClass": parse_priority_class,
    "DaemonSet": parse_daemon_set,
    "PodDisruptionBudget": parse_pdb,
    "Service": parse_service,
    "ReplicationController": parse_workload,
    "ReplicaSet": parse_workload,
    "StatefulSet": parse_workload,
}


def describe(manifest: Mapping[str, Any]) -> str:
    """``Pod default/web`` from a raw manifest, for error messages (best effort)."""
    raw_kind = manifest.get("kind")
    kind = raw_kind if isinstance(raw_kind, str) else "object"
    raw_meta = manifest.get("metadata")
    meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    raw_name = meta.get("name")
    name = raw_name if isinstance(raw_name, str) else "?"
    namespace = meta.get("namespace")
    if kind in NAMESPACED_KINDS:
        namespace = namespace if isinstance(namespace, str) and namespace else "default"
        return f"{kind} {namespace}/{name}"
    return f"{kind} {name}"


def parse_object(manifest: object) -> KubeObject | None:
    """One manifest to a model object; ``None`` for kinds that do not affect scheduling."""
    f = Field(manifest)
    if not isinstance(manifest, dict):
        raise ManifestError(
            f"expected a Kubernetes object (a mapping), got {type(manifest).__name__}"
        )
    kind = f.at("kind").text(required=True)
    api_version = f.at("apiVersion").text(required=True)
    accepted = SCHEDULING_KINDS.get(kind)
    if accepted is None:
        if api_version == "v1" and kind not in CORE_V1_OTHER_KINDS:
            raise f.at("kind").error(f"unknown kind {kind!r} for apiVersion v1")
        return None
    if api_version not in accepted:
        raise f.at("apiVersion").error(
            f"unknown apiVersion {api_version!r} for kind {kind} (expected {' or '.join(accepted)})"
        )
    return PARSERS[kind](f)


# --- back to manifests ---------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def _resources(rl: ResourceList) -> dict[str, str]:
    return {k: str(q) for k, q in rl.items()}


class _Labels(dict[str, str]):
    """A map of data (labels, annotations, nodeSelector, matchLabels): written as it is,
    an empty value included (``node-role.kubernetes.io/control-plane: ""`` is a label)."""


class _Present(dict[str, Any]):
    """An object whose presence means something even when it is empty: a label selector
    ``{}`` selects everything, a preferred term's ``preference: {}`` matches every node."""


def _prune(value: Any) -> Any:
    """Drop empty and unset fields so manifests stay short, as the API server prints them:
    never a data map's entries (:class:`_Labels`), never an object whose presence means
    something (:class:`_Present`), never a list's items."""
    if isinstance(value, _Labels):
        return dict(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            pruned = _prune(item)
            if isinstance(item, _Present) or pruned not in (None, "", [], {}, ()):
                out[key] = pruned
        return out
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def requirement_manifest(r: Requirement, key_name: str = "key") -> dict[str, Any]:
    return {key_name: r.key, "operator": r.operator, "values": list(r.values)}


def label_selector_manifest(s: LabelSelector | None) -> dict[str, Any] | None:
    if s is None:
        return None
    # An empty selector must stay `{}` (match everything), unlike an absent one.
    out: dict[str, Any] = _Present()
    if s.match_labels:
        out["matchLabels"] = _Labels(s.match_labels)
    if s.match_expressions:
        out["matchExpressions"] = [requirement_manifest(r) for r in s.match_expressions]
    return out


def _term_manifest(t: NodeSelectorTerm) -> dict[str, Any]:
    # An empty term stays `{}`: as a preference it matches every node, as a required term
    # none.
    return _Present(
        matchExpressions=[requirement_manifest(r) for r in t.match_expressions],
        matchFields=[requirement_manifest(r) for r in t.match_fields],
    )


def _pod_term_manifest(t: PodAffinityTerm) -> dict[str, Any]:
    out: dict[str, Any] = {"topologyKey": t.topology_key}
    if t.label_selector is not None:
        out["labelSelector"] = label_selector_manifest(t.label_selector)
    if t.namespace_selector is not None:
        out["namespaceSelector"] = label_selector_manifest(t.namespace_selector)
    out["namespaces"] = list(t.namespaces)
    out["matchLabelKeys"] = list(t.match_label_keys)
    out["mismatchLabelKeys"] = list(t.mismatch_label_keys)
    return out


def _pod_affinity_manifest(a: PodAffinity | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {
        "requiredDuringSchedulingIgnoredDuringExecution": [
            _pod_term_manifest(t) for t in a.required
        ],
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": w.weight, "podAffinityTerm": _pod_term_manifest(w.term)} for w in a.preferred
        ],
    }


def _affinity_manifest(a: Affinity | None) -> dict[str, Any] | None:
    if a is None:
        return None
    out: dict[str, Any] = {}
    na = a.node_affinity
    if na is not None:
        node: dict[str, Any] = {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": p.weight, "preference": _term_manifest(p.preference)}
                for p in na.preferred
            ]
        }
        if na.required is not None:
            # Keep an empty term list visible: it means "matches no node".
            node["requiredDuringSchedulingIgnoredDuringExecution"] = _Present(
                nodeSelectorTerms=[_term_manifest(t) for t in na.required.terms]
            )
        out["nodeAffinity"] = node
    out["podAffinity"] = _pod_affinity_manifest(a.pod_affinity)
    out["podAntiAffinity"] = _pod_affinity_manifest(a.pod_anti_affinity)
    return out


def _container_status(c: Container) -> dict[str, Any] | None:
    """What a container's status says of its resources (in-place resize), or None."""
    if c.status_requests is None and c.allocated is None:
        return None
    return {
        "name": c.name,
        # Present even when empty: a status that reports resources makes the node hold them.
        "resources": (
            _Present(requests=_resources(c.status_requests))
            if c.status_requests is not None
            else None
        ),
        "allocatedResources": _resources(c.allocated) if c.allocated is not None else None,
    }


def _pod_status_manifest(p: Pod) -> dict[str, Any]:
    status: dict[str, Any] = {
        "phase": p.phase,
        "nominatedNodeName": p.nominated_node_name,
        "startTime": _time(p.start_time),
        "containerStatuses": [s for c in p.containers if (s := _container_status(c))],
        "initContainerStatuses": [s for c in p.init_containers if (s := _container_status(c))],
    }
    if p.status_requests is not None:
        status["resources"] = _Present(requests=_resources(p.status_requests))
    if p.allocated is not None:
        status["allocatedResources"] = _resources(p.allocated)
    if p.resize_infeasible:
        status["conditions"] = [
            {"type": "PodResizePending", "status": "True", "reason": "Infeasible"}
        ]
    return status


def _container_manifest(c: Container) -> dict[str, Any]:
    return {
        "name": c.name,
        "image": c.image or "registry.k8s.io/pause:3.10",
        "restartPolicy": c.restart_policy,
        "restartPolicyRules": [dict(r) for r in c.restart_policy_rules],
        "resources": {
            "requests": _resources(c.resources.requests),
            "limits": _resources(c.resources.limits),
        },
        "ports": [
            {
                "name": p.name,
                "containerPort": p.container_port,
                "hostPort": p.host_port or None,
                "hostIP": p.host_ip,
                "protocol": p.protocol,
            }
            for p in c.ports
        ],
    }


def _pod_spec_manifest(p: Pod) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "schedulerName": p.scheduler_name,
        "nodeName": p.node_name,
        "priorityClassName": p.priority_class_name,
        "priority": p.priority,
        "preemptionPolicy": p.preemption_policy,
        "hostNetwork": p.host_network or None,
        "hostUsers": p.host_users,
        "restartPolicy": p.restart_policy,
        "activeDeadlineSeconds": p.active_deadline_seconds,
        "nodeSelector": _Labels(p.node_selector),
        "affinity": _affinity_manifest(p.affinity),
        "tolerations": [
            {
                "key": t.key,
                "operator": t.operator,
                "value": t.value,
                "effect": t.effect,
                "tolerationSeconds": t.toleration_seconds,
            }
            for t in p.tolerations
        ],
        "topologySpreadConstraints": [
            {
                "maxSkew": c.max_skew,
                "topologyKey": c.topology_key,
                "whenUnsatisfiable": c.when_unsatisfiable,
                "labelSelector": label_selector_manifest(c.label_selector),
                "minDomains": c.min_domains,
                "nodeAffinityPolicy": c.node_affinity_policy,
                "nodeTaintsPolicy": c.node_taints_policy,
                "matchLabelKeys": list(c.match_label_keys),
            }
            for c in p.topology_spread_constraints
        ],
        "schedulingGates": [{"name": g} for g in p.scheduling_gates],
        # Only the names: podfit does not read where a claim comes from.
        "resourceClaims": [{"name": c} for c in p.resource_claims],
        "volumes": [{"name": v.name, v.kind: _Present(v.source)} for v in p.volumes],
        "overhead": _resources(p.overhead),
        "initContainers": [_container_manifest(c) for c in p.init_containers],
        "containers": [_container_manifest(c) for c in p.containers],
    }
    if p.resources is not None:
        spec["resources"] = {
            "requests": _resources(p.resources.requests),
            "limits": _resources(p.resources.limits),
        }
    return spec


def _meta(name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if namespace is not None:
        out["namespace"] = namespace
    out.update(extra)
    return out


def _pod_meta(p: Pod) -> dict[str, Any]:
    return _meta(
        p.name,
        p.namespace,
        uid=p.uid,
        labels=_Labels(p.labels),
        annotations=_Labels(p.annotations),
        creationTimestamp=_time(p.creation_timestamp),
        deletionTimestamp=_time(p.deletion_timestamp),
        ownerReferences=[
            {
                "apiVersion": r.api_version or "apps/v1",
                "kind": r.kind,
                "name": r.name,
                "uid": r.uid or f"{r.kind.lower()}-{r.name}",
                "controller": r.controller or None,
            }
            for r in p.owner_references
        ],
    )


def to_manifest(obj: KubeObject) -> dict[str, Any]:
    """A manifest ``kubectl apply`` accepts (status fields kept where scheduling reads them)."""
    raw: dict[str, Any]
    if isinstance(obj, Pod):
        raw = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": _pod_meta(obj),
            "spec": _pod_spec_manifest(obj),
            "status": _pod_status_manifest(obj),
        }
    elif isinstance(obj, Node):
        raw = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": _meta(
                obj.name,
                labels=_Labels(obj.labels),
                annotations=_Labels(obj.annotations),
                creationTimestamp=_time(obj.creation_timestamp),
            ),
            "spec": {
                "unschedulable": obj.unschedulable or None,
                "taints": [
                    {
                        "key": t.key,
                        "value": t.value,
                        "effect": t.effect,
                        "timeAdded": _time(t.time_added),
                    }
                    for t in obj.taints
                ],
            },
            "status": {
                "capacity": _resources(obj.capacity),
                "allocatable": _resources(obj.allocatable),
                "images": [{"names": list(i.names), "sizeBytes": i.size_bytes} for i in obj.images],
                "conditions": [{"type": c.type, "status": c.status} for c in obj.conditions],
                "declaredFeatures": list(obj.declared_features),
            },
        }
    elif isinstance(obj, Namespace):
        raw = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": _meta(obj.name, labels=_Labels(obj.labels)),
        }
    elif isinstance(obj, LimitRange):
        raw = {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": _meta(obj.name, obj.namespace),
            "spec": {
                "limits": [
                    {
                        "type": i.type,
                        "max": _resources(i.max),
                        "min": _resources(i.min),
                        "default": _resources(i.default),
                        "defaultRequest": _resources(i.default_request),
                        "maxLimitRequestRatio": _resources(i.max_limit_request_ratio),
                    }
                    for i in obj.limits
                ]
            },
        }
    elif isinstance(obj, ResourceQuota):
        raw = {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": _meta(obj.name, obj.namespace),
            "spec": {
                "hard": _resources(obj.hard),
                "scopes": list(obj.scopes),
                "scopeSelector": {
                    "matchExpressions": [
                        {
                            "scopeName": s.scope_name,
                            "operator": s.operator,
                            "values": list(s.values),
                        }
                        for s in obj.scope_selector
                    ]
                },
            },
        }
        if obj.has_status:
            raw["status"] = {"hard": _resources(obj.status_hard), "used": _resources(obj.used)}
    elif isinstance(obj, PriorityClass):
        raw = {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": _meta(obj.name),
            "value": obj.value,
            "globalDefault": obj.global_default or None,
            "preemptionPolicy": obj.preemption_policy,
            "description": obj.description,
        }
    elif isinstance(obj, DaemonSet):
        raw = {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": _meta(obj.name, obj.namespace, labels=_Labels(obj.labels)),
            "spec": {
                "selector": label_selector_manifest(obj.selector),
                "template": {
                    "metadata": {"labels": _Labels(obj.template.labels)},
                    "spec": _pod_spec_manifest(obj.template),
                },
            },
        }
    elif isinstance(obj, Service):
        raw = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": _meta(obj.name, obj.namespace),
            "spec": {"selector": _Labels(obj.selector) if obj.selector is not None else None},
        }
    elif isinstance(obj, WorkloadSelector):
        selector: Any = label_selector_manifest(obj.selector)
        if obj.kind == "ReplicationController":
            selector = _Labels(obj.selector.match_labels) if obj.selector is not None else None
        raw = {
            "apiVersion": WORKLOAD_KINDS[obj.kind],
            "kind": obj.kind,
            "metadata": _meta(obj.name, obj.namespace),
            "spec": {"selector": selector},
        }
    else:
        raw = {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": _meta(obj.name, obj.namespace),
            "spec": {
                "selector": label_selector_manifest(obj.selector),
                "minAvailable": obj.min_available,
                "maxUnavailable": obj.max_unavailable,
            },
        }
    pruned: dict[str, Any] = _prune(raw)
    return pruned
