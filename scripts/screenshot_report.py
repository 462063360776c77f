"""Render the report of a failing run in headless Chromium and keep a screenshot.

    python scripts/screenshot_report.py [--fault role-repeated] [--out docs/report.png]
    python scripts/screenshot_report.py --model sansa-fast --model openai/gpt-4o \
        --fault role-repeated --fault tool-call-no-id@openai/gpt-4o --out docs/report-models.png

Runs `sse-conformance run --fault FAULT` against the embedded endpoint (a failing run on
purpose), then loads reports/report.html in Debian's chromium (`apt-get install chromium`)
and writes the PNG the README shows. Needs no network: Chromium is started with the flags
that keep it off it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fault", action="append", help="repeatable; NAME@MODEL for one model only (default role-repeated)")
    ap.add_argument("--model", action="append", default=[], help="repeatable: a run of several models shows the model matrix")
    ap.add_argument("--out", default=str(ROOT / "docs" / "report.png"))
    ap.add_argument("--size", default="1100,1500", help="window width,height in pixels")
    args = ap.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("chromium not found: apt-get install chromium", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        reports = Path(tmp) / "reports"
        faults = args.fault or ["role-repeated"]
        extra = [a for f in faults for a in ("--fault", f)] + [a for m in args.model for a in ("--model", m)]
        run = subprocess.run([sys.executable, "-m", "conformance.cli", "run", *extra, "--variants", "0", "--reports", str(reports), "-q"], cwd=tmp)
        if run.returncode not in (0, 1):
            return run.returncode
        page = reports / "report.html"
        out = Path(args.out).resolve()
        out.parent.mkdir(parents=True, exist_ok=True)
        shot = subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}", f"--window-size={args.size}", f"--screenshot={out}", page.as_uri()],
            capture_output=True, text=True, timeout=120,
        )
        if not out.exists():
            print(shot.stderr[-2000:], file=sys.stderr)
            return 1
    print(f"screenshot of a failing run (--fault {','.join(faults)}): {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
