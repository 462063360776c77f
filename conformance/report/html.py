"""The compliance page, as HTML fragments for pytest-html's summary section.

pytest-html inserts these strings raw, so every value that came from the endpoint, the
request or a file name is escaped here, at the one place where text becomes HTML.
"""

from __future__ import annotations

import json
import unicodedata
from html import escape
from typing import Any

from ..formatting import location
from ..rules import SECTIONS, all_rules
from .timeline import timeline_svg

STATUS_ORDER = {"fail": 4, "warn": 3, "skipped": 2, "pass": 1, "n/a": 0}
LABEL = {"fail": "fail", "warn": "warning", "pass": "pass", "n/a": "n/a", "skipped": "skipped"}

CSS = """
.sse h2 {margin: 18px 0 6px} .sse table {border-collapse: collapse; margin: 6px 0}
.sse td, .sse th {border: 1px solid #ccc; padding: 3px 7px; font-size: 13px; text-align: left; vertical-align: top}
.sse .c-fail {background: #fdd; color: #900; font-weight: bold} .sse .c-warn {background: #fff3cd; color: #7a5b00}
.sse .c-pass {background: #e6f4ea; color: #1e6b34} .sse .c-na {color: #999} .sse .c-skipped {background: #eee; color: #555}
.sse .verdict-ok {color: #1e6b34; font-size: 20px; font-weight: bold} .sse .verdict-bad {color: #b00; font-size: 20px; font-weight: bold}
.sse pre {background: #f7f7f7; border: 1px solid #ddd; padding: 6px; white-space: pre-wrap; word-break: break-all; max-height: 260px; overflow: auto; font-size: 12px}
.sse mark {background: #ffe08a; outline: 1px solid #e0a800} .sse .sse-muted {color: #888}
.sse .finding {border-left: 4px solid #b00; padding: 2px 10px; margin: 10px 0} .sse .finding.warn {border-left-color: #e0a800}
.sse details {margin: 6px 0} .sse summary {cursor: pointer; font-weight: bold}
.sse .b-new {background: #b00; color: #fff; padding: 0 5px; border-radius: 3px; font-size: 11px}
.sse .b-known {background: #ddd; color: #333; padding: 0 5px; border-radius: 3px; font-size: 11px}
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _anchor(index: int, rule: str) -> str:
    """Anchors by exchange position, so that two recordings whose names differ only in
    punctuation (x.y.sse, x-y.sse) never share one."""
    return f"sse-{index}-" + "".join(ch if ch.isalnum() else "-" for ch in rule)


def visible_json(value: Any) -> str:
    """Pretty JSON where invisible characters (U+00A0, U+200F, ...) show as \\u escapes:
    in a shrunk request they are often the very character that matters."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return "".join(
        f"\\u{ord(c):04x}" if (unicodedata.category(c) in ("Cf", "Cc", "Zl", "Zp", "Zs") and c not in " \n") else c for c in text
    )


def _cls(status: str) -> str:
    return {"n/a": "c-na"}.get(status, f"c-{status}")


def _profile(name: str | None, dialect: dict[str, Any] | None) -> str:
    """The profile's name, and for a dialect its file and base."""
    if not dialect or not dialect.get("file"):
        return name or "-"
    return f"{dialect['name']} ({dialect['file']}, extends {dialect['extends']})"


def _overrides(dialect: dict[str, Any] | None) -> list[tuple[str, str]]:
    """What the dialect does to the rules, each with its reason."""
    if not dialect:
        return []
    rows = [(f"Demoted to warning: {d['rule']}", f"by profile {d['by']}: {d['reason']}") for d in dialect.get("demoted", [])]
    rows += [(f"Switched off: {d['rule']}", f"by profile {d['by']}: {d['reason']}") for d in dialect.get("switched_off", [])]
    return rows


