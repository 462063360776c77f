"""Recordings on disk: ``NAME.sse`` (the raw body) plus an optional ``NAME.json`` sidecar.

The body file is the bytes exactly as received, so a plain ``curl -N ... > x.sse`` is a
recording. The sidecar (every key optional) carries what the body cannot: the request, the
status and headers, the profile, the provoked scenario, arrival times. See ARCHITECTURE.md.

Recordings in the formats users already keep are read too: VCR.py / pytest-recording and
go-vcr cassettes (``*.yaml``, ``*.yml``; cassettes.py) and HAR files (``*.har``; har.py).
``read(path)`` is the one door: it gives every exchange a file holds (one for a ``.sse``,
one per streamed chat completion for a cassette or HAR, named ``FILE#N``) and what it skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .errors import RecordingError
from .exchange import BodyFile, Exchange, Timing

__all__ = ["MAX_BODY", "RECORDING_SUFFIXES", "holds_interactions", "iter_exchanges", "iter_recordings", "load", "read", "recording_id", "save", "sidecar_path"]

# A recording read into memory (``load``) larger than this is judged on its first MAX_BODY
# bytes, with a finding: the suite must stay bounded even on a runaway capture. A recording
# left on disk (``load(path, lazy=True)``, what ``validate`` judges) has no such limit: the
# judge reads it in blocks, in one pass, in bounded memory.
MAX_BODY = 256 * 1024 * 1024

SUFFIX = ".sse"
# what a directory is searched for: bodies, cassettes, HAR files
RECORDING_SUFFIXES = (SUFFIX, ".yaml", ".yml", ".har")


def sidecar_path(path: Path) -> Path:
    return path.with_suffix(".json")


def iter_recordings(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Every recording (``.sse``, ``.yaml``/``.yml`` cassette, ``.har``) found (recursively,
    sorted) under directories, and every file named (any name: a capture may be ``x.txt``),
    except a sidecar named beside its body."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix.lower() in RECORDING_SUFFIXES and p.is_file())
        elif path.is_file():
            if path.suffix == ".json" and path.with_suffix(SUFFIX).is_file():
                continue  # a sidecar named by a shell glob: its body is judged instead
            yield path
        else:
            raise RecordingError(f"{path}: no such file or directory")


def _read_sidecar(path: Path) -> dict[str, Any]:
    side = sidecar_path(path)
    if not side.exists():
        return {}
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RecordingError(f"{side}: unreadable sidecar: {exc}") from exc
    if not isinstance(meta, dict):
        raise RecordingError(f"{side}: the sidecar must be a JSON object")
    return meta


def _timing(meta: dict[str, Any], side: Path) -> Timing | None:
    raw = meta.get("timing")
    if raw is None:
        return None
    try:
        if not isinstance(raw, list) or any(not isinstance(p, list) or len(p) != 2 or isinstance(p[0], bool) or not isinstance(p[0], int)
                                             or isinstance(p[1], bool) or not isinstance(p[1], (int, float)) for p in raw):
            raise TypeError("bad pair")
        arrivals = tuple((int(o), float(t)) for o, t in raw)
        headers_at = meta.get("headers_at")
        return Timing(arrivals, float(headers_at) if headers_at is not None else None)
    except (TypeError, ValueError, OverflowError) as exc:
        raise RecordingError(f"{side}: 'timing' must be a list of [offset, seconds]") from exc


def _check_types(meta: dict[str, Any], side: Path) -> None:
    """A sidecar is user input: a wrong type is a usage error for that file, not a traceback."""
    from .profiles import get_profile

    profile = meta.get("profile")
    if profile is not None:
        if not isinstance(profile, str):
            raise RecordingError(f"{side}: 'profile' must be a profile name or a dialect's .toml path, not {json.dumps(profile)[:60]}")
        try:
            get_profile(profile, side.parent)
        except Exception as exc:  # unknown name, unreadable or invalid dialect file
            raise RecordingError(f"{side}: 'profile': {exc}") from None
    for name in ("scenario", "source"):
        if meta.get(name) is not None and not isinstance(meta[name], str):
            raise RecordingError(f"{side}: {name!r} must be a string")
    if meta.get("headers_at") is not None and (isinstance(meta["headers_at"], bool) or not isinstance(meta["headers_at"], (int, float))):
        raise RecordingError(f"{side}: 'headers_at' must be a number of seconds")
    if isinstance(meta.get("status"), bool):
        raise RecordingError(f"{side}: 'status' must be an integer")


def load(path: str | os.PathLike[str], lazy: bool = False) -> Exchange:
    """Read one recording. Raises RecordingError when it cannot be read at all.

    ``lazy``: leave the body on disk (``Exchange.file``; ``Exchange.body`` is then empty):
    the judge reads it in blocks, whatever its size, and a report reads the few bytes it
    excerpts. Client replay and redaction need the body in memory: not lazy for them.
    """
    path = Path(path)
    file: BodyFile | None = None
    try:
        if lazy:
            body = b""
            with path.open("rb") as fh:  # readable now, not at the first block
                file = BodyFile(str(path), os.fstat(fh.fileno()).st_size)
        else:
            with path.open("rb") as fh:
                body = fh.read(MAX_BODY + 1)
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    meta = _read_sidecar(path)
    problem = meta.get("problem")  # a live capture cut short (reset, timeout) says so here
    if problem is not None and not isinstance(problem, str):
        raise RecordingError(f"{sidecar_path(path)}: 'problem' must be a string")
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY]
        problem = f"the recording is larger than the {MAX_BODY:,}-byte limit; only its start was judged"
    side = sidecar_path(path)
    headers = meta.get("headers")
    if headers is not None:
        if not isinstance(headers, dict):
            raise RecordingError(f"{side}: 'headers' must be an object")
        if not all(isinstance(v, str) for v in headers.values()):
            raise RecordingError(f"{side}: 'headers' values must be strings")
        headers = {str(k).lower(): v for k, v in headers.items()}
    status = meta.get("status")
    if status is not None and not isinstance(status, int):
        raise RecordingError(f"{side}: 'status' must be an integer")
    request = meta.get("request")
    if request is not None and not isinstance(request, dict):
        raise RecordingError(f"{side}: 'request' must be an object")
    _check_types(meta, side)
    known = {"request", "status", "headers", "profile", "scenario", "timing", "headers_at", "problem"}
    return Exchange(
        body=body,
        request=request,
        status=status,
        headers=headers,
        profile=meta.get("profile"),
        scenario=meta.get("scenario"),
        timing=_timing(meta, side),
        problem=problem,
        source=str(path),
        extra={k: v for k, v in meta.items() if k not in known},
        file=file,
    )


def save(exchange: Exchange, path: str | os.PathLike[str]) -> Path:
    """Write ``exchange`` as a recording; returns the body path. Redaction is the caller's job
    (``redact.Scrubber.exchange``, as ``record`` does): this writes what it is given."""
    path = Path(path)
    if path.suffix != SUFFIX:
        path = path.with_suffix(SUFFIX)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(exchange.body)
    meta: dict[str, Any] = {}
    for key in ("request", "status", "headers", "profile", "scenario", "problem"):
        value = getattr(exchange, key)
        if value is not None:
            meta[key] = value
    if exchange.timing is not None:
        meta["timing"] = [list(p) for p in exchange.timing.arrivals]
        if exchange.timing.headers_at is not None:
            meta["headers_at"] = exchange.timing.headers_at
    meta.update(exchange.extra)
    if meta:
        sidecar_path(path).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def recording_id(path: Path, root: Path) -> str:
    """A recording's exchange id (and pytest node id): relative to ``root`` when inside it,
    else as given (never a bare "::name"). ``validate`` and the plugin share it, so a
    baseline written by ``validate --reports`` matches ``validate --baseline``."""
    full = path.resolve()
    return str(full.relative_to(root)) if full.is_relative_to(root) else str(path)


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BODY + 1)
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(raw) > MAX_BODY:
        raise RecordingError(f"{path}: larger than the {MAX_BODY:,}-byte limit for a recording file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RecordingError(f"{path}: not UTF-8 text ({exc})") from exc


def read(path: str | os.PathLike[str], lazy: bool = False) -> Contents:
    """Every exchange one recording file holds, and what it skipped (see interactions.py).

    ``.yaml``/``.yml``: a cassette; ``.har`` (or a ``.json`` holding ``log.entries``): HAR;
    anything else: a raw body with its optional sidecar. Raises RecordingError when the file
    cannot be read or parsed. ``lazy``: a raw body stays on disk (see ``load``); a cassette's
    or HAR file's bodies are inside a document that is parsed whole anyway."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not holds_interactions(path):
        return Contents(path, [Recorded(str(path), load(path, lazy), path)])
    if suffix in (".yaml", ".yml"):
        from . import cassettes  # PyYAML is imported only when a cassette is read

        return cassettes.read(path, _read_text(path))
    from . import har

    return har.read(path, _read_text(path))


def holds_interactions(path: Path) -> bool:
    """A cassette or HAR file (several exchanges, named FILE#N), not a raw body."""
    suffix = path.suffix.lower()
    return suffix in (".yaml", ".yml", ".har") or (suffix == ".json" and _looks_like_har(path))


def _looks_like_har(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(4096).lstrip()
    except OSError:
        return False
    return head.startswith(b"{") and b'"log"' in head


def iter_exchanges(paths: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[str, Exchange]]:
    """(id, Exchange) for every exchange under ``paths``; raises RecordingError on the first
    file that cannot be read (``validate`` reads file by file with ``read`` to go on)."""
    for path in iter_recordings(paths):
        for recorded in read(path).exchanges:
            yield recorded.id, recorded.exchange


from .interactions import Contents, Recorded  # noqa: E402  (interactions needs MAX_BODY from here)
