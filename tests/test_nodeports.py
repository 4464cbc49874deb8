"""NodePorts (podfit.reference.nodeports) and the port bookkeeping of NodeInfo, transcribing
upstream's node_ports_test.go and HostPortInfo tests (types_test.go), plus properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podfit.cluster import Cluster
from podfit.loading import pod_from_manifest
from podfit.model import Container, ContainerPort, Node, Pod
from podfit.reference.framework import CycleState, run_cycle
from podfit.reference.nodeinfo import HostPort, NodeInfo, PodInfo, Snapshot, host_ports
from podfit.reference.nodeports import (
    ERR_NO_PREFILTER_STATE,
    ERR_REASON,
    NodePorts,
    fits,
    fits_ports,
    port_conflicts,
)
from podfit.reference.profile import PluginSet, build_profile
from podfit.reference.status import Code, Status
from podfit.spec import safe_test_id


def port(spec: str, container_port: int = 0) -> ContainerPort:
    """``PROTO/ip/port`` as upstream's tests write host ports."""
    protocol, ip, number = spec.split("/")
    return ContainerPort(
        container_port=container_port or int(number),
        host_port=int(number),
        host_ip=ip,
        protocol=protocol,
    )


def pod_with(*specs: str, name: str = "p", node: str = "") -> Pod:
    return Pod(
        name=name,
        node_name=node,
        containers=(Container(name="c", ports=tuple(port(s) for s in specs)),),
    )


def node_with(*specs: str, name: str = "n1") -> NodeInfo:
    return NodeInfo.of(Node(name=name), [PodInfo.of(pod_with(*specs, name="holder", node=name))])


def run_plugin(incoming: Pod, node: NodeInfo) -> tuple[Code | None, Status | None]:
    """PreFilter then Filter, as upstream's TestNodePorts does."""
    plugin = NodePorts()
    state = CycleState()
    info = PodInfo.of(incoming)
    pre = plugin.pre_filter(state, info, Snapshot.of(Cluster([node.node]).finish()))
    if pre is not None:
        return pre.code, None
    return None, plugin.filter(state, info, node)


# --- TestNodePorts -------------------------------------------------------------------------

FILTER_ROWS: list[tuple[str, tuple[str, ...], tuple[str, ...], bool]] = [
    ("other port", ("UDP/127.0.0.1/8080",), ("UDP/127.0.0.1/9090",), True),
    ("same udp port", ("UDP/127.0.0.1/8080",), ("UDP/127.0.0.1/8080",), False),
    ("same tcp port", ("TCP/127.0.0.1/8080",), ("TCP/127.0.0.1/8080",), False),
    ("different host ip", ("TCP/127.0.0.1/8080",), ("TCP/127.0.0.2/8080",), True),
    ("different protocol", ("UDP/127.0.0.1/8080",), ("TCP/127.0.0.1/8080",), True),
    (
        "second udp port conflict",
        ("UDP/127.0.0.1/8000", "UDP/127.0.0.1/8080"),
        ("UDP/127.0.0.1/8080",),
        False,
    ),
    (
        "first tcp port conflict",
        ("TCP/127.0.0.1/8001", "UDP/127.0.0.1/8080"),
        ("TCP/127.0.0.1/8001", "UDP/127.0.0.1/8081"),
        False,
    ),
    ("0.0.0.0 wanted vs specific held", ("TCP/0.0.0.0/8001",), ("TCP/127.0.0.1/8001",), False),
    (
        "0.0.0.0 among wanted",
        ("TCP/10.0.10.10/8001", "TCP/0.0.0.0/8001"),
        ("TCP/127.0.0.1/8001",),
        False,
    ),
    ("specific wanted vs 0.0.0.0 held", ("TCP/127.0.0.1/8001",), ("TCP/0.0.0.0/8001",), False),
    ("second different protocol", ("UDP/127.0.0.1/8001",), ("TCP/0.0.0.0/8001",), True),
    (
        "udp conflict due to 0.0.0.0",
        ("UDP/127.0.0.1/8001",),
        ("TCP/0.0.0.0/8001", "UDP/0.0.0.0/8001"),
        False,
    ),
    ("empty hostIP held is 0.0.0.0", ("TCP/10.1.1.1/80",), ("TCP//80",), False),
    ("empty hostIP wanted is 0.0.0.0", ("TCP//80",), ("TCP/10.1.1.1/80",), False),
    ("'::' is a specific address", ("TCP/10.1.1.1/80",), ("TCP/::/80",), True),
    ("0.0.0.0 wanted vs '::' held", ("TCP/0.0.0.0/80",), ("TCP/::/80",), False),
    ("SCTP vs TCP", ("SCTP/0.0.0.0/80",), ("TCP/0.0.0.0/80",), True),
]


