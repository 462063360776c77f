"""What rules say and what the judge concludes.

A rule yields bare ``Violation``s (a message and a location). The judge stamps them with the
rule's metadata into ``Finding``s, and gives every rule an explicit ``RuleResult``: pass, fail,
warn (only warning-level findings) or not applicable, with the reason.

Most rules have one severity. A rule with a conditional severity (``Rule.severity_note``, such
as compat.no-bom: an error when the dropped event carries data, a warning otherwise) yields
each Violation with the severity that applied and the reason; the Finding carries both, so a
report says not only "warning" but why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal, NamedTuple

from .sse import Event

__all__ = [
    "ERROR",
    "FAIL",
    "NA",
    "PASS",
    "SEVERITIES",
    "STATUSES",
    "WARN",
    "WARNING",
    "Finding",
    "RuleResult",
    "Severity",
    "Status",
    "Verdict",
    "Violation",
]

# Literal types, not Enums: these values are written as-is into compliance.json, sidecars and
# reports and compared with plain strings read back from them; a Literal keeps them plain
# ``str`` at run time while mypy still refuses a misspelt "warn" where a severity belongs.
Severity = Literal["error", "warning"]
Status = Literal["pass", "fail", "warn", "n/a"]  # a rule's result: warn = only warning-level findings

ERROR: Final = "error"
WARNING: Final = "warning"
PASS: Final = "pass"
FAIL: Final = "fail"
WARN: Final = "warn"
NA: Final = "n/a"
SEVERITIES: Final[tuple[Severity, ...]] = (ERROR, WARNING)
STATUSES: Final[tuple[Status, ...]] = (PASS, FAIL, WARN, NA)


class Violation(NamedTuple):
    """What a rule yields: the message, and where (an event, or a raw byte offset)."""

    message: str
    event: Event | None = None
    offset: int | None = None
    path: str | None = None  # JSON path inside the event's payload, e.g. $.choices[0].delta.role
    # only for rules with a conditional severity: the severity that applied, and why
    severity: Severity | None = None
    reason: str | None = None  # e.g. "warning: the dropped event carries only the role"


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    event: int | None = None  # the event's index
    offset: int | None = None  # raw-body byte offset
    end: int | None = None  # end of the offending bytes, for excerpts
    path: str | None = None
    severity_reason: str | None = None  # why this severity applied (rules with a conditional severity)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "severity_reason": self.severity_reason,
            "message": self.message,
            "event": self.event,
            "offset": self.offset,
            "path": self.path,
        }


@dataclass(slots=True)
class RuleResult:
    rule: str
    severity: Severity  # the rule's; where it failed, the highest severity among its findings
    status: Status
    findings: list[Finding] = field(default_factory=list)
    total: int = 0  # findings before the cap
    reason: str | None = None  # why not applicable


@dataclass(slots=True)
class Verdict:
    """Everything the judge concluded about one exchange."""

    source: str
    profile: str
    results: list[RuleResult]
    # what a client ends up with, per choice index (stream.AssembledChoice), for reports
    message: dict[int, Any] = field(default_factory=dict)
    # delivery figures in seconds (timing.summarize), when arrival times were captured
    timing: dict[str, Any] | None = None
    arrivals: list[float] = field(default_factory=list)  # event arrival times, for the timeline
    # the profile as reports show it (Profile.summary: name, file, base, demotions, quirks)
    dialect: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """Conforms: no error-level rule failed (warnings do not count)."""
        return not any(r.status == FAIL for r in self.results)

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.results for f in r.findings]

    def result(self, rule: str) -> RuleResult | None:
        for r in self.results:
            if r.rule == rule:
                return r
        return None

    def statuses(self) -> dict[str, Status]:
        return {r.rule: r.status for r in self.results}
