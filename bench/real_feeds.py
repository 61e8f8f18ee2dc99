"""`digest run` over the real feeds of ../shared/corpus, served on loopback.

    python bench/real_feeds.py [--since 36500d] [--work bench/work/real]

Checks that the run completes, and that report.json names every feed that failed
and why. Prints a summary; exits non-zero when a failed feed has no reason.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.feedserver import SHARED, FeedServer


def write_config(path: Path, server: FeedServer) -> None:
    lines = [
        "[network]",
        f'allow_hosts = ["{server.host_port}"]',
        "allow_public = false",
        "concurrency = 32",
        "per_host = 32",
        "[state]",
        'path = "state.sqlite"',
        "[output]",
        'dir = "out"',
    ]
    for url, original in server.feeds:
        name = (urlsplit(original).hostname or original).removeprefix("www.")
        lines += ["[[feeds]]", f"url = {json.dumps(url)}", f"name = {json.dumps(name)}"]
    path.write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--since", default="36500d")
    parser.add_argument("--work", type=Path, default=Path("bench/work/real"))
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"skipped: {SHARED} is absent")
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    with FeedServer() as server:
        write_config(args.work / "digest.toml", server)
        started = time.perf_counter()
        command = [
            sys.executable,
            "-m",
            "digest",
            "run",
            "--config",
            str(args.work / "digest.toml"),
            "--since",
            args.since,
            "--quiet",
        ]
        done = subprocess.run(command, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
    print(done.stdout.strip() or done.stderr.strip())
    report = json.loads((args.work / "out" / "report.json").read_text())
    return summarize(report, elapsed, done.returncode)


def summarize(report: dict[str, object], elapsed: float, code: int) -> int:
    feeds: list[dict[str, str]] = report["feeds"]  # type: ignore[assignment]
    statuses = Counter(f["status"] for f in feeds)
    print(
        f"exit {code} in {elapsed:.1f} s; feeds: {dict(statuses)}; "
        f"entries {report['entries']}, stories {report['stories']}"
    )
    silent = [f for f in feeds if f["status"] == "failed" and not f["reason"]]
    for feed in feeds:
        if feed["status"] == "failed":
            print(f"  failed {feed['name']}: {feed['reason']}")
    warned = sum(1 for f in feeds if f.get("warnings"))
    print(f"  {warned} feeds with warnings; {len(report['pages_failed'])} pages failed")  # type: ignore[arg-type]
    return 1 if silent or code != 0 else 0


if __name__ == "__main__":
    raise SystemExit(main())
