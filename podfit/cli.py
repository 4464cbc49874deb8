"""The ``podfit`` command line.

Exit codes: 0 ok (or the property holds), 1 a finding (pod unschedulable, example
failure, conformance failure, claim refuted), 2 bad input or usage. A user's mistake
is a one-line message on stderr, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from podfit import __version__
from podfit.errors import PodfitError
from podfit.output import FORMATS, emit, write_atomic

if TYPE_CHECKING:
    from podfit.cluster import Cluster
    from podfit.model import Pod

F = TypeVar("F", bound=Callable[..., Any])


class InputError(click.ClickException):
    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"podfit: error: {self.format_message()}", err=True)


class Finding(Exception):
    """Raised after output is written, to exit with code 1."""


class PodfitGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PodfitError as exc:
            raise InputError(str(exc)) from None
        except Finding:
            ctx.exit(1)


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
        type=click.IntRange(min=1),
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


@click.group(cls=PodfitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="podfit")
def cli() -> None:
    """podfit: the executable rulebook of Kubernetes scheduling.

    Explain why a pod fits or not, simulate kube-scheduler, ask Z3 whether pods can be
    placed, and check any scheduler against the rules.
    """


# --- validate ----------------------------------------------------------------------------


@cli.command()
@files_option
@output_option
def validate(files: tuple[str, ...], output: str) -> None:
    """Load manifests, apply API defaulting, and report what was found and skipped."""
    from podfit.loading import LoadReport, load

    report = LoadReport()
    cluster = load(*files, report=report)
    bound = sum(1 for _ in cluster.bound_pods())
    data: dict[str, Any] = {
        "sources": report.sources,
        "loaded": dict(sorted(report.loaded.items())),
        "skipped": dict(sorted(report.skipped.items())),
        "nodes": len(cluster.nodes),
        "pods": {"bound": bound, "pending": len(cluster.pending_pods())},
    }

    def text(d: dict[str, Any]) -> str:
        kinds = ", ".join(f"{n} {k}" for k, n in d["loaded"].items()) or "no objects"
        lines = [f"{', '.join(d['sources'])}: {kinds}"]
        lines.append(
            f"{d['nodes']} nodes; pods: {d['pods']['bound']} bound, {d['pods']['pending']} pending"
        )
        notice = report.notice()
        if notice:
            lines.append(notice)
        lines.append("valid")
        return "\n".join(lines)

    emit(data, output, text)


# --- explain -------------------------------------------------------------------------------


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="A KubeSchedulerConfiguration file (profiles, plugins, weights, scoring strategy).",
    )(func)


def load_config(path: str) -> dict[str, Any]:
    """Scheduler profiles from a KubeSchedulerConfiguration file, read as strictly as manifests."""
    import podfit

    return podfit.load_config(path)


@cli.command()
@files_option
@click.option("--pod", "pod_path", required=True, metavar="FILE", help="The pod to place.")
@config_option
@output_option
@click.option("--html", "html_path", default=None, metavar="FILE", help="Also write an HTML page.")
def explain(
    files: tuple[str, ...],
    pod_path: str,
    config_path: str | None,
    output: str,
    html_path: str | None,
) -> None:
    """Why a pod does or doesn't fit, node by node (exit 1 when it fits nowhere)."""
    import podfit
    from podfit.defaults import PriorityError
    from podfit.errors import ManifestError
    from podfit.render import explain_text

    cluster = podfit.load(*files)
    pod = podfit.load_pod(pod_path)
    profiles = load_config(config_path) if config_path else None
    try:
        result = podfit.explain(cluster, pod, config=profiles)
    except PriorityError as exc:
        # Admission's verdict on the pod file: say which file and field, as for any bad input.
        raise ManifestError(
            str(exc), source=pod_path, obj=f"Pod {pod.key}", field="spec.priority"
        ) from None
    emit(result.to_dict(), output, explain_text)
    if html_path:
        from podfit.html import render_explain

        write_atomic(html_path, render_explain(result.to_dict()))
    if not result.schedulable and result.bypass is None:
        raise Finding()


