"""Which pods a label selector, a pod affinity term or a spread constraint selects.

Written from the spec (``selectors``, ``inter-pod-affinity.filter.namespaces``,
``inter-pod-affinity.filter.label-selector-nil-and-empty``,
``topology-spread.filter.match-label-keys``) and apimachinery's LabelSelectorAsSelector:

* an absent selector (None) selects nothing, ``{}`` selects everything, otherwise every
  matchLabels entry and every matchExpressions entry must hold; a selector the API could not
  build (bad key, bad value, wrong number of values) selects nothing;
* matchLabelKeys add ``key In [owner's value]``, mismatchLabelKeys ``key NotIn [owner's
  value]``, for the keys the owner pod has; an absent selector stays absent;
* a term covers the namespaces it lists plus those its namespaceSelector selects; with
  neither, the owner pod's own namespace.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from podfit.model import LabelSelector, Pod, PodAffinityTerm, Requirement, frozen_map

from .labels import valid_label_key, valid_label_value

LABEL_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

#: A canonical, hashable form of a selector (None stays None).
SelectorKey = tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str, tuple[str, ...]], ...]]


def _requirement_ok(req: Requirement) -> bool:
    if req.operator not in LABEL_OPERATORS or not valid_label_key(req.key):
        return False
    if req.operator in ("In", "NotIn") and not req.values:
        return False
    if req.operator in ("Exists", "DoesNotExist") and req.values:
        return False
    return all(valid_label_value(v) for v in req.values)


def _requirement_holds(req: Requirement, labels: Mapping[str, str]) -> bool:
    present = req.key in labels
    if req.operator == "In":
        return present and labels[req.key] in req.values
    if req.operator == "NotIn":
        return not present or labels[req.key] not in req.values
    if req.operator == "Exists":
        return present
    return not present  # DoesNotExist


def selector_valid(selector: LabelSelector) -> bool:
    labels_ok = all(
        valid_label_key(k) and valid_label_value(v) for k, v in selector.match_labels.items()
    )
    return labels_ok and all(_requirement_ok(r) for r in selector.match_expressions)


def selects(selector: LabelSelector | None, labels: Mapping[str, str]) -> bool:
    """Does ``selector`` select an object with ``labels``? (None: never; ``{}``: always)"""
    if selector is None:
        return False
    if selector.is_empty:
        return True
    return selector_valid(selector) and _holds(selector, labels)


def _holds(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    """Every requirement of a valid selector holds."""
    if any(labels.get(k) != v for k, v in selector.match_labels.items()):
        return False
    return all(_requirement_holds(r, labels) for r in selector.match_expressions)


def selector_key(selector: LabelSelector | None) -> SelectorKey | None:
    if selector is None:
        return None
    return (
        tuple(sorted(selector.match_labels.items())),
        tuple((r.key, r.operator, tuple(r.values)) for r in selector.match_expressions),
    )


def selector_text(selector: LabelSelector | None) -> str:
    """``app=web, tier In [a, b]``; ``(no selector)`` and ``(every pod)`` for the edge cases."""
    if selector is None:
        return "no labelSelector: selects nothing"
    if selector.is_empty:
        return "labelSelector {}: every pod"
    parts = [f"{k}={v}" for k, v in sorted(selector.match_labels.items())]
    for r in selector.match_expressions:
        if r.operator in ("Exists", "DoesNotExist"):
            parts.append(f"{r.key} {r.operator}")
        else:
            parts.append(f"{r.key} {r.operator} [{', '.join(r.values)}]")
    return ", ".join(parts)


def with_label_keys(
    selector: LabelSelector | None,
    owner_labels: Mapping[str, str],
    match_keys: tuple[str, ...] = (),
    mismatch_keys: tuple[str, ...] = (),
) -> LabelSelector | None:
    """The selector with the owner's values for matchLabelKeys (In) and mismatchLabelKeys
    (NotIn) added; keys the owner lacks are skipped, and an absent selector stays absent."""
    if selector is None:
        return None
    extra = [Requirement(k, "In", (owner_labels[k],)) for k in match_keys if k in owner_labels]
    extra += [
        Requirement(k, "NotIn", (owner_labels[k],)) for k in mismatch_keys if k in owner_labels
    ]
    if not extra:
        return selector
    return LabelSelector(
        match_labels=frozen_map(selector.match_labels),
        match_expressions=(*selector.match_expressions, *extra),
    )


NamespaceLabels = Callable[[str], Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class PodTerm:
    """A required pod (anti-)affinity term of one pod, ready to test other pods against."""

    owner: str
    topology_key: str
    selector: LabelSelector | None
    namespaces: frozenset[str]
    namespace_selector: LabelSelector | None

    def covers(self, namespace: str, namespace_labels: NamespaceLabels) -> bool:
        if namespace in self.namespaces:
            return True
        return self.namespace_selector is not None and selects(
            self.namespace_selector, namespace_labels(namespace)
        )

    def selects(self, pod: Pod, namespace_labels: NamespaceLabels) -> bool:
        if self.selector is None:
            return False
        return self.covers(pod.namespace, namespace_labels) and selects(self.selector, pod.labels)

    @property
    def signature(self) -> tuple[object, ...]:
        """Everything but the owner: two pods with equal signatures select the same pods."""
        return (
            self.topology_key,
            selector_key(self.selector),
            tuple(sorted(self.namespaces)),
            selector_key(self.namespace_selector),
        )

    def text(self) -> str:
        """The term in a few words: its selector and, unless it is the owner's namespace,
        the namespaces it covers."""
        words = selector_text(self.selector)
        own = self.owner.split("/", 1)[0]
        if self.namespace_selector is not None:
            if self.namespace_selector.is_empty:
                words += " in every namespace"
            else:
                scope = sorted(self.namespaces)
                listed = f"{', '.join(scope)} and " if scope else ""
                words += f" in {listed}namespaces {selector_text(self.namespace_selector)}"
        elif self.namespaces != frozenset({own}):
            words += f" in namespace(s) {', '.join(sorted(self.namespaces))}"
        return words


def resolve_term(term: PodAffinityTerm, owner: Pod) -> PodTerm:
    namespaces = frozenset(term.namespaces)
    if not namespaces and term.namespace_selector is None:
        namespaces = frozenset({owner.namespace})
    return PodTerm(
        owner=owner.key,
        topology_key=term.topology_key,
        selector=with_label_keys(
            term.label_selector, owner.labels, term.match_label_keys, term.mismatch_label_keys
        ),
        namespaces=namespaces,
        namespace_selector=term.namespace_selector,
    )


def required_terms(pod: Pod) -> tuple[tuple[PodTerm, ...], tuple[PodTerm, ...]]:
    """The pod's required podAffinity terms and required podAntiAffinity terms."""
    affinity = pod.affinity
    if affinity is None:
        return (), ()
    pa, anti = affinity.pod_affinity, affinity.pod_anti_affinity
    return (
        tuple(resolve_term(t, pod) for t in pa.required) if pa is not None else (),
        tuple(resolve_term(t, pod) for t in anti.required) if anti is not None else (),
    )


