"""Taint and toleration matching, shared by the scheduler plugins, DaemonSet placement and
eviction.

Upstream: ``staging/src/k8s.io/api/core/v1/toleration.go`` (Toleration.ToleratesTaint) and
``staging/src/k8s.io/component-helpers/scheduling/corev1/helpers.go``
(TolerationsTolerateTaint, FindMatchingUntoleratedTaint).

A toleration tolerates a taint when all of these hold:

1. its effect is empty (every effect) or equals the taint's effect;
2. its key is empty (every key) or equals the taint's key;
3. its operator is ``Exists`` (any value), or ``Equal`` (also the empty operator) and its
   value equals the taint's value exactly — an empty value only equals an empty value.

Upstream also knows the operators ``Lt`` and ``Gt`` (KEP-5471, numeric comparison of the
values), behind the alpha feature gate ``TaintTolerationComparisonOperators``, off by
default. With the gate off the API server rejects them and ToleratesTaint is never true for
them, which is what :func:`tolerates` does for any operator other than Equal and Exists.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from podfit.model import Taint, Toleration

NO_SCHEDULE = "NoSchedule"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NO_EXECUTE = "NoExecute"

# The effects that keep a pod off a node (helper.DoNotScheduleTaintsFilterFunc).
FILTER_EFFECTS: tuple[str, ...] = (NO_SCHEDULE, NO_EXECUTE)

# The taint the node lifecycle controller puts on cordoned nodes; NodeUnschedulable checks
# spec.unschedulable against a toleration of exactly this taint (empty value).
UNSCHEDULABLE_TAINT_KEY = "node.kubernetes.io/unschedulable"
UNSCHEDULABLE_TAINT = Taint(key=UNSCHEDULABLE_TAINT_KEY, effect=NO_SCHEDULE, value="")

# TaintToleration's Filter reason since PR #134740 (v1.35, back-ported to v1.34 patch
# releases): taint keys and values can be sensitive, so the status no longer names them.
ERR_REASON_UNTOLERATED = "node(s) had untolerated taint(s)"
# The reason releases before that change gave, naming the first untolerated taint.
LEGACY_REASON_FORMAT = "node(s) had untolerated taint {{{key}: {value}}}"


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    """Whether one toleration tolerates one taint (ToleratesTaint)."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator in ("", "Equal"):
        return toleration.value == taint.value
    # Lt/Gt (gate off) and unknown operators never tolerate anything.
    return toleration.operator == "Exists"


def tolerates_every_taint(toleration: Toleration) -> bool:
    """An ``operator: Exists`` toleration without key and effect tolerates any taint."""
    return not toleration.effect and not toleration.key and toleration.operator == "Exists"


def tolerates_taint(tolerations: Iterable[Toleration], taint: Taint) -> bool:
    """Whether any of the tolerations tolerates the taint (TolerationsTolerateTaint)."""
    return any(tolerates(t, taint) for t in tolerations)


def find_untolerated_taint(
    taints: Iterable[Taint],
    tolerations: Collection[Toleration],
    effects: Collection[str] | None = None,
) -> Taint | None:
    """The first taint, in the node's order, whose effect is one of ``effects`` (every
    effect when None) and that no toleration tolerates (FindMatchingUntoleratedTaint)."""
    for taint in taints:
        if effects is not None and taint.effect not in effects:
            continue
        if not tolerates_taint(tolerations, taint):
            return taint
    return None


def untolerated_taints(taints: Iterable[Taint], tolerations: Collection[Toleration]) -> list[Taint]:
    """Every NoSchedule/NoExecute taint, in the node's order, that no toleration tolerates."""
    return [t for t in taints if t.effect in FILTER_EFFECTS and not tolerates_taint(tolerations, t)]


def count_untolerated(
    taints: Iterable[Taint], tolerations: Collection[Toleration], effect: str
) -> int:
    """How many of the taints with this effect no toleration tolerates."""
    return sum(1 for t in taints if t.effect == effect and not tolerates_taint(tolerations, t))


def format_taint_reason(taint: Taint | None = None, *, legacy: bool = False) -> str:
    """TaintToleration's Filter reason for a node with the untolerated ``taint``.

    Current kube-scheduler gives the same text whatever the taint (it only logs the taint).
    With ``legacy`` the text of releases before v1.35, ``node(s) had untolerated taint
    {key: value}`` (Go's ``{%s: %s}``, so an empty value leaves ``{key: }``).
    """
    if not legacy:
        return ERR_REASON_UNTOLERATED
    if taint is None:
        raise ValueError("the legacy reason names a taint")
    return LEGACY_REASON_FORMAT.format(key=taint.key, value=taint.value)
