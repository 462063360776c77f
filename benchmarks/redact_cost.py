"""What scrubbing the key costs next to judging, in one run: issue 12 asks for a scrubber
that is fast at every size, so that the body limit is set by judging, not by redaction.

    python benchmarks/redact_cost.py [--mb 16] [--before REV] [--repeat 1]

Bodies (--mb of the smallest conformant chunks, as in hostile_bounds.py "tiny"):
  absent:   no piece of the key anywhere (the common case: nothing to star);
  echoed:   the key echoed once, split over four content chunks mid-stream;
  escaped:  every tenth chunk's content holds a JSON escape (``\\n``) and no key;
  key-x:    the one-letter key ``x``, which every chunk's content is (everything starred).
For each body: judge time, scrub time with this tree's redact.py and, with --before, with
redact.py as it was at REV (loaded from git, same process, same bodies), and scrub/judge.
Both scrubbers must write the same bytes: the script says so, or stops.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance.exchange import Exchange  # noqa: E402
from conformance.judge import judge  # noqa: E402
from conformance.redact import Scrubber  # noqa: E402

KEY = "sk-Qz7vW2pL9hT4mN8rB"
HEAD = '{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":['


def _event(content: str) -> bytes:
    return b"data: " + (HEAD + '{"index":0,"delta":{"content":"' + content + '"},"finish_reason":null}]}').encode() + b"\n\n"


def tiny(mb: float, echo: str | None = None, escape_every: int = 0) -> bytes:
    first = b"data: " + (HEAD + '{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}').encode() + b"\n\n"
    one = _event("x")
    n = int(mb * 1024 * 1024 / len(one))
    parts = [first]
    for i in range(n):
        if echo is not None and i == n // 2:
            q = len(echo) // 4
            parts += [_event(echo[:q]), _event(echo[q : 2 * q]), _event(echo[2 * q : 3 * q]), _event(echo[3 * q :])]
        elif escape_every and i % escape_every == 0:
            parts.append(_event("x\\n"))
        else:
            parts.append(one)
    parts.append(b"data: " + (HEAD + '{"index":0,"delta":{},"finish_reason":"stop"}]}').encode() + b"\n\n")
    return b"".join(parts) + b"data: [DONE]\n\n"


def load_before(rev: str) -> ModuleType:
    """redact.py as it was at ``rev``, imported as a module of the conformance package."""
    source = subprocess.run(["git", "show", f"{rev}:conformance/redact.py"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader("conformance._redact_before", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "conformance"
    module.__file__ = str(ROOT / "conformance" / "redact.py")  # it finds schemas/ beside it
    sys.modules[spec.name] = module
    exec(compile(source, f"{rev}:conformance/redact.py", "exec"), module.__dict__)
    return module


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--mb", type=float, default=16)
    p.add_argument("--before", help="a git revision whose redact.py to time beside this one")
    p.add_argument("--repeat", type=int, default=1, help="best of N for each timing")
    a = p.parse_args()
    before = load_before(a.before) if a.before else None
    cases = [("absent", KEY, tiny(a.mb)), ("echoed", KEY, tiny(a.mb, echo=f"my key is {KEY} ok")),
             ("escaped", KEY, tiny(a.mb, escape_every=10)), ("key-x", "x", tiny(a.mb))]
    for name, key, body in cases:
        judged, _ = timed(lambda body=body: judge(Exchange(body), "sansa"), a.repeat)
        now, out = timed(lambda body=body, key=key: Scrubber([key]).body(body), a.repeat)
        assert isinstance(out, bytes) and len(out) == len(body)
        line = f"{name:8} {len(body) / 1e6:6.1f} MB  judge {judged:6.2f} s   scrub {now:6.2f} s ({now / judged:5.2f} x judge)"
        if before is not None:
            then, old = timed(lambda body=body, key=key: before.Scrubber([key]).body(body), a.repeat)
            if old != out:
                raise SystemExit(f"{name}: this scrubber writes other bytes than {a.before}'s")
            line += f"   before {then:6.2f} s ({then / judged:5.2f} x judge), {then / now:5.1f} x faster now, same bytes"
        print(line, flush=True)


if __name__ == "__main__":
    main()
