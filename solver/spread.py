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

``min(count)`` is an integer variable bounded by every domain's count from above: a
constraint ``count(v) + d - m <= maxSkew`` holds for some such ``m`` exactly when it holds
for the minimum, so no disjunction is needed. A selector that is absent or empty counts no
pod and never fails (only the missing key does).
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


#: Up to this many domains, the skew is stated pairwise between domains; beyond, with a
#: minimum variable (linear in the number of domains, but integer arithmetic).
PAIRWISE_DOMAINS = 12


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
    if c.node_affinity_policy == "Honor" and (
        any(True for _ in check_node_selector(p, n))
        or any(True for _ in check_required_affinity(p, n))
    ):
        return False
    return not (c.node_taints_policy == "Honor" and any(True for _ in check_taints(p, n)))


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
    _min: z3.ArithRef | None = None
    _counts: dict[str, z3.ArithRef] = field(default_factory=dict)
    _skews: dict[tuple[str, int, int], z3.BoolRef | bool] = field(default_factory=dict)

    def count(self, enc: Encoding, domain: str) -> z3.ArithRef:
        found = self._counts.get(domain)
        if found is None:
            one, zero = enc.session.int_val(1), enc.session.int_val(0)
            terms = [z3.If(lit, one, zero) for _, lit in self.pending.get(domain, [])]
            found = z3.Sum([enc.session.int_val(self.static.get(domain, 0)), *terms])
            self._counts[domain] = found
        return found

    def minimum(self, enc: Encoding) -> z3.ArithRef:
        """A variable no larger than any present domain's count (see the module text)."""
        if self._min is None:
            self._min = z3.Int(f"min-count[{self.index}:{self.key}]", enc.session.ctx)
            for domain, present in self.present.items():
                bound = self._min <= self.count(enc, domain)
                enc.session.add(bound if present is True else z3.Implies(present, bound))
        return self._min

    def within_skew(
        self, enc: Encoding, domain: str, extra: int, max_skew: int
    ) -> z3.BoolRef | bool:
        """``count(domain) + extra - count(u) <= max_skew`` for every other present domain
        ``u``, as pseudo-Boolean constraints over the pods' domain literals (no integers:
        Z3 propagates these far better than sums of if-then-else terms). Built once per
        domain and offset, for all the pods of the group."""
        cached = self._skews.get((domain, extra, max_skew))
        if cached is None:
            cached = self._skews[(domain, extra, max_skew)] = self._within_skew(
                enc, domain, extra, max_skew
            )
        return cached

    def _within_skew(
        self, enc: Encoding, domain: str, extra: int, max_skew: int
    ) -> z3.BoolRef | bool:
        mine = [(lit, 1) for _, lit in self.pending.get(domain, [])]
        have = self.static.get(domain, 0) + extra
        parts: list[z3.BoolRef] = []
        for other, present in self.present.items():
            if other == domain:
                continue  # extra <= 1 <= maxSkew
            bound = max_skew - have + self.static[other]
            terms = mine + [(lit, -1) for _, lit in self.pending[other]]
            cond = pb_le(enc, terms, bound)
            if cond is True:
                continue
            if cond is False and present is True:
                return False
            parts.append(cond if present is True else z3.Implies(present, cond))
        return enc.session.all_of(parts) if parts else True

    def domains_present(self, enc: Encoding) -> z3.ArithRef | int:
        if all(v is True for v in self.present.values()):
            return len(self.present)
        one, zero = enc.session.int_val(1), enc.session.int_val(0)
        return z3.Sum([one if v is True else z3.If(v, one, zero) for v in self.present.values()])

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
            few_ok = pb_le(
                enc,
                [(lit, 1) for _, lit in group.pending.get(domain, [])],
                bucket.max_skew - bucket.extra - group.static.get(domain, 0),
            )
            if len(group.present) <= PAIRWISE_DOMAINS:
                skew_ok = group.within_skew(enc, domain, bucket.extra, bucket.max_skew)
            else:
                count = group.count(enc, domain) + bucket.extra
                skew_ok = count - group.minimum(enc) <= bucket.max_skew
            domains = group.domains_present(enc)
            if isinstance(domains, int):
                cond = few_ok if domains < bucket.min_domains else skew_ok
            else:
                cond = z3.If(
                    domains < bucket.min_domains, as_bool(enc, few_ok), as_bool(enc, skew_ok)
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
