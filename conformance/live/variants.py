"""Request variants: hypothesis generates requests, every rule must hold for each of them.

The strategies follow ``schemas/request.json``: its numeric ranges, enums and the shape of
tools and response formats are read from the schema, so the schema drives what is
generated; what the schema leaves open (prompt text, parameter schemas of tools, response
schemas) is drawn by hand-written strategies that stay meaningful (unicode with astral and
right-to-left text, multi-turn conversations, nested arrays of objects, enums).

Each variant is a real, possibly paid, request: the number of variants and a hard request
budget bound the run, there is no deadline (network latency is not a bug), and the example
database is off so that a CI run is reproducible from its seed alone. When a variant breaks
an error-level rule, hypothesis shrinks it to the smallest request that still breaks it;
that request is reported, with a ready-to-run curl command.

A variant that breaks only rules the fixed scenarios of the same run already fail is no news:
it is counted and noted ("also seen in live/text"), and the search goes on within the budget,
so that one known bug (a repeated role on every stream) cannot hide the one only variants
find (a 500 on any prompt with a double quote).

With ``concurrency`` N > 1 (Settings) the variants are generated first (hypothesis, the same
seed and settings: the same requests in the same order) and sent N at a time, each batch
judged once it is complete, up to the batch that holds the first new failure; then
hypothesis runs as before, taking each request's result from those batches instead of
sending it again, and sends whatever else it asks for (shrinking) one request at a time. It
sees the same results in the same order as one at a time, so it reports the same smallest
request, as long as the endpoint answers the same request the same way and the request
budget does not stop the shrinking: the rest of the batch that held the failure (at most
N - 1 requests the search may not ask for) counts against the budget, which stays a hard cap.
"""

from __future__ import annotations

import json
import shlex
import string
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, assume, given, seed, settings, strategies as st
from hypothesis.errors import FlakyFailure, Unsatisfiable

from ..exchange import Exchange
from ..findings import FAIL, Verdict
from ..formatting import shareable_url
from ..judge import judge
from ..schemas import get_schema
from .config import Settings
from .runner import ahead_of, capture_request

__all__ = ["VariantsOutcome", "curl_command", "default_budget", "explore", "first_batch", "generate", "requests", "seen_in", "summary"]

# ---------------------------------------------------------------------------------------
# strategies

SAMPLES = ["Hello!", "مرحبا بالعالم", "שלום עולם", "こんにちは", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀🚀", "naïve café", "Zürich – €", "\u200fRTL mark"]
# what JSON must escape (quote, backslash, control characters) breaks gateways that build JSON
# by string formatting; the random text below excludes control characters, so they come from here
ESCAPES = ['She said "hi"', "C:\\path\\file", "two\nlines", "tab\there", '{"json": "inside"}', "</script><!--"]
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)


def _text(max_size: int = 120) -> st.SearchStrategy[str]:
    """Prompt text: any printable unicode (astral included, no lone surrogates), samples of
    RTL and emoji text, empty, and long."""
    chars = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
    return st.one_of(
        st.text(chars, max_size=max_size),
        st.sampled_from(SAMPLES),
        st.sampled_from(ESCAPES),
        st.just(""),
        st.integers(200, 2000).map(lambda n: ("lorem ipsum " * n)[:n]),
    )


def _range(prop: dict[str, Any]) -> st.SearchStrategy[float]:
    """A number strategy within a request.json property's documented range."""
    typed = prop.get("type")
    kinds = typed if isinstance(typed, list) else [typed]
    lo, hi = prop.get("minimum"), prop.get("maximum")
    if "integer" in kinds:
        return st.integers(lo if lo is not None else 0, hi if hi is not None else 2**31 - 1)
    return st.floats(lo if lo is not None else -1e6, hi if hi is not None else 1e6, allow_nan=False).map(lambda x: round(x, 3))


