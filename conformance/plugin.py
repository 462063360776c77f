"""The pytest plugin: recordings and live scenarios become test items, one per rule.

``pytest --sse-fixtures PATH`` adds ``recording.sse::rule.id`` items; ``pytest --endpoint
URL`` adds ``live/<scenario>::rule.id`` items (``live/<model>/<scenario>::rule.id`` per model
when ``--model`` names several). pytest's own selection (-k), output, JUnit XML, pytest-html
and xdist then work on them. With ``--sse-baseline JSON`` a failure the baseline has too is
reported as an expected failure (xfail): only a new failure fails the run. Each recording or scenario is captured and
judged once (by the first of its items that runs) and every item reports its own rule's
verdict: a failed error-level rule fails the item, a rule that does not apply skips it with
the reason, and a failed warning-level rule passes with the warning attached to the report.

At the end of a run the plugin prints the summary of conformance/terminal.py (verdict, one line
per recording or scenario, failures and warnings with their rule ids, the reports written).

Live options avoid names popular plugins own: ``--sse-timeout`` (pytest-timeout has
``--timeout``) and ``--sse-profile`` (pytest-profiling has ``--profile``); the
``sse-conformance run`` command accepts the short names and translates them.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from .baseline import failures_of, load_baseline, statuses_of
from .errors import RecordingError, UsageError
from .interactions import Skipped, skipped_summary
from .items import CLIENT, REPLAY, SCENARIO_NODES, LiveScenario, LiveVariants, RecordedExchange, RecordingFile, RuleItem
from .live.ahead import Ahead
from .live.config import DEFAULT_CONCURRENCY, DEFAULT_KEY_ENV, Settings, configured_clients, load_settings
from .live.runner import new_client, send_ahead
from .live.scenarios import SCENARIOS, skipping
from .live.variants import default_budget, first_batch
from .profiles import PROFILE_HELP, get_profile
from .recordings import iter_recordings, recording_id
from .report import ComplianceCollector
from .terminal import summary_lines

DEFAULT_VARIANTS = 8


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sse-conformance", "OpenAI-compatible stream conformance")
    group.addoption(
        "--sse-fixtures",
        action="append",
        default=[],
        metavar="PATH",
        help="judge recorded streams (.sse files, VCR.py/go-vcr cassettes, HAR files, or directories, recursively): one test per recorded exchange and rule",
    )
    group.addoption(
        "--sse-profile",
        default=None,
        metavar="PROFILE",
        help=f"{PROFILE_HELP}: for recordings (default: each sidecar's, else sansa) and live runs (default sansa)",
    )
    group.addoption("--endpoint", default=None, metavar="URL", help="run the live scenarios against this base URL (…/v1)")
    group.addoption("--sse-live", action="store_true", help="run the live scenarios against the endpoint set in the environment or [tool.sse-conformance]")
    group.addoption("--model", action="append", default=None, help="model name sent in every live request; repeatable (or comma-separated): every scenario runs per model")
    group.addoption("--api-key-env", default=None, metavar="VAR", help=f"environment variable holding the API key (default {DEFAULT_KEY_ENV})")
    group.addoption("--sse-timeout", type=float, default=None, metavar="SECONDS", help="total time limit per live exchange (default 120)")
    group.addoption("--sse-skip", action="append", default=[], metavar="SCENARIO", help="live runs: skip this scenario (repeatable or comma-separated; added to the skip setting)")
    group.addoption("--sse-max-body", default=None, metavar="SIZE", help="decoded body bytes kept per live exchange, e.g. 16MiB (default 4MiB)")
    group.addoption("--sse-concurrency", default=None, metavar="N",
                    help=f"live runs: requests in flight at once (default {DEFAULT_CONCURRENCY}; 1: one after another, each captured when its first item runs)")
    group.addoption("--sse-json", default=None, metavar="PATH", help="write the compliance report as JSON (documented shape) to PATH")
    group.addoption("--variants", type=int, default=DEFAULT_VARIANTS, metavar="N",
                    help=f"live runs: N generated request variants, every rule checked on each (default {DEFAULT_VARIANTS}; 0: off)")
    group.addoption("--variants-seed", type=int, default=0, metavar="SEED", help="seed of the variants (default 0: the same variants every run)")
    group.addoption("--sse-clients", default=None, metavar="LIST",
                    help="replay every stream through real clients and compare (all, python, node, none, or names); default: clients in [tool.sse-conformance]")
    group.addoption("--sse-baseline", default=None, metavar="PATH", help="compliance.json of an earlier run: its failures are known (xfail), only a new failure fails")
    group.addoption("--variants-budget", type=int, default=None, metavar="N", help="hard cap on variant requests, shrinking included (default 4 x N + 4)")


STARTED = pytest.StashKey[float]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[STARTED] = time.time()
    config.addinivalue_line("markers", "sse_rule(id): a recording item judged by one conformance rule")
    workers = getattr(config.option, "numprocesses", None)
    if _live_requested(config) and workers and getattr(config.option, "dist", "no") != "loadgroup":
        # every worker would capture every scenario itself: one scenario must be one request
        raise pytest.UsageError("live runs under pytest-xdist need --dist loadgroup (each scenario is captured once, by one worker)")
    config.stash[REPLAY] = [_requested_clients(config), None]
    if not hasattr(config, "workerinput"):  # the xdist controller, or a plain run, writes reports
        active = bool(config.getoption("--sse-fixtures") or _live_requested(config))
        collector = ComplianceCollector(config, config.getoption("--sse-json"), _report_meta(config), active)
        config.pluginmanager.register(collector, "sse-compliance")
    _use_baseline(config)


BASELINE = pytest.StashKey[tuple[str, set[tuple[str, str]]]]()


def _use_baseline(config: pytest.Config) -> None:
    """--sse-baseline: load it once per process (workers too: they decide known failures)."""
    path = config.getoption("--sse-baseline")
    if not path:
        return
    try:
        doc = load_baseline(path)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from exc
    statuses = statuses_of(doc)
    config.stash[BASELINE] = (str(path), failures_of(statuses))
    collector = config.pluginmanager.get_plugin("sse-compliance")
    if isinstance(collector, ComplianceCollector):
        collector.use_baseline(str(path), statuses)


def _known_failure(item: pytest.Item, report: pytest.TestReport) -> None:
    """A failed item whose every failed rule the baseline has failing too becomes an expected
    failure (xfail): reported, not fatal. The run then fails only on a new failure."""
    if not report.failed or BASELINE not in item.config.stash:
        return
    source, known = item.config.stash[BASELINE]
    payload = getattr(item, "_sse_payload", None)
    results = payload if isinstance(payload, list) else [payload] if payload else []
    failed = {(r["exchange"], r["rule"]) for r in results if r["status"] == "fail"}
    if failed and failed <= known:
        report.outcome = "skipped"
        report.wasxfail = f"known failure (in baseline {source})"
    elif failed and isinstance(report.longrepr, str):  # our items' own text: say why this one fails the run
        report.longrepr = "[new: not in the baseline] " + report.longrepr


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Which clients the streams are replayed through, and their versions, atop the run."""
    info = _report_meta(config).get("clients") if config.stash.get(REPLAY, None) and config.stash[REPLAY][0] else None
    if not info:
        return []
    return ["sse-conformance client replay: " + "; ".join(f"{n} = {v}" for n, v in info["versions"].items())]