@cli.command()
@files_option
@click.option(
    "--pods",
    "pods_path",
    default=None,
    metavar="FILE",
    help="Pending pods (default: the pods in the cluster files that have no nodeName).",
)
@config_option
@click.option("--bindings", is_flag=True, help="Print the placements as kind: Binding manifests.")
@output_option
@click.option("--html", "html_path", default=None, metavar="FILE", help="Also write an HTML page.")
def simulate(
    files: tuple[str, ...],
    pods_path: str | None,
    config_path: str | None,
    bindings: bool,
    output: str,
    html_path: str | None,
) -> None:
    """Schedule pending pods one at a time in queue order (exit 1 if any stays pending)."""
    import podfit
    from podfit.output import to_yaml

    cluster = podfit.load(*files)
    pods = podfit.load_pods(pods_path) if pods_path else cluster.pending_pods()
    profiles = load_config(config_path) if config_path else None
    from podfit.progress import Working
    from podfit.reference.simulate import simulate as run

    with Working("simulating") as working:
        result = run(cluster, pods, profiles, on_attempt=working.update)
    if bindings:
        docs = [
            {
                "apiVersion": "v1",
                "kind": "Binding",
                "metadata": {"name": d.pod.name, "namespace": d.pod.namespace},
                "target": {"apiVersion": "v1", "kind": "Node", "name": d.node},
            }
            for d in result.decisions
            if d.node is not None
        ]
        click.echo(to_yaml(docs, many=True), nl=False)
    else:
        emit(result.to_dict(), output, simulate_text)
    if html_path:
        from podfit.html import render_simulation

        write_atomic(html_path, render_simulation(result.to_dict()))
    if result.pending:
        raise Finding()


def simulate_text(d: dict[str, Any]) -> str:
    from podfit.render import simulate_view

    return simulate_view(d)


@cli.command()
@files_option
@click.option("--pods", "pods_path", default=None, metavar="FILE", help="Pending pods.")
@click.option(
    "--minimize",
    type=click.Choice(["nodes"]),
    default=None,
    help="Use as few nodes as possible.",
)
@click.option(
    "--add-node-shape",
    "shape_path",
    default=None,
    metavar="FILE",
    help="A Node manifest: how many nodes of this shape must be added for everything to fit.",
)
@click.option("--max-new-nodes", default=20, show_default=True, help="With --add-node-shape.")
@click.option(
    "--maximize-placed",
    is_flag=True,
    help="Place as many pods as possible, higher priorities first.",
)
@click.option(
    "--each",
    is_flag=True,
    help="Ask for each pod on its own whether it can run anywhere in the cluster at all.",
)
@click.option(
    "--timeout",
    "timeout_s",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds per solver query; when it runs out the answer is 'unknown'. Shrinking an "
    "explanation gets as long again.",
)
@memory_option
@click.option("--bindings", is_flag=True, help="Print the placement as kind: Binding manifests.")
@click.option("--html", "html_path", default=None, metavar="FILE", help="Also write an HTML page.")
@output_option
def solve(
    files: tuple[str, ...],
    pods_path: str | None,
    minimize: str | None,
    shape_path: str | None,
    max_new_nodes: int,
    maximize_placed: bool,
    each: bool,
    timeout_s: float,
    memory_mb: int | None,
    bindings: bool,
    html_path: str | None,
    output: str,
) -> None:
    """Ask Z3 whether the pending pods can all be placed at once, and if not, why.

    Exit 1 when they cannot; exit 2 when the solver could not decide within --timeout or
    --memory (the answer is then unknown, never infeasible).
    """
    import podfit
    from podfit.output import to_yaml

    if timeout_s <= 0:
        raise PodfitError(f"--timeout must be positive, got {timeout_s}")
    if each:
        others = {
            "--minimize": minimize,
            "--add-node-shape": shape_path,
            "--maximize-placed": maximize_placed,
            "--bindings": bindings,
            "--html": html_path,
        }
        clash = [name for name, value in others.items() if value]
        if clash:
            raise PodfitError(f"--each asks about each pod alone; it does not go with {clash[0]}")
    cluster = podfit.load(*files)
    pods = podfit.load_pods(pods_path) if pods_path else cluster.pending_pods()
    shape = None
    if shape_path:
        nodes = [o for o in podfit.load(shape_path).nodes.values()]
        if len(nodes) != 1:
            raise PodfitError(f"{shape_path}: expected exactly one Node, found {len(nodes)}")
        shape = nodes[0]
    from podfit.progress import Working
    from podfit.solver.session import set_memory_limit

    set_memory_limit(memory_mb)
    if each:
        _solve_each(cluster, pods, timeout_s, memory_mb, output)
        return
    with Working(f"solving {len(pods)} pods on {len(cluster.nodes)} nodes"):
        result = podfit.solve(
            cluster,
            pods,
            timeout_ms=int(timeout_s * 1000),
            minimize=minimize,
            add_node_shape=shape,
            max_new_nodes=max_new_nodes,
            require_all=not maximize_placed,
        )
    if html_path:
        from podfit.html import render_solve

        write_atomic(html_path, render_solve(_solve_page(cluster, pods, result.to_dict())))
    if bindings and result.status == "feasible":
        namespaces = {p.key: p.namespace for p in pods}
        docs = [
            {
                "apiVersion": "v1",
                "kind": "Binding",
                "metadata": {"name": key.split("/", 1)[1], "namespace": namespaces[key]},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node},
            }
            for key, node in result.placement.items()
        ]
        click.echo(to_yaml(docs, many=True), nl=False)
    else:
        emit(result.to_dict(), output, solve_text)
    if result.status == "unknown":
        if any("out of memory" in line for line in result.explanation):
            why = f"ran out of memory ({memory_mb} MB; raise --memory)"
        else:
            why = f"could not decide within {timeout_s:g} s (raise --timeout)"
        click.echo(f"podfit: error: the solver {why}: the answer is unknown", err=True)
        sys.exit(2)
    if result.status == "infeasible" or result.unplaced:
        raise Finding()


