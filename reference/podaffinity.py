"""Pod affinity terms resolved against pods: which pods a term selects.

Upstream: ``pkg/scheduler/framework/types.go`` (AffinityTerm, newAffinityTerm: the
namespaces a term covers and its selector) and the API server's merge of
``matchLabelKeys``/``mismatchLabelKeys`` into the term's selector at pod creation.

A term covers the namespaces it lists plus those its ``namespaceSelector`` selects; with
neither, the namespace of the pod that owns the term. An empty ``namespaceSelector``
(``{}``) selects every namespace. A term without a ``labelSelector`` selects no pod;
``labelSelector: {}`` selects every pod in the covered namespaces.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from podfit.model import LabelSelector, Pod, PodAffinityTerm, Requirement

from .labels import requirement_matches, selector_is_valid, selector_matches


@dataclass(frozen=True, slots=True)
class ResolvedTerm:
    """A pod affinity term of one pod, ready to test other pods against."""

    topology_key: str
    selector: LabelSelector | None
    namespaces: frozenset[str]
    namespace_selector: LabelSelector | None
    weight: int = 0

    def matches(self, pod: Pod, namespace_labels: Mapping[str, Mapping[str, str]]) -> bool:
        """Does this term select ``pod``? (namespace first, then labels)"""
        if self.selector is None:
            return False
        if pod.namespace not in self.namespaces:
            ns_selector = self.namespace_selector
            if ns_selector is None or not selector_matches(
                ns_selector, namespace_labels.get(pod.namespace, {})
            ):
                return False
        return selector_matches(self.selector, pod.labels)

    def matcher(self, namespace_labels: Mapping[str, Mapping[str, str]]) -> Callable[[Pod], bool]:
        """:meth:`matches` for many pods: the selector checked and taken apart once."""
        selector = self.selector
        if selector is None or (not selector.is_empty and not selector_is_valid(selector)):
            return _NO_POD
        namespaces, ns_selector = self.namespaces, self.namespace_selector
        required = tuple(selector.match_labels.items())
        expressions = selector.match_expressions

        def matches(pod: Pod) -> bool:
            if pod.namespace not in namespaces and (
                ns_selector is None
                or not selector_matches(ns_selector, namespace_labels.get(pod.namespace, {}))
            ):
                return False
            labels = pod.labels
            for key, value in required:
                if labels.get(key) != value:
                    return False
            return all(requirement_matches(req, labels) for req in expressions)

        return matches


def _NO_POD(pod: Pod) -> bool:
    return False


def merged_selector(term: PodAffinityTerm, owner: Pod) -> LabelSelector | None:
    """The term's selector with matchLabelKeys (In) and mismatchLabelKeys (NotIn) added,
    using the owner pod's values for keys it has; a nil selector stays nil."""
    selector = term.label_selector
    if selector is None:
        return None
    extra = [
        Requirement(key, "In", (owner.labels[key],))
        for key in term.match_label_keys
        if key in owner.labels
    ]
    extra += [
        Requirement(key, "NotIn", (owner.labels[key],))
        for key in term.mismatch_label_keys
        if key in owner.labels
    ]
    if not extra:
        return selector
    return LabelSelector(
        match_labels=selector.match_labels,
        match_expressions=(*selector.match_expressions, *extra),
    )


def resolve(term: PodAffinityTerm, owner: Pod, weight: int = 0) -> ResolvedTerm:
    namespaces = frozenset(term.namespaces)
    if not namespaces and term.namespace_selector is None:
        namespaces = frozenset({owner.namespace})
    return ResolvedTerm(
        topology_key=term.topology_key,
        selector=merged_selector(term, owner),
        namespaces=namespaces,
        namespace_selector=term.namespace_selector,
        weight=weight,
    )


@dataclass(frozen=True, slots=True)
class PodTerms:
    """All of one pod's affinity terms, resolved."""

    required_affinity: tuple[ResolvedTerm, ...]
    required_anti_affinity: tuple[ResolvedTerm, ...]
    preferred_affinity: tuple[ResolvedTerm, ...]
    preferred_anti_affinity: tuple[ResolvedTerm, ...]

    @property
    def empty(self) -> bool:
        return not (
            self.required_affinity
            or self.required_anti_affinity
            or self.preferred_affinity
            or self.preferred_anti_affinity
        )


def pod_terms(pod: Pod) -> PodTerms:
    affinity = pod.affinity
    pa = affinity.pod_affinity if affinity else None
    anti = affinity.pod_anti_affinity if affinity else None
    return PodTerms(
        required_affinity=tuple(resolve(t, pod) for t in pa.required) if pa else (),
        required_anti_affinity=tuple(resolve(t, pod) for t in anti.required) if anti else (),
        preferred_affinity=tuple(resolve(w.term, pod, w.weight) for w in pa.preferred)
        if pa
        else (),
        preferred_anti_affinity=tuple(resolve(w.term, pod, w.weight) for w in anti.preferred)
        if anti
        else (),
    )
