"""The rules of Kubernetes scheduling as data: one YAML file per area.

The files ship as package data; :func:`rules` reads them (validated against
``schema.json``) and :func:`rule` finds one by id. What a backend must do with an
example is the contract in ``INTERPRETING.md``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from podfit.errors import PodfitError, UsageError
from podfit.versions import VERSIONS, KubeVersion, parse_version

SPEC_VERSION = "2.0"
# libyaml's C loader when PyYAML has it (ten times faster), else the pure-Python one.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SpecError(PodfitError):
    """A rule file that does not follow the schema, or an unknown rule id."""


#: A range of releases, both ends inclusive; None is an open end.
Holds = tuple[KubeVersion | None, KubeVersion | None]
ALWAYS: Holds = (None, None)


def _holds(raw: Mapping[str, Any] | None, where: str) -> Holds:
    if not raw:
        return ALWAYS
    try:
        first = parse_version(raw["from"], what=f"{where}: holds.from") if "from" in raw else None
        last = parse_version(raw["until"], what=f"{where}: holds.until") if "until" in raw else None
    except UsageError as exc:
        raise SpecError(str(exc)) from None
    if first is not None and last is not None and last < first:
        raise SpecError(f"{where}: holds.until {last} comes before holds.from {first}")
    return (first, last)


def holds_text(holds: Holds) -> str:
    """``"1.35+"``, ``"until 1.34"``, ``"1.34-1.35"`` or ``""`` (every release)."""
    first, last = holds
    if first is None and last is None:
        return ""
    if last is None:
        return f"{first}+"
    if first is None:
        return f"until {last}"
    return str(first) if first == last else f"{first}-{last}"


def safe_test_id(text: str) -> str:
    """``text`` usable inside a pytest node id's brackets: ``::`` becomes ``:``, brackets
    become parentheses, line breaks spaces."""
    out = text.replace("::", ":").replace("[", "(").replace("]", ")")
    return " ".join(out.split("\n"))


@dataclass(frozen=True, slots=True)
class Example:
    rule_id: str
    description: str
    case: str
    given: Mapping[str, Any]
    expect: Mapping[str, Any]
    backends: tuple[str, ...] | None = None
    #: The releases the example holds for (its rule's range narrowed by its own).
    holds: Holds = ALWAYS
    #: Expectations that differ by release: (range, keys that replace expect's there).
    versioned: tuple[tuple[Holds, Mapping[str, Any]], ...] = ()

    @property
    def versions(self) -> tuple[KubeVersion, ...]:
        """Every modelled release the example holds for, oldest first."""
        return tuple(v for v in VERSIONS if v.between(*self.holds))

    def expect_for(self, version: KubeVersion) -> Mapping[str, Any]:
        """What the example expects in ``version``: ``expect`` with the keys of every
        versioned entry whose range holds it replaced."""
        expect = dict(self.expect)
        for (first, last), override in self.versioned:
            if version.between(first, last):
                expect.update(override)
        return expect

    @property
    def id(self) -> str:
        """Stable id of the example: ``rule-id: description``."""
        return f"{self.rule_id}: {self.description}"

    @property
    def test_id(self) -> str:
        """The id as a pytest parameter id: no ``::``, ``[`` or ``]`` (which would make a
        node id copied from a report impossible to run again)."""
        return safe_test_id(self.id)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    area: str
    title: str
    plugin: str
    point: str
    statement: str
    upstream: tuple[str, ...]
    examples: tuple[Example, ...]
    belief: str = ""
    holds: Holds = ALWAYS


@dataclass(frozen=True, slots=True)
class Area:
    name: str
    title: str
    description: str
    rules: tuple[Rule, ...]


@cache
def schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def rule_files() -> list[str]:
    return sorted(
        entry.name
        for entry in resources.files(__package__).iterdir()
        if entry.name.endswith(".yaml") and entry.name != "versions.yaml"
    )


def parse_area(data: object, source: str) -> Area:
    """Validate one rule file's data against the schema and build its :class:`Area`."""
    import jsonschema  # only when parsing: a cached spec needs no validation

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(top)"
        raise SpecError(f"{source}: {where}: {first.message}")
    assert isinstance(data, dict)
    rules = []
    for raw in data["rules"]:
        upstream = raw["upstream"]
        rule_holds = _holds(raw.get("holds"), f"{source}: {raw['id']}")
        rules.append(
            Rule(
                id=raw["id"],
                area=data["area"],
                title=raw["title"],
                plugin=raw["plugin"],
                point=raw["point"],
                statement=" ".join(raw["statement"].split()),
                upstream=(upstream,) if isinstance(upstream, str) else tuple(upstream),
                belief=" ".join(raw.get("belief", "").split()),
                holds=rule_holds,
                examples=tuple(
                    Example(
                        rule_id=raw["id"],
                        description=ex["description"],
                        case=ex["case"],
                        given=ex["given"],
                        expect=ex["expect"],
                        backends=tuple(ex["backends"]) if "backends" in ex else None,
                        holds=_narrow(
                            rule_holds,
                            _holds(ex.get("holds"), f"{source}: {raw['id']}: {ex['description']}"),
                            f"{source}: {raw['id']}: {ex['description']}",
                        ),
                        versioned=tuple(
                            (_holds(v, f"{source}: {raw['id']}: versioned"), v["expect"])
                            for v in ex.get("versioned", ())
                        ),
                    )
                    for ex in raw["examples"]
                ),
            )
        )
    return Area(data["area"], data["title"], " ".join(data["description"].split()), tuple(rules))


