"""Collect every entry, then write the files or check them against fixtures/.

The generated folders (conformant/, violations/) hold exactly what the entries write: a file
that differs, is missing, or that no entry owns fails `--check`. That is the invariant that
keeps the corpus one source.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import AREAS
from .real import real_files

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
GENERATED_DIRS = ("conformant", "violations")


def generated_files() -> dict[str, bytes]:
    """Every generated file, by path relative to fixtures/; two entries for one path is an error."""
    files: dict[str, bytes] = {}
    for area in AREAS:
        for entry in area.fixtures():
            for rel, data in entry.files().items():
                if rel in files:
                    raise SystemExit(f"two generator entries write fixtures/{rel} ({area.__name__})")
                files[rel] = data
    return files


def unowned(files: dict[str, bytes], root: Path) -> list[str]:
    """Files in the generated folders that no entry writes (hand-made, or an entry removed)."""
    on_disk = {p.relative_to(root).as_posix() for d in GENERATED_DIRS for p in (root / d).rglob("*") if p.is_file()}
    return sorted(on_disk - files.keys())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="make_fixtures.py",
                                 description="Write (or --check) fixtures/conformant and fixtures/violations.")
    ap.add_argument("--check", action="store_true",
                    help="write nothing; exit 1 if a file differs, is missing, or is owned by no entry")
    ap.add_argument("--real", type=Path, metavar="SRC_DIR",
                    help="also (re)write fixtures/real/ from the shared corpus directory SRC_DIR")
    ap.add_argument("--fixtures", type=Path, default=FIXTURES, metavar="DIR",
                    help="the fixtures folder to write or check (default: this checkout's fixtures/)")
    args = ap.parse_args(argv)
    root: Path = args.fixtures

    files = generated_files()
    if args.real:
        files.update(real_files(args.real))
    changed = [rel for rel, data in sorted(files.items())
               if not (root / rel).exists() or (root / rel).read_bytes() != data]
    orphans = unowned(files, root)
    for rel in orphans:
        print(f"owned by no generator entry: fixtures/{rel}")
    if args.check:
        for rel in changed:
            print(f"differs from the generator: fixtures/{rel}")
        return 1 if changed or orphans else 0
    for rel in changed:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(files[rel])
    print(f"{len(files)} files, {len(changed)} written")
    return 1 if orphans else 0


if __name__ == "__main__":
    sys.exit(main())
