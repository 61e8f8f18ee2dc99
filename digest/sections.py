"""Which section a story belongs to, from the owner's `[[sections]]` keyword rules.

Why keywords and not a model: the owner writes the rules in `digest.toml` and must be
able to predict the outcome, and a run classifies thousands of articles offline. So
each rule is scored by where its keywords appear, and the best score wins:

* a keyword in the title counts 3 (a headline says what the story is about);
* a keyword in the first 80 words of the text counts 1 (the lead says it again),
  at most twice per keyword and 4 in all: a lead dense with battery words (LFP,
  cells, battery, charging) can beat one title hit for another rule ("Arden to build
  plant in Tennessee" is EVs), never two; at 4 against 4 the title's rule still wins;
* a keyword in the title of another outlet's coverage of the same story counts 1.5;
* a feed tag listed in the rule's `tags` adds 1.5, once: a modest lean that tips a
  close call but never beats a title hit for another rule on its own.

Matching is whole-word and case-insensitive ("EV" never matches "every", "cell" never
matches "excellent"), except for acronyms: a keyword written in capitals (2 to 5
characters, e.g. "AI", "EU", "CFO", "CO2") matches only in capitals, so "AI" is not
found in "Ai Weiwei" or in the Portuguese "ai"; an acronym also matches its plural
("SUV" finds "SUVs"). Other keywords match only as written, plurals included: the
owner lists them where wanted, and "price" must not catch fuel "prices". Overlapping
keywords of one rule count once ("EV" and "EVs" in "EVs").

A rule needs a score of at least 2 to win: a title hit, two lead hits, or a tag plus
one lead hit. One passing mention ("a deal", "sales") in a football report is not
enough to call it automotive, and a feed tag alone never decides.

Ties: the higher total wins; on equal totals the rule with more title evidence wins
(the headline is the editor's own statement of the subject); on a full tie, the rule
listed first in the config wins. So "EU tariffs on Chinese EVs" is policy (two title
hits against one), and "Robotaxi firm raises $500m" is autonomy (the only title hit:
what the company does outweighs the fact that it raised money).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from digest.config import SectionRule
from digest.models import Article, Story

__all__ = [
    "LEAD_CAP",
    "LEAD_WORDS",
    "MIN_SCORE",
    "OTHER_TITLE_WEIGHT",
    "TAG_BOOST",
    "TITLE_WEIGHT",
    "classify",
    "classify_story",
    "scores",
]

TITLE_WEIGHT = 3.0
LEAD_WEIGHT = 1.0
OTHER_TITLE_WEIGHT = 1.5
TAG_BOOST = 1.5
MIN_SCORE = 2.0
LEAD_WORDS = 80
LEAD_CAP = 4.0  # the most the lead adds to a rule: more than one title hit, not two
_KEYWORD_CAP = 2  # lead occurrences of one keyword that count
_LEAD_CHARS = 2_000  # enough for 80 words; bounds the work on long texts
_ACRONYM = re.compile(r"[A-Z][A-Z0-9]{1,4}")
_PLURAL = re.compile(r"(?<=[A-Z0-9])s$")

RuleKey = tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]


@dataclass(frozen=True)
class _Compiled:
    """One rule ready to score: a single alternation and its tags, lowercased; and the
    words a text must hold for the alternation to match in it (`_needles`)."""

    title: str
    pattern: re.Pattern[str] | None
    tags: frozenset[str]
    # The first word of each keyword (`_needles`): a text holding none of them as a whole
    # word cannot match; None when a keyword starts with no word.
    needles: frozenset[str] | None


_WORD = re.compile(r"\w+")
# What re's IGNORECASE counts as one letter that str.lower() does not (CPython's
# re/_casefix.py): each group folds to its first character. And "İ", which str.lower()
# makes two characters ("i" and a combining dot), re one ("i").
_SAME_LETTERS = (
    "i\u0131 s\u017f \u03bc\u00b5 \u03b9\u0345\u1fbe \u0390\u1fd3 \u03b0\u1fe3 "
    "\u03b2\u03d0 \u03b5\u03f5 \u03b8\u03d1 \u03ba\u03f0 \u03c0\u03d6 \u03c1\u03f1 "
    "\u03c3\u03c2 \u03c6\u03d5 \u0432\u1c80 \u0434\u1c81 \u043e\u1c82 \u0441\u1c83 "
    "\u0442\u1c84\u1c85 \u044a\u1c86 \u0463\u1c87 \ua64b\u1c88 \u1e61\u1e9b "
    "\ufb05\ufb06"
)
_FOLD = {ord(c): group[0] for group in _SAME_LETTERS.split() for c in group[1:]}
# ...one of which, U+0345 (a combining mark, as iota), is no word character: a keyword
# holding iota may match where no word of the text is its first.
_NOT_ALWAYS_A_WORD = "\u03b9"  # iota
_DOTTED_I = {0x130: "i"}


def _fold(text: str) -> str:
    """`text` with the letters re's IGNORECASE takes for one another made one, character
    for character (a word of `text` is a word of the result, and the other way round)."""
    if text.isascii():
        return text.lower()
    return text.translate(_DOTTED_I).lower().translate(_FOLD)


@dataclass(frozen=True, eq=False)
class _RuleSet:
    """The compiled rules of one rule set. Compared and hashed by identity: `_compile`
    makes one per rule set, so the text caches below key on it cheaply, and a changed
    rule set (a new key) never finds the hits of another."""

    rules: tuple[_Compiled, ...]


def classify(article: Article, tags: Sequence[str], rules: Sequence[SectionRule]) -> str:
    """The title of the section `article` belongs to, or "" when no rule fits well enough.

    `tags` are the tags of the feed the article came from.
    """
    return _best(scores(article, tags, rules))


def classify_story(
    story: Story,
    tags_by_feed: Mapping[str, Sequence[str]],
    rules: Sequence[SectionRule],
) -> str:
    """Like `classify`, for the canonical article plus the titles of the other coverage.

    Several outlets headlining the same words is more evidence than one; the tags of
    every feed that covered the story lean the result (once per rule, not per feed).
    """
    tags = [tag for a in (story.article, *story.others) for tag in tags_by_feed.get(a.feed_url, ())]
    others = [other.title for other in story.others]
    return _best(scores(story.article, tags, rules, others))


def scores(
    article: Article,
    tags: Iterable[str],
    rules: Sequence[SectionRule],
    other_titles: Sequence[str] = (),
) -> list[tuple[str, float, float]]:
    """(section title, total score, title score) for each rule, in rule order.

    Exposed for debugging a rule set ("why did this land in Policy?").
    """
    compiled = _compile(_key(rules))
    titles = _title_hits(compiled, article.title)
    leads = _lead_hits(compiled, article.text, article.description)
    others = [_title_hits(compiled, t) for t in other_titles]
    wanted = {tag.casefold() for tag in tags}
    out: list[tuple[str, float, float]] = []
    for n, rule in enumerate(compiled.rules):
        title = TITLE_WEIGHT * titles[n]
        total = title + min(LEAD_CAP, LEAD_WEIGHT * leads[n])
        total += sum(OTHER_TITLE_WEIGHT * hits[n] for hits in others)
        if rule.tags & wanted:
            total += TAG_BOOST
        out.append((rule.title, total, title))
    return out


def _best(scored: Sequence[tuple[str, float, float]]) -> str:
    """The winner: highest total, then most title evidence, then first in rule order."""
    best, best_key = "", (0.0, 0.0)
    for title, total, title_score in scored:
        key = (total, title_score)
        if total >= MIN_SCORE and (not best or key > best_key):
            best, best_key = title, key
    return best


@lru_cache(maxsize=1 << 15)  # a week of 10x the speed bench's entries
def _title_hits(compiled: _RuleSet, title: str) -> tuple[int, ...]:
    """Each rule's distinct keywords in a title: a title is scored in many stories (its
    own, and as other coverage), the same each time."""
    return _rule_hits(compiled, title, 1)


@lru_cache(maxsize=1 << 15)
def _lead_hits(compiled: _RuleSet, text: str, description: str) -> tuple[int, ...]:
    """Each rule's keyword hits in an article's lead (see `_lead`), counted once per text."""
    return _rule_hits(compiled, _lead(text, description), _KEYWORD_CAP)


def _rule_hits(compiled: _RuleSet, text: str, cap: int) -> tuple[int, ...]:
    """`_hits` for each rule; a rule none of whose keywords' first words is in the text
    is not searched (most rules, in most texts)."""
    words = set(_WORD.findall(text))
    words.update(_fold(" ".join(words)).split(" "))  # as written and folded
    return tuple(
        0
        if rule.needles is not None and rule.needles.isdisjoint(words)
        else _hits(rule.pattern, text, cap)
        for rule in compiled.rules
    )


def _lead(text: str, description: str) -> str:
    """The first LEAD_WORDS words of the text (the description when there is no text)."""
    text = text or description
    return " ".join(text[:_LEAD_CHARS].split()[:LEAD_WORDS])


def _hits(pattern: re.Pattern[str] | None, text: str, cap: int = 1) -> int:
    """Distinct keywords of a rule found in `text`, each counted at most `cap` times."""
    if pattern is None or not text:
        return 0
    counts: dict[str, int] = {}
    for match in pattern.finditer(text):
        word = " ".join(_PLURAL.sub("", match.group(0)).casefold().split())
        counts[word] = counts.get(word, 0) + 1
    return sum(min(n, cap) for n in counts.values())


def _key(rules: Sequence[SectionRule]) -> RuleKey:
    """A hashable image of the rules (pydantic models holding lists are not hashable)."""
    return tuple((r.title, tuple(r.keywords), tuple(r.tags)) for r in rules)


@lru_cache(maxsize=32)
def _compile(key: RuleKey) -> _RuleSet:
    """Compile each rule once per rule set: a run classifies thousands of articles."""
    return _RuleSet(
        tuple(
            _Compiled(
                title,
                _pattern(keywords),
                frozenset(t.casefold() for t in tags),
                _needles(keywords),
            )
            for title, keywords, tags in key
        )
    )


def _pattern(keywords: Iterable[str]) -> re.Pattern[str] | None:
    """One alternation for a rule: longest keywords first, so the longest one matches."""
    words = sorted({k.strip() for k in keywords if k.strip()}, key=lambda k: (-len(k), k))
    if not words:
        return None
    parts = [_alternative(word) for word in words]
    return re.compile(r"(?<!\w)" + _starts(words) + "(?:" + "|".join(parts) + r")(?!\w)")


def _needles(keywords: Iterable[str]) -> frozenset[str] | None:
    """The first word of each keyword, as `_alternative` matches it: an acronym as
    written, with its plural s; another keyword folded (`_fold`). A match starts where a
    word of the text starts (`(?<!\\w)`) and that word is the keyword's first: a word
    character is followed by another, or the next is no word character in both (the
    keyword's own, `\\s+`, or `(?!\\w)`). An acronym (capitals) is never a folded word,
    a folded word folds to itself: both kinds are looked up among the text's words as
    written and folded. None when a keyword starts with no word."""
    needles: set[str] = set()
    for keyword in {k.strip() for k in keywords if k.strip()}:
        if _ACRONYM.fullmatch(keyword):
            needles |= {keyword, keyword + "s"} if keyword[-1].isalpha() else {keyword}
            continue
        folded = _fold(keyword)
        first = _WORD.match(folded)
        if first is None or _NOT_ALWAYS_A_WORD in folded:
            return None
        needles.add(first.group(0))
    return frozenset(needles)


def _starts(words: Sequence[str]) -> str:
    """A lookahead for the characters a keyword starts with, cased as the keyword matches:
    it changes no match, and spares trying every keyword at every other word."""
    folded = sorted({w[0] for w in words if not _ACRONYM.fullmatch(w)})
    exact = sorted({w[0] for w in words if _ACRONYM.fullmatch(w)})
    parts = [f"(?i:[{_chars(folded)}])"] if folded else []
    parts += [f"[{_chars(exact)}]"] if exact else []
    return "(?=" + "|".join(parts) + ")"


def _chars(chars: Sequence[str]) -> str:
    return "".join(re.escape(c) for c in chars)


def _alternative(keyword: str) -> str:
    """A keyword as a regex: spaces match any whitespace; acronyms are case-sensitive and
    take a plural s. Other words match only as written: the owner lists plurals where
    wanted ("price" must not catch fuel "prices")."""
    body = r"\s+".join(re.escape(part) for part in keyword.split())
    if _ACRONYM.fullmatch(keyword):
        return body + ("s?" if keyword[-1].isalpha() else "")
    return f"(?i:{body})"
