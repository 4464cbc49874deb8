"""The public Python API (re-exported by ``podfit``).

This module and the CLI are the only places in the core that reach into the
reference, the solver and conformance; they import lazily so that ``import podfit``
stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import yaml

from podfit.cluster import Cluster
from podfit.errors import ManifestError
from podfit.loading import LoadReport, load, load_pod, load_pods
from podfit.manifest import to_manifest
from podfit.model import Pod
from podfit.quantity import Quantity, parse_quantity

if TYPE_CHECKING:
    from podfit.reference.admission import AdmissionResult
    from podfit.reference.framework import Profile, ScheduleResult
    from podfit.reference.simulate import SimulationResult
    from podfit.reference.whatif import Change, WhatIfResult

__all__ = [
    "Cluster",
    "LoadReport",
    "Pod",
    "Quantity",
    "admit",
    "explain",
    "load",
    "load_config",
    "load_pod",
    "load_pods",
    "parse_quantity",
    "qos_class",
    "simulate",
    "to_manifest",
    "whatif",
]


def load_config(source: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Profile]:
    """Scheduler profiles (by schedulerName) from a KubeSchedulerConfiguration file or mapping."""
    from podfit.reference.profile import ConfigError, profiles_from_config

    if isinstance(source, Mapping):
        return profiles_from_config(source)
    name = str(source)
    try:
        with open(source, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise ManifestError(f"cannot read: {exc.strerror or exc}", source=name) from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"invalid YAML: {exc}", source=name) from None
    try:
        return profiles_from_config(data)
    except ManifestError as exc:
        raise exc.located(source=name) from None
    except ConfigError as exc:
        raise ManifestError(str(exc), source=name) from None


def explain(
    cluster: Cluster, pod: Pod, *, config: Mapping[str, Profile] | None = None
) -> ScheduleResult:
    """Why ``pod`` does or doesn't fit, node by node: statuses, scores, selected node, message."""
    from podfit.reference.scheduler import schedule_one

    return schedule_one(cluster, pod, config)


def simulate(
    cluster: Cluster, pods: list[Pod], *, config: Mapping[str, Profile] | None = None
) -> SimulationResult:
    """Schedule pending pods one at a time in queue order, each binding visible to the next."""
    from podfit.reference.simulate import simulate as run

    return run(cluster, pods, config)


def qos_class(pod: Pod) -> str:
    """The pod's QoS class: "Guaranteed", "Burstable" or "BestEffort"."""
    from podfit.reference.qos import qos_class as compute

    return compute(pod)


def admit(cluster: Cluster, pod: Pod) -> AdmissionResult:
    """Create ``pod`` through admission: LimitRange defaults, priority, LimitRange and
    ResourceQuota checks. Says whether it is admitted and why not, with the mutated pod."""
    from podfit.reference.admission import admit as run

    return run(cluster, pod)


def whatif(
    cluster: Cluster,
    change: Change,
    *,
    pending: list[Pod] | None = None,
    config: Mapping[str, Profile] | None = None,
) -> WhatIfResult:
    """Which running pods a cluster change evicts and when, where they go, and which
    pending pods start or stop fitting."""
    from podfit.reference.whatif import whatif as run

    return run(cluster, change, pending=pending or (), profiles=config)
