"""The rules of Kubernetes scheduling as data: one YAML file per area.

The files ship as package data; :func:`rules` reads them (validated against
``schema.json``) and :func:`rule` finds one by id. What a backend must do with an
example is the contract in ``INTERPRETING.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import yaml

from podfit.errors import PodfitError

SPEC_VERSION = "1.0"


class SpecError(PodfitError):
    """A rule file that does not follow the schema, or an unknown rule id."""


@dataclass(frozen=True, slots=True)
class Example:
    rule_id: str
    description: str
    case: str
    given: Mapping[str, Any]
    expect: Mapping[str, Any]
    backends: tuple[str, ...] | None = None

    @property
    def id(self) -> str:
        """Stable id of the example: ``rule-id: description``."""
        return f"{self.rule_id}: {self.description}"


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
        if entry.name.endswith(".yaml")
    )


def parse_area(data: object, source: str) -> Area:
    """Validate one rule file's data against the schema and build its :class:`Area`."""
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
                examples=tuple(
                    Example(
                        rule_id=raw["id"],
                        description=ex["description"],
                        case=ex["case"],
                        given=ex["given"],
                        expect=ex["expect"],
                        backends=tuple(ex["backends"]) if "backends" in ex else None,
                    )
                    for ex in raw["examples"]
                ),
            )
        )
    return Area(data["area"], data["title"], " ".join(data["description"].split()), tuple(rules))


@cache
def areas() -> tuple[Area, ...]:
    out = []
    for name in rule_files():
        text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SpecError(f"{name}: invalid YAML: {exc}") from None
        out.append(parse_area(data, name))
    return tuple(out)


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
