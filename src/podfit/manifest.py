"""Manifests (parsed YAML mappings) to model objects and back.

``parse_object`` turns one manifest into a model object, raising
:class:`~podfit.errors.ManifestError` with the field path on any problem.
``to_manifest`` turns a model object back into a manifest that ``kubectl apply``
accepts. API defaulting is not done here but in :mod:`podfit.defaults`.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from fractions import Fraction
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
from podfit.quantity import Quantity, QuantityError, quantity_from_yaml
from podfit.validation import (
    HUGEPAGES_PREFIX,
    container_resource_name_problems,
    dns1123_label_problems,
    dns1123_subdomain_problems,
    duplicate,
    forbidden,
    invalid,
    is_hugepages,
    is_integer_resource,
    label_value_problems,
    name_problems,
    overcommit_allowed,
    percent_problems,
    port_name_problems,
    priority_class_problems,
    qualified_name_problems,
    quota_resource_name_problems,
    release,
    resource_name_problems,
    unsupported,
)
from podfit.validation import required as required_value
from podfit.versions import KubeVersion

#: From this release the API server keeps pod-level resources (PodLevelResources beta)
#: and merges matchLabelKeys into a spread constraint's selector on create.
POD_LEVEL_RESOURCES_FROM = KubeVersion(1, 34)
MATCH_LABEL_KEYS_MERGED_FROM = KubeVersion(1, 34)

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


# --- checks as the API server words them ------------------------------------------------


def _invalid(f: Field, problems: Iterable[str], value: object) -> None:
    """Raise the first of ``problems`` (the API server lists them all; podfit's message is
    one line) as ``Invalid value`` at ``f``."""
    for problem in problems:
        raise f.error(invalid(value, problem))


def _each_invalid(f: Field, values: Iterable[str], problems_of: Callable[[str], list[str]]) -> None:
    """Check every string of a list; its fields are listed only when one is refused, so a
    long list costs one pass."""
    for i, value in enumerate(values):
        problems = problems_of(value)
        if problems:
            _invalid(f.items()[i], problems, value)


def _name(meta: Field, kind: str, *, required: bool = True) -> str:
    name = meta.at("name").text()
    if not name:
        if required:
            raise meta.at("name").error(required_value("name or generateName is required"))
        return name
    _invalid(meta.at("name"), name_problems(kind, name), name)
    return name


def _namespace(meta: Field) -> str:
    namespace = meta.at("namespace").text()
    if namespace:
        _invalid(meta.at("namespace"), dns1123_label_problems(namespace), namespace)
    return namespace


def _supported(f: Field, choices: tuple[str, ...], default: str | None = None) -> str:
    """One of ``choices`` (``default`` when absent), or the API server's Unsupported value."""
    if f.value is None and default is not None:
        return default
    text = f.text()
    if text not in choices:
        if not text:
            raise f.error(required_value())
        raise f.error(unsupported(text, sorted(choices)))
    return text


# --- selectors -----------------------------------------------------------------------------


