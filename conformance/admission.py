"""Admission and QoS agreement: strategies for namespaces with LimitRanges and quotas, and
the properties that compare an implementation's admission and QoS answers with podfit's.

An adapter claims the area ``admission`` by having ``admit(cluster, pod) ->
AdmissionDecision`` and the area ``qos`` by having ``qos_class(pod) -> str`` (and naming
the areas in ``areas``). The pod given is what the API server has after defaulting, before
admission; ``admit`` answers whether the pod is created in its namespace (LimitRange
defaults and checks, priority, ResourceQuota) and, optionally, the pod as admitted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from hypothesis import strategies as st

from podfit.cluster import Cluster
from podfit.model import (
    Container,
    LimitRange,
    LimitRangeItem,
    Namespace,
    Node,
    Pod,
    ResourceList,
    ResourceQuota,
    ResourceRequirements,
    frozen_map,
    frozen_resources,
)

from .blame import Dispute, blamed_rules
from .decisions import ADMISSION_AREAS, AdmissionDecision
from .properties import Finding, Verdict, rule_ids
from .strategies import (
    IMAGE,
    MI,
    NAMESPACES,
    Draw,
    _flag,
    _int,
    _pick,
    cpu_quantity,
    finish_pod,
    quantity_of,
)

__all__ = [
    "ADMISSION_PROPERTIES",
    "ADMISSION_SPEC_AREAS",
    "admission_problems",
    "check_admission",
    "check_qos",
    "limit_ranges",
    "resource_quotas",
]

#: property name -> the area an adapter claims for it
ADMISSION_PROPERTIES: Mapping[str, str] = {"admission": "admission", "qos": "qos"}
#: area -> (the spec areas whose rules it checks, at which points)
ADMISSION_SPEC_AREAS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "admission": (("limitrange", "resourcequota"), ("admission",)),
    "qos": (("qos",), ("classification",)),
}

# Shared pools: a LimitRange bound, a quota and a container request meet when they come
# from the same few values (and one step apart).
CPU_MILLI: tuple[int, ...] = (100, 200, 500, 1000)
MEMORY_MI: tuple[int, ...] = (64, 128, 256, 512)
NODE_NAME = "node-0"


def _amounts(draw: Draw, names: Sequence[str]) -> dict[str, int]:
    """Some of cpu (millicores) and memory (MiB), from the pools."""
    out = {}
    for name in names:
        if _flag(draw):
            out[name] = _pick(draw, CPU_MILLI if name == "cpu" else MEMORY_MI)
    return out


def _resources(amounts: Mapping[str, int]) -> ResourceList:
    return frozen_resources(
        {
            name: cpu_quantity(v) if name == "cpu" else quantity_of(v * MI)
            for name, v in amounts.items()
        }
    )


def _ordered(draw: Draw, name: str, count: int) -> list[int]:
    """``count`` non-decreasing values from the pool of ``name`` (min <= default <= max)."""
    pool = CPU_MILLI if name == "cpu" else MEMORY_MI
    return sorted(_pick(draw, pool) for _ in range(count))


def _draw_limit_range_item(draw: Draw, kind: str) -> LimitRangeItem:
    fields: dict[str, dict[str, int]] = {
        "min": {},
        "max": {},
        "default": {},
        "default_request": {},
        "max_limit_request_ratio": {},
    }
    for name in ("cpu", "memory"):
        if not _flag(draw):
            continue
        # One chain keeps the object valid: min <= defaultRequest <= default <= max.
        low, request, limit, high = _ordered(draw, name, 4)
        for key, value in (
            ("min", low),
            ("max", high),
            ("default", limit),
            ("default_request", request),
        ):
            if kind == "Pod" and key in ("default", "default_request"):
                continue  # only Container items take defaults
            if _flag(draw):
                fields[key][name] = value
        if _int(draw, 0, 3) == 0:
            fields["max_limit_request_ratio"][name] = _pick(draw, (1, 2))
    ratio = frozen_resources(
        {k: quantity_of(v) for k, v in fields["max_limit_request_ratio"].items()}
    )
    return LimitRangeItem(
        type=kind,
        min=_resources(fields["min"]),
        max=_resources(fields["max"]),
        default=_resources(fields["default"]),
        default_request=_resources(fields["default_request"]),
        max_limit_request_ratio=ratio,
    )


def limit_ranges(*, namespace: str = NAMESPACES[0]) -> st.SearchStrategy[LimitRange]:
    """A valid LimitRange with a Container item and sometimes a Pod item: min, max,
    default, defaultRequest (ordered as the API requires) and maxLimitRequestRatio over
    cpu and memory. Shrinks toward an empty Container item."""

    def build(draw: Draw) -> LimitRange:
        items = [_draw_limit_range_item(draw, "Container")]
        if _flag(draw):
            items.append(_draw_limit_range_item(draw, "Pod"))
        return LimitRange(name="limits", namespace=namespace, limits=tuple(items))

    return st.composite(build)()


_QUOTA_KEYS = (
    "pods",
    "count/pods",
    "requests.cpu",
    "limits.cpu",
    "requests.memory",
    "limits.memory",
    "cpu",
    "memory",
)


def resource_quotas(*, namespace: str = NAMESPACES[0]) -> st.SearchStrategy[ResourceQuota]:
    """A ResourceQuota with a few ``hard`` entries (pod counts, requests and limits of cpu
    and memory) sized so that one more pod often just fits or just does not."""

    def build(draw: Draw) -> ResourceQuota:
        hard: dict[str, Any] = {}
        for key in _QUOTA_KEYS:
            if _int(draw, 0, 2) != 0:
                continue
            if key.endswith("pods"):
                hard[key] = quantity_of(_int(draw, 0, 3))
            elif key.endswith("cpu"):
                hard[key] = cpu_quantity(_pick(draw, (0, *CPU_MILLI, 1500, 2000)))
            else:
                hard[key] = quantity_of(_pick(draw, (0, *MEMORY_MI, 768, 1024)) * MI)
        return ResourceQuota(name="quota", namespace=namespace, hard=frozen_resources(hard))

    return st.composite(build)()


def _draw_container(draw: Draw, name: str, *, sidecar: bool = False) -> Container:
    requests = _amounts(draw, ("cpu", "memory"))
    limits = _amounts(draw, ("cpu", "memory"))
    for key, value in list(limits.items()):
        if key in requests and value < requests[key]:
            limits[key] = requests[key]  # the API refuses requests above limits
    return Container(
        name=name,
        image=IMAGE,
        resources=ResourceRequirements(requests=_resources(requests), limits=_resources(limits)),
        restart_policy="Always" if sidecar else None,
    )


def _draw_pod(draw: Draw, name: str, namespace: str, *, running: bool) -> Pod:
    containers = tuple(_draw_container(draw, f"c{i}") for i in range(_int(draw, 1, 2)))
    init: tuple[Container, ...] = ()
    if _int(draw, 0, 2) == 0:
        sidecar = _flag(draw)
        init = (_draw_container(draw, "sidecar" if sidecar else "init", sidecar=sidecar),)
    return finish_pod(
        Pod(
            name=name,
            namespace=namespace,
            containers=containers,
            init_containers=init,
            node_name=NODE_NAME if running else "",
            phase=_pick(draw, ("Running", "Running", "Succeeded")) if running else "",
        )
    )


def admission_problems(*, max_running_pods: int = 3) -> st.SearchStrategy[tuple[Cluster, Pod]]:
    """(cluster, pod) pairs for admission: a namespace with maybe a LimitRange and maybe a
    ResourceQuota, pods already in it, and a new pod with requests and limits (some
    missing, for the LimitRange to default) drawn from the same values as the bounds."""

    def build(draw: Draw) -> tuple[Cluster, Pod]:
        namespace = NAMESPACES[0]
        objects: list[Any] = [
            Namespace(
                name=namespace, labels=frozen_map({"kubernetes.io/metadata.name": namespace})
            ),
            Node(name=NODE_NAME),
        ]
        if _flag(draw):
            objects.append(draw(limit_ranges(namespace=namespace)))
        if _flag(draw):
            objects.append(draw(resource_quotas(namespace=namespace)))
        for i in range(_int(draw, 0, max_running_pods)):
            objects.append(_draw_pod(draw, f"pod-{i}", namespace, running=True))
        pod = _draw_pod(draw, "pending", namespace, running=False)
        return Cluster(objects).finish(), pod

    return st.composite(build)()


# --- properties --------------------------------------------------------------------------------


def _finding(
    prop: str, cluster: Cluster, pod: Pod, message: str, reference: str, scheduler: str
) -> Finding:
    area = ADMISSION_PROPERTIES[prop]
    spec_areas, points = ADMISSION_SPEC_AREAS[area]
    verdict = Verdict(
        areas=frozenset({area}), feasible=(), top=(), rejected={}, totals={}, message=reference
    )
    return Finding(
        property=prop,
        rule_ids=blamed_rules((area,), Dispute(cluster, pod, ()), rule_ids(spec_areas, points)),
        cluster=cluster,
        pod=pod,
        decision=None,
        reference=verdict,
        message=message,
        areas=(area,),
        scheduler=scheduler,
        replay="admit",
    )


def _resources_of(pod: Pod) -> list[tuple[str, ResourceRequirements]]:
    return [(c.name, c.resources) for c in pod.all_containers()]


def check_admission(adapter: Any, cluster: Cluster, pod: Pod) -> Finding | None:
    """The adapter admits exactly the pods podfit admits; when it returns the admitted pod,
    every container's requests and limits are the ones LimitRange defaulting gives."""
    from podfit.api import admit

    expected = admit(cluster, pod)
    reference = "admitted" if expected.admitted else f"rejected: {expected.reason}"
    try:
        answer = adapter.admit(cluster.copy(), pod)
    except Exception as exc:
        answer = AdmissionDecision(admitted=False, error=f"{type(exc).__name__}: {exc}")
    name = getattr(adapter, "name", type(adapter).__name__)
    if not isinstance(answer, AdmissionDecision):
        answer = AdmissionDecision(
            admitted=False, error=f"returned {type(answer).__name__}, not an AdmissionDecision"
        )
    if answer.error is not None:
        message = f"failed to answer: {answer.error}"
        return _finding("admission", cluster, pod, message, reference, name)
    if answer.admitted != expected.admitted:
        said = "admitted" if answer.admitted else f"rejected ({answer.reason or 'no reason'})"
        message = f"{said}, but podfit {reference}"
        return _finding("admission", cluster, pod, message, reference, name)
    if answer.admitted and answer.pod is not None:
        theirs, ours = _resources_of(answer.pod), _resources_of(expected.pod)
        if theirs != ours:
            wrong = [n for (n, a), (_, b) in zip(theirs, ours, strict=False) if a != b]
            message = (
                "admitted with other requests or limits than LimitRange defaulting gives "
                f"(containers: {', '.join(wrong) or 'different containers'})"
            )
            return _finding("admission", cluster, pod, message, reference, name)
    return None


