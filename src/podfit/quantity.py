"""Kubernetes resource quantities, read and printed the way ``resource.Quantity`` does.

A quantity is a decimal number with an optional sign and one suffix::

    quantity  := sign? number suffix
    number    := digits | digits "." digits | digits "." | "." digits
    suffix    := ""  | n | u | m | k | M | G | T | P | E      (powers of 1000)
               | Ki | Mi | Gi | Ti | Pi | Ei                  (powers of 1024)
               | ("e" | "E") sign? digits                     (power of ten)

Facts about the upstream parser (k8s.io/apimachinery ``pkg/api/resource``) that this
module reproduces, several of which differ from the grammar above or from common belief:

* Suffixes are case-sensitive: ``1K`` is an error (kilo is ``k``), ``1E`` is 10^18 but
  ``1e`` is an error, ``1e3`` and ``1E3`` are both 1000.
* The parser does not insist on a digit: a bare sign, a bare ``.``, or a suffix alone
  (``"+"``, ``"."``, ``"-."``, ``"Mi"``, ``"k"``, ``"e5"``) reads as zero, unless the
  suffix is an exponent below -9 (``"e-10"`` fails). Upstream keeps this for compatibility
  with stored objects.
* Whitespace is not part of a quantity (``" 1"`` and ``"1 Gi"`` fail). The JSON, YAML and
  CBOR decoders trim surrounding whitespace first, which :func:`quantity_from_yaml` does too.
* Decimal quantities are neither capped at 2^63-1 nor limited to three decimal places.
  A non-zero value finer than 10^-9 is rounded away from zero to a whole number of nanos
  (``0.9n`` is ``1n``, ``1e-100`` is ``1n``).
* A quantity with a binary suffix is capped at 2^63-1 in magnitude (``8Ei`` reads as
  9223372036854775807); one whose magnitude is below 1 keeps the decimal format.
* A decimal exponent outside the signed 32-bit range is an error.
* ``Value()`` and ``MilliValue()`` round away from zero (so up for positive values) and
  saturate at the 64-bit integer limits.

The canonical string (upstream's ``CanonicalizeBytes``) keeps the format the text was
parsed in, uses the largest suffix that leaves an integer mantissa and never loses
precision: ``1000`` prints as ``1k``, ``1024`` stays ``1024``, ``1.5Gi`` prints as
``1536Mi`` and ``5e-1`` as ``500e-3``. Upstream's ``String()`` returns the text it parsed,
unchanged, for some spellings it takes to be canonical already (``+1``, ``1.``, ``01``,
``1E3``, ``1e0``, ``1.441``); :meth:`Quantity.canonical` always gives the canonical form.

podfit holds every value as an exact :class:`fractions.Fraction`. The one limit of its own
is on size: a non-zero quantity whose magnitude is 10^4000 or more is refused, since
upstream's accessors saturate at 2^63-1 long before and the exact value would have to be
written out in full.
"""

from __future__ import annotations

import enum
import functools
import json
import math
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_MAGNITUDE_DIGITS",
    "Format",
    "Quantity",
    "QuantityError",
    "parse_quantity",
    "quantity_from_yaml",
    "to_milli",
    "to_units",
]

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1

MAX_MAGNITUDE_DIGITS = 4000
"""A parsed non-zero quantity must be smaller than 10**MAX_MAGNITUDE_DIGITS in magnitude."""

_NANOS_PER_UNIT = 10**9
_ONE_NANO = Fraction(1, _NANOS_PER_UNIT)

_DIGITS = frozenset("0123456789")
_SUFFIX_LETTERS = frozenset("eEinumkKMGTP")
_SIGNS = frozenset("+-")

# Digit strings and integers are converted in pieces no longer than this, well under the
# smallest limit Python allows for int <-> str conversion (640 digits).
_CHUNK_DIGITS = 600


class QuantityError(ValueError):
    """A text that is not a valid Kubernetes resource quantity, or a value of the wrong type."""


class Format(enum.Enum):
    """How a quantity prints; it is remembered from the suffix it was parsed with."""

    DECIMAL_SI = "DecimalSI"
    BINARY_SI = "BinarySI"
    DECIMAL_EXPONENT = "DecimalExponent"


