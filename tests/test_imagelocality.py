"""ImageLocality (podfit.reference.imagelocality), transcribing upstream's
image_locality_test.go cases, plus properties of the score."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podfit.cluster import Cluster
from podfit.model import Container, ContainerImage, Node, Pod
from podfit.reference.framework import CycleState, run_cycle
from podfit.reference.imagelocality import (
    MAX_CONTAINER_THRESHOLD,
    MB,
    MIN_THRESHOLD,
    ImageLocality,
    calculate_priority,
    image_states,
    normalized_image_name,
    pod_images,
    scaled_image_score,
)
from podfit.reference.nodeinfo import PodInfo, Snapshot
from podfit.reference.profile import PluginSet, build_profile


def image_node(name: str, *images: tuple[tuple[str, ...], int]) -> Node:
    """A node listing images as (names, size in MiB)."""
    return Node(
        name=name,
        images=tuple(ContainerImage(names=names, size_bytes=mib * MB) for names, mib in images),
    )


def image_pod(*images: str, init: tuple[str, ...] = (), sidecars: tuple[str, ...] = ()) -> Pod:
    return Pod(
        name="p",
        init_containers=tuple(Container(name=f"i{k}", image=i) for k, i in enumerate(init))
        + tuple(
            Container(name=f"s{k}", image=i, restart_policy="Always")
            for k, i in enumerate(sidecars)
        ),
        containers=tuple(Container(name=f"c{k}", image=i) for k, i in enumerate(images)),
    )


def scores(pod: Pod, nodes: list[Node]) -> dict[str, int]:
    """Scores of every node (at least two: a single feasible node is not scored)."""
    assert len(nodes) >= 2
    profile = build_profile(plugins=PluginSet(filters=(), scores=(("ImageLocality", 1),)))
    result = run_cycle(profile, Snapshot.of(Cluster(nodes).finish()), pod)
    return result.scores["ImageLocality"]


# Upstream's node fixtures (sizes in MiB).
N403002000 = (
    (("gcr.io/40:latest", "gcr.io/40:v1", "gcr.io/40:v1"), 40),
    (("gcr.io/300:latest", "gcr.io/300:v1"), 300),
    (("gcr.io/2000:latest",), 2000),
)
N25010 = ((("gcr.io/250:latest",), 250), (("gcr.io/10:latest", "gcr.io/10:v1"), 10))
N60040900 = (
    (("gcr.io/600:latest",), 600),
    (("gcr.io/40:latest",), 40),
    (("gcr.io/900:latest",), 900),
)
N300600900 = (
    (("gcr.io/300:latest",), 300),
    (("gcr.io/600:latest",), 600),
    (("gcr.io/900:latest",), 900),
)
N400030 = ((("gcr.io/4000:latest",), 4000), (("gcr.io/30:latest",), 30))
N203040 = (
    (("gcr.io/20:latest",), 20),
    (("gcr.io/30:latest",), 30),
    (("gcr.io/40:latest",), 40),
)

SCORE_ROWS: list[tuple[str, Pod, list[Node], dict[str, int]]] = [
    (
        "two images spread on two nodes, larger wins",
        image_pod("gcr.io/40", "gcr.io/250"),
        [image_node("node1", *N403002000), image_node("node2", *N25010)],
        {"node1": 0, "node2": 5},
    ),
    (
        "two images on one node",
        image_pod("gcr.io/40", "gcr.io/300"),
        [image_node("node1", *N403002000), image_node("node2", *N25010)],
        {"node1": 7, "node2": 0},
    ),
    (
        "above the maximum is clamped",
        image_pod("gcr.io/10", "gcr.io/4000"),
        [image_node("node1", *N400030), image_node("node2", *N25010)],
        {"node1": 100, "node2": 0},
    ),
    (
        "a node without images lowers the spread",
        image_pod("gcr.io/10", "gcr.io/4000"),
        [image_node("node1", *N400030), image_node("node2", *N25010), image_node("node3")],
        {"node1": 66, "node2": 0, "node3": 0},
    ),
    (
        "multiple large images",
        image_pod("gcr.io/300", "gcr.io/600", "gcr.io/900"),
        [image_node("node1", *N60040900), image_node("node2", *N300600900), image_node("node3")],
        {"node1": 32, "node2": 36, "node3": 0},
    ),
    (
        "multiple small images",
        image_pod("gcr.io/30", "gcr.io/40"),
        [image_node("node1", *N203040), image_node("node2", *N400030)],
        {"node1": 1, "node2": 0},
    ),
    (
        "init containers count",
        image_pod("gcr.io/30", init=("gcr.io/300",)),
        [image_node("node1", *N403002000), image_node("node2", *N203040)],
        {"node1": 6, "node2": 0},
    ),
]


@pytest.mark.parametrize(
    ("pod", "nodes", "expected"), [r[1:] for r in SCORE_ROWS], ids=[r[0] for r in SCORE_ROWS]
)
def test_score(pod: Pod, nodes: list[Node], expected: dict[str, int]) -> None:
    assert scores(pod, nodes) == expected


NAME_ROWS = [
    ("root", "root:latest"),
    ("gcr.io:5000/root", "gcr.io:5000/root:latest"),
    ("root:tag", "root:tag"),
    ("root@sha256:" + "ab" * 32, "root@sha256:" + "ab" * 32),
    ("docker.io/library/nginx", "docker.io/library/nginx:latest"),
    ("localhost:5000/team/app:1.2", "localhost:5000/team/app:1.2"),
    ("", ":latest"),
]


@pytest.mark.parametrize(("name", "expected"), NAME_ROWS, ids=[r[0] or "empty" for r in NAME_ROWS])
def test_normalized_image_name(name: str, expected: str) -> None:
    assert normalized_image_name(name) == expected


def test_pod_images_are_init_then_sidecars_then_containers_normalised() -> None:
    p = image_pod("app", init=("setup:1",), sidecars=("proxy",))
    assert pod_images(p) == ["setup:1", "proxy:latest", "app:latest"]


PRIORITY_ROWS = [
    ("nothing", 0, 1, 0),
    ("just below minimum", MIN_THRESHOLD - 1, 1, 0),
    ("minimum", MIN_THRESHOLD, 1, 0),
    ("maximum", MAX_CONTAINER_THRESHOLD, 1, 100),
    ("above maximum", 5 * MAX_CONTAINER_THRESHOLD, 1, 100),
    ("half way truncates", (MIN_THRESHOLD + MAX_CONTAINER_THRESHOLD) // 2, 1, 50),
    ("one byte short of max", MAX_CONTAINER_THRESHOLD - 1, 1, 99),
    ("max per container", 2 * MAX_CONTAINER_THRESHOLD, 2, 100),
    ("one container's max of two", MAX_CONTAINER_THRESHOLD, 2, 49),
]


@pytest.mark.parametrize(
    ("total", "containers", "expected"),
    [r[1:] for r in PRIORITY_ROWS],
    ids=[r[0] for r in PRIORITY_ROWS],
)
def test_calculate_priority(total: int, containers: int, expected: int) -> None:
    assert calculate_priority(total, containers) == expected


def test_scaled_image_score_uses_float_and_truncates() -> None:
    assert scaled_image_score(4000 * MB, 1, 3) == 1398101333
    assert scaled_image_score(40 * MB, 1, 2) == 20 * MB
    assert scaled_image_score(7, 2, 3) == 4


def test_image_a_node_lists_twice_counts_the_node_once() -> None:
    nodes = [
        image_node("a", (("app:1", "app:1"), 1000), (("app:1",), 1000)),
        image_node("b", (("app:1",), 1000)),
        image_node("c"),
    ]
    states = image_states(Snapshot.of(Cluster(nodes).finish()))
    assert states.num_nodes["app:1"] == 2
    assert states.total_nodes == 3
    # 1000 MiB * 2/3 -> 100 * (666.67 - 23) / 977 = 65 on both holders.
    assert scores(image_pod("app:1"), nodes) == {"a": 65, "b": 65, "c": 0}


def test_size_of_a_name_is_the_first_reported() -> None:
    nodes = [image_node("a", (("app:1",), 500)), image_node("b", (("app:1",), 900))]
    # Both use 500 MiB (the first node's report): 500 * 2/2 -> 100 * 477 / 977 = 48.
    assert scores(image_pod("app:1"), nodes) == {"a": 48, "b": 48}


def test_unused_images_do_not_matter() -> None:
    nodes = [
        image_node("a", (("app:1",), 600), (("other:1",), 4000)),
        image_node("b", (("app:1",), 600)),
    ]
    assert scores(image_pod("app:1"), nodes) == {"a": 59, "b": 59}


def test_spread_counts_nodes_the_filters_rejected() -> None:
    nodes = [
        Node(name="a", unschedulable=True, images=(ContainerImage(("app:1",), 900 * MB),)),
        image_node("b", (("app:1",), 900)),
        image_node("c"),
    ]
    profile = build_profile(
        plugins=PluginSet(filters=("NodeUnschedulable",), scores=(("ImageLocality", 1),))
    )
    result = run_cycle(profile, Snapshot.of(Cluster(nodes).finish()), image_pod("app:1"))
    assert result.feasible == ["b", "c"]
    # 900 * 2/3 = 600 MiB -> 59 (over the feasible nodes alone it would be 450 MiB -> 43).
    assert result.scores["ImageLocality"] == {"b": 59, "c": 0}


def test_score_without_prescore_is_refused() -> None:
    node = Snapshot.of(Cluster([image_node("a")]).finish()).nodes["a"]
    with pytest.raises(RuntimeError):
        ImageLocality().score(CycleState(), PodInfo.of(image_pod("app")), node)


# --- properties ----------------------------------------------------------------------------

IMAGE_NAMES = st.sampled_from(["a:1", "b:1", "c:1", "d:1"])
SIZES = st.integers(min_value=0, max_value=3000).map(lambda mib: mib * MB)
NODE_IMAGES = st.dictionaries(IMAGE_NAMES, SIZES, max_size=4)


def cluster_nodes(images_per_node: list[dict[str, int]]) -> list[Node]:
    return [
        Node(
            name=f"n{i}",
            images=tuple(ContainerImage((name,), size) for name, size in images.items()),
        )
        for i, images in enumerate(images_per_node)
    ]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(NODE_IMAGES, min_size=2, max_size=5),
    st.lists(IMAGE_NAMES, min_size=1, max_size=4),
    st.lists(IMAGE_NAMES, max_size=2),
)
def test_score_is_within_0_and_100(
    images_per_node: list[dict[str, int]], containers: list[str], inits: list[str]
) -> None:
    result = scores(image_pod(*containers, init=tuple(inits)), cluster_nodes(images_per_node))
    assert all(0 <= s <= 100 for s in result.values())
    # A node holding none of the pod's images always scores 0.
    wanted = set(containers) | set(inits)
    for i, images in enumerate(images_per_node):
        if not wanted & set(images):
            assert result[f"n{i}"] == 0


@settings(max_examples=150, deadline=None)
@given(
    st.lists(NODE_IMAGES, min_size=2, max_size=4),
    st.lists(IMAGE_NAMES, min_size=1, max_size=3),
    IMAGE_NAMES,
    st.integers(min_value=1, max_value=2000),
)
def test_score_is_monotone_in_image_size(
    images_per_node: list[dict[str, int]], containers: list[str], grown: str, extra_mib: int
) -> None:
    pod = image_pod(*containers)
    before = scores(pod, cluster_nodes(images_per_node))
    bigger = [
        {name: size + extra_mib * MB if name == grown else size for name, size in images.items()}
        for images in images_per_node
    ]
    after = scores(pod, cluster_nodes(bigger))
    assert all(after[n] >= before[n] for n in before)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(NODE_IMAGES, min_size=2, max_size=4),
    st.lists(IMAGE_NAMES, min_size=1, max_size=3),
)
def test_an_extra_node_without_images_never_raises_a_score(
    images_per_node: list[dict[str, int]], containers: list[str]
) -> None:
    pod = image_pod(*containers)
    before = scores(pod, cluster_nodes(images_per_node))
    after = scores(pod, cluster_nodes([*images_per_node, {}]))
    assert all(after[n] <= before[n] for n in before)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(NODE_IMAGES, min_size=2, max_size=4),
    st.lists(IMAGE_NAMES, min_size=1, max_size=3),
    IMAGE_NAMES,
)
def test_an_unused_extra_container_never_raises_a_score(
    images_per_node: list[dict[str, int]], containers: list[str], absent: str
) -> None:
    # Give the extra container an image no node has: the maximum grows, the sum does not.
    before = scores(image_pod(*containers), cluster_nodes(images_per_node))
    after = scores(image_pod(*containers, absent + "-nowhere"), cluster_nodes(images_per_node))
    assert all(after[n] <= before[n] for n in before)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=10_000 * MB),
    st.integers(min_value=0, max_value=10_000 * MB),
    st.integers(min_value=1, max_value=5),
)
def test_calculate_priority_is_monotone_and_bounded(a: int, b: int, containers: int) -> None:
    low, high = sorted((a, b))
    assert 0 <= calculate_priority(low, containers) <= calculate_priority(high, containers) <= 100
