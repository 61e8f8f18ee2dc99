"""`digest run --demo --llm` with the owner's model: from DIGEST_LLM_* or --config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.cli import main
from tests.llm_server import ModelServer


@pytest.fixture
def model() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server


def demo_args(tmp_path: Path) -> list[str]:
    return [
        "run",
        "--demo",
        "--llm",
        "--quiet",
        "--out",
        str(tmp_path / "out"),
        "--state",
        str(tmp_path / "state.sqlite"),
        "--config",
        str(tmp_path / "none.toml"),
    ]


def test_the_demo_uses_the_model_named_in_the_environment(
    tmp_path: Path,
    model: ModelServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DIGEST_LLM_PROVIDER", "custom")
    monkeypatch.setenv("DIGEST_LLM_MODEL", "test-model")
    monkeypatch.setenv("DIGEST_LLM_BASE_URL", model.base + "/v1")
    assert main(demo_args(tmp_path)) == 0
    assert model.calls("story") == 7 and model.calls("note") == 1
    line = capsys.readouterr().out
    assert "; model test-model: 8 calls, " in line
    text = (tmp_path / "out" / "digest.txt").read_text()
    assert "Alex Morgan" in text  # the demo's own newsletter


def test_the_demo_takes_llm_and_newsletter_from_config(
    tmp_path: Path, model: ModelServer, capsys: pytest.CaptureFixture[str]
) -> None:
    own = tmp_path / "mine.toml"
    own.write_text(
        '[newsletter]\ntitle = "Kerbside Weekly"\neditor = "Ruth Vale"\n\n'
        f'[llm]\nprovider = "custom"\nmodel = "test-model"\nbase_url = "{model.base}/v1"\n\n'
        '[[feeds]]\nurl = "https://example.org/feed"\n'
    )
    args = demo_args(tmp_path)
    args[-1] = str(own)
    assert main(args) == 0
    assert model.calls("story") == 7
    text = (tmp_path / "out" / "digest.txt").read_text()
    assert text.startswith("KERBSIDE WEEKLY") and "Ruth Vale" in text


def test_the_demo_without_a_model_says_how_to_name_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DIGEST_LLM_PROVIDER", raising=False)
    assert main(demo_args(tmp_path)) == 2
    assert capsys.readouterr().err == (
        "digest: --demo --llm needs a model: pass --config FILE with an [llm] section, or set "
        "DIGEST_LLM_PROVIDER (with DIGEST_LLM_MODEL and DIGEST_LLM_BASE_URL as needed), "
        "e.g. DIGEST_LLM_PROVIDER=ollama DIGEST_LLM_MODEL=llama3.2; "
        "or drop --llm to use the built-in summarizer\n"
    )


def test_a_model_writes_in_the_issue_language(tmp_path: Path, model: ModelServer) -> None:
    own = tmp_path / "mine.toml"
    own.write_text(
        '[newsletter]\nlanguage = "de"\n\n'
        f'[llm]\nprovider = "custom"\nmodel = "test-model"\nbase_url = "{model.base}/v1"\n'
    )
    args = demo_args(tmp_path)
    args[-1] = str(own)
    assert main(args) == 0
    systems = [r.body["messages"][0]["content"] for r in model.requests if r.body]
    assert len(systems) == 8
    for system in systems:
        assert system.endswith(
            "Write every text field in German (language code de), whatever the language of "
            "the article; keep names and figures as they are."
        )


def test_a_model_that_never_answers_is_said_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import re
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}/v1"
    monkeypatch.setenv("DIGEST_LLM_PROVIDER", "custom")
    monkeypatch.setenv("DIGEST_LLM_MODEL", "m")
    monkeypatch.setenv("DIGEST_LLM_BASE_URL", base)
    assert main(demo_args(tmp_path)) == 0
    line = capsys.readouterr().out
    found = re.search(
        r"; model m: 0 of (\d+) calls succeeded: cannot connect to (\S+); 7 offline;", line
    )
    assert found is not None, line
    assert int(found[1]) >= 1 and found[2] == base
