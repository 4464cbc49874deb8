"""Label selectors and node selector terms, matched the way kube-scheduler matches them.

Upstream: ``staging/src/k8s.io/apimachinery/pkg/labels/selector.go`` (Requirement.Matches
and NewRequirement's checks), ``staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/helpers.go``
(LabelSelectorAsSelector) and
``staging/src/k8s.io/component-helpers/scheduling/corev1/nodeaffinity/nodeaffinity.go``
(node selector terms, GetRequiredNodeAffinity).

Every function here is total: a requirement upstream could not even build (an invalid key
or value, a Gt value that is not an integer, a wrong number of values) never matches, which
is what the scheduler ends up doing with it. ``*_problems`` say why, for callers that must
report an error instead (plugin args are parsed strictly, a pod's preferred terms fail
PreScore).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from podfit.model import (
    LabelSelector,
    Node,
    NodeSelector,
    NodeSelectorTerm,
    Pod,
    PreferredSchedulingTerm,
    Requirement,
)
from podfit.validation import label_value_problems, qualified_name_problems

IN = "In"
NOT_IN = "NotIn"
EXISTS = "Exists"
DOES_NOT_EXIST = "DoesNotExist"
GT = "Gt"
LT = "Lt"

LABEL_SELECTOR_OPERATORS = (IN, NOT_IN, EXISTS, DOES_NOT_EXIST)
NODE_SELECTOR_OPERATORS = (*LABEL_SELECTOR_OPERATORS, GT, LT)
FIELD_SELECTOR_OPERATORS = (IN, NOT_IN)

# The only field a node selector's matchFields can name.
NODE_NAME_FIELD = "metadata.name"

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# strconv.ParseInt(s, 10, 64): an optional sign and ASCII digits, nothing else (no spaces,
# no underscores, no other Unicode digits, all of which Python's int() would accept).
_GO_INT = re.compile(r"[+-]?[0-9]+")


def parse_int64(text: str) -> int | None:
    """``text`` as Go's ``strconv.ParseInt(text, 10, 64)`` reads it; None when it cannot.

    Leading zeros are fine ("010" is 10), so is a leading "+".
    """
    if not _GO_INT.fullmatch(text):
        return None
    value = int(text, 10)
    return value if INT64_MIN <= value <= INT64_MAX else None


# --- one requirement ---------------------------------------------------------------------------


def requirement_matches(req: Requirement, labels: Mapping[str, str]) -> bool:
    """Does one matchExpressions entry hold for a label map (labels.Requirement.Matches)?

    A key that is present with the empty value is present. NotIn and DoesNotExist hold for a
    map without the key; In, Exists, Gt and Lt do not. Gt and Lt compare integers: they never
    hold when the label is missing or is not an integer, or when the requirement does not have
    exactly one integer value.
    """
    op = req.operator
    present = req.key in labels
    if op == IN:
        return present and labels[req.key] in req.values
    if op == NOT_IN:
        return not present or labels[req.key] not in req.values
    if op == EXISTS:
        return present
    if op == DOES_NOT_EXIST:
        return not present
    if op in (GT, LT):
        if not present or len(req.values) != 1:
            return False
        have = parse_int64(labels[req.key])
        bound = parse_int64(req.values[0])
        if have is None or bound is None:
            return False
        return have > bound if op == GT else have < bound
    return False


def requirement_problems(req: Requirement, operators: tuple[str, ...]) -> list[str]:
    """Why labels.NewRequirement would reject this requirement (empty when it is valid)."""
    problems = [f"key: invalid value {req.key!r}: {p}" for p in qualified_name_problems(req.key)]
    op, values = req.operator, req.values
    if op not in operators:
        problems.append(
            f"operator: unsupported value {op!r}: supported values: {', '.join(operators)}"
        )
    elif op in (IN, NOT_IN) and not values:
        problems.append("values: for 'in', 'notin' operators, values set can't be empty")
    elif op in (EXISTS, DOES_NOT_EXIST) and values:
        problems.append("values: values set must be empty for exists and does not exist")
    elif op in (GT, LT):
        if len(values) != 1:
            problems.append("values: for 'Gt', 'Lt' operators, exactly one value is required")
        for i, value in enumerate(values):
            if parse_int64(value) is None:
                problems.append(
                    f"values[{i}]: invalid value {value!r}: "
                    "for 'Gt', 'Lt' operators, the value must be an integer"
                )
    for i, value in enumerate(values):
        # Every value must also be a valid label value, so a negative Gt/Lt bound is invalid.
        problems.extend(
            f"values[{i}]: invalid value {value!r}: {p}" for p in label_value_problems(value)
        )
    return problems


# --- metav1.LabelSelector ----------------------------------------------------------------------


def label_selector_problems(selector: LabelSelector | None) -> list[str]:
    """Why LabelSelectorAsSelector would fail for this selector (empty when it is valid)."""
    if selector is None:
        return []
    problems: list[str] = []
    for key, value in selector.match_labels.items():
        problems.extend(
            f"matchLabels: invalid key {key!r}: {p}" for p in qualified_name_problems(key)
        )
        problems.extend(
            f"matchLabels[{key}]: invalid value {value!r}: {p}" for p in label_value_problems(value)
        )
    for i, req in enumerate(selector.match_expressions):
        if req.operator not in LABEL_SELECTOR_OPERATORS:
            problems.append(f"{req.operator!r} is not a valid label selector operator")
            continue
        problems.extend(
            f"matchExpressions[{i}].{p}"
            for p in requirement_problems(req, LABEL_SELECTOR_OPERATORS)
        )
    return problems


# Validity by selector identity: selectors are immutable and matched against many pods.
_VALID_SELECTORS: dict[int, tuple[LabelSelector, bool]] = {}


def _selector_is_valid(selector: LabelSelector) -> bool:
    hit = _VALID_SELECTORS.get(id(selector))
    if hit is not None and hit[0] is selector:
        return hit[1]
    if len(_VALID_SELECTORS) > 100_000:
        _VALID_SELECTORS.clear()
    valid = not label_selector_problems(selector)
    _VALID_SELECTORS[id(selector)] = (selector, valid)
    return valid


def selector_is_valid(selector: LabelSelector) -> bool:
    """Whether upstream can parse the selector (checked once per selector object)."""
    return _selector_is_valid(selector)


def single_label(selector: LabelSelector) -> tuple[str, str] | None:
    """The one key=value a valid selector requires, when that is all it requires
    (``matchLabels: {k: v}`` or ``k In [v]``); None otherwise."""
    pairs = list(selector.match_labels.items())
    for req in selector.match_expressions:
        if req.operator != IN or len(req.values) != 1:
            return None
        pairs.append((req.key, req.values[0]))
    if len(set(pairs)) != 1 or not _selector_is_valid(selector):
        return None
    return pairs[0]


def selector_matches(selector: LabelSelector | None, labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector semantics: an absent selector (None) matches nothing, an empty
    selector ``{}`` matches everything, otherwise every matchLabels entry and every
    matchExpressions entry must hold.

    This is the generic meaning; a caller whose field gives None another meaning must handle
    None itself. A selector upstream cannot parse (see ``label_selector_problems``) matches
    nothing here.
    """
    if selector is None:
        return False
    if selector.is_empty:
        return True
    if not _selector_is_valid(selector):
        return False
    for key, value in selector.match_labels.items():
        if labels.get(key) != value:
            return False
    return all(requirement_matches(req, labels) for req in selector.match_expressions)


