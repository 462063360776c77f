"""The Python clients, replayed in-process through httpx.MockTransport (no socket).

The transport answers with a streaming response whose body yields the captured pieces, so
each client sees the bytes exactly as they arrived, split where the network split them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx

from .app import App, Reading, details_of, error_text, reading, reasoning_of

__all__ = ["PYTHON_REPLAYS", "python_versions", "unavailable"]

BASE_URL = "http://replay.invalid/v1"  # never resolved: the mock transport answers
MESSAGES = [{"role": "user", "content": "replay"}]


def _http(pieces: Sequence[bytes], status: int, content_type: str, hx: Any = httpx) -> Any:
    """A client of the HTTP library ``hx`` whose transport answers with the pieces."""

    class Pieces(hx.SyncByteStream):  # type: ignore[misc]  # hx is Any (httpx or httpx2): the base class is untyped
        def __iter__(self) -> Iterator[bytes]:
            yield from pieces

    def answer(request: Any) -> Any:
        return hx.Response(status, headers={"content-type": content_type}, stream=Pieces())

    return hx.Client(transport=hx.MockTransport(answer))


def _openai_http_library() -> Any:
    """The HTTP library the installed openai SDK is built on: httpx2 from openai 3, httpx before."""
    try:
        import httpx2

        return httpx2
    except ImportError:
        return httpx


def _openai(pieces: Sequence[bytes], status: int, content_type: str) -> Any:
    from openai import OpenAI

    http = _http(pieces, status, content_type, _openai_http_library())
    return OpenAI(api_key="sk-replay", base_url=BASE_URL, http_client=http, max_retries=0)


def _api_error(exc: BaseException) -> bool:
    """The SDK's designed signal for a mid-stream error event (an APIError without a status)."""
    from openai import APIError, APIStatusError

    return isinstance(exc, APIError) and not isinstance(exc, APIStatusError)


def _finish_signal(exc: BaseException) -> bool:
    """LengthFinishReasonError / ContentFilterFinishReasonError: the parse helpers raise them
    on every answer cut by length or the content filter, by design; the snapshot is intact."""
    from openai import ContentFilterFinishReasonError, LengthFinishReasonError

    return isinstance(exc, (LengthFinishReasonError, ContentFilterFinishReasonError))


def openai_python(pieces: Sequence[bytes], status: int, content_type: str) -> Reading:
    app = App()
    try:
        with _openai(pieces, status, content_type) as client:
            for chunk in client.chat.completions.create(model="replay", messages=MESSAGES, stream=True):
                app.feed(chunk.to_dict())
    except Exception as exc:  # whatever the stream does to the client is the result
        if _api_error(exc):
            app.error(error_text(exc))
        else:
            return app.reading("raised", error_text(exc))
    return app.reading()


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _snapshot_reading(snapshot: Any, status: str, error: str | None = None, api_error: str | None = None) -> Reading:
    """The accumulator's snapshot as a reading: plain data of the reading's types, whatever
    the stream put there.

    The SDK builds its snapshot with ``construct`` (no validation), so a hostile chunk leaves
    any JSON value where a message, a choice or a tool call should be: a string as a delta, a
    number in ``tool_calls``, an object as ``tool_calls``. Reading it must not raise (bad input
    is a finding): what is not an object reads as empty, a tool-call entry that is not one as
    a call with neither id, name nor arguments (the SDK does hold an entry there, and an
    application walking the list meets it), a non-integer index as the choice's place in the
    list (as ``App`` does), a text field that is not a string as absent.
    """
    if snapshot is None:
        return reading(status, [], None, error, api_error)
    data = snapshot.to_dict() if hasattr(snapshot, "to_dict") else snapshot
    data = _obj(data)
    choices = []
    for pos, ch in enumerate(_items(data.get("choices"))):
        if not isinstance(ch, dict):
            continue  # no choice the application could read
        m = _obj(ch.get("message"))
        calls = []
        for t in _items(m.get("tool_calls")):
            fn = _obj(_obj(t).get("function"))
            calls.append({"id": _text(_obj(t).get("id")), "name": _text(fn.get("name")), "arguments": _text(fn.get("arguments")) or ""})
        index = ch.get("index")
        finish = ch.get("finish_reason") or ("error" if api_error else None)
        choices.append({"index": index if type(index) is int else pos, "content": _text(m.get("content")) or "", "reasoning": reasoning_of(m),
                        "reasoning_details": details_of(m), "tool_calls": calls, "finish_reason": finish})
    return reading(status, choices, data.get("usage"), error, api_error)


def openai_python_stream(pieces: Sequence[bytes], status: int, content_type: str) -> Reading:
    client = _openai(pieces, status, content_type)
    stream = None
    try:
        with client.chat.completions.stream(model="replay", messages=MESSAGES) as stream:
            for _ in stream:
                pass  # the accumulator is the point
            return _snapshot_reading(stream.get_final_completion(), "ok")
    except Exception as exc:
        snapshot = _current(stream)
        if _finish_signal(exc):  # get_final_completion's documented signal of a cut answer
            return _snapshot_reading(getattr(exc, "completion", None) or snapshot, "ok")
        if _api_error(exc):
            return _snapshot_reading(snapshot, "ok", api_error=error_text(exc))
        return _snapshot_reading(snapshot, "raised", error_text(exc))
    finally:
        client.close()


def _current(stream: Any) -> Any:
    try:
        return stream.current_completion_snapshot if stream is not None else None
    except Exception:  # no chunk was accumulated yet
        return None


def httpx_sse(pieces: Sequence[bytes], status: int, content_type: str) -> Reading:
    from httpx_sse import connect_sse

    app = App()
    try:
        with _http(pieces, status, content_type) as http, connect_sse(http, "POST", f"{BASE_URL}/chat/completions", json={}) as source:
            for sse in source.iter_sse():
                if sse.data == "[DONE]":
                    break
                chunk = json.loads(sse.data)
                if isinstance(chunk, dict) and chunk.get("error"):
                    err = chunk["error"]
                    app.error(str(err.get("message") if isinstance(err, dict) else err))
                    break
                app.feed(chunk)
    except Exception as exc:
        return app.reading("raised", error_text(exc))
    return app.reading()


PYTHON_REPLAYS: dict[str, Callable[[Sequence[bytes], int, str], Reading]] = {
    "openai-python": openai_python,
    "openai-python-stream": openai_python_stream,
    "httpx-sse": httpx_sse,
}


def python_versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for package in ("openai", "httpx-sse", "httpx", "httpx2"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = None
    return out


def unavailable(name: str) -> str | None:
    """Why a Python client cannot be replayed here (its package is missing), else None."""
    versions = python_versions()
    package = "httpx-sse" if name == "httpx-sse" else "openai"
    if versions.get(package) is None:
        return f"{package} is not installed (pip install 'sse-conformance[clients]')"
    return None


