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
from .findings import FAIL, WARN, Finding, Verdict
from .judge import judge, select_rules
from .profiles import PROFILE_HELP, get_profile
from .recordings import iter_recordings, load, recording_id
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


def _judge_one(path: Any, args: argparse.Namespace, rules: Sequence[Rule]) -> tuple[str | None, bool, Any, tuple[str, dict[str, str]]]:
    """One recording: (usage error, conforms, the report piece, (exchange id, rule statuses)).
    The piece is what the chosen format prints for it, built here so that a worker process
    sends back only that (a dict for json, the text otherwise), never the decoded stream."""
    exchange_id = recording_id(path, getattr(args, "root", None) or Path.cwd())  # the id validate --reports writes
    try:
        exchange = load(path)
    except RecordingError as exc:
        return f"sse-conformance: {exc}\n", False, None, (exchange_id, {})
    verdict = judge(exchange, args.profile, rules)
    statuses = (exchange_id, verdict.statuses())
    known = getattr(args, "known", None)

    def mark(rule: str) -> str:
        return "known" if known is not None and (exchange_id, rule) in known else "new"

    if args.format == "json":
        return None, verdict.ok, {
            "path": str(path),
            "ok": verdict.ok,
            "profile": verdict.profile,
            "dialect": verdict.dialect,
            "findings": [f.to_json() for f in verdict.findings],
            "rules": verdict.statuses(),
        }, statuses
    text = io.StringIO()
    _print_verdict(str(path), exchange.body, verdict, text, mark if known is not None else None)
    return None, verdict.ok, text.getvalue(), statuses


# A worker's own copy of the arguments and rules, set once per process by the pool initializer.
_WORKER: tuple[argparse.Namespace, list[Rule]] | None = None


def _init_worker(args: argparse.Namespace) -> None:
    global _WORKER
    _WORKER = (args, select_rules(args.select, args.ignore))


def _judge_in_worker(path: Any) -> tuple[str | None, bool, Any, tuple[str, dict[str, str]]]:
    assert _WORKER is not None
    return _judge_one(path, *_WORKER)


def _judged(paths: list[Any], args: argparse.Namespace, rules: Sequence[Rule]) -> Iterator[tuple[str | None, bool, Any, tuple[str, dict[str, str]]]]:
    """Each path's result, in input order: in this process (-j 1, or a single file), or from a
    pool of processes fed chunked lists of paths (recordings are independent of each other)."""
    jobs = min(args.jobs or os.cpu_count() or 1, len(paths))
    if jobs <= 1:
        for path in paths:
            yield _judge_one(path, args, rules)
        return
    from concurrent.futures import ProcessPoolExecutor

    chunk = max(1, min(64, len(paths) // (jobs * 8)))  # enough chunks to even out the load
    pool = ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(args,))
    try:
        yield from pool.map(_judge_in_worker, paths, chunksize=chunk)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def cmd_validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.profile is not None:
        get_profile(args.profile)
    if getattr(args, "jobs", None) is not None and args.jobs < 1:
        raise UsageError(f"-j/--jobs must be at least 1, not {args.jobs}")
    rules = select_rules(args.select, args.ignore)
    base = statuses_of(load_baseline(args.baseline)) if args.baseline else None
    known = failures_of(base) if base is not None else set()
    current: dict[str, dict[str, str]] = {}
    code = 0
    report: list[dict[str, Any]] = []
    judged = conforming = 0
    paths: list[Any] = []
    for raw in args.paths:
        try:
            paths.extend(iter_recordings([raw]))
        except RecordingError as exc:
            err.write(f"sse-conformance: {exc}\n")
            code = 2
    args.known, args.root = (frozenset(known) if base is not None else None), Path.cwd()  # workers mark new/known
    for problem, ok, piece, statuses in _judged(paths, args, rules):
        if problem is not None:
            err.write(problem)
            code = 2
            continue
        judged += 1
        conforming += ok
        current[statuses[0]] = statuses[1]
        if not ok and code == 0 and base is None:
            code = 1
        if args.format == "json":
            report.append(piece)
        else:
            out.write(piece)
    comparison = compare(base, current, args.baseline) if base is not None else None
    if comparison is not None and comparison.new and code == 0:
        code = 1  # against a baseline only a new failure fails
    if args.format == "json":
        doc: dict[str, Any] = {"fixtures": report}
        if comparison is not None:
            doc["baseline"] = comparison.to_json()
        json.dump(doc, out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(f"\n{judged} recording(s): {conforming} conform, {judged - conforming} fail\n")
        if comparison is not None:
            out.write(render_text(comparison))
    if args.reports and paths:
        from .commands import write_recording_reports

        write_recording_reports([str(p) for p in paths], args.profile, args.reports, err if args.format == "json" else out, args.baseline)
    return code


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
    if args.format == "json":
        json.dump([rule_json(r) for r in rules], out, indent=2)
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
            out.write("\n")
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

    val = sub.add_parser("validate", help="judge recorded streams (.sse files, directories recursively)")
    val.add_argument("paths", nargs="+", metavar="PATH")
    val.add_argument("--profile", default=None, metavar="PROFILE", help=f"{PROFILE_HELP} (default: the sidecar's, else sansa)")
    val.add_argument("--select", action="append", metavar="RULE", help="only these rules (ids or groups such as 'tools'); repeatable or comma-separated")
    val.add_argument("--ignore", action="append", metavar="RULE", help="skip these rules; repeatable or comma-separated")
    val.add_argument("--format", choices=("text", "json"), default="text")
    val.add_argument("-j", "--jobs", type=int, default=None, metavar="N", help="judge files in N processes (default: the machine's cores; 1: in this process); output and exit code do not depend on it")
    val.add_argument("--reports", metavar="DIR", help="also write report.html, compliance.json and junit.xml into DIR")
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
        sys.stderr = None  # type: ignore[assignment]  # silence the interpreter's flush warning
        return 0
    except UsageError as exc:
        err.write(f"sse-conformance: {exc}\n")
        return 2
    except ConformanceError as exc:
        err.write(f"sse-conformance: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
