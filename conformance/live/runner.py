"""Run one scenario against the configured endpoint: build the request, capture.

The capture comes back byte-exact, key and all: it is judged as it arrived, and every writer
scrubs it on the way out (``redact.Scrubber``). Redacting before judging made a short key
(``null``, ``stop``) change the verdict.

Every capture of a run draws its time from one run budget (the per-exchange timeout times
the scenarios to run), so that however the endpoint behaves the run ends within its
scenarios' total deadline plus judging: request variants and rate-limit retries spend the
same seconds, and once they are gone nothing more is sent. Only time on the network (and
waiting for a retry) is counted: judging a large answer does not starve the next scenario. The plain ``text`` scenario is
the canary: when the endpoint refuses it (a status, a redirect, no answer at all), the
scenarios that depend on it are not sent, and say why, instead of failing one by one.
"""

from __future__ import annotations

import email.utils
import time
import weakref
from dataclasses import dataclass, replace
from typing import Any

import httpx

from .. import __version__
from ..exchange import Exchange
from .capture import Limits, capture
from .config import Settings
from .scenarios import BAD_KEY, SCENARIOS, Scenario

__all__ = ["NotSent", "RunState", "capture_request", "limits_for", "new_client", "refused", "run_scenario", "run_state"]

PLAIN = "text"  # the scenario every other one builds on
MAX_RETRIES = 3  # a 429 is retried at most this often...
RETRY_WAIT = 10.0  # ...waiting at most this many seconds in all, within the run budget
BACKOFF = (1.0, 2.0, 4.0)  # waits when the 429 says nothing (no usable Retry-After)


class NotSent(Exception):
    """A scenario the run did not send (its prerequisite failed, or the time ran out); the
    message says why. Its items are skipped with that reason."""


@dataclass
class RunState:
    """What the captures of one run share (one per client: one per process of the run)."""

    budget: float  # seconds every capture, retry and wait of the run draws from
    spent: float = 0.0  # seconds spent capturing and waiting so far (judging is not counted)
    refusal: str | None = None  # why the endpoint refused the plain request
    refusal_status: int | None = None

    def remaining(self) -> float:
        return self.budget - self.spent

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)
        self.spent += seconds


_RUNS: weakref.WeakKeyDictionary[httpx.Client, RunState] = weakref.WeakKeyDictionary()


def run_budget(settings: Settings) -> float:
    """The scenarios' total deadline: the per-exchange timeout for each scenario to run (for
    each model, when the run has several)."""
    return settings.timeout * max(1, len(set(SCENARIOS) - set(settings.skip))) * len(settings.all_models)


def run_state(client: httpx.Client, settings: Settings) -> RunState:
    state = _RUNS.get(client)
    if state is None:
        state = _RUNS[client] = RunState(run_budget(settings))
    return state


def refused(client: httpx.Client) -> str | None:
    """Why this run sends nothing more (the plain request was refused, or the budget is
    spent), for items that would otherwise send requests; None while the run goes on."""
    state = _RUNS.get(client)
    if state is None:
        return None
    if state.refusal:
        return f"not sent: {state.refusal} (see live/{PLAIN}::run.endpoint-usable)"
    if state.remaining() <= 0:
        return f"not sent: the run's time budget of {state.budget:g} s (the timeout times the scenarios) was spent"
    return None


def limits_for(settings: Settings) -> Limits:
    return Limits(read=min(settings.read_timeout, settings.timeout), total=settings.timeout, max_body=settings.max_body)


def new_client() -> httpx.Client:
    """One client per run: connection reuse, no redirects followed (a redirect is an answer)."""
    return httpx.Client(follow_redirects=False, headers={"user-agent": f"sse-conformance/{__version__}"})


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for: delay-seconds or an HTTP date (RFC 9110
    10.2.3); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _send(client: httpx.Client, settings: Settings, request: dict[str, Any], headers: dict[str, str], tag: str | None, source: str) -> Exchange:
    """Capture within the run budget; a 429 is retried as its Retry-After asks, within limits."""
    state = run_state(client, settings)
    limits = limits_for(settings)
    retries, waited, asked = 0, 0.0, None
    while True:
        left = state.remaining()
        if left <= 0:
            problem = f"Not sent: the run's time budget of {state.budget:g} s (the timeout times the scenarios) was spent."
            return Exchange(b"", request, profile=settings.profile, scenario=tag, problem=problem, source=source, extra={"not_sent": problem})
        started = time.perf_counter()
        try:
            exchange = capture(client, settings.url, request, headers, replace(limits, total=min(limits.total, left)),
                               scenario=tag, profile=settings.profile, source=source)
        finally:
            state.spent += time.perf_counter() - started
        if exchange.status != 429:
            break
        asked = exchange.header("retry-after")
        wait = retry_after(asked)
        wait = BACKOFF[min(retries, len(BACKOFF) - 1)] if wait is None else wait
        if retries >= MAX_RETRIES or waited + wait > RETRY_WAIT or wait >= state.remaining():
            break
        state.wait(wait)
        retries, waited = retries + 1, waited + wait
    if exchange.status == 429:
        exchange.extra["rate_limited"] = {"retries": retries, "waited": round(waited, 3), "retry_after": asked}
    if settings.api_key_env:
        exchange.extra["api_key_env"] = settings.api_key_env  # the variable's name, for the advice
    return exchange


def capture_request(
    client: httpx.Client, settings: Settings, request: dict[str, Any], *, key: str | None = None, tag: str | None = None, source: str = "<live>"
) -> Exchange:
    """Send one request with the configured key (or ``key``) and capture it, unredacted."""
    headers = {"content-type": "application/json", "accept": "text/event-stream", **settings.headers}
    key = key or settings.api_key
    if key:
        headers["authorization"] = f"Bearer {key}"
    return _send(client, settings, request, headers, tag, source)


def _depends(scenario: Scenario, state: RunState) -> bool:
    """Whether the refusal of the plain request makes ``scenario`` pointless: a wrong key is
    still worth provoking when the endpoint answered with 401/403 (it is reachable)."""
    return not (scenario.bad_key and state.refusal_status in (401, 403))


def run_scenario(client: httpx.Client, settings: Settings, scenario: Scenario) -> Exchange:
    state = run_state(client, settings)
    if scenario.name != PLAIN:
        if state.refusal and _depends(scenario, state):
            raise NotSent(f"not sent: {state.refusal} (see live/{PLAIN}::run.endpoint-usable)")
        if state.remaining() <= 0:
            raise NotSent(f"not sent: the run's time budget of {state.budget:g} s (the timeout times the scenarios) was spent by the scenarios before it")
    key = BAD_KEY if scenario.bad_key else None
    exchange = capture_request(client, settings, scenario.request(settings), key=key, tag=scenario.tag, source=f"live/{scenario.name}")
    if scenario.name == PLAIN:
        state.refusal, state.refusal_status = _refusal(exchange)
    return exchange


def _refusal(exchange: Exchange) -> tuple[str | None, int | None]:
    """One line on why the plain request failed, or (None, None) when it was answered."""
    from ..rules.capture import refusal  # the rule's own wording, so the skip reason matches it

    found = refusal(exchange)
    if not found:
        return None, None
    first, _, cause = found.partition("\n")
    cause = cause.replace("Likely cause: ", "likely cause: ", 1)
    return f"{first.rstrip('.:')}{'; ' + cause.rstrip('.') if cause else ''}", exchange.status