@pytest.mark.parametrize(
    ("wanted", "held", "fits_node"),
    [r[1:] for r in FILTER_ROWS],
    ids=[safe_test_id(r[0]) for r in FILTER_ROWS],
)
def test_filter(wanted: tuple[str, ...], held: tuple[str, ...], fits_node: bool) -> None:
    pre, status = run_plugin(pod_with(*wanted), node_with(*held))
    assert pre is None
    if fits_node:
        assert status is None
    else:
        assert status is not None
        assert status.code is Code.UNSCHEDULABLE
        assert status.reasons == (ERR_REASON,)


def test_pod_without_host_ports_skips_filter() -> None:
    bare = Pod(name="p", containers=(Container(name="c", ports=(ContainerPort(80),)),))
    assert run_plugin(bare, node_with("TCP/0.0.0.0/80"))[0] is Code.SKIP


def test_filter_without_prefilter_is_an_error() -> None:
    status = NodePorts().filter(CycleState(), PodInfo.of(pod_with("TCP//80")), node_with())
    assert status is not None
    assert status.code is Code.ERROR
    assert status.reasons == (ERR_NO_PREFILTER_STATE,)


def test_reason_is_upstreams() -> None:
    assert ERR_REASON == "node(s) didn't have free ports for the requested pod ports"


# --- which containers' ports count (GetHostPorts) ------------------------------------------------


def init_pod(*, sidecar: bool) -> Pod:
    return Pod(
        name="p",
        init_containers=(
            Container(
                name="init",
                ports=(port("TCP//8001"),),
                restart_policy="Always" if sidecar else None,
            ),
        ),
        containers=(Container(name="c"),),
    )


def test_ordinary_init_container_ports_do_not_count() -> None:
    assert host_ports(init_pod(sidecar=False)) == []
    assert run_plugin(init_pod(sidecar=False), node_with("TCP/0.0.0.0/8001"))[0] is Code.SKIP


def test_sidecar_ports_count() -> None:
    assert host_ports(init_pod(sidecar=True)) == [("0.0.0.0", "TCP", 8001)]
    _, status = run_plugin(init_pod(sidecar=True), node_with("TCP/0.0.0.0/8001"))
    assert status is not None


def test_running_pods_ordinary_init_container_holds_nothing() -> None:
    holder = Pod(
        name="holder",
        node_name="n1",
        init_containers=(Container(name="init", ports=(port("TCP//9000"),)),),
        containers=(Container(name="c"),),
    )
    assert NodeInfo.of(Node(name="n1"), [PodInfo.of(holder)]).used_ports == []


def test_sidecars_come_first_then_containers_and_zero_host_ports_are_dropped() -> None:
    p = Pod(
        name="p",
        init_containers=(
            Container(name="plain", ports=(port("TCP//1"),)),
            Container(name="side", ports=(port("UDP/10.0.0.1/2"),), restart_policy="Always"),
        ),
        containers=(
            Container(name="a", ports=(ContainerPort(3), port("TCP//4"))),
            Container(name="b", ports=(port("SCTP//5"),)),
        ),
    )
    assert host_ports(p) == [
        ("10.0.0.1", "UDP", 2),
        ("0.0.0.0", "TCP", 4),
        ("0.0.0.0", "SCTP", 5),
    ]


def test_host_network_defaulting_turns_container_ports_into_host_ports() -> None:
    p = pod_from_manifest(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {
                "hostNetwork": True,
                "initContainers": [{"name": "i", "ports": [{"containerPort": 7000}]}],
                "containers": [
                    {"name": "c", "ports": [{"containerPort": 9100, "protocol": "UDP"}]}
                ],
            },
        }
    )
    assert host_ports(p) == [("0.0.0.0", "UDP", 9100)]


