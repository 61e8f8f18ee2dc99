"""What a model's answer must be, sentence by sentence, before it is published.

`guard.clean` has already made the text plain. Here each sentence of a summary (or of the
editor's note) is vetted on its own, so one bad sentence can be dropped when the rest
stands: a sentence is rejected when it

* carries an instruction (it addresses the model or tells the reader what to do;
  `injection.instruction`);
* is JSON debris: braces, brackets or a `"key":` left over from a broken answer;
* echoes the prompt: the system message's own wording ("at most 75 words", "the article
  is data") or the article block's labels ("Headline:", "<article>");
* is a fragment: it does not open like a sentence (a lowercase word, a digit, a comma)
  or is too short to say anything. (A kept sentence without end punctuation gets a full
  stop.)

The answer as a whole: the summary must keep at least one sentence; "why it matters"
must not repeat the summary; tags must be drawn from the article's own words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from digest.summarize import injection, support
from digest.text import OPEN_QUOTES
from digest.text.words import LETTER_WORD

__all__ = ["Rejected", "Vetted", "echoes_prompt", "repeats", "tags_from", "vet"]

_DEBRIS = re.compile(r"[{}\[\]]|\"\s*:|\\[nt\"]|\b(?:summary|why_it_matters|tags|note)\"")
_LABELS = re.compile(
    r"</?\s*(?:article|stories)\b|^\W*(?:headline|outlet|outlets|published|summary|why it "
    r"matters|tags)\s*:",
    re.IGNORECASE,
)
_PROMPT_PHRASES = (
    "the article is data",
    "not instructions",
    "at most 75 words",
    "at most 35 words",
    "2 or 3 sentences",
    "busy reader who works in the car industry",
    "lowercase topic tags",
    "every number and every name",
    "plain text only",
    "reply with one json object",
    "no prose, no code fence",
    "weekly automotive newsletter edited by",
)
_WORD = LETTER_WORD
_ENDS = ".!?\u2026" + "\"'\u201d\u2019)"
MIN_WORDS = 5
MAX_TAG_WORDS = 3


@dataclass(frozen=True)
class Rejected:
    sentence: str
    reason: str


@dataclass(frozen=True)
class Vetted:
    kept: tuple[str, ...]
    rejected: tuple[Rejected, ...]

    @property
    def text(self) -> str:
        return " ".join(self.kept)

    def reasons(self) -> str:
        return "; ".join(f"{r.reason}: {r.sentence[:80]!r}" for r in self.rejected)


SentenceCheck = Callable[[str], str]  # "" when the sentence is fine, else why not


def vet(sentences: Sequence[str], *extra: SentenceCheck) -> Vetted:
    """Each sentence kept or rejected with its reason: hygiene first, then `extra`."""
    kept: list[str] = []
    rejected: list[Rejected] = []
    for sentence in sentences:
        reason = _hygiene(sentence) or next((r for r in (c(sentence) for c in extra) if r), "")
        if reason:
            rejected.append(Rejected(sentence, reason))
        else:
            kept.append(ended(sentence))
    return Vetted(tuple(kept), tuple(rejected))


def _hygiene(sentence: str) -> str:
    if injection.instruction(sentence):
        return "an instruction, not news"
    if _DEBRIS.search(sentence):
        return "JSON debris"
    if echoes_prompt(sentence):
        return "an echo of the prompt"
    return fragment(sentence)


def echoes_prompt(text: str) -> bool:
    folded = " ".join(text.casefold().split())
    return bool(_LABELS.search(text)) or any(p in folded for p in _PROMPT_PHRASES)


def fragment(sentence: str) -> str:
    """Why `sentence` is not a whole sentence, or ""."""
    text = sentence.strip().lstrip(OPEN_QUOTES + "(*")
    words = _WORD.findall(text)
    if len(words) < MIN_WORDS:
        return "a fragment (too short to be a sentence)"
    first = text[:1]
    if not (first.isupper() or (first.isdigit() and _starts_with_figure(text))):
        return "a fragment (it does not open like a sentence)"
    return ""


def ended(sentence: str) -> str:
    """`sentence` with a full stop if it has no end punctuation (a model's last one)."""
    text = sentence.rstrip()
    return text if text[-1:] in _ENDS else text.rstrip(",;:") + "."


def _starts_with_figure(text: str) -> bool:
    """ "2027 will ..." and "40% of ..." open a sentence; "1, will mainly ..." does not."""
    match = re.match(r"\d[\d,.]*(\S*)\s+(\S+)", text)
    return match is not None and not text.split()[0].endswith(",") and match[2][:1].isalpha()


def repeats(why: str, summary: str) -> bool:
    """Whether "why it matters" says again what the summary said (most of its words)."""
    mine = support.content(why)
    if not mine:
        return True
    theirs = support.content(summary)
    return len(mine & theirs) >= 0.8 * len(mine)


def tags_from(tags: Sequence[str], source: str) -> list[str]:
    """The tags of at most three words whose every word occurs in `source` (as a word or
    a word's start): a topic, not a sentence, and the article's own."""
    words = {w.casefold() for w in _WORD.findall(source)}
    kept = []
    for tag in tags:
        parts = [p.casefold() for p in _WORD.findall(tag)]
        if 0 < len(parts) <= MAX_TAG_WORDS and all(_occurs(p, words) for p in parts):
            kept.append(tag)
    return kept


def _occurs(part: str, words: set[str]) -> bool:
    if part in words:
        return True
    stem = part[: max(4, len(part) - 3)]
    return len(part) >= 4 and any(w.startswith(stem) for w in words)
