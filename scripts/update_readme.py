"""Regenerate the README's generated parts: the rule table and the `validate` example.

    python scripts/update_readme.py

Each part sits between `<!-- BEGIN name -->` and `<!-- END name -->` markers; a test checks
that the rule table is current.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance.cli import main, rules_markdown  # noqa: E402
from conformance.rules import all_rules  # noqa: E402

EXAMPLE = "fixtures/violations/sse.done/no-blank-line.sse"


def generated() -> dict[str, str]:
    out = io.StringIO()
    main(["validate", EXAMPLE], out, io.StringIO())
    return {
        "rules": rules_markdown(all_rules()),
        "example": f"```\n$ sse-conformance validate {EXAMPLE}\n{out.getvalue().rstrip()}\n```\n",
    }


def update(text: str) -> str:
    for name, body in generated().items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no {name} markers")
        text = pattern.sub(lambda m: m.group(1) + body + m.group(2), text)  # noqa: B023 (sub calls it before the loop moves on)
    return text


if __name__ == "__main__":
    readme = ROOT / "README.md"
    readme.write_text(update(readme.read_text(encoding="utf-8")), encoding="utf-8")