_DECIMAL_SUFFIXES: dict[str, int] = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
_BINARY_SUFFIXES: dict[str, int] = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_SUFFIX_BY_EXPONENT = {power: name for name, power in _DECIMAL_SUFFIXES.items()}
_BINARY_SUFFIX_BY_STEP = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
_KNOWN_SUFFIXES = [name for name in _DECIMAL_SUFFIXES if name] + list(_BINARY_SUFFIXES)


# --- errors -------------------------------------------------------------------------------


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _invalid(text: str, reason: str) -> QuantityError:
    return QuantityError(f"{_quote(text)} is not a valid quantity: {reason}")


def _unexpected_character(text: str, index: int) -> str:
    char = text[index]
    where = f"at position {index}"
    if char.isspace():
        return f"whitespace is not allowed ({where})"
    if char == ".":
        return f'unexpected "." {where} (a quantity has at most one decimal point)'
    if char in _SIGNS:
        return f'unexpected "{char}" {where} (a sign may only start the number or the exponent)'
    return f"unexpected character {_quote(char)} {where}"


def _unknown_suffix(suffix: str) -> str:
    if suffix == "K":
        return 'unknown suffix "K" (the decimal kilo suffix is lower-case "k"; "Ki" is 1024)'
    if suffix == "e":
        return (
            'unknown suffix "e" (a decimal exponent needs digits, as in "1e3"; '
            'the exa suffix is upper-case "E")'
        )
    if suffix[:1] in ("e", "E"):
        return (
            f"unknown suffix {_quote(suffix)} (a decimal exponent is e or E followed by a "
            'whole number, as in "1e3" or "5E-3")'
        )
    near = [name for name in _KNOWN_SUFFIXES if name.lower() == suffix.lower()]
    if near:
        choices = " or ".join(_quote(name) for name in near)
        return f"unknown suffix {_quote(suffix)} (suffixes are case-sensitive; try {choices})"
    return (
        f"unknown suffix {_quote(suffix)} (the suffixes are n u m k M G T P E, "
        'Ki Mi Gi Ti Pi Ei, or an exponent such as "e3")'
    )


# --- big integers <-> digit strings, free of Python's int/str conversion limit ----------------


def _digits_to_int(digits: str) -> int:
    if len(digits) <= _CHUNK_DIGITS:
        return int(digits)
    low_len = len(digits) // 2
    scale: int = 10**low_len
    return _digits_to_int(digits[:-low_len]) * scale + _digits_to_int(digits[-low_len:])


def _int_to_digits(number: int) -> str:
    """The decimal digits of a non-negative integer."""
    if number < 10**_CHUNK_DIGITS:
        return str(number)
    low_len = int(number.bit_length() * 0.30103) // 2
    high, low = divmod(number, 10**low_len)
    return _int_to_digits(high) + _int_to_digits(low).rjust(low_len, "0")


def _strip_tens(number: int) -> tuple[int, int]:
    """``number`` without its trailing decimal zeros, and how many there were (0 stays 0)."""
    if number == 0:
        return 0, 0
    zeros = 0
    step = 1
    while True:
        quotient, remainder = divmod(number, 10**step)
        if remainder == 0:
            number = quotient
            zeros += step
            step *= 2
        elif step == 1:
            return number, zeros
        else:
            step = 1


# --- rounding -----------------------------------------------------------------------------


