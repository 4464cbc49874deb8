"""The solver's questions: does a batch fit, where can one pod go, and optimisation variants.

Every answer is three-valued: "feasible", "infeasible" or "unknown" (Z3 hit the time
limit or gave up; never reported as infeasible). Infeasible answers carry a minimal core
of spec rule ids and sentences that explain it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import z3

from podfit.cluster import Cluster
from podfit.defaults import resolve_priority
from podfit.model import Node, Pod

from . import class_optimize
from .compressed import solve_by_classes
from .copies import added_nodes, shape_copy
from .decode import decode
from .encode import encode
from .encoding import Encoding, label_of
from .explain import minimal_core, sentences
from .result import SolveResult, most_placed
from .session import Outcome, Session, Undecided


def _unknown(session: Session, what: str, placement: dict[str, str] | None = None) -> SolveResult:
    reason = session.reason_unknown or "unknown"
    return SolveResult(
        "unknown",
        placement=placement or {},
        explanation=[f"Z3 could not {what} within {session.timeout_ms} ms ({reason})."],
    )


def _unplaced(enc: Encoding, placement: dict[str, str]) -> list[str]:
    return [p.key for p in enc.pods if p.key not in placement]


def solve(
    cluster: Cluster, pods: Sequence[Pod], *, timeout_ms: int = 10000, require_all: bool = True
) -> SolveResult:
    """Place ``pods`` (pending, all at once) on ``cluster`` under kube-scheduler's filters.

    A placement is valid when every placed pod passes every filter with all the others in
    place (pending pods placed in the batch count like running ones for topology spread
    and inter-pod affinity). With ``require_all`` every pod must get a node; otherwise pods
    may stay unplaced (and the answer is then always feasible, with whatever placement Z3
    found).

    Large batches of interchangeable pods and nodes go to the counting encoding
    (:mod:`podfit.solver.compressed`), which states every rule the per-pod one does; its
    explanations speak of classes of pods and nodes.
    """
    if require_all:
        counted = solve_by_classes(cluster, pods, timeout_ms=timeout_ms)
        if counted is not None:
            return counted
    session = Session(timeout_ms=timeout_ms)
    enc = encode(cluster, pods, session, require_all=require_all)
    return _decide(enc, timeout_ms)


def _decide(enc: Encoding, timeout_ms: int) -> SolveResult:
    """Check an encoding: a placement, "unknown", or a minimal explanation."""
    session = enc.session
    outcome = session.check(enc.assumptions())
    if outcome is Outcome.SAT:
        placement = decode(enc)
        return SolveResult("feasible", placement, unplaced=_unplaced(enc, placement))
    if outcome is Outcome.UNKNOWN:
        return _unknown(session, "decide whether the pods fit")
    seed = [label_of(i) for i in session.unsat_core()]
    core = minimal_core(enc, budget_ms=timeout_ms, seed=seed)
    return SolveResult(
        "infeasible",
        explanation=sentences(enc, core),
        core=core.rules(),
        unplaced=[p.key for p in enc.pods],
    )


def feasible_nodes(cluster: Cluster, pod: Pod, timeout_ms: int = 10000) -> set[str]:
    """The nodes where ``pod`` alone could run, given the cluster as it is.

    Raises :class:`Undecided` if Z3 cannot decide a node within the time limit.
    """
    session = Session(timeout_ms=timeout_ms)
    enc = encode(cluster, [pod], session, require_all=False)
    rules = enc.assumptions()
    fits = set()
    for n in enc.nodes:
        outcome = session.check([*rules, enc.x(pod.key, n.name)])
        if outcome is Outcome.UNKNOWN:
            raise Undecided(
                f"Z3 could not decide whether {pod.key} fits on {n.name} within "
                f"{timeout_ms} ms ({session.reason_unknown}); raise the time limit"
            )
        if outcome is Outcome.SAT:
            fits.add(n.name)
    return fits


def _count(session: Session, conditions: Iterable[z3.BoolRef]) -> z3.ArithRef:
    one, zero = session.int_val(1), session.int_val(0)
    terms = [z3.If(c, one, zero) for c in conditions]
    return z3.Sum(terms) if terms else zero


def maximize_placed(
    cluster: Cluster, pods: Sequence[Pod], *, timeout_ms: int = 10000
) -> SolveResult:
    """Place as many pods as possible, priority level by priority level.

    Lexicographic: first the most pods of the highest priority, then, without giving any
    of those up, the most of the next priority, and so on (a scheduler never leaves a
    higher-priority pod pending to fit lower-priority ones). ``objective`` is the number of
    pods placed; the status is "feasible" when all are placed, "infeasible" when the
    optimum leaves some pending, "unknown" when Z3 ran out of time (the placement is then
    the best found, if any). Large batches go to the counting encoding
    (:mod:`podfit.solver.class_optimize`) when it takes them.
    """

    def priority(pod: Pod) -> int:
        return resolve_priority(pod, cluster.priority_classes, strict=False).effective_priority

    counted = class_optimize.maximize_placed(cluster, pods, priority, timeout_ms=timeout_ms)
    if counted is not None:
        return counted
    session = Session(timeout_ms=timeout_ms, optimize=True)
    enc = encode(cluster, pods, session, require_all=False)
    levels: dict[int, list[str]] = {}
    for p in enc.pods:
        levels.setdefault(priority(p.pod), []).append(p.key)
    for level in sorted(levels, reverse=True):
        session.maximize(_count(session, (enc.placed(key) for key in levels[level])))
    outcome = session.check(enc.assumptions())
    if outcome is Outcome.UNKNOWN:
        best = session.best_model()
        return _unknown(session, "prove the largest placement", decode(enc, best) if best else None)
    if outcome is Outcome.UNSAT:  # leaving every pod pending always satisfies the rules
        raise RuntimeError("placing no pod at all was found unsatisfiable: encoding bug")
    placement = decode(enc)
    unplaced = _unplaced(enc, placement)
    return most_placed(placement, len(enc.pods), unplaced)


def minimize_nodes(
    cluster: Cluster, pods: Sequence[Pod], *, timeout_ms: int = 10000
) -> SolveResult:
    """Place every pod so that as few nodes as possible run any pod.

    A node counts as used when it already runs a (non-terminal) pod or gets a pending
    one; ``objective`` is that number. Infeasible batches get :func:`solve`'s explanation.
    Large batches go to the counting encoding when it takes them.
    """
    counted = class_optimize.minimize_nodes(cluster, pods, timeout_ms=timeout_ms)
    if counted is not None:
        return counted
    first = solve(cluster, pods, timeout_ms=timeout_ms)
    if first.status != "feasible":
        return first
    session = Session(timeout_ms=timeout_ms, optimize=True)
    enc = encode(cluster, pods, session, require_all=True)
    used = [
        session.true() if n.pod_count else z3.Or([enc.x(p.key, n.name) for p in enc.pods])
        for n in enc.nodes
        if n.pod_count or enc.pods
    ]
    session.minimize(_count(session, used))
    outcome = session.check(enc.assumptions())
    if outcome is not Outcome.SAT:
        best = session.best_model()
        fallback = decode(enc, best) if best else first.placement
        return _unknown(session, "prove the fewest nodes", fallback)
    placement = decode(enc)
    busy = {n.name for n in enc.nodes if n.pod_count} | set(placement.values())
    return SolveResult(
        "feasible",
        placement,
        explanation=[
            f"{len(busy)} of {len(enc.nodes)} nodes are enough: {', '.join(sorted(busy))}."
        ],
        objective=len(busy),
    )


def nodes_to_add(
    cluster: Cluster,
    pods: Sequence[Pod],
    shape: Node,
    max_new: int,
    *,
    timeout_ms: int = 10000,
) -> SolveResult:
    """The fewest copies of ``shape`` (at most ``max_new``) to add so that every pod fits.

    Copies are named ``<shape>-new-1``, ``-2``, ... (see :func:`added_nodes`);
    ``objective`` is the number added and the placement uses those names. A copy exists only
    when added: one that is not added takes no pod and is no topology domain. Infeasible
    even with ``max_new`` copies: the explanation says why (with the copies in the cluster).
    """
    if max_new < 0:
        raise ValueError(f"max_new must be >= 0, got {max_new}")
    counted = class_optimize.nodes_to_add(cluster, pods, shape, max_new, timeout_ms=timeout_ms)
    if counted is not None:
        return counted
    copies = added_nodes(cluster, shape, max_new)
    names = [n.name for n in copies]
    grown = cluster.copy()
    for copy in copies:
        grown.replace_node(copy)

    def encode_grown(session: Session) -> tuple[Encoding, list[z3.BoolRef]]:
        added = [session.var(f"add[{name}]") for name in names]
        for i in range(1, len(added)):  # copies are interchangeable: use them in order
            session.add(z3.Implies(added[i], added[i - 1]))
        optional = dict(zip(names, added, strict=True))
        enc = encode(grown, pods, session, require_all=True, optional=optional)
        return enc, added

    first_enc, _ = encode_grown(Session(timeout_ms=timeout_ms))
    first = _decide(first_enc, timeout_ms)
    if first.status == "infeasible":
        lead = f"Even with {max_new} more node(s) shaped like {shape.name or 'the shape'}:"
        return replace(first, explanation=[lead, *first.explanation])
    if first.status == "unknown":
        return first
    session = Session(timeout_ms=timeout_ms, optimize=True)
    enc, added = encode_grown(session)
    session.minimize(_count(session, added))
    outcome = session.check(enc.assumptions())
    if outcome is not Outcome.SAT:
        best = session.best_model()
        fallback = decode(enc, best) if best else first.placement
        return _unknown(session, "prove the fewest added nodes", fallback)
    model = session.model()
    count = sum(1 for a in added if Session.is_true(model, a))
    placement = decode(enc, model)
    text = (
        f"Adding {count} node(s) shaped like {shape.name or 'the shape'} "
        f"({', '.join(names[:count])}) lets every pod fit."
        if count
        else "Every pod fits without adding nodes."
    )
    return SolveResult("feasible", placement, explanation=[text], objective=count)


__all__ = [
    "SolveResult",
    "Undecided",
    "added_nodes",
    "feasible_nodes",
    "maximize_placed",
    "minimize_nodes",
    "nodes_to_add",
    "shape_copy",
    "solve",
]
