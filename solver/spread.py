"""PodTopologySpread's filter (whenUnsatisfiable: DoNotSchedule) for a batch of pods.

Written from the spec's ``topology-spread.filter.*`` rules and upstream's
``podtopologyspread/filtering.go`` and ``common.go``, independently of the reference.

For one pending pod ``p`` and one of its DoNotSchedule constraints (key ``k``, selector
``S`` with matchLabelKeys merged in):

* a node without ``k`` is ruled out (missing-topology-key);
* the *eligible* nodes carry the key of every DoNotSchedule constraint of ``p`` and, with
  nodeAffinityPolicy Honor, match ``p``'s nodeSelector and required node affinity, and with
  nodeTaintsPolicy Honor, carry no NoSchedule/NoExecute taint ``p`` does not tolerate;
  their values of ``k`` are the domains;
* ``count(u)`` counts, on the eligible nodes of domain ``u``, the pods in ``p``'s namespace
  that ``S`` selects and that are not being deleted: the running ones and the pending ones
  the batch places there (``p`` itself included when it matches);
* placing ``p`` on node ``n`` of domain ``v`` needs, with ``p`` taken out of the counts,
  ``count(v) + selfMatch - min(count) <= maxSkew``, the minimum taken as 0 while there are
  fewer domains than minDomains. With ``p`` counted at ``v`` (it matches ``S`` and ``n`` is
  eligible) this is ``count(v) - min(count) <= maxSkew``; otherwise
  ``count(v) + selfMatch - min(count) <= maxSkew``.

Everything is pseudo-Boolean over one literal per pod and domain ("on an eligible node of
the domain"), which Z3 handles far better than integer sums, and a conflict it learns for
one node of a domain then holds for the whole domain:

* ``count(u)`` is a cardinality over those literals (plus the running pods, a constant);
* the minimum is represented by *level* literals ``level[j]`` (j = 1..J, J an upper bound
  of the minimum), each implying "every domain holds at least j" and the previous level;
* ``count(v) + d <= maxSkew + min`` becomes, for every j, "``level[j+1]`` or ``count(v) <=
  maxSkew + j - d``". Choosing ``level[j]`` exactly when the minimum reaches j satisfies
  this whenever the original holds; and whatever levels hold, the highest one is at most
  the minimum, so the original follows;
* the condition is stated once per domain for all pods with the same constraint, triggered
  when any of them runs there (one fact per such bucket of pods).

A selector that is absent or empty counts no pod and never fails (only the missing key
does).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import z3

from podfit.model import Pod, TopologySpreadConstraint

from .encode import (
    Encoding,
    Fact,
    NodeState,
    PendingPod,
    Rules,
    check_node_selector,
    check_required_affinity,
    check_taints,
)
from .selectors import selector_key, selector_text, selects, with_label_keys

DO_NOT_SCHEDULE = "DoNotSchedule"

Signature = tuple[object, ...]


def as_bool(enc: Encoding, value: z3.BoolRef | bool) -> z3.BoolRef:
    if value is True:
        return enc.session.true()
    if value is False:
        return enc.session.false()
    return value


def pb_le(enc: Encoding, terms: list[tuple[z3.BoolRef, int]], bound: int) -> z3.BoolRef | bool:
    """``sum(coefficient * literal) <= bound`` (True/False when it is decided already)."""
    low = sum(c for _, c in terms if c < 0)
    high = sum(c for _, c in terms if c > 0)
    if high <= bound:
        return True
    if low > bound:
        return False
    return enc.session.pb_le(terms, bound)


def hard_constraints(pod: Pod) -> tuple[TopologySpreadConstraint, ...]:
    return tuple(
        c for c in pod.topology_spread_constraints if c.when_unsatisfiable == DO_NOT_SCHEDULE
    )


def eligible(p: PendingPod, c: TopologySpreadConstraint, keys: list[str], n: NodeState) -> bool:
    """Does node ``n`` take part in ``p``'s constraint ``c`` (its counts and domains)?"""
    labels = n.node.labels
    if any(k not in labels for k in keys):
        return False
    if c.honors_node_affinity and (
        any(True for _ in check_node_selector(p, n))
        or any(True for _ in check_required_affinity(p, n))
    ):
        return False
    return not (c.honors_taints and any(True for _ in check_taints(p, n)))


