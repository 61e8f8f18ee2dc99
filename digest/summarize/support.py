"""Is a model's sentence a claim its source makes? Support beyond names and numbers.

`guard.unsupported` checks that every number and name of an output occurs somewhere in the
source. That lets a small model pair them wrongly ("up to £12,000 in each car" from a
£12,000 penalty per car) or add a claim made of common words ("a game-changer for the
industry"). Here a sentence must be backed by one or two sentences of its source:

* content words: at least `MIN_COVER` of the sentence's content words (lightly stemmed,
  function words left out) occur in the best one or two source sentences;
* names paired with their figures: every number and every name of the sentence occurs in
  those same one or two sentences (with what the prompt gave the model: headline, outlet,
  date), so a figure cannot be moved to another subject.

For the editor's note the source is the picked stories, one at a time: each sentence must
be backed by one story's title, summary and "why it matters", with that story's names only
(and the newsletter's own title and editor).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from digest.summarize import guard
from digest.text import split_sentences
from digest.text.words import word_set

__all__ = ["MIN_COVER", "Backing", "Source", "backing", "claim", "note_claim"]

MIN_COVER = 0.5
NOTE_MIN_COVER = 0.7  # a note sentence retells a summary: less room for new words
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_FUNCTION = word_set(
    """a an the and or but nor of in on at to for from by with as is are was were be been
    being am has have had having do does did it its it's this that these those will would
    shall can could may might must should not no yes more most less least than then so
    such which who whom whose what when where why how their they them there here also into
    onto over under after before about above below up down out off new said says say
    told according while during since until per each every all any some both either
    neither other another own same just only very too much many few one two three we our
    us you your he his him she her i me my if because though although yet still even
    already again now well like via around across through between among against within
    without upon within including included report reported reports reporting news"""
)


@dataclass(frozen=True)
class Backing:
    cover: float  # share of the sentence's content words found in the best 1-2 sentences
    sentences: tuple[str, ...]  # those sentences


@dataclass(frozen=True)
class Source:
    """A source text read once: its sentences and their stemmed content words."""

    sentences: tuple[str, ...]
    words: tuple[frozenset[str], ...]
    given: str  # always available to the names check (headline, outlet, date)

    @classmethod
    def of(cls, text: str, given: str = "") -> Source:
        sentences = tuple(s for s in split_sentences(text) if s.strip())
        return cls(sentences, tuple(content(s) for s in sentences), given)


def content(text: str) -> frozenset[str]:
    """The stemmed content words of `text`."""
    return frozenset(_stem(w) for w in _WORD.findall(text.casefold()) if w not in _FUNCTION)


@lru_cache(maxsize=16384)
def _stem(word: str) -> str:
    """A light stem: possessive, plural and common verb endings off ("raises" = "raised")."""
    word = word.removesuffix("'s")
    for suffix in ("ing", "ed", "es", "s", "e", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def backing(sentence: str, source: Source) -> Backing:
    """The one or two source sentences that hold most of `sentence`'s content words."""
    mine = content(sentence) - content(source.given)  # what the prompt gave is known
    if not mine or not source.sentences:
        return Backing(1.0 if not mine else 0.0, ())
    best = max(range(len(source.sentences)), key=lambda i: len(mine & source.words[i]))
    covered = mine & source.words[best]
    second = max(
        (i for i in range(len(source.sentences)) if i != best),
        key=lambda i: len(mine & (covered | source.words[i])),
        default=None,
    )
    chosen = [best]
    if second is not None and mine & source.words[second] - covered:
        chosen.append(second)
        covered = mine & (covered | source.words[second])
    return Backing(len(covered) / len(mine), tuple(source.sentences[i] for i in sorted(chosen)))


def claim(sentence: str, source: Source) -> str:
    """Why `sentence` is not a claim of `source` ("" when it is)."""
    found = backing(sentence, source)
    if found.cover < MIN_COVER:
        return (
            f"not in the article (at most {found.cover:.0%} of its words in any one or two "
            "of its sentences)"
        )
    return _apart(sentence, found.sentences, source.given)


def _apart(sentence: str, backing: Sequence[str], given: str) -> str:
    """Names paired with their figures: every figure of `sentence` is in its one or two
    `backing` sentences, and, when the sentence also has names, one of them is in the
    same backing sentence as the figure (or in what the prompt gave). A name alone may
    be anywhere in the article ("Neil Lennon" once, "Lennon" after)."""
    stated = guard.unsupported(sentence, "")  # every number and name, as written
    figures = [t for t in stated if any(c.isdigit() for c in t)]
    if not figures:
        return ""
    names = [t for t in stated if t not in figures]
    for figure in figures:
        homes = [s for s in backing if figure not in guard.unsupported(figure, s)]
        if not homes and figure in guard.unsupported(figure, given):
            return f"{figure!r} not found with the rest of the sentence in the article"
        if (
            names
            and homes
            and all(
                set(names) <= set(guard.unsupported(sentence, f"{home}\n{given}")) for home in homes
            )
        ):
            shown = ", ".join(repr(n) for n in names[:3])
            return f"{figure!r} is not said of {shown} in the article"
    return ""


# The editor's own words around the stories: not claims about them.
_NOTE_WORDS = content(
    """week weekly issue story stories news newsletter editor note thread theme reading read
    readers reader look looking worth watch watching picks pick highlight highlights
    closer meanwhile elsewhere finally first second third together common"""
)


def note_claim(sentence: str, stories: Sequence[Source]) -> str:
    """Why a sentence of the editor's note is not backed by one picked story ("" if it is).
    Each `Source` is one story (title, summary, why it matters); its `given` holds the
    newsletter's own names. The sentence's content words must be mostly that story's,
    and its names and numbers that story's alone."""
    mine = content(sentence) - _NOTE_WORDS
    best = 0.0
    for story in stories:
        words = frozenset().union(*story.words) if story.words else frozenset()
        cover = len(mine & words) / len(mine) if mine else 1.0
        best = max(best, cover)
        if cover >= NOTE_MIN_COVER and not guard.unsupported(
            sentence, "\n".join((*story.sentences, story.given))
        ):
            return ""
    return (
        f"not backed by any one story of the week (at most {best:.0%} of its words in one "
        "story, or names from two stories)"
    )
