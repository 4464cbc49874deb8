"""A live cluster's scheduler under test, through the ``kubernetes`` client (extra ``[kube]``).

For every pod podfit asks about, the adapter recreates the cluster in scratch objects,
creates the pod with the scheduler name under test, waits until the pod is bound or
marked ``PodScheduled=False``, and deletes what it created.

Two ways to get nodes (option ``nodes``):

* ``kwok`` (default): fake Nodes for KWOK (https://kwok.sigs.k8s.io), named
  ``podfit-<run>-<call>-<node>``, annotated for KWOK, labelled ``podfit.dev/owned=true``
  and ``podfit.dev/run=<run>-<call>``, tainted ``podfit.dev/fenced=true:NoSchedule`` so
  nothing else lands on them. podfit's pods tolerate that taint, and the pending pod
  gets a nodeSelector on its ``podfit.dev/run`` label so it cannot land on a real node.
  Pods already bound in the podfit cluster are created bound (``spec.nodeName``).
* ``existing``: no nodes are created; the podfit cluster must describe the live nodes
  (e.g. ``kubectl get nodes,pods -A -o yaml``) and the adapter checks their names.

Safety: a context whose name (or cluster name) looks like production (a word starting
with ``prod``, or ``prd``, ``live``) is refused unless ``allow-production=true``. Every
object the adapter creates carries ``podfit.dev/owned=true`` and its run label, and it
deletes only objects it finds carrying both (re-read just before deleting). Cleanup runs
after each pod, also on KeyboardInterrupt, and at exit for anything left.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import re
import secrets
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from podfit.cluster import Cluster
from podfit.conformance.decisions import ALL_AREAS, Decision
from podfit.manifest import to_manifest
from podfit.model import NAMESPACE_NAME_LABEL, Node, Pod

if TYPE_CHECKING:
    from podfit.adapters import Options

OWNED_LABEL = "podfit.dev/owned"
RUN_LABEL = "podfit.dev/run"
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
DEFAULT_TIMEOUT = 30.0
DEFAULT_READY_TIMEOUT = 30.0
DEFAULT_SETTLE = 1.0
# A word in a context name that suggests a production cluster.
_WORD = re.compile(r"[a-z0-9]+")
NAME_NODE_FIELD = "metadata.name"


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


def is_owned(labels: Mapping[str, str] | None, run: str) -> bool:
    """True when an object carries podfit's ownership label and a label of this run."""
    labels = labels or {}
    value = labels.get(RUN_LABEL, "")
    return labels.get(OWNED_LABEL) == "true" and (value == run or value.startswith(run + "-"))


# --- reading client objects ----------------------------------------------------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def attr(obj: Any, *path: str) -> Any:
    """Follow ``path`` through client model objects (snake_case attributes) or dicts."""
    for name in path:
        if obj is None:
            return None
        if isinstance(obj, Mapping):
            obj = obj.get(name, obj.get(_snake(name)))
        else:
            obj = getattr(obj, _snake(name), None)
    return obj


def _status_code(exc: BaseException) -> int | None:
    code = getattr(exc, "status", None)
    return code if isinstance(code, int) else None


