"""Tests for `conformance.sse`, the sans-I/O WHATWG event-stream parser (HTML 9.2.5/9.2.6).

The parser is the base of every framing verdict (`sse.done`, `compat.no-dataless-blocks`, ...),
so it is pinned three ways:

- a table of framing vectors (`tests/data/whatwg_vectors.json`): web-platform-tests eventsource
  cases transcribed as data (each cites its source path) plus cases from shared/spec;
- chunk invariance: every vector gives the same parse whole, one byte per `feed()` and at
  hypothesis-chosen split points, because real bodies arrive in arbitrary network pieces;
- properties: random bytes in random pieces never raise and parse as the whole body does, and
  agree with a small line-by-line reference model written from the spec text.
"""

from __future__ import annotations

import json
import re
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings, strategies as st

from conformance.sse import MAX_LINE, Block, Event, SSEParser, parse

DATA_FILE = Path(__file__).parent / "data" / "whatwg_vectors.json"
BOM = b"\xef\xbb\xbf"


# --------------------------------------------------------------------------------------------
# vectors
# --------------------------------------------------------------------------------------------

def _load_vectors() -> list[dict[str, Any]]:
    with DATA_FILE.open(encoding="utf-8") as f:
        return json.load(f)["vectors"]


def body_of(vector: dict[str, Any]) -> bytes:
    """The raw body bytes of a vector (`body` is UTF-8 text or a list of parts, `body_hex` hex)."""
    if "body_hex" in vector:
        return bytes.fromhex(vector["body_hex"])
    body = vector["body"]
    if isinstance(body, list):
        body = "".join(p if isinstance(p, str) else p["repeat"] * p["times"] for p in body)
    return body.encode("utf-8")


VECTORS = _load_vectors()
VECTOR_IDS = [v["id"] for v in VECTORS]


def test_vector_table_is_well_formed() -> None:
    """Every vector has a unique id, a reason and a cited source, so a failure can be traced."""
    assert len(set(VECTOR_IDS)) == len(VECTOR_IDS)
    assert sum(1 for v in VECTORS if v["id"].startswith("wpt-")) >= 20
    for v in VECTORS:
        assert v["why"] and v["sources"], v["id"]
        for s in v["sources"]:
            assert ("repo" in s and "path" in s) or "spec" in s, v["id"]
            if v["id"].startswith("wpt-") and "path" in s:
                assert "eventsource/" in s["path"], v["id"]


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

class Snapshot(NamedTuple):
    """Everything a parse reports, events without `time` (which depends on how bytes were fed)."""

    events: list[Event]
    skipped: list[Block]
    discarded: Block | None
    oversized: list[tuple[int, int]]
    bom: bool


def snapshot(p: SSEParser) -> Snapshot:
    return Snapshot(
        events=[e._replace(time=None) for e in p.events],
        skipped=list(p.skipped),
        discarded=p.discarded,
        oversized=[tuple(o) for o in p.oversized],  # type: ignore[misc]
        bom=p.bom,
    )


def pieces_at(body: bytes, cuts: Sequence[int]) -> list[bytes]:
    """Split `body` at the sorted `cuts` (duplicates give empty pieces, which must be harmless)."""
    bounds = [0, *sorted(cuts), len(body)]
    return [body[a:b] for a, b in zip(bounds, bounds[1:])]


def feed_pieces(pieces: Sequence[bytes], max_line: int = MAX_LINE) -> SSEParser:
    """Feed `pieces` with t = piece number, close, and check the returned events and `time`s.

    - what feed() and close() return, concatenated, is exactly `parser.events`, indexed 0..n-1;
    - an event's `time` is the t of the feed holding the first byte of its dispatching blank
      line's ending (`end` is where that blank line starts): the event is complete there, so
      a CR-framed stream is not held back waiting for a possible LF.
    """
    p = SSEParser(max_line=max_line)
    returned: list[Event] = []
    owner: list[int] = []  # owner[i] = number of the feed that carried body byte i
    for n, piece in enumerate(pieces):
        returned += p.feed(piece, float(n))
        owner += [n] * len(piece)
    returned += p.close()
    assert returned == p.events
    assert [e.index for e in p.events] == list(range(len(p.events)))
    for e in p.events:  # the first byte of the blank line's ending completes the event
        assert e.time == float(owner[e.end]), (e, owner[e.end])
    return p


