"""The kube: adapter and live reading against a real control plane.

The control plane (etcd, kube-apiserver, kube-scheduler, kube-controller-manager,
node-ready) is started once per session by the ``podfit_control_plane`` fixture from the
binaries in ``$PODFIT_CONTROL_PLANE``; without them these tests skip, saying why. They
run on one xdist worker (one control plane), and the last check of the module is that
nothing podfit created is left in the cluster.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

from podfit.adapters import resolve
from podfit.adapters.kube_adapter import (
    OWNED_LABEL,
    KubeScheduler,
    namespace_object,
    node_content,
    node_object,
    pod_object,
    runtime_class_object,
)
from podfit.cli import cli
from podfit.cluster import Cluster
from podfit.conformance.controlplane import ControlPlane
from podfit.conformance.decisions import ALL_AREAS
from podfit.conformance.runner import run_conformance
from podfit.conformance.strategies import scheduling_problems
from podfit.kube import Kube, KubeError
from podfit.manifest import to_manifest
from podfit.model import Pod

pytestmark = [pytest.mark.xdist_group("kube-live")]

TEST_LABEL = "podfit.dev/test"  # what these tests create by hand (not through the adapter)


@pytest.fixture(scope="module")
def plane(podfit_control_plane: ControlPlane) -> Iterator[ControlPlane]:
    yield podfit_control_plane
    # The suite's own check: nothing podfit created is left in the cluster.
    kube = Kube(podfit_control_plane.context, kubeconfig=str(podfit_control_plane.kubeconfig))
    try:
        left = _leftovers(kube, wait=60)
    finally:
        kube.close()
    assert left == [], f"left behind in the cluster: {left}"


def _leftovers(
    kube: Kube, wait: float, selectors: tuple[str, ...] = (f"{OWNED_LABEL}=true", TEST_LABEL)
) -> list[str]:
    """Objects labelled as podfit's (or these tests'), waiting up to ``wait`` seconds for
    deleted namespaces to be finalized."""
    end = time.monotonic() + wait
    while True:
        left = []
        for path in (
            "/api/v1/namespaces",
            "/api/v1/nodes",
            "/api/v1/pods",
            "/apis/node.k8s.io/v1/runtimeclasses",
        ):
            for selector in selectors:
                for item in kube.list(path, label_selector=selector)[0]:
                    meta = item["metadata"]
                    left.append(f"{item['kind']} {meta.get('namespace', '')}/{meta['name']}")
        if not left or time.monotonic() > end:
            return sorted(set(left))
        time.sleep(0.5)


@pytest.fixture(scope="module")
def kube(plane: ControlPlane) -> Iterator[Kube]:
    client = Kube(plane.context, kubeconfig=str(plane.kubeconfig))
    yield client
    client.close()


def spec(plane: ControlPlane, extra: str = "") -> str:
    return f"kube:{plane.context}?kubeconfig={plane.kubeconfig}{extra}"


# --- what the adapter sends is what the API server accepts ------------------------------------


def _overhead_key(pod: Pod) -> str:
    return json.dumps({k: str(q) for k, q in sorted(pod.overhead.items())}, sort_keys=True)


@pytest.fixture(scope="module")
def scratch(kube: Kube) -> Iterator[dict[str, Any]]:
    """A namespace for dry-run pods, and the RuntimeClasses made for overheads."""
    name = "podfit-accept"
    body = namespace_object(name, {}, "accept")
    body["metadata"]["labels"] = {TEST_LABEL: "accept"}
    kube.create("/api/v1/namespaces", body)
    made: dict[str, str] = {}
    yield {"namespace": name, "runtime_classes": made}
    for runtime_class in made.values():
        kube.delete(f"/apis/node.k8s.io/v1/runtimeclasses/{runtime_class}")
    kube.delete(f"/api/v1/namespaces/{name}")


def _dry_run(kube: Kube, path: str, body: dict[str, Any]) -> None:
    try:
        kube.create(path, body, dryRun="All", fieldValidation="Strict")
    except KubeError as exc:
        pytest.fail(f"the API server refused {body.get('kind')}: {exc}\n{json.dumps(body)}")


@settings(
    max_examples=int(os.environ.get("PODFIT_LIVE_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
@given(problem=scheduling_problems(areas=ALL_AREAS, max_nodes=3, max_running_pods=4))
def test_every_generated_manifest_is_accepted(
    kube: Kube, scratch: dict[str, Any], problem: tuple[Cluster, Pod]
) -> None:
    """Nodes, pods (bound and pending) and namespaces as the adapter creates them, and pods
    as podfit writes them (counterexamples, the exec wire), all pass the real API server's
    validation and admission (server-side dry run, strict field validation)."""
    cluster, pending = problem
    namespace = scratch["namespace"]
    made: dict[str, str] = scratch["runtime_classes"]
    for node in cluster.nodes.values():
        _dry_run(kube, "/api/v1/nodes", node_object(node_content(node), "accept-node", "accept"))
        _dry_run(kube, "/api/v1/nodes", to_manifest(node))
    for name in {pending.namespace, *(p.namespace for p in cluster.pods.values())}:
        ns = namespace_object(f"accept-{name}", cluster.namespace_labels(name), "accept")
        _dry_run(kube, "/api/v1/namespaces", ns)
    for pod in (*cluster.pods.values(), pending):
        runtime_class = None
        if pod.overhead:
            key = _overhead_key(pod)
            if key not in made:
                made[key] = f"podfit-accept-{len(made)}"
                body = runtime_class_object(made[key], json.loads(key), "accept")
                body["metadata"]["labels"] = {TEST_LABEL: "accept"}
                kube.create("/apis/node.k8s.io/v1/runtimeclasses", body)
            runtime_class = made[key]
        body = pod_object(
            pod,
            run="accept",
            namespace_of=lambda _: namespace,
            node_of=lambda n: f"accept-{n}",
            pin=["accept-node-0", "accept-node-1"],
            runtime_class=runtime_class,
        )
        _dry_run(kube, f"/api/v1/namespaces/{namespace}/pods", body)
        plain = to_manifest(pod)
        plain["metadata"]["namespace"] = namespace
        if runtime_class:  # the API server holds a pod with overhead only with its class
            plain["spec"]["runtimeClassName"] = runtime_class
        _dry_run(kube, f"/api/v1/namespaces/{namespace}/pods", plain)


# --- conformance of the real kube-scheduler ------------------------------------------------------


def test_the_default_scheduler_conforms(plane: ControlPlane) -> None:
    """kube-scheduler v1.36 against the reference on every rule area, strict (its node is
    among the reference's best), and through sequences of changes."""
    scheduler = resolve(spec(plane))
    try:
        report = run_conformance(scheduler, max_examples=6, seed=19, strict=True)
    finally:
        scheduler.close()
    assert report.findings == [], [f.message for f in report.findings]
    assert set(report.covered) == ALL_AREAS
    assert all(r.status == "passed" for r in report.units), [r.to_dict() for r in report.units]
    assert report.totals().run >= 6 * 4 * len(ALL_AREAS)


PACKER = textwrap.dedent(
    """\
    apiVersion: kubescheduler.config.k8s.io/v1
    kind: KubeSchedulerConfiguration
    clientConnection:
      kubeconfig: $KUBECONFIG
    leaderElection:
      leaderElect: false
    profiles:
    - schedulerName: podfit-packer
      pluginConfig:
      - name: NodeResourcesFit
        args:
          scoringStrategy:
            type: MostAllocated
            resources:
            - {name: cpu, weight: 1}
            - {name: memory, weight: 1}
      plugins:
        score:
          disabled:
          - name: NodeResourcesBalancedAllocation
    """
)


@pytest.fixture(scope="module")
def packer(plane: ControlPlane) -> str:
    """A second kube-scheduler whose only profile packs pods (MostAllocated)."""
    plane.start_scheduler("podfit-packer", PACKER)
    return "podfit-packer"


def test_a_profile_scheduler_conforms_under_its_own_name(plane: ControlPlane, packer: str) -> None:
    from tests.test_adapters import cluster_of, node, pending, pod

    with KubeScheduler(
        plane.context, kubeconfig=str(plane.kubeconfig), scheduler_name=packer
    ) as scheduler:
        # Its profile is in force: it packs where the default profile spreads.
        busy = cluster_of(node("a"), node("b"), pod("load", node_name="b", cpu="3"))
        web = pending(pod("web", cpu="500m"))
        assert scheduler.schedule(busy, web).node == "b"
        report = run_conformance(scheduler, max_examples=3, seed=19, stateful=False)
    assert report.findings == [], [f.message for f in report.findings]
    with KubeScheduler(plane.context, kubeconfig=str(plane.kubeconfig)) as default:
        assert default.schedule(busy, web).node == "a"


# --- cleanup -----------------------------------------------------------------------------------


def _owned(kube: Kube, run: str) -> list[str]:
    found = []
    for path in ("/api/v1/namespaces", "/api/v1/nodes", "/api/v1/pods"):
        for item in kube.list(path, label_selector=f"podfit.dev/run={run}")[0]:
            found.append(f"{item['kind']} {item['metadata']['name']}")
    return found


CRASHING = textwrap.dedent(
    """\
    import sys
    from podfit.adapters.kube_adapter import KubeScheduler
    from tests.test_adapters import cluster_of, node, pending, pod

    scheduler = KubeScheduler(sys.argv[1], kubeconfig=sys.argv[2], lease_seconds=1)
    cluster = cluster_of(node("a"), node("b"), pod("db", node_name="a", namespace="shop"))
    print(scheduler.run, scheduler.schedule(cluster, pending(pod("web", namespace="shop"))).node)
    sys.stdout.flush()
    sys.stdin.read()  # killed while waiting
    """
)


def test_a_later_run_removes_what_a_killed_run_left(plane: ControlPlane, kube: Kube) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", CRASHING, plane.context, str(plane.kubeconfig)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert process.stdout is not None
    run, answer = process.stdout.readline().split()
    process.kill()  # no cleanup, no atexit
    process.wait()
    process.stdout.close()
    assert process.stdin is not None
    process.stdin.close()
    assert answer in ("a", "b")
    assert len(_owned(kube, run)) >= 5  # nodes, namespaces, pods
    stranger = {"metadata": {"name": "not-podfit", "labels": {TEST_LABEL: "stranger"}}}
    kube.create("/api/v1/nodes", stranger)
    with KubeScheduler(plane.context, kubeconfig=str(plane.kubeconfig)) as alive:
        time.sleep(2.5)  # the killed run's lease (1 s, plus as much again) runs out
        with KubeScheduler(plane.context, kubeconfig=str(plane.kubeconfig)) as later:
            assert later.swept, "the killed run's objects were found"
            assert not any(f"podfit-{alive.run}" in s for s in later.swept), "live runs are kept"
        assert _owned(kube, run) == [] or all(
            "Namespace" in o for o in _owned(kube, run)
        )  # namespaces may still be finalizing
        assert kube.get("/api/v1/nodes/not-podfit")["metadata"]["name"] == "not-podfit"
        assert kube.get(f"/api/v1/namespaces/podfit-{alive.run}")
    kube.delete("/api/v1/nodes/not-podfit")


def test_ctrl_c_during_conform_leaves_nothing(
    plane: ControlPlane, kube: Kube, interruptible: Callable[[], None]
) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from podfit.cli import main; main()",
            "conform",
            "--adapter",
            spec(plane),
            "--rules",
            "taints",
            "--max-examples",
            "500",
            "--seed",
            "3",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=interruptible,
    )
    end = time.monotonic() + 30
    while not kube.list("/api/v1/nodes", label_selector=f"{OWNED_LABEL}=true")[0]:
        assert time.monotonic() < end and process.poll() is None, "conform never started"
        time.sleep(0.1)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert _leftovers(kube, wait=30, selectors=(f"{OWNED_LABEL}=true",)) == []


