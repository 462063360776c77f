"""Hostile or broken bodies (violations/bad-input/): the suite must report them, never crash.

No single rule owns these, so each entry names every rule that fails. The 20 MB single-line
body (a parser-limit test) is not committed: the tests build it on the fly.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator

from .corpus import BAD_INPUT, Fixture, fixture
from .streams import frame, hello, insert_at


def fixtures() -> Iterator[Fixture]:
    yield fixture(BAD_INPUT, "empty-body", b"", "The body is empty: no event at all, so no [DONE].",
                  fail=["sse.done"])

    h = hello("gen-bad-array-01")
    yield fixture(BAD_INPUT, "json-array", frame(insert_at(h.chunks, 2, "[1,2]")),
                  "One event's payload is the JSON array `[1,2]`, not an object.", fail=["sse.json-payload"])

    body = frame(hello("gen-bad-truncated-01").chunks, done=False)
    cut = body.index(b'" help you"') + 4
    yield fixture(BAD_INPUT, "truncated", body[:cut], "The connection dropped in the middle of a content chunk's "
                  "JSON: the partial block is discarded, no finish, no usage, no [DONE].",
                  fail=["sse.done", "usage.present-last", "chunk.finish-reason-once"])

    body = gzip.compress(frame(hello("gen-bad-gzip-01").chunks), mtime=0)
    yield fixture(BAD_INPUT, "gzip-not-decoded", body, "A gzip-compressed body stored without decoding "
                  "(Content-Encoding ignored): binary, not UTF-8, no events.", fail=["sse.utf8", "sse.done"])
