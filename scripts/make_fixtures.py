#!/usr/bin/env python3
"""Write the project's own recorded-stream corpus: fixtures/conformant/ and fixtures/violations/.

The generator is the package scripts/fixturegen/ (one module per spec area; fixtures/README.md
says how to add a fixture). This file is the entry point that commands and docs name.

    python scripts/make_fixtures.py            # (re)write the fixtures
    python scripts/make_fixtures.py --check    # exit 1 if a file differs, is missing, or no entry owns it
    python scripts/make_fixtures.py --real /work/shared/corpus/real   # also refresh fixtures/real/

Standard library only; deterministic (no clock, no randomness, no environment).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fixturegen.cli import main  # noqa: E402  (the path above makes the package importable)

if __name__ == "__main__":
    sys.exit(main())
