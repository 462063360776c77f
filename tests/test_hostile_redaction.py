"""Hostile endpoints against the key: whatever the endpoint echoes, however the key is split
or however short it is, no piece of it reaches a written file or the console, our own words
stay whole, and a recording is judged like the live capture.

"Piece" is defined in tests/hostile_keys.py: any 4-character substring of a key of 8 or more
characters; for a shorter key, the key inside the endpoint's echo markers.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from conformance.reference import create_app, serve_in_thread
from conformance.rules import all_rules

from .hostile_keys import MARK, STREAM, always_500, chunk, leaks, live_run, pieces, readable, run_cli, serving, sse, written

LONG = "sk-Qz7vW2pL9hT4mN8rB"  # no 4 characters of it occur in the suite's own text
RULES = {r.id for r in all_rules()}


def compliance(reports: Path) -> dict[str, Any]:
    return json.loads((reports / "compliance.json").read_text(encoding="utf-8"))


def assert_our_words_whole(reports: Path) -> None:
    """Rule ids, JSON keys and test names are ours: no key may damage them."""
    doc = compliance(reports)
    assert {"format", "suite", "ok", "counts", "exchanges"} <= set(doc)
    for ex in doc["exchanges"]:
        assert {"id", "ok", "rules"} <= set(ex)  # a scenario not sent has no request or status
        assert set(ex["rules"]) <= RULES, set(ex["rules"]) - RULES
        for result in ex["rules"].values():
            assert result["status"] in ("pass", "fail", "warn", "n/a", "skipped")
    names = {c.get("name") for c in ET.parse(reports / "junit.xml").getroot().iter("testcase")}
    assert names <= RULES | {"live/variants"}, names - RULES
    assert "chun[REDACTED]" not in (reports / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("key", ["x", "k", "null", "stop", "EMPTY", LONG])
def test_a_500_always_endpoint_echoing_any_key_is_findings_and_no_leak(tmp_path: Path, key: str) -> None:
    reports = tmp_path / "reports"
    with serving(always_500) as (url, app):
        proc = live_run(url, key, reports)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-3000:]
    assert "INTERNALERROR" not in out and "Traceback" not in out
    # the plain request is refused: the scenarios built on it are not sent (at most one each)
    assert 1 <= app.requests <= 9
    doc = compliance(reports)
    assert doc["ok"] is False and "live/text" in {ex["id"] for ex in doc["exchanges"]}
    assert_our_words_whole(reports)
    assert not leaks(key, written(reports), proc.stdout, proc.stderr)
    # the echo is still shown, starred: the reader sees where the key was
    assert f"{MARK}{'*' * len(key)}{MARK}" in json.dumps(doc, ensure_ascii=False)


@pytest.mark.parametrize("key", ["x", "k", "null", "stop", "EMPTY"])
def test_the_reference_endpoint_is_green_with_any_key_live_and_recorded(tmp_path: Path, key: str) -> None:
    reports, recordings = tmp_path / "reports", tmp_path / "recordings"
    with serve_in_thread(create_app(api_key=key)) as url:
        proc = live_run(url, key, reports)
        rec = run_cli("record", "--endpoint", url, "--api-key-env", "SSE_CONFORMANCE_HOSTILE_KEY", "--out", str(recordings), key=key, cwd=tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert compliance(reports)["ok"] is True
    assert_our_words_whole(reports)
    assert rec.returncode == 0 and "changes the verdict" not in rec.stderr, rec.stderr
    replay = run_cli("validate", "--format", "json", str(recordings), key=None, cwd=tmp_path)
    assert replay.returncode == 0, replay.stdout[-2000:]
    live = {ex["id"].split("/", 1)[1]: {r: v["status"] for r, v in ex["rules"].items()} for ex in compliance(reports)["exchanges"]}
    # `run` and `record` are two captures of the same scenario: every verdict must agree except
    # sse.incremental, which judges each capture's own arrival times (a loaded machine can turn
    # one of them into a burst; it flipped for key 'x' under a full -n 2 run)
    for fixture in json.loads(replay.stdout)["fixtures"]:
        name = Path(fixture["path"]).stem
        same = {r: s for r, s in live[name].items() if r != "sse.incremental"}
        assert {r: s for r, s in fixture["rules"].items() if r in same} == same, name
    if key == "null":  # the key is starred in text only: JSON's own null is untouched
        assert b'"finish_reason":null' in (recordings / "text.sse").read_bytes()


def _moving_echo(request: dict[str, Any], key: str) -> tuple[int, dict[str, str], list[bytes]]:
    """Two choices whose positions in `choices` swap every chunk; choice 1 echoes the key
    three characters at a time, choice 0 says something else."""
    text = f"Your key is {key}, keep it"
    parts = [text[i : i + 3] for i in range(0, len(text), 3)]
    chunks: list[dict[str, Any]] = []
    first = chunk("", 0, role=True)
    first["choices"].append({"index": 1, "delta": {"role": "assistant", "content": ""}, "finish_reason": None})
    chunks.append(first)
    for n, part in enumerate(parts):
        c = chunk(part, 1)
        other = {"index": 0, "delta": {"content": "ok "}, "finish_reason": None}
        c["choices"] = [c["choices"][0], other] if n % 2 else [other, c["choices"][0]]
        chunks.append(c)
    last = chunk(None, 0, finish="stop", usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3})
    last["choices"].append({"index": 1, "delta": {}, "finish_reason": "stop"})
    chunks.append(last)
    return 200, STREAM, sse(*chunks)


def test_a_key_echoed_in_pieces_over_moving_choice_positions(tmp_path: Path) -> None:
    reports, recordings = tmp_path / "reports", tmp_path / "recordings"
    with serving(_moving_echo) as (url, _):
        proc = live_run(url, LONG, reports)
        rec = run_cli("record", "--endpoint", url, "--api-key-env", "SSE_CONFORMANCE_HOSTILE_KEY", "--out", str(recordings), key=LONG, cwd=tmp_path)
    assert proc.returncode == 1  # the endpoint breaks rules (two choices, no tool calls, ...)
    doc = compliance(reports)
    # structured.partial-json quotes the content so far: a prefix of the key, starred
    structured = next(ex for ex in doc["exchanges"] if ex["id"] == "live/structured")
    assert structured["rules"]["structured.partial-json"]["status"] == "warn"
    assert not leaks(LONG, written(reports) + written(recordings), proc.stdout, proc.stderr, rec.stdout, rec.stderr)
    assert_our_words_whole(reports)
    content = {m["index"]: m["content"] for m in structured["message"]}
    assert content[1] == "Your key is " + "*" * len(LONG) + ", keep it"
    # the recording replays the live verdict
    replay = run_cli("validate", "--format", "json", str(recordings), key=None, cwd=tmp_path)
    live = {ex["id"].split("/", 1)[1]: {r: v["status"] for r, v in ex["rules"].items()} for ex in doc["exchanges"]}
    # `run` and `record` are two captures of the same scenario: every verdict must agree except
    # sse.incremental, which judges each capture's own arrival times (a loaded machine can turn
    # one of them into a burst; it flipped for key 'x' under a full -n 2 run)
    for fixture in json.loads(replay.stdout)["fixtures"]:
        name = Path(fixture["path"]).stem
        same = {r: s for r, s in live[name].items() if r != "sse.incremental"}
        assert {r: s for r, s in fixture["rules"].items() if r in same} == same, name


@pytest.mark.parametrize("key", ["EMPTY", LONG])
def test_a_key_split_over_two_non_json_events(tmp_path: Path, key: str) -> None:
    half = len(key) // 2

    def answer(request: dict[str, Any], sent: str) -> tuple[int, dict[str, str], list[bytes]]:
        broken = [f"data: {MARK}{sent[:half]}\n\n".encode(), f"data: {sent[half:]}{MARK}\n\n".encode()]
        return 200, STREAM, broken + sse(chunk("", role=True), chunk("hi"), chunk(None, finish="stop", usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}))

    reports = tmp_path / "reports"
    with serving(answer) as (url, _):
        proc = live_run(url, key, reports, "-rA", "--tb=long")
    assert proc.returncode == 1
    doc = compliance(reports)
    excerpts = [f["excerpt"] for ex in doc["exchanges"] for f in ex["rules"]["sse.json-payload"]["findings"]]
    assert excerpts and all(e for e in excerpts)
    # both halves are starred, each where it came, and shown side by side as stars
    assert any(f"{MARK}{'*' * half}" in e["hit"] + e["after"] for e in excerpts)
    assert not leaks(key, written(reports), proc.stdout, proc.stderr)
    if len(key) < 8:  # a short key's halves, each next to its echo marker, are pieces too
        for text in [proc.stdout, *(p.read_text(encoding="utf-8") for p in written(reports))]:
            assert f"{MARK}{key[:half]}" not in text and f"{key[half:]}{MARK}" not in text


DIGIT_KEY = "731058462617"  # a key of digits (no 9), echoed by the endpoint as JSON numbers


def _numeric_echo(request: dict[str, Any], key: str) -> tuple[int, dict[str, str], list[bytes]]:
    """A stream that echoes the key as numbers: a field of its own, inside a larger number,
    an exponent's mantissa, a protocol field (``created``), and as text in the content."""
    key = key if key.isdigit() else "4200000"  # the bad-key scenario sends another key
    first = chunk("", role=True)
    first.update(created=int(key), echo=int(key))
    raw_first = json.dumps(first)[:-1] + f', "big": 4{key}4, "float": {key[:6]}.{key[6:]}e3' + "}"
    return 200, STREAM, sse(raw_first, chunk(f"key {key}"), chunk(None, finish="stop", usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}))