# --- node selector terms -----------------------------------------------------------------------


def _field_value(key: str, name: str) -> str:
    # A node exposes one field to selectors; any other field reads as empty.
    return name if key == NODE_NAME_FIELD else ""


def node_selector_term_problems(term: NodeSelectorTerm) -> list[str]:
    """Why component-helpers would fail to parse this term (empty when it is valid)."""
    problems = [
        f"matchExpressions[{i}].{p}"
        for i, req in enumerate(term.match_expressions)
        for p in requirement_problems(req, NODE_SELECTOR_OPERATORS)
    ]
    for i, req in enumerate(term.match_fields):
        if req.operator not in FIELD_SELECTOR_OPERATORS:
            problems.append(
                f"matchFields[{i}].operator: unsupported value {req.operator!r}: "
                f"supported values: {', '.join(FIELD_SELECTOR_OPERATORS)}"
            )
        elif len(req.values) != 1:
            problems.append(f"matchFields[{i}].values: must have one element")
    return problems


@functools.lru_cache(maxsize=4096)
def _term_is_valid(term: NodeSelectorTerm) -> bool:
    """Cached: a term is matched against every node, its validity checked once."""
    return not node_selector_term_problems(term)


def is_empty_term(term: NodeSelectorTerm) -> bool:
    return not term.match_expressions and not term.match_fields


