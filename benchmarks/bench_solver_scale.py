"""How `podfit solve` scales with pods × nodes: the per-pod and the counting encodings.

    python benchmarks/bench_solver_scale.py [--quick] [--only NAME] [--timeout S]
        [--per-pod] [--sizes P×N,...] [--per-pod-max PAIRS] [--simulate-all]

Scenarios (seeded):

* ``mixed``: nodes from ``synthetic.node_manifest`` (20 labels, up to 3 taints, 8-64 cpu,
  every node different) and replicated workloads of 8 pods, each workload with its own
  requests, a disktype nodeSelector, a toleration, and for half of them required
  anti-affinity on kubernetes.io/hostname against their own app;
* ``random``: every pod drawn on its own (requests,
  nodeSelector, toleration), no anti-affinity;
* ``shapes``: nodes of 10 shapes (labels, taints, cpu/memory) and pods of 10 shapes
  (replicas: requests, nodeSelector or node affinity, tolerations, hostname anti-affinity
  for 3 of them), filled to about 60 % of the cpu;
* ``tight``: ``shapes`` filled to 90 %, 97 %, 100 % and 103 % (infeasible) of the edge (the
  most the per-class relaxation admits), at 2,000 pods × 1,000 nodes;
* ``spread``: replicas with hostname anti-affinity and zone spread on the ``mixed`` nodes;
* ``hostspread``: the same replicas spread over kubernetes.io/hostname: every node its own
  domain, counted per node class (``--per-pod``: the per-pod encoding's scaling);
* ``busy``: ``mixed``'s nodes with workloads of 1-4 cpu times a load factor, at 2,000 pods ×
  500 nodes: from packing greedily to packing only through Z3 to not fitting;
* ``hostzone``: replicas (10 per workload) spread over kubernetes.io/hostname *and* the zone
  (maxSkew 1, DoNotSchedule) on the nodes of ``simulate``'s benchmark with 5 running pods
  each (``synthetic.cluster_manifests``), as YAML through the command line: ``podfit solve``
  against ``podfit simulate`` on the same files, in one run, at 1,000 × 500; then 5,000 ×
  2,500 (``podfit solve`` only; ``--simulate-all`` runs simulate there too);
* ``minimize``: ``podfit solve --minimize nodes`` for 2,000 pods of 20 workloads (100
  replicas each, 250m to 2 cpu) spread over hostname, on 1,000 of ``mixed``'s nodes;

Each row: the answer, the seconds the solver took (grouping included), the classes found,
and the seconds the reference took to replay the placement (as ``podfit.api.solve`` does;
batches above ``--replay-max`` pods are not replayed). ``--per-pod`` runs the per-pod
encoding instead, for comparison. Wall clock, one process. The command-line rows
(``--only commands``) run ``podfit`` in fresh processes on YAML files and give, beside the
command's wall clock, the solver's own seconds in this process and the per-pod encoding's
(up to ``--per-pod-max`` (pod, node) pairs).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic
import yaml

from podfit.cluster import Cluster
from podfit.loading import cluster_from_manifests, pod_from_manifest
from podfit.model import Pod

HOSTNAME = "kubernetes.io/hostname"

Scenario = Callable[[int, int, random.Random], tuple[Cluster, list[Pod]]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(func: Scenario) -> Scenario:
    SCENARIOS[func.__name__] = func
    return func


def _pod(
    name: str,
    app: str,
    cpu: int,
    memory_mi: int,
    *,
    selector: dict[str, str] | None = None,
    tolerations: list[dict[str, Any]] | None = None,
    anti: bool = False,
    affinity_terms: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "main",
                "image": f"registry.example.com/{app}:1.0",
                "resources": {"requests": {"cpu": f"{cpu}m", "memory": f"{memory_mi}Mi"}},
            }
        ],
        "tolerations": tolerations or [],
    }
    if selector:
        spec["nodeSelector"] = selector
    affinity: dict[str, Any] = {}
    if anti:
        affinity["podAntiAffinity"] = {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"topologyKey": HOSTNAME, "labelSelector": {"matchLabels": {"app": app}}}
            ]
        }
    if affinity_terms:
        affinity["nodeAffinity"] = {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": affinity_terms}
        }
    if affinity:
        spec["affinity"] = affinity
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "bench", "labels": {"app": app}},
        "spec": spec,
    }


@scenario
def mixed(pods: int, nodes: int, rng: random.Random) -> tuple[Cluster, list[Pod]]:
    cluster = cluster_from_manifests([synthetic.node_manifest(i, rng) for i in range(nodes)])
    return cluster, _workloads(pods, rng, [100, 250, 500, 1000])


def _workloads(pods: int, rng: random.Random, cpus: list[int]) -> list[Pod]:
    """Workloads of 8 replicas, each with a cpu request drawn from ``cpus`` (millicores), a
    memory request, a disktype nodeSelector, a toleration and, every other one, required
    hostname anti-affinity against its own app."""
    out: list[Pod] = []
    workload = 0
    while len(out) < pods:
        app = f"wl-{workload}"
        cpu = rng.choice(cpus)
        memory = rng.choice([128, 256, 512, 1024])
        selector = {"disktype": rng.choice(["ssd", "hdd"])}
        tolerations = [{"key": "dedicated-0", "operator": "Exists"}]
        anti = workload % 2 == 0
        for r in range(min(8, pods - len(out))):
            m = _pod(
                f"{app}-{r}",
                app,
                cpu,
                memory,
                selector=selector,
                tolerations=tolerations,
                anti=anti,
            )
            out.append(pod_from_manifest(m))
        workload += 1
    return out


@scenario
def random_pods(pods: int, nodes: int, rng: random.Random) -> tuple[Cluster, list[Pod]]:
    # The generator of benchmarks/run.py's solver_scale (the README's original rows).
    cluster = cluster_from_manifests([synthetic.node_manifest(i, rng) for i in range(nodes)])
    out = []
    for i in range(pods):
        m = synthetic.pod_manifest(f"p-{i}", rng)
        m["spec"]["nodeSelector"] = {"disktype": rng.choice(["ssd", "hdd"])}
        m["spec"]["tolerations"] = [{"key": "dedicated-0", "operator": "Exists"}]
        out.append(pod_from_manifest(m))
    return cluster, out


SCENARIOS["random"] = SCENARIOS.pop("random_pods")

NODE_SHAPES = [
    # (pool, disktype, cpu, memory Gi, taint or None)
    ("general", "ssd", 16, 64, None),
    ("general", "hdd", 16, 64, None),
    ("general", "ssd", 32, 128, None),
    ("batch", "hdd", 32, 64, None),
    ("batch", "ssd", 64, 256, None),
    ("memory", "ssd", 16, 256, None),
    ("memory", "hdd", 32, 512, None),
    ("gpu", "ssd", 32, 128, ("nvidia.com/gpu", "present", "NoSchedule")),
    ("infra", "ssd", 8, 32, ("node-role.kubernetes.io/infra", "", "NoSchedule")),
    ("spot", "hdd", 16, 64, ("cloud.example.com/spot", "true", "NoExecute")),
]

POD_SHAPES: list[dict[str, Any]] = [
    # name, cpu m, memory Mi, selector, node affinity terms, tolerations, anti-affinity
    {"app": "web", "cpu": 500, "mem": 512, "anti": True},
    {"app": "api", "cpu": 1000, "mem": 1024, "selector": {"disktype": "ssd"}, "anti": True},
    {"app": "worker", "cpu": 2000, "mem": 4096, "selector": {"pool": "batch"}},
    {"app": "cache", "cpu": 1000, "mem": 16384, "selector": {"pool": "memory"}},
    {
        "app": "trainer",
        "cpu": 4000,
        "mem": 16384,
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
        "terms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["gpu"]}]}],
    },
    {
        "app": "monitor",
        "cpu": 250,
        "mem": 256,
        "tolerations": [{"operator": "Exists"}],
        "anti": True,
    },
    {
        "app": "ingest",
        "cpu": 750,
        "mem": 1024,
        "tolerations": [{"key": "cloud.example.com/spot", "operator": "Exists"}],
        "terms": [
            {
                "matchExpressions": [
                    {"key": "pool", "operator": "In", "values": ["spot", "batch", "general"]}
                ]
            }
        ],
    },
    {"app": "db", "cpu": 2000, "mem": 8192, "selector": {"disktype": "ssd", "pool": "general"}},
    {"app": "batch", "cpu": 1500, "mem": 2048, "selector": {"disktype": "hdd"}},
    {"app": "small", "cpu": 100, "mem": 128},
]


def _shape_nodes(nodes: int) -> Cluster:
    manifests = []
    for i in range(nodes):
        pool, disk, cpu, memory, taint = NODE_SHAPES[i % len(NODE_SHAPES)]
        manifests.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": f"node-{i}",
                    "labels": {
                        HOSTNAME: f"node-{i}",
                        "pool": pool,
                        "disktype": disk,
                        "topology.kubernetes.io/zone": synthetic.ZONES[i % 3],
                    },
                },
                "spec": {
                    "taints": (
                        [{"key": taint[0], "value": taint[1], "effect": taint[2]}] if taint else []
                    )
                },
                "status": {
                    "allocatable": {"cpu": str(cpu), "memory": f"{memory}Gi", "pods": "110"}
                },
            }
        )
    return cluster_from_manifests(manifests)


def _shape_counts(pods: int, nodes: int, factor: float = 1.0) -> list[int]:
    """Replicas per pod shape: ``pods`` split evenly, anti-affinity shapes kept to a third
    of the nodes, the others times ``factor``."""
    per_shape = pods // len(POD_SHAPES)
    counts = []
    for s, shape in enumerate(POD_SHAPES):
        count = per_shape if s < len(POD_SHAPES) - 1 else pods - per_shape * s
        if shape.get("anti"):
            counts.append(min(count, nodes // 3))
        else:
            counts.append(round(count * factor))
    return counts


def _shape_pods(counts: list[int]) -> list[Pod]:
    out = []
    for shape, count in zip(POD_SHAPES, counts, strict=True):
        for r in range(count):
            m = _pod(
                f"{shape['app']}-{r}",
                shape["app"],
                shape["cpu"],
                shape["mem"],
                selector=shape.get("selector"),
                tolerations=shape.get("tolerations"),
                anti=bool(shape.get("anti")),
                affinity_terms=shape.get("terms"),
            )
            out.append(pod_from_manifest(m))
    return out


@scenario
def shapes(pods: int, nodes: int, rng: random.Random) -> tuple[Cluster, list[Pod]]:
    del rng
    per_shape = pods // len(POD_SHAPES)
    counts = [per_shape] * (len(POD_SHAPES) - 1) + [pods - per_shape * (len(POD_SHAPES) - 1)]
    return _shape_nodes(nodes), _shape_pods(counts)


@scenario
def spread(pods: int, nodes: int, rng: random.Random) -> tuple[Cluster, list[Pod]]:
    # Replicas with hostname anti-affinity and zone spread (simulate's benchmark workload).
    cluster = cluster_from_manifests([synthetic.node_manifest(i, rng) for i in range(nodes)])
    return cluster, [pod_from_manifest(m) for m in synthetic.spread_pods(pods, apps=pods // 8)]


@scenario
def hostspread(pods: int, nodes: int, rng: random.Random) -> tuple[Cluster, list[Pod]]:
    # The same replicas spread over kubernetes.io/hostname instead (no anti-affinity): every
    # node is its own domain.
    cluster = cluster_from_manifests([synthetic.node_manifest(i, rng) for i in range(nodes)])
    manifests = synthetic.spread_pods(pods, apps=pods // 8)
    for m in manifests:
        spec: Any = m["spec"]
        spec["topologySpreadConstraints"][0]["topologyKey"] = HOSTNAME
        del spec["affinity"]
    return cluster, [pod_from_manifest(m) for m in manifests]


def hostzone_manifests(pods: int, nodes: int) -> tuple[list[Any], list[Any]]:
    """``simulate``'s cluster (5 running pods a node) and replicas spread over hostname and
    zone, both maxSkew 1 DoNotSchedule, 10 per workload."""
    manifests = synthetic.spread_pods(pods, apps=max(1, pods // 10))
    for m in manifests:
        spec: Any = m["spec"]
        del spec["affinity"]
        zone = spec["topologySpreadConstraints"][0]
        spec["topologySpreadConstraints"] = [{**zone, "topologyKey": HOSTNAME}, zone]
    return synthetic.cluster_manifests(nodes, pods_per_node=5), manifests


def minimize_manifests(pods: int, nodes: int, workloads: int = 20) -> tuple[list[Any], list[Any]]:
    """``mixed``'s nodes (no running pods) and ``workloads`` workloads spread over hostname,
    each with its own cpu (250m to 2) and memory request."""
    rng = random.Random(3)
    node_manifests = [synthetic.node_manifest(i, rng) for i in range(nodes)]
    manifests = synthetic.spread_pods(pods, apps=workloads)
    rng = random.Random(5)
    sizes = {
        f"svc-{w}": (rng.choice([250, 500, 1000, 2000]), rng.choice([256, 512, 1024, 2048]))
        for w in range(workloads)
    }
    for m in manifests:
        spec: Any = m["spec"]
        del spec["affinity"]
        spec["topologySpreadConstraints"][0]["topologyKey"] = HOSTNAME
        cpu, memory = sizes[m["metadata"]["labels"]["app"]]
        spec["containers"][0]["resources"]["requests"] = {"cpu": f"{cpu}m", "memory": f"{memory}Mi"}
    return node_manifests, manifests


def _command(args: list[str], timeout_s: float) -> tuple[float, str]:
    """Wall seconds of ``podfit ARGS`` (a fresh process, YAML loading included) and the
    line of its output with the answer (``solver: ...``; else the first)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "podfit", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    took = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"podfit {' '.join(args)} exited {done.returncode}: {done.stderr}")
    lines = done.stdout.splitlines()
    answer = [line for line in lines if line.startswith("solver: ")]
    return took, (answer or lines or [""])[0]


