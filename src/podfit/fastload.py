"""Fast ways to read large manifests into the same Python data the strict YAML loader gives.

The strict loader (:mod:`podfit.loading`) composes a node tree and constructs every value
in Python: about 10 s and several times the input's size in memory for a 50,000-pod
dump. The two readers here give the same documents for the inputs they vouch for, and
raise :class:`Doubt` for anything else, so the caller reads that source the strict way:

* :func:`json_document`: a JSON file (``kubectl get -o json``) through orjson, after
  checks that JSON and the YAML loader read it alike (no duplicate keys, no number YAML
  reads as a string, no character YAML folds or refuses).
* :class:`YamlEvents`: YAML through libyaml's event stream, built straight into dicts and
  lists without a node tree. Only plain documents are vouched for: an anchor, an alias,
  a tag, a merge key (``<<``), a complex key, a duplicate key, a directive, nesting deeper
  than any manifest or any parse error raises :class:`Doubt`, and the strict loader then
  gives its own answer or its own located error. Items of a top-level ``items`` sequence
  are handed to a callback as soon as each is read, so a ``kind: List`` dump is never held
  whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import yaml

__all__ = ["MAX_DEPTH", "Doubt", "PlainScalars", "YamlEvents", "json_document"]

# Manifests nest about 12 levels; anything much deeper is left to the strict loader.
MAX_DEPTH = 64


class Doubt(Exception):
    """The fast reader cannot vouch that its answer equals the strict loader's."""


# --- plain scalars -----------------------------------------------------------------------

_STR_TAG = "tag:yaml.org,2002:str"
# Plain scalars of these tags are built by the loader's own constructors.
_BUILT_TAGS = frozenset(
    "tag:yaml.org,2002:" + name for name in ("null", "bool", "int", "float", "timestamp")
)
# Plain scalars whose value is looked up once: most repeat (true, 80, 100m, ...).
_PLAIN_CACHE_LIMIT = 50_000
_MISSING: Any = object()


class PlainScalars:
    """What a plain (unquoted) scalar means to ``loader``: its resolver and constructors."""

    def __init__(self, loader: yaml.SafeLoader) -> None:
        resolvers = loader.yaml_implicit_resolvers
        if None in resolvers or loader.yaml_path_resolvers:
            raise Doubt("a resolver for any first character or by path")
        self._loader = loader
        # First characters for which the resolver has something to try.
        self._resolvable = frozenset(k for k in resolvers if k)
        self._cache: dict[str, Any] = {}

    def __call__(self, value: str) -> Any:
        if value and value[0] not in self._resolvable:
            return value
        cached = self._cache.get(value, _MISSING)
        if cached is not _MISSING:
            return cached
        loader = self._loader
        tag = loader.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
        if tag == _STR_TAG:
            built: Any = value
        elif tag in _BUILT_TAGS:
            try:
                built = loader.yaml_constructors[tag](loader, yaml.ScalarNode(tag, value))
            except (yaml.YAMLError, ValueError, OverflowError):
                raise Doubt("a scalar the loader refuses") from None
        else:
            raise Doubt(f"a plain scalar of tag {tag}")  # merge key (<<), value (=), ...
        if len(self._cache) >= _PLAIN_CACHE_LIMIT:
            self._cache.clear()
        self._cache[value] = built
        return built


# --- JSON ---------------------------------------------------------------------------------

# Bytes JSON and the YAML loader read alike outside strings and in them: printable ASCII,
# line feeds and carriage returns (YAML allows no tab before a token and refuses control
# characters).
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\n\r" + bytes(range(0x80, 0x100))
# Beyond ASCII: YAML reads U+0085, U+2028 and U+2029 as line breaks, which fold inside a
# quoted scalar, and refuses what is not printable.
_NON_ASCII_DOUBTS = re.compile("[\x80-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")
# An escaped surrogate (YAML keeps each half, JSON joins them) or an escaped colon (it
# would hide a duplicate key from the count below).
_ESCAPE_DOUBTS = re.compile(r"\\u(?:[dD][89abAB]|003[aA])")
_JSON_START = re.compile(r"[ \r\n]*[\[{]")
_CHUNK = 1 << 22


