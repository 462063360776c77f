"""The tool's own failures: bad configuration, unreadable files. Not findings.

    ConformanceError
    ├── UsageError          a wrong option or rule id (exit 2)
    └── RecordingError      a recording or its sidecar cannot be read (exit 2)

A broken *stream* is never an exception: it becomes a finding.
"""

from __future__ import annotations

__all__ = ["ConformanceError", "RecordingError", "UsageError"]


class ConformanceError(Exception):
    """Base of the tool's own errors."""


class UsageError(ConformanceError):
    """The user asked for something that does not exist (unknown rule, profile, format)."""


class RecordingError(ConformanceError):
    """A recording or its sidecar cannot be read or is not of the documented shape."""
