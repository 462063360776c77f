"""Many models in one run: settings, test ids, the model per exchange, the models x rule
groups matrix, `record` per model; against the embedded endpoint, which takes any model."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import jsonschema
import pytest

from conformance.cli import main
from conformance.errors import UsageError
from conformance.live.config import load_settings
from conformance.live.scenarios import SCENARIOS
from conformance.plugin import model_prefix
from conformance.report.html import model_matrix

reference = pytest.importorskip("conformance.reference")
SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "conformance" / "report" / "compliance.schema.json").read_text())
KEY_ENV = "SSE_CONFORMANCE_TEST_KEY"
ROUTER = ("sansa-fast", "openai/gpt-4o")


def settings(options: dict | None = None, env: dict | None = None, toml: str | None = None, tmp: Path | None = None):  # type: ignore[no-untyped-def]
    path = None
    if toml is not None and tmp is not None:
        path = tmp / "pyproject.toml"
        path.write_text(toml)
    return load_settings(options, env=env or {}, pyproject=path or Path("/nonexistent/pyproject.toml"))


def test_models_come_from_a_list_repeated_options_or_commas(tmp_path: Path) -> None:
    s = settings(toml='[tool.sse-conformance]\nmodel = ["a", "b/c"]\n', tmp=tmp_path)
    assert s.all_models == ("a", "b/c") and s.model == "a"
    assert [m.model for m in s.per_model()] == ["a", "b/c"] and all(m.all_models == ("a", "b/c") for m in s.per_model())
    assert settings({"model": ["x", "y,z"]}).all_models == ("x", "y", "z")
    assert settings(env={"SSE_CONFORMANCE_MODEL": "p, q"}).all_models == ("p", "q")
    assert settings({"model": ["only"]}, toml='[tool.sse-conformance]\nmodel = ["a", "b"]\n', tmp=tmp_path).all_models == ("only",)  # options win
    one = settings()
    assert one.all_models == ("sansa-auto",) and [m.model for m in one.per_model()] == ["sansa-auto"]


@pytest.mark.parametrize(
    ("value", "message"),
    [(["a", "a"], "listed twice"), (["a", ""], "empty model"), ([], "empty model"), ([1], "string or a list"), ({"a": 1}, "string or a list")],
)
def test_bad_model_lists_are_usage_errors(value: object, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        settings({"model": value})


def test_models_is_not_a_setting_of_its_own(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="give model a list"):
        settings(toml='[tool.sse-conformance]\nmodels = ["a", "b"]\n', tmp=tmp_path)


def test_the_run_budget_counts_every_models_scenarios() -> None:
    from conformance.live.runner import run_budget

    one, two = settings({"timeout": 10}), settings({"timeout": 10, "model": ["a", "b"]})
    assert run_budget(two.per_model()[1]) == 2 * run_budget(one)  # the second model's scenarios get their time too


def test_ids_keep_todays_form_for_one_model_and_carry_the_model_for_several() -> None:
    assert model_prefix("sansa-auto", many=False) == "live/"
    assert model_prefix("openai/gpt-4o", many=True) == "live/openai/gpt-4o/"
    assert model_prefix("a::b c\n[x]", many=True) == "live/a_b_c__x_/"  # no pytest separator, no whitespace


def test_the_reference_endpoint_accepts_any_model_name_and_echoes_it() -> None:
    with reference.serve_in_thread(reference.create_app(delay=0)) as url:
        for model in ("openai/gpt-4o", "anthropic/claude-3.5-sonnet:beta", "x"):
            body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
            r = httpx.post(url + "/chat/completions", json=body, headers={"authorization": "Bearer sk-reference"}, timeout=10)
            assert r.status_code == 200
            first = json.loads(r.text.split("\n\n")[0].removeprefix("data: "))
            assert first["model"] == model


def test_a_fault_for_one_model_acts_on_that_model_only() -> None:
    with reference.serve_in_thread(reference.create_app(fault="role-repeated@b", delay=0)) as url:
        roles = {}
        for model in ("a", "b"):
            body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
            r = httpx.post(url + "/chat/completions", json=body, headers={"authorization": "Bearer sk-reference"}, timeout=10)
            roles[model] = r.text.count('"role":"assistant"') + r.text.count('"role": "assistant"')
    assert roles["a"] == 1 and roles["b"] > 1
    with pytest.raises(ValueError, match="unknown fault 'nope@a'"):
        reference.create_app(fault="nope@a")


def test_pytest_collects_every_scenario_per_model(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--endpoint", "http://127.0.0.1:9/v1", "--model", "a", "--model", "b/c", "--variants", "1", "--collect-only", "-q", "-p", "no:cacheprovider")
    lines = [line for line in result.stdout.lines if line.startswith("live/")]
    for model in ("a", "b/c"):
        for name in [*SCENARIOS, "variants"]:
            assert any(line.startswith(f"live/{model}/{name}") for line in lines), (model, name)
    assert not any(re.match(r"live/(text|variants)\b", line) for line in lines)
    single = pytester.runpytest("--endpoint", "http://127.0.0.1:9/v1", "--model", "a", "--variants", "0", "--collect-only", "-q", "-p", "no:cacheprovider")
    assert "live/text::chunk.role-first" in single.stdout.str()


@pytest.fixture(scope="module")
def router_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two models; the tool-call fault only on the second one's route."""
    tmp = tmp_path_factory.mktemp("models")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_CONFORMANCE_")}
    args = ["run", "--model", ROUTER[0], "--model", ROUTER[1], "--fault", f"tool-call-no-id@{ROUTER[1]}", "--variants", "1", "--reports", str(tmp), "-q"]
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", *args], capture_output=True, text=True, timeout=300, cwd=tmp, env=env)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    return tmp


