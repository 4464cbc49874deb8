"""The kube: adapter against a fake API server (the real one: tests/test_kube_live.py)."""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from podfit.adapters import resolve
from podfit.adapters.kube_adapter import (
    FENCE_TAINT_KEY,
    KWOK_ANNOTATION,
    NODE_LABEL,
    OWNED_LABEL,
    RUN_LABEL,
    KubeScheduler,
    check_context,
    is_owned,
    pin_to_nodes,
    pod_object,
    production_word,
    run_of,
)
from podfit.conformance.decisions import Decision
from podfit.errors import UsageError
from podfit.kube import KubeError
from tests.test_adapters import cluster_of, node, pending, pod


@pytest.mark.parametrize(
    ("name", "word"),
    [
        ("prod", "prod"),
        ("gke_acme_europe-west1_prod-eu", "prod"),
        ("production", "production"),
        ("arn:aws:eks:us-east-1:1:cluster/Live-Payments", "live"),
        ("prd-01", "prd"),
        ("kind-kind", None),
        ("kwok-podfit", None),
        ("olive-dev", None),
        ("staging", None),
        ("", None),
    ],
)
def test_production_words(name: str, word: str | None) -> None:
    assert production_word(name) == word


def test_check_context_refuses_production_unless_allowed() -> None:
    with pytest.raises(UsageError, match=r"refusing context 'prod-eu'.*allow-production=true"):
        check_context("prod-eu", "kind", allow_production=False)
    with pytest.raises(UsageError, match="refusing cluster 'live-1'"):
        check_context("team-a", "live-1", allow_production=False)
    check_context("prod-eu", "live-1", allow_production=True)
    check_context("kind-podfit", "kind-podfit", allow_production=False)


def test_kube_spec_refuses_production_before_touching_anything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "kubernetes", None)  # even without the client installed
    with pytest.raises(UsageError, match="refusing context 'my-prod'"):
        resolve("kube:my-prod")
    with pytest.raises(UsageError, match=r"kubernetes client is not installed.*podfit\[kube\]"):
        resolve("kube:my-prod?allow-production=true")
    with pytest.raises(UsageError, match=r"podfit\[kube\]"):
        resolve("kube:kind-kind")


def test_ownership_labels() -> None:
    assert is_owned({OWNED_LABEL: "true", RUN_LABEL: "abc123"}, "abc123")
    assert is_owned({OWNED_LABEL: "true", RUN_LABEL: "abc123-4"}, "abc123")  # older runs
    assert not is_owned({OWNED_LABEL: "true", RUN_LABEL: "abc1234"}, "abc123")
    assert not is_owned({OWNED_LABEL: "true", RUN_LABEL: "other-4"}, "abc123")
    assert not is_owned({RUN_LABEL: "abc123"}, "abc123")
    assert not is_owned({OWNED_LABEL: "false", RUN_LABEL: "abc123"}, "abc123")
    assert not is_owned(None, "abc123")
    assert run_of({OWNED_LABEL: "true", RUN_LABEL: "abc123"}) == "abc123"
    assert run_of({OWNED_LABEL: "true"}) is None


# --- a fake API server -------------------------------------------------------------------


Decide = Callable[["FakeKube", dict[str, Any]], None]


