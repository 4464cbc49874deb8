"""The snapshot's pod indexes (pods by label, existing pods' affinity terms) stay equal to
freshly built ones as pods are bound and evicted, and the PreFilter counts taken from them
equal a scan of every pod, the way kube-scheduler's PreFilter counts."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from podfit.cluster import Cluster
from podfit.loading import cluster_from_manifests, pod_from_manifest
from podfit.model import Pod
from podfit.reference import interpodaffinity
from podfit.reference.framework import SNAPSHOT, CycleState, bind, evict, snapshot_of
from podfit.reference.interpodaffinity import (
    _EXISTING,
    ExistingTerms,
    InterPodAffinity,
    _NamespaceLabels,
)
from podfit.reference.labels import required_node_affinity_matches, selector_matches
from podfit.reference.nodeinfo import LabelEntry, PodInfo, PodsByLabel, Snapshot
from podfit.reference.podaffinity import pod_terms
from podfit.reference.podtopologyspread import PodTopologySpread
from podfit.reference.podtopologyspread import merged_selector as spread_selector
from podfit.reference.taints import find_untolerated_taint

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"
KEYS = [ZONE, HOST, "rack"]
NAMESPACES = ["a", "b"]
APPS = ["web", "db", "cache"]


def _selector(rng: random.Random) -> dict[str, Any]:
    kind = rng.randrange(5)
    if kind == 0:
        return {"matchLabels": {"app": rng.choice(APPS)}}
    if kind == 1:
        return {
            "matchExpressions": [{"key": "app", "operator": "In", "values": [rng.choice(APPS)]}]
        }
    if kind == 2:
        return {"matchLabels": {"app": rng.choice(APPS), "tier": rng.choice(["x", "y"])}}
    if kind == 3:
        return {"matchExpressions": [{"key": "app", "operator": "Exists"}]}
    return {}


def _term(rng: random.Random) -> dict[str, Any]:
    term: dict[str, Any] = {"topologyKey": rng.choice(KEYS), "labelSelector": _selector(rng)}
    if rng.random() < 0.2:
        term["namespaces"] = list(NAMESPACES)
    if rng.random() < 0.1:
        term["namespaceSelector"] = {}
    return term


def _pod(rng: random.Random, name: str) -> dict[str, Any]:
    labels = {"app": rng.choice(APPS)}
    if rng.random() < 0.5:
        labels["tier"] = rng.choice(["x", "y"])
    spec: dict[str, Any] = {"containers": [{"name": "c"}]}
    affinity: dict[str, Any] = {}
    for kind in ("podAffinity", "podAntiAffinity"):
        if rng.random() < 0.5:
            terms: dict[str, Any] = {}
            if rng.random() < 0.6:
                terms["requiredDuringSchedulingIgnoredDuringExecution"] = [_term(rng)]
            if rng.random() < 0.6:
                terms["preferredDuringSchedulingIgnoredDuringExecution"] = [
                    {"weight": rng.randint(1, 100), "podAffinityTerm": _term(rng)}
                ]
            affinity[kind] = terms
    if affinity:
        spec["affinity"] = affinity
    if rng.random() < 0.5:
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": key,
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": _selector(rng),
            }
            for key in rng.sample(KEYS, rng.randint(1, 2))
        ]
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": rng.choice(NAMESPACES),
        "labels": labels,
    }
    if rng.random() < 0.15:
        metadata["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def _cluster(rng: random.Random, *, policies: bool = False) -> Cluster:
    """Eight nodes over two zones and three racks; with ``policies``, some of them are
    also tainted or labelled for a nodeSelector (what spread's node inclusion policies
    read)."""
    manifests: list[dict[str, Any]] = []
    for i in range(8):
        labels = {HOST: f"n{i}", "rack": f"r{i % 3}"}
        if i % 4 != 3:  # some nodes lack the zone label
            labels[ZONE] = f"z{i % 2}"
        spec: dict[str, Any] = {}
        if policies:
            labels["disk"] = rng.choice(["ssd", "hdd"])
            if rng.random() < 0.4:
                spec["taints"] = [{"key": "dedicated", "effect": "NoSchedule"}]
        manifests.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": f"n{i}", "labels": labels},
                "spec": spec,
                "status": {"allocatable": {"cpu": "8", "memory": "8Gi", "pods": "110"}},
            }
        )
    for ns in NAMESPACES:
        manifests.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for i in range(25):
        pod = _pod(rng, f"run-{i}")
        pod["spec"]["nodeName"] = f"n{rng.randrange(8)}"
        manifests.append(pod)
    return cluster_from_manifests(manifests)


def _bound_snapshot(rng: random.Random, *, policies: bool = False) -> Snapshot:
    """The snapshot of a random cluster to which ten pods were bound after it was made
    (so that its indexes were updated in place)."""
    cluster = _cluster(rng, policies=policies)
    for step in range(10):
        bind(cluster, pod_from_manifest(_pod(rng, f"new-{step}")), f"n{rng.randrange(8)}")
    return snapshot_of(cluster)


def _existing_as_data(index: ExistingTerms) -> dict[str, Any]:
    kinds = {
        "required_affinity": index.required_affinity,
        "required_anti_affinity": index.required_anti_affinity,
        "preferred_affinity": index.preferred_affinity,
        "preferred_anti_affinity": index.preferred_anti_affinity,
    }
    return {
        "pods": index.pods,
        **{
            name: {
                key: (dict(g.counts), dict(g.weights), dict(g.weighted))
                for key, g in groups.items()
            }
            for name, groups in kinds.items()
        },
    }


def _fresh(cluster: Cluster) -> Snapshot:
    return Snapshot.of(cluster)


@pytest.mark.parametrize("seed", range(6))
def test_indexes_follow_bindings_and_evictions(seed: int) -> None:
    rng = random.Random(seed)
    cluster = _cluster(rng)
    snap = snapshot_of(cluster)
    snap.pods_by_label()
    snap.index(_EXISTING, ExistingTerms)
    # The same incoming pods asked about at every step: what the index keeps for them
    # (ExistingTerms.selecting) must follow the groups that come and go.
    incoming = [pod_from_manifest(_pod(rng, f"incoming-{i}")) for i in range(4)]
    for step in range(30):
        bound = [p for p in cluster.pods.values() if p.node_name]
        if bound and rng.random() < 0.4:
            evict(cluster, rng.choice(bound))
        else:
            pod = pod_from_manifest(_pod(rng, f"new-{step}"))
            bind(cluster, pod, f"n{rng.randrange(8)}")
        assert snapshot_of(cluster) is snap  # kept in step, not rebuilt
        fresh = _fresh(cluster)
        incremental = snap.pods_by_label()
        rebuilt = fresh.pods_by_label()
        assert _label_index_as_data(incremental) == _label_index_as_data(rebuilt)
        assert _label_index_as_data(incremental) == _labels_by_scan(snap)
        assert incremental.terminating == rebuilt.terminating
        assert _existing_as_data(snap.index(_EXISTING, ExistingTerms)) == _existing_as_data(
            fresh.index(_EXISTING, ExistingTerms)
        )
        for pod in incoming:
            assert _interpod_tables(snap, pod) == _interpod_tables(fresh, pod)


def _interpod_tables(snap: Snapshot, pod: Pod) -> tuple[Any, Any]:
    """InterPodAffinity's PreFilter counts of existing anti-affinity and PreScore's table
    for ``pod`` (None where it skips)."""
    plugin = InterPodAffinity()
    info = PodInfo.of(pod)
    state = CycleState()
    state[SNAPSHOT] = snap
    anti = None
    if plugin.pre_filter(state, info, snap) is None:
        anti = dict(state[plugin.name].existing_anti)
    pairs = None
    if plugin.pre_score(state, info, snap, snap.node_list()) is None:
        pairs = dict(state[plugin.name + "/score"].pairs)
    return anti, pairs


def _label_index_as_data(index: PodsByLabel) -> dict[LabelEntry, dict[str, list[str]]]:
    """The index's pods by key, in the order it holds them (each node's pod order)."""
    return {
        entry: {node: [p.pod.key for p in pods] for node, pods in by_node.items()}
        for entry, by_node in index.all.items()
    }


def _labels_by_scan(snap: Snapshot) -> dict[LabelEntry, dict[str, list[str]]]:
    """What the label index should hold, from the nodes' pods in their order."""
    out: dict[LabelEntry, dict[str, list[str]]] = {}
    for name, info in snap.nodes.items():
        for p in info.pods:
            for key, value in p.pod.labels.items():
                out.setdefault((p.pod.namespace, key, value), {}).setdefault(name, []).append(
                    p.pod.key
                )
    return out


