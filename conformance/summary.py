"""A Markdown summary of compliance.json, for a CI job's page (GitHub's ``$GITHUB_STEP_SUMMARY``).

    sse-conformance summary reports/compliance.json >> "$GITHUB_STEP_SUMMARY"
    python -m conformance.summary reports/compliance.json

The verdict, what was tested, the counts, the compliance matrix (exchange x rule group, the
worst status of the group's rules in each cell) and every failure with its rule, place and
message; warnings folded under them. Everything from the report is escaped for Markdown and
HTML (the messages quote what the endpoint sent), and the text stays under GitHub's 1 MiB
limit for a step summary: past MAX_ROWS findings the rest is counted and left to report.html.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .formatting import location
from .rules import all_rules

__all__ = ["main", "render"]

MAX_ROWS = 50  # findings listed per kind (failures, warnings)
MAX_MESSAGE = 400  # characters of a message shown in a table cell
ORDER = {"fail": 4, "warn": 3, "skipped": 2, "pass": 1, "n/a": 0}
CELL = {"fail": "❌ fail", "warn": "⚠️ warn", "skipped": "⏭️ skipped", "pass": "✅ pass", "n/a": "·"}

_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#!])")


def md(value: Any) -> str:
    """Plain text for a Markdown table cell: no markup, no HTML, no line breaks that end the row."""
    text = str(value).replace("&", "&amp;")
    text = _SPECIAL.sub(lambda m: {"<": "&lt;", ">": "&gt;"}.get(m.group(1), "\\" + m.group(1)), text)
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def _short(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + " [...]"


def _matrix(doc: dict[str, Any]) -> list[str]:
    groups = list(dict.fromkeys(r.group for r in all_rules()))
    lines = ["| exchange | " + " | ".join(groups) + " |", "|---|" + "---|" * len(groups)]
    for ex in doc.get("exchanges", []):
        cells = []
        for g in groups:
            statuses = [r["status"] for rid, r in ex.get("rules", {}).items() if rid.split(".", 1)[0] == g]
            if not statuses:
                cells.append("·")
                continue
            worst = max(statuses, key=lambda s: ORDER.get(s, 0))
            bad = sum(s == worst for s in statuses) if worst in ("fail", "warn") else 0
            cells.append(CELL.get(worst, md(worst)) + (f" ({bad})" if bad > 1 else ""))
        lines.append(f"| {md(ex['id'])} | " + " | ".join(cells) + " |")
    return lines


def _findings(doc: dict[str, Any], status: str) -> tuple[list[str], int]:
    rows: list[str] = []
    total = 0
    for ex in doc.get("exchanges", []):
        for rule, res in ex.get("rules", {}).items():
            if res.get("status") != status:
                continue
            findings = res.get("findings") or [{"message": res.get("reason") or res.get("title") or ""}]
            extra = max(0, int(res.get("total") or 0) - len(findings))
            for f in findings:
                total += 1
                if len(rows) < MAX_ROWS:
                    rows.append(f"| {md(ex['id'])} | `{rule}` | {md(res.get('source') or '')} | {md(location(f))} | {md(_short(f.get('message') or ''))} |")
            total += extra
    head = ["| exchange | rule | spec | where | message |", "|---|---|---|---|---|"]
    return (head + rows if rows else []), total


def render(doc: dict[str, Any]) -> str:
    """The summary as Markdown."""
    counts = doc.get("counts", {})
    ok = bool(doc.get("ok"))
    title = "✅ conforms: no error-level rule failed" if ok else f"❌ does not conform: {counts.get('fail', 0)} rule check(s) failed"
    out = [f"## sse-conformance: {title}", ""]
    facts = [("endpoint", doc.get("endpoint") or "recordings"), ("model", doc.get("model")), ("profile", doc.get("profile")),
             ("suite", f"sse-conformance {doc.get('suite', {}).get('version', '?')}"), ("generated", doc.get("generated"))]
    out.append(" · ".join(f"{k} **{md(v)}**" for k, v in facts if v))
    out.append("")
    out.append(f"Rule checks: {counts.get('pass', 0)} passed, {counts.get('fail', 0)} failed, {counts.get('warn', 0)} warned, "
               f"{counts.get('n/a', 0)} not applicable, {counts.get('skipped', 0)} skipped.")
    variants = doc.get("variants")
    if variants:
        state = "all passed" if variants.get("ok") else "one broke a rule (see live/variants)"
        out.append(f"Request variants: {variants.get('generated')} of {variants.get('variants')} generated (seed {variants.get('seed')}), "
                   f"{variants.get('sent')} requests sent: {md(state)}.")
    out += ["", "### Compliance matrix", "", *_matrix(doc), ""]
    rows, total = _findings(doc, "fail")
    out += ["### Failures", ""]
    out += rows if rows else ["None."]
    if total > MAX_ROWS:
        out.append(f"\n... and {total - MAX_ROWS} more failure(s): see report.html.")
    rows, total = _findings(doc, "warn")
    if rows:
        out += ["", f"<details><summary>Warnings ({total}): reported, they do not fail the run</summary>", "", *rows]
        if total > MAX_ROWS:
            out.append(f"\n... and {total - MAX_ROWS} more warning(s): see report.html.")
        out += ["", "</details>"]
    out.append("")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Exit 0 with the summary written; 2 when the report is missing or unreadable (the
    summary then says so, so that the job page never stays silent)."""
    out, err = out or sys.stdout, err or sys.stderr
    parser = argparse.ArgumentParser(prog="sse-conformance summary", description="Markdown summary of a compliance.json report")
    parser.add_argument("report", metavar="COMPLIANCE_JSON")
    args = parser.parse_args(argv)
    return write_summary(Path(args.report), out, err)


def write_summary(path: Path, out: TextIO, err: TextIO) -> int:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or "exchanges" not in doc:
            raise ValueError("not a compliance.json report (no exchanges)")
    except (OSError, ValueError) as exc:
        out.write(f"## sse-conformance: no report\n\n{md(path)} could not be read ({md(exc)}): the run ended before writing it; see the job log.\n")
        err.write(f"sse-conformance: {path}: {exc}\n")
        return 2
    out.write(render(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
