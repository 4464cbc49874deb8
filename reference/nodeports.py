"""NodePorts: a pod fits a node only if none of its host ports is already taken there.

Upstream: ``pkg/scheduler/framework/plugins/nodeports/node_ports.go``, the port set
``HostPortInfo`` in ``staging/src/k8s.io/kube-scheduler/framework/types.go`` and
``GetHostPorts`` in ``pkg/scheduler/util/utils.go``.

The ports that count are those with ``hostPort > 0`` of the containers and of sidecar
(``restartPolicy: Always``) init containers; ordinary init containers and a bare
``containerPort`` never take a host port (with ``hostNetwork: true`` API defaulting copies
``containerPort`` into ``hostPort``). An empty ``hostIP`` means ``0.0.0.0``, which clashes
with every address on the same protocol and port; two specific addresses clash only when
equal; different protocols never clash. Only ``0.0.0.0`` is a wildcard: ``::`` is compared
as any other address. A clash is ``Unschedulable`` (not unresolvable): evicting the pod that
holds the port frees it, so preemption may help.
"""

from __future__ import annotations

from collections.abc import Iterable

from .detail import Detail, pods_text
from .framework import CycleState, Plugin
from .nodeinfo import BIND_ALL_HOST_IP, HostPort, NodeInfo, PodInfo, Snapshot
from .status import SKIP, Code, Status, unschedulable

NAME = "NodePorts"

ERR_REASON = "node(s) didn't have free ports for the requested pod ports"
# What Filter reports when PreFilter did not run (upstream: AsStatus(ErrNotFound)).
ERR_NO_PREFILTER_STATE = "not found"

_STATE_KEY = "PreFilter" + NAME


def sanitize(port: HostPort) -> HostPort:
    """Empty hostIP binds every address, empty protocol is TCP (HostPortInfo.sanitize)."""
    ip, protocol, number = port
    return (ip or BIND_ALL_HOST_IP, protocol or "TCP", number)


def port_conflicts(used: Iterable[HostPort], wanted: HostPort) -> bool:
    """Whether ``wanted`` clashes with a port in ``used`` (HostPortInfo.CheckConflict)."""
    ip, protocol, number = sanitize(wanted)
    if number <= 0:
        return False
    for used_port in used:
        used_ip, used_protocol, used_number = sanitize(used_port)
        if used_number != number or used_protocol != protocol:
            continue
        # 0.0.0.0 on either side takes the port on every address.
        if BIND_ALL_HOST_IP in (ip, used_ip) or used_ip == ip:
            return True
    return False


def fits_ports(wanted: Iterable[HostPort], used: Iterable[HostPort]) -> bool:
    """True when no wanted port clashes with a used one (the pod's own ports are not
    checked against each other)."""
    used_list = list(used)
    return not any(port_conflicts(used_list, port) for port in wanted)


def fits(pod: PodInfo, node: NodeInfo) -> bool:
    return fits_ports(pod.ports, node.used_ports)


class NodePorts(Plugin):
    name = NAME
    filters = True
    scores = False

    def pre_filter(self, state: CycleState, pod: PodInfo, snapshot: Snapshot) -> Status | None:
        wanted = pod.ports
        if not wanted:
            # No host ports: the filter has nothing to check on any node.
            return SKIP
        state[_STATE_KEY] = list(wanted)
        return None

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status | None:
        wanted: list[HostPort] | None = state.get(_STATE_KEY)
        if wanted is None:
            return Status(Code.ERROR, (ERR_NO_PREFILTER_STATE,))
        if fits_ports(wanted, node.used_ports):
            return None
        return unschedulable(ERR_REASON)

    def detail(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> tuple[Detail, ...]:
        out = []
        for port in pod.ports:
            holders = [p.pod.key for p in node.pods if port_conflicts(p.ports, port)]
            if not holders:
                continue
            ip, protocol, number = sanitize(port)
            where = "" if ip == BIND_ALL_HOST_IP else f" on {ip}"
            out.append(
                Detail(
                    "hostPort",
                    f"hostPort {number}/{protocol}{where} is taken by {pods_text(holders)}",
                    {"hostPort": number, "protocol": protocol, "hostIP": ip, "pods": holders},
                )
            )
        return tuple(out)
