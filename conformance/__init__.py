"""sse-conformance: judge OpenAI-compatible chat-completion streams against the spec.

The public door; everything else is internal.
"""

from .exchange import Exchange, Timing
from .findings import Finding, RuleResult, Verdict
from .judge import judge, select_rules
from .recordings import iter_exchanges, iter_recordings, load, read, save
from .rules import Rule, all_rules
from .sse import Event, SSEParser, parse

__all__ = [
    "Event",
    "Exchange",
    "Finding",
    "Rule",
    "RuleResult",
    "SSEParser",
    "Timing",
    "Verdict",
    "all_rules",
    "iter_exchanges",
    "iter_recordings",
    "judge",
    "load",
    "parse",
    "read",
    "save",
    "select_rules",
]

__version__ = "0.1.0"
