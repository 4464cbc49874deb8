"""Hypothesis strategies for valid Kubernetes scheduling inputs.

Every strategy builds podfit model objects directly (never by filtering random data), runs
pods through API defaulting (:func:`podfit.defaults.default_pod`) and resolves their
priority, so what comes out is what a cluster would really hold. Each object survives
:func:`podfit.manifest.to_manifest` followed by :func:`podfit.loading.cluster_from_manifests`
unchanged.

The values come from small, shared pools on purpose: a taint and a toleration, or a node
label and a selector, only interact when they name the same key, so the pools make such
collisions common. Within the pools, the draws lean toward the boundaries the rules care
about: requests that exactly fill a node (and one unit more), taints with an empty value
next to ``Equal`` tolerations, integer-like label values for ``Gt``/``Lt`` (``9`` against
``10``, ``010``), sidecar and ordinary init containers, host ports on ``0.0.0.0`` next to
specific addresses, pods that already finished.

Shrinking goes toward few nodes, few labels, no taints or tolerations, no ports and small
(or no) requests, so a counterexample ends up as small as the failure allows.

The size knobs are keyword-only and checked when the strategy is created; a bad value
raises :class:`hypothesis.errors.InvalidArgument` saying what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from podfit.cluster import Cluster
from podfit.defaults import default_pod, resolve_priority
from podfit.model import (
    Affinity,
    Container,
    ContainerPort,
    LabelSelector,
    Node,
    NodeAffinity,
    NodeSelector,
    NodeSelectorTerm,
    Pod,
    PodAffinity,
    PodAffinityTerm,
    PreferredSchedulingTerm,
    Requirement,
    ResourceList,
    ResourceRequirements,
    Taint,
    Toleration,
    TopologySpreadConstraint,
    frozen_map,
    frozen_resources,
)
from podfit.quantity import Quantity, quantity_from_yaml

from .decisions import ALL_AREAS

__all__ = [
    "EXTENDED_RESOURCE",
    "HOSTNAME_KEY",
    "INTEGER_LABEL_KEY",
    "LABEL_KEYS",
    "TAINT_KEYS",
    "ZONE_KEY",
    "clusters",
    "containers",
    "label_keys",
    "label_selectors",
    "label_sets",
    "node_affinities",
    "node_selector_terms",
    "nodes",
    "pending_pods_for",
    "pod_affinity_terms",
    "pods",
    "resource_lists",
    "scheduling_problems",
    "taints",
    "tolerations",
    "topology_spread_constraints",
]

T = TypeVar("T")
Draw = Callable[[st.SearchStrategy[Any]], Any]

# --- the pools ---------------------------------------------------------------------------------

#: Label keys nodes carry and selectors ask about (shrinking keeps the first ones).
LABEL_KEYS: tuple[str, ...] = ("zone", "disk", "example.com/tier")
#: A label whose values look like integers, for Gt/Lt.
INTEGER_LABEL_KEY = "gen"
ALL_LABEL_KEYS: tuple[str, ...] = (*LABEL_KEYS, INTEGER_LABEL_KEY)


def _empty_label_values_survive() -> bool:
    """Whether manifests keep a label whose value is empty (a present key, unlike a missing
    one). A counterexample must replay as generated, so the empty value is only offered
    when :func:`podfit.manifest.to_manifest` writes it out."""
    from podfit.manifest import to_manifest

    manifest = to_manifest(Node(name="probe", labels=frozen_map({"k": ""})))
    labels = manifest.get("metadata", {}).get("labels", {})
    return isinstance(labels, dict) and labels.get("k") == ""


LABEL_VALUES: tuple[str, ...] = ("a", "b", "") if _empty_label_values_survive() else ("a", "b")
# Integer-like values: "9" < "10" as integers but not as strings; "010" parses as 10. Node
# labels and Gt/Lt bounds start from different ends, so the simplest pair already tells an
# integer comparison from a string one.
INTEGER_VALUES: tuple[str, ...] = ("10", "9", "010")
INTEGER_BOUNDS: tuple[str, ...] = ("9", "10", "010")

UNSCHEDULABLE_TAINT_KEY = "node.kubernetes.io/unschedulable"
TAINT_KEYS: tuple[str, ...] = ("dedicated", "example.com/gpu", UNSCHEDULABLE_TAINT_KEY)
TAINT_VALUES: tuple[str, ...] = ("", "a", "b")
TAINT_EFFECTS: tuple[str, ...] = ("NoSchedule", "PreferNoSchedule", "NoExecute")

HOST_PORTS: tuple[int, ...] = (8080, 80)
# "" and "0.0.0.0" both bind every address; the others are specific addresses.
HOST_IPS: tuple[str, ...] = ("", "0.0.0.0", "10.0.0.1", "10.0.0.2")
PROTOCOLS: tuple[str, ...] = ("TCP", "UDP")

EXTENDED_RESOURCE = "example.com/gpu"
HOSTNAME_KEY = "kubernetes.io/hostname"
ZONE_KEY = "topology.kubernetes.io/zone"
ZONES: tuple[str, ...] = ("z1", "z2")
APP_KEY = "app"
APP_VALUES: tuple[str, ...] = ("web", "db")
NAMESPACES: tuple[str, ...] = ("default", "team")
IMAGE = "registry.k8s.io/pause:3.10"
MISSING_NODE = "node-missing"

# Requests and capacities, smallest (or most typical) first.
CPU_REQUESTS_MILLI: tuple[int, ...] = (100, 250, 500, 1000)
MEMORY_REQUESTS_MI: tuple[int, ...] = (64, 256, 1024)
CPU_ALLOCATABLE_MILLI: tuple[int, ...] = (2000, 1000, 4000)
MEMORY_ALLOCATABLE_MI: tuple[int, ...] = (2048, 1024, 4096)
MI = 1024 * 1024
# Allocatable of clusters whose resources are not under test: nothing runs short.
AMPLE_CPU_MILLI = 64_000
AMPLE_MEMORY = 256 * 1024 * MI
DEFAULT_MAX_PODS = 110

CLUSTER_AREAS = frozenset({"inter-pod-affinity", "topology-spread"})
LABEL_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
# NotIn and DoesNotExist come twice: what they do on a node without the label (hold) is
# where implementations most often go wrong.
NODE_OPERATORS = (*LABEL_OPERATORS, "Gt", "Lt", "NotIn", "DoesNotExist")


# --- drawing helpers (strategies are built once and cached: building them per draw is slow) ----


@lru_cache(maxsize=1024)
def _sampled(pool: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from(pool)


def _pick(draw: Draw, pool: Sequence[T]) -> T:
    """One element of ``pool``; shrinks toward the first."""
    value: T = draw(_sampled(tuple(pool)))
    return value


def _int(draw: Draw, lo: int, hi: int) -> int:
    value: int = draw(st.integers(lo, hi))
    return value


def _flag(draw: Draw) -> bool:
    value: bool = draw(st.booleans())
    return value


def _some(draw: Draw, pool: Sequence[T], max_size: int, *, min_size: int = 0) -> list[T]:
    """Up to ``max_size`` distinct elements of ``pool`` (fewer when the pool is small)."""
    out: list[T] = []
    for _ in range(_int(draw, min_size, max_size)):
        item = _pick(draw, pool)
        if item not in out:
            out.append(item)
    return out


def _table(*axes: Sequence[Any]) -> tuple[tuple[Any, ...], ...]:
    """Every combination of the axes, simplest first (by the sum of the positions chosen).

    One draw from such a table replaces a draw per axis: Hypothesis pays per draw, and a
    table still shrinks toward its simplest entries."""
    import itertools

    combos = itertools.product(*(range(len(a)) for a in axes))
    ordered = sorted(combos, key=lambda idx: (sum(idx), idx))
    return tuple(tuple(axis[i] for axis, i in zip(axes, idx, strict=True)) for idx in ordered)


# --- argument checks ---------------------------------------------------------------------------


def _check_count(value: object, name: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name}={value!r} must be an integer")
    if value < minimum:
        raise InvalidArgument(f"{name}={value} must be at least {minimum}")
    return value


def _check_areas(areas: Iterable[str] | None) -> frozenset[str]:
    if areas is None:
        return ALL_AREAS
    if isinstance(areas, str):
        raise InvalidArgument(
            f"areas={areas!r} must be a collection of area names, not a string "
            f"(did you mean areas=[{areas!r}]?)"
        )
    chosen = frozenset(areas)
    unknown = sorted(chosen - ALL_AREAS)
    if unknown:
        raise InvalidArgument(
            f"unknown area(s) {', '.join(map(repr, unknown))}; known areas: "
            + ", ".join(sorted(ALL_AREAS))
        )
    return chosen


def _check_pool(
    values: Sequence[Any] | None, default: tuple[Any, ...], name: str
) -> tuple[Any, ...]:
    if values is None:
        return default
    if isinstance(values, str):
        raise InvalidArgument(f"{name}={values!r} must be a sequence of strings, not a string")
    pool = tuple(dict.fromkeys(values))
    if not pool:
        raise InvalidArgument(f"{name} must not be empty")
    return pool


def _check_label_keys(keys: Sequence[str] | None) -> tuple[str, ...]:
    from podfit.validation import qualified_name_problems

    pool: tuple[str, ...] = _check_pool(keys, ALL_LABEL_KEYS, "keys")
    for key in pool:
        problems = qualified_name_problems(key) if isinstance(key, str) else ["not a string"]
        if problems:
            raise InvalidArgument(f"keys: {key!r} is not a valid label key: {problems[0]}")
    return pool


def _check_label_values(values: Sequence[str] | None) -> tuple[str, ...]:
    from podfit.validation import label_value_problems

    pool: tuple[str, ...] = _check_pool(values, LABEL_VALUES, "values")
    for value in pool:
        problems = label_value_problems(value) if isinstance(value, str) else ["not a string"]
        if problems:
            raise InvalidArgument(f"values: {value!r} is not a valid label value: {problems[0]}")
    return pool


def _check_name(name: object, what: str = "name") -> str:
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"{what}={name!r} must be a non-empty string")
    return name


# --- quantities --------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _quantity(text: str) -> Quantity:
    """A quantity in the form a manifest round trip gives back (canonical text re-read)."""
    return quantity_from_yaml(str(quantity_from_yaml(text)))


def quantity_of(value: Fraction | int) -> Quantity:
    """A quantity for an exact amount (whole units, or whole thousandths)."""
    value = Fraction(value)
    if value.denominator == 1:
        return _quantity(str(value.numerator))
    return _quantity(f"{value * 1000}m")


def cpu_quantity(milli: int) -> Quantity:
    return quantity_of(Fraction(milli, 1000))


def _resources(cpu_milli: int = 0, memory: Fraction | int = 0, gpu: int = 0) -> ResourceList:
    out: dict[str, Quantity] = {}
    if cpu_milli:
        out["cpu"] = cpu_quantity(cpu_milli)
    if memory:
        out["memory"] = quantity_of(memory)
    if gpu:
        out[EXTENDED_RESOURCE] = quantity_of(gpu)
    return frozen_resources(out)


# --- labels and selectors ----------------------------------------------------------------------


def _draw_value(draw: Draw, key: str, values: Sequence[str]) -> str:
    return _pick(draw, INTEGER_VALUES if key == INTEGER_LABEL_KEY else values)


def _draw_labels(
    draw: Draw, keys: Sequence[str], values: Sequence[str], max_size: int
) -> Mapping[str, str]:
    return frozen_map({k: _draw_value(draw, k, values) for k in _some(draw, keys, max_size)})


def _draw_requirement(
    draw: Draw, key: str, values: Sequence[str], operators: Sequence[str]
) -> Requirement:
    """A valid requirement on ``key``: In/NotIn with 1-2 values, Exists/DoesNotExist with
    none, Gt/Lt with exactly one integer (offered only for the integer-valued key)."""
    ops = [op for op in operators if op not in ("Gt", "Lt") or key == INTEGER_LABEL_KEY]
    op = _pick(draw, ops)
    if op in ("Exists", "DoesNotExist"):
        return Requirement(key, op)
    if op in ("Gt", "Lt"):
        return Requirement(key, op, (_pick(draw, INTEGER_BOUNDS),))
    pool = INTEGER_VALUES if key == INTEGER_LABEL_KEY else values
    return Requirement(key, op, tuple(_some(draw, pool, 2, min_size=1)))


def _draw_label_selector(
    draw: Draw, keys: Sequence[str], values: Sequence[str], max_expressions: int
) -> LabelSelector:
    match_labels = _draw_labels(draw, keys, values, 2)
    expressions = tuple(
        _draw_requirement(draw, k, values, LABEL_OPERATORS)
        for k in [_pick(draw, keys) for _ in range(_int(draw, 0, max_expressions))]
    )
    return LabelSelector(match_labels=match_labels, match_expressions=expressions)


def _prefer(seen: Sequence[str], pool: Sequence[str]) -> tuple[str, ...]:
    """Values actually present first (so selectors often match), then the pool."""
    return tuple(dict.fromkeys((*seen, *pool)))


# Term shapes, most of them with a single deciding requirement: with several, one that
# fails hides what the others do. Repeats weigh the draw; the first shape is the simplest.
_TERM_SHAPES = ("empty", "one", "one", "numeric", "fields", "one+fields", "two")


def _draw_term(
    draw: Draw,
    keys: Sequence[str],
    seen_values: Mapping[str, Sequence[str]],
    values: Sequence[str],
    node_names: Sequence[str],
    *,
    max_expressions: int = 2,
    allow_empty: bool = True,
) -> NodeSelectorTerm:
    shapes = _TERM_SHAPES if allow_empty else _TERM_SHAPES[1:]
    shape = _pick(draw, shapes) if max_expressions else _pick(draw, ("empty", "fields"))
    count = {"one": 1, "one+fields": 1, "two": min(2, max_expressions)}.get(shape, 0)
    expressions = [
        _draw_requirement(draw, k, _prefer(seen_values.get(k, ()), values), NODE_OPERATORS)
        for k in [_pick(draw, keys) for _ in range(count)]
    ]
    if shape == "numeric":
        # Gt/Lt on the integer-valued label: a string comparison gets it wrong.
        op, bound = _pick(draw, ("Gt", "Lt")), _pick(draw, INTEGER_BOUNDS)
        expressions.append(Requirement(INTEGER_LABEL_KEY, op, (bound,)))
    fields: tuple[Requirement, ...] = ()
    if shape in ("fields", "one+fields"):
        op = _pick(draw, ("In", "NotIn"))
        name = _pick(draw, (*node_names, MISSING_NODE))
        fields = (Requirement("metadata.name", op, (name,)),)
    return NodeSelectorTerm(match_expressions=tuple(expressions), match_fields=fields)


def _draw_node_affinity(
    draw: Draw,
    keys: Sequence[str],
    seen_values: Mapping[str, Sequence[str]],
    values: Sequence[str],
    node_names: Sequence[str],
    max_terms: int = 2,
    max_expressions: int = 2,
) -> NodeAffinity:
    def term() -> NodeSelectorTerm:
        return _draw_term(
            draw, keys, seen_values, values, node_names, max_expressions=max_expressions
        )

    kind = _pick(draw, ("required", "preferred", "both"))
    required = None
    if kind != "preferred":
        # At least one term: the API rejects an empty nodeSelectorTerms list.
        count = _pick(draw, (1, 1, 2)) if max_terms > 1 else 1
        required = NodeSelector(terms=tuple(term() for _ in range(min(count, max_terms))))
    preferred: tuple[PreferredSchedulingTerm, ...] = ()
    if kind != "required":
        preferred = tuple(
            PreferredSchedulingTerm(weight=_pick(draw, (1, 50, 100)), preference=term())
            for _ in range(_int(draw, 1, 2))
        )
    return NodeAffinity(required=required, preferred=preferred)


def label_keys(*, keys: Sequence[str] | None = None) -> st.SearchStrategy[str]:
    """A label key from a small pool (``zone``, ``disk``, ``example.com/tier``, ``gen``).

    Examples from this strategy shrink toward the first key of the pool.
    """
    return st.sampled_from(_check_label_keys(keys))


def label_sets(
    *,
    keys: Sequence[str] | None = None,
    values: Sequence[str] | None = None,
    max_size: int = 3,
) -> st.SearchStrategy[Mapping[str, str]]:
    """A label map with keys from the pool; the ``gen`` key gets integer-like values
    (``9``, ``10``, ``010``), the others ``a``, ``b`` (or the empty value).

    Examples from this strategy shrink toward the empty map.
    """
    key_pool = _check_label_keys(keys)
    value_pool = _check_label_values(values)
    _check_count(max_size, "max_size")
    return st.composite(lambda draw: _draw_labels(draw, key_pool, value_pool, max_size))()


def label_selectors(
    *,
    keys: Sequence[str] | None = None,
    values: Sequence[str] | None = None,
    max_expressions: int = 2,
) -> st.SearchStrategy[LabelSelector]:
    """A valid metav1.LabelSelector (matchLabels; In, NotIn, Exists, DoesNotExist) over the
    label pool.

    Examples from this strategy shrink toward the empty selector ``{}`` (which matches
    every object).
    """
    key_pool = _check_label_keys(keys)
    value_pool = _check_label_values(values)
    _check_count(max_expressions, "max_expressions")
    return st.composite(
        lambda draw: _draw_label_selector(draw, key_pool, value_pool, max_expressions)
    )()


def node_selector_terms(
    *,
    keys: Sequence[str] | None = None,
    values: Sequence[str] | None = None,
    node_names: Sequence[str] = ("node-0",),
    max_expressions: int = 2,
    allow_empty: bool = True,
) -> st.SearchStrategy[NodeSelectorTerm]:
    """A valid node selector term: label requirements (Gt/Lt on the integer-valued key) and
    at most one ``metadata.name`` In/NotIn field requirement naming one of ``node_names`` or
    a node that does not exist. With ``allow_empty`` the term may be empty (it then selects
    no node).

    Examples from this strategy shrink toward the empty term (without ``allow_empty``: one
    requirement on the first key).
    """
    key_pool = _check_label_keys(keys)
    value_pool = _check_label_values(values)
    _check_count(max_expressions, "max_expressions")
    names: tuple[str, ...] = _check_pool(node_names, ("node-0",), "node_names")
    return st.composite(
        lambda draw: _draw_term(
            draw,
            key_pool,
            {},
            value_pool,
            names,
            max_expressions=max_expressions,
            allow_empty=allow_empty,
        )
    )()


def node_affinities(
    *,
    keys: Sequence[str] | None = None,
    values: Sequence[str] | None = None,
    node_names: Sequence[str] = ("node-0",),
    max_terms: int = 2,
) -> st.SearchStrategy[NodeAffinity]:
    """Node affinity with required terms (ORed; at least one, as the API requires),
    preferred terms (weights 1-100), or both, never neither.

    Examples from this strategy shrink toward one empty required term and no preferences.
    """
    key_pool = _check_label_keys(keys)
    value_pool = _check_label_values(values)
    names: tuple[str, ...] = _check_pool(node_names, ("node-0",), "node_names")
    _check_count(max_terms, "max_terms", minimum=1)
    return st.composite(
        lambda draw: _draw_node_affinity(draw, key_pool, {}, value_pool, names, max_terms)
    )()


# --- taints and tolerations --------------------------------------------------------------------


def _draw_taint(
    draw: Draw, keys: Sequence[str], values: Sequence[str], effects: Sequence[str]
) -> Taint:
    return Taint(key=_pick(draw, keys), value=_pick(draw, values), effect=_pick(draw, effects))


# "" is an omitted operator: it means Equal, and the API server leaves it empty.
TOLERATION_OPERATOR_FORMS = ("Equal", "Exists", "")


def _draw_toleration(draw: Draw, keys: Sequence[str], values: Sequence[str]) -> Toleration:
    operator = _pick(draw, TOLERATION_OPERATOR_FORMS)
    if operator == "Exists":
        # An empty key with Exists tolerates every taint.
        key, value = _pick(draw, (*keys, "")), ""
    else:
        key, value = _pick(draw, keys), _pick(draw, values)
    effect = _pick(draw, ("", *TAINT_EFFECTS))
    seconds = _pick(draw, (None, 0, 300)) if effect == "NoExecute" else None
    return Toleration(
        key=key, operator=operator, value=value, effect=effect, toleration_seconds=seconds
    )


def _draw_toleration_for(draw: Draw, node_taints: Sequence[Taint]) -> Toleration:
    """A toleration; half the time aimed at a taint the nodes have: its key, its value or
    another, its effect, no effect, or another effect, with Equal or Exists."""
    if not node_taints or not _flag(draw):
        return _draw_toleration(draw, TAINT_KEYS, TAINT_VALUES)
    taint = _pick(draw, node_taints)
    operator = _pick(draw, TOLERATION_OPERATOR_FORMS)
    value = _pick(draw, _prefer((taint.value,), TAINT_VALUES)) if operator != "Exists" else ""
    effect = _pick(draw, tuple(dict.fromkeys((taint.effect, "", *TAINT_EFFECTS))))
    seconds = _pick(draw, (None, 0, 300)) if effect == "NoExecute" else None
    return Toleration(
        key=taint.key, operator=operator, value=value, effect=effect, toleration_seconds=seconds
    )


def taints(
    *,
    keys: Sequence[str] | None = None,
    values: Sequence[str] | None = None,
    effects: Sequence[str] | None = None,
) -> st.SearchStrategy[Taint]:
    """A taint with key, value and effect from small pools (the value is often empty).

    Examples from this strategy shrink toward ``dedicated:NoSchedule``.
    """
    key_pool: tuple[str, ...] = _check_pool(keys, TAINT_KEYS, "keys")
    value_pool: tuple[str, ...] = _check_pool(values, TAINT_VALUES, "values")
    effect_pool: tuple[str, ...] = _check_pool(effects, TAINT_EFFECTS, "effects")
    for effect in effect_pool:
        if effect not in TAINT_EFFECTS:
            raise InvalidArgument(
                f"effects: {effect!r} is not a taint effect ({', '.join(TAINT_EFFECTS)})"
            )
    return st.composite(lambda draw: _draw_taint(draw, key_pool, value_pool, effect_pool))()


def tolerations(
    *,
    keys: Sequence[str] | None = None,
    values: Sequence[str] | None = None,
) -> st.SearchStrategy[Toleration]:
    """A valid toleration: ``Equal`` (with a key; any value, the empty one included) or
    ``Exists`` (no value; an empty key tolerates every taint); the effect is empty (every
    effect) or one effect; ``tolerationSeconds`` only with ``NoExecute``.

    Examples from this strategy shrink toward ``{key: dedicated, operator: Equal}`` with an
    empty value and effect.
    """
    key_pool: tuple[str, ...] = _check_pool(keys, TAINT_KEYS, "keys")
    value_pool: tuple[str, ...] = _check_pool(values, TAINT_VALUES, "values")
    return st.composite(lambda draw: _draw_toleration(draw, key_pool, value_pool))()


# --- pod affinity and topology spread -----------------------------------------------------------


def _draw_app_selector(draw: Draw, own: str = "") -> LabelSelector | None:
    """A selector over the ``app`` label the generated pods carry (or none: selects no pod);
    ``app=<own>`` first when the pod has an ``app`` label of its own."""
    kind = _pick(draw, ("equals", "empty", "in", "exists", "absent"))
    if kind == "equals":
        value = _pick(draw, _prefer((own,) if own else (), APP_VALUES))
        return LabelSelector(match_labels=frozen_map({APP_KEY: value}))
    if kind == "empty":
        return LabelSelector()
    if kind == "in":
        values = tuple(_some(draw, APP_VALUES, 2, min_size=1))
        return LabelSelector(match_expressions=(Requirement(APP_KEY, "In", values),))
    if kind == "exists":
        return LabelSelector(match_expressions=(Requirement(APP_KEY, "Exists"),))
    return None


def _draw_pod_affinity_term(draw: Draw) -> PodAffinityTerm:
    scope = _pick(draw, ("own", "listed", "all"))
    return PodAffinityTerm(
        topology_key=_pick(draw, (HOSTNAME_KEY, ZONE_KEY)),
        label_selector=_draw_app_selector(draw),
        namespaces=(_pick(draw, NAMESPACES),) if scope == "listed" else (),
        namespace_selector=LabelSelector() if scope == "all" else None,
    )


def _draw_spread(draw: Draw, own: str = "") -> TopologySpreadConstraint:
    # Mostly DoNotSchedule: only it filters, and filtering is what most checks are about.
    action = _pick(draw, ("DoNotSchedule", "ScheduleAnyway", "DoNotSchedule"))
    # The API allows minDomains only with DoNotSchedule.
    min_domains = _pick(draw, (None, 2, 3)) if action == "DoNotSchedule" else None
    return TopologySpreadConstraint(
        max_skew=_int(draw, 1, 2),
        topology_key=_pick(draw, (HOSTNAME_KEY, ZONE_KEY)),
        when_unsatisfiable=action,
        label_selector=_draw_app_selector(draw, own),
        min_domains=min_domains,
        # None: omitted, as most manifests leave it (the API server does not default it).
        node_affinity_policy=_pick(draw, (None, "Ignore", "Honor")),
        node_taints_policy=_pick(draw, (None, "Honor", "Ignore")),
    )


def pod_affinity_terms() -> st.SearchStrategy[PodAffinityTerm]:
    """A pod affinity term over the ``app`` label, by hostname or zone, covering the pod's
    own namespace, a listed one, or every namespace (``namespaceSelector: {}``).

    Examples from this strategy shrink toward ``app=web`` on ``kubernetes.io/hostname`` in the
    pod's own namespace.
    """
    return st.composite(_draw_pod_affinity_term)()


def topology_spread_constraints() -> st.SearchStrategy[TopologySpreadConstraint]:
    """A topology spread constraint over the ``app`` label by hostname or zone, maxSkew 1-2,
    either action, ``minDomains`` only with DoNotSchedule (as the API requires), and either
    node inclusion policy.

    Examples from this strategy shrink toward ``maxSkew: 1`` by hostname, DoNotSchedule,
    ``app=web``, default policies.
    """
    return st.composite(_draw_spread)()


# --- resources and containers ------------------------------------------------------------------


@lru_cache(maxsize=16)
def _request_table(cpu: bool, memory: bool, extended: bool) -> tuple[tuple[Any, ...], ...]:
    return _table(
        (0, *CPU_REQUESTS_MILLI) if cpu else (0,),
        (0, *MEMORY_REQUESTS_MI) if memory else (0,),
        (0, 1, 2) if extended else (0,),
    )


def _draw_requests(draw: Draw, *, cpu: bool, memory: bool, extended: bool) -> ResourceList:
    cpu_milli, mem_mi, gpu = _pick(draw, _request_table(cpu, memory, extended))
    return _resources(cpu_milli, mem_mi * MI, gpu)


def _draw_requirements(draw: Draw, requests: ResourceList) -> ResourceRequirements:
    """The requests as requests, as limits only (defaulting copies them to requests), or with
    limits twice the requests. Extended resources always get limits equal to the requests
    (the API requires it for resources that cannot be overcommitted)."""
    if not requests:
        return ResourceRequirements()
    mode = _pick(draw, ("requests", "limits", "both"))
    extended = {k: q for k, q in requests.items() if k not in ("cpu", "memory")}
    if mode == "requests":
        return ResourceRequirements(requests=requests, limits=frozen_resources(extended))
    if mode == "limits":
        return ResourceRequirements(limits=requests)
    limits = dict(extended)
    for name in ("cpu", "memory"):
        if name in requests:
            limits[name] = quantity_of(requests[name].value * 2)
    return ResourceRequirements(requests=requests, limits=frozen_resources(limits))


# (hostIP, protocol, hostPort) as a running pod holds it.
HeldPort = tuple[str, str, int]
_PORT_TABLE = _table(HOST_PORTS, PROTOCOLS, HOST_IPS)


def _draw_ports(
    draw: Draw,
    taken: set[tuple[int, str]],
    *,
    host_network: bool,
    held: Sequence[HeldPort] = (),
    max_ports: int = 2,
    aim: bool = False,
) -> tuple[ContainerPort, ...]:
    """Host ports, unique by (hostPort, protocol) within the pod as the API requires (a
    duplicate drawn is dropped, not redrawn). Half the time a port aims at one that a
    running pod holds (``held``): the same number, the same or the other protocol, the same
    or another address; with ``aim``, every time."""
    out = []
    for _ in range(_int(draw, 0, max_ports)):
        if held and (aim or _flag(draw)):
            held_ip, held_protocol, port = _pick(draw, held)
            ip = _pick(draw, tuple(dict.fromkeys((held_ip, *HOST_IPS))))
            protocol = _pick(draw, tuple(dict.fromkeys((held_protocol, *PROTOCOLS))))
        else:
            port, protocol, ip = _pick(draw, _PORT_TABLE)
        if (port, protocol) in taken:
            continue
        taken.add((port, protocol))
        if host_network:
            # hostNetwork requires hostPort == containerPort (0 is defaulted to it).
            host_port = _pick(draw, (port, 0))
            out.append(ContainerPort(container_port=port, host_port=host_port, protocol=protocol))
        else:
            out.append(
                ContainerPort(container_port=port, host_port=port, host_ip=ip, protocol=protocol)
            )
    return tuple(out)


def resource_lists(
    *,
    cpu: bool = True,
    memory: bool = True,
    extended: bool = False,
) -> st.SearchStrategy[ResourceList]:
    """Requests for cpu (100m-1), memory (64Mi-1Gi) and, with ``extended``, a count of
    ``example.com/gpu``; each resource may be left out.

    Examples from this strategy shrink toward the empty list, then the smallest amounts.
    """
    return st.composite(
        lambda draw: _draw_requests(draw, cpu=cpu, memory=memory, extended=extended)
    )()


def containers(
    *,
    name: str = "c0",
    requests: bool = True,
    extended: bool = False,
    ports: bool = True,
    sidecar: bool = False,
) -> st.SearchStrategy[Container]:
    """One container with requests (as requests, as limits only, or both) and host ports
    from the pools. With ``sidecar`` it is an init container with ``restartPolicy: Always``.

    Examples from this strategy shrink toward a container with no resources and no ports.
    """
    _check_name(name)

    def build(draw: Draw) -> Container:
        resources = ResourceRequirements()
        if requests:
            drawn = _draw_requests(draw, cpu=True, memory=True, extended=extended)
            resources = _draw_requirements(draw, drawn)
        return Container(
            name=name,
            image=IMAGE,
            resources=resources,
            ports=_draw_ports(draw, set(), host_network=False) if ports else (),
            restart_policy="Always" if sidecar else None,
        )

    return st.composite(build)()


# --- nodes -------------------------------------------------------------------------------------


def _used(pods: Iterable[Pod]) -> dict[str, int]:
    """What the pods hold together (in-place resizes included): cpu in millicores, the rest
    in units (rounded up)."""
    from podfit.reference.resources import bound_pod_requests

    total: dict[str, Fraction] = {}
    for pod in pods:
        for name, amount in bound_pod_requests(pod).items():
            total[name] = total.get(name, Fraction(0)) + amount
    return {n: math.ceil(v * 1000) if n == "cpu" else math.ceil(v) for n, v in total.items()}


_ALLOCATABLE_TABLE = _table(CPU_ALLOCATABLE_MILLI, MEMORY_ALLOCATABLE_MI, (0, 1, 2), (0, 1, 2))


@dataclass(frozen=True)
class _NodeSkeleton:
    """A node before its allocatable is chosen (which depends on the pods placed on it)."""

    name: str
    labels: Mapping[str, str]
    taints: tuple[Taint, ...]
    unschedulable: bool

    def finish(self, draw: Draw, areas: frozenset[str], running: Sequence[Pod]) -> Node:
        if "resources" in areas:
            active = [p for p in running if not p.is_terminal]
            # Pods: the usual 110, exactly full, or one slot left.
            cpu_milli, memory_mi, pods_kind, gpu = _pick(draw, _ALLOCATABLE_TABLE)
            max_pods = (DEFAULT_MAX_PODS, len(active), len(active) + 1)[pods_kind]
            # The kubelet admits only pods that fit, so a node holds at least what its pods
            # request; when they ask for more than the size drawn, the node is exactly full.
            used = _used(active)
            cpu_milli = max(cpu_milli, used.get("cpu", 0))
            memory = max(memory_mi * MI, used.get("memory", 0))
            gpu = max(gpu, used.get(EXTENDED_RESOURCE, 0))
        else:
            cpu_milli, memory, max_pods, gpu = AMPLE_CPU_MILLI, AMPLE_MEMORY, DEFAULT_MAX_PODS, 0
        allocatable = dict(_resources(cpu_milli, memory, gpu))
        allocatable["pods"] = quantity_of(max_pods)
        return Node(
            name=self.name,
            labels=frozen_map(self.labels),
            taints=self.taints,
            unschedulable=self.unschedulable,
            capacity=frozen_resources(allocatable),
            allocatable=frozen_resources(allocatable),
        )


def _draw_skeleton(draw: Draw, name: str, areas: frozenset[str], zone: str) -> _NodeSkeleton:
    unschedulable = "node-unschedulable" in areas and _flag(draw)
    labels: dict[str, str] = {}
    if "node-affinity" in areas:
        labels.update(_draw_labels(draw, LABEL_KEYS, LABEL_VALUES, 2))
        generation = _pick(draw, (None, *INTEGER_VALUES))
        if generation is not None:
            labels[INTEGER_LABEL_KEY] = generation
    if areas & CLUSTER_AREAS:
        labels[HOSTNAME_KEY] = name
        # Now and then a node without a zone: spreading and affinity treat it specially.
        if zone != ZONES[-1] or not _flag(draw):
            labels[ZONE_KEY] = zone
    node_taints: list[Taint] = []
    if "taints" in areas:
        node_taints = [
            _draw_taint(draw, TAINT_KEYS, TAINT_VALUES, TAINT_EFFECTS)
            for _ in range(_int(draw, 0, 2))
        ]
        if unschedulable and _flag(draw):
            # The node lifecycle controller taints cordoned nodes too.
            node_taints.append(Taint(key=UNSCHEDULABLE_TAINT_KEY, effect="NoSchedule"))
    # Taints are unique by (key, effect).
    unique: dict[tuple[str, str], Taint] = {}
    for t in node_taints:
        unique.setdefault((t.key, t.effect), t)
    return _NodeSkeleton(name, labels, tuple(unique.values()), unschedulable)


def draw_node(draw: Draw, index: int, areas: frozenset[str]) -> Node:
    """Node ``node-<index>`` as :func:`nodes` makes it (for stateful tests)."""
    zone = ZONES[index % len(ZONES)]
    return _draw_skeleton(draw, f"node-{index}", areas, zone).finish(draw, areas, [])


def nodes(*, name: str = "node-0", areas: Iterable[str] | None = None) -> st.SearchStrategy[Node]:
    """A node with the features of ``areas``: labels (node-affinity; hostname and zone for
    the cluster areas), taints (taints), the cordon flag (node-unschedulable) and allocatable
    cpu, memory, ``example.com/gpu`` and pods (resources; otherwise ample).

    Examples from this strategy shrink toward a node with no labels or taints, not cordoned,
    with 2 cpu, 2Gi and 110 pods.
    """
    _check_name(name)
    chosen = _check_areas(areas)
    return st.composite(
        lambda draw: _draw_skeleton(draw, name, chosen, ZONES[0]).finish(draw, chosen, [])
    )()


# --- pods --------------------------------------------------------------------------------------


def finish_pod(pod: Pod) -> Pod:
    """API defaulting, then priority admission (no PriorityClasses: priority 0)."""
    return resolve_priority(default_pod(pod), {})


@dataclass(frozen=True)
class _Context:
    """What the pending pod's draws aim at: the cluster it is going to be scheduled into."""

    node_names: tuple[str, ...]
    label_values: Mapping[str, tuple[str, ...]]
    taints: tuple[Taint, ...]
    # Per resource, what each node has free (cpu in millicores, the rest in units).
    cpu_targets: tuple[int, ...]
    memory_targets: tuple[int, ...]
    gpu_targets: tuple[int, ...]
    held_ports: tuple[HeldPort, ...]
    # The (app label, namespace) of running pods, for spread and affinity to count.
    apps: tuple[tuple[str, str], ...] = ()

    @classmethod
    def generic(cls, node_names: Sequence[str]) -> _Context:
        return cls(tuple(node_names), {}, (), (), (), (), ())

    @classmethod
    def of(cls, cluster: Cluster) -> _Context:
        from podfit.reference.resources import bound_pod_requests

        values: dict[str, list[str]] = {}
        for node in cluster.nodes.values():
            for key, value in node.labels.items():
                values.setdefault(key, []).append(value)
        used: dict[str, dict[str, Fraction]] = {n: {} for n in cluster.nodes}
        ports: list[HeldPort] = []
        for pod in cluster.bound_pods():
            if pod.is_terminal or pod.node_name not in used:
                continue
            for res, amount in bound_pod_requests(pod).items():
                used[pod.node_name][res] = used[pod.node_name].get(res, Fraction(0)) + amount
            # The ports a pod holds: its containers' and its sidecars'.
            for c in (*pod.containers, *(c for c in pod.init_containers if c.is_sidecar)):
                ports.extend((p.host_ip, p.protocol, p.host_port) for p in c.ports if p.host_port)
        targets: dict[str, set[int]] = {"cpu": set(), "memory": set(), EXTENDED_RESOURCE: set()}
        for name, node in cluster.nodes.items():
            for res, into in targets.items():
                alloc = node.allocatable.get(res)
                if alloc is None:
                    continue
                scale = 1000 if res == "cpu" else 1
                free = int((alloc.value - used[name].get(res, Fraction(0))) * scale)
                if free > 0:
                    into.add(free)
        return cls(
            node_names=tuple(cluster.nodes),
            label_values={k: tuple(dict.fromkeys(v)) for k, v in values.items()},
            taints=tuple(dict.fromkeys(t for n in cluster.nodes.values() for t in n.taints)),
            cpu_targets=tuple(sorted(targets["cpu"])),
            memory_targets=tuple(sorted(targets["memory"])),
            gpu_targets=tuple(sorted(targets[EXTENDED_RESOURCE])),
            held_ports=tuple(dict.fromkeys(ports)),
            apps=tuple(
                dict.fromkeys(
                    (p.labels[APP_KEY], p.namespace)
                    for p in cluster.bound_pods()
                    if not p.is_terminal and APP_KEY in p.labels
                )
            ),
        )


