"""Valid inequalities for two pod classes sharing one node: the integer hull of their counts.

On one node, ``a`` pods of class p and ``b`` of class q fit when every resource, the pod
slots and the anti-affinity/host-port conflicts allow it. Z3's arithmetic reasons on the
linear relaxation first, where 3·a + 2·b ≤ 4 lets a = 1, b = 0.5 on every node, so "one
3-cpu pod per 4-cpu node leaves no room for a 2-cpu one" takes it a long search over the
nodes (tens of seconds at a thousand). The integer points of the (a, b) plane that fit
form a staircase; the edges of its convex hull (here 2·a + b ≤ 2) hold on every node, so
they also hold summed over a node class (2·Na + Nb ≤ 2·nodes), and they cut exactly those
fractional points. :func:`pair_cuts` returns the edges that the linear constraints alone do
not already imply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations, pairwise

from .classes import Grouping, NodeClass

# Node classes whose pods could be of more classes than this get no pair cuts (the pairs
# grow with the square of the classes, and such batches are mostly many singleton classes).
MAX_CLASSES = 24


@dataclass(frozen=True)
class PairCut:
    """``alpha·a + beta·b <= gamma`` for the counts a of class ``p`` and b of class ``q`` on
    any one node of the class. ``uses`` names the per-node constraints it follows from:
    resource names, ``"pods"`` (the pod slots), ``"self:<class>"`` (at most one of a class
    per node), ``"cap:<rule>"`` (spread rule ``rule`` caps what one node holds of the class)
    and ``"apart"`` (p and q never share a node)."""

    p: int
    q: int
    alpha: int
    beta: int
    gamma: int
    uses: frozenset[str]


def _limit(g: Grouping, c: NodeClass, p: int, used: int, q: int, skip: frozenset[str]) -> int:
    """The most pods of class ``p`` that fit on one node of class ``c`` beside ``used`` pods
    of class ``q``, leaving out the constraints named in ``skip``."""
    pods = g.pod_classes[p]
    most = pods.count
    if "pods" not in skip:
        most = min(most, max(c.slots, 0) - used)
    other = g.pod_classes[q].requests
    for r, amount in pods.requests.items():
        if amount > 0 and r not in skip:
            most = min(most, (max(c.free.get(r, 0), 0) - used * other.get(r, 0)) // amount)
    if f"self:{p}" not in skip and any(k.applies(c) for k in g.self_conflicts(p)):
        most = min(most, 1)
    for name, cap in _own_caps(g, c, p):
        if name not in skip:
            most = min(most, cap)
    return max(most, 0)


def _own_caps(g: Grouping, c: NodeClass, p: int) -> list[tuple[str, int]]:
    """Fixed per-node spread caps of class ``p`` on its own pods (it counts only itself)."""
    if not g.caps_fixed:
        return []
    return [
        (f"cap:{cap.rule}", cap.most)
        for cap in g.caps(c.index)
        if cap.owner == p and cap.counted == {p}
    ]


def alone(g: Grouping, c: NodeClass, p: int) -> int:
    """The most pods of class ``p`` one node of class ``c`` takes on its own."""
    return _limit(g, c, p, 0, p, frozenset())


def _staircase(
    g: Grouping, c: NodeClass, p: int, q: int, apart: bool, skip: frozenset[str]
) -> list[tuple[int, int]]:
    """(a, the most b beside a) for a = 0 .. the most a alone."""
    cap_p = _limit(g, c, p, 0, q, skip)
    cap_q = _limit(g, c, q, 0, p, skip)
    points = [(0, cap_q)]
    for a in range(1, cap_p + 1):
        beside = 0 if apart and "apart" not in skip else min(cap_q, _limit(g, c, q, a, p, skip))
        points.append((a, beside))
    return points


def _hull(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The upper hull of points sorted by x (Andrew's monotone chain)."""
    hull: list[tuple[int, int]] = []
    for x, y in points:
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1) >= 0:  # not a right turn
                hull.pop()
            else:
                break
        hull.append((x, y))
    return hull


def _lp_max(
    alpha: int, beta: int, rows: list[tuple[int, int, int]], cap_a: int, cap_b: int
) -> Fraction:
    """max alpha·a + beta·b over 0 <= a <= cap_a, 0 <= b <= cap_b and every row
    (x, y, z): x·a + y·b <= z, with a and b real (the relaxation Z3 starts from)."""
    lines = [*rows, (1, 0, cap_a), (0, 1, cap_b), (-1, 0, 0), (0, -1, 0)]
    best = Fraction(0)
    for (x1, y1, z1), (x2, y2, z2) in combinations(lines, 2):
        det = x1 * y2 - x2 * y1
        if det == 0:
            continue
        a = Fraction(z1 * y2 - z2 * y1, det)
        b = Fraction(x1 * z2 - x2 * z1, det)
        if all(x * a + y * b <= z for x, y, z in lines):
            best = max(best, alpha * a + beta * b)
    return best


def _needed(
    g: Grouping, c: NodeClass, p: int, q: int, apart: bool, points: list[tuple[int, int]]
) -> frozenset[str]:
    """A smallest-by-deletion set of constraints that gives the same staircase."""
    names = [*g.resources, "pods", f"self:{p}", f"self:{q}", *(["apart"] if apart else [])]
    names += [name for x in (p, q) for name, _ in _own_caps(g, c, x)]
    skip: frozenset[str] = c.saturated
    for name in names:
        trial = skip | {name}
        if _staircase(g, c, p, q, apart, trial) == points:
            skip = trial
    return frozenset(names) - skip - c.saturated


def pair_cuts(g: Grouping, c: NodeClass) -> list[PairCut]:
    """The hull edges for every pair of pod classes that may share nodes of class ``c``,
    where the linear constraints do not imply them already."""
    caps = {
        p.index: most
        for p in g.pod_classes
        if g.allowed(p.index, c.index) and (most := _limit(g, c, p.index, 0, p.index, c.saturated))
    }
    if len(caps) < 2 or len(caps) > MAX_CLASSES:
        return []
    apart_pairs = {(k.a, k.b) for k in g.pair_conflicts() if k.applies(c)}
    cuts: list[PairCut] = []
    for p, q in combinations(sorted(caps), 2):
        apart = (p, q) in apart_pairs or (q, p) in apart_pairs
        points = _staircase(g, c, p, q, apart, c.saturated)
        rows = [(1, 1, max(c.slots, 0))] if "pods" not in c.saturated else []
        for r in g.resources:
            if r in c.saturated:
                continue
            x, y = g.pod_classes[p].requests.get(r, 0), g.pod_classes[q].requests.get(r, 0)
            if x or y:
                rows.append((x, y, max(c.free.get(r, 0), 0)))
        hull = _hull(points)
        found = []
        for (a1, b1), (a2, b2) in pairwise(hull):
            if b1 == b2:
                continue  # b <= the most b alone: already a bound
            alpha, beta = b1 - b2, a2 - a1
            gamma = alpha * a1 + beta * b1
            d = math.gcd(alpha, beta, gamma)
            alpha, beta, gamma = alpha // d, beta // d, gamma // d
            if _lp_max(alpha, beta, rows, caps[p], caps[q]) > gamma:
                found.append((alpha, beta, gamma))
        if found:
            uses = _needed(g, c, p, q, apart, points)
            cuts.extend(PairCut(p, q, a, b, k, uses) for a, b, k in found)
    return cuts


__all__ = ["MAX_CLASSES", "PairCut", "alone", "pair_cuts"]
