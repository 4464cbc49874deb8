"""Pods from the workloads people write: what a controller creates from a pod template.

A Deployment, ReplicaSet, StatefulSet, Job or CronJob given where a pod is expected is
turned into the pods its controller would create, with what the controller and the API
server add (upstream ``pkg/controller/controller_utils.go`` GetPodFromTemplate,
``pkg/controller/deployment``, ``pkg/controller/statefulset/stateful_set_utils.go``,
``pkg/controller/job/job_controller.go``, ``pkg/controller/cronjob/utils.go``,
``pkg/registry/batch/job/strategy.go``, ``pkg/apis/batch/v1/defaults.go``):

- every pod gets the template's labels and annotations, ``generateName`` from its owner's
  name (the API server then appends five characters from ``bcdfghjklmnpqrstvwxz2456789``)
  and a controller owner reference;
- a Deployment's pods belong to its ReplicaSet ``<name>-<pod-template-hash>`` and carry the
  ``pod-template-hash`` label. Upstream's hash is an FNV hash of Go's printout of the
  template, which podfit cannot reproduce: when the cluster holds the Deployment's
  ReplicaSet, its hash is used, otherwise a stand-in of the same form;
- StatefulSet pods are ``<name>-<ordinal>`` with ``statefulset.kubernetes.io/pod-name``,
  ``apps.kubernetes.io/pod-index`` and ``controller-revision-hash`` labels and one
  PersistentVolumeClaim volume per claim template (``<claim>-<name>-<ordinal>``);
- a Job's template gets ``batch.kubernetes.io/job-name``, ``job-name``,
  ``batch.kubernetes.io/controller-uid`` and ``controller-uid`` labels when the API
  server creates the Job (unless ``manualSelector``); Indexed Jobs add the completion
  index label and annotation; a Job runs ``parallelism`` pods at once (at most
  ``completions``), none while suspended. The template's ``restartPolicy`` defaults to
  Always, which Job validation rejects: it must be OnFailure or Never;
- a CronJob's Job is ``<name>-<scheduled time in minutes since the epoch>``.

DaemonSets are read here too, but their pods depend on the nodes: the reference makes
them (``podfit.reference.daemonset``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from podfit.cluster import Cluster
from podfit.defaults import default_object, default_pod
from podfit.errors import ManifestError
from podfit.fields import Field
from podfit.manifest import (
    parse_daemon_set,
    parse_label_selector,
    parse_pod_spec,
    selector_selects,
)
from podfit.model import DaemonSet, LabelSelector, OwnerReference, Pod, Volume, frozen_map

#: Kinds whose pod template ``--pod``/``--pods`` accept, with their apiVersion.
POD_TEMPLATE_KINDS: dict[str, str] = {
    "Deployment": "apps/v1",
    "ReplicaSet": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
}

POD_TEMPLATE_HASH = "pod-template-hash"
STATEFULSET_POD_NAME = "statefulset.kubernetes.io/pod-name"
POD_INDEX = "apps.kubernetes.io/pod-index"
CONTROLLER_REVISION_HASH = "controller-revision-hash"
JOB_NAME_LABELS = ("job-name", "batch.kubernetes.io/job-name")
CONTROLLER_UID_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid")
JOB_COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
CRONJOB_SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"

# The characters the API server draws generated name suffixes from (no vowels).
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class WorkloadPods:
    """What one workload document stands for: the pods its controller creates now (in
    creation order), or a DaemonSet (whose pods depend on the nodes)."""

    kind: str
    name: str
    namespace: str
    pods: tuple[Pod, ...] = ()
    daemon_set: DaemonSet | None = None
    note: str = ""


def _suffix(seed: str, length: int = 5) -> str:
    """A stand-in for the API server's random name suffix, stable for the same seed."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(ALPHANUMS[b % len(ALPHANUMS)] for b in digest[:length])


def stand_in_hash(*parts: str) -> str:
    """A value of the same form as ``controller.ComputeHash`` (SafeEncodeString of a
    decimal 32-bit hash), computed from ``parts`` (upstream hashes Go's printout of the
    template, which cannot be reproduced here)."""
    value = int.from_bytes(hashlib.sha256("\0".join(parts).encode()).digest()[:4], "big")
    return "".join(ALPHANUMS[ord(ch) % len(ALPHANUMS)] for ch in str(value))


