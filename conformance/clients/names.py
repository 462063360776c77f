"""The replayed clients, by name (the rule id is ``client.<name>``)."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import UsageError

__all__ = ["CLIENTS", "DESCRIPTIONS", "NODE_CLIENTS", "PYTHON_CLIENTS", "parse_clients"]

PYTHON_CLIENTS = ("openai-python", "openai-python-stream", "httpx-sse")
NODE_CLIENTS = ("openai-node", "openai-node-stream", "vercel-ai")
CLIENTS = PYTHON_CLIENTS + NODE_CLIENTS

DESCRIPTIONS = {
    "openai-python": "openai-python: raw iteration of chat.completions.create(stream=True)",
    "openai-python-stream": "openai-python: the chat.completions.stream() accumulator (get_final_completion)",
    "httpx-sse": "httpx-sse: EventSource.iter_sse() and json.loads of each data",
    "openai-node": "openai-node: raw iteration of chat.completions.create({stream: true})",
    "openai-node-stream": "openai-node: the chat.completions.stream() accumulator (ChatCompletionStream.finalChatCompletion)",
    "vercel-ai": "Vercel AI SDK: streamText's fullStream over @ai-sdk/openai-compatible",
}

GROUPS: dict[str, tuple[str, ...]] = {"all": CLIENTS, "python": PYTHON_CLIENTS, "node": NODE_CLIENTS, "none": ()}


def parse_clients(values: Iterable[str] | str | bool | None) -> tuple[str, ...]:
    """``--clients`` / ``clients = [...]`` -> client names in report order.

    Accepts names, the groups ``all``, ``python``, ``node`` and ``none``, comma-separated or as a list;
    ``True`` means all, ``None``/``False``/empty means none. An unknown name is a usage error.
    """
    if values is None or values is False:
        return ()
    if values is True:
        return CLIENTS
    if isinstance(values, str):
        values = [values]
    wanted: set[str] = set()
    for value in values:
        if not isinstance(value, str):
            raise UsageError(f"clients must be names (strings), not {value!r}")
        for name in (v.strip() for v in value.split(",")):
            if not name:
                continue
            if name in GROUPS:
                wanted.update(GROUPS[name])
            elif name in CLIENTS:
                wanted.add(name)
            else:
                raise UsageError(f"unknown client {name!r}; clients: {', '.join(CLIENTS)} (or all, python, node, none)")
    return tuple(c for c in CLIENTS if c in wanted)
