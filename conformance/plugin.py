"""The pytest plugin: recordings and live scenarios become test items, one per rule.

``pytest --sse-fixtures PATH`` adds ``recording.sse::rule.id`` items; ``pytest --endpoint
URL`` adds ``live/<scenario>::rule.id`` items. pytest's own selection (-k), output, JUnit
XML, pytest-html and xdist then work on them. Each recording or scenario is captured and
judged once (by the first of its items that runs) and every item reports its own rule's
verdict: a failed error-level rule fails the item, a rule that does not apply skips it with
the reason, and a failed warning-level rule passes with the warning attached to the report.

Live options avoid names popular plugins own: ``--sse-timeout`` (pytest-timeout has
``--timeout``) and ``--sse-profile`` (pytest-profiling has ``--profile``); the
``sse-conformance run`` command accepts the short names and translates them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .cli import excerpt, location
from .errors import RecordingError, UsageError
from .exchange import Exchange
from .findings import FAIL, NA, WARN, RuleResult, Verdict

DEFAULT_VARIANTS = 8
from .judge import judge
from .live.config import DEFAULT_KEY_ENV, Settings, load_settings
from .live.runner import new_client, run_scenario
from .live.scenarios import SCENARIOS, Scenario
from .live.variants import VariantsOutcome, curl_command, explore
from .profiles import PROFILES
from .recordings import iter_recordings, load
from .redact import scrub
from .report import ComplianceCollector, exchange_payload, result_payload
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
        help="profile: for recordings (default: each sidecar's, else sansa) and live runs (default sansa)",
    )
    group.addoption("--endpoint", default=None, metavar="URL", help="run the live scenarios against this base URL (…/v1)")
    group.addoption("--sse-live", action="store_true", help="run the live scenarios against the endpoint set in the environment or [tool.sse-conformance]")
    group.addoption("--model", default=None, help="model name sent in every live request")
    group.addoption("--api-key-env", default=None, metavar="VAR", help=f"environment variable holding the API key (default {DEFAULT_KEY_ENV})")
    group.addoption("--sse-timeout", type=float, default=None, metavar="SECONDS", help="total time limit per live exchange (default 120)")
    group.addoption("--sse-json", default=None, metavar="PATH", help="write the compliance report as JSON (documented shape) to PATH")
    group.addoption("--variants", type=int, default=DEFAULT_VARIANTS, metavar="N", help=f"live runs: N generated request variants, every rule checked on each (default {DEFAULT_VARIANTS}; 0: off)")
    group.addoption("--variants-seed", type=int, default=0, metavar="SEED", help="seed of the variants (default 0: the same variants every run)")
    group.addoption("--variants-budget", type=int, default=None, metavar="N", help="hard cap on variant requests, shrinking included (default 4 x N + 4)")


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


_CLIENT = pytest.StashKey[Any]()


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
        return f"live/{self.scenario.name}"

    def context(self) -> dict[str, Any]:
        return {"scenario": self.scenario.name, "description": self.scenario.description}

    def collect(self) -> list[pytest.Item]:
        return [RuleItem.from_parent(self, name=r.id, rule=r) for r in all_rules() if self.settings.profile in r.profiles]

    def judged(self) -> tuple[Exchange, Verdict]:
        reason = self.settings.skip.get(self.scenario.name)
        if reason:
            raise ScenarioSkipped(f"scenario {self.scenario.name} not supported by this endpoint: {reason}")
        if self._verdict is None:
            stash = self.config.stash
            if _CLIENT not in stash:
                stash[_CLIENT] = new_client()
            self._exchange = run_scenario(stash[_CLIENT], self.settings, self.scenario)
            self._verdict = judge(self._exchange, self.settings.profile)
        assert self._exchange is not None
        return self._exchange, self._verdict

    def reportinfo(self) -> tuple[str, int | None, str]:
        return f"live/{self.scenario.name}", None, f"live/{self.scenario.name}"


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

    def runtest(self) -> None:
        n = self.config.getoption("--variants")
        budget = self.config.getoption("--variants-budget") or 4 * n + 4
        stash = self.config.stash
        if _CLIENT not in stash:
            stash[_CLIENT] = new_client()
        self.outcome = outcome = explore(stash[_CLIENT], self.settings, n, self.config.getoption("--variants-seed"), budget)
        self.user_properties.append(("variants_sent", outcome.sent))
        if outcome.ok:
            return
        assert outcome.exchange is not None and outcome.verdict is not None
        secrets = [self.settings.api_key]
        self._sse_payload = scrub([result_payload("live/variants", outcome.exchange, r) for r in outcome.verdict.results], secrets)
        self._sse_exchange = scrub(exchange_payload("live/variants", "live", outcome.exchange, outcome.verdict, {"scenario": "variants", "description": "the smallest generated request that breaks a rule"}), secrets)
        raise VariantsFailure()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        out = self.outcome
        if not isinstance(excinfo.value, VariantsFailure) or out is None or out.verdict is None or out.exchange is None:
            return str(super().repr_failure(excinfo))
        lines = [f"A generated request breaks {len([r for r in out.verdict.results if r.status == FAIL])} rule(s) "
                 f"({out.sent} requests sent, {out.passed} variants passed{'; flaky' if out.flaky else ''}). Shrunk to the smallest request that still breaks it:"]
        for r in out.verdict.results:
            if r.status == FAIL:
                for f in r.findings[:3]:
                    lines.append(f"  {r.rule} at {location(f)}: {f.message.splitlines()[0]}")
        # \u escapes in the display: the character that matters is often invisible (U+00A0)
        lines += ["", "Minimal request:", json.dumps(out.request, indent=2, ensure_ascii=True), "", "Reproduce:", curl_command(self.settings, out.request or {})]
        lines += [f"Note: {n}" for n in out.notes]
        return "\n".join(lines)

    def reportinfo(self) -> tuple[str, int | None, str]:
        return "live/variants", None, "live/variants"


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
            return f"live/{self.parent.scenario.name}", None, f"live/{self.parent.scenario.name}::{self.rule.id}"
        return self.path, None, f"{self.path.name}::{self.rule.id}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sse_rule(id): a recording item judged by one conformance rule")
    if not hasattr(config, "workerinput"):  # the xdist controller, or a plain run, writes reports
        active = bool(config.getoption("--sse-fixtures") or _live_requested(config))
        collector = ComplianceCollector(config, config.getoption("--sse-json"), _report_meta(config), active)
        config.pluginmanager.register(collector, "sse-compliance")


def _report_meta(config: pytest.Config) -> dict[str, Any]:
    """The page's header: the endpoint without credentials, model and profile."""
    if _live_requested(config):
        try:
            s = live_settings(config)
            return {"endpoint": s.display_url, "model": s.model, "profile": s.profile}
        except pytest.UsageError:
            return {}
    return {"endpoint": None, "model": None, "profile": config.getoption("--sse-profile") or "from each recording"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Carry the rule's result on the report as plain data (xdist ships it to the controller)."""
    outcome = yield
    if isinstance(item, (RuleItem, LiveVariants)) and call.when == "call":
        report = outcome.get_result()
        if item._sse_payload is not None:
            report.sse = item._sse_payload
        if item._sse_exchange is not None:
            report.sse_exchange = item._sse_exchange


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Add recordings' and live scenarios' items before -k and xdist see the list, in a stable order."""
    _add_recordings(session, config, items)
    _add_live(session, config, items)


def _add_recordings(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    paths = config.getoption("--sse-fixtures")
    if not paths:
        return
    try:
        recordings = list(iter_recordings(paths))
    except RecordingError as exc:
        raise pytest.UsageError(str(exc)) from exc
    root = config.rootpath
    for path in recordings:
        full = path.resolve()
        # the test id names the recording as the user would: relative to the rootdir when
        # inside it, else as given (never a bare "::name")
        nodeid = str(full.relative_to(root)) if full.is_relative_to(root) else str(path)
        node = RecordingFile.from_parent(session, path=full, nodeid=nodeid)
        items.extend(node.collect())


def live_settings(config: pytest.Config) -> Settings:
    options = {
        "endpoint": config.getoption("--endpoint"),
        "model": config.getoption("--model"),
        "api_key_env": config.getoption("--api-key-env"),
        "profile": config.getoption("--sse-profile"),
        "timeout": config.getoption("--sse-timeout"),
    }
    try:
        return load_settings(options)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from exc


def _live_requested(config: pytest.Config) -> bool:
    """Live items send real requests: only on an explicit --endpoint or --sse-live, never
    because a pyproject or an environment variable names an endpoint (a plain `pytest` in the
    user's project must not start calling their gateway)."""
    return config.getoption("--endpoint") is not None or bool(config.getoption("--sse-live"))


def _add_live(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """The live scenarios' items, when asked for."""
    if not _live_requested(config):
        return
    settings = live_settings(config)
    for scenario in SCENARIOS.values():
        node = LiveScenario.from_parent(session, name=f"live/{scenario.name}", nodeid=f"live/{scenario.name}", scenario=scenario, settings=settings)
        items.extend(node.collect())
    if config.getoption("--variants") > 0:
        items.append(LiveVariants.from_parent(session, name="live/variants", nodeid="live/variants", settings=settings))


def pytest_unconfigure(config: pytest.Config) -> None:
    client = config.stash.get(_CLIENT, None)
    if client is not None:
        client.close()
