"""Where the model lives: the `[llm]` presets resolved into one endpoint.

The presets are the usual places an owner runs a model: OpenAI itself, GitHub
Models (free with a repository's token, which is what the weekly workflow uses),
Ollama on the same machine, and any other OpenAI-compatible server. The key is only
ever read from the environment, never from the config file; a missing key is not an
error that stops the run, but a message that says which variable to set, and the
run goes on with the offline summarizer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from digest.config import Llm, Network

__all__ = ["PRESETS", "Endpoint", "Preset", "Unavailable", "resolve"]

OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Preset:
    base_url: str  # "" for custom: the config must say
    key_env: str  # "" when the server takes no key
    model: str  # "" for custom: the config must say
    hint: str  # how to get a key, for the missing-key message


PRESETS: dict[str, Preset] = {
    "openai": Preset(
        OPENAI_BASE_URL,
        "OPENAI_API_KEY",
        "gpt-4.1-mini",
        "create one at https://platform.openai.com/api-keys",
    ),
    "github": Preset(
        "https://models.github.ai/inference",
        "GITHUB_TOKEN",
        "openai/gpt-4.1-mini",
        "in GitHub Actions pass `GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}` and grant "
        "`permissions: models: read`; locally use a token with the models scope",
    ),
    "ollama": Preset("http://localhost:11434/v1", "", "llama3.2", ""),
    "custom": Preset("", "OPENAI_API_KEY", "", ""),
}


class Unavailable(Exception):
    """The model cannot be used this run; the message says what to do about it."""


@dataclass(frozen=True)
class Endpoint:
    provider: str
    model: str
    base_url: str
    key_env: str
    api_key: str = field(repr=False)  # a secret: never in a repr, a log or a report


def resolve(settings: Llm, network: Network, env: Mapping[str, str] | None = None) -> Endpoint:
    """The endpoint `settings` describe, or `Unavailable` with the fix in its message."""
    env = os.environ if env is None else env
    preset = PRESETS[settings.provider]
    base_url = _base_url(settings, preset, env)
    model = settings.model or preset.model
    if not base_url or not model:
        missing = "base_url" if not base_url else "model"
        raise Unavailable(f"[llm] provider 'custom' needs llm.{missing} in the config file")
    _check_allowed(base_url, network)
    key_env = settings.api_key_env or preset.key_env
    key = env.get(key_env, "") if key_env else ""
    if not key and _needs_key(settings, preset):
        raise Unavailable(_missing_key(settings.provider, key_env, preset.hint))
    return Endpoint(settings.provider, model, base_url.rstrip("/"), key_env, key or "unused")


def _base_url(settings: Llm, preset: Preset, env: Mapping[str, str]) -> str:
    if settings.base_url:
        return settings.base_url
    if settings.provider == "openai":  # as the SDK does
        return env.get("OPENAI_BASE_URL") or preset.base_url
    return preset.base_url


def _needs_key(settings: Llm, preset: Preset) -> bool:
    """OpenAI and GitHub always do; Ollama and other servers only if the config names a
    variable (a local server usually takes no key)."""
    if settings.provider in ("openai", "github"):
        return True
    return bool(settings.api_key_env)


def _missing_key(provider: str, key_env: str, hint: str) -> str:
    message = f"no API key for [llm] provider '{provider}': set {key_env}"
    if hint:
        message += f" ({hint})"
    return message + "; summarizing offline this run"


def _check_allowed(base_url: str, network: Network) -> None:
    """With `[network] allow_public = false` (tests, demo, benchmarks) the model, too,
    must be on the allowlist: a broken test config can then never reach a real API."""
    if network.allow_public:
        return
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host_port = f"{parts.hostname}:{port}"
    if host_port not in network.allow_hosts:
        raise Unavailable(
            f"[llm] base_url {base_url} is not in [network] allow_hosts while "
            "allow_public = false; add it there to use this model"
        )