def json_schemas(max_leaves: int = 6) -> st.SearchStrategy[dict[str, Any]]:
    """Object schemas for tool parameters and response formats: scalars, enums, arrays of
    objects, nesting; every property required and no extra ones (what strict modes need)."""
    leaf = st.one_of(
        st.just({"type": "string"}),
        st.just({"type": "boolean"}),
        st.integers(0, 50).map(lambda lo: {"type": "integer", "minimum": lo, "maximum": lo + 100}),
        st.just({"type": "number"}),
        st.lists(st.text(string.ascii_lowercase, min_size=1, max_size=8), min_size=1, max_size=4, unique=True).map(
            lambda values: {"type": "string", "enum": values}
        ),
    )

    def objects(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
        return st.dictionaries(NAMES, children, min_size=1, max_size=4).map(
            lambda props: {"type": "object", "properties": props, "required": sorted(props), "additionalProperties": False}
        )

    nested = st.recursive(leaf, lambda kids: objects(kids) | kids.map(lambda s: {"type": "array", "items": s}), max_leaves=max_leaves)
    return objects(nested)


def _messages() -> st.SearchStrategy[list[dict[str, Any]]]:
    turn = st.tuples(_text(), _text(60)).map(lambda qa: [{"role": "user", "content": qa[0]}, {"role": "assistant", "content": qa[1]}])
    system: st.SearchStrategy[list[dict[str, Any]]] = st.one_of(st.just([]), _text(80).map(lambda t: [{"role": "system", "content": t}]))
    return st.builds(
        lambda sys_msgs, turns, last: sys_msgs + [m for t in turns for m in t] + [{"role": "user", "content": last}],
        system,
        st.lists(turn, max_size=2),
        _text(),
    )


def _tools() -> st.SearchStrategy[dict[str, Any]]:
    tool: st.SearchStrategy[dict[str, Any]] = st.builds(
        lambda name, params, desc: {"type": "function", "function": {"name": name, "description": desc, "parameters": params}},
        NAMES,
        json_schemas(),
        _text(40),
    )
    tools = st.lists(tool, min_size=1, max_size=3, unique_by=lambda t: t["function"]["name"])
    return tools.flatmap(
        lambda ts: st.fixed_dictionaries(
            {"tools": st.just(ts)},
            optional={
                "tool_choice": st.sampled_from(["auto", "required"])
                | st.sampled_from([t["function"]["name"] for t in ts]).map(lambda n: {"type": "function", "function": {"name": n}}),
                "parallel_tool_calls": st.booleans(),
            },
        )
    )


def _response_format() -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda name, schema: {"response_format": {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}},
        NAMES,
        json_schemas(),
    )


def requests(cfg: Settings) -> st.SearchStrategy[dict[str, Any]]:
    """Streaming chat requests valid against schemas/request.json."""
    props = get_schema("request.json").schema["properties"]
    optional: dict[str, st.SearchStrategy[Any]] = {
        "temperature": _range(props["temperature"]),
        "top_p": _range(props["top_p"]),
        "presence_penalty": _range(props["presence_penalty"]),
        "frequency_penalty": _range(props["frequency_penalty"]),
        "max_tokens": st.integers(1, 64),
        "seed": st.integers(0, 2**31 - 1),
        "stop": st.one_of(st.text(string.ascii_letters + " .", min_size=1, max_size=5), st.lists(st.text(string.ascii_letters, min_size=1, max_size=4), min_size=1, max_size=4)),
        "stream_options": st.just({"include_usage": True}),
        "user": st.from_regex(r"user-[0-9]{1,6}", fullmatch=True),
    }
    base = st.fixed_dictionaries({"model": st.just(cfg.model), "stream": st.just(True), "messages": _messages()}, optional=optional)
    extra = st.one_of(st.just({}), _tools(), _response_format(), st.just(dict(cfg.reasoning)))
    return st.builds(_combine, base, extra)