def _numeric_500(request: dict[str, Any], key: str) -> tuple[int, dict[str, str], list[bytes]]:
    key = key if key.isdigit() else "4200000"
    return 500, {"content-type": "application/json"}, [f'{{"error": {{"code": {key}, "message": "upstream refused", "param": [{key}]}}}}'.encode()]


def _digit_leaks(key: str, reports: list[Path], bodies: list[Path], *streams: str) -> list[tuple[str, str]]:
    """A key of digits shares its 4-digit pieces with our own numbers by chance (a report
    holds some 3,000 windows of 4 digits: timings, offsets, sizes), so reports and the
    console are searched for its 8-digit pieces, and the recorded bodies, which hold only
    what the endpoint wrote, for every 4-digit piece."""
    eight = {key[i : i + 8] for i in range(len(key) - 7)}
    found = [(str(p), s) for p in reports for s in eight if s in readable(p)]
    found += [(f"console #{n}", s) for n, text in enumerate(streams) for s in eight if s in text]
    return found + [(str(p), s) for p in bodies for s in pieces(key) if s in p.read_text(encoding="utf-8", errors="replace")]


@pytest.mark.parametrize("answer", [_numeric_echo, _numeric_500])
def test_a_key_of_digits_echoed_as_json_numbers_is_masked_and_the_json_stays(tmp_path: Path, answer: Any) -> None:
    reports, recordings = tmp_path / "reports", tmp_path / "recordings"
    with serving(answer) as (url, _):
        proc = live_run(url, DIGIT_KEY, reports)
        rec = run_cli("record", "--endpoint", url, "--api-key-env", "SSE_CONFORMANCE_HOSTILE_KEY", "--out", str(recordings), key=DIGIT_KEY, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert "INTERNALERROR" not in out and "Traceback" not in out and rec.returncode in (0, 1), rec.stderr[-2000:]
    assert_our_words_whole(reports)
    bodies = sorted(recordings.glob("*.sse"))
    assert bodies
    assert not _digit_leaks(DIGIT_KEY, written(reports) + written(recordings), bodies, proc.stdout, proc.stderr, rec.stdout, rec.stderr)
    for body in bodies:  # the masked numbers are numbers still: every payload stays JSON
        for line in body.read_bytes().split(b"\n"):
            payload = line[6:] if line.startswith(b"data: ") else line
            if payload.strip() and payload != b"[DONE]":
                json.loads(payload)
    # the live verdict is what the recording replays, but for what the mask changed (named in the sidecar)
    replay = run_cli("validate", "--format", "json", str(recordings), key=None, cwd=tmp_path)
    live = {ex["id"].split("/", 1)[1]: {r: v["status"] for r, v in ex["rules"].items()} for ex in compliance(reports)["exchanges"]}
    for fixture in json.loads(replay.stdout)["fixtures"]:
        name = Path(fixture["path"]).stem
        if name not in live or not live[name]:
            continue
        sidecar = json.loads(Path(fixture["path"]).with_suffix(".json").read_text(encoding="utf-8"))
        changed = set(sidecar.get("redaction", {}).get("verdict_changed", {}))
        assert {r: s for r, s in fixture["rules"].items() if r in live[name] and r not in changed} == {
            r: s for r, s in live[name].items() if r in fixture["rules"] and r not in changed}, name
