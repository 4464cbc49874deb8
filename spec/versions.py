"""What changed between the Kubernetes releases podfit models (``versions.yaml``).

Each change names the behaviour, the first and last release it holds for, the feature
gate behind it (if any), the upstream source and pull requests, and the spec rules that
state it. Implementations ask :func:`change_holds` which behaviour a release has; the
spec's rules and examples carry the same ranges in their ``holds`` key.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from podfit.errors import PodfitError
from podfit.versions import SUPPORTED, KubeVersion, parse_version

CHANGES_FILE = "versions.yaml"


@dataclass(frozen=True, slots=True)
class Change:
    """A behaviour that holds for releases ``first..last`` (inclusive; None: open)."""

    id: str
    title: str
    first: KubeVersion | None
    last: KubeVersion | None
    upstream: tuple[str, ...]
    prs: tuple[str, ...]
    rules: tuple[str, ...]
    gate: str = ""
    note: str = ""

    def holds(self, version: KubeVersion) -> bool:
        return version.between(self.first, self.last)

    @property
    def versions_text(self) -> str:
        if self.first is None and self.last is None:
            return "every release"
        if self.last is None:
            return f"{self.first} and later"
        if self.first is None:
            return f"{self.last} and earlier"
        return str(self.first) if self.first == self.last else f"{self.first} to {self.last}"


def _loader() -> type[yaml.SafeLoader]:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _version(raw: dict[str, Any], key: str, where: str) -> KubeVersion | None:
    if key not in raw:
        return None
    try:
        return parse_version(str(raw[key]), what=f"{CHANGES_FILE}: {where}: {key}")
    except PodfitError as exc:
        raise PodfitError(str(exc)) from None


@cache
def changes() -> dict[str, Change]:
    """Every change, by id, in the file's order."""
    text = resources.files(__package__).joinpath(CHANGES_FILE).read_text(encoding="utf-8")
    data = yaml.load(text, Loader=_loader())
    listed = tuple(str(v) for v in data["versions"])
    if listed != SUPPORTED:
        raise PodfitError(f"{CHANGES_FILE}: versions {listed} differ from podfit's {SUPPORTED}")
    out: dict[str, Change] = {}
    for raw in data["changes"]:
        where = raw["id"]
        upstream = raw["upstream"]
        out[raw["id"]] = Change(
            id=raw["id"],
            title=" ".join(raw["title"].split()),
            first=_version(raw, "from", where),
            last=_version(raw, "until", where),
            upstream=(upstream,) if isinstance(upstream, str) else tuple(upstream),
            prs=tuple(raw.get("prs", ())),
            rules=tuple(raw.get("rules", ())),
            gate=raw.get("gate", ""),
            note=" ".join(raw.get("note", "").split()),
        )
    return out


def change_holds(change_id: str, version: KubeVersion) -> bool:
    """Whether the behaviour ``change_id`` (an id in versions.yaml) holds in ``version``."""
    return changes()[change_id].holds(version)
