"""What a slow endpoint costs a live run, with and without concurrent captures.

    python benchmarks/live_concurrency.py [--rounds 2] [--concurrency N]

Runs the full ``sse-conformance run`` (9 scenarios, 8 variants, reports written) against the
embedded reference endpoint, each run in its own process, in three arms per round:
  (a) fast:  2 ms between events (the endpoint's default), default concurrency;
  (b) slow:  50 ms between events (a model streaming ~20 tokens/s), default concurrency;
  (c) slow, --concurrency 1: one capture after another (the behaviour before concurrency).
The arms alternate within each round, so a disturbed round disturbs all three. Reports the
median wall time of each arm, and the ratios slow/fast (target <= 2.0: a run against a slow
model should cost about its slowest answers, not their sum; one after another it was 3.6)
and sequential/concurrent at 50 ms. ``--concurrency N`` sets the concurrency of arms (a)
and (b) instead of the default. The load average is printed before and after: the ratios
are only comparable on an otherwise quiet machine. The ratio also depends on the run's
fixed cost (start-up, judging, reports: ~2.2 s on a quiet 2-core machine, ~5.5 s on a busy
one): the slowest answer of a default run alone takes ~3.2 s at 50 ms, so on a quiet machine
no concurrency brings the ratio under ~2.4; the seconds the slow pace adds are printed too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance.live.config import DEFAULT_CONCURRENCY  # noqa: E402

TARGET = 2.0


def one_run(delay: float, concurrency: int | None, reports: Path) -> float:
    """Wall seconds of one ``run`` (process start to exit); it must pass."""
    cmd = [sys.executable, "-m", "conformance.cli", "run", "--delay", str(delay), "--reports", str(reports)]
    if concurrency is not None:
        cmd += ["--concurrency", str(concurrency)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_CONFORMANCE_")}
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=reports.parent, env=env, timeout=600)
    took = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({' '.join(cmd[3:])}): exit {proc.returncode}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=None, help=f"for the fast and slow arms (default: the run's default, {DEFAULT_CONCURRENCY})")
    args = parser.parse_args()
    shown = args.concurrency or DEFAULT_CONCURRENCY
    arms = {
        f"fast  2 ms/event, concurrency {shown}": (0.002, args.concurrency),
        f"slow 50 ms/event, concurrency {shown}": (0.05, args.concurrency),
        "slow 50 ms/event, concurrency 1": (0.05, 1),
    }
    times: dict[str, list[float]] = {name: [] for name in arms}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="live-concurrency-") as tmp:
        for n in range(args.rounds):
            for name, (delay, concurrency) in arms.items():
                took = one_run(delay, concurrency, Path(tmp) / "reports")
                times[name].append(took)
                print(f"  round {n + 1}: {name:<36} {took:6.2f} s", flush=True)
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    median = {name: statistics.median(values) for name, values in times.items()}
    fast, slow, sequential = median.values()
    for name, value in median.items():
        print(f"{name:<38} median {value:6.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times[name])})")
    best = {name: min(values) for name, values in times.items()}
    ratio = slow / fast
    print(f"slow / fast at concurrency {shown}: {ratio:.2f} of the medians, {best_ratio(best):.2f} of the best runs "
          f"(target <= {TARGET}; one after another it was 3.6)  {'OK' if ratio <= TARGET else 'OVER TARGET'}")
    print(f"50 ms/event: concurrency 1 / concurrency {shown}: {sequential / slow:.2f}x of the medians")
    print(f"seconds the 50 ms pace adds to a run (medians): concurrency {shown} +{slow - fast:.2f} s, concurrency 1 +{sequential - fast:.2f} s "
          f"(the run's slowest answer alone, a variant, takes ~3.2 s at 50 ms: no concurrency adds less)")


def best_ratio(best: dict[str, float]) -> float:
    """slow / fast of each arm's quickest run: the least disturbed, on a shared machine."""
    fast, slow, _ = best.values()
    return slow / fast


if __name__ == "__main__":
    main()