def assert_split_invariant(body: bytes, cuts: Sequence[int], max_line: int = MAX_LINE) -> None:
    """The parse of `body` fed in pieces cut at `cuts` equals the parse of the whole body."""
    whole = parse(body, max_line=max_line)
    assert all(e.time is None for e in whole.events)
    split = feed_pieces(pieces_at(body, cuts), max_line=max_line)
    assert snapshot(split) == snapshot(whole), pieces_at(body, cuts)


def interesting_cuts(body: bytes) -> list[int]:
    """Cut points where splitting is most likely to break a parser: around CR/LF and the BOM."""
    points = {1, 2, 3}
    for i, b in enumerate(body):
        if b in b"\r\n":
            points.update((i, i + 1))
    return sorted(x for x in points if 0 <= x <= len(body))


def cut_lists(body: bytes, max_size: int = 12) -> st.SearchStrategy[list[int]]:
    n = len(body)
    point = st.integers(0, n)
    special = interesting_cuts(body)
    if special:
        point = st.one_of(point, st.sampled_from(special))
    return st.lists(point, max_size=max_size)


def expected_block(d: dict[str, Any]) -> Block:
    return Block(d["offset"], d["end"], frozenset(d["fields"]), d["after_id"])


# --------------------------------------------------------------------------------------------
# API shape
# --------------------------------------------------------------------------------------------

def test_public_types_have_the_documented_fields() -> None:
    """Rules and reports read these fields by name; a rename must fail here first."""
    assert Event._fields == ("index", "offset", "end", "data", "type", "last_id", "time")
    assert Block._fields == ("offset", "end", "fields", "after_id")
    assert isinstance(MAX_LINE, int) and MAX_LINE > 0


def test_parse_returns_a_closed_parser_with_its_events() -> None:
    """parse() = feed(whole) + close(): events are kept on the parser, times are None."""
    p = parse(b"data: a\n\ndata: b\n\n")
    assert isinstance(p, SSEParser)
    assert p.events == [
        Event(0, 0, 8, "a", "message", "", None),
        Event(1, 9, 17, "b", "message", "", None),
    ]
    assert p.skipped == [] and p.discarded is None and p.oversized == [] and p.bom is False


# --------------------------------------------------------------------------------------------
# the vector table
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_vector_whole_body(vector: dict[str, Any]) -> None:
    """The whole body parses to exactly the events and blocks the table lists."""
    p = parse(body_of(vector))
    want_events = [
        Event(i, e["offset"], e["end"], e["data"], e["type"], e["last_id"], None)
        for i, e in enumerate(vector["events"])
    ]
    assert p.events == want_events
    assert p.skipped == [expected_block(b) for b in vector["skipped"]]
    want_discarded = vector["discarded"]
    if want_discarded is None:
        assert p.discarded is None
    else:
        assert p.discarded is not None
        assert (p.discarded.offset, p.discarded.end) == (want_discarded["offset"], want_discarded["end"])
        if "fields" in want_discarded:
            assert p.discarded == expected_block(want_discarded)
    assert p.bom is vector["bom"]
    assert p.oversized == []


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
def test_vector_one_byte_per_feed(vector: dict[str, Any]) -> None:
    """One byte per feed(): the worst split, every CRLF and BOM and UTF-8 sequence cut apart."""
    body = body_of(vector)
    assert_split_invariant(body, range(1, len(body)))


