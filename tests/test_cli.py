"""`sse-conformance validate` and `rules`: output a person can act on, exit codes CI can."""

from __future__ import annotations

import io
import json
from pathlib import Path

from conformance.cli import main
from conformance.rules import all_rules

from .conftest import USAGE, chunk, stream_body, text_stream


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def write(tmp: Path, name: str, body: bytes, sidecar: dict | None = None) -> Path:
    path = tmp / name
    path.write_bytes(body)
    if sidecar is not None:
        path.with_suffix(".json").write_text(json.dumps(sidecar))
    return path


def test_a_bare_curl_capture_validates(tmp_path: Path) -> None:
    path = write(tmp_path, "capture.sse", stream_body(*text_stream("Hel", "lo")))
    code, out, err = run("validate", str(path))
    assert code == 0, out + err
    assert "capture.sse: ok [sansa] conforms" in out
    assert "1 recording(s): 1 conform, 0 fail" in out


def test_text_output_names_rule_event_offset_and_bytes(tmp_path: Path) -> None:
    chunks = text_stream("Hi")
    chunks[1]["choices"][0]["delta"]["role"] = "assistant"  # role repeated in event #1
    body = stream_body(*chunks)
    path = write(tmp_path, "role.sse", body)
    code, out, _ = run("validate", str(path))
    assert code == 1
    offset = body.index(b"data: ", 1)
    assert f"error   chunk.role-only-first  (event #1, byte {offset}, $.choices[0].delta.role)" in out
    assert '| ...' in out and '"role": "assistant"}, "finish_reason": null}]}' in out  # the window moves to the offending key


def test_json_output_shape(tmp_path: Path) -> None:
    good = write(tmp_path, "a.sse", stream_body(*text_stream("x")))
    bad = write(tmp_path, "b.sse", stream_body(*text_stream("x"), done=False))
    code, out, _ = run("validate", "--format", "json", str(tmp_path))
    assert code == 1
    report = json.loads(out)
    assert [f["path"] for f in report["fixtures"]] == [str(good), str(bad)]
    assert report["fixtures"][0]["ok"] is True and report["fixtures"][0]["findings"] == []
    (finding,) = [f for f in report["fixtures"][1]["findings"] if f["rule"] == "sse.done"]
    assert set(finding) >= {"rule", "severity", "message", "event", "offset"}
    assert finding["severity"] == "error" and finding["event"] == 2


def test_warnings_do_not_fail(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.sse", b"\xef\xbb\xbf" + stream_body(*text_stream("x")))
    code, out, _ = run("validate", str(path))
    assert code == 0
    assert "warning compat.no-bom" in out


def test_select_and_ignore(tmp_path: Path) -> None:
    path = write(tmp_path, "t.sse", stream_body(*text_stream("x"), done=False))
    assert run("validate", "--ignore", "sse.done,chunk", str(path))[0] == 0
    assert run("validate", "--select", "sse.done", str(path))[0] == 1
    code, out, _ = run("validate", "--select", "tools", "--format", "json", str(path))
    assert code == 0 and set(json.loads(out)["fixtures"][0]["rules"]) == {r.id for r in all_rules() if r.group == "tools"}


def test_profile_from_sidecar_and_override(tmp_path: Path) -> None:
    chunks = [chunk({"role": "assistant", "content": "hi"}), chunk({}, "stop"), {**chunk(), "choices": [], "usage": USAGE}]
    # usage on a choices: [] chunk after the finish: openai's shape; sansa wants it on the last chunk, which it is
    path = write(tmp_path, "o.sse", stream_body(*chunks), {"profile": "openai"})
    code, out, _ = run("validate", "--format", "json", str(path))
    assert json.loads(out)["fixtures"][0]["profile"] == "openai"
    code, out, _ = run("validate", "--profile", "sansa", "--format", "json", str(path))
    assert json.loads(out)["fixtures"][0]["profile"] == "sansa"


def test_unreadable_paths_exit_2_and_the_rest_is_judged(tmp_path: Path) -> None:
    good = write(tmp_path, "a.sse", stream_body(*text_stream("x")))
    broken = write(tmp_path, "b.sse", stream_body(*text_stream("x")))
    broken.with_suffix(".json").write_text("{not json")
    code, out, err = run("validate", str(tmp_path / "missing.sse"), str(good), str(broken))
    assert code == 2
    assert "missing.sse: no such file" in err and "unreadable sidecar" in err
    assert "a.sse: ok" in out


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "a.sse", stream_body(*text_stream("x")))
    code, _, err = run("validate", "--select", "no.such-rule", str(path))
    assert code == 2 and "unknown rule id" in err
    assert run("validate", "--profile", "nope", str(path))[0] == 2
    assert run("frobnicate")[0] == 2


def test_rules_listing() -> None:
    code, out, _ = run("rules")
    assert code == 0
    for r in all_rules():
        assert r.id in out
    code, out, _ = run("rules", "--format", "json")
    data = json.loads(out)
    assert {d["id"] for d in data} == {r.id for r in all_rules()}
    assert all(d["severity"] in ("error", "warning") and d["source"] and d["title"] for d in data)
    code, out, _ = run("rules", "tools.index-dense")
    assert "streaming.md section 7" in out and "conformance.rules.tools.IndexDense" in out


def test_validate_leaves_a_recording_on_disk_unless_an_output_needs_it_whole(monkeypatch) -> None:
    """Text and JSON read only the bytes around a finding, so validate judges a recording as
    it reads it (bounded memory at any size); github annotations count lines from the start
    and need the body. The text is the same either way, excerpts included."""
    import conformance.cli as cli
    from conformance.recordings import read as real_read

    asked: list[bool] = []

    def spy(path, lazy=False):
        asked.append(lazy)
        return real_read(path, lazy=lazy)

    monkeypatch.setattr(cli, "read", spy)
    folder = str(Path(__file__).resolve().parent.parent / "fixtures" / "violations")
    code, lazy_text, _ = run("validate", "-j", "1", folder)
    assert asked and all(asked)
    assert "| " in lazy_text  # excerpts of the offending bytes were read from disk
    asked.clear()
    run("validate", "-j", "1", "--format", "github", folder)
    assert asked and not any(asked)

    monkeypatch.setattr(cli, "read", lambda path, lazy=False: real_read(path, lazy=False))
    code_whole, whole_text, _ = run("validate", "-j", "1", folder)
    assert (code_whole, whole_text) == (code, lazy_text)
