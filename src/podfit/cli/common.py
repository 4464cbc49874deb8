"""What every command shares: errors with exit codes, and the common options."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from podfit.errors import PodfitError
from podfit.output import FORMATS
from podfit.versions import LATEST, SUPPORTED, KubeVersion, parse_version

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
    if value is None:
        return LATEST
    try:
        return parse_version(value)
    except PodfitError as exc:
        raise InputError(str(exc)) from None


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


def versioned(data: dict[str, Any], version: KubeVersion) -> dict[str, Any]:
    """A report's data with the Kubernetes release it follows as its first key."""
    return {"kubeVersion": str(version), **{k: v for k, v in data.items() if k != "kubeVersion"}}


def version_line(text_view: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any]], str]:
    """A text view whose first line names the Kubernetes release the report follows."""

    def view(d: dict[str, Any]) -> str:
        body = text_view(d)
        return f"Kubernetes {d['kubeVersion']}\n{body}" if "kubeVersion" in d else body

    return view
