"""Dialects as data: the TOML format, its strict checks, what the judge does with a dialect,
and the shipped dialects against the real recordings of their providers."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from conformance import judge, load
from conformance.cli import main
from conformance.commands import reference_profile
from conformance.errors import UsageError
from conformance.findings import FAIL, NA, WARN, WARNING
from conformance.live.config import load_settings
from conformance.profiles import BUILTIN, get_profile
from conformance.rules import all_rules

from .conftest import FIXTURES, USAGE, chunk, stream_body, text_stream

REAL = FIXTURES / "real"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def dialect(tmp: Path, text: str, name: str = "mine.toml") -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


# -- openai as a file: the same profile as the Python one it replaces -----------------------


def test_openai_file_is_the_former_openai_profile() -> None:
    o = get_profile("openai")
    assert o.file == "conformance/dialects/openai.toml" and o.extends == "sansa"
    assert o.finish_reasons == {"stop", "length", "tool_calls", "error", "content_filter", "function_call"}
    assert (o.chunk_schema, o.error_schema, o.stream_error_schema) == ("chunk.openai.json", "error.openai.json", "stream-error.openai.json")
    assert (o.usage_always, o.annotations, o.error_may_end_stream) == (False, True, True)
    assert o.overrides == () and o.quirks == ()
    s = get_profile("sansa")
    assert s.file is None and s.usage_always and not s.annotations and not s.error_may_end_stream


def test_every_rule_still_applies_under_every_builtin() -> None:
    for name in ("sansa", *BUILTIN):
        profile = get_profile(name)
        assert all(profile.covers(r.profiles) for r in all_rules()), name


def test_the_reference_endpoint_speaks_a_dialects_builtin_base() -> None:
    assert [reference_profile(p) for p in (None, "sansa", "openai", "azure", "openrouter", "xai")] == ["sansa", "sansa", "openai", "openai", "sansa", "openai"]


# -- strict checks: every mistake names the file and the key, exit 2 -------------------------


BAD = [
    ('extends = "sansa"\ncolour = "red"\n', "colour", "unknown key"),
    ('extends = "nope"\n', "extends", "unknown profile 'nope'"),
    ('name = "x"\n', "extends", "is required"),
    ('extends = "sansa"\n[rules."chunk.nope"]\naction = "off"\nreason = "r"\n', "rules.chunk.nope", "no such rule"),
    ('extends = "sansa"\n[rules."sse.done"]\naction = "warn"\n', "rules.sse.done.reason", "is required"),
    ('extends = "sansa"\n[rules."sse.done"]\naction = "off"\nreason = "  "\n', "rules.sse.done.reason", "non-empty"),
    ('extends = "sansa"\n[rules."sse.done"]\naction = "ignore"\nreason = "r"\n', "rules.sse.done.action", "must be \"off\""),
    ('extends = "sansa"\n[rules."sse.done"]\naction = "off"\nreason = "r"\nwhy = "x"\n', "rules.sse.done.why", "unknown key"),
    ('extends = "sansa"\n[rules."chunk.consistent-id"]\naction = "warn"\nreason = "r"\n', "rules.chunk.consistent-id.action", "a warning already"),
    ('extends = "sansa"\nusage = "sometimes"\n', "usage", "must be one of"),
    ('extends = "sansa"\n[schemas]\nchunk = "mine.json"\n', "schemas.chunk", "must name a schema"),
    ('extends = "sansa"\n[decoding]\nannotations = "yes"\n', "decoding.annotations", "true or false"),
    ('extends = "sansa"\nfinish_reasons = "stop"\n', "finish_reasons", "array of strings"),
    ('extends = "sansa"\n[[quirks]]\nname = "q"\nexplanation = "e"\nrules = ["no.such"]\n', "quirks[0].rules", "no such rule"),
    ('extends = "sansa"\n[[quirks]]\nname = "q"\nrules = ["sse.done"]\n', "quirks[0].explanation", "is required"),
    ('extends = "sansa"\n[[quirks]]\nname = "q"\nexplanation = "e"\nrules = ["sse.done"]\nwhere = [{ path = "$.a" }]\n', "quirks[0].where[0]", "exactly one of"),
    ('extends = "sansa"\n[[quirks]]\nname = "q"\nexplanation = "e"\nrules = ["sse.done"]\nwhere = [{ path = "object", equals = "" }]\n', "quirks[0].where[0].path", "JSON path"),
    ('extends = "sansa"\n[[quirks]]\nname = "q"\nexplanation = "e"\nrules = ["sse.done"]\nwhere = [{ path = "$.a[x]", null = true }]\n', "quirks[0].where[0].path", "JSON path"),
    ('extends = "sansa"\n[[quirks]]\nname = "q"\nexplanation = "e"\nrules = ["sse.done"]\nfinding_path = "choices"\n', "quirks[0].finding_path", "JSON path"),
    ('extends = "sansa"\nname = "openai"\n', "name", "already the name of a built-in"),
    ('extends = "openai"\nname = "sansa"\n', "name", "already the name of its base"),
    ('extends = "sansa"\n[decoding]\nannotations = true\nskip = 1\n', "decoding.skip", "unknown key"),
]


@pytest.mark.parametrize(("text", "key", "says"), BAD, ids=[b[1] for b in BAD])
def test_a_bad_dialect_file_is_a_usage_error_naming_file_and_key(tmp_path: Path, text: str, key: str, says: str) -> None:
    path = dialect(tmp_path, text)
    with pytest.raises(UsageError) as exc:
        get_profile(str(path))
    message = str(exc.value)
    assert f"profile {path}: {key}:" in message and says in message, message
    rec = tmp_path / "a.sse"
    rec.write_bytes(stream_body(*text_stream("hi")))
    code, out, err = run("validate", "--profile", str(path), str(rec))
    assert code == 2 and str(path) in err and key in err and out == ""


def test_not_toml_and_missing_files_are_usage_errors(tmp_path: Path) -> None:
    broken = dialect(tmp_path, "extends = \n")
    for path, says in ((broken, "not valid TOML"), (tmp_path / "absent.toml", "cannot be read")):
        with pytest.raises(UsageError, match=says):
            get_profile(str(path))
    with pytest.raises(UsageError, match="unknown profile 'azur'"):
        get_profile("azur")
    with pytest.raises(UsageError, match="a name or a .toml path, not 5"):
        get_profile(5)  # type: ignore[arg-type]  # a sidecar's "profile": 5


def test_a_cycle_of_extends_is_refused(tmp_path: Path) -> None:
    dialect(tmp_path, 'extends = "b.toml"\n', "a.toml")
    dialect(tmp_path, 'extends = "a.toml"\n', "b.toml")
    with pytest.raises(UsageError, match="a cycle"):
        get_profile(str(tmp_path / "a.toml"))


# -- the judge under a dialect ---------------------------------------------------------------


NO_DONE = stream_body(*text_stream("hi"), done=False)


def test_a_switched_off_rule_is_not_applicable_with_the_reason(tmp_path: Path) -> None:
    path = dialect(tmp_path, 'extends = "sansa"\nname = "nodone"\n[rules."sse.done"]\naction = "off"\nreason = "this gateway never sends it"\n')
    rec = tmp_path / "r.sse"
    rec.write_bytes(NO_DONE)
    assert judge(load(rec)).result("sse.done").status == FAIL  # type: ignore[union-attr]
    verdict = judge(load(rec), str(path))
    result = verdict.result("sse.done")
    assert verdict.ok and result is not None and result.status == NA
    assert result.reason == "switched off by profile nodone: this gateway never sends it"


def test_a_demoted_rule_warns_and_says_who_demoted_it(tmp_path: Path) -> None:
    path = dialect(tmp_path, 'extends = "sansa"\nname = "lax"\n[rules."sse.done"]\naction = "warn"\nreason = "clients stop at the last finish"\n')
    rec = tmp_path / "r.sse"
    rec.write_bytes(NO_DONE)
    verdict = judge(load(rec), str(path))
    result = verdict.result("sse.done")
    assert verdict.ok and result is not None and result.status == WARN and result.severity == WARNING
    assert result.reason == "demoted by profile lax: clients stop at the last finish"
    (finding,) = result.findings
    assert finding.severity == WARNING and finding.severity_reason == "demoted by profile lax: clients stop at the last finish"
    assert "demoted" not in finding.message  # said once, where severities are explained
    # a passing stream is not touched by the demotion
    rec.write_bytes(stream_body(*text_stream("hi")))
    assert judge(load(rec), str(path)).result("sse.done").status == "pass"  # type: ignore[union-attr]


def test_overrides_and_quirks_are_inherited_and_a_dialect_can_extend_a_file(tmp_path: Path) -> None:
    dialect(tmp_path, 'extends = "sansa"\nname = "base"\n[rules."sse.done"]\naction = "warn"\nreason = "r1"\n', "base.toml")
    child = dialect(tmp_path, 'extends = "base.toml"\nname = "child"\nfinish_reasons = ["eos"]\n[rules."usage.totals"]\naction = "off"\nreason = "r2"\n', "child.toml")
    p = get_profile(str(child))
    assert p.lineage == ("child", "base", "sansa") and "eos" in p.finish_reasons
    assert {(o.rule, o.action, o.profile) for o in p.overrides} == {("sse.done", "warn", "base"), ("usage.totals", "off", "child")}
    rec = tmp_path / "r.sse"
    rec.write_bytes(stream_body(chunk({"role": "assistant", "content": "x"}), chunk({}, "eos", usage=USAGE), done=False))
    verdict = judge(load(rec), str(child))
    assert verdict.ok, [f.to_json() for f in verdict.findings]
    assert verdict.result("chunk.finish-reason-enum").status == "pass"  # type: ignore[union-attr]


def test_a_demotion_composes_with_a_conditional_severity(tmp_path: Path) -> None:
    """compat.no-bom is an error when the dropped first event carries content: demoted, it is
    a warning that keeps the rule's own reason beside the profile's."""
    path = dialect(tmp_path, 'extends = "sansa"\nname = "bom"\n[rules."compat.no-bom"]\naction = "warn"\nreason = "our clients strip the BOM"\n')
    rec = tmp_path / "r.sse"
    rec.write_bytes(b"\xef\xbb\xbf" + stream_body(chunk({"role": "assistant", "content": "Hi"}), chunk({}, "stop", usage=USAGE)))
    plain = judge(load(rec)).result("compat.no-bom")
    assert plain is not None and plain.status == FAIL and plain.findings[0].severity_reason
    result = judge(load(rec), str(path)).result("compat.no-bom")
    assert result is not None and result.status == WARN
    (finding,) = result.findings
    assert finding.severity == WARNING
    assert finding.severity_reason == f"demoted by profile bom: our clients strip the BOM (without it: {plain.findings[0].severity_reason})"


def test_usage_optional_switches_the_presence_rule_off(tmp_path: Path) -> None:
    path = dialect(tmp_path, 'extends = "openai"\nname = "opt"\nusage = "optional"\n')
    body = stream_body(chunk({"role": "assistant", "content": "x"}), chunk({}, "stop"))
    rec = tmp_path / "r.sse"
    rec.write_bytes(body)
    rec.with_suffix(".json").write_text(json.dumps({"request": {"model": "m", "messages": [], "stream": True, "stream_options": {"include_usage": True}}}))
    assert judge(load(rec), "openai").result("usage.present-last").status == FAIL  # type: ignore[union-attr]
    result = judge(load(rec), str(path)).result("usage.present-last")
    assert result is not None and result.status == NA and result.reason == "switched off by profile opt: usage is optional in this dialect"


def test_quirk_conditions_read_the_payload_as_written() -> None:
    from conformance.profiles import _holds

    payload = {"object": "", "choices": [{"delta": {"text": None}}, {"delta": {"content": "x"}}], "n": 0}
    assert _holds(payload, "$.object", "equals", "") and not _holds(payload, "$.object", "equals", "x")
    assert _holds(payload, "$.choices[*].delta.content", "present", True)
    assert _holds(payload, "$.choices[0].delta.content", "present", False)
    assert _holds(payload, "$.choices[1].delta.content", "equals", "x")
    assert _holds(payload, "$.choices[*].delta.text", "null", True) and not _holds(payload, "$.choices[*].delta.content", "null", True)
    assert not _holds(payload, "$.n", "equals", False)  # 0 is not false
    assert not _holds(None, "$.object", "present", True) and not _holds(payload, "$.choices[5].delta", "present", True)


def test_a_quirk_names_only_the_findings_it_matches(tmp_path: Path) -> None:
    path = dialect(tmp_path, """extends = "sansa"
