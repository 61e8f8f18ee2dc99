"""The demo digest end to end: the corpus's own expectations, and the golden files."""

from __future__ import annotations

import difflib
import tomllib

import pytest

from digest.demo import CORPUS
from digest.pipeline import RunResult
from tests.golden import FILES, GOLDEN, build_demo

EXPECT = tomllib.loads((CORPUS / "expect.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, dict[str, str]]:
    return build_demo(tmp_path_factory.mktemp("demo"))


def test_demo_report_names_the_broken_and_the_missing(
    demo: tuple[RunResult, dict[str, str]],
) -> None:
    report = demo[0].report
    by_name = {f.name: f for f in report.feeds}
    assert by_name["Carriageway Chronicle"].status == "failed"
    assert "404" in by_name["Carriageway Chronicle"].reason
    broken = next(f["name"] for f in EXPECT["feeds"] if f["broken"])
    assert by_name[broken].status == "ok" and "malformed" in by_name[broken].warnings[0]
    missing = EXPECT["missing_page"]["url"].split("}", 1)[1]
    assert [p.url.endswith(missing) for p in report.pages_failed] == [True]
    in_week = sum(f["entries_in_week"] for f in EXPECT["feeds"])
    assert report.entries == in_week - 1  # the article linked from two feeds is one entry


def test_demo_digest_has_the_picks_in_order(demo: tuple[RunResult, dict[str, str]]) -> None:
    digest = demo[0].digest
    assert digest is not None and len(digest.stories) == 7
    scores = [s.score for s in digest.stories]
    assert scores == sorted(scores, reverse=True)
    assert all(s.summary.text and s.summary.method == "extractive" for s in digest.stories)
    assert digest.id == "the-autos-digest-2026-W46"


@pytest.mark.parametrize("name", FILES)
def test_demo_matches_golden(demo: tuple[RunResult, dict[str, str]], name: str) -> None:
    golden = GOLDEN / f"demo.{name.split('.')[1]}"
    expected = golden.read_text()
    actual = demo[1][name]
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                str(golden),
                name,
                n=1,
            )
        )
        pytest.fail(
            f"{name} differs from {golden} (if intended, run `make golden`):\n" + diff[:3000]
        )


def test_golden_text_is_written_for_people() -> None:
    for line in (GOLDEN / "demo.txt").read_text().splitlines():
        assert len(line) <= 78 or line.strip().startswith("http"), line


def test_demo_digest_labels_the_ai_written_story(demo: tuple[RunResult, dict[str, str]]) -> None:
    digest = demo[0].digest
    assert digest is not None
    ai_page = EXPECT["ai_generated"]["page"]
    (story,) = [s for s in digest.stories if s.article.url.endswith(ai_page)]
    assert story.article.verdict.level == "disclosed"
    assert EXPECT["ai_generated"]["byline"] in story.article.verdict.label
    assert digest.flagged == 1
    assert "1 of 7 stories this week came from AI-generated sources" in demo[1]["digest.txt"]
    assert demo[0].report.ai_sources == {"disclosed": 1}
