"""``validate``'s outputs, each a writer fed the same judged results.

Every recording file is read and judged once; each writer then sees the same
``JudgedExchange``s. A writer has two halves, because judging may happen in a worker process:

- ``unreadable`` / ``judged`` run where the exchange was judged and return a *piece*: plain,
  small data (the text to print, JSON entries, rule statuses). A worker sends back pieces,
  never the decoded streams;
- ``take`` runs in the main process, piece by piece in the order of the arguments, and
  ``finish`` once at the end, with the run's totals (``Run``).

The writers: the text, JSON and GitHub-annotation formats (one of them), the client matrix
(``--clients``), the baseline's rule statuses (``--baseline``) and the reports
(``--reports DIR``: compliance.json, the page and junit.xml, written by the plugin's items
from the verdicts judged here, not judged again).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TextIO

import orjson

from .baseline import Comparison, render_text
from .exchange import Exchange
from .findings import FAIL, WARN, Status, Verdict
from .formatting import Body, escaped_excerpt, location
from .github import github_command, print_annotations
from .interactions import Contents, Recorded, Skipped, skipped_summary

__all__ = [
    "ClientMatrixWriter", "GithubWriter", "JsonWriter", "JudgedExchange", "ReportsWriter", "Run", "StatusesWriter", "TextWriter",
    "Writer", "print_verdict",
]


@dataclass(frozen=True, slots=True)
class JudgedExchange:
    """One exchange as judged: what every writer is fed."""

    recorded: Recorded
    verdict: Verdict
    exchange_id: str  # its id in compliance.json and baselines: relative to the working folder (FILE or FILE#N)


@dataclass(slots=True)
class Run:
    """What the main process knows once every file is taken: the totals every writer may print."""

    paths: list[Path] = field(default_factory=list)
    judged: int = 0
    conforming: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    comparison: Comparison | None = None
    versions: dict[str, Any] | None = None  # client versions, when clients were replayed


class Writer:
    """One output. The base class writes nothing: a writer overrides the halves it needs."""

    # Whether this output reads the whole body in memory. Most read only the few bytes around
    # a finding, which a body left on disk serves (``Exchange.file``), so ``validate`` judges a
    # recording of any size in bounded memory unless one of the selected writers says so.
    needs_body: ClassVar[bool] = False

    def unreadable(self, path: str, message: str) -> Any:
        """Worker side: the piece for a file that could not be read (the error itself goes to stderr)."""
        return None

    def judged(self, contents: Contents, exchanges: Sequence[JudgedExchange]) -> Any:
        """Worker side: the piece for one file's judged exchanges."""
        return None

    def take(self, piece: Any, out: TextIO) -> None:
        """Main side, in input order."""

    def finish(self, run: Run, out: TextIO, err: TextIO) -> None:
        """Main side, once, after every file."""


def print_verdict(path: str, body: Body, verdict: Verdict, out: TextIO, mark: Callable[[str], str] | None = None) -> None:
    """A file's verdict as text: a line, then each failed or warned rule's findings with
    where they are and the offending bytes."""
    failed = [r for r in verdict.results if r.status == FAIL]
    warned = [r for r in verdict.results if r.status == WARN]
    state = "ok" if verdict.ok else "FAIL"
    counts = f"{len(failed)} error rule(s), {len(warned)} warning rule(s)" if failed or warned else "conforms"
    out.write(f"{path}: {state} [{verdict.profile}] {counts}\n")
    for result in failed + warned:
        tag = f"[{mark(result.rule)}] " if mark and result.status == FAIL else ""  # against a baseline: new or known
        for f in result.findings:
            out.write(f"  {f.severity:<7} {tag}{f.rule}  ({location(f)})\n")
            for line in f.message.splitlines():
                out.write(f"          {line}\n")
            if f.severity_reason:
                out.write(f"          Severity: {f.severity_reason}\n")
            text = escaped_excerpt(body, f)
            if text:
                out.write(f"          | {text}\n")
        if result.total > len(result.findings):
            out.write(f"          ... and {result.total - len(result.findings)} more {result.rule} finding(s)\n")


def _totals(run: Run, out: TextIO) -> None:
    """The last lines of the text and GitHub formats: the counts, and the baseline's verdict."""
    tail = f"; {skipped_summary(run.skipped)}" if run.skipped else ""
    out.write(f"\n{run.judged} recording(s): {run.conforming} conform, {run.judged - run.conforming} fail{tail}\n")
    if run.comparison is not None:
        out.write(render_text(run.comparison))


