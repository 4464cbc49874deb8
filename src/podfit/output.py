"""Rendering command results as text, JSON or YAML, and writing the files users name."""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import yaml

from podfit.errors import PodfitError
from podfit.printable import one_line

FORMATS = ("text", "json", "yaml")


class _Dumper(yaml.SafeDumper):
    """Block-style YAML with multi-line strings kept readable, and no anchors: a report
    may share one object between places (the same details for many nodes)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def to_yaml(data: Any, *, many: bool = False) -> str:
    if many:
        return yaml.dump_all(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"


def emit(
    data: dict[str, Any],
    fmt: str,
    text: Callable[[dict[str, Any]], str],
    stream: TextIO | None = None,
) -> None:
    """Write a result in the chosen format; ``text`` renders the human view."""
    out = stream or sys.stdout
    if fmt == "json":
        out.write(to_json(data))
    elif fmt == "yaml":
        out.write(to_yaml(data))
    else:
        rendered = text(data)
        out.write(rendered if rendered.endswith("\n") else rendered + "\n")


def write_atomic(path: str | os.PathLike[str], content: str) -> None:
    """Write ``content`` to a file a user named, destroying nothing but a regular file.

    A regular file (or a new one) is replaced atomically: readers see the old content or
    the whole new one, and it keeps its permissions. Through a symbolic link, the link's
    target is written and the link stays. A FIFO, a terminal or a device (``/dev/null``,
    ``/dev/stdout``) is written into as a stream, never replaced by a file. A directory, or
    anything else, is refused with a :class:`~podfit.errors.PodfitError`, as is a path that
    cannot be written (permissions, a missing or non-directory parent, a name too long).
    """
    shown = one_line(os.fspath(path))
    try:
        target = Path(os.path.realpath(path))
        try:
            info = target.stat()
        except FileNotFoundError:
            info = None
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise PodfitError(f"cannot write {shown}: it is a directory, not a file")
        if info is not None and (stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode)):
            _write_stream(target, content, shown)
            return
        if info is not None and not stat.S_ISREG(info.st_mode):
            raise PodfitError(f"cannot write {shown}: it is not a regular file")
        _replace_file(target, content, None if info is None else stat.S_IMODE(info.st_mode))
    except OSError as exc:
        raise PodfitError(f"cannot write {shown}: {exc.strerror or exc}") from None


def _write_stream(target: Path, content: str, shown: str) -> None:
    """Into a FIFO or a character device. A FIFO nobody reads is an error, not a hang:
    it is opened without blocking first."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise PodfitError(f"cannot write {shown}: no process is reading this FIFO") from None
        raise
    os.set_blocking(fd, True)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
        stream.write(content)


def _replace_file(target: Path, content: str, mode: int | None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:100]}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is None:
            # mkstemp makes the file private; give it the mode a plain open() would.
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
