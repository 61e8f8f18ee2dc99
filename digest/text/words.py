"""Words: the patterns every stage cuts text into words with, and word counts.

Each pattern has one job, named by what it keeps together:

* `WORD`: a run of letters or digits ("F", "150", "Škoda"); the plainest tokenisation.
* `LETTERS`: a run of letters only (digits and other characters split it).
* `LETTER_WORD`: a word that starts with a letter and keeps its apostrophes and hyphens
  ("Lennon's", "start-up"): the unit a writer chooses words in.
* `TOKEN`: a run of letters or digits joined by an apostrophe, a dot, a comma or a hyphen
  ("U.S.", "3,900", "don't" count once): the unit of word rates.
* `JOINED`: letters or digits joined by a hyphen, a dot, an ampersand or an apostrophe
  ("Mercedes-Benz", "AT&T", "ID.4"): a name as written. A pattern string, possessive, for
  use inside larger patterns.
* `TERM`: a lower-case term, letters and digits with an apostrophe suffix ("ford's");
  for text already lower-cased.

Every repetition is possessive or unambiguous, so none backtracks on freak input.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

__all__ = [
    "JOINED",
    "LETTERS",
    "LETTER_WORD",
    "TERM",
    "TOKEN",
    "WORD",
    "count_words",
    "lowered",
    "spellings",
    "word_set",
]

WORD: Final = re.compile(r"[^\W_]+")
LETTERS: Final = re.compile(r"[^\W\d_]+")
LETTER_WORD: Final = re.compile(r"[^\W\d_][\w'\u2019-]*")
TOKEN: Final = re.compile(r"[^\W_]+(?:['\u2019.,\-][^\W_]+)*")
JOINED: Final = r"[^\W_]++(?:[-.&'][^\W_]++)*+"
TERM: Final = re.compile(r"[a-z0-9]+(?:['\u2019][a-z]+)?")


def count_words(*texts: str) -> int:
    """Whitespace-separated words in all of `texts`."""
    return sum(map(_count, texts))


@lru_cache(maxsize=1 << 16)  # a week of 10x the speed bench's entries, twice over
def _count(text: str) -> int:
    """Counted once per text: a run counts each article's text again in each of its passes
    (a new article value each time, the same text). The cache holds references: the texts
    are the run's own, alive meanwhile."""
    return len(text.split())


def word_set(text: str) -> frozenset[str]:
    """A set of words written as one string: long word lists stay readable."""
    return frozenset(text.split())


def spellings(table: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """A table of comma-separated spellings as tuples: {"km": "km, kms"} -> ("km", "kms")."""
    return {key: tuple(v.strip() for v in spelled.split(",")) for key, spelled in table.items()}


# The only characters IGNORECASE reads otherwise than their lower case, for a pattern of
# ASCII letters: the dotted capital I (two characters in lower case) and the dotless i and
# long s (read as "i" and "s"). Every other character's lower case is one character that
# matches such a pattern's letters, classes and word boundaries as IGNORECASE matches the
# character itself (checked over every code point: tests/test_text.py).
CASE_TRAPS: Final = re.compile("[\u0130\u0131\u017f]")


def lowered(text: str) -> str | None:
    """`text` in lower case, which a lower-case pattern of ASCII letters reads as that
    pattern with IGNORECASE reads `text` (same matches, same places: ~4x faster); None
    for a text holding one of the CASE_TRAPS."""
    return None if CASE_TRAPS.search(text) else text.lower()
