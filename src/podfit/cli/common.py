"""What every command shares: errors with exit codes, and the common options."""

from __future__ import annotations

import contextlib
import math
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from podfit.cluster import Cluster
from podfit.errors import PodfitError, UsageError
from podfit.model import DaemonSet, Pod
from podfit.output import FORMATS
from podfit.printable import one_line
from podfit.validation import VALIDATING_FOR
from podfit.versions import LATEST, SUPPORTED, KubeVersion, parse_version

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


MESSAGE_LIMIT = 2000


class InputError(click.ClickException):
    """A user's mistake: one line on stderr, ``podfit: error: ...``, exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"podfit: error: {one_line(self.format_message(), MESSAGE_LIMIT)}", err=True)


class Finding(Exception):
    """Raised after output is written, to exit with code 1."""


def tolerant_streams() -> None:
    """A terminal that cannot show a character (a C locale, an ASCII pipe) gets an escape
    (``\u2713``) instead of a UnicodeEncodeError in the middle of a report."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", None) == "strict":
            with contextlib.suppress(Exception):
                reconfigure(errors="backslashreplace")


class PodfitGroup(click.Group):
    def main(self, *args: Any, **kwargs: Any) -> Any:
        tolerant_streams()
        return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PodfitError as exc:
            raise InputError(str(exc)) from None
        except click.UsageError as exc:
            # A command's bad option or argument: one line naming the command, as every
            # other input error (click's own display would print the usage block too).
            command = exc.ctx.command_path if exc.ctx is not None else "podfit"
            raise InputError(
                f"{command}: {exc.format_message()} (see '{command} --help')"
            ) from None
        except Finding:
            ctx.exit(1)
        except KeyboardInterrupt:
            # Ctrl-C: the shell's convention (128 + SIGINT), not click's "Aborted!" and 1.
            click.echo("podfit: interrupted", err=True)
            ctx.exit(130)


class Seconds(click.ParamType[float]):
    """A time limit in seconds: a finite number above 0 and at most ``maximum``."""

    name = "seconds"

    def __init__(self, maximum: float) -> None:
        self.maximum = maximum

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            number = value
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                number = math.nan
        if not (math.isfinite(number) and 0 < number <= self.maximum):
            self.fail(
                f"{one_line(str(value), 40)!r} is not a number of seconds above 0 and at most "
                f"{self.maximum:.0f}",
                param,
                ctx,
            )
        return number


def run_within(seconds: float, work: Callable[[], T]) -> tuple[bool, T | None]:
    """``(True, work())``, or ``(False, None)`` when ``work`` has not finished ``seconds``
    from now: the last word on a time limit for work that only checks the clock between
    steps. The unfinished work goes on in a daemon thread until its next look at the clock;
    the command does not wait for it."""
    done: list[T] = []
    failed: list[BaseException] = []

    def target() -> None:
        try:
            done.append(work())
        except BaseException as exc:  # handed to the caller's thread as it is
            failed.append(exc)

    worker = threading.Thread(target=target, name="podfit-worker", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        return False, None
    if failed:
        raise failed[0]
    return True, done[0]


def output_option(func: F) -> F:
    return click.option(
        "--output",
        "-o",
        type=click.Choice(FORMATS),
        default="text",
        show_default=True,
        help="Output format.",
    )(func)


def memory_option(func: F) -> F:
    """``--memory MB``: Z3's memory cap per query (past it the answer is unknown)."""
    return click.option(
        "--memory",
        "memory_mb",
        type=click.IntRange(min=1, max=2**31 - 1),
        default=None,
        metavar="MB",
        help="Memory Z3 may use per query; past it the answer is 'unknown'.",
    )(func)


def files_option(func: F) -> F:
    return click.option(
        "-f",
        "--filename",
        "files",
        multiple=True,
        required=True,
        metavar="FILE",
        help=(
            "Manifests (multi-document YAML, kind: List, kubectl get -o yaml dumps); "
            "'-' reads stdin. Repeatable."
        ),
    )(func)


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="A KubeSchedulerConfiguration file (profiles, plugins, weights, scoring strategy).",
    )(func)


def load_config(path: str, kube_version: KubeVersion = LATEST) -> dict[str, Any]:
    """Scheduler profiles from a KubeSchedulerConfiguration file, read as strictly as manifests."""
    import podfit

    return podfit.load_config(path, kube_version=kube_version)


