"""Reading manifests as users have them: files or streams of multi-document YAML,
``kind: List`` (what ``kubectl get -o yaml`` prints), one object per document.

Only PyYAML's safe loader is used. Duplicate keys are errors (the API server's
strict decoding rejects them too). Objects of kinds that do not affect scheduling
are skipped and counted; everything else is parsed, validated and defaulted.
"""

from __future__ import annotations

import codecs
import contextlib
import gc
import io
import os
import re
import stat
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import yaml

from podfit import cache
from podfit.cluster import Cluster, Origin
from podfit.defaults import default_object
from podfit.errors import ManifestError
from podfit.fastbuild import build
from podfit.fastload import Doubt, PlainScalars, YamlEvents, json_document
from podfit.manifest import describe, list_item_kind, parse_object
from podfit.model import KubeObject, Pod
from podfit.printable import shown
from podfit.validation import release, validating_for
from podfit.versions import KubeVersion, resolve_version

Source = str | os.PathLike[str] | IO[str] | IO[bytes]

MAX_FILE_BYTES = 256 * 1024 * 1024
_READ_CHUNK = 1024 * 1024
# The fast readers (podfit.fastload, podfit.fastbuild) give what the strict ones give, for
# the inputs they vouch for; PODFIT_STRICT_LOAD=1 reads everything the strict way.
_FAST = not os.environ.get("PODFIT_STRICT_LOAD")
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _StrictLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """Safe loader that reads a document as kubectl's YAML decoder does: a duplicate key
    is refused, merge keys (``<<``) are taken in order (a later key wins, in a list of
    merged maps the first wins), and a document whose aliases expand too far is refused
    before anything walks it."""

    #: Whether the text may hold an alias at all (no ``*`` at all: nothing to count).
    may_alias = True

    def get_data(self) -> Any:
        node = self.get_node()
        if node is not None and self.may_alias:
            _check_aliasing(node)
        return self.construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, found {node.id}", node.start_mark
            )
        mapping: dict[Any, Any] = {}
        explicit: set[Any] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                mapping.update(self._merged(value_node, deep))
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in explicit
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "found an unhashable key", key_node.start_mark
                ) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {shown(key)}", key_node.start_mark
                )
            explicit.add(key)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def _merged(self, node: yaml.Node, deep: bool) -> dict[Any, Any]:
        """What a merge key brings: one map, or a list of maps (earlier ones win)."""
        if isinstance(node, yaml.MappingNode):
            return self.construct_mapping(node, deep=deep)
        if isinstance(node, yaml.SequenceNode) and all(
            isinstance(item, yaml.MappingNode) for item in node.value
        ):
            merged: dict[Any, Any] = {}
            for item in reversed(node.value):
                merged.update(self.construct_mapping(item, deep=deep))
            return merged
        raise yaml.constructor.ConstructorError(
            None, None, "map merge requires map or sequence of maps as the value", node.start_mark
        )


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _StrictLoader.construct_mapping
)

# kubectl's YAML decoder (go-yaml v2, decode.go) refuses a document once aliases account
# for more of the values it has decoded than this share: 99 % up to 400,000 values, falling
# to 10 % at 4,000,000 and beyond.
_ALIAS_RATIO_LOW, _ALIAS_RATIO_HIGH = 400_000, 4_000_000
_MAY_ALIAS = re.compile(r"(?:^|[\s\[{,:?-])\*[^\s,\[\]{}]", re.MULTILINE)


def _allowed_alias_ratio(decoded: int) -> float:
    if decoded <= _ALIAS_RATIO_LOW:
        return 0.99
    if decoded >= _ALIAS_RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (decoded - _ALIAS_RATIO_LOW) / (_ALIAS_RATIO_HIGH - _ALIAS_RATIO_LOW)


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, yaml.SequenceNode):
        yield from node.value


