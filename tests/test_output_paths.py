"""Files a user names (--html, --out, --junit-xml): podfit writes through a symbolic link,
into a FIFO or a device as a stream, refuses a directory, and never replaces anything that
is not a regular file."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from podfit.cli import cli
from podfit.errors import PodfitError
from podfit.output import write_atomic

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)


@settings(max_examples=40, deadline=None)
@given(content=text, first=text)
def test_a_regular_file_is_replaced_whole_and_keeps_its_mode(
    tmp_path_factory: pytest.TempPathFactory, content: str, first: str
) -> None:
    target = tmp_path_factory.mktemp("regular") / "out.html"
    target.write_text(first, encoding="utf-8")
    os.chmod(target, 0o600)
    write_atomic(target, content)
    assert target.read_bytes().decode("utf-8") == content
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["out.html"]  # no temporary left


@settings(max_examples=25, deadline=None)
@given(content=text, hops=st.integers(1, 3))
def test_a_symbolic_link_is_written_through_and_stays_a_link(
    tmp_path_factory: pytest.TempPathFactory, content: str, hops: int
) -> None:
    root = tmp_path_factory.mktemp("links")
    real = root / "real.html"
    real.write_text("old", encoding="utf-8")
    link = real
    for i in range(hops):
        nxt = root / f"link{i}"
        nxt.symlink_to(link)
        link = nxt
    write_atomic(link, content)
    assert link.is_symlink()
    assert real.read_bytes().decode("utf-8") == content


def test_a_dangling_link_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "report.html"
    link.symlink_to(tmp_path / "made.html")
    write_atomic(link, "page")
    assert link.is_symlink() and (tmp_path / "made.html").read_text() == "page"


def test_a_device_is_written_as_a_stream_and_never_replaced() -> None:
    before = os.stat("/dev/null")
    write_atomic("/dev/null", "x" * 10_000)
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and (before.st_ino, before.st_rdev) == (
        after.st_ino,
        after.st_rdev,
    )


def test_a_fifo_gets_the_content_as_a_stream(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    # Open for writing only once the reader has opened its end.
    for _ in range(200):
        try:
            write_atomic(fifo, "through the pipe")
            break
        except PodfitError:
            threading.Event().wait(0.01)
    reader.join(10)
    assert got == [b"through the pipe"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_fifo_nobody_reads_is_an_error_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(PodfitError, match="no process is reading this FIFO"):
        write_atomic(fifo, "x")
    assert stat.S_ISFIFO(fifo.stat().st_mode)


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda p: p.mkdir(), "it is a directory, not a file"),
        (lambda p: (p.parent / "dir").mkdir() or p.symlink_to(p.parent / "dir"), "directory"),
        (lambda p: None, "Not a directory"),
    ],
    ids=["directory", "link to a directory", "parent is a file"],
)
def test_what_cannot_be_written_is_refused_in_one_line(
    tmp_path: Path, make: Callable[[Path], None], message: str
) -> None:
    target = tmp_path / "out.html"
    if message == "Not a directory":
        target = tmp_path / "file" / "out.html"
        (tmp_path / "file").write_text("keep")
    else:
        make(target)
    with pytest.raises(PodfitError, match=message) as info:
        write_atomic(target, "page")
    assert "\n" not in str(info.value)
    if message == "Not a directory":
        assert (tmp_path / "file").read_text() == "keep"


def test_a_name_too_long_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PodfitError, match="File name too long"):
        write_atomic(tmp_path / ("x" * 5000), "page")


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


@pytest.mark.parametrize("command", ["explain", "simulate", "solve"])
def test_html_to_a_directory_is_a_one_line_error(tmp_path: Path, command: str) -> None:
    args = [command, "-f", str(EXAMPLES / "cluster.yaml"), "--html", str(tmp_path)]
    if command == "explain":
        args += ["--pod", str(EXAMPLES / "pod.yaml")]
    if command == "solve":
        args += ["--pods", str(EXAMPLES / "pending.yaml")]
    code, err = _cli(*args)
    assert code == 2 and err.startswith("podfit: error: cannot write") and err.count("\n") == 1
    assert tmp_path.is_dir()


def test_html_through_a_link_to_dev_null_leaves_the_device(tmp_path: Path) -> None:
    link = tmp_path / "page.html"
    link.symlink_to("/dev/null")
    code, _ = _cli(
        "explain",
        "-f",
        str(EXAMPLES / "cluster.yaml"),
        "--pod",
        str(EXAMPLES / "pod.yaml"),
        "--html",
        str(link),
    )
    assert code in (0, 1)
    assert link.is_symlink() and stat.S_ISCHR(os.stat("/dev/null").st_mode)