@dataclass(frozen=True)
class _Shape:
    """Which containers a pod has: app containers, an ordinary init container, a sidecar."""

    containers: int = 1
    init: bool = False
    sidecar: bool = False
    overhead: bool = False


def _split(draw: Draw, total: int, shape: _Shape, unit: int) -> dict[str, int]:
    """Divide a pod's total request of one resource among its parts so that the pod's
    effective request (app containers + sidecar, or the init container if larger, plus the
    overhead) comes out at exactly ``total``."""
    parts: dict[str, int] = {}
    rest = total
    if shape.overhead and rest > 0:
        parts["overhead"] = min(rest, unit)
        rest -= parts["overhead"]
    apps = rest
    if shape.sidecar:
        parts["sidecar"] = _pick(draw, (rest // 2, rest))
        apps = rest - parts["sidecar"]
    if shape.init:
        # Never above the running total, so it ties with it: max, not sum, keeps it exact.
        parts["init"] = _pick(draw, (rest, rest // 2))
    parts["c0"] = apps // 2 if shape.containers == 2 else apps
    if shape.containers == 2:
        parts["c1"] = apps - parts["c0"]
    return parts


def _draw_total(draw: Draw, grid: Sequence[int], free: Sequence[int]) -> int:
    """A pod's total request of one resource: from the grid, or, about as often, exactly
    what a node has free, or one unit more. One draw from one pool, 0 first, so shrinking
    reaches no request, then the smallest amounts."""
    return _pick(draw, _total_pool(tuple(grid), tuple(free)))


@lru_cache(maxsize=1024)
def _total_pool(grid: tuple[int, ...], free: tuple[int, ...]) -> tuple[int, ...]:
    plain = (0, *grid)
    edges = tuple(v for f in free for v in (f, f + 1))
    if not edges:
        return plain
    # Repeats weigh the boundaries up to about half the draws.
    return (*plain, *edges * max(1, -(-len(plain) // len(edges))))


def _draw_pod_resources(
    draw: Draw, shape: _Shape, context: _Context
) -> tuple[dict[str, ResourceList], ResourceList]:
    """Per part (c0, c1, init, sidecar) its requests, and the overhead."""
    cpu = _split(draw, _draw_total(draw, CPU_REQUESTS_MILLI, context.cpu_targets), shape, 50)
    mem_grid = tuple(m * MI for m in MEMORY_REQUESTS_MI)
    memory = _split(draw, _draw_total(draw, mem_grid, context.memory_targets), shape, 16 * MI)
    # Extended resources now and then: a node without them rejects every pod that asks.
    gpu = _draw_total(draw, (1,), context.gpu_targets) if _flag(draw) else 0
    # Now and then the first container asks for half a byte less, as "0.1Gi" (107374182.4
    # bytes) does: kube-scheduler rounds each quantity up to whole bytes, so the pod's total
    # stays the same, and a scheduler that rounds down is one byte short.
    amounts: dict[str, Fraction | int] = dict(memory)
    if amounts.get("c0") and _flag(draw):
        amounts["c0"] = Fraction(memory["c0"]) - Fraction(1, 2)
    parts = {
        part: _resources(cpu.get(part, 0), amounts.get(part, 0), gpu if part == "c0" else 0)
        for part in ("c0", "c1", "init", "sidecar")
    }
    return parts, _resources(cpu.get("overhead", 0), memory.get("overhead", 0))


def _draw_app_labels(
    draw: Draw, seen: Sequence[tuple[str, str]] = ()
) -> tuple[Mapping[str, str], str]:
    """An ``app`` label and a namespace; half the time those of a running pod (``seen``),
    so that spread and affinity have pods to count."""
    if seen and _flag(draw):
        value, namespace = _pick(draw, seen)
    else:
        value, namespace = _pick(draw, (*APP_VALUES, "")), _pick(draw, NAMESPACES)
    return frozen_map({APP_KEY: value} if value else {}), namespace


def _draw_pod_affinity(draw: Draw) -> PodAffinity | None:
    required = tuple(_draw_pod_affinity_term(draw) for _ in range(_int(draw, 0, 1)))
    return PodAffinity(required=required) if required else None


def _draw_pending_pod(draw: Draw, name: str, areas: frozenset[str], context: _Context) -> Pod:
    shape = _Shape()
    if areas & {"resources", "node-ports"}:
        # Separate coin flips: a table would favour its first rows, and these parts are
        # where the resource and port rules differ most from what people expect.
        shape = _Shape(
            containers=_int(draw, 1, 2),
            init=_flag(draw),
            sidecar=_flag(draw),
            overhead="resources" in areas and _flag(draw),
        )
    requests: dict[str, ResourceList] = {}
    overhead = frozen_resources()
    if "resources" in areas:
        requests, overhead = _draw_pod_resources(draw, shape, context)
    host_network = "node-ports" in areas and _flag(draw)
    taken: set[tuple[int, str]] = set()

    def part(part_name: str, *, sidecar: bool = False) -> Container:
        ports: tuple[ContainerPort, ...] = ()
        if "node-ports" in areas:
            # An ordinary init container's ports matter only in that they do not count:
            # aim them at held ports, where counting them would wrongly clash.
            ports = _draw_ports(
                draw,
                taken,
                host_network=host_network,
                held=context.held_ports,
                aim=part_name == "init",
            )
        return Container(
            name=part_name,
            image=IMAGE,
            resources=_draw_requirements(draw, requests.get(part_name, frozen_resources())),
            ports=ports,
            restart_policy="Always" if sidecar else None,
        )

    app = tuple(part(f"c{i}") for i in range(shape.containers))
    init: list[Container] = []
    if shape.sidecar:
        init.append(part("sidecar", sidecar=True))
    if shape.init:
        init.append(part("init"))
    if shape.sidecar and shape.init and _flag(draw):
        # An ordinary init container may run before the sidecar starts.
        init.reverse()

    tolerations_: tuple[Toleration, ...] = ()
    if areas & {"taints", "node-unschedulable"}:
        tolerations_ = tuple(
            _draw_toleration_for(draw, context.taints) for _ in range(_int(draw, 0, 3))
        )

    node_selector: Mapping[str, str] = frozen_map()
    node_affinity: NodeAffinity | None = None
    if "node-affinity" in areas:
        mode = _pick(draw, ("none", "selector", "affinity", "affinity", "both"))
        if mode in ("selector", "both"):
            node_selector = frozen_map(
                {
                    key: _pick(
                        draw,
                        _prefer(
                            context.label_values.get(key, ()),
                            INTEGER_VALUES if key == INTEGER_LABEL_KEY else LABEL_VALUES,
                        ),
                    )
                    for key in _some(draw, ALL_LABEL_KEYS, 2, min_size=1)
                }
            )
        if mode in ("affinity", "both"):
            # Few requirements per term, so that one of them decides often enough.
            node_affinity = _draw_node_affinity(
                draw,
                ALL_LABEL_KEYS,
                context.label_values,
                LABEL_VALUES,
                context.node_names,
                max_expressions=1,
            )

    labels: Mapping[str, str] = frozen_map()
    namespace = NAMESPACES[0]
    pod_affinity = anti_affinity = None
    spread: tuple[TopologySpreadConstraint, ...] = ()
    if areas & CLUSTER_AREAS:
        labels, namespace = _draw_app_labels(draw, context.apps)
    if "inter-pod-affinity" in areas:
        pod_affinity = _draw_pod_affinity(draw)
        anti_affinity = _draw_pod_affinity(draw)
    if "topology-spread" in areas:
        unique: dict[tuple[str, str], TopologySpreadConstraint] = {}
        own = labels.get(APP_KEY, "")
        for c in (_draw_spread(draw, own) for _ in range(_int(draw, 0, 2))):
            # The API rejects two constraints with the same topologyKey and action.
            unique.setdefault((c.topology_key, c.when_unsatisfiable), c)
        spread = tuple(unique.values())

    affinity = None
    if node_affinity is not None or pod_affinity is not None or anti_affinity is not None:
        affinity = Affinity(
            node_affinity=node_affinity, pod_affinity=pod_affinity, pod_anti_affinity=anti_affinity
        )
    return finish_pod(
        Pod(
            name=name,
            namespace=namespace,
            labels=labels,
            containers=app,
            init_containers=tuple(init),
            overhead=overhead,
            node_selector=node_selector,
            affinity=affinity,
            tolerations=tolerations_,
            topology_spread_constraints=spread,
            host_network=host_network,
        )
    )


def pods(
    *,
    name: str = "pod-0",
    areas: Iterable[str] | None = None,
    node_names: Sequence[str] = ("node-0",),
) -> st.SearchStrategy[Pod]:
    """A pending pod with the features of ``areas``: requests spread over app containers,
    init containers, sidecars and overhead (resources), tolerations (taints,
    node-unschedulable), nodeSelector and node affinity naming ``node_names`` in matchFields
    (node-affinity), host ports and hostNetwork (node-ports), labels, pod (anti-)affinity and
    topology spread constraints (the cluster areas). It is defaulted and its priority
    resolved.

    Examples from this strategy shrink toward one container that requests nothing.
    """
    _check_name(name)
    chosen = _check_areas(areas)
    names: tuple[str, ...] = _check_pool(node_names, ("node-0",), "node_names")
    context = _Context.generic(names)
    return st.composite(lambda draw: _draw_pending_pod(draw, name, chosen, context))()


# --- running pods and clusters -----------------------------------------------------------------


# Mostly running pods (terminal ones hold nothing, so they only matter now and then).
_PHASES = ("Running", "Succeeded", "Running", "Failed", "Running")
_RUNNING_TABLE = _table(_PHASES, ("none", "sidecar", "init"))
_RUNNING_PLAIN = _table(_PHASES, ("none",))


def _draw_running_pod(draw: Draw, index: int, node_name: str, areas: frozenset[str]) -> Pod:
    with_init = bool(areas & {"resources", "node-ports"})
    phase, kind = _pick(draw, _RUNNING_TABLE if with_init else _RUNNING_PLAIN)
    taken: set[tuple[int, str]] = set()
    with_ports = "node-ports" in areas
    host_network = with_ports and _flag(draw)

    def container(name: str, *, sidecar: bool = False) -> Container:
        resources = ResourceRequirements()
        status: ResourceList | None = None
        if "resources" in areas:
            drawn = _draw_requests(draw, cpu=True, memory=True, extended=True)
            resources = _draw_requirements(draw, drawn)
            # Now and then an in-place resize under way: the status reports other requests
            # than the spec (what the kubelet actuated), and the node holds the larger.
            if _pick(draw, (False, False, True)):
                status = _draw_requests(draw, cpu=True, memory=True, extended=False) or None
        return Container(
            name=name,
            image=IMAGE,
            resources=resources,
            ports=_draw_ports(draw, taken, host_network=host_network) if with_ports else (),
            restart_policy="Always" if sidecar else None,
            status_requests=status,
        )

    app = (container("c0"),)
    init: tuple[Container, ...] = ()
    if kind != "none":
        init = (container(kind, sidecar=kind == "sidecar"),)
    labels: Mapping[str, str] = frozen_map()
    namespace = NAMESPACES[0]
    affinity = None
    if areas & CLUSTER_AREAS:
        labels, namespace = _draw_app_labels(draw)
    if "inter-pod-affinity" in areas:
        anti = _draw_pod_affinity(draw)
        affinity = Affinity(pod_anti_affinity=anti) if anti is not None else None
    return finish_pod(
        Pod(
            name=f"pod-{index}",
            namespace=namespace,
            labels=labels,
            containers=app,
            init_containers=init,
            affinity=affinity,
            host_network=host_network,
            node_name=node_name,
            phase=phase,
            # A resize the node cannot take: the spec no longer counts, the status does.
            resize_infeasible=any(c.status_requests is not None for c in (*app, *init))
            and _pick(draw, (False, True)),
        )
    )


def _check_cluster_knobs(
    min_nodes: int, max_nodes: int, max_running_pods: int, areas: Iterable[str] | None
) -> frozenset[str]:
    _check_count(min_nodes, "min_nodes")
    _check_count(max_nodes, "max_nodes", minimum=1)
    if min_nodes > max_nodes:
        raise InvalidArgument(
            f"min_nodes={min_nodes} must not be larger than max_nodes={max_nodes}"
        )
    if max_nodes > 100:
        raise InvalidArgument(f"max_nodes={max_nodes} is too large (at most 100)")
    _check_count(max_running_pods, "max_running_pods")
    return _check_areas(areas)


@lru_cache(maxsize=64)
def _node_counts(lo: int, hi: int) -> tuple[int, ...]:
    """Node counts from ``lo`` to ``hi``, the small ones more often: a rule is broken most
    visibly when few nodes compete (with many, another node often hides the bug)."""
    return tuple(n for n in range(lo, hi + 1) for _ in range(max(1, 3 - (n - lo))))


def _draw_cluster(
    draw: Draw, min_nodes: int, max_nodes: int, max_running_pods: int, areas: frozenset[str]
) -> Cluster:
    count = _pick(draw, _node_counts(min_nodes, max_nodes))
    skeletons = [
        _draw_skeleton(draw, f"node-{i}", areas, ZONES[i % len(ZONES)]) for i in range(count)
    ]
    running: list[Pod] = []
    if skeletons:
        for i in range(_int(draw, 0, max_running_pods)):
            where = skeletons[_int(draw, 0, len(skeletons) - 1)].name
            running.append(_draw_running_pod(draw, i, where, areas))
    node_objects = [
        s.finish(draw, areas, [p for p in running if p.node_name == s.name]) for s in skeletons
    ]
    return Cluster([*node_objects, *running]).finish()


def clusters(
    *,
    min_nodes: int = 1,
    max_nodes: int = 4,
    max_running_pods: int = 6,
    areas: Iterable[str] | None = None,
) -> st.SearchStrategy[Cluster]:
    """A cluster of ``min_nodes``..``max_nodes`` nodes and up to ``max_running_pods`` pods
    bound to them (some already Succeeded or Failed), with the features of ``areas`` (every
    area by default). A node's pod capacity leans toward exactly the pods it runs.

    Examples from this strategy shrink toward ``min_nodes`` plain nodes and no pods.
    """
    chosen = _check_cluster_knobs(min_nodes, max_nodes, max_running_pods, areas)
    return st.composite(
        lambda draw: _draw_cluster(draw, min_nodes, max_nodes, max_running_pods, chosen)
    )()


def scheduling_problems(
    *,
    min_nodes: int = 1,
    max_nodes: int = 4,
    max_running_pods: int = 6,
    areas: Iterable[str] | None = None,
) -> st.SearchStrategy[tuple[Cluster, Pod]]:
    """A cluster (as :func:`clusters`) and a pending pod aimed at it: its requests often fill
    a node exactly (or exceed what is free by one unit), its tolerations and selectors name
    the taints and labels the nodes have, its host ports are the ones running pods hold.

    Examples from this strategy shrink toward one plain node, no pods, and a pending pod
    with one container that requests nothing.
    """
    chosen = _check_cluster_knobs(min_nodes, max_nodes, max_running_pods, areas)

    def build(draw: Draw) -> tuple[Cluster, Pod]:
        cluster = _draw_cluster(draw, min_nodes, max_nodes, max_running_pods, chosen)
        return cluster, _draw_pending_pod(draw, "pending", chosen, _Context.of(cluster))

    return st.composite(build)()


def pending_pods_for(
    cluster: Cluster, *, name: str = "pending", areas: Iterable[str] | None = None
) -> st.SearchStrategy[Pod]:
    """A pending pod aimed at ``cluster`` as in :func:`scheduling_problems` (for stateful
    tests, where the cluster changes between pods).

    Examples from this strategy shrink toward one container that requests nothing.
    """
    _check_name(name)
    chosen = _check_areas(areas)
    context = _Context.of(cluster)
    return st.composite(lambda draw: _draw_pending_pod(draw, name, chosen, context))()


def draw_pending_pod(draw: Draw, cluster: Cluster, name: str, areas: frozenset[str]) -> Pod:
    """Like :func:`pending_pods_for`, inside another composite or ``data.draw`` caller."""
    return _draw_pending_pod(draw, name, areas, _Context.of(cluster))