def _in_process(
    cluster_m: list[Any], pending_m: list[Any], question: str, timeout_s: float
) -> tuple[str, float]:
    """The solver alone (no YAML, no replay): status and seconds."""
    from podfit.solver import minimize_nodes, solve

    cluster = cluster_from_manifests(cluster_m)
    batch = [pod_from_manifest(m) for m in pending_m]
    ask = minimize_nodes if question == "minimize" else solve
    start = time.perf_counter()
    result = ask(cluster, batch, timeout_ms=int(timeout_s * 1000))
    took = time.perf_counter() - start
    extra = f" ({result.objective} nodes)" if result.objective is not None else ""
    return f"{result.status}{extra}", took


def command_rows(
    quick: bool, timeout_s: float, simulate_all: bool, per_pod_max: int
) -> list[tuple[str, str]]:
    """The command-line rows: solve against simulate on the same YAML, and --minimize nodes;
    each with the per-pod encoding's figure (the solver alone, in this process) up to
    ``per_pod_max`` (pod, node) pairs."""
    import podfit.solver.compressed as compressed

    rows = []
    cases = [("hostzone", 1000, 500, True), ("hostzone", 5000, 2500, simulate_all)]
    cases.append(("minimize", 2000, 1000, False))
    if quick:
        cases = [("hostzone", 200, 100, True), ("minimize", 400, 200, False)]
    with tempfile.TemporaryDirectory() as tmp:
        for name, pods, nodes, with_simulate in cases:
            build = hostzone_manifests if name == "hostzone" else minimize_manifests
            cluster_m, pending_m = build(pods, nodes)
            cluster_file, pods_file = Path(tmp, "cluster.yaml"), Path(tmp, "pods.yaml")
            cluster_file.write_text(yaml.safe_dump_all(cluster_m))
            pods_file.write_text(yaml.safe_dump_all(pending_m))
            files = ["-f", str(cluster_file), "--pods", str(pods_file)]
            extra = ["--minimize", "nodes"] if name == "minimize" else []
            solve_s, first = _command(["solve", *files, *extra], timeout_s * 20)
            status, inside = _in_process(cluster_m, pending_m, name, timeout_s)
            line = (
                f"`podfit solve` {first.removeprefix('solver: ')} in {solve_s:.1f} s "
                f"(the solver {status} in {inside:.1f} s)"
            )
            if with_simulate:
                simulate_s, _ = _command(["simulate", *files], timeout_s * 60)
                line += f"; `podfit simulate` {simulate_s:.1f} s: ×{solve_s / simulate_s:.2f}"
            if pods * nodes <= per_pod_max:
                saved = compressed.MIN_PAIRS
                compressed.MIN_PAIRS = sys.maxsize
                try:
                    status, per_pod_s = _in_process(cluster_m, pending_m, name, timeout_s)
                finally:
                    compressed.MIN_PAIRS = saved
                line += f"; per-pod encoding: {status} in {per_pod_s:.1f} s"
            else:
                line += f"; per-pod encoding: not run ({pods * nodes:,} (pod, node) literals)"
            label = {
                "hostzone": f"`solve` {pods:,} replicas × {nodes:,} nodes, hostname + zone spread "
                "(5 running pods a node)",
                "minimize": f"`solve --minimize nodes` {pods:,} pods of 20 workloads × {nodes:,} "
                "nodes, hostname spread",
            }[name]
            print(f"{label}: {line}", flush=True)
            rows.append((label, line))
    return rows


