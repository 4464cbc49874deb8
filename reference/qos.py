"""Pod QoS class (Guaranteed, Burstable, BestEffort) as the API server computes it.

Upstream: ``pkg/apis/core/v1/helper/qos/qos.go`` (ComputePodQOS), with the gates of a
current release: PodLevelResources and PodLevelResourcesFixKubeletQOSClass both on.

Only cpu and memory count; a zero quantity is the same as an absent one. Each container
(init containers and sidecars included, ephemeral containers never) gets a class of its
own: BestEffort when it sets neither cpu nor memory, Guaranteed when its request equals its
limit for both and neither is zero, Burstable otherwise. The pod is Burstable as soon as
one container is, or when its containers disagree; otherwise it takes their common class.
When the pod sets pod-level resources (``spec.resources`` naming cpu, memory or a
hugepages size) the same test runs on those alone and the containers are not looked at.

The class is computed on the stored pod, after API defaulting copied limits into missing
requests and after LimitRanger filled in its defaults: a container that sets only limits
therefore has equal requests and can be Guaranteed.
"""

from __future__ import annotations

from fractions import Fraction

from podfit.model import Pod, ResourceRequirements
from podfit.reference.resources import is_pod_level_resource

GUARANTEED = "Guaranteed"
BURSTABLE = "Burstable"
BEST_EFFORT = "BestEffort"
QOS_CLASSES = (GUARANTEED, BURSTABLE, BEST_EFFORT)

# The only resources QoS looks at (supportedQoSComputeResources).
QOS_RESOURCES = ("cpu", "memory")


def requirements_qos(resources: ResourceRequirements) -> str:
    """The class of one set of requests and limits (a container's, or the pod level)."""
    if not resources.requests and not resources.limits:
        return BEST_EFFORT
    shapes: set[str] = set()
    for name in QOS_RESOURCES:
        request = resources.requests.get(name)
        limit = resources.limits.get(name)
        request_value = request.value if request is not None else Fraction(0)
        limit_value = limit.value if limit is not None else Fraction(0)
        if request_value != limit_value:
            return BURSTABLE
        shapes.add(BEST_EFFORT if request_value == 0 else GUARANTEED)
    # cpu guaranteed but memory unset (or the reverse) is Burstable.
    return shapes.pop() if len(shapes) == 1 else BURSTABLE


def uses_pod_level_resources(pod: Pod) -> bool:
    """Whether spec.resources names a resource pod-level resources support.

    An empty ``spec.resources: {}`` does not count: with PodLevelResourcesFixKubeletQOSClass
    the containers decide in that case.
    """
    if pod.resources is None:
        return False
    names = [*pod.resources.requests, *pod.resources.limits]
    return any(is_pod_level_resource(name) for name in names)


def qos_class(pod: Pod) -> str:
    """The QoS class of a (defaulted) pod."""
    if uses_pod_level_resources(pod) and pod.resources is not None:
        return requirements_qos(pod.resources)
    pod_class: str | None = None
    for container in pod.all_containers():
        container_class = requirements_qos(container.resources)
        if container_class == BURSTABLE:
            return BURSTABLE
        if pod_class is None:
            pod_class = container_class
        elif pod_class != container_class:
            # One BestEffort and one Guaranteed container.
            return BURSTABLE
    return pod_class or BEST_EFFORT