def parse_requirement(
    f: Field,
    operators: tuple[str, ...],
    *,
    what: str = "key",
    check_values: bool = True,
    integer_bounds: bool = False,
    syntax: bool = True,
) -> Requirement:
    """A matchExpressions entry, checked as the API server checks it: the key a qualified
    name, the operator's rule on values, and (``check_values``) each value a label value.
    ``integer_bounds``: Gt/Lt values must be integers (the scheduler's own rule, used by
    podfit's claim language; the API server leaves that to the scheduler)."""
    key = f.at(what).text()
    operator = f.at("operator").text()
    if operator not in operators:
        if not operator:
            raise f.at("operator").error(required_value())
        raise f.at("operator").error(invalid(operator, "not a valid selector operator"))
    values = f.at("values").str_list()
    if operator in ("In", "NotIn") and not values:
        raise f.at("values").error(
            required_value("must be specified when `operator` is 'In' or 'NotIn'")
        )
    if operator in ("Exists", "DoesNotExist") and values:
        raise f.at("values").error(
            forbidden("may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
        )
    if operator in ("Gt", "Lt") and len(values) != 1:
        raise f.at("values").error(
            required_value("must be specified single value when `operator` is 'Lt' or 'Gt'")
        )
    if syntax:
        _invalid(f.at(what), qualified_name_problems(key), key)
    if syntax and check_values:
        _each_invalid(f.at("values"), values, label_value_problems)
    if integer_bounds and operator in ("Gt", "Lt"):
        try:
            int(values[0], 10)
        except ValueError:
            raise (
                f.at("values")
                .items()[0]
                .error(
                    invalid(values[0], f"for operator {operator!r} the value must be an integer")
                )
            ) from None
    return Requirement(key=key, operator=operator, values=values)


def parse_label_selector(f: Field) -> LabelSelector | None:
    """A metav1.LabelSelector; ``None`` when the field is absent (which differs from ``{}``).
    Checked as ValidateLabelSelector checks it on create (values must be label values)."""
    if f.value is None:
        return None
    f.mapping()
    expressions = tuple(
        parse_requirement(item, SELECTOR_OPERATORS) for item in f.at("matchExpressions").items()
    )
    return LabelSelector(
        match_labels=frozen_map(f.at("matchLabels").labels()), match_expressions=expressions
    )


def parse_node_selector_term(
    f: Field, *, check_values: bool = True, syntax: bool = True
) -> NodeSelectorTerm:
    """A node selector term. ``check_values``: the API server checks that the values of
    *required* node affinity terms are label values, never those of preferred terms.
    ``syntax=False`` reads the term as the scheduler does, leaving keys and values to its
    own checks (a scheduler configuration's addedAffinity, the spec's selector cases)."""
    fields = []
    for item in f.at("matchFields").items():
        operator = item.at("operator").text()
        values = item.at("values").str_list()
        if operator not in ("In", "NotIn"):
            raise item.at("operator").error(invalid(operator, "not a valid selector operator"))
        if len(values) != 1:
            raise item.at("values").error(
                required_value(
                    "must be only one value when `operator` is 'In' or 'NotIn' for node field "
                    "selector"
                )
            )
        key = item.at("key").text()
        if key != "metadata.name":
            raise item.at("key").error(invalid(key, "not a valid field selector key"))
        if syntax:
            _invalid(item.at("values").items()[0], dns1123_subdomain_problems(values[0]), values[0])
        fields.append(Requirement(key=key, operator=operator, values=values))
    return NodeSelectorTerm(
        match_expressions=tuple(
            parse_requirement(
                item, NODE_SELECTOR_OPERATORS, check_values=check_values, syntax=syntax
            )
            for item in f.at("matchExpressions").items()
        ),
        match_fields=tuple(fields),
    )


def _label_keys(f: Field, keys: tuple[str, ...], selector: LabelSelector | None) -> None:
    """matchLabelKeys / mismatchLabelKeys: qualified names, only next to a labelSelector."""
    if keys and selector is None:
        raise f.error(forbidden("must not be specified when labelSelector is not set"))
    _each_invalid(f, keys, qualified_name_problems)


def _merged_keys_clash(
    f: Field, match_keys: tuple[str, ...], selector: LabelSelector | None, labels: Mapping[str, str]
) -> None:
    """From 1.34 the API server merges matchLabelKeys into the labelSelector on create (a
    ``key In (value)`` expression for each key the pod has); a key then found twice in the
    selector is refused (ValidateMatchLabelKeysAndMismatchLabelKeys). Before 1.34 any key of
    the labelSelector is refused in matchLabelKeys (ValidateMatchLabelKeysInTopologySpread)."""
    if selector is None or not match_keys:
        return
    if release() < MATCH_LABEL_KEYS_MERGED_FROM:
        present = {*selector.match_labels, *(r.key for r in selector.match_expressions)}
        for i, key in enumerate(match_keys):
            if key in present:
                raise f.items()[i].error(
                    invalid(key, "exists in both matchLabelKeys and labelSelector")
                )
        return
    merged = [r.key for r in selector.match_expressions]
    merged += [key for key in match_keys if key in labels]
    seen = set(selector.match_labels)
    position = {key: i for i, key in enumerate(match_keys)}
    for key in merged:
        if key in position and key in seen:
            raise f.items()[position[key]].error(
                invalid(key, "exists in both matchLabelKeys and labelSelector")
            )
        seen.add(key)


def parse_pod_affinity_term(f: Field) -> PodAffinityTerm:
    topology_key = f.at("topologyKey").text()
    if not topology_key:
        raise f.at("topologyKey").error(required_value("can not be empty"))
    _invalid(f.at("topologyKey"), qualified_name_problems(topology_key), topology_key)
    selector = parse_label_selector(f.at("labelSelector"))
    namespaces = f.at("namespaces").str_list()
    _each_invalid(f.at("namespaces"), namespaces, dns1123_label_problems)
    match_keys = f.at("matchLabelKeys").str_list()
    mismatch_keys = f.at("mismatchLabelKeys").str_list()
    _label_keys(f.at("matchLabelKeys"), match_keys, selector)
    _label_keys(f.at("mismatchLabelKeys"), mismatch_keys, selector)
    for i, key in enumerate(match_keys):
        if key in mismatch_keys:
            raise (
                f.at("matchLabelKeys")
                .items()[i]
                .error(invalid(key, "exists in both matchLabelKeys and mismatchLabelKeys"))
            )
    return PodAffinityTerm(
        topology_key=topology_key,
        label_selector=selector,
        namespaces=namespaces,
        namespace_selector=parse_label_selector(f.at("namespaceSelector")),
        match_label_keys=match_keys,
        mismatch_label_keys=mismatch_keys,
    )


def parse_weight(f: Field) -> int:
    weight = f.integer(minimum=INT32_MIN, maximum=INT32_MAX)
    if not 1 <= weight <= 100:
        raise f.error(invalid(weight, "must be in the range 1-100"))
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
            terms = req.at("nodeSelectorTerms")
            if not terms.items():
                raise terms.error(required_value("must have at least one node selector term"))
            required = NodeSelector(terms=tuple(parse_node_selector_term(t) for t in terms.items()))
        node_affinity = NodeAffinity(
            required=required,
            preferred=tuple(
                PreferredSchedulingTerm(
                    weight=parse_weight(item.at("weight")),
                    # Invalid values are let through in preferences: with one node they
                    # can still succeed (as upstream says).
                    preference=parse_node_selector_term(item.at("preference"), check_values=False),
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
    key = f.at("key").text()
    if key:
        _invalid(f.at("key"), qualified_name_problems(key), key)
    operator = f.at("operator").text()
    if operator not in ("", *TOLERATION_OPERATORS):
        raise f.at("operator").error(unsupported(operator, TOLERATION_OPERATORS))
    if not key and operator != "Exists":
        raise f.at("operator").error(
            invalid(
                operator,
                'operator must be Exists when `key` is empty, which means "match all values '
                'and all keys"',
            )
        )
    value = f.at("value").text()
    if operator == "Exists" and value:
        raise f.at("value").error(invalid(value, "value must be empty when `operator` is 'Exists'"))
    if operator != "Exists":
        _invalid(f.at("value"), label_value_problems(value), value)
    effect = f.at("effect").text()
    if effect and effect not in TAINT_EFFECTS:
        raise f.at("effect").error(unsupported(effect, TAINT_EFFECTS))
    seconds = f.at("tolerationSeconds").optional_integer()
    if seconds is not None and effect != "NoExecute":
        raise f.at("effect").error(
            invalid(effect, "effect must be 'NoExecute' when `tolerationSeconds` is set")
        )
    return Toleration(
        key=key, operator=operator, value=value, effect=effect, toleration_seconds=seconds
    )


def parse_topology_spread(
    f: Field, labels: Mapping[str, str] | None = None
) -> TopologySpreadConstraint:
    """One topology spread constraint; ``labels`` are the pod's (for the matchLabelKeys
    check against the selector the API server merges them into; None: no such check)."""
    max_skew = f.at("maxSkew").integer(minimum=INT32_MIN, maximum=INT32_MAX)
    if max_skew <= 0:
        raise f.at("maxSkew").error(invalid(max_skew, "must be greater than zero"))
    topology_key = f.at("topologyKey").text()
    if not topology_key:
        raise f.at("topologyKey").error(required_value("can not be empty"))
    action = _supported(f.at("whenUnsatisfiable"), ("DoNotSchedule", "ScheduleAnyway"))
    min_domains = f.at("minDomains").optional_integer(minimum=INT32_MIN, maximum=INT32_MAX)
    if min_domains is not None:
        if min_domains <= 0:
            raise f.at("minDomains").error(invalid(min_domains, "must be greater than zero"))
        if action != "DoNotSchedule":
            raise f.at("minDomains").error(
                invalid(
                    min_domains,
                    f"can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {action}",
                )
            )
    selector = parse_label_selector(f.at("labelSelector"))
    match_keys = f.at("matchLabelKeys").str_list()
    _label_keys(f.at("matchLabelKeys"), match_keys, selector)
    if labels is not None:
        _merged_keys_clash(f.at("matchLabelKeys"), match_keys, selector, labels)
    return TopologySpreadConstraint(
        max_skew=max_skew,
        topology_key=topology_key,
        when_unsatisfiable=action,
        label_selector=selector,
        min_domains=min_domains,
        node_affinity_policy=_supported(f.at("nodeAffinityPolicy"), ("Honor", "Ignore"), "")
        or None,
        node_taints_policy=_supported(f.at("nodeTaintsPolicy"), ("Honor", "Ignore"), "") or None,
        match_label_keys=match_keys,
    )


def spread_constraints(f: Field, labels: Mapping[str, str]) -> tuple[TopologySpreadConstraint, ...]:
    constraints = tuple(parse_topology_spread(t, labels) for t in f.items())
    seen: set[tuple[str, str]] = set()
    for item, c in zip(f.items(), constraints, strict=True):
        pair = (c.topology_key, c.when_unsatisfiable)
        if pair in seen:
            where = Field(None, parent=item, key="{topologyKey, whenUnsatisfiable}")
            raise where.error(duplicate(f"{{{pair[0]}, {pair[1]}}}"))
        seen.add(pair)
    return constraints


def quantity_value_problems(name: str, quantity: Quantity) -> list[str]:
    """ValidateResourceQuantityValue: never negative, whole for counted resources (pods,
    extended resources)."""
    if quantity.value < 0:
        return ["must be greater than or equal to 0"]
    if is_integer_resource(name) and math.ceil(quantity.value * 1000) % 1000:
        return ["must be an integer"]
    return []


def _resource_list(
    f: Field, name_problems_of: Callable[[str], list[str]] | None = None
) -> dict[str, Quantity]:
    """A resource list whose names (when ``name_problems_of`` is given) and quantities are
    checked as the API server checks them."""
    out = f.resources()
    for name, quantity in out.items():
        if name_problems_of is not None:
            _invalid(f.at(name), name_problems_of(name), name)
        _invalid(f.at(name), quantity_value_problems(name, quantity), str(quantity))
    return out


def _hugepages_problem(name: str, quantity: Quantity) -> str | None:
    """A hugepages amount must be a whole number of pages."""
    try:
        page = quantity_from_yaml(name[len(HUGEPAGES_PREFIX) :]).value
    except QuantityError:
        page = Fraction(0)
    if page <= 0 or page.denominator != 1 or math.ceil(quantity.value) % page:
        return f"{quantity} is not positive integer multiple of {name}"
    return None


def parse_resources(
    f: Field, name_problems_of: Callable[[str], list[str]] = container_resource_name_problems
) -> ResourceRequirements:
    """Requests and limits, checked as validateResourceRequirements does: names, amounts,
    requests at most their limits, and for resources that cannot be overcommitted
    (extended resources, hugepages) a request equal to its limit, which must be set."""
    requests = _resource_list(f.at("requests"), name_problems_of)
    limits = _resource_list(f.at("limits"), name_problems_of)
    for source, amounts in (("limits", limits), ("requests", requests)):
        for name, quantity in amounts.items():
            if is_hugepages(name):
                problem = _hugepages_problem(name, quantity)
                if problem is not None:
                    raise f.at(source).at(name).error(invalid(str(quantity), problem))
    for name, quantity in requests.items():
        limit = limits.get(name)
        if limit is not None:
            if quantity.value != limit.value and not overcommit_allowed(name):
                raise f.at("requests").error(
                    invalid(str(quantity), f"must be equal to {name} limit of {limit}")
                )
            if quantity.value > limit.value:
                raise f.at("requests").error(
                    invalid(str(quantity), f"must be less than or equal to {name} limit of {limit}")
                )
        elif not overcommit_allowed(name):
            raise f.at("limits").error(
                required_value("Limit must be set for non overcommitable resources")
            )
    names = {*requests, *limits}
    if any(is_hugepages(n) for n in names) and not names & {"cpu", "memory"}:
        raise f.error(forbidden("HugePages require cpu or memory"))
    return ResourceRequirements(
        requests=frozen_resources(requests), limits=frozen_resources(limits)
    )


def parse_container(f: Field, *, init: bool) -> Container:
    name = f.at("name").text()
    if not name:
        raise f.at("name").error(required_value())
    _invalid(f.at("name"), dns1123_label_problems(name), name)
    ports = []
    port_names: set[str] = set()
    for item in f.at("ports").items():
        port_name = item.at("name").text()
        if port_name:
            _invalid(item.at("name"), port_name_problems(port_name), port_name)
            if port_name in port_names:
                raise item.at("name").error(duplicate(port_name))
            port_names.add(port_name)
        container_port = item.at("containerPort").integer(minimum=INT32_MIN, maximum=INT32_MAX)
        if container_port == 0:
            raise item.at("containerPort").error(required_value())
        host_port = item.at("hostPort").integer(0, minimum=INT32_MIN, maximum=INT32_MAX)
        for field_name, port in (("containerPort", container_port), ("hostPort", host_port)):
            if not (1 <= port <= 65535) and not (field_name == "hostPort" and port == 0):
                raise item.at(field_name).error(
                    invalid(port, "must be between 1 and 65535, inclusive")
                )
        host_ip = item.at("hostIP").text()
        if host_ip:
            try:
                ipaddress.ip_address(host_ip)
            except ValueError:
                raise item.at("hostIP").error(
                    invalid(
                        host_ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
                    )
                ) from None
        ports.append(
            ContainerPort(
                container_port=container_port,
                host_port=host_port,
                host_ip=host_ip,
                protocol=_supported(item.at("protocol"), PROTOCOLS, "TCP"),
                name=port_name,
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
        name=name,
        image=f.at("image").text(),
        resources=parse_resources(f.at("resources")),
        ports=tuple(ports),
        restart_policy=(
            restart.choice(("Always", "OnFailure", "Never")) if restart.value is not None else None
        ),
        restart_policy_rules=tuple(rules),
    )


def _unique_host_ports(f: Field, containers: tuple[Container, ...]) -> None:
    """No two containers of a list may claim the same protocol, host IP and host port."""
    seen: set[str] = set()
    for ci, container in enumerate(containers):
        for pi, port in enumerate(container.ports):
            if port.host_port == 0:
                continue
            key = f"{port.protocol}/{port.host_ip}/{port.host_port}"
            if key in seen:
                where = f.items()[ci].at("ports").items()[pi].at("hostPort")
                raise where.error(duplicate(key))
            seen.add(key)


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


def _pod_level_resources(
    spec: Field, containers: tuple[Container, ...], init: tuple[Container, ...]
) -> ResourceRequirements | None:
    """``spec.resources`` (pod-level), checked as the API server of releases that keep it
    checks it (1.34 on; 1.33 drops the field): cpu, memory and hugepages only, requests at
    most limits, at least what the containers request together, limits at least each
    container's."""
    f = spec.at("resources")
    if f.value is None:
        return None
    if release() < POD_LEVEL_RESOURCES_FROM:
        # Dropped on create by this release (podfit.apiserver): read, never refused.
        return ResourceRequirements(
            requests=frozen_resources(f.at("requests").resources()),
            limits=frozen_resources(f.at("limits").resources()),
        )
    for source in ("requests", "limits"):
        for name in f.at(source).mapping():
            known = isinstance(name, str) and not resource_name_problems(name)
            if known and name not in ("cpu", "memory") and not is_hugepages(name):
                raise (
                    f.at(source).at(name).error(unsupported(name, ("cpu", "hugepages-", "memory")))
                )
    resources = parse_resources(f, resource_name_problems)
    for name, total in _aggregate_requests(containers, init).items():
        pod = resources.requests.get(name)
        if pod is not None and total > pod.value:
            raise (
                f.at("requests")
                .at(name)
                .error(
                    invalid(
                        str(pod),
                        "must be greater than or equal to aggregate container requests of "
                        f"{Quantity(total, pod.format)}",
                    )
                )
            )
    for i, container in enumerate(containers):
        for name, limit in container.resources.limits.items():
            pod = resources.limits.get(name)
            if pod is not None and limit.value > pod.value:
                where = spec.at("containers").items()[i].at(name).at("limits")
                raise where.error(
                    invalid(str(limit), f"must be less than or equal to pod limits of {pod}")
                )
    return resources


def _aggregate_requests(
    containers: tuple[Container, ...], init: tuple[Container, ...]
) -> dict[str, Fraction]:
    """What the containers request together (AggregateContainerRequests): regular
    containers and sidecars summed, and at least each init container's request on top of
    the sidecars started before it. A missing request counts its limit (API defaulting)."""

    def request(c: Container) -> dict[str, Fraction]:
        out = {n: q.value for n, q in c.resources.limits.items()}
        out.update({n: q.value for n, q in c.resources.requests.items()})
        return out

    total: dict[str, Fraction] = {}
    for c in (*containers, *(i for i in init if i.restart_policy == "Always")):
        for name, value in request(c).items():
            total[name] = total.get(name, Fraction(0)) + value
    sidecars: dict[str, Fraction] = {}
    for c in init:
        amounts = request(c)
        if c.restart_policy == "Always":
            for name, value in amounts.items():
                sidecars[name] = sidecars.get(name, Fraction(0)) + value
            continue
        for name, value in amounts.items():
            total[name] = max(total.get(name, Fraction(0)), value + sidecars.get(name, Fraction(0)))
    return total


def _pod_name_list(f: Field, check: Callable[[str], list[str]]) -> tuple[str, ...]:
    """A list of ``{name: ...}`` entries, each name checked and unique."""
    names: list[str] = []
    for item in f.items():
        name = item.at("name").text()
        if not name:
            raise item.at("name").error(required_value())
        _invalid(item.at("name"), check(name), name)
        if name in names:
            raise item.error(duplicate(name))
        names.append(name)
    return tuple(names)


def parse_pod_spec(meta: Field, spec: Field, status: Field, *, template: bool = False) -> Pod:
    labels = meta.at("labels").labels()
    statuses = _container_statuses(status, "containerStatuses")
    containers = tuple(
        _with_status(parse_container(c, init=False), statuses.get(c.at("name").text()))
        for c in spec.at("containers").items()
    )
    if not containers:
        raise spec.at("containers").error(required_value())
    init_statuses = _container_statuses(status, "initContainerStatuses")
    init_containers = tuple(
        _with_status(parse_container(c, init=True), init_statuses.get(c.at("name").text()))
        for c in spec.at("initContainers").items()
    )
    # A set, and the fields listed once: 60,000 containers cost 60,000 steps, not 60,000².
    seen: set[str] = set()
    for key, parsed in (("containers", containers), ("initContainers", init_containers)):
        for index, container in enumerate(parsed):
            if container.name in seen:
                where = spec.at(key).items()[index]
                raise where.at("name").error(duplicate(container.name))
            seen.add(container.name)
    _unique_host_ports(spec.at("containers"), containers)
    _unique_host_ports(spec.at("initContainers"), init_containers)
    host_network = spec.at("hostNetwork").boolean()
    if host_network:
        for ci, container in enumerate(containers):
            for pi, port in enumerate(container.ports):
                if port.host_port not in (0, port.container_port):
                    where = spec.at("containers").items()[ci].at("ports").items()[pi]
                    raise where.at("hostPort").error(
                        invalid(
                            port.host_port, "must match `containerPort` when `hostNetwork` is true"
                        )
                    )
    node_name = spec.at("nodeName").text()
    if node_name:
        _invalid(spec.at("nodeName"), dns1123_subdomain_problems(node_name), node_name)
    priority_class = spec.at("priorityClassName").text()
    if priority_class:
        _invalid(
            spec.at("priorityClassName"), dns1123_subdomain_problems(priority_class), priority_class
        )
    deadline = spec.at("activeDeadlineSeconds").optional_integer()
    if deadline is not None and not 1 <= deadline <= INT32_MAX:
        raise spec.at("activeDeadlineSeconds").error(
            invalid(deadline, f"must be between 1 and {INT32_MAX}, inclusive")
        )
    overhead = _resource_list(spec.at("overhead"), container_resource_name_problems)
    return Pod(
        name=_name(meta, "Pod", required=not template),
        namespace=_namespace(meta),
        uid=meta.at("uid").text(),
        labels=frozen_map(labels),
        annotations=frozen_map(meta.at("annotations").annotations()),
        creation_timestamp=meta.at("creationTimestamp").timestamp(),
        deletion_timestamp=meta.at("deletionTimestamp").timestamp(),
        owner_references=tuple(
            parse_owner_reference(r) for r in meta.at("ownerReferences").items()
        ),
        containers=containers,
        init_containers=init_containers,
        overhead=frozen_resources(overhead),
        resources=_pod_level_resources(spec, containers, init_containers),
        node_selector=frozen_map(spec.at("nodeSelector").labels()),
        affinity=parse_affinity(spec.at("affinity")),
        tolerations=tuple(parse_toleration(t) for t in spec.at("tolerations").items()),
        topology_spread_constraints=spread_constraints(
            spec.at("topologySpreadConstraints"), labels
        ),
        priority=spec.at("priority").optional_integer(minimum=INT32_MIN, maximum=INT32_MAX),
        priority_class_name=priority_class,
        # Left empty when absent: the Priority admission step fills it from the class.
        preemption_policy=_supported(
            spec.at("preemptionPolicy"), ("Never", "PreemptLowerPriority"), ""
        ),
        scheduler_name=spec.at("schedulerName").text(),
        scheduling_gates=_pod_name_list(spec.at("schedulingGates"), qualified_name_problems),
        node_name=node_name,
        nominated_node_name=status.at("nominatedNodeName").text(),
        host_network=host_network,
        active_deadline_seconds=deadline,
        restart_policy=_supported(
            spec.at("restartPolicy"), ("Always", "Never", "OnFailure"), "Always"
        ),
        phase=status.at("phase").choice(
            ("Pending", "Running", "Succeeded", "Failed", "Unknown"), default=""
        ),
        start_time=status.at("startTime").timestamp(),
        resource_claims=_pod_name_list(spec.at("resourceClaims"), dns1123_label_problems),
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
    key = f.at("key").text()
    _invalid(f.at("key"), qualified_name_problems(key), key)
    value = f.at("value").text()
    _invalid(f.at("value"), label_value_problems(value), value)
    effect = f.at("effect").text()
    if not effect:
        raise f.at("effect").error(required_value())
    if effect not in TAINT_EFFECTS:
        raise f.at("effect").error(unsupported(effect, TAINT_EFFECTS))
    return Taint(key=key, value=value, effect=effect, time_added=f.at("timeAdded").timestamp())


def taints(f: Field) -> tuple[Taint, ...]:
    taints = tuple(parse_taint(t) for t in f.items())
    seen: set[tuple[str, str]] = set()
    for item, taint in zip(f.items(), taints, strict=True):
        if (taint.key, taint.effect) in seen:
            raise item.error(
                f"{duplicate(f'{taint.key}:{taint.effect}')}: taints must be unique by key and "
                "effect pair"
            )
        seen.add((taint.key, taint.effect))
    return taints


def parse_node(f: Field) -> Node:
    meta, spec, status = f.at("metadata"), f.at("spec"), f.at("status")
    capacity = _resource_list(status.at("capacity"))
    allocatable = (
        _resource_list(status.at("allocatable")) if status.has("allocatable") else capacity
    )
    return Node(
        name=_name(meta, "Node"),
        uid=meta.at("uid").text(),
        labels=frozen_map(meta.at("labels").labels()),
        annotations=frozen_map(meta.at("annotations").annotations()),
        creation_timestamp=meta.at("creationTimestamp").timestamp(),
        taints=taints(spec.at("taints")),
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
    return Namespace(name=_name(meta, "Namespace"), labels=frozen_map(meta.at("labels").labels()))


LIMIT_TYPES = ("Container", "Pod", "PersistentVolumeClaim")


def _limit_type(f: Field) -> str:
    kind = f.text()
    _invalid(f, qualified_name_problems(kind), kind)
    if "/" not in kind and kind not in LIMIT_TYPES:
        raise f.error(invalid(kind, "must be a standard limit type or fully qualified"))
    return kind


def parse_limit_range(f: Field) -> LimitRange:
    meta = f.at("metadata")
    items = []
    types: set[str] = set()
    for item in f.at("spec").at("limits").items():
        kind = _limit_type(item.at("type"))
        if kind in types:
            raise item.at("type").error(duplicate(kind))
        types.add(kind)

        def names(name: str, kind: str = kind) -> list[str]:
            if kind in ("Pod", "Container"):
                return container_resource_name_problems(name)
            return resource_name_problems(name)

        amounts = {
            key: item.at(key).resources()
            for key in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio")
        }
        for key, values in amounts.items():
            for name in values:
                _invalid(item.at(key).at(name), names(name), name)
        if kind == "Pod":
            for key in ("default", "defaultRequest"):
                if amounts[key]:
                    raise item.at(key).error(forbidden("may not be specified when `type` is 'Pod'"))
        if kind == "PersistentVolumeClaim" and not (
            "storage" in amounts["min"] or "storage" in amounts["max"]
        ):
            raise item.at("limits").error(
                required_value(
                    "either minimum or maximum storage value is required, but neither was provided"
                )
            )
        _limit_range_order(item, kind, amounts)
        items.append(
            LimitRangeItem(
                type=kind,
                max=frozen_resources(amounts["max"]),
                min=frozen_resources(amounts["min"]),
                default=frozen_resources(amounts["default"]),
                default_request=frozen_resources(amounts["defaultRequest"]),
                max_limit_request_ratio=frozen_resources(amounts["maxLimitRequestRatio"]),
            )
        )
    return LimitRange(
        name=_name(meta, "LimitRange"), namespace=_namespace(meta), limits=tuple(items)
    )


def _limit_range_order(
    item: Field, kind: str, amounts: Mapping[str, Mapping[str, Quantity]]
) -> None:
    """ValidateLimitRange's order of min, defaultRequest, default and max, and its ratio,
    on the item as it is stored: for type Container, max fills a missing default, then
    default (or else min) a missing defaultRequest (SetDefaults_LimitRangeItem)."""
    low, high = amounts["min"], amounts["max"]
    default, request = dict(amounts["default"]), dict(amounts["defaultRequest"])
    ratio = amounts["maxLimitRequestRatio"]
    if kind == "Container":
        default = {**high, **default}
        request = {**low, **default, **request}
    for name in {*low, *high, *default, *request, *ratio}:
        # (field, smaller, larger, the side upstream quotes, words)
        checks = [
            ("min", low, high, 0, "min value {a} is greater than max value {b}"),
            ("defaultRequest", low, request, 1,
             "min value {a} is greater than default request value {b}"),
            ("defaultRequest", request, high, 0,
             "default request value {a} is greater than max value {b}"),
            ("defaultRequest", request, default, 0,
             "default request value {a} is greater than default limit value {b}"),
            ("default", low, default, 0, "min value {a} is greater than default value {b}"),
            ("default", default, high, 1, "default value {a} is greater than max value {b}"),
        ]  # fmt: skip
        for where, first, second, quoted, text in checks:
            a, b = first.get(name), second.get(name)
            if a is not None and b is not None and a.value > b.value:
                value = str(b if quoted else a)
                raise item.at(where).at(name).error(invalid(value, text.format(a=a, b=b)))
        r = ratio.get(name)
        if r is not None and r.value < 1:
            raise (
                item.at("maxLimitRequestRatio")
                .at(name)
                .error(invalid(str(r), f"ratio {r} is less than 1"))
            )
        lo, hi = low.get(name), high.get(name)
        widest = hi.value / lo.value if lo is not None and hi is not None and lo.value > 0 else None
        if r is not None and widest is not None and r.value > widest:
            raise (
                item.at("maxLimitRequestRatio")
                .at(name)
                .error(
                    invalid(
                        str(r),
                        f"ratio {r} is greater than max/min = {float(widest):f}",
                    )
                )
            )
        d, q = default.get(name), request.get(name)
        if d is not None and q is not None and not overcommit_allowed(name) and d.value != q.value:
            raise (
                item.at("defaultRequest")
                .at(name)
                .error(
                    invalid(
                        str(q),
                        f"default value {d} must equal to defaultRequest value {q} in {name}",
                    )
                )
            )


QUOTA_SCOPES = (
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
    "VolumeAttributesClass",
)
_POD_COUNT = frozenset({"pods"})
_POD_COMPUTE = frozenset(
    {"cpu", "memory", "limits.cpu", "limits.memory", "requests.cpu", "requests.memory"}
)
_PVC_QUOTA = frozenset({"persistentvolumeclaims", "requests.storage"})
_CONFLICTING_SCOPES = (("BestEffort", "NotBestEffort"), ("Terminating", "NotTerminating"))


def _scope_fits(scope: str, resource: str) -> bool:
    """IsResourceQuotaScopeValidForResource (for standard quota resources)."""
    if scope == "BestEffort":
        return resource in _POD_COUNT
    if scope == "VolumeAttributesClass":
        return resource in _PVC_QUOTA
    if scope in QUOTA_SCOPES:
        return resource in _POD_COUNT or resource in _POD_COMPUTE
    return True


def parse_resource_quota(f: Field) -> ResourceQuota:
    meta, spec = f.at("metadata"), f.at("spec")
    hard = _resource_list(spec.at("hard"), quota_resource_name_problems)
    standard = [n for n in hard if not quota_resource_name_problems(n) and "/" not in n]
    scopes: list[str] = []
    for item in spec.at("scopes").items():
        scope = item.text()
        if scope not in QUOTA_SCOPES:
            raise spec.at("scopes").error(invalid(scope, "unsupported scope"))
        if any(not _scope_fits(scope, n) for n in standard):
            raise spec.at("scopes").error(invalid(scope, "unsupported scope applied to resource"))
        scopes.append(scope)
    for pair in _CONFLICTING_SCOPES:
        if set(pair) <= set(scopes):
            raise spec.at("scopes").error(invalid(", ".join(scopes), "conflicting scopes"))
    selector = []
    expressions = spec.at("scopeSelector").at("matchExpressions")
    for e in expressions.items():
        scope = e.at("scopeName").text()
        if scope not in QUOTA_SCOPES:
            raise e.at("scopeName").error(invalid(scope, "unsupported scope"))
        if any(not _scope_fits(scope, n) for n in standard):
            raise expressions.error(invalid(scope, "unsupported scope applied to resource"))
        operator = e.at("operator").text()
        values = e.at("values").str_list()
        if scope not in ("PriorityClass", "VolumeAttributesClass") and operator != "Exists":
            raise e.at("operator").error(
                invalid(
                    operator,
                    "must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, "
                    "ResourceQuotaScopeNotTerminating, "
                    "ResourceQuotaScopeBestEffort, "
                    "ResourceQuotaScopeNotBestEffort or "
                    "ResourceQuotaScopeCrossNamespacePodAffinity",
                )
            )
        if operator in ("In", "NotIn") and not values:
            raise e.at("values").error(
                required_value(
                    "must be at least one value when `operator` is 'In' or 'NotIn' for scope "
                    "selector"
                )
            )
        if operator in ("Exists", "DoesNotExist") and values:
            raise e.at("values").error(
                invalid(
                    ", ".join(values),
                    "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope "
                    "selector",
                )
            )
        if operator not in SELECTOR_OPERATORS:
            raise e.at("operator").error(invalid(operator, "not a valid selector operator"))
        selector.append(
            ScopedResourceSelectorRequirement(scope_name=scope, operator=operator, values=values)
        )
    chosen = {r.scope_name for r in selector}
    for pair in _CONFLICTING_SCOPES:
        if set(pair) <= chosen:
            raise expressions.error(invalid(", ".join(sorted(chosen)), "conflicting scopes"))
    return ResourceQuota(
        name=_name(meta, "ResourceQuota"),
        namespace=_namespace(meta),
        hard=frozen_resources(hard),
        scopes=tuple(scopes),
        scope_selector=tuple(selector),
        used=frozen_resources(
            _resource_list(f.at("status").at("used"), quota_resource_name_problems)
        ),
        status_hard=frozen_resources(
            _resource_list(f.at("status").at("hard"), quota_resource_name_problems)
        ),
    )


def parse_priority_class(f: Field) -> PriorityClass:
    meta = f.at("metadata")
    name = _name(meta, "PriorityClass")
    value = f.at("value").integer(minimum=INT32_MIN, maximum=INT32_MAX)
    global_default = f.at("globalDefault").boolean()
    for where, problem in priority_class_problems(name, value, global_default):
        raise (meta.at("name") if where == "metadata.name" else f.at(where)).error(problem)
    return PriorityClass(
        name=name,
        value=value,
        global_default=global_default,
        preemption_policy=_supported(
            f.at("preemptionPolicy"), ("Never", "PreemptLowerPriority"), "PreemptLowerPriority"
        ),
        description=f.at("description").text(),
    )


def _controller_selector(
    spec: Field, kind: str, template_labels: Mapping[str, str] | None
) -> LabelSelector:
    """A workload's spec.selector: required, not empty, and matching the template's labels
    (when the template is read)."""
    selector = parse_label_selector(spec.at("selector"))
    if selector is None:
        raise spec.at("selector").error(required_value())
    if selector.is_empty:
        raise spec.at("selector").error(
            invalid("{}", f"empty selector is invalid for {kind.lower()}")
        )
    if template_labels is not None and not selector_selects(selector, template_labels):
        raise _template_mismatch(spec, template_labels)
    return selector


def _template_mismatch(spec: Field, template_labels: Mapping[str, str]) -> ManifestError:
    """The API server's error for a selector that does not select its own template."""
    labels = ",".join(f"{k}={v}" for k, v in template_labels.items())
    where = spec.at("template").at("metadata").at("labels")
    return where.error(invalid(labels, "`selector` does not match template `labels`"))


def selector_selects(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    """Label selector semantics (metav1.LabelSelectorAsSelector), for the checks of a
    controller's selector against its template's labels."""
    if any(labels.get(k) != v for k, v in selector.match_labels.items()):
        return False
    for r in selector.match_expressions:
        has = r.key in labels
        if r.operator == "In" and not (has and labels[r.key] in r.values):
            return False
        if r.operator == "NotIn" and has and labels[r.key] in r.values:
            return False
        if r.operator == "Exists" and not has:
            return False
        if r.operator == "DoesNotExist" and has:
            return False
    return True


def parse_daemon_set(f: Field) -> DaemonSet:
    meta, spec = f.at("metadata"), f.at("spec")
    template = spec.at("template")
    template_labels = template.at("metadata").at("labels").labels()
    selector = _controller_selector(spec, "DaemonSet", template_labels)
    pod = parse_pod_spec(
        template.at("metadata"), template.at("spec"), Field(None, "status"), template=True
    )
    if pod.restart_policy != "Always":
        raise (
            template.at("spec")
            .at("restartPolicy")
            .error(unsupported(pod.restart_policy, ("Always",)))
        )
    if pod.active_deadline_seconds is not None:
        raise (
            template.at("spec")
            .at("activeDeadlineSeconds")
            .error(
                invalid(
                    pod.active_deadline_seconds,
                    "activeDeadlineSeconds in DaemonSet is not Supported",
                )
            )
        )
    return DaemonSet(
        name=_name(meta, "DaemonSet"),
        namespace=_namespace(meta),
        labels=frozen_map(meta.at("labels").labels()),
        selector=selector,
        template=pod,
    )


def _int_or_percent(f: Field) -> int | str | None:
    """IntOrString as a PodDisruptionBudget takes it: an int32 at least 0, or a percentage
    of at most 100%."""
    if f.value is None:
        return None
    if isinstance(f.value, str):
        _invalid(f, percent_problems(f.value), f.value)
        if int(f.value[:-1]) > 100:
            raise f.error(invalid(f.value, "must not be greater than 100%"))
        return f.value
    value = f.integer(minimum=INT32_MIN, maximum=INT32_MAX)
    if value < 0:
        raise f.error(invalid(value, "must be greater than or equal to 0"))
    return value


def parse_pdb(f: Field) -> PodDisruptionBudget:
    meta, spec = f.at("metadata"), f.at("spec")
    min_available = _int_or_percent(spec.at("minAvailable"))
    max_unavailable = _int_or_percent(spec.at("maxUnavailable"))
    if min_available is not None and max_unavailable is not None:
        raise spec.error(
            invalid(
                f"minAvailable: {min_available}, maxUnavailable: {max_unavailable}",
                "minAvailable and maxUnavailable cannot be both set",
            )
        )
    return PodDisruptionBudget(
        name=_name(meta, "PodDisruptionBudget"),
        namespace=_namespace(meta),
        selector=parse_label_selector(spec.at("selector")),
        min_available=min_available,
        max_unavailable=max_unavailable,
        disruptions_allowed=f.at("status").at("disruptionsAllowed").optional_integer(minimum=0),
    )


def parse_service(f: Field) -> Service:
    meta = f.at("metadata")
    selector = f.at("spec").at("selector")
    return Service(
        name=_name(meta, "Service"),
        namespace=_namespace(meta),
        selector=frozen_map(selector.labels()) if selector.value is not None else None,
    )


def parse_workload(f: Field) -> WorkloadSelector:
    """ReplicaSet/StatefulSet (spec.selector is a LabelSelector) or ReplicationController
    (spec.selector is a map; when empty the API server defaults it to the template's labels)."""
    meta, spec = f.at("metadata"), f.at("spec")
    kind = f.at("kind").text(required=True)
    selector: LabelSelector | None
    template_labels = spec.at("template").at("metadata").at("labels").labels()
    if kind == "ReplicationController":
        labels = spec.at("selector").labels() or template_labels
        if not labels:
            raise spec.at("selector").error(required_value())
        selector = LabelSelector(match_labels=frozen_map(labels))
        has_template = spec.at("template").value is not None
        if has_template and not selector_selects(selector, template_labels):
            raise _template_mismatch(spec, template_labels)
    else:
        read = template_labels if spec.at("template").value is not None else None
        selector = _controller_selector(spec, kind, read)
    return WorkloadSelector(
        kind=kind, name=_name(meta, kind), namespace=_namespace(meta), selector=selector
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


def list_item_kind(doc: object) -> str | None:
    """For a list document, the kind its items have when they do not say: ``""`` for the
    generic ``v1 List``, ``Pod`` for a ``v1 PodList`` and so on for the kinds podfit knows.
    None for anything else: a kind merely ending in ``List`` is not a list."""
    if not isinstance(doc, dict):
        return None
    kind, api_version = doc.get("kind"), doc.get("apiVersion")
    if not isinstance(kind, str) or not isinstance(api_version, str):
        return None
    if kind == "List":
        return "" if api_version == "v1" else None
    item = kind[: -len("List")] if kind.endswith("List") else ""
    accepted = SCHEDULING_KINDS.get(item) or (("v1",) if item in CORE_V1_OTHER_KINDS else ())
    return item if api_version in accepted else None


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
