"""Deterministic stand-ins for a model: words, fragments, token counts, tool arguments.

Every choice comes from a ``random.Random`` seeded with a SHA-256 of the request's messages:
the same request gives the same answer in every run and every process (``hash()`` is salted
per process, so it would not). Nothing here knows about chunks or the wire.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

from .schema_values import from_schema

__all__ = [
    "VOCABULARY",
    "answer_words",
    "count_prompt_tokens",
    "message_text",
    "rng_for",
    "seed_of",
    "split_text",
    "tool_arguments",
    "value_for",
]

# Multi-byte words on purpose: a one-byte-per-write stream then splits UTF-8 sequences
# across writes, and clients must not care.
VOCABULARY = (
    "river", "lantern", "quiet", "harbor", "amber", "signal", "meadow", "copper",
    "winter", "garden", "paper", "silver", "orbit", "thunder", "velvet", "canyon",
    "echo", "maple", "pixel", "cobalt", "ember", "glacier", "hollow", "island",
    "kettle", "marble", "nectar", "opal", "prairie", "quartz", "ripple", "saffron",
    "timber", "willow", "zephyr", "stream", "token", "socket", "buffer", "delta",
    "choice", "schema", "parser", "client", "server", "payload", "cursor", "harvest",
    "café", "naïve", "façade", "déjà", "smörgåsbord", "日本", "👋", "🙂",
)


def seed_of(*parts: Any) -> int:
    """A stable 64-bit seed for any JSON-ish value."""
    data = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=repr).encode()
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big")


def rng_for(*parts: Any) -> random.Random:
    return random.Random(seed_of(*parts))


def message_text(message: Any) -> str:
    """The text of a message's content: a string, or the text parts of a list."""
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def count_prompt_tokens(messages: list[Any]) -> int:
    """Whitespace-separated words over every message's content, at least 1."""
    return max(1, sum(len(message_text(m).split()) for m in messages))


def answer_words(rng: random.Random, n: int) -> list[str]:
    """``n`` fragments of one sentence, each word with its leading space (the first without)."""
    words = [" " + w for w in rng.choices(VOCABULARY, k=n)]
    if words:
        words[0] = words[0][1:].capitalize()
        words[-1] += "."
    return words


def split_text(text: str, rng: random.Random, lo: int, hi: int) -> list[str]:
    """Cut ``text`` into pieces of ``lo``..``hi`` characters, wherever they fall (mid-token)."""
    out, pos = [], 0
    while pos < len(text):
        step = rng.randint(lo, hi)
        out.append(text[pos : pos + step])
        pos += step
    return out or [text]


def tool_arguments(parameters: Any, rng: random.Random) -> dict[str, Any]:
    """Arguments valid against a tool's ``parameters``; ``{}`` when that is not an object schema."""
    value = value_for(parameters, rng) if isinstance(parameters, dict) else {}
    return value if isinstance(value, dict) else {}


def value_for(schema: Any, rng: random.Random) -> Any:
    """``from_schema``, or ``{}`` for a schema nested too deep to walk (the request is hostile)."""
    try:
        return from_schema(schema, rng)
    except RecursionError:
        return {}
