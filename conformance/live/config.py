"""Live-run settings, from (highest first) command-line options, environment variables, and
``[tool.sse-conformance]`` in the user's pyproject.toml, then defaults.

The API key itself is never a setting: only the *name* of the environment variable that
holds it, so that no file and no command line ever carries it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from ..errors import UsageError
from ..formatting import shareable_url
from ..profiles import get_profile
from .capture import DEFAULT_MAX_BODY
from .scenario_names import SCENARIO_NAMES, unknown_scenarios

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_KEY_ENV", "ENV_PREFIX", "MAX_CONCURRENCY", "Settings", "configured_clients", "load_settings", "parse_concurrency", "parse_size"]

DEFAULT_KEY_ENV = "SSE_CONFORMANCE_API_KEY"
ENV_PREFIX = "SSE_CONFORMANCE_"
DEFAULT_REASONING: dict[str, Any] = {"reasoning": {"effort": "low"}}
# Requests in flight at once (live/ahead.py). 8: a run holds, per model, the plain request
# (the canary, sent first), 8 scenarios that wait on it and 8 variants by default; with 8 in
# flight each group goes in one wave, and a run against a slow model costs about two of its
# slowest answers instead of the sum of all 17 (benchmarks/live_concurrency.py: at 50 ms
# per event 4 in flight still cost 2.2 times the run at 2 ms, 8 cost 1.3-1.9 times). Hosted
# APIs take that at once (their lowest rate limits are hundreds of requests a minute; a 429
# is retried and holds the run's other requests back). An endpoint that serves one request
# at a time (a local server with one slot) queues them instead, and a queued request spends
# its read timeout (30 s) waiting for its headers: such an endpoint wants --concurrency 1.
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 32  # beyond this a conformance run becomes a load test


@dataclass(frozen=True)
class Settings:
    endpoint: str | None = None  # base URL (…/v1) or the full …/chat/completions URL
    model: str = "sansa-auto"  # the model this settings' requests name
    # every model of the run (a router serves many under one API): each scenario runs per
    # model, with settings whose ``model`` is that one (``per_model``); empty means (model,)
    models: tuple[str, ...] = ()
    api_key_env: str = DEFAULT_KEY_ENV
    api_key: str | None = field(default=None, repr=False)  # from the variable above; never printed
    profile: str = "sansa"
    timeout: float = 120.0  # total seconds per exchange
    read_timeout: float = 30.0  # longest silence between two reads
    # what switches reasoning on varies by provider: merged into the reasoning request
    reasoning: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_REASONING))
    # scenario name -> why this endpoint does not support it (skipped with that reason)
    skip: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # extra request headers
    max_body: int = DEFAULT_MAX_BODY  # decoded body bytes kept per exchange (capture.py says why 4 MiB)
    # clients to replay every stream through (conformance/clients): names or "all"; none by default
    clients: tuple[str, ...] = ()
    concurrency: int = DEFAULT_CONCURRENCY  # requests in flight at once; 1: one after another

    @property
    def all_models(self) -> tuple[str, ...]:
        return self.models or (self.model,)

    def per_model(self) -> list[Settings]:
        """One settings per model, each naming its model in every request (``models`` stays
        the run's: the run budget counts every model's scenarios)."""
        return [replace(self, model=m) for m in self.all_models]

    @property
    def url(self) -> str:
        if not self.endpoint:
            raise UsageError("no endpoint: pass --endpoint URL or set SSE_CONFORMANCE_ENDPOINT")
        parts = urlsplit(self.endpoint)
        path = parts.path.rstrip("/")
        if not path.endswith("/chat/completions"):
            path += "/chat/completions"
        return urlunsplit(parts._replace(path=path))

    @property
    def display_url(self) -> str:
        """The endpoint without credentials or query string, for reports."""
        return shareable_url(self.url)


def _pyproject(path: Path | None) -> dict[str, Any]:
    path = path or Path.cwd() / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: {exc}") from exc
    section = data.get("tool", {}).get("sse-conformance", {})
    if not isinstance(section, dict):
        raise UsageError(f"{path}: [tool.sse-conformance] must be a table")
    profile = section.get("profile")
    if isinstance(profile, str) and profile.endswith(".toml"):  # a dialect file, next to the pyproject
        section["profile"] = str(path.parent / profile)
    return section


def configured_clients(pyproject: Path | None = None) -> tuple[str, ...]:
    """``clients = [...]`` from [tool.sse-conformance]: what ``validate`` replays through when
    ``--clients`` is not given (the live settings are not read there)."""
    from ..clients.names import parse_clients

    return parse_clients(_pyproject(pyproject).get("clients"))


def load_settings(
    options: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    pyproject: Path | None = None,
) -> Settings:
    """Merge the three sources; ``options`` holds only what the user actually passed."""
    env = os.environ if env is None else env
    merged: dict[str, Any] = {}
    merged.update({k.replace("-", "_"): v for k, v in _pyproject(pyproject).items()})
    for name in ("endpoint", "model", "api_key_env", "profile", "timeout", "max_body", "concurrency"):
        value = env.get(ENV_PREFIX + name.upper())
        if value:
            merged[name] = value
    merged.update({k: v for k, v in (options or {}).items() if v is not None})
    unknown = set(merged) - {f.name for f in Settings.__dataclass_fields__.values()} - {"api_key"}
    if unknown:
        raise UsageError(f"unknown sse-conformance setting(s): {', '.join(sorted(unknown))}")
    if "api_key" in merged:
        raise UsageError("the API key is never a setting: put it in an environment variable and name it with api_key_env")
    try:
        if "timeout" in merged:
            merged["timeout"] = float(merged["timeout"])
            merged.setdefault("read_timeout", min(30.0, merged["timeout"]))
    except (TypeError, ValueError):
        raise UsageError(f"timeout must be a number of seconds, not {merged['timeout']!r}") from None
    if "max_body" in merged:
        merged["max_body"] = parse_size(merged["max_body"])
    if "concurrency" in merged:
        merged["concurrency"] = parse_concurrency(merged["concurrency"])
    get_profile(merged.get("profile", "sansa"))  # an unknown profile or a bad dialect file: the same usage error everywhere
    if merged.get("profile", "").endswith(".toml"):  # recordings' sidecars name the file from anywhere
        merged["profile"] = str(Path(merged["profile"]).resolve())
    _check(merged)
    _models(merged)
    key_env = merged.get("api_key_env", DEFAULT_KEY_ENV)
    key = env.get(key_env) or None
    if key is not None and not (key.isascii() and key.isprintable() and key.strip() == key):
        # a header value must be printable ASCII; anything else would fail inside the HTTP
        # client, whose error messages then quote the key
        raise UsageError(f"the API key in ${key_env} has a control character, a space at either end, or a non-ASCII character: clean the variable")
    settings = Settings(**merged, api_key=key)
    if settings.endpoint is not None:
        try:
            url = httpx.URL(settings.url)
            if url.scheme not in ("http", "https") or not url.host:
                raise ValueError("it needs http:// or https:// and a host")
            if url.port is not None and not 0 < url.port < 65536:
                raise ValueError(f"port {url.port} is out of range")
        except (httpx.InvalidURL, ValueError) as exc:
            raise UsageError(f"endpoint {settings.endpoint!r} is not a usable URL: {exc}") from None
    return settings


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3}
_MIN_BODY = 1024  # below this not even an error body fits: surely a typo


def parse_size(value: Any) -> int:
    """A byte count: an integer, or a string such as ``16MiB``, ``500kB`` or ``2000000``."""
    text = str(value).strip().lower().replace("_", "").replace(" ", "")
    digits = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(digits):]
    try:
        if isinstance(value, bool) or unit not in _UNITS:
            raise ValueError
        size = int(float(digits) * _UNITS[unit])
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"max_body must be a size in bytes such as 16MiB or 500000, not {value!r}") from None
    if size < _MIN_BODY:
        raise UsageError(f"max_body must be at least {_MIN_BODY} bytes, not {value!r}")
    return size


def parse_concurrency(value: Any) -> int:
    """Requests in flight at once: a whole number from 1 (one after another) to MAX_CONCURRENCY."""
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        number = int(str(value).strip()) if not isinstance(value, (int, float)) else int(value)
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"concurrency must be a whole number of requests, not {value!r}") from None
    if not 1 <= number <= MAX_CONCURRENCY:
        raise UsageError(f"concurrency must be between 1 and {MAX_CONCURRENCY}, not {value!r}")
    return number


def _check(merged: dict[str, Any]) -> None:
    """Refuse malformed settings up front, with the setting's name, rather than as 300 tracebacks."""
    if "timeout" in merged and not (0 < merged["timeout"] < float("inf")):
        raise UsageError(f"timeout must be a positive number of seconds, not {merged['timeout']!r}")
    skip = merged.get("skip")
    if isinstance(skip, list):  # pyproject: skip = ["reasoning"]
        skip = merged["skip"] = {name: "skipped by configuration" for name in skip}
    if skip is not None:
        if not isinstance(skip, dict) or not all(isinstance(v, str) for v in skip.values()):
            raise UsageError('skip must be a list of scenario names, or a table of name = "reason"')
        unknown = unknown_scenarios(skip)
        if unknown:
            raise UsageError(f"skip names unknown scenario(s) {', '.join(unknown)}; scenarios: {', '.join(SCENARIO_NAMES)}")
    if "clients" in merged:
        from ..clients.names import parse_clients

        merged["clients"] = parse_clients(merged["clients"])
    for name in ("reasoning", "headers"):
        if name in merged and not isinstance(merged[name], dict):
            raise UsageError(f"{name} must be a table (e.g. reasoning = {{ reasoning_effort = \"low\" }})")
    for name in ("endpoint", "api_key_env", "profile"):
        if name in merged and not isinstance(merged[name], str):
            raise UsageError(f"{name} must be a string")


def _models(merged: dict[str, Any]) -> None:
    """``model`` may name several models: a list (pyproject, repeated --model) or a
    comma-separated string (environment, --model a,b). Sets ``models`` and the first as ``model``."""
    if "models" in merged:
        raise UsageError('"models" is not a setting: give model a list, model = ["a", "b"]')
    if "model" not in merged:
        return
    value = merged["model"]
    parts = [value] if isinstance(value, str) else value
    if not isinstance(parts, (list, tuple)) or not all(isinstance(p, str) for p in parts):
        raise UsageError('model must be a string or a list of strings (model = ["a", "b"])')
    names = [name.strip() for part in parts for name in part.split(",")]
    if not names or any(not name for name in names):
        raise UsageError(f"model names an empty model: {value!r}")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UsageError(f"model {', '.join(dupes)} is listed twice")
    merged["model"], merged["models"] = names[0], tuple(names)