def header(doc: dict[str, Any]) -> str:
    c = doc["counts"]
    ok = doc["ok"]
    verdict = (
        '<span class="verdict-ok">Conforms: no error-level rule failed</span>'
        if ok
        else f'<span class="verdict-bad">Does not conform: {c["fail"]} rule check(s) failed</span>'
        if c["fail"]
        else '<span class="verdict-bad">Not shown to conform: nothing was judged, or a test of the suite itself failed</span>'
    )
    models = doc.get("models") or []
    rows = [("Endpoint", doc.get("endpoint") or "recordings"), ("Models" if len(models) > 1 else "Model", ", ".join(models) or doc.get("model") or "-"),
            ("Profile", _profile(doc.get("profile"), doc.get("dialect"))),
            *_overrides(doc.get("dialect")),
            ("Suite", f"sse-conformance {doc['suite']['version']}"), ("Date", doc["generated"]),
            ("Rule checks", f"{c['pass']} passed, {c['fail']} failed, {c['warn']} warned, {c['n/a']} not applicable, {c['skipped']} skipped")]
    v = doc.get("variants")
    if v:
        # variants that broke only rules the fixed scenarios fail are not "all passed"
        state = "one broke a rule (see live/variants)" if not v["ok"] else "no new failure" if v.get("known_failures") else "all passed"
        rows.append(("Request variants", f"{v['generated']} of {v['variants']} generated (seed {v['seed']}), {v['sent']} requests within a budget of {v['budget']}: {state}"
                     + ("; " + "; ".join(v["notes"]) if v["notes"] else "")))
    table = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<style>{CSS}</style><div class=\"sse\"><h2>Stream conformance</h2><p>{verdict}</p><table>{table}</table></div>"


def matrix(doc: dict[str, Any]) -> str:
    groups = list(dict.fromkeys(r.group for r in all_rules()))
    head = "".join(f"<th>{_e(g)}</th>" for g in groups)
    body = []
    for i, ex in enumerate(doc["exchanges"]):
        cells = []
        for g in groups:
            rules = {k: v for k, v in ex["rules"].items() if k.split(".", 1)[0] == g}
            if not rules:
                cells.append('<td class="c-na">-</td>')
                continue
            worst = max(rules.values(), key=lambda r: STATUS_ORDER[r["status"]])["status"]
            tip = "; ".join(f"{k}: {LABEL[v['status']]}" for k, v in rules.items())
            bad = sorted((k for k, v in rules.items() if v["status"] in ("fail", "warn")), key=lambda k: -STATUS_ORDER[rules[k]["status"]])
            text = _e(LABEL[worst] if not bad else f"{LABEL[worst]} ({len(bad)})")
            if bad:  # the link goes to the worst finding: a failure before a warning
                text = f'<a href="#{_anchor(i, bad[0])}">{text}</a>'
            cells.append(f'<td class="{_cls(worst)}" title="{_e(tip)}">{text}</td>')
        body.append(f'<tr><th><a href="#{_anchor(i, "exchange")}">{_e(ex["id"])}</a></th>{"".join(cells)}</tr>')
    return f'<div class="sse"><h2>Compliance matrix</h2><table><tr><th>scenario / recording</th>{head}</tr>{"".join(body)}</table></div>'


CLIENT_CLASS = {"same": "c-pass", "differs": "c-warn", "raised": "c-fail", "skipped": "c-skipped", "not requested": "c-na"}


def client_matrix(doc: dict[str, Any]) -> str:
    """Exchange x client: what each real client ended up with against the spec's reading."""
    info = doc.get("clients")
    if not info:
        return ""
    names = list(info["versions"]) or list(info.get("requested") or [])
    head = "".join(f'<th title="{_e(info["versions"].get(n, ""))}">{_e(n)}</th>' for n in names)
    rows = []
    for i, ex in enumerate(doc["exchanges"]):
        row = ex.get("clients") or {}
        cells = []
        for n in names:
            c = row.get(n, {"state": "not requested", "detail": ""})
            full = c["state"] if c["state"] == "same" else f"{c['state']}: {c['detail']}"
            text = _e(full if len(full) <= 90 else full[:87] + "...")  # the whole text in the title and the finding
            if c["state"] in ("differs", "raised"):
                text = f'<a href="#{_anchor(i, "client." + n)}">{text}</a>'
            cells.append(f'<td class="{CLIENT_CLASS.get(c["state"], "c-na")}" title="{_e(full)}">{text}</td>')
        rows.append(f'<tr><th><a href="#{_anchor(i, "exchange")}">{_e(ex["id"])}</a></th>{"".join(cells)}</tr>')
    versions = "".join(f"<li>{_e(n)}: {_e(v)}</li>" for n, v in info["versions"].items())
    return (f'<div class="sse"><h2>Client matrix</h2><p class="sse-muted">Each stream replayed through real clients '
            f'(no network: their own mock-transport hooks); {_e(info.get("pieces", ""))}. "same": the client ends with the '
            f'spec\'s reading (content, reasoning, tool calls, finish reason, usage, mid-stream error).</p><ul>{versions}</ul>'
            f'<table><tr><th>scenario / recording</th>{head}</tr>{"".join(rows)}</table></div>')


