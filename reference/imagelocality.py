"""ImageLocality: prefer nodes that already hold the pod's container images.

Upstream: ``pkg/scheduler/framework/plugins/imagelocality/image_locality.go`` and the node
image bookkeeping of the scheduler cache (``pkg/scheduler/backend/cache/cache.go``,
``addNodeImageStates``).

For every image of the pod (init containers, then containers; a name without a tag gets
``:latest``, nothing else is rewritten, so ``nginx`` matches only a node image named
``nginx:latest``, never ``docker.io/library/nginx:latest``) that the node lists among
``status.images[].names``, the node earns the image size times its spread, the share of all
nodes in the cluster that list the name (``int64(float64(size) * numNodes / totalNodes)``).
The sum is clamped to [23 MiB, 1000 MiB × number of init and regular containers] and mapped
linearly onto 0..100 with integer division. There is no normalisation step. The size of a
name is the one the first node reporting it gave (upstream: the first node the scheduler's
cache learned of; here: the first in cluster order).

From v1.36 the images of the pod's image volumes (``spec.volumes[].image.reference``)
join the sum, normalised the same way; they do not raise the maximum, which still counts
init and regular containers only. v1.35 allows image volumes but does not score them, and
earlier releases' API servers drop them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from podfit.model import Node, Pod
from podfit.spec.versions import change_holds
from podfit.versions import LATEST, KubeVersion

from .columns import SAFE_LIMIT, Columns, Ints
from .framework import MAX_NODE_SCORE, CycleState, Plugin
from .nodeinfo import NodeInfo, PodInfo, Snapshot
from .status import Status

NAME = "ImageLocality"
#: The spec's version change that makes image volumes count.
IMAGE_VOLUMES = "image-locality-scores-image-volumes"

MB = 1024 * 1024
# Bounds of the summed, spread-scaled image sizes: below the minimum scores 0, at or above
# the maximum (per container) scores 100.
MIN_THRESHOLD = 23 * MB
MAX_CONTAINER_THRESHOLD = 1000 * MB
DEFAULT_IMAGE_TAG = "latest"


def normalized_image_name(name: str) -> str:
    """Append ``:latest`` when the last path segment carries no tag (or digest)."""
    if name.rfind(":") <= name.rfind("/"):
        return f"{name}:{DEFAULT_IMAGE_TAG}"
    return name


def pod_images(pod: Pod, *, volumes: bool = False) -> list[str]:
    """The pod's image names as the plugin looks them up: init containers first, then the
    containers, then (``volumes``) the image volumes."""
    names = [normalized_image_name(c.image) for c in (*pod.init_containers, *pod.containers)]
    if volumes:
        names += [normalized_image_name(v.image) for v in pod.volumes if v.image]
    return names


def container_count(pod: Pod) -> int:
    """What the maximum threshold counts: init and regular containers."""
    return len(pod.init_containers) + len(pod.containers)


def scaled_image_score(size: int, num_nodes: int, total_nodes: int) -> int:
    """Image size scaled by its spread, in float64 and truncated as upstream."""
    spread = float(num_nodes) / float(total_nodes)
    return int(float(size) * spread)


def _go_div(a: int, b: int) -> int:
    """int64 division truncating toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def calculate_priority(sum_scores: int, num_containers: int) -> int:
    """Clamp the sum into [min, max] and scale it linearly to 0..100 (integer division)."""
    max_threshold = MAX_CONTAINER_THRESHOLD * num_containers
    # Same order of checks as upstream: the minimum wins when the bounds cross.
    if sum_scores < MIN_THRESHOLD:
        sum_scores = MIN_THRESHOLD
    elif sum_scores > max_threshold:
        sum_scores = max_threshold
    return _go_div(MAX_NODE_SCORE * (sum_scores - MIN_THRESHOLD), max_threshold - MIN_THRESHOLD)


@dataclass(frozen=True, slots=True)
class ImageStates:
    """Cluster-wide image facts: size per name and how many nodes list the name."""

    sizes: dict[str, int]
    num_nodes: dict[str, int]
    total_nodes: int


def image_states(snapshot: Snapshot) -> ImageStates:
    sizes: dict[str, int] = {}
    for info in snapshot.nodes.values():
        for image in info.node.images:
            for name in image.names:
                sizes.setdefault(name, image.size_bytes)
    return ImageStates(sizes=sizes, num_nodes=snapshot.image_nodes, total_nodes=len(snapshot.nodes))


def node_image_names(node: NodeInfo) -> set[str]:
    return {name for image in node.node.images for name in image.names}