# --- live reading ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shop(kube: Kube) -> Iterator[str]:
    """Two nodes and a namespace with a running pod, a pod that fits and one that does not;
    returns the namespace once the scheduler has decided both."""
    nodes = {"shop-a": ("ssd", "2"), "shop-b": ("hdd", "4")}
    for name, (disk, cpu) in nodes.items():
        resources = {"cpu": cpu, "memory": "8Gi", "pods": "110"}
        kube.create(
            "/api/v1/nodes",
            {
                "metadata": {"name": name, "labels": {"disk": disk, TEST_LABEL: "shop"}},
                "status": {"capacity": resources, "allocatable": resources},
            },
        )
    kube.create(
        "/api/v1/namespaces", {"metadata": {"name": "shop", "labels": {TEST_LABEL: "shop"}}}
    )

    def pod(name: str, cpu: str, disk: str) -> dict[str, Any]:
        return {
            "metadata": {"name": name, "labels": {"app": "web", TEST_LABEL: "shop"}},
            "spec": {
                "nodeSelector": {"disk": disk},
                "terminationGracePeriodSeconds": 0,
                "containers": [
                    {"name": "c", "image": "nginx", "resources": {"requests": {"cpu": cpu}}}
                ],
            },
        }

    for body in (pod("web-1", "1", "ssd"), pod("web-2", "3", "ssd")):
        kube.create("/api/v1/namespaces/shop/pods", body)
    end = time.monotonic() + 20
    while not (_bound(kube, "web-1") and _scheduled_false(kube, "web-2")):
        assert time.monotonic() < end, "the scheduler did not decide the shop pods"
        time.sleep(0.1)
    yield "shop"
    for name in ("web-1", "web-2"):
        kube.delete(f"/api/v1/namespaces/shop/pods/{name}", {"gracePeriodSeconds": 0})
    kube.delete("/api/v1/namespaces/shop")
    for name in nodes:
        kube.delete(f"/api/v1/nodes/{name}")


