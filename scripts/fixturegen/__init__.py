"""The fixture generator: every file under fixtures/conformant/ and fixtures/violations/.

One module per spec area yields its fixtures (conformant ones and violations alike) as
`corpus.fixture(...)` entries; `streams` and `request` hold the builders they share;
`cli` collects the entries, refuses two entries for one file, and writes or checks the
files. Standard library only, deterministic, and independent of the `conformance` package:
the corpus tests the checker, so the checker must not write its own test data.
"""

from __future__ import annotations

from . import bad_input, capture, chunks, compat, delivery, errors, framing, reasoning, structured, tools, usage

AREAS = (framing, chunks, usage, errors, tools, reasoning, structured, delivery, compat, capture, bad_input)
