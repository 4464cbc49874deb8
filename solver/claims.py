"""The claim language of ``podfit prove``: a premise over every pod, a conclusion over nodes.

A claim is a small YAML document (``apiVersion: podfit.dev/v1alpha1``, ``kind: Claim``)::

    forEveryPod:                 # the premise: which pods the claim is about (all ANDed)
      doesNotTolerate:
      - {key: dedicated, value: gpu, effect: NoSchedule}
    it:                          # the conclusion, exactly one of
      cannotLandOn:              #   cannotLandOn / landsOnlyOn / canLandOn: a node predicate
        matchLabels: {gpu: "true"}
                                 #   canLandSomewhere: true

This module reads claims (closed: unknown keys are errors naming the file, document and
field) and evaluates them on *concrete* pods and node sets, which is how a counterexample
is checked once the reference has filtered it. The symbolic side is
:mod:`podfit.solver.prove`. docs/claims.md is the reference for the language.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from podfit.errors import ManifestError
from podfit.fields import Field
from podfit.manifest import parse_label_selector, parse_requirement
from podfit.model import (
    NODE_SELECTOR_OPERATORS,
    TAINT_EFFECTS,
    LabelSelector,
    Node,
    Pod,
    Requirement,
    Taint,
)
from podfit.printable import shown
from podfit.quantity import Quantity
from podfit.validation import dns1123_subdomain_problems, label_value_problems

from .labels import expression_matches, valid_label_key
from .selectors import selector_text as selector_words
from .state import is_scheduler_resource, pod_requests, scheduler_units, tolerated

API_VERSION = "podfit.dev/v1alpha1"
KIND = "Claim"

ConclusionKind = Literal["cannotLandOn", "landsOnlyOn", "canLandOn", "canLandSomewhere"]
CONCLUSIONS: tuple[ConclusionKind, ...] = (
    "cannotLandOn",
    "landsOnlyOn",
    "canLandOn",
    "canLandSomewhere",
)

_DOCUMENT_KEYS = ("apiVersion", "kind", "metadata", "description", "forEveryPod", "it")
_METADATA_KEYS = ("name",)
_PREMISE_KEYS = (
    "namespace",
    "labelSelector",
    "tolerates",
    "doesNotTolerate",
    "tolerations",
    "nodeSelector",
    "requiredNodeAffinity",
    "requests",
    "otherRequests",
)
_NAMESPACE_KEYS = ("in", "notIn")
_SELECTOR_KEYS = ("matchLabels", "matchExpressions")
_REQUIREMENT_KEYS = ("key", "operator", "values")
_TAINT_KEYS = ("key", "value", "effect")
_NODE_SELECTOR_KEYS = ("has", "lacks")
_BOUND_KEYS = ("atLeast", "atMost")
_NODE_PREDICATE_KEYS = ("matchLabels", "matchExpressions", "names")


# --- the claim ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NodePredicate:
    """Which nodes a conclusion is about: all of matchLabels, matchExpressions (node
    selector operators, Gt/Lt included) and names hold. ``{}`` is every node."""

    match_labels: Mapping[str, str] = field(default_factory=dict)
    match_expressions: tuple[Requirement, ...] = ()
    names: tuple[str, ...] = ()

    def matches(self, node: Node) -> bool:
        if self.names and node.name not in self.names:
            return False
        if any(node.labels.get(k) != v for k, v in self.match_labels.items()):
            return False
        return all(expression_matches(r, node.labels) for r in self.match_expressions)

    def text(self) -> str:
        parts = []
        if self.match_labels or self.match_expressions:
            parts.append(selector_text(LabelSelector(self.match_labels, self.match_expressions)))
        if self.names:
            parts.append(f"name in [{', '.join(self.names)}]")
        return "nodes with " + ", ".join(parts) if parts else "any node"


@dataclass(frozen=True, slots=True)
class ResourceBound:
    """Bounds on the pod's effective request for one resource, in the scheduler's units
    (cpu in millicores, every other resource in whole units)."""

    resource: str
    at_least: int | None = None
    at_most: int | None = None

    def holds(self, amount: int) -> bool:
        low = self.at_least is None or amount >= self.at_least
        return low and (self.at_most is None or amount <= self.at_most)


@dataclass(frozen=True, slots=True)
class Premise:
    """``forEveryPod``: the conditions a pod must meet for the claim to speak about it."""

    namespaces_in: tuple[str, ...] | None = None
    namespaces_not_in: tuple[str, ...] = ()
    label_selector: LabelSelector | None = None
    tolerates: tuple[Taint, ...] = ()
    does_not_tolerate: tuple[Taint, ...] = ()
    no_tolerations: bool = False
    no_node_selector: bool = False
    node_selector_has: Mapping[str, str] = field(default_factory=dict)
    node_selector_lacks: tuple[str, ...] = ()
    no_required_node_affinity: bool = False
    requests: tuple[ResourceBound, ...] = ()
    no_other_requests: bool = False

    def taints(self) -> tuple[Taint, ...]:
        return self.tolerates + self.does_not_tolerate

    def problems(self, pod: Pod) -> list[str]:
        """The premise's conditions ``pod`` fails (empty: the claim is about this pod)."""
        out: list[str] = []
        if self.namespaces_in is not None and pod.namespace not in self.namespaces_in:
            out.append(f"namespace {pod.namespace} is not one of {list(self.namespaces_in)}")
        if pod.namespace in self.namespaces_not_in:
            out.append(f"namespace {pod.namespace} is excluded")
        if self.label_selector is not None and not selector_matches(
            self.label_selector, pod.labels
        ):
            out.append("labels do not match labelSelector")
        for taint in self.tolerates:
            if not tolerated(pod.tolerations, taint):
                out.append(f"does not tolerate {taint}")
        for taint in self.does_not_tolerate:
            if tolerated(pod.tolerations, taint):
                out.append(f"tolerates {taint}")
        if self.no_tolerations and pod.tolerations:
            out.append("has tolerations")
        if self.no_node_selector and pod.node_selector:
            out.append("has a nodeSelector")
        for key, value in self.node_selector_has.items():
            if pod.node_selector.get(key) != value:
                out.append(f"nodeSelector lacks {key}={value}")
        for key in self.node_selector_lacks:
            if key in pod.node_selector:
                out.append(f"nodeSelector has {key}")
        if self.no_required_node_affinity and has_required_node_affinity(pod):
            out.append("has required node affinity")
        amounts = pod_requests(pod)
        for bound in self.requests:
            if not bound.holds(amounts.get(bound.resource, 0)):
                out.append(f"request for {bound.resource} is out of bounds")
        if self.no_other_requests:
            listed = {b.resource for b in self.requests}
            others = sorted(r for r, n in amounts.items() if n > 0 and r not in listed)
            if others:
                out.append(f"requests {', '.join(others)}")
        return out


