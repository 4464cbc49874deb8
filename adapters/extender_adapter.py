"""A kube-scheduler extender under test, called over HTTP exactly as kube-scheduler calls it.

kube-scheduler (pkg/scheduler/extender.go) POSTs an ``ExtenderArgs`` JSON body to
``<urlPrefix>/<filterVerb>`` and, for the nodes that survive, to
``<urlPrefix>/<prioritizeVerb>``. The Go structs of k8s.io/kube-scheduler/extender/v1
carry no json tags, so the field names on the wire are the Go names (``Pod``,
``Nodes``, ``NodeNames``, ``FailedNodes``, ``Host``, ``Score``...) and Go's decoder
matches response keys case-insensitively; this adapter does the same.

With ``nodeCacheCapable`` false the extender receives the full Node objects (a NodeList)
and answers with a NodeList; when true it receives and answers node names only.
Priorities (0..MaxExtenderPriority=10) are scaled as kube-scheduler scales them:
``score * weight * (MaxNodeScore / MaxExtenderPriority)``, so 0..100 with weight 1.
The extender is the whole scheduler here: every node of the cluster is offered to
filter, and the highest scaled score wins (ties: the first node in cluster order).

Differences from kube-scheduler, on purpose: a prioritize failure is an error (upstream
ignores it and goes on), and so is a node name the extender makes up in any answer.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from podfit.cluster import Cluster
from podfit.conformance.decisions import Decision
from podfit.manifest import to_manifest
from podfit.model import Node, Pod

if TYPE_CHECKING:
    from podfit.adapters import Options

MAX_EXTENDER_PRIORITY = 10  # extenderv1.MaxExtenderPriority
MAX_NODE_SCORE = 100  # framework.MaxNodeScore
DEFAULT_TIMEOUT = 5.0  # kube-scheduler's DefaultExtenderTimeout
MAX_BODY_BYTES = 64 * 1024 * 1024
# An extender sees only Node objects and the pod, never the pods already running, so by
# default it is checked on the rules that need nothing else.
DEFAULT_AREAS: frozenset[str] = frozenset({"node-affinity", "node-unschedulable", "taints"})


class ExtenderFailure(Exception):
    """The extender did not give a usable answer."""


def go_field(obj: Mapping[str, Any], name: str) -> Any:
    """Look a struct field up the way encoding/json does: any case, the last key wins."""
    found = None
    lowered = name.lower()
    for key, value in obj.items():
        if key.lower() == lowered:
            found = value
    return found


def extender_args(pod: Pod, nodes: list[Node], *, node_cache_capable: bool) -> dict[str, Any]:
    """The ``ExtenderArgs`` body kube-scheduler sends (nil pointers are JSON null)."""
    if node_cache_capable:
        return {"Pod": to_manifest(pod), "Nodes": None, "NodeNames": [n.name for n in nodes]}
    node_list = {"metadata": {}, "items": [to_manifest(n) for n in nodes]}
    return {"Pod": to_manifest(pod), "Nodes": node_list, "NodeNames": None}


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ExtenderScheduler:
    """An HTTP scheduler extender used as the whole scheduler."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        node_cache_capable: bool = False,
        weight: int = 1,
        filter_verb: str = "filter",
        prioritize_verb: str = "prioritize",
        areas: frozenset[str] = DEFAULT_AREAS,
    ) -> None:
        from podfit.adapters import AdapterSetupError

        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise AdapterSetupError(f"extender: expected an http:// or https:// URL, got {url!r}")
        self.url = url
        self.name = f"extender:{url}"
        self.areas = areas
        self.timeout = timeout
        self.node_cache_capable = node_cache_capable
        self.weight = weight
        self.filter_verb = filter_verb
        self.prioritize_verb = prioritize_verb
        # Like Go's ProxyFromEnvironment, never send loopback traffic through a proxy.
        handlers: list[urllib.request.BaseHandler] = []
        if _is_loopback(parts.hostname):
            handlers.append(urllib.request.ProxyHandler({}))
        self._opener = urllib.request.build_opener(*handlers)

    def check_reachable(self) -> None:
        """Raise AdapterError when nothing answers at the URL (connection refused, no such
        host): a run would only collect one "did not answer" per property and area."""
        from podfit.conformance.decisions import AdapterError

        parts = urllib.parse.urlsplit(self.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        timeout = self.timeout if self.timeout is not None else DEFAULT_TIMEOUT
        try:
            with socket.create_connection((parts.hostname or "", port), timeout=timeout):
                pass
        except OSError as exc:
            raise AdapterError(
                f"cannot reach the extender at {self.url}: {exc.strerror or exc}"
            ) from None

    # -- HTTP --

    def _post(self, verb: str, payload: Any) -> Any:
        url = self.url.rstrip("/") + "/" + verb
        request = urllib.request.Request(
            url,
            data=json.dumps(payload, separators=(",", ":")).encode("utf-8"),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        timeout = self.timeout if self.timeout is not None else socket.getdefaulttimeout()
        try:
            with self._opener.open(request, timeout=timeout) as response:
                status = response.status
                body = response.read(MAX_BODY_BYTES + 1)
        except urllib.error.HTTPError as exc:
            with exc:
                snippet = exc.read(300).decode("utf-8", "replace").strip()
            detail = f": {snippet!r}" if snippet else ""
            raise ExtenderFailure(
                f"failed {verb} with extender at URL {url}, code {exc.code}{detail}"
            ) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError | socket.timeout):
                raise ExtenderFailure(self._timed_out(verb, url)) from None
            raise ExtenderFailure(f"cannot reach the extender at {url}: {exc.reason}") from None
        except TimeoutError:
            raise ExtenderFailure(self._timed_out(verb, url)) from None
        except (http.client.HTTPException, OSError) as exc:
            raise ExtenderFailure(
                f"{verb} request to {url} failed: {type(exc).__name__}: {exc}"
            ) from None
        if status != 200:
            raise ExtenderFailure(f"failed {verb} with extender at URL {url}, code {status}")
        if len(body) > MAX_BODY_BYTES:
            raise ExtenderFailure(f"{verb} response is larger than {MAX_BODY_BYTES} bytes")
        try:
            return json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            preview = body[:120].decode("utf-8", "replace")
            raise ExtenderFailure(
                f"malformed JSON in the {verb} response ({exc}): {preview!r}"
            ) from None

    def _timed_out(self, verb: str, url: str) -> str:
        return f"{verb} request to {url} timed out after {self.timeout:g} s"

    # -- filter --

    def _filter(self, pod: Pod, nodes: list[Node]) -> tuple[list[Node], dict[str, tuple[str, ...]]]:
        """Survivors (in the extender's order) and the reasons of the nodes it rejected."""
        if not self.filter_verb:
            return nodes, {}
        result = self._post(
            self.filter_verb,
            extender_args(pod, nodes, node_cache_capable=self.node_cache_capable),
        )
        if result is None:
            result = {}  # JSON null decodes to an empty ExtenderFilterResult
        if not isinstance(result, dict):
            raise ExtenderFailure(
                "filter response must be an ExtenderFilterResult object, "
                f"got {type(result).__name__}"
            )
        error = go_field(result, "Error")
        if error is not None and not isinstance(error, str):
            raise ExtenderFailure(f"filter response: Error must be a string, got {error!r:.80}")
        if error:
            hint = ""
            if self.node_cache_capable:
                hint = (
                    " (it was sent node names only, as nodeCacheCapable=true asks; an extender "
                    "that reads Nodes needs the adapter without ?nodeCacheCapable=true)"
                )
            raise ExtenderFailure(f"extender filter returned an error: {error}{hint}")
        by_name = {n.name: n for n in nodes}
        names = self._survivor_names(result)
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ExtenderFailure(
                f"extender claims filtered node(s) {', '.join(map(repr, unknown))} "
                "which are not in the input node list"
            )
        reasons: dict[str, tuple[str, ...]] = {}
        unresolvable = self._failed_map(result, "FailedAndUnresolvableNodes")
        for name, message in self._failed_map(result, "FailedNodes").items():
            reasons[name] = (message,)
        for name, message in unresolvable.items():
            reasons[name] = (message,)  # takes precedence, as upstream
        survivors = [by_name[n] for n in dict.fromkeys(names)]
        return survivors, reasons

    def _survivor_names(self, result: Mapping[str, Any]) -> list[str]:
        node_names = go_field(result, "NodeNames")
        names_only = node_names is not None and go_field(result, "Nodes") is None
        if not self.node_cache_capable and names_only:
            raise ExtenderFailure(
                "filter response has NodeNames but no Nodes: the extender is node-cache-"
                "capable (it reads and answers node names); add ?nodeCacheCapable=true to the "
                "adapter spec"
            )
        if self.node_cache_capable and node_names is not None:
            if not isinstance(node_names, list) or not all(isinstance(n, str) for n in node_names):
                raise ExtenderFailure("filter response: NodeNames must be a list of strings")
            return list(node_names)
        node_list = go_field(result, "Nodes")
        if node_list is None:
            return []
        items = go_field(node_list, "Items") if isinstance(node_list, dict) else None
        if not isinstance(node_list, dict) or not isinstance(items, list | None):
            raise ExtenderFailure("filter response: Nodes must be a NodeList with items")
        names: list[str] = []
        for index, item in enumerate(items or []):
            meta = go_field(item, "metadata") if isinstance(item, dict) else None
            name = go_field(meta, "name") if isinstance(meta, dict) else None
            if not isinstance(name, str):
                raise ExtenderFailure(f"filter response: Nodes.items[{index}] has no metadata.name")
            names.append(name)
        return names

    @staticmethod
    def _failed_map(result: Mapping[str, Any], field: str) -> dict[str, str]:
        value = go_field(result, field)
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ExtenderFailure(f"filter response: {field} must map node names to messages")
        return dict(value)

    # -- prioritize --

    def _prioritize(self, pod: Pod, nodes: list[Node]) -> dict[str, int]:
        """Scaled scores for every node offered (0 for one the extender leaves out)."""
        totals = {n.name: 0 for n in nodes}
        if not self.prioritize_verb:
            return totals
        result = self._post(
            self.prioritize_verb,
            extender_args(pod, nodes, node_cache_capable=self.node_cache_capable),
        )
        if result is None:
            return totals
        if not isinstance(result, list):
            raise ExtenderFailure(
                f"prioritize response must be a HostPriorityList (a JSON list), "
                f"got {type(result).__name__}"
            )
        scale = MAX_NODE_SCORE // MAX_EXTENDER_PRIORITY
        for index, entry in enumerate(result):
            host = go_field(entry, "Host") if isinstance(entry, dict) else None
            score = go_field(entry, "Score") if isinstance(entry, dict) else None
            if not isinstance(host, str):
                raise ExtenderFailure(f"prioritize response[{index}]: Host must be a string")
            if not isinstance(score, int) or isinstance(score, bool):
                raise ExtenderFailure(
                    f"prioritize response[{index}]: Score must be an integer, got {score!r:.40}"
                )
            if host not in totals:
                raise ExtenderFailure(
                    f"prioritize response scores node {host!r}, which was not offered "
                    f"(offered: {', '.join(totals)})"
                )
            totals[host] += score * self.weight * scale  # duplicates add up, as upstream
        return totals

    # -- the Scheduler protocol --

    def schedule(self, cluster: Cluster, pod: Pod) -> Decision:
        try:
            return self._schedule(cluster, pod)
        except ExtenderFailure as exc:
            return Decision(node=None, error=str(exc))

    def _schedule(self, cluster: Cluster, pod: Pod) -> Decision:
        nodes = list(cluster.nodes.values())
        if not nodes:
            return Decision(node=None)
        survivors, reasons = self._filter(pod, nodes)
        if not survivors:
            return Decision(node=None, reasons=reasons)
        if len(survivors) == 1:
            # kube-scheduler does not score when only one node is feasible.
            return Decision(node=survivors[0].name, reasons=reasons)
        # Survivors go to prioritize in the extender's order, as upstream sends them.
        scores = self._prioritize(pod, survivors)
        order = {name: i for i, name in enumerate(cluster.nodes)}
        best = max(survivors, key=lambda n: (scores[n.name], -order[n.name]))
        return Decision(node=best.name, reasons=reasons, scores=scores)

    def close(self) -> None:
        """Nothing to release: every request opens and closes its own connection."""


def from_spec(rest: str, options: Options) -> ExtenderScheduler:
    timeout = options.number("timeout", DEFAULT_TIMEOUT)
    cache = options.flag("nodeCacheCapable", False)
    weight = options.integer("weight", 1, minimum=1)
    filter_verb = options.text("filter", "filter")
    prioritize_verb = options.text("prioritize", "prioritize")
    options.finish()
    return ExtenderScheduler(
        rest,
        timeout=timeout,
        node_cache_capable=cache,
        weight=weight,
        filter_verb=filter_verb,
        prioritize_verb=prioritize_verb,
    )
