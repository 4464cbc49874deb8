"""A cache of loaded clusters, keyed by what was loaded: the files' bytes and the code
that read them.

Reading a 50,000-pod dump takes seconds; reading what an earlier run built from the same
bytes takes a fraction of that. An entry is found only by the SHA-256 of every input's
text, in order, together with podfit's version, the source of the modules that decide
what a load gives and the versions of the parsers they use: a changed file or a changed
podfit is a different key, so an entry is never stale, and only a load that succeeded is
ever stored, so the cache never yields what the loader would refuse.

Entries live in ``clusters`` under podfit's cache directory (``$PODFIT_CACHE_DIR``, else
``$XDG_CACHE_HOME/podfit`` or the platform's equivalent, where the parsed spec is cached
too), are pickles readable only by their owner, and may be deleted at any time. The
directory keeps at most :data:`MAX_ENTRIES` entries and :data:`MAX_BYTES` bytes, dropping
the least recently used first. Inputs under :data:`MIN_BYTES` load faster than the cache
pays for itself and are not stored. ``PODFIT_CACHE=0`` turns this cache off,
``PODFIT_CACHE_DIR=off`` every cache. A directory that another user could write to is
never read.
"""

from __future__ import annotations

import contextlib
import copyreg
import dataclasses
import functools
import hashlib
import io
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from podfit import model
from podfit.cluster import Cluster, Origin

MIN_BYTES = 1 << 20
MAX_BYTES = 2 << 30
MAX_ENTRIES = 16
_SUFFIX = ".cluster"
_CHUNK = 1 << 22
# Modules whose code decides what a load gives.
_LOADING_MODULES = (
    "podfit.cache",
    "podfit.cluster",
    "podfit.defaults",
    "podfit.errors",
    "podfit.fastbuild",
    "podfit.fastload",
    "podfit.fields",
    "podfit.loading",
    "podfit.manifest",
    "podfit.model",
    "podfit.quantity",
    "podfit.validation",
    "podfit.versions",
)


def enabled() -> bool:
    """Off with ``PODFIT_CACHE=0`` (this cache) or ``PODFIT_CACHE_DIR=off`` (every cache)."""
    switch = os.environ.get("PODFIT_CACHE", "1").strip().lower()
    return switch not in ("0", "off", "no", "false") and os.environ.get("PODFIT_CACHE_DIR") != "off"


def directory() -> Path:
    """``clusters`` in podfit's cache directory (the parsed spec's, too)."""
    configured = os.environ.get("PODFIT_CACHE_DIR")
    if configured:
        return Path(configured) / "clusters"
    import platformdirs

    return Path(platformdirs.user_cache_dir("podfit", appauthor=False)) / "clusters"


@functools.cache
def _fingerprint() -> bytes:
    """podfit's version, the loading code's source and the parsers' versions."""
    import importlib
    from importlib import metadata

    import msgspec
    import yaml

    digest = hashlib.sha256()
    with contextlib.suppress(metadata.PackageNotFoundError):
        digest.update(metadata.version("podfit").encode())
    for extra in (sys.version, yaml.__version__, msgspec.__version__, str(pickle.HIGHEST_PROTOCOL)):
        digest.update(extra.encode())
    for name in _LOADING_MODULES:
        source = importlib.import_module(name).__file__
        digest.update(Path(source).read_bytes() if source else name.encode())
    return digest.digest()