def _combine(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Tools and structured output carry a JSON document: a stop sequence or a tiny
    max_tokens would cut it legitimately (finish stop or length) and the JSON rules would
    blame a conformant endpoint, so those two parameters stay out of such variants."""
    out = {**base, **extra}
    if "tools" in extra or "response_format" in extra:
        out.pop("stop", None)
        out.pop("max_tokens", None)
    return out


# ---------------------------------------------------------------------------------------
# exploring

# The search's hypothesis settings, shared by the generation ahead of the batches (which must
# produce the very requests the search then asks for) and the search itself.
_SEARCH: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "suppress_health_check": list(HealthCheck),
    "derandomize": False,
    "print_blob": False,
}
def default_budget(variants: int) -> int:
    """The request budget when none is given: the variants, then some shrinking."""
    return 4 * variants + 4


def _settle() -> None:
    """Load the rules before anything is generated. Hypothesis mixes constants it finds in
    the project's loaded modules into what it draws (hypothesis.internal.conjecture.providers,
    "local constants"), so a module imported between two generations with the same seed
    changes the requests; the judge imports the rule modules on first use. Loaded first, the
    same seed gives the same variants whether or not anything was judged before, and the
    search asks for the very requests its batches sent."""
    from ..rules import all_rules

    all_rules()


def generate(cfg: Settings, variants: int, seed_value: int) -> list[dict[str, Any]]:
    """The requests the search generates for this seed, in its order, while none fails."""
    _settle()
    out: list[dict[str, Any]] = []

    @settings(max_examples=variants, phases=(Phase.generate,), **_SEARCH)
    @seed(seed_value)
    @given(requests(cfg))
    def collect(request: dict[str, Any]) -> None:
        out.append(request)

    collect()
    return out


def first_batch(cfg: Settings, variants: int, seed_value: int, budget: int) -> list[dict[str, Any]]:
    """The variants a run may send ahead, beside its fixed scenarios (live/ahead.py): the
    search's first batch; none when it sends one request at a time."""
    if cfg.concurrency <= 1 or variants <= 0 or budget <= 0:
        return []
    return generate(cfg, variants, seed_value)[: min(cfg.concurrency, budget)]


def _key(request: Mapping[str, Any]) -> str:
    return json.dumps(request, sort_keys=True, ensure_ascii=False)


@dataclass
class _Sent:
    """A variant sent in a batch, judged; its exchange kept only when it breaks a rule the
    fixed scenarios do not (the search may report it), so a batch's bodies do not pile up."""

    failed: frozenset[str]
    exchange: Exchange | None
    verdict: Verdict | None


def _done(value: Exchange | None) -> Future[Exchange | None]:
    future: Future[Exchange | None] = Future()
    future.set_result(value)
    return future


def _in_batches(client: httpx.Client, cfg: Settings, variants: int, seed_value: int, budget: int, outcome: VariantsOutcome) -> dict[str, list[_Sent]]:
    """Send the generated variants ``cfg.concurrency`` at a time (the run's first batch may
    have been sent ahead), judge each batch once it is complete; request key -> results,
    oldest first. Stops after the batch that holds the first request breaking a rule the
    fixed scenarios do not: from there hypothesis's own course (how long it goes on
    generating, which it also bounds by the clock) decides, and the search sends one request
    at a time as before. So a batch sends at most N - 1 requests the search does not ask for."""
    planned = generate(cfg, variants, seed_value)
    early: dict[str, list[Exchange]] = {}
    ahead = ahead_of(client)
    if ahead is not None:
        ahead.wait_all()
        for request, future in ahead.variants(cfg.model):
            exchange = future.result() if future.exception() is None else None
            if exchange is not None:  # sent: counted, whether or not the search asks for it
                outcome.sent += 1
                early.setdefault(_key(request), []).append(exchange)
    results: dict[str, list[_Sent]] = {}
    known = set(outcome.known)
    stop, position, found = len(planned), 0, False
    with ThreadPoolExecutor(max_workers=cfg.concurrency, thread_name_prefix="sse-variants") as pool:
        while position < stop:
            batch: list[tuple[dict[str, Any], Future[Exchange | None]]] = []
            while position < stop and len(batch) < cfg.concurrency:
                request = planned[position]
                sent_ahead = early.get(_key(request))
                if sent_ahead:
                    batch.append((request, _done(sent_ahead.pop(0))))
                elif outcome.sent < budget:
                    outcome.sent += 1
                    batch.append((request, pool.submit(capture_request, client, cfg, request, tag="variant", source=f"live/variant-{position + 1}")))
                else:  # the budget is spent: the search itself says so
                    stop = position
                    break
                position += 1
            wait([future for _, future in batch])  # judged once none is in flight
            for request, future in batch:
                exchange = future.result()
                assert exchange is not None
                verdict = judge(exchange, cfg.profile)
                failed = frozenset(r.rule for r in verdict.results if r.status == FAIL)
                new = bool(failed - known)
                results.setdefault(_key(request), []).append(_Sent(failed, exchange if new else None, verdict if new else None))
                found = found or new
            if found:
                stop = position
    unasked = sum(len(v) for v in early.values())
    if unasked:
        outcome.notes.append(f"{unasked} variant(s) sent ahead were not part of this search's batches")
    return results


