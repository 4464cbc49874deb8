"""TEMPORARY placeholder until the full quantity module lands (same interface)."""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from fractions import Fraction

_RE = re.compile(r"^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")
_DEC = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BIN = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}


class QuantityError(ValueError):
    pass


class Format(enum.Enum):
    DECIMAL_SI = "DecimalSI"
    BINARY_SI = "BinarySI"
    DECIMAL_EXPONENT = "DecimalExponent"


@dataclass(frozen=True, slots=True)
class Quantity:
    value: Fraction
    format: Format = Format.DECIMAL_SI

    @classmethod
    def parse(cls, text: str) -> Quantity:
        m = _RE.match(text)
        if not m:
            raise QuantityError(f"{text!r} is not a valid quantity")
        sign, num, suffix = m.group(1), m.group(2), m.group(3) or ""
        value = Fraction(num)
        if sign == "-":
            value = -value
        if suffix in _BIN:
            return cls(value * 2 ** _BIN[suffix], Format.BINARY_SI)
        if suffix in _DEC:
            return cls(value * Fraction(10) ** _DEC[suffix], Format.DECIMAL_SI)
        return cls(value * Fraction(10) ** int(suffix[1:]), Format.DECIMAL_EXPONENT)

    def value_rounded_up(self) -> int:
        return math.ceil(self.value)

    def milli_value(self) -> int:
        return math.ceil(self.value * 1000)

    def canonical(self) -> str:
        v = self.value
        if v.denominator == 1:
            return str(v.numerator)
        return f"{math.ceil(v * 1000)}m"

    def __str__(self) -> str:
        return self.canonical()


def parse_quantity(text: str) -> Fraction:
    return Quantity.parse(text).value


def quantity_from_yaml(raw: object) -> Quantity:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise QuantityError(f"expected a quantity string or number, got {type(raw).__name__}")
    return Quantity.parse(
        raw if isinstance(raw, str) else str(raw) if isinstance(raw, int) else repr(raw)
    )


def to_milli(value: Fraction) -> int:
    return math.ceil(value * 1000)


def to_units(value: Fraction) -> int:
    return math.ceil(value)
