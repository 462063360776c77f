"""Peak memory of judging one large recording from disk: bounded, whatever its size.

    python benchmarks/validate_memory.py [--sizes 300,1000] [--shape text|tools|reasoning] [--dir /tmp] [--keep] [--select RULES]

For each size (MB) it writes a recording of one long conformant stream to --dir (never
committed; deleted afterwards unless --keep): --shape text (default: role, content chunks of
one word, the finish with usage, [DONE]; about 190 bytes a chunk), tools (one tool call
whose arguments, an object holding an array of numbers, stream in fragments of a few characters) or
reasoning (reasoning_details chunks of one word, then content). Then it judges it in a fresh Python process the
way validate does (``judge(load(path, lazy=True))``: the body stays on disk and is read in
1 MiB blocks, in one pass) and reports that process's peak RSS (resource.getrusage
ru_maxrss), next to the peak of the same process judging a 1 KB recording (the
interpreter, the rules, the schemas). Target: under 300 MB for 300 MB and for 1 GB.

What still grows with the stream: the assembled content (a word a chunk: about 3 % of the
body) and what a rule must remember per choice; never the events, payloads or the body.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORDS = "the quick brown fox jumps over a lazy dog while streaming tokens arrive one by one".split()

CHILD = """
import resource, sys, time
sys.path.insert(0, {root!r})
from conformance.judge import judge, select_rules
from conformance.recordings import load
rules = select_rules({select!r}.split(",")) if {select!r} else None
t0 = time.process_time()
verdict = judge(load({path!r}, lazy=True), "sansa", rules)
secs = time.process_time() - t0
bad = [(r.rule, r.status) for r in verdict.results if r.status in ("fail", "warn")]
content = sum(len(m.content) + len(m.reasoning) + sum(len(t.arguments) for t in m.tool_calls) for m in verdict.message.values())
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, secs, content, repr(bad))
"""


# The command itself, as a user runs it: `validate --format json -j 1 FILE` (the writers decide
# whether the body may stay on disk; text and JSON read only the bytes around a finding).
CLI_CHILD = """
import io, json, resource, sys, time
sys.path.insert(0, {root!r})
from conformance.cli import main
out = io.StringIO()
t0 = time.process_time()
code = main(["validate", "--format", "json", "-j", "1", {path!r}], out=out, err=io.StringIO())
secs = time.process_time() - t0
ok = json.loads(out.getvalue())["fixtures"][0]["ok"]
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, secs, code, ok)
"""


def _chunk(delta: dict[str, object], finish: str | None = None, usage: dict[str, int] | None = None) -> bytes:
    obj: dict[str, object] = {
        "id": "chatcmpl-memory",
        "object": "chat.completion.chunk",
        "created": 1760000000,
        "model": "sansa-auto",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        obj["usage"] = usage
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _pieces(shape: str) -> tuple[bytes, list[bytes], bytes, str]:
    """(opening chunks, the repeated middle chunks, closing chunks before the usage one, finish reason)."""
    if shape == "tools":
        head = _chunk({"role": "assistant", "content": None}) + _chunk(
            {"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "numbers", "arguments": '{"n": [0'}}]}
        )
        middle = [_chunk({"tool_calls": [{"index": 0, "function": {"arguments": f",{n}"}}]}) for n in range(100, 110)]
        return head, middle, _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "]}"}}]}), "tool_calls"
    if shape == "reasoning":
        middle = [_chunk({"reasoning_details": [{"type": "reasoning.text", "text": w + " ", "index": 0}]}) for w in WORDS]
        return _chunk({"role": "assistant", "content": ""}), middle, _chunk({"content": "Done."}), "stop"
    return _chunk({"role": "assistant", "content": ""}), [_chunk({"content": w + " "}) for w in WORDS], b"", "stop"


def write_recording(path: Path, megabytes: float, shape: str = "text") -> tuple[int, int]:
    """One conformant stream of about ``megabytes`` MB, written in batches: (bytes, chunks)."""
    head, pieces, closing, finish = _pieces(shape)
    target = int(megabytes * 1_000_000)
    n = 0
    size = 0
    with path.open("wb") as fh:
        fh.write(head)
        size += len(head)
        batch = b"".join(pieces[i % len(pieces)] for i in range(4096))
        per = 4096
        while size + len(batch) < target:
            fh.write(batch)
            size += len(batch)
            n += per
        tail = closing + _chunk({}, finish, {"prompt_tokens": 12, "completion_tokens": n, "total_tokens": 12 + n}) + b"data: [DONE]\n\n"
        fh.write(tail)
        size += len(tail)
    return size, n + 2


def judge_in_child(path: Path, select: str) -> tuple[int, float, int, str]:
    code = CHILD.format(root=str(ROOT), path=str(path), select=select)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(maxsplit=3)
    return int(out[0]), float(out[1]), int(out[2]), out[3].strip()


def validate_in_child(path: Path) -> tuple[int, float, int, bool]:
    code = CLI_CHILD.format(root=str(ROOT), path=str(path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), float(out[1]), int(out[2]), out[3] == "True"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="300,1000", help="recording sizes in MB, comma-separated (default 300,1000)")
    ap.add_argument("--shape", default="text", choices=["text", "tools", "reasoning"], help="what the stream carries (default text)")
    ap.add_argument("--dir", default="/tmp", help="where the recordings are written (default /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the generated recordings")
    ap.add_argument("--select", default="", help="judge only these rules (comma-separated ids or groups; default: all)")
    args = ap.parse_args()
    small = Path(args.dir) / "validate-memory-small.sse"
    write_recording(small, 0.001)
    base, _, _, _ = judge_in_child(small, args.select)
    small.unlink()
    print(f"baseline: a 1 KB recording, peak RSS {base / 1024:7.1f} MB (interpreter, rules, schemas)")
    for mb in (float(s) for s in args.sizes.split(",")):
        path = Path(args.dir) / f"validate-memory-{mb:g}MB-{args.shape}.sse"
        t0 = time.perf_counter()
        size, chunks = write_recording(path, mb, args.shape)
        made = time.perf_counter() - t0
        try:
            rss, secs, content, bad = judge_in_child(path, args.select)
            cli_rss, cli_secs, cli_code, cli_ok = validate_in_child(path) if not args.select else (0, 0.0, 0, False)
        finally:
            if not args.keep:
                os.unlink(path)
        verdict = "conforms" if bad == "[]" else f"NOT CONFORMANT {bad}"
        print(
            f"{size / 1e6:7.0f} MB {args.shape} recording ({chunks:,} chunks, written in {made:.0f} s): peak RSS {rss / 1024:7.1f} MB"
            f" (baseline + {(rss - base) / 1024:.1f} MB; assembled strings {content / 1e6:.1f} MB), judged in {secs:.1f} s CPU"
            f" = {size / 1e6 / secs:.1f} MB/s; {verdict}; target < 300 MB: {'met' if rss / 1024 < 300 else 'NOT met'}"
        )
        if not args.select:
            print(
                f"        `validate --format json -j 1` on it: exit {cli_code}, ok={cli_ok}, peak RSS {cli_rss / 1024:7.1f} MB,"
                f" {cli_secs:.1f} s CPU; target < 300 MB: {'met' if cli_rss / 1024 < 300 else 'NOT met'}"
            )


if __name__ == "__main__":
    main()
