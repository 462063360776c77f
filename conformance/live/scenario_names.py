"""The names of the live scenarios, apart from the scenarios themselves.

The settings (``config.py``) refuse a ``skip`` that names an unknown scenario, and the
scenarios (``scenarios.py``) build their requests from the settings. The names live here so
that each of those two modules imports this one and neither imports the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

__all__ = ["SCENARIO_NAMES", "unknown_scenarios"]

# In run order; scenarios.py checks at import that SCENARIOS holds exactly these, in this order.
SCENARIO_NAMES: Final[tuple[str, ...]] = (
    "text",
    "length",
    "tool-call",
    "parallel-tools",
    "reasoning",
    "structured",
    "stream-options",
    "bad-key",
    "invalid-params",
)


def unknown_scenarios(names: Iterable[str]) -> list[str]:
    """The names among ``names`` that are no scenario, sorted (a usage error for the caller)."""
    return sorted(set(names) - set(SCENARIO_NAMES))
