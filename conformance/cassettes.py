"""YAML cassettes: VCR.py / pytest-recording, and go-vcr (v2 format 1, v3/v4 format 2).

Both keep ``interactions: [{request, response}, ...]``; they differ in the fields:

| | VCR.py | go-vcr |
|---|---|---|
| request URL | ``uri`` | ``url`` |
| request body | ``body`` (string, ``!!binary``, or null); pydantic-ai's serializer: ``parsed_body`` | ``body`` (string) |
| response body | ``body: {string: ...}`` (text, or ``!!binary`` when not UTF-8, e.g. gzip kept encoded); pydantic-ai: ``parsed_body`` for JSON | ``body`` (string) |
| status | ``status: {code, message}`` | ``code`` (int), ``status`` ("200 OK") |
| headers | name -> list of values | name -> list of values |

PyYAML's safe loader reads them (no tags beyond the standard ``!!binary``); the node tree it
builds first gives each body's line in the file, so annotations can point at it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import RecordingError
from .interactions import OTHER, Contents, Interaction, Skipped, judge_interaction

__all__ = ["read"]

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when PyYAML has it: 10x faster


def _child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.Node):  # always a Node: narrows for mypy
                return v
    return None


def _headers(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    out: dict[str, str] = {}
    for name, value in raw.items():
        values = value if isinstance(value, list) else [value]
        out[str(name).lower()] = ", ".join(str(v) for v in values)
    return out


def _bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogateescape")


def _status(response: dict[str, Any]) -> int | None:
    status = response.get("status")
    if isinstance(status, dict):  # VCR.py
        status = status.get("code")
    code = response.get("code", status)  # go-vcr: code is the int, status the text
    try:
        return int(code) if code is not None else None
    except (TypeError, ValueError):
        return None


def _interaction(index: int, item: Any, node: yaml.Node | None, lines: list[str], where: str) -> Interaction:
    if not isinstance(item, dict) or not isinstance(item.get("request"), dict) or not isinstance(item.get("response"), dict):
        raise RecordingError(f"{where}: interaction {index} has no request/response mapping")
    req, resp = item["request"], item["response"]
    request_body: bytes | dict[str, Any] | None
    request_body = req["parsed_body"] if isinstance(req.get("parsed_body"), dict) else _bytes(req.get("body"))
    body_node = _child(_child(node, "response"), "body")
    raw = resp.get("body")
    body_is_json = False
    if isinstance(raw, dict):  # VCR.py: {string: ...}
        body_node = _child(body_node, "string")
        raw = raw.get("string")
    if raw is None and "parsed_body" in resp:  # pydantic-ai's serializer keeps JSON answers parsed
        import json

        raw, body_is_json = json.dumps(resp["parsed_body"]), True
        body_node = _child(_child(node, "response"), "parsed_body")
    body = _bytes(raw)
    line = node.start_mark.line + 1 if node is not None else 1
    body_line, block, indent = None, False, 0
    if isinstance(body_node, yaml.ScalarNode) and not body_is_json:
        block = body_node.style == "|" and isinstance(raw, str)
        body_line = body_node.start_mark.line + (2 if block else 1)  # a literal block starts under its indicator
        if block:
            for text in lines[body_line - 1 :]:
                if text.strip():
                    indent = len(text) - len(text.lstrip(" "))
                    break
    return Interaction(
        index=index,
        method=str(req["method"]) if req.get("method") else None,
        url=str(req.get("uri") or req.get("url") or "") or None,
        request_body=request_body,
        status=_status(resp),
        headers=_headers(resp.get("headers")),
        body=body,
        body_is_json=body_is_json,
        line=line,
        body_line=body_line,
        body_lines=block,
        body_indent=indent,
    )


def read(path: Path, text: str) -> Contents:
    """Every interaction of a cassette: exchanges to judge and the skipped rest."""
    where = str(path)
    loader = Loader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        raise RecordingError(f"{where}: not a readable YAML file: {exc}") from exc
    finally:
        loader.dispose()
    contents = Contents(path)
    items = data.get("interactions") if isinstance(data, dict) else None
    if not isinstance(items, list):
        contents.skipped.append(Skipped(where, OTHER, "a YAML file without an interactions list is not a cassette"))
        return contents
    fmt = "go-vcr cassette" if any(isinstance(i, dict) and isinstance(i.get("request"), dict) and "url" in i["request"] for i in items) else "VCR.py cassette"
    seq = _child(root, "interactions")
    nodes = seq.value if isinstance(seq, yaml.SequenceNode) else [None] * len(items)
    lines = text.splitlines()
    for index, (item, node) in enumerate(zip(items, nodes)):
        outcome = judge_interaction(_interaction(index, item, node, lines, where), path, fmt)
        (contents.skipped if isinstance(outcome, Skipped) else contents.exchanges).append(outcome)  # type: ignore[arg-type]
    return contents
