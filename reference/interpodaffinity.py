"""InterPodAffinity: required pod affinity and anti-affinity (filter), preferred terms and
the symmetric contributions of existing pods (score).

Upstream: ``pkg/scheduler/framework/plugins/interpodaffinity/filtering.go`` and
``scoring.go``. PreFilter counts, per topology pair (label key, value), the existing pods
that match the incoming pod's terms and the existing pods whose required anti-affinity
matches the incoming pod; Filter then only looks the node's labels up in those counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from podfit.model import LabelSelector, Node, Pod, Requirement
from podfit.versions import LATEST, KubeVersion

from .columns import SAFE_LIMIT, Columns, Ints, Verdicts
from .detail import Detail, pods_text, selector_text
from .framework import COLUMNS, MAX_NODE_SCORE, SNAPSHOT, CycleState, Plugin
from .labels import single_label
from .nodeinfo import NodeInfo, PodInfo, PodsByLabel, Snapshot
from .podaffinity import PodTerms, ResolvedTerm, pod_terms
from .profile import ConfigError, check_args
from .status import SKIP, Status, unresolvable, unschedulable

ERR_REASON_AFFINITY = "node(s) didn't match pod affinity rules"
ERR_REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
ERR_REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"

TopologyPair = tuple[str, str]


@dataclass
class _FilterState:
    terms: PodTerms
    # existing pods whose required anti-affinity selects the incoming pod
    existing_anti: Counter[TopologyPair] = field(default_factory=Counter)
    # existing pods that match all of the incoming pod's required affinity terms
    affinity: Counter[TopologyPair] = field(default_factory=Counter)
    # existing pods that match one of the incoming pod's required anti-affinity terms
    anti: Counter[TopologyPair] = field(default_factory=Counter)
    self_match: bool = False
    # existing_anti by label key: the values whose count is positive (what Filter looks up)
    existing_by_key: dict[str, set[str]] = field(default_factory=dict)


def _pairs(term: ResolvedTerm, node: Node) -> TopologyPair | None:
    value = node.labels.get(term.topology_key)
    return (term.topology_key, value) if value is not None else None


def _matches_all(terms: tuple[ResolvedTerm, ...], pod: Pod, ns: Mapping[str, Any]) -> bool:
    return all(t.matches(pod, ns) for t in terms)


class _NamespaceLabels(dict[str, Mapping[str, str]]):
    """Namespace labels looked up lazily from the cluster."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.cluster = snapshot.cluster

    def __missing__(self, key: str) -> Mapping[str, str]:
        labels = self.cluster.namespace_labels(key)
        self[key] = labels
        return labels

    def get(self, key: str, default: Any = None) -> Any:
        return self[key]