def _stand_in_uid(kind: str, namespace: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"podfit:{kind}/{namespace}/{name}"))


def _invalid(kind: str, group: str, name: str, field: str, message: str) -> ManifestError:
    """The API server's validation error for the workload."""
    return ManifestError(f'{kind}.{group} "{name}" is invalid: {field}: {message}')


def _generated(prefix: str, namespace: str, seed: str, taken: set[str]) -> str:
    """``prefix`` + five characters, not the name of a pod already there."""
    for attempt in range(1000):
        name = prefix + _suffix(f"{seed}/{attempt}")
        if f"{namespace}/{name}" not in taken:
            taken.add(f"{namespace}/{name}")
            return name
    raise AssertionError("no free generated name")  # pragma: no cover


def _from_template(
    template: Pod, namespace: str, name: str, owner: OwnerReference, labels: Mapping[str, str]
) -> Pod:
    """GetPodFromTemplate: the template's spec and labels, the owner reference, then API
    defaulting as for any pod."""
    pod = replace(
        template,
        name=name,
        namespace=namespace,
        labels=frozen_map({**template.labels, **labels}),
        owner_references=(owner,),
        node_name="",
        phase="",
    )
    return default_pod(pod)


@dataclass(frozen=True)
class _Common:
    kind: str
    name: str
    namespace: str
    uid: str
    meta: Field
    spec: Field


def _common(f: Field) -> _Common:
    kind = f.at("kind").text(required=True)
    meta = f.at("metadata")
    name = meta.at("name").text(required=True)
    namespace = meta.at("namespace").text() or "default"
    uid = meta.at("uid").text() or _stand_in_uid(kind, namespace, name)
    return _Common(kind, name, namespace, uid, meta, f.at("spec"))


def _template(spec: Field) -> Pod:
    template = spec.at("template")
    return parse_pod_spec(
        template.at("metadata"), template.at("spec"), Field(None, "status"), template=True
    )


def _replicas(spec: Field) -> int:
    value = spec.at("replicas").optional_integer(minimum=0)
    return 1 if value is None else value


def _owned(cluster: Cluster | None, namespace: str, kind: str, name: str) -> int:
    """Running or pending pods the named controller owns in the cluster."""
    if cluster is None:
        return 0
    return sum(
        1
        for p in cluster.pods_in(namespace)
        if not p.is_terminal
        and (ref := p.controller) is not None
        and (ref.kind, ref.name) == (kind, name)
    )


def _to_create(desired: int, existing: int, next_only: bool) -> int:
    """How many pods the controller creates now: the missing ones, or with ``next_only``
    the next one (as if scaled up by one when none is missing)."""
    return 1 if next_only else max(0, desired - existing)


def _check_apps(c: _Common, template: Pod, selector: LabelSelector | None) -> None:
    """What apps/v1 validation checks that decides the pods: a selector that selects the
    template's labels, and restartPolicy Always."""
    if selector is None or selector.is_empty:
        raise _invalid(c.kind, "apps", c.name, "spec.selector", "Required value")
    if selector is None or not selector_selects(selector, template.labels):
        labels = json.dumps(dict(sorted(template.labels.items())), separators=(",", ":"))
        raise _invalid(
            c.kind,
            "apps",
            c.name,
            "spec.template.metadata.labels",
            f"Invalid value: {labels}: `selector` does not match template `labels`",
        )
    if template.restart_policy != "Always":
        raise _invalid(
            c.kind,
            "apps",
            c.name,
            "spec.template.spec.restartPolicy",
            f'Unsupported value: "{template.restart_policy}": supported values: "Always"',
        )


def _replica_set_pods(
    c: _Common, template: Pod, rs_name: str, rs_uid: str, count: int, taken: set[str]
) -> tuple[Pod, ...]:
    owner = OwnerReference("ReplicaSet", rs_name, "apps/v1", controller=True, uid=rs_uid)
    return tuple(
        _from_template(
            template,
            c.namespace,
            _generated(f"{rs_name}-", c.namespace, f"{rs_name}/{i}", taken),
            owner,
            {},
        )
        for i in range(count)
    )


