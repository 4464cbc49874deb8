"""Pods and nodes of the common shapes, built from their manifests without a field cursor.

A 50,000-pod dump is mostly pods and nodes, and almost all of them are plain: the strict
parser (:func:`podfit.manifest.parse_object`) walks them with a :class:`~podfit.fields.Field`
per value so any error can name its field, and that is most of the time spent. :func:`build`
gives the same object, defaulted as :func:`podfit.defaults.default_object` would, for a
Pod or a Node whose every value it reads is of the expected type and plainly valid; for
anything else (another kind, a value it does not vouch for, a field it leaves to the strict
parser) it raises :class:`~podfit.fastload.Doubt`, and the caller parses that manifest the
strict way, which gives the object or the error located at its field. Rarer sub-structures
(affinity, topology spread) go through the strict parser's own functions, so their
validation is the strict parser's. ``tests/test_fast_load.py`` holds the two equal on
generated and hostile manifests.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import msgspec

from podfit import manifest as strict
from podfit.defaults import default_container
from podfit.errors import ManifestError
from podfit.fastload import Doubt
from podfit.fields import INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, Field
from podfit.model import (
    DEFAULT_NAMESPACE,
    DEFAULT_SCHEDULER,
    EMPTY_LABELS,
    EMPTY_RESOURCES,
    TAINT_EFFECTS,
    Container,
    ContainerImage,
    KubeObject,
    Labels,
    Node,
    NodeCondition,
    OwnerReference,
    Pod,
    ResourceList,
    ResourceRequirements,
    Toleration,
    TopologySpreadConstraint,
    Volume,
    evolve,
)
from podfit.quantity import QuantityError, quantity_from_yaml
from podfit.validation import (
    TOTAL_ANNOTATION_SIZE_MAX,
    dns1123_label_problems,
    dns1123_subdomain_problems,
    label_value_problems,
    qualified_name_problems,
    release,
)

__all__ = ["build"]

# Names the fast path takes as they are: DNS-1123 subdomains and labels, the forms the API
# server asks of object, namespace and container names. Anything else goes the strict way.
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_EFFECTS = frozenset(TAINT_EFFECTS)
_PHASES = frozenset(("Pending", "Running", "Succeeded", "Failed", "Unknown"))
_RESTART = frozenset(("Always", "OnFailure", "Never"))
_PREEMPTION = frozenset(("PreemptLowerPriority", "Never"))
_CONDITION_STATUS = frozenset(("True", "False", "Unknown"))


def build(manifest: Any) -> KubeObject | None:
    """The defaulted Pod or Node ``manifest`` describes; :class:`Doubt` for anything this
    fast path does not vouch for."""
    if type(manifest) is not dict:
        raise Doubt("not a mapping")
    kind = manifest.get("kind")
    if manifest.get("apiVersion") != "v1":
        raise Doubt("not core v1")
    if kind == "Pod":
        return _pod(manifest)
    if kind == "Node":
        return _node(manifest)
    raise Doubt("a kind left to the strict parser")


# --- values -------------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if type(value) is not dict:
        raise Doubt("expected a mapping")
    return value


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if type(value) is not list:
        raise Doubt("expected a list")
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if type(value) is not str:
        raise Doubt("expected a string")
    return value


def _required(value: Any) -> str:
    if type(value) is not str or not value:
        raise Doubt("a required string")
    return value


def _name(value: Any, pattern: re.Pattern[str] = _SUBDOMAIN) -> str:
    if type(value) is not str or len(value) > 253 or not pattern.fullmatch(value):
        raise Doubt("a name the fast path does not vouch for")
    return value


def _integer(value: Any, low: int = INT64_MIN, high: int = INT64_MAX) -> int:
    if type(value) is not int or not low <= value <= high:
        raise Doubt("an integer the fast path does not vouch for")
    return value


def _boolean(value: Any) -> bool:
    if value is None:
        return False
    if type(value) is not bool:
        raise Doubt("expected true or false")
    return value


def _timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    if type(value) is str:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise Doubt("a timestamp the fast path does not vouch for") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if type(value) is datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    raise Doubt("a timestamp the fast path does not vouch for")


def _passes(problems_of: Callable[[str], list[str]]) -> Callable[[str], bool]:
    """Whether a string passes one of the API server's syntax checks, remembered: the same
    keys and names come back on every pod."""
    return functools.lru_cache(maxsize=16384)(lambda value: not problems_of(value))


_label_key_ok = _passes(qualified_name_problems)
_label_value_ok = _passes(label_value_problems)
_namespace_ok = _passes(dns1123_label_problems)
_subdomain_ok = _passes(dns1123_subdomain_problems)


def _optional_subdomain(value: Any) -> str:
    """Empty, or a DNS-1123 subdomain (a node name, a priority class name)."""
    text = _text(value)
    if text and not _subdomain_ok(text):
        raise Doubt("a name the API server may refuse")
    return text


def _annotations(value: Any) -> Labels:
    """Annotations as the API server checks them: qualified keys (lower-cased), 256 KiB in
    all."""
    data = _str_map(value)
    total = 0
    for key, item in data.items():
        if not _label_key_ok(key.lower()):
            raise Doubt("an invalid annotation key")
        total += len(key.encode("utf-8")) + len(item.encode("utf-8"))
    if total > TOTAL_ANNOTATION_SIZE_MAX:
        raise Doubt("annotations too large")
    return data


def _str_map(value: Any) -> Labels:
    data = _dict(value)
    if not data:
        return EMPTY_LABELS
    for key, item in data.items():
        if type(key) is not str or type(item) is not str:
            raise Doubt("a map entry that is not a string")
    return MappingProxyType(dict(data))


def _labels(value: Any) -> Labels:
    data = _str_map(value)
    for key, item in data.items():
        if not _label_key_ok(key) or not _label_value_ok(item):
            raise Doubt("an invalid label")
    return data


def _resources(value: Any) -> ResourceList:
    data = _dict(value)
    if not data:
        return EMPTY_RESOURCES
    out = {}
    for key, raw in data.items():
        if type(key) is not str:
            raise Doubt("a resource name that is not a string")
        try:
            quantity = quantity_from_yaml(raw)
        except QuantityError:
            raise Doubt("an invalid quantity") from None
        if quantity.value < 0:
            raise Doubt("a negative quantity")
        out[key] = quantity
    return MappingProxyType(out)


def _node_resources(value: Any) -> ResourceList:
    """A node's capacity or allocatable: counted resources (pods, extended) whole."""
    resources = _resources(value)
    for name, quantity in resources.items():
        if strict.quantity_value_problems(name, quantity):
            raise Doubt("an amount the API server refuses")
    return resources


