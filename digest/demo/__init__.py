"""The built-in demo: a corpus of invented automotive news and the config that reads it."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

from digest.config import Config, parse_config
from digest.demo.server import CORPUS, PLACEHOLDER, DemoServer

DEMO_CONFIG = Path(__file__).parent / "digest.toml"

__all__ = ["CORPUS", "DemoServer", "demo_config", "demo_raw", "demo_until"]


def demo_raw(base: str, host_port: str, workdir: Path | None = None) -> dict[str, Any]:
    """The demo's config as data, its feeds pointing at a running `DemoServer`; with
    `workdir`, its state and output live there (for tests and tools to adjust)."""
    raw = tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8").replace(PLACEHOLDER, base))
    raw.setdefault("network", {})["allow_hosts"] = [host_port]
    if workdir is not None:
        raw["state"] = {"path": str(workdir / "state.sqlite")}
        raw["output"] = {"dir": str(workdir / "out")}
    return raw


def demo_config(base: str, host_port: str) -> Config:
    """The demo's config with its feeds pointing at a running `DemoServer`."""
    return parse_config(demo_raw(base, host_port), Path.cwd() / "digest.toml")


def demo_until() -> datetime:
    """The end of the demo corpus's week: the demo's window always covers it."""
    expect = tomllib.loads((CORPUS / "expect.toml").read_text(encoding="utf-8"))
    return datetime.fromisoformat(str(expect["week_end"]))
