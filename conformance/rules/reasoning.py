"""Section 8: reasoning streams first, in the documented shapes.

Folds (rules/fold.py): each delta is judged as its chunk passes; per choice, only where its
content began is remembered.
"""

from __future__ import annotations

from ..findings import Violation
from ..schemas import get_schema
from ..stream import Visit, has_reasoning
from . import rule
from .fold import ARGUMENTS, MAX_FINDINGS, PLAIN_KINDS, REASONING, Context, End, Findings, Fold
from .wording import expected_received

# A violation past the cap: only counted (Findings keeps MAX_FINDINGS per key).
UNKEPT = Violation("")


def _has_any_reasoning(end: End) -> str | None:
    if any(msg.reasoning or msg.reasoning_items for msg in end.message.values()):
        return None
    return "the stream carries no reasoning"


@rule(
    "reasoning.before-content",
    section="8",
    title="Within a choice, no reasoning appears after the first non-whitespace content.",
    why="The AI SDK closes its reasoning block at the first content; later reasoning opens a second block mid-answer.",
    applies=_has_any_reasoning,
)
class BeforeContent(Fold):
    """Per choice: the event where its content began; one finding per choice at most.

    Plain chunks (content alone) matter only while a choice's content has not begun (the
    first non-blank content may come in one): the fold asks for them only then.
    """

    needs_plain = False  # until a choice without content is seen
    # a reasoning plain chunk repeats its template (seen: a choice without content yet), so
    # it matters only once some choice's content began: then the fold asks for them
    # (arguments plain chunks, whatever the state: no content, no reasoning)
    plain_idle = frozenset({ARGUMENTS, REASONING})

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.content_at: dict[int, int] = {}  # choice index -> event index of its first content
        self.reported: set[int] = set()
        self.waiting: set[int] = set()  # choices seen whose content has not begun
        self.found = Findings()

    def visit(self, idx: int, v: Visit) -> None:
        if idx in self.reported:
            return
        at = self.content_at.get(idx)
        if at is not None:
            if has_reasoning(v.delta):
                self.found.add(
                    Violation(
                        expected_received(
                            f"Choice {idx} streams reasoning after its content began at event #{at}.",
                            expected="all reasoning before the first content",
                            received=f"reasoning at event #{v.item.event.index}",
                        ),
                        v.item.event,
                        path=f"$.choices[{v.pos}].delta",
                    ),
                    idx,
                )
                self.reported.add(idx)
            return
        content = v.delta.get("content")
        if isinstance(content, str) and content.strip():
            self.content_at[idx] = v.item.event.index
            self.skip_plain(REASONING, False)
            self.waiting.discard(idx)
            if not self.waiting:
                self.want_plain(False)
        elif idx not in self.waiting:
            self.waiting.add(idx)
            self.want_plain(True)

    def finish(self, end: End) -> Findings:
        return self.found


def _has_details(end: End) -> str | None:
    if any(msg.reasoning_items for msg in end.message.values()):
        return None
    return "the stream carries no reasoning_details"


@rule(
    "reasoning.schema",
    section="8",
    title="Each reasoning_details item has a string type and the payload its type needs (schemas/reasoning-detail.json).",
    why="Clients that replay reasoning (OpenRouter's SDK, the OpenAI helper) index these fields by type.",
    applies=_has_details,
)
class Schema(Fold):
    """Each reasoning_details item judged as it passes; findings by choice, then stream order."""

    needs_plain = False  # a plain delta holds content alone, no reasoning_details
    plain_kinds = PLAIN_KINDS  # as idle on a reasoning or arguments plain chunk (rules/fold.py)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.schema = get_schema("reasoning-detail.json")
        self.found = Findings()

    def visit(self, idx: int, v: Visit) -> None:
        details = v.delta.get("reasoning_details")
        if not isinstance(details, list):
            return
        for k, detail in enumerate(details):
            if not self.schema.is_valid(detail):
                self.skip_plain(REASONING, False)  # the template may be this chunk: its plain chunks would be invalid too
                if self.found.count(idx) >= MAX_FINDINGS:  # counted, not described (jsonschema's
                    self.found.add(UNKEPT, idx)  # errors are costly and cyclic)
                    continue
                detail_err = self.schema.first_error(detail) or "does not match"
                self.found.add(
                    Violation(
                        expected_received(
                            f"A reasoning_details item of choice {idx} does not match reasoning-detail.json.",
                            expected="an item that matches reasoning-detail.json",
                            received=detail_err,
                        ),
                        v.item.event,
                        path=f"$.choices[{v.pos}].delta.reasoning_details[{k}]",
                    ),
                    idx,
                )

    def finish(self, end: End) -> Findings:
        return self.found
