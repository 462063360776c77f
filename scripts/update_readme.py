"""Regenerate the README's generated parts: the rule table, the catalogue's figures, the
`validate` example, the terminal of a live run, and the figures quoted in its prose.

    python scripts/update_readme.py           # rewrite README.md (runs the live example: ~7 s)
    python scripts/update_readme.py --check   # exit 1, naming what is stale (all but the live run)

Each block sits between `<!-- BEGIN name -->` and `<!-- END name -->` markers; a figure in the
prose is found by the words around it (``PROSE``). tests/test_catalogue.py fails when any of
them is stale, so a new rule, fault or fixture cannot leave the README counting the old ones.
The live run's terminal is not re-run by the check (a run takes seconds); its figures are
checked instead: every scenario line counts each rule once.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance.cli import main, rules_markdown  # noqa: E402
from conformance.findings import ERROR  # noqa: E402
from conformance.live.scenarios import SCENARIOS  # noqa: E402
from conformance.plugin import DEFAULT_VARIANTS  # noqa: E402
from conformance.reference import FAULTS  # noqa: E402
from conformance.reference.coverage import NO_FAULT, UNDER_REPLAY  # noqa: E402
from conformance.rules import all_rules  # noqa: E402

EXAMPLE = "fixtures/violations/sse.done/no-blank-line.sse"
# the live run shown under "What a run prints": the embedded endpoint, made to repeat `role`
RUN = ("run", "--fault", "role-repeated", "--skip", "reasoning")
RUN_DIR = Path("/tmp/sse-conformance-demo")  # a fixed place, so the report's path is the same every time
PORT = "41807"  # the embedded endpoint's port is picked at random: shown as this one
FIXTURES = ROOT / "fixtures"
WORDS = ("No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten")


def _word(n: int) -> str:
    return WORDS[n] if n < len(WORDS) else str(n)


def figures() -> dict[str, int]:
    """Every figure the README quotes, computed from the code and the fixtures."""
    rules = all_rules()
    shown = {r for f in FAULTS.values() for r in f.rules} | {r for ids in UNDER_REPLAY.values() for r in ids}
    return {
        "rules": len(rules),
        "errors": sum(r.severity == ERROR for r in rules),
        "warnings": sum(r.severity != ERROR for r in rules),
        "conditional": sum(r.severity_note is not None for r in rules),
        "client_rules": sum(r.group == "client" for r in rules),
        "faults": sum(not f.legal for f in FAULTS.values()),
        "legal_faults": sum(f.legal for f in FAULTS.values()),
        "shown_live": len(shown & {r.id for r in rules}),
        "no_fault": len(NO_FAULT),
        "violations": len(list((FIXTURES / "violations").rglob("*.sse"))),
        "conformant": len(list((FIXTURES / "conformant").rglob("*.sse"))),
        "scenarios": len(SCENARIOS),
        "rule_checks": len(SCENARIOS) * len(rules),  # a live run: one item per scenario and rule
        "variants": DEFAULT_VARIANTS,
    }


def figures_markdown(f: dict[str, int]) -> str:
    """The catalogue's figures, one paragraph above the rule table."""
    reasons = f"; {f['no_fault']} cannot, each with its reason (reference/coverage.py)" if f["no_fault"] else ""
    text = (
        f"{f['rules']} rules: {f['errors']} errors and {f['warnings']} warnings ({f['conditional']} with a conditional "
        f"severity), {f['client_rules']} of them client rules (`--clients`). {f['violations']} recordings under "
        f"`fixtures/violations/` break the others, each the rules its sidecar names, and {f['conformant']} under "
        f"`fixtures/conformant/` stay quiet; the client rules are broken by the streams of `tests/clients_streams.py`. "
        f"{f['shown_live']} rules can be shown live by one of the reference endpoint's {f['faults']} faults (the client "
        f"rules once the run replays through the clients){reasons}; {f['legal_faults']} more faults frame legally but awkwardly."
    )
    return textwrap.fill(text, 95, break_on_hyphens=False, break_long_words=False) + "\n"


