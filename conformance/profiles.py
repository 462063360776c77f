"""Profiles: the dialect a stream is judged by.

``sansa`` (the spec) is the root and lives here, in Python: every field a dialect can set
starts from it, and rules name it (``Rule.profiles``). Every other profile is a TOML file
that ``extends`` a built-in one (``conformance/dialects/*.toml``, or the user's own file;
the format is in README.md, "Dialects", and the loader in ``dialects/``). Rules read the
fields below instead of testing a profile's name, so a new dialect is a file, not an edit
of every rule.

A dialect can also switch rules off or demote them to warnings (each with a reason), and
name the quirks its provider is known for, so that a finding on one says what it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, Literal, TypeGuard

from .errors import UsageError
from .findings import FAIL, WARN, WARNING, Finding, RuleResult
from .sse import Event

__all__ = ["BUILTIN", "DEMOTE", "PROFILE_HELP", "PROFILES", "SWITCH_OFF", "Action", "Override", "Profile", "Quirk", "get_profile", "is_action", "profile_choices"]

# What a dialect may do to a rule, as its TOML spells it (action = "off" | "warn"). Named for
# the act, not WARN: findings.WARN is a rule's *status* and has the same value.
Action = Literal["off", "warn"]
SWITCH_OFF: Final = "off"
DEMOTE: Final = "warn"


def is_action(value: object) -> TypeGuard[Action]:
    """A dialect's ``action`` as read from TOML is a str; this is the check that makes it an Action."""
    return value in (SWITCH_OFF, DEMOTE)
USAGE_POLICIES = ("always", "requested", "optional")


@dataclass(frozen=True, slots=True)
class Override:
    """A rule a profile switches off (judged n/a) or demotes (its failures become warnings)."""

    rule: str
    action: Action
    reason: str
    profile: str  # the profile that states it (a dialect inherits its base's overrides)


@dataclass(frozen=True, slots=True)
class Quirk:
    """A known behaviour of a provider, named so that a finding on it says what it is.

    A finding of one of ``rules`` is this quirk when its JSON path matches ``finding_path``
    (``[*]`` stands for any index) and the offending event's payload meets every condition
    of ``where`` (``(path, test, value)``: test is equals, null or present).
    """

    name: str
    explanation: str
    rules: tuple[str, ...]
    profile: str
    finding_path: str | None = None
    where: tuple[tuple[str, str, Any], ...] = ()

    def matches(self, rule: str, path: str | None, payload: Any) -> bool:
        if rule not in self.rules:
            return False
        if self.finding_path is not None and (path is None or not _path_regex(self.finding_path).fullmatch(path)):
            return False
        return all(_holds(payload, p, test, value) for p, test, value in self.where)


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    finish_reasons: frozenset[str]
    chunk_schema: str
    error_schema: str
    stream_error_schema: str
    # always: usage on the last chunk, every time (sansa). requested: only when the request
    # asks (stream_options.include_usage), on a chunk at or after the last finish (openai).
    # optional: placed as under requested, but never required.
    usage: str
    # an event with choices: [], no usage and another `object` is an annotation (Azure's
    # prompt_filter_results), skipped like the OpenAI SDKs skip it.
    annotations: bool
    # an error event's own `choices` are ignored; it finishes every open choice and may end
    # the stream without [DONE].
    error_may_end_stream: bool
    description: str
    extends: str | None = None
    file: str | None = None  # the TOML file it was read from (None: sansa)
    lineage: tuple[str, ...] = ()  # this profile's name, then its bases' up to sansa
    overrides: tuple[Override, ...] = ()
    quirks: tuple[Quirk, ...] = ()

    @property
    def usage_always(self) -> bool:
        return self.usage == "always"

    def covers(self, rule_profiles: frozenset[str]) -> bool:
        """A rule written for a built-in profile applies to every dialect that extends it."""
        return any(name in rule_profiles for name in self.lineage)

    def override_for(self, rule: str) -> Override | None:
        for o in self.overrides:
            if o.rule == rule:
                return o
        return None

    def quirk_for(self, rule: str, path: str | None, payload: Any) -> Quirk | None:
        for quirk in self.quirks:
            if quirk.matches(rule, path, payload):
                return quirk
        return None

    def switched_off(self, rule: str) -> str | None:
        """The n/a reason when this profile switches ``rule`` off."""
        o = self.override_for(rule)
        if o is None or o.action != SWITCH_OFF:
            return None
        return f"switched off by profile {o.profile}: {o.reason}"

    def adjust(self, result: RuleResult, events: Mapping[int, Event]) -> RuleResult:
        """A rule's result as this dialect reads it: the error findings of a demoted rule
        become warnings whose severity_reason says who demoted them and why, and a finding on
        a known quirk names it. ``events``: the events the findings cite, by index (the judge
        keeps those, never every event)."""
        if not result.findings:
            return result
        o = self.override_for(result.rule)
        if o is None and not self.quirks:
            return result
        note = f"demoted by profile {o.profile}: {o.reason}" if o is not None and o.action == DEMOTE else None
        payloads: dict[int, Any] = {}
        findings: list[Finding] = []
        for f in result.findings:
            message = f.message
            if self.quirks:
                if f.event is not None and f.event not in payloads and f.event in events:
                    payloads[f.event] = payload_of(events[f.event].data)
                quirk = self.quirk_for(f.rule, f.path, payloads.get(f.event) if f.event is not None else None)
                if quirk is not None:
                    message += f"\nKnown quirk of profile {quirk.profile} ({quirk.name}): {quirk.explanation}"
            if note is not None and f.severity != WARNING:
                # composes with a conditional severity: the rule's own reason stays visible
                why = note if f.severity_reason is None else f"{note} (without it: {f.severity_reason})"
                findings.append(replace(f, severity=WARNING, message=message, severity_reason=why))
            else:
                findings.append(replace(f, message=message) if message != f.message else f)
        if note is None:
            return RuleResult(result.rule, result.severity, result.status, findings, result.total, result.reason)
        status = WARN if result.status == FAIL else result.status
        return RuleResult(result.rule, WARNING, status, findings, result.total, note)

    def summary(self) -> dict[str, Any]:
        """What reports show about the profile: name, file, base, overrides, quirks."""
        return {
            "name": self.name,
            "file": self.file,
            "extends": self.extends,
            "demoted": [{"rule": o.rule, "reason": o.reason, "by": o.profile} for o in self.overrides if o.action == DEMOTE],
            "switched_off": [{"rule": o.rule, "reason": o.reason, "by": o.profile} for o in self.overrides if o.action == SWITCH_OFF],
            "quirks": [{"name": q.name, "rules": list(q.rules), "explanation": q.explanation} for q in self.quirks],
        }