def _ceil_away(value: Fraction) -> int:
    """``value`` rounded to an integer away from zero."""
    magnitude = -(-abs(value.numerator) // value.denominator)
    return magnitude if value >= 0 else -magnitude


def _clamp_int64(number: int) -> int:
    return max(INT64_MIN, min(INT64_MAX, number))


def _round_to_nano(value: Fraction) -> Fraction:
    """``value`` rounded away from zero to a whole number of nanos."""
    if (_NANOS_PER_UNIT % value.denominator) == 0:
        return value
    return Fraction(_ceil_away(value * _NANOS_PER_UNIT), _NANOS_PER_UNIT)


def _scaled_ceil_away(value: Fraction | int, scale: int) -> int:
    """``value * scale`` rounded away from zero and saturated at int64, in integers."""
    numerator, denominator = value.numerator, value.denominator
    magnitude = -(-abs(numerator) * scale // denominator)
    return max(INT64_MIN, min(INT64_MAX, magnitude if numerator >= 0 else -magnitude))


def to_units(value: Fraction) -> int:
    """Upstream ``Quantity.Value()``: whole units, rounded away from zero, saturating at int64.

    For the non-negative amounts scheduling deals in this is the ceiling: 0.1 is 1.
    """
    return _scaled_ceil_away(value, 1)


def to_milli(value: Fraction) -> int:
    """Upstream ``Quantity.MilliValue()``: thousandths, rounded away from zero, saturating at int64.

    This is how CPU is counted in millicores: 1.0001 is 1001.
    """
    return _scaled_ceil_away(value, 1000)


# --- parsing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pieces:
    negative: bool
    whole: str
    fraction: str
    suffix: str


def _split(text: str) -> _Pieces:
    """Cut ``text`` the way upstream's scanner does: sign, digits, ".", digits, suffix."""
    end = len(text)
    pos = 0
    negative = False
    if pos < end and text[pos] in _SIGNS:
        negative = text[pos] == "-"
        pos += 1
    start = pos
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    whole = text[start:pos]
    fraction = ""
    if pos < end and text[pos] == ".":
        pos += 1
        start = pos
        while pos < end and text[pos] in _DIGITS:
            pos += 1
        fraction = text[start:pos]
    suffix_start = pos
    while pos < end and text[pos] in _SUFFIX_LETTERS:
        pos += 1
    if pos < end and text[pos] in _SIGNS:
        pos += 1
    while pos < end and text[pos] in _DIGITS:
        pos += 1
    if pos < end:
        char = text[pos]
        if char.isalpha() or (char == "." and text[suffix_start : suffix_start + 1] in ("e", "E")):
            raise _invalid(text, _unknown_suffix(text[suffix_start:]))
        raise _invalid(text, _unexpected_character(text, pos))
    return _Pieces(negative, whole, fraction, text[suffix_start:])


def _exponent(text: str, suffix: str) -> int:
    """The power of ten of an ``e``/``E`` suffix, read as a signed 32-bit integer."""
    body = suffix[1:]
    digits = body[1:] if body[:1] in _SIGNS else body
    if not digits or any(char not in _DIGITS for char in digits):
        raise _invalid(text, _unknown_suffix(suffix))
    significant = digits.lstrip("0")
    # A digit string longer than any int32 is out of range; never convert a huge one.
    magnitude = INT64_MAX if len(significant) > 10 else int(significant or "0")
    exponent = -magnitude if body[:1] == "-" else magnitude
    if not _INT32_MIN <= exponent <= _INT32_MAX:
        raise _invalid(
            text,
            f"the exponent {body.lstrip('+')} is outside the signed 32-bit range "
            f"({_INT32_MIN} to {_INT32_MAX})",
        )
    return exponent


def _interpret(text: str, suffix: str) -> tuple[int, int, Format]:
    """(base, power, format) for a suffix: the number is multiplied by base**power."""
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix], Format.DECIMAL_SI
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix], Format.BINARY_SI
    if len(suffix) > 1 and suffix[0] in ("e", "E"):
        return 10, _exponent(text, suffix), Format.DECIMAL_EXPONENT
    raise _invalid(text, _unknown_suffix(suffix))


def _decimal_magnitude(text: str, digits: str, exponent: int) -> Fraction:
    """|value| of ``digits`` * 10**exponent (digits without leading zeros), nano-rounded."""
    order = len(digits) + exponent  # 10**(order-1) <= |value| < 10**order
    if order > MAX_MAGNITUDE_DIGITS:
        raise _invalid(
            text,
            f"its magnitude is at least 1e{order - 1}; podfit keeps quantities exact and "
            f"accepts magnitudes below 1e{MAX_MAGNITUDE_DIGITS} only (upstream's Value() "
            "and MilliValue() saturate at 2^63-1 long before)",
        )
    if order <= -9:
        return _ONE_NANO  # a non-zero value below one nano rounds up to exactly one
    if exponent >= 0:
        return Fraction(_digits_to_int(digits) * 10**exponent)
    if exponent >= -9:
        return Fraction(_digits_to_int(digits), 10**-exponent)
    # Digits finer than a nano only decide whether to round up by one.
    keep = order + 9
    nanos = _digits_to_int(digits[:keep])
    if digits[keep:].strip("0"):
        nanos += 1
    return Fraction(nanos, _NANOS_PER_UNIT)


