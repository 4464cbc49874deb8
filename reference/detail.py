"""The concrete cause behind a filter's reason, for a person who has to act on it.

kube-scheduler's reasons are terse and, since v1.35 for taints, deliberately vague: its
events are visible to tenants. podfit runs on the operator's own data, so next to each
reason it says what it knows: which taint, which label value, which running pod, how
much is free. A :class:`Detail` is one such fact, with a sentence (the same words in
every output) and the data behind it.

Details are computed only for nodes that were rejected, by the plugin that rejected
them (``Plugin.detail``), after the cycle: the filtering itself is untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from podfit.model import LabelSelector, Requirement
from podfit.quantity import Format, Quantity

from .resources import CPU, PODS


@dataclass(frozen=True, slots=True)
class Detail:
    """One fact about why a node was rejected.

    ``kind`` names the fact (stable, for programs); ``text`` is the sentence people read,
    written without the node's name so that nodes with the same cause read the same;
    ``data`` holds the fields the sentence is made of.
    """

    kind: str
    text: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, **self.data}


# --- amounts as people read them ---------------------------------------------------------------

_BINARY_UNITS = ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei")


def _significant(value: float, digits: int) -> str:
    """``value`` with at most ``digits`` significant digits, without trailing zeros."""
    if value == 0:
        return "0"
    whole = len(str(int(value))) if value >= 1 else 1
    decimals = max(0, digits - whole)
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def human_amount(resource: str, amount: int, digits: int = 3) -> str:
    """An amount in the scheduler's units (millicores for cpu, whole units otherwise) as
    a person reads it: ``500m``, ``2``, ``1.5`` cores; ``628Mi``, ``1.5Gi`` for bytes;
    plain counts for pods and extended resources. Byte amounts keep ``digits``
    significant digits (643008Ki is ``628Mi``)."""
    if resource == CPU:
        # Whole cores as cores, anything else in millicores (as people write requests).
        return str(amount // 1000) if amount % 1000 == 0 else f"{amount}m"
    if not is_byte_resource(resource):
        return str(amount)
    value = float(amount)
    unit = ""
    for name in _BINARY_UNITS:
        if abs(value) < 1024:
            break
        value /= 1024
        unit = name
    return f"{_significant(value, digits)}{unit}"


def is_byte_resource(resource: str) -> bool:
    return resource in ("memory", "ephemeral-storage") or resource.startswith("hugepages-")


def human_amounts(resource: str, *amounts: int) -> list[str]:
    """Several amounts of one resource, with enough digits that different amounts never
    read the same (so "requests 628Mi, 628Mi free" cannot happen)."""
    for digits in (3, 4, 5, 6, 8, 12):
        texts = [human_amount(resource, a, digits) for a in amounts]
        clash = any(
            texts[i] == texts[j] and amounts[i] != amounts[j]
            for i in range(len(amounts))
            for j in range(i + 1, len(amounts))
        )
        if not clash:
            return texts
    return [exact_amount(resource, a) for a in amounts]


def exact_amount(resource: str, amount: int) -> str:
    """The amount as an exact Kubernetes quantity (data for programs): ``500m``,
    ``643008Ki``, ``3``."""
    from fractions import Fraction

    if resource == CPU:
        return str(Quantity(Fraction(amount, 1000), Format.DECIMAL_SI))
    fmt = Format.BINARY_SI if is_byte_resource(resource) else Format.DECIMAL_SI
    return str(Quantity(Fraction(amount), fmt))


def resource_shortfall(
    resource: str, requested: int, used: int, allocatable: int
) -> tuple[str, dict[str, Any]]:
    """``cpu: requests 500m, 200m free of 2`` and the data behind it."""
    free = allocatable - used
    if resource == PODS:
        text = f"pods: {used} already run here, the node allows {allocatable}"
    else:
        req, free_text, alloc = human_amounts(resource, requested, max(free, 0), allocatable)
        if requested > allocatable:
            text = f"{resource}: requests {req}, more than the node's whole {alloc}"
        else:
            text = f"{resource}: requests {req}, {free_text} free of {alloc}"
    data = {
        "resource": resource,
        "requested": exact_amount(resource, requested),
        "free": exact_amount(resource, max(free, 0)),
        "allocatable": exact_amount(resource, allocatable),
        "used": exact_amount(resource, used),
    }
    return text, data


# --- selectors as people read them -------------------------------------------------------------


def requirement_text(req: Requirement) -> str:
    if req.operator in ("Exists", "DoesNotExist"):
        return f"{req.key} {req.operator}"
    return f"{req.key} {req.operator} [{', '.join(req.values)}]"


def requirement_data(req: Requirement) -> dict[str, Any]:
    return {"key": req.key, "operator": req.operator, "values": list(req.values)}


def selector_text(selector: LabelSelector | None) -> str:
    """``app=web, tier In [a, b]``; the edge cases say what they select."""
    if selector is None:
        return "no labelSelector (selects no pod)"
    if selector.is_empty:
        return "every pod ({} selector)"
    parts = [f"{k}={v}" for k, v in sorted(selector.match_labels.items())]
    parts += [requirement_text(r) for r in selector.match_expressions]
    return ", ".join(parts)


def label_text(labels: Mapping[str, str], key: str) -> str:
    """``has disktype=hdd`` or ``has no label disktype``: what the node carries."""
    if key not in labels:
        return f"has no label {key}"
    return f"has {key}={labels[key]}"


def pods_text(keys: Iterable[str], limit: int = 3) -> str:
    """``shop/web-1, shop/web-2 and 3 more``."""
    keys = list(keys)
    shown = ", ".join(keys[:limit])
    if len(keys) > limit:
        shown += f" and {len(keys) - limit} more"
    return shown
