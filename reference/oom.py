"""The oom_score_adj the kubelet gives each container, from the pod's QoS class.

Upstream: ``pkg/kubelet/qos/policy.go`` (GetContainerOOMScoreAdjust), ``helpers.go``
(minRegularContainerMemory, remainingPodMemReqPerContainer) and
``pkg/kubelet/types/pod_update.go`` (critical pods). Feature gates as in a current release:
PodLevelResources on; KubeletOOMScoreAdjTieBreak and DRANodeAllocatableResources off.

- A node-critical pod (critical, and priorityClassName ``system-node-critical``) gets -997
  whatever its class; ``system-cluster-critical`` gets no such treatment.
- Guaranteed: -997. BestEffort: 1000.
- Burstable: ``1000 - 1000 * request / capacity`` in integer arithmetic (request = the
  container's memory request in whole bytes, rounded up), clamped to 3..999 so that it
  stays strictly between the other two classes. With pod-level memory requests, the part
  of the pod's request that no container claims is shared equally by all containers,
  init containers included, and added to each one's request first.
- A sidecar (init container with restartPolicy Always) is never more killable than the
  regular container with the smallest memory request.
"""

from __future__ import annotations

from fractions import Fraction

from podfit.model import Container, Pod
from podfit.reference.qos import BEST_EFFORT, GUARANTEED, qos_class
from podfit.reference.resources import (
    MEMORY,
    aggregate_containers,
    container_requests,
    pod_level_requests_set,
)

GUARANTEED_OOM_SCORE_ADJ = -997
BEST_EFFORT_OOM_SCORE_ADJ = 1000
# What the kubelet and kube-proxy give themselves (for reference; not a container's).
KUBELET_OOM_SCORE_ADJ = -999
KUBE_PROXY_OOM_SCORE_ADJ = -999
# Burstable containers stay strictly between Guaranteed and BestEffort.
BURSTABLE_MIN_OOM_SCORE_ADJ = 1000 + GUARANTEED_OOM_SCORE_ADJ
BURSTABLE_MAX_OOM_SCORE_ADJ = BEST_EFFORT_OOM_SCORE_ADJ - 1

SYSTEM_CRITICAL_PRIORITY = 2_000_000_000
SYSTEM_NODE_CRITICAL = "system-node-critical"
CONFIG_SOURCE_ANNOTATION = "kubernetes.io/config.source"
CONFIG_MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
API_SERVER_SOURCE = "api"


def go_div(numerator: int, denominator: int) -> int:
    """Integer division truncating toward zero, as Go's int64 ``/``."""
    quotient = abs(numerator) // abs(denominator)
    return quotient if (numerator >= 0) == (denominator > 0) else -quotient


def is_static_pod(pod: Pod) -> bool:
    source = pod.annotations.get(CONFIG_SOURCE_ANNOTATION)
    return source is not None and source != API_SERVER_SOURCE


def is_mirror_pod(pod: Pod) -> bool:
    return CONFIG_MIRROR_ANNOTATION in pod.annotations


def is_critical_pod(pod: Pod) -> bool:
    """Static pods, mirror pods and pods with priority of at least 2000000000."""
    if is_static_pod(pod) or is_mirror_pod(pod):
        return True
    return pod.priority is not None and pod.priority >= SYSTEM_CRITICAL_PRIORITY


def is_node_critical_pod(pod: Pod) -> bool:
    return is_critical_pod(pod) and pod.priority_class_name == SYSTEM_NODE_CRITICAL


def memory_request_bytes(container: Container) -> int:
    """The container's memory request as Quantity.Value() gives it (rounded up)."""
    request = container.resources.requests.get(MEMORY)
    return request.value_rounded_up() if request is not None else 0


def _ceil(value: Fraction) -> int:
    return -((-value.numerator) // value.denominator)


def unclaimed_memory_share(pod: Pod) -> int:
    """The pod-level memory request no container claims, per container (init ones too)."""
    if pod.resources is None:
        return 0
    pod_request = pod.resources.requests.get(MEMORY)
    if pod_request is None or pod_request.value == 0:
        return 0
    containers = len(pod.containers) + len(pod.init_containers)
    claimed = aggregate_containers(pod, container_requests).get(MEMORY, Fraction(0))
    return go_div(pod_request.value_rounded_up() - _ceil(claimed), containers)


def _linear(request: int, memory_capacity: int) -> int:
    return 1000 - go_div(1000 * request, memory_capacity)


def is_sidecar(pod: Pod, container: Container) -> bool:
    return container.is_sidecar and any(c.name == container.name for c in pod.init_containers)


def oom_score_adj(pod: Pod, container: Container, memory_capacity: int) -> int:
    """The container's oom_score_adj on a node with ``memory_capacity`` bytes of memory."""
    if memory_capacity <= 0:
        raise ValueError(f"memory capacity must be positive, got {memory_capacity}")
    if is_node_critical_pod(pod):
        return GUARANTEED_OOM_SCORE_ADJ
    pod_class = qos_class(pod)
    if pod_class == GUARANTEED:
        return GUARANTEED_OOM_SCORE_ADJ
    if pod_class == BEST_EFFORT:
        return BEST_EFFORT_OOM_SCORE_ADJ
    share = unclaimed_memory_share(pod) if pod_level_requests_set(pod) else 0
    adj = _linear(memory_request_bytes(container) + share, memory_capacity)
    if is_sidecar(pod, container) and pod.containers:
        smallest = min(memory_request_bytes(c) for c in pod.containers)
        adj = min(adj, _linear(smallest + share, memory_capacity))
    if adj < BURSTABLE_MIN_OOM_SCORE_ADJ:
        return BURSTABLE_MIN_OOM_SCORE_ADJ
    # Only exactly 1000 can occur above the range (requests are never negative).
    if adj == BEST_EFFORT_OOM_SCORE_ADJ:
        return BURSTABLE_MAX_OOM_SCORE_ADJ
    return adj


def pod_oom_scores(pod: Pod, memory_capacity: int) -> dict[str, int]:
    """oom_score_adj of every container (init containers first), by container name."""
    return {c.name: oom_score_adj(pod, c, memory_capacity) for c in pod.all_containers()}
