"""The pytest nodes: a recording or a live scenario (collectors), and one item per rule.

Each collector captures and judges its exchange once, on first use by one of its items;
each item reports its own rule's verdict and carries the report payloads (plain data,
xdist-safe). The variants item explores generated requests. Hooks and options live in
plugin.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from .cli import excerpt, location
from .errors import RecordingError
from .exchange import Exchange
from .findings import FAIL, NA, WARN, RuleResult, Verdict
from .judge import judge
from .live.config import Settings
from .live.runner import NotSent, new_client, refused, run_scenario
from .live.scenarios import Scenario
from .live.variants import VariantsOutcome, curl_command, explore, summary
from .profiles import get_profile
from .recordings import load
from .redact import scrub
from .report import exchange_payload, result_payload
from .rules import Rule, all_rules

__all__ = ["CLIENT", "LiveScenario", "LiveVariants", "RecordingFile", "RuleItem"]

class ScenarioSkipped(Exception):
    """The endpoint does not support a scenario: its items are skipped, and reported so."""


class RuleFailure(Exception):
    """Raised by a rule item whose error-level rule failed; printed by repr_failure."""

    def __init__(self, result: RuleResult) -> None:
        super().__init__(result.rule)
        self.result = result


class RecordingFile(pytest.File):
    """One recording; judged lazily, once, by the first of its items that runs."""

    _verdict: Verdict | None = None
    _exchange: Exchange | None = None
    exchange_reported = False
    kind = "recording"

    @property
    def exchange_id(self) -> str:
        return self.nodeid

    def context(self) -> dict[str, Any]:
        return {"source": self._exchange.extra.get("source") if self._exchange else None}

    def collect(self) -> list[pytest.Item]:
        return [RuleItem.from_parent(self, name=r.id, rule=r) for r in all_rules()]

    def judged(self) -> tuple[Exchange, Verdict]:
        if self._verdict is None:
            self._exchange = load(self.path)
            profile = self.config.getoption("--sse-profile")
            self._verdict = judge(self._exchange, profile)
        assert self._exchange is not None
        return self._exchange, self._verdict


CLIENT = pytest.StashKey[Any]()


class LiveScenario(pytest.Collector):
    """One live scenario: one request, captured once, judged by every rule."""

    _verdict: Verdict | None = None
    _exchange: Exchange | None = None

    exchange_reported = False
    kind = "live"

    def __init__(self, *, scenario: Scenario, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.settings = settings

    @property
    def exchange_id(self) -> str:
        return self.name  # live/<scenario>, or live/<model>/<scenario> when a run has several models

    def context(self) -> dict[str, Any]:
        return {"scenario": self.scenario.name, "description": self.scenario.description, "model": self.settings.model}

    def collect(self) -> list[pytest.Item]:
        profile = get_profile(self.settings.profile)
        return [RuleItem.from_parent(self, name=r.id, rule=r) for r in all_rules() if profile.covers(r.profiles)]

    def judged(self) -> tuple[Exchange, Verdict]:
        reason = self.settings.skip.get(self.scenario.name)
        if reason:
            raise ScenarioSkipped(f"scenario {self.scenario.name} not supported by this endpoint: {reason}")
        if self._verdict is None:
            stash = self.config.stash
            if CLIENT not in stash:
                stash[CLIENT] = new_client()
            try:
                self._exchange = run_scenario(stash[CLIENT], self.settings, self.scenario)
            except NotSent as exc:  # the plain request was refused, or the run's time is spent
                raise ScenarioSkipped(f"scenario {self.scenario.name} {exc}") from None
            self._verdict = judge(self._exchange, self.settings.profile)
        assert self._exchange is not None
        return self._exchange, self._verdict

    def reportinfo(self) -> tuple[str, int | None, str]:
        return self.name, None, self.name


class VariantsFailure(Exception):
    """Raised by the variants item: a generated request broke a rule (shrunk to the smallest)."""


class LiveVariants(pytest.Item):
    """Generated request variants (hypothesis): every error-level rule must hold for each."""

    def __init__(self, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.outcome: VariantsOutcome | None = None
        self._sse_payload: list[dict[str, Any]] | None = None
        self._sse_exchange: dict[str, Any] | None = None
        self._sse_variants: dict[str, Any] | None = None

    def runtest(self) -> None:
        n = self.config.getoption("--variants")
        budget = self.config.getoption("--variants-budget")
        budget = 4 * n + 4 if budget is None else budget
        stash = self.config.stash
        if CLIENT not in stash:
            stash[CLIENT] = new_client()
        why_not = refused(stash[CLIENT])
        if why_not:
            pytest.skip(f"variants {why_not}")
        self.outcome = outcome = explore(stash[CLIENT], self.settings, n, self.config.getoption("--variants-seed"), budget)
        self.user_properties.append(("variants_sent", outcome.sent))
        self._sse_variants = {**summary(outcome), "model": self.settings.model}
        if outcome.ok:
            return
        assert outcome.exchange is not None and outcome.verdict is not None
        secrets = [self.settings.api_key]
        self._sse_payload = scrub([result_payload(self.name, outcome.exchange, r) for r in outcome.verdict.results], secrets)
        context = {"scenario": "variants", "description": "the smallest generated request that breaks a rule", "model": self.settings.model}
        self._sse_exchange = scrub(exchange_payload(self.name, "live", outcome.exchange, outcome.verdict, context), secrets)
        raise VariantsFailure()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        out = self.outcome
        if not isinstance(excinfo.value, VariantsFailure) or out is None or out.verdict is None or out.exchange is None:
            return str(super().repr_failure(excinfo))
        lines = [f"A generated request breaks {len([r for r in out.verdict.results if r.status == FAIL])} rule(s) "
                 f"(variant #{out.generated} of {out.variants}, seed {out.seed}; {out.sent} requests sent, {out.shrinks} of them shrinking"
                 f"{'; flaky' if out.flaky else ''}). Shrunk to the smallest request that still breaks it:"]
        for r in out.verdict.results:
            if r.status == FAIL:
                for f in r.findings[:3]:
                    lines.append(f"  {r.rule} at {location(f)}: {f.message.splitlines()[0]}")
        # \u escapes in the display: the character that matters is often invisible (U+00A0)
        lines += ["", "Minimal request:", json.dumps(out.request, indent=2, ensure_ascii=True), "", "Reproduce:", curl_command(self.settings, out.request or {})]
        lines += [f"Note: {n}" for n in out.notes]
        return "\n".join(lines)

    def reportinfo(self) -> tuple[str, int | None, str]:
        return self.name, None, self.name


class RuleItem(pytest.Item):
    def __init__(self, *, rule: Rule, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rule = rule
        self.add_marker(pytest.mark.sse_rule(rule.id))
        self._sse_payload: dict[str, Any] | None = None
        self._sse_exchange: dict[str, Any] | None = None

    def runtest(self) -> None:
        assert isinstance(self.parent, (RecordingFile, LiveScenario))
        try:
            exchange, verdict = self.parent.judged()
        except RecordingError as exc:
            self._sse_payload = {
                "exchange": self.parent.exchange_id, "rule": self.rule.id, "status": "fail", "severity": "error",
                "reason": None, "total": 1, "title": self.rule.title, "section": self.rule.section, "source": self.rule.source,
                "findings": [{"rule": self.rule.id, "severity": "error", "message": f"The recording could not be read: {exc}",
                              "event": None, "offset": None, "path": None, "excerpt": None}],
            }
            pytest.fail(str(exc), pytrace=False)
        except ScenarioSkipped as exc:
            self._sse_payload = {
                "exchange": self.parent.exchange_id, "rule": self.rule.id, "status": "skipped", "severity": self.rule.severity,
                "reason": str(exc), "total": 0, "title": self.rule.title, "section": self.rule.section,
                "source": self.rule.source, "findings": [],
            }
            pytest.skip(str(exc))
        result = verdict.result(self.rule.id)
        if result is None:
            pytest.skip(f"{self.rule.id} does not apply under profile {verdict.profile}")
        # the exchange is redacted already; the decoded payloads (assembled text) are scrubbed
        # too, in case the endpoint echoed the key split over several events
        secrets = [self.parent.settings.api_key] if isinstance(self.parent, LiveScenario) else []
        self._sse_payload = scrub(result_payload(self.parent.exchange_id, exchange, result), secrets)
        if not self.parent.exchange_reported:  # once per exchange and process
            self.parent.exchange_reported = True
            self._sse_exchange = scrub(exchange_payload(self.parent.exchange_id, self.parent.kind, exchange, verdict, self.parent.context()), secrets)
        self.user_properties.append(("sse_status", result.status))
        if verdict.timing and self.rule.id == "sse.incremental":  # once per exchange, beside the rule that judges it
            for key, value in verdict.timing.items():
                if value is not None:
                    self.user_properties.append((f"timing_{key}", round(value, 4) if isinstance(value, float) else value))
        if result.status == NA:
            pytest.skip(f"not applicable: {result.reason}")
        if result.status == WARN:
            for f in result.findings:
                self.user_properties.append(("sse_warning", f"{location(f)}: {f.message}"))
        if result.status == FAIL:
            raise RuleFailure(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, RuleFailure):
            assert isinstance(self.parent, (RecordingFile, LiveScenario))
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

    def reportinfo(self) -> tuple[Any, int | None, str]:
        if isinstance(self.parent, LiveScenario):
            return self.parent.name, None, f"{self.parent.name}::{self.rule.id}"
        return self.path, None, f"{self.path.name}::{self.rule.id}"
