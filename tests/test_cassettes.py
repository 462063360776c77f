"""Recordings in the formats users keep: VCR.py and go-vcr cassettes, HAR files.

The cassettes and HAR files here are written by scripts/make_cassettes.py's builders around
bodies that already are fixtures (fixtures/conformant/, fixtures/violations/, fixtures/real/:
each case names its source), plus one cassette recorded by VCR.py itself (httpx against the
embedded reference endpoint). The check that matters: an exchange read out of a cassette gets,
rule by rule and finding by finding, the verdict its body gets as a plain .sse recording with
the same request, status and headers in a sidecar.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance import interactions
from conformance.cli import main
from conformance.github import escape_data, escape_property, github_command
from conformance.recordings import iter_exchanges, read

from .conftest import FIXTURES, ROOT

_spec = importlib.util.spec_from_file_location("make_cassettes", ROOT / "scripts" / "make_cassettes.py")
assert _spec is not None and _spec.loader is not None
mc = importlib.util.module_from_spec(_spec)
sys.modules["make_cassettes"] = mc  # dataclasses look their module up while the class is built
_spec.loader.exec_module(mc)

# (source fixture, profile to judge by): conformant, violating and real provider streams
SOURCES = [
    ("conformant/text.sse", None),
    ("conformant/tool-call.sse", None),
    ("conformant/framing-crlf.sse", None),
    ("conformant/prestream-error-402.sse", None),
    ("violations/chunk.role-only-first/role-every-chunk.sse", None),
    ("violations/tools.arguments-json/truncated.sse", None),
    ("violations/sse.done/no-blank-line.sse", None),
    ("real/openai-text.sse", "openai"),
    ("real/mistral-tool-call.sse", None),
]

# format name -> (file suffix, writer of [calls] -> text)
FORMATS: dict[str, tuple[str, Any]] = {
    "vcr-quoted": (".yaml", lambda calls: mc.vcr_yaml(calls)),
    "vcr-literal": (".yaml", lambda calls: mc.vcr_yaml(calls, literal=True)),
    "vcr-binary": (".yaml", lambda calls: mc.vcr_yaml(calls, binary=True)),
    "vcr-gzip": (".yaml", lambda calls: mc.vcr_yaml([_gz(c) for c in calls])),
    "govcr-v2": (".yml", lambda calls: mc.govcr_yaml(calls)),
    "govcr-v3": (".yaml", lambda calls: mc.govcr_yaml(calls, v3=True)),
    "har": (".har", lambda calls: mc.har_json(calls)),
    "har-base64": (".har", lambda calls: mc.har_json(calls, base64_bodies=True)),
}


def _gz(call: Any) -> Any:
    call.gzip = call.method == "POST"
    return call


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def _source(name: str) -> Path:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"fixture {name} is not in this checkout")
    return path


def _sidecar_from(exchange: Any) -> dict[str, Any]:
    return {k: v for k, v in (("request", exchange.request), ("status", exchange.status), ("headers", exchange.headers)) if v is not None}


def _verdicts(out: str) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in json.loads(out)["fixtures"]}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("source,profile", SOURCES, ids=[s for s, _ in SOURCES])
def test_an_exchange_in_a_recording_gets_the_verdict_of_its_body(tmp_path: Path, fmt: str, source: str, profile: str | None) -> None:
    src = _source(source)
    suffix, writer = FORMATS[fmt]
    rec = tmp_path / f"rec{suffix}"
    rec.write_text(writer([mc.models_call(), mc.non_streamed_call(), mc.from_fixture(src)]), encoding="utf-8")

    contents = read(rec)
    (recorded,) = contents.exchanges
    assert recorded.id == f"{rec}#2"
    assert recorded.exchange.body == src.read_bytes()  # decoded (gzip, base64, YAML quoting) byte for byte
    assert [(s.id, s.kind) for s in contents.skipped] == [(f"{rec}#0", "other"), (f"{rec}#1", "not-streamed")]

    # the same body as a plain recording, with what the cassette carries in a sidecar
    body = tmp_path / "extracted.sse"
    body.write_bytes(recorded.exchange.body)
    body.with_suffix(".json").write_text(json.dumps(_sidecar_from(recorded.exchange)))
    assert recorded.exchange.request == json.loads(src.with_suffix(".json").read_text()).get("request")

    extra = ["--profile", profile] if profile else []
    code_rec, out_rec, _ = run("validate", "--format", "json", *extra, str(rec))
    code_body, out_body, _ = run("validate", "--format", "json", *extra, str(body))
    got, want = _verdicts(out_rec)[f"{rec}#2"], _verdicts(out_body)[str(body)]
    assert got["rules"] == want["rules"]  # rule by rule
    assert got["findings"] == want["findings"]  # and finding by finding (event, byte offset, message)
    assert code_rec == code_body
    skipped = json.loads(out_rec)["skipped"]
    assert [s["kind"] for s in skipped] == ["other", "not-streamed"]
    if source.startswith("violations/"):  # not vacuous: the broken rule is reported through the cassette
        rule = source.split("/")[1]
        assert got["rules"][rule] in ("fail", "warn")


def test_a_cassette_recorded_by_vcrpy_against_the_reference_endpoint(tmp_path: Path) -> None:
    """VCR.py itself writes the cassette (httpx through its stubs), not our builder."""
    vcr = pytest.importorskip("vcr")
    import httpx

    from conformance.reference import create_app, serve_in_thread

    cassette = tmp_path / "session.yaml"
    key = {"authorization": "Bearer sk-reference"}
    ask = {"model": "sansa-auto", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    with serve_in_thread(create_app(profile="sansa", fault=None)) as url:
        with vcr.use_cassette(str(cassette), record_mode="all"), httpx.Client(timeout=10) as client:
            assert client.get(f"{url}/models", headers=key).status_code == 200
            assert client.post(f"{url}/chat/completions", json={**ask, "stream": False}, headers=key).status_code == 200
            with client.stream("POST", f"{url}/chat/completions", json=ask, headers=key) as r:
                good = r.read()
            with client.stream("POST", f"{url}/chat/completions", json=ask, headers={**key, "x-conformance-fault": "role-repeated"}) as r:
                bad = r.read()
            assert client.post(f"{url}/chat/completions", json=ask, headers={"authorization": "Bearer wrong"}).status_code == 401
    contents = read(cassette)
    assert [r.id.rsplit("#", 1)[1] for r in contents.exchanges] == ["2", "3", "4"]
    assert [s.kind for s in contents.skipped] == ["other", "not-streamed"]
    assert contents.exchanges[0].exchange.body == good and contents.exchanges[1].exchange.body == bad
    assert contents.exchanges[2].exchange.status == 401 and contents.exchanges[0].exchange.request == ask
    code, out, _ = run("validate", "--format", "json", str(cassette))
    verdicts = _verdicts(out)
    assert code == 1
    assert verdicts[f"{cassette}#2"]["ok"] is True
    assert verdicts[f"{cassette}#3"]["rules"]["chunk.role-only-first"] == "fail"
    assert verdicts[f"{cassette}#4"]["rules"]["error.pre-stream-shape"] == "pass"  # a 401 to a stream: true request is judged
    assert verdicts[f"{cassette}#4"]["rules"]["chunk.schema"] == "n/a"


def test_text_output_names_each_exchange_and_counts_the_skipped(tmp_path: Path) -> None:
    code, out, err = run("validate", str(FIXTURES / "cassettes"))
    assert code == 1, err
    session = FIXTURES / "cassettes" / "vcr-session.yaml"
    assert f"{session}#2: ok [sansa] conforms" in out
    assert f"{session}#3: FAIL [sansa] 1 error rule(s)" in out
    assert f"{session}#0: skipped: GET /v1/models is not a chat completion" in out
    assert f"{session}#1: skipped: not streamed (request without stream: true" in out
    assert out.rstrip().endswith(
        "5 recording(s): 3 conform, 2 fail; 2 other interaction(s) skipped (not chat completions); "
        "1 non-streamed answer(s) skipped (no stream: true, JSON body)")


def test_example_cassettes_are_current() -> None:
    assert mc.main(["--check"]) == 0, "run python scripts/make_cassettes.py"
    ids = [i for i, _ in iter_exchanges([FIXTURES / "cassettes"])]
    assert [Path(i).name for i in ids] == ["devtools.har#1", "govcr-tool-call.yaml#0", "vcr-gzip.yaml#0", "vcr-session.yaml#2", "vcr-session.yaml#3"]


def test_an_unreadable_file_is_a_usage_error_and_the_others_are_still_judged(tmp_path: Path) -> None:
    (tmp_path / "a-broken.yaml").write_text("interactions: [\n  - {request: ", encoding="utf-8")
    (tmp_path / "b-broken.har").write_text('{"log": {"entries": [', encoding="utf-8")
    (tmp_path / "c-not-har.har").write_text('{"entries": []}', encoding="utf-8")
    (tmp_path / "d-good.yaml").write_text(mc.vcr_yaml([mc.from_fixture(FIXTURES / "conformant" / "text.sse")]), encoding="utf-8")
    code, out, err = run("validate", str(tmp_path))
    assert code == 2
    assert f"{tmp_path / 'a-broken.yaml'}: not a readable YAML file" in err
    assert f"{tmp_path / 'b-broken.har'}: not a readable HAR file" in err
    assert f"{tmp_path / 'c-not-har.har'}: not a HAR file (no log.entries list)" in err
    assert f"{tmp_path / 'd-good.yaml'}#0: ok [sansa] conforms" in out


def test_a_yaml_file_that_is_no_cassette_is_skipped_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "ci.yml").write_text("jobs:\n  test:\n    runs-on: ubuntu-latest\n", encoding="utf-8")
    code, out, _ = run("validate", str(tmp_path))
    assert code == 0
    assert "0 recording(s): 0 conform, 0 fail; 1 other interaction(s) skipped (not chat completions)" in out
    assert "ci.yml: skipped: a YAML file without an interactions list is not a cassette" in out


def test_unsupported_content_encoding_and_missing_har_bodies(tmp_path: Path) -> None:
    call = mc.from_fixture(FIXTURES / "conformant" / "text.sse")
    call.headers = {**call.headers, "content-encoding": "br"}
    (tmp_path / "br.yaml").write_text(mc.vcr_yaml([call]), encoding="utf-8")
    code, _, err = run("validate", str(tmp_path / "br.yaml"))
    assert code == 2 and "#0: the body does not decode per its content-encoding: Content-Encoding br is not one the suite decodes" in err

    har = json.loads(mc.har_json([mc.from_fixture(FIXTURES / "conformant" / "text.sse")]))
    del har["log"]["entries"][0]["response"]["content"]["text"]  # what a browser keeps of an EventSource
    (tmp_path / "es.har").write_text(json.dumps(har), encoding="utf-8")
    contents = read(tmp_path / "es.har")
    assert contents.exchanges == [] and [(s.kind, s.reason) for s in contents.skipped] == [("no-body", "the recording kept no response body")]


def test_a_har_body_that_is_still_gzip_is_decoded(tmp_path: Path) -> None:
    src = FIXTURES / "conformant" / "text.sse"
    har = json.loads(mc.har_json([mc.from_fixture(src)], base64_bodies=True))
    response = har["log"]["entries"][0]["response"]
    response["content"]["text"] = __import__("base64").b64encode(gzip.compress(src.read_bytes())).decode()
    response["headers"].append({"name": "Content-Encoding", "value": "gzip"})
    (tmp_path / "proxy.har").write_text(json.dumps(har), encoding="utf-8")
    assert read(tmp_path / "proxy.har").exchanges[0].exchange.body == src.read_bytes()


def test_a_gzip_bomb_is_cut_at_the_limit_with_a_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interactions, "MAX_BODY", 1000)
    call = mc.from_fixture(FIXTURES / "conformant" / "text.sse", body=b"data: " + b"x" * 50_000 + b"\n\n", gzip=True)
    (tmp_path / "bomb.yaml").write_text(mc.vcr_yaml([call]), encoding="utf-8")
    (recorded,) = read(tmp_path / "bomb.yaml").exchanges
    assert len(recorded.exchange.body) == 1000 and "1,000-byte limit" in (recorded.exchange.problem or "")
    code, out, _ = run("validate", "--format", "json", str(tmp_path / "bomb.yaml"))
    assert code == 1 and _verdicts(out)[recorded.id]["rules"]["capture.complete"] == "fail"


def test_chat_completion_detection() -> None:
    assert interactions.is_chat_completion("POST", "https://x.example/v1/chat/completions?api-version=2024-10-21")
    assert interactions.is_chat_completion("post", "https://x.example/openai/deployments/gpt/chat/completions/")
    assert interactions.is_chat_completion(None, "http://127.0.0.1:8000/chat/completions")
    assert not interactions.is_chat_completion("GET", "https://x.example/v1/chat/completions")
    assert not interactions.is_chat_completion("POST", "https://api.anthropic.com/v1/messages")  # has `messages`, another protocol
    assert not interactions.is_chat_completion("POST", "https://x.example/v1/completions")


# --- --format github ------------------------------------------------------------------------


def test_github_escaping() -> None:
    assert escape_data("100% done\r\nnext") == "100%25 done%0D%0Anext"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"
    assert github_command("warning", "x,y:z.sse", 3, 7, "compat.no-bom", "m: 1,2") == "::warning file=x%2Cy%3Az.sse,line=3,col=7,title=compat.no-bom::m: 1,2\n"


def _annotations(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("::")]


def test_github_annotations_point_at_the_event_line_of_a_sse_file(tmp_path: Path) -> None:
    src = FIXTURES / "violations" / "chunk.role-only-first" / "role-on-finish.sse"
    body = src.read_bytes().replace(b"\n", b"\r\n")  # CRLF counts as one line break
    path = tmp_path / "odd, name: 100%.sse"
    path.write_bytes(body)
    code, out, _ = run("validate", "--format", "github", str(path))
    assert code == 1
    (line,) = _annotations(out)
    offset = body.index(b'"role": "assistant"}, "finish_reason": "stop"')
    event_start = body.rfind(b"data: ", 0, offset)
    want_line = body[:event_start].count(b"\r\n") + 1
    assert line.startswith(f"::error file={escape_property(str(path))},line={want_line},col=1,title=chunk.role-only-first::")
    assert "%0A(" in line and "event #6" in line and "\n" not in line


def test_github_annotations_in_a_literal_block_cassette_name_the_event_line(tmp_path: Path) -> None:
    src = FIXTURES / "violations" / "chunk.role-only-first" / "role-on-finish.sse"
    path = tmp_path / "lit.yaml"
    path.write_text(mc.vcr_yaml([mc.models_call(), mc.from_fixture(src)], literal=True), encoding="utf-8")
    code, out, _ = run("validate", "--format", "github", str(path))
    (ann,) = _annotations(out)
    line = int(ann.split("line=")[1].split(",")[0])
    col = int(ann.split("col=")[1].split(",")[0])
    text_line = path.read_text(encoding="utf-8").splitlines()[line - 1]
    assert text_line.strip().startswith("data: ") and '"role": "assistant"}, "finish_reason": "stop"' in text_line
    assert text_line[col - 1 :].startswith("data: ")  # the column of the event's first byte


def test_github_annotations_in_quoted_cassettes_and_har_name_the_body_line(tmp_path: Path) -> None:
    src = FIXTURES / "violations" / "chunk.role-only-first" / "role-on-finish.sse"
    for name, text, marker in (("q.yaml", mc.vcr_yaml([mc.models_call(), mc.from_fixture(src)]), "string: 'data: "),
                               ("g.yaml", mc.vcr_yaml([mc.from_fixture(src, gzip=True)]), "string: !!binary"),
                               ("d.har", mc.har_json([mc.models_call(), mc.from_fixture(src)]), '"text": "data: ')):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        code, out, _ = run("validate", "--format", "github", str(path))
        (ann,) = _annotations(out)
        line = int(ann.split("line=")[1].split(",")[0])
        assert "col=" not in ann
        assert marker in text.splitlines()[line - 1], (name, line)


def test_github_format_reports_an_unreadable_file_as_an_annotation(tmp_path: Path) -> None:
    path = tmp_path / "x.har"
    path.write_text("{", encoding="utf-8")
    code, out, _ = run("validate", "--format", "github", str(path))
    assert code == 2 and _annotations(out)[0].startswith(f"::error file={path},line=1,title=unreadable recording::")


# --- the pytest plugin --------------------------------------------------------------------


def test_plugin_yields_one_collector_per_exchange(pytester: pytest.Pytester) -> None:
    folder = pytester.path / "recs"
    folder.mkdir()
    (folder / "session.yaml").write_text((FIXTURES / "cassettes" / "vcr-session.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "text.sse").write_bytes((FIXTURES / "conformant" / "text.sse").read_bytes())
    result = pytester.runpytest("--sse-fixtures", str(folder), "-p", "no:cacheprovider", "--sse-json=c.json", "-rf")
    result.assert_outcomes(failed=1, passed=result.parseoutcomes()["passed"], skipped=result.parseoutcomes()["skipped"])
    result.stdout.fnmatch_lines(["*sse-conformance: 1 other interaction(s) skipped (not chat completions); 1 non-streamed answer(s) skipped*",
                                 "FAILED recs/session.yaml#3::chunk.role-only-first*"])
    doc = json.loads((pytester.path / "c.json").read_text())
    assert [e["id"] for e in doc["exchanges"]] == ["recs/session.yaml#2", "recs/session.yaml#3", "recs/text.sse"]
    assert doc["exchanges"][1]["ok"] is False and "interaction 3" in doc["exchanges"][1]["source"]


def test_plugin_reports_an_unreadable_cassette_on_its_items(pytester: pytest.Pytester) -> None:
    (pytester.path / "broken.yaml").write_text("interactions: [", encoding="utf-8")
    result = pytester.runpytest("--sse-fixtures", str(pytester.path / "broken.yaml"), "-p", "no:cacheprovider", "-k", "sse.done")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*not a readable YAML file*"])


def test_pydantic_ai_cassettes_with_parsed_bodies(tmp_path: Path) -> None:
    """pydantic-ai's cassette serializer keeps JSON bodies parsed (`parsed_body`) and streams as
    literal blocks; its real cassettes look like this one (shape only, bodies ours)."""
    src = FIXTURES / "conformant" / "text.sse"
    body = src.read_text(encoding="utf-8")
    block = "".join(f"        {line}\n" if line else "\n" for line in body.split("\n")[:-1])
    text = (
        "interactions:\n"
        "- request:\n    headers:\n      content-type:\n      - application/json\n    method: POST\n"
        "    parsed_body:\n      messages:\n      - content: Hi\n        role: user\n      model: sansa-auto\n"
        "    uri: https://api.example.com/v1/chat/completions\n"
        "  response:\n    headers:\n      content-type:\n      - application/json\n"
        "    parsed_body:\n      choices: []\n      object: chat.completion\n    status:\n      code: 200\n      message: OK\n"
        "- request:\n    headers:\n      content-type:\n      - application/json\n    method: POST\n"
        "    parsed_body:\n      messages:\n      - content: Hi\n        role: user\n      model: sansa-auto\n      stream: true\n"
        "    uri: https://api.example.com/v1/chat/completions\n"
        "  response:\n    body:\n      string: |+\n" + block +
        "    headers:\n      content-type:\n      - text/event-stream; charset=utf-8\n    status:\n      code: 200\n      message: OK\n"
        "version: 1\n"
    )
    path = tmp_path / "test_stream.yaml"
    path.write_text(text, encoding="utf-8")
    contents = read(path)
    (recorded,) = contents.exchanges
    assert recorded.exchange.body == src.read_bytes()
    assert recorded.exchange.request == {"messages": [{"content": "Hi", "role": "user"}], "model": "sansa-auto", "stream": True}
    assert [s.kind for s in contents.skipped] == ["not-streamed"]
    assert recorded.body_lines and text.splitlines()[recorded.line - 1].strip().startswith("data: ")


def test_a_json_answer_without_request_or_headers_is_not_judged_as_a_stream(tmp_path: Path) -> None:
    call = mc.non_streamed_call()
    call.request, call.headers = None, {}
    (tmp_path / "bare.yaml").write_text(mc.govcr_yaml([call]), encoding="utf-8")
    contents = read(tmp_path / "bare.yaml")
    assert contents.exchanges == [] and contents.skipped[0].kind == "not-streamed"


def test_a_har_saved_as_json_is_read_as_har_and_a_sidecar_is_not(tmp_path: Path) -> None:
    src = FIXTURES / "conformant" / "text.sse"
    (tmp_path / "export.json").write_text(mc.har_json([mc.from_fixture(src)]), encoding="utf-8")
    (tmp_path / "body.sse").write_bytes(src.read_bytes())
    (tmp_path / "body.json").write_text(json.dumps({"status": 200}), encoding="utf-8")
    got = dict(iter_exchanges([tmp_path / "export.json", tmp_path / "body.sse", tmp_path / "body.json"]))
    assert sorted(got) == [str(tmp_path / "body.sse"), f"{tmp_path / 'export.json'}#0"]
    assert all(ex.body == src.read_bytes() for ex in got.values())


def test_github_warnings_are_warning_commands(tmp_path: Path) -> None:
    from .conftest import stream_body, text_stream

    path = tmp_path / "bom.sse"
    path.write_bytes(b"\xef\xbb\xbf" + stream_body(*text_stream("x")))
    code, out, _ = run("validate", "--format", "github", str(path))
    (ann,) = _annotations(out)
    assert code == 0 and ann.startswith(f"::warning file={path},line=1,col=") and ",title=compat.no-bom::" in ann


def test_chained_content_codings_are_undone_in_order(tmp_path: Path) -> None:
    src = FIXTURES / "conformant" / "text.sse"
    call = mc.from_fixture(src, body=gzip.compress(__import__("zlib").compress(src.read_bytes()), mtime=0))
    call.headers = {**call.headers, "content-encoding": "deflate, gzip"}  # deflate applied first, then gzip
    (tmp_path / "twice.yaml").write_text(mc.vcr_yaml([call]), encoding="utf-8")
    assert read(tmp_path / "twice.yaml").exchanges[0].exchange.body == src.read_bytes()