@pytest.mark.parametrize("vector", VECTORS, ids=VECTOR_IDS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_vector_random_splits(vector: dict[str, Any], data: st.DataObject) -> None:
    """Hypothesis-chosen split points (biased to CR/LF and BOM boundaries) change nothing."""
    body = body_of(vector)
    assert_split_invariant(body, data.draw(cut_lists(body), label="cuts"))


# --------------------------------------------------------------------------------------------
# line endings across feeds
# --------------------------------------------------------------------------------------------

def test_crlf_split_across_feeds_is_one_line_ending() -> None:
    """A CR at the end of one read and its LF at the start of the next are ONE line ending:
    treating the LF as a second line would add a blank line (a spurious dispatch/empty block)."""
    p = feed_pieces([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"])
    assert snapshot(p) == Snapshot(
        events=[Event(0, 0, 18, "a\nb", "message", "", None)],
        skipped=[], discarded=None, oversized=[], bom=False,
    )


def test_cr_at_end_of_feed_then_more_data() -> None:
    """A CR ending a feed is a line ending even when the next feed does not start with LF."""
    p = feed_pieces([b"data: a\r", b"data: b\r", b"\r"])
    assert [e.data for e in p.events] == ["a\nb"]
    assert p.events[0].end == 16 and p.skipped == [] and p.discarded is None


def test_final_cr_is_a_complete_line_ending() -> None:
    """`data: x` LF CR at the very end: the CR is a blank line, so the event dispatches
    (eventsource-parser waits forever for an LF here; the suite must not)."""
    p = SSEParser()
    got = p.feed(b"data: x\n\r", 1.0)
    got += p.close()
    assert got == [Event(0, 0, 8, "x", "message", "", 1.0)]
    assert p.discarded is None and p.skipped == []


def test_close_returns_nothing_after_a_clean_body() -> None:
    """Normally every event comes out of feed(); close() only settles the end of the body."""
    p = SSEParser()
    assert [e.data for e in p.feed(b"data: a\n\n")] == ["a"]
    assert p.close() == []
    assert p.discarded is None


# --------------------------------------------------------------------------------------------
# time
# --------------------------------------------------------------------------------------------

def test_time_is_that_of_the_feed_that_completed_the_event() -> None:
    """Latency rules need the arrival time of the blank line, not of the event's first byte."""
    p = SSEParser()
    assert p.feed(b"data: a\n", 1.0) == []
    assert p.feed(b"\n", 2.0) == [Event(0, 0, 8, "a", "message", "", 2.0)]
    assert p.feed(b"data: b\n\nda", 3.0) == [Event(1, 9, 17, "b", "message", "", 3.0)]
    assert p.feed(b"ta: c\n\n", 4.5) == [Event(2, 18, 26, "c", "message", "", 4.5)]
    assert p.close() == []
    assert [e.time for e in p.events] == [2.0, 3.0, 4.5]


def test_time_is_none_when_fed_without_t() -> None:
    """Bodies loaded without timing still parse; time is simply unknown."""
    p = SSEParser()
    assert p.feed(b"data: a\n\n") == [Event(0, 0, 8, "a", "message", "", None)]


# --------------------------------------------------------------------------------------------
# BOM
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "pieces",
    [
        [b"\xef", b"\xbb\xbfdata: x\n\n"],
        [b"\xef\xbb", b"\xbfdata: x\n\n"],
        [b"\xef\xbb", b"\xbf", b"data: x\n\n"],
        [b"\xef", b"\xbb", b"\xbf", b"d", b"ata: x\n\n"],
        [b"", b"\xef\xbb\xbfdata: x\n\n"],
    ],
)
def test_bom_split_across_feeds_is_still_skipped(pieces: list[bytes]) -> None:
    """A leading BOM split over network reads is still stripped (WPT format-bom-split)."""
    p = feed_pieces(pieces)
    assert p.bom is True
    assert [e._replace(time=None) for e in p.events] == [Event(0, 3, 11, "x", "message", "", None)]
    assert p.skipped == []


def test_two_bytes_of_a_bom_are_not_a_bom() -> None:
    """0xEF 0xBB then `data` is no BOM: both bytes decode to U+FFFD and join the field name,
    so this block has an unknown field and nothing is dispatched."""
    p = feed_pieces([b"\xef", b"\xbbdata: x\n\n"])
    assert p.bom is False
    assert p.events == []
    assert p.skipped == [Block(0, 10, frozenset({"other"}), False)]


def test_only_one_bom_is_skipped_even_when_split() -> None:
    """A second BOM joins the first field name: `\\ufeffdata` is an unknown field."""
    body = BOM + BOM + b"data: x\n\ndata: y\n\n"
    p = feed_pieces([body[:2], body[2:4], body[4:]])
    assert p.bom is True
    assert [e.data for e in p.events] == ["y"]
    assert p.skipped == [Block(3, 14, frozenset({"other"}), False)]


def test_no_bom() -> None:
    """Without a BOM, `bom` is False and offsets start at 0."""
    p = parse(b"data: x\n\n")
    assert p.bom is False and p.events[0].offset == 0


# --------------------------------------------------------------------------------------------
# discarded trailing block
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "body",
    [b'data: {}\n\ndata: [DONE]', b'data: {}\n\ndata: [DONE]\n', b'data: {}\n\ndata: [DONE]\r'],
)
def test_done_without_blank_line_is_discarded(body: bytes) -> None:
    """`data: [DONE]` that no blank line ends is no event: sse.done must see it missing."""
    p = parse(body)
    assert [e.data for e in p.events] == ["{}"]
    assert p.discarded is not None
    assert (p.discarded.offset, p.discarded.end) == (10, len(body))
    if body.endswith((b"\n", b"\r")):
        assert p.discarded.fields == frozenset({"data"})


def test_body_ending_in_a_blank_line_has_nothing_discarded() -> None:
    """A clean end (after a blank line) leaves `discarded` None, even after skipped blocks."""
    p = parse(b"data: x\n\n: bye\n\n\n")
    assert p.discarded is None
    assert p.skipped == [Block(9, 15, frozenset({"comment"}), False), Block(16, 16, frozenset(), False)]


# --------------------------------------------------------------------------------------------
# dataless blocks (compat.no-dataless-blocks needs exactly this information)
# --------------------------------------------------------------------------------------------

def test_skipped_block_after_id_is_sticky() -> None:
    """`after_id` says a non-empty id had been seen: the OpenAI SDKs dispatch empty blocks from
    then on. Seen earlier in the stream, or in the block itself."""
    p = parse(b": c\n\nid: 1\n\n\ndata: a\n\n: c\n\n")
    assert p.skipped == [
        Block(0, 4, frozenset({"comment"}), False),
        Block(5, 11, frozenset({"id"}), True),
        Block(12, 12, frozenset(), True),
        Block(22, 26, frozenset({"comment"}), True),
    ]
    assert [(e.data, e.last_id) for e in p.events] == [("a", "1")]


def test_empty_id_is_not_an_id_for_after_id() -> None:
    """`id:` with an empty value sets the buffer to "" but is not a non-empty id."""
    p = parse(b"id:\n\n\n")
    assert p.skipped == [Block(0, 4, frozenset({"id"}), False), Block(5, 5, frozenset(), False)]


# --------------------------------------------------------------------------------------------
# oversized lines
# --------------------------------------------------------------------------------------------

SMALL = 64

OVERSIZED_CASES: list[tuple[str, bytes, list[str], list[tuple[int, int]]]] = [
    ("exactly-max-is-fine", b"data: " + b"x" * (SMALL - 6) + b"\n\n", ["x" * (SMALL - 6)], []),
    ("exactly-max-crlf", b"data: " + b"x" * (SMALL - 6) + b"\r\n\r\n", ["x" * (SMALL - 6)], []),
    ("exactly-max-cr", b"data: " + b"x" * (SMALL - 6) + b"\r\r", ["x" * (SMALL - 6)], []),
    ("one-over", b"data: " + b"x" * (SMALL - 5) + b"\n\ndata: ok\n\n", ["ok"], [(0, SMALL + 1)]),
    ("long-then-event", b"data: " + b"y" * 500 + b"\r\n\r\ndata: ok\r\n\r\n", ["ok"], [(0, 506)]),
    ("inside-an-event", b"data: a\n" + b"data: " + b"y" * 100 + b"\ndata: b\n\n", ["a\nb"], [(8, 106)]),
    ("long-comment", b":" + b"z" * 200 + b"\rdata: ok\r\r", ["ok"], [(0, 201)]),
    ("two-long-lines", b"event: " + b"e" * 80 + b"\n" + b"id: " + b"9" * 70 + b"\ndata: ok\n\n",
     ["ok"], [(0, 87), (88, 74)]),
]


@pytest.mark.parametrize(
    "body,datas,oversized", [c[1:] for c in OVERSIZED_CASES], ids=[c[0] for c in OVERSIZED_CASES]
)
def test_oversized_lines_are_dropped_and_reported(
    body: bytes, datas: list[str], oversized: list[tuple[int, int]]
) -> None:
    """A line longer than max_line is dropped (not processed as a field) and reported; the
    line ending does not count, and parsing resumes at the next line, in any split."""
    p = parse(body, max_line=SMALL)
    assert [e.data for e in p.events] == datas
    assert [e.type for e in p.events] == ["message"] * len(datas)
    assert [e.last_id for e in p.events] == [""] * len(datas)
    assert p.oversized == oversized
    assert_split_invariant(body, range(1, len(body)), max_line=SMALL)


@pytest.mark.parametrize("body", [c[1] for c in OVERSIZED_CASES], ids=[c[0] for c in OVERSIZED_CASES])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_oversized_lines_random_splits(body: bytes, data: st.DataObject) -> None:
    """Oversized detection must not depend on where the reads cut the long line."""
    assert_split_invariant(body, data.draw(cut_lists(body), label="cuts"), max_line=SMALL)


def test_oversized_offsets_count_the_bom() -> None:
    """Oversized offsets are raw-body offsets like every other offset."""
    p = parse(BOM + b"data: ok\n\n" + b"data: " + b"q" * 100 + b"\n\n", max_line=SMALL)
    assert [e.data for e in p.events] == ["ok"]
    assert p.oversized == [(13, 106)]


def test_twenty_megabyte_line_with_the_real_max_line() -> None:
    """A 20 MB line (a runaway payload) is reported and skipped; the next event still parses."""
    line_len = 6 + 20_000_000
    assert MAX_LINE < line_len
    body = b"data: " + b"x" * 20_000_000 + b"\n\n" + b"data: ok\n\n"
    p = parse(body)
    del body
    assert p.oversized == [(0, line_len)]
    assert p.events == [Event(0, line_len + 2, line_len + 11, "ok", "message", "", None)]
    assert [(b.offset, b.end) for b in p.skipped] == [(0, line_len + 1)]
    assert p.discarded is None


def test_oversized_line_memory_is_bounded() -> None:
    """Fed in 1 MB reads, a 20 MB line must not be buffered whole: the point of max_line is to
    bound memory on a hostile or broken endpoint."""
    chunk = b"x" * 1_000_000
    p = SSEParser(max_line=1024)
    tracemalloc.start()
    try:
        p.feed(b"data: ")
        for _ in range(20):
            p.feed(chunk)
        p.feed(b"\n\ndata: ok\n\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    p.close()
    assert p.oversized == [(0, 20_000_006)]
    assert [e.data for e in p.events] == ["ok"]
    assert peak < 8_000_000, f"peak {peak} bytes while skipping a 20 MB line"


# --------------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------------

TOKENS = [
    b"data", b"event", b"id", b"retry", b"Data", b"x", b"1", b"[DONE]", b"{}",
    b":", b": ", b" ", b"\r", b"\n", b"\r\n", b"\x00", BOM, b"\xef", b"\xbb", b"\xff",
    b"\xe2\x80\xa6", b"\xe2\x80",
]
sse_like = st.lists(st.sampled_from(TOKENS), max_size=60).map(b"".join)
any_body = st.one_of(st.binary(max_size=120), sse_like)


@settings(max_examples=300, deadline=None)
@given(body=any_body, max_line=st.sampled_from([4, 16, MAX_LINE]), data=st.data())
def test_random_bytes_in_random_pieces_never_raise(body: bytes, max_line: int, data: st.DataObject) -> None:
    """Any bytes, any split, any max_line: no exception, and the same parse as the whole body."""
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=10), label="cuts")
    assert_split_invariant(body, cuts, max_line=max_line)


