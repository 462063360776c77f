"""``validate --format github``: findings as GitHub Actions workflow commands.

Each finding becomes ``::error file=PATH,line=N,col=C,title=RULE::message`` (``::warning``
for a warning-level rule), which GitHub shows as an annotation on that line of the recording
in the pull request's diff and the run's summary. The line is:

- in a ``.sse`` file: the line of the offending event (line breaks counted as the event-stream
  standard counts them: CRLF, LF, CR), with the column of its byte;
- in a cassette whose body is a YAML literal block (``string: |``): the offending event's own
  line inside the block, with its column;
- in any other cassette body (single-quoted, double-quoted, ``!!binary``, gzip) and in a HAR
  file: the line where the interaction's body starts (``string:`` / ``"text":``), no column;
- a finding about the whole exchange (no byte offset): that same body line.

GitHub shows the first 10 annotations of each level per step; the rest stay in the log.
Escaping follows the runner's rules: ``%``, CR and LF in the message; those and ``:`` and
``,`` in property values.
"""

from __future__ import annotations

from typing import TextIO

from .findings import FAIL, WARN, Verdict
from .formatting import location
from .interactions import Recorded

__all__ = ["escape_data", "escape_property", "github_command", "print_annotations"]


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_command(level: str, file: str, line: int | None, col: int | None, title: str, message: str) -> str:
    props = [f"file={escape_property(file)}"]
    if line is not None:
        props.append(f"line={line}")
    if col is not None:
        props.append(f"col={col}")
    props.append(f"title={escape_property(title)}")
    return f"::{level} {','.join(props)}::{escape_data(message)}\n"


def print_annotations(recorded: Recorded, verdict: Verdict, out: TextIO) -> None:
    """One workflow command per finding of a failed or warned rule."""
    for result in verdict.results:
        if result.status not in (FAIL, WARN):
            continue
        for f in result.findings:
            # per finding: a rule with a conditional severity mixes errors and warnings
            level = "error" if f.severity == "error" else "warning"
            line, col = recorded.position(f.offset)
            where = location(f)
            why = f"; {f.severity_reason}" if f.severity_reason else ""
            message = f"{f.message}\n({recorded.id}: {where}; profile {verdict.profile}{why})"
            out.write(github_command(level, str(recorded.path), line, col, result.rule, message))
        if result.total > len(result.findings):
            line, _ = recorded.position(None)
            more = result.total - len(result.findings)
            level = "error" if result.status == FAIL else "warning"
            out.write(github_command(level, str(recorded.path), line, None, result.rule, f"... and {more} more {result.rule} finding(s) in {recorded.id}"))
