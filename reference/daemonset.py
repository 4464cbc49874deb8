"""DaemonSet placement: which nodes get a daemon pod, and the pod the controller creates.

Upstream: ``pkg/controller/daemon/daemon_controller.go`` (NodeShouldRunDaemonPod),
``pkg/controller/daemon/util/daemonset_util.go`` (AddOrUpdateDaemonPodTolerations,
ReplaceDaemonSetPodNodeNameNodeAffinity).

The controller makes one pod per node from the template, pins it to the node with a
required node affinity term on ``metadata.name`` (replacing the template's required
terms), and adds tolerations of its own so that daemons survive node conditions and
cordoning. It creates the pod where the template's nodeSelector and required node
affinity match the node and every NoSchedule/NoExecute taint is tolerated; the default
scheduler then places it (and may still find it does not fit, e.g. for resources).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from podfit.apiserver import cluster_as_stored, pod_as_stored
from podfit.cluster import Cluster
from podfit.defaults import resolve_priority
from podfit.model import (
    Affinity,
    DaemonSet,
    Node,
    NodeAffinity,
    NodeSelector,
    NodeSelectorTerm,
    OwnerReference,
    Pod,
    Requirement,
    Toleration,
)
from podfit.versions import KubeVersion

from .framework import Profile, ScheduleResult, snapshot_of
from .labels import required_node_affinity_matches
from .profile import not_modelled
from .qos import qos_class
from .status import SUCCESS, Code, Status
from .taints import find_untolerated_taint

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
DISK_PRESSURE = "node.kubernetes.io/disk-pressure"
MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure"
PID_PRESSURE = "node.kubernetes.io/pid-pressure"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"


def daemon_tolerations(host_network: bool) -> tuple[Toleration, ...]:
    """The tolerations the DaemonSet controller adds to every daemon pod."""
    out = [
        Toleration(key=NOT_READY, operator="Exists", effect="NoExecute"),
        Toleration(key=UNREACHABLE, operator="Exists", effect="NoExecute"),
        Toleration(key=DISK_PRESSURE, operator="Exists", effect="NoSchedule"),
        Toleration(key=MEMORY_PRESSURE, operator="Exists", effect="NoSchedule"),
        Toleration(key=PID_PRESSURE, operator="Exists", effect="NoSchedule"),
        Toleration(key=UNSCHEDULABLE, operator="Exists", effect="NoSchedule"),
    ]
    if host_network:
        out.append(Toleration(key=NETWORK_UNAVAILABLE, operator="Exists", effect="NoSchedule"))
    return tuple(out)


def _with_tolerations(pod: Pod) -> Pod:
    """AddOrUpdateTolerationInPodSpec for each of the controller's tolerations: one equal in
    key, operator, value and effect is replaced in place (so a user's tolerationSeconds is
    dropped: daemons tolerate forever), otherwise the toleration is appended."""
    tolerations = list(pod.tolerations)
    for added in daemon_tolerations(pod.host_network):
        for i, existing in enumerate(tolerations):
            if (existing.key, existing.operator, existing.value, existing.effect) == (
                added.key,
                added.operator,
                added.value,
                added.effect,
            ):
                tolerations[i] = added
                break
        else:
            tolerations.append(added)
    return replace(pod, tolerations=tuple(tolerations))


def pin_to_node(pod: Pod, node_name: str) -> Pod:
    """ReplaceDaemonSetPodNodeNameNodeAffinity: the required node affinity becomes the single
    term `metadata.name In [node]`; the template's own required terms are dropped (the
    controller already checked them), preferred terms and everything else are kept."""
    term = NodeSelectorTerm(match_fields=(Requirement("metadata.name", "In", (node_name,)),))
    affinity = pod.affinity or Affinity()
    na = affinity.node_affinity or NodeAffinity()
    na = replace(na, required=NodeSelector(terms=(term,)))
    return replace(pod, affinity=replace(affinity, node_affinity=na))


def daemon_pod(ds: DaemonSet, node: Node) -> Pod:
    """The pod the controller would create for ``node``."""
    template = ds.template
    pod = replace(
        template,
        name=f"{ds.name}-{node.name}",
        namespace=ds.namespace,
        owner_references=(
            OwnerReference(kind="DaemonSet", name=ds.name, api_version="apps/v1", controller=True),
        ),
        node_name="",
    )
    return pin_to_node(_with_tolerations(pod), node.name)


@dataclass(frozen=True)
class Placement:
    node: str
    should_run: bool
    reason: str  # why not, when it should not run
    # An existing daemon pod stays (only an untolerated NoSchedule taint keeps a new one out).
    should_continue_running: bool = True


def should_run(ds: DaemonSet, node: Node) -> Placement:
    """NodeShouldRunDaemonPod: the template's nodeName, its nodeSelector and required node
    affinity, and the node's NoSchedule/NoExecute taints. Nothing else (resources, ports,
    cordoning) is the controller's concern; the scheduler checks those for the created pod."""
    pod = _with_tolerations(replace(ds.template, namespace=ds.namespace))
    if pod.node_name and pod.node_name != node.name:
        return Placement(node.name, False, f"the template's nodeName is {pod.node_name}", False)
    if not required_node_affinity_matches(pod, node):
        return Placement(
            node.name, False, "node(s) didn't match the DaemonSet's node affinity/selector", False
        )
    taint = find_untolerated_taint(node.taints, pod.tolerations, ("NoSchedule", "NoExecute"))
    if taint is not None:
        no_execute = find_untolerated_taint(node.taints, pod.tolerations, ("NoExecute",))
        return Placement(node.name, False, f"untolerated taint {taint}", no_execute is None)
    return Placement(node.name, True, "")


