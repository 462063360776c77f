"""The live suite against the reference endpoint over a real socket: the conformant endpoint
passes every scenario under both profiles, and `sse-conformance run` works end to end.

That each fault fails exactly its rules, and each legal framing none, is proved once, in
tests/test_reference.py (test_fault_breaks_exactly_its_rules, through the live client's
capture; test_a_fault_leaves_the_other_kinds_byte_for_byte; test_legal_framing_passes_every_rule)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conformance import judge
from conformance.findings import FAIL, WARN
from conformance.live.config import load_settings
from conformance.live.runner import run_scenario
from conformance.live.scenarios import SCENARIOS

reference = pytest.importorskip("conformance.reference")
FAULTS = reference.FAULTS
KEY_ENV = "SSE_CONFORMANCE_TEST_KEY"


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as c:
        yield c


@pytest.fixture(scope="module", params=["sansa", "openai"])
def endpoint(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    with reference.serve_in_thread(reference.create_app(profile=request.param)) as url:
        yield url, request.param


def broken(client: httpx.Client, url: str, profile: str) -> dict[str, set[str]]:
    """Scenario -> rules that failed or warned, for a run of every scenario."""
    settings = load_settings({"endpoint": url, "profile": profile, "api_key_env": KEY_ENV, "timeout": 20}, env={KEY_ENV: "sk-reference"})
    out = {}
    for name in SCENARIOS:
        verdict = judge(run_scenario(client, settings, SCENARIOS[name]), profile)
        out[name] = {r.rule for r in verdict.results if r.status in (FAIL, WARN)}
    return out


def test_the_conformant_endpoint_passes_every_scenario(client: httpx.Client, endpoint: tuple[str, str]) -> None:
    url, profile = endpoint
    assert broken(client, url, profile) == {name: set() for name in SCENARIOS}


def test_bad_key_and_invalid_params_are_judged_by_the_pre_stream_rules(client: httpx.Client, endpoint: tuple[str, str]) -> None:
    url, profile = endpoint
    settings = load_settings({"endpoint": url, "profile": profile, "api_key_env": KEY_ENV}, env={KEY_ENV: "sk-reference"})
    for name, status in (("bad-key", 401), ("invalid-params", 400)):
        ex = run_scenario(client, settings, SCENARIOS[name])
        verdict = judge(ex, profile)
        assert ex.status == status
        assert {r.rule: r.status for r in verdict.results if r.rule.startswith("error.pre-stream")} == {
            "error.pre-stream-shape": "pass",
            "error.pre-stream-status": "pass",
        }


def _run_cli(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_CONFORMANCE_")}
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "--reports", str(tmp), *args, "-q"],
        capture_output=True, text=True, timeout=300, cwd=tmp, env=env,
    )


def test_run_against_the_embedded_endpoint_is_green_and_writes_reports(tmp_path: Path) -> None:
    proc = _run_cli(tmp=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "embedded reference endpoint" in proc.stdout
    assert (tmp_path / "report.html").stat().st_size > 1000
    suites = ET.parse(tmp_path / "junit.xml").getroot()
    cases = list(suites.iter("testcase"))
    assert len(cases) >= len(SCENARIOS) * 30
    assert not [c for c in cases if c.find("failure") is not None]


def test_run_with_a_fault_fails_on_its_rule(tmp_path: Path) -> None:
    proc = _run_cli("--fault", "role-repeated", "--variants", "0", tmp=tmp_path)
    assert proc.returncode == 1
    failures = {c.get("name") for c in ET.parse(tmp_path / "junit.xml").getroot().iter("testcase") if c.find("failure") is not None}
    assert failures == {"chunk.role-only-first"}


def test_record_then_validate_offline_gives_the_live_verdict(tmp_path: Path) -> None:
    import io

    from conformance.cli import main

    secret = "sk-reference"
    with reference.serve_in_thread(reference.create_app(profile="sansa", api_key=secret)) as url:
        os.environ[KEY_ENV] = secret
        try:
            out = io.StringIO()
            assert main(["record", "--endpoint", url, "--api-key-env", KEY_ENV, "--out", str(tmp_path)], out, io.StringIO()) == 0
        finally:
            del os.environ[KEY_ENV]
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted([f"{n}.sse" for n in SCENARIOS] + [f"{n}.json" for n in SCENARIOS])
    for path in tmp_path.iterdir():
        assert secret.encode() not in path.read_bytes(), path
    report = io.StringIO()
    assert main(["validate", "--format", "json", str(tmp_path)], report, io.StringIO()) == 0
    import json

    fixtures = json.loads(report.getvalue())["fixtures"]
    assert all(f["ok"] and not f["findings"] for f in fixtures)
    text = json.loads((tmp_path / "text.json").read_text())
    assert text["timing"] and text["profile"] == "sansa" and text["scenario"] == "text"
    bad_key = json.loads((tmp_path / "bad-key.json").read_text())
    assert bad_key["scenario"] == "bad-key" and bad_key["status"] == 401


def test_serve_lists_its_faults_with_the_rules_they_break() -> None:
    import io

    from conformance.cli import main

    out = io.StringIO()
    assert main(["serve", "--list-faults"], out, io.StringIO()) == 0
    text = out.getvalue()
    for name, fault in FAULTS.items():
        assert name in text
        for rule in fault.rules:
            assert rule in text
    assert "legal framing" in text


def test_live_runs_under_xdist_need_loadgroup(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_CONFORMANCE_")}
    base = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--endpoint", "http://127.0.0.1:9/v1", "--variants", "0"]
    refused = subprocess.run([*base, "-n", "2"], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert refused.returncode == pytest.ExitCode.USAGE_ERROR and "--dist loadgroup" in refused.stderr
    grouped = subprocess.run([*base, "-n", "2", "--dist", "loadgroup", "-q"], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert grouped.returncode == 1 and "run.endpoint-usable" in grouped.stdout  # port 9 refuses: one clear finding


def test_a_run_that_would_test_nothing_is_a_usage_error(tmp_path: Path) -> None:
    names = ", ".join(f'"{n}"' for n in SCENARIOS)
    (tmp_path / "pyproject.toml").write_text(f"[tool.sse-conformance]\nskip = [{names}]\n")
    proc = _run_cli("--variants", "0", tmp=tmp_path)
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR and "would test nothing" in proc.stderr + proc.stdout


def test_run_prints_a_summary_and_no_pytest_internals(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    stale = tmp_path / "reports" / "junit.xml"
    stale.write_text("stale")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_CONFORMANCE_")}
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "--fault", "role-repeated", "--variants", "2", "--skip", "reasoning", "--skip", "length,bad-key"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    out = proc.stdout
    for internal in ("configfile", "rootdir", "SKIPPED [", "short test summary info", "items.py", "platform "):
        assert internal not in out, internal
    lines = out.splitlines()
    assert "sse-conformance: FAIL: 2 rule failures, 0 warnings" in out
    assert any(line.split()[:2] == ["live/text", "FAIL"] for line in lines)
    for name in ("reasoning", "length", "bad-key"):
        assert any(line.split()[0] == f"live/{name}" and line.endswith("skipped: skipped on the command line") for line in lines if line.strip()), name
    assert "  chunk.role-only-first (live/stream-options, live/text): A later delta of choice 0 repeats the role; only the first delta carries it." in lines
    assert lines[-1] == "reports: reports/report.html, reports/compliance.json, reports/junit.xml"
    assert stale.read_text() != "stale"
    doc = json.loads((tmp_path / "reports" / "compliance.json").read_text())
    reasoning = next(e for e in doc["exchanges"] if e["id"] == "live/reasoning")
    assert {r["status"] for r in reasoning["rules"].values()} == {"skipped"}
    assert all("skipped on the command line" in r["reason"] for r in reasoning["rules"].values())

    verbose = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "--fault", "role-repeated", "--variants", "0", "-v"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
    )
    assert verbose.returncode == 1
    assert "rootdir" in verbose.stdout and "short test summary info" in verbose.stdout and "FAILED live/text::chunk.role-only-first" in verbose.stdout
    assert "sse-conformance: FAIL" in verbose.stdout


def test_run_works_with_plugin_autoload_off(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_CONFORMANCE_")}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.cli", "run", "--variants", "1", "--reports", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "sse-conformance: PASS" in proc.stdout
    assert (tmp_path / "report.html").stat().st_size > 1000
    assert json.loads((tmp_path / "compliance.json").read_text())["ok"] is True
    assert ET.parse(tmp_path / "junit.xml").getroot() is not None


def test_a_pytest_usage_error_is_named_and_no_reports_are_claimed(tmp_path: Path) -> None:
    (tmp_path / "compliance.json").write_text("{}")  # a stale report of an earlier run
    proc = _run_cli("--no-such-pytest-option", tmp=tmp_path)
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR
    assert "usage error, exit 4" in proc.stderr and "nothing was tested" in proc.stderr
    assert "no reports were written" in proc.stderr and "reports in" not in proc.stdout + proc.stderr
    assert not (tmp_path / "compliance.json").exists()


def test_skip_names_must_be_scenarios(tmp_path: Path) -> None:
    proc = _run_cli("--skip", "text,nonsense", tmp=tmp_path)
    assert proc.returncode == 2 and "unknown scenario(s) nonsense" in proc.stderr


def test_record_skips_what_the_command_line_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from conformance.cli import main

    monkeypatch.setenv(KEY_ENV, "sk-reference")
    with reference.serve_in_thread(reference.create_app(profile="sansa")) as url:
        out = io.StringIO()
        args = ["record", "--endpoint", url, "--api-key-env", KEY_ENV, "--out", str(tmp_path), "--skip", "reasoning,structured", "--skip", "tool-call"]
        code = main(args, out, io.StringIO())
    assert code == 0, out.getvalue()
    assert "reasoning: skipped (skipped on the command line)" in out.getvalue()
    assert sorted(p.stem for p in tmp_path.glob("*.sse")) == sorted(set(SCENARIOS) - {"reasoning", "structured", "tool-call"})


def test_under_xdist_each_scenario_is_one_request(tmp_path: Path) -> None:
    """Each scenario's items go to one worker (pytest 9.2 broke xdist's own grouping)."""
    pytest.importorskip("xdist")
    from tests.test_variants import Counting

    app = Counting(reference.create_app(profile="sansa", delay=0.0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_CONFORMANCE_")}
    env[KEY_ENV] = "sk-reference"
    with reference.serve_in_thread(app) as url:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--endpoint", url, "--api-key-env", KEY_ENV, "--variants", "2",
             "-n", "2", "--dist", "loadgroup", "-q"],
            capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
        )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert len(app.bodies) == len(SCENARIOS) + 2  # each scenario once, plus the two variants
