"""What the reference endpoint answers: a plan per choice, then chunk payloads or one object.

``plan_answer`` decides the content (text, tool calls, reasoning, structured JSON) from a
validated request; ``iter_payloads`` turns the plan into the stream's payloads in order, as
dicts plus the literal ``"[DONE]"``, exactly as streaming.md says for the profile;
``completion_object`` is the ``stream: false`` answer. Payloads come from a generator so a
100,000-word benchmark answer is never held as 100,000 dicts at once.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .generate import (
    answer_words,
    count_prompt_tokens,
    message_text,
    rng_for,
    seed_of,
    split_text,
    tool_arguments,
    value_for,
)

__all__ = ["DONE", "Answer", "ChoicePlan", "ToolCallPlan", "completion_object", "iter_payloads", "plan_answer"]

DONE = "[DONE]"
DEFAULT_WORDS = 24
# "Write about 40 words on...": the last user message may ask for a length, as the live text
# scenario does (long enough for sse.incremental to judge delivery). Bounded like x_length
# is, so a prompt cannot ask for an endless answer.
ASKED_WORDS = re.compile(r"\b(\d{1,4}) words\b")
MAX_ASKED_WORDS = 2000
FINGERPRINT = "fp_reference"


@dataclass
class ToolCallPlan:
    id: str
    name: str
    fragments: list[str]  # the JSON arguments, cut in pieces of 4-7 characters

    @property
    def arguments(self) -> str:
        return "".join(self.fragments)


@dataclass
class ChoicePlan:
    reasoning: list[str] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    calls: list[ToolCallPlan] = field(default_factory=list)
    finish: str = "stop"
    reasoning_tokens: int = 0  # words of reasoning (several per chunk)

    @property
    def tokens(self) -> int:
        """Completion tokens: a word or fragment each, reasoning included."""
        return self.reasoning_tokens + len(self.content) + sum(len(c.fragments) for c in self.calls)


@dataclass
class Answer:
    kind: str  # the scenario kind faults select on: text, length, tools, parallel-tools, ...
    choices: list[ChoicePlan]
    usage: dict[str, Any]
    id: str
    created: int
    model: str


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
        return None
    return int(value)


def _reasoning_on(req: dict[str, Any]) -> bool:
    r = req.get("reasoning")
    if isinstance(r, dict):
        if r.get("exclude") is True or r.get("enabled") is False:
            return False
        return r.get("effort") is not None or r.get("enabled") is True or r.get("max_tokens") is not None
    effort = req.get("reasoning_effort")
    return isinstance(effort, str) and effort != "none"


def _chosen_tools(req: dict[str, Any]) -> list[dict[str, Any]]:
    """The function objects to call, in call order; [] for a text answer."""
    tools = [t["function"] for t in req.get("tools") or []]
    choice = req.get("tool_choice")
    if not tools or choice == "none":
        return []
    if isinstance(choice, dict):
        name = choice["function"]["name"]
        return [f for f in tools if f["name"] == name][:1]
    users = [m for m in req["messages"] if isinstance(m, dict) and m.get("role") == "user"]
    said = message_text(users[-1]).lower() if users else ""
    mentioned = [f for f in tools if f["name"].lower() in said]
    if choice != "required" and not mentioned and "tool" not in said:
        return []
    ordered = mentioned + [f for f in tools if f not in mentioned]
    return ordered[: 2 if req.get("parallel_tool_calls") is not False else 1]


def _asked_words(messages: list[Any]) -> int | None:
    """The answer length the last user message asks for ("about 40 words"), if any."""
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    found = ASKED_WORDS.search(message_text(users[-1])) if users else None
    if found is None or int(found.group(1)) == 0:
        return None
    return min(int(found.group(1)), MAX_ASKED_WORDS)


def _plan_choice(req: dict[str, Any], k: int, tools: list[dict[str, Any]]) -> ChoicePlan:
    messages = req["messages"]
    rng = rng_for(messages, k)
    plan = ChoicePlan()
    if _reasoning_on(req):
        words = answer_words(rng, rng.randint(3, 5) * 3)
        plan.reasoning = ["".join(words[i : i + 3]) for i in range(0, len(words), 3)]
        plan.reasoning_tokens = len(words)
    if tools:
        for i, fn in enumerate(tools):
            args = json.dumps(tool_arguments(fn.get("parameters"), rng), ensure_ascii=False)
            call_id = f"call_{seed_of(messages, k, i, fn['name']):016x}"
            plan.calls.append(ToolCallPlan(call_id, fn["name"], split_text(args, rng, 4, 7)))
        plan.finish = "tool_calls"
        return plan
    fmt = req.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        value = value_for(fmt["json_schema"].get("schema") or {"type": "object"}, rng)
        plan.content = split_text(json.dumps(value, ensure_ascii=False), rng, 3, 9)
    elif fmt.get("type") == "json_object":
        answer = "".join(answer_words(rng, 6))
        plan.content = split_text(json.dumps({"answer": answer}, ensure_ascii=False), rng, 3, 9)
    else:
        plan.content = answer_words(rng, _int(req.get("x_length")) or _asked_words(messages) or DEFAULT_WORDS)
    limit = _int(req.get("max_tokens")) or _int(req.get("max_completion_tokens"))
    if limit is not None and limit < len(plan.content):
        plan.content = plan.content[:limit]
        plan.finish = "length"
    return plan


def _kind(req: dict[str, Any], first: ChoicePlan) -> str:
    if first.calls:
        return "parallel-tools" if len(first.calls) > 1 else "tools"
    if (req.get("response_format") or {}).get("type") == "json_schema":
        return "structured"
    if first.reasoning:
        return "reasoning"
    if first.finish == "length":
        return "length"
    if req.get("stream_options") is not None:
        return "stream-options"
    return "text"


def plan_answer(req: dict[str, Any], profile: str) -> Answer:
    """Everything the answer will say, for a request that passed validation."""
    tools = _chosen_tools(req)
    choices = [_plan_choice(req, k, tools) for k in range(_int(req.get("n")) or 1)]
    prompt = count_prompt_tokens(req["messages"])
    completion = sum(c.tokens for c in choices)
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    reasoning = sum(c.reasoning_tokens for c in choices)
    if reasoning:  # counted inside completion_tokens, so the total still adds up
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
    prefix = "chatcmpl-" if profile == "openai" else "gen-ref-"
    answer_id = f"{prefix}{seed_of(req['messages'], req.get('model')):016x}"
    return Answer(_kind(req, choices[0]), choices, usage, answer_id, int(time.time()), str(req["model"]))


def _deltas(plan: ChoicePlan) -> Iterator[dict[str, Any]]:
    """One choice's deltas, in order: role, reasoning, then content or tool calls."""
    yield {"role": "assistant", "content": None if plan.calls else ""}
    for text in plan.reasoning:
        detail = {"type": "reasoning.text", "text": text, "format": "unknown", "index": 0}
        yield {"reasoning": text, "reasoning_details": [detail]}
    for piece in plan.content:
        yield {"content": piece}
    for i, call in enumerate(plan.calls):
        head = {"index": i, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        yield {"tool_calls": [head]}
    for step in range(max((len(c.fragments) for c in plan.calls), default=0)):
        for i, call in enumerate(plan.calls):  # parallel calls interleave: 0, 1, 0, 1...
            if step < len(call.fragments):
                yield {"tool_calls": [{"index": i, "function": {"arguments": call.fragments[step]}}]}


def iter_payloads(answer: Answer, profile: str, include_usage: bool) -> Iterator[dict[str, Any] | str]:
    """The stream's payloads. Choices take turns (n > 1); usage as the profile wants it."""
    openai = profile == "openai"
    top: dict[str, Any] = {"id": answer.id, "object": "chat.completion.chunk", "created": answer.created, "model": answer.model}
    if openai:
        top["system_fingerprint"] = FINGERPRINT

    def chunk(choices: list[dict[str, Any]]) -> dict[str, Any]:
        out = {**top, "choices": choices}
        if openai:
            out["usage"] = None
        return out

    def choice(i: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        if openai:
            delta = {k: v for k, v in delta.items() if k != "reasoning_details"}
        return {"index": i, "delta": delta, "finish_reason": finish}

    streams = {i: _deltas(plan) for i, plan in enumerate(answer.choices)}
    pending: dict[str, Any] | None = None
    while streams:
        for i in list(streams):
            delta = next(streams[i], None)
            if delta is None:
                del streams[i]
                current = chunk([choice(i, {}, answer.choices[i].finish)])
            else:
                current = chunk([choice(i, delta)])
            if pending is not None:
                yield pending
            pending = current
    assert pending is not None
    if not openai:
        pending["usage"] = dict(answer.usage)  # sansa: on the last chunk, always
    yield pending
    if openai and include_usage:
        yield {**top, "choices": [], "usage": dict(answer.usage)}
    yield DONE


def completion_object(answer: Answer, profile: str) -> dict[str, Any]:
    """The ``stream: false`` answer: one chat.completion object."""
    choices = []
    for i, plan in enumerate(answer.choices):
        message: dict[str, Any] = {"role": "assistant", "content": "".join(plan.content) if not plan.calls else None}
        if plan.calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in plan.calls
            ]
        if plan.reasoning and profile != "openai":
            message["reasoning"] = "".join(plan.reasoning)
        choices.append({"index": i, "message": message, "finish_reason": plan.finish})
    out: dict[str, Any] = {"id": answer.id, "object": "chat.completion", "created": answer.created, "model": answer.model}
    if profile == "openai":
        out["system_fingerprint"] = FINGERPRINT
    out["choices"] = choices
    out["usage"] = dict(answer.usage)
    return out
