"""Structured output (spec section 9): JSON content that conforms, and the structured.* violations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .corpus import CAPTURE_LAYOUT, CONFORMS, Fixture, fixture
from .request import live_request, structured_request
from .streams import Stream, frame, tool_call_head, usage


def json_answer(id: str, fragments: list[str], style: str = "compact", completion: int = 27) -> bytes:
    """Role, the JSON in content fragments, finish `stop`: a structured-output answer."""
    s = Stream(id)
    return frame([s.role(), *(s.text(f) for f in fragments), s.finish("stop", usage(40, completion))], style=style)


def fixtures() -> Iterator[Fixture]:
    yield from conformant()
    yield from partial_json()
    yield from valid_json()
    yield from schema()


def conformant() -> Iterator[Fixture]:
    frags = ['{"na', 'me": "Par', 'is", "popul', 'ation": 2102', '650, "landmarks": ["Eif', 'fel Tower", "Lou',
             'vre"]}']
    yield fixture(CONFORMS, "structured-output", json_answer("gen-conf-structured-01", frags),
                  "Structured output: a JSON object valid against the requested json_schema, streamed in "
                  "fragments split inside keys, strings and numbers.", req=structured_request())
    yield structured_tool_call_turn()


def structured_tool_call_turn() -> Fixture:
    """First written by hand: its own request (a tool and a one-field schema) and sidecar layout."""
    s = Stream("gen-structured-tool")
    head = tool_call_head(0, "call_1", "lookup_city")
    chunks = [s.role(), *s.tool_call(head, ['{"name": "Pa', 'ris"}']), s.finish("tool_calls", usage(40, 9))]
    name_only: dict[str, Any] = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    req = live_request(
        "Describe Paris as JSON.",
        tools=[{"type": "function", "function": {"name": "lookup_city", "parameters": name_only}}],
        response_format={"type": "json_schema", "json_schema": {"name": "city", "strict": True, "schema": name_only}},
    )
    return fixture(CONFORMS, "structured-tool-call-turn", frame(chunks, style="spaced"), "a structured-output request "
                   "answered first with a tool call and no content: the structured rules judge the later turn that "
                   "carries the response, not this one", fail=[], warn=[], req=req, layout=CAPTURE_LAYOUT)


def partial_json() -> Iterator[Fixture]:
    r = "structured.partial-json"
    # Any content that parses as a whole has only valid-JSON prefixes, so this rule cannot fail
    # alone: every fixture here also fails structured.valid-json.
    both = ["structured.valid-json"]
    yield fixture(r, "prose-before-json", json_answer("gen-v-pj-01", ["Here is", " the JSON:\n", '{"name": "Paris", ',
                                                                      '"population": 2102650, "landmarks": []}']),
                  "Prose precedes the JSON object, so early prefixes are no JSON prefix (and the whole does not "
                  "parse).", fail=both, warn=[r], req=structured_request())
    yield fixture(r, "code-fence", json_answer("gen-v-pj-02", ["```json\n", '{"name": "Paris", "population": 2102650, ',
                                                               '"landmarks": ["Louvre"]}', "\n```"], "spaced"),
                  "The JSON is wrapped in a Markdown code fence.", fail=both, warn=[r], req=structured_request())


def valid_json() -> Iterator[Fixture]:
    r = "structured.valid-json"
    cut = ['{"name": "Par', 'is", "population": 21', '02650, "landm']
    yield fixture(r, "truncated", json_answer("gen-v-vj-01", cut),
                  "The content stops inside the object (finish `stop`, not `length`): it never becomes valid JSON.",
                  req=structured_request())
    yield fixture(r, "empty", json_answer("gen-v-vj-02", [], "spaced", completion=1),
                  "The choice finishes with `stop` and no content at all: the empty string is not JSON.",
                  req=structured_request())


def schema() -> Iterator[Fixture]:
    r = "structured.schema"
    no_landmarks = ['{"name": "Pa', 'ris", "popul', 'ation": 2102650}']
    yield fixture(r, "missing-required", json_answer("gen-v-ss-01", no_landmarks),
                  "Valid JSON, but the required `landmarks` is missing.", req=structured_request())
    yield fixture(r, "wrong-type", json_answer("gen-v-ss-02", ['{"name": "Paris", "population": "2.1 mil',
                                                               'lion", "landmarks": []}'], "spaced"),
                  "Valid JSON, but `population` is a string where the schema wants an integer.",
                  req=structured_request())
    yield fixture(r, "extra-property", json_answer("gen-v-ss-03", ['{"name": "Paris", "population": 2102650, ',
                                                                   '"landmarks": [], "mayor": "Anne Hidalgo"}']),
                  "Valid JSON, but it adds `mayor` although the schema says `additionalProperties: false`.",
                  req=structured_request())