def _requested_clients(config: pytest.Config) -> tuple[str, ...]:
    """--sse-clients, else clients from the settings (pyproject): replayed only when the
    plugin judges something (recordings or a live run)."""
    if not (config.getoption("--sse-fixtures") or _live_requested(config)):
        return ()
    from .clients import parse_clients

    try:
        option = config.getoption("--sse-clients")
        if option is not None:
            return parse_clients(option)
        return live_settings(config).clients if _live_requested(config) else configured_clients()
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from exc


def _report_meta(config: pytest.Config) -> dict[str, Any]:
    """The page's header: the endpoint without credentials, model and profile; the clients."""
    clients = config.stash[REPLAY][0]
    extra: dict[str, Any] = {}
    if clients:
        from .clients import PIECES_NOTE, client_versions

        extra["clients"] = {"requested": list(clients), "versions": client_versions(clients), "pieces": PIECES_NOTE}
    if _live_requested(config):
        try:
            s = live_settings(config)
            many = len(s.all_models) > 1
            return {"endpoint": s.display_url, "model": None if many else s.model, "models": list(s.all_models), **_profile_meta(s.profile), **extra}
        except pytest.UsageError:
            return extra
    chosen = config.getoption("--sse-profile")
    return {"endpoint": None, "model": None, **(_profile_meta(chosen) if chosen else {"profile": "from each recording"}), **extra}


