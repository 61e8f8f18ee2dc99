"""Golden files of the demo digest: build them, compare them, regenerate them.

python -m tests.golden      # (or `make golden`) rewrite tests/golden/ after an intended change
"""

from __future__ import annotations

import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from digest.demo import DemoServer, demo_config, demo_until
from digest.pipeline import RunOptions, RunResult, run

GOLDEN = Path(__file__).parent / "golden"
FILES = ("digest.html", "digest.txt", "digest.md")
CLOCK = datetime(2026, 11, 16, 7, 30, tzinfo=UTC)
PORT = re.compile(r"127\.0\.0\.1:\d+")


def build_demo(workdir: Path, fetch: str = "needed") -> tuple[RunResult, dict[str, str]]:
    """Run the demo with a fixed clock into `workdir`; the files with the port masked.
    `fetch`: `[performance] fetch` ("all": every entry's page)."""
    with DemoServer() as server:
        config = demo_config(server.base, server.host_port)
        config = config.model_copy(
            update={
                "state": config.state.model_copy(update={"path": workdir / "state.sqlite"}),
                "output": config.output.model_copy(update={"dir": workdir / "out"}),
                "performance": config.performance.model_copy(update={"fetch": fetch}),
            }
        )
        result = run(config, RunOptions(until=demo_until(), now=lambda: CLOCK))
    files = {name: normalize((workdir / "out" / name).read_text()) for name in FILES}
    return result, files


def normalize(text: str) -> str:
    return PORT.sub("127.0.0.1:PORT", text)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _, files = build_demo(Path(tmp))
    GOLDEN.mkdir(exist_ok=True)
    for name, text in files.items():
        (GOLDEN / f"demo.{name.split('.')[1]}").write_text(text)
        print(f"wrote tests/golden/demo.{name.split('.')[1]}")


if __name__ == "__main__":
    main()
