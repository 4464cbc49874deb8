"""The ``podfit`` command line.

Exit codes: 0 ok (or the property holds), 1 a finding (pod unschedulable, example
failure, conformance failure, claim refuted), 2 bad input or usage. A user's mistake
is a one-line message on stderr, never a traceback.

One module per command; each imports only ``podfit.cli.common``, and this module
gathers them (imports run one way).
"""

from __future__ import annotations

import sys

import click

from podfit import __version__
from podfit.cli.admit import admit
from podfit.cli.common import PodfitGroup
from podfit.cli.conform import conform
from podfit.cli.explain import explain
from podfit.cli.prove import prove
from podfit.cli.simulate import simulate
from podfit.cli.solve import solve
from podfit.cli.spec import spec
from podfit.cli.validate import validate
from podfit.cli.whatif import whatif


@click.group(cls=PodfitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="podfit")
def cli() -> None:
    """podfit: the executable rulebook of Kubernetes scheduling.

    Explain why a pod fits or not, simulate kube-scheduler, ask Z3 whether pods can be
    placed, and check any scheduler against the rules.
    """


for _command in (validate, explain, simulate, solve, prove, admit, whatif, conform, spec):
    cli.add_command(_command)


def main() -> None:
    try:
        cli.main(prog_name="podfit")
    except KeyboardInterrupt:
        click.echo("podfit: interrupted", err=True)
        sys.exit(130)
