"""The captured exchange: everything the rules may look at, and nothing live.

Live runs and recordings both end up here, so one set of rules judges both. Arrival times
are stamped by the capturing side as bytes arrive; the rules only read them afterwards.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BodyFile", "Exchange", "Timing"]


@dataclass(frozen=True, slots=True)
class BodyFile:
    """A body left on disk (a recording): the judge reads it in blocks, a rule reads a few
    bytes of it, and nothing holds all of it in memory."""

    path: str
    size: int

    def read(self, offset: int, n: int) -> bytes:
        if n <= 0 or offset >= self.size:
            return b""
        with open(self.path, "rb") as fh:
            fh.seek(offset)
            return fh.read(min(n, self.size - offset))

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, cut: slice) -> bytes:
        """``body[a:b]`` for the few bytes a report excerpts (a slice with step 1 only)."""
        start, stop, step = cut.indices(self.size)
        if step != 1:
            raise ValueError("a body on disk is read in plain slices")
        return self.read(start, stop - start)

    def find(self, sub: bytes, start: int = 0, end: int | None = None) -> int:
        """``bytes.find`` over a window of the body (excerpts search one event's bytes)."""
        stop = self.size if end is None else min(end, self.size)
        at = self.read(start, stop - start).find(sub)
        return at if at < 0 else start + at

    def blocks(self, size: int) -> Iterator[bytes]:
        left = self.size
        with open(self.path, "rb") as fh:
            while left > 0:
                block = fh.read(min(size, left))
                if not block:
                    return
                left -= len(block)
                yield block


@dataclass(frozen=True, slots=True)
class Timing:
    """When the answer arrived, in seconds since the request was sent.

    ``arrivals`` pairs a raw-body offset with the time the bytes from that offset on arrived,
    in order, one pair per network read.
    """

    arrivals: tuple[tuple[int, float], ...]
    headers_at: float | None = None

    def time_at(self, offset: int) -> float | None:
        """Arrival time of the byte at ``offset`` (the read that delivered it)."""
        # bisect in C over the pairs: (offset, inf) sorts after every pair at that offset
        at = bisect.bisect_right(self.arrivals, (offset, math.inf))
        return self.arrivals[at - 1][1] if at else None


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and the answer to it, as captured.

    ``status``/``headers`` are None for a bare body (a curl capture): the body is then taken
    to be a 2xx event stream, and rules that need the headers are not applicable.
    ``problem`` holds a transport failure (refused, reset, timed out, over a limit) that cut
    the capture short; it is judged like everything else.
    """

    body: bytes
    request: dict[str, Any] | None = None
    status: int | None = None
    headers: dict[str, str] | None = None  # names lower-cased
    profile: str | None = None
    scenario: str | None = None
    timing: Timing | None = None
    problem: str | None = None
    source: str = "<memory>"
    extra: dict[str, Any] = field(default_factory=dict)
    # the body on disk, when it was not read into ``body`` (then b""): see ``read``/``blocks``
    file: BodyFile | None = None

    @property
    def size(self) -> int:
        """The body's length in bytes, wherever it is."""
        return self.file.size if self.file is not None else len(self.body)

    def read(self, offset: int, n: int) -> bytes:
        """``n`` bytes of the body from ``offset`` (fewer at its end), wherever it is."""
        if self.file is not None:
            return self.file.read(offset, n)
        return self.body[offset : offset + n]

    def blocks(self, size: int) -> Iterator[bytes]:
        """The body in pieces of ``size`` bytes: what the one-pass judge reads."""
        if self.file is not None:
            yield from self.file.blocks(size)
            return
        body = self.body
        for at in range(0, len(body), size):
            yield body[at : at + size]

    @property
    def is_stream(self) -> bool:
        """Sections 3-11 apply to 2xx answers (a bare body counts as one)."""
        return self.status is None or 200 <= self.status < 300

    def header(self, name: str) -> str | None:
        if self.headers is None:
            return None
        return self.headers.get(name.lower())
