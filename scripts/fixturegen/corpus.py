"""One generator entry: a body, its sidecar, and where both are written under fixtures/.

`fixture(rule, name, body, why, ...)` is the one call every area module makes. The rule
names the folder (`violations/<rule>/`, or `conformant/` for CONFORMS) and the default
verdict (a violation fails its own rule and nothing else); `fail`/`warn` say otherwise.

A sidecar's bytes depend on its layout: the generator's own (why first, short lists
inline) or one of the two layouts of the fixtures first written by hand (json indent=2,
only the expect lists named), kept so that turning them into entries changed no byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

CONFORMS = "conformant"  # the `rule` of a fixture that must give no error
BAD_INPUT = "bad-input"  # hostile bodies, no single rule: violations/bad-input/, fail lists given

SSE_HEADERS = {"content-type": "text/event-stream"}
SSE_HEADERS_CHARSET = {"content-type": "text/event-stream; charset=utf-8"}
JSON_HEADERS = {"content-type": "application/json"}

OTHER_KEYS = "*"  # in a Layout's order: keys the layout does not name, in the order given


@dataclass(frozen=True)
class Layout:
    """How a sidecar is spelled: key order, JSON indentation, final newline, expect lists."""

    order: tuple[str, ...]
    pretty: bool  # True: `pretty()` (what fits on a line stays inline); False: json indent=2
    final_newline: bool = True
    both_lists: bool = True  # expect always holds fail and warn; False: only the lists given


GENERATED = Layout(("why", "expect", "profile", "status", "headers", "request", OTHER_KEYS), pretty=True)
AS_GIVEN = Layout((OTHER_KEYS,), pretty=True)  # real/ sidecars: the keys in the order written
# The layouts of the fixtures that were written by hand before they became entries:
CAPTURE_LAYOUT = Layout(("request", "profile", "status", "headers", OTHER_KEYS, "why", "expect"),
                        pretty=False, both_lists=False)
OPENAI_LAYOUT = Layout(("profile", "status", "headers", "why", "expect", "request", OTHER_KEYS),
                       pretty=False, both_lists=False)


@dataclass(frozen=True)
class Fixture:
    """What one entry writes: fixtures/<rel>.sse and, unless sidecar is None, <rel>.json."""

    rel: str
    body: bytes
    sidecar: bytes | None

    def files(self) -> dict[str, bytes]:
        out = {f"{self.rel}.sse": self.body}
        if self.sidecar is not None:
            out[f"{self.rel}.json"] = self.sidecar
        return out


def fixture(
    rule: str,
    name: str,
    body: bytes,
    why: str,
    *,
    fail: list[str] | None = None,
    warn: list[str] | None = None,
    profile: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = SSE_HEADERS,
    req: dict[str, Any] | None = None,
    layout: Layout = GENERATED,
    **extra: Any,
) -> Fixture:
    """A fixture that breaks `rule` (fails it alone unless fail/warn say otherwise) or, with
    rule=CONFORMS, conforms (no failure; `warn` lists the warnings it may raise)."""
    if rule == BAD_INPUT and fail is None:
        raise ValueError(f"{name}: a bad-input fixture names the rules it fails (bad-input is no rule)")
    if rule != CONFORMS and fail is None and warn is None:
        fail = [rule]
    expect: dict[str, list[str]] = {}
    if layout.both_lists or fail is not None:
        expect["fail"] = fail or []
    if layout.both_lists or warn is not None:
        expect["warn"] = warn or []
    fields: dict[str, Any] = {"why": why, "expect": expect}
    if profile:
        fields["profile"] = profile
    fields["status"] = status
    if headers is not None:
        fields["headers"] = headers
    if req is not None:
        fields["request"] = req
    fields.update(extra)
    folder = "conformant" if rule == CONFORMS else f"violations/{rule}"
    return Fixture(f"{folder}/{name}", body, sidecar_bytes(fields, layout))


def warning(rule: str, name: str, body: bytes, why: str, **kw: Any) -> Fixture:
    """A fixture that only warns `rule` (a warning-level rule, or the warning branch of one)."""
    return fixture(rule, name, body, why, fail=[], warn=[rule], **kw)


def body_only(rule: str, name: str, body: bytes) -> Fixture:
    """A body with no sidecar at all (what a plain curl capture gives)."""
    folder = "conformant" if rule == CONFORMS else f"violations/{rule}"
    return Fixture(f"{folder}/{name}", body, None)


def sidecar_bytes(fields: dict[str, Any], layout: Layout = GENERATED) -> bytes:
    """The sidecar file: `fields` in the layout's key order and spelling."""
    named = [k for k in layout.order if k != OTHER_KEYS]
    others = [k for k in fields if k not in named]
    keys = [k for slot in layout.order for k in (others if slot == OTHER_KEYS else [slot])]
    ordered = {k: fields[k] for k in keys if k in fields}
    text = pretty(ordered) if layout.pretty else json.dumps(ordered, indent=2, ensure_ascii=False)
    return (text + ("\n" if layout.final_newline else "")).encode("utf-8")


def pretty(value: Any, indent: int = 0, width: int = 100) -> str:
    """JSON with two-space indentation, but any list or object that fits on its line inline."""
    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, (dict, list)) or indent + len(flat) <= width - 10 or not value:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {pretty(v, indent + 2, width)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + pretty(v, indent + 2, width) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