def test_compliance_json_carries_the_model_of_every_exchange(router_run: Path) -> None:
    doc = json.loads((router_run / "compliance.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc["models"] == list(ROUTER) and doc["model"] is None
    ids = {e["id"]: e for e in doc["exchanges"]}
    scenarios = {f"live/{m}/{n}" for m in ROUTER for n in SCENARIOS}
    assert scenarios <= set(ids) <= scenarios | {f"live/{m}/variants" for m in ROUTER}  # variants: an exchange only when one broke a rule
    for exchange in ids.values():
        assert exchange["request"]["model"] == exchange["model"] and exchange["id"].startswith(f"live/{exchange['model']}/")
    failed = {(e["model"], r) for e in ids.values() for r, v in e["rules"].items() if v["status"] == "fail"}
    assert failed == {(ROUTER[1], "tools.first-fragment")}  # the other route conforms
    variants = doc["variants"]
    assert set(variants["by_model"]) == set(ROUTER) and variants["variants"] == 2
    assert all(v["seed"] == variants["seed"] and v["model"] == m for m, v in variants["by_model"].items())


def test_the_page_shows_models_by_rule_groups_with_links_to_the_details(router_run: Path) -> None:
    page = (router_run / "report.html").read_text()
    assert "Compliance by model" in page and "Models</th><td>sansa-fast, openai/gpt-4o" in page
    section = page[page.index("Compliance by model"):page.index("Compliance matrix")]
    rows = re.findall(r"<tr><th>([^<]+)</th>(<td.*?)</tr>", section)  # the body rows, not the head
    assert [name for name, _ in rows] == list(ROUTER)  # the order given
    fast, gpt = (cells for _, cells in rows)
    assert "c-fail" not in fast and re.search(r"fail \(\d+\)", gpt)
    for target in re.findall(r'href="#([^"]+)"', section):
        assert f'id="{target}"' in page  # every link lands on a finding


def test_model_matrix_is_absent_for_one_model_and_for_recordings() -> None:
    one = {"exchanges": [{"id": "live/text", "kind": "live", "model": "m", "rules": {}}]}
    recs = {"exchanges": [{"id": f"{m}.sse", "kind": "recording", "rules": {}} for m in "ab"]}
    assert model_matrix(one) == "" and model_matrix(recs) == ""


def test_record_writes_one_folder_per_model_and_validate_replays_them(tmp_path: Path) -> None:
    os.environ[KEY_ENV] = "sk-reference"
    try:
        with reference.serve_in_thread(reference.create_app()) as url:
            out = io.StringIO()
            code = main(["record", "--endpoint", url, "--api-key-env", KEY_ENV, "--model", "m1,org/m2", "--out", str(tmp_path)], out, io.StringIO())
    finally:
        del os.environ[KEY_ENV]
    assert code == 0, out.getvalue()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m1", "org_m2"]
    assert sorted(p.name for p in (tmp_path / "org_m2").glob("*.sse")) == sorted(f"{n}.sse" for n in SCENARIOS)
    assert json.loads((tmp_path / "org_m2" / "text.json").read_text())["request"]["model"] == "org/m2"
    report = io.StringIO()
    assert main(["validate", "--format", "json", str(tmp_path)], report, io.StringIO()) == 0
    assert len(json.loads(report.getvalue())["fixtures"]) == 2 * len(SCENARIOS)
