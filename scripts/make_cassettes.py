#!/usr/bin/env python3
"""Write fixtures/cassettes/: example cassettes and HAR files built from the project's fixtures.

Each file wraps recorded bodies that already are fixtures (fixtures/conformant/,
fixtures/violations/, fixtures/real/) in the format a recording tool writes, as its
documentation and its own serializer describe it:

- VCR.py / pytest-recording: ``yaml.dump`` of ``{interactions: [{request: {body, headers,
  method, uri}, response: {body: {string}, headers, status: {code, message}}}], version: 1}``;
  a multi-line string comes out single-quoted (PyYAML's default), bytes as ``!!binary``
  (what VCR.py keeps when a gzip body is not decoded); ``literal=True`` writes bodies as
  literal blocks, as pydantic-ai's cassette serializer does;
- go-vcr v2 (format 1): ``{version: 1, interactions: [{request: {body, form, headers, url,
  method}, response: {body, headers, status: "200 OK", code, duration}}]}``; v3/v4 (format 2)
  adds ``id``, ``proto`` and content lengths;
- HAR 1.2: ``{log: {version, creator, entries: [{request: {..., postData: {mimeType, text}},
  response: {status, headers: [{name, value}], content: {size, mimeType, text[, encoding:
  base64]}}}]}}``, as browser devtools export it.

The tests (tests/test_cassettes.py) use the same builders on many more fixtures; this script
writes the few examples kept for users to read. Deterministic: no clock, no randomness
(gzip's mtime is fixed).

    python scripts/make_cassettes.py            # (re)write fixtures/cassettes/
    python scripts/make_cassettes.py --check    # exit 1 if a file differs or is missing
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
OUT = FIXTURES / "cassettes"
BASE = "https://gateway.example.com/v1"


@dataclass
class Call:
    """One recorded HTTP call, whatever the format."""

    method: str = "POST"
    url: str = f"{BASE}/chat/completions"
    request: Any = None  # JSON-able request body, or None
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "text/event-stream"})
    body: bytes = b""
    gzip: bool = False  # keep the body gzip-encoded, with content-encoding: gzip

    def wire_body(self) -> bytes:
        return gzip.compress(self.body, mtime=0) if self.gzip else self.body

    def wire_headers(self) -> dict[str, str]:
        return {**self.headers, "content-encoding": "gzip"} if self.gzip else dict(self.headers)

    def request_text(self) -> str | None:
        return None if self.request is None else json.dumps(self.request, separators=(",", ":"))


def from_fixture(path: Path, **changes: Any) -> Call:
    """A chat-completion call whose answer is the fixture's body and whose request, status and
    headers come from its sidecar."""
    side = path.with_suffix(".json")
    meta = json.loads(side.read_text(encoding="utf-8")) if side.exists() else {}
    call = Call(request=meta.get("request"), status=meta.get("status", 200), headers=dict(meta.get("headers") or {"content-type": "text/event-stream"}), body=path.read_bytes())
    for k, v in changes.items():
        setattr(call, k, v)
    return call


def models_call() -> Call:
    return Call(method="GET", url=f"{BASE}/models", headers={"content-type": "application/json"}, body=b'{"object":"list","data":[{"id":"sansa-auto","object":"model"}]}')


def non_streamed_call() -> Call:
    answer = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1767225600, "model": "sansa-auto",
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}],
              "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}
    return Call(request={"model": "sansa-auto", "messages": [{"role": "user", "content": "Hi"}]}, headers={"content-type": "application/json"},
                body=json.dumps(answer).encode())


class _LiteralDumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks (pydantic-ai's cassettes)."""


