"""Captures sent ahead of the items that judge them: a run's requests, N in flight at once.

A run captured each scenario when the first of its items ran, one after another: against a
model that streams slowly the run took the sum of its answers. With ``concurrency`` N > 1 the
run sends its requests when the test loop starts, at most N in flight, and the items then
judge what arrived; nothing is judged until every capture sent ahead is complete (judging
in the main thread would compete with the readers for the GIL and blur their arrival times).
Capture first, check later, at the scale of the run.

Order: each model's plain request (the canary) first; then each model's first batch of
request variants (as many as one batch holds: N, within the variants budget), which the
variants item takes instead of sending them again (variants.explore); then the other
scenarios. Everything after the canary waits for it, as one after another
(runner.run_scenario_now refuses a scenario when it was refused), but a 2xx status line
already settles that, so they go as soon as its headers arrive. Every capture draws from the run's time budget and
honours a 429's wait, as before (runner.RunState).

Memory: the pool has N threads, so at most N captures are in flight, each keeping at most
``max_body`` decoded bytes (capture.py); the finished exchanges wait for their items as
each would have after its own capture, and the variants sent ahead are at most N per model
until the variants item judges them.

Not used under pytest-xdist: a worker learns which scenarios are its own only as the
scheduler sends their items, and a scenario sent ahead by every worker would be sent once
per worker; each worker captures a scenario when its item runs, as without concurrency.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

import httpx

from ..exchange import Exchange
from .config import Settings
from .runner import PLAIN, ahead_of, capture_request, refused, run_scenario_now, run_state, send_ahead
from .scenarios import Scenario

__all__ = ["Ahead"]

Variants = Sequence[tuple[Settings, Sequence[dict[str, Any]]]]


class Ahead:
    """The captures one run sends ahead: a pool of ``concurrency`` threads, the futures of
    its scenarios by (model, name) and of its variants by model."""

    def __init__(self, client: httpx.Client, concurrency: int) -> None:
        self.client = client
        self.concurrency = concurrency
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sse-ahead")
        self._scenarios: dict[tuple[str, str], Future[Exchange]] = {}
        self._variants: dict[str, list[tuple[dict[str, Any], Future[Exchange | None]]]] = {}
        self._gates: dict[str, threading.Event] = {}  # model -> set once its canary settles

    def start(self, scenarios: Sequence[tuple[Settings, Scenario]], variants: Callable[[], Variants] = lambda: ()) -> None:
        """Send the canaries, then the variants (``variants`` is called in between: they are
        generated while the canaries are on the wire), then the other scenarios. The pool's
        queue is first in, first out: every canary has a thread before any job that waits on
        it, and the variants, generated requests with longer answers on average than the
        fixed scenarios (multi-turn, tools, structured output), start before the short ones:
        longest first is what keeps the last answer from starting late."""
        for settings, scenario in scenarios:
            if scenario.name == PLAIN:
                self._gates[settings.model] = threading.Event()
                self._scenarios[(settings.model, scenario.name)] = self._pool.submit(self._canary, settings, scenario)
        try:
            planned = variants()
        except Exception:  # nothing sent ahead: the variants item meets the same error and reports it
            planned = ()
        for settings, requests in planned:
            self._variants[settings.model] = [(r, self._pool.submit(self._variant, settings, r, i)) for i, r in enumerate(requests, 1)]
        for settings, scenario in scenarios:
            if scenario.name != PLAIN:
                self._scenarios[(settings.model, scenario.name)] = self._pool.submit(self._dependent, settings, scenario)

    def _canary(self, settings: Settings, scenario: Scenario) -> Exchange:
        gate, state = self._gates[settings.model], run_state(self.client, settings)

        def answered(status: int, headers: dict[str, str]) -> None:
            if 200 <= status < 300:  # no body turns a 2xx into a refusal (rules.capture.refusal)
                state.answered(settings.model, None, None, final=False)
                gate.set()

        try:
            return run_scenario_now(self.client, settings, scenario, on_headers=answered)
        finally:
            gate.set()  # refused, or no answer at all: the outcome is recorded by now

    def _settled(self, settings: Settings) -> None:
        gate = self._gates.get(settings.model)
        if gate is not None:
            gate.wait()

    def _dependent(self, settings: Settings, scenario: Scenario) -> Exchange:
        self._settled(settings)
        return run_scenario_now(self.client, settings, scenario)

    def _variant(self, settings: Settings, request: dict[str, Any], index: int) -> Exchange | None:
        """None when not sent: the variants item then decides (it is skipped on a refusal)."""
        self._settled(settings)
        if refused(self.client, settings.model):
            return None
        return capture_request(self.client, settings, request, tag="variant", source=f"live/variant-{index}")

    def scenario(self, model: str, name: str) -> Future[Exchange] | None:
        return self._scenarios.get((model, name))

    def variants(self, model: str) -> list[tuple[dict[str, Any], Future[Exchange | None]]]:
        """The model's variants sent ahead, in generated order; handed over once."""
        return self._variants.pop(model, [])

    def wait_all(self) -> None:
        """Until every capture sent ahead is complete (each is bounded by its total limit)."""
        futures: list[Future[Any]] = [*self._scenarios.values(), *(f for batch in list(self._variants.values()) for _, f in batch)]
        wait(futures)

    def close(self) -> None:
        """Cancel what has not started (a capture in flight ends at its own limits) and
        forget the captures: the run is over."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        if ahead_of(self.client) is self:
            send_ahead(self.client, None)
