"""NodeAffinity: spec.nodeSelector, required and preferred node affinity, and the profile's
addedAffinity.

Upstream: ``pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go`` (PreFilter,
Filter, PreScore, Score, NormalizeScore, args), matching from
``staging/src/k8s.io/component-helpers/scheduling/corev1/nodeaffinity/nodeaffinity.go`` (see
:mod:`podfit.reference.labels`) and the args' validation in
``pkg/scheduler/apis/config/validation/validation_pluginargs.go``.

PreFilter skips the plugin for a pod with no nodeSelector and no required node affinity when
the profile adds no required affinity either. Otherwise, when every required term names
nodes through ``matchFields metadata.name In``, only those nodes are filtered at all (the
others get the framework's "didn't satisfy plugin(s) [NodeAffinity]"); terms whose names
cannot overlap make the pod unschedulable everywhere ("pod affinity terms conflict").
Filter checks the profile's added required affinity first, then the pod's nodeSelector AND
required affinity; every failure is UnschedulableAndUnresolvable. Score is the sum of the
weights of the matching preferred terms (the pod's and the profile's), scaled so the best
node gets 100.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from podfit.errors import ManifestError
from podfit.fields import Field
from podfit.manifest import parse_node_selector_term
from podfit.model import Node, NodeSelector, NodeSelectorTerm, Pod, PreferredSchedulingTerm
from podfit.versions import LATEST, KubeVersion

from .columns import Columns, Ints, decide_groups
from .detail import Detail, label_text, requirement_data, requirement_text
from .framework import CycleState, Plugin, default_normalize, default_normalize_all, restrict_nodes
from .labels import (
    IN,
    NODE_NAME_FIELD,
    NOT_IN,
    RequiredAffinity,
    WeightedTerms,
    is_empty_term,
    node_selector_matches,
    node_selector_term_problems,
    preferred_terms_problems,
    required_affinity_matches,
    required_affinity_of,
    requirement_matches,
    usable_term_matches,
    usable_terms,
    weighted_score,
    weighted_terms,
)
from .nodeinfo import NodeInfo, PodInfo, Snapshot
from .profile import ConfigError
from .status import SKIP, Code, Status, unresolvable

NAME = "NodeAffinity"

ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector"
ERR_REASON_ENFORCED = "node(s) didn't match scheduler-enforced node affinity"
ERR_REASON_CONFLICT = "pod affinity terms conflict"

TYPE_META = ("apiVersion", "kind")
REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"
PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"


# --- args --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AddedAffinity:
    """NodeAffinityArgs.addedAffinity: applied to every pod of the profile."""

    required: NodeSelector | None = None
    preferred: tuple[PreferredSchedulingTerm, ...] = ()


def _fail(path: str, message: str) -> ConfigError:
    return ConfigError(f"{NAME} args: {path}: {message}")


def _check_keys(value: Any, path: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(path, f"expected a mapping, got {type(value).__name__}")
    for key in value:
        if key not in allowed:
            # kube-scheduler decodes its configuration strictly.
            raise _fail(f"{path}.{key}", "unknown field")
    return value


def _term(raw: Any, path: str) -> NodeSelectorTerm:
    _check_keys(raw, path, ("matchExpressions", "matchFields"))
    try:
        # Read as the plugin reads it; its own checks (below) decide what is refused.
        term = parse_node_selector_term(Field(raw, path), syntax=False)
    except ManifestError as exc:
        raise ConfigError(f"{NAME} args: {exc}") from None
    return term


def _list(raw: Any, path: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _fail(path, f"expected a list, got {type(raw).__name__}")
    return raw


def parse_added_affinity(args: Mapping[str, Any] | None) -> AddedAffinity:
    """Parse and validate the args as upstream's New does: strictly, so a term upstream cannot
    parse is a configuration error rather than a term that never matches."""
    args = _check_keys(args, "args", ("addedAffinity", *TYPE_META))
    raw = _check_keys(args.get("addedAffinity"), "addedAffinity", (REQUIRED, PREFERRED))
    required = None
    if raw.get(REQUIRED) is not None:
        req_path = f"addedAffinity.{REQUIRED}"
        req = _check_keys(raw[REQUIRED], req_path, ("nodeSelectorTerms",))
        terms_path = f"{req_path}.nodeSelectorTerms"
        terms = tuple(
            _term(t, f"{terms_path}[{i}]")
            for i, t in enumerate(_list(req.get("nodeSelectorTerms"), terms_path))
        )
        for i, term in enumerate(terms):
            if is_empty_term(term):
                continue  # an empty term selects nothing; upstream drops it before parsing
            for problem in node_selector_term_problems(term):
                raise ConfigError(f"{NAME} args: {terms_path}[{i}].{problem}")
        required = NodeSelector(terms=terms)
    pref_path = f"addedAffinity.{PREFERRED}"
    preferred = []
    for i, item in enumerate(_list(raw.get(PREFERRED), pref_path)):
        item_path = f"{pref_path}[{i}]"
        entry = _check_keys(item, item_path, ("weight", "preference"))
        weight = entry.get("weight", 0)
        if isinstance(weight, bool) or not isinstance(weight, int):
            raise _fail(f"{item_path}.weight", f"expected an integer, got {weight!r}")
        if weight < 0:
            # Upstream does not check this, but a negative sum is an invalid node score.
            raise _fail(f"{item_path}.weight", f"must not be negative, got {weight}")
        preferred.append(
            PreferredSchedulingTerm(
                weight=weight, preference=_term(entry.get("preference"), f"{item_path}.preference")
            )
        )
    for problem in preferred_terms_problems(tuple(preferred)):
        raise ConfigError(f"{NAME} args: {pref_path}{problem}")
    return AddedAffinity(required=required, preferred=tuple(preferred))


# --- what the pod asks for ---------------------------------------------------------------------


def pod_required_affinity(pod: Pod) -> NodeSelector | None:
    affinity = pod.affinity
    if affinity is None or affinity.node_affinity is None:
        return None
    return affinity.node_affinity.required


def pod_preferred_terms(pod: Pod) -> tuple[PreferredSchedulingTerm, ...]:
    affinity = pod.affinity
    if affinity is None or affinity.node_affinity is None:
        return ()
    return affinity.node_affinity.preferred


def node_names_from_fields(required: NodeSelector) -> set[str] | None:
    """The nodes the required terms can select by name, or None when any node may do.

    Within a term, every ``matchFields metadata.name In`` narrows (intersection); across the
    ORed terms the names add up (union). One term without such a requirement lets every node
    through, so there is no narrowing at all.
    """
    names: set[str] = set()
    for term in required.terms:
        term_names: set[str] | None = None
        for req in term.match_fields:
            if req.key == NODE_NAME_FIELD and req.operator == IN:
                values = set(req.values)
                term_names = values if term_names is None else term_names & values
        if term_names is None:
            return None
        names |= term_names
    return names


# --- why a node does not match -------------------------------------------------------------


def node_affinity_details(pod: Pod, node: Node) -> list[Detail]:
    """Each nodeSelector entry and each required node affinity expression the node fails,
    with the node's actual label value."""
    out: list[Detail] = []
    labels = node.labels
    for key, want in sorted(pod.node_selector.items()):
        if labels.get(key) != want:
            out.append(
                Detail(
                    "nodeSelector",
                    f"nodeSelector {key}={want}: the node {label_text(labels, key)}",
                    {"key": key, "value": want, "nodeValue": labels.get(key)},
                )
            )
    required = pod_required_affinity(pod)
    if required is None or node_selector_matches(required, labels, node.name):
        return out
    if not required.terms:
        out.append(
            Detail(
                "nodeAffinity",
                "required node affinity has no nodeSelectorTerms: it selects no node",
                {"term": None},
            )
        )
    for i, term in enumerate(required.terms):
        out.extend(term_failures(term, i, len(required.terms), node))
    return out


