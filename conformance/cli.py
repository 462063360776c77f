"""The command line: ``sse-conformance validate``, ``rules`` and ``diff``.

Exit codes: 0 every stream conforms, 1 an error-level rule failed (with ``--baseline``: a
failure the baseline does not have), 2 a usage error or a path that could not be read (the
other files are still judged).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from . import __version__
from .baseline import compare, failures_of, load_baseline, render_text, statuses_of
from .errors import ConformanceError, RecordingError, UsageError
from .findings import Verdict
from .interactions import Contents, Skipped
from .judge import judge, select_rules
from .profiles import PROFILE_HELP, get_profile
from .recordings import iter_recordings, read, recording_id
from .rules import SECTIONS, Rule, all_rules
from .writers import ClientMatrixWriter, GithubWriter, JsonWriter, JudgedExchange, ReportsWriter, Run, StatusesWriter, TextWriter, Writer


# What one recording file gives the main process (from a worker process too): plain data only.
class FileOutcome(NamedTuple):
    problem: str | None  # the usage error of an unreadable file, for stderr
    oks: list[bool]  # each exchange's conformance
    skipped: list[Skipped]  # what a cassette or HAR file held that is not judged
    pieces: list[Any]  # each writer's piece, in the order of the writers


def _requested_clients(args: argparse.Namespace, rules: Sequence[Rule]) -> tuple[str, ...]:
    """--clients (else pyproject's clients), narrowed to the client rules --select/--ignore kept."""
    from .clients import parse_clients
    from .live.config import configured_clients

    wanted = parse_clients(args.clients) if args.clients is not None else configured_clients()
    kept = {r.id for r in rules}
    return tuple(c for c in wanted if f"client.{c}" in kept)


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


def _judge_file(path: Path, profile: str | None, rules: Sequence[Rule], replayer: Any, lazy: bool = False) -> tuple[Contents, list[Verdict]]:
    """The one place ``validate`` reads and judges: every exchange of one recording file (a
    cassette or HAR file holds several), replayed through the clients first when asked.
    Raises RecordingError for a file that cannot be read.

    ``lazy``: a raw recording's body stays on disk and is judged in one pass as it is read,
    whatever its size (issue 12); only client replay and the writers that need the whole
    body in memory (github line numbers, the reports) turn it off."""
    contents = read(path, lazy=lazy)
    return contents, [judge(r.exchange, profile, rules, replayer.replay(r.exchange) if replayer is not None else None) for r in contents.exchanges]


def _outcome(path: Path, profile: str | None, rules: Sequence[Rule], writers: Sequence[Writer], root: Path, replayer: Any = None) -> FileOutcome:
    """One file judged once, and each writer's piece of it."""
    try:
        lazy = replayer is None and not any(w.needs_body for w in writers)
        contents, verdicts = _judge_file(path, profile, rules, replayer, lazy)
    except RecordingError as exc:  # this file is a usage error; the others are still judged
        return FileOutcome(f"sse-conformance: {exc}\n", [], [], [w.unreadable(str(path), str(exc)) for w in writers])
    except Exception as exc:  # never a traceback: a file we cannot even read (or, a bug, judge) is that file's error
        return FileOutcome(f"sse-conformance: {path}: cannot read or judge: {type(exc).__name__}: {exc}\n", [], [], [None] * len(writers))
    file_id = recording_id(Path(path), root)  # the id validate --reports writes
    given = str(path)
    judged = [JudgedExchange(r, v, file_id + (r.id[len(given):] if r.id.startswith(given) else "")) for r, v in zip(contents.exchanges, verdicts)]
    return FileOutcome(None, [v.ok for v in verdicts], list(contents.skipped), [w.judged(contents, judged) for w in writers])


# A worker's own copy of what judging needs, set once per process by the pool initializer.
_WORKER: tuple[str | None, list[Rule], list[Writer], Path, Any] | None = None


def _init_worker(profile: str | None, select: list[str] | None, ignore: list[str] | None, writers: list[Writer], root: Path,
                 clients: tuple[str, ...]) -> None:
    """With --clients each worker replays through its own clients: its own Node process,
    closed when the worker exits (multiprocessing runs the finalizer; atexit would not run)."""
    global _WORKER
    replayer = None
    if clients:
        from multiprocessing.util import Finalize

        from .clients import Replayer

        replayer = Replayer(clients)
        Finalize(None, replayer.close, exitpriority=10)
    _WORKER = (profile, select_rules(select, ignore), writers, root, replayer)


def _in_worker(path: Path) -> FileOutcome:
    assert _WORKER is not None
    profile, rules, writers, root, replayer = _WORKER
    return _outcome(path, profile, rules, writers, root, replayer)


def _jobs(requested: int | None, files: int) -> int:
    """-j N, else the cores this process may use; never more processes than files."""
    if requested is None:
        cpu_count = getattr(os, "process_cpu_count", None)  # Python 3.13+: honours the affinity mask
        if cpu_count is not None:
            requested = cpu_count() or 1
        elif hasattr(os, "sched_getaffinity"):
            requested = len(os.sched_getaffinity(0)) or 1
        else:
            requested = os.cpu_count() or 1
    return max(1, min(requested, files))


def _outcomes(paths: list[Path], args: argparse.Namespace, rules: Sequence[Rule], writers: list[Writer], root: Path,
              replayer: Any = None) -> Iterator[FileOutcome]:
    """Each path's outcome, in input order: in this process (-j 1 or a single file), or from a
    pool of processes fed chunked lists of paths (recordings are independent of each other).
    With client replay each worker has its own replayer (and Node process); this process's
    replayer then only names the versions."""
    jobs = _jobs(args.jobs, len(paths))
    if jobs <= 1:
        for path in paths:
            yield _outcome(path, args.profile, rules, writers, root, replayer)
        return
    import gc
    from concurrent.futures import ProcessPoolExecutor

    # chunks of paths: one round trip per chunk, not per file, yet ~16 chunks per worker so
    # that the last ones even out the load (900 small files: 28 files, ~35 ms, per chunk)
    chunk = max(1, min(32, len(paths) // (jobs * 16)))
    pool = ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(args.profile, args.select, args.ignore, writers, root,
                                                                              replayer.clients if replayer is not None else ()))
    # Forked workers share this process's memory until they write to it, and the collector
    # writes to every object it scans: frozen objects are never scanned, so the workers copy
    # fewer pages (the pool's CPU overhead on 900 small files: ~25% -> ~6%).
    gc.freeze()
    try:
        yield from pool.map(_in_worker, paths, chunksize=chunk)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()


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


def _writers(args: argparse.Namespace, rules: Sequence[Rule], known: frozenset[tuple[str, str]] | None, replayer: Any) -> tuple[list[Writer], StatusesWriter | None]:
    """The writers this run asks for, in the order they finish: the client matrix before the
    text totals, the reports last (they say where they are)."""
    writers: list[Writer] = []
    statuses = StatusesWriter() if args.baseline else None
    if statuses is not None:
        writers.append(statuses)
    if replayer is not None and args.format == "text":
        writers.append(ClientMatrixWriter())
    if args.format == "json":
        writers.append(JsonWriter(clients=replayer is not None))
    elif args.format == "github":
        writers.append(GithubWriter())
    else:
        writers.append(TextWriter(known))
    if args.reports:
        selected = None if args.select is None and args.ignore is None else frozenset(r.id for r in rules)
        writers.append(ReportsWriter(args.reports, args.profile, replayer.clients if replayer is not None else (), args.baseline,
                                     selected, to_err=args.format == "json"))
    return writers, statuses


def _validate(args: argparse.Namespace, rules: Sequence[Rule], out: TextIO, err: TextIO, replayer: Any) -> int:
    base = statuses_of(load_baseline(args.baseline)) if args.baseline else None
    known = frozenset(failures_of(base)) if base is not None else None
    writers, statuses = _writers(args, rules, known, replayer)
    run = Run()
    problems = failed = False
    for raw in args.paths:
        try:
            run.paths.extend(iter_recordings([raw]))
        except RecordingError as exc:
            err.write(f"sse-conformance: {exc}\n")
            problems = True
    for outcome in _outcomes(run.paths, args, rules, writers, Path.cwd(), replayer):
        run.skipped.extend(outcome.skipped)
        if outcome.problem is not None:
            err.write(outcome.problem)
            problems = True
        run.judged += len(outcome.oks)
        run.conforming += sum(outcome.oks)
        failed = failed or not all(outcome.oks)
        for writer, piece in zip(writers, outcome.pieces):
            writer.take(piece, out)
    run.versions = replayer.versions() if replayer is not None else None
    if base is not None and statuses is not None:
        run.comparison = compare(base, statuses.current, args.baseline)
        failed = bool(run.comparison.new)  # against a baseline only a new failure fails
    for writer in writers:
        writer.finish(run, out, err)
    return 2 if problems else 1 if failed else 0


def cmd_summary(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from pathlib import Path

    from .summary import write_summary

    return write_summary(Path(args.report), out, err)


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
                     help="judge files in N processes (default: the cores this process may use; 1: in this process); output and exit code do not depend on it")
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
