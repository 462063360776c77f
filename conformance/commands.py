"""The live commands: ``run``, ``record`` and ``serve`` (``validate``/``rules`` are in cli.py).

``run`` drives pytest in-process with the plugin's live items and writes the reports; with no
endpoint it starts the embedded reference endpoint on a free loopback port, runs against it,
and stops it. Only this module and the CLI know both sides: the live client and the
reference server still never import each other.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import httpx

from .baseline import load_baseline
from .exchange import Exchange
from .judge import judge
from .live.ahead import Ahead
from .live.config import DEFAULT_CONCURRENCY, Settings, load_settings
from .live.runner import NotSent, new_client, run_scenario, send_ahead
from .live.scenarios import SCENARIOS, skipping
from .profiles import PROFILE_HELP, get_profile
from .recordings import save
from .redact import Scrubber

REFERENCE_KEY_ENV = "SSE_CONFORMANCE_REFERENCE_KEY"


def add_live_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--endpoint", help="base URL of the endpoint (…/v1); default: the embedded reference endpoint")
    p.add_argument("--model", action="append", help="model name sent in every request; repeatable (or comma-separated): every scenario runs per model")
    p.add_argument("--api-key-env", metavar="VAR", help="environment variable holding the API key (default SSE_CONFORMANCE_API_KEY)")
    p.add_argument("--profile", metavar="PROFILE", help=f"profile to judge by: {PROFILE_HELP} (default sansa)")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="total time limit per exchange (default 120)")
    p.add_argument("--skip", action="append", metavar="SCENARIO", help="skip this scenario (repeatable or comma-separated; added to the skip setting)")
    p.add_argument("--max-body", metavar="SIZE", help="decoded body bytes kept per exchange, e.g. 16MiB (default 4MiB)")
    p.add_argument("--concurrency", metavar="N",
                   help=f"requests in flight at once (default {DEFAULT_CONCURRENCY}; 1: one after another, as an endpoint that serves one request at a time needs)")


def reference_profile(profile: str | None) -> str:
    """The built-in profile the reference endpoint speaks for a dialect: the nearest of
    sansa and openai among its bases (the endpoint knows no dialect files)."""
    return next(name for name in get_profile(profile).lineage if name in ("openai", "sansa"))


@contextmanager
def embedded_endpoint(profile: str | None, fault: str | list[str] | None, delay: float | None = None) -> Iterator[str]:
    """The reference endpoint on a free loopback port, its key in REFERENCE_KEY_ENV.

    The key is random per run: the reports star every 4 characters of a key wherever the
    endpoint's text holds them, and the fixed ``sk-reference`` shares "ence" with English."""
    import secrets

    from .reference import create_app, serve_in_thread

    key = "sk-" + secrets.token_hex(16)
    pace: dict[str, Any] = {} if delay is None else {"delay": delay}  # else the endpoint's own default
    app = create_app(profile=reference_profile(profile), fault=fault, api_key=key, **pace)
    previous = os.environ.get(REFERENCE_KEY_ENV)
    os.environ[REFERENCE_KEY_ENV] = key
    try:
        with serve_in_thread(app) as url:
            yield url
    finally:
        if previous is None:
            os.environ.pop(REFERENCE_KEY_ENV, None)
        else:
            os.environ[REFERENCE_KEY_ENV] = previous


# run's options -> the plugin's (which avoids names that other pytest plugins own)
PASSED_ON: tuple[tuple[str, str], ...] = (
    ("profile", "--sse-profile"),
    ("timeout", "--sse-timeout"),
    ("max_body", "--sse-max-body"),
    ("concurrency", "--sse-concurrency"),
    ("variants", "--variants"),
    ("seed", "--variants-seed"),
)
REPEATED: tuple[tuple[str, str], ...] = (("model", "--model"), ("skip", "--sse-skip"))  # options given once per value
# by default pytest's own output is reduced to a progress line: the plugin's summary says the
# rest (verdict, scenarios, failures, warnings, reports); -v brings pytest's detail back
QUIET = ["-qq", "--no-header", "-rN", "--tb=no"]
DETAIL = ["-ra"]
# with PYTEST_DISABLE_PLUGIN_AUTOLOAD set, pytest loads no entry point: name the plugins the
# run needs (pytest-html needs pytest-metadata); with autoload on, naming them again would
# register them twice, which pytest refuses
PLUGINS = ("conformance.plugin", "pytest_metadata.plugin", "pytest_html.plugin")
XDIST_PLUGIN = "xdist.plugin"
REPORTS = ("report.html", "compliance.json", "junit.xml")
USAGE_ERROR = 4  # pytest.ExitCode.USAGE_ERROR, without importing pytest at CLI start


