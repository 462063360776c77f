"""`pytest --sse-fixtures PATH`: recordings become items that pytest's own tools understand."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance.rules import all_rules

from .conftest import stream_body, text_stream


@pytest.fixture
def corpus(pytester: pytest.Pytester) -> Path:
    root = pytester.path / "recs"
    root.mkdir()
    (root / "good.sse").write_bytes(stream_body(*text_stream("hi")))
    (root / "nodone.sse").write_bytes(stream_body(*text_stream("hi"), done=False))
    (root / "bom.sse").write_bytes(b"\xef\xbb\xbf" + stream_body(*text_stream("hi")))
    (root / "err.sse").write_bytes(b'{"error": {"code": "bad_key", "message": "no"}}')
    (root / "err.json").write_text(json.dumps({"status": 401}))
    return root


def test_one_item_per_recording_and_rule(pytester: pytest.Pytester, corpus: Path) -> None:
    result = pytester.runpytest("--sse-fixtures", str(corpus), "-p", "no:cacheprovider", "--collect-only", "-q")
    ids = [line for line in result.outlines if ".sse::" in line]
    assert len(ids) == 4 * len(all_rules())
    assert "recs/good.sse::chunk.role-first" in ids


def test_verdicts_become_outcomes(pytester: pytest.Pytester, corpus: Path) -> None:
    result = pytester.runpytest("--sse-fixtures", str(corpus), "-p", "no:cacheprovider", "-rA")
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1  # nodone.sse::sse.done
    result.stdout.fnmatch_lines(["*The stream ends after event #2 without a [[]DONE] event*"])
    result.stdout.fnmatch_lines(["FAILED recs/nodone.sse::sse.done*"])
    assert "Traceback" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*SKIPPED*not applicable: status 401*"])


def test_k_selection_and_junit(pytester: pytest.Pytester, corpus: Path) -> None:
    xml = pytester.path / "junit.xml"
    result = pytester.runpytest("--sse-fixtures", str(corpus), "-p", "no:cacheprovider", "-k", "sse.done or compat.no-bom", f"--junitxml={xml}")
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1 and outcomes["passed"] + outcomes.get("skipped", 0) == 7
    cases = ET.parse(xml).getroot().iter("testcase")
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failed == ["sse.done"]


def test_runs_under_xdist(pytester: pytest.Pytester, corpus: Path) -> None:
    pytest.importorskip("xdist")
    result = pytester.runpytest_subprocess("--sse-fixtures", str(corpus), "-p", "no:cacheprovider", "-n", "2")
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1
    assert outcomes["passed"] + outcomes["skipped"] + 1 == 4 * len(all_rules())


def test_missing_path_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--sse-fixtures", "nowhere/", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_a_summary_ends_the_output(pytester: pytest.Pytester, corpus: Path) -> None:
    report = pytester.path / "compliance.json"
    result = pytester.runpytest("--sse-fixtures", str(corpus), "-p", "no:cacheprovider", f"--sse-json={report}")
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if line.startswith("sse-conformance: FAIL: 1 rule failure,"))
    summary = lines[start:]
    assert any(line.split()[:2] == ["recs/nodone.sse", "FAIL"] for line in summary)
    assert any(line.split()[:2] == ["recs/good.sse", "ok"] for line in summary)
    assert any(line.startswith("  sse.done (recs/nodone.sse): The stream ends after event #2 without a [DONE] event") for line in summary)
    assert "warnings:" in summary and any(line.startswith("  compat.no-bom (recs/bom.sse): ") for line in summary)
    assert "reports: compliance.json" in summary  # only what was written: no html, no junit asked for


def test_no_summary_without_recordings_or_endpoint(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == 0 and "= sse-conformance =" not in result.stdout.str() and "sse-conformance: " not in result.stdout.str()


def test_a_crash_in_the_suite_shows_in_the_summary(pytester: pytest.Pytester, corpus: Path) -> None:
    """A test that fails without a rule result (here: a crashing rule) must not leave a PASS."""
    # the patch is undone at the end of the inner run: it shares this process's modules
    pytester.makeconftest(
        "import conformance.items as items\n"
        "original = items.RecordingFile.judged\n"
        "def boom(self):\n"
        "    raise RuntimeError('the judge fell over')\n"
        "def pytest_configure(config):\n"
        "    items.RecordingFile.judged = boom\n"
        "def pytest_unconfigure(config):\n"
        "    items.RecordingFile.judged = original\n"
    )
    result = pytester.runpytest("--sse-fixtures", str(corpus / "good.sse"), "-p", "no:cacheprovider", "--tb=no", "-qq", "-k", "sse.done")
    assert result.ret == 1
    out = result.stdout.str()
    assert "sse-conformance: FAIL: 0 rule failures, 0 warnings, 1 error outside the rules" in out
    assert "recs/good.sse::sse.done: RuntimeError: the judge fell over" in out
    from conformance.items import RecordingFile

    assert RecordingFile.judged.__name__ == "judged"