def _pair(snap: Snapshot, node: str, key: str) -> tuple[str, str] | None:
    value = snap.nodes[node].node.labels.get(key)
    return None if value is None else (key, value)


def _scan_interpod(snap: Snapshot, incoming: Pod) -> dict[str, Counter[tuple[str, str]]]:
    """Every pod of every node, as upstream's PreFilter walks them."""
    ns = _NamespaceLabels(snap)
    terms = pod_terms(incoming)
    existing: Counter[tuple[str, str]] = Counter()
    anti: Counter[tuple[str, str]] = Counter()
    affinity: Counter[tuple[str, str]] = Counter()
    for name, info in snap.nodes.items():
        for p in info.pods:
            for term in pod_terms(p.pod).required_anti_affinity:
                pair = _pair(snap, name, term.topology_key)
                if pair is not None and term.matches(incoming, ns):
                    existing[pair] += 1
            for term in terms.required_anti_affinity:
                pair = _pair(snap, name, term.topology_key)
                if pair is not None and term.matches(p.pod, ns):
                    anti[pair] += 1
            if terms.required_affinity and all(
                t.matches(p.pod, ns) for t in terms.required_affinity
            ):
                for term in terms.required_affinity:
                    pair = _pair(snap, name, term.topology_key)
                    if pair is not None:
                        affinity[pair] += 1
    return {"existing": existing, "anti": anti, "affinity": affinity}


