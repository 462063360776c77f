"""The pytest plugin: recordings become test items, one per recording and rule.

``pytest --sse-fixtures PATH`` adds ``recording.sse::rule.id`` items, so that pytest's own
selection (-k), output, JUnit XML, pytest-html and xdist work on recordings. Each recording
is judged once (on first use) and every item reports its own rule's verdict: a failed
error-level rule fails the item, a rule that does not apply skips it with the reason, and a
failed warning-level rule passes with the warning attached to the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .cli import excerpt, location
from .errors import RecordingError
from .exchange import Exchange
from .findings import FAIL, NA, WARN, RuleResult, Verdict
from .judge import judge
from .profiles import PROFILES
from .recordings import iter_recordings, load
from .rules import Rule, all_rules


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sse-conformance", "OpenAI-compatible stream conformance")
    group.addoption(
        "--sse-fixtures",
        action="append",
        default=[],
        metavar="PATH",
        help="judge recorded streams (.sse files or directories, recursively): one test per recording and rule",
    )
    group.addoption(
        "--sse-profile",
        choices=sorted(PROFILES),
        default=None,
        help="profile for recordings (default: each sidecar's, else sansa)",
    )


class RuleFailure(Exception):
    """Raised by a rule item whose error-level rule failed; printed by repr_failure."""

    def __init__(self, result: RuleResult) -> None:
        super().__init__(result.rule)
        self.result = result


class RecordingFile(pytest.File):
    """One recording; judged lazily, once, by the first of its items that runs."""

    _verdict: Verdict | None = None
    _exchange: Exchange | None = None

    def collect(self) -> list[pytest.Item]:
        return [RuleItem.from_parent(self, name=r.id, rule=r) for r in all_rules()]

    def judged(self) -> tuple[Exchange, Verdict]:
        if self._verdict is None:
            self._exchange = load(self.path)
            profile = self.config.getoption("--sse-profile")
            self._verdict = judge(self._exchange, profile)
        assert self._exchange is not None
        return self._exchange, self._verdict


class RuleItem(pytest.Item):
    def __init__(self, *, rule: Rule, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rule = rule
        self.add_marker(pytest.mark.sse_rule(rule.id))

    def runtest(self) -> None:
        assert isinstance(self.parent, RecordingFile)
        try:
            exchange, verdict = self.parent.judged()
        except RecordingError as exc:
            pytest.fail(str(exc), pytrace=False)
        result = verdict.result(self.rule.id)
        if result is None:
            pytest.skip(f"{self.rule.id} does not apply under profile {verdict.profile}")
        self.user_properties.append(("sse_status", result.status))
        if result.status == NA:
            pytest.skip(f"not applicable: {result.reason}")
        if result.status == WARN:
            for f in result.findings:
                self.user_properties.append(("sse_warning", f"{location(f)}: {f.message}"))
        if result.status == FAIL:
            raise RuleFailure(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, RuleFailure):
            assert isinstance(self.parent, RecordingFile)
            exchange, _ = self.parent.judged()
            result = excinfo.value.result
            lines = [f"{self.rule.id} ({self.rule.severity}, {self.rule.source}): {self.rule.title}"]
            for f in result.findings:
                lines.append(f"  at {location(f)}")
                lines.extend(f"    {line}" for line in f.message.splitlines())
                text = excerpt(exchange.body, f)
                if text:
                    lines.append(f"    | {text}")
            if result.total > len(result.findings):
                lines.append(f"  ... and {result.total - len(result.findings)} more")
            return "\n".join(lines)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.path.name}::{self.rule.id}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sse_rule(id): a recording item judged by one conformance rule")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Add the recordings' items before -k and xdist see the list, in a stable order."""
    paths = config.getoption("--sse-fixtures")
    if not paths:
        return
    try:
        recordings = list(iter_recordings(paths))
    except RecordingError as exc:
        raise pytest.UsageError(str(exc)) from exc
    for path in recordings:
        node = RecordingFile.from_parent(session, path=path.resolve())
        items.extend(node.collect())