def _literal(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_LiteralDumper.add_representer(str, _literal)


def _text_or_bytes(raw: bytes) -> str | bytes:
    """VCR.py keeps a body that decodes as UTF-8 as text, anything else as bytes (!!binary)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def vcr_yaml(calls: list[Call], literal: bool = False, binary: bool = False) -> str:
    """A VCR.py cassette. ``binary``: every response body as bytes (!!binary), as VCR.py
    writes bodies that are not text."""
    interactions = []
    for c in calls:
        body = c.wire_body()
        interactions.append({
            "request": {"body": c.request_text(), "headers": {"Content-Type": ["application/json"], "Authorization": ["DUMMY"]}, "method": c.method, "uri": c.url},
            "response": {"body": {"string": body if binary else _text_or_bytes(body)},
                         "headers": {k.title(): [v] for k, v in c.wire_headers().items()},
                         "status": {"code": c.status, "message": "OK" if c.status == 200 else "Error"}},
        })
    doc = {"interactions": interactions, "version": 1}
    return yaml.dump(doc, Dumper=_LiteralDumper if literal else yaml.SafeDumper, allow_unicode=True, width=120, sort_keys=True)


def govcr_yaml(calls: list[Call], v3: bool = False) -> str:
    """A go-vcr cassette: format 1 (go-vcr v2), or format 2 (v3/v4) with ``v3``."""
    interactions = []
    for i, c in enumerate(calls):
        body = c.wire_body().decode("utf-8")  # go-vcr keeps Go strings; its http client has undone gzip
        req: dict[str, Any] = {"body": c.request_text() or "", "form": {}, "headers": {"Content-Type": ["application/json"]}, "url": c.url, "method": c.method}
        resp: dict[str, Any] = {"body": body, "headers": {k.title(): [v] for k, v in c.headers.items()},
                                "status": f"{c.status} {'OK' if c.status == 200 else 'Error'}", "code": c.status, "duration": "412ms"}
        if v3:
            req = {"proto": "HTTP/1.1", "proto_major": 1, "proto_minor": 1, "content_length": len(req["body"]), "host": "gateway.example.com", **req}
            resp = {"proto": "HTTP/2.0", "proto_major": 2, "proto_minor": 0, "content_length": -1, "uncompressed": True, **resp}
            interactions.append({"id": i, "request": req, "response": resp})
        else:
            interactions.append({"request": req, "response": resp})
    return "---\n" + yaml.dump({"version": 2 if v3 else 1, "interactions": interactions}, Dumper=yaml.SafeDumper, allow_unicode=True, sort_keys=False)


def har_json(calls: list[Call], base64_bodies: bool = False) -> str:
    """A HAR 1.2 log. HAR keeps bodies decoded; ``base64_bodies`` stores them base64-encoded."""
    entries = []
    for c in calls:
        content: dict[str, Any] = {"size": len(c.body), "mimeType": c.headers.get("content-type", "")}
        if base64_bodies:
            content.update(text=base64.b64encode(c.body).decode("ascii"), encoding="base64")
        else:
            content["text"] = c.body.decode("utf-8")
        request: dict[str, Any] = {"method": c.method, "url": c.url, "httpVersion": "HTTP/1.1",
                                   "headers": [{"name": "Content-Type", "value": "application/json"}], "queryString": [], "cookies": [], "headersSize": -1,
                                   "bodySize": len(c.request_text() or "")}
        if c.request is not None:
            request["postData"] = {"mimeType": "application/json", "text": c.request_text()}
        entries.append({
            "startedDateTime": "2026-01-01T00:00:00.000Z", "time": 412.5, "request": request,
            "response": {"status": c.status, "statusText": "OK" if c.status == 200 else "Error", "httpVersion": "HTTP/1.1",
                         "headers": [{"name": k, "value": v} for k, v in c.wire_headers().items()], "cookies": [], "content": content,
                         "redirectURL": "", "headersSize": -1, "bodySize": len(c.wire_body())},
            "cache": {}, "timings": {"blocked": -1, "dns": -1, "connect": -1, "send": 0.1, "wait": 180.0, "receive": 232.4},
        })
    doc = {"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"}, "pages": [], "entries": entries}}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def examples() -> dict[str, str]:
    """The files of fixtures/cassettes/ (README.md there says what each one holds)."""
    conf, viol = FIXTURES / "conformant", FIXTURES / "violations"
    return {
        "vcr-session.yaml": vcr_yaml([models_call(), non_streamed_call(), from_fixture(conf / "text.sse"),
                                      from_fixture(viol / "chunk.role-only-first" / "role-on-finish.sse")]),
        "vcr-gzip.yaml": vcr_yaml([from_fixture(conf / "tool-call.sse", gzip=True)]),
        "govcr-tool-call.yaml": govcr_yaml([from_fixture(conf / "tool-call.sse")]),
        "devtools.har": har_json([models_call(), from_fixture(viol / "chunk.role-only-first" / "role-every-chunk.sse")]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file differs or is missing")
    args = parser.parse_args(argv)
    stale = []
    for name, text in examples().items():
        path = OUT / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"stale: {', '.join(stale)} (run scripts/make_cassettes.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