def _requirements(value: Any) -> ResourceRequirements:
    data = _dict(value)
    requests = _resources(data.get("requests"))
    limits = _resources(data.get("limits"))
    if requests is EMPTY_RESOURCES and limits is EMPTY_RESOURCES:
        return _NO_REQUIREMENTS
    return ResourceRequirements(requests=requests, limits=limits)


_NO_REQUIREMENTS = ResourceRequirements()


class _Memo:
    """A part built once per distinct value: replicas share their containers, tolerations,
    labels and affinity, and then share the model objects too (less memory, and the
    scheduler's per-pod work can be shared by identity). A value is looked up by its JSON
    text and taken only when equal to the one built, so a string and a timestamp that print
    alike never meet."""

    __slots__ = ("build", "table")

    LIMIT = 20_000

    def __init__(self, build: Callable[..., Any]) -> None:
        self.build = build
        self.table: dict[Any, tuple[Any, Any]] = {}

    def __call__(self, value: Any, *extra: Any) -> Any:
        if not value:
            return self.build(value, *extra)
        try:
            key = (_encode(value), *extra)
        except (TypeError, ValueError, msgspec.EncodeError):
            return self.build(value, *extra)
        hit = self.table.get(key)
        if hit is not None and hit[0] == value:
            return hit[1]
        built = self.build(value, *extra)
        if len(self.table) >= self.LIMIT:
            self.table.clear()
        self.table[key] = (value, built)
        return built