def _parse_kube_version(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    try:
        version = LATEST if value is None else parse_version(value)
    except PodfitError as exc:
        raise InputError(str(exc)) from None
    # Everything the command loads is checked as this release's API server checks it.
    token = VALIDATING_FOR.set(version)
    ctx.call_on_close(lambda: VALIDATING_FOR.reset(token))
    return version


def kube_version_option(func: F) -> F:
    """``--kube-version MAJOR.MINOR``: whose scheduler, API server and admission to follow."""
    return click.option(
        "--kube-version",
        "kube_version",
        default=None,
        metavar="MAJOR.MINOR",
        callback=_parse_kube_version,
        help=(
            f"The Kubernetes release to follow ({', '.join(SUPPORTED)}; default {LATEST}, "
            "the newest podfit models). Every report names it."
        ),
    )(func)


# --- reading a live cluster ----------------------------------------------------------------


def cluster_options(func: F) -> F:
    """``-f FILE...`` and/or ``--kube [CONTEXT]`` (with ``--kubeconfig``): where the cluster
    comes from. A command using these calls :func:`load_cluster`."""
    func = click.option(
        "--kubeconfig",
        "kubeconfig",
        default=None,
        metavar="FILE",
        help="With --kube: the kubeconfig to read (default: $KUBECONFIG or ~/.kube/config).",
    )(func)
    func = click.option(
        "--kube",
        "kube_context",
        is_flag=False,
        flag_value="",
        default=None,
        metavar="[CONTEXT]",
        help="Read the cluster from a live API server, read-only (list requests only): "
        "the kubeconfig's current context, or CONTEXT.",
    )(func)
    return click.option(
        "-f",
        "--filename",
        "files",
        multiple=True,
        metavar="FILE",
        help=(
            "Manifests (multi-document YAML, kind: List, kubectl get -o yaml dumps); "
            "'-' reads stdin. Repeatable. Required unless --kube is given."
        ),
    )(func)


def versioned(data: dict[str, Any], version: KubeVersion) -> dict[str, Any]:
    """A report's data with the Kubernetes release it follows as its first key."""
    return {"kubeVersion": str(version), **{k: v for k, v in data.items() if k != "kubeVersion"}}


def version_line(text_view: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any]], str]:
    """A text view whose first line names the Kubernetes release the report follows."""

    def view(d: dict[str, Any]) -> str:
        body = text_view(d)
        return f"Kubernetes {d['kubeVersion']}\n{body}" if "kubeVersion" in d else body

    return view


@dataclass
class Input:
    """What a command read: the cluster, and the live manifests when it came from --kube."""

    cluster: Cluster
    context: str | None = None
    manifests: list[dict[str, Any]] = field(default_factory=list)
    namespace: str = "default"  # the context's namespace, for a pod named without one

    def live_pod(self, ref: str, *, as_scheduled: bool = False) -> Pod | None:
        """The pod ``NAMESPACE/NAME`` (or ``NAME`` in the context's namespace) of the live
        cluster, None when ``ref`` names a file instead (or nothing was read live).

        ``as_scheduled``: a pod the scheduler bound (condition PodScheduled=True) comes
        back without its nodeName, as the scheduler saw it; a pod created with a nodeName
        never went through the scheduler and keeps it."""
        import os

        from podfit.loading import pod_from_manifest

        if self.context is None or os.path.exists(ref) or ref == "-":
            return None
        namespace, _, name = ref.rpartition("/")
        namespace = namespace or self.namespace
        for manifest in self.manifests:
            meta = manifest.get("metadata") or {}
            if manifest.get("kind") == "Pod" and (meta.get("namespace"), meta.get("name")) == (
                namespace,
                name,
            ):
                if as_scheduled and _scheduled(manifest):
                    manifest = {**manifest, "spec": dict(manifest.get("spec") or {})}
                    manifest["spec"].pop("nodeName", None)
                return pod_from_manifest(manifest, source=f"context {self.context}")
        raise UsageError(
            f"pod {namespace}/{name} not found in context {self.context!r} "
            "(and no file of that name)"
        )


def _scheduled(manifest: dict[str, Any]) -> bool:
    conditions = (manifest.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "PodScheduled" and c.get("status") == "True" for c in conditions)