def _check_aliasing(root: yaml.Node) -> None:
    """Count the values the document holds once its aliases are expanded, as kubectl's
    decoder does, and refuse it where kubectl does (``document contains excessive
    aliasing``) or when an anchor contains itself. PyYAML shares an aliased node instead of
    copying it, so each node's expanded size is counted once: the work is linear in the
    text, however far the aliases would expand."""
    sizes: dict[int, int] = {}  # node -> values it expands to (nodes fully walked)
    walking: set[int] = {id(root)}
    decoded, aliased = 1, 0
    stack: list[tuple[yaml.Node, Iterator[yaml.Node], list[int]]] = [(root, _children(root), [1])]
    while stack:
        node, children, size = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            walking.discard(id(node))
            sizes[id(node)] = size[0]
            if stack:
                stack[-1][2][0] += size[0]
            continue
        key = id(child)
        if key in walking:
            raise yaml.composer.ComposerError(
                None, None, "anchor value contains itself", child.start_mark
            )
        expanded = sizes.get(key)
        if expanded is not None:  # a second sight of a node: an alias, expanded in full
            decoded += 1 + expanded
            aliased += expanded
            size[0] += 1 + expanded
            if (
                aliased > 100
                and decoded > 1000
                and aliased / decoded > _allowed_alias_ratio(decoded)
            ):
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    "document contains excessive aliasing (kubectl refuses it too)",
                    child.start_mark,
                )
            continue
        walking.add(key)
        decoded += 1
        stack.append((child, _children(child), [1]))


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