@dataclass(frozen=True, slots=True)
class Conclusion:
    kind: ConclusionKind
    nodes: NodePredicate | None = None

    def text(self) -> str:
        if self.kind == "canLandSomewhere" or self.nodes is None:
            return "can land on some node"
        words = {
            "cannotLandOn": "cannot land on",
            "landsOnlyOn": "lands only on",
            "canLandOn": "can land on one of the",
        }[self.kind]
        return f"{words} {self.nodes.text()}"

    def violation(self, nodes: Iterable[Node], feasible: Collection[str]) -> str | None:
        """Why a pod whose feasible nodes are ``feasible`` breaks this conclusion (None if it
        does not)."""
        nodes = list(nodes)
        chosen = [n.name for n in nodes if self.nodes is None or self.nodes.matches(n)]
        if self.kind == "cannotLandOn":
            bad = [n for n in chosen if n in feasible]
            return f"it can land on {', '.join(bad)}" if bad else None
        if self.kind == "landsOnlyOn":
            bad = [n.name for n in nodes if n.name in feasible and n.name not in chosen]
            return f"it can land on {', '.join(bad)}" if bad else None
        if any(n in feasible for n in chosen):
            return None
        if self.kind == "canLandOn":
            return "it can land on no node the predicate selects"
        return "it can land on no node"