def _binary_magnitude(digits: str, fraction_len: int, power: int) -> tuple[Fraction, Format]:
    """|value| of ``digits`` / 10**fraction_len * 2**power, nano-rounded and capped."""
    order = len(digits) - fraction_len
    if order >= 20:  # at least 10**19, already past the cap before the suffix applies
        return Fraction(INT64_MAX), Format.BINARY_SI
    if order <= -28:  # below 10**-28 * 2**60, so below one nano
        return _ONE_NANO, Format.DECIMAL_SI
    exact = Fraction(_digits_to_int(digits) * 2**power, 10**fraction_len)
    magnitude = min(_round_to_nano(exact), Fraction(INT64_MAX))
    return magnitude, Format.BINARY_SI if magnitude >= 1 else Format.DECIMAL_SI


def _parse(text: str) -> tuple[Fraction, Format]:
    if not isinstance(text, str):
        raise QuantityError(f"expected a quantity string, got {_type_name(text)}")
    if text == "":
        raise _invalid(text, "it is empty")
    pieces = _split(text)
    base, power, fmt = _interpret(text, pieces.suffix)
    if not pieces.whole and not pieces.fraction and base == 10 and power < -9:
        # Upstream reads a number without digits as zero ("+", ".", "Mi", "e5") only when
        # its fast path takes it; below the nano its decimal reader finds no digits.
        raise _invalid(text, "the number has no digits")
    digits = (pieces.whole + pieces.fraction).lstrip("0")
    if not digits:
        return Fraction(0), fmt
    if base == 10:
        magnitude = _decimal_magnitude(text, digits, power - len(pieces.fraction))
    else:
        magnitude, fmt = _binary_magnitude(digits, len(pieces.fraction), power)
    return (-magnitude if pieces.negative else magnitude), fmt


def parse_quantity(text: str) -> Fraction:
    """The exact value of a quantity string in base units; raises :class:`QuantityError`."""
    return _parse(text)[0]


# --- printing -----------------------------------------------------------------------------


def _power_count(number: int, factor: int) -> tuple[int, int]:
    count = 0
    while number % factor == 0:
        number //= factor
        count += 1
    return number, count


