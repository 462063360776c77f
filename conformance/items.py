"""The pytest nodes: a recording or a live scenario (collectors), and one item per rule.

Each collector captures and judges its exchange once, on first use by one of its items, and
keeps the result whatever happened: a capture or a judgement that failed is a finding
(``capture.complete``), never a reason to capture again. Each item reports its own rule's
verdict and carries the report payloads (plain data, xdist-safe), which are built from the
redacted copy of the exchange and scrubbed (``redact.Scrubber``): judged as it arrived,
written redacted. The variants item explores generated requests. Hooks and options live in
plugin.py.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from .engine import assembled
from .errors import RecordingError
from .exchange import Exchange
from .findings import FAIL, NA, WARN, RuleResult, Verdict
from .formatting import escaped_excerpt, location as _location
from .interactions import Recorded, Skipped
from .judge import judge, undecodable
from .live.config import Settings
from .live.runner import NotSent, new_client, refused, run_scenario
from .live.scenarios import Scenario
from .live.variants import VariantsOutcome, curl_command, explore, summary
from .profiles import get_profile
from .recordings import holds_interactions, load, read
from .redact import Scrubber, scrub
from .report import exchange_payload, failed_payload, result_payload, skipped_payload
from .rules import Rule, all_rules


def location(finding: Any, sc: Scrubber | None = None) -> str:
    """Where a finding is; a JSON path may hold the endpoint's own field names."""
    text = _location(finding)
    return (sc.mixed(text) or "") if sc else text


def scrub_result(payload: dict[str, Any], sc: Scrubber) -> dict[str, Any]:
    """A rule result's payload with the endpoint's values scrubbed: finding messages and
    paths, the reason. Excerpts come from the redacted body already; our own fields (rule
    ids, titles, statuses, the payload's keys) are never touched."""
    if not sc:
        return payload
    findings = [{**f, "message": sc.mixed(f.get("message")), "path": sc.mixed(f.get("path")), "severity_reason": sc.mixed(f.get("severity_reason"))}
                for f in payload.get("findings", [])]
    return {**payload, "reason": sc.mixed(payload.get("reason")), "findings": findings}

__all__ = [
    "CLIENT", "PREJUDGED", "REPLAY", "SCENARIO_NODES", "SELECTED", "LiveScenario", "LiveVariants", "Prejudged", "RecordedExchange",
    "RecordingFile", "RuleItem", "client_readings", "scrub_result",
]

# (requested client names, the process's Replayer or None): set by the plugin when client
# replay was asked for (--sse-clients, or clients in pyproject); one Node process per process
REPLAY = pytest.StashKey[list[Any]]()


def _readings(config: pytest.Config, exchange: Exchange) -> dict[str, Any] | None:
    """Client readings, or None when replay itself failed (the judge then says the clients
    were not replayed; a replay failure must not cost the exchange its verdict)."""
    try:
        return client_readings(config, exchange)
    except Exception:
        return None


def client_readings(config: pytest.Config, exchange: Exchange) -> dict[str, Any] | None:
    """The replay step before judging: what each requested client ends up with, or None."""
    state = config.stash.get(REPLAY, None)
    if not state or not state[0]:
        return None
    if state[1] is None:
        from .clients import Replayer

        state[1] = Replayer(state[0])
    readings: dict[str, Any] = state[1].replay(exchange)
    return readings

# (resolved recording path, "" or "#N") -> (exchange, verdict): what `validate --reports` judged
PREJUDGED = pytest.StashKey[dict[tuple[str, str], tuple[Exchange, Verdict]]]()
SELECTED = pytest.StashKey[frozenset[str] | None]()  # the rules validate judged (--select/--ignore); None: all


class Prejudged:
    """A plugin for ``validate --reports``: the verdicts validate already judged, handed to
    the recordings' items so that the reports are written from them and nothing is judged
    twice. An exchange it does not hold (none should be missing) is judged as usual."""

    def __init__(self, verdicts: dict[tuple[str, str], tuple[Exchange, Verdict]], selected: frozenset[str] | None = None) -> None:
        self.verdicts = verdicts
        self.selected = selected

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[PREJUDGED] = self.verdicts
        config.stash[SELECTED] = self.selected


