"""``kubectl-podfit``: podfit as a kubectl plugin, reading the cluster kubectl talks to.

kubectl runs any ``kubectl-NAME`` on the PATH as ``kubectl NAME``, so once podfit is
installed (``pip install 'podfit[kube]'``)::

    kubectl podfit explain pod/web-1 -n shop      # = podfit explain --kube --pod shop/web-1
    kubectl podfit simulate --context staging     # = podfit simulate --kube staging
    kubectl podfit whatif --drain node-3 --ignore-daemonsets
    kubectl podfit admit pod/web-1 -n shop
    kubectl podfit solve --each

kubectl's own flags are understood (``-n/--namespace``, ``--context``, ``--kubeconfig``;
``$KUBECONFIG`` too); everything else goes to the podfit command as it is. The commands
only read (list and get requests).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

#: podfit commands that read a cluster; the ones taking one pod take it as TYPE/NAME.
READING = ("explain", "simulate", "solve", "admit", "whatif")
ONE_POD = ("explain", "admit")
POD_TYPES = ("pod", "pods", "po")

USAGE = """usage: kubectl podfit COMMAND [pod/NAME] [-n NAMESPACE] [--context CONTEXT]
                      [--kubeconfig FILE] [podfit options]

Commands that read the cluster kubectl talks to (read-only):
  explain pod/NAME   why a pod fits or not, node by node
  admit pod/NAME     would admission accept it (LimitRange, quota, priority)
  simulate           schedule the pending pods one at a time
  solve              can the pending pods all be placed at once (Z3)
  whatif             --taint/--cordon/--drain/--label/--condition NODE...: who is evicted

Every podfit option works as well, e.g. -o json; `kubectl podfit COMMAND --help`.
Other podfit commands (validate, prove, conform, spec) are passed through as they are.
"""


class TranslationError(Exception):
    """kubectl-style arguments podfit cannot make sense of."""


def _value(args: list[str], i: int) -> tuple[str, int]:
    """The value of the flag at ``args[i]`` (``--flag=v`` or ``--flag v``), and what follows."""
    arg = args[i]
    if arg.startswith("--") and "=" in arg:
        return arg.split("=", 1)[1], i + 1
    if i + 1 >= len(args):
        raise TranslationError(f"{arg} needs a value")
    return args[i + 1], i + 2


def translate(argv: Sequence[str]) -> list[str]:
    """kubectl plugin arguments -> podfit arguments."""
    args = list(argv)
    if not args or args[0] in ("-h", "--help", "help"):
        raise TranslationError("")
    command, rest = args[0], args[1:]
    if command not in READING:
        return args
    namespace: str | None = None
    context = ""
    kubeconfig: str | None = None
    target: str | None = None
    passed: list[str] = []
    i = 0
    while i < len(rest):
        arg = rest[i]
        name = arg.split("=", 1)[0]
        if name in ("-n", "--namespace"):
            namespace, i = _value(rest, i)
        elif arg.startswith("-n") and not arg.startswith("--"):  # -nshop, as kubectl takes it
            namespace, i = arg[2:], i + 1
        elif name == "--context":
            context, i = _value(rest, i)
        elif name == "--kubeconfig":
            kubeconfig, i = _value(rest, i)
        elif command in ONE_POD and target is None and not arg.startswith("-"):
            target, i = arg, i + 1
        else:
            passed.append(arg)
            i += 1
    out = [command, "--kube", context] if context else [command, "--kube"]
    if kubeconfig:
        out += ["--kubeconfig", kubeconfig]
    if command in ONE_POD:
        if target is None:
            raise TranslationError(f"{command} needs a pod: kubectl podfit {command} pod/NAME")
        kind, slash, name = target.rpartition("/")
        if slash and kind.lower() not in POD_TYPES:
            raise TranslationError(f"{target}: {command} takes a pod (pod/NAME or NAME)")
        out += ["--pod", f"{namespace}/{name}" if namespace else name]
    elif namespace:
        raise TranslationError(f"{command} reads the whole cluster; -n does not apply")
    return out + passed


def main(argv: Sequence[str] | None = None) -> None:
    from podfit.cli import cli

    try:
        args = translate(sys.argv[1:] if argv is None else argv)
    except TranslationError as exc:
        if str(exc):
            click.echo(f"kubectl podfit: error: {exc}", err=True)
            click.echo(USAGE, err=True, nl=False)
            sys.exit(2)
        click.echo(USAGE, nl=False)
        sys.exit(0)
    try:
        cli.main(args=args, prog_name="kubectl podfit")
    except KeyboardInterrupt:
        click.echo("kubectl podfit: interrupted", err=True)
        sys.exit(130)
