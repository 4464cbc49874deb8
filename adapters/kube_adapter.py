"""A live cluster's scheduler under test, through the official ``kubernetes`` client.

For every pod podfit asks about, the adapter makes the live cluster hold what the podfit
cluster holds (fake nodes, the pods running on them, namespaces), creates the pod with the
scheduler name under test, watches it until it is bound or marked ``PodScheduled=False``,
and maps the answer back.

Two ways to get nodes (option ``nodes``):

* ``kwok`` (default): fake Nodes for KWOK (https://kwok.sigs.k8s.io) or any controller
  that marks nodes annotated ``kwok.x-k8s.io/node=fake`` Ready. They are kept in a pool
  and reused by later examples with the same node (labels, taints, capacity, cordon): a
  node is created once, not once per example. Each is named ``podfit-<run>-n<k>``,
  labelled ``podfit.dev/node=<its name>`` and tainted ``podfit.dev/fenced=true:NoSchedule``
  so that nothing else lands on it; the pod under test is pinned to the example's nodes
  by a ``podfit.dev/node In (...)`` requirement added to each of its node affinity terms.
* ``existing``: no nodes are created; the podfit cluster must describe the live nodes
  (e.g. ``kubectl get nodes,pods -A -o yaml``) and the adapter checks their names.

Pace: independent requests go out in parallel, answers come from watches (no polling),
and the only waits are for objects the scheduler has not seen yet (new nodes: until they
are Ready, plus ``settle``). A premature "unschedulable" from a scheduler that had not yet
seen the example's nodes (its message counts fewer nodes than exist) is asked again.

Safety: a context whose name (or cluster name) looks like production is refused unless
``allow-production=true``. Everything the adapter creates carries ``podfit.dev/owned=true``
and ``podfit.dev/run=<run>``; deletes name the uid podfit created (a replaced object is
never touched), and nodes and namespaces are re-read first (relabelled ones are left
alone). A run holds a Lease in its namespace ``podfit-<run>`` and renews it; a later run
removes what runs whose lease has expired left behind (a crash, a kill), never anything
else. Cleanup runs at ``close()``, on Ctrl-C and at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import re
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from podfit.cluster import Cluster
from podfit.conformance.decisions import ALL_AREAS, Decision
from podfit.kube import Kube, KubeError
from podfit.manifest import to_manifest
from podfit.model import NAMESPACE_NAME_LABEL, Node, Pod

if TYPE_CHECKING:
    from podfit.adapters import Options

OWNED_LABEL = "podfit.dev/owned"
RUN_LABEL = "podfit.dev/run"
NODE_LABEL = "podfit.dev/node"
FENCE_TAINT_KEY = "podfit.dev/fenced"
FENCE_TAINT = {"key": FENCE_TAINT_KEY, "value": "true", "effect": "NoSchedule"}
FENCE_TOLERATION = {
    "key": FENCE_TAINT_KEY,
    "operator": "Equal",
    "value": "true",
    "effect": "NoSchedule",
}
KWOK_ANNOTATION = "kwok.x-k8s.io/node"
NODE_MODES = ("kwok", "existing")
LEASE_NAME = "podfit-run"
RUNTIME_HANDLER = "podfit"
NAME_NODE_FIELD = "metadata.name"
DEFAULT_TIMEOUT = 30.0
DEFAULT_READY_TIMEOUT = 30.0
DEFAULT_SETTLE = 0.05
DEFAULT_LEASE = 30.0
DEFAULT_POOL = 48
# A word in a context name that suggests a production cluster.
_WORD = re.compile(r"[a-z0-9]+")
# kube-scheduler's FitError: "0/N nodes are available: ..." (N: every node it knows).
_NODES_SEEN = re.compile(r"^0/(\d+) nodes are available")
# Taints other components put on new nodes until they are Ready (TaintNodesByCondition).
_TRANSIENT_TAINT = "node.kubernetes.io/"

NODES = "/api/v1/nodes"
NAMESPACES = "/api/v1/namespaces"
RUNTIME_CLASSES = "/apis/node.k8s.io/v1/runtimeclasses"
ALL_PODS = "/api/v1/pods"


class KubeFailure(Exception):
    """A step against the live cluster failed; the pod gets an error Decision."""


# --- safety ------------------------------------------------------------------------------


def production_word(name: str) -> str | None:
    """The word that makes ``name`` look like a production cluster, if any."""
    words: list[str] = _WORD.findall(name.lower())
    for word in words:
        if word.startswith("prod") or word in ("prd", "live"):
            return word
    return None


def check_context(context: str, cluster: str | None, *, allow_production: bool) -> None:
    """Refuse contexts that look like production unless explicitly allowed."""
    from podfit.adapters import AdapterSetupError

    if allow_production:
        return
    for what, name in (("context", context), ("cluster", cluster)):
        word = production_word(name or "")
        if word is not None:
            raise AdapterSetupError(
                f"kube: refusing {what} {name!r}: its name looks like production "
                f"({word!r}); podfit creates and deletes objects there. If you really mean "
                "it, add ?allow-production=true to the spec"
            )


def run_of(labels: Mapping[str, str] | None) -> str | None:
    """The podfit run an object belongs to, or None when it is not podfit's."""
    labels = labels or {}
    if labels.get(OWNED_LABEL) != "true" or not labels.get(RUN_LABEL):
        return None
    return labels[RUN_LABEL].split("-", 1)[0]


