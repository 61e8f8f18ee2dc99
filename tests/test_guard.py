"""The faithfulness guard and output hygiene, case by case from tests/fixtures/guard/.

Each fixture case carries its own expectation (and a `why`); the tests here only load and
run them, check the fixtures themselves, and feed both functions pathological input.
"""

from __future__ import annotations

import time
import tomllib
from pathlib import Path
from typing import Any

import pytest

from digest.summarize.guard import clean, unsupported

FIXTURES = Path(__file__).parent / "fixtures" / "guard"


def _cases(kind: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for path in sorted(FIXTURES.glob("*.toml")):
        cases += tomllib.loads(path.read_text(encoding="utf-8")).get(kind, [])
    return cases


def _params(kind: str) -> list[Any]:
    return [pytest.param(case, id=case["name"]) for case in _cases(kind)]


@pytest.mark.parametrize("case", _params("guard"))
def test_guard_case(case: dict[str, Any]) -> None:
    assert unsupported(case["output"], case["source"]) == case["unsupported"], case["why"]


@pytest.mark.parametrize("case", _params("clean"))
def test_clean_case(case: dict[str, Any]) -> None:
    got = clean(case["input"], keep_markdown=case["keep_markdown"])
    assert got == case["expected"], case["why"]


def test_fixtures_are_complete_and_named_once() -> None:
    guard, hygiene = _cases("guard"), _cases("clean")
    assert len(guard) >= 40 and len(hygiene) >= 15
    names = [case["name"] for case in guard + hygiene]
    assert len(names) == len(set(names))
    assert all(case["why"].strip() for case in guard + hygiene)
    assert any(case["unsupported"] for case in guard)
    assert any(not case["unsupported"] for case in guard)


def test_an_output_supported_by_itself_has_nothing_unsupported() -> None:
    for case in _cases("guard"):
        assert unsupported(case["output"], case["output"]) == [], case["name"]


def test_empty_texts() -> None:
    assert unsupported("", "") == []
    assert unsupported("", "Ford cut prices.") == []
    assert unsupported("Ford sold 5 cars.", "") == ["Ford", "5"]
    assert clean("") == "" and clean("   \n\n ", keep_markdown=True) == ""


# Each about 20-50 KB: a quadratic regression takes seconds to minutes on these.
PATHOLOGICAL = [
    "1," * 25_000,
    "9" * 50_000,
    "1,000," * 4_000,
    "1.1." * 5_000,
    "1-" * 10_000 + "%",
    "$1 to " * 4_000 + "$2bn",
    "a." * 10_000,
    "A." * 10_000,
    "A-" * 10_000 + "1",
    "ID.4 " * 4_000,
    "Aaaa " * 4_000,
    "x@" * 10_000,
    "a" * 20_000 + "@",
    "www." * 5_000,
    "<" * 20_000,
    "<a" * 10_000,
    "<script" * 3_000,
    "[" * 20_000,
    "[a](" * 5_000,
    "![a](" * 4_000,
    "*_" * 10_000,
    "# a" + " " * 20_000 + "b",
    "* " * 10_000 + "x",
    ". " * 10_000 + "A",
    "\n" * 20_000,
    " \n" * 10_000,
]


@pytest.mark.parametrize("text", PATHOLOGICAL, ids=range(len(PATHOLOGICAL)))
def test_pathological_input_finishes(text: str) -> None:
    """Linear time: a catastrophic regex would hang here (the bound is only a sanity check)."""
    started = time.perf_counter()
    unsupported(text[:1_000], text)
    unsupported(text, "Ford cut prices.")
    clean(text)
    clean(text, keep_markdown=True)
    assert time.perf_counter() - started < 2.0


def test_a_long_source_is_fast() -> None:
    paragraph = (
        "Toyota's bZ4X sales rose 20% to 12,345 units in the U.S. while BYD sold 1.2m cars, "
        "earning $7.25bn, and CATL built a 100 GWh plant in Debrecen for €7.3bn. "
    )
    source = paragraph * (60_000 // len(paragraph))
    output = "Toyota sold 12,345 bZ4X cars; BYD earned $7.3bn and CATL's 100GWh plant cost €7bn."
    started = time.perf_counter()
    assert unsupported(output, source) == ["€7bn"]
    assert time.perf_counter() - started < 2.0


# --- the quality gate on real articles (bench/eval_guard.py) --------------------------------


@pytest.mark.corpus
def test_guard_gate_on_the_summaries_corpus(corpus: Path) -> None:
    """Copied summaries never trip the guard; changed numbers and swapped names always do
    (floors pinned in bench/eval_guard.py)."""
    from bench import eval_guard

    results = eval_guard.evaluate(corpus / "summaries" / "cnndm-writers.jsonl")
    for key, floor in eval_guard.FLOORS.items():
        assert results[key] >= floor, (key, results[key])
    assert results["number_errors"] >= 30 and results["name_errors"] >= 60


def test_a_check_added_to_the_faithfulness_checks_runs_with_them() -> None:
    """Issue 16 extends faithfulness with checks of its own: each one sees the output's
    claims and the source's facts, and its findings merge in order of appearance."""
    from collections.abc import Iterator

    from digest.summarize.faithfulness import CHECKS, Claims, Facts

    def superlatives(claims: Claims, facts: Facts) -> Iterator[tuple[int, str]]:
        for word in claims.words:
            if word.text.lower() == "biggest" and "biggest" not in facts.forms:
                yield word.start, word.text

    output, source = "Zeekr made the biggest profit, $5bn.", "Zeekr made a profit of $4bn."
    assert unsupported(output, source) == ["$5bn"]
    assert unsupported(output, source, (*CHECKS, superlatives)) == ["biggest", "$5bn"]
    assert unsupported(output, source, (superlatives,)) == ["biggest"]