def _profile_meta(name: str) -> dict[str, Any]:
    """The profile's name, and the dialect (file, base, demotions) behind it."""
    try:
        profile = get_profile(name)
    except UsageError:
        return {"profile": name}  # reported as a usage error where the run starts
    return {"profile": profile.name, "dialect": profile.summary()}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Carry the rule's result on the report as plain data (xdist ships it to the controller)."""
    outcome = yield
    if isinstance(item, (RuleItem, LiveVariants)) and call.when == "call":
        report = outcome.get_result()
        if item._sse_payload is not None:
            report.sse = item._sse_payload
        if item._sse_exchange is not None:
            report.sse_exchange = item._sse_exchange
        if isinstance(item, LiveVariants) and item._sse_variants is not None:
            report.sse_variants = item._sse_variants
        _known_failure(item, report)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Add recordings' and live scenarios' items before -k and xdist see the list, in a stable order."""
    _add_recordings(session, config, items)
    _add_live(session, config, items)


def _add_recordings(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    paths = config.getoption("--sse-fixtures")
    if not paths:
        return
    try:
        recordings = list(iter_recordings(paths))
    except RecordingError as exc:
        raise pytest.UsageError(str(exc)) from exc
    try:
        get_profile(config.getoption("--sse-profile"))  # a bad dialect file stops the run once, not per item
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from exc
    root = config.rootpath
    for path in recordings:
        # the test id names the recording as the user would (recording_id)
        node = RecordingFile.from_parent(session, path=path.resolve(), nodeid=recording_id(path, root))
        for child in node.collect():  # a cassette or HAR file: one collector per exchange (FILE#N)
            if isinstance(child, RecordedExchange):
                items.extend(child.collect())
            elif isinstance(child, pytest.Item):
                items.append(child)
            else:
                raise TypeError(f"{node.nodeid} collected {child!r}, neither an exchange nor a rule item")
        config.stash.setdefault(SKIPPED, []).extend(node.skipped)


SKIPPED = pytest.StashKey[list[Skipped]]()


def pytest_report_collectionfinish(config: pytest.Config) -> str | None:
    """Interactions of cassettes and HAR files that are not streamed chat completions."""
    skipped = config.stash.get(SKIPPED, [])
    return f"sse-conformance: {skipped_summary(skipped)}" if skipped else None


def live_settings(config: pytest.Config) -> Settings:
    options = {
        "endpoint": config.getoption("--endpoint"),
        "model": config.getoption("--model"),
        "api_key_env": config.getoption("--api-key-env"),
        "profile": config.getoption("--sse-profile"),
        "timeout": config.getoption("--sse-timeout"),
        "max_body": config.getoption("--sse-max-body"),
        "concurrency": config.getoption("--sse-concurrency"),
    }
    try:
        return skipping(load_settings(options), config.getoption("--sse-skip"))
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from exc


def model_prefix(model: str, many: bool) -> str:
    """``live/`` for a run of one model (the ids of earlier reports stay the same), else
    ``live/<model>/``: the name readable, but no whitespace, control character or ``::``
    (pytest's separator) in a test id."""
    if not many:
        return "live/"
    return "live/" + re.sub(r"[^\w.@:+/-]", "_", model).replace("::", "_") + "/"


def _live_requested(config: pytest.Config) -> bool:
    """Live items send real requests: only on an explicit --endpoint or --sse-live, never
    because a pyproject or an environment variable names an endpoint (a plain `pytest` in the
    user's project must not start calling their gateway)."""
    return config.getoption("--endpoint") is not None or bool(config.getoption("--sse-live"))


def _add_live(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """The live scenarios' items, when asked for."""
    if not _live_requested(config):
        return
    settings = live_settings(config)
    if config.getoption("--variants") < 0:
        raise pytest.UsageError("--variants must be 0 (off) or more")
    if set(SCENARIOS) <= set(settings.skip) and config.getoption("--variants") == 0:
        raise pytest.UsageError("every scenario is skipped and variants are off: the run would test nothing")
    prefixes = {model_prefix(s.model, len(settings.all_models) > 1): s for s in settings.per_model()}
    if len(prefixes) < len(settings.all_models):
        raise pytest.UsageError(f"models {', '.join(settings.all_models)} give the same test id: rename one")
    # variants run per model, with the same seed: the same generated requests go to every
    # route, and a router's translation bug often lives in one provider's route only
    nodes = config.stash[SCENARIO_NODES] = []  # every model's: variants know the run's fixed failures
    for prefix, model_settings in prefixes.items():
        for scenario in SCENARIOS.values():
            name = prefix + scenario.name
            node = LiveScenario.from_parent(session, name=name, nodeid=name, scenario=scenario, settings=model_settings)
            nodes.append(node)
            items.extend(node.collect())
        if config.getoption("--variants") > 0:
            items.append(LiveVariants.from_parent(session, name=prefix + "variants", nodeid=prefix + "variants", settings=model_settings))
    for item in items:
        if isinstance(item, LiveVariants) or isinstance(getattr(item, "parent", None), LiveScenario):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


def live_scope(nodeid: str) -> str | None:
    """The xdist work unit of a live item: its scenario (``live/text::sse.done`` -> ``live/text``),
    or ``live/variants``; None for any other test."""
    if not nodeid.startswith("live/"):
        return None
    return nodeid.split("::")[0].split("@")[0]


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Live runs under ``--dist loadgroup``: send each scenario's items to one worker, from
    their test ids. xdist groups by a suffix it writes into the test id on the worker, which
    pytest 9.2's structured ids no longer take (pytest-xdist#1386): every worker then captured
    every scenario itself, one request per worker instead of one per run."""
    if not _live_requested(config) or config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class LiveGroupScheduling(LoadGroupScheduling):  # type: ignore[misc]  # xdist ships no type stubs here
        def _split_scope(self, nodeid: str) -> str:
            return live_scope(nodeid) or super()._split_scope(nodeid)

    return LiveGroupScheduling(config, log)


def written_reports(config: pytest.Config) -> list[str]:
    """The report files this run wrote (not a stale file of an earlier run), as a user would
    type them: relative to the current folder when inside it."""
    collector = config.pluginmanager.get_plugin("sse-compliance")
    candidates = [getattr(config.option, "htmlpath", None), getattr(collector, "json_path", None), getattr(config.option, "xmlpath", None)]
    started = config.stash.get(STARTED, 0.0) - 2.0  # some file systems keep whole seconds
    out = []
    for raw in candidates:
        if not raw:
            continue
        path = Path(os.path.expanduser(str(raw))).absolute()
        try:
            fresh = path.stat().st_mtime >= started
        except OSError:
            continue
        if fresh:
            out.append(os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path))
    return out


@pytest.hookimpl(wrapper=True)
def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> Any:
    """The summary a person reads: verdict, one line per recording or scenario, failures and
    warnings with rule ids, the reports written. Written by the process that holds the results,
    after the other plugins' summaries (pytest-html's link) so that it ends the output."""
    result = yield
    _print_summary(terminalreporter, config)
    return result


def _errors(terminalreporter: Any) -> list[tuple[str, str]]:
    """Failed or erroring tests that carry no rule result: the suite's own crashes (and any
    other test in the session), by test id and the last line of their error."""
    out = []
    for key in ("failed", "error"):
        for report in terminalreporter.stats.get(key, []):
            if getattr(report, "sse", None) is not None or not hasattr(report, "nodeid"):
                continue
            text = [line for line in str(getattr(report, "longreprtext", "") or "").splitlines() if line.strip()]
            marked = [line[1:].strip() for line in text if line.startswith("E ")]
            message = (marked or text or [key])[-1]
            out.append((report.nodeid + ("" if report.when == "call" else f" ({report.when})"), message))
    return out


def _print_summary(terminalreporter: Any, config: pytest.Config) -> None:
    collector = config.pluginmanager.get_plugin("sse-compliance")
    if not isinstance(collector, ComplianceCollector) or not collector.active:
        return
    doc = collector.document()
    lines = summary_lines(doc, written_reports(config), errors=_errors(terminalreporter))
    terminalreporter.write_sep("=", "sse-conformance", bold=True)
    first, *rest = lines
    terminalreporter.write_line(first, bold=True, **({"green": True} if first.startswith("sse-conformance: PASS") else {"red": True}))
    for line in rest:
        terminalreporter.write_line(line)


AHEAD = pytest.StashKey[Ahead]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """With concurrency, send the selected live scenarios (and each model's first batch of
    variants) ahead, N at a time, before the items judge them (live/ahead.py): each is still
    captured once, and only for a selected item. Not on xdist workers (see live/ahead.py),
    and not with --concurrency 1, where each is captured when its first item runs."""
    config = session.config
    if not _live_requested(config) or config.option.collectonly or hasattr(config, "workerinput") or getattr(config.option, "numprocesses", None):
        return
    settings = live_settings(config)
    if settings.concurrency <= 1:
        return
    plan, seen = [], set()
    variants = []
    for item in session.items:
        parent = item.parent
        if isinstance(parent, LiveScenario) and parent.nodeid not in seen:
            seen.add(parent.nodeid)
            if parent.scenario.name not in parent.settings.skip:
                plan.append((parent.settings, parent.scenario))
        elif isinstance(item, LiveVariants):
            variants.append(item.settings)
    if not plan and not variants:
        return
    if CLIENT not in config.stash:
        config.stash[CLIENT] = new_client()
    client = config.stash[CLIENT]
    ahead = config.stash[AHEAD] = Ahead(client, settings.concurrency)
    send_ahead(client, ahead)
    n, seed_value, budget = config.getoption("--variants"), config.getoption("--variants-seed"), config.getoption("--variants-budget")
    budget = default_budget(n) if budget is None else budget
    ahead.start(plan, lambda: [(s, first_batch(s, n, seed_value, budget)) for s in variants])


def pytest_unconfigure(config: pytest.Config) -> None:
    ahead = config.stash.get(AHEAD, None)
    if ahead is not None:
        ahead.close()
    client = config.stash.get(CLIENT, None)
    if client is not None:
        client.close()
    replay = config.stash.get(REPLAY, None)
    if replay and replay[1] is not None:
        replay[1].close()  # the Node process
