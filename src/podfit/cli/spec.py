"""``podfit spec``: list, show, document and verify the rules."""

from __future__ import annotations

from typing import Any

import click

from podfit.cli.common import Finding, PodfitGroup, output_option
from podfit.errors import PodfitError
from podfit.output import emit, write_atomic
from podfit.versions import LATEST, VERSIONS, parse_version


@click.group(cls=PodfitGroup)
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
    metavar="BACKEND",
    help="reference, solver, or a scheduler as podfit conform takes it (exec:COMMAND, "
    "python:MODULE:CALLABLE, extender:URL, ...). Repeatable. Default: reference and solver.",
)
@click.option("--rules", "patterns", multiple=True, help="Rule id or id prefix. Repeatable.")
@click.option(
    "--kube-version",
    "kube_versions",
    multiple=True,
    metavar="MAJOR.MINOR",
    help="Run the examples as this Kubernetes release (repeatable). Default: every release "
    f"podfit models for the reference and the solver, {LATEST} for a scheduler.",
)
@output_option
def spec_verify(
    backend_names: tuple[str, ...],
    patterns: tuple[str, ...],
    kube_versions: tuple[str, ...],
    output: str,
) -> None:
    """Run every example of the spec through the backends, each under every Kubernetes
    release it holds for; exit 1 on any failure.

    A scheduler under test answers the schedule examples: it is checked on the node it
    picks and the reasons it gives, and on everything else kube-scheduler reports when it
    says it (the exec protocol's optional details).
    """
    from podfit.conformance.backends import AdapterBackend, backends
    from podfit.conformance.spec_runner import Backend, ExampleResult, run_rules
    from podfit.spec import select

    versions = tuple(parse_version(x) for x in kube_versions)
    chosen = select(list(patterns))
    built_in = backends()
    results: list[ExampleResult] = []
    for name in list(dict.fromkeys(backend_names)) or list(built_in):
        if name in built_in:
            results.extend(run_rules(built_in[name], chosen, versions=versions or VERSIONS))
            continue
        from podfit.adapters import resolve

        scheduler = resolve(name)
        try:
            for version in versions or (LATEST,):
                backend: Backend = AdapterBackend(scheduler, version)
                results.extend(run_rules(backend, chosen, versions=(version,)))
        finally:
            scheduler.close()
    counts: dict[str, dict[str, int]] = {}
    for res in results:
        per = counts.setdefault(res.backend, {"pass": 0, "fail": 0, "error": 0, "skip": 0})
        per[res.status] += 1
    bad = [r for r in results if r.status in ("fail", "error")]
    ran = sorted({r.version for r in results if r.version is not None and r.status != "skip"})
    data = {
        "kubeVersions": [str(x) for x in ran],
        "rules": len(chosen),
        "examples": sum(len(r.examples) for r in chosen),
        "backends": counts,
        "failures": [r.to_dict() for r in bad],
    }
    if not any(c["pass"] + c["fail"] + c["error"] for c in counts.values()):
        raise PodfitError(
            "no example ran: the backends support none of the selected examples "
            f"({len(results)} skipped)"
        )

    def text(d: dict[str, Any]) -> str:
        lines = []
        for f in d["failures"]:
            lines.append(
                f"FAIL [{f['backend']}, Kubernetes {f['kubeVersion']}] {f['rule']}: {f['example']}"
            )
            lines += [f"    {x}" for x in f["differences"]]
        for backend, c in d["backends"].items():
            failed = c["fail"] + c["error"]
            lines.append(f"{backend}: {c['pass']} passed, {failed} failed, {c['skip']} skipped")
        lines.append("Kubernetes " + ", ".join(d["kubeVersions"]))
        return "\n".join(lines)

    emit(data, output, text)
    if bad:
        raise Finding()
