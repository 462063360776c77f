"""--clients from the front ends: validate (text, JSON, reports), the pytest plugin, pyproject."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from conformance.cli import main
from conformance.clients import CLIENTS, PYTHON_CLIENTS
from conformance.recordings import save

from . import clients_streams as cs
from .conftest import FIXTURES, ROOT

SCHEMA = json.loads((ROOT / "conformance" / "report" / "compliance.schema.json").read_text())
HAVE_NODE = shutil.which("node") is not None


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The five shapes as recordings (body + sidecar), beside a conformant one."""
    folder = tmp_path_factory.mktemp("shapes")
    for make in (cs.chunk_after_usage, cs.details_without_index, cs.choice_with_message, cs.bom_before_content, cs.error_then_lone_cr):
        ex = make()
        save(ex, folder / f"{ex.source}.sse")
    shutil.copy(FIXTURES / "conformant" / "text.sse", folder / "text.sse")
    shutil.copy(FIXTURES / "conformant" / "text.json", folder / "text.json")
    return folder


def test_validate_clients_takes_a_path_after_it_and_shows_the_matrix(shapes: Path) -> None:
    code, out, err = run("validate", "--clients", str(shapes))
    assert code in (0, 1) and not err, err  # client findings are warnings; some shapes break error rules of the revised spec
    assert "Client replay (" in out and "openai-python         openai " in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith(str(shapes))}
    header = next(line for line in out.splitlines() if line.startswith("recording")).split()[1:]
    assert header == list(CLIENTS)
    col = {c: i for i, c in enumerate(header)}
    assert rows[str(shapes / "text.sse")] == ["same"] * len(CLIENTS)
    assert rows[str(shapes / "chunk-after-usage.sse")][col["openai-python-stream"]] == "differs"
    assert rows[str(shapes / "reasoning_details-without-index.sse")][col["openai-python-stream"]] == "raised"
    assert rows[str(shapes / "bom-before-content.sse")][col["openai-python"]] == "differs"
    if HAVE_NODE:
        assert rows[str(shapes / "choice-with-message.sse")][col["openai-node-stream"]] == "differs"
        assert rows[str(shapes / "error-lone-cr.sse")][col["vercel-ai"]] == "differs"
    assert "warning client.openai-python-stream" in " ".join(out.split())


def test_validate_clients_judges_hostile_chunks_as_findings(tmp_path: Path) -> None:
    """Chunks with a string for a message or a delta, a number for a tool call, an object for
    tool_calls: validate --clients judges every one (exit 1, nothing on stderr); each client
    has a state in the matrix, the accumulator's failure is its rule's warning."""
    from .test_clients import HOSTILE, hostile_exchange

    for name in HOSTILE:
        save(hostile_exchange(name), tmp_path / f"{name}.sse")
    code, out, err = run("validate", "--clients=all", "--format", "json", str(tmp_path))
    assert code == 1 and not err, err  # fails on error rules (chunk.schema...), never a usage error or a crash
    fixtures = {Path(f["path"]).stem: f for f in json.loads(out)["fixtures"]}
    assert set(fixtures) == set(HOSTILE)
    for name, f in fixtures.items():
        assert set(f["clients"]) == set(CLIENTS), name
        stream = f["clients"]["openai-python-stream"]
        assert stream["state"] == "raised", (name, stream)
        assert f["rules"]["client.openai-python-stream"] == "warn"
        # the raw clients hand the chunks over as parsed; the application skips what is not an object, as the spec does
        assert {f["clients"][c]["state"] for c in ("openai-python", "httpx-sse")} == {"same"}, (name, f["clients"])


def test_validate_json_carries_the_matrix_and_the_versions(shapes: Path) -> None:
    code, out, _ = run("validate", "--clients=python", "--format", "json", str(shapes / "chunk-after-usage.sse"))
    doc = json.loads(out)
    assert set(doc["clients"]["versions"]) == set(PYTHON_CLIENTS) and "openai " in doc["clients"]["versions"]["openai-python"]
    (fixture,) = doc["fixtures"]
    assert fixture["clients"]["openai-python-stream"] == {"state": "differs", "detail": "usage"}
    assert fixture["clients"]["openai-python"]["state"] == "same"
    assert fixture["rules"]["client.openai-node"] == "n/a"  # not requested: --clients=python


def test_without_clients_nothing_is_replayed(shapes: Path) -> None:
    code, out, _ = run("validate", "--format", "json", str(shapes / "text.sse"))
    doc = json.loads(out)
    assert "clients" not in doc and all(doc["fixtures"][0]["rules"][f"client.{c}"] == "n/a" for c in CLIENTS)


def test_unknown_client_and_missing_path_are_usage_errors(shapes: Path) -> None:
    assert run("validate", "--clients=curl", str(shapes))[0] == 2
    code, _, err = run("validate", "--clients")
    assert code == 2 and "PATH" in err