@dataclass
class _Group:
    """The counts shared by every constraint with the same namespace, selector, key and
    eligible nodes (typically the replicas of one workload)."""

    index: int
    key: str
    # domain -> matching running pods on its eligible nodes
    static: dict[str, int]
    # domain -> (pending pod key, its placement literal) per eligible node of the domain
    pending: dict[str, list[tuple[str, z3.BoolRef]]]
    # domain -> the domain exists (False never; a literal when all its nodes are optional)
    present: dict[str, z3.BoolRef | bool]
    _levels: list[z3.BoolRef] | None = None
    _skews: dict[tuple[str, int, int], z3.BoolRef | bool] = field(default_factory=dict)

    def levels(self, enc: Encoding) -> list[z3.BoolRef]:
        """Literals ``level[j]`` (j = 1..J) meaning "every present domain holds at least j",
        J an upper bound of the minimum count; built once per group (see the module text)."""
        if self._levels is not None:
            return self._levels
        pods = len(next(iter(self.pending.values()), []))
        sure = [d for d, present in self.present.items() if present is True]
        if sure:
            top = min(self.static[d] + pods for d in sure)
            top = min(top, (sum(self.static[d] for d in sure) + pods) // len(sure))
        else:
            top = max((self.static[d] + pods for d in self.present), default=0)
        session = enc.session
        self._levels = [
            session.var(f"level[{self.index}:{self.key}>={j}]") for j in range(1, top + 1)
        ]
        for j, level in enumerate(self._levels, start=1):
            if j > 1:
                session.add(z3.Implies(level, self._levels[j - 2]))
            for domain, present in self.present.items():
                need = j - self.static[domain]
                if need <= 0:
                    continue
                lits = [lit for _, lit in self.pending[domain]]
                held = session.at_least(lits, need) if need <= len(lits) else session.false()
                guard = level if present is True else session.all_of([level, present])
                session.add(z3.Implies(guard, held))
        return self._levels

    def level_skew(
        self, enc: Encoding, domain: str, extra: int, max_skew: int
    ) -> z3.BoolRef | bool:
        """``count(domain) + extra <= max_skew + min``: for each level j, "unless the
        minimum reaches j + 1, the domain holds at most max_skew + j - extra"."""
        cached = self._skews.get((domain, extra, max_skew))
        if cached is not None:
            return cached
        levels = self.levels(enc)
        lits = [(lit, 1) for _, lit in self.pending.get(domain, [])]
        have = self.static.get(domain, 0) + extra
        parts: list[z3.BoolRef] = []
        result: z3.BoolRef | bool = True
        for j in range(len(levels) + 1):
            cond = pb_le(enc, lits, max_skew + j - have)
            if cond is True:
                break  # higher levels only loosen the bound
            above = levels[j] if j < len(levels) else None
            if above is None:
                if cond is False:
                    result = False
                    break
                parts.append(cond)
            else:
                parts.append(above if cond is False else enc.session.any_of([above, cond]))
        if result is not False:
            result = enc.session.all_of(parts) if parts else True
        self._skews[(domain, extra, max_skew)] = result
        return result

    def too_few(self, enc: Encoding, min_domains: int) -> z3.BoolRef | bool:
        """Fewer domains exist than ``min_domains`` (so the minimum is taken as 0)."""
        sure = sum(1 for v in self.present.values() if v is True)
        maybe = [v for v in self.present.values() if v is not True]
        if not maybe:
            return sure < min_domains
        if sure >= min_domains:
            return False
        return enc.session.at_most(maybe, min_domains - 1 - sure)

    def others_static(self, pod: str) -> bool:
        """No pending pod but ``pod`` can change the counts, and every domain exists."""
        return all(key == pod for entries in self.pending.values() for key, _ in entries) and all(
            v is True for v in self.present.values()
        )


@dataclass
class _Bucket:
    """The pods of one constraint kind (same counts, maxSkew, minDomains and selfMatch
    offset): one fact for all of them, and one condition per domain, triggered when any of
    them runs there."""

    group: _Group
    max_skew: int
    min_domains: int
    extra: int
    rule: str
    detail: str
    related: tuple[str, ...]
    pods: list[str] = field(default_factory=list)
    # domain -> the literals "this pod runs on its nodes of the domain"
    triggers: dict[str, list[z3.BoolRef]] = field(default_factory=dict)


@dataclass(frozen=True)
class TopologySpread:
    """DoNotSchedule topology spread constraints of the pending pods."""

    name: str = "topology-spread"

    def encode(self, enc: Encoding) -> None:
        groups: dict[Signature, _Group] = {}
        buckets: dict[tuple[object, ...], _Bucket] = {}
        for p in enc.pods:
            hard = hard_constraints(p.pod)
            keys = [c.topology_key for c in hard]
            for c in hard:
                self._constraint(enc, groups, buckets, p, c, keys)
        for bucket in buckets.values():
            self._bucket(enc, bucket)

    def _group(
        self,
        enc: Encoding,
        groups: dict[Signature, _Group],
        p: PendingPod,
        c: TopologySpreadConstraint,
        keys: list[str],
    ) -> tuple[_Group, set[str]]:
        selector = with_label_keys(c.label_selector, p.pod.labels, c.match_label_keys)
        members = [n for n in enc.nodes if eligible(p, c, keys, n)]
        names = {n.name for n in members}
        signature = (p.pod.namespace, selector_key(selector), c.topology_key, frozenset(names))
        group = groups.get(signature)
        if group is not None:
            return group, names
        ns = p.pod.namespace

        def counted(pod: Pod) -> bool:
            return pod.namespace == ns and not pod.is_terminating and selects(selector, pod.labels)

        static: dict[str, int] = {}
        pending: dict[str, list[tuple[str, z3.BoolRef]]] = {}
        present: dict[str, z3.BoolRef | bool] = {}
        counters = [q for q in enc.pods if counted(q.pod)]
        by_domain: dict[str, set[str]] = {}
        for n in members:
            by_domain.setdefault(n.node.labels[c.topology_key], set()).add(n.name)
        for domain, nodes in by_domain.items():
            # One literal per pod and domain ("on an eligible node of the domain").
            pending[domain] = [(q.key, enc.on_any(q.key, frozenset(nodes))) for q in counters]
        for n in members:
            domain = n.node.labels[c.topology_key]
            static[domain] = static.get(domain, 0) + sum(1 for e in n.pods if counted(e))
            exists = enc.exists(n.name)
            before = present.get(domain, False)
            if before is True or exists is True:
                present[domain] = True
            else:
                present[domain] = exists if before is False else z3.Or(before, exists)
        group = _Group(len(groups), c.topology_key, static, pending, present)
        groups[signature] = group
        return group, names

    def _constraint(
        self,
        enc: Encoding,
        groups: dict[Signature, _Group],
        buckets: dict[tuple[object, ...], _Bucket],
        p: PendingPod,
        c: TopologySpreadConstraint,
        keys: list[str],
    ) -> None:
        key = c.topology_key
        for n in enc.nodes:
            if key not in n.node.labels:
                fact = Fact(
                    "exclusion",
                    Rules.SPREAD_MISSING_KEY,
                    pods=(p.key,),
                    node=n.name,
                    detail=f"no label {key}, which its topology spread constraint needs",
                )
                enc.guard(fact, z3.Not(enc.x(p.key, n.name)))
        selector = with_label_keys(c.label_selector, p.pod.labels, c.match_label_keys)
        if selector is None or selector.is_empty:
            return  # counts nothing: the skew is at most selfMatch <= 1 <= maxSkew
        group, names = self._group(enc, groups, p, c, keys)
        self_match = selects(selector, p.pod.labels)
        counted_self = self_match and not p.pod.is_terminating
        min_domains = c.min_domains if c.min_domains is not None else 1
        what = f"{selector_text(selector)}, maxSkew {c.max_skew}"
        if c.min_domains is not None:
            what += f", minDomains {c.min_domains}"
        related: tuple[str, ...] = ()
        with_key = {n.name for n in enc.nodes if all(k in n.node.labels for k in keys)}
        if with_key != names:
            related = (Rules.SPREAD_POLICIES,)
        domains_known = all(v is True for v in group.present.values())
        few = domains_known and len(group.present) < min_domains
        rule = Rules.SPREAD_MIN_DOMAINS if few else Rules.SPREAD_SKEW
        if few:
            related = (*related, Rules.SPREAD_SKEW)
        static = group.others_static(p.key)
        for domain, nodes in enc.domain_nodes(key).items():
            # The pod's nodes in this domain, by whether it counts itself there.
            parts: dict[bool, list[NodeState]] = {}
            for n in nodes:
                parts.setdefault(counted_self and n.name in names, []).append(n)
            for mine, part in parts.items():
                extra = int(self_match) - int(mine)
                if static:
                    problem = self._static_problem(group, domain, mine, extra, c, min_domains)
                    if problem is None:
                        continue
                    for n in part:
                        fact = Fact(
                            "exclusion",
                            rule,
                            pods=(p.key,),
                            node=n.name,
                            detail=f"topology spread over {key} ({what}): {problem}",
                        )
                        enc.guard(fact, z3.Not(enc.x(p.key, n.name)))
                    continue
                kind = (group.index, c.max_skew, min_domains, extra, what, related)
                bucket = buckets.get(kind)
                if bucket is None:
                    running = ", ".join(f"{d} {k}" for d, k in sorted(group.static.items()))
                    counts = f"matching pods running now: {running}" if running else "none"
                    bucket = buckets[kind] = _Bucket(
                        group, c.max_skew, min_domains, extra, rule, f"{what}; {counts}", related
                    )
                if not bucket.pods or bucket.pods[-1] != p.key:
                    bucket.pods.append(p.key)
                there = enc.on_any(p.key, frozenset(n.name for n in part))
                bucket.triggers.setdefault(domain, []).append(there)

    @staticmethod
    def _bucket(enc: Encoding, bucket: _Bucket) -> None:
        group = bucket.group
        implications = []
        for domain, triggers in bucket.triggers.items():
            few = group.too_few(enc, bucket.min_domains)
            cond: z3.BoolRef | bool
            if few is False:
                cond = group.level_skew(enc, domain, bucket.extra, bucket.max_skew)
            else:
                # The minimum counts as 0: the domain may hold at most maxSkew - extra.
                few_ok = pb_le(
                    enc,
                    [(lit, 1) for _, lit in group.pending.get(domain, [])],
                    bucket.max_skew - bucket.extra - group.static.get(domain, 0),
                )
                if few is True:
                    cond = few_ok
                else:
                    skew_ok = group.level_skew(enc, domain, bucket.extra, bucket.max_skew)
                    cond = enc.session.all_of(
                        [
                            z3.Implies(few, as_bool(enc, few_ok)),
                            z3.Implies(z3.Not(few), as_bool(enc, skew_ok)),
                        ]
                    )
            if cond is True:
                continue
            # Any pod of the bucket in the domain: stated once, not once per pod.
            occupied = enc.session.any_of(triggers)
            implications.append(z3.Not(occupied) if cond is False else z3.Implies(occupied, cond))
        if implications:
            fact = Fact(
                "spread",
                bucket.rule,
                pods=tuple(bucket.pods),
                key=group.key,
                detail=bucket.detail,
                related=bucket.related,
            )
            enc.guard(fact, enc.session.all_of(implications))

    @staticmethod
    def _static_problem(
        group: _Group,
        domain: str,
        mine: bool,
        extra: int,
        c: TopologySpreadConstraint,
        min_domains: int,
    ) -> str | None:
        """Why placing the pod in ``domain`` breaks the constraint when no other pending pod
        can change the counts (None: it does not)."""
        counts = dict(group.static)
        if mine:
            counts[domain] = counts.get(domain, 0) + 1
        have = counts.get(domain, 0) + extra
        if len(counts) < min_domains:
            if have <= c.max_skew:
                return None
            return (
                f"only {len(counts)} eligible domain(s), fewer than minDomains {min_domains}, "
                f"so the minimum counts as 0 and {domain} would hold {have} matching pod(s)"
            )
        low = min(counts.values())
        if have - low <= c.max_skew:
            return None
        least = sorted(d for d, v in counts.items() if v == low)
        return f"{domain} would hold {have} matching pod(s) against {low} in {least[0]}"