class FakeKube:
    """The requests the adapter makes, on dicts keyed by path; ``decide`` plays the
    scheduler (sets spec.nodeName or a PodScheduled=False condition on a new pod)."""

    context = "kind-podfit"

    def __init__(self, decide: Decide | None = None, *, ready: bool = True) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.decide = decide
        self.ready = ready
        self.created: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.version = 0
        self.fail_create: Callable[[str, dict[str, Any]], KubeError | None] | None = None
        self.on_watch: Callable[[], None] | None = None
        self.node_taints: list[dict[str, str]] = []  # what admission adds to new nodes

    def _bump(self, obj: dict[str, Any]) -> None:
        self.version += 1
        obj["metadata"]["resourceVersion"] = str(self.version)

    @staticmethod
    def _item_path(path: str, body: dict[str, Any]) -> str:
        return f"{path}/{body['metadata']['name']}"

    def create(self, path: str, body: dict[str, Any], **query: Any) -> dict[str, Any]:
        if self.fail_create is not None:
            error = self.fail_create(path, body)
            if error is not None:
                raise error
        item = self._item_path(path, body)
        if item in self.objects:
            raise KubeError("already exists", status=409, reason="AlreadyExists")
        if "/pods" in path:
            namespace = path.split("/")[4]
            assert f"/api/v1/namespaces/{namespace}" in self.objects, "namespace must exist"
            body = {**body, "metadata": {**body["metadata"], "namespace": namespace}}
        obj = copy.deepcopy(body)
        obj["metadata"]["uid"] = f"uid-{len(self.created)}"
        self._bump(obj)
        if path.endswith("/nodes") and self.ready:
            obj.setdefault("status", {})["conditions"] = [{"type": "Ready", "status": "True"}]
        if path.endswith("/nodes"):
            spec = obj.setdefault("spec", {})
            spec["taints"] = [*spec.get("taints", []), *self.node_taints]
        self.objects[item] = obj
        self.created.append(copy.deepcopy(obj))
        if "/pods" in path and not obj["spec"].get("nodeName") and self.decide is not None:
            self.decide(self, obj)
            self._bump(obj)
        return copy.deepcopy(obj)

    def get(self, path: str, **query: Any) -> dict[str, Any]:
        if path not in self.objects:
            raise KubeError("not found", status=404, reason="NotFound")
        return copy.deepcopy(self.objects[path])

    def request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return {}  # lease renewals

    def delete(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if path not in self.objects:
            raise KubeError("not found", status=404, reason="NotFound")
        uid = ((body or {}).get("preconditions") or {}).get("uid")
        if uid and self.objects[path]["metadata"]["uid"] != uid:
            raise KubeError("uid precondition failed", status=409, reason="Conflict")
        del self.objects[path]
        self.deleted.append(path)
        if path.startswith("/api/v1/namespaces/"):  # the namespace controller's part
            name = path.rsplit("/", 1)[1]
            for item in [p for p in self.objects if f"/namespaces/{name}/" in p]:
                del self.objects[item]
        return {}

    def _select(self, path: str, label_selector: str | None) -> list[dict[str, Any]]:
        wanted = dict(p.split("=", 1) for p in (label_selector or "").split(",") if p)
        kind = path.rsplit("/", 1)[1]
        out = []
        for item, obj in self.objects.items():
            parent = item.rsplit("/", 1)[0]
            if parent != path and not (path == "/api/v1/pods" and parent.endswith("/pods")):
                continue
            if kind == "namespaces" and item.count("/") != 4:
                continue
            labels = obj["metadata"].get("labels") or {}
            if all(labels.get(k) == v for k, v in wanted.items()):
                out.append(copy.deepcopy(obj))
        return out

    def list(
        self, path: str, *, label_selector: str | None = None
    ) -> tuple[list[dict[str, Any]], str]:
        return self._select(path, label_selector), str(self.version)

    def watch(
        self,
        path: str,
        *,
        resource_version: str,
        timeout: float,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        if self.on_watch is not None:
            self.on_watch()
        items = self._select(path, label_selector)
        if field_selector:
            name = field_selector.split("=", 1)[1]
            items = [i for i in items if i["metadata"]["name"] == name]
        changed = [
            i for i in items if int(i["metadata"]["resourceVersion"]) > int(resource_version)
        ]
        if not changed:
            time.sleep(min(timeout, 0.05))
        for item in changed:
            yield {"type": "MODIFIED", "object": item}

    def close(self) -> None:
        pass

    # -- views --

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects.values() if o.get("kind") == kind]

    def created_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.created if o.get("kind") == kind]


