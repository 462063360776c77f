"""What a slow endpoint costs a live run, with and without concurrent captures, and where.

    python benchmarks/live_concurrency.py [--rounds 2] [--concurrency N] [--served]

Runs the full ``sse-conformance run`` (9 scenarios, 8 variants, reports written) against the
embedded reference endpoint (``run --delay``), each run in its own process, in three arms per
round:
  (a) fast:  2 ms between events (the endpoint's default), default concurrency;
  (b) slow:  50 ms between events (a model streaming ~20 tokens/s), default concurrency;
  (c) slow, --concurrency 1: one capture after another (the behaviour before concurrency).
The arms alternate within each round, so a disturbed round disturbs all three. Reports the
median wall time of each arm, and the ratios slow/fast (target <= 2.0: a run against a slow
model should cost about its slowest answers, not their sum; one after another it was 3.6)
and sequential/concurrent at 50 ms. ``--concurrency N`` sets the concurrency of arms (a)
and (b) instead of the default. The load average is printed before and after: the ratios
are only comparable on an otherwise quiet machine. With ``--served`` the reference endpoint
runs in its own process (``serve --delay``, one per pace) and the runs use ``--endpoint``, as
against a real endpoint: the embedded endpoint shares the run's process, and its pace (a
sleep between events) stretches with every stream it serves and with the machine's load.

Each run also records its timeline (this module is loaded into the run's pytest with ``-p``:
it times every capture, ``runner.capture``, on the machine's monotonic clock), in seconds
since the run's process was started:
  ready       the selected items are known (end of collection): start-up (imports, the
              embedded endpoint, collection) lies before it;
  first       the first request is sent (the canary);
  last start  the last request is sent: how long the latest capture waited for a slot;
  last end    the last byte of the last answer: the network part ends here;
  judged      every item has judged (pytest's session finishes);
  exit        the process has ended (reports written, endpoint stopped).
``network`` (last end - first) is the part the pace of the endpoint lengthens: on a loaded
machine start-up and judging stretch in both arms alike and move the ratio, the network
seconds much less. ``longest`` is the longest single capture (request to last byte): at 50 ms
the plain request (the canary, sent first), ~2.1 s when nothing slows the endpoint; network
seconds above it are captures waiting for a slot, or started late.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance.live.config import DEFAULT_CONCURRENCY  # noqa: E402

TARGET = 2.0
TIMELINE_ENV = "LIVE_CONCURRENCY_TIMELINE"  # the run's side writes its timeline to this file
COLUMNS = ("ready", "first", "last start", "last end", "judged", "exit")


# ---------------------------------------------------------------------------------------
# the run's side: hooks of the pytest the run drives, active only when TIMELINE_ENV is set

_events: dict[str, Any] = {"captures": []}


def pytest_configure(config: Any) -> None:
    """Time every capture of the run (start, end), whichever thread sends it."""
    if not os.environ.get(TIMELINE_ENV):
        return
    from conformance.live import runner

    inner = runner.capture

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        try:
            return inner(*args, **kwargs)
        finally:
            _events["captures"].append((started, time.monotonic(), kwargs.get("source")))  # list.append: one step under the GIL

    runner.capture = timed  # type: ignore[assignment]


def pytest_collection_finish(session: Any) -> None:
    _events["ready"] = time.monotonic()


def pytest_sessionfinish(session: Any) -> None:
    _events["judged"] = time.monotonic()


def pytest_unconfigure(config: Any) -> None:
    path = os.environ.get(TIMELINE_ENV)
    if path:
        Path(path).write_text(json.dumps(_events), encoding="utf-8")


# ---------------------------------------------------------------------------------------
# the benchmark's side


def served(delay: float) -> contextlib.AbstractContextManager[str]:
    """The reference endpoint in its own process at this pace; its base URL."""
    from live_overhead import server_process

    return server_process(delay, SERVED_KEY)


SERVED_KEY = "sk-benchmark"


def one_run(delay: float, concurrency: int | None, reports: Path, endpoint: str | None = None) -> dict[str, float]:
    """One ``run`` (it must pass): its timeline, seconds since its process was started.
    With ``endpoint`` (served at ``delay`` already), against it instead of the embedded one."""
    pace = ["--endpoint", endpoint] if endpoint else ["--delay", str(delay)]
    cmd = [sys.executable, "-m", "conformance.cli", "run", *pace, "--reports", str(reports)]
    if concurrency is not None:
        cmd += ["--concurrency", str(concurrency)]
    timeline = reports.parent / "timeline.json"
    timeline.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_CONFORMANCE_")}
    if endpoint:
        env["SSE_CONFORMANCE_API_KEY"] = SERVED_KEY
    env[TIMELINE_ENV] = str(timeline)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parent), *filter(None, [env.get("PYTHONPATH")])])
    started = time.monotonic()
    proc = subprocess.run([*cmd, "-p", Path(__file__).stem], capture_output=True, text=True, cwd=reports.parent, env=env, timeout=600)
    ended = time.monotonic()
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({' '.join(cmd[3:])}): exit {proc.returncode}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    seen = json.loads(timeline.read_text(encoding="utf-8"))
    captures = seen["captures"]
    return {
        "ready": seen["ready"] - started,
        "first": min(s for s, _, _ in captures) - started,
        "last start": max(s for s, _, _ in captures) - started,
        "last end": max(e for _, e, _ in captures) - started,
        "judged": seen["judged"] - started,
        "exit": ended - started,
        "longest": max(e - s for s, e, _ in captures),
        "requests": len(captures),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=None, help=f"for the fast and slow arms (default: the run's default, {DEFAULT_CONCURRENCY})")
    parser.add_argument("--served", action="store_true", help="the reference endpoint in its own process, not embedded in each run")
    args = parser.parse_args()
    shown = args.concurrency or DEFAULT_CONCURRENCY
    arms = {
        f"fast  2 ms/event, concurrency {shown}": (0.002, args.concurrency),
        f"slow 50 ms/event, concurrency {shown}": (0.05, args.concurrency),
        "slow 50 ms/event, concurrency 1": (0.05, 1),
    }
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in arms}
    print(f"endpoint: {'the reference endpoint in its own process (serve --delay)' if args.served else 'embedded in each run (run --delay)'}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="live-concurrency-") as tmp, contextlib.ExitStack() as stack:
        endpoints = {delay: stack.enter_context(served(delay)) if args.served else None for delay in sorted({d for d, _ in arms.values()})}
        # untimed: the first generation of variants in a folder scans the local modules for
        # hypothesis's constants (~2 s of CPU, cached in .hypothesis/constants of the run's
        # folder); unwarmed, the first arm of round 1 alone paid it
        one_run(0.002, args.concurrency, Path(tmp) / "reports", endpoints[0.002])
        for n in range(args.rounds):
            for name, (delay, concurrency) in arms.items():
                seen = one_run(delay, concurrency, Path(tmp) / "reports", endpoints[delay])
                runs[name].append(seen)
                print(f"  round {n + 1}: {name:<36} {seen['exit']:6.2f} s  ({_timeline(seen)}; {seen['requests']:g} requests)", flush=True)
    print(f"load average after:  {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    median = {name: {col: statistics.median(r[col] for r in values) for col in (*COLUMNS, "longest")} for name, values in runs.items()}
    print("\nmedians, seconds since the run's process started (network: first to last end; longest: one capture):")
    print(f"{'':<38}" + "".join(f"{col:>11}" for col in COLUMNS) + f"{'network':>11}{'longest':>11}")
    for name, m in median.items():
        print(f"{name:<38}" + "".join(f"{m[col]:11.2f}" for col in COLUMNS) + f"{m['last end'] - m['first']:11.2f}{m['longest']:11.2f}")
    fast, slow, sequential = (m["exit"] for m in median.values())
    best = [min(r["exit"] for r in values) for values in runs.values()]
    ratio = slow / fast
    print(f"\nslow / fast at concurrency {shown}: {ratio:.2f} of the medians, {best[1] / best[0]:.2f} of the best runs "
          f"(target <= {TARGET}; one after another it was 3.6)  {'OK' if ratio <= TARGET else 'OVER TARGET'}")
    print(f"50 ms/event: concurrency 1 / concurrency {shown}: {sequential / slow:.2f}x of the medians")
    network = {name: m["last end"] - m["first"] for name, m in median.items()}
    net_fast, net_slow, net_sequential = network.values()
    print(f"network seconds (first request to last byte, medians): 2 ms {net_fast:.2f}, 50 ms {net_slow:.2f}, 50 ms one after another {net_sequential:.2f}; "
          f"the 50 ms pace adds {net_slow - net_fast:.2f} s of network at concurrency {shown} "
          f"(the longest single capture at 50 ms: {median[list(arms)[1]]['longest']:.2f} s, the floor of any concurrency)")
    print(f"seconds the 50 ms pace adds to a run (wall, medians): concurrency {shown} +{slow - fast:.2f} s, concurrency 1 +{sequential - fast:.2f} s")


def _timeline(seen: dict[str, float]) -> str:
    return ", ".join(f"{col} {seen[col]:.2f}" for col in (*COLUMNS[:-1], "longest"))


if __name__ == "__main__":
    main()