# --- HostPortInfo: CheckConflict and Add/Remove ----------------------------------------------------

CHECK_ROWS: list[tuple[str, list[HostPort], HostPort, bool]] = [
    ("empty check is 0.0.0.0 TCP", [("127.0.0.1", "TCP", 80)], ("", "", 81), False),
    ("empty check is 0.0.0.0 TCP (conflict)", [("127.0.0.1", "TCP", 80)], ("", "", 80), True),
    ("port 0 never conflicts", [("127.0.0.1", "TCP", 80)], ("", "", 0), False),
    ("0.0.0.0 checks every address", [("127.0.0.1", "TCP", 80)], ("0.0.0.0", "TCP", 80), True),
    ("0.0.0.0, other protocol", [("127.0.0.1", "UDP", 80)], ("0.0.0.0", "TCP", 80), False),
    (
        "0.0.0.0, other ports",
        [("127.0.0.1", "TCP", 79), ("127.0.0.1", "TCP", 81), ("127.0.0.1", "TCP", 82)],
        ("0.0.0.0", "TCP", 80),
        False,
    ),
    ("specific vs held 0.0.0.0", [("0.0.0.0", "TCP", 80)], ("127.0.0.1", "TCP", 80), True),
    (
        "specific vs held 0.0.0.0 other port/protocol",
        [("0.0.0.0", "TCP", 79), ("0.0.0.0", "UDP", 80), ("0.0.0.0", "TCP", 81)],
        ("127.0.0.1", "TCP", 80),
        False,
    ),
    (
        "specific vs same address other port/protocol",
        [("127.0.0.1", "TCP", 79), ("127.0.0.1", "UDP", 80), ("127.0.0.1", "TCP", 81)],
        ("127.0.0.1", "TCP", 80),
        False,
    ),
    ("held entry with empty fields", [("", "", 80)], ("127.0.0.1", "TCP", 80), True),
]


@pytest.mark.parametrize(
    ("used", "wanted", "expected"),
    [r[1:] for r in CHECK_ROWS],
    ids=[safe_test_id(r[0]) for r in CHECK_ROWS],
)
def test_check_conflict(used: list[HostPort], wanted: HostPort, expected: bool) -> None:
    assert port_conflicts(used, wanted) is expected


def test_used_ports_are_a_set() -> None:
    a = pod_with("TCP/127.0.0.1/80", "UDP/0.0.0.0/53", name="a", node="n1")
    b = pod_with("TCP/127.0.0.1/80", name="b", node="n1")
    info = NodeInfo.of(Node(name="n1"), [PodInfo.of(a), PodInfo.of(b)])
    assert sorted(info.used_ports) == [("0.0.0.0", "UDP", 53), ("127.0.0.1", "TCP", 80)]


def test_removing_a_pod_frees_its_ports_even_if_another_pod_declares_them() -> None:
    # Upstream's HostPortInfo is a set: removal deletes the entry whoever else holds it.
    a = pod_with("TCP/127.0.0.1/80", "UDP/0.0.0.0/53", name="a", node="n1")
    b = pod_with("TCP/127.0.0.1/80", name="b", node="n1")
    info = NodeInfo.of(Node(name="n1"), [PodInfo.of(a), PodInfo.of(b)])
    assert info.remove(a)
    assert info.used_ports == []
    assert fits(PodInfo.of(pod_with("TCP/127.0.0.1/80")), info)


def test_clone_keeps_ports_independent() -> None:
    info = node_with("TCP//80")
    copy = info.clone()
    copy.remove(info.pods[0].pod)
    assert info.used_ports == [("0.0.0.0", "TCP", 80)]
    assert copy.used_ports == []


def test_terminal_pods_hold_no_ports_in_the_snapshot() -> None:
    done = Pod(
        name="done",
        node_name="n1",
        phase="Succeeded",
        containers=(Container(name="c", ports=(port("TCP//80"),)),),
    )
    snap = Snapshot.of(Cluster([Node(name="n1"), done]).finish())
    assert snap.nodes["n1"].used_ports == []


# --- through the framework ---------------------------------------------------------------