def bind_by_selector(api: FakeKube, p: dict[str, Any]) -> None:
    """A toy scheduler: the first node the pin allows whose labels carry the nodeSelector."""
    selector = p["spec"].get("nodeSelector", {})
    terms = p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    allowed = {v for t in terms for r in t.get("matchExpressions", []) for v in r["values"]}
    for n in api.of_kind("Node"):
        labels = n["metadata"].get("labels", {})
        if labels.get(NODE_LABEL) in allowed and all(
            labels.get(k) == v for k, v in selector.items()
        ):
            p["spec"]["nodeName"] = n["metadata"]["name"]
            return
    count = len(api.of_kind("Node"))
    p["status"] = {
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": f"0/{count} nodes are available: {count} node(s) didn't match "
                "Pod's node affinity/selector.",
            }
        ]
    }


def kube(api: FakeKube, **kwargs: Any) -> KubeScheduler:
    kwargs.setdefault("settle", 0)
    return KubeScheduler("kind-podfit", kube=api, cluster_name="kind-podfit", **kwargs)


KUBE_CLUSTER = (
    node(
        "a", labels={"disk": "hdd"}, taints=[{"key": "team", "value": "x", "effect": "NoSchedule"}]
    ),
    node("b", labels={"disk": "ssd"}),
    {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "shop", "labels": {"tier": "web"}},
    },
    {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": "high"},
        "value": 1000,
    },
    pod("db", node_name="a", namespace="shop", cpu="1", spec={"priorityClassName": "high"}),
    pod("old", node_name="b", namespace="shop", phase="Succeeded"),
)


def test_kube_creates_fenced_objects_and_cleans_up() -> None:
    api = FakeKube(decide=bind_by_selector)
    scheduler = kube(api, scheduler_name="my-scheduler")
    run = scheduler.run
    web = pending(pod("web", namespace="shop", spec={"nodeSelector": {"disk": "ssd"}}))
    decision = scheduler.schedule(cluster_of(*KUBE_CLUSTER), web)
    assert decision == Decision(node="b")
    nodes = {o["metadata"]["name"]: o for o in api.created_kind("Node")}
    pods = {o["metadata"]["name"].rsplit("-", 1)[0]: o for o in api.created_kind("Pod")}
    namespaces = [o["metadata"]["name"] for o in api.created_kind("Namespace")]
    assert len(nodes) == 2
    for name, n in nodes.items():
        assert name.startswith(f"podfit-{run}-n")
        labels = n["metadata"]["labels"]
        assert labels[OWNED_LABEL] == "true" and labels[RUN_LABEL] == run
        assert labels[NODE_LABEL] == name
        assert n["metadata"]["annotations"][KWOK_ANNOTATION] == "fake"
        assert {"key": FENCE_TAINT_KEY, "value": "true", "effect": "NoSchedule"} in n["spec"][
            "taints"
        ]
    live_a = next(n for n in nodes.values() if n["metadata"]["labels"].get("disk") == "hdd")
    assert live_a["spec"]["taints"][0] == {"key": "team", "value": "x", "effect": "NoSchedule"}
    assert live_a["status"]["allocatable"] == {"cpu": "4", "memory": "8Gi", "pods": "110"}
    # Only the running pod and the pod under test: terminal pods hold nothing.
    assert set(pods) == {"db", "web"}
    db = pods["db"]
    assert db["spec"]["nodeName"] == live_a["metadata"]["name"]
    assert "priority" not in db["spec"] and "priorityClassName" not in db["spec"]
    assert db["spec"]["terminationGracePeriodSeconds"] == 0
    web_body = pods["web"]
    assert web_body["spec"]["schedulerName"] == "my-scheduler"
    assert web_body["spec"]["nodeSelector"] == {"disk": "ssd"}
    pin = web_body["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert pin == [
        {"matchExpressions": [{"key": NODE_LABEL, "operator": "In", "values": sorted(nodes)}]}
    ]
    assert {
        "key": FENCE_TAINT_KEY,
        "operator": "Equal",
        "value": "true",
        "effect": "NoSchedule",
    } in web_body["spec"]["tolerations"]
    # The run's home (its lease) and the scratch namespace for "shop", with its labels.
    assert namespaces[0] == f"podfit-{run}"
    shop = next(
        o for o in api.created_kind("Namespace") if o["metadata"]["name"] != f"podfit-{run}"
    )
    assert shop["metadata"]["labels"] == {"tier": "web", OWNED_LABEL: "true", RUN_LABEL: run}
    assert web_body["metadata"]["namespace"] == shop["metadata"]["name"]
    scheduler.close()
    assert api.objects == {}, "close() removes pods, nodes and namespaces"


