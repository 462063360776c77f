"""The one pass: bytes in blocks -> SSE events -> classified payloads -> folds, and ``End``.

``Pass`` is what ``judge`` drives: it feeds the body (from memory, or a file read in blocks)
to the incremental parser, classifies each dispatched event as it comes (chunk, error event,
annotation, ``[DONE]``, bad payload: the same classification as ``stream.decode``), keeps
the facts every rule shares (counts, first and last of things, per-choice facts, the
assembled message, delivery times), and hands each event, payload, choice appearance and
undispatched block to the folds that asked for it. Nothing here grows with the stream
except what is per choice: memory is bounded by what the rules must remember.

The parser knows no verdicts and neither does this module: rules judge, at ``End``.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

import orjson

from .exchange import Exchange
from .profiles import Profile
from .rules.fold import ChoiceFacts, End, Fold
from .schemas import get_schema
from .sse import Block, Event, SSEParser
from .stream import (
    _COMPACT,
    DONE,
    KIND_ANNOTATION,
    KIND_BAD,
    KIND_CHUNK,
    KIND_ERROR,
    ChoiceAssembly,
    DecodedEvent,
    Visit,
    _load,
    choice_index,
)
from .timing import Delivery

__all__ = ["BLOCK", "Pass"]

BLOCK = 1024 * 1024  # bytes read from a file at a time
_TRIES = 8  # chunks tried as the template of plain chunks before the pass stops looking

_new = tuple.__new__
_data_of = itemgetter(3)  # Event.data


class Pass:
    """One exchange judged in one pass. ``feed`` bytes (or ``run`` the whole body), then ``close``."""

    def __init__(self, exchange: Exchange, profile: Profile, folds: Sequence[Fold], clients: Mapping[str, Any] | None = None) -> None:
        self.exchange = exchange
        self.profile = profile
        self.clients = dict(clients or {})
        self.parser = SSEParser(keep=False)
        self.broken: dict[int, BaseException] = {}  # id(fold) -> its first exception
        self._folds = list(folds)
        for fold in self._folds:
            fold._reroute = self._route
        self._route()
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self._fed = 0
        self.utf8_error: tuple[int, bytes, str] | None = None
        self.utf8_event: Event | None = None
        # facts
        self.events = 0
        self.first_event: Event | None = None
        self.last_event: Event | None = None
        self.done: Event | None = None
        self.after_done = 0
        self.first_after_done: Event | None = None
        self.payloads = 0
        self.last_payload: DecodedEvent | None = None
        self.chunks = 0
        self.first_chunk: DecodedEvent | None = None
        self.last_chunk: DecodedEvent | None = None
        self.errors = 0
        self.first_error: DecodedEvent | None = None
        self.first_bare_error: DecodedEvent | None = None  # the first error event without its own choices entries
        self.bad = 0
        self.usage_chunks = 0
        self.first_usage: DecodedEvent | None = None
        self.second_usage: DecodedEvent | None = None
        self.last_usage_chunk: DecodedEvent | None = None
        self.last_usage: dict[str, Any] | None = None
        self.last_usage_object_chunk: DecodedEvent | None = None
        self.last_finish_chunk: DecodedEvent | None = None
        self.choices: dict[int, ChoiceFacts] = {}
        self.assembly: dict[int, ChoiceAssembly] = {}
        self.error_entries: dict[int, tuple[list[DecodedEvent], int]] = {}
        self.delivery = Delivery(exchange.timing) if exchange.timing is not None and exchange.timing.arrivals else None
        self._annotations = profile.annotations
        self._entries_count = not profile.error_may_end_stream
        # plain chunks (see _template): (prefix, suffix, their length, choice index, its facts, its assembly)
        self._tpl: tuple[str, str, int, int, ChoiceFacts, ChoiceAssembly] | None = None
        self._tries = 0
        self._on_plain: list[Fold] = []
        self._plain_last: Event | None = None  # the latest plain chunk, if the template choice's last appearance
        self._plain_payload = False  # the latest payload was a plain chunk
        self._plain_chunk = False  # the latest chunk was a plain chunk
        self._built: tuple[DecodedEvent, Visit] | None = None

    # ------------------------------------------------------------------ dispatch lists

    def _route(self) -> None:
        """Who gets which hook: built once, again only when a fold breaks or changes its mind
        about plain chunks. Most folds need no hook at all (judged from End)."""
        on_event: list[Fold] = []
        on_payload: list[Fold] = []
        on_visit: list[Fold] = []
        on_block: list[Fold] = []
        on_plain: list[Fold] = []
        broken = self.broken
        for f in self._folds:
            hooks = f.hooks
            if not hooks or (broken and id(f) in broken):
                continue
            if "event" in hooks:
                on_event.append(f)
            if "payload" in hooks:
                on_payload.append(f)
                if f.needs_plain:
                    on_plain.append(f)
            if "visit" in hooks:
                on_visit.append(f)
                if f.needs_plain and "payload" not in hooks:
                    on_plain.append(f)
            if "block" in hooks:
                on_block.append(f)
        self._on_event, self._on_payload, self._on_visit, self._on_block = on_event, on_payload, on_visit, on_block
        if getattr(self, "_tpl", None) is not None:
            self._on_plain = on_plain

    def _broke(self, fold: Fold, exc: BaseException) -> None:
        if id(fold) not in self.broken:
            self.broken[id(fold)] = exc
            self._route()

    # ------------------------------------------------------------------ input

    def run(self, blocks: Iterable[bytes] | None = None) -> End:
        """Judge the whole body: ``blocks``, or the exchange's body in BLOCK-sized reads
        (from memory, or from the file behind the exchange)."""
        for block in self.exchange.blocks(BLOCK) if blocks is None else blocks:
            self.feed(block)
        return self.close()

    def feed(self, data: bytes, t: float | None = None) -> None:
        if not data:
            return
        if self.utf8_error is None:
            pending = len(self._utf8.getstate()[0])
            try:
                self._utf8.decode(data)
            except UnicodeDecodeError as exc:
                at = self._fed - pending + exc.start
                raw = exc.object[exc.start : exc.end]
                self.utf8_error = (at, bytes(raw), exc.reason)
        self._fed += len(data)
        self._events(self.parser.feed(data, t))

    def close(self) -> End:
        if self.utf8_error is None:
            pending = len(self._utf8.getstate()[0])
            try:
                self._utf8.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                at = self._fed - pending + exc.start
                self.utf8_error = (at, bytes(exc.object[exc.start : exc.end]), exc.reason)
        self._events(self.parser.close())
        return self._end()

    # ------------------------------------------------------------------ the hot loop

    def _events(self, events: list[Event]) -> None:
        parser = self.parser
        if parser.skipped:
            blocks = list(parser.skipped)
            parser.skipped.clear()
        else:
            blocks = []
        if not events:
            self._blocks(blocks)
            return
        if self.utf8_error is not None and self.utf8_event is None:
            bad = self.utf8_error[0]
            for ev in events:
                if ev.offset <= bad < ev.end:
                    self.utf8_event = ev
                    break
        if self.first_event is None:
            self.first_event = events[0]
        self.events += len(events)
        self.last_event = events[-1]
        if self.delivery is not None:
            self.delivery.events(events)
        if self.done is not None:
            self._after_done(events)
            self._blocks(blocks)
            return
        datas = list(map(_data_of, events))
        try:
            stop = datas.index(DONE)
        except ValueError:
            stop = len(datas)
        if stop < len(events):
            self._payloads(events[:stop], datas[:stop])
        else:
            self._payloads(events, datas)
        if stop < len(events):
            self.done = events[stop]
            on_event = self._on_event
            if on_event:
                self._event_hooks([events[stop]])
            self._after_done(events[stop + 1 :])
        self._blocks(blocks)

    def _event_hooks(self, events: Iterable[Event]) -> None:
        for fold in self._on_event:
            for ev in events:
                try:
                    fold.event(ev)
                except Exception as exc:
                    self._broke(fold, exc)
                    break

    def _after_done(self, events: list[Event]) -> None:
        if not events:
            return
        if self.first_after_done is None:
            self.first_after_done = events[0]
        self.after_done += len(events)
        if self._on_event:
            self._event_hooks(events)

    def _blocks(self, blocks: list[Block]) -> None:
        for fold in self._on_block:
            for b in blocks:
                try:
                    fold.block(b)
                except Exception as exc:
                    self._broke(fold, exc)
                    break

    def _payloads(self, events: list[Event], datas: list[str]) -> None:
        """Classify and dispatch the payloads before [DONE]. A *plain* chunk (the template's
        text with another content string: see rules/fold.py) takes the short path: no JSON
        decoding, no tuples, only the folds that asked for plain chunks get it."""
        if self._tpl is None:
            if self._tries >= _TRIES:  # no template will come: decode the batch at once (C-level map)
                try:
                    loaded: list[tuple[Any, str | None]] = [(o, None) for o in map(orjson.loads, datas)]
                except orjson.JSONDecodeError:
                    loaded = list(map(_load, datas))
                for ev, (obj, problem) in zip(events, loaded):
                    self._payload(ev, obj, problem)
                return
            for n, (ev, data) in enumerate(zip(events, datas)):
                try:
                    obj, problem = orjson.loads(data), None
                except orjson.JSONDecodeError:
                    obj, problem = _load(data)
                self._payload(ev, obj, problem)
                if self._tpl is not None or self._tries >= _TRIES:  # the rest of the batch: the faster way
                    self._payloads(events[n + 1 :], datas[n + 1 :])
                    return
            return
        prefix, suffix, size, idx, facts, assembly = self._tpl
        plen, slen = len(prefix), len(suffix)
        on_event = self._on_event
        plain_folds = self._on_plain
        delivery = self.delivery
        content = assembly.content
        append = content.append
        plain = 0
        errors = self.errors
        last: Event | None = None
        for ev, data in zip(events, datas):
            n = len(data)
            if n >= size and data.startswith(prefix) and data.endswith(suffix) and facts.finish is None and not errors:
                raw = data[plen : n - slen]
                if '"' not in raw and "\\" not in raw and raw.isprintable():
                    for fold in on_event:
                        try:
                            fold.event(ev)
                        except Exception as exc:
                            self._broke(fold, exc)
                            on_event = self._on_event
                    plain += 1
                    last = ev
                    append(raw)
                    if delivery is not None and not delivery.content_seen and raw:
                        delivery.content(ev)
                    if plain_folds:
                        self._plain_to_folds(ev, idx)
                        plain_folds = self._on_plain
                    continue
            if last is not None:  # the plain run so far, settled before the long path looks
                self._plain_run(plain, last, facts, assembly)
                plain, last = 0, None
            try:
                obj, problem = orjson.loads(data), None
            except orjson.JSONDecodeError:
                obj, problem = _load(data)
            self._payload(ev, obj, problem)
            on_event = self._on_event
            plain_folds = self._on_plain
            errors = self.errors
            content = assembly.content
            append = content.append
        if last is not None:
            self._plain_run(plain, last, facts, assembly)

    def _plain_run(self, plain: int, last: Event, facts: ChoiceFacts, assembly: ChoiceAssembly) -> None:
        """Count a run of plain chunks; keep the choice's content in a few strings."""
        self.payloads += plain
        self.chunks += plain
        facts.visits += plain
        self._plain_last = last
        self._plain_payload = self._plain_chunk = True
        if len(assembly.content) > _COMPACT:
            assembly.content.spill()

    def _payload(self, ev: Event, obj: Any, problem: str | None) -> None:
        """The long path: one decoded payload classified, counted, filed and dispatched."""
        for fold in self._on_event:
            try:
                fold.event(ev)
            except Exception as exc:
                self._broke(fold, exc)
        if problem is not None:
            item: DecodedEvent = _new(DecodedEvent, (ev, KIND_BAD, None, problem))
            self.bad += 1
        elif type(obj) is not dict:
            item = _new(DecodedEvent, (ev, KIND_BAD, obj, f"a JSON {type(obj).__name__.replace('NoneType', 'null')}, not an object"))
            self.bad += 1
        elif obj.get("error"):  # section 0: an error that reads as false is no error
            item = _new(DecodedEvent, (ev, KIND_ERROR, obj, None))
            self._error(item)
        elif (
            self._annotations
            and obj.get("choices") == []
            and obj.get("usage") is None
            and obj.get("object") != "chat.completion.chunk"
        ):
            item = _new(DecodedEvent, (ev, KIND_ANNOTATION, obj, None))
        else:
            item = _new(DecodedEvent, (ev, KIND_CHUNK, obj, None))
        self.payloads += 1
        self.last_payload = item
        self._plain_payload = False
        for fold in self._on_payload:
            try:
                fold.payload(item)
            except Exception as exc:
                self._broke(fold, exc)
        if item.kind is not KIND_CHUNK:
            return
        self.chunks += 1
        if self.first_chunk is None:
            self.first_chunk = item
        self.last_chunk = item
        self._plain_chunk = False
        usage = obj.get("usage")
        if usage is not None:
            self.usage_chunks += 1
            if self.first_usage is None:
                self.first_usage = item
            elif self.second_usage is None:
                self.second_usage = item
            self.last_usage_chunk = item
            if isinstance(usage, dict):
                self.last_usage = usage
                self.last_usage_object_chunk = item
        chs = obj.get("choices")
        delivery = self.delivery
        if type(chs) is not list:
            if delivery is not None and chs and isinstance(chs, (int, float)):
                delivery.content_broken()
            return
        finishes = False
        for pos, ch in enumerate(chs):
            if type(ch) is not dict:
                continue
            delta = ch.get("delta")
            visit: Visit = _new(Visit, (item, pos, ch, delta if type(delta) is dict else {}))
            idx = ch.get("index")
            if type(idx) is not int:
                idx = choice_index(ch, pos)
            facts = self.choices.get(idx)
            if facts is None:
                facts = self.choices[idx] = ChoiceFacts(idx, visit, visit)
                assembly = self.assembly[idx] = ChoiceAssembly(idx)
            else:
                if self._plain_last is not None and self._tpl is not None and self._tpl[3] == idx:
                    self._plain_last = None  # this appearance is the choice's last now
                facts.last = visit
                facts.visits += 1
                assembly = self.assembly[idx]
            fr = ch.get("finish_reason")
            if fr is not None:
                finishes = True
                if facts.finish is None:
                    facts.finish = visit
                if fr:
                    facts.finished = True
            assembly.add(visit)
            if delivery is not None and not delivery.content_seen:
                d = visit.delta
                if d.get("content") or d.get("tool_calls"):
                    delivery.content(ev)
            for fold in self._on_visit:
                try:
                    fold.visit(idx, visit)
                except Exception as exc:
                    self._broke(fold, exc)
            if self._tpl is None and self._tries < _TRIES and len(chs) == 1:
                self._template(item, ch, idx, facts)
        if finishes:
            self.last_finish_chunk = item

    def _materialize(self, ev: Event) -> tuple[DecodedEvent, Visit]:
        """A plain chunk as the long path would have built it (decoded once, on demand)."""
        if self._built is not None and self._built[0].event is ev:
            return self._built
        obj = orjson.loads(ev.data)
        item: DecodedEvent = _new(DecodedEvent, (ev, KIND_CHUNK, obj, None))
        ch = obj["choices"][0]
        visit: Visit = _new(Visit, (item, 0, ch, ch["delta"]))
        self._built = (item, visit)
        return item, visit

    def _plain_to_folds(self, ev: Event, idx: int) -> None:
        item, visit = self._materialize(ev)
        for fold in self._on_plain:
            try:
                if "payload" in fold.hooks:
                    fold.payload(item)
                if "visit" in fold.hooks:
                    fold.visit(idx, visit)
            except Exception as exc:
                self._broke(fold, exc)

    def _settle_plain(self) -> None:
        """The last chunk and the template choice's last appearance, when a plain chunk is
        either: built now, as the long path would have."""
        ev = self._plain_last
        if ev is None:
            return
        self._plain_last = None
        item, visit = self._materialize(ev)
        assert self._tpl is not None
        facts = self._tpl[4]
        facts.last = visit
        if self._plain_chunk:
            self.last_chunk = item
        if self._plain_payload:
            self.last_payload = item

    def _template(self, item: DecodedEvent, ch: dict[str, Any], idx: int, facts: ChoiceFacts) -> None:
        """Make ``item`` the template of plain chunks if it is one: one choice, a delta of
        content only (a string without quote, backslash or control character), no finish,
        no usage, valid under the profile's chunk schema; and its text cut around the
        content string so that any other such string in its place parses to the same chunk
        but for the content (checked with a probe)."""
        obj = item.obj
        delta = ch.get("delta")
        content = delta.get("content") if type(delta) is dict and len(delta) == 1 else None
        if (
            type(content) is not str
            or '"' in content
            or "\\" in content
            or not content.isprintable()
            or ch.get("finish_reason") is not None
            or obj.get("usage") is not None
            or self.errors
        ):
            return
        self._tries += 1  # the costly part: a few chunks at most
        if not get_schema(self.profile.chunk_schema).is_valid(obj):
            return
        data = item.event.data
        needle = '"' + content + '"'
        at = data.find(needle)
        while at >= 0:
            prefix, suffix = data[: at + 1], data[at + 1 + len(content) :]
            try:  # the string found may be another one (the model's name, a ": " between keys)
                probe = orjson.loads(prefix + "\u00e9probe" + suffix)
            except orjson.JSONDecodeError:
                probe = None
            want = orjson.loads(data)
            want["choices"][0]["delta"]["content"] = "\u00e9probe"
            if probe == want:
                self._tpl = (prefix, suffix, len(prefix) + len(suffix), idx, facts, self.assembly[idx])
                self._route()
                return
            at = data.find(needle, at + 1)

    def _error(self, item: DecodedEvent) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = item
        entries = item.obj.get("choices") if self._entries_count else None
        if not (isinstance(entries, list) and entries):
            if self.first_bare_error is None:
                self.first_bare_error = item
            return
        for pos, entry in enumerate(entries):
            if isinstance(entry, dict) and entry.get("finish_reason") is not None:
                idx = choice_index(entry, pos)
                kept = self.error_entries.get(idx)
                if kept is None:
                    self.error_entries[idx] = ([item], 1)
                else:
                    items, n = kept
                    if len(items) < 2:
                        items.append(item)
                    self.error_entries[idx] = (items, n + 1)

    # ------------------------------------------------------------------ the end

    def _error_finishes(self) -> dict[int, DecodedEvent]:
        """stream.Stream.error_finishes, from the kept facts."""
        out: dict[int, DecodedEvent] = {idx: items[0] for idx, (items, _) in self.error_entries.items()}
        bare = self.first_bare_error
        if bare is not None:
            finished = {i for i, f in self.choices.items() if f.finished}
            for idx in set(self.choices) | {0}:
                if idx not in finished:
                    out.setdefault(idx, bare)
        return out

    def _end(self) -> End:
        self._settle_plain()
        parser = self.parser
        ex = self.exchange
        error_finishes = self._error_finishes()
        message = {
            idx: a.done(self.choices[idx].finish, idx in error_finishes, self.last_usage) for idx, a in self.assembly.items()
        }
        self.assembly = {}
        return End(
            exchange=ex,
            profile=self.profile,
            size=self._fed,
            read=ex.read,
            bom=parser.bom,
            discarded=parser.discarded,
            oversized=list(parser.oversized),
            max_line=parser.max_line,
            events=self.events,
            first_event=self.first_event,
            last_event=self.last_event,
            done=self.done,
            after_done=self.after_done,
            first_after_done=self.first_after_done,
            payloads=self.payloads,
            last_payload=self.last_payload,
            chunks=self.chunks,
            first_chunk=self.first_chunk,
            last_chunk=self.last_chunk,
            errors=self.errors,
            first_error=self.first_error,
            bad=self.bad,
            usage_chunks=self.usage_chunks,
            first_usage=self.first_usage,
            second_usage=self.second_usage,
            last_usage_chunk=self.last_usage_chunk,
            last_usage=self.last_usage,
            last_usage_object_chunk=self.last_usage_object_chunk,
            last_finish_chunk=self.last_finish_chunk,
            choices=self.choices,
            error_entries=self.error_entries,
            error_finishes=error_finishes,
            message=message,
            utf8_error=self.utf8_error,
            utf8_event=self.utf8_event,
            clients=self.clients,
        )