def required_keys_read(pod: Pod) -> tuple[tuple[str, ...], bool]:
    """The label keys the pod's nodeSelector and required node affinity read, and whether a
    term reads the node's name (matchFields)."""
    required = pod_required_affinity(pod)
    keys, by_name = _keys_of_terms(required.terms if required is not None else ())
    return tuple(dict.fromkeys((*pod.node_selector, *keys))), by_name


def _keys_of_terms(terms: Iterable[NodeSelectorTerm]) -> tuple[tuple[str, ...], bool]:
    """The label keys the terms' matchExpressions read, and whether a term has matchFields
    (which read the node's name)."""
    keys: list[str] = []
    by_name = False
    for term in terms:
        keys += [r.key for r in term.match_expressions]
        by_name = by_name or bool(term.match_fields)
    return tuple(dict.fromkeys(keys)), by_name


def term_name(index: int, count: int) -> str:
    """``required node affinity`` for a single term, ``... term 2 of 3`` otherwise."""
    return "required node affinity" + (f" term {index + 1} of {count}" if count > 1 else "")


def term_failures(term: NodeSelectorTerm, index: int, count: int, node: Node) -> list[Detail]:
    """What keeps one required node selector term (ORed with the others) from the node."""
    name = term_name(index, count)
    if is_empty_term(term):
        return [Detail("nodeAffinity", f"{name} is empty: it selects no node", {"term": index})]
    problems = node_selector_term_problems(term)
    if problems:
        return [
            Detail(
                "nodeAffinity",
                f"{name} cannot be parsed ({problems[0]}): it selects no node",
                {"term": index, "problems": problems},
            )
        ]
    out = []
    labels = node.labels
    for req in term.match_expressions:
        if not requirement_matches(req, labels):
            out.append(
                Detail(
                    "nodeAffinity",
                    f"{name}: {requirement_text(req)}: the node {label_text(labels, req.key)}",
                    {
                        "term": index,
                        "expression": requirement_data(req),
                        "nodeValue": labels.get(req.key),
                    },
                )
            )
    for req in term.match_fields:
        named = req.key == NODE_NAME_FIELD and node.name in req.values
        if (req.operator == IN and not named) or (req.operator == NOT_IN and named):
            out.append(
                Detail(
                    "nodeAffinity",
                    f"{name}: field {requirement_text(req)}: not this node's name",
                    {"term": index, "field": requirement_data(req), "nodeName": node.name},
                )
            )
    return out