T = TypeVar("T")


@dataclass
class LabelIndex(Generic[T]):
    """Objects indexed by namespace and label, so that what a selector selects is found
    among the objects carrying one of its matchLabels rather than by testing them all (a
    batch of hundreds of workloads each counts its own replicas among thousands of pods)."""

    _by_label: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    _by_namespace: dict[str, list[int]] = field(default_factory=dict)
    _labels: list[Mapping[str, str]] = field(default_factory=list)
    _items: list[T] = field(default_factory=list)

    def add(self, namespace: str, labels: Mapping[str, str], item: T) -> None:
        i = len(self._items)
        self._items.append(item)
        self._labels.append(labels)
        self._by_namespace.setdefault(namespace, []).append(i)
        for key, value in labels.items():
            self._by_label.setdefault((namespace, key, value), []).append(i)

    def select(self, namespace: str, selector: LabelSelector | None) -> list[T]:
        """The objects of ``namespace`` that ``selector`` selects (see :func:`selects`)."""
        if selector is None:
            return []
        if selector.match_labels:
            lists = [
                self._by_label.get((namespace, k, v), []) for k, v in selector.match_labels.items()
            ]
            candidates = min(lists, key=len)
        else:
            candidates = self._by_namespace.get(namespace, [])
        if not candidates or not selector_valid(selector):
            return []
        if selector.is_empty:
            return [self._items[i] for i in candidates]
        return [self._items[i] for i in candidates if _holds(selector, self._labels[i])]


def namespace_labels_of(lookup: NamespaceLabels) -> NamespaceLabels:
    """``lookup`` with a cache (namespaces are looked up once per encoding)."""
    cache: dict[str, Mapping[str, str]] = {}

    def get(name: str) -> Mapping[str, str]:
        found = cache.get(name)
        if found is None:
            found = cache[name] = lookup(name)
        return found

    return get