def daemon_pods(cluster: Cluster) -> list[Pod]:
    """Every daemon pod the controllers would create and that is not running yet."""
    out: list[Pod] = []
    for ds in cluster.daemon_sets.values():
        if ds.selector.is_empty:
            continue  # the controller refuses a DaemonSet that selects every pod
        for node in cluster.nodes.values():
            if not should_run(ds, node).should_run:
                continue
            pod = daemon_pod(ds, node)
            if pod.key not in cluster.pods and not _already_running(cluster, ds, node):
                out.append(pod)
    return out


def _already_running(cluster: Cluster, ds: DaemonSet, node: Node) -> bool:
    for p in cluster.pods_on(node.name):
        ref = p.controller
        if (
            ref is not None
            and ref.kind == "DaemonSet"
            and ref.name == ds.name
            and not p.is_terminal
        ):
            return True
    return False


#: The status plugin name for nodes where the DaemonSet controller creates no pod.
CONTROLLER = "DaemonSet controller"


def explain_daemon_set(
    cluster: Cluster, ds: DaemonSet, profile: Profile, version: KubeVersion
) -> ScheduleResult:
    """Node by node, the DaemonSet's pod: where the controller creates none (its reason),
    where one runs already, and where the pod it creates (pinned to the node) fits or is
    rejected by the scheduler's filters, with the details. The result has no selected
    node: every node gets its own pod."""
    from .scheduler import unmodelled_warnings  # the scheduler's modules import this one
    from .why import rejections

    template = pod_as_stored(
        resolve_priority(daemon_pod_template(ds), cluster.priority_classes), version
    )
    result = ScheduleResult(pod=template, nodes=list(cluster.nodes), kube_version=version)
    result.daemon_set = f"{ds.namespace}/{ds.name}"
    result.qos = qos_class(template)
    result.not_modelled = not_modelled(version)
    result.warnings = unmodelled_warnings(template)
    snapshot = snapshot_of(cluster_as_stored(cluster, version))
    for node in cluster.nodes.values():
        placement = should_run(ds, node)
        if not placement.should_run:
            result.statuses[node.name] = Status(
                Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
                (f"creates no daemon pod here: {placement.reason}",),
                CONTROLLER,
            )
            continue
        if _already_running(cluster, ds, node):
            result.statuses[node.name] = SUCCESS
            result.feasible.append(node.name)
            continue
        pod = pod_as_stored(
            resolve_priority(daemon_pod(ds, node), cluster.priority_classes), version
        )
        prefiltered, verdicts = rejections(profile, snapshot, pod, [node.name])
        found = verdicts.get(node.name, [])
        if prefiltered is not None:
            result.statuses[node.name] = prefiltered
        elif found:
            result.statuses[node.name] = found[0].status
            result.details[node.name] = found[0].details
        else:
            result.statuses[node.name] = SUCCESS
            result.feasible.append(node.name)
    return result


def daemon_pod_template(ds: DaemonSet) -> Pod:
    """The daemon pod before it is pinned to a node: the template with the controller's
    tolerations, named after the DaemonSet."""
    pod = replace(
        ds.template,
        name=ds.name,
        namespace=ds.namespace,
        owner_references=(
            OwnerReference(kind="DaemonSet", name=ds.name, api_version="apps/v1", controller=True),
        ),
        node_name="",
    )
    return _with_tolerations(pod)
