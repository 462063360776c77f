"""formatting.py: a finding reads the same in every output."""

from __future__ import annotations

from conformance.findings import Finding
from conformance.formatting import escaped_excerpt, excerpt_around, line_and_column, location, shareable_url


def test_a_finding_and_its_json_form_are_located_alike() -> None:
    f = Finding("chunk.x", "error", "m", event=7, offset=1234, path="$.choices[0].delta.role")
    assert location(f) == location(f.to_json()) == "event #7, byte 1234, $.choices[0].delta.role"
    whole = Finding("capture.complete", "error", "m")
    assert location(whole) == location(whole.to_json()) == "whole exchange"
    assert location({"offset": 0}) == "byte 0"  # offset 0 is a place, not "no place"


def test_the_escaped_excerpt_keeps_control_bytes_visible_and_moves_to_the_key() -> None:
    body = b'data: {"a": "\x00\xff"}\n\n'
    assert escaped_excerpt(body, Finding("r", "error", "m", offset=0, end=len(body))) == 'data: {"a": "\\x00\\xff"}\\n\\n'
    long = b'data: {"' + b"x" * 300 + b'": 1, "role": "user"}\n\n'
    text = escaped_excerpt(long, Finding("r", "error", "m", offset=0, end=len(long), path="$.choices[0].delta.role"))
    assert text is not None and text.startswith("...") and '"role": "user"' in text
    assert escaped_excerpt(body, Finding("r", "error", "m")) is None


def test_the_report_excerpt_gives_context_and_cuts_a_long_hit() -> None:
    body = b"A" * 300 + b"HIT" + b"B" * 300
    around = excerpt_around(body, Finding("r", "error", "m", offset=300, end=303))
    assert around == {"before": "A" * 240, "hit": "HIT", "after": "B" * 240}
    cut = excerpt_around(b"x" * 2000, Finding("r", "error", "m", offset=0, end=2000))
    assert cut is not None and cut["hit"].endswith(" [...]") and len(cut["hit"]) == 600 + len(" [...]")


def test_line_and_column_count_crlf_once_and_characters_not_bytes() -> None:
    body = "a\r\nb\rc\nd\u00e9x".encode()
    assert line_and_column(body, body.index(b"x")) == (3, 3)
    assert line_and_column(body, 0) == (0, 1)


def test_shared_urls_carry_no_credentials() -> None:
    url = "https://user:pw@API.example.com:8443/v1/chat/completions?api_key=s3cret&x=1#frag"
    assert shareable_url(url) == "https://api.example.com:8443/v1/chat/completions"
    masked = shareable_url(url, query=True)
    assert "pw" not in masked and "s3cret" not in masked and "x=1" in masked and "frag" not in masked