def busy(pods: int, nodes: int, load: float) -> tuple[Cluster, list[Pod]]:
    """Workloads of 8 replicas on the ``mixed`` nodes, each with 1 to 4 cpu times ``load``,
    a disktype nodeSelector and (every other one) hostname anti-affinity: as ``load`` grows,
    the pods stop packing greedily, then stop fitting."""
    rng = random.Random(3)
    cluster = cluster_from_manifests([synthetic.node_manifest(i, rng) for i in range(nodes)])
    cpus = [int(cpu * load) for cpu in (1000, 2000, 3000, 4000)]
    return cluster, _workloads(pods, random.Random(5), cpus)


def _relaxation_holds(cluster: Cluster, batch: list[Pod]) -> bool:
    """Whether the counting encoding's per-class query (a relaxation) is satisfiable."""
    from podfit.solver.classes import group
    from podfit.solver.compressed import CountModel
    from podfit.solver.counting import CountingSession
    from podfit.solver.session import Outcome

    g = group(cluster, batch)
    model = CountModel(g, CountingSession(timeout_ms=60_000), per_node=False)
    return model.check(60_000) is Outcome.SAT


def edge_factor(pods: int, nodes: int) -> float:
    """The largest factor on the replicas of the shapes without anti-affinity for which the
    per-class relaxation still holds (bisection): the edge of what fits."""
    cluster = _shape_nodes(nodes)
    lo, hi = 0.0, 1.0
    while _relaxation_holds(cluster, _shape_pods(_shape_counts(pods, nodes, hi))):
        lo, hi = hi, hi * 2
    for _ in range(10):
        mid = (lo + hi) / 2
        if _relaxation_holds(cluster, _shape_pods(_shape_counts(pods, nodes, mid))):
            lo = mid
        else:
            hi = mid
    return lo