def _prejudged(config: pytest.Config, path: Any, part: str) -> tuple[Exchange, Verdict] | None:
    return config.stash.get(PREJUDGED, {}).get((str(path), part))


class ScenarioSkipped(Exception):
    """The endpoint does not support a scenario: its items are skipped, and reported so."""


class RuleFailure(Exception):
    """Raised by a rule item whose error-level rule failed; printed by repr_failure."""

    def __init__(self, result: RuleResult) -> None:
        super().__init__(result.rule)
        self.result = result


class Judged:
    """What a collector keeps of its one exchange: as it arrived, its verdict, and the copy
    that may be written (redacted once, for every item and writer)."""

    _verdict: Verdict | None = None
    _exchange: Exchange | None = None
    _written: Exchange | None = None
    _written_message: dict[int, Any] | None = None
    _scrubber: Scrubber | None = None

    def secrets(self) -> list[str | None]:
        return []

    def profile_spec(self) -> str | None:
        """The profile as given (a name or a dialect's .toml path), to decode the written copy."""
        return None

    def scrubber(self) -> Scrubber:
        if self._scrubber is None:
            self._scrubber = Scrubber(self.secrets())
        return self._scrubber

    def written(self) -> Exchange:
        """The exchange as it may be written; if redaction itself fails, nothing of the body."""
        if self._written is None:
            assert self._exchange is not None
            raw = self._exchange
            try:
                self._written = self.scrubber().exchange(raw)
            except Exception as exc:  # never write what could not be scrubbed
                self._written = Exchange(b"*" * len(raw.body), status=raw.status, timing=raw.timing, source=raw.source,
                                         problem=f"The suite could not redact this exchange ({type(exc).__name__}); its body is not shown.")
        return self._written

    def written_verdict(self, verdict: Verdict) -> Verdict:
        """The verdict with what a client ends up with re-assembled from the written copy,
        so that reports show the redacted text (offsets and timings are those of the raw)."""
        sc = self.scrubber()
        if not sc:
            return verdict
        if self._written_message is None:
            self._written_message = _message_of(self.written(), self.profile_spec() or verdict.profile)
        return dataclasses.replace(verdict, message=self._written_message)

    def _judge(self, exchange: Exchange, profile: Any, clients: dict[str, Any] | None = None) -> Verdict:
        try:
            return judge(exchange, profile, None, clients)
        except Exception as exc:  # judge() already turns what it can into findings
            return undecodable(exchange, get_profile(profile if isinstance(profile, str) else None), None, exc)


class RecordingFile(Judged, pytest.File):
    """One recording file; judged lazily, once, by the first of its items that runs.

    A cassette or HAR file holds several exchanges: it yields one RecordedExchange
    collector per streamed chat completion (``FILE#N``) and keeps what it skipped."""

    _error: RecordingError | None = None
    skipped: list[Skipped] = []
    exchange_reported = False
    kind = "recording"

    @property
    def exchange_id(self) -> str:
        return self.nodeid

    def context(self) -> dict[str, Any]:
        return {"source": self._exchange.extra.get("source") if self._exchange else None}

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        if holds_interactions(self.path):
            try:
                contents = read(self.path)
            except RecordingError as exc:
                self._error = exc  # every rule item fails with the reason, as for an unreadable .sse
            else:
                self.skipped = contents.skipped
                return [RecordedExchange.from_parent(self, name=r.id.rsplit("#", 1)[1], nodeid=f"{self.nodeid}#{r.id.rsplit('#', 1)[1]}", recorded=r)
                        for r in contents.exchanges]
        return [RuleItem.from_parent(self, name=r.id, rule=r) for r in all_rules()]

    def judged(self) -> tuple[Exchange, Verdict]:
        if self._error is not None:
            raise self._error
        if self._verdict is None and (given := _prejudged(self.config, self.path, "")) is not None:
            self._exchange, self._verdict = given
        if self._verdict is None:
            try:
                self._exchange = load(self.path)
            except RecordingError as exc:  # read once: an unreadable recording stays unreadable
                self._error = exc
                raise
            profile = self.config.getoption("--sse-profile")
            self._verdict = self._judge(self._exchange, profile, _readings(self.config, self._exchange))
        assert self._exchange is not None
        return self._exchange, self._verdict