def _excerpt(ex: dict[str, str] | None) -> str:
    if not ex:
        return ""
    return f'<pre>{_e(ex["before"])}<mark>{_e(ex["hit"])}</mark>{_e(ex["after"])}</pre>'


def failures(doc: dict[str, Any]) -> str:
    out = ['<div class="sse"><h2>Failures and warnings</h2>']
    count = 0
    for i, ex in enumerate(doc["exchanges"]):
        for rule, res in ex["rules"].items():
            if res["status"] not in ("fail", "warn"):
                continue
            count += 1
            kind = "warn" if res["status"] == "warn" else ""
            out.append(f'<div class="finding {kind}" id="{_anchor(i, rule)}">')
            out.append(f'<p>{baseline_badge(res)}<b>{_e(rule)}</b> ({_e(LABEL[res["status"]])}) in <b>{_e(ex["id"])}</b>: {_e(res["title"])} '
                       f'<span class="sse-muted">[{_e(res["source"])}]</span></p>')
            for f in res["findings"]:
                where = location(f)
                why = f'<p class="sse-muted">Severity: {_e(f["severity_reason"])}</p>' if f.get("severity_reason") else ""
                out.append(f'<p class="sse-muted">at {_e(where)}</p><pre>{_e(f["message"])}</pre>{why}{_excerpt(f.get("excerpt"))}')
            if res["total"] > len(res["findings"]):
                out.append(f'<p class="sse-muted">... and {res["total"] - len(res["findings"])} more</p>')
            out.append("</div>")
    if not count:
        out.append("<p>None.</p>")
    out.append("</div>")
    return "".join(out)


def _message(messages: list[dict[str, Any]]) -> str:
    rows = []
    for m in messages:
        calls = "".join(f"<li>{_e(c['name'])}({_e(c['arguments'])}) <span class=\"sse-muted\">id {_e(c['id'])}, index {_e(c['index'])}</span></li>" for c in m["tool_calls"])
        rows.append(
            f"<tr><th>choice {_e(m['index'])}</th><td>"
            + (f"<b>reasoning</b><pre>{_e(m['reasoning'])}</pre>" if m.get("reasoning") else "")
            + f"<b>content</b><pre>{_e(m['content'])}</pre>"
            + (f"<b>tool calls</b><ul>{calls}</ul>" if calls else "")
            + f"<b>finish_reason</b> {_e(m['finish_reason'])} &nbsp; <b>usage</b> {_e(json.dumps(m['usage']))}</td></tr>"
        )
    return f"<table>{''.join(rows)}</table>" if rows else '<p class="sse-muted">No choices.</p>'


def _more_choices(ex: dict[str, Any]) -> str:
    """The cut of a many-choice answer, said where the choices end."""
    hidden = (ex.get("message_total") or 0) - len(ex.get("message") or [])
    return f'<p class="sse-muted">{hidden:,} more choices not shown (compliance.json has the first {len(ex.get("message") or [])} too).</p>' if hidden > 0 else ""


def exchanges(doc: dict[str, Any]) -> str:
    out = ['<div class="sse"><h2>Scenarios and recordings</h2>']
    for i, ex in enumerate(doc["exchanges"]):
        t = ex.get("timing") or {}
        figures = ", ".join(f"{k.replace('_', ' ')} {v * 1000:.0f} ms" if isinstance(v, float) else f"{k} {v}" for k, v in t.items() if v is not None)
        out.append(f'<details id="{_anchor(i, "exchange")}" {"open" if not ex["ok"] else ""}><summary>{_e(ex["id"])}: '
                   f'{"conforms" if ex["ok"] else "does not conform"} (status {_e(ex.get("status"))}, {_e(ex.get("bytes", 0))} bytes)</summary>')
        if ex.get("problem"):
            out.append(f"<p><b>Transport:</b> {_e(ex['problem'])}</p>")
        if ex.get("profile"):
            out.append(f"<p><b>Profile:</b> {_e(_profile(ex['profile'], ex.get('dialect')))}</p>")
        out.append(timeline_svg(ex.get("arrivals") or [], t or None))
        if figures:
            out.append(f'<p class="sse-muted">{_e(figures)}</p>')
        out.append(f"<b>Request</b><pre>{_e(visible_json(ex.get('request')))}</pre>")
        out.append(f"<b>What a client ends up with</b>{_message(ex.get('message') or [])}{_more_choices(ex)}</details>")
    out.append("</div>")
    return "".join(out)