def _read_limited(stream: IO[bytes] | IO[str], name: str) -> bytes | str:
    """Everything ``stream`` holds, counted while it is read: a FIFO, ``/dev/zero`` or a
    pipe says nothing of its size beforehand."""
    chunks: list[Any] = []
    total = 0
    while True:
        chunk = stream.read(min(_READ_CHUNK, MAX_FILE_BYTES + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > MAX_FILE_BYTES:
            raise ManifestError(f"larger than the {MAX_FILE_BYTES} byte limit", source=name)
    if chunks and isinstance(chunks[0], str):
        return "".join(chunks)
    return b"".join(chunks)


def _read_text(source: Source) -> tuple[str, str]:
    """(name for messages, text)."""
    if isinstance(source, str | os.PathLike):
        name = os.fspath(source)
        if name == "-":
            import sys

            name = "<stdin>"
            data = _read_limited(getattr(sys.stdin, "buffer", sys.stdin), name)
        else:
            data = _read_path(name)
    else:
        name = str(getattr(source, "name", None) or "<stream>")
        data = _read_limited(source, name)
    text = data if isinstance(data, str) else _decode(data, name)
    if "\0" in text:
        raise ManifestError("is a binary file, not YAML", source=name)
    return name, text


def _read_path(name: str) -> bytes:
    try:
        info = os.stat(name)
    except FileNotFoundError:
        raise ManifestError("no such file", source=name) from None
    except OSError as exc:
        raise ManifestError(f"cannot read: {exc.strerror or exc}", source=name) from None
    if stat.S_ISDIR(info.st_mode):
        raise ManifestError("is a directory, not a file", source=name)
    if stat.S_ISREG(info.st_mode) and info.st_size > MAX_FILE_BYTES:
        raise ManifestError(
            f"file is {info.st_size} bytes, larger than the {MAX_FILE_BYTES} byte limit",
            source=name,
        )
    try:
        with open(name, "rb") as stream:
            data = _read_limited(stream, name)
    except OSError as exc:
        raise ManifestError(f"cannot read: {exc.strerror or exc}", source=name) from None
    assert isinstance(data, bytes)
    return data


def _decode(data: bytes, name: str) -> str:
    """Bytes as kubectl reads a file: UTF-8, or UTF-16 when a byte-order mark says so (a
    UTF-8 mark is dropped)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        if b"\0" in data:
            raise ManifestError("is a binary file, not YAML", source=name)
        encoding = "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        what = "UTF-16" if encoding == "utf-16" else "UTF-8"
        raise ManifestError(f"is not {what} text (byte {exc.start})", source=name) from None


def _documents(name: str, text: str) -> Iterator[tuple[int, Any]]:
    loader = _StrictLoader(io.StringIO(text))
    loader.may_alias = _MAY_ALIAS.search(text) is not None
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


def _document_reads(name: str, number: int, doc: Any, *, fast: bool = False) -> Iterator[_Read]:
    """Every manifest of one document, read in order. Items of a list that were read
    while the document was parsed (:class:`_Read`) are taken as they are."""
    item_kind = list_item_kind(doc)
    if item_kind is None:
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
            else _read_manifest(
                name,
                number,
                f"items[{i}]",
                _typed_item(item, item_kind, doc["apiVersion"]),
                fast=fast,
            )
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
        if list_item_kind(document) is not None:
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


def _typed_item(item: Any, kind: str, api_version: str) -> Any:
    """An item of a typed list (``PodList``) that names neither its kind nor its
    apiVersion takes the list's, as kubectl's decoder gives them (the API server leaves
    them out of the items of a list it returns)."""
    if kind and isinstance(item, dict) and "kind" not in item and "apiVersion" not in item:
        return {"apiVersion": api_version, "kind": kind, **item}
    return item


def _manifests_of(doc: Any, name: str, number: int) -> list[tuple[str, Any]]:
    """The manifests one document holds: itself, or a list's items (``items[2]``)."""
    item_kind = list_item_kind(doc)
    if item_kind is None:
        return [("", doc)]
    items = doc.get("items")
    if items is not None and not isinstance(items, list):
        raise ManifestError("items: expected a list", source=name, document=number)
    return [
        (f"items[{i}]", _typed_item(item, item_kind, doc["apiVersion"]))
        for i, item in enumerate(items or [])
    ]


def iter_manifests(source: Source) -> Iterator[tuple[str, int, str, Any]]:
    """Every manifest in one source, unparsed: (source name, document number, field prefix
    inside a list such as ``items[2]``, the manifest)."""
    name, text = _read_text(source)
    for number, doc in _documents(name, text):
        if doc is None:
            continue
        for prefix, manifest in _manifests_of(doc, name, number):
            yield name, number, prefix, manifest


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


def _release(kube_version: KubeVersion | str | None) -> contextlib.AbstractContextManager[None]:
    """Validate as the API server of ``kube_version`` (None: whatever is in force, the newest
    release unless a command or caller chose one)."""
    if kube_version is None:
        return contextlib.nullcontext()
    return validating_for(resolve_version(kube_version))


def load(
    *sources: Source,
    report: LoadReport | None = None,
    kube_version: KubeVersion | str | None = None,
) -> Cluster:
    """Load manifests into a :class:`Cluster` (objects checked as the API server of
    ``kube_version`` checks them, defaulted, priorities resolved).

    A large input loaded before, byte for byte, by the same podfit for the same release
    comes from the cache (:mod:`podfit.cache`)."""
    with _release(kube_version):
        return _load(sources, report if report is not None else LoadReport())


def _load(sources: tuple[Source, ...], report: LoadReport) -> Cluster:
    # Every source is read first (the cache is keyed by all of them); a source that cannot
    # be read raises its error in its turn, after the sources before it were parsed.
    texts: list[tuple[str, str] | ManifestError] = []
    for source in sources:
        try:
            texts.append(_read_text(source))
        except ManifestError as exc:
            texts.append(exc)
    names = [t[0] for t in texts if isinstance(t, tuple)]
    # What the API server accepts depends on its release: the release is part of the key.
    entry_key = (
        cache.key([str(release()), *(t[1] for t in texts if isinstance(t, tuple))])
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
        cluster.finish(owned=True)  # every pod was just built, for this cluster alone
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


def load_pods(
    *sources: Source,
    report: LoadReport | None = None,
    kube_version: KubeVersion | str | None = None,
) -> list[Pod]:
    """Every Pod in the sources, in order (other kinds are an error here)."""
    pods: list[Pod] = []
    seen: set[str] = set()
    with _release(kube_version):
        for source in sources:
            for obj, origin in iter_objects(source, report):
                if not isinstance(obj, Pod):
                    raise origin.error(obj, "expected only Pods in this file")
                if obj.key in seen:
                    raise origin.error(obj, f"duplicate Pod {obj.key}")
                seen.add(obj.key)
                pods.append(obj)
    return pods


def load_pod(source: Source, *, kube_version: KubeVersion | str | None = None) -> Pod:
    """Exactly one Pod."""
    pods = load_pods(source, kube_version=kube_version)
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
