"""Reading manifests as users have them: files or streams of multi-document YAML,
``kind: List`` (what ``kubectl get -o yaml`` prints), one object per document.

Only PyYAML's safe loader is used. Duplicate keys are errors (the API server's
strict decoding rejects them too). Objects of kinds that do not affect scheduling
are skipped and counted; everything else is parsed, validated and defaulted.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from podfit.cluster import Cluster, Origin
from podfit.defaults import default_object
from podfit.errors import ManifestError
from podfit.manifest import describe, parse_object
from podfit.model import KubeObject, Pod

Source = str | os.PathLike[str] | IO[str] | IO[bytes]

MAX_FILE_BYTES = 256 * 1024 * 1024
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """Safe loader that refuses duplicate keys in a mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "found an unhashable key", key_node.start_mark
                ) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen[key] = key_node
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _StrictLoader.construct_mapping
)


@dataclass
class LoadReport:
    """What a load found: objects per kind, and the kinds it skipped."""

    loaded: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    sources: list[str] = field(default_factory=list)

    def notice(self) -> str | None:
        if not self.skipped:
            return None
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.skipped.items()))
        return f"skipped objects that do not affect scheduling: {kinds}"


def _read_text(source: Source) -> tuple[str, str]:
    """(name for messages, text)."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        name = str(source)
        if str(source) == "-":
            import sys

            return "<stdin>", sys.stdin.read()
        if not path.exists():
            raise ManifestError("no such file", source=name)
        if path.is_dir():
            raise ManifestError("is a directory, not a file", source=name)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise ManifestError(
                    f"file is {size} bytes, larger than the {MAX_FILE_BYTES} byte limit",
                    source=name,
                )
            data = path.read_bytes()
        except OSError as exc:
            raise ManifestError(f"cannot read: {exc.strerror or exc}", source=name) from None
    else:
        name = getattr(source, "name", None) or "<stream>"
        name = str(name)
        raw = source.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise ManifestError(f"larger than the {MAX_FILE_BYTES} byte limit", source=name)
        if isinstance(raw, str):
            return name, raw
        data = raw
    if b"\0" in data:
        raise ManifestError("is a binary file, not YAML", source=name)
    try:
        return name, data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"is not UTF-8 text (byte {exc.start})", source=name) from None


def _documents(name: str, text: str) -> Iterator[tuple[int, Any]]:
    loader = _StrictLoader(io.StringIO(text))
    number = 1  # the document being read, for messages
    try:
        while loader.check_data():
            yield number, loader.get_data()
            number += 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        lines = text.splitlines()
        if mark is not None and mark.line < len(lines) and "\t" in lines[mark.line]:
            problem += " (YAML does not allow tabs for indentation)"
        raise ManifestError(
            f"invalid YAML: {where}{problem}", source=name, document=number
        ) from None
    except yaml.YAMLError as exc:
        # Some of PyYAML's messages span lines; the CLI prints one line per error.
        problem = " ".join(str(exc).split())
        raise ManifestError(f"invalid YAML: {problem}", source=name, document=number) from None
    except ValueError as exc:
        # An integer of more digits than Python converts (sys.get_int_max_str_digits()).
        problem = str(exc).split(";")[0]
        raise ManifestError(f"invalid YAML: {problem}", source=name, document=number) from None
    except RecursionError:
        raise ManifestError("YAML nesting is too deep", source=name, document=number) from None
    finally:
        loader.dispose()


def iter_objects(
    source: Source, report: LoadReport | None = None
) -> Iterator[tuple[KubeObject, Origin]]:
    """Every scheduling-relevant object in one source, parsed and defaulted."""
    report = report if report is not None else LoadReport()
    name, text = _read_text(source)
    report.sources.append(name)
    for number, doc in _documents(name, text):
        if doc is None:
            continue
        manifests: list[tuple[str, Any]] = [("", doc)]
        if (
            isinstance(doc, dict)
            and isinstance(doc.get("kind"), str)
            and doc["kind"].endswith("List")
        ):
            items = doc.get("items")
            if items is not None and not isinstance(items, list):
                raise ManifestError("items: expected a list", source=name, document=number)
            manifests = [(f"items[{i}]", item) for i, item in enumerate(items or [])]
        for prefix, manifest in manifests:
            label = describe(manifest) if isinstance(manifest, dict) else None
            try:
                obj = parse_object(manifest)
            except ManifestError as exc:
                if prefix and exc.field:
                    exc = ManifestError(exc.message, field=f"{prefix}.{exc.field}")
                elif prefix:
                    exc = ManifestError(exc.message, field=prefix)
                raise exc.located(source=name, document=number, obj=label) from None
            except RecursionError:
                raise ManifestError(
                    "object is nested too deeply", source=name, document=number, obj=label
                ) from None
            if obj is None:
                report.skipped[str(manifest.get("kind"))] += 1
                continue
            report.loaded[str(manifest.get("kind"))] += 1
            yield default_object(obj), Origin(name, number)


def iter_manifests(source: Source) -> Iterator[tuple[str, int, str, Any]]:
    """Every manifest in one source, unparsed: (source name, document number, field prefix
    inside a ``kind: List`` such as ``items[2]``, the manifest)."""
    name, text = _read_text(source)
    for number, doc in _documents(name, text):
        if doc is None:
            continue
        if (
            isinstance(doc, dict)
            and isinstance(doc.get("kind"), str)
            and doc["kind"].endswith("List")
        ):
            items = doc.get("items")
            if items is not None and not isinstance(items, list):
                raise ManifestError("items: expected a list", source=name, document=number)
            for i, item in enumerate(items or []):
                yield name, number, f"items[{i}]", item
        else:
            yield name, number, "", doc


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Building a large cluster makes many long-lived objects; the cyclic GC would rescan
    them over and over (quadratic in effect). Nothing built here forms cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # The cluster's objects live as long as the cluster: move them out of the GC's
        # generations so later work (scheduling cycles) does not keep rescanning them.
        gc.freeze()
        if was_enabled:
            gc.enable()


def load(*sources: Source, report: LoadReport | None = None) -> Cluster:
    """Load manifests into a :class:`Cluster` (objects checked, defaulted, priorities resolved)."""
    cluster = Cluster()
    with _gc_paused():
        for source in sources:
            for obj, origin in iter_objects(source, report):
                cluster.add(obj, origin)
        return cluster.finish()


def load_document(source: Source) -> tuple[str, Any]:
    """(name for messages, the one YAML document in ``source``), read like manifests are:
    size limit, UTF-8 check, duplicate keys refused. An empty file gives None."""
    name, text = _read_text(source)
    documents = [doc for _, doc in _documents(name, text)]
    if len(documents) > 1:
        raise ManifestError(f"expected one YAML document, found {len(documents)}", source=name)
    return name, documents[0] if documents else None


def load_pods(*sources: Source, report: LoadReport | None = None) -> list[Pod]:
    """Every Pod in the sources, in order (other kinds are an error here)."""
    pods: list[Pod] = []
    seen: set[str] = set()
    for source in sources:
        for obj, origin in iter_objects(source, report):
            if not isinstance(obj, Pod):
                raise origin.error(obj, "expected only Pods in this file")
            if obj.key in seen:
                raise origin.error(obj, f"duplicate Pod {obj.key}")
            seen.add(obj.key)
            pods.append(obj)
    return pods


def load_pod(source: Source) -> Pod:
    """Exactly one Pod."""
    pods = load_pods(source)
    if len(pods) != 1:
        name = (
            source if isinstance(source, str | os.PathLike) else getattr(source, "name", "<stream>")
        )
        raise ManifestError(f"expected exactly one Pod, found {len(pods)}", source=str(name))
    return pods[0]


def objects_from_manifests(
    manifests: Iterable[object], source: str = "<manifests>"
) -> Iterator[tuple[KubeObject, Origin]]:
    """Like :func:`iter_objects` for manifests already parsed (dicts), e.g. spec examples."""
    for number, manifest in enumerate(manifests, start=1):
        label = describe(manifest) if isinstance(manifest, dict) else None
        try:
            obj = parse_object(manifest)
        except ManifestError as exc:
            raise exc.located(source=source, document=number, obj=label) from None
        if obj is not None:
            yield default_object(obj), Origin(source, number)


def cluster_from_manifests(manifests: Iterable[object], source: str = "<manifests>") -> Cluster:
    cluster = Cluster()
    with _gc_paused():
        for obj, origin in objects_from_manifests(manifests, source):
            cluster.add(obj, origin)
        return cluster.finish()


def pod_from_manifest(manifest: object, source: str = "<pod>") -> Pod:
    objects = list(objects_from_manifests([manifest], source))
    if len(objects) != 1 or not isinstance(objects[0][0], Pod):
        raise ManifestError("expected a Pod", source=source)
    return objects[0][0]
