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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from podfit.errors import ManifestError
from podfit.fields import Field
from podfit.manifest import parse_node_selector_term
from podfit.model import NodeSelector, NodeSelectorTerm, Pod, PreferredSchedulingTerm
from podfit.versions import LATEST, KubeVersion

from .framework import CycleState, Plugin, default_normalize, restrict_nodes
from .labels import (
    IN,
    NODE_NAME_FIELD,
    is_empty_term,
    node_selector_matches,
    node_selector_term_problems,
    preferred_score,
    preferred_terms_problems,
    required_node_affinity_matches,
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


# --- the plugin --------------------------------------------------------------------------------


class NodeAffinity(Plugin):
    name = NAME
    filters = True
    scores = True

    def __init__(
        self, args: Mapping[str, Any] | None = None, *, version: KubeVersion = LATEST
    ) -> None:
        super().__init__(args, version=version)
        self.added = parse_added_affinity(self.args)

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status | None:
        required = pod_required_affinity(pod.pod)
        if required is None and self.added.required is None and not pod.pod.node_selector:
            return SKIP
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
        added = self.added.required
        if added is not None and not node_selector_matches(added, n.labels, n.name):
            return unresolvable(ERR_REASON_ENFORCED)
        # Terms upstream cannot parse simply never match ("for backwards compatibility").
        if not required_node_affinity_matches(pod.pod, n):
            return unresolvable(ERR_REASON_POD)
        return None

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
        return None

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        n = node.node
        return preferred_score(self.added.preferred, n.labels, n.name) + preferred_score(
            pod_preferred_terms(pod.pod), n.labels, n.name
        )

    def normalize(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> None:
        default_normalize(scores)