def _verbose(extra: list[str]) -> bool:
    return any(re.fullmatch(r"-v+", a) or a == "--verbose" or re.fullmatch(r"--verbosity=[1-9]\d*", a) for a in extra)


def _autoload_off(extra: list[str]) -> bool:
    return bool(os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")) or "--disable-plugin-autoload" in extra


def _xdist(extra: list[str]) -> bool:
    return any(a in ("-n", "--numprocesses", "--dist") or re.match(r"-n\d|--numprocesses=|--dist=", a) for a in extra)


def _plugins(extra: list[str]) -> list[str]:
    if not _autoload_off(extra):
        return []
    names = [*PLUGINS, *([XDIST_PLUGIN] if _xdist(extra) else [])]
    return [arg for name in names for arg in ("-p", name)]


def report_paths(reports: str) -> dict[str, Path]:
    return {name: Path(reports).resolve() / name for name in REPORTS}


def _pytest_args(args: argparse.Namespace, endpoint: str, key_env: str | None, extra: list[str], empty: Path) -> list[str]:
    paths = report_paths(args.reports)
    ini = empty / "pytest.ini"
    ini.write_text("[pytest]\n", encoding="utf-8")  # the user's own pytest config is not ours to run
    # rootdir is the current folder so that test ids read live/<scenario>::<rule>, not a temp path
    out = [str(empty), "-c", str(ini), "--rootdir", str(Path.cwd()), "-p", "no:cacheprovider", *_plugins(extra), "--endpoint", endpoint]
    if key_env is not None:
        out += ["--api-key-env", key_env]
    if args.baseline:
        out += ["--sse-baseline", str(Path(args.baseline).resolve())]
    for name, flag in PASSED_ON:
        value = getattr(args, name, None)
        if value is not None:
            out += [flag, str(value)]
    for name, flag in REPEATED:
        for value in getattr(args, name, None) or []:
            out += [flag, str(value)]
    if _xdist(extra) and not any(a == "--dist" or a.startswith("--dist=") for a in extra):
        out += ["--dist", "loadgroup"]  # each scenario is captured once, by one worker
    out += DETAIL if _verbose(extra) else QUIET
    out += [f"--junitxml={paths['junit.xml']}", f"--html={paths['report.html']}", "--self-contained-html"]
    out += [f"--sse-json={paths['compliance.json']}", "-o", "junit_family=xunit2"]
    if args.clients is not None:
        out += ["--sse-clients", args.clients]
    return out + extra


def _clear(paths: dict[str, Path]) -> None:
    """Remove the reports of an earlier run, so that whatever exists afterwards was written now."""
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)


def _after(code: int, paths: dict[str, Path], out: TextIO, err: TextIO) -> None:
    """Say what went wrong when pytest did not finish a run, and only name reports that exist
    (on a finished run the plugin's summary names them)."""
    written = [name for name, path in paths.items() if path.exists()]
    folder = Path(next(iter(paths.values()))).parent
    if code == USAGE_ERROR:
        err.write("sse-conformance: pytest refused the run (usage error, exit 4; its message is above): nothing was tested\n")
    elif code not in (0, 1):
        err.write(f"sse-conformance: pytest stopped with exit code {code} (2 interrupted, 3 internal error, 5 nothing collected)\n")
    else:
        return
    if written:
        err.write(f"sse-conformance: reports in {folder}/: {', '.join(written)}\n")
    else:
        err.write("sse-conformance: no reports were written\n")