@dataclass(frozen=True, slots=True)
class Claim:
    name: str
    premise: Premise
    conclusion: Conclusion
    description: str = ""
    source: str = ""
    document: int | None = None

    def text(self) -> str:
        return f"every pod {self.premise_text()} {self.conclusion.text()}"

    def premise_text(self) -> str:
        p = self.premise
        parts = []
        if p.namespaces_in is not None:
            parts.append(f"in namespace {' or '.join(p.namespaces_in)}")
        if p.namespaces_not_in:
            parts.append(f"not in namespace {' or '.join(p.namespaces_not_in)}")
        if p.label_selector is not None:
            parts.append(f"with labels {selector_text(p.label_selector)}")
        parts += [f"tolerating {t}" for t in p.tolerates]
        parts += [f"not tolerating {t}" for t in p.does_not_tolerate]
        if p.no_tolerations:
            parts.append("without tolerations")
        if p.no_node_selector:
            parts.append("without nodeSelector")
        parts += [f"with nodeSelector {k}={v}" for k, v in p.node_selector_has.items()]
        parts += [f"without nodeSelector key {k}" for k in p.node_selector_lacks]
        if p.no_required_node_affinity:
            parts.append("without required node affinity")
        for b in p.requests:
            unit = "m" if b.resource == "cpu" else ""
            if b.at_least is not None:
                parts.append(f"requesting at least {b.at_least}{unit} {b.resource}")
            if b.at_most is not None:
                parts.append(f"requesting at most {b.at_most}{unit} {b.resource}")
        if p.no_other_requests:
            parts.append("requesting nothing else")
        return "(" + ", ".join(parts) + ")" if parts else "(any pod)"


def selector_text(selector: LabelSelector) -> str:
    return "(any)" if selector.is_empty else selector_words(selector)


# --- concrete evaluation helpers ---------------------------------------------------------------