def is_owned(labels: Mapping[str, str] | None, run: str) -> bool:
    """True when an object carries podfit's ownership label and a label of this run."""
    return run_of(labels) == run


# --- object building -----------------------------------------------------------------------


def _owned_labels(labels: Mapping[str, str] | None, run: str) -> dict[str, str]:
    return {**(labels or {}), OWNED_LABEL: "true", RUN_LABEL: run}


def node_content(node: Node) -> dict[str, Any]:
    """What a live node must hold to stand for ``node`` (everything but its name)."""
    manifest = to_manifest(node)
    meta = manifest["metadata"]
    for key in ("name", "creationTimestamp", "uid"):
        meta.pop(key, None)
    spec = manifest.setdefault("spec", {})
    spec["taints"] = [
        {k: v for k, v in t.items() if k != "timeAdded"} for t in spec.get("taints", [])
    ]
    status = manifest.setdefault("status", {})
    status.pop("conditions", None)  # KWOK reports the node's conditions itself
    return manifest


def content_key(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def node_object(content: Mapping[str, Any], name: str, run: str) -> dict[str, Any]:
    """A fake KWOK Node: ``content`` under a live name, labelled as podfit's, fenced."""
    manifest: dict[str, Any] = json.loads(json.dumps(content))
    meta = manifest["metadata"]
    meta["name"] = name
    meta["labels"] = {**_owned_labels(meta.get("labels"), run), NODE_LABEL: name}
    meta["annotations"] = {**meta.get("annotations", {}), KWOK_ANNOTATION: "fake"}
    spec = manifest.setdefault("spec", {})
    spec["taints"] = [*spec.get("taints", []), dict(FENCE_TAINT)]
    return manifest


def _rename_match_fields(terms: Iterable[Any], rename: Callable[[str], str]) -> None:
    for term in terms:
        for requirement in (term or {}).get("matchFields", []):
            if requirement.get("key") == NAME_NODE_FIELD:
                requirement["values"] = [rename(v) for v in requirement.get("values", [])]


def _rewrite_affinity(
    spec: dict[str, Any], rename_node: Callable[[str], str], namespace_of: Callable[[str], str]
) -> None:
    affinity = spec.get("affinity") or {}
    node_affinity = affinity.get("nodeAffinity") or {}
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    _rename_match_fields(required.get("nodeSelectorTerms", []), rename_node)
    preferred = node_affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or []
    _rename_match_fields((p.get("preference") for p in preferred), rename_node)
    for kind in ("podAffinity", "podAntiAffinity"):
        group = affinity.get(kind) or {}
        terms = list(group.get("requiredDuringSchedulingIgnoredDuringExecution") or [])
        terms += [
            w.get("podAffinityTerm") or {}
            for w in group.get("preferredDuringSchedulingIgnoredDuringExecution") or []
        ]
        for term in terms:
            if term.get("namespaces"):
                term["namespaces"] = [namespace_of(ns) for ns in term["namespaces"]]


def pin_to_nodes(spec: dict[str, Any], names: Sequence[str]) -> None:
    """Let the pod land only on ``names``: ``podfit.dev/node In (names)`` joins every node
    affinity term (terms are ORed, a term's requirements ANDed). An empty term matches no
    node and stays empty; a pod without required terms gets one. (A nodeSelector cannot
    name several nodes, and ``matchFields`` on metadata.name takes one value only.)"""
    pin = {"key": NODE_LABEL, "operator": "In", "values": sorted(names)}
    affinity = spec.setdefault("affinity", {})
    node_affinity = affinity.setdefault("nodeAffinity", {})
    required = node_affinity.setdefault("requiredDuringSchedulingIgnoredDuringExecution", {})
    terms = required.setdefault("nodeSelectorTerms", [])
    if not terms:
        terms.append({"matchExpressions": [pin]})
        return
    for term in terms:
        if term.get("matchExpressions") or term.get("matchFields"):
            term["matchExpressions"] = [*term.get("matchExpressions", []), dict(pin)]


def pod_object(
    pod: Pod,
    *,
    run: str,
    namespace_of: Callable[[str], str],
    node_of: Callable[[str], str] | None,
    name: str | None = None,
    scheduler_name: str | None = None,
    pin: Sequence[str] | None = None,
    runtime_class: str | None = None,
) -> dict[str, Any]:
    """``pod`` as a manifest for the live cluster.

    Moved into its scratch namespace, labelled as podfit's, stripped of what the API
    server would reject or act on (status, owner references, priority: the Priority
    admission plugin recomputes it, and equal priorities keep preemption out). With fake
    nodes (``node_of``), node names are renamed into the live ones and the fence taint
    is tolerated; ``pin`` limits where it may land. A pod with ``overhead`` names the
    RuntimeClass that defines it (the RuntimeClass admission plugin refuses it otherwise).
    """
    manifest = to_manifest(pod)
    manifest.pop("status", None)
    meta = manifest["metadata"]
    for key in ("uid", "creationTimestamp", "deletionTimestamp", "ownerReferences"):
        meta.pop(key, None)
    if name is not None:
        meta["name"] = name
    meta["namespace"] = namespace_of(pod.namespace)
    meta["labels"] = _owned_labels(meta.get("labels"), run)
    spec = manifest.setdefault("spec", {})
    for key in ("priority", "priorityClassName", "preemptionPolicy", "nominatedNodeName"):
        spec.pop(key, None)
    # Nothing runs these pods: deleting them must not wait for a kubelet.
    spec["terminationGracePeriodSeconds"] = 0
    rename = node_of if node_of is not None else (lambda n: n)
    if spec.get("nodeName"):
        spec["nodeName"] = rename(spec["nodeName"])
    _rewrite_affinity(spec, rename, namespace_of)
    if node_of is not None:
        spec["tolerations"] = [*spec.get("tolerations", []), dict(FENCE_TOLERATION)]
    if pin is not None and not pod.node_name:
        pin_to_nodes(spec, pin)
    if runtime_class is not None:
        spec["runtimeClassName"] = runtime_class
    if scheduler_name is not None:
        spec["schedulerName"] = scheduler_name
    return manifest


def namespace_object(name: str, labels: Mapping[str, str], run: str) -> dict[str, Any]:
    copied = {k: v for k, v in labels.items() if k != NAMESPACE_NAME_LABEL}
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": _owned_labels(copied, run)},
    }


