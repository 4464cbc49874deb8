"""What plugins decide once per pod or cache per cycle gives the answers of the plain
computation: TaintToleration's answers per shared taints tuple, NodeAffinity's terms checked
once per pod, BalancedAllocation's resource plan."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from podfit.cluster import Cluster
from podfit.model import (
    TAINT_EFFECTS,
    Affinity,
    Container,
    ContainerImage,
    Node,
    NodeSelector,
    NodeSelectorTerm,
    Pod,
    PreferredSchedulingTerm,
    Requirement,
    Taint,
    Toleration,
)
from podfit.model import NodeAffinity as NodeAffinitySpec
from podfit.reference.balancedallocation import BalancedAllocation
from podfit.reference.framework import CycleState, run_cycle
from podfit.reference.imagelocality import image_locality_score, image_states
from podfit.reference.labels import (
    node_selector_map_matches,
    node_selector_matches,
    node_selector_term_matches,
)
from podfit.reference.nodeaffinity import NodeAffinity
from podfit.reference.nodeinfo import NodeInfo, PodInfo, Snapshot
from podfit.reference.profile import PluginSet, build_profile
from podfit.reference.tainttoleration import TaintToleration
from podfit.versions import VERSIONS

# --- TaintToleration: one answer per taints tuple and cycle ----------------------------------

taints_st = st.builds(
    Taint,
    key=st.sampled_from(["a", "b"]),
    value=st.sampled_from(["", "x"]),
    effect=st.sampled_from(TAINT_EFFECTS),
)
tolerations_st = st.lists(
    st.builds(
        Toleration,
        key=st.sampled_from(["", "a", "b"]),
        operator=st.sampled_from(["Equal", "Exists"]),
        value=st.sampled_from(["", "x"]),
        effect=st.sampled_from(["", *TAINT_EFFECTS]),
    ),
    max_size=3,
)


@st.composite
def shared_taint_nodes(draw: st.DrawFn) -> list[NodeInfo]:
    """Nodes that share a few taints tuples (as the fast loader shares them), plus nodes
    whose taints are equal to a shared tuple but another object."""
    shapes = draw(st.lists(st.lists(taints_st, max_size=3).map(tuple), min_size=1, max_size=3))
    picks = draw(st.lists(st.tuples(st.integers(0, len(shapes) - 1), st.booleans()), max_size=8))
    return [
        NodeInfo.of(Node(name=f"n{i}", taints=tuple(list(shapes[s])) if copy else shapes[s]))
        for i, (s, copy) in enumerate(picks)
    ]


def snapshot_of_infos(infos: list[NodeInfo]) -> Snapshot:
    return Snapshot(Cluster([i.node for i in infos]).finish(), {i.name: i for i in infos})


def tolerating(tolerations: list[Toleration]) -> PodInfo:
    return PodInfo.of(
        Pod(name="p", containers=(Container(name="c"),), tolerations=tuple(tolerations))
    )


@settings(max_examples=150, deadline=None)
@given(shared_taint_nodes(), tolerations_st, st.sampled_from(VERSIONS))
def test_taint_answers_shared_in_a_cycle_are_each_nodes_own(
    nodes: list[NodeInfo], tolerations: list[Toleration], version: object
) -> None:
    plugin = TaintToleration(version=version)  # type: ignore[arg-type]
    info = tolerating(tolerations)
    snapshot = snapshot_of_infos(nodes)
    cycle = CycleState()
    plugin.pre_filter(cycle, info, snapshot)
    plugin.pre_score(cycle, info, snapshot, nodes)
    for node in nodes:
        alone = CycleState()
        plugin.pre_filter(alone, info, snapshot)
        plugin.pre_score(alone, info, snapshot, [node])
        assert plugin.filter(cycle, info, node) == plugin.filter(alone, info, node)
        assert plugin.score(cycle, info, node) == plugin.score(alone, info, node)
        assert plugin.detail(cycle, info, node) == plugin.detail(alone, info, node)


def test_a_taint_answer_under_a_reused_id_is_not_taken() -> None:
    plugin = TaintToleration()
    info = tolerating([])
    node = NodeInfo.of(Node(name="n", taints=(Taint(key="a", effect="NoSchedule"),)))
    state = CycleState()
    plugin.pre_filter(state, info, snapshot_of_infos([node]))
    plugin.pre_score(state, info, snapshot_of_infos([node]), [node])
    # An entry for another tuple that once had this id (it was freed and the id reused).
    other: tuple[Taint, ...] = (Taint(key="b", effect="NoSchedule"),)
    for key in ("TaintToleration/filter-by-taints", "TaintToleration/score-by-taints"):
        state[key][id(node.node.taints)] = (other, 7 if "score" in key else None)
    assert plugin.filter(state, info, node) is not None
    assert plugin.score(state, info, node) == 0


# --- NodeAffinity: terms checked once per pod --------------------------------------------------

LABEL_KEYS = ["zone", "disk", "bad key!"]
LABEL_VALUES = ["a", "b", "1", "x y"]

requirements = st.builds(
    Requirement,
    key=st.sampled_from(LABEL_KEYS),
    operator=st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt", "Near"]),
    values=st.lists(st.sampled_from(LABEL_VALUES), max_size=2).map(tuple),
)
field_requirements = st.builds(
    Requirement,
    key=st.sampled_from(["metadata.name", "metadata.uid"]),
    operator=st.sampled_from(["In", "NotIn", "Exists"]),
    values=st.sampled_from(["n0", "n1"]).map(lambda v: (v,))
    | st.lists(st.sampled_from(["n0", "n1"]), max_size=2).map(tuple),
)
terms = st.builds(
    NodeSelectorTerm,
    match_expressions=st.lists(requirements, max_size=2).map(tuple),
    match_fields=st.lists(field_requirements, max_size=1).map(tuple),
)
# Preferred terms upstream can parse (one it cannot fails PreScore, and nothing is scored).
valid_requirements = st.one_of(
    st.builds(
        Requirement,
        key=st.sampled_from(LABEL_KEYS[:2]),
        operator=st.sampled_from(["In", "NotIn"]),
        values=st.lists(st.sampled_from(LABEL_VALUES[:3]), min_size=1, max_size=2).map(tuple),
    ),
    st.builds(
        Requirement,
        key=st.sampled_from(LABEL_KEYS[:2]),
        operator=st.sampled_from(["Exists", "DoesNotExist"]),
        values=st.just(()),
    ),
)
valid_terms = st.builds(
    NodeSelectorTerm,
    match_expressions=st.lists(valid_requirements, max_size=2).map(tuple),
    match_fields=st.lists(
        st.builds(
            Requirement,
            key=st.just("metadata.name"),
            operator=st.sampled_from(["In", "NotIn"]),
            values=st.sampled_from(["n0", "n1"]).map(lambda v: (v,)),
        ),
        max_size=1,
    ).map(tuple),
)
preferred = st.lists(
    st.builds(PreferredSchedulingTerm, weight=st.integers(0, 3), preference=valid_terms | terms),
    max_size=3,
).map(tuple)
labels = st.dictionaries(st.sampled_from(LABEL_KEYS), st.sampled_from(LABEL_VALUES), max_size=3)


@st.composite
def affinity_pods(draw: st.DrawFn) -> Pod:
    required = draw(st.none() | st.lists(terms, max_size=2).map(tuple))
    return Pod(
        name="p",
        containers=(Container(name="c"),),
        node_selector=draw(labels),
        affinity=Affinity(
            node_affinity=NodeAffinitySpec(
                required=None if required is None else NodeSelector(terms=required),
                preferred=draw(preferred),
            )
        ),
    )


@settings(max_examples=300, deadline=None)
@given(affinity_pods(), st.lists(labels, min_size=1, max_size=3), st.data())
def test_node_affinity_prepared_terms_match_as_the_plain_rules(
    pod: Pod, label_maps: list[dict[str, str]], data: st.DataObject
) -> None:
    plugin = NodeAffinity()
    info = PodInfo.of(pod)
    # Few label maps over more nodes: nodes often agree on their labels but not their name.
    picks = data.draw(st.lists(st.sampled_from(label_maps), min_size=1, max_size=6))
    nodes = [NodeInfo.of(Node(name=f"n{i}", labels=lab)) for i, lab in enumerate(picks)]
    state = CycleState()
    snapshot = snapshot_of_infos(nodes)
    plugin.pre_filter(state, info, snapshot)
    scored = plugin.pre_score(state, info, snapshot, nodes)
    affinity = pod.affinity
    assert affinity is not None and affinity.node_affinity is not None
    required = affinity.node_affinity.required
    for node in nodes:
        n = node.node
        fits = node_selector_map_matches(pod.node_selector, n.labels) and (
            required is None or node_selector_matches(required, n.labels, n.name)
        )
        assert (plugin.filter(state, info, node) is None) == fits
        if scored is None:
            weight = sum(
                t.weight
                for t in affinity.node_affinity.preferred
                if t.weight and node_selector_term_matches(t.preference, n.labels, n.name)
            )
            assert plugin.score(state, info, node) == weight
            # Without PreScore's state, Score reads the pod itself.
            assert plugin.score(CycleState(), info, node) == weight


def test_node_affinity_scores_are_shared_only_by_nodes_agreeing_on_every_key_read() -> None:
    zone_and_disk = NodeSelectorTerm(
        match_expressions=(Requirement("zone", "In", ("a",)), Requirement("disk", "In", ("a",)))
    )
    pod = Pod(
        name="p",
        containers=(Container(name="c"),),
        affinity=Affinity(
            node_affinity=NodeAffinitySpec(
                preferred=(PreferredSchedulingTerm(weight=1, preference=zone_and_disk),)
            )
        ),
    )
    plugin = NodeAffinity()
    info = PodInfo.of(pod)
    nodes = [
        NodeInfo.of(Node(name="n0", labels={"zone": "a", "disk": "a"})),
        NodeInfo.of(Node(name="n1", labels={"zone": "a", "disk": "b"})),
    ]
    state = CycleState()
    assert plugin.pre_score(state, info, snapshot_of_infos(nodes), nodes) is None
    assert [plugin.score(state, info, n) for n in nodes] == [1, 0]


# --- ImageLocality: nodes with the same summed image scores share the node score ------------

image_names = st.sampled_from(["example.com/a:1", "example.com/b:1", "example.com/c:1"])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.dictionaries(image_names, st.integers(0, 2000).map(lambda m: m * 2**20)),
        min_size=2,
        max_size=6,
    ),
    st.lists(image_names, min_size=1, max_size=3),
)
def test_image_locality_cycle_scores_each_node_as_alone(
    images_per_node: list[dict[str, int]], containers: list[str]
) -> None:
    nodes = [
        Node(
            name=f"n{i}",
            images=tuple(ContainerImage((name,), size) for name, size in images.items()),
        )
        for i, images in enumerate(images_per_node)
    ]
    pod = Pod(
        name="p",
        containers=tuple(Container(name=f"c{k}", image=i) for k, i in enumerate(containers)),
    )
    profile = build_profile(plugins=PluginSet(filters=(), scores=(("ImageLocality", 1),)))
    snapshot = Snapshot.of(Cluster(nodes).finish())
    result = run_cycle(profile, snapshot, pod)
    states = image_states(snapshot)
    for name, info in snapshot.nodes.items():
        assert result.scores["ImageLocality"][name] == image_locality_score(pod, info, states)


# --- BalancedAllocation: the planned score is the plain one ----------------------------------

amounts = st.integers(0, 5000)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(VERSIONS),
    st.booleans(),
    st.dictionaries(st.sampled_from(["cpu", "memory", "example.com/gpu"]), amounts),
    st.dictionaries(st.sampled_from(["cpu", "memory", "example.com/gpu"]), amounts),
    st.dictionaries(st.sampled_from(["cpu", "memory", "example.com/gpu"]), amounts, min_size=1),
)
def test_balanced_allocation_planned_score_is_the_plain_score(
    version: object,
    with_gpu: bool,
    allocatable: dict[str, int],
    requested: dict[str, int],
    pod_requests: dict[str, int],
) -> None:
    args = {"resources": [{"name": r, "weight": 1} for r in ("cpu", "memory", "example.com/gpu")]}
    plugin = BalancedAllocation(args if with_gpu else None, version=version)  # type: ignore[arg-type]
    node = NodeInfo(node=Node(name="n"), requested=requested, allocatable=allocatable)
    info = PodInfo(
        pod=Pod(name="p", containers=(Container(name="c"),)),
        requests=pod_requests,
        nonzero_requests=pod_requests,
        ports=[],
    )
    state = CycleState()
    if plugin.pre_score(state, info, snapshot_of_infos([node]), [node]) is not None:
        return  # skipped: the pod requests none of the resources
    assert plugin.score(state, info, node) == plugin.score(CycleState(), info, node)


# --- the whole cycle -----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(shared_taint_nodes(), tolerations_st)
def test_a_cycle_over_shared_taints_gives_each_node_its_own_status(
    infos: list[NodeInfo], tolerations: list[Toleration]
) -> None:
    profile = build_profile(
        plugins=PluginSet(filters=("TaintToleration",), scores=(("TaintToleration", 1),))
    )
    pod = tolerating(tolerations).pod
    result = run_cycle(profile, Snapshot.of(Cluster([i.node for i in infos]).finish()), pod)
    for info in infos:
        alone = run_cycle(profile, Snapshot.of(Cluster([info.node]).finish()), pod)
        assert result.statuses[info.name] == alone.statuses[info.name]
