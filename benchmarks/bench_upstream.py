"""podfit side by side with the real kube-scheduler, on the same synthetic clusters.

    PODFIT_UPSTREAM_ORACLES=DIR python benchmarks/bench_upstream.py [--sizes 500,5000]
        [--repeat 3] [--heavy-mb 200] [--only NAME] [--data DIR]

DIR holds ``podfit-oracle-MAJOR.MINOR``: kube-scheduler's own code behind podfit's exec
protocol (the oracle evaluates every node: percentageOfNodesToScore 100). Without it the
upstream columns are skipped. What is measured, in one run:

* ``front``: the whole ``podfit explain -f DUMP --pod POD -o json`` as a user runs it
  (a new process; first run: cache off; cached: after a run that filled the cache),
  against one exec request to the oracle holding the same cluster as JSON, timed from the
  request's write to its answer, after the hello; the runs of both take turns. Wall
  clock, CPU and peak RSS.
* ``per_pod``: one pod explained in-process on a loaded cluster (the snapshot built), and
  its scheduling cycle alone, for a plain pod, a pod with required hostname anti-affinity
  and preferred zone affinity, and a pod with zone spread: the fastest CPU time, and the
  instructions (valgrind), each run as if it were the first pod of its kind (nothing
  kept from an earlier cycle of a pod alike). Upstream's cycle for the same pod is counted in instructions
  (``UpstreamCycles``: half the difference between a request for the pod and one for a
  pod PreFilter turns away at once, with GOMAXPROCS=1) and turned into one-core time at
  the oracle's own speed, measured between podfit's runs. Needs valgrind.
* ``simulate``: ``podfit simulate`` of replicas with hostname anti-affinity and zone spread
  (every node evaluated, as the oracle does, and sampled as kube-scheduler samples), per
  pod, against upstream's one-core cycle for the first of them (as ``per_pod``).
* ``memory``: peak RSS of ``podfit explain -f`` on a dump of realistic pods (managedFields,
  status, environment, volumes) of about ``--heavy-mb`` MB, YAML and JSON.

Prints each figure, then a markdown table for the README.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".benchmarks" / "data"
VERSION = "1.36"
Row = tuple[str, str, str, str]  # scenario, podfit, upstream, ratio


# --- inputs ---------------------------------------------------------------------------------


def plain_pod() -> dict[str, Any]:
    return synthetic.pending_pod()


def affinity_pod() -> dict[str, Any]:
    pod = synthetic.pending_pod()
    pod["metadata"]["name"] = "pending-affinity"
    app = pod["metadata"]["labels"]["app"]
    pod["spec"]["affinity"] = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "topologyKey": "kubernetes.io/hostname",
                    "labelSelector": {"matchLabels": {"app": app}},
                }
            ]
        },
        "podAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 50,
                    "podAffinityTerm": {
                        "topologyKey": "topology.kubernetes.io/zone",
                        "labelSelector": {"matchLabels": {"app": "app-1"}},
                    },
                }
            ]
        },
    }
    return pod


def spread_pod() -> dict[str, Any]:
    pod = synthetic.pending_pod()
    pod["metadata"]["name"] = "pending-spread"
    app = pod["metadata"]["labels"]["app"]
    pod["spec"]["topologySpreadConstraints"] = [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": app}},
        }
    ]
    return pod


def turned_away_pod() -> dict[str, Any]:
    """A pod NodeAffinity's PreFilter rejects at once: the cost of a request without the
    scheduling (decoding, cache, snapshot)."""
    pod = synthetic.pending_pod()
    pod["metadata"]["name"] = "pending-nowhere"
    pod["spec"]["affinity"] = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchFields": [
                            {"key": "metadata.name", "operator": "In", "values": ["no-such-node"]}
                        ]
                    }
                ]
            }
        }
    }
    return pod


POD_KINDS: dict[str, Callable[[], dict[str, Any]]] = {
    "plain": plain_pod,
    "anti-affinity + preferred affinity": affinity_pod,
    "zone spread": spread_pod,
}


def dump_path(nodes: int, fmt: str) -> Path:
    """The synthetic dump (``kubectl get -o yaml|json`` form), written once."""
    path = DATA / f"cluster-{nodes}.{fmt}"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        manifests = synthetic.cluster_manifests(nodes, pods_per_node=10)
        _write_list(path, manifests, fmt)
    return path


def _write_list(path: Path, manifests: list[dict[str, Any]], fmt: str) -> None:
    doc = {"apiVersion": "v1", "kind": "List", "items": manifests, "metadata": {}}
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as out:
        if fmt == "json":
            json.dump(doc, out, indent=4)
        else:
            yaml.dump(doc, out, Dumper=yaml.CSafeDumper, sort_keys=False)
    tmp.replace(path)


def pod_file(manifest: dict[str, Any]) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"{manifest['metadata']['name']}.yaml"
    path.write_text(yaml.safe_dump(manifest))
    return path


def heavy_pod(i: int, rng: random.Random, node: str) -> dict[str, Any]:
    """A pod as the API server returns it: managed fields, status, environment, volumes."""
    pod = synthetic.pod_manifest(f"web-{i}", rng, node=node)
    app = pod["metadata"]["labels"]["app"]
    meta = pod["metadata"]
    meta.update(
        {
            "uid": f"{i:08d}-aaaa-bbbb-cccc-{rng.getrandbits(48):012x}",
            "resourceVersion": str(1000000 + i),
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "generateName": f"{app}-7d4b9c-",
            "labels": {"app": app, "pod-template-hash": "7d4b9c", "tier": "backend"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"{app}-7d4b9c",
                    "uid": f"rs-{app}",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
            "managedFields": [
                {
                    "apiVersion": "v1",
                    "fieldsType": "FieldsV1",
                    "manager": "kube-controller-manager",
                    "operation": "Update",
                    "time": "2026-01-01T00:00:00Z",
                    "fieldsV1": {
                        "f:metadata": {"f:labels": {".": {}, "f:app": {}, "f:tier": {}}},
                        "f:spec": {"f:containers": {'k:{"name":"main"}': {".": {}, "f:image": {}}}},
                    },
                },
                {
                    "apiVersion": "v1",
                    "fieldsType": "FieldsV1",
                    "manager": "kubelet",
                    "operation": "Update",
                    "subresource": "status",
                    "time": "2026-01-01T00:00:05Z",
                    "fieldsV1": {"f:status": {"f:conditions": {}, "f:containerStatuses": {}}},
                },
            ],
        }
    )
    container = pod["spec"]["containers"][0]
    container.update(
        {
            "env": [{"name": f"VAR_{k}", "value": f"value-{k}-{app}"} for k in range(8)],
            "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
            "volumeMounts": [
                {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": "token"}
            ],
            "imagePullPolicy": "IfNotPresent",
            "terminationMessagePath": "/dev/termination-log",
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 10},
        }
    )
    pod["spec"].update(
        {
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "volumes": [
                {
                    "name": "token",
                    "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]},
                }
            ],
            "priority": 0,
            "preemptionPolicy": "PreemptLowerPriority",
            "enableServiceLinks": True,
        }
    )
    pod["status"] = {
        "phase": "Running",
        "hostIP": "10.0.0.1",
        "podIP": f"10.1.{i // 250 % 250}.{i % 250}",
        "qosClass": "Burstable",
        "startTime": "2026-01-01T00:00:01Z",
        "conditions": [
            {"type": t, "status": "True", "lastTransitionTime": "2026-01-01T00:00:03Z"}
            for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
        ],
        "containerStatuses": [
            {
                "name": "main",
                "ready": True,
                "restartCount": 0,
                "image": container["image"],
                "imageID": f"registry.example.com/{app}@sha256:{rng.getrandbits(256):064x}",
                "containerID": f"containerd://{rng.getrandbits(256):064x}",
                "started": True,
                "state": {"running": {"startedAt": "2026-01-01T00:00:02Z"}},
            }
        ],
    }
    return pod


def heavy_dump(megabytes: int, fmt: str) -> Path:
    """About ``megabytes`` MB of realistic pods on nodes of 30 pods each."""
    path = DATA / f"heavy-{megabytes}mb.{fmt}"
    if path.exists():
        return path
    rng = random.Random(3)
    sample = len(yaml.dump(heavy_pod(0, rng, "node-0"), Dumper=yaml.CSafeDumper))
    if fmt == "json":
        sample = len(json.dumps(heavy_pod(0, rng, "node-0"), indent=4))
    pods = megabytes * 1_000_000 // sample
    nodes = max(1, pods // 30)
    manifests = [synthetic.node_manifest(i, rng) for i in range(nodes)]
    manifests += [heavy_pod(i, rng, f"node-{rng.randrange(nodes)}") for i in range(pods)]
    _write_list(path, manifests, fmt)
    return path


# --- running things -------------------------------------------------------------------------


class Run:
    """One finished process: wall seconds, CPU seconds, peak RSS in bytes."""

    def __init__(self, wall: float, cpu: float, rss: int, code: int) -> None:
        self.wall, self.cpu, self.rss, self.code = wall, cpu, rss, code


def run_podfit(args: list[str], env: dict[str, str]) -> Run:
    """``podfit ARGS`` in a new process; its peak RSS as GNU time reports it (wait4's figure
    is the largest of all the children waited for so far)."""
    with tempfile.NamedTemporaryFile("r") as report:
        start = time.perf_counter()
        proc = subprocess.run(
            [
                "/usr/bin/time",
                "-o",
                report.name,
                "-f",
                "%M %U %S",
                sys.executable,
                "-m",
                "podfit",
                *args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
            check=False,
        )
        wall = time.perf_counter() - start
        rss_kib, user, system = report.read().split()[-3:]
    if proc.returncode not in (0, 1):
        raise SystemExit(f"podfit {' '.join(args)} failed: {proc.stderr.decode()[-2000:]}")
    return Run(wall, float(user) + float(system), int(rss_kib) * 1024, proc.returncode)


class Oracle:
    """The upstream scheduler behind the exec protocol, one process for many requests."""

    def __init__(self, binary: Path) -> None:
        self.proc = subprocess.Popen([str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self.proc.stdout.readline()  # the hello
        self.ids = 0

    def cpu(self) -> float:
        """CPU seconds the oracle has used, every thread, at nanosecond resolution."""
        total = 0
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
        return total / 1e9

    def request(self, nodes: list[Any], pods: list[Any], pod: dict[str, Any]) -> float:
        """Seconds from writing the request to reading its answer."""
        self.ids += 1
        line = _request_line(self.ids, nodes, pods, pod).encode()
        assert self.proc.stdin is not None and self.proc.stdout is not None
        start = time.perf_counter()
        self.proc.stdin.write(line + b"\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        elapsed = time.perf_counter() - start
        if answer.get("error"):
            raise SystemExit(f"oracle: {answer['error']}")
        return elapsed

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def oracle_binary() -> Path | None:
    folder = os.environ.get("PODFIT_UPSTREAM_ORACLES")
    if not folder:
        return None
    binary = Path(folder) / f"podfit-oracle-{VERSION}"
    return binary if binary.exists() else None


def split(path: Path) -> tuple[list[Any], list[Any]]:
    with path.open() as f:
        items = (
            json.load(f)["items"]
            if path.suffix == ".json"
            else yaml.load(f, Loader=yaml.CSafeLoader)["items"]
        )
    return [m for m in items if m["kind"] == "Node"], [m for m in items if m["kind"] == "Pod"]


def median(values: list[float]) -> float:
    return statistics.median(values)


def secs(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def mib(value: float) -> str:
    return f"{value / 2**20:,.0f} MiB"


# --- scenarios ------------------------------------------------------------------------------


def front(sizes: list[int], repeat: int, oracle: Path | None) -> list[Row]:
    """The whole ``podfit explain -f`` as a user runs it, first run (cache off) and cached,
    JSON and YAML, against one oracle request holding the same cluster; the runs of both
    take turns, so that both are timed in the same minutes (medians)."""
    rows: list[Row] = []
    pod = pod_file(plain_pod())
    for n in sizes:
        server = None
        if oracle is not None:
            nodes, pods = split(dump_path(n, "json"))
            server = Oracle(oracle)
        walls: list[float] = []
        cpus: list[float] = []
        runs: dict[tuple[str, str], list[Run]] = {}
        with tempfile.TemporaryDirectory() as cache:
            cached = {"PODFIT_CACHE": "1", "PODFIT_CACHE_DIR": cache}
            for fmt in ("json", "yaml"):
                run_podfit(_explain_args(n, fmt, pod), cached)  # fills the cache
            for _ in range(repeat):
                if server is not None:
                    before = server.cpu()
                    walls.append(server.request(nodes, pods, plain_pod()))
                    cpus.append(server.cpu() - before)
                for fmt in ("json", "yaml"):
                    args = _explain_args(n, fmt, pod)
                    runs.setdefault((fmt, "first run"), []).append(
                        run_podfit(args, {"PODFIT_CACHE": "0"})
                    )
                    runs.setdefault((fmt, "cached"), []).append(run_podfit(args, cached))
        if server is not None:
            server.close()
            del nodes, pods
        upstream = median(walls) if walls else None
        upstream_cpu = median(cpus) if cpus else None
        if upstream is not None and upstream_cpu is not None:
            print(f"front {n}: upstream request {secs(upstream)} ({secs(upstream_cpu)} CPU)")
        for (fmt, label), found in runs.items():
            size = dump_path(n, fmt).stat().st_size
            wall = median([r.wall for r in found])
            cpu = median([r.cpu for r in found])
            rss = max(r.rss for r in found)
            ratio = (
                f"{wall / upstream:.2f}× wall, {cpu / upstream_cpu:.2f}× CPU"
                if upstream and upstream_cpu
                else "–"
            )
            print(
                f"front {n} {fmt} {label}: {secs(wall)} wall, {secs(cpu)} CPU, "
                f"peak RSS {mib(rss)} (input {size / 1e6:.0f} MB); upstream ratio {ratio}"
            )
            rows.append(
                (
                    f"`podfit explain -f DUMP --pod POD -o json`, {fmt.upper()}, {n:,} nodes / "
                    f"{n * 10:,} pods, {label}",
                    f"{secs(wall)} ({secs(cpu)} CPU, {mib(rss)})",
                    f"{secs(upstream)} ({secs(upstream_cpu)} CPU)"
                    if upstream and upstream_cpu
                    else "–",
                    ratio,
                )
            )
    return rows


def _explain_args(n: int, fmt: str, pod: Path) -> list[str]:
    return ["explain", "-f", str(dump_path(n, fmt)), "--pod", str(pod), "-o", "json"]


# The oracle's environment for per-pod figures: one core, no garbage collection (which
# request a collection lands in is chance, not the pod), no asynchronous preemption (its
# signals upset valgrind).
ONE_CORE = {"GOMAXPROCS": "1", "GOGC": "off", "GODEBUG": "asyncpreemptoff=1"}


def _request_line(ident: int, nodes: list[Any], pods: list[Any], pod: dict[str, Any]) -> str:
    return json.dumps(
        {
            "protocol": "podfit/1",
            "id": ident,
            "nodes": nodes,
            "pods": pods,
            "namespaces": [],
            "pod": pod,
        }
    )


def _requests_file(folder: Path, name: str, lines: list[str]) -> Path:
    path = folder / f"{name}.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _instructions(binary: Path, requests: Path) -> subprocess.Popen[bytes]:
    """valgrind counting the user-space instructions the oracle executes on ``requests``."""
    return subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", str(binary)],
        stdin=requests.open("rb"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **ONE_CORE},
    )


def _collected(proc: subprocess.Popen[bytes]) -> int:
    _, err = proc.communicate()
    for line in err.decode(errors="replace").splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1].strip())
    raise SystemExit(f"valgrind gave no instruction count:\n{err.decode(errors='replace')[-2000:]}")


def _user_seconds(binary: Path, requests: Path) -> float:
    """User CPU seconds of one oracle process answering ``requests`` natively."""
    with requests.open("rb") as stdin:
        proc = subprocess.Popen(
            [str(binary)],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            env={**os.environ, **ONE_CORE},
        )
        _, _, usage = os.wait4(proc.pid, 0)
    return usage.ru_utime


class UpstreamCycles:
    """kube-scheduler's one-core cost of one scheduling cycle, from instruction counts.

    An oracle request decodes the whole cluster (seconds at 5,000 nodes) and schedules the
    pod twice (its per-node details, then the decision); a cycle is milliseconds, and the
    difference of two requests' CPU times on a shared machine is noise. valgrind's count of
    the instructions executed is the same from run to run whatever else the machine does:
    a cycle costs half of (the instructions of a request for the pod - those of a request
    for a pod PreFilter turns away at once), each after the same warm-up request. Counts
    become time at the oracle's own speed, measured on the turned-away requests: their
    instructions / the fastest native run's user CPU seconds (``time_base``, called between
    podfit's runs so that both are timed in the same minutes)."""

    def __init__(self, binary: Path, nodes: list[Any], pods: list[Any]) -> None:
        self.binary = binary
        self.folder = Path(tempfile.mkdtemp(prefix="podfit-bench-"))
        self.warm_up = _request_line(1, nodes, pods, turned_away_pod())
        self.nodes, self.pods = nodes, pods
        self.base = self._file("base", turned_away_pod())
        self.fastest = float("inf")

    def _file(self, name: str, pod: dict[str, Any]) -> Path:
        line = _request_line(2, self.nodes, self.pods, pod)
        return _requests_file(self.folder, name, [self.warm_up, line])

    def time_base(self) -> None:
        self.fastest = min(self.fastest, _user_seconds(self.binary, self.base))

    def count(self, kinds: dict[str, dict[str, Any]]) -> dict[str, int]:
        """kind -> instructions of one cycle, counted two at a time."""
        files = {"": self.base} | {
            kind: self._file(str(i), pod) for i, (kind, pod) in enumerate(kinds.items())
        }
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            totals = dict(
                zip(
                    files,
                    pool.map(lambda f: _collected(_instructions(self.binary, f)), files.values()),
                    strict=True,
                )
            )
        self.base_instructions = totals.pop("")
        return {
            kind: max(0, (total - self.base_instructions) // 2) for kind, total in totals.items()
        }

    def seconds(self, instructions: int) -> float:
        return instructions / (self.base_instructions / self.fastest)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def podfit_instructions(n: int, kinds: list[str]) -> dict[str, tuple[int, int]]:
    """kind -> instructions of podfit's explain and of its cycle alone, counted by valgrind
    in a child process that turns counting on only around each call and dumps the count."""
    folder = Path(tempfile.mkdtemp(prefix="podfit-bench-"))
    try:
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={folder / 'count'}",
                sys.executable,
                __file__,
                "--count-instructions",
                str(n),
                *kinds,
            ],
            capture_output=True,
            check=True,
            env={**os.environ, "PODFIT_CACHE": "0"},
        )
        counted: dict[str, int] = {}
        for dump in folder.glob("count.*"):
            text = dump.read_text()
            if "desc: Trigger: dump " in text and "\ntotals: " in text:
                label = text.split("desc: Trigger: dump ", 1)[1].split("\n", 1)[0]
                counted[label.strip()] = int(text.split("\ntotals: ", 1)[1].split()[0])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {kind: (counted[f"{i}-whole"], counted[f"{i}-cycle"]) for i, kind in enumerate(kinds)}