def runtime_class_object(name: str, overhead: Mapping[str, str], run: str) -> dict[str, Any]:
    return {
        "apiVersion": "node.k8s.io/v1",
        "kind": "RuntimeClass",
        "metadata": {"name": name, "labels": _owned_labels({}, run)},
        "handler": RUNTIME_HANDLER,
        "overhead": {"podFixed": dict(overhead)},
    }


def needs_isolation(pod: Pod) -> frozenset[str]:
    """Topology keys on which nodes outside the example would change the answer.

    A DoNotSchedule spread constraint with ``nodeAffinityPolicy: Ignore`` counts every
    node carrying its key as a domain, whatever the pod's node affinity (the pin included)
    says; tolerating every taint defeats the fence too. Other rules only read nodes that
    run pods, and the adapter's other nodes run none."""
    return frozenset(
        c.topology_key
        for c in pod.topology_spread_constraints
        if c.when_unsatisfiable == "DoNotSchedule" and c.node_affinity_policy == "Ignore"
    )


def _taints(obj: Mapping[str, Any]) -> set[tuple[str, str]]:
    return {(str(t.get("key", "")), str(t.get("effect", ""))) for t in _spec_taints(obj)}


def _spec_taints(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list((obj.get("spec") or {}).get("taints") or [])


def _node_settled(obj: Mapping[str, Any], expected: Mapping[str, set[tuple[str, str]]]) -> bool:
    """Ready, and free of the taints controllers put on nodes that are not ready yet
    (``node.kubernetes.io/...`` ones podfit did not put there itself)."""
    name = str(_meta(obj, "name"))
    if name not in expected:
        return False
    status = obj.get("status") or {}
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )
    added = {t for t in _taints(obj) - expected[name] if t[0].startswith(_TRANSIENT_TAINT)}
    return ready and not added


def _micro_time(at: float | None = None) -> str:
    moment = datetime.fromtimestamp(at if at is not None else time.time(), UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(text: str | None) -> float | None:
    if not text:
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return None


def _meta(obj: Mapping[str, Any], key: str) -> Any:
    return (obj.get("metadata") or {}).get(key)


def _path(kind: str, name: str, namespace: str | None = None) -> str:
    if kind == "pod":
        return f"{NAMESPACES}/{namespace}/pods/{name}"
    if kind == "node":
        return f"{NODES}/{name}"
    if kind == "runtimeclass":
        return f"{RUNTIME_CLASSES}/{name}"
    if kind == "lease":
        return f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}"
    return f"{NAMESPACES}/{name}"


# --- client ------------------------------------------------------------------------------


def connect(context: str, kubeconfig: str | None, *, allow_production: bool) -> Kube:
    """A client for a kubeconfig context, after the safety check."""
    from podfit.adapters import AdapterSetupError

    if context:  # refuse before even reading the kubeconfig
        check_context(context, None, allow_production=allow_production)
    try:
        kube = Kube(context or None, kubeconfig=kubeconfig)
    except KubeError as exc:
        raise AdapterSetupError(f"kube: {exc}") from None
    try:
        check_context(kube.context, kube.cluster, allow_production=allow_production)
    except AdapterSetupError:
        kube.close()
        raise
    return kube


_LIVE: weakref.WeakSet[KubeScheduler] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for scheduler in list(_LIVE):
        with contextlib.suppress(Exception):
            scheduler.close()


