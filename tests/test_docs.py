"""The docs say only what is true: every rule id they cite exists, every command they show
parses with the options it uses, every file it names is there, and the commands that read
only the bundled examples run (exit 0 or 1, never a usage error)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from podfit import spec
from podfit.cli import cli
from podfit.cli.kubectl import translate

ROOT = Path(__file__).resolve().parent.parent
DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "spec" / "INTERPRETING.md",
    *sorted((ROOT / "examples").rglob("*.md")),
]
RULE_IDS = {r.id for r in spec.rules()}
AREAS = sorted((a.name for a in spec.areas()), key=len, reverse=True)
# area.point.name, or a prefix ending in .* (taints.filter.*); not a file (quantity.py).
_AREA_ALTERNATIVES = "|".join(re.escape(a) for a in AREAS)
RULE_TOKEN = re.compile(
    rf"(?<![\w./-])(?:{_AREA_ALTERNATIVES})\.[a-z][a-z0-9-]*(?:\.[a-z0-9*][a-z0-9-]*)?(?![\w/-]|\.\w)"
)
FILE_SUFFIXES = (".py", ".yaml", ".md", ".json", ".js", ".go", ".sh")


def _doc_id(path: Path, n: int) -> str:
    return f"{path.relative_to(ROOT)}-{n}"


def rule_citations() -> Iterator[tuple[Path, str]]:
    for path in DOCS:
        for match in RULE_TOKEN.finditer(path.read_text(encoding="utf-8")):
            token = match.group(0)
            if token.endswith(FILE_SUFFIXES) or token.count(".") < 2:
                continue
            yield path, token


def help_texts() -> Iterator[tuple[str, str]]:
    """Every command's --help, as a user sees it."""
    runner = CliRunner()

    def walk(command: click.Command, path: list[str]) -> Iterator[tuple[str, str]]:
        done = runner.invoke(cli, [*path, "--help"])
        yield " ".join(["podfit", *path]), done.output
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])

    yield from walk(cli, [])


def test_every_rule_id_the_docs_cite_exists() -> None:
    cited = list(rule_citations())
    assert len(cited) > 10  # the scan finds what the docs cite
    wrong = []
    for path, token in cited:
        if token.endswith(".*"):
            ok = any(r.startswith(token[:-1]) for r in RULE_IDS)
        else:
            ok = token in RULE_IDS
        if not ok:
            wrong.append(f"{path.relative_to(ROOT)}: {token}")
    assert wrong == []


def test_every_rule_id_the_help_cites_exists() -> None:
    wrong = [
        f"{command}: {m.group(0)}"
        for command, text in help_texts()
        for m in RULE_TOKEN.finditer(text)
        if m.group(0).count(".") == 2 and m.group(0) not in RULE_IDS
    ]
    assert wrong == []


# --- commands -----------------------------------------------------------------------------------

SHELL_STOPS = {"&&", "||", "|", ";", ">", ">>", "2>", "<"}


def shown_commands() -> Iterator[tuple[Path, str]]:
    """Commands in fenced blocks (``$ `` prompts included) and in inline code."""
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for block in re.finditer(r"```[a-z]*\n(.*?)```", text, re.S):
            lines = block.group(1).replace("\\\n", " ").splitlines()
            # A block with prompts shows output too: only the prompted lines are commands.
            if any(line.startswith("$ ") for line in lines):
                lines = [line[2:] for line in lines if line.startswith("$ ")]
            for line in lines:
                line = line.strip()
                if re.match(r"(\S*/)?podfit (-|[a-z])|kubectl podfit |pytest ", line):
                    yield path, line
        for inline in re.finditer(r"`((?:kubectl )?podfit (?:-|[a-z])[^`]*)`", text):
            yield path, inline.group(1)


def words(line: str) -> list[str]:
    """The command's words, up to a comment or a shell operator."""
    out = []
    for word in shlex.split(line.split("  #")[0], comments=True):
        if word in SHELL_STOPS:
            break
        out.append(word)
    return out