def _api_message(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    code = _status_code(exc)
    if code is not None:
        return f"HTTP {code} {reason or ''}".strip()
    return f"{type(exc).__name__}: {exc}"


# --- object building -----------------------------------------------------------------------


@dataclass
class Call:
    """What one schedule() call created, so it can be removed again."""

    label: str  # value of podfit.dev/run on everything this call creates
    node_prefix: str
    nodes: list[str] = field(default_factory=list)
    pods: list[tuple[str, str]] = field(default_factory=list)  # (namespace, name)

    def node_name(self, name: str) -> str:
        return self.node_prefix + name


def _owned_labels(labels: Mapping[str, str] | None, run_label: str) -> dict[str, str]:
    return {**(labels or {}), OWNED_LABEL: "true", RUN_LABEL: run_label}


def node_object(node: Node, call: Call) -> dict[str, Any]:
    """A fake KWOK Node for ``node``: renamed into the call, labelled, fenced."""
    manifest = to_manifest(node)
    meta = manifest["metadata"]
    meta.pop("creationTimestamp", None)
    meta.pop("uid", None)
    meta["name"] = call.node_name(node.name)
    meta["labels"] = _owned_labels(meta.get("labels"), call.label)
    meta["annotations"] = {**meta.get("annotations", {}), KWOK_ANNOTATION: "fake"}
    spec = manifest.setdefault("spec", {})
    spec["taints"] = [
        {k: v for k, v in t.items() if k != "timeAdded"} for t in spec.get("taints", [])
    ] + [dict(FENCE_TAINT)]
    status = manifest.setdefault("status", {})
    status.pop("conditions", None)  # KWOK reports the node's conditions itself
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


def pod_object(
    pod: Pod,
    call: Call,
    *,
    namespace_of: Callable[[str], str],
    kwok: bool,
    scheduler_name: str | None = None,
) -> dict[str, Any]:
    """``pod`` as a manifest for the live cluster.

    Moved into its scratch namespace, labelled as podfit's, stripped of what the API
    server would reject or act on (status, owner references, priority: the Priority
    admission plugin recomputes it, and equal priorities keep preemption out). In KWOK
    mode node names are renamed into the call and the fence taint is tolerated; a pod
    to schedule is pinned to this call's nodes by a nodeSelector on the run label.
    """
    manifest = to_manifest(pod)
    manifest.pop("status", None)
    meta = manifest["metadata"]
    for key in ("uid", "creationTimestamp", "deletionTimestamp", "ownerReferences"):
        meta.pop(key, None)
    meta["namespace"] = namespace_of(pod.namespace)
    meta["labels"] = _owned_labels(meta.get("labels"), call.label)
    spec = manifest.setdefault("spec", {})
    for key in ("priority", "priorityClassName", "preemptionPolicy", "nominatedNodeName"):
        spec.pop(key, None)
    rename = call.node_name if kwok else (lambda name: name)
    if spec.get("nodeName"):
        spec["nodeName"] = rename(spec["nodeName"])
    _rewrite_affinity(spec, rename, namespace_of)
    if kwok:
        spec["tolerations"] = [*spec.get("tolerations", []), dict(FENCE_TOLERATION)]
        if not pod.node_name:
            spec["nodeSelector"] = {**spec.get("nodeSelector", {}), RUN_LABEL: call.label}
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


# --- client ------------------------------------------------------------------------------


def load_client(
    context: str, kubeconfig: str | None, *, allow_production: bool
) -> tuple[Any, Any, str]:
    """(CoreV1Api, ApiClient, context name) for a kubeconfig context, after the safety check."""
    from podfit.adapters import AdapterSetupError

    if context:  # refuse before even reading the kubeconfig
        check_context(context, None, allow_production=allow_production)
    try:
        k8s_client = importlib.import_module("kubernetes.client")
        k8s_config = importlib.import_module("kubernetes.config")
    except ImportError:
        raise AdapterSetupError(
            "kube: the kubernetes client is not installed; install podfit[kube] "
            "(pip install 'podfit[kube]')"
        ) from None
    try:
        contexts, active = k8s_config.list_kube_config_contexts(config_file=kubeconfig)
    except Exception as exc:
        raise AdapterSetupError(f"kube: cannot read the kubeconfig: {exc}") from None
    chosen = (
        active
        if not context
        else next((c for c in contexts or [] if c.get("name") == context), None)
    )
    if chosen is None:
        names = ", ".join(c.get("name", "?") for c in contexts or []) or "none"
        wanted = context or "(current context)"
        raise AdapterSetupError(f"kube: no context {wanted!r} in the kubeconfig; contexts: {names}")
    name = str(chosen.get("name", ""))
    cluster = (chosen.get("context") or {}).get("cluster")
    check_context(name, cluster, allow_production=allow_production)
    try:
        api_client = k8s_config.new_client_from_config(config_file=kubeconfig, context=name)
    except Exception as exc:
        raise AdapterSetupError(f"kube: cannot load context {name!r}: {exc}") from None
    return k8s_client.CoreV1Api(api_client), api_client, name


_LIVE: weakref.WeakSet[KubeScheduler] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for scheduler in list(_LIVE):
        with contextlib.suppress(Exception):
            scheduler.close()


class KubeScheduler:
    """The scheduler of a live cluster (kind, KWOK, ...), one pod at a time."""

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
        poll_interval: float = 0.2,
        allow_production: bool = False,
        areas: frozenset[str] = ALL_AREAS,
        api: Any = None,
        cluster_name: str | None = None,
    ) -> None:
        from podfit.adapters import AdapterSetupError

        if nodes not in NODE_MODES:
            raise AdapterSetupError(
                f"kube: option nodes={nodes!r}: expected one of {', '.join(NODE_MODES)}"
            )
        self._api_client: Any = None
        if api is None:
            api, self._api_client, context = load_client(
                context, kubeconfig, allow_production=allow_production
            )
        else:
            # An injected client (tests, embedding) still goes through the safety check.
            check_context(context, cluster_name, allow_production=allow_production)
        self.api = api
        self.context = context
        self.name = f"kube:{context}"
        self.areas = areas
        self.kwok = nodes == "kwok"
        self.scheduler_name = scheduler_name
        self.timeout = timeout
        self.ready_timeout = ready_timeout
        self.settle = settle
        self.poll_interval = poll_interval
        self.run = secrets.token_hex(3)
        self._calls = 0
        self._namespaces: dict[str, str] = {}  # podfit namespace -> scratch namespace
        self._created_namespaces: dict[str, dict[str, str]] = {}  # scratch name -> labels
        self._pending_calls: list[Call] = []
        self.skipped: list[str] = []  # objects not deleted because they were not ours
        self._closed = False
        _LIVE.add(self)

    # -- names --

    def scratch_namespace(self, namespace: str) -> str:
        """The scratch namespace standing for ``namespace`` (stable for this adapter)."""
        if namespace not in self._namespaces:
            index = len(self._namespaces)
            suffix = f"-{index + 1}" if index else ""
            self._namespaces[namespace] = f"podfit-{self.run}{suffix}"
        return self._namespaces[namespace]

    # -- API helpers --

    def _call_api(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise KubeFailure(f"{what} failed: {_api_message(exc)}") from None

    def _ensure_namespace(self, cluster: Cluster, namespace: str) -> str:
        name = self.scratch_namespace(namespace)
        body = namespace_object(name, cluster.namespace_labels(namespace), self.run)
        labels: dict[str, str] = body["metadata"]["labels"]
        current = self._created_namespaces.get(name)
        if current is None:
            self._call_api(f"creating namespace {name}", self.api.create_namespace, body)
            self._created_namespaces[name] = labels
        elif current != labels:
            if not is_owned(attr(self._read("namespace", name), "metadata", "labels"), self.run):
                raise KubeFailure(f"namespace {name} is not labelled as podfit's; not changing it")
            patch = {k: labels.get(k) for k in {*current, *labels}}  # None removes a label
            self._call_api(
                f"relabelling namespace {name}",
                self.api.patch_namespace,
                name,
                {"metadata": {"labels": patch}},
            )
            self._created_namespaces[name] = labels
        return name

    def _read(self, kind: str, name: str, namespace: str | None = None) -> Any:
        """The live object, or None when it does not exist."""
        try:
            if kind == "pod":
                return self.api.read_namespaced_pod(name, namespace)
            if kind == "node":
                return self.api.read_node(name)
            return self.api.read_namespace(name)
        except Exception as exc:
            if _status_code(exc) == 404:
                return None
            raise KubeFailure(f"reading {kind} {name} failed: {_api_message(exc)}") from None

    def _delete_owned(self, kind: str, name: str, namespace: str | None = None) -> None:
        """Delete an object only if it is there and still carries podfit's labels."""
        live = self._read(kind, name, namespace)
        if live is None:
            return
        if not is_owned(attr(live, "metadata", "labels"), self.run):
            self.skipped.append(f"{kind} {namespace + '/' if namespace else ''}{name}")
            return
        try:
            if kind == "pod":
                self.api.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
            elif kind == "node":
                self.api.delete_node(name)
            else:
                self.api.delete_namespace(name)
        except Exception as exc:
            if _status_code(exc) != 404:
                raise KubeFailure(f"deleting {kind} {name} failed: {_api_message(exc)}") from None

    # -- one pod --

    def schedule(self, cluster: Cluster, pod: Pod) -> Decision:
        if self._closed:
            return Decision(node=None, error="the kube adapter is closed")
        self._calls += 1
        call = Call(
            label=f"{self.run}-{self._calls}",
            node_prefix=f"podfit-{self.run}-{self._calls}-",
        )
        self._pending_calls.append(call)
        try:
            return self._schedule(cluster, pod, call)
        except KubeFailure as exc:
            return Decision(node=None, error=str(exc))
        finally:
            # Runs on KeyboardInterrupt too; a failing cleanup is retried by close().
            with contextlib.suppress(KubeFailure):
                self._cleanup(call)
                self._pending_calls.remove(call)

    def _schedule(self, cluster: Cluster, pod: Pod, call: Call) -> Decision:
        if self.kwok:
            self._create_nodes(cluster, call)
            for bound in cluster.pods.values():
                if bound.node_name and not bound.is_terminal and bound.key != pod.key:
                    self._create_pod(cluster, bound, call)
            self._wait_ready(call)
            if self.settle:
                time.sleep(self.settle)  # let the scheduler's informers see the new objects
        else:
            self._check_existing_nodes(cluster)
        scheduler_name = self.scheduler_name or pod.scheduler_name
        namespace, name = self._create_pod(cluster, pod, call, scheduler_name=scheduler_name)
        return self._wait_decision(cluster, namespace, name, call, scheduler_name)

    def _create_nodes(self, cluster: Cluster, call: Call) -> None:
        for node in cluster.nodes.values():
            body = node_object(node, call)
            name = body["metadata"]["name"]
            self._call_api(f"creating node {name}", self.api.create_node, body)
            call.nodes.append(name)
            # Status sent with a create may be dropped; set it explicitly.
            self._call_api(
                f"setting the status of node {name}",
                self.api.patch_node_status,
                name,
                {"status": body.get("status", {})},
            )

    def _create_pod(
        self, cluster: Cluster, pod: Pod, call: Call, *, scheduler_name: str | None = None
    ) -> tuple[str, str]:
        namespace = self._ensure_namespace(cluster, pod.namespace)
        body = pod_object(
            pod,
            call,
            namespace_of=self.scratch_namespace,
            kwok=self.kwok,
            scheduler_name=scheduler_name,
        )
        self._call_api(
            f"creating pod {namespace}/{pod.name}",
            self.api.create_namespaced_pod,
            namespace,
            body,
        )
        call.pods.append((namespace, pod.name))
        return namespace, pod.name

    def _wait_ready(self, call: Call) -> None:
        waiting = set(call.nodes)
        end = time.monotonic() + self.ready_timeout
        while waiting:
            for name in list(waiting):
                conditions = attr(self._read("node", name), "status", "conditions") or []
                if any(
                    attr(c, "type") == "Ready" and attr(c, "status") == "True" for c in conditions
                ):
                    waiting.discard(name)
            if not waiting:
                return
            if time.monotonic() >= end:
                raise KubeFailure(
                    f"{len(waiting)} fake node(s) did not become Ready within "
                    f"{self.ready_timeout:g} s; is KWOK running in this cluster and managing "
                    f"nodes annotated {KWOK_ANNOTATION}=fake?"
                )
            time.sleep(self.poll_interval)

    def _check_existing_nodes(self, cluster: Cluster) -> None:
        listed = self._call_api("listing nodes", self.api.list_node)
        live = {attr(item, "metadata", "name") for item in attr(listed, "items") or []}
        missing = [n for n in cluster.nodes if n not in live]
        if missing:
            raise KubeFailure(
                f"nodes=existing: node(s) {', '.join(missing)} of the podfit cluster "
                "are not in the live cluster"
            )

    def _wait_decision(
        self, cluster: Cluster, namespace: str, name: str, call: Call, scheduler_name: str
    ) -> Decision:
        end = time.monotonic() + self.timeout
        while True:
            live = self._read("pod", name, namespace)
            if live is None:
                raise KubeFailure(f"pod {namespace}/{name} disappeared while waiting for it")
            node = attr(live, "spec", "nodeName")
            if node:
                return self._bound_to(cluster, str(node), call)
            for condition in attr(live, "status", "conditions") or []:
                kind, status = attr(condition, "type"), attr(condition, "status")
                if (kind, status) == ("PodScheduled", "False"):
                    reason = attr(condition, "reason")
                    message = str(attr(condition, "message") or reason or "")
                    if reason == "SchedulerError":
                        return Decision(node=None, error=f"scheduler error: {message}")
                    # The scheduler's message counts nodes; it cannot be split per node.
                    return Decision(node=None, reasons={"*": (message,)})
            if time.monotonic() >= end:
                return Decision(
                    node=None,
                    error=(
                        f"no scheduling decision within {self.timeout:g} s; is a scheduler "
                        f"named {scheduler_name!r} running in context {self.context!r}?"
                    ),
                )
            time.sleep(self.poll_interval)

    def _bound_to(self, cluster: Cluster, node: str, call: Call) -> Decision:
        if self.kwok:
            if not node.startswith(call.node_prefix):
                return Decision(
                    node=None,
                    error=f"the pod was bound to node {node!r}, which podfit did not create",
                )
            node = node[len(call.node_prefix) :]
        if node not in cluster.nodes:
            return Decision(
                node=None, error=f"the pod was bound to node {node!r}, which is not in the cluster"
            )
        return Decision(node=node)

    # -- cleanup --

    def _cleanup(self, call: Call) -> None:
        failures: list[str] = []
        for namespace, name in list(reversed(call.pods)):
            try:
                self._delete_owned("pod", name, namespace)
                call.pods.remove((namespace, name))
            except KubeFailure as exc:
                failures.append(str(exc))
        for name in list(call.nodes):
            try:
                self._delete_owned("node", name)
                call.nodes.remove(name)
            except KubeFailure as exc:
                failures.append(str(exc))
        if failures:
            raise KubeFailure("; ".join(failures))

    def close(self) -> None:
        """Delete whatever is left: pods and nodes of unfinished calls, then the namespaces."""
        if self._closed:
            return
        self._closed = True
        for call in list(self._pending_calls):
            with contextlib.suppress(KubeFailure):
                self._cleanup(call)
        for name in list(self._created_namespaces):
            with contextlib.suppress(KubeFailure):
                self._delete_owned("namespace", name)
                del self._created_namespaces[name]
        if self._api_client is not None:
            with contextlib.suppress(Exception):
                self._api_client.close()
        _LIVE.discard(self)

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
    options.finish()
    return KubeScheduler(
        rest,
        kubeconfig=kubeconfig,
        nodes=nodes,
        scheduler_name=scheduler_name,
        timeout=timeout if timeout is not None else 24 * 3600.0,
        allow_production=allow_production,
    )