def _bound(kube: Kube, name: str) -> bool:
    return bool(kube.get(f"/api/v1/namespaces/shop/pods/{name}")["spec"].get("nodeName"))


def _scheduled_false(kube: Kube, name: str) -> str | None:
    pod = kube.get(f"/api/v1/namespaces/shop/pods/{name}")
    for c in pod.get("status", {}).get("conditions", []):
        if c["type"] == "PodScheduled" and c["status"] == "False":
            return str(c["message"])
    return None


def run_cli(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_explain_reads_the_cluster_and_agrees_with_its_scheduler(
    plane: ControlPlane, kube: Kube, shop: str
) -> None:
    live = ("--kube", plane.context, "--kubeconfig", str(plane.kubeconfig))
    result = run_cli("explain", *live, "--pod", f"{shop}/web-2", "-o", "json")
    assert result.exit_code == 1, result.output  # fits nowhere
    answer = json.loads(result.output)
    scheduler_says = _scheduled_false(kube, "web-2")
    assert scheduler_says is not None
    # Word for word what the cluster's own scheduler (v1.36) wrote on the pod.
    assert answer["message"] == scheduler_says
    assert answer["message"].startswith("0/2 nodes are available: 1 Insufficient cpu")
    # web-1 was bound by the scheduler: explained as it saw it, it fits shop-a.
    fits = run_cli("explain", *live, "--pod", f"{shop}/web-1", "-o", "json")
    assert fits.exit_code == 0, fits.output
    assert json.loads(fits.output)["selected"] == "shop-a"


def test_the_other_commands_read_the_cluster(plane: ControlPlane, shop: str) -> None:
    live = ("--kube", plane.context, "--kubeconfig", str(plane.kubeconfig))
    simulate = run_cli("simulate", *live, "-o", "json")
    assert simulate.exit_code == 1 and "shop/web-2" in simulate.output
    whatif = run_cli("whatif", *live, "--cordon", "shop-a", "-o", "json")
    # web-2 had no node before the cordon either: the cordon harms no pod.
    assert whatif.exit_code == 0, whatif.output
    data = json.loads(whatif.output)
    assert data["description"] == "cordon shop-a" and data["alreadyPending"] == ["shop/web-2"]
    admit = run_cli("admit", *live, "--pod", f"{shop}/web-2", "-o", "json")
    assert admit.exit_code == 0 and json.loads(admit.output)["admitted"]
    solve = run_cli("solve", *live, "--each", "-o", "json")
    assert solve.exit_code == 1 and "shop/web-2" in solve.output


PLUGIN = "from podfit.cli.kubectl import main; main()"


def test_kubectl_plugin(plane: ControlPlane, shop: str) -> None:
    env = {**os.environ, "KUBECONFIG": str(plane.kubeconfig)}
    done = subprocess.run(
        [sys.executable, "-c", PLUGIN, "explain", "pod/web-1", "-n", shop],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Pod shop/web-1" in done.stdout and "selected: shop-a" in done.stdout


def _one_line_error(result: Any) -> str:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("podfit: error: "), result.output
    assert "Traceback" not in result.output
    return str(lines[0])


def test_bad_live_input_is_one_line_and_exit_2(plane: ControlPlane, tmp_path: Path) -> None:
    kubeconfig = str(plane.kubeconfig)
    line = _one_line_error(
        run_cli("explain", "--kube", "nope", "--kubeconfig", kubeconfig, "--pod", "a/b")
    )
    assert "no context 'nope'" in line
    line = _one_line_error(
        run_cli("explain", "--kube", "--kubeconfig", kubeconfig, "--pod", "shop/missing")
    )
    assert "pod shop/missing not found" in line
    closed = tmp_path / "closed.kubeconfig"
    text = plane.kubeconfig.read_text().replace(plane.server, "https://127.0.0.1:1")
    closed.write_text(text)
    line = _one_line_error(run_cli("simulate", "--kube", "--kubeconfig", str(closed)))
    assert "cannot reach the API server at https://127.0.0.1:1" in line
    key, cert = plane.certificate("nobody", "nobody")
    nobody = plane.write_kubeconfig(tmp_path / "nobody.kubeconfig", "nobody", cert, key)
    line = _one_line_error(run_cli("simulate", "--kube", "--kubeconfig", str(nobody)))
    assert "forbidden" in line and "nobody" in line
    line = _one_line_error(run_cli("simulate"))
    assert "-f FILE... or --kube" in line