def podfit_args(line: str) -> list[str] | None:
    """The arguments given to podfit, or None for a line that is not a podfit command."""
    argv = words(line)
    if argv[:2] == ["kubectl", "podfit"]:
        return translate(argv[2:])
    if argv and argv[0].endswith("podfit"):
        return argv[1:]
    return None


def is_synopsis(args: list[str]) -> bool:
    """A usage line (``[--html F]``, ``A | B``, ``FILE...``), not a command to run."""
    return any(
        w.startswith("[")
        or w.endswith("]")
        or w in ("|", "\\|", "/", "...")
        or "..." in w
        or re.fullmatch(r"[A-Z][A-Z_]+", w) is not None  # a placeholder: RULE, FILE
        for w in args
    )


def resolve(args: list[str]) -> tuple[click.Command, list[str], list[str]]:
    """The (sub)command the words name, its path and the words left for it."""
    command: click.Command = cli
    path: list[str] = []
    rest = list(args)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.commands.get(rest[0])
        if sub is None:
            break
        command, path, rest = sub, [*path, rest[0]], rest[1:]
    return command, path, rest


def option_names(command: click.Command) -> set[str]:
    names = {"--help", "-h"}
    for param in command.params:
        names.update(getattr(param, "opts", ()))
        names.update(getattr(param, "secondary_opts", ()))
    return names


PODFIT_COMMANDS = [
    (path, line, args) for path, line in shown_commands() if (args := podfit_args(line)) is not None
]


def test_the_docs_show_commands() -> None:
    assert len(PODFIT_COMMANDS) > 40


@pytest.mark.parametrize(
    ("path", "line", "args"),
    PODFIT_COMMANDS,
    ids=[_doc_id(p, i) for i, (p, _, _) in enumerate(PODFIT_COMMANDS)],
)
def test_every_shown_command_names_real_commands_and_options(
    path: Path, line: str, args: list[str]
) -> None:
    if args[:1] == ["..."]:
        return  # "podfit ... --kube": an option of several commands
    command, chain, rest = resolve(args)
    if rest and not rest[0].startswith("-") and isinstance(command, click.Group):
        pytest.fail(f"{line!r}: {' '.join(chain) or 'podfit'} has no command {rest[0]!r}")
    known = option_names(command)
    for word in rest:
        name = word.split("=", 1)[0]
        if re.fullmatch(r"--?[a-zA-Z][\w-]*", name) and name not in known:
            pytest.fail(f"{line!r}: {' '.join(['podfit', *chain])} has no option {name}")
    if is_synopsis(rest) or not rest:
        return
    # A concrete command: click parses it as a whole (values, choices, required options).
    try:
        command.make_context(" ".join(["podfit", *chain]), list(rest))
    except click.exceptions.Exit:
        pass
    except click.UsageError as exc:
        pytest.fail(f"{line!r}: {exc.format_message()}")


def test_every_example_file_the_docs_name_exists() -> None:
    missing = []
    for path in DOCS:
        for m in re.finditer(r"(?<![\w/.])examples/[\w./-]+\w", path.read_text(encoding="utf-8")):
            if not (ROOT / m.group(0)).exists():
                missing.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
    assert missing == []


def _runs_offline(args: list[str]) -> bool:
    """Reads only the bundled examples (and writes only into the working directory)."""
    _, chain, rest = resolve(args)
    if not chain or chain[0] in ("conform",) or is_synopsis(rest) or "--kube" in rest:
        return False
    if "verify" in chain:
        return False  # the spec examples: tests/test_spec.py runs them all
    files = [w for w in rest if w.endswith((".yaml", ".yml"))]
    reads = [w for w, before in zip(rest, ["", *rest], strict=False) if before in ("-f", "--pod",
             "--pods", "--claim", "--pending")]  # fmt: skip
    return all(w.startswith("examples/") for w in reads) and bool(files or chain[0] == "spec")


RUNNABLE = [(p, line, args) for p, line, args in PODFIT_COMMANDS if _runs_offline(args)]


