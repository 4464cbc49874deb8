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

from podfit import cache
from podfit.cluster import Cluster, Origin
from podfit.defaults import default_object
from podfit.errors import ManifestError
from podfit.fastbuild import build
from podfit.fastload import Doubt, PlainScalars, YamlEvents, json_document
from podfit.manifest import describe, parse_object
from podfit.model import KubeObject, Pod

Source = str | os.PathLike[str] | IO[str] | IO[bytes]

MAX_FILE_BYTES = 256 * 1024 * 1024
# The fast readers (podfit.fastload, podfit.fastbuild) give what the strict ones give, for
# the inputs they vouch for; PODFIT_STRICT_LOAD=1 reads everything the strict way.
_FAST = not os.environ.get("PODFIT_STRICT_LOAD")
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


@dataclass(slots=True)
class _Read:
    """One manifest, read: its object (None for a kind that is skipped) or its error."""

    kind: str
    obj: KubeObject | None = None
    error: ManifestError | None = None


def _read_manifest(
    name: str, number: int, prefix: str, manifest: Any, *, fast: bool = False
) -> _Read:
    """One manifest read; ``fast`` when it comes from the fast readers (a tree of its own:
    the strict loader's documents may share nodes through aliases, which only the strict
    parser walks without expanding them)."""
    if fast and _FAST:
        try:
            obj = build(manifest)  # a Pod or a Node: the kind is there
            return _Read(manifest["kind"], obj)
        except Doubt:
            pass  # the strict parser reads it, and locates any error
    label = describe(manifest) if isinstance(manifest, dict) else None
    try:
        obj = parse_object(manifest)
    except ManifestError as exc:
        if prefix and exc.field:
            exc = ManifestError(exc.message, field=f"{prefix}.{exc.field}")
        elif prefix:
            exc = ManifestError(exc.message, field=prefix)
        return _Read("", error=exc.located(source=name, document=number, obj=label))
    except RecursionError:
        error = ManifestError(
            "object is nested too deeply", source=name, document=number, obj=label
        )
        return _Read("", error=error)
    kind = str(manifest.get("kind"))
    return _Read(kind, default_object(obj) if obj is not None else None)


def _is_list(doc: Any) -> bool:
    return (
        isinstance(doc, dict) and isinstance(doc.get("kind"), str) and doc["kind"].endswith("List")
    )


def _document_reads(name: str, number: int, doc: Any, *, fast: bool = False) -> Iterator[_Read]:
    """Every manifest of one document, read in order. Items of a list that were read
    while the document was parsed (:class:`_Read`) are taken as they are."""
    if not _is_list(doc):
        items = doc.get("items") if isinstance(doc, dict) else None
        if isinstance(items, list) and any(isinstance(item, _Read) for item in items):
            raise Doubt("items read early, but the document is not a list")
        yield _read_manifest(name, number, "", doc, fast=fast)
        return
    items = doc.get("items")
    if items is not None and not isinstance(items, list):
        yield _Read("", error=ManifestError("items: expected a list", source=name, document=number))
        return
    for i, item in enumerate(items or []):
        # Let go of each raw item once read: a dump is never held twice.
        assert items is not None
        items[i] = None
        yield (
            item
            if isinstance(item, _Read)
            else _read_manifest(name, number, f"items[{i}]", item, fast=fast)
        )


class _Text:
    """One source's text, held in one place so a reader can let go of it: a 200 MB dump is
    not kept twice (as text and as bytes for libyaml) nor beside the data read from it."""

    __slots__ = ("value",)

    def __init__(self, text: str) -> None:
        self.value: str | bytes | None = text

    def text(self) -> str:
        value = self.value
        if value is None:
            raise AssertionError("the text was let go of while still needed")
        return value if isinstance(value, str) else value.decode("utf-8", "surrogatepass")

    def utf8(self) -> bytes:
        """The text as UTF-8, from now on held only that way."""
        value = self.value
        if not isinstance(value, bytes):
            value = self.value = self.text().encode("utf-8", "surrogatepass")
        return value


def _strict_reads(name: str, text: str) -> Iterator[tuple[int, _Read]]:
    for number, doc in _documents(name, text):
        if doc is not None:
            for read in _document_reads(name, number, doc):
                yield number, read