def json_document(text: str, plain: PlainScalars, on_item: ItemHook | None = None) -> Any:
    """The one document of a JSON text, exactly as the strict YAML loader would read it
    (``plain`` reads numbers with a fraction or an exponent: YAML 1.1 takes ``1e3`` for a
    string). Raises :class:`Doubt` when the text is not JSON or the two might differ.

    With ``on_item``, the elements of a top-level ``items`` list are decoded one at a time
    and handed to it as :class:`YamlEvents` hands them (a dump is never held decoded)."""
    if not _JSON_START.match(text):
        raise Doubt("not JSON")
    if not text.isascii() and _NON_ASCII_DOUBTS.search(text):
        raise Doubt("a character YAML reads differently")
    for start in range(0, len(text), _CHUNK):  # checked a piece at a time: no second copy
        if (
            text[start : start + _CHUNK]
            .encode("utf-8", "surrogatepass")
            .translate(None, _PRINTABLE_ASCII)
        ):
            raise Doubt("a tab or a control character")
    if "\\u" in text and _ESCAPE_DOUBTS.search(text):
        raise Doubt("an escape YAML reads differently")
    decoder = msgspec.json.Decoder(float_hook=plain)
    try:
        if on_item is not None and text.lstrip(" \r\n").startswith("{"):
            document, members = _json_list(text, decoder, on_item)
        else:
            document = decoder.decode(text)
            members = msgspec.json.encode(document).count(b":")
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise Doubt("not JSON") from None
    # A duplicate key leaves fewer members than the text has: every member has one
    # colon outside strings, and the strings' own colons are written back as they were.
    if members != text.count(":"):
        raise Doubt("a duplicate key")
    return document


_TOP_LEVEL = msgspec.json.Decoder(dict[str, msgspec.Raw])
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])


def _json_list(
    text: str, decoder: msgspec.json.Decoder[Any], on_item: ItemHook
) -> tuple[dict[str, Any], int]:
    """A top-level object with the elements of its ``items`` list decoded and handed over
    one at a time; and the colons its members account for (see :func:`json_document`)."""
    top = _TOP_LEVEL.decode(text)
    raw_items = top.pop("items", None)
    document = {key: decoder.decode(value) for key, value in top.items()}
    del top
    colons = 0
    if raw_items is not None:
        try:
            elements: list[Any] | None = _RAW_LIST.decode(raw_items)
        except msgspec.ValidationError:
            elements = None
        if elements is None:  # not a list: decoded whole, its colons counted as written back
            document["items"] = decoder.decode(raw_items)
            colons += msgspec.json.encode(document["items"]).count(b":")
        else:
            items = []
            for index, raw in enumerate(elements):
                elements[index] = None
                item = decoder.decode(raw)
                own = bytes(raw).count(b":")
                if msgspec.json.encode(item).count(b":") != own:
                    raise Doubt("a duplicate key")
                colons += own
                items.append(on_item(index, item))
            document["items"] = items
    # The top level with an empty list for items: its own members and its values' colons.
    rest = {key: value for key, value in document.items() if key != "items"}
    if raw_items is not None:
        rest["items"] = []
    return document, colons + msgspec.json.encode(rest).count(b":")


# --- YAML events --------------------------------------------------------------------------

_MAPPING_START = yaml.MappingStartEvent
_MAPPING_END = yaml.MappingEndEvent
_SEQUENCE_START = yaml.SequenceStartEvent
_SEQUENCE_END = yaml.SequenceEndEvent
_SCALAR = yaml.ScalarEvent
_DOCUMENT_START = yaml.DocumentStartEvent
_DOCUMENT_END = yaml.DocumentEndEvent
_STREAM_START = yaml.StreamStartEvent
_STREAM_END = yaml.StreamEndEvent

ItemHook = Callable[[int, Any], Any]


