"""One shape for finding messages: a summary line, then ``Expected:`` and ``Received:``.

    The first delta of choice 0 has no role.
    Expected: role='assistant'
    Received: role='user'

Why one helper: a reader (and a CI log grep) finds what was wanted and what arrived at the
same place in every finding, and the values in them come from the endpoint, so they are
shown the same safe way everywhere:

- a value is its ``repr`` (as ``_util.show``), so control characters, newlines, bidi
  controls and line separators are escapes, never raw: endpoint text cannot forge a line
  of the message or of a terminal;
- a long value is cut, and the cut is stated (``[cut: 80 of 12,345 characters shown]``),
  so a reader never takes a prefix for the whole;
- the work is bounded by the limit, not by the value: a 100 MB string or a list of a
  million entries costs what 80 characters cost.

The phrases a rule writes itself (summary, expected, received) are kept to one line each:
a character that is not printable is escaped there too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final

__all__ = ["LIMIT", "LINE_LIMIT", "expected_received", "named", "one_line", "shown"]

LIMIT: Final = 80  # characters of one shown value, as _util.show
LINE_LIMIT: Final = 400  # characters of one line of a message: a finding is read in a terminal


def shown(value: object, limit: int = LIMIT) -> str:
    """``repr(value)``, cut to ``limit`` characters with the cut stated.

    Strings and bytes state how many of their characters (bytes) the shown part holds;
    other values state where the text was cut. Equal to ``repr(value)`` whenever that fits.
    """
    if limit < 8:
        raise ValueError("a limit under 8 characters shows nothing useful")
    if isinstance(value, (str, bytes)):
        head = repr(value[:limit])  # escapes make the repr longer, never shorter
        if len(value) <= limit and len(head) <= limit:
            return head
        kept = _kept(value, limit - 3)
        unit = "characters" if isinstance(value, str) else "bytes"
        return f"{repr(value[:kept])[:-1]}... [cut: {kept:,} of {len(value):,} {unit} shown]"
    pieces: list[str] = []
    size = 0
    for piece in _repr_pieces(value, limit):
        pieces.append(piece)
        size += len(piece)
        if size > limit:
            return "".join(pieces)[: limit - 3] + f"... [cut at {limit} characters]"
    return "".join(pieces)


def _kept(value: str | bytes, room: int) -> int:
    """The longest prefix of ``value`` whose repr, but its closing quote, fits in ``room``
    characters: the shown part never ends inside an escape."""
    lo, hi = 0, min(room, len(value))  # each character adds at least one to the repr
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(repr(value[:mid])) - 1 <= room:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _repr_pieces(value: object, budget: int) -> Iterator[str]:
    """``repr(value)`` in pieces, lazily, for the JSON-like values rules show: the caller
    stops once it has enough, so a huge container costs only its shown part."""
    kind = type(value)  # exact types: a subclass's repr may differ
    if kind is dict:
        assert isinstance(value, dict)
        yield "{"
        for n, (key, item) in enumerate(value.items()):
            if n:
                yield ", "
            yield from _repr_pieces(key, budget)
            yield ": "
            yield from _repr_pieces(item, budget)
        yield "}"
    elif kind is list or kind is tuple:
        assert isinstance(value, (list, tuple))
        opening, closing = ("[", "]") if kind is list else ("(", ")")
        yield opening
        for n, item in enumerate(value):
            if n:
                yield ", "
            yield from _repr_pieces(item, budget)
        if kind is tuple and len(value) == 1:
            yield ","
        yield closing
    elif isinstance(value, (str, bytes)):
        # a prefix one longer than the budget already overflows it: the caller cuts there
        yield repr(value[: budget + 1])
    else:
        yield repr(value)


def named(name: str, value: object, limit: int = LIMIT) -> str:
    """``name=value`` with the value shown (style: values written ``name=value!r``)."""
    return f"{name}={shown(value, limit)}"


def one_line(text: str, limit: int = LINE_LIMIT) -> str:
    """``text`` as one line: what is not printable is escaped, a long line cut with the cut stated."""
    if len(text) <= limit:
        line = _escape(text)
        if len(line) <= limit:
            return line
    room, pieces, size = limit - 3, [], 0
    for ch in text[:room]:
        piece = _escape(ch)
        if size + len(piece) > room:
            break
        pieces.append(piece)
        size += len(piece)
    return f"{''.join(pieces)}... [cut: {len(pieces):,} of {len(text):,} characters shown]"


def _escape(text: str) -> str:
    """Every character that is not printable (newlines, controls, bidi marks) as its escape."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def expected_received(summary: str, *, expected: str, received: str | Mapping[str, object]) -> str:
    """The message of a finding: ``summary``, then what the spec wants, then what arrived.

    ``expected`` and ``received`` are phrases the rule writes (use ``named``/``shown`` for the
    endpoint's values in them); ``received`` may also be a mapping of names to raw values,
    shown as ``name=value, ...``.
    """
    if isinstance(received, Mapping):
        received = ", ".join(named(name, value) for name, value in received.items())
    return "\n".join(
        (one_line(summary), "Expected: " + one_line(expected), "Received: " + one_line(received))
    )
