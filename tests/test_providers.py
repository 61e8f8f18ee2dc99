"""Where the model lives: presets, keys from the environment, the allowlist; the budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.config import ConfigError, Llm, Network, parse_config
from digest.summarize.budget import Budget, cost, price_of
from digest.summarize.providers import Unavailable, resolve

OPEN = Network(allow_public=True)


def llm(**values: object) -> Llm:
    return Llm.model_validate(values)


def test_github_models_preset_reads_github_token() -> None:
    endpoint = resolve(llm(provider="github"), OPEN, {"GITHUB_TOKEN": "ghs_abc"})
    assert endpoint.base_url == "https://models.github.ai/inference"
    assert endpoint.model == "openai/gpt-4.1-mini"
    assert endpoint.api_key == "ghs_abc" and endpoint.key_env == "GITHUB_TOKEN"
    assert "ghs_abc" not in repr(endpoint)


def test_a_missing_key_names_the_variable_and_the_permission() -> None:
    with pytest.raises(Unavailable) as missing:
        resolve(llm(provider="github"), OPEN, {})
    message = str(missing.value)
    assert "set GITHUB_TOKEN" in message and "models: read" in message
    assert "offline" in message
    with pytest.raises(Unavailable, match="set OPENAI_API_KEY"):
        resolve(llm(provider="openai"), OPEN, {})


def test_openai_honours_openai_base_url_and_the_config_wins() -> None:
    env = {"OPENAI_API_KEY": "sk-1", "OPENAI_BASE_URL": "https://gateway.example/v1/"}
    assert resolve(llm(), OPEN, env).base_url == "https://gateway.example/v1"
    assert resolve(llm(), OPEN, {"OPENAI_API_KEY": "sk-1"}).base_url == "https://api.openai.com/v1"
    mine = llm(base_url="https://mine.example/v1")
    assert resolve(mine, OPEN, env).base_url == "https://mine.example/v1"


def test_ollama_needs_no_key() -> None:
    endpoint = resolve(llm(provider="ollama"), OPEN, {})
    assert endpoint.base_url == "http://localhost:11434/v1" and endpoint.model == "llama3.2"
    assert endpoint.api_key == "unused"


def test_a_custom_server_takes_a_key_only_when_the_config_names_one() -> None:
    custom = llm(provider="custom", base_url="http://10.1.2.3:8000/v1", model="m")
    assert resolve(custom, OPEN, {}).api_key == "unused"
    keyed = llm(provider="custom", base_url="http://10.1.2.3:8000/v1", model="m", api_key_env="K")
    with pytest.raises(Unavailable, match="set K"):
        resolve(keyed, OPEN, {})


@pytest.mark.parametrize(
    "base_url",
    [
        "https://api.openai.com/v1",
        "http://169.254.169.254/v1",
        "http://10.0.0.1:8000/v1",
        "http://127.0.0.9:11434/v1",
    ],
)
def test_without_allow_public_the_model_must_be_allowlisted(base_url: str) -> None:
    """The decision only: nothing connects."""
    closed = Network(allow_public=False, allow_hosts=["127.0.0.1:8123"])
    settings = llm(provider="custom", base_url=base_url, model="m")
    with pytest.raises(Unavailable, match="not in \\[network\\] allow_hosts"):
        resolve(settings, closed, {})
    allowed = Network(allow_public=False, allow_hosts=["127.0.0.1:8123"])
    ok = llm(provider="custom", base_url="http://127.0.0.1:8123/v1", model="m")
    assert resolve(ok, allowed, {}).base_url == "http://127.0.0.1:8123/v1"


def test_config_refuses_a_key_in_the_file_and_names_incomplete_custom(tmp_path: Path) -> None:
    path = tmp_path / "digest.toml"
    with pytest.raises(ConfigError, match=r"llm\.api_key' is not allowed"):
        parse_config({"llm": {"api_key": "sk-secret"}}, path)
    with pytest.raises(ConfigError) as incomplete:
        parse_config({"llm": {"provider": "custom"}}, path)
    assert str(path) in str(incomplete.value) and "base_url and model" in str(incomplete.value)
    with pytest.raises(ConfigError, match=r"llm\.max_calls"):
        parse_config({"llm": {"max_calls": "3"}}, path)


def test_budget_counts_calls_and_tokens() -> None:
    budget = Budget(max_calls=2, max_tokens=1000)
    assert budget.take(400) == ""
    assert budget.take(700) == "max_tokens (1,000) reached"  # 400 reserved + 700 > 1000
    assert budget.take(500) == ""
    assert budget.take(1) == "max_calls (2) reached"
    budget.settle(400, 100, 50)
    budget.release(500)  # reserved, never made
    assert (budget.calls, budget.prompt_tokens, budget.completion_tokens) == (1, 100, 50)
    assert budget.take(800) == ""  # 150 spent + 800 fits


def test_prices_from_config_then_builtin_with_and_without_a_prefix() -> None:
    builtin = price_of(llm(provider="github"), "openai/gpt-4.1-mini")
    assert builtin is not None and builtin.input == pytest.approx(0.40)
    own = llm(prices={"my-model": {"input": 1.0, "output": 3.0}})
    assert price_of(own, "my-model") == own.prices["my-model"]
    assert price_of(llm(), "unknown-model") is None
    assert price_of(llm(provider="ollama"), "llama3.2") is not None
    assert cost(builtin, 1_000_000, 1_000_000) == pytest.approx(2.0)
    assert cost(None, 10, 10) is None