class RecordedExchange(Judged, pytest.Collector):
    """One streamed chat completion of a cassette or HAR file (``FILE#N``), one item per rule."""

    exchange_reported = False
    kind = "recording"

    def __init__(self, *, recorded: Recorded, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.recorded = recorded

    @property
    def exchange_id(self) -> str:
        return self.nodeid

    def context(self) -> dict[str, Any]:
        return {"source": self.recorded.exchange.extra.get("source")}

    def collect(self) -> list[pytest.Item]:
        return [RuleItem.from_parent(self, name=r.id, rule=r) for r in all_rules()]

    _error: RecordingError | None = None

    def judged(self) -> tuple[Exchange, Verdict]:
        if self._error is not None:  # read once: an unreadable recording stays unreadable
            raise self._error
        if self._verdict is None and (given := _prejudged(self.config, self.path, "#" + self.name)) is not None:
            self._exchange, self._verdict = given
        if self._verdict is None:
            self._exchange = self.recorded.exchange
            self._verdict = self._judge(self._exchange, self.config.getoption("--sse-profile"), _readings(self.config, self._exchange))
        assert self._exchange is not None
        return self._exchange, self._verdict


CLIENT = pytest.StashKey[Any]()


class LiveScenario(Judged, pytest.Collector):
    """One live scenario: one request, captured once, judged by every rule."""

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

    def secrets(self) -> list[str | None]:
        return [self.settings.api_key]

    def profile_spec(self) -> str | None:
        return self.settings.profile

    def collect(self) -> list[pytest.Item]:
        profile = get_profile(self.settings.profile)
        return [RuleItem.from_parent(self, name=r.id, rule=r) for r in all_rules() if profile.covers(r.profiles)]

    def judged(self) -> tuple[Exchange, Verdict]:
        reason = self.settings.skip.get(self.scenario.name)
        if reason:
            raise ScenarioSkipped(f"scenario {self.scenario.name} skipped: {reason}")
        if self._verdict is None:
            stash = self.config.stash
            if CLIENT not in stash:
                stash[CLIENT] = new_client()
            try:
                self._exchange = run_scenario(stash[CLIENT], self.settings, self.scenario)
            except NotSent as exc:  # the plain request was refused, or the run's time is spent
                raise ScenarioSkipped(f"scenario {self.scenario.name} {exc}") from None
            except Exception as exc:  # kept as a finding: the scenario is not captured again
                self._exchange = Exchange(b"", scenario=self.scenario.tag, profile=self.settings.profile, source=self.exchange_id,
                                          problem=f"The suite could not capture this scenario ({type(exc).__name__}: {exc}).")
            self._verdict = self._judge(self._exchange, self.settings.profile, _readings(self.config, self._exchange))
        assert self._exchange is not None
        return self._exchange, self._verdict

    def reportinfo(self) -> tuple[str, int | None, str]:
        return self.name, None, self.name


def _message_of(written: Exchange, profile: str | None) -> dict[int, Any]:
    """What a client ends up with, assembled from the redacted copy (for the reports)."""
    try:
        return assembled(written, get_profile(profile))
    except Exception:
        return {}


class VariantsFailure(Exception):
    """Raised by the variants item: a generated request broke a rule (shrunk to the smallest)."""


SCENARIO_NODES = pytest.StashKey[list[LiveScenario]]()  # every collected scenario, deselected or not


def fixed_failures(scenarios: list[LiveScenario]) -> tuple[dict[str, list[str]], list[str]]:
    """The rules the fixed scenarios judged in this process failed (rule -> exchange ids), and
    the scenarios not judged here. The variants item runs after the scenarios in a plain run;
    under xdist another worker may have judged some of them, and -k may have deselected them."""
    known: dict[str, list[str]] = {}
    missing: list[str] = []
    for node in scenarios:
        if node.scenario.name in node.settings.skip:
            continue
        if node._verdict is None:
            missing.append(node.exchange_id)
            continue
        for r in node._verdict.results:
            if r.status == FAIL:
                known.setdefault(r.rule, []).append(node.exchange_id)
    return known, missing


class LiveVariants(pytest.Item):
    """Generated request variants (hypothesis): every error-level rule must hold for each."""

    def __init__(self, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.outcome: VariantsOutcome | None = None
        self._sse_payload: list[dict[str, Any]] | None = None
        self._sse_exchange: dict[str, Any] | None = None
        self._sse_variants: dict[str, Any] | None = None
        self._crash: str | None = None

    def runtest(self) -> None:
        n = self.config.getoption("--variants")
        budget = self.config.getoption("--variants-budget")
        budget = 4 * n + 4 if budget is None else budget
        stash = self.config.stash
        if CLIENT not in stash:
            stash[CLIENT] = new_client()
        why_not = refused(stash[CLIENT], self.settings.model)
        if why_not:
            pytest.skip(Scrubber([self.settings.api_key]).mixed(f"variants {why_not}") or "variants not sent")
        known, missing = fixed_failures(self.config.stash.get(SCENARIO_NODES, []))
        sc = Scrubber([self.settings.api_key])
        try:
            self.outcome = outcome = explore(stash[CLIENT], self.settings, n, self.config.getoption("--variants-seed"), budget, known)
        except Exception as exc:  # a finding, never an internal error of the run
            self._crash = sc.mixed(f"The suite could not explore the request variants ({type(exc).__name__}: {exc}).")
            self._sse_payload = [failed_payload(self.name, "capture.complete", self._crash or "")]
            raise VariantsFailure() from None
        if missing:
            outcome.notes.append(f"a failure shared with these fixed scenarios counts as new (no result in this process: deselected, "
                                 f"or run by another xdist worker): {', '.join(missing)}")
        self.user_properties.append(("variants_sent", outcome.sent))
        self._sse_variants = {**scrub(summary(outcome, self.settings), [self.settings.api_key]), "model": self.settings.model}
        if outcome.ok:
            return
        assert outcome.exchange is not None and outcome.verdict is not None
        written = sc.exchange(outcome.exchange)
        view = dataclasses.replace(outcome.verdict, message=_message_of(written, self.settings.profile)) if sc else outcome.verdict
        self._sse_payload = [scrub_result(result_payload(self.name, written, r), sc) for r in outcome.verdict.results]
        context = {"scenario": "variants", "description": "the smallest generated request that breaks a rule", "model": self.settings.model}
        payload = exchange_payload(self.name, "live", written, view, context)
        self._sse_exchange = {**payload, "problem": sc.mixed(payload.get("problem"))}
        raise VariantsFailure()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        sc = Scrubber([self.settings.api_key])
        if self._crash is not None:
            return self._crash
        out = self.outcome
        if not isinstance(excinfo.value, VariantsFailure) or out is None or out.verdict is None or out.exchange is None:
            return sc.mixed(str(super().repr_failure(excinfo))) or ""
        lines = [f"A generated request breaks {len([r for r in out.verdict.results if r.status == FAIL])} rule(s) "
                 f"(variant #{out.generated} of {out.variants}, seed {out.seed}; {out.sent} requests sent, {out.shrinks} of them shrinking"
                 f"{'; flaky' if out.flaky else ''}). Shrunk to the smallest request that still breaks it:"]
        for r in out.verdict.results:
            if r.status == FAIL:
                for f in r.findings[:3]:
                    lines.append(f"  {r.rule} at {location(f, sc)}: {(sc.mixed(f.message) or '').splitlines()[0] if f.message else ''}")
        # \u escapes in the display: the character that matters is often invisible (U+00A0)
        request = sc.request(out.request or {})
        lines += ["", "Minimal request:", json.dumps(request, indent=2, ensure_ascii=True), "", "Reproduce:", curl_command(self.settings, request)]
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
        assert isinstance(self.parent, (RecordingFile, RecordedExchange, LiveScenario))
        try:
            exchange, verdict = self.parent.judged()
        except RecordingError as exc:
            self._sse_payload = failed_payload(self.parent.exchange_id, self.rule.id, f"The recording could not be read: {exc}")
            pytest.fail(str(exc), pytrace=False)
        except ScenarioSkipped as exc:
            why = self.parent.scrubber().mixed(str(exc)) or ""  # a refusal quotes the endpoint's answer
            self._sse_payload = skipped_payload(self.parent.exchange_id, self.rule.id, why)
            pytest.skip(why)
        selected = self.config.stash.get(SELECTED, None)
        if selected is not None and self.rule.id not in selected:
            why = "not selected (validate --select/--ignore)"
            self._sse_payload = skipped_payload(self.parent.exchange_id, self.rule.id, why)
            pytest.skip(why)
        result = verdict.result(self.rule.id)
        if result is None:
            pytest.skip(f"{self.rule.id} does not apply under profile {verdict.profile}")
        # judged as it arrived; written from the redacted copy (same offsets), values scrubbed
        sc = self.parent.scrubber()
        written = self.parent.written()
        self._sse_payload = scrub_result(result_payload(self.parent.exchange_id, written, result), sc)
        if not self.parent.exchange_reported:  # once per exchange and process
            self.parent.exchange_reported = True
            payload = exchange_payload(self.parent.exchange_id, self.parent.kind, written, self.parent.written_verdict(verdict), self.parent.context())
            self._sse_exchange = {**payload, "problem": sc.mixed(payload.get("problem"))}
        self.user_properties.append(("sse_status", result.status))
        if verdict.timing and self.rule.id == "sse.incremental":  # once per exchange, beside the rule that judges it
            for key, value in verdict.timing.items():
                if value is not None:
                    self.user_properties.append((f"timing_{key}", round(value, 4) if isinstance(value, float) else value))
        if result.status == NA:
            pytest.skip(f"not applicable: {sc.mixed(result.reason)}")
        if result.status == WARN:
            for f in result.findings:
                self.user_properties.append(("sse_warning", f"{location(f, sc)}: {sc.mixed(f.message)}"))
        if result.status == FAIL:
            raise RuleFailure(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        assert isinstance(self.parent, (RecordingFile, RecordedExchange, LiveScenario))
        sc = self.parent.scrubber()
        if isinstance(excinfo.value, RuleFailure):
            written = self.parent.written()
            result = excinfo.value.result
            lines = [f"{self.rule.id} ({self.rule.severity}, {self.rule.source}): {self.rule.title}"]
            for f in result.findings:
                lines.append(f"  at {location(f, sc)}")
                lines.extend(f"    {line}" for line in (sc.mixed(f.message) or "").splitlines())
                text = escaped_excerpt(written.body, f)
                if text:
                    lines.append(f"    | {text}")
            if result.total > len(result.findings):
                lines.append(f"  ... and {result.total - len(result.findings)} more")
            return "\n".join(lines)
        return sc.mixed(str(super().repr_failure(excinfo))) or ""

    def reportinfo(self) -> tuple[Any, int | None, str]:
        if isinstance(self.parent, LiveScenario):
            return self.parent.name, None, f"{self.parent.name}::{self.rule.id}"
        if isinstance(self.parent, RecordedExchange):
            return self.path, self.parent.recorded.line - 1, f"{self.path.name}#{self.parent.name}::{self.rule.id}"
        return self.path, None, f"{self.path.name}::{self.rule.id}"
