"""The Node clients: packages installed once with ``npm ci`` into a cache, one process per run.

The lock file pins every package; the cache folder is named for the hash of the package
files, so a new pin gets a fresh folder and an old one is reused as
is. ``npm ci`` runs only when that folder is missing (the first use, or CI's preparation
step ``python -m conformance.clients install``). One ``node`` process then replays every
stream of a run, one JSON line in and one out per stream, so process start is paid once.

Everything that can go wrong (no node, no npm, no registry, a client that never answers)
becomes a skip or a reading with its reason; none of it fails a run.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import selectors
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .app import Reading, skipped

__all__ = ["NodeProcess", "cache_dir", "install", "node_versions"]

PACKAGE = Path(__file__).resolve().parent / "node"
FILES = ("package.json", "package-lock.json")  # what npm ci installs from: the cache key
SCRIPT = "replay.mjs"  # copied beside node_modules on every start (cheap; never stale)
INSTALL_TIMEOUT = 600.0  # npm ci of ~13 packages takes ~15 s on a warm registry
ANSWER_TIMEOUT = 60.0  # one stream through three clients; a client that hangs is cut here
START_TIMEOUT = 30.0
MAX_LINE = 256 * 1024 * 1024  # an answer line (readings of a huge stream) past this is refused


def cache_dir() -> Path:
    """``$SSE_CONFORMANCE_CACHE`` or ``$XDG_CACHE_HOME/sse-conformance`` or ``~/.cache/...``,
    then ``node-<hash of package.json and the lock file>``."""
    root = os.environ.get("SSE_CONFORMANCE_CACHE")
    if not root:
        root = str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sse-conformance")
    digest = hashlib.sha256()
    for name in FILES:
        digest.update((PACKAGE / name).read_bytes())
    return Path(root) / f"node-{digest.hexdigest()[:16]}"


def install() -> tuple[Path | None, str | None]:
    """The ready cache folder, or None and the reason it could not be prepared."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None:
        return None, "node is not installed (the Node clients need node >= 18 and npm)"
    target = cache_dir()
    ready = target / "node_modules" / ".sse-conformance-ready"
    if ready.exists():
        return target, None
    if npm is None:
        return None, "npm is not installed (needed once, to install the Node clients)"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers may all arrive here at once
        if ready.exists():
            return target, None
        work = target.parent / f"{target.name}.tmp{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        for name in FILES:
            shutil.copyfile(PACKAGE / name, work / name)
        try:
            proc = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], cwd=work,
                                  capture_output=True, text=True, timeout=INSTALL_TIMEOUT, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            shutil.rmtree(work, ignore_errors=True)
            return None, f"npm ci failed: {exc}"
        if proc.returncode != 0:
            shutil.rmtree(work, ignore_errors=True)
            return None, f"npm ci failed (exit {proc.returncode}): {(proc.stderr or proc.stdout).strip()[-300:]}"
        (work / "node_modules" / ".sse-conformance-ready").write_text("ok\n")
        shutil.rmtree(target, ignore_errors=True)
        os.replace(work, target)
    return target, None


def node_versions(folder: Path | None = None) -> dict[str, str | None]:
    """Versions of the installed Node packages (read from their package.json) and of node."""
    folder = folder or cache_dir()
    out: dict[str, str | None] = {}
    for package in ("openai", "ai", "@ai-sdk/openai-compatible"):
        try:
            out[package] = json.loads((folder / "node_modules" / package / "package.json").read_text())["version"]
        except (OSError, ValueError, KeyError):
            out[package] = None
    node = shutil.which("node")
    out["node"] = None
    if node is not None:
        try:
            out["node"] = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10).stdout.strip().lstrip("v") or None
        except (OSError, subprocess.TimeoutExpired):
            pass
    return out


class NodeProcess:
    """One ``node replay.mjs`` for a whole run; started on first use, restarted after a hang."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.folder: Path | None = None
        self.reason: str | None = None
        self.started = False
        self._buffer = b""
        self._next = 0

    def _start(self) -> None:
        self.started = True
        self.folder, self.reason = install()
        if self.folder is None:
            return
        node = shutil.which("node")
        assert node is not None
        script = (PACKAGE / SCRIPT).read_bytes()
        target = self.folder / SCRIPT
        if not target.exists() or target.read_bytes() != script:
            tmp = target.with_suffix(f".tmp{os.getpid()}")
            tmp.write_bytes(script)
            os.replace(tmp, target)  # atomic: another process may be starting from it
        self.proc = subprocess.Popen([node, str(self.folder / "replay.mjs")], cwd=self.folder, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self._buffer = b""

    def replay(self, pieces: Sequence[bytes], status: int, content_type: str, tools: Sequence[str], clients: Sequence[str]) -> dict[str, Reading]:
        if not clients:
            return {}
        if not self.started:
            self._start()
        if self.proc is None:
            return {c: skipped(self.reason or "the Node clients are unavailable") for c in clients}
        self._next += 1
        request = {"id": self._next, "pieces": [base64.b64encode(p).decode() for p in pieces], "status": status,
                   "contentType": content_type, "tools": list(tools), "clients": list(clients)}
        answer = self._ask(request, ANSWER_TIMEOUT)
        if answer is None or answer.get("id") != self._next:
            why = self.reason or "no answer"
            self.close()
            self.started = False  # the next stream gets a fresh process
            return {c: {"status": "raised", "error": f"the Node replay gave no answer ({why})", "api_error": None, "choices": [], "usage": None} for c in clients}
        readings: dict[str, Reading] = answer.get("readings") or {}
        return {c: readings.get(c) or skipped("the Node replay did not run this client") for c in clients}

    def _ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        proc = self.proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(json.dumps(request).encode() + b"\n")
            proc.stdin.flush()
        except OSError as exc:
            self.reason = f"node exited ({exc})"
            return None
        deadline = time.monotonic() + timeout
        fd = proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    self.reason = f"no answer within {timeout:.0f} s"
                    return None
                data = os.read(fd, 1 << 20)
                if not data:
                    self.reason = f"node exited with {proc.poll()}"
                    return None
                self._buffer += data
                if len(self._buffer) > MAX_LINE:
                    self.reason = "answer over the size limit"
                    return None
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            out = json.loads(line)
        except ValueError:
            self.reason = "an answer that is not JSON"
            return None
        return out if isinstance(out, dict) else None

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        finally:
            if proc.stdout is not None:
                proc.stdout.close()