_EOL = re.compile(rb"\r\n|\r|\n")


def reference_parse(body: bytes) -> tuple[list[Event], list[Block], tuple[int, int] | None, Block | None]:
    """A deliberately naive model of WHATWG 9.2.5/9.2.6 over the whole body (no max_line).

    Returns events, skipped blocks, the discarded block's (offset, end), and the discarded block
    itself when the body ends in a line ending (its `fields` are only defined for whole lines).
    """
    pos = 3 if body.startswith(BOM) else 0
    events: list[Event] = []
    skipped: list[Block] = []
    data: list[str] = []
    etype, last_id, seen_id = "", "", False
    fields: set[str] = set()
    start = pos
    while (m := _EOL.search(body, pos)) is not None:
        line = body[pos : m.start()].decode("utf-8", "replace")
        line_start, pos = pos, m.end()
        if not line:  # a block's `end` is where its dispatching blank line starts
            if data:
                events.append(Event(len(events), start, line_start, "\n".join(data), etype or "message", last_id, None))
            else:
                skipped.append(Block(start, line_start, frozenset(fields), seen_id))
            data, etype, fields, start = [], "", set(), pos
            continue
        if line.startswith(":"):
            fields.add("comment")
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            etype = value
        elif name == "id" and "\0" not in value:
            last_id = value
            seen_id = seen_id or bool(value)
        fields.add(name if name in ("data", "event", "id", "retry") else "other")
    if start == len(body):
        return events, skipped, None, None
    whole_lines = pos == len(body)
    return events, skipped, (start, len(body)), (Block(start, len(body), frozenset(fields), seen_id) if whole_lines else None)


