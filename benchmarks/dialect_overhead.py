"""What judging under a dialect costs, as ratios measured in one run.

    python benchmarks/dialect_overhead.py [--mb 5] [--repeat 5]

Over the same generated corpus as validate_throughput.py, decoded once, times every rule
(a) run bare (judge.run_rule) and (b) run through the dialect step (judge.run_under_profile)
under sansa, under azure (two quirks) and under a dialect with a demotion and a quirk on every
rule that fires nowhere, and prints (b)/(a) for each. Rounds alternate, so a busy shared
machine slows both sides alike; the best round of each counts. Target: each ratio <= 1.05.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from validate_throughput import make_corpus  # noqa: E402

from conformance.exchange import Exchange  # noqa: E402
from conformance.judge import run_rule, run_under_profile  # noqa: E402
from conformance.profiles import Profile, get_profile  # noqa: E402
from conformance.rules import all_rules  # noqa: E402
from conformance.stream import Stream, decode  # noqa: E402

BUSY = """extends = "openai"
name = "busy"
[rules."tools.index"]
action = "warn"
reason = "benchmark"
[[quirks]]
name = "everywhere"
explanation = "benchmark"
rules = [{rules}]
where = [{{ path = "$.choices[*].delta.content", present = true }}]
"""


def streams(bodies: list[bytes], profile: Profile) -> list[Stream]:
    return [decode(Exchange(b), profile) for b in bodies]


def judge_all(decoded: list[Stream], through_profile: bool) -> float:
    rules = all_rules()
    step = run_under_profile if through_profile else run_rule
    t0 = time.perf_counter()
    for stream in decoded:
        for r in rules:
            step(r, stream)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=float, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    bodies = make_corpus(args.mb)
    with tempfile.TemporaryDirectory() as tmp:
        busy = Path(tmp) / "busy.toml"
        busy.write_text(BUSY.format(rules=", ".join(f'"{r.id}"' for r in all_rules())), encoding="utf-8")
        profiles = [get_profile("sansa"), get_profile("azure"), get_profile(str(busy))]
    print(f"corpus: {len(bodies)} streams, {sum(map(len, bodies)) / 1e6:.1f} MB")
    for profile in profiles:
        decoded = streams(bodies, profile)
        bare = through = float("inf")
        for i in range(args.repeat):  # alternate which side goes first
            for side in ((False, True) if i % 2 else (True, False)):
                took = judge_all(decoded, side)
                if side:
                    through = min(through, took)
                else:
                    bare = min(bare, took)
        calls = len(decoded) * len(all_rules())
        print(f"{profile.name:<8} rules bare {bare:.3f} s, through the dialect step {through:.3f} s: ratio {through / bare:.3f}"
              f" ({(through - bare) / calls * 1e6:+.2f} us a rule call)")


if __name__ == "__main__":
    main()
