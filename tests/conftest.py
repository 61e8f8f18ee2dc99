"""Shared fixtures: loopback servers, a config builder, the corpus location."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from digest.config import Config, parse_config
from tests import smtp
from tests.servers import HTTPServer

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"

# tiktoken (and digest.summarize.tokens) read encoding files from this cache, filled from
# npm by `python scripts/tiktoken_cache.py` (`make test` runs it): set at import time so
# every test sees the repository's cache, never a download. An outer setting wins.
os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(REPO / ".cache" / "tiktoken"))


@pytest.fixture
def corpus() -> Path:
    """../shared/corpus, or a clean skip where it is absent."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is absent")
    return CORPUS


@pytest.fixture
def inbox() -> Iterator[tuple[smtp.Inbox, int]]:
    """A real SMTP server (aiosmtpd) on loopback: the inbox, and the port it listens on."""
    box = smtp.Inbox()
    controller = smtp.start(box)
    yield box, controller.port
    controller.stop()


@pytest.fixture
def http_server() -> Iterator[HTTPServer]:
    with HTTPServer() as server:
        yield server


def make_config(tmp_path: Path, allow: list[str], **sections: Any) -> Config:
    """A config whose state and output live in `tmp_path`, allowlisting `allow`."""
    raw: dict[str, Any] = {
        "newsletter": {"title": "Test Motoring Weekly", "editor": "Sam Reed"},
        "state": {"path": str(tmp_path / "state.sqlite")},
        "output": {"dir": str(tmp_path / "out")},
        "network": {
            "allow_hosts": allow,
            "allow_public": False,  # belt and braces: tests never leave loopback
            "connect_timeout": 2,
            "read_timeout": 3,
        },
    }
    for name, value in sections.items():
        if isinstance(value, dict) and isinstance(raw.get(name), dict):
            raw[name] = raw[name] | value
        else:
            raw[name] = value
    return parse_config(raw, tmp_path / "digest.toml")