def tight_case(load: float, pods: int, nodes: int, edge: float) -> tuple[Cluster, list[Pod]]:
    """``shapes`` with the replicas of the shapes without anti-affinity at ``load`` times the
    edge (1.0: as many as the relaxation allows; above: infeasible)."""
    return _shape_nodes(nodes), _shape_pods(_shape_counts(pods, nodes, load * edge))


def run(
    name: str, pods: int, nodes: int, cluster: Cluster, batch: list[Pod], timeout_s: float
) -> tuple[str, str]:
    from podfit.api import replay_placement
    from podfit.solver import solve
    from podfit.solver.classes import group

    start = time.perf_counter()
    g = group(cluster, batch)
    grouping = time.perf_counter() - start
    classes = f"{len(g.pod_classes)} pod / {len(g.node_classes)} node classes"
    start = time.perf_counter()
    result = solve(cluster, batch, timeout_ms=int(timeout_s * 1000))
    took = time.perf_counter() - start
    replay = ""
    if result.status == "feasible" and len(batch) <= REPLAY_MAX[0]:
        start = time.perf_counter()
        problems = replay_placement(cluster, batch, result.placement)
        replay = f", replay {time.perf_counter() - start:.1f} s"
        if problems:
            raise AssertionError(f"placement does not replay: {problems[:3]}")
    print(
        f"{name} {pods} pods x {nodes} nodes: {result.status} in {took:.2f} s "
        f"({classes}, grouping {grouping:.2f} s{replay})",
        flush=True,
    )
    if result.status == "infeasible":
        for line in result.explanation[:6]:
            print(f"    {line}")
    return (f"{name} {pods:,} pods × {nodes:,} nodes", f"{result.status} in {took:.1f} s")