class _Broken(Exception):
    """A variant broke an error-level rule; hypothesis shrinks on it."""

    def __init__(self, request: dict[str, Any], exchange: Exchange, verdict: Verdict) -> None:
        self.request, self.exchange, self.verdict = request, exchange, verdict
        super().__init__(", ".join(sorted(r.rule for r in verdict.results if r.status == FAIL)))


@dataclass
class VariantsOutcome:
    sent: int = 0  # requests actually sent, shrinking included (never above the budget)
    generated: int = 0  # variants generated and judged before the first new failure (or all)
    shrinks: int = 0  # requests sent while shrinking a failure
    budget: int = 0
    seed: int = 0
    variants: int = 0
    request: dict[str, Any] | None = None  # the minimal failing request
    exchange: Exchange | None = None
    verdict: Verdict | None = None
    flaky: bool = False  # the failure did not reproduce when replayed
    notes: list[str] = field(default_factory=list)
    # variants that broke only rules the fixed scenarios already fail (not shrunk, not a failure)
    known_failures: int = 0
    # rule id -> how many variants broke it, among those known failures
    known_rules: dict[str, int] = field(default_factory=dict)
    # rule id -> fixed scenarios that failed it (what "known" was judged against)
    known: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.request is None

    @property
    def new_rules(self) -> list[str]:
        """The failed rules of the reported variant that no fixed scenario failed."""
        if self.verdict is None:
            return []
        return sorted(r.rule for r in self.verdict.results if r.status == FAIL and r.rule not in self.known)


def seen_in(rule: str, known: Mapping[str, Sequence[str]]) -> str:
    """'also seen in live/text, live/length' for a known rule."""
    return f"also seen in {', '.join(known.get(rule, ())) or 'the fixed scenarios'}"


