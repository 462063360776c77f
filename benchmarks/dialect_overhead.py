"""What judging under a dialect costs, as ratios measured in one run.

    python benchmarks/dialect_overhead.py [--mb 5] [--repeat 5]

Over the same generated corpus as validate_throughput.py, times judging every stream
(a) with the dialect step made a no-op (Profile.adjust returning the rule's own result) and
(b) with it (judge.judge_exchange: the one pass, every rule, then the dialect's step; the
switch-offs are planned once per selection) under sansa, under azure (two quirks) and under
a dialect with a demotion and a quirk on every rule that fires nowhere, and prints (b)/(a)
for each. Rounds alternate, so a busy shared machine slows both sides alike; the best round
of each counts. Target: each ratio <= 1.05.
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
from conformance.findings import RuleResult  # noqa: E402
from conformance.judge import judge_exchange  # noqa: E402
from conformance.profiles import Profile, get_profile  # noqa: E402
from conformance.rules import all_rules  # noqa: E402

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


_ADJUST = Profile.adjust


def _bare(self: Profile, result: RuleResult, events: object) -> RuleResult:
    return result


def judge_all(bodies: list[bytes], profile: Profile, through_profile: bool) -> float:
    Profile.adjust = _ADJUST if through_profile else _bare  # type: ignore[method-assign,assignment]
    try:
        t0 = time.perf_counter()
        for body in bodies:
            judge_exchange(Exchange(body), profile)
        return time.perf_counter() - t0
    finally:
        Profile.adjust = _ADJUST  # type: ignore[method-assign]


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
        bare = through = float("inf")
        for i in range(args.repeat):  # alternate which side goes first
            for side in ((False, True) if i % 2 else (True, False)):
                took = judge_all(bodies, profile, side)
                if side:
                    through = min(through, took)
                else:
                    bare = min(bare, took)
        calls = len(bodies) * len(all_rules())
        print(f"{profile.name:<8} rules bare {bare:.3f} s, through the dialect step {through:.3f} s: ratio {through / bare:.3f}"
              f" ({(through - bare) / calls * 1e6:+.2f} us a rule call)")


if __name__ == "__main__":
    main()
