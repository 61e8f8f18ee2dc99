"""Crash safety: `digest run --send` killed with SIGKILL at any point, then run again.

The state is written in transactions (SQLite, WAL) and files are replaced atomically, so
after a kill the next run must produce the same issue, the state file must pass SQLite's
integrity check, and the issue must never be sent twice: either the next run sends it
(the kill came before the send), or it refuses and explains (the kill came during or
after it). Each kill point uses a fresh state.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.demo import DEMO_CONFIG, DemoServer, demo_until
from digest.demo.server import PLACEHOLDER
from tests import smtp

REPO = Path(__file__).resolve().parents[1]
KILL_AFTER = [0.4, 1.2, 2.0, 3.0]  # seconds: imports, fetching, extracting, writing/sending


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoServer]:
    with DemoServer() as server:
        yield server


def write_config(folder: Path, demo: DemoServer, port: int) -> Path:
    text = DEMO_CONFIG.read_text().replace(PLACEHOLDER, demo.base)
    text = text.replace("[network]", f'[network]\nallow_hosts = ["{demo.host_port}"]', 1)
    text += f"""
[delivery]
from = "Digest <digest@example.org>"
to = ["reader@example.org"]
smtp_host = "127.0.0.1"
smtp_port = {port}
security = "none"
"""
    path = folder / "digest.toml"
    path.write_text(text.replace('path = ".digest/demo.sqlite"', 'path = "state.sqlite"'))
    return path


def without_clock(text: str) -> str:
    """The issue minus the line saying when it was put together (the wall clock)."""
    return "\n".join(line for line in text.splitlines() if "Put together on" not in line)


def command(config: Path) -> list[str]:
    until = demo_until().isoformat()
    return [sys.executable, "-m", "digest", "run", "--config", str(config), "--until", until]


def run_to_end(config: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": str(REPO)}
    return subprocess.run(
        [*command(config), "--send", "--quiet"], capture_output=True, text=True, env=env
    )


def kill_after(config: Path, seconds: float) -> None:
    env = os.environ | {"PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [*command(config), "--send", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    time.sleep(seconds)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)  # the run and any worker it started
    process.wait()


def test_a_killed_run_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path, demo: DemoServer, inbox: tuple[smtp.Inbox, int]
) -> None:
    box, port = inbox
    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    reference = write_config(reference_dir, demo, port)
    assert run_to_end(reference).returncode == 0
    expected = without_clock((reference_dir / "out" / "digest.txt").read_text())
    box.messages.clear()
    box.envelopes.clear()
    for seconds in KILL_AFTER:
        folder = tmp_path / f"kill-{seconds}"
        folder.mkdir()
        config = write_config(folder, demo, port)
        before = len(box.messages)
        kill_after(config, seconds)
        again = run_to_end(config)
        sent = len(box.messages) - before
        assert sent <= 1, f"sent {sent} times after a kill at {seconds} s"
        if sent == 0 or again.returncode != 0:
            assert "already sent" in again.stderr or "being sent" in again.stderr, again.stderr
        assert without_clock((folder / "out" / "digest.txt").read_text()) == expected
        with sqlite3.connect(folder / "state.sqlite") as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
