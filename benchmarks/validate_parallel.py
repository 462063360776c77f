"""`validate -j 2` against `validate -j 1` over many small recordings, measured in one run.

    python benchmarks/validate_parallel.py [--files 900] [--jobs 2] [--repeat 3] [--format json]

Writes a corpus of generated streams (the throughput benchmark's generator) as .sse files
into a temporary folder, then times the CLI's `validate --format json` over the folder with
`-j 1` and with `-j N`, alternating the two so that a change in the machine's load hits both.
Wall-clock time, best of N, and each round's ratio (their spread shows the noise). Prints the
speedup and the load average before and after: on a shared machine the speedup can only be
as good as the idle cores.

What the pool costs per file, and what keeps it small: workers are forked once with the
rules and writers (no import per file), get chunks of paths (never bytes), and send back
each writer's small piece (the text, or the JSON entry already encoded), never the streams.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from validate_throughput import make_stream  # noqa: E402

from conformance.cli import main as cli  # noqa: E402


def write_corpus(folder: Path, files: int, seed: int = 11) -> int:
    rng = random.Random(seed)
    total = 0
    for n in range(files):
        # make_stream takes the stream's size in bytes (it took a chunk count before): ~90 KB a file, as the held-out corpus of issue 12 (900 streams, 81.5 MB)
        body = make_stream(rng, rng.choice(["text", "text", "reasoning", "tools"]), rng.randint(20_000, 160_000))
        (folder / f"{n:04d}.sse").write_bytes(body)
        total += len(body)
    return total


def _cpu() -> float:
    """CPU seconds of this process and of its reaped children (the pool's workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(folder: Path, jobs: int, fmt: str = "json") -> tuple[float, float, str]:
    out, err = io.StringIO(), io.StringIO()
    c0, t0 = _cpu(), time.perf_counter()
    code = cli(["validate", str(folder), "-j", str(jobs), "--format", fmt], out, err)
    secs, cpu = time.perf_counter() - t0, _cpu() - c0
    if code not in (0, 1):  # 1: some streams fail a rule (the corpus has streams without usage, as real ones do)
        raise SystemExit(f"validate -j {jobs} exited {code}: {err.getvalue()[:500]}")
    return secs, cpu, out.getvalue()


def _burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def machine_ceiling(jobs: int) -> float:
    """What the machine itself gives right now: the same pure-CPU work in 1 and in ``jobs``
    processes. On a shared machine this, not ``jobs``, is the speedup validate can reach;
    printed beside it so that a low figure says whose it is."""
    from concurrent.futures import ProcessPoolExecutor

    walls = []
    for n in (1, jobs):
        t0 = time.perf_counter()
        with ProcessPoolExecutor(n) as pool:
            list(pool.map(_burn, [6_000_000] * (4 * jobs)))  # ~1 s: pool start-up is noise
        walls.append(time.perf_counter() - t0)
    return walls[0] / walls[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=900)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--format", choices=("json", "text", "github"), default="json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sse-bench-") as tmp:
        folder = Path(tmp)
        total = write_corpus(folder, args.files)
        print(f"corpus: {args.files} files, {total / 1e6:.1f} MB; {os.cpu_count()} cores; --format {args.format}; "
              f"load average before: {os.getloadavg()[0]:.2f}")
        cli(["validate", str(folder / "0000.sse"), "--format", "json"], io.StringIO(), io.StringIO())  # warm up: schemas, rules
        best = {1: float("inf"), args.jobs: float("inf")}
        cpu = dict(best)
        outputs = {}
        rounds = []
        for _ in range(args.repeat):
            wall = {}
            for jobs in (1, args.jobs):
                secs, used, text = timed(folder, jobs, args.format)
                best[jobs] = min(best[jobs], secs)
                cpu[jobs] = min(cpu[jobs], used)
                outputs[jobs] = text
                wall[jobs] = secs
            rounds.append(wall[1] / wall[args.jobs])
        if outputs[1] != outputs[args.jobs]:
            raise SystemExit("the outputs of -j 1 and -j N differ")
        for jobs, secs in best.items():
            print(f"-j {jobs:<3} {secs:7.3f} s wall  {cpu[jobs]:7.3f} s CPU  {total / 1e6 / secs:7.1f} MB/s  {args.files / secs:7.1f} files/s")
        speedup = best[1] / best[args.jobs]
        efficiency = cpu[1] / cpu[args.jobs]
        print(f"speedup -j {args.jobs} vs -j 1 = {speedup:.2f}x wall, best of {args.repeat}   (target >= 1.7x on 2 idle cores); "
              f"each round: {', '.join(f'{r:.2f}x' for r in rounds)}")
        print(f"CPU -j 1 / CPU -j {args.jobs} = {efficiency:.2f}: below 1.0 is the pool's overhead; on {args.jobs} idle cores expect about {args.jobs * min(efficiency, 1.0):.2f}x")
        print(f"load average after: {os.getloadavg()[0]:.2f} (other processes compete for the same cores)")
        ceiling = machine_ceiling(args.jobs)
        print(f"the machine's own speedup for pure CPU work in {args.jobs} processes, right after: {ceiling:.2f}x"
              f" -> validate reaches {speedup / ceiling:.0%} of what the machine gave")


if __name__ == "__main__":
    main()