def _current_hash(c: _Common, cluster: Cluster | None) -> str | None:
    """The pod-template-hash of the Deployment's newest ReplicaSet in the cluster: the one
    owning the most recently created pod among ``<name>-<hash>`` ReplicaSets."""
    if cluster is None:
        return None
    hashes: dict[str, str] = {}
    for workload in cluster.workloads.values():
        if workload.kind != "ReplicaSet" or workload.namespace != c.namespace:
            continue
        selector = workload.selector
        value = selector.match_labels.get(POD_TEMPLATE_HASH) if selector is not None else None
        if value and workload.name == f"{c.name}-{value}":
            hashes[workload.name] = value
    if not hashes:
        return None
    newest: tuple[datetime, str] | None = None
    for pod in cluster.pods_in(c.namespace):
        ref = pod.controller
        if ref is not None and ref.kind == "ReplicaSet" and ref.name in hashes:
            stamp = pod.creation_timestamp or datetime.min.replace(tzinfo=UTC)
            if newest is None or stamp > newest[0]:
                newest = (stamp, ref.name)
    if newest is not None:
        return hashes[newest[1]]
    return hashes[sorted(hashes)[-1]]


def _deployment(
    f: Field, cluster: Cluster | None, taken: set[str], next_only: bool
) -> WorkloadPods:
    c = _common(f)
    template = _template(c.spec)
    _check_apps(c, template, parse_label_selector(c.spec.at("selector")))
    known = _current_hash(c, cluster)
    value = known or stand_in_hash(c.namespace, c.name, repr(template))
    template = replace(template, labels=frozen_map({**template.labels, POD_TEMPLATE_HASH: value}))
    rs_name = f"{c.name}-{value}"
    existing = _owned(cluster, c.namespace, "ReplicaSet", rs_name)
    pods = _replica_set_pods(
        c,
        template,
        rs_name,
        _stand_in_uid("ReplicaSet", c.namespace, rs_name),
        _to_create(_replicas(c.spec), existing, next_only),
        taken,
    )
    note = (
        "" if known else f"pod-template-hash {value} is a stand-in (upstream's is not computable)"
    )
    return WorkloadPods(c.kind, c.name, c.namespace, pods, note=note)


def _replica_set(
    f: Field, cluster: Cluster | None, taken: set[str], next_only: bool
) -> WorkloadPods:
    c = _common(f)
    template = _template(c.spec)
    _check_apps(c, template, parse_label_selector(c.spec.at("selector")))
    count = _to_create(
        _replicas(c.spec), _owned(cluster, c.namespace, "ReplicaSet", c.name), next_only
    )
    pods = _replica_set_pods(c, template, c.name, c.uid, count, taken)
    return WorkloadPods(c.kind, c.name, c.namespace, pods)


def _stateful_set(f: Field, taken: set[str], next_only: bool) -> WorkloadPods:
    c = _common(f)
    template = _template(c.spec)
    _check_apps(c, template, parse_label_selector(c.spec.at("selector")))
    start = c.spec.at("ordinals").at("start").optional_integer(minimum=0) or 0
    claims = [
        t.at("metadata").at("name").text(required=True)
        for t in c.spec.at("volumeClaimTemplates").items()
    ]
    revision = f"{c.name}-{stand_in_hash(c.namespace, c.name, repr(template))}"
    owner = OwnerReference("StatefulSet", c.name, "apps/v1", controller=True, uid=c.uid)
    pods: list[Pod] = []
    ordinal = start - 1
    while True:
        ordinal += 1
        if next_only and pods:
            break
        if not next_only and ordinal >= start + _replicas(c.spec):
            break
        name = f"{c.name}-{ordinal}"
        if f"{c.namespace}/{name}" in taken:
            continue  # already created: the controller creates only missing ordinals
        taken.add(f"{c.namespace}/{name}")
        volumes = tuple(
            Volume(
                t,
                "persistentVolumeClaim",
                MappingProxyType({"claimName": f"{t}-{c.name}-{ordinal}"}),
            )
            for t in claims
        )
        kept = tuple(v for v in template.volumes if v.name not in claims)
        pod = _from_template(
            replace(template, volumes=volumes + kept),
            c.namespace,
            name,
            owner,
            {
                STATEFULSET_POD_NAME: name,
                POD_INDEX: str(ordinal),
                CONTROLLER_REVISION_HASH: revision,
            },
        )
        pods.append(pod)
    return WorkloadPods(c.kind, c.name, c.namespace, tuple(pods))


