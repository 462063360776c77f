"""The two profiles as data: ``sansa`` (the spec) and ``openai`` (its closing section).

Rules read these fields instead of testing the profile's name, so a third profile is a new
entry here, not an edit of every rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UsageError

__all__ = ["PROFILES", "Profile", "get_profile"]


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    finish_reasons: frozenset[str]
    chunk_schema: str
    error_schema: str
    stream_error_schema: str
    # sansa: usage on the last chunk, always. openai: only when the request asked
    # (stream_options.include_usage), on a chunk at or after the last finish.
    usage_always: bool
    # openai: an event with choices: [], no usage and another `object` is an annotation
    # (Azure's prompt_filter_results), skipped like the OpenAI SDKs skip it.
    annotations: bool
    # openai: an error event's own `choices` are ignored; it finishes every open choice and
    # may end the stream without [DONE].
    error_may_end_stream: bool
    description: str


SANSA = Profile(
    name="sansa",
    finish_reasons=frozenset({"stop", "length", "tool_calls", "error"}),
    chunk_schema="chunk.json",
    error_schema="error.json",
    stream_error_schema="stream-error.json",
    usage_always=True,
    annotations=False,
    error_may_end_stream=False,
    description="the spec (shared/spec/streaming.md): usage always on the last chunk, errors end with [DONE]",
)

OPENAI = Profile(
    name="openai",
    finish_reasons=frozenset({"stop", "length", "tool_calls", "error", "content_filter", "function_call"}),
    chunk_schema="chunk.openai.json",
    error_schema="error.openai.json",
    stream_error_schema="stream-error.openai.json",
    usage_always=False,
    annotations=True,
    error_may_end_stream=True,
    description="OpenAI's own behaviour: usage on request, annotations skipped, errors may end the stream",
)

PROFILES: dict[str, Profile] = {p.name: p for p in (SANSA, OPENAI)}


def get_profile(name: str | None) -> Profile:
    if name is None:
        return SANSA
    try:
        return PROFILES[name]
    except KeyError:
        raise UsageError(f"unknown profile {name!r}; choose one of: {', '.join(PROFILES)}") from None