def rule_list() -> str:
    rows = "".join(
        f"<tr><td>{_e(r.id)}</td><td>{_e(r.severity_text)}</td>"
        f"<td>{_e(r.section if r.section == 'suite' else f'{r.section}. {SECTIONS[r.section]}')}</td><td>{_e(r.title)}</td></tr>"
        for r in all_rules()
    )
    return (
        f'<div class="sse"><details><summary>The rules ({len(all_rules())})</summary>'
        f"<table><tr><th>rule</th><th>severity</th><th>section</th><th>what must hold</th></tr>{rows}</table></details></div>"
    )


def _groups() -> list[str]:
    return list(dict.fromkeys(r.group for r in all_rules()))


def model_matrix(doc: dict[str, Any]) -> str:
    """Models x rule groups, for a run of several models (a router's routes conform
    differently): each cell the worst status over that model's exchanges, linked to the
    worst finding. Empty for one model: the scenario matrix says it all."""
    seen = {ex["model"] for ex in doc["exchanges"] if ex.get("kind") == "live" and ex.get("model")}
    models = [m for m in doc.get("models") or sorted(seen) if m in seen]  # the order the user gave
    if len(models) < 2:
        return ""
    groups = _groups()
    rows = []
    for model in models:
        cells = []
        for g in groups:
            found = [(STATUS_ORDER[res["status"]], -i, rule, res["status"]) for i, ex in enumerate(doc["exchanges"]) if ex.get("model") == model
                     for rule, res in ex["rules"].items() if rule.split(".", 1)[0] == g]
            if not found:
                cells.append('<td class="c-na">-</td>')
                continue
            rank, neg_i, rule, worst = max(found)
            bad = sum(1 for f in found if f[3] in ("fail", "warn"))
            text = _e(LABEL[worst] if not bad else f"{LABEL[worst]} ({bad})")
            if bad:  # the first exchange with the worst status, its worst rule
                text = f'<a href="#{_anchor(-neg_i, rule)}">{text}</a>'
            tip = _e(f"{bad} failing or warning check(s) in this model's exchanges")
            cells.append(f'<td class="{_cls(worst)}" title="{tip}">{text}</td>')
        rows.append(f"<tr><th>{_e(model)}</th>{''.join(cells)}</tr>")
    head = "".join(f"<th>{_e(g)}</th>" for g in groups)
    return f'<div class="sse"><h2>Compliance by model</h2><table><tr><th>model</th>{head}</tr>{"".join(rows)}</table></div>'


def baseline_badge(res: dict[str, Any]) -> str:
    mark = res.get("baseline")
    return f'<span class="b-{_e(mark)}">{_e(mark)}</span> ' if mark in ("new", "known") else ""


def baseline_section(doc: dict[str, Any]) -> str:
    """Against a baseline: new failures (linked), and what the baseline had that is now fixed,
    no longer judged, or no longer run."""
    base = doc.get("baseline")
    if not base:
        return ""
    index = {ex["id"]: i for i, ex in enumerate(doc["exchanges"])}

    def listing(title: str, pairs: list[dict[str, str]], link: bool) -> str:
        if not pairs:
            return ""
        items = "".join(
            f'<li><a href="#{_anchor(index[p["exchange"]], p["rule"])}">{_e(p["exchange"])}::{_e(p["rule"])}</a></li>' if link and p["exchange"] in index
            else f'<li>{_e(p["exchange"])}::{_e(p["rule"])}</li>' for p in pairs)
        return f"<p><b>{_e(title)}</b> ({len(pairs)})</p><ul>{items}</ul>"

    verdict = (f'<span class="verdict-bad">{len(base["new"])} new failure(s)</span>' if base["new"]
               else '<span class="verdict-ok">No new failure</span>')
    parts = [f'<div class="sse"><h2>Against the baseline</h2><p>{verdict}: {len(base["known"])} known, {len(base["fixed"])} fixed '
             f'<span class="sse-muted">(baseline {_e(base.get("path"))})</span></p>',
             listing("New failures", base["new"], True), listing("Fixed since the baseline", base["fixed"], False),
             listing("Not judged in this run (failed in the baseline)", base["unchecked"], False)]
    if base["missing"]:
        parts.append(f"<p><b>Exchanges of the baseline this run lacks</b> ({len(base['missing'])})</p><ul>"
                     + "".join(f"<li>{_e(m)}</li>" for m in base["missing"]) + "</ul>")
    parts.append("</div>")
    return "".join(parts)


def render(doc: dict[str, Any]) -> list[str]:
    return [header(doc), baseline_section(doc), model_matrix(doc), matrix(doc), client_matrix(doc), failures(doc), exchanges(doc), rule_list()]
