"""The embedded reference endpoint: a conformant streaming chat-completions server with faults.

It shares the JSON Schemas with the checker and nothing else: it never imports the parser,
the rules or the judge, so a bug on one side cannot hide the same bug on the other.
"""

from .app import create_app
from .faults import FAULTS, Fault
from .server import serve_in_thread

__all__ = ["FAULTS", "Fault", "create_app", "serve_in_thread"]
