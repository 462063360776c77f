"""The shortcuts validate takes for speed (benchmarks/validate_throughput.py) change no output
byte and no verdict: each is compared with the plain way on the fixtures and on decoys built
to sit just outside the shortcut."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from conformance import writers
from conformance.cli import main

from .conftest import FIXTURES


def _validate_json(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["validate", "--format", "json", "-j", "1", *args], out=out, err=err)
    return code, out.getvalue()


def _plain_dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def test_json_output_is_json_dumps_byte_for_byte_over_every_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    code, fast = _validate_json(str(FIXTURES))
    monkeypatch.setattr(writers, "dumps_indented", _plain_dumps)
    code_plain, plain = _validate_json(str(FIXTURES))
    assert (code, fast) == (code_plain, plain)
    assert json.loads(fast)["fixtures"]  # the fixtures were judged, findings and all
    assert any(entry["findings"] for entry in json.loads(fast)["fixtures"])


EVERY_CHAR = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)


@pytest.mark.parametrize(
    "value",
    [
        {"message": EVERY_CHAR, "rules": {"a.b": "pass"}, "findings": [], "empty": {}, "n": None, "ok": True, "i": -(2**63)},
        {"float": 1e16},  # orjson: 1e16; json: 1e+16
        {"nan": float("nan")},  # orjson: null; json: NaN
        {"surrogate": "\ud800"},  # orjson refuses it
        {1: "non-str key"},  # orjson refuses it
        {"big": 2**70},  # orjson refuses it
        [("a", 1.5)],
    ],
)
def test_dumps_indented_writes_what_json_writes(value: Any) -> None:
    assert writers.dumps_indented(value) == _plain_dumps(value)