def _scan_spread(snap: Snapshot, incoming: Pod, plugin: PodTopologySpread) -> list[dict[str, int]]:
    constraints = plugin.constraints(incoming, snap.cluster, "DoNotSchedule")
    counts: list[dict[str, int]] = [{} for _ in constraints]
    for info in snap.nodes.values():
        labels = info.node.labels
        if not all(c.topology_key in labels for c in constraints):
            continue
        for i, c in enumerate(constraints):
            n = 0
            if c.selector is not None and not c.selector.is_empty:
                for p in info.pods:
                    other = p.pod
                    if other.is_terminating or other.namespace != incoming.namespace:
                        continue
                    n += selector_matches(c.selector, other.labels)
            value = labels[c.topology_key]
            counts[i][value] = counts[i].get(value, 0) + n
    return counts


@pytest.mark.parametrize("seed", range(6))
def test_prefilter_counts_equal_a_scan_of_every_pod(seed: int) -> None:
    rng = random.Random(100 + seed)
    snap = _bound_snapshot(rng)
    interpod, spread = InterPodAffinity(), PodTopologySpread()
    checked = 0
    for i in range(40):
        incoming = pod_from_manifest(_pod(rng, f"incoming-{i}"))
        info = PodInfo.of(incoming)
        state = CycleState()
        expected = _scan_interpod(snap, incoming)
        if interpod.pre_filter(state, info, snap) is None:
            st = state[interpod.name]
            assert st.existing_anti == expected["existing"]
            assert st.anti == expected["anti"]
            assert st.affinity == expected["affinity"]
            checked += 1
        else:  # Skip: nothing to check anywhere
            assert not expected["existing"] and not pod_terms(incoming).required_anti_affinity
        if spread.pre_filter(state, info, snap) is None:
            assert state[spread.name].counts == _scan_spread(snap, incoming, spread)
            checked += 1
    assert checked > 20


