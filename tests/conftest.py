"""Helpers to build streams in tests: small, explicit, no fixtures-from-disk needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SHARED = ROOT.parent / "shared"


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, index: int = 0, **top: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "sansa-auto",
        "choices": [{"index": index, "delta": delta if delta is not None else {}, "finish_reason": finish}],
    }
    obj.update(top)
    return obj


USAGE = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}


def stream_body(*payloads: Any, done: bool = True) -> bytes:
    """Frame payloads as `data: ...` events (dicts become JSON), then `[DONE]`."""
    out = []
    for p in payloads:
        text = p if isinstance(p, str) else json.dumps(p)
        out.append(f"data: {text}\n\n".encode())
    if done:
        out.append(b"data: [DONE]\n\n")
    return b"".join(out)


def text_stream(*pieces: str) -> list[dict[str, Any]]:
    """The chunks of a conformant text answer."""
    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": p}) for p in pieces]
    chunks.append(chunk({}, "stop", usage=USAGE))
    return chunks