_encode = msgspec.json.encode


def _strict(parse: Any, value: Any, path: str) -> Any:
    """A sub-structure through the strict parser's own function; its error is a doubt, so
    the whole manifest is read the strict way and the error located there."""
    try:
        return parse(Field(value, path))
    except ManifestError:
        raise Doubt("the strict parser refuses a part") from None


# --- pods ---------------------------------------------------------------------------------


def _owner(value: Any) -> OwnerReference:
    data = _dict(value)
    return OwnerReference(
        kind=_required(data.get("kind")),
        name=_required(data.get("name")),
        api_version=_text(data.get("apiVersion")),
        controller=_boolean(data.get("controller")),
        uid=_text(data.get("uid")),
    )


def _absent(value: Any) -> bool:
    """None or an empty list: a list field with nothing in it."""
    return value is None or (type(value) is list and not value)


def _choice(value: Any, choices: frozenset[str], default: str) -> str:
    if value is None:
        return default
    if type(value) is not str or value not in choices:
        raise Doubt("a value not among the choices")
    return value


def _host_ports(containers: list[Container], host_network: bool, init: bool) -> None:
    """No two containers of a list claim one protocol, host IP and host port; with
    hostNetwork a container's host port is its container port."""
    seen: set[tuple[str, str, int]] = set()
    for container in containers:
        for port in container.ports:
            if port.host_port == 0:
                continue
            if host_network and not init and port.host_port != port.container_port:
                raise Doubt("a host port unlike its container port on the host network")
            claim = (port.protocol, port.host_ip, port.host_port)
            if claim in seen:
                raise Doubt("a host port claimed twice")
            seen.add(claim)


def _containers(value: Any, init: bool, host_network: bool) -> tuple[Container, ...]:
    """``[spec containers, {name: status}]``: the defaulted containers, each with the
    resources its status reports (in-place resize), as the strict parser reads them. Each
    distinct list is parsed once, by the strict parser's own function (replicas share it)."""
    specs, statuses = value
    where = "spec.initContainers" if init else "spec.containers"
    parsed = [
        _strict(lambda f: strict.parse_container(f, init=init), raw, f"{where}[{i}]")
        for i, raw in enumerate(_list(specs))
    ]
    _host_ports(parsed, host_network, init)
    out = []
    for plain in parsed:
        container = default_container(plain, host_network=host_network)
        found = statuses.get(container.name)
        if found is not None and (
            found.get("resources") is not None or found.get("allocatedResources") is not None
        ):
            resources = found.get("resources")
            allocated = found.get("allocatedResources")
            container = evolve(
                container,
                status_requests=None
                if resources is None
                else _resources(_dict(resources).get("requests")),
                allocated=None if allocated is None else _resources(allocated),
            )
        out.append(container)
    return tuple(out)


def _statuses(value: Any) -> dict[str, dict[str, Any]]:
    """Of ``status.containerStatuses`` (each must name its container), what a container
    takes from its status: the resources of an in-place resize, by container name. Only
    those, so replicas' containers stay one shared object whatever else their statuses say."""
    out = {}
    for item in _list(value):
        data = _dict(item)
        name = _required(data.get("name"))
        resources, allocated = data.get("resources"), data.get("allocatedResources")
        out[name] = (
            _NO_STATUS
            if resources is None and allocated is None
            else {"resources": resources, "allocatedResources": allocated}
        )
    return out


_NO_STATUS: dict[str, Any] = {}


def _volume(value: Any) -> Volume:
    data = _dict(value)
    name = _required(data.get("name"))
    kinds = [key for key in data if key != "name"]
    if len(kinds) != 1 or type(kinds[0]) is not str:
        raise Doubt("a volume without exactly one source")
    source = data[kinds[0]]
    if source is not None and type(source) is not dict:
        raise Doubt("a volume source that is not a mapping")
    return Volume(name=name, kind=kinds[0], source=MappingProxyType(dict(source or {})))


