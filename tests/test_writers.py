"""validate's writers: every output fed from one judgement of each exchange."""

from __future__ import annotations

import io
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import conformance.judge  # noqa: F401  (loaded: count_judge finds it in sys.modules)
from conformance.cli import main

from .conftest import FIXTURES, USAGE, chunk, stream_body, text_stream


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def count_judge(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Wrap judge() wherever a conformance module bound it; returns the list of judged sources."""
    original = sys.modules["conformance.judge"].judge
    calls: list[str] = []

    def counted(exchange: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(str(exchange.source))
        return original(exchange, *args, **kwargs)

    for name, module in list(sys.modules.items()):
        if (name == "conformance" or name.startswith("conformance.")) and getattr(module, "judge", None) is original:
            monkeypatch.setattr(module, "judge", counted)
    return calls


def corpus(folder: Path) -> int:
    """Two .sse files (one failing) and a cassette of several exchanges; returns the exchange count."""
    folder.mkdir()
    (folder / "good.sse").write_bytes(stream_body(*text_stream("hi")))
    (folder / "no-done.sse").write_bytes(stream_body(chunk({"role": "assistant", "content": "hi"}), chunk({}, "stop", usage=USAGE), done=False))
    shutil.copy(FIXTURES / "cassettes" / "vcr-session.yaml", folder / "session.yaml")
    code, out, _ = run("validate", str(folder), "-j", "1", "--format", "json")
    return len(json.loads(out)["fixtures"])


def test_validate_reports_judges_each_exchange_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    exchanges = corpus(tmp_path / "recs")
    assert exchanges >= 4  # the cassette holds several: FILE#N exchanges are prejudged too
    calls = count_judge(monkeypatch)
    code, out, err = run("validate", "recs", "--reports", "out", "-j", "1")
    assert code == 1, out + err
    assert len(calls) == exchanges, calls  # before: twice as many (the report's pytest run judged again)
    doc = json.loads((tmp_path / "out" / "compliance.json").read_text())
    assert len(doc["exchanges"]) == exchanges
    assert {e["id"]: e["ok"] for e in doc["exchanges"]}["recs/no-done.sse"] is False
    assert doc["exchanges"][[e["id"] for e in doc["exchanges"]].index("recs/no-done.sse")]["rules"]["sse.done"]["findings"]


def _without_dates(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "generated"}


def test_reports_from_workers_equal_the_reports_judged_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    corpus(tmp_path / "recs")
    one = run("validate", "recs", "--reports", "one", "-j", "1")
    two = run("validate", "recs", "--reports", "two", "-j", "2")
    assert one[0] == two[0] == 1
    assert one[1].replace("one/", "two/") == two[1]
    docs = [_without_dates(json.loads((tmp_path / d / "compliance.json").read_text())) for d in ("one", "two")]
    assert docs[0] == docs[1]


def test_reports_of_a_selection_say_which_rules_were_not_judged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "no-done.sse").write_bytes(stream_body(*text_stream("x"), done=False))
    code, _, _ = run("validate", "no-done.sse", "--select", "sse.done", "--reports", "out", "-j", "1")
    assert code == 1
    rules = json.loads((tmp_path / "out" / "compliance.json").read_text())["exchanges"][0]["rules"]
    assert rules["sse.done"]["status"] == "fail"
    assert rules["chunk.role-only-first"] == {**rules["chunk.role-only-first"], "status": "skipped", "reason": "not selected (validate --select/--ignore)"}


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_each_format_writes_what_it_wrote_before_from_the_same_judgement(fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The format writers are fed once per exchange: no format judges on its own."""
    monkeypatch.chdir(tmp_path)
    exchanges = corpus(tmp_path / "recs")
    calls = count_judge(monkeypatch)
    code, out, _ = run("validate", "recs", "-j", "1", "--format", fmt)
    assert code == 1 and len(calls) == exchanges
    check: dict[str, Callable[[str], bool]] = {
        "text": lambda o: "recs/no-done.sse: FAIL" in o and "  error   sse.done  (" in o,
        "json": lambda o: json.loads(o)["fixtures"][1]["ok"] is False,
        "github": lambda o: "::error file=recs/no-done.sse" in o and "title=sse.done::" in o,
    }
    assert check[fmt](out), out


def test_no_module_imports_the_command_line() -> None:
    """cli.py is the entry point: writers and items take what they share from formatting.py."""
    package = Path(sys.modules["conformance.judge"].__file__ or "").parent
    offenders = [str(p.relative_to(package)) for p in package.rglob("*.py") if p.name != "cli.py"
                 and any(s in p.read_text(encoding="utf-8") for s in ("from .cli import", "from ..cli import", "conformance.cli import", "from . import cli"))]
    assert offenders == []