SIZES = {
    "mixed": [(200, 100), (500, 250), (1000, 500), (2000, 1000), (5000, 2500), (10000, 5000)],
    "random": [(50, 25), (200, 100), (500, 250), (1000, 500), (5000, 2500)],
    "shapes": [(200, 100), (500, 250), (1000, 500), (2000, 1000), (5000, 2500), (10000, 5000)],
    "spread": [(200, 100), (1000, 500), (2000, 1000), (5000, 2500)],
    "hostspread": [(50, 25), (200, 100), (500, 250), (1000, 500)],
}
QUICK = {
    "mixed": [(200, 100)],
    "random": [(200, 100)],
    "shapes": [(200, 100), (2000, 1000)],
    "spread": [(200, 100)],
    "hostspread": [(200, 100)],
}
TIGHT_LOADS = [0.9, 0.97, 1.0, 1.03]
BUSY_LOADS = [1.0, 1.4, 1.65, 1.8]
# Placements of batches up to this size are replayed through the reference (--replay-max).
REPLAY_MAX = [2500]


def _sizes(text: str) -> list[tuple[int, int]]:
    try:
        return [
            (int(a), int(b))
            for a, b in (part.replace("×", "x").split("x") for part in text.split(","))
        ]
    except ValueError:
        message = f"expected sizes like 200x100,2000x1000, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None


