"""The GitHub Action (action.yml) and the job summary it writes (conformance/summary.py).

The composite action's `run:` steps are plain bash: these tests parse them out of action.yml
and run them as the runner would (`bash --noprofile --norc -eo pipefail`), with the
environment the runner gives a composite step (inputs rendered into `env:`, GITHUB_ACTION_PATH,
GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) against the embedded reference endpoint. The `uses:` steps
(setup-python, upload-artifact) belong to GitHub and are not run; the files the upload step
names are checked to exist.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.cli import main
from conformance.summary import MAX_ROWS, md, render

from .conftest import ROOT

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
STEPS: list[dict[str, Any]] = ACTION["runs"]["steps"]
EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def _inputs(given: dict[str, str]) -> dict[str, str]:
    unknown = set(given) - set(ACTION["inputs"])
    assert not unknown, unknown
    return {name: given.get(name, str(spec.get("default", ""))) for name, spec in ACTION["inputs"].items()}


def _render(text: str, inputs: dict[str, str], outputs: dict[str, str]) -> str:
    def value(m: re.Match[str]) -> str:
        expr = m.group(1)
        if expr.startswith("inputs."):
            return inputs[expr.removeprefix("inputs.")]
        if expr.startswith("steps.run.outputs."):
            return outputs.get(expr.removeprefix("steps.run.outputs."), "")
        raise AssertionError(f"expression the test does not know: {expr}")

    return EXPR.sub(value, text)


def run_action(tmp: Path, given: dict[str, str], action_path: Path, extra_env: dict[str, str] | None = None, install: bool = True) -> dict[str, Any]:
    """Run the composite's steps in order, as the runner would; returns what they left."""
    inputs = _inputs(given)
    summary, output = tmp / "step-summary.md", tmp / "github-output"
    summary.write_text("", encoding="utf-8")
    base = {**os.environ, **(extra_env or {}), "GITHUB_ACTION_PATH": str(action_path), "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output)}
    outputs: dict[str, str] = {}
    ran, uploads, final = [], [], None
    for step in STEPS:
        if "uses" in step:
            if step["uses"].startswith("actions/upload-artifact"):
                uploads = [tmp / p for p in _render(step["with"]["path"], inputs, outputs).split()]
            continue
        if step["name"].startswith("Install") and not install:
            continue
        env = {**base, **{k: _render(str(v), inputs, outputs) for k, v in step.get("env", {}).items()}}
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=tmp, env=env,
                              capture_output=True, text=True, timeout=300)
        ran.append((step["name"], proc.returncode, proc.stdout + proc.stderr))
        if output.exists():
            outputs.update(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines() if "=" in line)
        final = proc.returncode
        if proc.returncode != 0 and "if" not in step:
            break  # a failed step stops the job; `if: always()` steps are not reached here
    return {"ran": ran, "outputs": outputs, "summary": summary.read_text(encoding="utf-8"), "uploads": uploads, "code": final}


def test_run_scripts_take_inputs_from_the_environment_only() -> None:
    """No `${{ }}` inside a script: an input is data (no shell injection) and the key never
    appears on a command line or in the script GitHub writes to disk."""
    scripts = [s for s in STEPS if "run" in s]
    assert scripts and all("${{" not in s["run"] for s in scripts)
    run = next(s for s in STEPS if s.get("id") == "run")
    assert run["env"]["SSE_CONFORMANCE_API_KEY"] == "${{ inputs.api-key }}"
    used = {m for s in STEPS for v in {**s.get("env", {}), **s.get("with", {})}.values() for m in EXPR.findall(str(v))}
    for name in ACTION["inputs"]:
        assert f"inputs.{name}" in used or name == "reports-dir" and any("inputs.reports-dir" in u for u in used), name
    assert any(s.get("uses", "").startswith("actions/upload-artifact@") for s in STEPS)