def test_pyproject_clients_apply_to_validate(shapes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.sse-conformance]\nclients = ["httpx-sse"]\n')
    monkeypatch.chdir(tmp_path)
    doc = json.loads(run("validate", "--format", "json", str(shapes / "bom-before-content.sse"))[1])
    row = doc["fixtures"][0]["clients"]
    assert row.pop("httpx-sse") == {"state": "differs", "detail": "choice 0 content"}
    assert {c["state"] for c in row.values()} == {"not requested"}
    doc = json.loads(run("validate", "--clients=none", "--format", "json", str(shapes / "bom-before-content.sse"))[1])
    assert "clients" not in doc


def test_reports_carry_the_client_matrix(shapes: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    code, out, err = run("validate", "--clients", "--reports", str(reports), str(shapes))
    assert code in (0, 1) and not err, out + err
    doc = json.loads((reports / "compliance.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc["clients"]["requested"] == list(CLIENTS) and set(doc["clients"]["versions"]) == set(CLIENTS)
    rows = {Path(e["id"]).name: e["clients"] for e in doc["exchanges"]}
    assert rows["chunk-after-usage.sse"]["openai-python-stream"]["state"] == "differs"
    assert rows["text.sse"]["vercel-ai"]["state"] == ("same" if HAVE_NODE else "skipped")
    page = (reports / "report.html").read_text()
    assert "Client matrix" in page and "differs: usage" in page and "openai-python-stream" in page
    assert "openai 3." in page  # the versions are on the page


def test_the_plugin_option(pytester: pytest.Pytester, shapes: Path, tmp_path: Path) -> None:
    report = tmp_path / "compliance.json"
    result = pytester.runpytest_inprocess("--sse-fixtures", str(shapes / "chunk-after-usage.sse"), "--sse-clients", "openai-python-stream,httpx-sse",
                                          f"--sse-json={report}", "-rA", "-p", "no:cacheprovider")
    assert result.ret == 0  # a client difference is a warning: it passes with the warning attached
    text = result.stdout.str()
    assert "sse-conformance client replay: openai-python-stream = openai" in text
    assert "client replay not requested (--clients)" in text  # the others: skipped with the reason
    (exchange,) = json.loads(report.read_text())["exchanges"]
    assert exchange["rules"]["client.openai-python-stream"]["status"] == "warn"
    assert exchange["clients"]["openai-python-stream"] == {"state": "differs", "detail": "usage"}
    assert exchange["clients"]["httpx-sse"]["state"] == "same" and exchange["clients"]["vercel-ai"]["state"] == "not requested"


def test_run_clients_against_the_embedded_endpoint(tmp_path: Path) -> None:
    """The live path: each scenario captured once, replayed, and every client reads it as the spec does."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_CONFORMANCE_")}
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--clients", "--variants", "0", "--reports", str(tmp_path), "-k", "client", "-q"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    doc = json.loads((tmp_path / "compliance.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    streams = [e for e in doc["exchanges"] if e["id"] not in ("live/bad-key", "live/invalid-params")]
    assert len(streams) >= 7
    for e in streams:
        expected = {"same"} if HAVE_NODE else {"same", "skipped"}
        assert {c["state"] for c in e["clients"].values()} <= expected, (e["id"], e["clients"])


@pytest.mark.parametrize(("fault", "profile", "client", "side"), [("bom-content", "sansa", "openai-python", "stream"),
                                                                 ("usage-not-last", "sansa", "openai-python-stream", "client"),
                                                                 ("error-trailing-cr", "openai", "vercel-ai", "stream")])
def test_a_live_trap_comes_out_as_a_client_finding(fault: str, profile: str, client: str, side: str, tmp_path: Path) -> None:
    """Over a real socket (the reference endpoint's fault), the trap reaches the client's rule."""
    import os
    import subprocess
    import sys

    if client in ("vercel-ai",) and not HAVE_NODE:
        pytest.skip("node is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_CONFORMANCE_")}
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", "run", "--fault", fault, "--profile", profile, f"--clients={client}", "--variants", "0",
                           "--reports", str(tmp_path), "-k", "live/text and client", "-q"], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]  # a client difference is a warning
    (text,) = [e for e in json.loads((tmp_path / "compliance.json").read_text())["exchanges"] if e["id"] == "live/text"]
    assert text["clients"][client]["state"] == "differs", text["clients"]
    assert f"Which side: the {side}" in text["rules"][f"client.{client}"]["findings"][0]["message"]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_validate_clients_in_worker_processes_prints_what_one_process_prints(shapes: Path, fmt: str) -> None:
    """-j 2 with --clients: each worker replays through its own clients (its own Node process)."""
    one = run("validate", "--clients", "all", "-j", "1", "--format", fmt, str(shapes))
    two = run("validate", "--clients", "all", "-j", "2", "--format", fmt, str(shapes))
    assert one[0] in (0, 1) and not one[2], one[2]
    assert ("differs" in one[1]) and two == one
