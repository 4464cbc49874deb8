"""Rendering command results as text, JSON or YAML, and writing files atomically."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import yaml

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
    """Write a file so that readers see either the old content or the whole new one."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes the file private; give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