def afresh(cluster: Any) -> None:
    """Forget the answers kept from earlier cycles for pods alike (``Columns.memo``): a
    pod explained again is timed as if it were the first of its kind."""
    from podfit.reference.framework import snapshot_of

    snapshot_of(cluster).columns().forget()


def _count_own_instructions(n: int, kinds: list[str]) -> None:
    """Under valgrind (see :func:`podfit_instructions`): each kind's explain and cycle,
    counted alone, dumped as ``INDEX-whole`` and ``INDEX-cycle``."""
    import gc

    import podfit
    from podfit.loading import pod_from_manifest
    from podfit.reference.framework import snapshot_of
    from podfit.reference.scheduler import schedule_one

    cluster = podfit.load(dump_path(n, "json"))
    snapshot_of(cluster)
    me = str(os.getpid())

    def control(*args: str) -> None:
        subprocess.run(["callgrind_control", *args, me], capture_output=True, check=True)

    def counted(label: str, run: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        run(*args, **kwargs)  # warm
        gc.collect()
        afresh(cluster)
        control("--zero")
        control("--instr=on")
        run(*args, **kwargs)
        control("--instr=off")
        control(f"--dump={label}")

    for i, kind in enumerate(kinds):
        pod = pod_from_manifest(POD_KINDS[kind]())
        counted(f"{i}-whole", podfit.explain, cluster, pod)
        counted(f"{i}-cycle", schedule_one, cluster, pod, None, details=False)


def per_pod(sizes: list[int], repeat: int, oracle: Path | None) -> list[Row]:
    """podfit's explain of one pod in-process on the loaded cluster (the snapshot built),
    and its scheduling cycle alone (no details), each run with nothing kept from an earlier
    cycle of the same pod (:func:`afresh`), the fastest of its runs' CPU time, against
    kube-scheduler's cycle (:class:`UpstreamCycles`), both timed in the same minutes; and
    both sides' instruction counts (valgrind), which the machine's load does not move."""
    import gc

    import podfit
    from podfit.loading import pod_from_manifest
    from podfit.reference.framework import snapshot_of
    from podfit.reference.scheduler import schedule_one

    def timed(run: Callable[..., object], *args: Any, **kwargs: Any) -> float:
        afresh(cluster)
        start = time.process_time()
        run(*args, **kwargs)
        return time.process_time() - start

    counting = shutil.which("valgrind") is not None
    if not counting:
        print("instruction counts and upstream per-pod figures skipped: they need valgrind")
    rows: list[Row] = []
    for n in sizes:
        cluster = podfit.load(dump_path(n, "json"))
        snapshot_of(cluster)
        pods = {kind: pod_from_manifest(make()) for kind, make in POD_KINDS.items()}
        upstream = None
        if oracle is not None and counting:
            upstream = UpstreamCycles(oracle, *split(dump_path(n, "json")))
        whole = dict.fromkeys(pods, float("inf"))
        cycle = dict.fromkeys(pods, float("inf"))
        try:
            for _ in range(repeat):
                if upstream is not None:
                    upstream.time_base()
                for kind, pod in pods.items():
                    for _ in range(5):
                        gc.collect()
                        whole[kind] = min(whole[kind], timed(podfit.explain, cluster, pod))
                        cycle[kind] = min(
                            cycle[kind], timed(schedule_one, cluster, pod, None, details=False)
                        )
            ours_counted = podfit_instructions(n, list(pods)) if counting else {}
            theirs_counted = (
                upstream.count({kind: make() for kind, make in POD_KINDS.items()})
                if upstream is not None
                else {}
            )
        finally:
            if upstream is not None:
                upstream.close()
        for kind in pods:
            ours = f"{secs(whole[kind])} (the cycle alone {secs(cycle[kind])})"
            theirs, ratio = "–", "–"
            if kind in ours_counted:
                ours += f"; {ours_counted[kind][0] / 1e6:.0f} M instructions"
            if upstream is not None and kind in theirs_counted:
                instructions = theirs_counted[kind]
                upstream_seconds = upstream.seconds(instructions)
                theirs = f"{secs(upstream_seconds)}; {instructions / 1e6:.0f} M instructions"
                ratio = f"{whole[kind] / upstream_seconds:.2f}× in time"
                if kind in ours_counted:
                    ratio += f", {ours_counted[kind][0] / instructions:.2f}× in instructions"
            print(f"per pod {n} {kind}: podfit {ours}; upstream cycle {theirs}; {ratio}")
            rows.append(
                (
                    f"explain one pod ({kind}), {n:,} nodes / {n * 10:,} pods, one core",
                    ours,
                    theirs,
                    ratio,
                )
            )
    return rows


def simulate(repeat: int, oracle: Path | None, count: int = 200) -> list[Row]:
    """podfit simulate's cost per pod (every node evaluated, and sampled as kube-scheduler
    samples; the fastest of ``repeat`` runs' CPU time) against kube-scheduler's one-core
    cycle for the first replica (:class:`UpstreamCycles`), timed between podfit's runs."""
    import podfit
    from podfit.loading import pod_from_manifest
    from podfit.reference import framework

    nodes_count = 500
    path = dump_path(nodes_count, "json")
    cluster = podfit.load(path)
    manifests = synthetic.spread_pods(count)
    pods = [pod_from_manifest(m) for m in manifests]
    sampled = framework.num_feasible_nodes_to_find
    upstream = None
    if oracle is not None and shutil.which("valgrind") is not None:
        upstream = UpstreamCycles(oracle, *split(path))
    ours: dict[str, float] = {}
    try:
        for label, every_node in (("every node", True), ("sampled", False)):
            if every_node:
                framework.num_feasible_nodes_to_find = lambda num_nodes, percentage=0: num_nodes
            try:
                for _ in range(repeat):
                    if upstream is not None:
                        upstream.time_base()
                    start = time.process_time()
                    podfit.simulate(cluster, pods)
                    spent = (time.process_time() - start) / count
                    ours[label] = min(ours.get(label, spent), spent)
            finally:
                framework.num_feasible_nodes_to_find = sampled
        theirs = None
        if upstream is not None:
            theirs = upstream.seconds(upstream.count({"replica": manifests[0]})["replica"])
    finally:
        if upstream is not None:
            upstream.close()
    rows: list[Row] = []
    for label, mine in ours.items():
        ratio = f"{mine / theirs:.2f}×" if theirs else "–"
        print(
            f"simulate {label}: podfit {secs(mine)} a pod, upstream "
            f"{secs(theirs) if theirs else '–'}; {ratio}"
        )
        rows.append(
            (
                f"`simulate` {count} replicas (hostname anti-affinity + zone spread), "
                f"{nodes_count} nodes / {nodes_count * 10:,} pods, {label}, per pod",
                secs(mine),
                f"{secs(theirs)} a cycle" if theirs else "–",
                ratio,
            )
        )
    return rows


def memory(megabytes: int) -> list[Row]:
    rows: list[Row] = []
    pod = pod_file(plain_pod())
    for fmt in ("yaml", "json"):
        dump = heavy_dump(megabytes, fmt)
        size = dump.stat().st_size
        run = run_podfit(
            ["explain", "-f", str(dump), "--pod", str(pod), "-o", "json"], {"PODFIT_CACHE": "0"}
        )
        print(
            f"memory {fmt}: {size / 1e6:.0f} MB dump, peak RSS {mib(run.rss)} "
            f"({run.rss / size:.2f}× the input), {secs(run.wall)} wall, {secs(run.cpu)} CPU"
        )
        rows.append(
            (
                f"`podfit explain -f` on a {size / 1e6:.0f} MB {fmt.upper()} dump of realistic pods, peak RSS",
                f"{mib(run.rss)} ({run.rss / size:.2f}× the input; {secs(run.wall)})",
                "–",
                "–",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="500,5000", help="node counts (10 running pods each)")
    parser.add_argument(
        "--repeat", type=int, default=5, help="runs per figure (median; fastest for per pod)"
    )
    parser.add_argument("--heavy-mb", type=int, default=200)
    parser.add_argument(
        "--only", action="append", choices=["front", "per_pod", "simulate", "memory"]
    )
    parser.add_argument("--count-instructions", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count_instructions:
        _count_own_instructions(int(args.count_instructions[0]), args.count_instructions[1:])
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    oracle = oracle_binary()
    if oracle is None:
        print(
            "upstream columns skipped: set PODFIT_UPSTREAM_ORACLES to a directory holding "
            f"podfit-oracle-{VERSION}"
        )
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {load:.1f}, Python {sys.version.split()[0]}")
    rows: list[Row] = []
    chosen = args.only or ["front", "per_pod", "simulate", "memory"]
    if "front" in chosen:
        rows += front(sizes, args.repeat, oracle)
    if "per_pod" in chosen:
        rows += per_pod(sizes, args.repeat, oracle)
    if "simulate" in chosen:
        rows += simulate(args.repeat, oracle)
    if "memory" in chosen:
        rows += memory(args.heavy_mb)
    print("\n| scenario | podfit | upstream | podfit / upstream |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
