"""The Kubernetes versions podfit models.

A version is a minor release (``1.35``) and stands for its newest patch release: what
kube-scheduler and the API server of that release do with their default feature gates.
Which behaviours changed between versions, and since when, is data in the spec
(``spec/versions.yaml``); this module only names the versions and parses them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from podfit.errors import UsageError

#: The minor releases podfit models, oldest first.
SUPPORTED: tuple[str, ...] = ("1.33", "1.34", "1.35", "1.36")

_VERSION = re.compile(r"v?([0-9]{1,3})\.([0-9]{1,3})")


@dataclass(frozen=True, order=True, slots=True)
class KubeVersion:
    """A Kubernetes minor release, ordered as releases are."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def between(self, first: KubeVersion | None, last: KubeVersion | None) -> bool:
        """Whether this release lies in ``first..last`` (both inclusive; None: unbounded)."""
        return (first is None or first <= self) and (last is None or self <= last)


def parse_version(text: str, *, what: str = "--kube-version") -> KubeVersion:
    """``"1.35"`` (or ``"v1.35"``) as a supported :class:`KubeVersion`; anything else is a
    usage error that lists the supported versions."""
    match = _VERSION.fullmatch(text.strip()) if isinstance(text, str) else None
    supported = ", ".join(SUPPORTED)
    if match is None:
        raise UsageError(
            f"{what}: {str(text)[:40]!r} is not a Kubernetes version of the form MAJOR.MINOR "
            f"(podfit models {supported})"
        )
    version = KubeVersion(int(match.group(1)), int(match.group(2)))
    if str(version) not in SUPPORTED:
        raise UsageError(
            f"{what}: Kubernetes {version} is not modelled (podfit models {supported})"
        )
    return version


#: Every supported version, oldest first.
VERSIONS: tuple[KubeVersion, ...] = tuple(parse_version(v) for v in SUPPORTED)
#: The newest version podfit models: the default everywhere.
LATEST: KubeVersion = VERSIONS[-1]


def resolve_version(value: KubeVersion | str | None) -> KubeVersion:
    """The version an API call asked for: None means :data:`LATEST`."""
    if value is None:
        return LATEST
    if isinstance(value, KubeVersion):
        if str(value) not in SUPPORTED:
            raise UsageError(
                f"kube_version: Kubernetes {value} is not modelled "
                f"(podfit models {', '.join(SUPPORTED)})"
            )
        return value
    return parse_version(value, what="kube_version")
