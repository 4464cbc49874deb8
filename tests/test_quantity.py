"""Resource quantities against the behaviour of k8s.io/apimachinery's resource.Quantity.

The tables restate, in podfit's terms, the cases of upstream's quantity_test.go (parsing,
printing, rounding, arithmetic) and of its newer golden, sub-nano and overflow tests. The
properties check the parser against an independent oracle built on ``Fraction(str)``.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st

from podfit.quantity import (
    INT64_MAX,
    INT64_MIN,
    MAX_MAGNITUDE_DIGITS,
    Format,
    Quantity,
    QuantityError,
    parse_quantity,
    quantity_from_yaml,
    to_milli,
    to_units,
)

D = Format.DECIMAL_SI
B = Format.BINARY_SI
X = Format.DECIMAL_EXPONENT

SPEC_FILE = Path(__file__).resolve().parent.parent / "spec" / "quantity.yaml"
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "spec" / "schema.json"


def q(text: str) -> Quantity:
    return Quantity.parse(text)


# --- parsing: valid input -------------------------------------------------------------------

# (text, exact value as Fraction() reads it, format). Each row is also checked with a "-" and
# a "+" in front, as upstream does.
PARSE_VALID: list[tuple[str, str, Format]] = [
    # zero in every suffix
    ("0", "0", D),
    ("0n", "0", D),
    ("0u", "0", D),
    ("0m", "0", D),
    ("0Ki", "0", B),
    ("0k", "0", D),
    ("0Mi", "0", B),
    ("0M", "0", D),
    ("0Gi", "0", B),
    ("0G", "0", D),
    ("0Ti", "0", B),
    ("0T", "0", D),
    # no suffix at all
    ("1", "1", D),
    # powers of 1024
    ("1Ki", "1024", B),
    ("8Ki", "8192", B),
    ("7Mi", str(7 * 2**20), B),
    ("6Gi", str(6 * 2**30), B),
    ("5Ti", str(5 * 2**40), B),
    ("4Pi", str(4 * 2**50), B),
    ("3Ei", str(3 * 2**60), B),
    ("10Ti", str(10 * 2**40), B),
    ("100Ti", str(100 * 2**40), B),
    # powers of 1000
    ("5n", "5e-9", D),
    ("4u", "4e-6", D),
    ("3m", "3e-3", D),
    ("9", "9", D),
    ("8k", "8e3", D),
    ("50k", "5e4", D),
    ("7M", "7e6", D),
    ("6G", "6e9", D),
    ("5T", "5e12", D),
    ("40T", "4e13", D),
    ("300T", "3e14", D),
    ("2P", "2e15", D),
    ("1E", "1e18", D),
    # decimal exponents, including ones that are no multiple of three
    ("1E-3", "1e-3", X),
    ("1e3", "1e3", X),
    ("1E6", "1e6", X),
    ("1e9", "1e9", X),
    ("1E12", "1e12", X),
    ("1e15", "1e15", X),
    ("1E18", "1e18", X),
    ("1e14", "1e14", X),
    ("1e13", "1e13", X),
    ("100.035k", "100035", D),
    # written like floating point
    ("0.001", "1e-3", D),
    ("0.0005k", "0.5", D),
    ("0.005", "5e-3", D),
    ("0.05", "5e-2", D),
    ("0.5", "0.5", D),
    ("0.00050k", "0.5", D),
    ("0.00500", "5e-3", D),
    ("0.05000", "5e-2", D),
    ("0.50000", "0.5", D),
    ("0.5e0", "0.5", X),
    ("0.5e-1", "5e-2", X),
    ("0.5e-2", "5e-3", X),
    ("10.035M", "10035000", D),
    ("1.2e3", "1200", X),
    ("1.3E+6", "1300000", X),
    ("1.40e9", "1.4e9", X),
    ("1.53E12", "1.53e12", X),
    ("1.6e15", "1.6e15", X),
    ("1.7E18", "1.7e18", X),
    ("9.01", "9.01", D),
    ("8.1k", "8100", D),
    ("7.123456M", "7123456", D),
    ("6.987654321G", "6987654321", D),
    ("5.444T", "5.444e12", D),
    ("40.1T", "4.01e13", D),
    ("300.2T", "3.002e14", D),
    ("2.5P", "2.5e15", D),
    ("1.01E", "1.01e18", D),
    # rounded up to the nano, or capped
    ("3.001n", "4e-9", D),
    ("1.1E-9", "2e-9", X),
    ("0.0000000001", "1e-9", D),
    ("0.0000000005", "1e-9", D),
    ("0.00000000050", "1e-9", D),
    ("0.5e-9", "1e-9", X),
    ("0.9n", "1e-9", D),
    ("0.00000012345", "124e-9", D),
    ("0.00000012354", "124e-9", D),
    ("9Ei", str(INT64_MAX), B),
    ("9223372036854775807Ki", str(INT64_MAX), B),
    ("12E", "12e18", D),
    # fractions of binary suffixes
    ("100.035Ki", "102435.84", B),
    ("0.5Mi", "524288", B),
    ("0.05Gi", "53687091.2", B),
    ("0.025Ti", "27487790694.4", B),
    # odd spellings that upstream accepts
    ("0.000000000001Ki", "2e-9", D),  # rounds up, and a value below 1 leaves BinarySI
    (".001", "1e-3", D),
    (".0001k", "0.1", D),
    ("1.", "1", D),
    ("1.G", "1e9", D),
    # more than 18 digits, no cap for decimal quantities
    ("999999999999999999", "999999999999999999", D),
    ("9999999999999999999", "9999999999999999999", D),
    ("9223372036854775808", "9223372036854775808", D),
    ("18446744073709551616", "18446744073709551616", D),
    ("10E", "1e19", D),
    ("1.0000000000000000001E", "1000000000000000000.1", D),
    ("9223372036854775808.1", "9223372036854775808.1", D),
    ("1000000000000000000000e-30", "1e-9", X),
    ("1000000000000000000001e-30", "2e-9", X),
    ("999999999999999999999e-30", "1e-9", X),
]


@pytest.mark.parametrize(("text", "exact", "fmt"), PARSE_VALID, ids=[r[0] for r in PARSE_VALID])
def test_parse_valid(text: str, exact: str, fmt: Format) -> None:
    got = q(text)
    assert got.value == Fraction(exact)
    assert got.format is fmt
    assert parse_quantity(text) == Fraction(exact)


@pytest.mark.parametrize(("text", "exact", "fmt"), PARSE_VALID, ids=[r[0] for r in PARSE_VALID])
def test_parse_valid_with_explicit_sign(text: str, exact: str, fmt: Format) -> None:
    negative = q("-" + text)
    assert negative.value == -Fraction(exact)
    assert negative.format is fmt
    positive = q("+" + text)
    assert positive.value == Fraction(exact)
    assert positive.format is fmt


def test_the_value_is_an_exact_fraction() -> None:
    assert isinstance(parse_quantity("1.5Gi"), Fraction)
    assert parse_quantity("1.5Gi") == 1610612736
    assert parse_quantity("1.5") == Fraction(3, 2)
    assert parse_quantity("0.3") + parse_quantity("0.6") == Fraction(9, 10)


# Digit-less numbers: upstream's scanner reads them as zero (kept for compatibility).
DIGITLESS_ZERO: list[tuple[str, Format]] = [
    (".", D),
    ("-.", D),
    ("+.", D),
    ("+", D),
    ("-", D),
    ("Mi", B),
    ("Ki", B),
    ("k", D),
    ("m", D),
    ("E", D),
    ("e5", X),
    ("E-3", X),
    ("-.Gi", B),
    ("00", D),
    ("-0", D),
    ("000.000", D),
    ("e-9", X),
    ("-.n", D),
]


@pytest.mark.parametrize(("text", "fmt"), DIGITLESS_ZERO, ids=[r[0] for r in DIGITLESS_ZERO])
def test_a_number_without_digits_is_zero(text: str, fmt: Format) -> None:
    got = q(text)
    assert got.value == 0
    assert got.format is fmt
    assert got.canonical() == "0"


# Below one nano: always exactly one nano, whatever the exponent (upstream's sub-nano test).
SUB_NANO: list[tuple[str, int]] = [
    ("1e-2147483647", 1),
    ("-1e-2147483647", -1),
    ("1e-2147483648", 1),
    ("1e-100", 1),
    ("-1e-100", -1),
    ("1e-10", 1),
    ("9e-10", 1),
    ("-9e-10", -1),
    ("1e-9", 1),
    ("-1e-9", -1),
    ("2e-9", 2),
    ("15e-10", 2),
    ("0." + "0" * 5000 + "1", 1),
    ("0.00000000000000000000001Ki", 1),
    ("0e-2147483647", 0),
    ("0.0e-100", 0),
]


@pytest.mark.parametrize(("text", "nanos"), SUB_NANO, ids=[r[0][:30] for r in SUB_NANO])
def test_values_below_a_nano_round_away_from_zero(text: str, nanos: int) -> None:
    assert q(text).value == Fraction(nanos, 10**9)


def test_a_tiny_binary_quantity_is_printed_in_decimal() -> None:
    got = q("0.00000000000000000000001Ki")
    assert got.format is D
    assert got.canonical() == "1n"
    assert q("1e-100").canonical() == "1e-9"
    assert q("1e-100").format is X


# --- parsing: invalid input -----------------------------------------------------------------

PARSE_INVALID: list[str] = [
    # upstream's own list
    "1.1.M",
    "1+1.0M",
    "0.1mi",
    "0.1am",
    "aoeu",
    ".5i",
    "1i",
    "-3.01i",
    "-3.01e-",
    " 1",
    "1 ",
    "",
    "Non-Numeric",
    "invalid",
    # wrong letter case
    "1K",
    "1ki",
    "1KI",
    "1kI",
    "1gi",
    "1g",
    "1MI",
    "1mI",
    "1t",
    "1p",
    "1e",
    "1N",
    "1U",
    # not a suffix at all
    "1b",
    "1B",
    "1Gib",
    "1KiB",
    "1Z",
    "1Zi",
    "1%",
    "1Ki3",
    "1k5",
    "1EE",
    "1e3e3",
    "1e1.5",
    "1e+",
    "1E-",
    "1e3k",
    "1-",
    "1+5",
    # grammar
    "1.2.3",
    "1 Gi",
    "1\tGi",
    "1\n",
    "--1",
    "+-1",
    "-+1",
    "1..",
    "..1",
    "1_000",
    "0x10",
    "1,5",
    "１",  # a full-width digit is no ASCII digit
    "inf",
    "NaN",
    "-inf",
    # no digits and an exponent below the nano: upstream's decimal reader finds no digits
    "e-10",
    ".e-10",
    "-E-12",
    "+e-100",
    # exponents outside the signed 32-bit range
    "1e4294967297",
    "1e2147483648",
    "1e-2147483649",
    "1e99999999999999999999",
    "0e4294967296",
]


@pytest.mark.parametrize("text", PARSE_INVALID, ids=[repr(t) for t in PARSE_INVALID])
def test_parse_invalid(text: str) -> None:
    with pytest.raises(QuantityError) as caught:
        Quantity.parse(text)
    message = str(caught.value)
    assert message.startswith(json.dumps(text, ensure_ascii=False) + " is not a valid quantity: ")
    assert not message.startswith("podfit")
    with pytest.raises(QuantityError):
        parse_quantity(text)


def test_a_quantity_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown suffix"):
        parse_quantity("1K")


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("1K", 'the decimal kilo suffix is lower-case "k"'),
        ("1ki", 'try "Ki"'),
        ("2KI", 'try "Ki"'),
        ("3mi", 'try "Mi"'),
        ("1g", 'try "G"'),
        ("1e", 'exa suffix is upper-case "E"'),
        ("1e1.5", "followed by a whole number"),
        ("1 Gi", "whitespace is not allowed (at position 1)"),
        (" 1", "whitespace is not allowed (at position 0)"),
        ("1.2.3", 'unexpected "." at position 3'),
        ("", "it is empty"),
        ("e-10", "the number has no digits"),
        ("1b", "the suffixes are n u m k M G T P E"),
        ("1e4294967297", "outside the signed 32-bit range"),
        ("1e" + "9" * 5000, "outside the signed 32-bit range"),
    ],
)
def test_error_messages_say_why(text: str, hint: str) -> None:
    with pytest.raises(QuantityError) as caught:
        Quantity.parse(text)
    assert hint in str(caught.value)


def test_magnitudes_beyond_podfits_limit_are_refused_clearly() -> None:
    # Upstream would accept these (with saturating accessors); podfit keeps values exact.
    assert q(f"1e{MAX_MAGNITUDE_DIGITS - 1}").value == 10 ** (MAX_MAGNITUDE_DIGITS - 1)
    assert q("9" * MAX_MAGNITUDE_DIGITS).value == 10**MAX_MAGNITUDE_DIGITS - 1
    for text in (f"1e{MAX_MAGNITUDE_DIGITS}", "1e2147483647", "1" + "0" * MAX_MAGNITUDE_DIGITS):
        with pytest.raises(QuantityError, match="podfit keeps quantities exact"):
            Quantity.parse(text)
    # Binary quantities are capped long before, so they are never refused for size.
    assert q("1" + "0" * 10000 + "Ki").value == INT64_MAX


def test_parse_rejects_a_non_string() -> None:
    with pytest.raises(QuantityError, match="expected a quantity string, got int"):
        Quantity.parse(5)  # type: ignore[arg-type]


# --- canonical printing ---------------------------------------------------------------------

# (value, format, canonical): upstream's TestQuantityString, on values built directly.
CANONICAL_BUILT: list[tuple[str, Format, str]] = [
    (str(2**30), B, "1Gi"),
    (str(300 * 2**20), B, "300Mi"),
    (str(6 * 1024), B, "6Ki"),
    (str(1001 * 2**30), B, "1001Gi"),
    (str(2**40), B, "1Ti"),
    ("5", B, "5"),
    ("0.5", B, "500m"),
    ("1e9", D, "1G"),
    ("1e-3", D, "1m"),
    ("0.08", D, "80m"),
    ("1.08", D, "1080m"),
    ("3e8", D, "300M"),
    ("1e12", D, "1T"),
    ("1e18", D, "1E"),
    ("1e21", D, "1e21"),
    ("5e21", D, "5e21"),
    ("1e24", D, "1e24"),
    ("1234567e6", D, "1234567M"),
    ("1234.567", B, "1234567m"),
    ("3000", D, "3k"),
    ("1025", B, "1025"),
    ("0", D, "0"),
    ("0", B, "0"),
    ("0", X, "0"),
    ("1e9", X, "1e9"),
    ("1e-3", X, "1e-3"),
    ("1e-9", X, "1e-9"),
    ("0.08", X, "80e-3"),
    ("3e8", X, "300e6"),
    ("1e12", X, "1e12"),
    ("1e3", X, "1e3"),
    ("3e3", X, "3e3"),
    ("1e-9", D, "1n"),
    ("8e-8", D, "80n"),
    ("1.08e-6", D, "1080n"),
    ("1e-6", D, "1u"),
    ("8e-5", D, "80u"),
    ("1.08e-3", D, "1080u"),
    ("1536", B, "1536"),
    ("1000", B, "1k"),  # below 1024 a binary quantity prints in decimal
    ("-0.5", B, "-500m"),
    (str(2**63), B, "8Ei"),
    (str(2**70), B, "1024Ei"),  # no suffix beyond Ei: the mantissa grows
    ("1e-12", D, "1e-12"),  # finer than n (only reachable by construction)
    ("1/3", D, "333333334n"),  # no finite decimal: rounded up to the nano first
]


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    CANONICAL_BUILT,
    ids=[f"{r[0]}-{r[1].value}" for r in CANONICAL_BUILT],
)
def test_canonical_of_built_quantities(value: str, fmt: Format, expected: str) -> None:
    built = Quantity(Fraction(value), fmt)
    assert built.canonical() == expected
    assert str(built) == expected
    if built.value != 0:
        negated = expected[1:] if expected.startswith("-") else "-" + expected
        assert (-built).canonical() == negated


# (text, canonical): upstream's alternate spellings, ParseEmit, ParseQuantity and golden rows.
CANONICAL_PARSED: list[tuple[str, str]] = [
    ("1000", "1k"),
    ("1024", "1024"),
    ("5e-1", "500e-3"),
    ("1.5Gi", "1536Mi"),
    ("0.1", "100m"),
    ("1536Mi", "1536Mi"),
    ("1Ki", "1Ki"),
    ("1Mi", "1Mi"),
    ("1Gi", "1Gi"),
    ("1024Mi", "1Gi"),
    ("307200Ki", "300Mi"),
    ("1025024Mi", "1001Gi"),
    ("1024Gi", "1Ti"),
    ("5000m", "5"),
    ("0.5", "500m"),
    ("1000M", "1G"),
    ("0.001T", "1G"),
    ("1000u", "1m"),
    ("1.08", "1080m"),
    ("1080000000n", "1080m"),
    ("1000E", "1e21"),
    ("5000E", "5e21"),
    ("1000000E", "1e24"),
    (".001e12", "1e9"),
    ("0.001e0", "1e-3"),
    ("1000e-12", "1e-9"),
    ("00", "0"),
    (".001Ki", "1024m"),
    (".000001Ki", "1024u"),
    (".000000001Ki", "1024n"),
    (".000000000001Ki", "2n"),
    ("0.1Ki", "102400m"),
    ("100.035Ki", "102435840m"),
    ("1.5Ki", "1536"),
    ("1.1Ki", "1126400m"),
    ("1.2345", "1234500u"),
    ("1.441", "1441m"),
    ("1.000001", "1000001u"),
    ("1.000000001", "1000000001n"),
    ("1.5", "1500m"),
    ("0.000000000000001", "1n"),
    ("1e100", "10e99"),
    ("100E", "100E"),
    ("10E", "10E"),
    ("1.0E", "1E"),
    ("1000000000000000000", "1E"),
    ("10.0E", "10E"),
    ("9999999999999999999000m", "9999999999999999999"),
    ("999999999999999999.1", "999999999999999999100m"),
    ("10.0000000000000000001E", "10000000000000000000100m"),
    ("9223372036854775807.1", "9223372036854775807100m"),
    ("9223372036854775808", "9223372036854775808"),
    ("18446744073709551616", "18446744073709551616"),
    ("8Ei", "9223372036854775807"),
    ("9Ei", "9223372036854775807"),
    ("4Ei", "4Ei"),
    ("-9.5Gi", "-9728Mi"),
    ("-9.5000000001Gi", "-10200547328107374183n"),
    ("1.3E+6", "1300e3"),
    ("12e6", "12e6"),
    ("-1000", "-1k"),
    ("0Mi", "0"),
    ("-0", "0"),
    # spellings upstream's String() echoes verbatim; their canonical form is this
    ("+1", "1"),
    ("1.", "1"),
    ("01", "1"),
    ("1E3", "1e3"),
    ("1e0", "1"),
    ("1e+21", "1e21"),
    ("+1Ki", "1Ki"),
]


@pytest.mark.parametrize(
    ("text", "expected"), CANONICAL_PARSED, ids=[r[0] for r in CANONICAL_PARSED]
)
def test_canonical_of_parsed_quantities(text: str, expected: str) -> None:
    parsed = q(text)
    assert parsed.canonical() == expected
    assert str(parsed) == expected
    # printing and parsing again changes neither the value nor the text
    assert q(expected).value == parsed.value
    assert q(expected).canonical() == expected
    if parsed.value != 0:
        assert q("-" + text.lstrip("+-")).canonical() == "-" + expected.lstrip("-")


def test_canonical_handles_numbers_longer_than_pythons_str_limit() -> None:
    huge = Quantity(Fraction(10**5000 + 1))
    assert huge.canonical() == "1" + "0" * 4999 + "1"
    assert Quantity(Fraction(10**6000)).canonical() == "1e6000"


# --- Value() and MilliValue() ---------------------------------------------------------------

# (text, Value(), MilliValue())
ROUNDING: list[tuple[str, int, int]] = [
    ("3001m", 4, 3001),
    ("0.1Ki", 103, 102400),
    ("1", 1, 1000),
    ("0", 0, 0),
    ("100m", 1, 100),
    ("1.0001", 2, 1001),
    ("1.5", 2, 1500),
    ("9.01", 10, 9010),
    ("1n", 1, 1),
    ("1u", 1, 1),
    ("1m", 1, 1),
    ("999m", 1, 999),
    ("1001m", 2, 1001),
    ("1.0000001", 2, 1001),
    ("1Gi", 2**30, 2**30 * 1000),
    ("1.5Gi", 1610612736, 1610612736000),
    ("2.5", 3, 2500),
    ("0.5", 1, 500),
    ("1e-3", 1, 1),
    ("1e3", 1000, 1000000),
    # negative values round away from zero
    ("-1.5", -2, -1500),
    ("-0.1", -1, -100),
    ("-9.01", -10, -9010),
    ("-1n", -1, -1),
    ("-0.3Ki", -308, -307200),
    ("-9.5Gi", -10200547328, -10200547328000),
    ("-9.5000000001Gi", -10200547329, -10200547328108),
    # saturation at the int64 limits
    ("1E", 10**18, INT64_MAX),
    ("9223372036854775807", INT64_MAX, INT64_MAX),
    ("9223372036854775808", INT64_MAX, INT64_MAX),
    ("18446744073709551616", INT64_MAX, INT64_MAX),
    ("100E", INT64_MAX, INT64_MAX),
    ("1e100", INT64_MAX, INT64_MAX),
    ("8Ei", INT64_MAX, INT64_MAX),
    ("-8Ei", -INT64_MAX, INT64_MIN),
    ("-20Ei", -INT64_MAX, INT64_MIN),
    ("-9223372036854775808", INT64_MIN, INT64_MIN),
    ("-9223372036854775807", INT64_MIN + 1, INT64_MIN),
    ("-1e30", INT64_MIN, INT64_MIN),
    ("-1000E", INT64_MIN, INT64_MIN),
    ("9223372036854775807m", 9223372036854776, INT64_MAX),
    ("-9223372036854775808m", -9223372036854776, INT64_MIN),
    ("9223372036854775808m", 9223372036854776, INT64_MAX),
]


@pytest.mark.parametrize(("text", "units", "millis"), ROUNDING, ids=[r[0] for r in ROUNDING])
def test_value_and_milli_value_round_away_from_zero(text: str, units: int, millis: int) -> None:
    parsed = q(text)
    assert parsed.value_rounded_up() == units
    assert parsed.milli_value() == millis
    assert to_units(parsed.value) == units
    assert to_milli(parsed.value) == millis


def test_rounding_functions_take_any_fraction() -> None:
    assert to_units(Fraction(1, 3)) == 1
    assert to_milli(Fraction(1, 3)) == 334
    assert to_units(Fraction(-1, 3)) == -1
    assert to_milli(Fraction(-1, 3)) == -334
    assert to_units(Fraction(7)) == 7
    assert to_milli(Fraction(0)) == 0


# --- arithmetic and comparison --------------------------------------------------------------

# (left, right, value of the sum, format of the sum): upstream's TestAdd plus format rules.
ADD: list[tuple[Quantity, Quantity, str, Format]] = [
    (Quantity(Fraction(10), D), Quantity(Fraction(10), D), "20", D),
    (Quantity(Fraction(10), D), Quantity(Fraction(1), B), "11", D),
    (Quantity(Fraction(10), B), Quantity(Fraction(1), D), "11", B),
    (Quantity(Fraction(0), D), Quantity(Fraction(50), D), "50", D),
    (Quantity(Fraction(50), D), Quantity(Fraction(0), D), "50", D),
    (Quantity(Fraction(0), D), Quantity(Fraction(0), D), "0", D),
    (Quantity(Fraction(0), D), Quantity(Fraction(2**30), B), str(2**30), B),
    (q("100m"), q("0"), "0.1", D),
    (q("0"), q("100m"), "0.1", D),
    (q("1Gi"), q("0"), str(2**30), B),
    (q("0"), q("1Gi"), str(2**30), B),
    (q("1.5"), q("1e3"), "1001.5", D),
    (q("1e3"), q("1.5"), "1001.5", X),
    (q(str(INT64_MAX)), q(str(INT64_MAX)), str(2 * INT64_MAX), D),
]


@pytest.mark.parametrize(("left", "right", "total", "fmt"), ADD)
def test_add(left: Quantity, right: Quantity, total: str, fmt: Format) -> None:
    got = left + right
    assert got.value == Fraction(total)
    assert got.format is fmt


# (left, right, difference, format): upstream's TestSub plus format rules.
SUB: list[tuple[Quantity, Quantity, str, Format]] = [
    (Quantity(Fraction(10), D), Quantity(Fraction(10), D), "0", D),
    (Quantity(Fraction(10), D), Quantity(Fraction(1), B), "9", D),
    (Quantity(Fraction(10), B), Quantity(Fraction(1), D), "9", B),
    (Quantity(Fraction(0), D), Quantity(Fraction(50), D), "-50", D),
    (Quantity(Fraction(50), D), Quantity(Fraction(0), D), "50", D),
    (Quantity(Fraction(0), D), Quantity(Fraction(0), D), "0", D),
    (q("0"), q("1Gi"), str(-(2**30)), B),
    (q("100m"), q("0"), "0.1", D),
    (q(str(INT64_MIN)), q("1"), str(INT64_MIN - 1), D),
    (q("0"), Quantity(Fraction(INT64_MIN), D), str(2**63), D),
]


@pytest.mark.parametrize(("left", "right", "difference", "fmt"), SUB)
def test_sub(left: Quantity, right: Quantity, difference: str, fmt: Format) -> None:
    got = left - right
    assert got.value == Fraction(difference)
    assert got.format is fmt


def test_adding_or_subtracting_zero_keeps_the_printed_form() -> None:
    for text in ("100m", "1Gi"):
        value, zero = q(text), q("0")
        assert (value + zero).canonical() == text
        assert (zero + value).canonical() == text
        assert (value - zero).canonical() == text
        assert (zero - value).canonical() == (-value).canonical() == "-" + text


def test_zero_minus_two_to_the_63_prints_as_8ei() -> None:
    assert (q("0") - Quantity(Fraction(INT64_MIN), B)).canonical() == "8Ei"


# (left, right, Cmp)
COMPARE: list[tuple[str, str, int]] = [
    ("0", "0", 0),
    ("100m", "50m", 1),
    ("50m", "100m", -1),
    ("10000T", "100Gi", 1),
    ("1k", "1000", 0),
    ("1Ki", "1k", 1),
    ("1e3", "1k", 0),
    ("-1", "0", -1),
    ("1n", "0", 1),
    ("-1n", "0", -1),
    ("9.01", "9.01", 0),
    ("9.0", "9.01", -1),
    ("9.01", "9.00", 1),
    ("800m", "1", -1),
    ("800m", "0.79", 1),
    ("9223372036854775807", "0.1", 1),
    ("92233720368547758070", "1", 1),
    ("922.3372036854775807", "1k", -1),
    ("-9223372036854775808", "0", -1),
    ("-9.223372036854775808", "-1", -1),
    ("-0.9223372036854775808", "-1", 1),
    ("10.000000001", "10", 1),
    ("9.999999999", "10", -1),
    ("9.9999999999", "10", 0),  # rounded up to the nano when parsed
    ("999999999999999999999", "1E", 1),
    ("8Ei", "9Ei", 0),  # both capped
]


@pytest.mark.parametrize(("left", "right", "order"), COMPARE)
def test_compare(left: str, right: str, order: int) -> None:
    a, b = q(left), q(right)
    assert a.compare(b) == order
    assert b.compare(a) == -order
    assert (a < b) == (order < 0)
    assert (a <= b) == (order <= 0)
    assert (a > b) == (order > 0)
    assert (a >= b) == (order >= 0)
    assert (a == b) == (order == 0)
    assert (a != b) == (order != 0)


def test_equal_values_are_equal_and_hash_alike_whatever_the_format() -> None:
    assert q("1k") == q("1000") == q("1e3")
    assert len({q("1k"), q("1000"), q("1e3"), q("1Ki")}) == 2
    assert q("1k") != "1k"
    assert q("1k") != Fraction(1000)


def test_comparing_with_something_else_fails() -> None:
    with pytest.raises(TypeError):
        _ = q("1") < 2  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = q("1") + 2  # type: ignore[operator]


def test_construction_checks_types_and_takes_ints() -> None:
    assert Quantity(5).value == Fraction(5)  # type: ignore[arg-type]
    assert isinstance(Quantity(5).value, Fraction)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Quantity(0.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Quantity(True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Quantity(Fraction(1), "DecimalSI")  # type: ignore[arg-type]
    assert Quantity(Fraction(1)).format is D


# --- YAML values ----------------------------------------------------------------------------

YAML_VALUES: list[tuple[object, str, str]] = [
    (2, "2", "2"),
    (0, "0", "0"),
    (-3, "-3", "-3"),
    (1000, "1000", "1k"),
    (0.5, "0.5", "500m"),
    (1.5, "1.5", "1500m"),
    (0.1, "0.1", "100m"),
    (2.0, "2", "2"),
    (1e-05, "1e-5", "10e-6"),
    (1e20, "1e20", "100e18"),
    (10**30, "1e30", "1e30"),
    ("500m", "0.5", "500m"),
    (" 1", "1", "1"),
    ("1Gi\n", str(2**30), "1Gi"),
    ("\t250m ", "0.25", "250m"),
    ("\u00a01k\u3000", "1000", "1k"),
]


@pytest.mark.parametrize(
    ("raw", "exact", "canonical"), YAML_VALUES, ids=[repr(r[0]) for r in YAML_VALUES]
)
def test_quantity_from_yaml(raw: object, exact: str, canonical: str) -> None:
    got = quantity_from_yaml(raw)
    assert got.value == Fraction(exact)
    assert got.canonical() == canonical


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (True, "expected a quantity string or number, got bool"),
        (False, "expected a quantity string or number, got bool"),
        (None, "expected a quantity string or number, got null"),
        ([1], "expected a quantity string or number, got list"),
        ({"a": 1}, "expected a quantity string or number, got dict"),
        (float("inf"), "inf is not a valid quantity: it is not a finite number"),
        (float("nan"), "nan is not a valid quantity: it is not a finite number"),
        ("", "it is empty"),
        ("   ", "it is empty"),
        ("1K", "unknown suffix"),
        ("1 Gi", "whitespace is not allowed"),
    ],
)
def test_quantity_from_yaml_rejects(raw: object, message: str) -> None:
    with pytest.raises(QuantityError) as caught:
        quantity_from_yaml(raw)
    assert message in str(caught.value)
    assert not str(caught.value).startswith("podfit")


def test_yaml_integers_longer_than_pythons_str_limit() -> None:
    with pytest.raises(QuantityError, match="podfit keeps quantities exact"):
        quantity_from_yaml(10**4500)
    big = 10**3000 + 7
    assert quantity_from_yaml(big).value == big
    assert quantity_from_yaml(-big).value == -big


# --- the spec file --------------------------------------------------------------------------


def _spec() -> dict[str, Any]:
    data = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _spec_examples() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{rule['id']}: {example['description']}", example)
        for rule in _spec()["rules"]
        for example in rule["examples"]
    ]


def test_spec_file_is_valid_and_well_formed() -> None:
    data = _spec()
    jsonschema.validate(data, json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    assert data["area"] == "quantity"
    rules = data["rules"]
    assert 5 <= len(rules) <= 8
    ids = [rule["id"] for rule in rules]
    assert len(set(ids)) == len(ids)
    for rule in rules:
        assert rule["id"].startswith("quantity.")
        assert rule["plugin"] == "Quantity"
        assert rule["point"] == "parsing"
        assert 4 <= len(rule["examples"]) <= 15
        descriptions = [example["description"] for example in rule["examples"]]
        assert len(set(descriptions)) == len(descriptions), rule["id"]


def _outcome(raw: object) -> dict[str, Any]:
    try:
        got = quantity_from_yaml(raw)
    except QuantityError:
        return {"error": True}
    value = got.value
    return {
        "exact": str(value.numerator)
        if value.denominator == 1
        else f"{value.numerator}/{value.denominator}",
        "value": got.value_rounded_up(),
        "milli_value": got.milli_value(),
        "canonical": got.canonical(),
    }


@pytest.mark.parametrize(
    ("name", "example"), _spec_examples(), ids=[e[0] for e in _spec_examples()]
)
def test_spec_example(name: str, example: dict[str, Any]) -> None:
    assert example["case"] == "quantity"
    outcome = _outcome(example["given"]["quantity"])
    expect = example["expect"]
    if expect.get("error"):
        assert outcome == {"error": True}, name
        assert set(expect) == {"error"}
    else:
        assert "error" not in outcome, name
        assert {key: outcome[key] for key in expect} == expect, name


# --- properties -----------------------------------------------------------------------------

_DECIMAL_MULTIPLIERS = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_BINARY_MULTIPLIERS = {
    s: Fraction(2**p)
    for s, p in zip(["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"], range(10, 70, 10), strict=True)
}


@st.composite
def quantity_texts(draw: st.DrawFn) -> str:
    sign = draw(st.sampled_from(["", "+", "-"]))
    whole = draw(st.text("0123456789", max_size=22))
    dot = draw(st.booleans())
    fraction = draw(st.text("0123456789", max_size=14)) if dot else ""
    assume(whole or fraction)
    kind = draw(st.sampled_from(["decimal", "binary", "exponent"]))
    if kind == "decimal":
        suffix = draw(st.sampled_from(sorted(_DECIMAL_MULTIPLIERS)))
    elif kind == "binary":
        suffix = draw(st.sampled_from(sorted(_BINARY_MULTIPLIERS)))
    else:
        letter = draw(st.sampled_from(["e", "E"]))
        exponent_sign = draw(st.sampled_from(["", "+", "-"]))
        suffix = letter + exponent_sign + str(draw(st.integers(0, 40)))
    return sign + whole + ("." if dot else "") + fraction + suffix


def _oracle(text: str) -> tuple[Fraction, Format]:
    """The expected reading of a well-formed quantity, computed a different way."""
    for suffix in _BINARY_MULTIPLIERS:
        if text.endswith(suffix):
            number, fmt, multiplier = text[: -len(suffix)], B, _BINARY_MULTIPLIERS[suffix]
            break
    else:
        for marker in ("e", "E"):
            if marker in text[1:] and text[text.index(marker, 1) + 1 :].lstrip("+-").isdigit():
                at = text.index(marker, 1)
                number, fmt = text[:at], X
                multiplier = Fraction(10) ** int(text[at + 1 :])
                break
        else:
            suffix = text.lstrip("+-0123456789.")
            number, fmt, multiplier = (
                text[: len(text) - len(suffix)],
                D,
                _DECIMAL_MULTIPLIERS[suffix],
            )
    body = number.lstrip("+-")
    if body.startswith("."):
        body = "0" + body
    if body.endswith("."):
        body += "0"
    value = Fraction(body) * multiplier
    if value * 10**9 != int(value * 10**9):
        value = Fraction(int(value * 10**9) + 1, 10**9)
    if fmt is B:
        value = min(value, Fraction(INT64_MAX))
        if 0 < value < 1:
            fmt = D
    return (-value if number.startswith("-") else value), fmt


@given(quantity_texts())
def test_parsing_agrees_with_an_independent_oracle(text: str) -> None:
    parsed = q(text)
    assert (parsed.value, parsed.format) == _oracle(text)


def _assert_printing_settles(quantity: Quantity, printed: str) -> None:
    """Printing a reparsed quantity gives the same text, except after a binary one.

    A binary quantity that is no multiple of 1024 prints without a suffix ("187.5Ki" is
    "192000"), which reads back as a decimal quantity and then prints as "192k". The value
    never changes, and the second printing is final.
    """
    reprinted = q(printed).canonical()
    if quantity.format is not B:
        assert reprinted == printed
    assert q(reprinted).canonical() == reprinted


def test_a_binary_quantity_without_a_binary_suffix_reprints_in_decimal() -> None:
    assert q("187.5Ki").canonical() == "192000"
    assert q("192000").canonical() == "192k"
    assert q("187.5Ki").value == q("192k").value


@given(quantity_texts())
def test_canonical_round_trips(text: str) -> None:
    parsed = q(text)
    printed = parsed.canonical()
    again = q(printed)
    assert again.value == parsed.value
    _assert_printing_settles(parsed, printed)


_nano_values = st.integers(min_value=-(10**30), max_value=10**30).map(lambda n: Fraction(n, 10**9))


@st.composite
def built_quantities(draw: st.DrawFn) -> Quantity:
    fmt = draw(st.sampled_from(list(Format)))
    if fmt is B:
        value = draw(
            st.one_of(
                st.integers(-INT64_MAX, INT64_MAX).map(Fraction),
                st.integers(-(2**32), 2**32).map(lambda n: Fraction(n * 1024**3)),
                st.integers(-(10**27), 10**27).map(lambda n: Fraction(n, 10**9)),
            )
        )
    else:
        value = draw(_nano_values)
    return Quantity(value, fmt)


@given(built_quantities())
def test_canonical_of_any_nano_multiple_round_trips(quantity: Quantity) -> None:
    printed = quantity.canonical()
    assert q(printed).value == quantity.value
    _assert_printing_settles(quantity, printed)
    assert " " not in printed and "." not in printed


@given(built_quantities(), built_quantities())
def test_ordering_agrees_with_fraction_ordering(a: Quantity, b: Quantity) -> None:
    assert (a < b) == (a.value < b.value)
    assert (a <= b) == (a.value <= b.value)
    assert (a > b) == (a.value > b.value)
    assert (a == b) == (a.value == b.value)
    assert a.compare(b) == (a.value > b.value) - (a.value < b.value)
    assert sorted([a, b]) == sorted([b, a])
    assert [x.value for x in sorted([a, b])] == sorted([a.value, b.value])


@given(built_quantities(), built_quantities())
def test_arithmetic_is_exact(a: Quantity, b: Quantity) -> None:
    assert (a + b).value == a.value + b.value
    assert (a - b).value == a.value - b.value
    assert (a + b).format is (b.format if a.value == 0 else a.format)


@given(st.fractions(min_value=0, max_value=10**14))
def test_rounded_values_are_never_below_the_exact_value(value: Fraction) -> None:
    quantity = Quantity(value)
    assert quantity.milli_value() >= 1000 * value
    assert quantity.milli_value() - 1000 * value < 1
    assert quantity.value_rounded_up() >= value
    assert quantity.value_rounded_up() - value < 1
    assert to_milli(-value) == -quantity.milli_value()
    assert to_units(-value) == -quantity.value_rounded_up()


@given(st.fractions(min_value=-(10**25), max_value=10**25))
def test_rounded_values_saturate_at_int64(value: Fraction) -> None:
    assert INT64_MIN <= to_units(value) <= INT64_MAX
    assert INT64_MIN <= to_milli(value) <= INT64_MAX


@given(
    st.one_of(
        st.integers(-(10**20), 10**20), st.floats(allow_nan=False, allow_infinity=False, width=64)
    )
)
def test_yaml_numbers_read_as_their_decimal_spelling(raw: int | float) -> None:
    expected = Fraction(raw) if isinstance(raw, int) else Fraction(repr(raw))
    got = quantity_from_yaml(raw).value
    if expected * 10**9 == int(expected * 10**9):
        assert got == expected
    else:
        assert abs(got - expected) < Fraction(1, 10**9)
        assert abs(got) > abs(expected)