def _resize_infeasible(conditions: Any) -> bool:
    for item in _list(conditions):
        data = _dict(item)
        if _text(data.get("type")) == "PodResizePending":
            return _text(data.get("reason")) == "Infeasible"
    return False


def _scheduled(conditions: Any) -> bool:
    """Whether the PodScheduled condition is True."""
    return any(
        type(item) is dict and item.get("type") == "PodScheduled" and item.get("status") == "True"
        for item in _list(conditions)
    )


def _namespace(value: Any) -> str:
    if type(value) is not str or not _namespace_ok(value):
        raise Doubt("a namespace the API server may refuse")
    return value


def _spread(value: Any, _release: Any) -> tuple[TopologySpreadConstraint, ...]:
    """``[constraints, the pod's labels]`` (matchLabelKeys are checked against them), for the
    release whose API server validates (``_release``, part of the memo's key)."""
    constraints, labels = value
    return tuple(
        _strict(
            lambda f: strict.spread_constraints(f, _labels(labels)),
            constraints,
            "spec.topologySpreadConstraints",
        )
    )


def _tolerations(value: Any) -> tuple[Toleration, ...]:
    return tuple(
        _strict(strict.parse_toleration, t, f"spec.tolerations[{i}]")
        for i, t in enumerate(_list(value))
    )


_CONTAINERS = _Memo(_containers)
_TOLERATIONS = _Memo(_tolerations)
_OWNERS = _Memo(lambda value: tuple(_owner(r) for r in _list(value)))
_LABELS = _Memo(_labels)
_AFFINITY = _Memo(lambda value, _release: _strict(strict.parse_affinity, value, "spec.affinity"))
_SPREAD = _Memo(_spread)
_ANNOTATIONS = _Memo(_annotations)


def _pod(manifest: dict[str, Any]) -> KubeObject:
    meta = _dict(manifest.get("metadata"))
    spec = _dict(manifest.get("spec"))
    status = _dict(manifest.get("status"))
    host_network = _boolean(spec.get("hostNetwork"))
    statuses = _statuses(status.get("containerStatuses"))
    containers = _CONTAINERS([spec.get("containers"), statuses], False, host_network)
    if not containers:
        raise Doubt("no containers")
    init_statuses = _statuses(status.get("initContainerStatuses"))
    init_containers = _CONTAINERS([spec.get("initContainers"), init_statuses], True, host_network)
    if len(containers) + len(init_containers) > 1:
        names = {c.name for c in init_containers} | {c.name for c in containers}
        if len(names) != len(containers) + len(init_containers):
            raise Doubt("a container name used twice")
    if spec.get("resources") is not None or not _absent(spec.get("schedulingGates")):
        raise Doubt("pod-level resources and scheduling gates go the strict way")
    if not _absent(spec.get("resourceClaims")) or spec.get("overhead") is not None:
        raise Doubt("resource claims and overhead go the strict way")
    affinity = spec.get("affinity")
    spread = spec.get("topologySpreadConstraints")
    namespace = meta.get("namespace")
    priority = spec.get("priority")
    deadline = spec.get("activeDeadlineSeconds")
    pod = Pod(
        name=_name(meta.get("name")),
        namespace=DEFAULT_NAMESPACE if namespace is None else _namespace(namespace),
        uid=_text(meta.get("uid")),
        labels=_LABELS(meta.get("labels")),
        annotations=_ANNOTATIONS(meta.get("annotations")),
        creation_timestamp=_timestamp(meta.get("creationTimestamp")),
        deletion_timestamp=_timestamp(meta.get("deletionTimestamp")),
        owner_references=_OWNERS(meta.get("ownerReferences")),
        containers=containers,
        init_containers=init_containers,
        overhead=EMPTY_RESOURCES,
        resources=None,
        node_selector=_LABELS(spec.get("nodeSelector")),
        affinity=None if affinity is None else _AFFINITY(affinity, release()),
        tolerations=_TOLERATIONS(spec.get("tolerations")),
        topology_spread_constraints=(
            () if _absent(spread) else _SPREAD([spread, meta.get("labels")], release())
        ),
        priority=None if priority is None else _integer(priority, INT32_MIN, INT32_MAX),
        priority_class_name=_optional_subdomain(spec.get("priorityClassName")),
        preemption_policy=_choice(spec.get("preemptionPolicy"), _PREEMPTION, ""),
        scheduler_name=_text(spec.get("schedulerName")) or DEFAULT_SCHEDULER,
        scheduling_gates=(),
        node_name=_optional_subdomain(spec.get("nodeName")),
        nominated_node_name=_text(status.get("nominatedNodeName")),
        host_network=host_network,
        active_deadline_seconds=None if deadline is None else _integer(deadline, 1, INT32_MAX),
        restart_policy=_choice(spec.get("restartPolicy"), _RESTART, "Always"),
        phase=_choice(status.get("phase"), _PHASES, ""),
        start_time=_timestamp(status.get("startTime")),
        resource_claims=(),
        volumes=tuple(_volume(v) for v in _list(spec.get("volumes"))),
        host_users=None if spec.get("hostUsers") is None else _boolean(spec.get("hostUsers")),
        status_requests=None
        if status.get("resources") is None
        else _resources(_dict(status.get("resources")).get("requests")),
        allocated=None
        if status.get("allocatedResources") is None
        else _resources(status.get("allocatedResources")),
        resize_infeasible=_resize_infeasible(status.get("conditions")),
        scheduled=_scheduled(status.get("conditions")),
    )
    # Defaulted already: containers by default_container, namespace and scheduler here,
    # and pod-level resources go the strict way.
    return pod