class _Frame:
    """A mapping or sequence being built, and for a mapping the key waiting for its value."""

    __slots__ = ("container", "is_map", "items_of", "key")

    def __init__(self, container: Any, is_map: bool, items_of: bool) -> None:
        self.container = container
        self.key: Any = _NO_KEY
        self.is_map = is_map
        # This is the top-level ``items`` sequence: its elements go to the item hook.
        self.items_of = items_of


_NO_KEY: Any = object()


class YamlEvents:
    """Documents of a YAML text, built from libyaml's events with ``loader_class``'s own
    resolver and scalar constructors (so plain scalars resolve exactly as they do there).

    ``on_item(index, item)``, when given, receives each element of a document's top-level
    ``items`` sequence once it is complete, and what it returns takes the element's place.
    """

    def __init__(
        self,
        loader_class: type[yaml.SafeLoader],
        text: str | bytes,
        on_item: ItemHook | None = None,
    ) -> None:
        self._loader = loader_class(text)
        self._on_item = on_item
        self.plain = PlainScalars(self._loader)
        # The document being read, from 1 (items handed to ``on_item`` belong to it).
        self.number = 0

    def close(self) -> None:
        self._loader.dispose()

    def documents(self) -> Iterator[Any]:
        """Each document in turn (None for an empty one); :class:`Doubt` on anything the
        strict loader might read differently, including any parse error."""
        try:
            get: Callable[[], Any] = self._loader.get_event
            if type(get()) is not _STREAM_START:
                raise Doubt("no stream")
            while True:
                event = get()
                kind = type(event)
                if kind is _STREAM_END:
                    return
                if kind is not _DOCUMENT_START or event.version or event.tags:
                    raise Doubt("a directive")
                self.number += 1
                document = self._document(get)
                if type(get()) is not _DOCUMENT_END:
                    raise Doubt("unexpected event")
                yield document
        except yaml.YAMLError as exc:
            raise Doubt(f"parse error: {exc}") from None

    def _scalar(self, event: Any) -> Any:
        if event.anchor is not None or event.tag is not None:
            raise Doubt("an anchor or a tag")
        # Quoted and block scalars are strings; plain ones are resolved.
        return self.plain(event.value) if event.implicit[0] else event.value

    def _document(self, get: Callable[[], Any]) -> Any:
        """One document's root value (the events between its start and end)."""
        stack: list[_Frame] = []
        on_item = self._on_item
        root: Any = _NO_KEY
        while True:
            event = get()
            kind = type(event)
            if kind is _SCALAR:
                value = self._scalar(event)
            elif kind is _MAPPING_START or kind is _SEQUENCE_START:
                if event.anchor is not None or event.tag is not None:
                    raise Doubt("an anchor or a tag")
                if len(stack) >= MAX_DEPTH:
                    raise Doubt("nesting too deep")
                is_map = kind is _MAPPING_START
                items_of = (
                    not is_map
                    and on_item is not None
                    and len(stack) == 1
                    and stack[0].is_map
                    and stack[0].key == "items"
                )
                frame = _Frame({} if is_map else [], is_map, items_of)
                if stack and stack[-1].is_map and stack[-1].key is _NO_KEY:
                    raise Doubt("a complex key")
                stack.append(frame)
                continue
            elif kind is _MAPPING_END or kind is _SEQUENCE_END:
                value = stack.pop().container
            else:
                raise Doubt(f"unexpected {kind.__name__}")  # an alias, or out of order
            if not stack:
                root = value
                break
            top = stack[-1]
            if top.is_map:
                if top.key is _NO_KEY:
                    if type(value) is dict or type(value) is list:
                        raise Doubt("a complex key")
                    if value in top.container:
                        raise Doubt("a duplicate key")
                    top.key = value
                else:
                    top.container[top.key] = value
                    top.key = _NO_KEY
            elif top.items_of:
                assert on_item is not None
                top.container.append(on_item(len(top.container), value))
            else:
                top.container.append(value)
        return root
