"""What the API server of a given Kubernetes release keeps of a pod.

A release drops on create the pod fields whose feature gate is off by default there
(``pkg/api/pod/util.go``, ``dropDisabledFields``). Everything podfit decides for a
release (the reference, the solver, what adapters hand a scheduler) starts from pods as
that release stores them.
"""

from __future__ import annotations

from dataclasses import replace

from podfit.cluster import Cluster
from podfit.model import Pod
from podfit.versions import KubeVersion

#: The first releases whose API server keeps these pod fields (their feature gates on by
#: default; spec/versions.yaml: pod-level-resources, dynamic-resources-in-default-profile).
#: Before, ``dropDisabledFields`` drops them when a pod is created.
POD_LEVEL_RESOURCES_FROM = KubeVersion(1, 34)
RESOURCE_CLAIMS_FROM = KubeVersion(1, 34)


def dropped_fields(pod: Pod, version: KubeVersion) -> tuple[str, ...]:
    """The fields of ``pod`` the API server of ``version`` would drop on create."""
    out = []
    if pod.resources is not None and version < POD_LEVEL_RESOURCES_FROM:
        out.append("spec.resources")
    if pod.resource_claims and version < RESOURCE_CLAIMS_FROM:
        out.append("spec.resourceClaims")
    return tuple(out)


def pod_as_stored(pod: Pod, version: KubeVersion) -> Pod:
    """``pod`` as the API server of ``version`` stores it: fields whose feature gate is
    off in that release are dropped (pod-level resources and resource claims before 1.34)."""
    if version >= POD_LEVEL_RESOURCES_FROM and version >= RESOURCE_CLAIMS_FROM:
        return pod
    dropped = dropped_fields(pod, version)
    if not dropped:
        return pod
    return replace(
        pod,
        resources=None if "spec.resources" in dropped else pod.resources,
        resource_claims=() if "spec.resourceClaims" in dropped else pod.resource_claims,
    )


def cluster_as_stored(cluster: Cluster, version: KubeVersion) -> Cluster:
    """The cluster with every pod as the API server of ``version`` stores it (the same
    object when nothing changes)."""
    if version >= POD_LEVEL_RESOURCES_FROM and version >= RESOURCE_CLAIMS_FROM:
        return cluster
    changed = [p for p in cluster.pods.values() if dropped_fields(p, version)]
    if not changed:
        return cluster
    out = cluster.copy()
    for pod in changed:
        out.replace_pod(pod_as_stored(pod, version))
    return out