def load_cluster(
    files: tuple[str, ...],
    kube_context: str | None,
    kubeconfig: str | None,
    *,
    leave_out: str | None = None,
) -> Input:
    """The cluster from ``-f`` files, a live API server (``--kube``), or both. ``leave_out``
    (``NAMESPACE/NAME``) keeps a live pod out of the cluster (the pod being asked about)."""
    import podfit

    if not files and kube_context is None:
        raise UsageError("give the cluster: -f FILE... or --kube [CONTEXT]")
    if kube_context is None:
        return Input(podfit.load(*files))
    from podfit.kube import Kube, read_objects
    from podfit.loading import iter_objects, objects_from_manifests

    kube = Kube(kube_context or None, kubeconfig=kubeconfig)
    try:
        manifests, warnings = read_objects(kube)
    finally:
        kube.close()
    for warning in warnings:
        click.echo(f"podfit: warning: {warning}", err=True)
    read = Input(Cluster(), kube.context, manifests, kube.namespace)
    kept = manifests
    if leave_out is not None:
        pod = read.live_pod(leave_out)
        if pod is not None:
            kept = [
                m
                for m in manifests
                if not (
                    m.get("kind") == "Pod"
                    and (m.get("metadata") or {}).get("namespace") == pod.namespace
                    and (m.get("metadata") or {}).get("name") == pod.name
                )
            ]
    cluster = Cluster()
    for obj, origin in objects_from_manifests(kept, source=f"context {kube.context}"):
        cluster.add(obj, origin)
    for source in files:
        for obj, origin in iter_objects(source):
            cluster.add(obj, origin)
    read.cluster = cluster.finish()
    return read


@dataclass
class PodArg:
    """What ``--pod`` named: a pod, or a DaemonSet (one pod per node), and notes on how a
    workload was turned into its pod."""

    pod: Pod | None
    daemon_set: DaemonSet | None = None
    notes: list[str] = field(default_factory=list)


def read_pod_arg(read: Input, ref: str, *, as_scheduled: bool = False) -> PodArg:
    """``--pod``: a file holding one Pod or one workload (Deployment, ReplicaSet,
    StatefulSet, DaemonSet, Job, CronJob: the next pod its controller creates), a pod of
    the cluster files named ``NAMESPACE/NAME``, or with --kube a live pod."""
    import os
    from dataclasses import replace

    from podfit.workloads import read_pods

    pod = read.live_pod(ref, as_scheduled=as_scheduled)
    if pod is not None:
        return PodArg(pod)
    if ref != "-" and not os.path.exists(ref):
        namespace, _, name = ref.rpartition("/")
        found = read.cluster.pods.get(f"{namespace or read.namespace}/{name}")
        if found is not None:
            if as_scheduled and found.scheduled:
                # Bound by the scheduler: explained as the scheduler saw it.
                found = replace(found, node_name="")
            return PodArg(found)
        if read.context is None and "/" in ref and not ref.endswith((".yaml", ".yml", ".json")):
            raise UsageError(f"--pod {ref}: no such file, and no pod {ref} in the files")
    got = read_pods(ref, cluster=read.cluster, next_only=True)
    if len(got.pods) + len(got.daemon_sets) != 1:
        what = len(got.pods) + len(got.daemon_sets)
        raise UsageError(
            f"{ref}: expected exactly one Pod or workload, found {what}"
            if what
            else f"{ref}: expected exactly one Pod or workload, found none (a suspended Job?)"
        )
    if got.daemon_sets:
        return PodArg(None, got.daemon_sets[0], got.notes)
    return PodArg(got.pods[0], None, got.notes)


def load_pod_arg(read: Input, ref: str, *, as_scheduled: bool = False) -> Pod:
    """``--pod`` as one pod (a DaemonSet gives the pod it creates for the first node
    that should run it)."""
    arg = read_pod_arg(read, ref, as_scheduled=as_scheduled)
    if arg.pod is not None:
        return arg.pod
    assert arg.daemon_set is not None
    from podfit.reference.daemonset import daemon_pod, should_run

    ds = arg.daemon_set
    for node in read.cluster.nodes.values():
        if should_run(ds, node).should_run:
            return daemon_pod(ds, node)
    raise UsageError(f"{ref}: DaemonSet {ds.namespace}/{ds.name} runs on no node of the cluster")


def read_pending(read: Input, path: str) -> tuple[Cluster, list[Pod], list[str]]:
    """``--pods``/``--pending``: pods and workloads (each the pods its controller creates
    now; a DaemonSet joins the cluster, whose controller then makes its pods). Returns the
    cluster (a copy when DaemonSets joined), the pods and notes."""
    from podfit.workloads import read_pods

    got = read_pods(path, cluster=read.cluster)
    cluster = read.cluster
    if got.daemon_sets:
        cluster = cluster.copy()
        for ds in got.daemon_sets:
            cluster.daemon_sets[f"{ds.namespace}/{ds.name}"] = ds
        cluster.version += 1
    return cluster, got.pods, got.notes
