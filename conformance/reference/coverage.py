"""Which fault shows each rule in a live run, beyond the faults' own ``rules``; and, for a
rule no fault can show, why.

Why a table: the suite's claim "every rule has a fault" (style.md, "the repo tests itself")
is only worth something if it is checked, and a rule that no live run can show deserves its
reason in writing rather than silence. A test (tests/test_fault_coverage.py) holds every
rule of the catalogue to one of: a fault whose ``rules`` list it, a fault that breaks it
under client replay (below), or a reason here; and it holds each entry here to the truth.

Plain strings, no import of the rules: the endpoint never imports the checker
(ARCHITECTURE.md, "Boundaries").
"""

from __future__ import annotations

from typing import Final

__all__ = ["NO_FAULT", "UNDER_REPLAY"]

# The client.* rules compare what a real client ends up with against the spec's reading of
# the same stream: a run shows them only when it replays its captures through the clients
# (`run --clients`). A fault's ``rules`` are judged without replay, so these are listed here:
# the fault, and the client rules its answers break once replayed (every kind it acts on).
# Other faults trip clients too (not-json-payload trips all six); these two are the traps the
# compat rules exist for (tests/clients_streams.py: event-only-block, error-lone-cr).
UNDER_REPLAY: Final[dict[str, tuple[str, ...]]] = {
    # an `event: ping` block with no data: the Python clients and openai-node dispatch it as an
    # event with empty data and fail to parse it
    "dataless-block": (
        "client.httpx-sse",
        "client.openai-node",
        "client.openai-node-stream",
        "client.openai-python",
        "client.openai-python-stream",
    ),
    # a body ending in a lone CR: the AI SDK's eventsource-parser never dispatches the error
    "error-trailing-cr": ("client.vercel-ai",),
}

# Rule id -> why no fault of the reference endpoint can show it in a live run. Empty today:
# every rule of the catalogue has a fault (the test says which). A new rule that cannot be
# shown live (say, one judged only from a recording's sidecar) is listed here with its reason.
NO_FAULT: Final[dict[str, str]] = {}