@pytest.mark.parametrize(
    ("path", "line", "args"),
    RUNNABLE,
    ids=[_doc_id(p, i) for i, (p, _, _) in enumerate(RUNNABLE)],
)
def test_every_shown_command_on_the_examples_runs(
    path: Path, line: str, args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(cli, args)
    assert done.exit_code in (0, 1), f"{line!r} exited {done.exit_code}: {done.output[-800:]}"
    assert "Traceback" not in done.output


def test_commands_on_the_examples_are_run() -> None:
    assert len(RUNNABLE) >= 10


# --- pytest plugin options ----------------------------------------------------------------------


def plugin_options() -> set[str]:
    from podfit.conformance import pytest_plugin

    names: set[str] = set()

    class Group:
        def addoption(self, *opts: str, **kwargs: object) -> None:
            names.update(opts)

    class Parser:
        def getgroup(self, *args: object, **kwargs: object) -> Group:
            return Group()

        def addini(self, *args: object, **kwargs: object) -> None:
            return None

    pytest_plugin.pytest_addoption(Parser())  # type: ignore[arg-type]
    return names


def test_every_pytest_option_the_docs_show_exists() -> None:
    known = plugin_options()
    shown = [
        (path, word.split("=", 1)[0])
        for path in DOCS
        for word in re.findall(r"--podfit-[\w-]+=?", path.read_text(encoding="utf-8"))
    ]
    assert shown
    assert [f"{p.relative_to(ROOT)}: {o}" for p, o in shown if o.rstrip("=") not in known] == []


# --- walkthroughs, run as written from a fresh clone --------------------------------------------


def walkthrough(name: str, path: Path) -> list[str]:
    """The command lines of the sh block marked ``<!-- walkthrough: NAME -->``."""
    text = path.read_text(encoding="utf-8")
    marker = f"<!-- walkthrough: {name} -->"
    assert marker in text, f"{path.name} has no {marker}"
    block = text.split(marker, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def fresh_clone(tmp_path: Path) -> Path:
    """The committed project, cloned as a user would get it."""
    clone = tmp_path / "podfit"
    done = subprocess.run(
        ["git", "clone", "--quiet", str(ROOT), str(clone)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot clone the repository: {done.stderr.strip()}")
    return clone


def run_lines(lines: list[str], cwd: Path) -> list[tuple[str, int, str]]:
    """Each line through one bash session (cd carries over): (line, exit code, output)."""
    script = "exec 2>&1\n"
    for line in lines:
        script += line + "\nprintf '\\n@@podfit-rc %s @@\\n' $?\n"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    parts = re.split(r"\n@@podfit-rc (\d+) @@\n", done.stdout)
    return [(line, int(parts[2 * i + 1]), parts[2 * i]) for i, line in enumerate(lines)]


def test_the_pytest_plugin_walkthrough_works_as_written(tmp_path: Path) -> None:
    lines = walkthrough("pytest-plugin", ROOT / "docs" / "conformance.md")
    results = run_lines(lines, fresh_clone(tmp_path))
    by_command = {line.split()[0] + str(i): (rc, out) for i, (line, rc, out) in enumerate(results)}
    for line, rc, out in results[:3]:
        assert rc == 0, (line, out[-2000:])
    first_rc, first = by_command["pytest3"]
    assert first_rc == 1, first[-3000:]
    assert "collected 3 items" in first and "2 failed, 1 passed" in first
    assert "rules: taints.filter.exists" in first and "pod.yaml:" in first
    assert "FAILED test_my_sched.py::test_conformance[completeness-taints]" in first
    again_rc, again = by_command["pytest4"]
    assert again_rc == 1 and "collected 1 item" in again and "1 failed" in again
    replay_rc, replay = by_command["podfit5"]
    assert replay_rc == 1 and "still fail" in replay, replay[-2000:]


@pytest.mark.slow
def test_the_readme_quick_start_works_as_written(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line for line in quick.splitlines() if line.strip()]
    ((_, rc, out),) = run_lines(lines, fresh_clone(tmp_path))
    assert rc == 0, out[-3000:]
    assert "selected: node-b1" in out
