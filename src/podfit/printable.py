"""Text that came from input, made safe to show: one line, escaped, bounded.

Object names, label values, a scheduler's stderr or its reasons can hold newlines, terminal
escape sequences or megabytes. Whatever podfit prints or writes into a file header goes
through these functions first, so a message stays one line of bounded length, and the work
of formatting a value is bounded too (``repr`` of an alias bomb is not).
"""

from __future__ import annotations

import itertools
import reprlib
from typing import Any

#: Characters of input shown in one message before it is cut.
TEXT_LIMIT = 200
#: Characters of a value's ``repr`` shown in a message.
VALUE_LIMIT = 80


def _escape(text: str, quote: str = "") -> str:
    """Every character that is not printable (controls, escape sequences, bidi overrides,
    line and paragraph separators) as its Python escape. With ``quote``, that character and
    the backslash are escaped too (Go's ``%q``); otherwise text already escaped is left as
    it is, so escaping twice changes nothing."""
    special = "\\" + quote if quote else ""
    if text.isprintable() and not any(c in text for c in special):
        return text
    out = []
    for ch in text:
        if ch in special:
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def one_line(text: str, limit: int = TEXT_LIMIT) -> str:
    """``text`` as one line of at most about ``limit`` characters: non-printable characters
    escaped (a newline reads ``\\n``), the rest cut with a note of the full length."""
    if len(text) <= limit:
        return _escape(text)
    return f"{_escape(text[:limit])}... ({len(text)} characters)"


def lines(text: str, *, max_lines: int = 15, limit: int = TEXT_LIMIT) -> list[str]:
    """The last ``max_lines`` lines of ``text``, each made one safe line (a scheduler's
    stderr, say); the work is bounded by what is kept, not by ``text``."""
    kept = text[-(max_lines + 1) * (limit + 1) :].splitlines()[-max_lines:]
    return [one_line(line.rstrip(), limit) for line in kept]


def go_quoted(text: str, limit: int = TEXT_LIMIT) -> str:
    """``"text"`` the way the API server quotes a value in its messages (Go's ``%q``),
    escaped and cut like :func:`one_line`."""
    quoted = _escape(text[:limit], '"')
    more = f"... ({len(text)} characters)" if len(text) > limit else ""
    return f'"{quoted}"{more}'


class _BoundedRepr(reprlib.Repr):
    """``reprlib`` with the size of every level bounded and no sorting of whole mappings."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = 3
        self.maxdict = 4
        self.maxlist = 4
        self.maxtuple = 4
        self.maxset = 4
        self.maxstring = VALUE_LIMIT
        self.maxother = VALUE_LIMIT
        self.maxlong = 40

    def repr_int(self, x: int, level: int) -> str:
        # repr() of an int beyond sys.get_int_max_str_digits() raises; say what it is.
        if x.bit_length() > 128:
            return f"(an integer of {x.bit_length()} bits)"
        return super().repr_int(x, level)

    def repr_dict(self, x: dict[Any, Any], level: int) -> str:
        if not x:
            return "{}"
        if level <= 0:
            return "{...}"
        shown = [
            f"{self.repr1(k, level - 1)}: {self.repr1(v, level - 1)}"
            for k, v in itertools.islice(x.items(), self.maxdict)
        ]
        more = ", ..." if len(x) > self.maxdict else ""
        return "{" + ", ".join(shown) + more + "}"


_REPR = _BoundedRepr()


def shown(value: object, limit: int = VALUE_LIMIT) -> str:
    """A short ``repr`` of any value from input: bounded in length and in the work it
    takes (nested and aliased structures are cut at a few levels and items), one line."""
    try:
        text = _REPR.repr(value)
    except (ValueError, RecursionError):
        return f"(a {type(value).__name__})"
    if not text.isprintable():  # repr escapes what it shows; a foreign __repr__ may not
        text = _escape(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"
