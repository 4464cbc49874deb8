"""Text from input shown safely: one line, escaped, bounded, whatever it holds; and the
messages built from it (object names with newlines, escape sequences, megabyte names)."""

from __future__ import annotations

import io

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import podfit
from podfit.cli import cli
from podfit.errors import ManifestError
from podfit.printable import go_quoted, one_line, shown

ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=600)
HOSTILE = st.lists(
    st.sampled_from(["\n", "\r", "\x1b", "[2J", "\u202e", "\u2028", "\x00", "\\", '"', "a", "é"]),
    max_size=100,
).map("".join)


@settings(max_examples=300)
@given(text=ANY_TEXT | HOSTILE, limit=st.integers(1, 300))
def test_one_line_is_one_printable_bounded_line(text: str, limit: int) -> None:
    out = one_line(text, limit)
    assert out.isprintable()
    assert len(out) <= 4 * limit + 40  # each kept character escapes to at most \uXXXX
    if len(text) <= limit and text.isprintable():
        assert out == text


@settings(max_examples=200)
@given(text=ANY_TEXT | HOSTILE)
def test_escaping_twice_changes_nothing(text: str) -> None:
    once = one_line(text, 10_000)
    assert one_line(once, 10_000) == once


@settings(max_examples=200)
@given(text=ANY_TEXT | HOSTILE)
def test_go_quoted_reads_back(text: str) -> None:
    quoted = go_quoted(text, 10_000)
    assert quoted.isprintable() and quoted.startswith('"') and quoted.endswith('"')
    # The body un-escapes to the text, as Go's strconv.Unquote would.
    assert quoted[1:-1].encode("ascii", "backslashreplace").decode("unicode_escape") == text


nested = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=50),
    lambda inner: (
        st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=5), inner, max_size=6)
    ),
    max_leaves=60,
)


@settings(max_examples=200)
@given(value=nested)
def test_shown_is_bounded_for_any_value(value: object) -> None:
    out = shown(value)
    assert out.isprintable() and len(out) <= 140


def test_shown_of_an_aliased_structure_is_bounded_in_work() -> None:
    # 10**40 leaves if walked in full; shown looks at a few per level.
    value: list[object] = ["x"] * 10
    for _ in range(40):
        value = [value] * 10
    assert len(shown(value)) <= 140
    assert "bits" in shown(10**5000)


# --- messages ---------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(name=HOSTILE.filter(bool))
def test_an_object_name_never_breaks_the_error_line(name: str) -> None:
    import json

    doc = json.dumps({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
    try:
        podfit.load(io.StringIO(doc))
    except ManifestError as exc:
        text = str(exc)
        assert text.isprintable() and len(text) < 2000
    else:  # only a valid name loads
        assert name == name.lower() and name.isascii()


def test_a_megabyte_name_is_cut_in_the_cli_message() -> None:
    doc = '{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "' + "N" * 1_000_000 + '"}}'
    result = CliRunner().invoke(cli, ["validate", "-f", "-"], input=doc)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert len(result.stderr) < 2200 and "characters)" in result.stderr


def test_escape_sequences_in_a_file_name_are_shown_escaped() -> None:
    result = CliRunner().invoke(cli, ["validate", "-f", "no\x1b[2Jsuch\nfile"])
    assert result.exit_code == 2
    assert "\x1b" not in result.stderr and "\\x1b[2J" in result.stderr
    assert result.stderr.count("\n") == 1