def _job_pods(
    job: Field,
    name: str,
    namespace: str,
    uid: str,
    where: str,
    kind: str,
    extra_owner: str,
    taken: set[str],
    existing: int,
    next_only: bool,
) -> tuple[tuple[Pod, ...], str]:
    """The pods a new Job creates at once, and a note (suspended Jobs create none)."""
    spec = job.at("spec")
    template = _template(spec)
    if template.restart_policy not in ("OnFailure", "Never"):
        # SetDefaults_PodSpec made an absent restartPolicy Always; Job validation refuses it.
        raise _invalid(
            kind,
            "batch",
            extra_owner,
            f"{where}spec.template.spec.restartPolicy",
            'Required value: valid values: "OnFailure", "Never"',
        )
    labels: dict[str, str] = {}
    if not spec.at("manualSelector").boolean():
        for key in JOB_NAME_LABELS:
            if key not in template.labels:
                labels[key] = name
        for key in CONTROLLER_UID_LABELS:
            if key not in template.labels:
                labels[key] = uid
    parallelism = spec.at("parallelism").optional_integer(minimum=0)
    completions = spec.at("completions").optional_integer(minimum=0)
    if parallelism is None:
        parallelism = 1
    desired = parallelism if completions is None else min(parallelism, completions)
    if spec.at("suspend").boolean() and not next_only:
        return (), f"the Job {namespace}/{name} is suspended: it creates no pod"
    count = _to_create(desired, existing, next_only)
    indexed = spec.at("completionMode").text() == "Indexed"
    owner = OwnerReference("Job", name, "batch/v1", controller=True, uid=uid)
    pods = []
    for i in range(existing, existing + count):
        extra = dict(labels)
        prefix = f"{name}-"
        pod_template = template
        if indexed:
            extra[JOB_COMPLETION_INDEX] = str(i)
            prefix = f"{name}-{i}-"
            pod_template = replace(
                template,
                annotations=frozen_map({**template.annotations, JOB_COMPLETION_INDEX: str(i)}),
            )
        pod_name = _generated(prefix, namespace, f"{name}/{i}", taken)
        pods.append(_from_template(pod_template, namespace, pod_name, owner, extra))
    return tuple(pods), ""


def _job(f: Field, cluster: Cluster | None, taken: set[str], next_only: bool) -> WorkloadPods:
    c = _common(f)
    existing = _owned(cluster, c.namespace, "Job", c.name)
    pods, note = _job_pods(
        f, c.name, c.namespace, c.uid, "", "Job", c.name, taken, existing, next_only
    )
    return WorkloadPods(c.kind, c.name, c.namespace, pods, note=note)


def _cron_job(f: Field, taken: set[str], now: datetime | None, next_only: bool) -> WorkloadPods:
    c = _common(f)
    scheduled = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    job_name = f"{c.name}-{int(scheduled.timestamp()) // 60}"
    job_uid = _stand_in_uid("Job", c.namespace, job_name)
    pods, note = _job_pods(
        c.spec.at("jobTemplate"),
        job_name,
        c.namespace,
        job_uid,
        "spec.jobTemplate.",
        "CronJob",
        c.name,
        taken,
        0,
        next_only,
    )
    return WorkloadPods(
        c.kind,
        c.name,
        c.namespace,
        pods,
        note=note or f"its Job {job_name} as scheduled at {scheduled:%Y-%m-%dT%H:%M}Z",
    )


def _daemon_set(f: Field) -> WorkloadPods:
    ds = default_object(parse_daemon_set(f))
    assert isinstance(ds, DaemonSet)
    generation = f.at("metadata").at("generation").optional_integer(minimum=0) or 1
    revision = stand_in_hash(ds.namespace, ds.name, repr(ds.template))
    # CreatePodTemplate: the generation and the revision hash as labels.
    labels = {
        **ds.template.labels,
        "pod-template-generation": str(generation),
        CONTROLLER_REVISION_HASH: revision,
    }
    ds = replace(ds, template=replace(ds.template, labels=frozen_map(labels)))
    return WorkloadPods("DaemonSet", ds.name, ds.namespace, daemon_set=ds)