def test_kube_reuses_nodes_and_namespaces_across_examples() -> None:
    api = FakeKube(decide=bind_by_selector)
    scheduler = kube(api)
    cluster = cluster_of(*KUBE_CLUSTER)
    scheduler.schedule(cluster, pending(pod("web", namespace="shop")))
    scheduler.schedule(cluster, pending(pod("web", namespace="shop")))
    assert len(api.created_kind("Node")) == 2
    assert len(api.created_kind("Namespace")) == 2
    assert scheduler.stats["nodes_reused"] == 2
    # The first example's pods are gone once the second one is asked.
    assert len(api.of_kind("Pod")) == 2
    # A node with other labels is a new node.
    other = cluster_of(node("a", labels={"disk": "nvme"}))
    scheduler.schedule(other, pending(pod("web")))
    assert len(api.created_kind("Node")) == 3
    scheduler.close()
    assert api.objects == {}


def test_kube_pool_is_bounded() -> None:
    api = FakeKube(decide=bind_by_selector)
    scheduler = kube(api, pool_size=8)
    for i in range(12):
        scheduler.schedule(cluster_of(node("a", labels={"i": str(i)})), pending(pod("web")))
    assert len(api.of_kind("Node")) <= 8
    scheduler.close()


def test_kube_isolates_spread_that_counts_every_node() -> None:
    api = FakeKube(decide=bind_by_selector)
    scheduler = kube(api)
    zone = "topology.kubernetes.io/zone"
    scheduler.schedule(cluster_of(node("x", labels={zone: "z2"})), pending(pod("p0")))
    spread = {
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": zone,
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app": "web"}},
                "nodeAffinityPolicy": "Ignore",
            }
        ]
    }
    web = pending(pod("web", labels={"app": "web"}, spec=spread))
    scheduler.schedule(cluster_of(node("a", labels={zone: "z1"})), web)
    zones = [n["metadata"]["labels"].get(zone) for n in api.of_kind("Node")]
    assert zones == ["z1"], "a pooled node in another zone would count as a domain"
    scheduler.close()


def test_kube_unschedulable_reports_the_scheduler_message() -> None:
    api = FakeKube(decide=bind_by_selector)
    scheduler = kube(api)
    web = pending(pod("web", spec={"nodeSelector": {"disk": "nvme"}}))
    decision = scheduler.schedule(cluster_of(*KUBE_CLUSTER), web)
    assert decision.unschedulable
    assert decision.reasons == {
        "*": ("0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.",)
    }
    assert scheduler.stats["retries"] == 0
    scheduler.close()


def test_kube_asks_again_when_the_scheduler_had_not_seen_the_nodes() -> None:
    answers = iter(["0/0 nodes are available: .", None])

    def late(api: FakeKube, p: dict[str, Any]) -> None:
        message = next(answers)
        if message is None:
            bind_by_selector(api, p)
            return
        p["status"] = {
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": message,
                }
            ]
        }

    api = FakeKube(decide=late)
    scheduler = kube(api)
    decision = scheduler.schedule(cluster_of(node("a")), pending(pod("web")))
    assert decision == Decision(node="a")
    assert scheduler.stats["retries"] == 1
    scheduler.close()
    assert api.objects == {}


