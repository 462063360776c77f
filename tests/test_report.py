"""The compliance report: what a person reads, what machines read, and that it is safe to publish."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance.live.scenarios import SCENARIOS

from .conftest import USAGE, chunk, stream_body

reference = pytest.importorskip("conformance.reference")
SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "conformance" / "report" / "compliance.schema.json").read_text())
FAKE_KEY = "sk-FAKE-9f3c1e7a-do-not-publish"


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SSE_CONFORMANCE_")}
    return subprocess.run([sys.executable, "-m", "conformance.cli", *args], capture_output=True, text=True, timeout=300, cwd=cwd, env={**base, **(env or {})})


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("failing")
    proc = cli("run", "--fault", "role-repeated", "--variants", "0", "--reports", str(out), "-q", cwd=out)
    assert proc.returncode == 1, proc.stdout[-2000:]
    return out


def test_compliance_json_has_the_documented_shape(failing_run: Path) -> None:
    doc = json.loads((failing_run / "compliance.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc["ok"] is False and doc["counts"]["fail"] == 3 and doc["profile"] == "sansa"
    ids = [e["id"] for e in doc["exchanges"]]
    assert ids == sorted(f"live/{name}" for name in SCENARIOS)  # stable order, whatever ran first
    text = next(e for e in doc["exchanges"] if e["id"] == "live/text")
    rule = text["rules"]["chunk.role-only-first"]
    assert rule["status"] == "fail" and rule["findings"][0]["event"] == 2
    assert '"role":"assistant"' in rule["findings"][0]["excerpt"]["hit"]
    assert text["timing"]["first_event"] > 0 and text["message"][0]["finish_reason"] == "stop"
    assert text["rules"]["tools.declared"]["status"] == "n/a" and text["rules"]["tools.declared"]["reason"]


def test_junit_has_one_case_per_scenario_and_rule(failing_run: Path) -> None:
    cases = list(ET.parse(failing_run / "junit.xml").getroot().iter("testcase"))
    failed = sorted(c.get("classname", "") for c in cases if c.find("failure") is not None)
    assert len(failed) == 3 and all("live" in c for c in failed)


def test_the_page_leads_to_the_broken_rule_the_event_and_the_reason(failing_run: Path) -> None:
    page = (failing_run / "report.html").read_text()
    doc = json.loads((failing_run / "compliance.json").read_text())
    row = [e["id"] for e in doc["exchanges"]].index("live/text")
    assert "Does not conform: 3 rule check(s) failed" in page
    assert "Compliance matrix" in page and f'href="#sse-{row}-chunk-role-only-first"' in page
    assert f'id="sse-{row}-chunk-role-only-first"' in page
    assert "at event #2, byte" in page and "<mark>data: {" in page
    assert "<svg class=\"sse-timeline\"" in page and "first content" in page
    assert page.count("<script") == page.count("</script>")  # pytest-html's own scripts only


def test_no_secret_reaches_any_file_written(tmp_path: Path) -> None:
    app = reference.create_app(api_key=FAKE_KEY, fault="html-content")
    reports, recordings = tmp_path / "reports", tmp_path / "recordings"
    env = {"MY_ENDPOINT_KEY": FAKE_KEY}
    with reference.serve_in_thread(app) as url:
        run = cli("run", "--endpoint", url, "--api-key-env", "MY_ENDPOINT_KEY", "--reports", str(reports), "-v", cwd=tmp_path, env=env)
        rec = cli("record", "--endpoint", url, "--api-key-env", "MY_ENDPOINT_KEY", "--out", str(recordings), cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stdout[-3000:]
    assert rec.returncode == 0, rec.stdout + rec.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) >= 3 + 2 * len(SCENARIOS)
    for path in written:
        assert FAKE_KEY.encode() not in path.read_bytes(), path
    for output in (run.stdout, run.stderr, rec.stdout, rec.stderr):
        assert FAKE_KEY not in output
    page = (reports / "report.html").read_text()
    assert '<script>alert("sse")' not in page and "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(&quot;sse&quot;)&lt;/script&gt;" in page  # shown, escaped, in the assembled message


def test_recording_names_and_stream_bytes_are_escaped(pytester: pytest.Pytester) -> None:
    """A recording whose file name and content are markup: the page shows both as text."""
    name = "<img src=x onerror=alert(7)>"
    body = stream_body(
        chunk({"role": "assistant", "content": "</pre><script>alert(8)</script>"}),
        chunk({"role": "assistant", "content": "again"}),
        chunk({}, "stop", usage=USAGE),
    )
    (pytester.path / f"{name}.sse").write_bytes(body)
    result = pytester.runpytest("--sse-fixtures", str(pytester.path), "--html=report.html", "--self-contained-html", "-p", "no:cacheprovider")
    assert result.ret == 1
    page = (pytester.path / "report.html").read_text()
    assert "<script>alert(8)" not in page and "<img src=x onerror=alert(7)>" not in page
    assert "&lt;/pre&gt;&lt;script&gt;alert(8)&lt;/script&gt;" in page


def test_validate_writes_the_same_reports_for_recordings(tmp_path: Path) -> None:
    (tmp_path / "good.sse").write_bytes(stream_body(chunk({"role": "assistant", "content": "hi"}), chunk({}, "stop", usage=USAGE)))
    (tmp_path / "bad.sse").write_bytes(stream_body(chunk({"role": "assistant", "content": "hi"}), chunk({}, "stop", usage=USAGE), done=False))
    proc = cli("validate", str(tmp_path), "--reports", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads((tmp_path / "out" / "compliance.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert {e["id"]: e["ok"] for e in doc["exchanges"]} == {"bad.sse": False, "good.sse": True}
    assert doc["exchanges"][0]["kind"] == "recording"
    assert "Compliance matrix" in (tmp_path / "out" / "report.html").read_text()


def test_unreadable_recordings_count_as_failures_and_no_stale_json_survives(tmp_path: Path) -> None:
    recs = tmp_path / "recs"
    recs.mkdir()
    (recs / "good.sse").write_bytes(stream_body(chunk({"role": "assistant", "content": "hi"}), chunk({}, "stop", usage=USAGE)))
    (recs / "broken.sse").write_bytes(b"data: [DONE]\n\n")
    (recs / "broken.json").write_text("{not json")
    out = tmp_path / "out"
    proc = cli("validate", str(recs), "--reports", str(out), cwd=tmp_path)
    assert proc.returncode == 2
    doc = json.loads((out / "compliance.json").read_text())
    assert doc["ok"] is False and {e["id"]: e["ok"] for e in doc["exchanges"]} == {"recs/broken.sse": False, "recs/good.sse": True}
    assert "Does not conform" in (out / "report.html").read_text()
    (recs / "good.sse").unlink()
    cli("validate", str(recs), "--reports", str(out), cwd=tmp_path)
    again = json.loads((out / "compliance.json").read_text())
    assert [e["id"] for e in again["exchanges"]] == ["recs/broken.sse"]  # rewritten, not the old file


def test_matrix_links_the_worst_finding_and_anchors_never_collide() -> None:
    from conformance.report.html import failures, matrix

    def res(status: str) -> dict[str, Any]:
        return {"status": status, "severity": "error", "reason": None, "total": 1, "title": "t", "section": "9", "source": "s",
                "findings": [{"rule": "r", "severity": "error", "message": "m", "event": 1, "offset": 0, "path": None, "excerpt": None}]}

    rules = {"structured.partial-json": res("warn"), "structured.valid-json": res("fail")}
    doc = {"exchanges": [{"id": "x.y.sse", "ok": False, "rules": rules}, {"id": "x-y.sse", "ok": False, "rules": rules}]}
    page = matrix(doc) + failures(doc)
    assert 'href="#sse-0-structured-valid-json"' in page and 'href="#sse-1-structured-valid-json"' in page
    assert page.count('id="sse-0-structured-valid-json"') == 1 and page.count('id="sse-1-structured-valid-json"') == 1


def test_a_live_run_records_its_variants_green_or_red(tmp_path: Path) -> None:
    proc = cli("run", "--variants", "5", "--seed", "11", "--reports", str(tmp_path), "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:]
    variants = json.loads((tmp_path / "compliance.json").read_text())["variants"]
    assert variants["ok"] is True and variants["seed"] == 11 and variants["generated"] == 5 and variants["sent"] == 5
    assert "Request variants" in (tmp_path / "report.html").read_text()
