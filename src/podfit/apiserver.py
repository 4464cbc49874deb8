"""What the API server of a given Kubernetes release keeps of a pod.

A release drops the pod fields whose feature gate is off by default there
(``pkg/api/pod/util.go``, ``dropDisabledFields`` and ``dropDisabledPodStatusFields``);
fields a release does not know at all are pruned the same way. Everything podfit decides
for a release (the reference, the solver, what adapters hand a scheduler) starts from
pods as that release stores them. spec/versions.yaml names each change.
"""

from __future__ import annotations

from dataclasses import replace

from podfit.cluster import Cluster
from podfit.model import Container, Pod
from podfit.versions import KubeVersion

#: The first release whose API server keeps each pod field (its gate on by default).
POD_LEVEL_RESOURCES_FROM = KubeVersion(1, 34)  # PodLevelResources
RESOURCE_CLAIMS_FROM = KubeVersion(1, 34)  # DynamicResourceAllocation
IMAGE_VOLUMES_FROM = KubeVersion(1, 35)  # ImageVolume
RESTART_POLICY_RULES_FROM = KubeVersion(1, 35)  # ContainerRestartRules
POD_LEVEL_RESIZE_STATUS_FROM = KubeVersion(1, 36)  # InPlacePodLevelResourcesVerticalScaling
#: From this release on, every field podfit reads is kept.
KEEPS_EVERYTHING_FROM = max(
    POD_LEVEL_RESOURCES_FROM,
    RESOURCE_CLAIMS_FROM,
    IMAGE_VOLUMES_FROM,
    RESTART_POLICY_RULES_FROM,
    POD_LEVEL_RESIZE_STATUS_FROM,
)


def dropped_fields(pod: Pod, version: KubeVersion) -> tuple[str, ...]:
    """The fields of ``pod`` the API server of ``version`` would drop."""
    if version >= KEEPS_EVERYTHING_FROM:
        return ()
    out = []
    if pod.resources is not None and version < POD_LEVEL_RESOURCES_FROM:
        out.append("spec.resources")
    if pod.resource_claims and version < RESOURCE_CLAIMS_FROM:
        out.append("spec.resourceClaims")
    if version < IMAGE_VOLUMES_FROM and any(v.kind == "image" for v in pod.volumes):
        out.append("spec.volumes[].image")
    if version < RESTART_POLICY_RULES_FROM and any(
        c.restart_policy_rules for c in pod.all_containers()
    ):
        out.append("spec.containers[].restartPolicyRules")
    if version < POD_LEVEL_RESIZE_STATUS_FROM and (
        pod.status_requests is not None or pod.allocated is not None
    ):
        out.append("status.resources")
    return tuple(out)


def _without_rules(c: Container) -> Container:
    return replace(c, restart_policy_rules=()) if c.restart_policy_rules else c


def pod_as_stored(pod: Pod, version: KubeVersion) -> Pod:
    """``pod`` as the API server of ``version`` stores it: fields whose feature gate is off
    (or that do not exist yet) in that release are dropped."""
    dropped = dropped_fields(pod, version)
    if not dropped:
        return pod
    out = pod
    if "spec.resources" in dropped:
        out = replace(out, resources=None)
    if "spec.resourceClaims" in dropped:
        out = replace(out, resource_claims=())
    if "spec.volumes[].image" in dropped:
        # dropImageVolumes: the image volumes go; the other volumes stay.
        out = replace(out, volumes=tuple(v for v in out.volumes if v.kind != "image"))
    if "spec.containers[].restartPolicyRules" in dropped:
        out = replace(
            out,
            containers=tuple(_without_rules(c) for c in out.containers),
            init_containers=tuple(_without_rules(c) for c in out.init_containers),
        )
    if "status.resources" in dropped:
        out = replace(out, status_requests=None, allocated=None)
    return out


def cluster_as_stored(cluster: Cluster, version: KubeVersion) -> Cluster:
    """The cluster with every pod as the API server of ``version`` stores it (the same
    object when nothing changes)."""
    if version >= KEEPS_EVERYTHING_FROM:
        return cluster
    changed = [p for p in cluster.pods.values() if dropped_fields(p, version)]
    if not changed:
        return cluster
    out = cluster.copy()
    for pod in changed:
        out.replace_pod(pod_as_stored(pod, version))
    return out
