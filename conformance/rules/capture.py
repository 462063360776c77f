"""The suite's own limits: a capture cut short is a finding, never a crash or a hang; an
endpoint that refuses the plain request is one clear failure with its likely cause."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

from ..exchange import Exchange
from ..findings import Violation
from ..stream import AssembledChoice
from . import ANY, rule
from .fold import End, Fold
from .wording import expected_received

PLAIN = "text"  # the live scenario every other one builds on


def _gist(body: bytes) -> str:
    """What the refusal said: the JSON error's message when there is one, else the body's start."""
    try:
        obj = json.loads(body[:65536])
        message = obj.get("error", {}).get("message") if isinstance(obj.get("error"), dict) else obj.get("error") or obj.get("message")
        if isinstance(message, str) and message.strip():
            return repr(message[:300])
    except (ValueError, AttributeError, RecursionError):
        pass
    text = " ".join(body[:300].decode("utf-8", "replace").split())
    return repr(text) if text else "an empty body"


def _cause(ex: Exchange) -> str:
    """The likely cause of a refused plain request, and where to look."""
    status = ex.status or 0
    key_env = ex.extra.get("api_key_env") or "SSE_CONFORMANCE_API_KEY"
    model = (ex.request or {}).get("model")
    if status in (401, 403):
        return f"the API key: ${key_env} (set with --api-key-env) is missing, wrong or lacks access to this endpoint."
    if status == 404:
        return f"the URL or the model: the base URL usually ends in /v1 (--endpoint https://host/v1), and model={model!r} must exist there (--model)."
    if status in (400, 422) and b"model" in ex.read(0, 65536).lower():
        return f"the model name: model={model!r} is not one this endpoint serves (--model)."
    if status in (400, 422):
        return "the request: the endpoint rejects a plain chat completion with stream: true; check the extra headers and its docs."
    if status == 402:
        return "the account's credits or billing."
    if status == 429:
        limited = ex.extra.get("rate_limited") or {}
        tried = f" after {limited.get('retries', 0)} retries over {limited.get('waited', 0):g} s" if limited else ""
        asked = f" (Retry-After: {limited['retry_after']})" if limited.get("retry_after") else ""
        return f"rate limiting{tried}{asked}: the key's request rate or quota is exhausted; rerun later or raise the limit."
    if status >= 500:
        return "the upstream: the endpoint, or the provider it forwards to, failed; retry later or check its logs."
    return "unknown: see the status and the body above."


def refusal(ex: Exchange) -> str | None:
    """Why the endpoint did not answer a request with a stream (no answer, a redirect, a
    non-2xx status), with the likely cause; None when it answered."""
    if ex.status is None:
        if ex.headers is not None or not ex.problem or ex.extra.get("not_sent"):
            return None  # a bare recorded body, or a request the run never sent
        problem = ex.problem
        cause = "the URL or port: nothing accepts connections there (--endpoint)." if "Could not connect" in problem else "the network path, or an endpoint that hangs."
        return f"The request got no answer: {problem}\nLikely cause: {cause}"
    if 300 <= ex.status < 400:
        where = ex.header("location")
        to = f"to {where}" if where else "with no Location header"
        return f"The request was redirected ({ex.status}) {to}: the suite does not follow redirects.\nPoint --endpoint there{'' if where else ' (ask the endpoint where)'}."
    if ex.is_stream:
        return None
    what = "the plain text request" if ex.scenario == PLAIN else "the request"
    return f"The endpoint refused {what} with status {ex.status}: {_gist(ex.read(0, 65536))}\nLikely cause: {_cause(ex)}"


def _complete_applies(end: End) -> str | None:
    ex = end.exchange
    if ex.extra.get("not_sent"):
        return str(ex.extra["not_sent"])
    if ex.scenario == PLAIN and ex.status is None and refusal(ex):
        return "the plain request got no answer: judged by run.endpoint-usable"
    return None


@rule(
    "capture.complete",
    section="suite",
    title="The capture is complete: no transport failure, no redirect, no size limit reached.",
    why="What the suite could not read it cannot judge; an endpoint that sends endless or enormous lines must not pass by default.",
    scope=ANY,
    applies=_complete_applies,
    without_response=True,
)
class Complete(Fold):
    def finish(self, end: End) -> Iterator[Violation]:
        ex = end.exchange
        if ex.problem:
            yield Violation(ex.problem)
        if ex.status is not None and 300 <= ex.status < 400 and ex.scenario != PLAIN:  # on text: run.endpoint-usable
            yield Violation(refusal(ex) or "")
        for offset, length in end.oversized:
            yield Violation(
                expected_received(
                    f"A line exceeds the {end.max_line:,}-byte line limit; it was skipped unjudged.",
                    expected=f"lines of at most {end.max_line:,} bytes",
                    received=f"a line of {length:,} bytes",
                ),
                offset=offset,
            )


def _usable_applies(end: End) -> str | None:
    ex = end.exchange
    if ex.extra.get("not_sent"):
        return str(ex.extra["not_sent"])
    if ex.scenario == PLAIN or ex.status == 429:
        return None
    return "judged on the plain text scenario (every other one builds on it) and on rate-limited answers"


@rule(
    "run.endpoint-usable",
    section="suite",
    title="The endpoint answers the plain text request with a stream (and does not rate-limit the run away).",
    why="Every other scenario builds on the plain request: when a wrong key, URL or model refuses it, one clear failure with the cause "
    "beats a page of rules that could not be judged.",
    scope=ANY,
    applies=_usable_applies,
    without_response=True,
)
class EndpointUsable(Fold):
    def finish(self, end: End) -> Iterator[Violation]:
        ex = end.exchange
        found = refusal(ex)
        if found and ex.scenario != PLAIN:  # a rate-limited scenario: the plain one went through
            found = f"The {ex.scenario} scenario was rate limited (status 429): {_gist(ex.read(0, 65536))}\nLikely cause: {_cause(ex)}"
        if found:
            yield Violation(found, offset=0 if end.size else None)


Message = dict[int, AssembledChoice]


def _has_reasoning(message: Message) -> bool:
    return any(m.reasoning or m.reasoning_items for m in message.values())


# What each live scenario provokes, and how to see it in the assembled message.
EXERCISED: dict[str, tuple[str, Callable[[Message], bool]]] = {
    "tool-call": ("a tool call (the request forced one)", lambda msg: any(m.tool_entries for m in msg.values())),
    "parallel-tools": (
        "tool calls (the request asked for two or more, in parallel)",
        lambda msg: any(len(m.tool_calls) >= 2 for m in msg.values()),
    ),
    "length": ("finish_reason 'length' (max_tokens was 5)", lambda msg: any(m.finish_reason == "length" for m in msg.values())),
    "reasoning": ("reasoning (the request switched it on)", _has_reasoning),
    "structured": ("content (a JSON document was asked for)", lambda msg: any(m.content.strip() for m in msg.values())),
}


def _exercising(end: End) -> str | None:
    if end.exchange.scenario not in EXERCISED:
        return "judged on the live scenarios that provoke a feature (tools, length, reasoning, structured)"
    if not end.choices:
        return "the answer has no choices"
    return None


@rule(
    "scenario.exercised",
    section="suite",
    title="A live scenario's answer shows the feature it provoked (else skip the scenario with a reason).",
    why="An endpoint that ignores tools, max_tokens or the reasoning switch would otherwise pass those scenarios untested.",
    severity="warning",
    applies=_exercising,
    live=True,
)
class Exercised(Fold):
    def finish(self, end: End) -> Iterator[Violation]:
        scenario = end.exchange.scenario or ""
        what, seen = EXERCISED[scenario]
        if not seen(end.message):
            calls = max(len(m.tool_calls) for m in end.message.values())
            if scenario == "parallel-tools" and calls == 1:
                yield Violation(
                    "The parallel-tools scenario's answer has one tool call, not two or more: parallel calls (interleaved by "
                    "index) were not exercised.\nIf the endpoint does not call tools in parallel, skip the scenario: "
                    '[tool.sse-conformance] skip = ["parallel-tools"]'
                )
                return
            yield Violation(
                f"The {scenario} scenario's answer has no {what}: the feature was not exercised, so its rules judged nothing.\n"
                f"If the endpoint does not support it, skip the scenario: [tool.sse-conformance] skip = [\"{scenario}\"]"
            )