@dataclass
class _Created:
    """A live object podfit created: enough to delete exactly it."""

    kind: str
    name: str
    uid: str
    namespace: str | None = None
    version: str = ""  # the resourceVersion the create answered with
    answer: dict[str, Any] = field(default_factory=dict)  # the create's answer (pods)


@dataclass
class _Call:
    """One schedule(): the live names of the example's nodes and namespaces."""

    nodes: dict[str, str] = field(default_factory=dict)  # podfit name -> live name
    namespaces: dict[str, str] = field(default_factory=dict)  # podfit name -> live name
    missing: str = ""

    def node(self, name: str) -> str:
        # A name the example does not have (a selector naming a missing node) must match
        # no live node either.
        return self.nodes.get(name) or f"{self.missing}{name}"[:253]


class KubeScheduler:
    """The scheduler of a live cluster (kind, KWOK, a local control plane), one pod at a time."""

    def __init__(
        self,
        context: str = "",
        *,
        kubeconfig: str | None = None,
        nodes: str = "kwok",
        scheduler_name: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        ready_timeout: float = DEFAULT_READY_TIMEOUT,
        settle: float = DEFAULT_SETTLE,
        lease_seconds: float = DEFAULT_LEASE,
        pool_size: int = DEFAULT_POOL,
        workers: int = 8,
        allow_production: bool = False,
        areas: frozenset[str] = ALL_AREAS,
        kube: Any = None,
        cluster_name: str | None = None,
    ) -> None:
        from podfit.adapters import AdapterSetupError

        if nodes not in NODE_MODES:
            raise AdapterSetupError(
                f"kube: option nodes={nodes!r}: expected one of {', '.join(NODE_MODES)}"
            )
        if kube is None:
            kube = connect(context, kubeconfig, allow_production=allow_production)
            context = kube.context
        else:
            # An injected client (tests, embedding) still goes through the safety check.
            check_context(context, cluster_name, allow_production=allow_production)
        self.kube = kube
        self.context = context
        self.name = f"kube:{context}"
        self.areas = areas
        self.kwok = nodes == "kwok"
        self.scheduler_name = scheduler_name
        self.timeout = timeout
        self.ready_timeout = ready_timeout
        self.settle = settle
        self.lease_seconds = lease_seconds
        self.pool_size = max(pool_size, 8)
        self.run = secrets.token_hex(3)
        self.home = f"podfit-{self.run}"  # holds the run's lease
        self.skipped: list[str] = []  # objects not deleted because they were not ours
        self.swept: list[str] = []  # leftovers of dead runs this run removed
        self.stats = {"calls": 0, "nodes_created": 0, "nodes_reused": 0, "retries": 0}
        self._workers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="podfit-kube")
        self._lock = threading.Lock()
        self._sequence = 0
        self._pool: dict[str, str] = {}  # live node name -> content key (oldest first)
        self._node_labels: dict[str, dict[str, str]] = {}
        self._node_uids: dict[str, str] = {}
        self._namespaces: dict[tuple[str, str], _Created] = {}  # (name, labels) -> namespace
        self._runtime_classes: dict[str, _Created] = {}  # overhead key -> RuntimeClass
        self._pods: list[_Created] = []  # the last call's pods, deleted by the next one
        self._closed = False
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        _LIVE.add(self)
        try:
            self._start()
        except KubeError as exc:
            self.close()
            raise AdapterSetupError(f"kube: cannot start in context {context!r}: {exc}") from None

    # -- run lifecycle --

    def _start(self) -> None:
        """Claim a lease for this run, then remove what dead runs left behind."""
        body = namespace_object(self.home, {}, self.run)
        created = self.kube.create(NAMESPACES, body)
        self._home = _Created("namespace", self.home, str(_meta(created, "uid")))
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": LEASE_NAME, "labels": _owned_labels({}, self.run)},
            "spec": {
                "holderIdentity": f"podfit-{self.run}",
                "leaseDurationSeconds": max(1, int(self.lease_seconds)),
                "acquireTime": _micro_time(),
                "renewTime": _micro_time(),
            },
        }
        self.kube.create(f"/apis/coordination.k8s.io/v1/namespaces/{self.home}/leases", lease)
        self._renewer = threading.Thread(target=self._renew, name="podfit-lease", daemon=True)
        self._renewer.start()
        self.sweep()

    def _renew(self) -> None:
        interval = max(0.5, self.lease_seconds / 3)
        while not self._stop.wait(interval):
            with contextlib.suppress(Exception):
                self.kube.request(
                    "PATCH",
                    _path("lease", LEASE_NAME, self.home),
                    body={"spec": {"renewTime": _micro_time()}},
                    content_type="application/merge-patch+json",
                )

    def _run_alive(self, run: str, now: float) -> bool:
        """A run is alive while its lease is renewed (with a margin for clock skew)."""
        try:
            lease = self.kube.get(_path("lease", LEASE_NAME, f"podfit-{run}"))
        except KubeError as exc:
            if exc.status == 404:
                return False
            raise
        spec = lease.get("spec") or {}
        renewed = _parse_time(spec.get("renewTime"))
        duration = float(spec.get("leaseDurationSeconds") or DEFAULT_LEASE)
        return renewed is not None and renewed + duration + min(duration, 10.0) > now

    def sweep(self) -> list[str]:
        """Delete what runs whose lease has expired left behind (pods, nodes, runtime
        classes, namespaces carrying their ``podfit.dev/run`` label); objects of live runs
        and anything not labelled as podfit's are never touched. Returns what was removed."""
        selector = f"{OWNED_LABEL}=true"
        found: dict[str, list[dict[str, Any]]] = {}
        for kind, path in (
            ("pod", ALL_PODS),
            ("node", NODES),
            ("runtimeclass", RUNTIME_CLASSES),
            ("namespace", NAMESPACES),
        ):
            try:
                items, _ = self.kube.list(path, label_selector=selector)
            except KubeError as exc:
                if exc.status in (403, 404):
                    continue  # not allowed to see them: nothing of ours we could remove
                raise
            found[kind] = items
        now = time.time()
        alive: dict[str, bool] = {self.run: True}
        removed: list[str] = []
        for kind in ("pod", "node", "runtimeclass", "namespace"):
            jobs = []
            for item in found.get(kind, []):
                run = run_of(_meta(item, "labels"))
                if run is None:
                    continue
                if run not in alive:
                    alive[run] = self._run_alive(run, now)
                if alive[run]:
                    continue
                target = _Created(
                    kind,
                    str(_meta(item, "name")),
                    str(_meta(item, "uid")),
                    _meta(item, "namespace"),
                )
                jobs.append(target)
            for target, ok in zip(jobs, self._workers.map(self._delete_quietly, jobs), strict=True):
                if ok:
                    where = f"{target.namespace}/" if target.namespace else ""
                    removed.append(f"{target.kind} {where}{target.name}")
        self.swept.extend(removed)
        return removed

    def _delete_quietly(self, target: _Created) -> bool:
        try:
            self._delete(target)
            return True
        except KubeFailure:
            return False

    # -- deleting --

    def _delete(self, target: _Created, *, check_labels: bool = False) -> None:
        """Delete exactly the object podfit created (its uid); gone already is fine."""
        path = _path(target.kind, target.name, target.namespace)
        if check_labels:
            try:
                live = self.kube.get(path)
            except KubeError as exc:
                if exc.status == 404:
                    return
                raise KubeFailure(f"reading {target.kind} {target.name} failed: {exc}") from None
            if run_of(_meta(live, "labels")) is None:
                self.skipped.append(f"{target.kind} {target.name}")
                return
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "preconditions": {"uid": target.uid},
        }
        if target.kind == "pod":
            body["gracePeriodSeconds"] = 0
        try:
            self.kube.delete(path, body)
        except KubeError as exc:
            if exc.status == 404:
                return
            if exc.status == 409:  # another object under that name now: not ours
                self.skipped.append(f"{target.kind} {target.name}")
                return
            raise KubeFailure(f"deleting {target.kind} {target.name} failed: {exc}") from None

    # -- one pod --

    def schedule(self, cluster: Cluster, pod: Pod) -> Decision:
        if self._closed:
            return Decision(node=None, error="the kube adapter is closed")
        self.stats["calls"] += 1
        try:
            return self._schedule(cluster, pod)
        except KubeFailure as exc:
            return Decision(node=None, error=str(exc))
        except KubeError as exc:
            return Decision(node=None, error=f"the API server answered: {exc}")

    def _next(self, prefix: str) -> str:
        with self._lock:
            self._sequence += 1
            return f"{prefix}{self._sequence}"

    def _parallel(self, jobs: Sequence[Callable[[], None]]) -> None:
        """Run independent requests at once; the first failure is raised after all ended."""
        failures: list[BaseException] = []
        for future in [self._workers.submit(job) for job in jobs]:
            try:
                future.result()
            except (KubeFailure, KubeError) as exc:
                failures.append(exc)
        if failures:
            raise KubeFailure(str(failures[0]))

    def _schedule(self, cluster: Cluster, pod: Pod) -> Decision:
        call = _Call(missing=f"podfit-{self.run}-absent-")
        jobs: list[Callable[[], None]] = [
            partial(self._delete, p)
            for p in self._pods  # the last call's pods
        ]
        self._pods = []
        new_nodes: list[tuple[str, str, dict[str, Any]]] = []
        nodes_changed = False
        if self.kwok:
            new_nodes, evicted = self._assign_nodes(cluster, pod, call)
            for name in evicted:
                jobs.append(partial(self._delete_node, name))
            for name, key, body in new_nodes:
                jobs.append(partial(self._create_node, name, key, body))
            nodes_changed = bool(new_nodes or evicted)
        else:
            self._check_existing_nodes(cluster)
        namespaces_created = self._assign_namespaces(cluster, pod, call, jobs)
        runtime_classes = self._assign_runtime_classes(cluster, pod, jobs)
        self._parallel(jobs)
        if new_nodes:
            self._wait_ready({name: _taints(body) for name, _, body in new_nodes})
        if (nodes_changed or namespaces_created) and self.settle:
            time.sleep(self.settle)  # the scheduler's informers see other kinds a bit later
        bound = [
            p
            for p in cluster.pods.values()
            if self.kwok and p.node_name and not p.is_terminal and p.key != pod.key
        ]
        self._parallel([partial(self._create_bound_pod, p, call, runtime_classes) for p in bound])
        scheduler_name = self.scheduler_name or pod.scheduler_name
        for attempt in range(3):
            created = self._create_pod(
                pod,
                call,
                runtime_classes=runtime_classes,
                scheduler_name=scheduler_name,
                pin=list(call.nodes.values()) if self.kwok else None,
            )
            decision, stale = self._wait_decision(created, call, scheduler_name)
            if not stale or attempt == 2:
                return decision
            # The scheduler answered before it knew the example's nodes: ask again.
            self.stats["retries"] += 1
            self._delete(created)
            self._pods.remove(created)
            time.sleep(self.settle or 0.05)
        raise AssertionError("unreachable")

    # -- nodes --

    def _assign_nodes(
        self, cluster: Cluster, pod: Pod, call: _Call
    ) -> tuple[list[tuple[str, str, dict[str, Any]]], list[str]]:
        """Pick a pooled live node for each node of the example, or a new one; and the
        pooled nodes to delete (to keep the pool small, or out of the example's way)."""
        free: dict[str, list[str]] = {}
        for live, key in self._pool.items():
            free.setdefault(key, []).append(live)
        new: list[tuple[str, str, dict[str, Any]]] = []
        used: set[str] = set()
        for node in cluster.nodes.values():
            content = node_content(node)
            key = content_key(content)
            if free.get(key):
                live = free[key].pop(0)
                self.stats["nodes_reused"] += 1
            else:
                live = self._next(f"podfit-{self.run}-n")
                new.append((live, key, node_object(content, live, self.run)))
                self.stats["nodes_created"] += 1
            call.nodes[node.name] = live
            used.add(live)
        evicted: list[str] = []
        keys = needs_isolation(pod)
        if keys:
            for live in self._pool:
                labels = self._node_labels.get(live, {})
                if live not in used and any(k in labels for k in keys):
                    evicted.append(live)
        spare = [live for live in self._pool if live not in used and live not in evicted]
        excess = len(self._pool) + len(new) - len(evicted) - self.pool_size
        evicted += spare[: max(0, excess)]
        for live in evicted:
            self._pool.pop(live, None)
            self._node_labels.pop(live, None)
        for live in used:  # most recently used last
            if live in self._pool:
                self._pool[live] = self._pool.pop(live)
        return new, evicted

    def _create_node(self, name: str, key: str, body: dict[str, Any]) -> None:
        try:
            created = self.kube.create(NODES, body)
        except KubeError as exc:
            raise KubeFailure(f"creating node {name} failed: {exc}") from None
        with self._lock:
            self._node_uids[name] = str(_meta(created, "uid"))
            self._pool[name] = key
            self._node_labels[name] = dict(body["metadata"].get("labels") or {})

    def _delete_node(self, name: str) -> None:
        uid = self._node_uids.pop(name, "")
        self._delete(_Created("node", name, uid), check_labels=True)

    def _wait_ready(self, expected: Mapping[str, set[tuple[str, str]]]) -> None:
        """Until every new node is Ready and carries no taint a controller puts on nodes
        that are not (TaintNodesByCondition's not-ready), through a watch."""
        waiting = set(expected)
        selector = f"{RUN_LABEL}={self.run}"
        end = time.monotonic() + self.ready_timeout
        items, version = self.kube.list(NODES, label_selector=selector)
        waiting -= {str(_meta(item, "name")) for item in items if _node_settled(item, expected)}
        while waiting:
            left = end - time.monotonic()
            if left <= 0:
                raise KubeFailure(
                    f"{len(waiting)} fake node(s) did not become Ready within "
                    f"{self.ready_timeout:g} s; is KWOK (or another controller for nodes "
                    f"annotated {KWOK_ANNOTATION}=fake) running in this cluster?"
                )
            try:
                for event in self.kube.watch(
                    NODES, resource_version=version, timeout=left, label_selector=selector
                ):
                    obj = event.get("object") or {}
                    version = str(_meta(obj, "resourceVersion") or version)
                    if event.get("type") in ("ADDED", "MODIFIED") and _node_settled(obj, expected):
                        waiting.discard(str(_meta(obj, "name")))
                    if not waiting:
                        return
            except KubeError as exc:
                if exc.status != 410:
                    raise
                items, version = self.kube.list(NODES, label_selector=selector)
                waiting -= {
                    str(_meta(item, "name")) for item in items if _node_settled(item, expected)
                }

    def _check_existing_nodes(self, cluster: Cluster) -> None:
        try:
            items, _ = self.kube.list(NODES)
        except KubeError as exc:
            raise KubeFailure(f"listing nodes failed: {exc}") from None
        live = {_meta(item, "name") for item in items}
        missing = [n for n in cluster.nodes if n not in live]
        if missing:
            raise KubeFailure(
                f"nodes=existing: node(s) {', '.join(missing)} of the podfit cluster "
                "are not in the live cluster"
            )

    # -- namespaces and runtime classes --

    def _assign_namespaces(
        self, cluster: Cluster, pod: Pod, call: _Call, jobs: list[Callable[[], None]]
    ) -> bool:
        """A live namespace for each namespace the example names, reused by later
        examples with the same labels (never relabelled: the scheduler would see the new
        labels late). Returns whether one had to be created."""
        names = {pod.namespace, *(p.namespace for p in cluster.pods.values())}
        names |= set(cluster.namespaces)
        for p in (pod, *cluster.pods.values()):
            affinity = p.affinity
            for group in (affinity.pod_affinity, affinity.pod_anti_affinity) if affinity else ():
                if group is None:
                    continue
                for term in (*group.required, *(w.term for w in group.preferred)):
                    names |= set(term.namespaces)
        created = False
        for name in sorted(names):
            labels = cluster.namespace_labels(name)
            copied = {k: v for k, v in labels.items() if k != NAMESPACE_NAME_LABEL}
            key = (name, json.dumps(copied, sort_keys=True))
            known = self._namespaces.get(key)
            if known is None:
                live = self._next(f"podfit-{self.run}-")
                known = _Created("namespace", live, "")
                self._namespaces[key] = known
                body = namespace_object(live, copied, self.run)
                jobs.append(partial(self._create_namespace, known, body))
                created = True
            call.namespaces[name] = known.name
        return created

    def _create_namespace(self, target: _Created, body: dict[str, Any]) -> None:
        try:
            created = self.kube.create(NAMESPACES, body)
        except KubeError as exc:
            self._forget(self._namespaces, target)
            raise KubeFailure(f"creating namespace {target.name} failed: {exc}") from None
        target.uid = str(_meta(created, "uid"))

    def _assign_runtime_classes(
        self, cluster: Cluster, pod: Pod, jobs: list[Callable[[], None]]
    ) -> dict[str, str]:
        """A RuntimeClass for each pod overhead of the example (overhead key -> name)."""
        out: dict[str, str] = {}
        for p in (pod, *cluster.pods.values()):
            if not p.overhead:
                continue
            overhead = {k: str(q) for k, q in sorted(p.overhead.items())}
            key = json.dumps(overhead, sort_keys=True)
            known = self._runtime_classes.get(key)
            if known is None:
                live = self._next(f"podfit-{self.run}-rc")
                known = _Created("runtimeclass", live, "")
                self._runtime_classes[key] = known
                body = runtime_class_object(live, overhead, self.run)
                jobs.append(partial(self._create_runtime_class, known, body))
            out[key] = known.name
        return out

    def _create_runtime_class(self, target: _Created, body: dict[str, Any]) -> None:
        try:
            created = self.kube.create(RUNTIME_CLASSES, body)
        except KubeError as exc:
            self._forget(self._runtime_classes, target)
            raise KubeFailure(f"creating RuntimeClass {target.name} failed: {exc}") from None
        target.uid = str(_meta(created, "uid"))

    def _forget(self, table: dict[Any, _Created], target: _Created) -> None:
        """A create failed: the next example must try again, not assume it exists."""
        with self._lock:
            for key, value in list(table.items()):
                if value is target:
                    del table[key]

    # -- pods --

    def _create_bound_pod(self, pod: Pod, call: _Call, runtime_classes: Mapping[str, str]) -> None:
        self._create_pod(pod, call, runtime_classes=runtime_classes)

    def _create_pod(
        self,
        pod: Pod,
        call: _Call,
        *,
        runtime_classes: Mapping[str, str],
        scheduler_name: str | None = None,
        pin: Sequence[str] | None = None,
    ) -> _Created:
        namespace = call.namespaces[pod.namespace]
        overhead = {k: str(q) for k, q in sorted(pod.overhead.items())}
        runtime_class = runtime_classes.get(json.dumps(overhead, sort_keys=True))
        # Unique names: a pod of the last example may still be on its way out.
        name = f"{pod.name[:240]}-{self._next('')}"
        body = pod_object(
            pod,
            run=self.run,
            namespace_of=lambda ns: call.namespaces.get(ns, f"{call.missing}{ns}"[:63]),
            node_of=call.node if self.kwok else None,
            name=name,
            scheduler_name=scheduler_name,
            pin=pin,
            runtime_class=runtime_class if pod.overhead else None,
        )
        try:
            created = self.kube.create(f"{NAMESPACES}/{namespace}/pods", body)
        except KubeError as exc:
            raise KubeFailure(f"creating pod {namespace}/{pod.name} failed: {exc}") from None
        target = _Created(
            "pod",
            name,
            str(_meta(created, "uid")),
            namespace,
            version=str(_meta(created, "resourceVersion")),
            answer=created,
        )
        with self._lock:
            self._pods.append(target)
        return target

    def _wait_decision(
        self, created: _Created, call: _Call, scheduler_name: str
    ) -> tuple[Decision, bool]:
        """The scheduler's answer, through a watch on the pod; and whether the answer came
        from a scheduler that had not seen every node of the example yet."""
        answer = self._answer(created.answer, call)  # created bound (spec.nodeName)
        if answer is not None:
            return answer
        end = time.monotonic() + self.timeout
        version = created.version
        selector = f"metadata.name={created.name}"
        path = f"{NAMESPACES}/{created.namespace}/pods"
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return (
                    Decision(
                        node=None,
                        error=(
                            f"no scheduling decision within {self.timeout:g} s; is a scheduler "
                            f"named {scheduler_name!r} running in context {self.context!r}?"
                        ),
                    ),
                    False,
                )
            try:
                for event in self.kube.watch(
                    path, resource_version=version, timeout=left, field_selector=selector
                ):
                    obj = event.get("object") or {}
                    if event.get("type") == "BOOKMARK":
                        version = str(_meta(obj, "resourceVersion") or version)
                        continue
                    if event.get("type") == "DELETED":
                        raise KubeFailure(
                            f"pod {created.namespace}/{created.name} was deleted while "
                            "podfit waited for it"
                        )
                    version = str(_meta(obj, "resourceVersion") or version)
                    answer = self._answer(obj, call)
                    if answer is not None:
                        return answer
            except KubeError as exc:
                if exc.status != 410:
                    raise KubeFailure(f"watching pod {created.name} failed: {exc}") from None
                live = self.kube.get(_path("pod", created.name, created.namespace))
                answer = self._answer(live, call)
                if answer is not None:
                    return answer
                version = str(_meta(live, "resourceVersion"))

    def _answer(self, obj: Mapping[str, Any], call: _Call) -> tuple[Decision, bool] | None:
        node = (obj.get("spec") or {}).get("nodeName")
        if node:
            return self._bound_to(str(node), call), False
        for condition in (obj.get("status") or {}).get("conditions") or []:
            if (condition.get("type"), condition.get("status")) != ("PodScheduled", "False"):
                continue
            reason = condition.get("reason")
            message = str(condition.get("message") or reason or "")
            if reason == "SchedulerError":
                return Decision(node=None, error=f"scheduler error: {message}"), False
            if reason == "SchedulingGated":
                continue
            seen = _NODES_SEEN.match(message)
            stale = self.kwok and seen is not None and int(seen.group(1)) < len(self._pool)
            # The scheduler's message counts nodes; it cannot be split per node.
            return Decision(node=None, reasons={"*": (message,)}), stale
        return None

    def _bound_to(self, node: str, call: _Call) -> Decision:
        if self.kwok:
            back = {live: name for name, live in call.nodes.items()}
            if node not in back:
                return Decision(
                    node=None,
                    error=f"the pod was bound to node {node!r}, which is not one of the "
                    "example's nodes",
                )
            return Decision(node=back[node])
        return Decision(node=node)

    # -- cleanup --

    def close(self) -> None:
        """Delete everything this run created: pods, nodes, runtime classes, namespaces."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        try:
            pods, self._pods = self._pods, []
            self._workers_map(self._delete, pods)
            nodes = list(self._pool)
            self._pool.clear()
            self._workers_map(self._delete_node_quietly, nodes)
            others = [t for t in self._runtime_classes.values() if t.uid]
            others += [t for t in self._namespaces.values() if t.uid]
            if getattr(self, "_home", None) is not None:
                others.append(self._home)
            self._workers_map(partial(self._delete, check_labels=True), others)
            self._runtime_classes.clear()
            self._namespaces.clear()
        finally:
            self._workers.shutdown(wait=True)
            with contextlib.suppress(Exception):
                self.kube.close()
            _LIVE.discard(self)

    def _delete_node_quietly(self, name: str) -> None:
        self._delete_node(name)

    def _workers_map(self, fn: Callable[[Any], None], items: Sequence[Any]) -> None:
        def safe(item: Any) -> None:
            with contextlib.suppress(KubeFailure, KubeError):
                fn(item)

        list(self._workers.map(safe, items))

    def __enter__(self) -> KubeScheduler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def from_spec(rest: str, options: Options) -> KubeScheduler:
    timeout = options.number("timeout", DEFAULT_TIMEOUT)
    nodes = options.text("nodes", "kwok")
    scheduler_name = options.text("scheduler", "") or None
    kubeconfig = options.text("kubeconfig", "") or None
    allow_production = options.flag("allow-production", False)
    settle = options.number("settle", DEFAULT_SETTLE)
    lease = options.number("lease", DEFAULT_LEASE)
    pool = options.integer("pool", DEFAULT_POOL, minimum=8)
    options.finish()
    return KubeScheduler(
        rest,
        kubeconfig=kubeconfig,
        nodes=nodes,
        scheduler_name=scheduler_name,
        timeout=timeout if timeout is not None else 24 * 3600.0,
        settle=settle or 0.0,
        lease_seconds=lease if lease is not None else DEFAULT_LEASE,
        pool_size=pool,
        allow_production=allow_production,
    )