def _fast_reads(name: str, source: _Text) -> Iterator[tuple[int, _Read]]:
    """The same reads as :func:`_strict_reads`, through :mod:`podfit.fastload`; raises
    :class:`Doubt` where that cannot vouch for the documents."""
    text = source.text()
    events: YamlEvents | None = None

    def read_item(index: int, item: Any) -> Any:
        # An item that names its kind reads the same whatever list it is in.
        if isinstance(item, dict) and "kind" in item:
            number = events.number if events else 1
            return _read_manifest(name, number, f"items[{index}]", item, fast=True)
        return item

    try:
        document = json_document(text, PlainScalars(_StrictLoader("")), read_item)
        documents: Iterable[Any] = [document]
        # Nothing after a list is decoded goes back to the text (for another document
        # that had its items read early, a doubt does).
        if _is_list(document):
            source.value = None
        del document
    except Doubt:
        documents = ()

    if not documents:
        # libyaml reads UTF-8 bytes (a str would be copied into them); a leading U+FEFF
        # would be taken for a byte-order mark there, so that text stays a str.
        keep = text.startswith("\ufeff")
        del text
        events = YamlEvents(_StrictLoader, source.text() if keep else source.utf8(), read_item)
        documents = events.documents()
    else:
        del text
    number = 0
    try:
        for doc in documents:
            number += 1
            if doc is not None:
                for read in _document_reads(name, number, doc, fast=True):
                    yield number, read
    finally:
        if events is not None:
            events.close()


def _reads(name: str, source: _Text) -> Iterator[tuple[int, _Read]]:
    """(document number, manifest read) for every manifest of a text: the fast readers
    where they vouch for the result, otherwise the strict loader from where they stopped."""
    handed = 0
    if _FAST:
        try:
            for entry in _fast_reads(name, source):
                yield entry
                handed += 1
            return
        except Doubt:
            pass
    for index, entry in enumerate(_strict_reads(name, source.text())):
        if index >= handed:
            yield entry


def iter_objects(
    source: Source, report: LoadReport | None = None
) -> Iterator[tuple[KubeObject, Origin]]:
    """Every scheduling-relevant object in one source, parsed and defaulted."""
    name, text = _read_text(source)
    return _objects(name, _Text(text), report if report is not None else LoadReport())


def _objects(name: str, source: _Text, report: LoadReport) -> Iterator[tuple[KubeObject, Origin]]:
    report.sources.append(name)
    for number, read in _reads(name, source):
        if read.error is not None:
            raise read.error
        if read.obj is None:
            report.skipped[read.kind] += 1
            continue
        report.loaded[read.kind] += 1
        yield read.obj, Origin(name, number)


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
    """Load manifests into a :class:`Cluster` (objects checked, defaulted, priorities resolved).

    A large input loaded before, byte for byte, by the same podfit comes from the cache
    (:mod:`podfit.cache`)."""
    report = report if report is not None else LoadReport()
    # Every source is read first (the cache is keyed by all of them); a source that cannot
    # be read raises its error in its turn, after the sources before it were parsed.
    texts: list[tuple[str, str] | ManifestError] = []
    for source in sources:
        try:
            texts.append(_read_text(source))
        except ManifestError as exc:
            texts.append(exc)
    names = [t[0] for t in texts if isinstance(t, tuple)]
    entry_key = (
        cache.key([t[1] for t in texts if isinstance(t, tuple)])
        if cache.enabled() and len(names) == len(texts)
        else None
    )
    with _gc_paused():
        if entry_key is not None:
            entry = cache.get(entry_key, names)
            if entry is not None:
                report.sources.extend(names)
                report.loaded.update(entry.loaded)
                report.skipped.update(entry.skipped)
                return entry.cluster
        this = LoadReport()
        cluster = Cluster()
        for index, read in enumerate(texts):
            if isinstance(read, ManifestError):
                raise read
            name, text = read
            held = _Text(text)  # the only reference from here on: readers let go of it
            texts[index] = (name, "")
            del read, text
            for obj, origin in _objects(name, held, this):
                cluster.add(obj, origin)
        cluster.finish()
    report.sources.extend(this.sources)
    report.loaded.update(this.loaded)
    report.skipped.update(this.skipped)
    if entry_key is not None:
        entry = cache.Entry(cluster, dict(this.loaded), dict(this.skipped))
        cache.put(entry_key, entry, this.sources)
    return cluster


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
