"""Copies of a node shape, as ``nodes_to_add`` adds them: named ``<shape>-new-1``, ``-2``,
... (names the cluster does not have yet), each with its own ``kubernetes.io/hostname``."""

from __future__ import annotations

from dataclasses import replace

from podfit.cluster import Cluster
from podfit.model import Node, frozen_map

HOSTNAME_LABEL = "kubernetes.io/hostname"


def _fresh_names(cluster: Cluster, base: str, count: int) -> list[str]:
    names: list[str] = []
    index = 1
    while len(names) < count:
        name = f"{base or 'node'}-new-{index}"
        if name not in cluster.nodes:
            names.append(name)
        index += 1
    return names


def shape_copy(shape: Node, name: str) -> Node:
    """A node like ``shape`` named ``name``; a kubernetes.io/hostname label follows the name,
    as the kubelet sets it, so copies are separate hostname domains."""
    labels = shape.labels
    if HOSTNAME_LABEL in labels:
        labels = frozen_map({**labels, HOSTNAME_LABEL: name})
    return replace(shape, name=name, labels=labels)


def added_nodes(cluster: Cluster, shape: Node, count: int) -> list[Node]:
    """The ``count`` copies of ``shape`` that :func:`nodes_to_add` adds, in its naming."""
    return [shape_copy(shape, name) for name in _fresh_names(cluster, shape.name, count)]


__all__ = ["HOSTNAME_LABEL", "added_nodes", "shape_copy"]
