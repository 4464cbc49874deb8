"""InterPodAffinity's filter (required pod affinity and anti-affinity) for a batch of pods.

Written from the spec's ``inter-pod-affinity.filter.*`` rules and upstream's
``interpodaffinity/filtering.go``, independently of the reference. A pending pod that the
batch places on a node counts, for the other pods, like a pod already running there; a pod
never counts for itself. Pods count while they are bound and not finished (pods being
deleted included).

* Running pods' required anti-affinity (symmetry): a running pod ``e`` on node ``m`` whose
  anti-affinity term (key ``k``) selects the pending pod keeps it off every node sharing
  ``m``'s value of ``k``. A fixed exclusion per (pod, node).
* The pending pod's required anti-affinity against running pods: the same, the other way
  round. Fixed exclusions.
* Anti-affinity among pending pods: when a term of one selects the other, they never share a
  domain of the term's key (a node without the key is in no domain). Pods with the same
  namespace, labels and anti-affinity terms form a class: a class whose terms select itself
  gets "at most one per domain", two classes "not both in one domain".
* Required affinity: a node passes when it carries every term's key and, for each term, a
  pod matching *all* the terms (running, or pending and placed) is in the node's domain of
  that term's key. Otherwise it passes only by the first-pod exception: the pod matches all
  its own terms and no other pod matching them all runs, or is placed, on a node carrying
  one of the keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import z3

from podfit.model import Pod

from .encoding import Encoding, Fact
from .rules import Rules
from .selectors import NamespaceLabels, PodTerm, namespace_labels_of, required_terms
from .state import NodeState, PendingPod

Running = tuple[Pod, NodeState]


@dataclass
class _Class:
    """Pending pods alike for anti-affinity: same namespace, labels and anti-affinity terms."""

    index: int
    pod: Pod
    terms: tuple[PodTerm, ...]
    members: list[str] = field(default_factory=list)


def _first(found: dict[tuple[str, str], str], pod: str, node: str, detail: str) -> None:
    found.setdefault((pod, node), detail)


@dataclass
class _Builder:
    enc: Encoding
    ns: NamespaceLabels
    running: list[Running]
    _occupied: dict[tuple[tuple[str, ...], str, str, int], z3.BoolRef] = field(default_factory=dict)
    _keyed: dict[tuple[str, tuple[str, ...]], z3.BoolRef] = field(default_factory=dict)
    _alone: dict[tuple[tuple[str, ...], tuple[str, ...]], z3.BoolRef] = field(default_factory=dict)

    # --- shared helper literals --------------------------------------------------------

    def occupied(self, members: tuple[str, ...], key: str, value: str, at_least: int) -> z3.BoolRef:
        """At least ``at_least`` of ``members`` run in the domain ``key=value``."""
        cache_key = (members, key, value, at_least)
        found = self._occupied.get(cache_key)
        if found is None:
            lits = [self.enc.within(m, key, value) for m in members]
            if at_least == 1 and len(lits) == 1:
                found = lits[0]
            else:
                found = self.enc.session.var(f"occupied[{len(self._occupied)}:{key}={value}]")
                session = self.enc.session
                body = session.any_of(lits) if at_least == 1 else session.at_least(lits, at_least)
                self.enc.session.add(found == body)
            self._occupied[cache_key] = found
        return found

    def keyed(self, pod: str, keys: tuple[str, ...]) -> z3.BoolRef:
        """The pod runs on a node carrying at least one of ``keys``."""
        found = self._keyed.get((pod, keys))
        if found is None:
            options = [
                self.enc.x(pod, n.name)
                for n in self.enc.nodes
                if any(k in n.node.labels for k in keys)
            ]
            found = self.enc.session.any_of(options)
            self._keyed[(pod, keys)] = found
        return found

    def alone(self, members: tuple[str, ...], keys: tuple[str, ...]) -> z3.BoolRef:
        """At most one of ``members`` runs on a node carrying one of ``keys``."""
        found = self._alone.get((members, keys))
        if found is None:
            lits = [self.keyed(m, keys) for m in members]
            found = self.enc.session.var(f"alone[{len(self._alone)}]")
            self.enc.session.add(found == self.enc.session.at_most(lits, 1))
            self._alone[(members, keys)] = found
        return found

    # --- fixed exclusions ----------------------------------------------------------------

    def exclude(self, rule: str, found: dict[tuple[str, str], str]) -> None:
        for (pod, node), detail in sorted(found.items()):
            fact = Fact("exclusion", rule, pods=(pod,), node=node, detail=detail)
            self.enc.guard(fact, z3.Not(self.enc.x(pod, node)))

    def running_anti_affinity(self) -> None:
        """Symmetry: running pods' required anti-affinity that selects a pending pod."""
        found: dict[tuple[str, str], str] = {}
        for e, m in self.running:
            _, anti = required_terms(e)
            for t in anti:
                value = m.node.labels.get(t.topology_key)
                if value is None:
                    continue
                domain = self.enc.domain_nodes(t.topology_key)[value]
                for p in self.enc.pods:
                    if not t.selects(p.pod, self.ns):
                        continue
                    detail = (
                        f"{e.key}, running in {t.topology_key} {value}, has required "
                        f"anti-affinity against it ({t.text()})"
                    )
                    for n in domain:
                        _first(found, p.key, n.name, detail)
        self.exclude(Rules.EXISTING_ANTI_AFFINITY, found)

    def own_anti_affinity(self, anti: Mapping[str, tuple[PodTerm, ...]]) -> None:
        """The pending pods' required anti-affinity against running pods."""
        found: dict[tuple[str, str], str] = {}
        for p in self.enc.pods:
            for t in anti[p.key]:
                for e, m in self.running:
                    value = m.node.labels.get(t.topology_key)
                    if value is None or not t.selects(e, self.ns):
                        continue
                    detail = (
                        f"its required anti-affinity ({t.text()}) selects {e.key}, running in "
                        f"{t.topology_key} {value}"
                    )
                    for n in self.enc.domain_nodes(t.topology_key)[value]:
                        _first(found, p.key, n.name, detail)
        self.exclude(Rules.ANTI_AFFINITY, found)

    # --- anti-affinity among pending pods ------------------------------------------------

    def pending_anti_affinity(self, anti: Mapping[str, tuple[PodTerm, ...]]) -> None:
        classes: dict[tuple[object, ...], _Class] = {}
        for p in self.enc.pods:
            sig = (
                p.pod.namespace,
                tuple(sorted(p.pod.labels.items())),
                tuple(t.signature for t in anti[p.key]),
            )
            cls = classes.get(sig)
            if cls is None:
                cls = classes[sig] = _Class(len(classes), p.pod, anti[p.key])
            cls.members.append(p.key)
        ordered = list(classes.values())
        # (class, class, key) -> the terms that make them conflict, per owning class
        conflicts: dict[tuple[int, int, str], dict[int, list[PodTerm]]] = {}
        for a in ordered:
            for t in a.terms:
                for b in ordered:
                    if t.selects(b.pod, self.ns):
                        lo, hi = sorted((a.index, b.index))
                        entry = conflicts.setdefault((lo, hi, t.topology_key), {})
                        entry.setdefault(a.index, []).append(t)
        for (lo, hi, key), owners in sorted(conflicts.items()):
            self._conflict(ordered[lo], ordered[hi], key, owners)

    def _conflict(self, a: _Class, b: _Class, key: str, owners: dict[int, list[PodTerm]]) -> None:
        """Keep two classes (or the members of one) out of each other's ``key`` domains.

        The fact lists the pods; ``others`` are the ones selected without selecting back
        (empty when every pod's terms select the rest, within one class or both ways)."""
        enc = self.enc
        domains = sorted(enc.domain_nodes(key))
        texts = "; ".join(dict.fromkeys(t.text() for ts in owners.values() for t in ts))
        others: tuple[str, ...] = ()
        if a is b:
            if len(a.members) < 2:
                return
            pods = tuple(a.members)
            parts = [enc.session.at_most([enc.within(m, key, v) for m in pods], 1) for v in domains]
        else:
            first, second = (b, a) if list(owners) == [b.index] else (a, b)
            pods = (*first.members, *second.members)
            if len(owners) == 1:
                others = tuple(second.members)
            parts = [
                z3.Not(
                    z3.And(
                        self.occupied(tuple(a.members), key, v, 1),
                        self.occupied(tuple(b.members), key, v, 1),
                    )
                )
                for v in domains
            ]
        if parts:
            fact = Fact(
                "anti-affinity",
                Rules.ANTI_AFFINITY,
                pods=pods,
                key=key,
                detail=texts,
                others=others,
            )
            enc.guard(fact, z3.And(parts))

    # --- required affinity -----------------------------------------------------------------

    def affinity(
        self, p: PendingPod, terms: tuple[PodTerm, ...], pending_pods: list[PendingPod]
    ) -> None:
        enc = self.enc
        keys = tuple(sorted({t.topology_key for t in terms}))
        describe = "; ".join(f"{t.text()} in its {t.topology_key}" for t in terms)

        def matches_all(pod: Pod) -> bool:
            return all(t.selects(pod, self.ns) for t in terms)

        matched_running = [(e, m) for e, m in self.running if matches_all(e)]
        matched_pending = tuple(
            q.key for q in pending_pods if q.key != p.key and matches_all(q.pod)
        )
        self_match = matches_all(p.pod)
        counted_running = [
            (e, m) for e, m in matched_running if any(k in m.node.labels for k in keys)
        ]
        # Supporting pending pods, with the pod itself when it matches: given that it runs in
        # the domain, "another one is there" is "at least two are there".
        members = tuple(sorted((*matched_pending, p.key))) if self_match else matched_pending
        need = 2 if self_match else 1
        first: z3.BoolRef | bool = False
        if self_match and not counted_running:
            first = self.alone(members, keys) if matched_pending else True
        related = (Rules.AFFINITY_FIRST_POD,) if self_match else ()
        supported: dict[str, set[str]] = {
            t.topology_key: {
                m.node.labels[t.topology_key]
                for _, m in matched_running
                if t.topology_key in m.node.labels
            }
            for t in terms
        }
        found: dict[tuple[str, str], str] = {}
        implications = []
        for n in enc.nodes:
            labels = n.node.labels
            missing = [k for k in keys if k not in labels]
            if missing:
                _first(
                    found,
                    p.key,
                    n.name,
                    f"no label {missing[0]}, which its required pod affinity needs",
                )
                continue
            parts: list[z3.BoolRef] = []
            unsupported = ""
            for t in terms:
                value = labels[t.topology_key]
                if value in supported[t.topology_key]:
                    continue
                if not matched_pending:
                    unsupported = f"{t.topology_key} {value}"
                    break
                parts.append(self.occupied(members, t.topology_key, value, need))
            if not unsupported and not parts:
                continue  # running pods satisfy every term here
            if first is True:
                continue
            if unsupported and first is False:
                _first(
                    found,
                    p.key,
                    n.name,
                    self._why_not(describe, unsupported, matched_running, self_match),
                )
                continue
            support: z3.BoolRef | bool = False if unsupported else z3.And(parts)
            options = [c for c in (support, first) if c is not False]
            implications.append(z3.Implies(enc.x(p.key, n.name), z3.Or(options)))
        for (pod, node), detail in sorted(found.items()):
            fact = Fact(
                "exclusion", Rules.AFFINITY, pods=(pod,), node=node, detail=detail, related=related
            )
            enc.guard(fact, z3.Not(enc.x(pod, node)))
        if implications:
            fact = Fact(
                "affinity",
                Rules.AFFINITY,
                pods=(p.key,),
                key=",".join(keys),
                detail=describe,
                related=related,
            )
            enc.guard(fact, z3.And(implications))

    @staticmethod
    def _why_not(describe: str, where: str, matched: list[Running], self_match: bool) -> str:
        if not matched:
            itself = "" if self_match else ", and it does not match its own terms"
            return f"no pod matches its required pod affinity ({describe}){itself}"
        text = f"no pod matching its required pod affinity ({describe}) runs in {where}"
        if self_match:
            text += f"; the first-pod exception is off since {matched[0][0].key} matches"
        return text


@dataclass(frozen=True)
class InterPodAffinity:
    """Required pod affinity and anti-affinity of pending and running pods."""

    name: str = "inter-pod-affinity"

    def encode(self, enc: Encoding) -> None:
        terms = {p.key: required_terms(p.pod) for p in enc.pods}
        running = [(e, n) for n in enc.nodes for e in n.pods]
        with_anti = [(e, n) for e, n in running if e.affinity is not None and required_terms(e)[1]]
        if not with_anti and not any(a or b for a, b in terms.values()):
            return  # nothing to encode: the common case costs one pass over the pods
        builder = _Builder(enc, namespace_labels_of(enc.cluster.namespace_labels), running)
        if with_anti:
            builder.running = with_anti
            builder.running_anti_affinity()
            builder.running = running
        anti = {key: t[1] for key, t in terms.items()}
        if any(anti.values()):
            builder.own_anti_affinity(anti)
            builder.pending_anti_affinity(anti)
        pending = list(enc.pods)
        for p in enc.pods:
            affinity_terms = terms[p.key][0]
            if affinity_terms:
                builder.affinity(p, affinity_terms, pending)