SANSA = Profile(
    name="sansa",
    finish_reasons=frozenset({"stop", "length", "tool_calls", "error"}),
    chunk_schema="chunk.json",
    error_schema="error.json",
    stream_error_schema="stream-error.json",
    usage="always",
    annotations=False,
    error_may_end_stream=False,
    description="the spec (shared/spec/streaming.md): usage always on the last chunk, errors end with [DONE]",
    lineage=("sansa",),
)

# built-in dialects: package data beside the loader, in the order they may extend each other
BUILTIN = ("openai", "azure", "openrouter", "xai")


def _path_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(re.escape(pattern).replace(r"\[\*\]", r"\[\d+\]"))


def _walk(value: Any, parts: list[str]) -> list[tuple[bool, Any]]:
    """Every (present, value) the path reaches; ``[*]`` fans out over a list, ``[2]`` picks."""
    if not parts:
        return [(True, value)]
    head, rest = parts[0], parts[1:]
    if head == "[*]":
        if not isinstance(value, list):
            return [(False, None)]
        return [hit for item in value for hit in _walk(item, rest)] or [(False, None)]
    if head.startswith("["):
        n = int(head[1:-1])
        if not isinstance(value, list) or n >= len(value):
            return [(False, None)]
        return _walk(value[n], rest)
    if not isinstance(value, dict) or head not in value:
        return [(False, None)]
    return _walk(value[head], rest)


def split_path(path: str) -> list[str] | None:
    """``$.choices[*].delta.role`` -> ``["choices", "[*]", "delta", "role"]``; None when it
    is not a JSON path of keys, ``[*]`` and ``[N]``."""
    if not path.startswith("$"):
        return None
    parts = [p for p in re.split(r"\.|(\[\*\]|\[\d+\])", path[1:]) if p]
    if not parts or any(("[" in p or "]" in p) and not re.fullmatch(r"\[(\*|\d+)\]", p) for p in parts):
        return None
    return parts


def _holds(payload: Any, path: str, test: str, value: Any) -> bool:
    """Some value the path reaches passes the test (any element, for ``[*]``)."""
    hits = _walk(payload, split_path(path) or [])
    if test == "present":
        return any(present for present, _ in hits) is bool(value)
    if test == "null":
        return any(present and got is None for present, got in hits)
    return any(present and got == value and type(got) is type(value) for present, got in hits)


def payload_of(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


_LOADED: dict[str, Profile] = {"sansa": SANSA}


def _builtin(name: str) -> Profile:
    from .dialects import builtin_path, load_file

    profile = load_file(builtin_path(name), get_profile, f"conformance/dialects/{name}.toml")
    _LOADED[name] = profile
    return profile


def get_profile(name: str | None, relative_to: str | Path | None = None) -> Profile:
    """A built-in profile by name, or a dialect's TOML file by path (relative to
    ``relative_to``, e.g. a sidecar's folder, else the working directory)."""
    if name is None:
        return SANSA
    if not isinstance(name, str):
        raise UsageError(f"a profile is a name or a .toml path, not {name!r}")
    if name in _LOADED:
        return _LOADED[name]
    if name in BUILTIN:
        return _builtin(name)
    if not name.endswith(".toml"):
        raise UsageError(f"unknown profile {name!r}; choose one of: {', '.join(profile_choices())}, or a dialect's .toml file")
    from .dialects import load_file

    path = Path(name)
    if relative_to is not None and not path.is_absolute():
        path = Path(relative_to) / path
    key = str(path.resolve())
    if key not in _LOADED:
        _LOADED[key] = load_file(path, get_profile)
    return _LOADED[key]


def profile_choices() -> list[str]:
    return ["sansa", *BUILTIN]


# the built-in profile names (get_profile loads each dialect file on first use)
PROFILES: tuple[str, ...] = ("sansa", *BUILTIN)
PROFILE_HELP = f"a built-in profile ({', '.join(PROFILES)}) or a dialect's .toml file"
