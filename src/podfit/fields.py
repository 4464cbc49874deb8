"""A cursor over parsed YAML that knows its field path, so every error can name the field.

``Field(value, "spec").at("containers").items()[0].at("resources")`` reads
``spec.containers[0].resources`` and any type error raised on the way says so.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from podfit.errors import ManifestError
from podfit.printable import shown
from podfit.quantity import Quantity, QuantityError, quantity_from_yaml
from podfit.validation import (
    TOTAL_ANNOTATION_SIZE_MAX,
    invalid,
    label_value_problems,
    qualified_name_problems,
)

_MISSING: Any = object()
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
MESSAGE_CHARS = 400


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "mapping",
    }.get(type(value), type(value).__name__)


class Field:
    """One value in a manifest and the dotted path that leads to it.

    The path is built only when an error needs it: reading large dumps creates millions
    of fields and almost none of them fail.
    """

    __slots__ = ("_key", "_parent", "_path", "value")

    def __init__(
        self, value: object, path: str = "", *, parent: Field | None = None, key: str = ""
    ) -> None:
        self.value = value
        self._path: str | None = path if parent is None else None
        self._parent = parent
        self._key = key

    @property
    def path(self) -> str:
        if self._path is None:
            parent = self._parent.path if self._parent is not None else ""
            key = self._key
            if key.startswith("["):
                self._path = parent + key
            else:
                self._path = f"{parent}.{key}" if parent else key
        return self._path

    # --- navigation ---------------------------------------------------------------------

    def error(self, message: str) -> ManifestError:
        if len(message) > MESSAGE_CHARS:  # e.g. a quantity error quoting a huge value
            keep = MESSAGE_CHARS // 2
            message = f"{message[:keep]} ... {message[-keep:]}"
        return ManifestError(message, field=self.path or None)

    def mapping(self) -> Mapping[str, Any]:
        value = self.value
        if value is None:
            return {}
        if type(value) is not dict and not isinstance(value, dict):
            raise self.error(f"expected a mapping, got {_type_name(value)}")
        return value

    def at(self, key: str) -> Field:
        """The child field ``key`` (its value is None when absent or null)."""
        return Field(self.mapping().get(key), parent=self, key=key)

    def has(self, key: str) -> bool:
        return self.mapping().get(key) is not None

    def items(self) -> list[Field]:
        if self.value is None:
            return []
        if not isinstance(self.value, list):
            raise self.error(f"expected a list, got {_type_name(self.value)}")
        return [Field(v, parent=self, key=f"[{i}]") for i, v in enumerate(self.value)]

    def entries(self) -> Iterator[tuple[str, Field]]:
        for key, value in self.mapping().items():
            if not isinstance(key, str):
                raise self.error(f"keys must be strings, got {_type_name(key)} {shown(key)}")
            yield key, Field(value, parent=self, key=key)

    # --- scalars ------------------------------------------------------------------------

    def text(self, default: str = "", *, required: bool = False) -> str:
        if self.value is None:
            if required:
                raise self.error("is required")
            return default
        if not isinstance(self.value, str):
            raise self.error(f"expected a string, got {_type_name(self.value)} {shown(self.value)}")
        if required and not self.value:
            raise self.error("must not be empty")
        return self.value

    def optional_text(self) -> str | None:
        return None if self.value is None else self.text()

    def choice(self, choices: tuple[str, ...], default: str | None = None) -> str:
        if self.value is None and default is not None:
            return default
        text = self.text(required=True)
        if text not in choices:
            raise self.error(f"unknown value {shown(text)} (expected one of: {', '.join(choices)})")
        return text

    def integer(
        self,
        default: int | None = None,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        if self.value is None:
            if default is None:
                raise self.error("is required")
            return default
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.error(
                f"expected an integer, got {_type_name(self.value)} {shown(self.value)}"
            )
        # Every integer in the API is at most an int64: the API server fails to decode more.
        low = INT64_MIN if minimum is None else minimum
        high = INT64_MAX if maximum is None else maximum
        if self.value < low:
            raise self.error(f"must be at least {low}, got {shown(self.value)}")
        if self.value > high:
            raise self.error(f"must be at most {high}, got {shown(self.value)}")
        return self.value

    def optional_integer(
        self, *, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        return None if self.value is None else self.integer(minimum=minimum, maximum=maximum)

    def boolean(self, default: bool = False) -> bool:
        if self.value is None:
            return default
        if not isinstance(self.value, bool):
            raise self.error(
                f"expected true or false, got {_type_name(self.value)} {shown(self.value)}"
            )
        return self.value

    def timestamp(self) -> datetime | None:
        value = self.value
        if value is None:
            return None
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise self.error(f"{shown(value)} is not an RFC 3339 timestamp") from None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        raise self.error(f"expected an RFC 3339 timestamp, got {_type_name(value)}")

    def quantity(self) -> Quantity:
        try:
            return quantity_from_yaml(self.value)
        except QuantityError as exc:
            raise self.error(str(exc)) from None

    # --- collections --------------------------------------------------------------------

    def str_list(self) -> tuple[str, ...]:
        return tuple(item.text() for item in self.items())

    def str_map(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, child in self.entries():
            if isinstance(child.value, bool | int | float):
                raise child.error(
                    f"expected a string, got {_type_name(child.value)} {shown(child.value)} "
                    f'(quote it: {key}: "{child.value}")'
                )
            out[key] = child.text()
        return out

    def labels(self) -> dict[str, str]:
        """A label map, with the API server's syntax checks on keys and values."""
        out = self.str_map()
        for key, value in out.items():
            for problem in qualified_name_problems(key):
                raise self.error(invalid(key, problem))
            for problem in label_value_problems(value):
                raise self.at(key).error(invalid(value, problem))
        return out

    def annotations(self) -> dict[str, str]:
        """An annotation map: keys are qualified names (checked lower-cased, as upstream),
        and all of it together at most 256 KiB."""
        out = self.str_map()
        total = 0
        for key, value in out.items():
            for problem in qualified_name_problems(key.lower()):
                raise self.error(invalid(key, problem))
            total += len(key.encode("utf-8")) + len(value.encode("utf-8"))
        if total > TOTAL_ANNOTATION_SIZE_MAX:
            raise self.error(f"Too long: may not be more than {TOTAL_ANNOTATION_SIZE_MAX} bytes")
        return out

    def resources(self) -> dict[str, Quantity]:
        out: dict[str, Quantity] = {}
        for key, child in self.entries():
            quantity = child.quantity()
            if quantity.value < 0:
                raise child.error(f"must be greater than or equal to 0, got {quantity}")
            out[key] = quantity
        return out
