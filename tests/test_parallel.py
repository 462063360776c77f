"""`validate -j N`: the same bytes out and the same exit code as `-j 1`, whatever the pool does."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from conformance.cli import main

from .conftest import stream_body, text_stream

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_two_processes_print_what_one_prints(fmt: str) -> None:
    one = run("validate", str(FIXTURES), "-j", "1", "--format", fmt)
    two = run("validate", str(FIXTURES), "-j", "2", "--format", fmt)
    assert one[0] == 1  # the violation fixtures fail: the comparison covers findings, not only "ok"
    assert one[1].count("FAIL" if fmt == "text" else '"ok": false') > 50
    assert two == one


def test_unreadable_files_keep_their_place_and_exit_2(tmp_path: Path) -> None:
    paths = []
    for n in range(6):
        path = tmp_path / f"{n}.sse"
        path.write_bytes(stream_body(*text_stream("x", str(n))))
        paths.append(str(path))
    (tmp_path / "2.json").write_text("{not json")  # 2.sse's sidecar cannot be read
    paths.insert(4, str(tmp_path / "missing.sse"))
    one = run("validate", *paths, "-j", "1")
    two = run("validate", *paths, "-j", "3")
    assert two == one
    code, out, err = two
    assert code == 2
    assert "missing.sse: no such file" in err and "unreadable sidecar" in err
    assert [line.split(":")[0].rsplit("/", 1)[-1] for line in out.splitlines() if ".sse:" in line] == [
        "0.sse", "1.sse", "3.sse", "4.sse", "5.sse"
    ]
    assert "5 recording(s): 5 conform, 0 fail" in out


def test_json_order_follows_the_arguments(tmp_path: Path) -> None:
    paths = []
    for n in range(5):
        path = tmp_path / f"{n}.sse"
        path.write_bytes(stream_body(*text_stream("y")))
        paths.append(str(path))
    paths.reverse()
    code, out, _ = run("validate", *paths, "-j", "2", "--format", "json")
    assert code == 0
    assert [f["path"] for f in json.loads(out)["fixtures"]] == paths


def test_jobs_below_one_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "a.sse"
    path.write_bytes(stream_body(*text_stream("x")))
    code, _, err = run("validate", str(path), "-j", "0")
    assert code == 2 and "-j/--jobs" in err


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_a_mixed_corpus_gives_the_same_bytes_and_exit_code_in_any_number_of_processes(tmp_path: Path, fmt: str) -> None:
    """A usage error (an unreadable sidecar), a failing and a passing file, and a cassette:
    -j 2 and the default pool print what -j 1 prints, in the same order, and exit 2."""
    import shutil

    (tmp_path / "a-pass.sse").write_bytes(stream_body(*text_stream("x")))
    (tmp_path / "b-usage.sse").write_bytes(stream_body(*text_stream("x")))
    (tmp_path / "b-usage.json").write_text('{"status": "two hundred"}')
    (tmp_path / "c-fail.sse").write_bytes(stream_body(*text_stream("x"), done=False))
    shutil.copy(FIXTURES / "cassettes" / "vcr-session.yaml", tmp_path / "d-session.yaml")
    one = run("validate", str(tmp_path), "-j", "1", "--format", fmt)
    assert one[0] == 2 and "b-usage" in one[2]
    if fmt == "github":  # annotations only: a passing file has none
        assert one[1].index("file=" + str(tmp_path / "b-usage.sse")) < one[1].index("file=" + str(tmp_path / "c-fail.sse"))
    else:
        assert one[1].index("a-pass") < one[1].index("c-fail") < one[1].index("d-session")
    assert run("validate", str(tmp_path), "-j", "2", "--format", fmt) == one
    assert run("validate", str(tmp_path), "--format", fmt) == one  # the default: every core this process may use


def test_the_default_is_the_cores_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not os.cpu_count(): a container or taskset may leave this process fewer CPUs than the machine has."""
    import os

    from conformance.cli import _jobs

    monkeypatch.delattr(os, "process_cpu_count", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert _jobs(None, 100) == 3
    assert _jobs(None, 2) == 2  # never more processes than files
    assert _jobs(1, 100) == 1 and _jobs(5, 100) == 5