def _solve_each(
    cluster: Cluster, pods: Sequence[Pod], timeout_s: float, memory_mb: int | None, output: str
) -> None:
    """``solve --each``: exit 1 when a pod can run nowhere, 2 when one is undecided."""
    import podfit
    from podfit.progress import Working

    with Working(f"asking about {len(pods)} pods one at a time"):
        answers = podfit.solve_each(cluster, pods, timeout_ms=int(timeout_s * 1000))
    statuses = {r.status for r in answers.values()}
    overall = next((s for s in ("unknown", "infeasible") if s in statuses), "feasible")
    d = {
        "status": overall,
        "pods": [
            {
                "pod": key,
                "status": r.status,
                "node": next(iter(r.placement.values()), None),
                "explanation": r.explanation,
                "core": r.core,
            }
            for key, r in answers.items()
        ],
    }
    emit(d, output, solve_each_text)
    if overall == "unknown":
        why = (
            f"ran out of memory ({memory_mb} MB; raise --memory)"
            if any("out of memory" in line for r in answers.values() for line in r.explanation)
            else f"could not decide within {timeout_s:g} s (raise --timeout)"
        )
        click.echo(f"podfit: error: the solver {why}: some answers are unknown", err=True)
        sys.exit(2)
    if overall == "infeasible":
        raise Finding()


def solve_each_text(d: dict[str, Any]) -> str:
    lines = ["solver: each pod on its own"]
    for p in d["pods"]:
        if p["status"] == "feasible":
            lines.append(f"  {p['pod']}: can run (on {p['node']}, for one)")
        elif p["status"] == "infeasible":
            lines.append(f"  {p['pod']}: can run nowhere")
            lines += [f"    {line}" for line in p["explanation"]]
            if p["core"]:
                lines.append("    rules: " + ", ".join(p["core"]))
        else:
            lines.append(f"  {p['pod']}: unknown")
            lines += [f"    {line}" for line in p["explanation"]]
    return "\n".join(lines)


def _solve_page(cluster: Cluster, pods: Sequence[Pod], d: dict[str, Any]) -> dict[str, Any]:
    """The answer plus each node's usage with the placement applied (for the HTML page)."""
    from podfit.reference.simulate import node_summaries

    placed = cluster.copy()
    by_key = {p.key: p for p in pods}
    for key, node in d["placement"].items():
        if key in by_key and node in placed.nodes:
            placed.bind(by_key[key], node)
    return {**d, "nodes": node_summaries(placed)}


def solve_text(d: dict[str, Any]) -> str:
    lines = [f"solver: {d['status']}"]
    for pod, node in d["placement"].items():
        lines.append(f"  {pod} -> {node}")
    for pod in d["unplaced"]:
        lines.append(f"  {pod} -> (not placed)")
    lines += [f"  {line}" for line in d["explanation"]]
    if d["core"]:
        lines.append("rules: " + ", ".join(d["core"]))
    return "\n".join(lines)


# --- spec ----------------------------------------------------------------------------------


@cli.group(cls=PodfitGroup)
def spec() -> None:
    """List, show and verify the rules in the spec."""


@spec.command("list")
@click.option("--area", default=None, help="Only this area.")
@output_option
def spec_list(area: str | None, output: str) -> None:
    """One line per rule: id, plugin, extension point, examples, title."""
    from podfit.spec import areas

    chosen = [a for a in areas() if area is None or a.name == area]
    if area is not None and not chosen:
        raise PodfitError(f"no area {area!r} (areas: {', '.join(a.name for a in areas())})")
    data = {
        "areas": [
            {
                "area": a.name,
                "title": a.title,
                "rules": [
                    {
                        "id": r.id,
                        "title": r.title,
                        "plugin": r.plugin,
                        "point": r.point,
                        "examples": len(r.examples),
                    }
                    for r in a.rules
                ],
            }
            for a in chosen
        ]
    }

    def text(d: dict[str, Any]) -> str:
        lines = []
        for a in d["areas"]:
            lines.append(f"{a['area']}: {a['title']}")
            for r in a["rules"]:
                where = f"{r['plugin']}/{r['point']}"
                lines.append(f"  {r['id']:<55} {where:<28} {r['examples']:>3}  {r['title']}")
        return "\n".join(lines)

    emit(data, output, text)