@pytest.mark.parametrize("seed", range(6))
def test_prescore_preferred_terms_through_the_index_equal_a_scan(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Preferred terms go through the label index when each selects one label: the scores
    equal those of a scan of every pod."""
    rng = random.Random(200 + seed)
    snap = snapshot_of(_cluster(rng))
    plugin = InterPodAffinity()
    incoming = [pod_from_manifest(_pod(rng, f"incoming-{i}")) for i in range(60)]

    def scores(pod: Pod) -> Counter[tuple[str, str]]:
        state = CycleState()
        status = plugin.pre_score(state, PodInfo.of(pod), snap, snap.node_list())
        return Counter() if status is not None else state[plugin.name + "/score"].pairs

    indexed = [scores(pod) for pod in incoming]
    monkeypatch.setattr(interpodaffinity, "_indexable", lambda terms, at_most_one=False: None)
    assert indexed == [scores(pod) for pod in incoming]
    assert sum(1 for pod in incoming if pod_terms(pod).preferred_affinity) > 5


@pytest.mark.parametrize("seed", range(4))
def test_a_term_matcher_agrees_with_matches(seed: int) -> None:
    rng = random.Random(300 + seed)
    snap = snapshot_of(_cluster(rng))
    ns = _NamespaceLabels(snap)
    pods = [p.pod for info in snap.nodes.values() for p in info.pods]
    for i in range(30):
        owner = pod_from_manifest(_pod(rng, f"owner-{i}"))
        terms = pod_terms(owner)
        for term in (*terms.preferred_affinity, *terms.required_anti_affinity):
            matches = term.matcher(ns)
            assert [matches(p) for p in pods] == [term.matches(p, ns) for p in pods]


def _anti_pods_by_scan(snap: Snapshot, term: Any, value: str) -> list[str]:
    """Every pod of every node in the domain that the term selects, in node order."""
    ns = _NamespaceLabels(snap)
    return [
        p.pod.key
        for info in snap.nodes.values()
        if info.node.labels.get(term.topology_key) == value
        for p in info.pods
        if term.matches(p.pod, ns)
    ]


def _existing_against_by_scan(snap: Snapshot, incoming: Pod, key: str, value: str) -> list[str]:
    """Every pod whose required anti-affinity on ``key`` selects the incoming pod, on a
    node labelled key=value, in node order."""
    ns = _NamespaceLabels(snap)
    return [
        p.pod.key
        for info in snap.nodes.values()
        if info.node.labels.get(key) == value
        for p in info.pods
        if any(
            t.topology_key == key and t.matches(incoming, ns)
            for t in pod_terms(p.pod).required_anti_affinity
        )
    ]


@pytest.mark.parametrize("seed", range(6))
def test_inter_pod_details_name_the_pods_a_scan_finds(seed: int) -> None:
    """The anti-affinity details name the pods a scan of the domain finds (the label index
    only narrows the nodes), so do those of existing pods' anti-affinity, and details shared by nodes of the same domains equal those
    worked out for each node in a cycle of its own."""
    rng = random.Random(400 + seed)
    snap = _bound_snapshot(rng)
    plugin = InterPodAffinity()
    named = owned = 0
    for i in range(40):
        info = PodInfo.of(pod_from_manifest(_pod(rng, f"incoming-{i}")))
        state = CycleState()
        state[SNAPSHOT] = snap
        if plugin.pre_filter(state, info, snap) is not None:
            continue
        terms = state[plugin.name].terms
        for node in snap.nodes.values():
            if plugin.filter(state, info, node) is None:
                continue
            details = plugin.detail(state, info, node)
            alone = CycleState()
            alone[SNAPSHOT] = snap
            plugin.pre_filter(alone, info, snap)
            assert plugin.detail(alone, info, node) == details
            for detail in details:
                if detail.kind == "podAntiAffinity":
                    term = terms.required_anti_affinity[detail.data["term"]]
                    expected = _anti_pods_by_scan(snap, term, detail.data["domain"])
                    assert detail.data["pods"] == expected
                    named += 1
                elif detail.kind == "existingPodAntiAffinity":
                    key, value = detail.data["topologyKey"], detail.data["domain"]
                    assert detail.data["pods"] == _existing_against_by_scan(
                        snap, info.pod, key, value
                    )
                    owned += 1
    assert named > 10 and owned > 10


@pytest.mark.parametrize("seed", range(4))
def test_inter_pod_score_reads_the_tables_keys_as_a_sum_over_every_label(seed: int) -> None:
    """Score looks up only the topology keys PreScore's table has: the same sum as over
    every label of the node."""
    rng = random.Random(500 + seed)
    snap = snapshot_of(_cluster(rng))
    plugin = InterPodAffinity()
    scored = 0
    for i in range(40):
        info = PodInfo.of(pod_from_manifest(_pod(rng, f"incoming-{i}")))
        state = CycleState()
        if plugin.pre_score(state, info, snap, snap.node_list()) is not None:
            continue
        pairs = state[plugin.name + "/score"].pairs
        for node in snap.nodes.values():
            expected = sum(pairs.get(pair, 0) for pair in node.node.labels.items())
            assert plugin.score(state, info, node) == expected
            scored += expected != 0
    assert scored > 10


def _policy_pod(rng: random.Random, name: str) -> dict[str, Any]:
    """A pod whose spread constraints use the node inclusion policies."""
    manifest = _pod(rng, name)
    spec = manifest["spec"]
    spec["topologySpreadConstraints"] = [
        {
            "maxSkew": rng.randint(1, 2),
            "topologyKey": key,
            "whenUnsatisfiable": rng.choice(["DoNotSchedule", "ScheduleAnyway"]),
            "labelSelector": _selector(rng),
            "nodeAffinityPolicy": rng.choice(["Honor", "Ignore"]),
            "nodeTaintsPolicy": rng.choice(["Honor", "Ignore"]),
        }
        for key in rng.sample(KEYS, rng.randint(1, 2))
    ]
    if rng.random() < 0.6:
        spec["nodeSelector"] = {"disk": rng.choice(["ssd", "hdd"])}
    if rng.random() < 0.3:
        spec["tolerations"] = [{"key": "dedicated", "operator": "Exists"}]
    return manifest


def _eligible_by_scan(c: Any, incoming: Pod, node: Any) -> bool:
    if c.honors_node_affinity and not required_node_affinity_matches(incoming, node):
        return False
    untolerated = find_untolerated_taint(
        node.taints, incoming.tolerations, ("NoSchedule", "NoExecute")
    )
    return not (c.honors_taints and untolerated is not None)


def _spread_selects(c: Any, incoming: Pod, other: Pod) -> bool:
    selector = spread_selector(c, incoming)
    return (
        selector is not None
        and not selector.is_empty
        and not other.is_terminating
        and other.namespace == incoming.namespace
        and selector_matches(selector, other.labels)
    )


def _spread_counts_by_scan(snap: Snapshot, incoming: Pod, when: str) -> list[list[Any]]:
    """PreFilter's counts the way upstream takes them: node by node, in node order, each
    constraint counting the nodes its policies let in (a domain appears at its first)."""
    constraints = [c for c in incoming.topology_spread_constraints if c.when_unsatisfiable == when]
    counts: list[dict[str, int]] = [{} for _ in constraints]
    for info in snap.nodes.values():
        labels = info.node.labels
        if not all(c.topology_key in labels for c in constraints):
            continue
        for i, c in enumerate(constraints):
            if _eligible_by_scan(c, incoming, info.node):
                n = sum(_spread_selects(c, incoming, p.pod) for p in info.pods)
                value = labels[c.topology_key]
                counts[i][value] = counts[i].get(value, 0) + n
    return [list(domain_counts.items()) for domain_counts in counts]


@pytest.mark.parametrize("seed", range(8))
def test_spread_counts_under_inclusion_policies_equal_a_scan_in_node_order(seed: int) -> None:
    """PreFilter counts domain by domain (a domain from its first eligible node, counts
    from the nodes running matching pods): the same domains, in the same order (the
    details list them), with the same counts as a node-by-node scan; PreScore's counts
    over the domains of the feasible nodes too."""
    rng = random.Random(600 + seed)
    snap = _bound_snapshot(rng, policies=True)
    plugin = PodTopologySpread()
    checked = scored = 0
    for i in range(40):
        incoming = pod_from_manifest(_policy_pod(rng, f"incoming-{i}"))
        info = PodInfo.of(incoming)
        state = CycleState()
        if plugin.pre_filter(state, info, snap) is None:
            counts = [list(c.items()) for c in state[plugin.name].counts]
            assert counts == _spread_counts_by_scan(snap, incoming, "DoNotSchedule")
            checked += 1
        feasible = [n for n in snap.node_list() if rng.random() < 0.7]
        if plugin.pre_score(state, info, snap, feasible) is None:
            st = state[plugin.name + "/score"]
            soft = [
                c
                for c in incoming.topology_spread_constraints
                if c.when_unsatisfiable != "DoNotSchedule"
            ]
            for j, c in enumerate(soft):
                if c.topology_key == HOST:
                    continue  # counted per node in Score
                # The domains are those of the feasible nodes; every node of the cluster
                # having all the keys counts there.
                expected = dict.fromkeys(st.counts[j], 0)
                for node in snap.nodes.values():
                    labels = node.node.labels
                    if not all(k.topology_key in labels for k in soft):
                        continue
                    value = labels[c.topology_key]
                    if value in expected and _eligible_by_scan(c, incoming, node.node):
                        expected[value] += sum(
                            _spread_selects(c, incoming, p.pod) for p in node.pods
                        )
                assert st.counts[j] == expected
                scored += 1
    assert checked > 15 and scored > 8