def cmd_run(args: argparse.Namespace, extra: list[str], out: TextIO, err: TextIO) -> int:
    import pytest

    # fail early on bad settings; the merged profile also drives the embedded endpoint
    settings = skipping(
        load_settings({"endpoint": args.endpoint, "model": args.model, "profile": args.profile, "timeout": args.timeout,
                       "api_key_env": args.api_key_env, "max_body": args.max_body, "concurrency": args.concurrency}),
        args.skip,
    )
    if args.baseline:
        load_baseline(args.baseline)  # not a compliance.json: a usage error before any request
    paths = report_paths(args.reports)
    _clear(paths)
    with tempfile.TemporaryDirectory(prefix="sse-conformance-") as tmp:
        if settings.endpoint:
            if args.fault or args.delay is not None:
                flag = "--fault" if args.fault else "--delay"
                err.write(f"sse-conformance: {flag} acts on the embedded endpoint; against your own endpoint start `sse-conformance serve {flag} ...` instead\n")
                return 2
            code = pytest.main(_pytest_args(args, settings.endpoint, args.api_key_env, extra, Path(tmp)))
        else:
            if args.api_key_env:
                err.write("sse-conformance: --api-key-env needs --endpoint (the embedded endpoint has its own key)\n")
                return 2
            if args.delay is not None and not 0 <= args.delay <= 60:
                err.write(f"sse-conformance: --delay must be between 0 and 60 seconds, not {args.delay:g}\n")
                return 2
            if args.fault:
                unknown = _unknown_faults(args.fault)
                if unknown:
                    err.write(f"sse-conformance: unknown fault {unknown!r} (see serve --list-faults)\n")
                    return 2
            with embedded_endpoint(settings.profile, args.fault, args.delay) as url:
                out.write(f"sse-conformance: no endpoint given; running against the embedded reference endpoint at {url}\n")
                out.flush()
                code = pytest.main(_pytest_args(args, url, REFERENCE_KEY_ENV, extra, Path(tmp)))
    _after(int(code), paths, out, err)
    return int(code)


def _unknown_faults(values: list[str] | None) -> str | None:
    """The first name in ``--fault`` values (repeatable, comma-separated) that is no fault."""
    from .reference import FAULTS
    from .reference.app import fault_names

    return next((name for name in fault_names(values) if name.partition("@")[0] not in FAULTS), None)


