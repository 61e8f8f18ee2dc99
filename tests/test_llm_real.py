"""The demo run through a real model: SmolLM2-135M-Instruct behind llama.cpp's server.

What a small local model really does to the digest, end to end: the server rejects
`response_format: json_schema` with a 500, which "auto" finds in one call; the answers
are often wrong, and what is published must still be backed by the article, with no
instruction planted in an article reaching any output file. Slow (seconds per call on
two cores): few stories, short answers, and every run shared by the tests below.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.config import Config, parse_config
from digest.demo import DemoServer, demo_raw, demo_until
from digest.models import Story
from digest.pipeline import RunOptions, RunResult, run
from digest.summarize import guard, llm, support
from tests.real_model import RealModel, smollm2  # noqa: F401 - the fixture
from tests.test_llm import LEAKS, _corpus_with_injection, out_files

CLOCK = datetime(2026, 11, 16, 7, 30, tzinfo=UTC)
STORIES = 3


def _config(root: Path, demo: DemoServer, model: RealModel) -> Config:
    raw = demo_raw(demo.base, demo.host_port, root)
    raw["network"]["allow_hosts"].append(model.host_port)
    raw["llm"] = {
        "provider": "custom",
        "base_url": model.base + "/v1",
        "model": model.name,
        "retries": 0,
        "timeout": 300.0,
        "max_concurrency": 1,
        "max_output_tokens": 250,
    }
    return parse_config(raw, root / "digest.toml")


def _run(config: Config, stories: int) -> RunResult:
    options = RunOptions(until=demo_until(), now=lambda: CLOCK, max_stories=stories)
    return run(config, options)


@pytest.fixture(scope="module")
def demo_runs(
    smollm2: RealModel,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunResult, RunResult]]:
    """The demo through the real model, run twice on the same state."""
    root = tmp_path_factory.mktemp("real-demo")
    with DemoServer() as demo:
        config = _config(root, demo, smollm2)
        first = _run(config, STORIES)
        copy = root / "first-out"
        shutil.copytree(first.out_dir, copy)  # the second run writes over out/
        second = _run(config, STORIES)
    yield RunResult(first.report, first.digest, copy), second


def published(story: Story) -> list[str]:
    """The model's sentences in a story: summary and why it matters."""
    summary = story.summary
    return [*summary.sentences, *(s for s in re.split(r"(?<=[.!?])\s+", summary.why) if s)]


def test_the_demo_finishes_and_every_published_model_sentence_is_backed(
    demo_runs: tuple[RunResult, RunResult],
    smollm2: RealModel,  # noqa: F811
) -> None:
    first, _ = demo_runs
    assert first.digest is not None and len(first.digest.stories) == STORIES
    usage = first.report.llm
    assert usage.model == smollm2.name
    # llama.cpp's server answers json_schema with a 500: found in one call, then json_object
    assert usage.failed_calls == 1 and usage.structured_output == "json_object"
    assert any(
        "rejected response_format json_schema (HTTP 500" in w
        for w in map(str, first.report.warnings)
    )
    by_model = [s for s in first.digest.stories if s.summary.method == smollm2.name]
    offline = [s for s in first.digest.stories if s.summary.method == "extractive"]
    assert len(by_model) + len(offline) == STORIES
    assert usage.offline == len(offline) and sum(usage.reasons.values()) == len(offline)
    for story in by_model:
        article = story.article
        source = support.Source.of(article.text, llm.given(article))
        for sentence in published(story):
            assert guard.unsupported(sentence, f"{llm.given(article)}\n{article.text}") == []
            assert support.claim(sentence, source) == "", sentence
            # and independently: most of its words are the article's
            words = set(re.findall(r"[a-z]{4,}", sentence.lower()))
            theirs = set(re.findall(r"[a-z]{4,}", f"{article.title} {article.text}".lower()))
            assert len(words & theirs) >= 0.5 * len(words), sentence
        assert all(
            tag in article.text.lower() or tag.split()[0][:4] in article.text.lower()
            for tag in story.summary.tags
        )
    html = out_files(first)["digest.html"]
    assert "{" not in " ".join(s.summary.text for s in first.digest.stories)
    assert first.digest.stories[0].article.title.split(":")[0][:30] in html


def test_the_same_week_again_makes_no_model_call(demo_runs: tuple[RunResult, RunResult]) -> None:
    first, second = demo_runs
    assert second.report.llm.calls == 0
    assert second.report.llm.cached == STORIES + 1  # the picks and the note, failures too
    assert first.digest is not None and second.digest is not None
    assert [s.summary for s in second.digest.stories] == [s.summary for s in first.digest.stories]


def test_injection_lines_never_reach_an_output_file_with_the_real_model(
    smollm2: RealModel,  # noqa: F811
    tmp_path: Path,
) -> None:
    corpus = _corpus_with_injection(tmp_path)
    with DemoServer(root=corpus) as hostile:
        result = _run(_config(tmp_path, hostile, smollm2), 1)  # the lead story: injected
    assert result.digest is not None
    assert result.report.llm.instructions >= 2
    for name, text in out_files(result).items():
        for leak in LEAKS:
            assert leak not in text.lower(), (name, leak)
