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

Several captures may be in flight at once (``--concurrency``, live/ahead.py): the state is
then shared between threads, under a lock. The budget counts the time during which at least
one capture (or a retry's wait) is in progress, not the sum of their durations: it bounds how
long the run takes, and N captures in flight together take the time of one. Each model's
canary gates that model's scenarios; sent ahead, its status line already decides: a 2xx
answer cannot be a refusal (``rules.capture.refusal``), so the dependent scenarios go as
soon as its headers arrive instead of after its last event.
"""

from __future__ import annotations

import email.utils
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import httpx

from .. import __version__
from ..exchange import Exchange
from .capture import Limits, capture
from .config import Settings
from .scenarios import BAD_KEY, SCENARIOS, Scenario

if TYPE_CHECKING:
    from .ahead import Ahead

__all__ = ["PLAIN", "NotSent", "RunState", "ahead_of", "capture_request", "limits_for", "new_client", "refused", "run_scenario", "run_scenario_now", "run_state", "send_ahead"]

PLAIN = "text"  # the scenario every other one builds on
MAX_RETRIES = 3  # a 429 is retried at most this often...
RETRY_WAIT = 10.0  # ...waiting at most this many seconds in all, within the run budget
BACKOFF = (1.0, 2.0, 4.0)  # waits when the 429 says nothing (no usable Retry-After)


class NotSent(Exception):
    """A scenario the run did not send (its prerequisite failed, or the time ran out); the
    message says why. Its items are skipped with that reason."""


Canary = tuple[str | None, int | None]  # why the plain request was refused (None: answered), its status


@dataclass
class RunState:
    """What the captures of one run share (one per client: one per process of the run)."""

    budget: float  # seconds every capture, retry and wait of the run draws from
    spent: float = 0.0  # seconds with a capture or wait in progress, closed so far (judging is not counted)
    refusal: str | None = None  # why the endpoint refused the latest plain request
    refusal_status: int | None = None
    canaries: dict[str, Canary] = field(default_factory=dict)  # model -> its plain request's outcome
    hold_until: float = 0.0  # perf_counter time before which no request starts (a 429's Retry-After)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _active: int = 0  # captures and waits in progress
    _busy_since: float = 0.0  # when the current stretch with something in progress began

    def remaining(self) -> float:
        with self._lock:
            open_stretch = time.perf_counter() - self._busy_since if self._active else 0.0
            return self.budget - self.spent - open_stretch

    @contextmanager
    def in_progress(self) -> Iterator[None]:
        """Count the time of a capture or a wait; overlapping ones count once (wall time)."""
        with self._lock:
            if not self._active:
                self._busy_since = time.perf_counter()
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1
                if not self._active:
                    self.spent += time.perf_counter() - self._busy_since

    def wait(self, seconds: float) -> None:
        with self.in_progress():
            time.sleep(seconds)

    def hold(self, seconds: float) -> None:
        """A 429 asked for ``seconds``: no request of the run starts before they are over."""
        with self._lock:
            self.hold_until = max(self.hold_until, time.perf_counter() + seconds)

    def held(self) -> float:
        """Seconds left of a hold (0 when none)."""
        with self._lock:
            return max(0.0, self.hold_until - time.perf_counter())

    def canary(self, model: str) -> Canary:
        """The refusal that gates ``model``'s scenarios: its own plain request's, else (its
        plain request not sent in this process, e.g. deselected) the latest one's."""
        with self._lock:
            return self.canaries.get(model, (self.refusal, self.refusal_status))

    def answered(self, model: str, refusal: str | None, status: int | None, final: bool) -> None:
        """Record ``model``'s plain request: early (``final`` False: its 2xx status line, which
        no body can turn into a refusal) or once its capture is complete."""
        with self._lock:
            self.canaries[model] = (refusal, status)
            if final:
                self.refusal, self.refusal_status = refusal, status


_RUNS: weakref.WeakKeyDictionary[httpx.Client, RunState] = weakref.WeakKeyDictionary()
_AHEAD: weakref.WeakKeyDictionary[httpx.Client, Ahead] = weakref.WeakKeyDictionary()
_RUNS_LOCK = threading.Lock()


def run_budget(settings: Settings) -> float:
    """The scenarios' total deadline: the per-exchange timeout for each scenario to run (for
    each model, when the run has several)."""
    return settings.timeout * max(1, len(set(SCENARIOS) - set(settings.skip))) * len(settings.all_models)


def run_state(client: httpx.Client, settings: Settings) -> RunState:
    with _RUNS_LOCK:  # captures sent ahead start from several threads
        state = _RUNS.get(client)
        if state is None:
            state = _RUNS[client] = RunState(run_budget(settings))
        return state


def send_ahead(client: httpx.Client, ahead: Ahead | None) -> None:
    """Register the captures this run sends ahead of its items (live/ahead.py); None
    forgets them (the entry would otherwise keep the client, which the Ahead holds, alive)."""
    if ahead is None:
        _AHEAD.pop(client, None)
    else:
        _AHEAD[client] = ahead


def ahead_of(client: httpx.Client) -> Ahead | None:
    return _AHEAD.get(client)


def refused(client: httpx.Client, model: str | None = None) -> str | None:
    """Why this run sends nothing more (the plain request was refused, or the budget is
    spent), for items that would otherwise send requests; None while the run goes on.
    With ``model``, that model's plain request decides (see ``RunState.canary``)."""
    state = _RUNS.get(client)
    if state is None:
        return None
    refusal = state.canary(model)[0] if model is not None else state.refusal
    if refusal:
        return f"not sent: {refusal} (see live/{PLAIN}::run.endpoint-usable)"
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


OnHeaders = Callable[[int, dict[str, str]], None]


def _send(client: httpx.Client, settings: Settings, request: dict[str, Any], headers: dict[str, str], tag: str | None, source: str,
          on_headers: OnHeaders | None = None) -> Exchange:
    """Capture within the run budget; a 429 is retried as its Retry-After asks, within limits.
    A 429's wait also holds back every other request of the run that has not started yet
    (captures in flight together would otherwise each run into the same limit)."""
    state = run_state(client, settings)
    limits = limits_for(settings)
    retries, waited, asked = 0, 0.0, None
    while True:
        hold = state.held()
        if 0 < hold < state.remaining():
            state.wait(hold)
        left = state.remaining()
        if left <= 0:
            problem = f"Not sent: the run's time budget of {state.budget:g} s (the timeout times the scenarios) was spent."
            return Exchange(b"", request, profile=settings.profile, scenario=tag, problem=problem, source=source, extra={"not_sent": problem})
        with state.in_progress():
            exchange = capture(client, settings.url, request, headers, replace(limits, total=min(limits.total, left)),
                               scenario=tag, profile=settings.profile, source=source, on_headers=on_headers)
        if exchange.status != 429:
            break
        asked = exchange.header("retry-after")
        wait = retry_after(asked)
        wait = BACKOFF[min(retries, len(BACKOFF) - 1)] if wait is None else wait
        if retries >= MAX_RETRIES or waited + wait > RETRY_WAIT or wait >= state.remaining():
            break
        state.hold(wait)
        state.wait(wait)
        retries, waited = retries + 1, waited + wait
    if exchange.status == 429:
        exchange.extra["rate_limited"] = {"retries": retries, "waited": round(waited, 3), "retry_after": asked}
    if settings.api_key_env:
        exchange.extra["api_key_env"] = settings.api_key_env  # the variable's name, for the advice
    return exchange


def capture_request(
    client: httpx.Client, settings: Settings, request: dict[str, Any], *, key: str | None = None, tag: str | None = None, source: str = "<live>",
    on_headers: OnHeaders | None = None,
) -> Exchange:
    """Send one request with the configured key (or ``key``) and capture it, unredacted."""
    headers = {"content-type": "application/json", "accept": "text/event-stream", **settings.headers}
    key = key or settings.api_key
    if key:
        headers["authorization"] = f"Bearer {key}"
    return _send(client, settings, request, headers, tag, source, on_headers)


def _depends(scenario: Scenario, status: int | None) -> bool:
    """Whether the refusal of the plain request makes ``scenario`` pointless: a wrong key is
    still worth provoking when the endpoint answered with 401/403 (it is reachable)."""
    return not (scenario.bad_key and status in (401, 403))


def run_scenario(client: httpx.Client, settings: Settings, scenario: Scenario) -> Exchange:
    """The scenario's exchange: captured now, or, when the run sent it ahead (live/ahead.py),
    the capture made then, once every capture sent ahead is complete (nothing is judged
    while captures are in flight: judging would compete with their readers for the GIL)."""
    ahead = _AHEAD.get(client)
    if ahead is not None:
        sent = ahead.scenario(settings.model, scenario.name)
        if sent is not None:
            ahead.wait_all()
            return sent.result()
    return run_scenario_now(client, settings, scenario)


def run_scenario_now(client: httpx.Client, settings: Settings, scenario: Scenario, on_headers: OnHeaders | None = None) -> Exchange:
    """Capture the scenario now, unless its model's plain request was refused or the run's
    time is spent (NotSent). The plain request records its outcome for the others."""
    state = run_state(client, settings)
    if scenario.name != PLAIN:
        refusal, status = state.canary(settings.model)
        if refusal and _depends(scenario, status):
            raise NotSent(f"not sent: {refusal} (see live/{PLAIN}::run.endpoint-usable)")
        if state.remaining() <= 0:
            raise NotSent(f"not sent: the run's time budget of {state.budget:g} s (the timeout times the scenarios) was spent by the scenarios before it")
    key = BAD_KEY if scenario.bad_key else None
    exchange = capture_request(client, settings, scenario.request(settings), key=key, tag=scenario.tag, source=f"live/{scenario.name}", on_headers=on_headers)
    if scenario.name == PLAIN:
        state.answered(settings.model, *_refusal(exchange), final=True)
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
