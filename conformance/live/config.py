"""Live-run settings, from (highest first) command-line options, environment variables, and
``[tool.sse-conformance]`` in the user's pyproject.toml, then defaults.

The API key itself is never a setting: only the *name* of the environment variable that
holds it, so that no file and no command line ever carries it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import UsageError
from ..profiles import PROFILES

__all__ = ["DEFAULT_KEY_ENV", "ENV_PREFIX", "Settings", "load_settings"]

DEFAULT_KEY_ENV = "SSE_CONFORMANCE_API_KEY"
ENV_PREFIX = "SSE_CONFORMANCE_"
DEFAULT_REASONING: dict[str, Any] = {"reasoning": {"effort": "low"}}


@dataclass(frozen=True)
class Settings:
    endpoint: str | None = None  # base URL (…/v1) or the full …/chat/completions URL
    model: str = "sansa-auto"
    api_key_env: str = DEFAULT_KEY_ENV
    api_key: str | None = None  # read from the environment variable above
    profile: str = "sansa"
    timeout: float = 120.0  # total seconds per exchange
    read_timeout: float = 30.0  # longest silence between two reads
    # what switches reasoning on varies by provider: merged into the reasoning request
    reasoning: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_REASONING))
    # scenario name -> why this endpoint does not support it (skipped with that reason)
    skip: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # extra request headers

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
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


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
    return section


def load_settings(
    options: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    pyproject: Path | None = None,
) -> Settings:
    """Merge the three sources; ``options`` holds only what the user actually passed."""
    env = os.environ if env is None else env
    merged: dict[str, Any] = {}
    merged.update({k.replace("-", "_"): v for k, v in _pyproject(pyproject).items()})
    for name in ("endpoint", "model", "api_key_env", "profile", "timeout"):
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
    except ValueError:
        raise UsageError(f"timeout must be a number of seconds, not {merged['timeout']!r}") from None
    if merged.get("profile", "sansa") not in PROFILES:
        raise UsageError(f"unknown profile {merged['profile']!r}; choose one of: {', '.join(PROFILES)}")
    if isinstance(merged.get("skip"), list):  # pyproject: skip = ["reasoning"]
        merged["skip"] = {name: "skipped by configuration" for name in merged["skip"]}
    key_env = merged.get("api_key_env", DEFAULT_KEY_ENV)
    return Settings(**merged, api_key=env.get(key_env) or None)
