"""Gathers every rule result from the test reports and writes compliance.json and the page.

Runs on the process that writes reports: on the xdist controller (payloads arrive on the
reports the workers send), or in a plain run. Workers do nothing here.
"""

from __future__ import annotations

import datetime as dt
import json
from html import escape
from pathlib import Path
from typing import Any

import pytest

from .. import __version__
from ..baseline import annotate, compare, render_text, statuses_of
from ..clients.matrix import cells
from ..rules import all_rules
from .html import render

__all__ = ["COMPLIANCE_FORMAT", "ComplianceCollector"]

COMPLIANCE_FORMAT = 1  # bump when the documented shape of compliance.json changes


class ComplianceCollector:
    def __init__(self, config: pytest.Config, json_path: str | None, meta: dict[str, Any], active: bool = False) -> None:
        self.config = config
        self.active = active  # recordings or live scenarios were asked for: the page is ours
        self.json_path = Path(json_path) if json_path else None
        self.meta = meta
        self.results: dict[tuple[str, str], dict[str, Any]] = {}
        self.exchanges: dict[str, dict[str, Any]] = {}
        self.variants: dict[str, Any] | None = None
        self.crashed: list[str] = []  # items that failed without a rule result: never green
        self.variants_by_model: dict[str, dict[str, Any]] = {}
        self.baseline: tuple[str, dict[str, dict[str, str]]] | None = None  # (path, statuses)

    def use_baseline(self, path: str, statuses: dict[str, dict[str, str]]) -> None:
        """Mark each failure new or known against this baseline (``--sse-baseline``)."""
        self.baseline = (path, statuses)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        payload = getattr(report, "sse", None)
        ones = payload if isinstance(payload, list) else [payload] if payload else []
        for one in ones:
            if isinstance(one, dict) and isinstance(one.get("exchange"), str) and isinstance(one.get("rule"), str):
                self.results[(one["exchange"], one["rule"])] = one
        if report.failed and not ones and self.active:
            self.crashed.append(report.nodeid)
        exchange = getattr(report, "sse_exchange", None)
        if exchange:
            self.exchanges.setdefault(exchange["id"], exchange)
        variants = getattr(report, "sse_variants", None)
        if variants:
            self.variants = variants
            self.variants_by_model[variants.get("model") or ""] = variants

    def document(self) -> dict[str, Any]:
        """compliance.json: the documented, stable shape (README, report/compliance.schema.json)."""
        counts = {"pass": 0, "fail": 0, "warn": 0, "n/a": 0, "skipped": 0}
        by_exchange: dict[str, dict[str, Any]] = {}
        for (exchange_id, rule), res in self.results.items():
            counts[res["status"]] += 1
            entry = by_exchange.setdefault(exchange_id, {"id": exchange_id, "rules": {}})
            entry["rules"][rule] = {k: res[k] for k in ("status", "severity", "reason", "total", "title", "section", "source", "findings")}
        order = {r.id: i for i, r in enumerate(all_rules())}
        exchanges = []
        for exchange_id, entry in sorted(by_exchange.items()):  # stable: the same run gives the same file
            info = self.exchanges.get(exchange_id, {"id": exchange_id})
            rules = dict(sorted(entry["rules"].items(), key=lambda kv: order.get(kv[0], len(order))))
            ok = not any(r["status"] == "fail" for r in rules.values())
            extra = {"clients": cells(rules)} if self.meta.get("clients") else {}
            exchanges.append({**info, "ok": ok, "rules": rules, **extra})
        doc = {
            "format": COMPLIANCE_FORMAT,
            "suite": {"name": "sse-conformance", "version": __version__},
            "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            **self.meta,
            # green only when something was judged and nothing failed: a run where every
            # item crashed, or nothing was captured, is not a conforming endpoint
            "ok": counts["fail"] == 0 and not self.crashed and self._judged_any(exchanges),
            "counts": counts,
            "variants": self._variants(),
            "exchanges": exchanges,
        }
        return self._compare(doc)

    def _compare(self, doc: dict[str, Any]) -> dict[str, Any]:
        if self.baseline is not None:
            path, statuses = self.baseline
            annotate(doc, compare(statuses, statuses_of(doc), path))
        return doc

    def _variants(self) -> dict[str, Any] | None:
        """One model: its variants summary. Several: the totals, and each model's summary
        under ``by_model`` (each model gets the same seed, so the same requests)."""
        if len(self.variants_by_model) <= 1:
            return self.variants
        runs = list(self.variants_by_model.values())
        total = {k: sum(v[k] for v in runs) for k in ("variants", "budget", "sent", "generated", "shrinks")}
        notes = [f"{v['model']}: {n}" for v in runs for n in v["notes"]]
        return {**total, "seed": runs[0]["seed"], "ok": all(v["ok"] for v in runs), "flaky": any(v["flaky"] for v in runs),
                "notes": notes, "model": None, "by_model": dict(sorted(self.variants_by_model.items()))}

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """With a baseline, the comparison under pytest's summary: new, known, fixed, missing."""
        if self.baseline is None or not self.active:
            return  # (validate --reports keeps pytest's output to itself and prints the comparison)
        path, statuses = self.baseline
        comparison = compare(statuses, statuses_of(self.document()), path)
        terminalreporter.write_sep("-", "sse-conformance baseline")
        terminalreporter.write(render_text(comparison))

    def _judged_any(self, exchanges: list[dict[str, Any]]) -> bool:
        if any(r["status"] in ("pass", "fail", "warn") for ex in exchanges for r in ex["rules"].values()):
            return True
        return bool(self.variants and self.variants.get("generated"))

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report: Any) -> None:
        if self.active:
            report.title = "sse-conformance: stream compliance report"

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session) -> None:
        if self.results:
            prefix.extend(render(self.document()))

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        # pytest-html writes the test id raw; a recording's file name must not become markup
        test_id = report.nodeid + ("" if report.when == "call" else f"::{report.when}")
        if len(cells) > 1:
            cells[1] = f'<td class="col-testId">{escape(test_id)}</td>'

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.json_path is None or not self.active:
            return  # written whenever asked for, results or not: a stale file must not survive
        self.json_path.parent.mkdir(parents=True, exist_ok=True)
        self.json_path.write_text(json.dumps(self.document(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