def node_selector_term_matches(
    term: NodeSelectorTerm, labels: Mapping[str, str], name: str
) -> bool:
    """Does one node selector term select the node with these labels and this name?

    matchExpressions look at the labels only and matchFields at ``metadata.name`` only (a
    label called "metadata.name" is just a label). All of them must hold. A term with neither
    selects no node, and so does a term upstream cannot parse. As upstream does, matchFields
    are not checked at all for a node without a name.
    """
    if is_empty_term(term) or not _term_is_valid(term):
        return False
    return usable_term_matches(term, labels, name)


def usable_terms(terms: tuple[NodeSelectorTerm, ...]) -> tuple[NodeSelectorTerm, ...]:
    """The terms that can select a node at all (not empty, parsed by upstream), for matching
    one selector against many nodes with :func:`usable_term_matches`."""
    return tuple(t for t in terms if not is_empty_term(t) and _term_is_valid(t))


def usable_term_matches(term: NodeSelectorTerm, labels: Mapping[str, str], name: str) -> bool:
    """:func:`node_selector_term_matches` for a term :func:`usable_terms` kept."""
    for req in term.match_expressions:
        if not requirement_matches(req, labels):
            return False
    if not name:
        return True
    for req in term.match_fields:
        equal = _field_value(req.key, name) == req.values[0]
        if (req.operator == IN and not equal) or (req.operator == NOT_IN and equal):
            return False
    return True


def node_selector_matches(selector: NodeSelector, labels: Mapping[str, str], name: str) -> bool:
    """Terms are ORed; an empty list of terms selects no node. A term that cannot be parsed
    is skipped, so another valid term can still select the node."""
    return any(node_selector_term_matches(term, labels, name) for term in selector.terms)


def preferred_terms_problems(terms: tuple[PreferredSchedulingTerm, ...]) -> list[str]:
    """Why NewPreferredSchedulingTerms would fail. Terms of weight 0 and empty terms are
    skipped before they are parsed, so their problems are never reported."""
    return [
        f"[{i}].{p}"
        for i, t in enumerate(terms)
        if t.weight != 0 and not is_empty_term(t.preference)
        for p in node_selector_term_problems(t.preference)
    ]


def preferred_score(
    terms: tuple[PreferredSchedulingTerm, ...], labels: Mapping[str, str], name: str
) -> int:
    """The sum of the weights of the preferred terms that select the node."""
    return weighted_score(weighted_terms(terms), labels, name)


WeightedTerms = tuple[tuple[int, NodeSelectorTerm], ...]


def weighted_terms(terms: tuple[PreferredSchedulingTerm, ...]) -> WeightedTerms:
    """(weight, term) of the preferred terms that can add to a score (weight not 0, term
    usable), decided once for scoring many nodes with :func:`weighted_score`."""
    return tuple(
        (t.weight, t.preference) for t in terms if t.weight != 0 and usable_terms((t.preference,))
    )


def weighted_score(terms: WeightedTerms, labels: Mapping[str, str], name: str) -> int:
    """The sum of the weights of the :func:`weighted_terms` that select the node."""
    total = 0
    for weight, term in terms:
        if usable_term_matches(term, labels, name):
            total += weight
    return total


# --- a pod's required node affinity ------------------------------------------------------------


def node_selector_map_matches(node_selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """spec.nodeSelector: every entry must be a label of the node with exactly that value."""
    return all(key in labels and labels[key] == value for key, value in node_selector.items())


def required_node_affinity_matches(pod: Pod, node: Node) -> bool:
    """spec.nodeSelector AND requiredDuringSchedulingIgnoredDuringExecution, as
    GetRequiredNodeAffinity(pod).Match(node) decides (parse errors mean no match)."""
    return required_affinity_matches(required_affinity_of(pod), node.labels, node.name)


#: A pod's nodeSelector entries, and its required node affinity's usable terms (None when
#: it has no required node affinity), decided once for matching many nodes.
RequiredAffinity = tuple[tuple[tuple[str, str], ...], tuple[NodeSelectorTerm, ...] | None]


def required_affinity_of(pod: Pod) -> RequiredAffinity:
    """What :func:`required_affinity_matches` checks for ``pod``."""
    affinity = pod.affinity
    required = affinity.node_affinity.required if affinity and affinity.node_affinity else None
    terms = None if required is None else usable_terms(required.terms)
    return tuple(pod.node_selector.items()), terms


def required_affinity_matches(
    required: RequiredAffinity, labels: Mapping[str, str], name: str
) -> bool:
    """:func:`required_node_affinity_matches` with the pod's side decided beforehand."""
    selector, terms = required
    for key, value in selector:
        if labels.get(key) != value:
            return False
    if terms is None:
        return True
    return any(usable_term_matches(term, labels, name) for term in terms)
