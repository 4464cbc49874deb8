"""Talking to a live API server with the official ``kubernetes`` client (extra ``[kube]``).

The client's kubeconfig loading (contexts, client certificates, tokens, exec plugins) and
its TLS connection pool are used as they are; requests and answers travel as plain JSON.
The generated model classes are left out on purpose: they validate request bodies against
the client's own copy of the API (a newer client refuses a node-affinity preference the
API server accepts, an older one drops fields it does not know) and turn every answer into
objects, which costs more than the request itself. podfit sends what ``kubectl apply``
would send and reads what the API server holds.

Every failure is a :class:`KubeError` (a :class:`~podfit.errors.PodfitError`: one line,
exit code 2) carrying the API server's own message.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from podfit.errors import PodfitError

#: Seconds to wait for a TCP connection to the API server.
CONNECT_TIMEOUT = 5.0
#: Seconds to wait for an answer to an ordinary request.
READ_TIMEOUT = 30.0


class KubeError(PodfitError):
    """A request to the API server failed; ``status`` is the HTTP code (None: no answer)."""

    def __init__(self, message: str, *, status: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


def _client_modules() -> tuple[Any, Any]:
    try:
        return (
            importlib.import_module("kubernetes.client"),
            importlib.import_module("kubernetes.config"),
        )
    except ImportError:
        raise KubeError(
            "the kubernetes client is not installed; install podfit[kube] "
            "(pip install 'podfit[kube]')"
        ) from None


def list_contexts(kubeconfig: str | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(every context, the current one) of a kubeconfig (``$KUBECONFIG`` or ~/.kube/config)."""
    _, k8s_config = _client_modules()
    try:
        contexts, active = k8s_config.list_kube_config_contexts(config_file=kubeconfig)
    except Exception as exc:
        where = f" {kubeconfig}" if kubeconfig else ""
        raise KubeError(f"cannot read the kubeconfig{where}: {_one_line(exc)}") from None
    return list(contexts or []), dict(active or {})


