"""Sentence splitting for English news text, in pure Python.

The summarizer picks whole sentences, so a wrong split shows up verbatim in the
newsletter ("Shares of Apple Inc." as a sentence of its own). Heavy NLP packages
would fix that at the cost of a large install and model downloads, which this tool
must not need; a few rules tuned to news prose get nearly all of the way:

* a newline always ends a sentence (extracted article text has one paragraph a line);
* ``.``, ``?``, ``!`` and ellipses end one only when whitespace and a capitalised word,
  a digit or an opening quote follow, so decimals ("3.5"), versions ("v2.1") and
  quoted speech that goes on ('"Stop!" she said') stay whole;
* closing quotes and brackets after the punctuation belong to the sentence they close;
* titles (Mr., Dr., Sen.) never end a sentence, numbering words (No., Jan.) do not
  before a number, and words that may or may not end one (Inc., U.S., a.m., the
  initial in "J. K. Rowling") end one only before a word that typically starts a
  sentence ("The", "He", "But"...).
"""

from __future__ import annotations

import re

from digest.text.words import word_set

__all__ = ["CLOSE_QUOTES", "OPEN_QUOTES", "split_sentences"]

# Straight and curly quotes (escaped: the curly ones look alike in an editor).
OPEN_QUOTES = "\"'\u201c\u2018\u00ab"  # " ' left double, left single, guillemet
CLOSE_QUOTES = "\"'\u201d\u2019\u00bb"  # " ' right double, right single, guillemet
_DASHES = "-\u2013\u2014"  # hyphen, en dash, em dash
# Terminal punctuation, then any closing quotes/brackets, then the whitespace before
# the next sentence. A boundary needs whitespace: "3.5" and "example.com" never split.
# One run of end punctuation, matched from its first character and never backtracked
# into (possessive): a nested quantifier here was exponential on "a.........x".
_CANDIDATE = re.compile(rf"(?<![.?!\u2026])[.?!\u2026]++[{CLOSE_QUOTES})\]]*+(?=\s)")
_OPENERS = OPEN_QUOTES + "([*" + _DASHES
_CLOSERS = CLOSE_QUOTES + ")]"
# Line breaks alone: a pattern with \s* around them rescans a long run of spaces from
# every position in it (quadratic); the paragraphs are stripped instead.
_NEWLINES = re.compile(r"[\r\n\u2028\u2029]+")


# Always followed by a name or a word: a title or a Latin abbreviation.
_NEVER_ENDS = word_set(
    """mr mrs ms messrs mme mlle dr prof sen sens rep reps gov gen lt col maj capt cmdr
    adm sgt cpl pvt rev hon pres supt det insp st mt ft vs v e.g i.e cf viz approx"""
)
# Usually followed by a number ("No. 3", "Jan. 5", "pp. 10").
_BEFORE_NUMBER = word_set(
    """no nos vol vols p pp fig figs art sec ch op jan feb mar apr jun jul aug sep sept
    oct nov dec"""
)
# Company suffixes and the like: they end a sentence as often as not.
_AMBIGUOUS = word_set("inc corp co ltd llc plc jr sr bros etc al esq ave blvd rd")
# Words that typically open a sentence: after an ambiguous abbreviation, one of these
# means the abbreviation also ended the sentence ("...sold in the U.S. The company").
_STARTERS = word_set(
    """the a an he she it they we i you this that these those there here his her its
    their our my your but and or so yet however meanwhile still also then now in on at
    as after before when while if although though since because for from with without
    by to of one two some many most all both each no not more other another such what
    who why how where which later earlier last next today yesterday other instead
    despite during under over according"""
)


def split_sentences(text: str) -> list[str]:
    """Split English news text into sentences, whitespace inside each made single.

    Never raises; an empty or blank text gives an empty list.
    """
    sentences: list[str] = []
    for paragraph in _NEWLINES.split(text):
        sentences.extend(_split_paragraph(paragraph.strip()))
    return sentences


def _split_paragraph(paragraph: str) -> list[str]:
    """Split one paragraph (no newlines inside) at the boundaries that pass the rules."""
    pieces: list[str] = []
    start = 0
    for match in _CANDIDATE.finditer(paragraph):
        end = match.end()
        following = _next_word(paragraph, end)
        before = _last_word_at(paragraph, start, match.start())
        if _is_boundary(before, match.group(), following):
            pieces.append(paragraph[start:end])
            start = end
    pieces.append(paragraph[start:])
    return [clean for piece in pieces if (clean := " ".join(piece.split()))]


_WORD_AT = re.compile(r"\s*(\S+)")


def _next_word(paragraph: str, position: int) -> str:
    """The whitespace-delimited word that starts after `position` (no copy of the rest:
    a long paragraph with many periods stays linear)."""
    match = _WORD_AT.match(paragraph, position)
    return match.group(1) if match else ""


def _last_word_at(paragraph: str, start: int, stop: int) -> str:
    """The last whitespace-delimited word of `paragraph[start:stop]`, found from the right."""
    end = stop
    while end > start and paragraph[end - 1].isspace():
        end -= 1
    begin = end
    while begin > start and not paragraph[begin - 1].isspace():
        begin -= 1
    return paragraph[begin:end]


def _is_boundary(before: str, punctuation: str, following: str) -> bool:
    """Whether the punctuation ending `before` also ends the sentence.

    `before` is the text of the sentence so far, `following` the next word.
    """
    bare = following.lstrip(_OPENERS)
    if not bare:
        return bool(following)  # a lone quote or dash: the punctuation stands
    if not _starts_like_sentence(bare):
        return False
    if not punctuation.startswith(".") or punctuation.startswith(".."):
        return True  # "?", "!" and ellipses before a capital
    return _period_ends_word(_last_word(before), bare)


def _starts_like_sentence(word: str) -> bool:
    """Capitalised, a digit, or a brand spelled like "iPhone"/"eBay"."""
    first = word[0]
    if first.isupper() or first.isdigit():
        return True
    return first.islower() and len(word) > 1 and word[1].isupper()


def _last_word(before: str) -> str:
    """The word the period is attached to, without quotes or brackets around it."""
    words = before.split()
    return words[-1].strip(_OPENERS + _CLOSERS) if words else ""


def _period_ends_word(word: str, following: str) -> bool:
    """Whether a period after `word` ends the sentence, given the next word."""
    key = word.lower()
    if not key or key in _NEVER_ENDS:
        return False
    if key in _BEFORE_NUMBER and following[0].isdigit():
        return False
    if _is_ambiguous(word, key):
        return following.rstrip(",.;:!?" + _CLOSERS).lower() in _STARTERS
    return True


def _is_ambiguous(word: str, key: str) -> bool:
    """Abbreviations that may or may not end the sentence they are in."""
    if key in _AMBIGUOUS:
        return True
    if len(word) == 1 and word.isalpha():
        return word.isupper()  # an initial: "J. K. Rowling", "George W. Bush"
    # Dotted acronyms: U.S, U.K, a.m, p.m, D.C (the final period is the candidate).
    return bool(re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]", word))