# Figures quoted in the prose: (pattern with one group per figure, the figures' names). The
# words around a figure find it, so rewording the sentence means updating the pattern.
PROSE: list[tuple[str, tuple[str, ...]]] = [
    (r"(\w+) rules have a conditional severity", ("conditional",)),
    (r"a whole run \((\d+) scenarios, (\d+) rule checks, (\d+)\s+request variants\)", ("scenarios", "rule_checks", "variants")),
]


def _prose(text: str, f: dict[str, int]) -> str:
    for pattern, names in PROSE:
        compiled = re.compile(pattern)
        m = compiled.search(text)
        if m is None:
            raise SystemExit(f"README.md no longer says {pattern!r}: update PROSE in scripts/update_readme.py")
        out, last = [], m.start()
        for k, name in enumerate(names, start=1):
            out.append(text[last : m.start(k)])
            value = f[name]
            out.append(_word(value) if not m.group(k).isdigit() else str(value))
            last = m.end(k)
        text = text[: m.start()] + "".join(out) + text[last:]
    return text


def live_run() -> str:
    """The terminal of ``sse-conformance run`` (RUN) against the embedded endpoint, at 80 columns."""
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    RUN_DIR.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_CONFORMANCE_")}
    env["COLUMNS"] = "80"
    proc = subprocess.run([sys.executable, "-m", "conformance.cli", *RUN], capture_output=True, text=True, cwd=RUN_DIR, env=env, timeout=300)
    if proc.returncode != 1:  # the fault fails one rule: exit 1
        raise SystemExit(f"the example run exited {proc.returncode}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    text = re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{PORT}", proc.stdout.rstrip())
    return f"```\n{text}\n```\n"


SCENARIO_LINE = re.compile(r"^  live/\S+ .*\bpass +(\d+) +fail +(\d+) +warn +(\d+) +n/a +(\d+)$", re.M)


def run_counts_stale(text: str) -> bool:
    """True when a scenario line of the live run's terminal does not count every rule once."""
    block = _block(text, "run-example") or ""
    counts = [sum(map(int, m.groups())) for m in SCENARIO_LINE.finditer(block)]
    return not counts or any(n != len(all_rules()) for n in counts)


def generated(example: bool = True, live: bool = False) -> dict[str, str]:
    parts = {"rules": rules_markdown(all_rules()), "figures": figures_markdown(figures())}
    if example:
        out = io.StringIO()
        main(["validate", EXAMPLE], out, io.StringIO())
        parts["example"] = f"```\n$ sse-conformance validate {EXAMPLE}\n{out.getvalue().rstrip()}\n```\n"
    if live:
        parts["run-example"] = live_run()
    return parts


def _between(body: str) -> Callable[[re.Match[str]], str]:
    return lambda m: m.group(1) + body + m.group(2)


def update(text: str, example: bool = True, live: bool = False) -> str:
    for name, body in generated(example, live).items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no {name} markers")
        text = pattern.sub(_between(body), text)
    return _prose(text, figures())


def _block(text: str, name: str) -> str | None:
    m = re.search(rf"<!-- BEGIN {name} -->\n(.*?)<!-- END {name} -->", text, re.S)
    return None if m is None else m.group(1)


def stale(text: str, example: bool = True) -> list[str]:
    """The generated parts of ``text`` that differ from what the code says now (the live run's
    terminal by its figures only)."""
    fresh = update(text, example)
    found = [n for n in generated(example) if _block(text, n) != _block(fresh, n)]
    if fresh != text and not found:
        found.append("a figure in the prose")
    if run_counts_stale(text):
        found.append("run-example")
    return found


def _run(argv: list[str], write: Callable[[str], object]) -> int:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    if "--check" in argv:
        names = stale(text)
        if names:
            write(f"README.md is stale ({', '.join(names)}): python scripts/update_readme.py\n")
            return 1
        return 0
    readme.write_text(update(text, live=True), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(_run(sys.argv[1:], sys.stderr.write))
