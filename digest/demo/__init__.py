"""The built-in demo: a corpus of invented automotive news and the config that reads it."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from digest.config import Config, ConfigError, apply_env, parse_config
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


def demo_config(
    base: str, host_port: str, own: Path | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """The demo's config with its feeds pointing at a running `DemoServer`; with `own`
    (the user's config file), its [llm] and [newsletter] sections, and then the
    DIGEST_LLM_* variables of `environ`, so the demo can try the user's model."""
    raw = demo_raw(base, host_port)
    origins: dict[str, str] = {}
    if own is not None:
        raw |= {k: v for k, v in _read(own).items() if k in USER_SECTIONS}
    if environ is not None:
        origins = apply_env(raw, environ, frozenset({"llm"}))
    _allow_model(raw)
    return parse_config(raw, Path.cwd() / "digest.toml", origins)  # out/ in the current folder


USER_SECTIONS = frozenset({"llm", "newsletter"})


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _allow_model(raw: dict[str, Any]) -> None:
    """The demo fetches nothing but loopback (allow_public = false); a model's base URL
    is added to its allowlist, as the owner asked for that model."""
    llm = raw.get("llm")
    url = llm.get("base_url") if isinstance(llm, dict) else None
    if not isinstance(url, str) or not url:
        return
    parts = urlsplit(url)
    if parts.hostname:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        raw["network"]["allow_hosts"].append(f"{parts.hostname}:{port}")


def demo_until() -> datetime:
    """The end of the demo corpus's week: the demo's window always covers it."""
    expect = tomllib.loads((CORPUS / "expect.toml").read_text(encoding="utf-8"))
    return datetime.fromisoformat(str(expect["week_end"]))