# --- nodes --------------------------------------------------------------------------------


def _image(value: Any) -> ContainerImage:
    data = _dict(value)
    names = _list(data.get("names"))
    for name in names:
        if type(name) is not str:
            raise Doubt("an image name that is not a string")
    size = data.get("sizeBytes")
    return ContainerImage(names=tuple(names), size_bytes=0 if size is None else _integer(size))


def _condition(value: Any) -> NodeCondition:
    data = _dict(value)
    return NodeCondition(
        type=_required(data.get("type")),
        status=_choice(_required(data.get("status")), _CONDITION_STATUS, ""),
    )


def _str_list(value: Any) -> tuple[str, ...]:
    items = _list(value)
    for item in items:
        if type(item) is not str:
            raise Doubt("a list item that is not a string")
    return tuple(items)


_DECLARED = _Memo(_str_list)
_TAINTS = _Memo(lambda value: _strict(strict.taints, value, "spec.taints"))
_IMAGES = _Memo(lambda value: tuple(_image(i) for i in _list(value)))
_RESOURCES = _Memo(_node_resources)


def _node(manifest: dict[str, Any]) -> KubeObject:
    meta = _dict(manifest.get("metadata"))
    spec = _dict(manifest.get("spec"))
    status = _dict(manifest.get("status"))
    capacity = _RESOURCES(status.get("capacity"))
    allocatable = (
        capacity if status.get("allocatable") is None else _RESOURCES(status.get("allocatable"))
    )
    return Node(
        name=_name(meta.get("name")),
        uid=_text(meta.get("uid")),
        labels=_labels(meta.get("labels")),
        annotations=_annotations(meta.get("annotations")),
        creation_timestamp=_timestamp(meta.get("creationTimestamp")),
        taints=_TAINTS(spec.get("taints")),
        unschedulable=_boolean(spec.get("unschedulable")),
        capacity=capacity,
        allocatable=allocatable,
        images=_IMAGES(status.get("images")),
        conditions=tuple(_condition(c) for c in _list(status.get("conditions"))),
        declared_features=_DECLARED(status.get("declaredFeatures")),
    )
