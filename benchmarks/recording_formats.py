"""What reading a stream out of a cassette or HAR file costs, next to reading the same .sse.

    python benchmarks/recording_formats.py [--source fixtures/real/groq-reasoning.sse] [--rounds 7]

Writes the source body (with its sidecar's request, status and headers) as a .sse recording
and as every other format (VCR.py quoted / literal / gzip !!binary, go-vcr, HAR plain and
base64), then, alternating in each round, reads each file (recordings.read) and judges the
exchange. Reports the best time of each and its ratio to the .sse: the cost of the format's
parser and content decoding, judged on one machine in one run. No target: the judge
dominates; this shows whether a reader ever does.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance.judge import judge  # noqa: E402
from conformance.recordings import read  # noqa: E402

_spec = importlib.util.spec_from_file_location("make_cassettes", ROOT / "scripts" / "make_cassettes.py")
assert _spec is not None and _spec.loader is not None
mc = importlib.util.module_from_spec(_spec)
sys.modules["make_cassettes"] = mc
_spec.loader.exec_module(mc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(ROOT / "fixtures" / "real" / "groq-reasoning.sse"))
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    src = Path(args.source)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        call = mc.from_fixture(src)
        sse = folder / "body.sse"
        sse.write_bytes(call.body)
        sse.with_suffix(".json").write_text(json.dumps({"request": call.request, "status": call.status, "headers": call.headers}))
        gz = mc.from_fixture(src, gzip=True)
        files = {
            ".sse": sse,
            "VCR.py quoted": (folder / "q.yaml", mc.vcr_yaml([call])),
            "VCR.py literal": (folder / "l.yaml", mc.vcr_yaml([call], literal=True)),
            "VCR.py gzip !!binary": (folder / "g.yaml", mc.vcr_yaml([gz])),
            "go-vcr": (folder / "go.yaml", mc.govcr_yaml([call])),
            "HAR": (folder / "h.har", mc.har_json([call])),
            "HAR base64": (folder / "b.har", mc.har_json([call], base64_bodies=True)),
        }
        paths: dict[str, Path] = {}
        for name, item in files.items():
            if isinstance(item, tuple):
                item[0].write_text(item[1], encoding="utf-8")
                item = item[0]
            paths[name] = item
        best_read = dict.fromkeys(paths, float("inf"))
        best_all = dict.fromkeys(paths, float("inf"))
        for _ in range(args.rounds):
            for name, path in paths.items():
                t0 = time.perf_counter()
                (recorded,) = read(path).exchanges
                t1 = time.perf_counter()
                judge(recorded.exchange)
                t2 = time.perf_counter()
                assert recorded.exchange.body == call.body
                best_read[name] = min(best_read[name], t1 - t0)
                best_all[name] = min(best_all[name], t2 - t0)
        sizes = {name: path.stat().st_size for name, path in paths.items()}
    size = len(call.body)
    print(f"source {src.name}: {size:,} bytes; best of {args.rounds} rounds")
    print(f"{'format':<22} {'file':>10} {'read ms':>9} {'read+judge ms':>14} {'x .sse (read+judge)':>20}")
    for name in paths:
        print(f"{name:<22} {sizes[name]:>10,} {best_read[name] * 1000:>9.2f} {best_all[name] * 1000:>14.2f} {best_all[name] / best_all['.sse']:>20.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
