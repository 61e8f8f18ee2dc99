"""The same week gives the same issue, byte for byte, whatever the process: the demo
run twice, in two processes with different PYTHONHASHSEED (set and dict orders change
with it), on the same port and into the same folder. Only the stage timings differ."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests import smtp
from tests.conftest import REPO

CHILD = """
import sys
from pathlib import Path

from digest.config import parse_config
from digest.demo import DemoServer, demo_raw, demo_until
from digest.pipeline import RunOptions, run
from tests.golden import CLOCK

work, port = Path(sys.argv[1]), int(sys.argv[2])
with DemoServer(port=port) as server:
    config = parse_config(demo_raw(server.base, server.host_port, work), work / "digest.toml")
    run(config, RunOptions(until=demo_until(), now=lambda: CLOCK))
"""
FILES = ("digest.html", "digest.txt", "digest.md", "digest.json", "digest.eml", "report.json")


def demo_in_a_process(work: Path, port: int, seed: str, keep: Path) -> dict[str, bytes]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    subprocess.run(
        [sys.executable, "-c", CHILD, str(work), str(port)],
        cwd=REPO,
        env=os.environ | {"PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)},
        check=True,
        timeout=300,
    )
    shutil.copytree(work / "out", keep)
    return {name: (keep / name).read_bytes() for name in FILES}


def test_the_demo_is_byte_identical_across_processes_and_hash_seeds(tmp_path: Path) -> None:
    port = smtp.free_port()
    work = tmp_path / "work"
    first = demo_in_a_process(work, port, "1", tmp_path / "seed-1")
    second = demo_in_a_process(work, port, "2", tmp_path / "seed-2")
    for name in FILES[:-1]:
        assert first[name] == second[name], name
    reports = [json.loads(run["report.json"]) for run in (first, second)]
    timings = [report.pop("timings") for report in reports]
    assert reports[0] == reports[1]
    assert set(timings[0]) == set(timings[1]) >= {"feeds", "pages", "detect", "cluster"}
    assert reports[0]["ai_articles"] == {"disclosed": 2} and reports[0]["stories"] == 7
