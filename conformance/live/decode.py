"""Content-Encoding decoding in bounded steps, so that a compression bomb is cut at the limit.

httpx inflates each network read in one call: 64 KB of ``Content-Encoding: gzip, gzip`` can
become gigabytes before the caller sees a single byte. Here every layer is a generator that
yields at most ``STEP`` decoded bytes at a time and pulls its input lazily from the layer
below, so the consumer counts decoded bytes as they come and stops at its limit having held
no more than the limit plus a few steps. Layers compose like httpx's decoders (decode then
flush), applied in the reverse of the order the header lists them.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

__all__ = ["DecodeError", "STEP", "SUPPORTED", "decoded", "encodings"]

STEP = 64 * 1024  # decoded bytes per step: small next to any body limit, large enough to be fast
SUPPORTED = ("gzip", "x-gzip", "deflate", "identity")


class DecodeError(Exception):
    """The body does not decode as its Content-Encoding says."""


def encodings(header: str | None) -> list[str]:
    """The codings of a Content-Encoding header, in the order they were applied."""
    return [e.strip().lower() for e in (header or "").split(",") if e.strip()]


def _inflate(source: Iterable[bytes], coding: str) -> Iterator[bytes]:
    gzip = coding in ("gzip", "x-gzip")
    wbits = 16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS
    d = zlib.decompressobj(wbits)
    raw_fallback = not gzip  # "deflate" is zlib-wrapped by the RFC, raw deflate in practice
    started = False
    for data in source:
        buf = data
        while buf:
            if d.eof:  # gzip allows several members one after another (RFC 1952 2.2)
                if not gzip:
                    return  # bytes after a finished deflate stream: ignored, as clients do
                d = zlib.decompressobj(wbits)
            try:
                out = d.decompress(buf, STEP)
            except zlib.error as exc:
                if raw_fallback and not started:
                    d, raw_fallback = zlib.decompressobj(-zlib.MAX_WBITS), False
                    continue
                raise DecodeError(f"{coding}: {exc}") from None
            started = True
            buf = d.unused_data if d.eof else d.unconsumed_tail
            if out:
                yield out
            while not buf and len(out) == STEP and not d.eof:  # output still pending inside zlib
                out = d.decompress(b"", STEP)
                buf = d.unconsumed_tail
                if out:
                    yield out
    if started and not d.eof:
        tail = d.flush(STEP)
        if tail:
            yield tail[:STEP]  # a truncated stream: what decodes of it, never more than a step


def decoded(raw: Iterable[bytes], header: str | None) -> Iterator[bytes]:
    """The body's bytes with every listed coding undone, in steps of at most ``STEP``.

    Raises DecodeError for a coding the suite does not decode (checked before any byte is
    read) or for bytes that do not decode.
    """
    codings = [c for c in encodings(header) if c != "identity"]
    unknown = [c for c in codings if c not in SUPPORTED]
    if unknown:
        raise DecodeError(f"Content-Encoding {', '.join(unknown)} is not one the suite decodes ({', '.join(SUPPORTED)})")
    stream: Iterable[bytes] = raw
    for coding in reversed(codings):
        stream = _inflate(stream, coding)
    return iter(stream)
