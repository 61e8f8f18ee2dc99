"""The text layer: word patterns, TF-IDF vectors and figures (sentences have their cases in
test_summarize.py, HTML to text in test_feeds.py)."""

from __future__ import annotations

import math
import re

import pytest

from digest.text import words
from digest.text.vectors import Vector, batch_idf, log_tfidf, smooth_idf, tfidf, total


def test_word_patterns_keep_what_their_names_say() -> None:
    text = "Škoda's U.S. sales rose 3,900 units; AT&T and Mercedes-Benz (ID.4) didn't_care."
    assert words.WORD.findall("Škoda's F-150") == ["Škoda", "s", "F", "150"]
    assert words.LETTERS.findall("ID4 e-208") == ["ID", "e"]
    assert words.LETTER_WORD.findall("Lennon's start-up sold 5 cars") == [
        "Lennon's",
        "start-up",
        "sold",
        "cars",
    ]
    assert "U.S" in words.TOKEN.findall(text) and "3,900" in words.TOKEN.findall(text)
    assert words.TERM.findall("ford's 2 cars") == ["ford's", "2", "cars"]
    joined = [m.group() for m in re.finditer(words.JOINED, text)]
    assert "AT&T" in joined and "Mercedes-Benz" in joined and "ID.4" in joined


def test_word_counts_and_sets() -> None:
    assert words.count_words("one two  three", "four\nfive") == 5
    assert words.count_words() == 0
    assert words.word_set(" a b\n a ") == frozenset({"a", "b"})


def test_cosine_of_parallel_orthogonal_and_empty_vectors() -> None:
    a = Vector.of({"ford": 1.0, "recall": 2.0})
    assert a.norm == pytest.approx(math.sqrt(5))
    assert a.cosine(Vector.of({"ford": 2.0, "recall": 4.0})) == pytest.approx(1.0)
    assert a.cosine(a) <= 1.0
    assert a.cosine(Vector.of({"toyota": 3.0})) == 0.0
    assert a.cosine(Vector.of({})) == 0.0 and not Vector.of({})
    assert a.cosine(Vector.of({"ford": 1.0})) == pytest.approx(1 / math.sqrt(5))


def test_tfidf_weighting() -> None:
    idf = smooth_idf([["ford", "recall"], ["ford", "plant"]])
    assert idf["ford"] == pytest.approx(1.0)  # in every document: weight 1, never 0
    assert idf["plant"] == pytest.approx(math.log(3 / 2) + 1)
    vector = tfidf(["ford", "ford", "unseen"], idf, default=0.5)
    assert dict(vector.weights) == {"ford": pytest.approx(2.0), "unseen": 0.5}
    damped = log_tfidf({"ford": 1, "plant": 3}, lambda term: 2.0)
    assert damped.weights["ford"] == 2.0
    assert damped.weights["plant"] == pytest.approx(2.0 * (1 + math.log(3)))
    assert batch_idf(30, 0) == pytest.approx(math.log(31)) and batch_idf(30, 30) == math.log(2)
    summed = total([Vector.of({"a": 1.0}), Vector.of({"a": 2.0, "b": 1.0})])
    assert dict(summed.weights) == {"a": 3.0, "b": 1.0}
