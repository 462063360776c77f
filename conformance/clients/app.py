"""What a typical application builds from the chunks a raw client yields.

Raw iteration (openai-python's and openai-node's ``create(stream=True)``, httpx-sse) hands
the application parsed chunks; the application concatenates. This is that application,
written apart from the suite's assembler on purpose (a second implementation: a bug in one
shows as a difference), and mirrored in node/replay.mjs. A reading is plain JSON data:

    {"status": "ok" | "raised" | "skipped", "error": str | None, "api_error": str | None,
     "choices": [{"index", "content", "reasoning", "reasoning_details", "tool_calls": [{"id", "name", "arguments"}],
                  "finish_reason"}], "usage": {"prompt_tokens", "completion_tokens", "total_tokens"} | None}

``error`` is what the client raised (or why it was skipped); ``api_error`` is the stream's own
mid-stream error as the client surfaced it (the designed path: the SDKs raise an API error).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["App", "counts", "error_text", "reading", "skipped"]

Reading = dict[str, Any]

ERROR_CHARS = 500  # an exception's text kept in a reading (a client may quote a whole chunk)


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


# An SDK's exception text may name an object by its address ("<built-in method index of str
# object at 0x7f...>"): the address differs from run to run, and a reading must not, or two
# reports of the same recording would differ.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {_ADDRESS.sub('', str(exc))[:ERROR_CHARS]}"


def counts(usage: Any) -> dict[str, Any] | None:
    """The three counts every client reports; None when the client holds no usage."""
    if not isinstance(usage, dict):
        return None
    return {k: usage.get(k) for k in ("prompt_tokens", "completion_tokens", "total_tokens")}


def reading(status: str, choices: list[dict[str, Any]], usage: Any = None, error: str | None = None, api_error: str | None = None) -> Reading:
    return {"status": status, "error": error, "api_error": api_error, "choices": sorted(choices, key=lambda c: c["index"]), "usage": counts(usage)}


def skipped(reason: str) -> Reading:
    return reading("skipped", [], error=reason)


def reasoning_of(fields: dict[str, Any]) -> str:
    """Reasoning text of a delta or a message from the flat string field (reasoning_content,
    else reasoning)."""
    return _str(fields.get("reasoning_content")) or _str(fields.get("reasoning"))


def details_of(fields: dict[str, Any]) -> str:
    """Reasoning text of a delta or a message from reasoning_details items (text, else summary).
    Kept apart from the flat field: a server may send the same reasoning in both."""
    out = ""
    details = fields.get("reasoning_details")
    if isinstance(details, list):
        for d in details:
            if isinstance(d, dict):
                out += _str(d.get("text")) or _str(d.get("summary"))
    return out


class App:
    """Accumulates raw chunks (dicts) the way applications do."""

    def __init__(self) -> None:
        self.choices: dict[int, dict[str, Any]] = {}
        self.calls: dict[int, dict[int, dict[str, Any]]] = {}
        self.usage: Any = None
        self.api_error: str | None = None

    def feed(self, chunk: Any) -> None:
        if not isinstance(chunk, dict):
            return
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        chs = chunk.get("choices")
        if not isinstance(chs, list):
            return
        for pos, ch in enumerate(chs):
            if not isinstance(ch, dict):
                continue
            raw_index = ch.get("index")
            index: int = raw_index if type(raw_index) is int else pos
            c = self.choices.setdefault(index, {"index": index, "content": "", "reasoning": "", "reasoning_details": "", "tool_calls": [],
                                                          "finish_reason": None})
            raw_delta = ch.get("delta")
            d: dict[str, Any] = raw_delta if isinstance(raw_delta, dict) else {}
            c["content"] += _str(d.get("content"))
            c["reasoning"] += reasoning_of(d)
            c["reasoning_details"] += details_of(d)
            tcs = d.get("tool_calls")
            for t in tcs if isinstance(tcs, list) else []:
                if not isinstance(t, dict) or type(t.get("index")) is not int:
                    continue
                call = self.calls.setdefault(index, {}).setdefault(t["index"], {"id": None, "name": None, "arguments": ""})
                raw_fn = t.get("function")
                fn: dict[str, Any] = raw_fn if isinstance(raw_fn, dict) else {}
                call["id"] = call["id"] or _str(t.get("id")) or None
                call["name"] = call["name"] or _str(fn.get("name")) or None
                call["arguments"] += _str(fn.get("arguments"))
            if c["finish_reason"] is None and ch.get("finish_reason") is not None:
                c["finish_reason"] = ch["finish_reason"]

    def error(self, text: str) -> None:
        """The stream's error event, surfaced by the client: every open choice ends in error."""
        self.api_error = text
        for c in self.choices.values():
            if c["finish_reason"] is None:
                c["finish_reason"] = "error"

    def reading(self, status: str = "ok", error: str | None = None) -> Reading:
        choices = []
        for index, c in self.choices.items():
            calls = self.calls.get(index, {})
            choices.append({**c, "tool_calls": [calls[i] for i in sorted(calls)]})
        return reading(status, choices, self.usage, error, self.api_error)
