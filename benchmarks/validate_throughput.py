"""Throughput of `validate` against a naive decoder, as ratios measured in one run.

    python benchmarks/validate_throughput.py [--streams 900] [--repeat 3] [--big 1000000] [--profile]

Issue 12's bar: "`validate` (one process, every rule, JSON output) at or below the naive
pass's time on the same bytes". The bar is measured on a held-out corpus (900 streams,
81.5 MB, 445k chunks) that is not in the repository; this script writes a corpus shaped
like it into a temporary folder: --streams files (default 900) of ~90 KB each, ~180 bytes
per chunk (an id, created and model in every chunk), mixed as real
traffic is: mostly text answers, then tool calls (one or two calls, arguments streamed in
small fragments), reasoning models (reasoning_details text chunks, then the answer), a few
multi-choice (n=2) streams, a few that end with an error event, most with a usage chunk.
Then, over the same files on disk, in one run:
  (a) naive: read each file, split on blank lines, json.loads each `data: ` payload;
  (b) ours, the one pass with no rule (engine.Pass over each file): what every rule shares;
  (c) ours, judge() of each file's bytes in memory, every rule (no CLI, no output);
  (v) ours, validate: `validate --format json -j 1 DIR` in this process
      (conformance.cli.main, output to a StringIO): what the bar names.
It prints MB/s and chunks/s for each and the ratios to (a) (time ratios: lower is faster).
Target: (v)/(a) <= 1.0. Then (d): one stream of --big chunks (default 1,000,000, about
180 MB, judged in bounded memory: benchmarks/validate_memory.py) judged at the MB/s of the
many small streams of (c), within 20 %: the cost is linear in the stream's length.

Times are CPU seconds of this process (time.process_time), best of N, the passes
interleaved: on a shared machine wall-clock time measures the other processes as much as
ours, and a change in load hits every pass alike. --profile prints cProfile's top items
of (v) instead.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import string
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.cli import main as cli_main  # noqa: E402
from conformance.engine import Pass  # noqa: E402
from conformance.exchange import Exchange  # noqa: E402
from conformance.judge import judge  # noqa: E402
from conformance.profiles import get_profile  # noqa: E402

WORDS = (
    "the quick brown fox jumps over a lazy dog while streaming tokens arrive one by one and "
    "each chunk carries a few characters of the answer , . ; : ( ) - 's ing ed 1 2 3"
).split()
TARGET = 90_000  # bytes per stream, about
KINDS = ["text"] * 60 + ["tools"] * 14 + ["reasoning"] * 18 + ["multi"] * 4 + ["error"] * 4


class Maker:
    """One stream's chunks, framed as providers frame them (`data: JSON` + a blank line)."""

    def __init__(self, rng: random.Random, choices: int = 1) -> None:
        self.rng = rng
        self.id = "chatcmpl-" + "".join(rng.choices(string.ascii_letters + string.digits, k=12))
        self.created = 1760000000 + rng.randint(0, 10_000_000)
        self.parts: list[bytes] = []
        self.bytes = 0  # their length so far

    def chunk(self, delta: dict, finish: str | None = None, usage: dict | None = None, index: int = 0) -> None:
        obj = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": "gpt-4o",
            "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
        }
        if usage is not None:
            obj["usage"] = usage
        self.add(b"data: " + json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n")

    def add(self, part: bytes) -> None:
        self.parts.append(part)
        self.bytes += len(part)

    def raw(self, obj: dict) -> None:
        self.add(b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n")

    def size(self) -> int:
        return self.bytes

    def words(self) -> str:
        return " " + self.rng.choice(WORDS) if self.rng.random() < 0.9 else self.rng.choice(WORDS)


def make_stream(rng: random.Random, kind: str, target: int = TARGET) -> bytes:
    m = Maker(rng)
    n = 0
    usage = rng.random() < 0.8
    if kind == "multi":
        for i in (0, 1):
            m.chunk({"role": "assistant", "content": ""}, index=i)
        while m.size() < target:
            m.chunk({"content": m.words()}, index=n % 2)
            n += 1
        for i in (0, 1):
            m.chunk({}, "stop", index=i)
    else:
        m.chunk({"role": "assistant", "content": "", "refusal": None})
        if kind == "reasoning":
            while m.size() < target * 0.6:
                m.chunk({"reasoning_details": [{"type": "reasoning.text", "text": m.words(), "index": 0}]})
                n += 1
        if kind == "tools":
            calls = rng.choice([1, 1, 2])
            per = target // calls
            for c in range(calls):
                start = m.size()
                m.chunk({"tool_calls": [{"index": c, "id": f"call_{rng.getrandbits(64):016x}", "type": "function",
                                         "function": {"name": "get_weather", "arguments": ""}}]})
                m.chunk({"tool_calls": [{"index": c, "function": {"arguments": '{"notes":"'}}]})
                while m.size() - start < per - 300:
                    m.chunk({"tool_calls": [{"index": c, "function": {"arguments": m.words()}}]})
                    n += 1
                m.chunk({"tool_calls": [{"index": c, "function": {"arguments": '","days":3}'}}]})
            finish = "tool_calls"
        else:
            while m.size() < target:
                m.chunk({"content": m.words()})
                n += 1
            finish = "stop"
        if kind == "error":
            m.raw({"error": {"message": "The server had an error while processing your request.", "type": "server_error", "code": 500}})
        else:
            m.chunk({}, finish)
    if usage and kind != "error":
        m.parts.append(b"data: " + json.dumps({"id": m.id, "object": "chat.completion.chunk", "created": m.created,
                                               "model": "gpt-4o", "choices": [],
                                               "usage": {"prompt_tokens": 31, "completion_tokens": n, "total_tokens": 31 + n}},
                                              separators=(",", ":")).encode() + b"\n\n")
    if kind != "error":
        m.parts.append(b"data: [DONE]\n\n")
    return b"".join(m.parts)


def make_corpus(folder: Path, streams: int, seed: int = 7) -> list[Path]:
    rng = random.Random(seed)
    paths = []
    for i in range(streams):
        kind = rng.choice(KINDS)
        body = make_stream(rng, kind, int(TARGET * rng.uniform(0.5, 1.5)))
        path = folder / f"{i:04d}-{kind}.sse"
        path.write_bytes(body)
        paths.append(path)
    return paths


def naive(paths: list[Path], folder: Path) -> int:
    chunks = 0
    loads = json.loads
    for path in paths:
        with open(path, "rb") as fh:
            body = fh.read()
        for block in body.split(b"\n\n"):
            if block.startswith(b"data: "):
                payload = block[6:]
                if payload != b"[DONE]":
                    loads(payload)
                    chunks += 1
    return chunks


def ours_pass(paths: list[Path], folder: Path) -> int:
    profile = get_profile("sansa")
    chunks = 0
    for path in paths:
        with open(path, "rb") as fh:
            body = fh.read()
        chunks += Pass(Exchange(body), profile, []).run().chunks
    return chunks


def ours_judge(paths: list[Path], folder: Path) -> int:
    chunks = 0
    for path in paths:
        with open(path, "rb") as fh:
            body = fh.read()
        judge(Exchange(body), "sansa")
        chunks += body.count(b"\n\ndata: ")
    return chunks


def ours_validate(paths: list[Path], folder: Path) -> int:
    out, err = io.StringIO(), io.StringIO()
    code = cli_main(["validate", "--format", "json", "-j", "1", str(folder)], out=out, err=err)
    if code == 2:
        raise SystemExit(f"validate failed: {err.getvalue()[:500]}")
    doc = json.loads(out.getvalue())
    if len(doc["fixtures"]) != len(paths):
        raise SystemExit(f"validate judged {len(doc['fixtures'])} recordings, not {len(paths)}")
    return -1


def timed(fn: Callable[[list[Path], Path], int], paths: list[Path], folder: Path) -> tuple[float, int]:
    t0 = time.process_time()
    count = fn(paths, folder)
    return time.process_time() - t0, count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streams", type=int, default=900, help="streams in the corpus (default 900, ~90 KB each)")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    ap.add_argument("--big", type=int, default=1_000_000, help="chunks in the one long stream of (d) (default 1,000,000; 0 skips)")
    ap.add_argument("--profile", action="store_true", help="print cProfile's top items of (v), then stop")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sse-throughput-") as tmp:
        folder = Path(tmp)
        paths = make_corpus(folder, args.streams)
        total = sum(p.stat().st_size for p in paths)
        chunks = naive(paths, folder)
        judge(Exchange(paths[0].read_bytes()), "sansa")  # warm up: compile schemas, import rules
        print(f"corpus: {len(paths)} streams, {total / 1e6:.1f} MB, {chunks:,} chunks ({total / max(chunks, 1):.0f} B/chunk); "
              f"load average {os.getloadavg()[0]:.2f}")
        if args.profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
            ours_validate(paths, folder)
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)
            return
        passes = (
            ("(a) naive: read, split, json.loads", naive),
            ("(b) ours: one pass, no rule", ours_pass),
            ("(c) ours: judge() in memory, all rules", ours_judge),
            ("(v) ours: validate --format json -j 1", ours_validate),
        )
        best = {label: float("inf") for label, _ in passes}
        for _ in range(args.repeat):  # interleaved: a change in the machine's load hits every pass
            for label, fn in passes:
                secs, _ = timed(fn, paths, folder)
                best[label] = min(best[label], secs)
        results = {}
        for label, _ in passes:
            secs = best[label]
            results[label[:3]] = secs
            print(f"{label:<40} {secs:7.3f} s  {total / 1e6 / secs:7.1f} MB/s  {chunks / secs:10,.0f} chunks/s")
        a = results["(a)"]
        print(f"ratio (b)/(a) = {results['(b)'] / a:.2f}")
        print(f"ratio (c)/(a) = {results['(c)'] / a:.2f}")
        print(f"ratio (v)/(a) = {results['(v)'] / a:.2f}   (target <= 1.0: issue 12's bar)")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        if args.big:
            rng = random.Random(3)
            big = make_stream(rng, "text", args.big * 180)
            secs = timed(lambda _p, _f: judge(Exchange(big), "sansa").ok, [], folder)[0]
            near = timed(ours_judge, paths, folder)[0]  # (c) again, next to (d) in time: the same load
            small = total / 1e6 / near
            print(f"(d) one stream of {len(big) / 1e6:.0f} MB              {secs:7.3f} s  {len(big) / 1e6 / secs:7.1f} MB/s")
            print(f"(c) again, right after                  {near:7.3f} s  {small:7.1f} MB/s")
            print(f"ratio (d)/(c) MB/s = {len(big) / 1e6 / secs / small:.2f}   (target >= 0.8: linear cost)")


if __name__ == "__main__":
    main()