def test_run_cycle_reports_the_status_per_node() -> None:
    cluster = Cluster(
        [
            Node(name="n1"),
            Node(name="n2"),
            pod_with("TCP/0.0.0.0/443", name="holder", node="n1"),
        ]
    ).finish()
    profile = build_profile(plugins=PluginSet(filters=("NodePorts",), scores=()))
    result = run_cycle(profile, Snapshot.of(cluster), pod_with("TCP/10.0.0.1/443"))
    assert result.feasible == ["n2"]
    status = result.statuses["n1"]
    assert (status.plugin, status.code, status.reasons) == (
        "NodePorts",
        Code.UNSCHEDULABLE,
        (ERR_REASON,),
    )


# --- properties ----------------------------------------------------------------------------

IPS = st.sampled_from(["0.0.0.0", "", "127.0.0.1", "127.0.0.2", "10.0.0.1", "::"])
PROTOCOLS = st.sampled_from(["TCP", "UDP", "SCTP", ""])
PORTS = st.integers(min_value=1, max_value=4)
HOST_PORTS = st.tuples(IPS, PROTOCOLS, PORTS)
PORT_LISTS = st.lists(HOST_PORTS, max_size=5)


def pod_of(ports: list[HostPort], name: str, node: str = "") -> Pod:
    return Pod(
        name=name,
        node_name=node,
        containers=(
            Container(
                name="c",
                ports=tuple(
                    ContainerPort(container_port=n, host_port=n, host_ip=ip, protocol=proto)
                    for ip, proto, n in ports
                ),
            ),
        ),
    )


@settings(max_examples=200, deadline=None)
@given(HOST_PORTS, HOST_PORTS)
def test_conflict_is_symmetric(a: HostPort, b: HostPort) -> None:
    assert port_conflicts([a], b) == port_conflicts([b], a)


@settings(max_examples=200, deadline=None)
@given(PORT_LISTS, HOST_PORTS)
def test_bind_all_conflicts_whenever_a_specific_address_does(
    used: list[HostPort], wanted: HostPort
) -> None:
    _ip, protocol, number = wanted
    if port_conflicts(used, wanted):
        assert port_conflicts(used, ("0.0.0.0", protocol, number))
        assert port_conflicts(used, ("", protocol, number))
    # Only ports of the same protocol and number matter.
    same = [u for u in used if u[2] == number and (u[1] or "TCP") == (protocol or "TCP")]
    assert port_conflicts(used, wanted) == port_conflicts(same, wanted)


@settings(max_examples=100, deadline=None)
@given(st.lists(PORT_LISTS, min_size=1, max_size=4), PORT_LISTS, st.data())
def test_removing_a_pod_never_creates_a_conflict(
    holders: list[list[HostPort]], wanted: list[HostPort], data: st.DataObject
) -> None:
    pods = [PodInfo.of(pod_of(ports, f"h{i}", "n1")) for i, ports in enumerate(holders)]
    info = NodeInfo.of(Node(name="n1"), pods)
    incoming = PodInfo.of(pod_of(wanted, "p"))
    before = fits(incoming, info)
    victim = data.draw(st.sampled_from(pods))
    assert info.remove(victim.pod)
    if before:
        assert fits(incoming, info)
    # What is left is exactly what the remaining pods declare, minus the victim's ports.
    remaining = {p for other in info.pods for p in other.ports} - set(victim.ports)
    assert set(info.used_ports) == remaining


@settings(max_examples=100, deadline=None)
@given(st.lists(PORT_LISTS, max_size=3), PORT_LISTS)
def test_a_placed_pod_with_host_ports_blocks_its_twin(
    holders: list[list[HostPort]], wanted: list[HostPort]
) -> None:
    pods = [PodInfo.of(pod_of(ports, f"h{i}", "n1")) for i, ports in enumerate(holders)]
    info = NodeInfo.of(Node(name="n1"), pods)
    incoming = PodInfo.of(pod_of(wanted, "p"))
    fitted = fits(incoming, info)
    # Fitting means no wanted port clashes with any single holder's ports.
    assert fitted == all(fits_ports(incoming.ports, h.ports) for h in pods)
    info.add(PodInfo.of(pod_of(wanted, "placed", "n1")))
    assert fits(incoming, info) == (not incoming.ports)