class InterPodAffinity(Plugin):
    name = "InterPodAffinity"
    filters = True
    scores = True

    def __init__(
        self, args: Mapping[str, Any] | None = None, *, version: KubeVersion = LATEST
    ) -> None:
        super().__init__(args, version=version)
        check_args(
            "InterPodAffinity",
            self.args,
            ("hardPodAffinityWeight", "ignorePreferredTermsOfExistingPods"),
        )
        weight = self.args.get("hardPodAffinityWeight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
            raise ConfigError(
                f"InterPodAffinity args: hardPodAffinityWeight must be an integer in 0-100, "
                f"got {weight!r}"
            )
        ignore = self.args.get("ignorePreferredTermsOfExistingPods", False)
        if not isinstance(ignore, bool):
            raise ConfigError(
                "InterPodAffinity args: ignorePreferredTermsOfExistingPods must be true or false"
            )
        self.hard_weight = weight
        self.ignore_existing_preferred = ignore

    # --- filter -----------------------------------------------------------------------

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status | None:
        terms = pod_terms(pod.pod)
        ns = _NamespaceLabels(snapshot)
        st = _FilterState(terms=terms)
        incoming = pod.pod
        existing = snapshot.index(_EXISTING, ExistingTerms)
        for group in existing.selecting(existing.required_anti_affinity, incoming, ns):
            st.existing_anti.update(group.counts)
        # Skip is decided on the counts: existing anti-affinity that does not select the
        # incoming pod, or whose key its node lacks, leaves nothing to check.
        if (
            not st.existing_anti
            and not terms.required_affinity
            and not terms.required_anti_affinity
        ):
            return SKIP
        if terms.required_affinity or terms.required_anti_affinity:
            self._count_matching(st, terms, snapshot, ns, state.get(COLUMNS))
        st.self_match = _matches_all(terms.required_affinity, incoming, ns)
        for (key, value), count in st.existing_anti.items():
            if count > 0:
                st.existing_by_key.setdefault(key, set()).add(value)
        state[self.name] = st
        return None

    @staticmethod
    def _count_matching(
        st: _FilterState,
        terms: PodTerms,
        snapshot: Snapshot,
        ns: _NamespaceLabels,
        columns: Columns | None,
    ) -> None:
        """Count, per topology pair, the pods the incoming pod's required terms select."""
        fast_affinity = _indexable(terms.required_affinity, at_most_one=True)
        fast_anti = _indexable(terms.required_anti_affinity)
        if fast_affinity is not None and fast_anti is not None:
            # One-label selectors in named namespaces: visit only the nodes whose pods
            # carry the label.
            index = snapshot.pods_by_label()
            columns = columns or snapshot.columns()
            for term, (key, value) in zip(terms.required_affinity, fast_affinity, strict=True):
                _add_indexed(st.affinity, term, columns, index, key, value)
            for term, (key, value) in zip(terms.required_anti_affinity, fast_anti, strict=True):
                _add_indexed(st.anti, term, columns, index, key, value)
            return
        for node_info in snapshot.nodes.values():
            for p in node_info.pods:
                other = p.pod
                if terms.required_affinity and _matches_all(terms.required_affinity, other, ns):
                    for term in terms.required_affinity:
                        pair = _pairs(term, node_info.node)
                        if pair is not None:
                            st.affinity[pair] += 1
                for term in terms.required_anti_affinity:
                    if term.matches(other, ns):
                        pair = _pairs(term, node_info.node)
                        if pair is not None:
                            st.anti[pair] += 1

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        st: _FilterState = state[self.name]
        labels = node.node.labels
        if st.terms.required_affinity and not self._affinity_ok(st, node.node):
            return unresolvable(ERR_REASON_AFFINITY)
        anti = st.anti
        for term in st.terms.required_anti_affinity:
            value = labels.get(term.topology_key)
            if value is not None and anti.get((term.topology_key, value), 0) > 0:
                return unschedulable(ERR_REASON_ANTI_AFFINITY)
        # Existing pods' anti-affinity: does the node carry one of the counted pairs?
        for key, values in st.existing_by_key.items():
            if labels.get(key) in values:
                return unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY)
        return None

    def filter_all(
        self, state: CycleState, pod: PodInfo, columns: Columns, rows: Ints
    ) -> Verdicts | None:
        # filter's three checks on every node at once, from each topology key's values:
        # which pairs the counts hold. Group 0 passes; 1, 2, 3 fail as filter fails them.
        st: _FilterState = state[self.name]
        count = len(rows)
        fail_affinity = np.zeros(count, dtype=np.bool_)
        if st.terms.required_affinity:
            has_keys = np.ones(count, dtype=np.bool_)
            pods_exist = np.ones(count, dtype=np.bool_)
            for term in st.terms.required_affinity:
                key = term.topology_key
                has_keys &= columns.label(key)[rows] != 0
                here = {v: n for (k, v), n in st.affinity.items() if k == key}
                pods_exist &= columns.per_value(key, here, rows) > 0
            first_pod = not st.affinity and st.self_match
            fail_affinity = ~(has_keys & (pods_exist | first_pod))
        fail_anti = np.zeros(count, dtype=np.bool_)
        for term in st.terms.required_anti_affinity:
            key = term.topology_key
            here = {v: 1 for (k, v), n in st.anti.items() if k == key and n > 0}
            fail_anti |= columns.per_value(key, here, rows) > 0
        fail_existing = np.zeros(count, dtype=np.bool_)
        for key, values in st.existing_by_key.items():
            fail_existing |= columns.per_value(key, dict.fromkeys(values, 1), rows) > 0
        groups = np.where(
            fail_affinity, 1, np.where(fail_anti, 2, np.where(fail_existing, 3, 0))
        ).astype(np.int64)
        statuses: list[Status | None] = [
            None,
            unresolvable(ERR_REASON_AFFINITY),
            unschedulable(ERR_REASON_ANTI_AFFINITY),
            unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY),
        ]
        return Verdicts(groups == 0, groups, statuses)

    @staticmethod
    def _affinity_ok(st: _FilterState, node: Node) -> bool:
        pods_exist = True
        for term in st.terms.required_affinity:
            value = node.labels.get(term.topology_key)
            if value is None:
                return False  # every term's topology key must be on the node
            if st.affinity[(term.topology_key, value)] <= 0:
                pods_exist = False
        if pods_exist:
            return True
        # The first pod of a group whose affinity selects itself may go anywhere the keys
        # exist, as long as no pod anywhere matches the terms yet.
        return not st.affinity and st.self_match

    def detail(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[Detail, ...]:
        st: _FilterState = state[self.name]
        why = state.get(self.name + "/why")
        if why is None:
            why = state[self.name + "/why"] = _Why(state[SNAPSHOT], pod.pod, st)
        # The details read the node's labels at the terms' topology keys only: nodes that
        # agree on those (the same domains) share them.
        labels = node.node.labels
        domains = tuple(map(labels.get, why.keys))
        hit = why.details.get(domains)
        if hit is None:
            hit = why.details[domains] = self._details(st, why, node.node)
        return hit

    def _details(self, st: _FilterState, why: _Why, node: Node) -> tuple[Detail, ...]:
        labels = node.labels
        out: list[Detail] = []
        terms = st.terms
        if terms.required_affinity and not self._affinity_ok(st, node):
            for i, term in enumerate(terms.required_affinity):
                name = _term_name("required pod affinity", i, len(terms.required_affinity))
                value = labels.get(term.topology_key)
                text, base = why.described(term)
                data = {**base, "term": i}
                if value is None:
                    out.append(
                        Detail(
                            "podAffinity",
                            f"{name}: the node has no label {term.topology_key} (its topologyKey)",
                            data,
                        )
                    )
                elif st.affinity[(term.topology_key, value)] <= 0:
                    out.append(
                        Detail(
                            "podAffinity",
                            f"{name} ({text}): no pod matching every "
                            f"required affinity term runs in {term.topology_key}={value}",
                            {**data, "domain": value},
                        )
                    )
        for i, term in enumerate(terms.required_anti_affinity):
            value = labels.get(term.topology_key)
            if value is None or st.anti.get((term.topology_key, value), 0) <= 0:
                continue
            name = _term_name("required anti-affinity", i, len(terms.required_anti_affinity))
            pods = why.matching(term, value)
            verb = "runs" if len(pods) == 1 else "run"
            text, base = why.described(term)
            out.append(
                Detail(
                    "podAntiAffinity",
                    f"{name} ({text}): {pods_text(pods)} {verb} in {term.topology_key}={value}",
                    {**base, "term": i, "domain": value, "pods": pods},
                )
            )
        for key, values in st.existing_by_key.items():
            value = labels.get(key)
            if value not in values:
                continue
            owners = why.existing_against(key, value)
            verb = "has" if len(owners) == 1 else "have"
            out.append(
                Detail(
                    "existingPodAntiAffinity",
                    f"{pods_text(owners)} in {key}={value} {verb} required anti-affinity that "
                    "selects this pod",
                    {"topologyKey": key, "domain": value, "pods": owners},
                )
            )
        return tuple(out)

    # --- score ------------------------------------------------------------------------

    def pre_score(
        self, state: CycleState, pod: PodInfo, snapshot: Snapshot, nodes: list[NodeInfo]
    ) -> Status | None:
        terms = pod_terms(pod.pod)
        has_preferred = bool(terms.preferred_affinity or terms.preferred_anti_affinity)
        existing = snapshot.index(_EXISTING, ExistingTerms)
        if not has_preferred and (self.ignore_existing_preferred or not existing.pods):
            return SKIP
        ns = _NamespaceLabels(snapshot)
        incoming = pod.pod
        scores: Counter[TopologyPair] = Counter()

        def add(term: ResolvedTerm, node: Node, weight: int) -> None:
            pair = _pairs(term, node)
            if pair is not None and weight:
                scores[pair] += weight

        if has_preferred:
            fast_affinity = _indexable(terms.preferred_affinity)
            fast_anti = _indexable(terms.preferred_anti_affinity)
            if fast_affinity is not None and fast_anti is not None:
                # One-label selectors in named namespaces, as for the required terms: only
                # the nodes whose pods carry the label are visited.
                index = snapshot.pods_by_label()
                columns: Columns = state.get(COLUMNS) or snapshot.columns()
                for sign, chosen, labels in (
                    (1, terms.preferred_affinity, fast_affinity),
                    (-1, terms.preferred_anti_affinity, fast_anti),
                ):
                    for term, (key, value) in zip(chosen, labels, strict=True):
                        if term.weight:
                            counts: Counter[TopologyPair] = Counter()
                            _add_indexed(counts, term, columns, index, key, value)
                            for pair, n in counts.items():
                                scores[pair] += sign * term.weight * n
            else:
                affinity = [(t, t.matcher(ns)) for t in terms.preferred_affinity]
                anti = [(t, t.matcher(ns)) for t in terms.preferred_anti_affinity]
                for node_info in snapshot.nodes.values():
                    for p in node_info.pods:
                        for term, matches in affinity:
                            if matches(p.pod):
                                add(term, node_info.node, term.weight)
                        for term, matches in anti:
                            if matches(p.pod):
                                add(term, node_info.node, -term.weight)
        # Existing pods' terms, a group of terms that select the same pods at a time: each
        # term adds its weight to the pair of its pod's node (hardPodAffinityWeight for
        # required affinity); terms of weight 0 add nothing.
        if self.hard_weight > 0:
            for group in existing.selecting(existing.required_affinity, incoming, ns):
                for pair, n in group.counts.items():
                    scores[pair] += self.hard_weight * n
        # ignorePreferredTermsOfExistingPods only skips scoring for a pod without
        # preferred terms (above); otherwise existing pods' preferred terms still count.
        for group in existing.selecting(existing.preferred_affinity, incoming, ns):
            for pair in group.weighted:
                scores[pair] += group.weights[pair]
        for group in existing.selecting(existing.preferred_anti_affinity, incoming, ns):
            for pair in group.weighted:
                scores[pair] -= group.weights[pair]
        if not scores:
            return SKIP  # no term matched anywhere: the plugin scores nothing
        state[self.name + "/score"] = _ScoreState.of(scores)
        return None

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        st: _ScoreState = state[self.name + "/score"]
        # Upstream sums, per topology key of the score table, the node's value's score; a
        # node's other labels can add nothing, so only the table's keys are looked up.
        labels = node.node.labels
        total = 0
        for key, by_value in st.by_key:
            value = labels.get(key)
            if value is not None:
                total += by_value.get(value, 0)
        return total

    def score_all(
        self, state: CycleState, pod: PodInfo, columns: Columns, rows: Ints
    ) -> Ints | None:
        # score's sum over the table's keys, every node at once.
        st: _ScoreState = state[self.name + "/score"]
        if any(abs(v) >= SAFE_LIMIT for _, by_value in st.by_key for v in by_value.values()):
            return None
        total = np.zeros(len(rows), dtype=np.int64)
        for key, by_value in st.by_key:
            total += columns.per_value(key, by_value, rows)
        return total

    def normalize(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> None:
        if not scores:
            return
        low, high = min(scores.values()), max(scores.values())
        spread = high - low
        for name, value in scores.items():
            # float then truncation toward zero, as upstream's int64(float64(...)).
            scores[name] = int(MAX_NODE_SCORE * ((value - low) / spread)) if spread > 0 else 0

    def normalize_all(self, state: CycleState, pod: PodInfo, scores: Ints) -> Ints | None:
        if not len(scores):
            return scores
        low, high = int(scores.min()), int(scores.max())
        spread = high - low
        if spread >= SAFE_LIMIT:
            return None  # differences beyond float64's integers: normalize does it exactly
        if spread == 0:
            return np.zeros_like(scores)
        # The same float64 steps as normalize: exact division of integers below 2**53,
        # one product, truncation toward zero.
        scaled: Ints = (MAX_NODE_SCORE * ((scores - low) / spread)).astype(np.int64)
        return scaled


@dataclass(frozen=True, slots=True)
class _ScoreState:
    """PreScore's table: the score of each topology pair, and the same by topology key."""

    pairs: Counter[TopologyPair]
    by_key: tuple[tuple[str, dict[str, int]], ...]

    @classmethod
    def of(cls, pairs: Counter[TopologyPair]) -> _ScoreState:
        by_key: dict[str, dict[str, int]] = {}
        for (key, value), score in pairs.items():
            by_key.setdefault(key, {})[value] = score
        return cls(pairs, tuple(by_key.items()))


# --- details: which pods are behind a rejection ----------------------------------------------


def _term_name(kind: str, index: int, count: int) -> str:
    return kind + (f" term {index + 1} of {count}" if count > 1 else "")


def _term_text(term: ResolvedTerm, owner: Pod) -> str:
    """``pods matching app=web, topologyKey kubernetes.io/hostname`` (namespaces named when
    the term reaches beyond the owner's)."""
    text = f"pods matching {selector_text(term.selector)}"
    if term.namespace_selector is not None:
        text += f" in namespaces matching {selector_text(term.namespace_selector)}"
    elif term.namespaces != frozenset({owner.namespace}):
        text += f" in namespaces {', '.join(sorted(term.namespaces))}"
    return f"{text}, topologyKey {term.topology_key}"


def _term_data(term: ResolvedTerm) -> dict[str, Any]:
    return {
        "topologyKey": term.topology_key,
        "selector": selector_text(term.selector),
        "namespaces": sorted(term.namespaces),
    }


_NODES_BY_DOMAIN = "InterPodAffinity/nodes-by-domain"


def _nodes_by_domain(snapshot: Snapshot, key: str) -> dict[str, list[str]]:
    """The names of the nodes labelled ``key``, by value, in node order (node data only,
    so kept for the snapshot's life)."""
    cache: dict[str, dict[str, list[str]]] = snapshot.node_cache.setdefault(_NODES_BY_DOMAIN, {})
    domains = cache.get(key)
    if domains is None:
        domains = cache[key] = {}
        for name, info in snapshot.nodes.items():
            value = info.node.labels.get(key)
            if value is not None:
                domains.setdefault(value, []).append(name)
    return domains


@dataclass(slots=True)
class _TermPods:
    """What finding one term's pods by domain takes, decided once per cycle."""

    term: ResolvedTerm  # kept alive: the cache is keyed by its id
    # For a one-label term in named namespaces (what the label index serves): that label,
    # and, by node, the pods the index finds carrying it. When they come from more than
    # one namespace a node's list is not in its pod order: ``chosen`` holds their ids.
    label: tuple[str, str] | None
    by_node: dict[str, list[PodInfo]]
    chosen: set[int] | None
    found: dict[str, list[str]] = field(default_factory=dict)  # domain -> pod keys


class _Why:
    """Looks up, for details, the pods behind the counts PreFilter made (kept for the
    cycle, so each topology domain is searched once)."""

    def __init__(self, snapshot: Snapshot, pod: Pod, st: _FilterState) -> None:
        self.snapshot = snapshot
        self.pod = pod
        self.ns = _NamespaceLabels(snapshot)
        terms = st.terms
        # Every label key the details read: the terms' topology keys and the keys of the
        # existing pods' anti-affinity that selects the pod.
        self.keys = tuple(
            dict.fromkeys(
                [
                    *(t.topology_key for t in terms.required_affinity),
                    *(t.topology_key for t in terms.required_anti_affinity),
                    *st.existing_by_key,
                ]
            )
        )
        # the node's values at ``keys`` -> the details of a node with those values
        self.details: dict[tuple[str | None, ...], tuple[Detail, ...]] = {}
        self._terms: dict[int, _TermPods] = {}
        self._described: dict[int, tuple[ResolvedTerm, str, dict[str, Any]]] = {}
        self._existing: dict[tuple[str, str], list[str]] = {}

    def described(self, term: ResolvedTerm) -> tuple[str, dict[str, Any]]:
        """The term as the details name it (text, data), made once per cycle."""
        hit = self._described.get(id(term))
        if hit is None or hit[0] is not term:
            hit = self._described[id(term)] = (term, _term_text(term, self.pod), _term_data(term))
        return hit[1], hit[2]

    def _term_pods(self, term: ResolvedTerm) -> _TermPods:
        hit = self._terms.get(id(term))
        if hit is None or hit.term is not term:
            indexed = _indexable((term,))
            label = indexed[0] if indexed is not None else None
            by_node: dict[str, list[PodInfo]] = {}
            chosen: set[int] | None = None
            if label is not None:
                index = self.snapshot.pods_by_label()
                found = [index.nodes((ns, *label), terminating=True) for ns in term.namespaces]
                found = [pods for pods in found if pods]
                if len(found) == 1:
                    by_node = found[0]
                elif found:
                    chosen = set()
                    for pods in found:
                        for name, here in pods.items():
                            by_node.setdefault(name, []).extend(here)
                            chosen.update(map(id, here))
            hit = self._terms[id(term)] = _TermPods(term, label, by_node, chosen)
        return hit

    def matching(self, term: ResolvedTerm, value: str) -> list[str]:
        """The pods in the domain ``topologyKey=value`` that the term selects, in node
        order and each node's pod order."""
        t = self._term_pods(term)
        hit = t.found.get(value)
        if hit is None:
            nodes = self.snapshot.nodes
            names = _nodes_by_domain(self.snapshot, term.topology_key).get(value, ())
            if t.label is None:
                matches = term.matcher(self.ns)  # the selector checked once, not per pod
                hit = [p.pod.key for name in names for p in nodes[name].pods if matches(p.pod)]
            else:
                # The label index holds the pods themselves, in each node's pod order.
                by_node, chosen = t.by_node, t.chosen
                if chosen is not None:  # in each node's pod order
                    hit = [
                        p.pod.key
                        for name in names
                        if name in by_node
                        for p in nodes[name].pods
                        if id(p) in chosen
                    ]
                else:
                    hit = [p.pod.key for name in names for p in by_node.get(name, ())]
            t.found[value] = hit
        return hit

    def existing_against(self, key: str, value: str) -> list[str]:
        """Pods in ``key=value`` whose required anti-affinity (on that key) selects the pod,
        in node order (only the domain's nodes are searched, once)."""
        hit = self._existing.get((key, value))
        if hit is None:
            nodes = self.snapshot.nodes
            hit = self._existing[(key, value)] = [
                p.pod.key
                for name in _nodes_by_domain(self.snapshot, key).get(value, ())
                for p in nodes[name].pods
                if p.terms is not None
                and any(
                    t.topology_key == key and t.matches(self.pod, self.ns)
                    for t in p.terms.required_anti_affinity
                )
            ]
        return hit


def _indexable(
    terms: tuple[ResolvedTerm, ...], *, at_most_one: bool = False
) -> list[tuple[str, str]] | None:
    """Each term's single required label, when every term can use the label index."""
    if at_most_one and len(terms) > 1:
        return None  # affinity needs pods matching all terms at once
    out = []
    for term in terms:
        pair = single_label(term.selector) if term.selector is not None else None
        if pair is None or term.namespace_selector is not None:
            return None
        out.append(pair)
    return out


def _add_indexed(
    counts: Counter[TopologyPair],
    term: ResolvedTerm,
    columns: Columns,
    index: PodsByLabel,
    key: str,
    value: str,
) -> None:
    """Count the pods labelled key=value in the term's namespaces by their node's pair
    (only pairs with such pods)."""
    topology_key = term.topology_key
    at = columns.positions()
    domains = columns.label(topology_key)
    totals = np.zeros(len(columns.label_values(topology_key)) + 1, dtype=np.int64)
    for namespace in term.namespaces:
        by_node = index.nodes((namespace, key, value), terminating=True)
        if by_node:
            rows = np.fromiter(map(at.__getitem__, by_node), dtype=np.int64, count=len(by_node))
            here = np.fromiter(map(len, by_node.values()), dtype=np.int64, count=len(by_node))
            totals += np.bincount(domains[rows], weights=here, minlength=len(totals)).astype(
                np.int64
            )
    per_value = totals[1:]  # number 0: nodes without the key
    found = np.flatnonzero(per_value)
    if len(found):
        values = list(columns.label_values(topology_key))  # number n is the n-th value
        for number, n in zip(found.tolist(), per_value[found].tolist(), strict=True):
            pair = (topology_key, values[number])
            counts[pair] = counts.get(pair, 0) + n


# --- existing pods' terms, grouped ----------------------------------------------------------

_EXISTING = "InterPodAffinity/existing-terms"
# How many pods' matches ExistingTerms.selecting keeps.
_SELECTING_KEPT = 1024

SelectorKey = tuple[tuple[tuple[str, str], ...], tuple[Requirement, ...]] | None


def _selector_key(selector: LabelSelector | None) -> SelectorKey:
    if selector is None:
        return None
    return (tuple(sorted(selector.match_labels.items())), selector.match_expressions)


def _match_key(term: ResolvedTerm) -> tuple[SelectorKey, frozenset[str], SelectorKey]:
    """Terms with equal keys select the same pods (ResolvedTerm.matches reads only these)."""
    return (_selector_key(term.selector), term.namespaces, _selector_key(term.namespace_selector))


@dataclass(slots=True)
class TermGroup:
    """Existing pods' terms of one kind that select the same pods, by their node's pair."""

    term: ResolvedTerm  # one of them: each selects the same pods
    number: int  # groups made before it in its index (ExistingTerms.selecting)
    counts: Counter[TopologyPair] = field(default_factory=Counter)  # terms per pair
    weights: dict[TopologyPair, int] = field(default_factory=dict)  # their weights' sum
    weighted: Counter[TopologyPair] = field(default_factory=Counter)  # terms of weight != 0


def _bump(counts: Counter[TopologyPair], pair: TopologyPair, delta: int) -> None:
    n = counts[pair] + delta
    if n:
        counts[pair] = n
    else:
        del counts[pair]


@dataclass(slots=True)
class _Selecting:
    """The groups whose terms select a kind of pod, of the first ``seen`` groups made."""

    groups: list[TermGroup]
    seen: int


class ExistingTerms:
    """The affinity terms of the pods already placed, grouped by what they select and
    counted by the topology pair of their node, kept in step as pods are bound and removed.

    A cycle then matches the incoming pod against each group once, instead of against
    every existing pod's terms (upstream walks the nodes' PodsWithAffinity lists).
    Terms whose node lacks the topology key count nowhere, as in upstream.
    """

    def __init__(self) -> None:
        self.pods = 0  # existing pods with at least one term
        self.required_affinity: dict[Any, TermGroup] = {}
        self.required_anti_affinity: dict[Any, TermGroup] = {}
        self.preferred_affinity: dict[Any, TermGroup] = {}
        self.preferred_anti_affinity: dict[Any, TermGroup] = {}
        # How many groups were made (a group's terms leave with its last pod and may come
        # back as a new group), and (the kind, a pod's namespace and labels: all a term's
        # match reads of the pod) -> the groups whose terms select such a pod, of those
        # made before ``seen``: a workload's replicas match each group once, and then only
        # the groups made since.
        self._made = 0
        self._selecting: dict[tuple[int, str, frozenset[tuple[str, str]]], _Selecting] = {}

    def selecting(
        self, groups: dict[Any, TermGroup], pod: Pod, ns: Mapping[str, Mapping[str, str]]
    ) -> list[TermGroup]:
        """The groups of ``groups`` (one of this index's kinds) whose term selects ``pod``,
        in their order; groups gone since may still be listed, with nothing counted."""
        key = (id(groups), pod.namespace, frozenset(pod.labels.items()))
        hit = self._selecting.get(key)
        if hit is None:
            if len(self._selecting) >= _SELECTING_KEPT:
                self._selecting.clear()
            hit = self._selecting[key] = _Selecting([], 0)
        if hit.seen < self._made:
            # Groups keep the order they were made in, so the new ones come last.
            hit.groups += [
                g for g in groups.values() if g.number >= hit.seen and g.term.matches(pod, ns)
            ]
            hit.seen = self._made
        return hit.groups

    def add(self, node: NodeInfo, pod: PodInfo) -> None:
        self._update(node, pod, 1)

    def remove(self, node: NodeInfo, pod: PodInfo) -> None:
        self._update(node, pod, -1)

    def _update(self, node: NodeInfo, pod: PodInfo, delta: int) -> None:
        terms = pod.terms
        if terms is None:
            return
        self.pods += delta
        for groups, kind in (
            (self.required_affinity, terms.required_affinity),
            (self.required_anti_affinity, terms.required_anti_affinity),
            (self.preferred_affinity, terms.preferred_affinity),
            (self.preferred_anti_affinity, terms.preferred_anti_affinity),
        ):
            for term in kind:
                pair = _pairs(term, node.node)
                if pair is None:
                    continue
                key = _match_key(term)
                group = groups.get(key)
                if group is None:
                    group = groups[key] = TermGroup(term, self._made)
                    self._made += 1
                _bump(group.counts, pair, delta)
                if term.weight:
                    _bump(group.weighted, pair, delta)
                if pair in group.counts:
                    group.weights[pair] = group.weights.get(pair, 0) + delta * term.weight
                else:
                    group.weights.pop(pair, None)
                if not group.counts:
                    del groups[key]