@settings(max_examples=400, deadline=None)
@given(body=any_body)
def test_agrees_with_reference_model(body: bytes) -> None:
    """Events (offsets, data, type, last_id), skipped blocks and the discarded block match a
    naive reference written from the spec text, on random SSE-like bytes."""
    p = parse(body)
    events, skipped, span, discarded = reference_parse(body)
    assert p.events == events
    assert p.skipped == skipped
    assert p.bom is body.startswith(BOM)
    assert p.oversized == []
    if span is None:
        assert p.discarded is None
    else:
        assert p.discarded is not None and (p.discarded.offset, p.discarded.end) == span
        if discarded is not None:
            assert p.discarded == discarded


def test_reference_model_matches_the_vector_table() -> None:
    """Guards the reference model itself: it must reproduce every expectation in the table."""
    for v in VECTORS:
        events, skipped, span, discarded = reference_parse(body_of(v))
        assert [(e.offset, e.end, e.data, e.type, e.last_id) for e in events] == [
            (e["offset"], e["end"], e["data"], e["type"], e["last_id"]) for e in v["events"]
        ], v["id"]
        assert skipped == [expected_block(b) for b in v["skipped"]], v["id"]
        if v["discarded"] is None:
            assert span is None, v["id"]
        else:
            assert span == (v["discarded"]["offset"], v["discarded"]["end"]), v["id"]