def workload_pods(
    manifest: Mapping[str, Any],
    cluster: Cluster | None = None,
    *,
    taken: set[str] | None = None,
    now: datetime | None = None,
    next_only: bool = False,
) -> WorkloadPods:
    """The pods the controller of ``manifest`` (a kind of :data:`POD_TEMPLATE_KINDS`)
    creates now. ``cluster`` supplies what exists already (the Deployment's ReplicaSet);
    ``taken`` the pod keys in use (default: the cluster's pods; StatefulSet ordinals that
    exist are not created again), updated with the new pods. ``now`` is a CronJob's
    scheduled time. With ``next_only``, the one pod the controller would create next, as
    if scaled up by one when it has all its pods already."""
    if taken is None:
        taken = set(cluster.pods) if cluster is not None else set()
    f = Field(manifest)
    kind = f.at("kind").text(required=True)
    expected = POD_TEMPLATE_KINDS.get(kind)
    if expected is None:
        raise f.at("kind").error(f"expected a Pod or a workload, got kind {kind!r}")
    api_version = f.at("apiVersion").text(required=True)
    if api_version != expected:
        raise f.at("apiVersion").error(
            f"unknown apiVersion {api_version!r} for kind {kind} (expected {expected})"
        )
    if kind == "Deployment":
        return _deployment(f, cluster, taken, next_only)
    if kind == "ReplicaSet":
        return _replica_set(f, cluster, taken, next_only)
    if kind == "StatefulSet":
        return _stateful_set(f, taken, next_only)
    if kind == "Job":
        return _job(f, cluster, taken, next_only)
    if kind == "CronJob":
        return _cron_job(f, taken, now, next_only)
    return _daemon_set(f)


def is_workload(manifest: object) -> bool:
    if not isinstance(manifest, Mapping):
        return False
    kind = manifest.get("kind")
    return isinstance(kind, str) and kind in POD_TEMPLATE_KINDS


def describe_pods(pods: Iterable[Pod]) -> str:
    return ", ".join(p.key for p in pods)


@dataclass
class PodInput:
    """What ``--pod``/``--pods`` files hold: pods (workloads expanded into theirs), the
    DaemonSets among them, and notes on how workloads were read."""

    pods: list[Pod]
    daemon_sets: list[DaemonSet]
    notes: list[str]
    workloads: list[WorkloadPods]


def read_pods(
    *sources: Any,
    cluster: Cluster | None = None,
    now: datetime | None = None,
    next_only: bool = False,
) -> PodInput:
    """Pods and workloads from files (multi-document YAML, ``kind: List``), in order. Each
    workload stands for the pods its controller creates now (``next_only``: the next one
    only); other kinds are an error."""
    from podfit.loading import iter_manifests
    from podfit.manifest import describe, parse_object

    out = PodInput([], [], [], [])
    seen: set[str] = set()
    names = set(cluster.pods) if cluster is not None else set()
    for source in sources:
        for name, number, prefix, manifest in iter_manifests(source):
            label = describe(manifest) if isinstance(manifest, dict) else None
            try:
                if is_workload(manifest):
                    made = workload_pods(
                        manifest, cluster, taken=names, now=now, next_only=next_only
                    )
                    out.workloads.append(made)
                    if made.daemon_set is not None:
                        out.daemon_sets.append(made.daemon_set)
                    found = list(made.pods)
                    if made.note:
                        out.notes.append(f"{made.kind} {made.namespace}/{made.name}: {made.note}")
                else:
                    obj = parse_object(manifest)
                    if not isinstance(obj, Pod):
                        kind = manifest.get("kind") if isinstance(manifest, dict) else None
                        raise ManifestError(
                            f"expected only Pods or workloads ({', '.join(POD_TEMPLATE_KINDS)}) "
                            f"in this file, got {kind or 'an object without kind'}"
                        )
                    found = [default_pod(obj)]
            except ManifestError as exc:
                field = f"{prefix}.{exc.field}" if prefix and exc.field else (exc.field or prefix)
                raise ManifestError(
                    exc.message, source=name, document=number, obj=label, field=field or None
                ) from None
            for pod in found:
                if pod.key in seen and not is_workload(manifest):
                    raise ManifestError(
                        f"duplicate Pod {pod.key}", source=name, document=number, obj=label
                    )
                seen.add(pod.key)
                names.add(pod.key)
                out.pods.append(pod)
    return out
