"""Labels and node selectors with apimachinery's and component-helpers' semantics: label
key and value syntax, node selector requirements (In, NotIn, Exists, DoesNotExist, Gt, Lt),
matchFields, and a term's verdict on one node."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from podfit.model import Node, NodeSelectorTerm, Requirement

_NAME_PART = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*")
_GO_INT = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
NODE_EXPRESSION_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")


def valid_label_key(key: str) -> bool:
    """IsQualifiedName: ``[prefix/]name``, prefix a DNS-1123 subdomain, name ≤ 63 bytes."""
    parts = key.split("/")
    if len(parts) > 2:
        return False
    if len(parts) == 2:
        prefix, name = parts
        if not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix):
            return False
    else:
        name = key
    return 0 < len(name.encode()) <= 63 and _NAME_PART.fullmatch(name) is not None


def valid_label_value(value: str) -> bool:
    return len(value.encode()) <= 63 and (value == "" or _NAME_PART.fullmatch(value) is not None)


def parse_go_int64(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 64): sign and leading zeros allowed, nothing else."""
    if not _GO_INT.fullmatch(text):
        return None
    number = int(text)
    return number if _INT64_MIN <= number <= _INT64_MAX else None


def expression_problem(req: Requirement) -> str | None:
    """Why labels.NewRequirement would reject a node selector expression (None: it is fine)."""
    op, values = req.operator, req.values
    if op not in NODE_EXPRESSION_OPERATORS:
        return f"operator {op!r} is not supported"
    if not valid_label_key(req.key):
        return f"{req.key!r} is not a valid label key"
    if op in ("In", "NotIn") and not values:
        return f"{op} needs at least one value"
    if op in ("Exists", "DoesNotExist") and values:
        return f"{op} takes no values"
    if op in ("Gt", "Lt") and (len(values) != 1 or parse_go_int64(values[0]) is None):
        return f"{op} needs exactly one integer value"
    for value in values:
        if not valid_label_value(value):
            return f"{value!r} is not a valid label value"
    return None


def expression_matches(req: Requirement, labels: Mapping[str, str]) -> bool:
    present = req.key in labels
    value = labels.get(req.key, "")
    op = req.operator
    if op == "In":
        return present and value in req.values
    if op == "NotIn":
        return not present or value not in req.values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt") and present and len(req.values) == 1:
        have, bound = parse_go_int64(value), parse_go_int64(req.values[0])
        if have is None or bound is None:
            return False
        return have > bound if op == "Gt" else have < bound
    return False


def field_problem(req: Requirement) -> str | None:
    if req.operator not in ("In", "NotIn"):
        return f"matchFields operator {req.operator!r} is not supported"
    if len(req.values) != 1:
        return "matchFields need exactly one value"
    return None


def field_matches(req: Requirement, node_name: str) -> bool:
    # The node's only field is metadata.name; any other key reads as "".
    actual = node_name if req.key == "metadata.name" else ""
    return (actual == req.values[0]) == (req.operator == "In")


TermVerdict = Literal["match", "no-match", "invalid", "empty"]


def term_verdict(term: NodeSelectorTerm, node: Node) -> TermVerdict:
    if not term.match_expressions and not term.match_fields:
        return "empty"
    problems = [expression_problem(r) for r in term.match_expressions]
    problems += [field_problem(r) for r in term.match_fields]
    if any(p is not None for p in problems):
        return "invalid"
    if not all(expression_matches(r, node.labels) for r in term.match_expressions):
        return "no-match"
    # A node without a name has no fields, and then matchFields are not looked at.
    if node.name and not all(field_matches(r, node.name) for r in term.match_fields):
        return "no-match"
    return "match"


def term_text(term: NodeSelectorTerm) -> str:
    def one(r: Requirement) -> str:
        if r.operator in ("Exists", "DoesNotExist"):
            return f"{r.key} {r.operator}"
        return f"{r.key} {r.operator} [{', '.join(r.values)}]"

    parts = [one(r) for r in term.match_expressions]
    parts += [f"field {one(r)}" for r in term.match_fields]
    return " and ".join(parts) if parts else "(empty term)"