def test_kube_reports_the_api_servers_message() -> None:
    api = FakeKube(decide=bind_by_selector)

    def forbid(path: str, body: dict[str, Any]) -> KubeError | None:
        if body.get("kind") == "Pod":
            return KubeError(
                'pods "web" is forbidden: pod rejected: Pod Overhead set without '
                "corresponding RuntimeClass defined Overhead",
                status=403,
                reason="Forbidden",
            )
        return None

    scheduler = kube(api)
    api.fail_create = forbid
    decision = scheduler.schedule(cluster_of(node("a")), pending(pod("web")))
    assert decision.error is not None
    assert "Pod Overhead set without corresponding RuntimeClass defined Overhead" in decision.error
    assert "HTTP 403" not in decision.error
    scheduler.close()


def test_kube_gives_overhead_a_runtime_class() -> None:
    api = FakeKube(decide=bind_by_selector)
    scheduler = kube(api)
    web = pending(pod("web", cpu="1", spec={"overhead": {"cpu": "250m"}}))
    assert scheduler.schedule(cluster_of(node("a")), web) == Decision(node="a")
    (runtime_class,) = api.created_kind("RuntimeClass")
    assert runtime_class["overhead"] == {"podFixed": {"cpu": "250m"}}
    (live,) = api.created_kind("Pod")
    assert live["spec"]["runtimeClassName"] == runtime_class["metadata"]["name"]
    assert live["spec"]["overhead"] == {"cpu": "250m"}
    scheduler.close()
    assert api.objects == {}


def test_kube_timeout_names_the_scheduler() -> None:
    api = FakeKube(decide=None)  # nobody schedules
    scheduler = kube(api, timeout=0.2)
    decision = scheduler.schedule(
        cluster_of(node("a")), pending(pod("web", spec={"schedulerName": "mine"}))
    )
    assert decision.error == (
        "no scheduling decision within 0.2 s; is a scheduler named 'mine' running in context 'kind-podfit'?"
    )
    scheduler.close()
    assert api.objects == {}


def test_kube_waits_for_nodes_to_be_ready() -> None:
    api = FakeKube(decide=bind_by_selector, ready=False)
    scheduler = kube(api, ready_timeout=0.2)
    decision = scheduler.schedule(cluster_of(node("a")), pending(pod("web")))
    assert decision.error is not None and "did not become Ready within 0.2 s" in decision.error
    scheduler.close()
    assert api.objects == {}


def test_kube_waits_for_a_controllers_not_ready_taint_to_go() -> None:
    api = FakeKube(decide=bind_by_selector)
    api.node_taints = [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]
    scheduler = kube(api, ready_timeout=0.2)
    decision = scheduler.schedule(cluster_of(node("a")), pending(pod("web")))
    assert decision.error is not None and "did not become Ready" in decision.error
    # A taint the example itself has is not waited for.
    tainted = node("b", taints=[{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}])
    toleration = {"tolerations": [{"operator": "Exists"}]}
    assert scheduler.schedule(cluster_of(tainted), pending(pod("web", spec=toleration))) == (
        Decision(node="b")
    )
    scheduler.close()


def test_kube_never_deletes_what_it_does_not_own() -> None:
    api = FakeKube(decide=bind_by_selector)
    scheduler = kube(api)
    scheduler.schedule(cluster_of(node("a"), node("b")), pending(pod("web")))
    live = sorted(p for p in api.objects if p.startswith("/api/v1/nodes/"))
    # Someone relabels one of our nodes and replaces the other with theirs.
    api.objects[live[0]]["metadata"]["labels"] = {"team": "theirs"}
    api.objects[live[1]]["metadata"]["uid"] = "theirs"
    scheduler.close()
    assert sorted(p for p in api.objects if p.startswith("/api/v1/nodes/")) == live
    assert sorted(scheduler.skipped) == sorted(f"node {p.rsplit('/', 1)[1]}" for p in live)