def selector_matches(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector over a label set (a present selector; ``{}`` matches all)."""
    if any(labels.get(k) != v for k, v in selector.match_labels.items()):
        return False
    return all(expression_matches(r, labels) for r in selector.match_expressions)


def has_required_node_affinity(pod: Pod) -> bool:
    a = pod.affinity
    return a is not None and a.node_affinity is not None and a.node_affinity.required is not None


# --- reading claims -----------------------------------------------------------------------------


def _closed(f: Field, known: tuple[str, ...], what: str) -> Mapping[str, Any]:
    """The mapping at ``f``, refusing keys outside ``known`` (with a suggestion)."""
    value = f.value
    if not isinstance(value, dict):
        kind = "nothing" if value is None else type(value).__name__
        raise f.error(f"expected a mapping ({what}), got {kind}")
    for key in value:
        if not isinstance(key, str):
            raise f.error(f"keys must be strings, got {shown(key)}")
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise f.at(key).error(f"unknown field in {what} (known: {', '.join(known)}){hint}")
    return value


def _optional_closed(f: Field, known: tuple[str, ...], what: str) -> Mapping[str, Any] | None:
    return None if f.value is None else _closed(f, known, what)


def _check_label_key(f: Field, key: str) -> None:
    if not valid_label_key(key):
        raise f.error(f"{shown(key)} is not a valid label key")


def _check_label_value(f: Field, value: str) -> None:
    for problem in label_value_problems(value):
        raise f.error(f"invalid label value {shown(value)}: {problem}")


def _label_selector(f: Field) -> LabelSelector:
    _closed(f, _SELECTOR_KEYS, "a label selector")
    for item in f.at("matchExpressions").items():
        _closed(item, _REQUIREMENT_KEYS, "a selector requirement")
    selector = parse_label_selector(f)
    assert selector is not None  # f.value is a mapping
    for item, req in zip(f.at("matchExpressions").items(), selector.match_expressions, strict=True):
        for i, value in enumerate(req.values):
            _check_label_value(item.at("values").items()[i], value)
    return selector


def _node_predicate(f: Field) -> NodePredicate:
    if f.value is None:
        raise f.error("expected a node predicate (matchLabels, matchExpressions, names; {} = any)")
    _closed(f, _NODE_PREDICATE_KEYS, "a node predicate")
    labels = f.at("matchLabels").labels()
    expressions = []
    for item in f.at("matchExpressions").items():
        _closed(item, _REQUIREMENT_KEYS, "a node selector requirement")
        req = parse_requirement(item, NODE_SELECTOR_OPERATORS)
        _check_label_key(item.at("key"), req.key)
        for i, value in enumerate(req.values):
            _check_label_value(item.at("values").items()[i], value)
        expressions.append(req)
    names = f.at("names").str_list()
    return NodePredicate(labels, tuple(expressions), names)


def _taint(f: Field) -> Taint:
    _closed(f, _TAINT_KEYS, "a taint")
    key = f.at("key").text(required=True)
    _check_label_key(f.at("key"), key)
    value = f.at("value").text()
    _check_label_value(f.at("value"), value)
    effect = f.at("effect").choice(TAINT_EFFECTS)
    return Taint(key=key, value=value, effect=effect)


def _taints(f: Field) -> tuple[Taint, ...]:
    if f.value is not None and not isinstance(f.value, list):
        raise f.error("expected a list of taints ({key, value, effect})")
    return tuple(_taint(item) for item in f.items())


_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def valid_namespace(name: str) -> bool:
    """A namespace name is a DNS-1123 label: at most 63 lower-case alphanumerics or '-'."""
    return len(name) <= 63 and _DNS1123_LABEL.fullmatch(name) is not None


def _namespaces(f: Field) -> list[str]:
    if not isinstance(f.value, list) or not f.value:
        raise f.error("expected a non-empty list of namespace names")
    names = []
    for item in f.items():
        name = item.text(required=True)
        if not valid_namespace(name):
            raise item.error(
                f"invalid namespace name {shown(name)}: must be a DNS-1123 label (at most 63 "
                "lower-case alphanumeric characters or '-', starting and ending with one of "
                "the former)"
            )
        names.append(name)
    return names


def _none_or_any(f: Field, what: str) -> bool:
    """``none`` → True (the pod has none), ``any`` or absent → False."""
    return f.choice(("none", "any"), default="any") == "none" if f.value is not None else False


def _bound(f: Field, resource: str, key: str) -> int | None:
    child = f.at(key)
    if child.value is None:
        return None
    q: Quantity = child.quantity()
    if q.value < 0:
        raise child.error(f"must not be negative, got {q}")
    units = scheduler_units(resource, q.value)  # rounded up
    if key == "atMost":
        # Amounts are whole scheduler units: "at most 1.5 units" is "at most 1".
        exact = q.value * 1000 if resource == "cpu" else q.value
        units = exact.numerator // exact.denominator
    return units


def _requests(f: Field) -> tuple[ResourceBound, ...]:
    _closed(f, tuple(f.mapping()), "requests")  # string keys
    bounds = []
    for resource, child in f.entries():
        if not is_scheduler_resource(resource):
            raise child.error(
                f"{shown(resource)} is not a resource the scheduler accounts for "
                "(cpu, memory, ephemeral-storage, hugepages-*, or a domain-qualified "
                "extended resource such as nvidia.com/gpu)"
            )
        _closed(child, _BOUND_KEYS, "resource bounds")
        low, high = _bound(child, resource, "atLeast"), _bound(child, resource, "atMost")
        if low is None and high is None:
            raise child.error("give atLeast, atMost or both")
        if low is not None and high is not None and low > high:
            raise child.error("atLeast is larger than atMost: no pod satisfies this")
        bounds.append(ResourceBound(resource, low, high))
    return tuple(bounds)


def _premise(f: Field) -> Premise:
    if f.value is None:
        return Premise()
    _closed(f, _PREMISE_KEYS, "forEveryPod")
    ns_in: tuple[str, ...] | None = None
    ns_not_in: tuple[str, ...] = ()
    ns = f.at("namespace")
    if ns.value is not None:
        spec = _closed(ns, _NAMESPACE_KEYS, "namespace")
        if len(spec) != 1:
            raise ns.error("give exactly one of in, notIn")
        if "in" in spec:
            ns_in = tuple(_namespaces(ns.at("in")))
        else:
            ns_not_in = tuple(_namespaces(ns.at("notIn")))
    selector = _label_selector(f.at("labelSelector")) if f.has("labelSelector") else None
    tolerations = f.at("tolerations")
    no_tolerations = _none_or_any(tolerations, "tolerations")
    node_selector = f.at("nodeSelector")
    no_node_selector = False
    has: dict[str, str] = {}
    lacks: tuple[str, ...] = ()
    if isinstance(node_selector.value, str):
        no_node_selector = _none_or_any(node_selector, "nodeSelector")
    elif node_selector.value is not None:
        _closed(node_selector, _NODE_SELECTOR_KEYS, "nodeSelector")
        has = node_selector.at("has").labels()
        lacks = node_selector.at("lacks").str_list()
        for i, key in enumerate(lacks):
            _check_label_key(node_selector.at("lacks").items()[i], key)
        both = sorted(set(has) & set(lacks))
        if both:
            raise node_selector.error(f"key {both[0]!r} is both in has and in lacks")
    premise = Premise(
        namespaces_in=ns_in,
        namespaces_not_in=ns_not_in,
        label_selector=selector,
        tolerates=_taints(f.at("tolerates")),
        does_not_tolerate=_taints(f.at("doesNotTolerate")),
        no_tolerations=no_tolerations,
        no_node_selector=no_node_selector,
        node_selector_has=has,
        node_selector_lacks=lacks,
        no_required_node_affinity=_none_or_any(
            f.at("requiredNodeAffinity"), "requiredNodeAffinity"
        ),
        requests=_requests(f.at("requests")) if f.has("requests") else (),
        no_other_requests=_none_or_any(f.at("otherRequests"), "otherRequests"),
    )
    if premise.no_tolerations and premise.tolerates:
        raise f.at("tolerations").error("is none, but tolerates lists taints")
    if premise.no_node_selector and premise.node_selector_has:
        raise f.at("nodeSelector").error("is none, but has entries")
    return premise


def _conclusion(f: Field) -> Conclusion:
    if f.value is None:
        raise f.error(f"is required: one of {', '.join(CONCLUSIONS)}")
    spec = _closed(f, CONCLUSIONS, "it")
    if len(spec) != 1:
        raise f.error(f"give exactly one of {', '.join(CONCLUSIONS)}, got {len(spec)}")
    kind = next(k for k in CONCLUSIONS if k in spec)
    child = f.at(kind)
    if kind == "canLandSomewhere":
        if child.value is not True:
            raise child.error(f"must be true, got {shown(child.value)}")
        return Conclusion("canLandSomewhere")
    return Conclusion(kind, _node_predicate(child))


def _default_name(source: str, document: int | None) -> str:
    """A claim without metadata.name is named after its file (and document)."""
    stem = Path(source).stem.lower() if source and not source.startswith("<") else ""
    stem = re.sub(r"[^a-z0-9]+", "-", stem).strip("-")[:60] or "claim"
    return stem if document in (None, 1) else f"{stem}-{document}"


def parse_claim(data: object, *, source: str = "<claim>", document: int | None = None) -> Claim:
    """One claim document (already parsed YAML) to a :class:`Claim`."""
    f = Field(data)
    try:
        if data is None:
            raise ManifestError("empty document: expected a Claim")
        _closed(f, _DOCUMENT_KEYS, "a Claim")
        api_version = f.at("apiVersion").text(required=True)
        if api_version != API_VERSION:
            raise f.at("apiVersion").error(f"expected {API_VERSION}, got {shown(api_version)}")
        kind = f.at("kind").text(required=True)
        if kind != KIND:
            raise f.at("kind").error(f"expected {KIND}, got {shown(kind)}")
        meta = f.at("metadata")
        name = ""
        if meta.value is not None:
            _closed(meta, _METADATA_KEYS, "metadata")
            name = meta.at("name").text()
            for problem in dns1123_subdomain_problems(name) if name else ():
                raise meta.at("name").error(f"invalid name {shown(name)}: {problem}")
        if not name:
            name = _default_name(source, document)
        return Claim(
            name=name,
            premise=_premise(f.at("forEveryPod")),
            conclusion=_conclusion(f.at("it")),
            description=f.at("description").text(),
            source=source,
            document=document,
        )
    except ManifestError as exc:
        raise exc.located(source=source, document=document) from None


def load_claims(source: str | os.PathLike[str]) -> list[Claim]:
    """Every Claim in a YAML file (several documents allowed; at least one)."""
    from podfit.loading import _documents, _read_text

    name, text = _read_text(source)
    claims = []
    for number, doc in _documents(name, text):
        if doc is None:
            continue
        claims.append(parse_claim(doc, source=name, document=number))
    if not claims:
        raise ManifestError("no Claim found (the file is empty)", source=name)
    names = [c.name for c in claims]
    for claim in claims:
        if names.count(claim.name) > 1:
            raise ManifestError(
                f"two claims are named {claim.name!r}", source=name, document=claim.document
            )
    return claims


def load_claim(source: str | os.PathLike[str]) -> Claim:
    """Exactly one Claim from a YAML file."""
    claims = load_claims(source)
    if len(claims) != 1:
        raise ManifestError(f"expected exactly one Claim, found {len(claims)}", source=str(source))
    return claims[0]