def write_recording_reports(paths: list[str], profile: str | None, reports: str, out: TextIO, clients: tuple[str, ...] = (), baseline: str | None = None,
                            prejudged: object = None) -> int:
    """``validate --reports DIR``: the same report.html / compliance.json / junit.xml as a
    live run, through the plugin's ``--sse-fixtures`` items (pytest in-process). validate
    prints its own verdicts: pytest's output (and the plugin's summary) is kept off stdout,
    where it would also break ``--format json``, and shown only when pytest fails.
    ``prejudged`` (items.Prejudged): the verdicts validate judged, so that no item judges again."""
    import pytest

    files = report_paths(reports)
    _clear(files)
    target = Path(reports).resolve()
    with tempfile.TemporaryDirectory(prefix="sse-conformance-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        argv = [tmp, "-c", str(ini), "--rootdir", str(Path.cwd()), "-p", "no:cacheprovider", *_plugins([]), *QUIET]
        for path in paths:
            argv += ["--sse-fixtures", path]
        if profile:
            argv += ["--sse-profile", profile]
        argv += ["--sse-clients", ",".join(clients) or "none"]  # what validate replayed, not the pyproject's
        if clients:  # validate imported the SDKs (anyio, a pytest plugin) before this pytest run: not a problem
            argv += ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
        if baseline:
            argv += ["--sse-baseline", str(Path(baseline).resolve())]
        argv += [f"--junitxml={target / 'junit.xml'}", f"--html={target / 'report.html'}", "--self-contained-html", f"--sse-json={target / 'compliance.json'}"]
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            code = int(pytest.main(argv, plugins=[prejudged] if prejudged is not None else None))
    if code not in (0, 1):
        out.write(captured.getvalue())
        _after(code, files, out, out)
        return code
    written = [name for name, path in files.items() if path.exists()]
    out.write(f"sse-conformance: reports in {reports}/: {', '.join(written) or 'none written'}\n")
    return code


def redacted_recording(raw: Exchange, scrubber: Scrubber, profile: str | None) -> tuple[Exchange, list[str]]:
    """The recording to write, and the rules whose verdict its redaction changes (none, in
    every case we know: the body keeps its length and structure); the sidecar notes them."""
    written = scrubber.exchange(raw)
    if not scrubber or written.body == raw.body:
        return written, []
    live, replay = judge(raw, profile).statuses(), judge(written, profile).statuses()
    changed = sorted(rule for rule in live if replay.get(rule) != live[rule])
    if changed:
        written.extra["redaction"] = {"verdict_changed": {rule: {"live": live[rule], "recording": replay.get(rule)} for rule in changed}}
    return written, changed


def model_folder(model: str) -> str:
    """A model's folder under ``record --out`` (several models): one path segment, readable,
    never ``..``; the model itself is in each sidecar's request."""
    name = re.sub(r"[^\w.@+-]", "_", model).strip(".")
    return name or "_"


@contextmanager
def _sent_ahead(client: httpx.Client, settings: Settings) -> Iterator[None]:
    """With concurrency, every scenario is captured ahead, N at a time, canaries first
    (live/ahead.py); the loop then takes each capture in turn."""
    if settings.concurrency <= 1:
        yield
        return
    ahead = Ahead(client, settings.concurrency)
    send_ahead(client, ahead)
    try:
        ahead.start([(s, scenario) for s in settings.per_model() for name, scenario in SCENARIOS.items() if name not in settings.skip])
        yield
    finally:
        ahead.close()


def cmd_record(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    settings = skipping(
        load_settings(
            {"endpoint": args.endpoint, "model": args.model, "api_key_env": args.api_key_env, "profile": args.profile, "timeout": args.timeout, "max_body": args.max_body,
             "concurrency": args.concurrency}
        ),
        args.skip,
    )
    target = Path(args.out)
    failures = 0
    when = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    scrubber = Scrubber([settings.api_key])
    many = len(settings.all_models) > 1
    folders = {model_folder(m) if many else "": m for m in settings.all_models}
    if len(folders) < len(settings.all_models):
        err.write(f"sse-conformance: models {', '.join(settings.all_models)} would share a folder: rename one\n")
        return 2
    with new_client() as client, _sent_ahead(client, settings):
        for model_settings in settings.per_model():
            folder = target / model_folder(model_settings.model) if many else target  # one model: today's layout
            for name, scenario in SCENARIOS.items():
                shown = f"{model_settings.model}/{name}" if many else name
                if name in settings.skip:
                    out.write(f"{shown}: skipped ({settings.skip[name]})\n")
                    continue
                try:
                    raw = run_scenario(client, model_settings, scenario)
                except NotSent as exc:  # the plain request was refused, or the run's time is spent
                    out.write(f"{shown}: {exc}\n")
                    failures += 1
                    continue
                exchange, changed = redacted_recording(raw, scrubber, settings.profile)
                exchange.extra["source"] = f"recorded by sse-conformance record from {settings.display_url} (model {model_settings.model}) at {when}"
                path = save(exchange, folder / f"{name}.sse")
                state = exchange.problem or f"status {exchange.status}, {len(exchange.body):,} bytes"
                failures += exchange.problem is not None
                out.write(f"{shown}: {path} ({state})\n")
                if changed:
                    err.write(f"sse-conformance: {shown}: redacting the key changes the verdict of {', '.join(changed)}; the recording cannot replay it exactly\n")
    out.write(f"replay offline: sse-conformance validate {target}\n")
    if failures:
        err.write(f"sse-conformance: {failures} capture(s) were cut short by the transport (see above)\n")
    return 1 if failures else 0


def cmd_serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .reference import FAULTS, create_app

    if args.list_faults:
        from .rules import get_rule

        width = max(map(len, FAULTS))
        out.write("Rules each fault breaks, judged under profile sansa (under openai, the usage and\n"
                  "error-event faults can be legal); (warning) rules are reported but do not fail a run.\n\n")
        for fault in FAULTS.values():
            named = [r + (" (warning)" if get_rule(r).severity == "warning" else "") for r in fault.rules]
            rules = ", ".join(named) if fault.rules else "none (legal framing: must pass)"
            when = f"; only when {fault.conditional}" if fault.conditional else ""
            out.write(f"{fault.name:<{width}}  breaks: {rules}\n{'':<{width}}  {fault.description} [answer kinds: {', '.join(fault.kinds)}{when}]\n")
        return 0
    unknown = _unknown_faults(args.fault)
    if unknown:
        err.write(f"sse-conformance: unknown fault {unknown!r} (see serve --list-faults)\n")
        return 2
    import uvicorn

    speaks = reference_profile(args.profile)
    shown = speaks if speaks == get_profile(args.profile).name else f"{speaks}, the base of {get_profile(args.profile).name}"
    app = create_app(profile=speaks, fault=args.fault, api_key=args.api_key, delay=args.delay)
    key = args.api_key if args.api_key == "sk-reference" else "as given by --api-key"  # a chosen key is not echoed
    out.write(f"reference endpoint: http://{args.host}:{args.port}/v1 (profile {shown}, fault {','.join(args.fault or []) or 'none'}, key {key})\n")
    out.flush()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="run the live suite (default: against the embedded reference endpoint) and write reports/")
    add_live_options(run)
    run.add_argument("--fault", action="append",
                     help="with the embedded endpoint: make it break a rule (see serve --list-faults); repeatable or comma-separated; NAME@MODEL only for that model")
    run.add_argument("--delay", type=float, metavar="SECONDS",
                     help="with the embedded endpoint: seconds between its events (default 0.002); a slow endpoint, e.g. 0.05, shows what a run costs against a real model")
    run.add_argument("--baseline", metavar="JSON", help="compliance.json of an earlier run: fail only on a failure it does not have")
    run.add_argument("--reports", default="reports", metavar="DIR", help="where report.html and junit.xml go (default reports/)")
    run.add_argument("--variants", type=int, metavar="N", help="generated request variants, every rule checked on each (default 8; 0: off)")
    run.add_argument("--seed", type=int, metavar="SEED", help="seed of the variants (default 0: reproducible)")
    run.add_argument("--clients", nargs="?", const="all", default=None, metavar="LIST",
                     help="also replay every captured stream through real clients (all, python, node, or names); default: pyproject's clients")
    run.set_defaults(func=cmd_run, passthrough=True)

    rec = sub.add_parser("record", help="capture every scenario into recordings (.sse + sidecar), key redacted")
    add_live_options(rec)
    rec.add_argument("--out", required=True, metavar="DIR")
    rec.set_defaults(func=cmd_record)

    srv = sub.add_parser("serve", help="run the reference endpoint")
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=int, default=8000)
    srv.add_argument("--profile", metavar="PROFILE", help=f"{PROFILE_HELP}; a dialect is served as its built-in base (sansa or openai)")
    srv.add_argument("--fault", action="append", help="break a rule on every request (see --list-faults); repeatable or comma-separated; NAME@MODEL only for that model")
    srv.add_argument("--api-key", default="sk-reference", help="the key clients must send (default sk-reference)")
    srv.add_argument("--delay", type=float, default=0.002, help="seconds between events (default 0.002; 0 for benchmarks)")
    srv.add_argument("--list-faults", action="store_true", help="list the faults and the rules each one breaks")
    srv.set_defaults(func=cmd_serve)


__all__ = ["REFERENCE_KEY_ENV", "add_commands", "embedded_endpoint"]