def key(texts: Sequence[str]) -> str | None:
    """The entry for these inputs, read in this order; None when they are too small to be
    worth caching."""
    if sum(len(text) for text in texts) < MIN_BYTES:
        return None
    digest = hashlib.sha256(_fingerprint())
    for text in texts:
        digest.update(len(text).to_bytes(8, "little"))
        for start in range(0, len(text), _CHUNK):  # a piece at a time: no copy of a dump
            digest.update(text[start : start + _CHUNK].encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


# --- pickling the model -------------------------------------------------------------------


def _frozen_map(data: dict[str, Any]) -> MappingProxyType[str, Any]:
    return MappingProxyType(data)


def _reducers() -> dict[type, Any]:
    """Read-only maps as their dict; the model's dataclasses as their fields, positionally
    (faster to rebuild than the dataclasses' own pickled state)."""
    table: dict[type, Any] = dict(copyreg.dispatch_table)
    table[MappingProxyType] = lambda m: (_frozen_map, (dict(m),))
    for value in vars(model).values():
        if (
            isinstance(value, type)
            and dataclasses.is_dataclass(value)
            and "__slots__" in vars(value)
        ):
            names = tuple(f.name for f in dataclasses.fields(value) if f.init)
            if names == tuple(getattr(value, "__slots__", ())):
                table[value] = functools.partial(_as_fields, value, names)
    return table


def _as_fields(cls: type, names: tuple[str, ...], obj: Any) -> tuple[Any, ...]:
    return cls, tuple(getattr(obj, name) for name in names)


# What an entry may name: podfit's own classes and the few standard ones its objects hold.
_ALLOWED = {
    "fractions": {"Fraction"},
    "datetime": {"datetime", "date", "timezone", "timedelta"},
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("podfit.") or name in _ALLOWED.get(module, ()):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a cluster cache entry")


# --- entries ------------------------------------------------------------------------------


@dataclasses.dataclass
class Entry:
    """A loaded cluster, with what the load reported; origins name inputs by position."""

    cluster: Cluster
    loaded: dict[str, int]
    skipped: dict[str, int]


def _private_directory(create: bool) -> Path | None:
    """The cache directory when it is ours alone (created if asked), else None."""
    path = directory()
    try:
        if create:
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
        info = path.stat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode):
        return None
    if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & 0o022):
        return None
    return path


def get(entry_key: str, names: Sequence[str]) -> Entry | None:
    """The entry stored under ``entry_key``, its origins naming ``names``; None if absent
    or unreadable (a damaged entry is removed)."""
    folder = _private_directory(create=False)
    if folder is None:
        return None
    path = folder / (entry_key + _SUFFIX)
    try:
        with path.open("rb") as stream:
            entry = _Unpickler(stream).load()
        os.utime(path)  # recently used: kept longest
    except FileNotFoundError:
        return None
    except Exception:
        path.unlink(missing_ok=True)
        return None
    if not isinstance(entry, Entry):
        return None
    origins = entry.cluster.origins
    for object_key, origin in origins.items():
        origins[object_key] = Origin(names[int(origin.source)], origin.document)
    return entry


def put(entry_key: str, entry: Entry, names: Sequence[str]) -> None:
    """Store an entry (its origins saved by input position), then trim the directory.
    Failing to write is not an error: the cache is only an optimisation."""
    folder = _private_directory(create=True)
    if folder is None:
        return
    position = {name: str(i) for i, name in enumerate(names)}
    cluster = entry.cluster
    saved = cluster.origins
    cluster.origins = {k: Origin(position.get(o.source, "0"), o.document) for k, o in saved.items()}
    buffer = io.BytesIO()
    try:
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = _reducers()
        pickler.dump(entry)
    finally:
        cluster.origins = saved
    try:
        fd, temporary = tempfile.mkstemp(prefix=".entry-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(buffer.getbuffer())
            os.replace(temporary, folder / (entry_key + _SUFFIX))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        return
    _trim(folder)


def _trim(folder: Path) -> None:
    """Drop the least recently used entries past the count and size limits."""
    entries = []
    for path in folder.glob("*" + _SUFFIX):
        try:
            info = path.stat()
        except OSError:
            continue
        entries.append((info.st_mtime, info.st_size, path))
    entries.sort(reverse=True)
    total = 0
    for count, (_, size, path) in enumerate(entries, start=1):
        total += size
        if count > MAX_ENTRIES or total > MAX_BYTES:
            path.unlink(missing_ok=True)


def clear() -> None:
    """Remove every entry."""
    folder = _private_directory(create=False)
    if folder is not None:
        for path in folder.glob("*" + _SUFFIX):
            path.unlink(missing_ok=True)