class _Streamed(Writer):
    """A format whose pieces are text printed as they come, in input order."""

    def take(self, piece: Any, out: TextIO) -> None:
        if piece:
            out.write(piece)

    def finish(self, run: Run, out: TextIO, err: TextIO) -> None:
        _totals(run, out)


class TextWriter(_Streamed):
    """``--format text``: each exchange's verdict; against a baseline each failure is new or known."""

    def __init__(self, known: frozenset[tuple[str, str]] | None = None) -> None:
        self.known = known

    def judged(self, contents: Contents, exchanges: Sequence[JudgedExchange]) -> str:
        text = io.StringIO()
        text.writelines(f"{s.id}: skipped: {s.reason}\n" for s in contents.skipped)
        for one in exchanges:
            mark = self._marker(one.exchange_id) if self.known is not None else None
            exchange = one.recorded.exchange
            print_verdict(one.recorded.id, exchange.file or exchange.body, one.verdict, text, mark)
        return text.getvalue()

    def _marker(self, exchange_id: str) -> Callable[[str], str]:
        known = self.known or frozenset()
        return lambda rule: "known" if (exchange_id, rule) in known else "new"


class GithubWriter(_Streamed):
    """``--format github``: workflow commands that annotate the recording's lines."""

    needs_body = True  # a line number counts the newlines before the finding, from the start

    def unreadable(self, path: str, message: str) -> str:
        return github_command("error", path, 1, None, "unreadable recording", message)

    def judged(self, contents: Contents, exchanges: Sequence[JudgedExchange]) -> str:
        text = io.StringIO()
        for one in exchanges:
            print_annotations(one.recorded, one.verdict, text)
        return text.getvalue()


class JsonWriter(Writer):
    """``--format json``: one document at the end; each exchange an entry in input order.

    Each entry is encoded where it was judged, already indented for its place in the
    document: a worker sends back a string rather than nested dicts (cheaper to pickle), and
    the encoding (json's indenting encoder is pure Python) runs in parallel instead of in this
    process at the end. The document is byte for byte what ``json.dump(..., indent=2)`` writes."""

    INDENT = "    "  # an entry's depth in {"fixtures": [...]}

    def __init__(self, clients: bool = False) -> None:
        self.clients = clients
        self.entries: list[str] = []

    def judged(self, contents: Contents, exchanges: Sequence[JudgedExchange]) -> list[str]:
        entries = []
        for one in exchanges:
            verdict = one.verdict
            entry = {
                **({"clients": client_row(verdict)} if self.clients else {}),
                "path": one.recorded.id,
                "ok": verdict.ok,
                "profile": verdict.profile,
                "dialect": verdict.dialect,
                "findings": [f.to_json() for f in verdict.findings],
                "rules": verdict.statuses(),
            }
            entries.append(self.INDENT + dumps_indented(entry).replace("\n", "\n" + self.INDENT))
        return entries

    def take(self, piece: Any, out: TextIO) -> None:
        self.entries.extend(piece or [])

    def finish(self, run: Run, out: TextIO, err: TextIO) -> None:
        slot = "\u0000entries"  # a placeholder for the entries: the document's first value, so its first occurrence
        document: dict[str, Any] = {"fixtures": [slot] if self.entries else []}
        if run.skipped:
            document["skipped"] = [{"path": s.id, "kind": s.kind, "reason": s.reason} for s in run.skipped]
        if run.versions is not None:
            from .clients import PIECES_NOTE

            document["clients"] = {"versions": run.versions, "pieces": PIECES_NOTE}
        if run.comparison is not None:
            document["baseline"] = run.comparison.to_json()
        text = json.dumps(document, indent=2, ensure_ascii=False)
        if self.entries:
            text = text.replace(self.INDENT + json.dumps(slot), ",\n".join(self.entries), 1)
        out.write(text + "\n")


def dumps_indented(value: Any) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, byte for byte, in C where it can be.

    json's indenting encoder is pure Python: for 900 small files it cost as much as judging
    a tenth of them. orjson writes the same text for what an entry holds (str keys; strings,
    ints, bools, None, lists, dicts; the same escapes, UTF-8 unescaped; tests/test_throughput.py
    compares them over every fixture and every character). Where the two would differ, orjson
    refuses and json writes it: a float (repr rules differ: 1e16), a lone surrogate, a
    non-str key, an int past 64 bits, NaN."""
    if not _has_float(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
        except TypeError:  # orjson.JSONEncodeError: a lone surrogate, a key or int it does not take
            pass
    return json.dumps(value, indent=2, ensure_ascii=False)


def _has_float(value: Any) -> bool:
    """A float anywhere in ``value`` (orjson and json may spell it differently; NaN: null vs NaN)."""
    kind = type(value)
    if kind is float:
        return True
    if kind is dict:
        return any(map(_has_float, value.values()))
    if kind is list or kind is tuple:
        return any(map(_has_float, value))
    return kind is not str and kind is not int and kind is not bool and value is not None


def client_row(verdict: Verdict) -> dict[str, dict[str, Any]]:
    """The client-matrix row of one exchange: each client's cell from its client.* rule."""
    from .clients import cells

    results = {r.rule: {"status": r.status, "reason": r.reason, "findings": [f.to_json() for f in r.findings]} for r in verdict.results}
    return cells(results)