def test_kube_cleans_up_after_keyboard_interrupt() -> None:
    api = FakeKube(decide=None)
    scheduler = kube(api)

    def interrupt() -> None:
        api.on_watch = None
        raise KeyboardInterrupt

    api.on_watch = interrupt
    with pytest.raises(KeyboardInterrupt):
        scheduler.schedule(cluster_of(*KUBE_CLUSTER), pending(pod("web", namespace="shop")))
    scheduler.close()
    assert api.objects == {}


def test_kube_sweeps_what_dead_runs_left_and_nothing_else() -> None:
    api = FakeKube(decide=bind_by_selector)
    dead = kube(api)
    dead.schedule(cluster_of(*KUBE_CLUSTER), pending(pod("web", namespace="shop")))
    alive = kube(api)
    alive.schedule(cluster_of(node("z")), pending(pod("other")))
    # The dead run stops renewing: its lease is gone (its namespace was deleted by hand).
    dead._stop.set()
    del api.objects[f"/apis/coordination.k8s.io/v1/namespaces/podfit-{dead.run}/leases/podfit-run"]
    stranger = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "real-1", "labels": {}}}
    api.create("/api/v1/nodes", stranger)
    mimic = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "not-podfit", "labels": {RUN_LABEL: dead.run}},  # no owned label
    }
    api.create("/api/v1/nodes", mimic)
    later = kube(api)
    assert later.swept, "the dead run's objects were found"
    left = {o["metadata"]["name"] for o in api.objects.values()}
    assert not any(name.startswith(f"podfit-{dead.run}") for name in left)
    assert {"real-1", "not-podfit"} <= left
    assert any(name.startswith(f"podfit-{alive.run}") for name in left), "live runs are kept"
    for scheduler in (alive, later):
        scheduler.close()
    dead._closed = True


def test_kube_existing_nodes_mode() -> None:
    def first(api: FakeKube, p: dict[str, Any]) -> None:
        p["spec"]["nodeName"] = "real-1"

    api = FakeKube(decide=first)
    api.objects["/api/v1/nodes/real-1"] = {
        "kind": "Node",
        "metadata": {"name": "real-1", "labels": {}, "uid": "r", "resourceVersion": "0"},
    }
    scheduler = kube(api, nodes="existing")
    decision = scheduler.schedule(cluster_of(node("real-1")), pending(pod("web")))
    assert decision == Decision(node="real-1")
    assert [o["kind"] for o in api.created] == ["Namespace", "Lease", "Namespace", "Pod"]
    missing = scheduler.schedule(cluster_of(node("real-1"), node("ghost")), pending(pod("web2")))
    assert (
        missing.error
        == "nodes=existing: node(s) ghost of the podfit cluster are not in the live cluster"
    )
    scheduler.close()
    assert list(api.objects) == ["/api/v1/nodes/real-1"]  # never touched


def test_kube_binding_outside_the_example_is_an_error() -> None:
    def rogue(api: FakeKube, p: dict[str, Any]) -> None:
        p["spec"]["nodeName"] = "some-real-node"

    scheduler = kube(FakeKube(decide=rogue))
    decision = scheduler.schedule(cluster_of(node("a")), pending(pod("web")))
    assert decision.error == (
        "the pod was bound to node 'some-real-node', which is not one of the example's nodes"
    )
    scheduler.close()


def test_kube_fake_client_goes_through_the_safety_check() -> None:
    with pytest.raises(UsageError, match="refusing context 'prod'"):
        KubeScheduler("prod", kube=FakeKube())


def test_pin_to_nodes_keeps_empty_terms_empty() -> None:
    spec: dict[str, Any] = {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {},
                        {
                            "matchFields": [
                                {"key": "metadata.name", "operator": "In", "values": ["x"]}
                            ]
                        },
                    ]
                }
            }
        }
    }
    pin_to_nodes(spec, ["n2", "n1"])
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert terms[0] == {}, "an empty term matches no node, and must go on matching none"
    assert terms[1]["matchExpressions"] == [
        {"key": NODE_LABEL, "operator": "In", "values": ["n1", "n2"]}
    ]
    bare: dict[str, Any] = {}
    pin_to_nodes(bare, ["n1"])
    assert bare["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [
            {"matchExpressions": [{"key": NODE_LABEL, "operator": "In", "values": ["n1"]}]}
        ]
    }