name = "q"
[[quirks]]
name = "model-swap"
explanation = "this gateway names the upstream model from the second chunk on"
rules = ["chunk.consistent-id"]
finding_path = "$.model"
where = [{ path = "$.choices[*].delta.content", present = true }]
""")
    rec = tmp_path / "r.sse"
    rec.write_bytes(stream_body(chunk({"role": "assistant", "content": ""}), chunk({"content": "x"}, model="up-1"), chunk({}, "stop", usage=USAGE, id="other")))
    result = judge(load(rec), str(path)).result("chunk.consistent-id")
    assert result is not None and result.status == WARN
    named = [f.path for f in result.findings if "Known quirk of profile q (model-swap): this gateway" in f.message]
    assert named == ["$.model"]  # the model finding on a content chunk; not the id finding, nor the finish chunk's model


# -- where a profile is taken: sidecar, pyproject, CLI json, pytest ---------------------------


AZURE_OFF = 'extends = "sansa"\nname = "strict"\n[rules."chunk.schema"]\naction = "off"\nreason = "judged elsewhere"\n'


def test_a_sidecars_dialect_file_is_read_relative_to_the_recording(tmp_path: Path) -> None:
    (tmp_path / "dialects").mkdir()
    dialect(tmp_path / "dialects", AZURE_OFF, "strict.toml")
    rec = tmp_path / "r.sse"
    rec.write_bytes(stream_body(*text_stream("hi")))
    rec.with_suffix(".json").write_text(json.dumps({"profile": "dialects/strict.toml"}))
    verdict = judge(load(rec))
    assert verdict.profile == "strict" and verdict.result("chunk.schema").status == NA  # type: ignore[union-attr]


def test_the_pyproject_setting_is_read_relative_to_the_pyproject(tmp_path: Path) -> None:
    dialect(tmp_path, AZURE_OFF, "strict.toml")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.sse-conformance]\nprofile = "strict.toml"\n')
    settings = load_settings({}, env={}, pyproject=pyproject)
    assert Path(settings.profile) == (tmp_path / "strict.toml").resolve()
    assert get_profile(settings.profile).name == "strict"
    (tmp_path / "strict.toml").write_text('extends = "sansa"\nbogus = 1\n')
    pyproject.write_text('[tool.sse-conformance]\nprofile = "bogus.toml"\n')
    with pytest.raises(UsageError, match="bogus.toml: cannot be read"):
        load_settings({}, env={}, pyproject=pyproject)


def test_validate_json_shows_the_dialect_and_its_demotions(tmp_path: Path) -> None:
    rec = REAL / "xai-text.sse"
    code, out, _ = run("validate", "--profile", "xai", "--format", "json", str(rec))
    (doc,) = json.loads(out)["fixtures"]
    assert code == 0 and doc["profile"] == "xai"
    d = doc["dialect"]
    assert (d["name"], d["file"], d["extends"]) == ("xai", "conformance/dialects/xai.toml", "openai")
    assert [o["rule"] for o in d["demoted"]] == ["usage.totals"] and d["demoted"][0]["reason"].startswith("xAI's total_tokens")
    assert doc["rules"]["usage.totals"] == "warn"
    (finding,) = [f for f in doc["findings"] if f["rule"] == "usage.totals"]
    assert finding["severity"] == "warning" and finding["severity_reason"].startswith("demoted by profile xai: xAI's total_tokens")
    code, out, _ = run("validate", "--profile", "xai", str(rec))
    assert code == 0 and "[xai]" in out and "Severity: demoted by profile xai: xAI's total_tokens" in out
    assert "Known quirk of profile xai (total-includes-reasoning)" in out
    code, out, _ = run("validate", "--profile", "openrouter", str(REAL / "openrouter" / "openrouter-reasoning.sse"))
    assert code == 1 and "Known quirk of profile openrouter (role-on-every-delta)" in out


def test_the_pytest_plugin_takes_a_dialect_file_and_reports_it(pytester: pytest.Pytester) -> None:
    rec = pytester.path / "r.sse"
    rec.write_bytes(NO_DONE)
    path = dialect(pytester.path, 'extends = "sansa"\nname = "lax"\n[rules."sse.done"]\naction = "warn"\nreason = "clients stop at the last finish"\n')
    report = pytester.path / "c.json"
    result = pytester.runpytest("--sse-fixtures", str(rec), "--sse-profile", str(path), f"--sse-json={report}", "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()
    doc = json.loads(report.read_text())
    assert doc["profile"] == "lax" and doc["dialect"]["file"] == str(path)
    (ex,) = doc["exchanges"]
    assert ex["dialect"]["demoted"] == [{"rule": "sse.done", "reason": "clients stop at the last finish", "by": "lax"}]
    done = ex["rules"]["sse.done"]
    assert done["status"] == "warn" and done["reason"] == "demoted by profile lax: clients stop at the last finish"
    bad = dialect(pytester.path, 'extends = "sansa"\nwhoops = 1\n', "bad.toml")
    result = pytester.runpytest("--sse-fixtures", str(rec), "--sse-profile", str(bad), "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*profile {bad}: whoops: unknown key*"])


# -- the shipped dialects against their providers' real recordings ---------------------------


# provider -> (its recordings, what still fails under its dialect and why that is a real break)
SHIPPED = {
    "azure": (["azure-model-router.1.sse", "azure-deepseek-reasoning.1.sse"], {}),
    "xai": (["xai-text.sse", "xai-tool-call.sse", "compat-xai-text.sse", "compat-xai-tool-call.sse"], {}),
    "openrouter": (
        ["openrouter/openrouter-reasoning.sse"],
        # openai-python's stream() helper concatenates string fields: the repeated role
        # becomes "assistantassistant..." (see the rule's why); not a dialect matter
        {"openrouter/openrouter-reasoning.sse": {"chunk.role-only-first"}},
    ),
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_a_shipped_dialect_passes_its_providers_recordings_but_for_real_breaks(name: str) -> None:
    profile = get_profile(name)
    recordings, breaks = SHIPPED[name]
    overridden = {o.rule for o in profile.overrides}
    quirk_rules = {r for q in profile.quirks for r in q.rules}
    assert overridden <= quirk_rules, "every switch-off or demotion is a documented quirk"
    relieved: set[str] = set()
    for rel in recordings:
        exchange = load(REAL / rel)
        base = judge(exchange, profile.extends)
        mine = judge(exchange, profile)
        failed = {r.rule for r in mine.results if r.status == FAIL}
        assert failed == breaks.get(rel, set()), (rel, failed)
        for r in mine.results:
            if r.status in (FAIL, WARN) and (r.rule in overridden or r.rule in quirk_rules):
                assert all("Known quirk of profile" in f.message for f in r.findings), (rel, r.rule)
        base_bad = {r.rule for r in base.results if r.status in (FAIL, WARN)}
        mine_bad = {r.rule: r.status for r in mine.results if r.status in (FAIL, WARN)}
        relieved |= {rule for rule in base_bad if base.result(rule).status == FAIL and mine_bad.get(rule) != FAIL}  # type: ignore[union-attr]
    # the dialect relieves exactly the rules it overrides, and overrides none needlessly
    assert relieved == overridden


def test_azures_prompt_filter_event_is_named_where_a_dialect_judges_it(tmp_path: Path) -> None:
    """Under azure the event is skipped (an annotation); a dialect that judges it as a chunk
    gets chunk.schema on event 0, and the finding says what the event is."""
    strict = dialect(tmp_path, 'extends = "azure"\nname = "azure-strict"\n[decoding]\nannotations = false\n')
    exchange = load(REAL / "azure-model-router.1.sse")
    assert judge(exchange, "azure").ok
    result = judge(exchange, str(strict)).result("chunk.schema")
    assert result is not None and result.status == FAIL
    assert result.findings[0].event == 0
    assert "Known quirk of profile azure (prompt-filter-results): this is Azure's prompt-filter event" in result.findings[0].message


def test_the_readmes_dialect_example_is_a_valid_dialect(tmp_path: Path) -> None:
    readme = (FIXTURES.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Dialects", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    profile = get_profile(str(dialect(tmp_path, example, "my-gateway.toml")))
    assert profile.name == "my-gateway" and profile.extends == "openai" and "eos" in profile.finish_reasons
    assert profile.override_for("sse.done") is not None and [q.name for q in profile.quirks] == ["model-swap"]


def test_the_page_header_shows_the_dialect_file_and_its_overrides() -> None:
    from conformance.report.html import header

    counts = {"pass": 1, "fail": 0, "warn": 1, "n/a": 0, "skipped": 0}
    doc = {"counts": counts, "ok": True, "suite": {"version": "x"}, "generated": "now", "profile": "xai",
           "dialect": get_profile("xai").summary()}
    page = header(doc)
    assert "xai (conformance/dialects/xai.toml, extends openai)" in page
    assert "Demoted to warning: usage.totals" in page and "by profile xai: xAI&#x27;s total_tokens" in page
    assert "Profile</th><td>sansa<" in header({**doc, "profile": "sansa", "dialect": get_profile("sansa").summary()})