class ClientMatrixWriter(Writer):
    """``--clients`` with the text format: exchange x client, after the verdicts."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, dict[str, dict[str, Any]]]] = []

    def judged(self, contents: Contents, exchanges: Sequence[JudgedExchange]) -> list[tuple[str, dict[str, dict[str, Any]]]]:
        return [(one.recorded.id, client_row(one.verdict)) for one in exchanges]

    def take(self, piece: Any, out: TextIO) -> None:
        self.rows.extend(piece or [])

    def finish(self, run: Run, out: TextIO, err: TextIO) -> None:
        if not self.rows or run.versions is None:
            return
        from .clients import PIECES_NOTE

        versions = run.versions
        out.write(f"\nClient replay ({PIECES_NOTE}):\n")
        for name, version in versions.items():
            out.write(f"  {name:<21} {version}\n")
        names = list(versions)
        width = max([len("recording"), *(len(p) for p, _ in self.rows)])
        out.write(f"{'recording':<{width}}  " + "  ".join(f"{n:<{max(len(n), 7)}}" for n in names).rstrip() + "\n")
        for path, row in self.rows:
            cols = [row.get(n, {}).get("state", "-").replace("not requested", "-") for n in names]
            out.write(f"{path:<{width}}  " + "  ".join(f"{c:<{max(len(n), 7)}}" for c, n in zip(cols, names)).rstrip() + "\n")
        out.write("same: as the spec's reading; differs/raised: see the client.* warnings above; skipped: not applicable here\n")


class StatusesWriter(Writer):
    """``--baseline``: each exchange's rule statuses, for the comparison with the baseline."""

    def __init__(self) -> None:
        self.current: dict[str, dict[str, Status]] = {}

    def judged(self, contents: Contents, exchanges: Sequence[JudgedExchange]) -> list[tuple[str, dict[str, Status]]]:
        return [(one.exchange_id, one.verdict.statuses()) for one in exchanges]

    def take(self, piece: Any, out: TextIO) -> None:
        self.current.update(piece or [])


class ReportsWriter(Writer):
    """``--reports DIR``: compliance.json, report.html and junit.xml, through the plugin's
    items (pytest in-process) as for a live run, each item given the verdict judged here.

    Its piece is the exchange and its verdict themselves (the reports quote the body around
    each finding and assemble what a client ends up with), so with ``-j N`` this writer is
    the one that sends decoded exchanges back from the workers; without ``--reports`` none does.
    """

    needs_body = True  # the reports redact and re-decode the body for what a client ends up with

    def __init__(self, reports: str, profile: str | None, clients: tuple[str, ...], baseline: str | None,
                 selected: frozenset[str] | None, to_err: bool) -> None:
        self.reports, self.profile, self.clients, self.baseline = reports, profile, clients, baseline
        self.selected = selected  # the rules judged (--select/--ignore), None for all
        self.to_err = to_err  # --format json keeps stdout for the document
        self.verdicts: dict[tuple[str, str], tuple[Exchange, Verdict]] = {}

    def judged(self, contents: Contents, exchanges: Sequence[JudgedExchange]) -> list[tuple[tuple[str, str], Exchange, Verdict]]:
        resolved = str(Path(contents.path).resolve())
        given = str(contents.path)
        return [((resolved, one.recorded.id[len(given):] if one.recorded.id.startswith(given) else ""), one.recorded.exchange, one.verdict)
                for one in exchanges]

    def take(self, piece: Any, out: TextIO) -> None:
        for key, exchange, verdict in piece or []:
            self.verdicts[key] = (exchange, verdict)

    def finish(self, run: Run, out: TextIO, err: TextIO) -> None:
        if not run.paths:
            return
        from .commands import write_recording_reports
        from .items import Prejudged

        write_recording_reports([str(p) for p in run.paths], self.profile, self.reports, err if self.to_err else out,
                                clients=self.clients, baseline=self.baseline, prejudged=Prejudged(self.verdicts, self.selected))