def explore(
    client: httpx.Client,
    cfg: Settings,
    variants: int,
    seed_value: int,
    budget: int,
    known: Mapping[str, Sequence[str]] | None = None,
) -> VariantsOutcome:
    """Send up to ``variants`` generated requests (plus shrinking, never above ``budget``).

    ``known`` maps the rules the fixed scenarios of this run failed to those scenarios: a
    variant that breaks only those is counted and the search goes on; one that breaks any
    other rule is shrunk and reported."""
    outcome = VariantsOutcome(budget=budget, seed=seed_value, variants=variants, known={k: list(v) for k, v in (known or {}).items()})
    # while shrinking, only the first new failing rules are chased: a smaller request that
    # breaks something else is a different bug, and counts as passing for this one
    rule_filter: set[str] | None = None
    _settle()
    # with concurrency, the generated variants are sent in batches first; the search below
    # takes each one's result from there (once, oldest first, as it would have been sent)
    batched = _in_batches(client, cfg, variants, seed_value, budget, outcome) if cfg.concurrency > 1 and variants > 0 and budget > 0 else {}
    sent_in_batches = outcome.sent

    @settings(max_examples=variants, phases=(Phase.generate, Phase.shrink), **_SEARCH)
    @seed(seed_value)
    @given(requests(cfg))
    def check(request: dict[str, Any]) -> None:
        nonlocal rule_filter
        earlier = batched.get(_key(request))
        sent = earlier.pop(0) if earlier else None
        if sent is not None:  # sent in a batch, within the budget, already judged
            failed, exchange, verdict = set(sent.failed), sent.exchange, sent.verdict
        else:
            assume(outcome.sent < budget)  # out of budget: no more requests, shrinking stops here
            outcome.sent += 1
        if rule_filter is None:
            outcome.generated += 1
        else:
            outcome.shrinks += 1
        if sent is None:
            exchange = capture_request(client, cfg, request, tag="variant", source=f"live/variant-{outcome.sent}")
            verdict = judge(exchange, cfg.profile)
            failed = {r.rule for r in verdict.results if r.status == FAIL}
        new = failed - set(outcome.known)
        if rule_filter is None and failed and not new:  # only what the fixed scenarios show: go on
            outcome.known_failures += 1
            for rule in failed:
                outcome.known_rules[rule] = outcome.known_rules.get(rule, 0) + 1
            return
        if new and (rule_filter is None or new & rule_filter):
            assert exchange is not None and verdict is not None  # a batch keeps what may be reported
            rule_filter = rule_filter or new
            outcome.request, outcome.exchange, outcome.verdict = exchange.request, exchange, verdict
            raise _Broken(request, exchange, verdict)

    try:
        check()
    except _Broken as broken:  # the shrunk (minimal) failing variant, replayed last
        outcome.request, outcome.exchange, outcome.verdict = broken.exchange.request, broken.exchange, broken.verdict
    except FlakyFailure:
        if outcome.sent >= budget:  # the final replay was refused for want of budget
            outcome.notes.append(f"the request budget ({budget}) stopped the shrinking: the request shown may not be the smallest")
        else:
            outcome.flaky = True
            outcome.notes.append("the failure did not reproduce when hypothesis replayed it (a flaky endpoint)")
    except Unsatisfiable:
        outcome.notes.append(f"the request budget ({budget}) ran out before any variant could be judged")
    if outcome.sent >= budget and not any("budget" in n for n in outcome.notes):
        outcome.notes.append(f"the request budget of {budget} was reached ({outcome.generated} of {variants} variants generated)")
    unused = sum(len(v) for v in batched.values())
    if unused:
        outcome.notes.append(f"{unused} of the {sent_in_batches} variants sent in batches of {cfg.concurrency} were not needed by the search (they count against the budget)")
    if outcome.known_failures:
        rules = "; ".join(f"{rule} ({seen_in(rule, outcome.known)})" for rule in sorted(outcome.known_rules))
        outcome.notes.append(f"{outcome.known_failures} of {outcome.generated} variants broke only rules the fixed scenarios already fail: {rules}")
    return outcome


def summary(outcome: VariantsOutcome, cfg: Settings | None = None) -> dict[str, Any]:
    """What compliance.json records of the variants, green or red (with ``cfg``, a red one
    carries the curl that replays its smallest failing request, key left in its variable)."""
    out = {
        "variants": outcome.variants,
        "seed": outcome.seed,
        "budget": outcome.budget,
        "sent": outcome.sent,
        "generated": outcome.generated,
        "shrinks": outcome.shrinks,
        "ok": outcome.ok,
        "flaky": outcome.flaky,
        "notes": outcome.notes,
        "known_failures": outcome.known_failures,
        "known_rules": dict(sorted(outcome.known_rules.items())),
        "new_rules": outcome.new_rules,
    }
    if cfg is not None and outcome.request is not None:
        out["reproduce"] = curl_command(cfg, outcome.request)
    return out


def curl_command(cfg: Settings, request: dict[str, Any]) -> str:
    """A ready-to-run curl for a request; the key stays in its environment variable."""
    body = json.dumps(request, ensure_ascii=False)
    return (
        f"curl -N {shlex.quote(shareable_url(cfg.url, query=True))} -H 'Content-Type: application/json' "
        f'-H "Authorization: Bearer ${cfg.api_key_env}" -d {shlex.quote(body)}'
    )