def test_inputs_become_arguments_and_the_key_an_environment_variable(tmp_path: Path) -> None:
    """With a stand-in `sse-conformance` on PATH that records each call's arguments and key."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    record = tmp_path / "calls.jsonl"
    (fake_bin / "sse-conformance").write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"open({str(record)!r}, 'a').write(json.dumps({{'argv': sys.argv[1:], 'key': os.environ.get('SSE_CONFORMANCE_API_KEY')}}) + '\\n')\n"
        "sys.exit(0 if sys.argv[1] == 'summary' else 1)\n", encoding="utf-8")
    (fake_bin / "sse-conformance").chmod(0o755)
    key = "sk-test-Zq9$(touch pwned)`id`"
    result = run_action(tmp_path, {"endpoint": "https://gw.example/v1", "model": "m x", "profile": "openai", "api-key": key, "variants": "3",
                                   "baseline": "base line.json", "args": "--timeout 60 -k 'text or tools' --seed=7", "reports-dir": "out dir"},
                        ROOT, {"PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}"}, install=False)
    assert [(n, c) for n, c, _ in result["ran"]] == [("Run the conformance suite", 0), ("Write the job summary", 0), ("Fail on an error-level finding", 1)]
    assert result["outputs"]["exit-code"] == "1"  # the run step records the code; the last step fails the job with it
    assert not (tmp_path / "pwned").exists()
    run, summary = [json.loads(line) for line in record.read_text().splitlines()]
    assert run["argv"] == ["run", "--reports", "out dir", "--endpoint", "https://gw.example/v1", "--model", "m x", "--profile", "openai",
                           "--variants", "3", "--baseline", "base line.json", "--timeout", "60", "-k", "text or tools", "--seed=7"]
    assert run["key"] == key and all(key not in a for a in run["argv"])
    assert summary["argv"] == ["summary", "out dir/compliance.json"]


def _checkout(tmp: Path) -> Path:
    """The action's own checkout, as `uses: OWNER/sse-conformance@ref` gives it."""
    dest = tmp / "action-checkout"
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(".venv", ".git", "reports", "*.egg-info", "__pycache__", ".ci", "build", "docs", "benchmarks"))
    return dest