def _narrow(outer: Holds, inner: Holds, where: str) -> Holds:
    """An example's range within its rule's: the example may only narrow it."""
    first = max((v for v in (outer[0], inner[0]) if v is not None), default=None)
    last = min((v for v in (outer[1], inner[1]) if v is not None), default=None)
    if first is not None and last is not None and last < first:
        raise SpecError(f"{where}: holds for no release its rule holds for")
    return (first, last)


@cache
def areas() -> tuple[Area, ...]:
    """Every area of the spec, validated. Parsed once and kept in the user's cache
    directory (see :func:`cache_path`), keyed by the files' contents: a later process
    unpickles it instead of parsing the YAML and validating it against the schema."""
    texts = {
        name: resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
        for name in rule_files()
    }
    where = cache_path(texts)
    cached = _read_cache(where)
    if cached is not None:
        return cached
    out = []
    for name, text in texts.items():
        try:
            data = yaml.load(text, Loader=_LOADER)
        except yaml.YAMLError as exc:
            raise SpecError(f"{name}: invalid YAML: {exc}") from None
        out.append(parse_area(data, name))
    parsed = tuple(out)
    _write_cache(where, parsed)
    return parsed


#: Where the parsed spec is cached: ``$PODFIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/podfit``,
#: else ``~/.cache/podfit``; ``PODFIT_CACHE_DIR=off`` turns the cache off.
CACHE_ENV = "PODFIT_CACHE_DIR"


def cache_path(texts: Mapping[str, str]) -> Path | None:
    """The cache file for these rule files (None when caching is off)."""
    chosen = os.environ.get(CACHE_ENV, "")
    if chosen == "off":
        return None
    if chosen:
        base = Path(chosen)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "podfit"
    digest = hashlib.sha256()
    schema_text = resources.files(__package__).joinpath("schema.json").read_bytes()
    for part in (SPEC_VERSION, sys.version, str(pickle.HIGHEST_PROTOCOL)):
        digest.update(part.encode() + b"\0")
    digest.update(schema_text + b"\0")
    for name, text in sorted(texts.items()):
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    return base / f"spec-{digest.hexdigest()[:24]}.pickle"


def _read_cache(path: Path | None) -> tuple[Area, ...] | None:
    if path is None:
        return None
    try:
        with path.open("rb") as f:
            data = pickle.load(f)
    except Exception:  # absent, unreadable or from another podfit: parse again
        return None
    if isinstance(data, tuple) and all(isinstance(a, Area) for a in data):
        return data
    return None


def _write_cache(path: Path | None, parsed: tuple[Area, ...]) -> None:
    """Best effort: a read-only home or a full disk only costs the next run the parse."""
    if path is None:
        return
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".spec-", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(parsed, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def rules() -> tuple[Rule, ...]:
    return tuple(r for area in areas() for r in area.rules)


def rule(rule_id: str) -> Rule:
    for r in rules():
        if r.id == rule_id:
            return r
    known = [r.id for r in rules() if r.id.startswith(rule_id.split(".")[0])]
    hint = f" (rules in that area: {', '.join(known[:10])})" if known else ""
    raise SpecError(f"no rule with id {rule_id!r}{hint}")


def select(patterns: list[str] | None) -> tuple[Rule, ...]:
    """Rules whose id equals or starts with one of the patterns (all when none given)."""
    if not patterns:
        return rules()
    chosen = tuple(
        r
        for r in rules()
        if any(r.id == p or r.id.startswith(p.rstrip(".") + ".") for p in patterns)
    )
    if not chosen:
        raise SpecError(f"no rule matches {', '.join(patterns)}")
    return chosen
