"""The rule catalogue: one registered rule per spec rule id.

A rule is a ``Fold`` subclass (rules/fold.py): built up in one pass over the exchange as it
is read, judged at its end. Its registration carries what the judge needs to stamp and
filter: severity, spec section, the profiles it applies to, what it applies to (streams,
pre-stream errors, or both), and an ``applies`` function over ``End`` that returns the
reason a rule cannot be judged (it needs the request, a live run...), or None.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, TypeVar

from ..findings import ERROR, WARNING, Severity
from .fold import Fold

if TYPE_CHECKING:
    from .fold import End

__all__ = ["ANY", "PRESTREAM", "REGISTRY", "STREAM", "Rule", "Scope", "all_rules", "catalogue", "get_rule", "rule"]

Applies = Callable[["End"], "str | None"]
_F = TypeVar("_F", bound=type[Fold])

# What a rule judges: a streamed answer (2xx), a pre-stream error answer (non-2xx), or both.
Scope = Literal["stream", "pre-stream", "any"]
STREAM: Final = "stream"
PRESTREAM: Final = "pre-stream"
ANY: Final = "any"

SECTIONS = {
    "1": "Request",
    "2": "Pre-stream errors",
    "3": "Framing",
    "4": "Chunks",
    "5": "Usage",
    "6": "Mid-stream errors",
    "7": "Tool calls",
    "8": "Reasoning",
    "9": "Structured outputs",
    "10": "Delivery",
    "11": "Client compatibility",
    "suite": "The suite's own limits",
}


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: Severity
    section: str  # spec section number, or "suite"
    title: str  # one line: what must hold
    why: str  # why it matters, which clients break
    check: type[Fold]  # the rule's fold (the class ``rule`` registered)
    applies: Applies | None = None
    scope: Scope = STREAM
    profiles: frozenset[str] = frozenset({"sansa", "openai"})
    live: bool = False  # judged only from what a live run records (timings, provoked cause)
    without_response: bool = False  # judged even when no response arrived at all
    # A conditional severity, in words: ``severity`` is then the highest it can be, and each
    # Violation says which applied and why (compat.no-bom: "error when the dropped first
    # event carries data; warning when it carries only the role").
    severity_note: str | None = None

    @property
    def fold(self) -> type[Fold]:
        """The rule's fold: one instance per exchange (``check``, named for what it does)."""
        return self.check

    @property
    def severity_text(self) -> str:
        """The severity as the catalogue shows it: ``error``, or the conditional's note."""
        return self.severity_note or self.severity

    @property
    def group(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def source(self) -> str:
        if self.section == "suite":
            return "README.md: How it judges (bad input is a finding, never a crash)"
        return f"streaming.md section {self.section} ({SECTIONS[self.section]})"


REGISTRY: dict[str, Rule] = {}


def rule(
    id: str,
    *,
    section: str,
    title: str,
    why: str,
    severity: Severity = ERROR,
    applies: Applies | None = None,
    scope: Scope = STREAM,
    profiles: Iterable[str] = ("sansa", "openai"),
    live: bool = False,
    without_response: bool = False,
    severity_note: str | None = None,
) -> Callable[[_F], _F]:
    """Register the Fold subclass under ``id``; a duplicate id is a programming error.

    ``severity_note`` declares a conditional severity: ``severity`` is the highest the rule
    reports, and the note says when each applies ("error when ...; warning when ...").
    """
    if severity not in (ERROR, WARNING):
        raise ValueError(f"{id}: severity must be error or warning")
    if severity_note is not None and (severity != ERROR or not severity_note.startswith("error when")):
        raise ValueError(f"{id}: a conditional severity declares error, its highest, and a note 'error when ...; warning when ...'")

    def register(check: _F) -> _F:
        old = REGISTRY.get(id)
        # the same function registering again is a module re-import (pytester does that); a
        # different function under a taken id is a mistake
        if old is not None:
            was = old.check
            if (was.__module__, was.__qualname__) != (check.__module__, check.__qualname__):
                raise ValueError(f"duplicate rule id {id!r}")
        if not (isinstance(check, type) and issubclass(check, Fold)):
            raise TypeError(f"{id}: a rule is a Fold subclass (rules/fold.py)")
        REGISTRY[id] = Rule(
            id, severity, section, title, why, check, applies, scope, frozenset(profiles), live, without_response, severity_note
        )
        return check

    return register


_MODULES = ("request", "framing", "chunks", "usage", "error_events", "tools", "reasoning", "structured", "delivery", "compat", "clients", "capture")


_SORTED: list[tuple[tuple[Rule, ...], tuple[Rule, ...]]] = []  # (registry values, catalogue): the last sort


def catalogue() -> tuple[Rule, ...]:
    """Every rule, in spec order: section, then the module's place in ``_MODULES``, then the
    rule's place in its module. The same tuple while the registry does not change (the judge
    keys its per-profile plan on it).

    The order depends on the catalogue alone, never on which module was imported first:
    sections are shared by modules (compat and clients are both section 11), and a test that
    imports ``rules.clients`` before anything calls ``catalogue()`` would otherwise swap them.
    """
    for name in _MODULES:
        importlib.import_module(f"{__name__}.{name}")
    current = tuple(REGISTRY.values())
    if _SORTED and _SORTED[0][0] == current:
        return _SORTED[0][1]

    modules = {f"{__name__}.{name}": n for n, name in enumerate(_MODULES)}
    # a module's rules register in its source order whatever else was imported before, so the
    # registry's order restricted to one module is the module's own order
    position = {rule_id: n for n, rule_id in enumerate(REGISTRY)}  # once, not once per rule

    def order(r: Rule) -> tuple[int, int, str, int]:
        sec = 99 if r.section == "suite" else int(r.section)
        module = r.check.__module__
        # a rule registered outside the catalogue's modules (a test's, a plugin's) sorts after
        # them, by module name, so its place does not depend on import order either
        return (sec, modules.get(module, len(modules)), module, position[r.id])

    ordered = tuple(sorted(current, key=order))
    _SORTED[:] = [(current, ordered)]
    return ordered


def all_rules() -> list[Rule]:
    """Every rule, in spec order (``catalogue``: section, module, place in the module)."""
    return list(catalogue())


def get_rule(rule_id: str) -> Rule:
    all_rules()
    return REGISTRY[rule_id]