def test_pod_object_rewrites_node_names_and_namespaces() -> None:
    manifest = pod(
        "p",
        namespace="shop",
        spec={
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchFields": [
                                    {"key": "metadata.name", "operator": "In", "values": ["b"]}
                                ]
                            }
                        ]
                    }
                },
                "podAntiAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "topologyKey": "kubernetes.io/hostname",
                            "namespaces": ["shop", "other"],
                            "labelSelector": {"matchLabels": {"app": "db"}},
                        }
                    ]
                },
            },
        },
    )
    manifest["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "rs",
            "uid": "u1",
            "controller": True,
        }
    ]
    body = pod_object(
        pending(manifest),
        run="r1",
        namespace_of=lambda ns: f"scratch-{ns}",
        node_of=lambda n: f"live-{n}",
        pin=["live-a", "live-b"],
    )
    terms = body["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert terms[0]["matchFields"][0]["values"] == ["live-b"]
    assert terms[0]["matchExpressions"][0]["values"] == ["live-a", "live-b"]
    anti = body["spec"]["affinity"]["podAntiAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ][0]
    assert anti["namespaces"] == ["scratch-shop", "scratch-other"]
    assert "ownerReferences" not in body["metadata"]
    assert body["metadata"]["namespace"] == "scratch-shop"
    plain = pod_object(pending(manifest), run="r1", namespace_of=lambda ns: ns, node_of=None)
    assert "tolerations" not in plain["spec"] and "nodeSelector" not in plain["spec"]
    assert plain["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"][0] == {
        "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["b"]}]
    }


# --- the kubectl plugin's arguments and an empty preference ------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["explain", "pod/web-1", "-n", "shop"], ["explain", "--kube", "--pod", "shop/web-1"]),
        (["explain", "web-1"], ["explain", "--kube", "--pod", "web-1"]),
        (
            ["explain", "pods/web-1", "--namespace=shop", "--context", "staging", "-o", "json"],
            ["explain", "--kube", "staging", "--pod", "shop/web-1", "-o", "json"],
        ),
        (["admit", "po/web-1", "-nshop"], ["admit", "--kube", "--pod", "shop/web-1"]),
        (
            ["simulate", "--kubeconfig", "k.yaml", "--context=c"],
            ["simulate", "--kube", "c", "--kubeconfig", "k.yaml"],
        ),
        (["whatif", "--drain", "n1"], ["whatif", "--kube", "--drain", "n1"]),
        (["validate", "-f", "x.yaml"], ["validate", "-f", "x.yaml"]),
    ],
)
def test_kubectl_plugin_arguments(argv: list[str], expected: list[str]) -> None:
    from podfit.cli.kubectl import translate

    assert translate(argv) == expected


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["explain"], "explain needs a pod"),
        (["explain", "deploy/web"], "takes a pod"),
        (["simulate", "-n", "shop"], "-n does not apply"),
        (["explain", "pod/web", "--context"], "--context needs a value"),
    ],
)
def test_kubectl_plugin_refuses_what_it_cannot_map(argv: list[str], message: str) -> None:
    from podfit.cli.kubectl import TranslationError, translate

    with pytest.raises(TranslationError, match=message):
        translate(argv)


def test_an_empty_node_affinity_preference_is_kept() -> None:
    from podfit.manifest import to_manifest

    web = pending(
        pod(
            "web",
            spec={
                "affinity": {
                    "nodeAffinity": {
                        "preferredDuringSchedulingIgnoredDuringExecution": [
                            {"weight": 5, "preference": {}}
                        ]
                    }
                }
            },
        )
    )
    preferred = to_manifest(web)["spec"]["affinity"]["nodeAffinity"][
        "preferredDuringSchedulingIgnoredDuringExecution"
    ]
    assert preferred == [{"weight": 5, "preference": {}}]
