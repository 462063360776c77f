"""The client matrix: exchange x client, each cell what the ``client.*`` rule concluded.

Pure data shaping over rule results (no replay here), shared by the text and JSON output of
``validate``, compliance.json and the page: "same" (as the spec's reading), "differs" (what),
"raised" (what), "skipped" (why) or "not requested".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .names import CLIENTS

__all__ = ["STATES", "cell", "cells"]

STATES = ("same", "differs", "raised", "skipped", "not requested")
NOT_REQUESTED = "client replay not requested (--clients)"  # the client rules' n/a reason


def cell(status: str, reason: str | None, message: str | None) -> dict[str, Any]:
    """One cell from a client rule's status, n/a reason and first finding's message."""
    if status == "pass":
        return {"state": "same", "detail": "same as the spec's reading"}
    if status in ("warn", "fail") and message:
        head = message.splitlines()[0]
        state, _, detail = head.partition(": ")
        return {"state": state if state in ("differs", "raised") else "differs", "detail": detail or head}
    if reason == NOT_REQUESTED:
        return {"state": "not requested", "detail": reason}
    why = (reason or "").removeprefix("skipped: ")
    return {"state": "skipped", "detail": why or status}


def cells(results: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """{client: cell} from {rule id: {"status", "reason", "findings": [{"message"}...]}} (the
    compliance.json shape); clients whose rule did not run are left out."""
    out: dict[str, dict[str, Any]] = {}
    for name in CLIENTS:
        res = results.get(f"client.{name}")
        if res is None:
            continue
        findings = res.get("findings") or []
        out[name] = cell(res["status"], res.get("reason"), findings[0]["message"] if findings else None)
    return out