def _as_decimal(value: Fraction) -> tuple[int, int]:
    """(mantissa, exponent) with value == mantissa * 10**exponent and no trailing zeros.

    A value that is no finite decimal (1/3) is first rounded away from zero to nanos.
    """
    denominator = value.denominator
    twos = (denominator & -denominator).bit_length() - 1
    rest, fives = _power_count(denominator >> twos, 5)
    if rest != 1:
        value = _round_to_nano(value)
        return _as_decimal(value)
    shift = max(twos, fives)
    mantissa = value.numerator * (10**shift // denominator)
    mantissa_abs, zeros = _strip_tens(abs(mantissa))
    return (mantissa_abs if mantissa > 0 else -mantissa_abs), zeros - shift


def _canonical(value: Fraction, fmt: Format) -> str:
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    if fmt is Format.BINARY_SI and abs(value) >= 1024 and value.denominator == 1:
        magnitude = abs(value.numerator)
        step = 0
        while step < len(_BINARY_SUFFIX_BY_STEP) - 1 and magnitude % 1024 == 0:
            magnitude //= 1024
            step += 1
        return sign + _int_to_digits(magnitude) + _BINARY_SUFFIX_BY_STEP[step]
    if fmt is Format.BINARY_SI:
        fmt = Format.DECIMAL_SI  # below 1024 or not whole: printing in binary would round
    mantissa, exponent = _as_decimal(value)
    adjust = exponent % 3  # lower the exponent to a multiple of three
    mantissa *= 10**adjust
    exponent -= adjust
    if fmt is Format.DECIMAL_SI and exponent in _DECIMAL_SUFFIX_BY_EXPONENT:
        suffix = _DECIMAL_SUFFIX_BY_EXPONENT[exponent]
    elif exponent == 0:
        suffix = ""
    else:
        suffix = f"e{exponent}"  # also DecimalSI beyond E (10^18) or below n (10^-9)
    return sign + _int_to_digits(abs(mantissa)) + suffix


# --- the quantity -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Quantity:
    """An exact resource quantity (in base units) and the format it prints in.

    Equality, hashing and ordering go by value alone, as upstream ``Cmp``/``Equal`` do:
    ``Quantity.parse("1k") == Quantity.parse("1000")``.
    """

    value: Fraction
    format: Format = Format.DECIMAL_SI

    def __post_init__(self) -> None:
        raw: object = self.value
        if isinstance(raw, bool) or not isinstance(raw, int | Fraction):
            raise TypeError(f"Quantity value must be a Fraction or int, got {_type_name(raw)}")
        if not isinstance(raw, Fraction):
            object.__setattr__(self, "value", Fraction(raw))
        fmt: object = self.format
        if not isinstance(fmt, Format):
            raise TypeError(f"Quantity format must be a Format, got {_type_name(fmt)}")

    @classmethod
    def parse(cls, text: str) -> Quantity:
        """Parse a quantity string exactly as upstream ``ParseQuantity`` does."""
        value, fmt = _parse(text)
        return cls(value, fmt)

    def value_rounded_up(self) -> int:
        """Upstream ``Value()``: see :func:`to_units`."""
        return to_units(self.value)

    def milli_value(self) -> int:
        """Upstream ``MilliValue()``: see :func:`to_milli`."""
        return to_milli(self.value)

    def canonical(self) -> str:
        """Upstream's canonical form: ``1000`` is ``1k``, ``1.5Gi`` is ``1536Mi``."""
        return _canonical(self.value, self.format)

    def __str__(self) -> str:
        return self.canonical()

    def compare(self, other: Quantity) -> int:
        """Upstream ``Cmp``: -1, 0 or 1."""
        return (self.value > other.value) - (self.value < other.value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __lt__(self, other: Quantity) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self.value < other.value

    def __le__(self, other: Quantity) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self.value <= other.value

    def __gt__(self, other: Quantity) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self.value > other.value

    def __ge__(self, other: Quantity) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return self.value >= other.value

    def __add__(self, other: Quantity) -> Quantity:
        """Upstream ``Add``: the left operand's format, or the right one's if the left is 0."""
        if not isinstance(other, Quantity):
            return NotImplemented
        return Quantity(self.value + other.value, self._format_with(other))

    def __sub__(self, other: Quantity) -> Quantity:
        """Upstream ``Sub``: the left operand's format, or the right one's if the left is 0."""
        if not isinstance(other, Quantity):
            return NotImplemented
        return Quantity(self.value - other.value, self._format_with(other))

    def __neg__(self) -> Quantity:
        return Quantity(-self.value, self.format)

    def _format_with(self, other: Quantity) -> Format:
        return other.format if self.value == 0 else self.format


# --- YAML ---------------------------------------------------------------------------------

# What Go's strings.TrimSpace removes (unicode.IsSpace), which upstream's JSON and CBOR
# decoders apply before parsing.
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(
    chr(code) for code in range(0x2000, 0x200B)
)


def _type_name(raw: object) -> str:
    if raw is None:
        return "null"
    return type(raw).__name__


@functools.lru_cache(maxsize=8192)
def _parse_text(raw: str) -> Quantity:
    """Quantities repeat a lot in a cluster (`100m`, `1Gi`): parse each text once."""
    text = raw.strip(_GO_SPACE)
    if not text:
        raise _invalid(raw, "it is empty")
    return Quantity.parse(text)


def quantity_from_yaml(raw: object) -> Quantity:
    """A quantity as a manifest gives it: a string, or a YAML integer or float.

    Strings lose surrounding whitespace first, as upstream's decoders do. An int is read
    through ``str`` and a float through ``repr`` (``cpu: 0.5`` is ``500m``). Anything else,
    ``true``/``false`` included, is a :class:`QuantityError`.
    """
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise QuantityError(f"expected a quantity string or number, got {_type_name(raw)}")
    if isinstance(raw, str):
        return _parse_text(raw)
    if isinstance(raw, int):
        return Quantity.parse(("-" if raw < 0 else "") + _int_to_digits(abs(raw)))
    if not math.isfinite(raw):
        raise QuantityError(f"{raw!r} is not a valid quantity: it is not a finite number")
    return Quantity.parse(repr(raw))