@pytest.mark.slow  # a fresh virtualenv and a wheel build of the checkout: 10-60 s depending on the machine's load
def test_the_composite_installs_runs_and_summarises_a_failing_endpoint(tmp_path: Path) -> None:
    """Every run: step for real: pip installs the action's checkout into a fresh virtualenv
    (the `python` first on PATH, as setup-python leaves it; the suite's dependencies come from
    this test environment, so nothing is downloaded but the build backend), runs the suite
    against the embedded endpoint with a fault, writes the summary; the job fails with the run's
    exit code."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = {"PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(venv), "PIP_NO_DEPS": "1",
           "PYTHONPATH": sysconfig.get_paths()["purelib"]}  # dependencies; an editable install's .pth is not read from here
    work = tmp_path / "workspace"
    work.mkdir()
    result = run_action(work, {"args": "--fault role-repeated --seed 1", "variants": "0", "reports-dir": "reports"}, _checkout(tmp_path), env)
    names = [(n, c) for n, c, _ in result["ran"]]
    assert names == [("Install sse-conformance", 0), ("Run the conformance suite", 0), ("Write the job summary", 0), ("Fail on an error-level finding", 1)], result["ran"]
    where = subprocess.run(["python", "-c", "import conformance; print(conformance.__file__)"], env={**os.environ, **env}, cwd=work, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(venv)), "the run used the suite installed from the action's checkout"
    assert result["outputs"]["exit-code"] == "1" and result["code"] == 1
    summary = result["summary"]
    assert summary.startswith("## sse-conformance: ❌ does not conform")
    assert "| live/text | " in summary and "❌ fail" in summary
    assert re.search(r"\| live/text \| `chunk.role-only-first` \| .*repeats role", summary)
    assert all(p.is_file() for p in result["uploads"]) and len(result["uploads"]) == 3
    doc = json.loads((work / "reports" / "compliance.json").read_text())
    assert doc["ok"] is False


def test_the_composite_on_a_conforming_endpoint_passes(tmp_path: Path) -> None:
    result = run_action(tmp_path, {"variants": "0"}, ROOT, install=False)
    assert result["code"] == 0 and result["outputs"]["exit-code"] == "0"
    assert result["summary"].startswith("## sse-conformance: ✅ conforms")
    assert "### Failures\n\nNone." in result["summary"]
    assert all(p.is_file() for p in result["uploads"])


# --- the summary module -------------------------------------------------------------------


def _doc(findings: list[dict[str, Any]], status: str = "fail", exchange: str = "live/text") -> dict[str, Any]:
    rule = {"status": status, "severity": "error", "reason": None, "total": len(findings), "title": "t", "section": "4", "source": "streaming.md section 4", "findings": findings}
    return {"format": 1, "suite": {"name": "sse-conformance", "version": "0.1.0"}, "generated": "2026-01-01T00:00:00+00:00", "endpoint": "https://gw.example/v1",
            "model": "m", "profile": "sansa", "ok": status != "fail", "counts": {"pass": 3, "fail": 1, "warn": 0, "n/a": 0, "skipped": 0},
            "exchanges": [{"id": exchange, "ok": status != "fail", "rules": {"chunk.schema": rule, "sse.done": {**rule, "status": "pass", "findings": [], "total": 0}}}]}


def test_summary_escapes_what_the_endpoint_sent() -> None:
    evil = {"rule": "chunk.schema", "severity": "error", "message": "bad | cell\n<script>alert(1)</script> **bold** [x](http://e)",
            "event": 2, "offset": 10, "path": "$.a", "excerpt": None}
    text = render(_doc([evil], exchange="rec|<b>.sse#1"))
    row = next(line for line in text.splitlines() if "chunk.schema" in line and "event" in line)
    assert "<script>" not in text and "&lt;script&gt;" in row and "<b>" not in text
    assert row.count(" | ") == 4  # the pipe in the message cannot add a column
    assert "\\*\\*bold\\*\\*" in row and "\\[x\\]" in row and "<br>" in row
    assert "| rec\\|&lt;b&gt;.sse\\#1 | ❌ fail |" in text or "rec\\|&lt;b&gt;.sse\\#1" in text
    assert md("a&b") == "a&amp;b"


def test_summary_caps_its_length_and_counts_the_rest() -> None:
    many = [{"rule": "chunk.schema", "severity": "error", "message": "m" * 5000, "event": i, "offset": i, "path": None, "excerpt": None} for i in range(MAX_ROWS + 30)]
    text = render(_doc(many))
    assert text.count("| live/text | `chunk.schema`") == MAX_ROWS
    assert "... and 30 more failure(s): see report.html." in text
    assert len(text.encode()) < 1024 * 1024 and "m" * 401 not in text


def test_summary_warnings_fold_and_the_matrix_shows_the_worst(tmp_path: Path) -> None:
    warn = {"rule": "chunk.schema", "severity": "warning", "message": "w", "event": 1, "offset": 1, "path": None, "excerpt": None}
    text = render(_doc([warn], status="warn"))
    assert "✅ conforms" in text and "<details><summary>Warnings (1)" in text and "### Failures\n\nNone." in text
    matrix_row = next(line for line in text.splitlines() if line.startswith("| live/text | "))
    cells = [c.strip() for c in matrix_row.strip("|").split("|")]
    groups = next(line for line in text.splitlines() if line.startswith("| exchange | request"))
    heads = [c.strip() for c in groups.strip("|").split("|")]
    assert cells[heads.index("chunk")] == "⚠️ warn" and cells[heads.index("sse")] == "✅ pass" and cells[heads.index("tools")] == "·"


def test_summary_command_and_a_missing_report(tmp_path: Path) -> None:
    path = tmp_path / "compliance.json"
    path.write_text(json.dumps(_doc([])), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert main(["summary", str(path)], out, err) == 0 and out.getvalue().startswith("## sse-conformance:")
    out = io.StringIO()
    assert main(["summary", str(tmp_path / "nope.json")], out, err) == 2
    assert "no report" in out.getvalue() and "see the job log" in out.getvalue()
    proc = subprocess.run([sys.executable, "-m", "conformance.summary", str(path)], capture_output=True, text=True, check=True)
    assert proc.stdout.startswith("## sse-conformance:")