def table(
    *,
    quick: bool = False,
    only: list[str] | None = None,
    sizes: list[tuple[int, int]] | None = None,
    timeout_s: float = 60.0,
) -> list[tuple[str, str]]:
    """Run the scenarios; the rows of the README's table."""
    rows = []
    for name, build in SCENARIOS.items():
        if only and name not in only:
            continue
        for pods, nodes in sizes or (QUICK if quick else SIZES)[name]:
            cluster, batch = build(pods, nodes, random.Random(3))
            rows.append(run(name, pods, nodes, cluster, batch, timeout_s))
    if not only or "tight" in only:
        pods, nodes = (2000, 1000) if not quick else (500, 250)
        edge = edge_factor(pods, nodes)
        for load in TIGHT_LOADS:
            cluster, batch = tight_case(load, pods, nodes, edge)
            label = f"tight {load:.0%} of the edge"
            rows.append(run(label, len(batch), nodes, cluster, batch, timeout_s))
    if not only or "busy" in only:
        pods, nodes = (2000, 500) if not quick else (400, 100)
        for load in BUSY_LOADS:
            cluster, batch = busy(pods, nodes, load)
            rows.append(run(f"busy x{load}", pods, nodes, cluster, batch, timeout_s))
    if not only or "commands" in only:
        rows += command_rows(
            quick, timeout_s=10.0, simulate_all=SIMULATE_ALL[0], per_pod_max=PER_POD_MAX[0]
        )
    return rows


# --simulate-all: run simulate beside solve at every command-line size (minutes at 5,000)
SIMULATE_ALL = [False]
# --per-pod-max: run the per-pod encoding for comparison up to this many (pod, node) pairs
# (1,000 x 500 takes it a minute or two; 2,000 x 1,000 over five)
PER_POD_MAX = [600_000]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument(
        "--only",
        action="append",
        choices=[*SCENARIOS, "tight", "busy", "commands"],
        help="run only these (commands: the command-line rows, hostzone and minimize)",
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per solve")
    parser.add_argument("--sizes", type=_sizes, help="pods x nodes to run, e.g. 200x100")
    parser.add_argument(
        "--per-pod", action="store_true", help="the per-pod encoding only (for comparison)"
    )
    parser.add_argument(
        "--replay-max",
        type=int,
        default=REPLAY_MAX[0],
        help="replay placements of batches up to this many pods (default 2500; the "
        "reference takes about 20 ms a pod on 1,000 nodes)",
    )
    parser.add_argument(
        "--simulate-all", action="store_true", help="commands: simulate beside every solve"
    )
    parser.add_argument(
        "--per-pod-max",
        type=int,
        default=PER_POD_MAX[0],
        help="commands: compare with the per-pod encoding up to this many (pod, node) pairs",
    )
    args = parser.parse_args()
    REPLAY_MAX[0] = args.replay_max
    SIMULATE_ALL[0] = args.simulate_all
    PER_POD_MAX[0] = args.per_pod_max
    if args.per_pod:
        import podfit.solver.compressed as compressed

        compressed.MIN_PAIRS = sys.maxsize
    rows = table(quick=args.quick, only=args.only, sizes=args.sizes, timeout_s=args.timeout)
    print("\n| scenario | figure |\n|---|---|")
    for label, figure in rows:
        print(f"| {label} | {figure} |")


if __name__ == "__main__":
    main()
