"""``python -m conformance.clients install``: prepare the Node clients (npm ci into the cache),
so that a CI run replays through them without installing on first use; prints the versions."""

from __future__ import annotations

import sys

from .names import CLIENTS
from .node import install
from .replay import client_versions


def main(argv: list[str]) -> int:
    if argv[:1] != ["install"]:
        sys.stderr.write("usage: python -m conformance.clients install\n")
        return 2
    folder, reason = install()
    if folder is None:
        sys.stderr.write(f"Node clients not prepared: {reason}\n")
        return 1
    sys.stdout.write(f"Node clients in {folder}\n")
    for name, version in client_versions(CLIENTS, folder).items():
        sys.stdout.write(f"  {name}: {version}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
