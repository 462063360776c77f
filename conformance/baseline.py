"""Gating on "no new failure": compare a run with a baseline compliance.json.

An endpoint that knowingly deviates (a gateway that drops usage, a server that never sends
it) cannot gate CI on "no failure" until it fixes everything; like web-platform-tests'
expectation files or a type checker's baseline, it gates on *no new failure*. A failure is a
rule whose status is ``fail`` for one exchange id; it is ``known`` when the baseline has the
same exchange id and rule failing, else ``new``.

Pure: documents in, a ``Comparison`` out. ``run --baseline``, ``validate --baseline``, the
pytest plugin's ``--sse-baseline`` and ``sse-conformance diff`` all use it, so they agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError

__all__ = [
    "BASELINE_FORMAT", "Comparison", "annotate", "compare", "failures_of", "load_baseline", "render_text", "statuses_of",
]

BASELINE_FORMAT = 1  # the compliance.json format this module reads (report/collector.py writes it)
MAX_BASELINE = 64 * 1024 * 1024  # a compliance.json of thousands of exchanges is a few MB

Key = tuple[str, str]  # (exchange id, rule id)
Statuses = Mapping[str, Mapping[str, str]]  # exchange id -> rule id -> status


@dataclass(frozen=True)
class Comparison:
    """Where each failure of this run stands against the baseline, and what the baseline had
    that this run no longer shows."""

    new: tuple[Key, ...] = ()  # fails now, did not fail in the baseline
    known: tuple[Key, ...] = ()  # fails now and failed in the baseline
    fixed: tuple[Key, ...] = ()  # failed in the baseline, judged now and no longer fails
    unchecked: tuple[Key, ...] = ()  # failed in the baseline; exchange ran, rule not judged now (skipped, deselected)
    missing: tuple[str, ...] = ()  # exchanges of the baseline this run lacks
    source: str | None = None  # where the baseline came from, for messages
    _marks: dict[Key, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.new

    def mark(self, exchange: str, rule: str) -> str | None:
        """``new`` or ``known`` for a failure of this run, None for anything else."""
        return self._marks.get((exchange, rule))

    def to_json(self) -> dict[str, Any]:
        """The ``baseline`` object of compliance.json (and of ``diff --format json``)."""
        def pairs(keys: Iterable[Key]) -> list[dict[str, str]]:
            return [{"exchange": e, "rule": r} for e, r in keys]

        return {
            "path": self.source, "ok": self.ok, "new": pairs(self.new), "known": pairs(self.known),
            "fixed": pairs(self.fixed), "unchecked": pairs(self.unchecked), "missing": list(self.missing),
        }


def load_baseline(path: str | Path, role: str = "baseline") -> dict[str, Any]:
    """Read a compliance.json to compare against; anything else is the user's mistake (exit 2)."""
    p = Path(path)
    what = f"{role} {p}"
    try:
        if p.stat().st_size > MAX_BASELINE:
            raise UsageError(f"{what}: larger than {MAX_BASELINE // (1024 * 1024)} MiB, not a compliance.json")
        doc = json.loads(p.read_bytes())
    except OSError as exc:
        raise UsageError(f"{what}: cannot be read ({exc.strerror or exc})") from None
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"{what}: not a compliance.json (not JSON: {exc})") from None
    check_document(doc, what)
    return doc  # type: ignore[no-any-return]


def check_document(doc: Any, what: str) -> None:
    """The parts of compliance.json the comparison reads, with the format it was written in."""
    suite = doc.get("suite") if isinstance(doc, dict) else None
    if not isinstance(suite, dict) or suite.get("name") != "sse-conformance":
        raise UsageError(f"{what}: not a compliance.json written by sse-conformance (run --reports, validate --reports, pytest --sse-json)")
    if doc.get("format") != BASELINE_FORMAT:
        raise UsageError(f"{what}: compliance.json format {doc.get('format')!r}; this version reads format {BASELINE_FORMAT}")
    exchanges = doc.get("exchanges")
    if not isinstance(exchanges, list) or not all(
        isinstance(e, dict) and isinstance(e.get("id"), str) and isinstance(e.get("rules"), dict)
        and all(isinstance(v, dict) and isinstance(v.get("status"), str) for v in e["rules"].values())
        for e in exchanges
    ):
        raise UsageError(f"{what}: its exchanges are not the documented shape (each needs an id and rules with a status)")


def statuses_of(doc: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """exchange id -> rule id -> status, from a compliance.json document."""
    return {e["id"]: {rule: res["status"] for rule, res in e["rules"].items()} for e in doc["exchanges"]}


def failures_of(statuses: Statuses) -> set[Key]:
    return {(ex, rule) for ex, rules in statuses.items() for rule, status in rules.items() if status == "fail"}


def compare(baseline: Statuses, current: Statuses, source: str | None = None) -> Comparison:
    """Classify every failure of ``current`` as new or known, and what the baseline had that
    ``current`` no longer fails (fixed), no longer judges (unchecked) or no longer runs (missing)."""
    before = failures_of(baseline)
    now = failures_of(current)
    fixed: list[Key] = []
    unchecked: list[Key] = []
    for ex, rule in sorted(before - now):
        if ex not in current:
            continue  # counted once, as a missing exchange
        status = current[ex].get(rule)
        (unchecked if status in (None, "skipped") else fixed).append((ex, rule))
    new = tuple(sorted(now - before))
    known = tuple(sorted(now & before))
    marks = {k: "new" for k in new} | {k: "known" for k in known}
    missing = tuple(sorted(set(baseline) - set(current)))
    return Comparison(new, known, tuple(fixed), tuple(unchecked), missing, source, marks)


def annotate(doc: dict[str, Any], comparison: Comparison) -> dict[str, Any]:
    """Mark a compliance.json in place: ``baseline: new|known`` on each failed rule, and the
    top-level ``baseline`` object (fields added within format 1)."""
    for ex in doc["exchanges"]:
        for rule, res in ex["rules"].items():
            mark = comparison.mark(ex["id"], rule)
            if mark is not None:
                res["baseline"] = mark
    doc["baseline"] = comparison.to_json()
    return doc


def _lines(title: str, keys: Iterable[Key]) -> list[str]:
    keys = list(keys)
    return [f"{title} ({len(keys)}):"] + [f"  {ex}::{rule}" for ex, rule in keys] if keys else []


def render_text(comparison: Comparison) -> str:
    """The comparison for a terminal: new failures first, since they decide the exit code."""
    c = comparison
    head = f"against baseline {c.source}: " if c.source else "against the baseline: "
    verdict = (f"{len(c.new)} new failure(s)" if c.new else "no new failure") + f", {len(c.known)} known, {len(c.fixed)} fixed"
    lines = [head + verdict]
    lines += _lines("new failures (not in the baseline)", c.new)
    lines += _lines("known failures (also in the baseline)", c.known)
    lines += _lines("fixed (failed in the baseline, hold now)", c.fixed)
    lines += _lines("not judged now (failed in the baseline; rule skipped or deselected)", c.unchecked)
    if c.missing:
        lines.append(f"exchanges of the baseline this run lacks ({len(c.missing)}):")
        lines += [f"  {ex}" for ex in c.missing]
    return "\n".join(lines) + "\n"