def check_qos(adapter: Any, cluster: Cluster, pod: Pod) -> Finding | None:
    """The adapter's QoS class for the pod is podfit's."""
    from podfit.api import qos_class

    expected = qos_class(pod)
    name = getattr(adapter, "name", type(adapter).__name__)
    try:
        answer: object = adapter.qos_class(pod)
    except Exception as exc:
        answer = f"<raised {type(exc).__name__}: {exc}>"
    if answer != expected:
        message = f"QoS class {answer!r}, but podfit says {expected!r}"
        return _finding("qos", cluster, pod, message, expected, name)
    return None


def claimed_admission_areas(adapter: Any) -> frozenset[str]:
    """The admission areas the adapter claims and has the method for."""
    areas = frozenset(getattr(adapter, "areas", ())) & ADMISSION_AREAS
    return frozenset(
        a
        for a in areas
        if callable(getattr(adapter, "admit" if a == "admission" else "qos_class", None))
    )


def refine_admission_finding(adapter: Any, finding: Finding) -> Finding:
    """An admission or QoS finding with the rules it names checked against the scheduler
    (see :func:`podfit.conformance.blame.refine`)."""
    from .blame import Dispute, refine

    area = ADMISSION_PROPERTIES.get(finding.property)
    if area is None or not finding.rule_ids:
        return finding
    check = check_admission if finding.property == "admission" else check_qos
    spec_areas, points = ADMISSION_SPEC_AREAS[area]
    rules = refine(
        (area,),
        Dispute(finding.cluster, finding.pod, ()),
        rule_ids(spec_areas, points),
        lambda cluster, pod: check(adapter, cluster, pod) is not None,
    )
    return replace(finding, rule_ids=rules)
