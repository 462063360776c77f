"""The command line: ``sse-conformance validate``, ``rules`` and ``diff``.

Exit codes: 0 every stream conforms, 1 an error-level rule failed (with ``--baseline``: a
failure the baseline does not have), 2 a usage error or a path that could not be read (the
other files are still judged).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from . import __version__
from .baseline import compare, failures_of, load_baseline, render_text, statuses_of
from .errors import ConformanceError, RecordingError, UsageError
from .findings import FAIL, WARN, Finding, Status, Verdict
from .github import github_command, print_annotations as _print_annotations
from .interactions import Skipped, skipped_summary
from .judge import judge, select_rules
from .profiles import PROFILE_HELP, get_profile
from .recordings import iter_recordings, read, recording_id
from .rules import SECTIONS, Rule, all_rules

EXCERPT = 160  # bytes of the offending event shown under a finding


def excerpt(body: bytes, finding: Finding) -> str | None:
    """The offending bytes, escaped so that control characters and bad UTF-8 stay visible.

    Where the finding names a JSON path, the window is moved to the last key of that path
    inside the event, so a long chunk still shows the part that is wrong.
    """
    if finding.offset is None:
        return None
    start = finding.offset
    end = finding.end if finding.end is not None and finding.end > start else start + EXCERPT
    if finding.path and end - start > EXCERPT:
        keys = re.findall(r"\.([A-Za-z_][\w-]*)", finding.path)
        if keys:
            at = body.find(b'"' + keys[-1].encode() + b'"', start, end)
            if at > start + EXCERPT // 3:
                start = at - EXCERPT // 3
    raw = body[start : min(end, start + EXCERPT)]
    before = "..." if start > finding.offset else ""
    after = "..." if end > start + EXCERPT else ""
    return before + repr(raw)[2:-1] + after


def location(finding: Finding) -> str:
    parts = []
    if finding.event is not None:
        parts.append(f"event #{finding.event}")
    if finding.offset is not None:
        parts.append(f"byte {finding.offset}")
    if finding.path:
        parts.append(finding.path)
    return ", ".join(parts) or "whole exchange"


def _print_verdict(path: str, body: bytes, verdict: Verdict, out: TextIO, mark: Callable[[str], str] | None = None) -> None:
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
            text = excerpt(body, f)
            if text:
                out.write(f"          | {text}\n")
        if result.total > len(result.findings):
            out.write(f"          ... and {result.total - len(result.findings)} more {result.rule} finding(s)\n")


# what _judge_one sends back for one file (from a worker process too): plain data only
Judged = tuple[str | None, list[bool], Any, list[Skipped], list[tuple[str, dict[str, Any]]], list[tuple[str, dict[str, Status]]]]


def _requested_clients(args: argparse.Namespace, rules: Sequence[Rule]) -> tuple[str, ...]:
    """--clients (else pyproject's clients), narrowed to the client rules --select/--ignore kept."""
    from .clients import parse_clients
    from .live.config import configured_clients

    wanted = parse_clients(args.clients) if args.clients is not None else configured_clients()
    kept = {r.id for r in rules}
    return tuple(c for c in wanted if f"client.{c}" in kept)


def _print_client_matrix(rows: list[tuple[str, dict[str, dict[str, Any]]]], versions: dict[str, Any], out: TextIO) -> None:
    from .clients import PIECES_NOTE

    out.write(f"\nClient replay ({PIECES_NOTE}):\n")
    for name, version in versions.items():
        out.write(f"  {name:<21} {version}\n")
    names = list(versions)
    width = max([len("recording"), *(len(p) for p, _ in rows)])
    out.write(f"{'recording':<{width}}  " + "  ".join(f"{n:<{max(len(n), 7)}}" for n in names).rstrip() + "\n")
    for path, row in rows:
        cols = [row.get(n, {}).get("state", "-").replace("not requested", "-") for n in names]
        out.write(f"{path:<{width}}  " + "  ".join(f"{c:<{max(len(n), 7)}}" for c, n in zip(cols, names)).rstrip() + "\n")
    out.write("same: as the spec's reading; differs/raised: see the client.* warnings above; skipped: not applicable here\n")


def _clients_or_path(args: argparse.Namespace) -> None:
    """``--clients fixtures/``: argparse hands the path to --clients' optional LIST; a value
    that names no client is a path, and --clients means all."""
    from .clients.names import CLIENTS, GROUPS

    value = args.clients
    if value is not None and value != "all":
        names = [v.strip() for v in value.split(",") if v.strip()]
        if names and not any(n in CLIENTS or n in GROUPS for n in names):
            args.paths.insert(0, value)
            args.clients = "all"
    if not args.paths:
        raise UsageError("validate needs at least one PATH (a .sse file or a directory)")


def _judge_one(path: Any, args: argparse.Namespace, rules: Sequence[Rule], replayer: Any = None) -> Judged:
    """One recording file: (usage error, each exchange's conformance, the report piece, what
    was skipped, the client-matrix rows, each exchange's (id, rule statuses) for a baseline).
    A cassette or HAR file holds several exchanges. The
    piece is what the chosen format prints for the file (a list of dicts for json, the text
    otherwise), built here so that a worker process sends back only that, never the decoded
    streams."""
    try:
        contents = read(path)
    except RecordingError as exc:  # this file is a usage error; the others are still judged
        piece = github_command("error", str(path), 1, None, "unreadable recording", str(exc)) if args.format == "github" else None
        return f"sse-conformance: {exc}\n", [], piece, [], [], []
    except Exception as exc:  # never a traceback: a file we cannot even read is that file's error
        return f"sse-conformance: {path}: cannot read: {type(exc).__name__}: {exc}\n", [], None, [], [], []
    file_id = recording_id(Path(path), getattr(args, "root", None) or Path.cwd())  # the id validate --reports writes
    known = getattr(args, "known", None)
    statuses: list[tuple[str, dict[str, Status]]] = []
    oks: list[bool] = []
    entries: list[dict[str, Any]] = []
    rows: list[tuple[str, dict[str, Any]]] = []
    text = io.StringIO()
    if args.format == "text":
        for s in contents.skipped:
            text.write(f"{s.id}: skipped: {s.reason}\n")
    for recorded in contents.exchanges:
        readings = replayer.replay(recorded.exchange) if replayer is not None else None
        verdict = judge(recorded.exchange, args.profile, rules, readings)
        oks.append(verdict.ok)
        exchange_id = file_id + (recorded.id[len(str(path)):] if recorded.id.startswith(str(path)) else "")
        statuses.append((exchange_id, verdict.statuses()))

        def mark(rule: str, exchange_id: str = exchange_id) -> str:
            return "known" if known is not None and (exchange_id, rule) in known else "new"

        row = _client_row(verdict) if replayer is not None else None
        if row is not None:
            rows.append((recorded.id, row))
        if args.format == "json":
            entries.append({
                **({"clients": row} if row is not None else {}),
                "path": recorded.id,
                "ok": verdict.ok,
                "profile": verdict.profile,
                "dialect": verdict.dialect,
                "findings": [f.to_json() for f in verdict.findings],
                "rules": verdict.statuses(),
            })
        elif args.format == "github":
            _print_annotations(recorded, verdict, text)
        else:
            _print_verdict(recorded.id, recorded.exchange.body, verdict, text, mark if known is not None else None)
    return None, oks, entries if args.format == "json" else text.getvalue(), list(contents.skipped), rows, statuses


# A worker's own copy of the arguments and rules, set once per process by the pool initializer.
_WORKER: tuple[argparse.Namespace, list[Rule]] | None = None


def _init_worker(args: argparse.Namespace) -> None:
    global _WORKER
    _WORKER = (args, select_rules(args.select, args.ignore))


def _judge_in_worker(path: Any) -> Judged:
    assert _WORKER is not None
    return _judge_one(path, *_WORKER)


def _judged(paths: list[Any], args: argparse.Namespace, rules: Sequence[Rule], replayer: Any = None) -> Iterator[Judged]:
    """Each path's result, in input order: in this process (-j 1, a single file, or client
    replay, whose one Node process serves the whole run), or from a pool of processes fed
    chunked lists of paths (recordings are independent of each other)."""
    jobs = min(args.jobs or os.cpu_count() or 1, len(paths))
    if jobs <= 1 or replayer is not None:
        for path in paths:
            yield _judge_one(path, args, rules, replayer)
        return
    from concurrent.futures import ProcessPoolExecutor

    chunk = max(1, min(64, len(paths) // (jobs * 8)))  # enough chunks to even out the load
    pool = ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(args,))
    try:
        yield from pool.map(_judge_in_worker, paths, chunksize=chunk)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def cmd_validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    _clients_or_path(args)
    if args.profile is not None:
        get_profile(args.profile)
    if getattr(args, "jobs", None) is not None and args.jobs < 1:
        raise UsageError(f"-j/--jobs must be at least 1, not {args.jobs}")
    rules = select_rules(args.select, args.ignore)
    clients = _requested_clients(args, rules)
    if clients:
        from .clients import Replayer

        with Replayer(clients) as replayer:
            return _validate(args, rules, out, err, replayer)
    return _validate(args, rules, out, err, None)


def _validate(args: argparse.Namespace, rules: Sequence[Rule], out: TextIO, err: TextIO, replayer: Any) -> int:
    matrix: list[tuple[str, dict[str, Any]]] = []
    base = statuses_of(load_baseline(args.baseline)) if args.baseline else None
    known = failures_of(base) if base is not None else set()
    current: dict[str, dict[str, Status]] = {}
    code = 0
    report: list[dict[str, Any]] = []
    skipped: list[Skipped] = []
    judged = conforming = 0
    paths: list[Any] = []
    for raw in args.paths:
        try:
            paths.extend(iter_recordings([raw]))
        except RecordingError as exc:
            err.write(f"sse-conformance: {exc}\n")
            code = 2
    args.known, args.root = (frozenset(known) if base is not None else None), Path.cwd()  # workers mark new/known
    for problem, oks, piece, skips, rows, statuses in _judged(paths, args, rules, replayer):
        skipped.extend(skips)
        if problem is not None:
            err.write(problem)
            if piece:
                out.write(piece)
            code = 2
            continue
        judged += len(oks)
        conforming += sum(oks)
        matrix.extend(rows)
        current.update(statuses)
        if not all(oks) and code == 0 and base is None:
            code = 1
        if args.format == "json":
            report.extend(piece)
        else:
            out.write(piece)
    versions = replayer.versions() if replayer is not None else {}
    comparison = compare(base, current, args.baseline) if base is not None else None
    if comparison is not None and comparison.new and code == 0:
        code = 1  # against a baseline only a new failure fails
    if args.format == "json":
        document: dict[str, Any] = {"fixtures": report}
        if skipped:
            document["skipped"] = [{"path": s.id, "kind": s.kind, "reason": s.reason} for s in skipped]
        if replayer is not None:
            from .clients import PIECES_NOTE

            document["clients"] = {"versions": versions, "pieces": PIECES_NOTE}
        if comparison is not None:
            document["baseline"] = comparison.to_json()
        json.dump(document, out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        if replayer is not None and matrix and args.format == "text":
            _print_client_matrix(matrix, versions, out)
        tail = f"; {skipped_summary(skipped)}" if skipped else ""
        out.write(f"\n{judged} recording(s): {conforming} conform, {judged - conforming} fail{tail}\n")
        if comparison is not None:
            out.write(render_text(comparison))
    if args.reports and paths:
        from .commands import write_recording_reports

        write_recording_reports([str(p) for p in paths], args.profile, args.reports, err if args.format == "json" else out,
                                clients=replayer.clients if replayer is not None else (), baseline=args.baseline)
    return code


def cmd_summary(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from pathlib import Path

    from .summary import write_summary

    return write_summary(Path(args.report), out, err)


def _client_row(verdict: Verdict) -> dict[str, dict[str, Any]]:
    from .clients import cells

    results = {r.rule: {"status": r.status, "reason": r.reason, "findings": [f.to_json() for f in r.findings]} for r in verdict.results}
    return cells(results)


def cmd_diff(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Compare two compliance.json files as ``--baseline`` would: exit 1 when NEW has a
    failure OLD does not."""
    old = load_baseline(args.old, "OLD")
    new = load_baseline(args.new, "NEW")
    comparison = compare(statuses_of(old), statuses_of(new), args.old)
    if args.format == "json":
        json.dump(comparison.to_json(), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(render_text(comparison))
    return 0 if comparison.ok else 1


def rule_json(r: Rule) -> dict[str, Any]:
    return {
        "id": r.id,
        "severity": r.severity,
        "severity_note": r.severity_note,  # a conditional severity: when the rule reports less
        "section": r.section,
        "source": r.source,
        "profiles": sorted(r.profiles),
        "title": r.title,
        "why": r.why,
        "live_only": r.live,
        "function": f"{r.check.__module__}.{r.check.__name__}",
    }


def rules_markdown(rules: Sequence[Rule]) -> str:
    """The README's rule table, generated from the catalogue."""
    lines = ["| rule | severity | section | what must hold |", "|---|---|---|---|"]
    for r in rules:
        section = r.section if r.section == "suite" else f"{r.section}. {SECTIONS[r.section]}"
        lines.append(f"| `{r.id}` | {r.severity_text} | {section} | {r.title} |")
    return "\n".join(lines) + "\n"


def cmd_rules(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    rules = select_rules(args.ids) if args.ids else all_rules()
    from . import catalogue  # rules ID: where each is defined, and examples from the fixtures

    if args.format == "json":
        json.dump([rule_json(r) | (catalogue.details_json(r) if args.ids else {}) for r in rules], out, indent=2)
        out.write("\n")
    elif args.format == "markdown":
        out.write(rules_markdown(rules))
    elif args.ids:
        for r in rules:
            out.write(f"{r.id} ({r.severity}; {r.source}; profiles: {', '.join(sorted(r.profiles))})\n")
            out.write(f"  {r.title}\n  Why: {r.why}\n  Checked by: {rule_json(r)['function']}\n")
            if r.severity_note:
                out.write(f"  Severity: {r.severity_text}. Each finding says which applied and why.\n")
            if r.live:
                out.write("  Judged from what a live run records (timing, the provoked scenario).\n")
            out.write(catalogue.details_text(r) + "\n")
    else:
        width = max(len(r.id) for r in rules)
        for r in rules:
            severity = r.severity + ("*" if r.severity_note else "")
            out.write(f"{r.id:<{width}}  {severity:<8}  §{r.section:<5}  {r.title}\n")
        if any(r.severity_note for r in rules):
            out.write("\n* conditional severity (each finding says which applied):\n")
            out.writelines(f"  {r.id}: {r.severity_text}\n" for r in rules if r.severity_note)
        out.write(f"\n{len(rules)} rules. `sse-conformance rules ID` for one rule's details.\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sse-conformance",
        description="Conformance checks for OpenAI-compatible streaming chat-completion endpoints.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    val = sub.add_parser("validate", help="judge recorded streams (.sse files, VCR.py/go-vcr cassettes, HAR files; directories recursively)")
    val.add_argument("paths", nargs="*", metavar="PATH")  # one or more; checked after --clients LIST may give one back
    val.add_argument("--profile", default=None, metavar="PROFILE", help=f"{PROFILE_HELP} (default: the sidecar's, else sansa)")
    val.add_argument("--select", action="append", metavar="RULE", help="only these rules (ids or groups such as 'tools'); repeatable or comma-separated")
    val.add_argument("--ignore", action="append", metavar="RULE", help="skip these rules; repeatable or comma-separated")
    val.add_argument("--format", choices=("text", "json", "github"), default="text",
                     help="github: workflow-command annotations (::error file=...,line=...::) on the recording's lines")
    val.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                     help="judge files in N processes (default: the machine's cores; 1: in this process); output and exit code do not depend on it")
    val.add_argument("--reports", metavar="DIR", help="also write report.html, compliance.json and junit.xml into DIR")
    val.add_argument("--clients", nargs="?", const="all", default=None, metavar="LIST",
                     help="also replay every stream through real clients and compare (all, python, node, or names; "
                          "see README); default: [tool.sse-conformance] clients, else none")
    val.add_argument("--baseline", metavar="JSON", help="compliance.json of an earlier run (validate --reports): fail only on a failure it does not have")
    val.set_defaults(func=cmd_validate)

    dif = sub.add_parser("diff", help="compare two compliance.json files: new, known and fixed failures (exit 1 on a new one)")
    dif.add_argument("old", metavar="OLD.json", help="the baseline")
    dif.add_argument("new", metavar="NEW.json", help="the run to judge against it")
    dif.add_argument("--format", choices=("text", "json"), default="text")
    dif.set_defaults(func=cmd_diff)

    rls = sub.add_parser("rules", help="list the rule catalogue")
    rls.add_argument("ids", nargs="*", metavar="ID")
    rls.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    rls.set_defaults(func=cmd_rules)

    summ = sub.add_parser("summary", help="a Markdown summary of compliance.json (for a CI job page, e.g. $GITHUB_STEP_SUMMARY)")
    summ.add_argument("report", metavar="COMPLIANCE_JSON")
    summ.set_defaults(func=cmd_summary)

    from .commands import add_commands

    add_commands(sub)
    return parser


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and not getattr(args, "passthrough", False):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # argparse's own usage errors exit 2 already
        return int(exc.code or 0)
    for name in ("select", "ignore"):
        if hasattr(args, name):
            setattr(args, name, _split(getattr(args, name)))
    try:
        if getattr(args, "passthrough", False):
            return int(args.func(args, extra, out, err))
        return int(args.func(args, out, err))
    except BrokenPipeError:  # `validate ... | head`: the reader left; not an error of ours
        sys.stderr = None  # silence the interpreter's flush warning
        return 0
    except UsageError as exc:
        err.write(f"sse-conformance: {exc}\n")
        return 2
    except ConformanceError as exc:
        err.write(f"sse-conformance: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
