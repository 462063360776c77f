"""Every rule can be shown live by a fault of the reference endpoint, or says why it cannot.

tests/test_reference.py proves that each fault breaks exactly its ``rules``; this file proves
that together they (and the client replay table) reach the whole catalogue, and that the
replay table is true: each listed fault's answers, replayed through the real clients, break
exactly the client rules it names.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import httpx
import pytest

from conformance import all_rules, judge
from conformance.clients import CLIENTS, NODE_CLIENTS, PYTHON_CLIENTS, Replayer
from conformance.reference import FAULTS, create_app, serve_in_thread
from conformance.reference.coverage import NO_FAULT, UNDER_REPLAY
from conformance.rules import Rule

from .test_reference import SCENARIOS, capture

HAVE_NODE = shutil.which("node") is not None
AVAILABLE = CLIENTS if HAVE_NODE else PYTHON_CLIENTS


def shown_by() -> dict[str, set[str]]:
    """Rule id -> the faults that show it in a live run (their own rules, or under replay)."""
    out: dict[str, set[str]] = {}
    for name, fault in FAULTS.items():
        for rule_id in fault.rules:
            out.setdefault(rule_id, set()).add(name)
    for name, rule_ids in UNDER_REPLAY.items():
        for rule_id in rule_ids:
            out.setdefault(rule_id, set()).add(name)
    return out


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_every_rule_has_a_fault_or_a_reason(rule: Rule) -> None:
    faults = shown_by().get(rule.id, set())
    reason = NO_FAULT.get(rule.id)
    assert faults or reason, f"no fault shows {rule.id} live: add one (conformance/reference/) or say why in reference/coverage.py NO_FAULT"
    assert not (faults and reason), f"{rule.id} is listed as impossible to show, yet {sorted(faults)} show it: drop the reason"


def test_the_tables_name_only_what_exists() -> None:
    known = {r.id for r in all_rules()}
    assert set(NO_FAULT) <= known, set(NO_FAULT) - known
    assert all(len(reason) > 20 for reason in NO_FAULT.values())
    assert set(UNDER_REPLAY) <= set(FAULTS), set(UNDER_REPLAY) - set(FAULTS)
    for name, rule_ids in UNDER_REPLAY.items():
        assert rule_ids and all(r.startswith("client.") and r in known for r in rule_ids), name
        assert not FAULTS[name].legal


@pytest.fixture(scope="module")
def replayed() -> Iterator[tuple[str, Replayer, httpx.Client]]:
    with (
        serve_in_thread(create_app("sansa", delay=0.0005)) as base,
        Replayer(AVAILABLE) as replayer,
        httpx.Client(timeout=10) as client,
    ):
        yield base, replayer, client


@pytest.mark.parametrize(("name", "kind"), [(n, k) for n in UNDER_REPLAY for k in FAULTS[n].kinds if k in SCENARIOS])
def test_a_replayed_fault_breaks_exactly_the_clients_it_names(replayed: tuple[str, Replayer, httpx.Client], name: str, kind: str) -> None:
    base, replayer, client = replayed
    exchange = capture(base, SCENARIOS[kind], fault=name, client=client)
    verdict = judge(exchange, None, None, replayer.replay(exchange))
    broken = {r.rule for r in verdict.results if r.rule.startswith("client.") and r.status in ("fail", "warn")}
    named = {r for r in UNDER_REPLAY[name] if HAVE_NODE or r.removeprefix("client.") not in NODE_CLIENTS}
    assert broken == named, verdict.results
    # without the fault every client reads these answers as the spec does: a live run with
    # --clients says so for every scenario (test_clients_cli.py::test_run_clients_against_the_embedded_endpoint)