def choose_context(context: str | None, kubeconfig: str | None = None) -> dict[str, Any]:
    """The kubeconfig context named ``context`` (empty or None: the current one)."""
    contexts, active = list_contexts(kubeconfig)
    if not context:
        if not active:
            raise KubeError("the kubeconfig has no current context; name one")
        return active
    for entry in contexts:
        if entry.get("name") == context:
            return entry
    names = ", ".join(str(c.get("name", "?")) for c in contexts) or "none"
    raise KubeError(f"no context {context!r} in the kubeconfig; contexts: {names}")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class Kube:
    """One kubeconfig context: JSON requests, paged lists and watches.

    Thread-safe: the connection pool is shared, so callers may issue requests in parallel.
    """

    def __init__(self, context: str | None = None, *, kubeconfig: str | None = None) -> None:
        k8s_client, k8s_config = _client_modules()
        chosen = choose_context(context, kubeconfig)
        self.context: str = str(chosen.get("name", ""))
        details = chosen.get("context") or {}
        self.cluster: str | None = details.get("cluster")
        self.namespace: str = str(details.get("namespace") or "default")
        configuration = k8s_client.Configuration()
        try:
            k8s_config.load_kube_config(
                config_file=kubeconfig,
                context=self.context,
                client_configuration=configuration,
                persist_config=False,
            )
        except Exception as exc:
            raise KubeError(f"cannot load context {self.context!r}: {_one_line(exc)}") from None
        # Parallel requests (creating a cluster's objects at once) need more than the
        # client's default pool; a failed connection is reported, not retried for long.
        configuration.connection_pool_maxsize = 16
        urllib3 = importlib.import_module("urllib3")
        configuration.retries = urllib3.Retry(total=2, connect=2, read=0, backoff_factor=0.1)
        self._configuration = configuration
        self._api_client = k8s_client.ApiClient(configuration)
        self._pool = self._api_client.rest_client.pool_manager
        self._timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT)
        self._urllib3 = urllib3
        self.host: str = str(configuration.host).rstrip("/")
        self._lock = threading.Lock()

    # -- plumbing --

    def _headers(self, content_type: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "podfit"}
        if content_type:
            headers["Content-Type"] = content_type
        with self._lock:  # a token refresh hook (exec plugins) is not thread-safe
            settings = self._configuration.auth_settings()
        for setting in settings.values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[str(setting["key"])] = str(setting["value"])
        return headers

    def _url(self, path: str, query: Mapping[str, Any] | None) -> str:
        params = {k: v for k, v in (query or {}).items() if v is not None}
        return self.host + path + (f"?{urlencode(params)}" if params else "")

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None,
        body: Any,
        content_type: str | None,
        timeout: Any,
        stream: bool,
    ) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        try:
            response = self._pool.request(
                method,
                self._url(path, query),
                body=data,
                headers=self._headers(content_type if data is not None else None),
                timeout=timeout,
                preload_content=not stream,
            )
        except self._urllib3.exceptions.HTTPError as exc:
            raise KubeError(
                f"cannot reach the API server at {self.host} (context {self.context!r}): "
                f"{_reason(exc)}"
            ) from None
        if response.status >= 400:
            text = response.data if not stream else response.read()
            raise _status_error(method, path, response.status, text)
        return response

    # -- requests --

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """One request; the answer's JSON (``{}`` when empty)."""
        limit = (
            self._urllib3.Timeout(connect=CONNECT_TIMEOUT, read=timeout)
            if timeout is not None
            else self._timeout
        )
        response = self._send(method, path, query, body, content_type, limit, stream=False)
        if not response.data:
            return {}
        answer = json.loads(response.data)
        return answer if isinstance(answer, dict) else {}

    def get(self, path: str, **query: Any) -> dict[str, Any]:
        return self.request("GET", path, query=query)

    def create(self, path: str, body: Mapping[str, Any], **query: Any) -> dict[str, Any]:
        return self.request("POST", path, body=body, query=query)

    def delete(self, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.request("DELETE", path, body=body)

    def list(
        self, path: str, *, label_selector: str | None = None, page: int = 500
    ) -> tuple[list[dict[str, Any]], str]:
        """Every item of a collection (paged), each with its ``apiVersion`` and ``kind``
        filled in as ``kubectl get -o yaml`` writes them; and the list's resourceVersion."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        version = ""
        while True:
            answer = self.get(path, labelSelector=label_selector, limit=page, **{"continue": token})
            kind = str(answer.get("kind", ""))
            kind = kind[: -len("List")] if kind.endswith("List") else kind
            for item in answer.get("items") or []:
                item.setdefault("apiVersion", answer.get("apiVersion"))
                item.setdefault("kind", kind)
                items.append(item)
            meta = answer.get("metadata") or {}
            version = str(meta.get("resourceVersion", ""))
            token = meta.get("continue") or None
            if token is None:
                return items, version

    def watch(
        self,
        path: str,
        *,
        resource_version: str,
        timeout: float,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Watch events (``{"type": ..., "object": ...}``) after ``resource_version``, for
        at most ``timeout`` seconds. An ``ERROR`` event (e.g. 410 Gone) raises KubeError."""
        seconds = max(1, int(timeout + 0.999))
        query = {
            "watch": "1",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": seconds,
            "labelSelector": label_selector,
            "fieldSelector": field_selector,
        }
        limit = self._urllib3.Timeout(connect=CONNECT_TIMEOUT, read=seconds + 5)
        response = self._send("GET", path, query, None, None, limit, stream=True)
        buffer = b""
        try:
            for chunk in response.stream(65536):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    if event.get("type") == "ERROR":
                        status = event.get("object") or {}
                        raise KubeError(
                            str(status.get("message") or "watch failed"),
                            status=status.get("code"),
                            reason=str(status.get("reason", "")),
                        )
                    yield event
        except self._urllib3.exceptions.HTTPError as exc:
            raise KubeError(f"watching {path} failed: {_reason(exc)}") from None
        finally:
            response.release_conn()

    def close(self) -> None:
        # Closing must never hide what happened before.
        with contextlib.suppress(Exception):
            self._api_client.close()


def _reason(exc: BaseException) -> str:
    """The root cause of a urllib3 failure, in a few words (connection refused, timeout)."""
    reason = getattr(exc, "reason", None)
    while reason is not None and getattr(reason, "reason", None) is not None:
        reason = reason.reason
    text = _one_line(reason) if isinstance(reason, BaseException) else _one_line(exc)
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if "timed out" in lowered or "timeout" in lowered:
        return "timed out"
    if "certificate" in lowered or "ssl" in lowered:
        return f"TLS failed: {text}"
    return text


def _status_error(method: str, path: str, status: int, data: bytes | None) -> KubeError:
    """The API server's Status message (why a create was forbidden, what is invalid)."""
    message, reason = "", ""
    try:
        body = json.loads(data or b"{}")
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = str(body.get("message") or "")
        reason = str(body.get("reason") or "")
    if not message:
        text = (data or b"").decode("utf-8", "replace").strip()
        message = " ".join(text.split())[:500] or f"HTTP {status}"
    return KubeError(message, status=status, reason=reason)


# --- what podfit reads from a cluster ---------------------------------------------------------

#: (collection path, what it is) podfit reads: what scheduling, admission and eviction use.
#: The first two are needed; the rest make answers more complete where the user may read them.
READ_KINDS: Sequence[tuple[str, str, bool]] = (
    ("/api/v1/nodes", "nodes", True),
    ("/api/v1/pods", "pods", True),
    ("/api/v1/namespaces", "namespaces", False),
    ("/apis/scheduling.k8s.io/v1/priorityclasses", "priorityclasses", False),
    ("/api/v1/limitranges", "limitranges", False),
    ("/api/v1/resourcequotas", "resourcequotas", False),
    ("/apis/policy/v1/poddisruptionbudgets", "poddisruptionbudgets", False),
    ("/apis/apps/v1/daemonsets", "daemonsets", False),
    ("/api/v1/services", "services", False),
    ("/apis/apps/v1/replicasets", "replicasets", False),
    ("/apis/apps/v1/statefulsets", "statefulsets", False),
    ("/api/v1/replicationcontrollers", "replicationcontrollers", False),
)


def read_objects(kube: Kube) -> tuple[list[dict[str, Any]], list[str]]:
    """Every object podfit reads, as manifests (read-only: list requests only), and
    warnings for the optional kinds the user may not list (RBAC)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(entry: tuple[str, str, bool]) -> tuple[list[dict[str, Any]], str | None]:
        path, what, needed = entry
        try:
            return kube.list(path)[0], None
        except KubeError as exc:
            if needed or exc.status not in (401, 403, 404):
                raise KubeError(f"listing {what} in context {kube.context!r}: {exc}") from None
            return [], f"cannot list {what} ({exc.reason or exc.status}); read without them"

    manifests: list[dict[str, Any]] = []
    warnings: list[str] = []
    with ThreadPoolExecutor(max_workers=4) as pool:
        for items, warning in pool.map(one, READ_KINDS):
            manifests.extend(items)
            if warning:
                warnings.append(warning)
    return manifests, warnings


def pod_path(namespace: str, name: str) -> str:
    return f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(name, safe='')}"


def read_pod(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    """One pod as a manifest; a clear error when it is not there."""
    try:
        pod = kube.get(pod_path(namespace, name))
    except KubeError as exc:
        if exc.status == 404:
            raise KubeError(
                f"pod {namespace}/{name} not found in context {kube.context!r}",
                status=404,
                reason="NotFound",
            ) from None
        raise
    pod.setdefault("apiVersion", "v1")
    pod.setdefault("kind", "Pod")
    return pod
