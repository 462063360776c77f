"""The fault registry: the ``Fault`` record, the table of transformations, and applying one.

The faults themselves live in ``payload_faults`` (edits of the chunks) and ``wire_faults``
(headers, framing and delivery); ``faults`` imports both, which registers them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .framing import Wire

__all__ = ["ALL_KINDS", "ERROR_KINDS", "FAULTS", "TEXT", "TOOLS", "Fault", "FaultContext", "apply_fault", "error_kind", "fault"]

ALL_KINDS = ("text", "length", "tools", "parallel-tools", "reasoning", "structured", "stream-options")
TEXT = ("text", "length", "stream-options")  # plain-text answers, whatever else the request set
TOOLS = ("tools", "parallel-tools")
# Pre-stream errors are answers too: a fault of one of these kinds bends the error the
# endpoint gives for that cause (named as the live scenario that provokes it).
ERROR_KINDS = ("bad-key", "no-credits", "invalid-params")


def error_kind(code: str) -> str:
    """The kind of a pre-stream error, from its error code."""
    return {"invalid_api_key": "bad-key", "insufficient_credits": "no-credits"}.get(code, "invalid-params")


@dataclass(frozen=True)
class Fault:
    """One way to break a stream (or, ``legal``, to frame it awkwardly but correctly).

    ``rules``: every rule id that fails or warns when the fault acts, judged under profile
    ``sansa``; ``kinds``: the answer kinds it acts on (``ALL_KINDS``, or the pre-stream
    errors' ``ERROR_KINDS``). Answer kinds are not live scenario names: the kind ``tools``
    answers the live scenario ``tool-call``. A fault whose rules are judged only on what a
    live run names (scenario.exercised, run.endpoint-usable, error.pre-stream-status,
    request.*-accepted) lists what the run sees under that name; the others, what a
    recording of the answer shows.
    """

    name: str
    description: str
    rules: tuple[str, ...]
    kinds: tuple[str, ...]
    legal: bool = False
    # acts only on some requests of its kinds (says which): fixed scenarios may not trigger
    # it; generated request variants must find it
    conditional: str | None = None


@dataclass(frozen=True)
class FaultContext:
    """What a transformation may need besides the wire."""

    request: dict[str, Any]
    profile: str


Transform = Callable[[Wire, FaultContext], None]
_TRANSFORMS: dict[str, Transform] = {}
FAULTS: dict[str, Fault] = {}


def fault(
    name: str, description: str, rules: tuple[str, ...], kinds: tuple[str, ...], legal: bool = False, conditional: str | None = None
) -> Callable[[Transform], Transform]:
    """Register a transformation under ``name``; a duplicate name is a programming error."""

    def register(fn: Transform) -> Transform:
        if name in FAULTS:
            raise ValueError(f"duplicate fault {name!r}")
        FAULTS[name] = Fault(name, description, rules, kinds, legal, conditional)
        _TRANSFORMS[name] = fn
        return fn

    return register


def apply_fault(name: str, wire: Wire, ctx: FaultContext, kind: str) -> bool:
    """Apply fault ``name`` if it acts on answers of ``kind``; True when it did."""
    if kind not in FAULTS[name].kinds:
        return False
    _TRANSFORMS[name](wire, ctx)
    return True