@spec.command("show")
@click.argument("rule_id")
@output_option
def spec_show(rule_id: str, output: str) -> None:
    """The whole rule: statement, upstream source and examples."""
    from podfit.spec import rule

    r = rule(rule_id)
    data: dict[str, Any] = {
        "id": r.id,
        "title": r.title,
        "plugin": r.plugin,
        "point": r.point,
        "statement": r.statement,
        "upstream": list(r.upstream),
        "examples": [
            {"description": e.description, "case": e.case, "given": e.given, "expect": e.expect}
            for e in r.examples
        ],
    }
    if r.belief:
        data["belief"] = r.belief

    def text(d: dict[str, Any]) -> str:
        import textwrap

        lines = [f"{d['id']}: {d['title']}", f"plugin: {d['plugin']}  point: {d['point']}", ""]
        lines += textwrap.wrap(d["statement"], 96)
        if "belief" in d:
            lines += ["", *textwrap.wrap("Common belief: " + d["belief"], 96)]
        lines += ["", "upstream: " + ", ".join(d["upstream"]), "", "examples:"]
        for e in d["examples"]:
            lines.append(f"  - {e['description']}  ({e['case']}) -> {e['expect']}")
        return "\n".join(lines)

    emit(data, output, text)


@spec.command("docs")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Directory for the markdown pages (one per area, plus index.md).",
)
def spec_docs(out_dir: str) -> None:
    """Write the rule reference as markdown: one page per area and an index."""
    from podfit.spec import areas
    from podfit.specdocs import render_rule_docs

    pages = render_rule_docs(areas())
    for name, text in pages.items():
        write_atomic(f"{out_dir}/{name}", text)
    click.echo(f"wrote {len(pages)} pages to {out_dir}")


@spec.command("verify")
@click.option(
    "--backend",
    "backend_names",
    multiple=True,
    help="reference, solver, or an adapter (default: every built-in backend).",
)
@click.option("--rules", "patterns", multiple=True, help="Rule id or id prefix. Repeatable.")
@output_option
def spec_verify(backend_names: tuple[str, ...], patterns: tuple[str, ...], output: str) -> None:
    """Run every example of the spec through the backends; exit 1 on any failure."""
    from podfit.conformance.backends import backends
    from podfit.conformance.spec_runner import run_rules
    from podfit.spec import select

    available = backends()
    names = list(backend_names) or list(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise PodfitError(f"unknown backend {unknown[0]!r} (available: {', '.join(available)})")
    chosen = select(list(patterns))
    results = []
    for name in names:
        results.extend(run_rules(available[name], chosen))
    counts: dict[str, dict[str, int]] = {}
    for res in results:
        per = counts.setdefault(res.backend, {"pass": 0, "fail": 0, "error": 0, "skip": 0})
        per[res.status] += 1
    bad = [r for r in results if r.status in ("fail", "error")]
    data = {
        "rules": len(chosen),
        "examples": sum(len(r.examples) for r in chosen),
        "backends": counts,
        "failures": [r.to_dict() for r in bad],
    }

    def text(d: dict[str, Any]) -> str:
        lines = []
        for f in d["failures"]:
            lines.append(f"FAIL [{f['backend']}] {f['rule']}: {f['example']}")
            lines += [f"    {x}" for x in f["differences"]]
        for backend, c in d["backends"].items():
            failed = c["fail"] + c["error"]
            lines.append(f"{backend}: {c['pass']} passed, {failed} failed, {c['skip']} skipped")
        return "\n".join(lines)

    emit(data, output, text)
    if bad:
        raise Finding()


def _register_commands() -> None:
    """Commands that live in their own modules."""
    from podfit.cli_admit import admit
    from podfit.cli_conform import conform
    from podfit.cli_prove import prove
    from podfit.cli_whatif import whatif

    cli.add_command(admit)
    cli.add_command(conform)
    cli.add_command(prove)
    cli.add_command(whatif)


_register_commands()


def main() -> None:
    try:
        cli.main(prog_name="podfit")
    except KeyboardInterrupt:
        click.echo("podfit: interrupted", err=True)
        sys.exit(130)


def register(command: click.Command) -> None:
    """Add a command (used by the modules that implement each command)."""
    cli.add_command(command)