# --- the plugin --------------------------------------------------------------------------------

# What PreFilter and PreScore decide once per pod for Filter and Score.
_REQUIRED_KEY = NAME + "/required"
_PREFERRED_KEY = NAME + "/preferred"
_WHY_KEYS_KEY = NAME + "/why-keys"
_WHY_KEY = NAME + "/why"
_REJECTED_ENFORCED = unresolvable(ERR_REASON_ENFORCED)
_REJECTED_POD = unresolvable(ERR_REASON_POD)
# PreScore's terms, the label keys they read, whether they read the name, and the scores
# found so far by the values of those keys (and the name).
_Preferred = tuple[WeightedTerms, tuple[str, ...], bool, dict[Any, int]]


class NodeAffinity(Plugin):
    name = NAME
    filters = True
    scores = True

    def __init__(
        self, args: Mapping[str, Any] | None = None, *, version: KubeVersion = LATEST
    ) -> None:
        super().__init__(args, version=version)
        self.added = parse_added_affinity(self.args)
        # The added required terms that can select a node (None: the profile adds none).
        added = self.added.required
        self.added_terms = None if added is None else usable_terms(added.terms)

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status | None:
        required = pod_required_affinity(pod.pod)
        if required is None and self.added.required is None and not pod.pod.node_selector:
            return SKIP
        state[_REQUIRED_KEY] = required_affinity_of(pod.pod)
        if required is None or not required.terms:
            return None
        names = node_names_from_fields(required)
        if names is None:
            return None
        if not names:
            return unresolvable(ERR_REASON_CONFLICT)
        restrict_nodes(state, NAME, names)
        return None

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        n = node.node
        labels = n.labels
        added = self.added_terms
        if added is not None and not any(
            usable_term_matches(term, labels, n.name) for term in added
        ):
            return _REJECTED_ENFORCED
        # Terms upstream cannot parse simply never match ("for backwards compatibility").
        required: RequiredAffinity | None = state.get(_REQUIRED_KEY)
        if required is None:
            required = required_affinity_of(pod.pod)
        if not required_affinity_matches(required, labels, n.name):
            return _REJECTED_POD
        return None

    def groups(
        self, state: CycleState, pod: PodInfo, columns: Columns
    ) -> tuple[Ints, list[int]] | None:
        # The answers depend on the values of the labels the selectors read: nodes that
        # agree on those share them. Terms that read the node's name: node by node.
        read, by_name = required_keys_read(pod.pod)
        if self.added_terms is not None:
            added, added_by_name = _keys_of_terms(self.added_terms)
            read, by_name = tuple(dict.fromkeys((*read, *added))), by_name or added_by_name
        return None if by_name else columns.by_labels(read)

    def detail(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[Detail, ...]:
        n = node.node
        added = self.added.required
        if added is not None and not node_selector_matches(added, n.labels, n.name):
            return (
                Detail(
                    "addedAffinity",
                    "the scheduler profile's addedAffinity (NodeAffinity args) does not "
                    "select the node",
                ),
            )
        # The details depend on the labels the pod's selectors read (and, with matchFields,
        # the node's name): nodes that agree on those share them.
        keys = state.get(_WHY_KEYS_KEY)
        if keys is None:
            keys = state[_WHY_KEYS_KEY] = required_keys_read(pod.pod)
        read, by_name = keys
        key = (tuple(map(n.labels.get, read)), n.name if by_name else None)
        cache: dict[Any, tuple[Detail, ...]] | None = state.get(_WHY_KEY)
        if cache is None:
            cache = state[_WHY_KEY] = {}
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = tuple(node_affinity_details(pod.pod, n))
        return hit

    def pre_score(
        self, state: CycleState, pod: PodInfo, snapshot: Snapshot, nodes: list[NodeInfo]
    ) -> Status | None:
        preferred = pod_preferred_terms(pod.pod)
        problems = preferred_terms_problems(preferred)
        if problems:
            # Upstream fails the whole scheduling attempt; Score below ignores such terms.
            return Status(Code.ERROR, tuple(problems), NAME)
        if not preferred and not self.added.preferred:
            return SKIP
        terms = weighted_terms((*self.added.preferred, *preferred))
        state[_PREFERRED_KEY] = (terms, *_keys_of_terms(term for _, term in terms), {})
        return None

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        n = node.node
        prepared: _Preferred | None = state.get(_PREFERRED_KEY)
        if prepared is None:
            terms = weighted_terms((*self.added.preferred, *pod_preferred_terms(pod.pod)))
            return weighted_score(terms, n.labels, n.name)
        # The score depends only on the labels the terms read (and, with matchFields, the
        # name): nodes that agree on those share it within the cycle.
        terms, read, by_name, scores = prepared
        key = (tuple(map(n.labels.get, read)), n.name if by_name else None)
        score = scores.get(key)
        if score is None:
            score = scores[key] = weighted_score(terms, n.labels, n.name)
        return score

    def score_all(
        self, state: CycleState, pod: PodInfo, columns: Columns, rows: Ints
    ) -> Ints | None:
        prepared: _Preferred | None = state.get(_PREFERRED_KEY)
        if prepared is None or prepared[2]:
            return None  # terms reading the node's name: node by node
        ids, first = columns.by_labels(prepared[1])
        nodes = columns.nodes
        return decide_groups(ids, first, rows, lambda i: self.score(state, pod, nodes[i]), np.int64)

    def normalize(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> None:
        default_normalize(scores)

    def normalize_all(self, state: CycleState, pod: PodInfo, scores: Ints) -> Ints | None:
        return default_normalize_all(scores)
