"""The demo digest end to end: the corpus's own expectations, and the golden files."""

from __future__ import annotations

import difflib
import json
import tomllib

import pytest

from digest import actions
from digest.demo import CORPUS
from digest.pipeline import RunResult
from tests.golden import FILES, GOLDEN, build_demo

EXPECT = tomllib.loads((CORPUS / "expect.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, dict[str, str]]:
    return build_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def demo_all(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, dict[str, str]]:
    return build_demo(tmp_path_factory.mktemp("demo-all"), fetch="all")


def test_demo_report_names_the_broken_and_the_missing(
    demo_all: tuple[RunResult, dict[str, str]],
) -> None:
    report = demo_all[0].report
    by_name = {f.name: f for f in report.feeds}
    assert by_name["Carriageway Chronicle"].status == "failed"
    assert "404" in by_name["Carriageway Chronicle"].reason
    broken = next(f["name"] for f in EXPECT["feeds"] if f["broken"])
    assert by_name[broken].status == "ok" and "malformed" in by_name[broken].warnings[0]
    missing = EXPECT["missing_page"]["url"].split("}", 1)[1]
    assert [p.url.endswith(missing) for p in report.pages_failed] == [True]
    in_week = sum(f["entries_in_week"] for f in EXPECT["feeds"])
    assert report.entries == in_week - 1  # the article linked from two feeds is one entry
    assert report.requests["pages_skipped"] == 0


def test_demo_reads_only_the_pages_the_issue_needs(
    demo: tuple[RunResult, dict[str, str]], demo_all: tuple[RunResult, dict[str, str]]
) -> None:
    """`fetch = "needed"` (the default) skips the pages of stories that cannot make the
    issue, the missing page's among them, and gives the same issue as reading them all;
    every article of every story shown was read from its page."""
    report, digest = demo[0].report, demo[0].digest
    assert report.requests["pages_skipped"] == 5
    assert report.requests["requests"] == demo_all[0].report.requests["requests"] - 5
    assert report.pages_failed == ()
    assert demo[1] == demo_all[1]
    assert digest is not None
    shown = [*digest.stories, *(s for section in digest.more for s in section.stories)]
    assert {a.method for s in shown for a in (s.article, *s.others)} == {"page"}


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


def test_demo_event_from_four_outlets_is_one_story_with_a_human_canonical(
    demo: tuple[RunResult, dict[str, str]],
) -> None:
    digest = demo[0].digest
    assert digest is not None
    event = set(EXPECT["same_event"]["pages"]) | {EXPECT["same_event"]["ai_page"]}
    holders = [
        s
        for s in digest.stories
        if any(a.url.endswith(tuple(event)) for a in (s.article, *s.others))
    ]
    assert len(holders) == 1, "the event must appear once"
    (story,) = holders
    assert {a.url.split("/pages/")[1] for a in (story.article, *story.others)} == {
        p.removeprefix("pages/") for p in event
    }
    assert story.article.url.endswith(tuple(EXPECT["same_event"]["pages"]))  # not the AI one
    assert story.outlets == 4
    assert "Also covered by:" in demo[1]["digest.txt"]


def test_demo_labels_the_ai_written_coverage_with_its_quote(
    demo: tuple[RunResult, dict[str, str]],
) -> None:
    digest = demo[0].digest
    assert digest is not None
    ai_page = EXPECT["ai_generated"]["page"]
    (ai,) = [a for s in digest.stories for a in s.others if a.url.endswith(ai_page)]
    assert ai.verdict.level == "disclosed"
    assert EXPECT["ai_generated"]["byline"] in ai.verdict.label
    assert "[AI-generated: the publisher's byline reads" in demo[1]["digest.txt"]
    assert 'class="also-ai"' in demo[1]["digest.html"]
    assert demo[0].report.ai_articles == {"disclosed": 2}  # the event's piece and the standalone


def test_demo_report_summary_and_footer_agree_on_ai_sources(
    demo: tuple[RunResult, dict[str, str]],
) -> None:
    """One pick cites an AI-generated source (a covering outlet, labelled, not the linked
    one); two articles read this run disclosed (that one and a standalone not shown)."""
    result, files = demo
    digest = result.digest
    assert digest is not None
    cites = [s.article.title for s in digest.stories if s.cites_ai]
    assert len(cites) == 1 and not any(s.flagged for s in digest.stories)
    assert digest.ai_picks == result.report.ai_picks == 1
    assert result.report.ai_articles == {"disclosed": 2}
    report = json.loads((result.out_dir / "report.json").read_text())
    assert report["ai_picks"] == 1 and report["ai_articles"] == {"disclosed": 2}
    row = "| AI-generated sources | 1 of 7 stories cite one; articles read: 2 disclosed |"
    assert row in actions.summary(report)
    footer = "AI-generated sources: 1 of 7 stories this week cite one"
    assert footer in files["digest.html"] and footer in files["digest.md"]
    assert footer in " ".join(files["digest.txt"].split())
    labels = files["digest.txt"].count("[AI-generated:")
    assert labels == 1  # the one label the footer counts


def test_demo_has_sections_a_note_and_framing(demo: tuple[RunResult, dict[str, str]]) -> None:
    digest = demo[0].digest
    assert digest is not None
    titles = [section.title for section in digest.more]
    assert titles and all(section.stories for section in digest.more)
    assert len({s.article.source for s in digest.stories}) >= 4  # no outlet fills the issue
    assert digest.note and "\n" not in digest.note and "four outlets" in digest.note.lower()
    text = demo[1]["digest.txt"]
    assert "Alex Morgan, motoring editor of The Autos Digest, selects their favourite" in text
    assert "7 stories · about" in text and "Issue 1 · 9\u201315 November 2026" in text
    assert "ALSO WORTH READING" in text
    html = demo[1]["digest.html"]
    assert "Also worth reading" in html and html.count('class="more-item"') == sum(
        len(section.stories) for section in digest.more
    )
    assert "## Also worth reading" in demo[1]["digest.md"]