def sum_image_scores(images: list[str], node_names: set[str], states: ImageStates) -> int:
    total = 0
    for name in images:
        if name in node_names:
            total += scaled_image_score(
                states.sizes[name], states.num_nodes[name], states.total_nodes
            )
    return total


def image_locality_score(
    pod: Pod, node: NodeInfo, states: ImageStates, *, volumes: bool = False
) -> int:
    images = pod_images(pod, volumes=volumes)
    total = sum_image_scores(images, node_image_names(node), states)
    return calculate_priority(total, container_count(pod))


_STATE_KEY = NAME + "/images"
_POD_IMAGES_KEY = NAME + "/pod-images"
_CACHE_KEY = NAME + "/states"
_NODE_NAMES_KEY = NAME + "/node-image-names"


@dataclass(frozen=True, slots=True)
class _PodImages:
    """What PreScore prepares for Score."""

    images: list[str]
    count: int  # the containers the maximum threshold counts
    # node name -> (the node, the image names it lists)
    node_names: dict[str, tuple[Node, set[str]]]
    present: list[tuple[str, int]]
    same: int | None  # the score of every node, when no node has any of the images
    # summed image scores -> the node score (nodes with the same images share it)
    priorities: dict[int, int]


class ImageLocality(Plugin):
    name = NAME
    filters = False
    scores = True

    def __init__(
        self, args: Mapping[str, Any] | None = None, *, version: KubeVersion = LATEST
    ) -> None:
        super().__init__(args, version=version)
        self.volumes = change_holds(IMAGE_VOLUMES, version)

    def pre_score(
        self, state: CycleState, pod: PodInfo, snapshot: Snapshot, nodes: list[NodeInfo]
    ) -> Status | None:
        # Image facts depend on the nodes only: they survive pods being bound or evicted.
        states = snapshot.node_cache.get(_CACHE_KEY)
        if not isinstance(states, ImageStates):
            states = image_states(snapshot)
            snapshot.node_cache[_CACHE_KEY] = states
        names = snapshot.node_cache.get(_NODE_NAMES_KEY)
        if names is None:
            names = {
                name: (info.node, node_image_names(info)) for name, info in snapshot.nodes.items()
            }
            snapshot.node_cache[_NODE_NAMES_KEY] = names
        state[_STATE_KEY] = states
        images = pod_images(pod.pod, volumes=self.volumes)
        count = container_count(pod.pod)
        # Each image's spread-scaled size, for the images some node has (a node earns it
        # when it has the image); none at all: every node scores the same.
        total_nodes = states.total_nodes
        present = [
            (name, scaled_image_score(states.sizes[name], states.num_nodes[name], total_nodes))
            for name in images
            if name in states.sizes
        ]
        same = None if present else calculate_priority(0, count)
        state[_POD_IMAGES_KEY] = _PodImages(images, count, names, present, same, {})
        return None

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        states = state.get(_STATE_KEY)
        if not isinstance(states, ImageStates):
            raise RuntimeError(f"{NAME}: Score ran without PreScore")
        prepared: _PodImages = state[_POD_IMAGES_KEY]
        images = prepared.images
        cached = prepared.node_names.get(node.node.name)
        if cached is None or cached[0] is not node.node:
            # Not a node of the snapshot PreScore saw: compute from scratch.
            return calculate_priority(
                sum_image_scores(images, node_image_names(node), states), prepared.count
            )
        if prepared.same is not None:
            return prepared.same
        node_names = cached[1]
        total = 0
        for name, scaled in prepared.present:
            if name in node_names:
                total += scaled
        score = prepared.priorities.get(total)
        if score is None:
            score = prepared.priorities[total] = calculate_priority(total, prepared.count)
        return score

    def score_all(
        self, state: CycleState, pod: PodInfo, columns: Columns, rows: Ints
    ) -> Ints | None:
        # score's sum over the pod's images, each image a yes/no column over the nodes.
        prepared: _PodImages | None = state.get(_POD_IMAGES_KEY)
        if prepared is None:
            return None
        if prepared.same is not None:
            return np.full(len(rows), prepared.same, dtype=np.int64)
        if sum(scaled for _, scaled in prepared.present) >= SAFE_LIMIT:
            return None
        total = np.zeros(len(rows), dtype=np.int64)
        for name, scaled in prepared.present:
            has = columns.flag((NAME, name), functools.partial(_has_image, name=name))
            total += np.where(has[rows], scaled, 0)
        sums, at = np.unique(total, return_inverse=True)
        scores = [calculate_priority(int(t), prepared.count) for t in sums.tolist()]
        return np.array(scores, dtype=np.int64)[at.reshape(-1)]


def _has_image(node: NodeInfo, name: str) -> bool:
    return any(name in image.names for image in node.node.images)