def test_a_long_line_in_small_reads_costs_linear_time() -> None:
    """Pieces without a line ending are held as a list and joined once: 8 MB in 4 KB reads
    must not re-copy the growing line on every read (that was 2.5 s; linear is ~0.03 s).
    Counted in copies, not seconds, so the test cannot flake on a slow machine."""
    p = SSEParser()
    p.feed(b"data: ")
    for _ in range(2048):
        p.feed(b"x" * 4096)
        assert len(p._tail) <= 2049  # pieces are kept, not concatenated
    p.feed(b"\n\n")
    assert len(p.events[0].data) == 2048 * 4096


_field_lines = st.lists(
    st.one_of(
        st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12).map(lambda v: f"data: {v}"),
        st.sampled_from(["data:", "data:x", ": comment", "event: ping", "id: 7", "retry: 10", "unknown: 1"]),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=200, deadline=None)
@given(blocks=st.lists(_field_lines, max_size=6), style=st.sampled_from(["\r\n", "\r", "mixed"]), data=st.data())
def test_every_line_ending_style_gives_the_same_events(blocks: list[list[str]], style: str, data: st.DataObject) -> None:
    """The same stream framed with LF, CRLF, CR or a mix of the three, in any split, dispatches
    the same events (same data, type and id) and skips the same blocks."""
    lines = [line for block in blocks for line in (*block, "")]
    lf = "".join(line + "\n" for line in lines).encode()
    if style == "mixed":
        endings = data.draw(st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=len(lines), max_size=len(lines)))
    else:
        endings = [style] * len(lines)
    for i in range(1, len(lines)):  # a lone CR before an empty line ending in LF would read as one CRLF
        if endings[i - 1] == "\r" and lines[i] == "" and endings[i].startswith("\n"):
            endings[i - 1] = "\r\n"
    other = "".join(line + eol for line, eol in zip(lines, endings)).encode()
    want, got = parse(lf), feed_pieces(_cut(other, data.draw(st.lists(st.integers(0, len(other)), max_size=6))))
    assert [(e.data, e.type, e.last_id) for e in got.events] == [(e.data, e.type, e.last_id) for e in want.events]
    assert [b.fields for b in got.skipped] == [b.fields for b in want.skipped]


def _cut(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(body), *cuts})
    return [body[a:b] for a, b in zip(points, points[1:])]
