"""Story clustering: the same story from many outlets becomes one group.

Two articles are "the same story" when they report the same event: syndicated copies of one
wire text, but also independent write-ups ("Nissan seeks partner; Foxconn circles" from two
outlets, or an AI-written rehash days later). Stories about the same company but a different
event ("Arden names new CFO" vs "Arden and Hanseong build a battery plant") stay apart.

The pair score (`similarity`) mixes signals, all read from a capped prefix of the article so
that a huge page costs no more than a normal one:

* `semantic`: cosine of sentence embeddings (digest/embed.py) of the titles (`embed_text`),
  rescaled from [SEM_LOW, SEM_HIGH]: paraphrases that share no word
  ("Nine killed in strikes on Kyiv" / "Russia hits Ukrainian capital");
* `opening`: for two full texts (pages read, LEAD_WORDS_MAX words or more), the cosine of
  their title-and-opening embeddings (`opening_text`), rescaled from [OPEN_LOW, OPEN_HIGH],
  embedded only where it may change a join (`openings_wanted`, `embedded`);
* `lead`: TF-IDF cosine of the content words of title + the first LEAD_WORDS words;
* `title`: TF-IDF cosine of the title words (the lead stands in when a title is empty);
* `names`: how many rare names the two share, not divided by how many each has, so two
  long pieces naming Nissan, Foxconn, Mitsubishi and BYD agree however much else they name;
* `numbers`: shared specific figures ("$3.8bn", "51%", "212,000"), each counted by its
  rarity in the batch; `other_figures`: both headlines (and openings) carry figures and
  share none (two weeks' jobless claims; a recall of 3,000 vans and one of 7,000);
* `dup`: containment of word 3-grams; a syndicated copy scores 1 whatever the rest says.

They are mixed by a logistic model (FULL weights; HEADLINE when both items are
headline-only entries, whose page failed or is paywalled, and MIXED when one is), with
penalties for one outlet and for dates more than NEAR_DAYS apart; a copy scores 1, and
NAMES_FULL shared rare names score at least NAMES_SURE. For same-outlet pairs the outlet's
furniture (tokens in a tenth of its items, and in 3 or more: "The post ... appeared first
on ...") is ignored.

`cluster` scores only candidate pairs: those sharing rare tokens (an inverted index whose
postings are capped at MAX_POSTING, each item keeping its best MAX_CANDIDATES partners, so
the work grows linearly with the batch; an exact title or opening held by more items than
the cap chains them instead), plus each item's NEIGHBOURS nearest by embedding. It accepts
pairs scoring EDGE_THRESHOLD or more and joins them strongest first with union-find; a join
making a group of three or more also needs the average score across the two groups to reach
a threshold, so that one loose pair cannot chain related events into one (average link, not
single link): LINK_THRESHOLD for headlines; for texts LINK_FULL (full texts) or LINK_SINGLE
(leads, a paragraph or two) when one item joins a group, but LINK_GROUPS when two groups of
two or more would become one (two stories of one running topic look alike). `group` also
returns each join with its signals (`digest cluster --explain`).

The weights were fitted, and the thresholds chosen, on the "tune" half of the shared sets
(split by a hash of the event id; the other half is never tuned on) and checked on
tests/fixtures/cluster and the seed articles: `python bench/eval_cluster.py` prints the
scores in and out of sample.
"""

from __future__ import annotations

import gc
import heapq
import math
import pickle
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from functools import cached_property, lru_cache
from itertools import compress, islice, pairwise
from operator import itemgetter
from pathlib import Path
from typing import Final, cast

import numpy as np

from digest import embed
from digest.text import figures
from digest.text.vectors import Vector, batch_idf, log_tfidf

LEAD_WORDS: Final = 150  # the lead signals read this many words of the body
HEAD_WORDS: Final = 25  # `other_figures` reads the title and this many words of the body
BODY_WORDS: Final = 500  # names, numbers and shingles read this many
MAX_CHARS: Final = 20_000  # never tokenise more of a text than this
MAX_TITLE_CHARS: Final = 500
MIN_DOCS: Final = 30  # IDF pretends the batch has at least this many items
MAX_POSTING: Final = 50  # a token in more items than this is too common to block on
MAX_CANDIDATES: Final = 30  # partners scored per item, the best-blocked first
LINK_SAMPLE: Final = 8  # members per side read by the average-linkage check
OPENING_WORDS: Final = 8  # a copy key: the first words of the body, verbatim
EMBED_CHARS: Final = 200  # embedded: the title (or the body's opening), this long at most
NEIGHBOURS: Final = 10  # nearest items by embedding that are scored too (paraphrases)
SEM_LOW: Final = 0.85  # an embedding cosine this low says nothing (e5's cosines sit high) ...
SEM_HIGH: Final = 0.98  # ... and from this on `semantic` is 1
OPENING_CHARS: Final = 400  # full texts: the title and the body's opening, this long at most
OPEN_LOW: Final = 0.86  # `opening` (two full texts' title-and-opening cosine) is 0 here ...
OPEN_HIGH: Final = 0.94  # ... and 1 from here (see OPENING_FIT), read against the batch:
OPEN_PRIOR: Final = 0.8  # a full text's usual opening cosine to another event's ...
OPEN_SMOOTH: Final = 10  # ... assumed as if this many more full texts sat there (`_density`)
OPEN_FROM: Final = -4.0  # FULL's logit without `opening` from which a pair's openings are read
# OPENINGS_WANTED (2026-12-07): an opening costs ~100 ms of CPU to embed (one thread; a
# title ~15), so only those that may change a join are (`openings_wanted`). `opening` only
# adds to a pair's score: a pair over EDGE_THRESHOLD without it needs no opening. At its
# full weight it could lift any pair of full texts over (-5.36 + 6), so how far below it
# lifts pairs was read off the tune half: on Giveme5W1H the pairs it carried over
# EDGE_THRESHOLD had logits of -3.89 and more without it. From -4: Giveme5W1H tune 85 of
# 125 full texts embedded (cut to titles: 53 of 81), held 49 of 105 (39 of 77), the groups
# those of every opening embedded; the fixtures 55 of 85, one group fewer wrong ("overall"
# precision 0.917 -> 0.933); AllSides (leads) none. From -3.5: 56 of 125, one Giveme5W1H
# group moves. `_density` reads the openings embedded. Speed bench: 41 openings embedded
# (all openings: 70). Tried and not kept: openings of 250 characters (~65 ms), refitted by
# `python bench/fit_cluster.py --opening --opening-chars 250` (every fold: 3 over
# 0.84-0.90; CV Giveme5W1H 0.944, cut 0.921, as at 400), whose weight bounds the band
# exactly (logit -0.85 - 3); with the embedded openings' `_density`, one tune group moved
# (0.944 -> 0.938) and held out Giveme5W1H recall fell to 0.880, under its floor (0.995/
# 0.880/0.934). (Held out looked at twice: that choice, then this one.)
# (Kept when embed.py moved to e5's query mode: among the tune half's candidate pairs, the old
# cosines 0.85 and 0.98 sit at the quantiles where the new ones are 0.850 and 0.984.)

EDGE_THRESHOLD: Final = 0.30  # a pair scoring this much is the same story ...
# A join into a group of 3+ needs an average score across the two groups of at least:
LINK_THRESHOLD: Final = 0.25  # headlines (either of the joining pair is headline-only);
LINK_FULL: Final = 0.2  # one item joining a group, full texts (LEAD_WORDS_MAX words or more);
LINK_SINGLE: Final = 0.3  # one item joining a group, leads (a paragraph or two);
LINK_GROUPS: Final = 0.5  # two groups of 2+ (leads or full texts): two stories of one topic?
LEAD_WORDS_MAX: Final = 120  # a body of fewer words is a lead (a teaser, a feed's snippet)
HEADLINE_WORDS: Final = 8  # fewer distinct content words in the body: a headline-only item
# Logistic weights of the pair score, fitted on the tune half of the shared sets
# (`python bench/eval_cluster.py --fit`); "far" is 1 - the date factor.
FULL: Final = {
    "bias": -5.36,
    "semantic": 3.06,  # 4.37 before the query mode (see SEMANTIC_REFIT)
    "opening": 6.0,  # two full texts: their title-and-opening cosine (see OPENING_FIT)
    "lead": 8.24,
    "title": 4.39,
    "names": 3.3,
    "numbers": 3.73,
    "other_figures": -1.44,
    "same_source": -0.52,
    "far": -8.0,  # set by hand: most shared pairs are undated, the fit gave it 1.4
}
HEADLINE: Final = {
    "bias": -2.3,
    "semantic": 12.22,  # 9.4 before the query mode
    "title": 2.93,
    "names": 4.82,
    "other_figures": -1.02,
    "nothing_shared": -1.58,  # no content word and no name in common
    "far": -8.0,
}  # the fitted bias (-0.77) lowered for precision on headlines
# One item headline-only, the other with a body (the pairs used HEADLINE before): fitted
# by `python bench/fit_cluster.py` (scikit-learn, C=10, AllSides and Giveme5W1H pairs
# weighing the same) on the tune half with a third of the items cut to their titles,
# title-only embeddings. 3-fold CV (by event) pairwise F1 against HEADLINE: AllSides 0.595
# -> 0.692 (P 0.479 -> 0.627), AllSides news 0.703 -> 0.763, Giveme5W1H 0.921 -> 0.926;
# uncut sets unchanged. Held out, cut the same way (`bench/eval_cluster.py --cut-titles`,
# measured once): AllSides P/R/F1 0.514/0.743/0.608, AllSides news 0.525/0.818/0.640,
# Giveme5W1H 0.965/0.828/0.891; with HEADLINE for these pairs, measured once after the
# choice: 0.414/0.759/0.536, 0.416/0.850/0.559, 0.964/0.811/0.881. `lead` reads the title
# against the other's title and opening.
MIXED: Final = {
    "bias": -5.35,
    "semantic": 2.69,  # 5.38 before the query mode
    "title": 3.28,
    "lead": 20.06,
    "names": 8.69,
    "numbers": 9.73,
    "other_figures": -2.85,
    "nothing_shared": -0.77,
    "same_source": -0.52,  # set by hand as in FULL: the fit gave +0.48 from 5 Giveme5W1H
    # pairs (AllSides: 193 same-outlet pairs, none one event); CV F1 the same either way
    "far": -8.0,
}
# SEMANTIC_REFIT: when embed.py moved to e5's query mode (vectors of "query: <title>", not
# "passage: query: <title>"), the semantic weights were refitted by `python
# bench/fit_cluster.py --semantic` on the tune half: today's weights times a factor from a
# grid, FULL first (best mean F1 on AllSides and Giveme5W1H, AllSides precision no lower than
# with the old vectors), then HEADLINE and MIXED (best mean F1 on UCI and the sets cut to
# titles, AllSides-cut precision no lower), within the fixtures' gates. 3-fold CV by event
# (P/R/F1, old vectors -> new): AllSides 0.849/0.721/0.780 -> 0.860/0.708/0.777, Giveme5W1H
# 0.906 -> 0.901, UCI 0.935/0.587/0.721 -> 0.971/0.636/0.769, AllSides cut 0.704 -> 0.706,
# Giveme5W1H cut 0.939 -> 0.918. Held out, measured once after the choice: AllSides
# 0.754/0.665/0.707 -> 0.760/0.660/0.706, AllSides news 0.771/0.759/0.765 ->
# 0.806/0.734/0.768, Giveme5W1H 0.995/0.867/0.927 -> 0.995/0.850/0.917 (4 pairs of 233),
# UCI 0.999/0.656/0.792 -> 0.999/0.686/0.813; cut to titles: AllSides 0.608 -> 0.611,
# AllSides news 0.640 -> 0.665, Giveme5W1H 0.891 -> 0.881.
# OPENING_FIT: FULL's `opening` weight and its scale were chosen by `python
# bench/fit_cluster.py --opening` on the tune half: a grid of weights (0-8) and scales, best
# mean F1 on Giveme5W1H whole and cut to titles, precision on AllSides (whole, news, cut)
# and Giveme5W1H no lower than without it, the fixtures' gates passing. Read raw, the
# opening cosine merged one van maker's two recalls (tests/fixtures/cluster/pages.jsonl,
# written as that gate): e5's cosines of one trade's texts sit higher (other events: up to
# 0.90 in the demo, 0.86 in Giveme5W1H), so within that gate it was worth little (CV
# Giveme5W1H F1 0.908). Read against the batch (`_density`), every fold chose 6 or 8 over
# 0.86-0.94; 6 is taken (8, the in-sample pick, holds the fixtures' "overall" precision at
# 0.902 against its floor 0.90, and the two recalls at 0.25 against EDGE_THRESHOLD; 6: 0.917,
# 0.22). 3-fold CV by event: Giveme5W1H 1.000/0.820/0.901 -> 1.000/0.894/0.944, cut 0.911
# -> 0.915; AllSides unchanged (its leads are under LEAD_WORDS_MAX words). Held out:
# Giveme5W1H 0.995/0.850/0.917 -> 0.968/0.906/0.936 (a Falcon Heavy preview joins the
# Roadster-on-Falcon-Heavy story), cut 0.964/0.811/0.881 -> 0.965/0.828/0.891; AllSides and
# UCI unchanged. (Looked at twice: after the raw choice, and after this one; the same.)
TEXTS: Final = FULL  # two full texts (`_weights`)
NAMES_FULL: Final = 6.0  # this many shared rare names make `names` 1 ...
NAMES_SURE: Final = 0.5  # ... and the pair score at least this (19 in 20 such pairs are one story)
NUMBERS_FULL: Final = 3  # this many shared figures make `numbers` 1
DUP_FLOOR: Final = 0.3  # shingle containment below this adds nothing ...
DUP_FULL: Final = 0.7  # ... and from this on the pair is a copy (score 1)
DUP_MIN_SHINGLES: Final = 20  # containment of a very short text counts as if it had this many
TEMPLATE_SHARE: Final = 0.1  # a token in this share of an outlet's items is its furniture ...
TEMPLATE_MIN: Final = 3  # ... when in at least this many of them
NEAR_DAYS: Final = 5.0  # dates this close are not penalised ...
FAR_DAYS: Final = 8.0  # ... and from here on the date factor is at its floor
DATE_FLOOR: Final = 0.4


def _wordset(text: str) -> frozenset[str]:
    """A set of words written as one string, so long lists stay readable."""
    return frozenset(text.split())


_WORD: Final = re.compile(r"[^\W_]+")
_SENTENCE_END: Final = frozenset(".!?:;\"'()[]-|\n\u2018\u2019\u201c\u201d\u2013\u2014\u2022")
_STOPWORDS: Final = _wordset(
    """a about above after again against ago ahead all almost along already also although
    always am among an and another any are around as at away back be became because become
    becomes been before being below between both but by came can cannot could did do does
    doing done down during each either else enough even ever every few first for from further
    get gets getting give given go goes going got had has have having he her here hers herself
    him himself his how however i if in including instead into is it its itself just last
    later least less let like made make makes making many may me might more most much must my
    myself near nearly never new next no nor not now of off often on once one only onto or
    other others our ours ourselves out over own per perhaps put rather re really said same
    say saying says see seen several she should since so some still such take taken than that
    the their theirs them themselves then there these they this those though three through
    thus to told too took toward towards two under until up upon us use used using very via
    was way we well were what whatever when where whether which while who whom whose why will
    with within without would yet you your yours yourself according week weeks year years
    month months day days today time times monday tuesday wednesday thursday friday saturday
    sunday january february march april june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec mr mrs ms dr inc co corp ltd llc plc ag
    ab sa nv se st"""
)
# Words of company names, job titles and kinds of car ("Halden Motors Inc.", "CFO", "SUV")
# that say nothing about which company, person or model it is.
_NAME_STOPWORDS: Final = _wordset(
    """motor motors auto automotive automaker carmaker company companies corporation group
    holding holdings industries international energy solutions systems components
    technologies global chief officer executive president ceo cfo coo cto suv ev bev phev hev
    mpv ai"""
)


@dataclass(frozen=True)
class Item:
    """One article to cluster: the title, the body (its lead matters most) and context."""

    id: str
    title: str
    text: str
    source: str = ""  # outlet name
    date: datetime | None = None  # tz-aware


# --- reading one item ------------------------------------------------------------------------


@lru_cache(maxsize=1 << 16)
def _normalise(word: str) -> str:
    """Lower-case and NFKC-fold; drop a plural "s" so "plants" meets "plant" and "EVs" "EV"."""
    plural_acronym = len(word) > 2 and word.endswith("s") and word[:-1].isupper()
    word = unicodedata.normalize("NFKC", word).casefold()
    if plural_acronym or (len(word) > 4 and word[-1] == "s" and word[-2:] not in _KEEP_S):
        return word[:-1]
    return word


_KEEP_S: Final = frozenset({"ss", "us", "is"})
_STOP: Final = _STOPWORDS | {_normalise(word) for word in _STOPWORDS}
_NAME_STOP: Final = _NAME_STOPWORDS | {_normalise(word) for word in _NAME_STOPWORDS}


def _is_content(token: str) -> bool:
    """A word worth comparing: not a stopword, not a bare number (numbers have their own)."""
    return len(token) > 1 and token not in _STOP and not token.isdigit()


@lru_cache(maxsize=1 << 16)
def _is_name_like(word: str) -> bool:
    """A word that could be (part of) a name: a content word starting with a letter."""
    token = _normalise(word)
    return word[0].isalpha() and _is_content(token) and token not in _NAME_STOP


def _prefix(text: str, limit: int) -> str:
    """The text up to the end of its `limit`-th word (and never beyond MAX_CHARS)."""
    text = text[:MAX_CHARS]
    for count, match in enumerate(_WORD.finditer(text), start=1):
        if count >= limit:
            return text[: match.end()]
    return text


def _body(item: Item) -> str:
    """The body without a leading copy of the title (extracted pages often repeat it)."""
    text, title = item.text[: 2 * MAX_CHARS].lstrip(), item.title.strip()
    if title and text[: len(title) + 1].casefold().startswith(title.casefold()):
        return text[len(title) :]
    return text


def embed_text(item: Item) -> str:
    """What is embedded of every item: its title (the opening of its body when it has none),
    EMBED_CHARS at most. A headline costs ~10 ms to embed and 400 characters ~150 ms, so
    only full texts also embed their opening (`opening_text`): on the shared sets' tune
    half, adding 120 characters of the body to every title changed pairwise F1 by about
    0.01 at twice the cost. (Generic titles, "Weekly roundup", are one outlet's: same-outlet
    pairs are judged without embeddings.)"""
    title = " ".join(item.title.split())[:EMBED_CHARS]
    return title or " ".join(_body(item)[: 2 * EMBED_CHARS].split())[:EMBED_CHARS]


def opening_text(item: Item) -> str:
    """What else is embedded of an item with a full text (LEAD_WORDS_MAX words of body or
    more: a page read, not a feed's snippet or a lead): its title and the body's opening,
    OPENING_CHARS at most; "" for any other item. Two full texts are compared on these
    vectors too (`opening`), everything else on the titles' alone."""
    if not _full_text(item):
        return ""
    title = " ".join(item.title.split())
    opening = " ".join(_body(item)[: 2 * OPENING_CHARS].split())
    return (f"{title}. {opening}" if title else opening)[:OPENING_CHARS]


def _full_text(item: Item) -> bool:
    """Whether the body is a full text: LEAD_WORDS_MAX words or more (as `_Profile.words`)."""
    body = _prefix(_body(item), LEAD_WORDS_MAX)
    return sum(1 for _ in _WORD.finditer(body)) >= LEAD_WORDS_MAX


def embed_texts(items: Sequence[Item]) -> list[str]:
    """The texts `group` reads vectors of, in its rows: each item's `embed_text`, then each
    item's `opening_text` ("" where none: a zero row, nothing embedded)."""
    return [*map(embed_text, items), *map(opening_text, items)]


@lru_cache(maxsize=1 << 16)
def _read_word(word: str) -> tuple[str, bool, bool, bool, bool]:
    """What the readings of an item need of one word, read once per distinct word: its
    token (`_normalise`), whether that is a content word (`_is_content`), whether the word
    is name-like (`_is_name_like`), written in lower case, and an acronym (`_acronym`)."""
    token = _normalise(word)
    content = _is_content(token)
    name_like = word[0].isalpha() and content and token not in _NAME_STOP
    return token, content, name_like, word[0].islower(), _acronym(word)


_Read = tuple[str, bool, bool, bool, bool]  # `_read_word`
_TOKEN_OF: Final = itemgetter(0)  # of a `_Read`: its token ...
_CONTENT_OF: Final = itemgetter(1)  # ... and whether that is a content word


def _content(read: Sequence[_Read]) -> Counter[str]:
    """Counts of the content words among words read (`_read_word`)."""
    return Counter(compress(map(_TOKEN_OF, read), map(_CONTENT_OF, read)))


def _starts_sentence(text: str, start: int) -> bool:
    """Whether the word at `start` follows a sentence break (or nothing)."""
    before = text[max(0, start - 4) : start].rstrip(" \t")
    return not before or before[-1] in _SENTENCE_END


def _acronym(word: str) -> bool:
    """BYD, LFP, GWh: a second capital marks a name even where a sentence opens."""
    return len(word) > 1 and sum(map(str.isupper, word)) >= 2


def _entities(
    body: str,
    title_words: Sequence[str],
    words: Sequence[re.Match[str]],
    read: Sequence[_Read],
    title_read: Sequence[_Read],
) -> Counter[str]:
    """Counts of the words used as names in the title and body.

    A capital opening a sentence proves nothing and a Headline Case subheading capitalises
    ordinary words, so a word is a name when its capitalised mid-sentence uses outnumber its
    lower-case ones, or when it opens a sentence next to another capital and is never written
    in lower case ("Kanto Motors said ...").

    `title_words` and `words` are the title's words and the body's (`_WORD` matches),
    `title_read` and `read` each word read (`_read_word`).
    """
    mid: dict[str, int] = {}
    opening: dict[str, int] = {}
    lower: dict[str, int] = {}
    last = len(words) - 1
    for index, (token, _, name_like, lowercase, acronym) in enumerate(read):
        if not name_like:
            continue
        if lowercase:
            lower[token] = lower.get(token, 0) + 1
        elif acronym or not _starts_sentence(body, words[index].start()):
            mid[token] = mid.get(token, 0) + 1
        elif index < last and words[index + 1].group()[0].isupper():
            opening[token] = opening.get(token, 0) + 1
    names = {token for token, count in mid.items() if count > lower.get(token, 0)}
    names.update(token for token in opening if token not in lower)
    names.update(_title_names(title_words))
    counts = Counter(filter(names.__contains__, map(_TOKEN_OF, read)))
    counts.update(filter(names.__contains__, map(_TOKEN_OF, title_read)))
    return counts


def _title_names(title_words: Sequence[str]) -> set[str]:
    """Names in the title: acronyms, and every capitalised word of a sentence-case title
    (the first too: titles mostly open with the actor, "Kanto picks ..."). A Headline Case
    Title capitalises every word, so there only the body can tell names apart."""
    words = [word for word in title_words if _is_name_like(word)]
    names = {_normalise(word) for word in words if _acronym(word)}
    if any(word[0].islower() for word in words[1:]):  # sentence case
        names.update(_normalise(word) for word in words if word[0].isupper())
    return names


def _figure_sets(text: str, cut: int) -> tuple[frozenset[str], frozenset[str]]:
    """The specific figures in `text` and in `text[:cut]` (read by digest.text.figures),
    canonical: "$3.8 billion" and "3.8bn" are both 3.8e9, "51 per cent" and "51%" both 51%.
    Years and bare integers below 10 say little about the event and are left out (and a
    number too long to be one).

    Each line is read once: no figure spans a line break (figures joins a number to its
    currency, scale and unit by spaces, tabs and hyphens only) and a line break ends any
    word, so the figures of a text are those of its lines read one by one, and only lines
    with a digit hold any."""
    full: set[str] = set()
    head: set[str] = set()
    start = 0
    for line in text.split("\n"):
        end = start + len(line)
        if _DIGIT.search(line):
            found = _line_numbers(line)
            full |= found
            if end <= cut:
                head |= found
            elif start < cut:
                head |= _line_numbers(line[: cut - start])
        start = end + 1
    return frozenset(full), frozenset(head)


_DIGIT: Final = re.compile(r"\d")


def _line_numbers(text: str) -> set[str]:
    """The figures of one line (see `_figure_sets`), read only where a digit is near
    (`_near_digits`): a paragraph's other sentences hold none, and reading them cost half
    of a week's figures."""
    found: set[str] = set()
    for start, end in _near_digits(text):
        found |= _piece_numbers(text[start:end])
    return found


# `_near_digits`: every character of a figure is at most this far from a digit of its
# number: a currency and a space before it, a scale and a unit after it (spellings that
# hold spaces: "kilometres per hour"), each after a space or hyphen.
_FIGURE_BEFORE: Final = 5
_FIGURE_AFTER: Final = (
    2
    + max(map(len, figures.WORD_SCALES))
    + max(len(spelling) for spellings in figures.UNITS.values() for spelling in spellings)
)
_DIGITS: Final = re.compile(r"\d+")


def _near_digits(text: str) -> list[tuple[int, int]]:
    """Spans of `text` that hold all its figures, each cut at a space farther than a figure
    reaches from any digit (_FIGURE_BEFORE, _FIGURE_AFTER). No figure or word holds such a
    space, so reading a span alone finds what reading the whole text finds there: every
    match before the cut ends before it, and after a space the figure pattern's look-behind
    (a digit and a point or comma) cannot hold either way."""
    spans: list[tuple[int, int]] = []
    for match in _DIGITS.finditer(text):
        start = text.rfind(" ", 0, max(match.start() - _FIGURE_BEFORE, 0)) + 1
        end = text.find(" ", match.end() + _FIGURE_AFTER)
        end = len(text) if end < 0 else end
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def _piece_numbers(text: str) -> set[str]:
    """The figures of a piece of a line (`_line_numbers`)."""
    found: set[str] = set()
    for quantity in figures.quantities(text):
        value, unit = quantity.value, quantity.unit if quantity.unit in ("%", "pp") else ""
        plain = not unit and quantity.scale is None and "." not in quantity.digits
        if not math.isfinite(value) or (plain and (value < 10 or 1900 <= value <= 2099)):
            continue
        found.add(f"{value:.6g}{unit}")
    return found


def _shingles(words: Sequence[str]) -> frozenset[str]:
    """Word 3-grams, lower-cased: the fingerprint of a copy."""
    lowered = list(map(str.casefold, words))
    return frozenset(map(" ".join, zip(lowered, lowered[1:], lowered[2:], strict=False)))


def _copy_keys(title_words: Sequence[str], body_words: Sequence[str]) -> tuple[str, ...]:
    """Keys that every copy of a text shares: its title and its opening words, lower-cased
    (when long enough to be specific)."""
    keys = []
    if len(title_words) >= 3:
        keys.append("title " + " ".join(title_words).casefold())
    if len(body_words) >= OPENING_WORDS:
        keys.append("opening " + " ".join(body_words[:OPENING_WORDS]).casefold())
    return tuple(keys)


def _aware(date: datetime | None) -> datetime | None:
    """A naive date is taken as UTC, so that any two dates can be subtracted."""
    if date is None or date.tzinfo is not None:
        return date
    return date.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _Profile:
    """What the scorer reads of one item: bags of tokens from a capped prefix."""

    title: Mapping[str, int]
    lead: Mapping[str, int]
    entities: Mapping[str, int]
    numbers: frozenset[str]
    head_numbers: frozenset[str]  # the figures of the headline and the opening words
    body_words: int  # content words of the body read (0: a headline-only entry)
    words: int  # words of the body read (at most BODY_WORDS): a lead or a full text
    shingles: frozenset[str]
    copy_keys: tuple[str, ...]  # the exact title and opening: shared by every copy
    source: str
    date: datetime | None

    def tokens(self) -> list[str]:
        """Its tokens, kind-prefixed, for the inverted index and document frequencies."""
        keys = dict.fromkeys(f"c:{key}" for key in self.copy_keys)
        keys.update(dict.fromkeys(f"w:{token}" for token in (*self.title, *self.lead)))
        keys.update(dict.fromkeys(f"e:{token}" for token in self.entities))
        keys.update(dict.fromkeys(f"n:{number}" for number in sorted(self.numbers)))
        return list(keys)

    def without(self, template: Mapping[str, frozenset[str]]) -> _Profile:
        """The profile less an outlet's furniture (`template` maps a kind to its tokens)."""
        empty: frozenset[str] = frozenset()

        def keep(counts: Mapping[str, int], kind: str) -> dict[str, int]:
            drop = template.get(kind, empty)
            return {token: n for token, n in counts.items() if token not in drop}

        return replace(
            self,
            title=keep(self.title, "w"),
            lead=keep(self.lead, "w"),
            entities=keep(self.entities, "e"),
            numbers=self.numbers - template.get("n", empty),
            shingles=self.shingles - template.get("s", empty),
        )


def _profile(item: Item) -> _Profile:
    """Everything the scorer needs from one item, read from a capped prefix of its text."""
    title = item.title[:MAX_TITLE_CHARS]
    text = _body(item)[:MAX_CHARS]
    # the body up to the end of its BODY_WORDS-th word (`_prefix`), its words found once
    matches = list(islice(_WORD.finditer(text), BODY_WORDS))
    body = text[: matches[-1].end()] if len(matches) == BODY_WORDS else text
    title_words, body_words = _WORD.findall(title), [match.group() for match in matches]
    opening = matches[HEAD_WORDS - 1].end() if len(matches) >= HEAD_WORDS else len(body)
    numbers, head_numbers = _figure_sets(title + "\n" + body, len(title) + 1 + opening)
    title_read, read = list(map(_read_word, title_words)), list(map(_read_word, body_words))
    lead = read[:LEAD_WORDS]
    return _Profile(
        title=_content(title_read),
        lead=_content([*title_read, *lead]),
        entities=_entities(body, title_words, matches, read, title_read),
        numbers=numbers,
        head_numbers=head_numbers,  # the figures of the title + "\n" + the opening words
        body_words=len(set(compress(map(_TOKEN_OF, lead), map(_CONTENT_OF, lead)))),
        words=len(body_words),
        shingles=_shingles(body_words or title_words),
        copy_keys=_copy_keys(title_words, body_words),
        source=" ".join(item.source.casefold().split()),
        date=_aware(item.date),
    )


# --- scoring a pair --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Weighted:
    """A profile weighed against its batch: what `_word_signals` compares."""

    profile: _Profile
    title: Vector
    lead: Vector
    rarity: Mapping[str, float]  # entity -> rarity in (0, 1]
    figure_rarity: Mapping[str, float]  # figure -> rarity in (0, 1]
    shingles: int  # how many of its shingles mark a copy (those not in MAX_POSTING items)
    # those of them another item of the batch has too: all that two items can share
    # (a tenth of them, so that a pair's shared shingles are found ten times faster)
    repeated: frozenset[str]


class _Batch:
    """Document frequencies over the batch, smoothed so that tiny batches weigh evenly."""

    def __init__(
        self, profiles: Sequence[_Profile], tokens: Sequence[Sequence[str]] | None = None
    ) -> None:
        """`tokens`: each profile's `tokens()`, if made before."""
        self.profiles = profiles
        tokens = [profile.tokens() for profile in profiles] if tokens is None else tokens
        self.df: Counter[str] = Counter()
        shingle_df: Counter[str] = Counter()
        for keys, profile in zip(tokens, profiles, strict=True):
            self.df.update(keys)
            shingle_df.update(profile.shingles)
        # the shingles too common to mark a copy, and those that may (not their counts: a
        # week's are megabytes); the shingles of one item only (most) looked at once
        shared = [s for s, count in shingle_df.items() if count > 1]
        self.common = frozenset(s for s in shared if shingle_df[s] > MAX_POSTING)
        self.repeated = frozenset(s for s in shared if shingle_df[s] <= MAX_POSTING)
        self.docs = max(len(profiles), MIN_DOCS)
        least = frozenset(s for s in shared if shingle_df[s] >= TEMPLATE_MIN)
        self.templates = _templates(profiles, tokens, least)
        self._idf: dict[int, float] = {}  # by document frequency: a batch has few of them
        self._kinds = {kind: _Idf(self, kind) for kind in "wen"}  # by token, once each

    def idf(self, key: str) -> float:
        """Inverse document frequency of a kind-prefixed token."""
        count = self.df[key]
        found = self._idf.get(count)
        if found is None:
            found = self._idf[count] = batch_idf(self.docs, count)
        return found

    def weigh(self, profile: _Profile) -> _Weighted:
        """The profile's token weights (log-TF x IDF) in this batch."""
        rarest = math.log(1.0 + self.docs)
        names, figures = self._kinds["e"], self._kinds["n"]
        # in sorted order: the pair sums over these (`_names`, `numbers`) then add in the
        # same order in every process (a set's order follows the process's string hashes,
        # and a sum's last bit its order)
        rarity = {token: names[token] / rarest for token in sorted(profile.entities)}
        figure_rarity = {number: figures[number] / rarest for number in sorted(profile.numbers)}
        return _Weighted(
            profile=profile,
            title=self._vector(profile.title, "w"),
            lead=self._vector(profile.lead, "w"),
            rarity=rarity,
            figure_rarity=figure_rarity,
            shingles=len(profile.shingles) - len(profile.shingles & self.common),
            repeated=profile.shingles & self.repeated,
        )

    def _vector(self, counts: Mapping[str, int], kind: str) -> Vector:
        return log_tfidf(counts, self._kinds[kind].__getitem__)


class _Idf(dict[str, float]):
    """The IDF of one kind's tokens (`_Batch.idf` of "kind:token"), each computed when
    first asked: a week's ~140,000 look-ups are of ~30,000 tokens."""

    def __init__(self, batch: _Batch, kind: str) -> None:
        super().__init__()
        self.batch, self.kind = batch, kind

    def __missing__(self, token: str) -> float:
        found = self[token] = self.batch.idf(f"{self.kind}:{token}")
        return found


def _templates(
    profiles: Sequence[_Profile], tokens: Sequence[Sequence[str]], shingles: frozenset[str]
) -> dict[str, dict[str, frozenset[str]]]:
    """Per outlet, the tokens in TEMPLATE_SHARE of its items: its furniture, by kind
    (`tokens`: each profile's `tokens()`; kind "s": its shingles, among `shingles`: those
    in TEMPLATE_MIN items of the batch or more, as furniture is)."""
    by_source: defaultdict[str, list[int]] = defaultdict(list)
    for index, profile in enumerate(profiles):
        if profile.source:
            by_source[profile.source].append(index)
    templates: dict[str, dict[str, frozenset[str]]] = {}
    for source, members in by_source.items():
        least = max(TEMPLATE_MIN, math.ceil(TEMPLATE_SHARE * len(members)))
        if len(members) < least:
            continue
        counts: Counter[str] = Counter()
        repeated: Counter[str] = Counter()
        for index in members:
            counts.update(tokens[index])
            repeated.update(profiles[index].shingles & shingles)
        kinds: defaultdict[str, set[str]] = defaultdict(set)
        for key, count in counts.items():
            if count >= least:
                kind, token = key.split(":", 1)
                kinds[kind].add(token)
        kinds["s"].update(shingle for shingle, count in repeated.items() if count >= least)
        templates[source] = {kind: frozenset(found) for kind, found in kinds.items() if found}
    return templates


def _names(a: _Weighted, b: _Weighted) -> float:
    """Shared rare names, counted (each by its rarity) and saturating at NAMES_FULL."""
    shared = sum(rarity for token, rarity in a.rarity.items() if token in b.rarity)
    return min(1.0, shared / NAMES_FULL)


def _containment(a: _Weighted, b: _Weighted) -> float:
    """|A & B| / min(|A|, |B|) over the shingles that mark a copy: a copy with a paragraph
    dropped still scores near 1.

    A very short text counts as DUP_MIN_SHINGLES long, so that three shared stock phrases
    do not make two one-line summaries "copies".
    """
    if not a.shingles or not b.shingles:
        return 0.0
    return len(a.repeated & b.repeated) / max(min(a.shingles, b.shingles), DUP_MIN_SHINGLES)


def _date_factor(a: datetime | None, b: datetime | None) -> float:
    """1 within NEAR_DAYS, falling linearly to DATE_FLOOR at FAR_DAYS apart (1 if undated)."""
    if a is None or b is None:
        return 1.0
    days = abs((a - b).total_seconds()) / 86_400.0
    if days <= NEAR_DAYS:
        return 1.0
    fraction = min(1.0, (days - NEAR_DAYS) / (FAR_DAYS - NEAR_DAYS))
    return 1.0 - (1.0 - DATE_FLOOR) * fraction


def _semantic(cosine: float, low: float = SEM_LOW, high: float = SEM_HIGH) -> float:
    """The embedding cosine rescaled to [0, 1] between `low` and `high`."""
    return max(0.0, min(1.0, (cosine - low) / (high - low)))


# The signals of a pair read from the words alone: lead, title, names, numbers, dup and
# other_figures (a grouping of the same reading with other vectors reads them again).
_Words = tuple[float, float, float, float, float, float]


def _word_signals(a: _Weighted, b: _Weighted) -> _Words:
    """The pair's signals that do not read the embeddings (`_Words`). A sum over what the
    two share is 0.0 when they share nothing, found first (most pairs share no title word,
    name or figure)."""
    shared_numbers = 0.0
    if _meet(a.figure_rarity, b.figure_rarity):
        shared_numbers = sum(r for n, r in a.figure_rarity.items() if n in b.figure_rarity)
    return (
        a.lead.cosine(b.lead) if _meet(a.lead.weights, b.lead.weights) else 0.0,
        a.title.cosine(b.title) if _meet(a.title.weights, b.title.weights) else 0.0,
        _names(a, b) if _meet(a.rarity, b.rarity) else 0.0,
        min(1.0, shared_numbers / NUMBERS_FULL),
        _containment(a, b),
        _other_figures(a.profile.head_numbers, b.profile.head_numbers),
    )


def _meet(a: Mapping[str, object], b: Mapping[str, object]) -> bool:
    """Whether two mappings share a key."""
    return not a.keys().isdisjoint(b.keys())


def _with_vectors(cosine: float, opening: float, words: _Words) -> dict[str, float]:
    """Every signal of the pair score, each in [0, 1], from the cosine of the two items'
    `embed_text` vectors, that of their `opening_text` vectors less the batch's usual
    (`opening`: 0 unless both are full texts) and the words' signals (`_word_signals`)."""
    lead, title, names, numbers, dup, other_figures = words
    return {
        "semantic": _semantic(cosine),
        "opening": _semantic(opening, OPEN_LOW, OPEN_HIGH),
        "lead": lead,
        "title": title,
        "names": names,
        "numbers": numbers,
        "dup": dup,
        "other_figures": other_figures,
    }


def _other_figures(a: frozenset[str], b: frozenset[str]) -> float:
    """1 when both headlines (with the opening words) carry figures and share none ("claims
    fall to 385,000" and "... to 473,000": two weeks' reports), else 0."""
    return 1.0 if a and b and not a & b else 0.0


def _headlines(a: _Profile, b: _Profile) -> int:
    """How many of the two items are headline-only (0, 1 or 2): it picks the weights."""
    return (a.body_words < HEADLINE_WORDS) + (b.body_words < HEADLINE_WORDS)


def _features(signals: Mapping[str, float], a: _Profile, b: _Profile) -> dict[str, float]:
    """What the logistic weights multiply: the signals, with the pair's context.

    An empty title is a missing signal, not a disagreement: the lead stands in for it.
    """
    values = dict(signals, title=signals["title"] if a.title and b.title else signals["lead"])
    values["same_source"] = float(bool(a.source) and a.source == b.source)
    values["far"] = 1.0 - _date_factor(a.date, b.date)
    values["nothing_shared"] = float(not (signals["lead"] or signals["names"]))
    return values


def _logit(weights: Mapping[str, float], values: Mapping[str, float]) -> float:
    """The weights' bias plus each weight times its feature; a name "x*y" weighs the
    product of the features x and y (an interaction)."""
    total = 0.0  # summed in the weights' order, as ever (the same floats to the last bit)
    for name, w in weights.items():
        if name == "bias":
            continue
        if "*" in name:
            total += w * math.prod(values[part] for part in name.split("*"))
        else:  # a product of one feature is that feature: without math.prod's cost
            total += w * values[name]
    return weights["bias"] + total


def _weights(a: _Profile, b: _Profile) -> Mapping[str, float]:
    """The logistic weights of a pair: TEXTS for two full texts (LEAD_WORDS_MAX words or
    more each), FULL for other pairs with bodies, MIXED when one item is headline-only,
    HEADLINE when both are."""
    count = _headlines(a, b)
    if count == 0 and min(a.words, b.words) >= LEAD_WORDS_MAX:
        return TEXTS
    return (FULL, MIXED, HEADLINE)[count]


def _combine(signals: Mapping[str, float], a: _Profile, b: _Profile) -> float:
    """The pair score in [0, 1]: a logistic mix of the signals (`_weights`), or 1 for a
    copy."""
    z = _logit(_weights(a, b), _features(signals, a, b))
    copy = (signals["dup"] - DUP_FLOOR) / (DUP_FULL - DUP_FLOOR)
    names = NAMES_SURE if signals["names"] >= 1.0 else 0.0
    return max(1.0 / (1.0 + math.exp(-z)), min(1.0, copy), names)


@dataclass(frozen=True)
class Reading:
    """What grouping reads of a batch from its words alone, whatever the vectors: the
    profiles and document frequencies (`_Batch`), each item weighed in the batch, and
    the pairs that share rare words (`_candidates`). `read` makes it; a grouping of the
    same items with other vectors starts from it (`group(items, vectors, reading)`)."""

    batch: _Batch
    weighted: tuple[_Weighted, ...]
    pairs: tuple[tuple[int, int], ...]
    # items weighed without their outlet's furniture, made when a grouping first needs them
    # (`_Scorer._stripped`) and kept for the next grouping of the same reading
    stripped: dict[int, _Weighted] = field(default_factory=dict, compare=False)
    # the candidate pairs' signals read from the words, kept alike (`_PairWords`)
    words: _PairWords = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", _PairWords(self.pairs, len(self.weighted)))


@contextmanager
def _uncollected() -> Iterator[None]:
    """The cyclic garbage collector paused for the block: reading and grouping a week
    make ~a million objects and no cycles, and the collections they set off each walk
    every object alive (~0.25 s of CPU in a week's first pass). It runs again after (a
    block run with it paused leaves it paused)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def read(items: Sequence[Item]) -> Reading:
    """The reading of `items` (see `Reading`)."""
    with _uncollected():
        return _read(items)


def _read(items: Sequence[Item]) -> Reading:
    profiles = [_profile(item) for item in items]
    tokens = [profile.tokens() for profile in profiles]
    batch = _Batch(profiles, tokens)
    weighted = tuple(batch.weigh(profile) for profile in profiles)
    return Reading(batch, weighted, tuple(_candidates(profiles, batch, tokens)))


class _PairWords:
    """The word signals (`_word_signals`) of the candidate pairs (i < j) of `count` items,
    once scored: a later grouping of the same reading scores them again with other
    vectors. Six doubles a pair in one array (~1.3 MB for a week's ~27,000 pairs; a dict
    of tuples took ~11 MB). Other pairs (nearest by embedding only) are not kept."""

    def __init__(self, pairs: Sequence[tuple[int, int]], count: int) -> None:
        self.count = count
        # ascending, as the pairs are sorted
        self.keys = np.array([i * count + j for i, j in pairs], dtype=np.int64)
        self.values = np.zeros((len(pairs), 6))
        self.known = np.zeros(len(pairs), dtype=bool)

    def slot(self, i: int, j: int) -> int:
        """Where the pair (i, j) is kept, or -1 (not a candidate pair, or i > j: the sums
        of (j, i) run in another order)."""
        return int(self.slots(np.array([i]), np.array([j]))[0])

    def slots(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """`slot` of each pair (first[n], second[n])."""
        keys = first.astype(np.int64) * self.count + second
        at = np.searchsorted(self.keys, keys)
        found = at < len(self.keys)
        found[found] = self.keys[at[found]] == keys[found]
        return np.where(found & (first < second), at, -1)

    def get(self, slot: int) -> _Words | None:
        if slot < 0 or not self.known[slot]:
            return None
        return cast(_Words, tuple(self.values[slot].tolist()))

    def put(self, slot: int, words: _Words) -> None:
        if slot >= 0:
            self.values[slot] = words
            self.known[slot] = True


class _Table:
    """What `_Scorer.edges` reads of each item, in arrays indexed by item."""

    def __init__(self, profiles: Sequence[_Profile], embedded: Sequence[bool]) -> None:
        ids: dict[str, int] = {"": 0}
        self.source = np.array([ids.setdefault(p.source, len(ids)) for p in profiles], np.intp)
        self.titled = np.array([bool(p.title) for p in profiles], dtype=bool)
        self.full = np.array([p.words >= LEAD_WORDS_MAX for p in profiles], dtype=bool)
        self.headline = np.array([p.body_words < HEADLINE_WORDS for p in profiles], np.intp)
        self.embedded = np.array(embedded, dtype=bool)
        self.dates = [p.date for p in profiles]
        self.dated = np.array([date is not None for date in self.dates], dtype=bool)
        # microseconds since the epoch: a pair's difference is that of its `timedelta`
        # when every offset is fixed (an aware subtraction within one zone ignores it)
        self.fixed = all(date is None or type(date.tzinfo) is timezone for date in self.dates)
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        self.micros = np.array(
            [(date - epoch) // _MICROSECOND if date is not None else 0 for date in self.dates],
            np.int64,
        )

    def date_factors(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """`_date_factor` of each pair (first[n], second[n])."""
        if not self.fixed:
            pairs = zip(first.tolist(), second.tolist(), strict=True)
            return np.array([_date_factor(self.dates[i], self.dates[j]) for i, j in pairs])
        seconds = (self.micros[first] - self.micros[second]) / 10**6  # `total_seconds`
        days = np.abs(seconds) / 86_400.0
        fraction = np.minimum(1.0, (days - NEAR_DAYS) / (FAR_DAYS - NEAR_DAYS))
        factor = np.where(days <= NEAR_DAYS, 1.0, 1.0 - (1.0 - DATE_FLOOR) * fraction)
        return np.where(self.dated[first] & self.dated[second], factor, 1.0)


_MICROSECOND: Final = timedelta(microseconds=1)


def _logits(weights: Mapping[str, float], values: Mapping[str, np.ndarray]) -> np.ndarray:
    """`_logit` over arrays of features: the same sum, in the same order, pair by pair."""
    total = np.zeros(len(values["lead"]))
    for name, w in weights.items():
        if name == "bias":
            continue
        parts = name.split("*")
        product = values[parts[0]]
        for part in parts[1:]:
            product = product * values[part]
        total = total + w * product
    return weights["bias"] + total


def _combined(
    values: Mapping[str, np.ndarray], headlines: np.ndarray, full: np.ndarray
) -> np.ndarray:
    """`_combine` over arrays: each pair's weights (`_weights`: `headlines`, how many of
    the two are headline-only; `full`, both full texts), logit, logistic, copy and names."""
    logits = np.zeros(len(headlines))
    for count, weights in enumerate((FULL, MIXED, HEADLINE)):
        chosen = headlines == count
        if count == 0:
            logits[chosen & full] = _logits(TEXTS, values)[chosen & full]
            chosen &= ~full
        logits[chosen] = _logits(weights, values)[chosen]
    logistic = np.array([1.0 / (1.0 + math.exp(-z)) for z in logits.tolist()])
    copy = np.minimum(1.0, (values["dup"] - DUP_FLOOR) / (DUP_FULL - DUP_FLOOR))
    sure = np.where(values["names"] >= 1.0, NAMES_SURE, 0.0)
    scores: np.ndarray = np.maximum(np.maximum(logistic, copy), sure)
    return scores


# Whether a pair's score only grows with `semantic` (its weight never below 0, in no
# product): then the score with `semantic` 1 bounds it (IEEE sums and products are
# monotone, as is the logistic), and a pair under EDGE_THRESHOLD - _SLACK so needs no
# cosine (`_Scorer.edges`). The slack covers an exp a last bit off monotone.
_SEMANTIC_ADDS: Final = all(
    weights.get("semantic", 0.0) >= 0
    and not any("*" in name and "semantic" in name.split("*") for name in weights)
    for weights in (TEXTS, FULL, MIXED, HEADLINE)
)
_SLACK: Final = 1e-9


class _Scorer:
    """Pair scores over one batch, cached so that the linkage check can reuse them."""

    def __init__(
        self,
        items: Sequence[Item],
        vectors: embed.Vectors | None = None,
        reading: Reading | None = None,
    ) -> None:
        reading = reading or read(items)
        self.batch, self.weighted = reading.batch, list(reading.weighted)
        if vectors is None:
            vectors = embedded(items, reading)
        self.vectors, self.openings = _rows(vectors, len(items))
        # the rows left empty (items not embedded): their cosines are 0, not computed
        self.embedded = [bool(row.any()) for row in self.vectors]
        self.density = _density(self.openings, self.batch.profiles)
        self.stripped, self.words = reading.stripped, reading.words
        self.cache: dict[tuple[int, int], float] = {}

    def __call__(self, i: int, j: int) -> float:
        key = (i, j) if i < j else (j, i)
        score = self.cache.get(key)
        if score is None:
            score = self.cache[key] = self._score(*key)
        return score

    def signals(self, i: int, j: int) -> dict[str, float]:
        """The signals of a pair. Same-outlet pairs are read without the outlet's furniture,
        and without the embeddings, which cannot be stripped of it: one outlet's snippets
        share a house template ("X said on Monday it would recall N vans") that the model
        reads as one meaning."""
        a, b = self.weighted[i], self.weighted[j]
        same = bool(a.profile.source) and a.profile.source == b.profile.source
        slot = self.words.slot(i, j)
        words = self.words.get(slot)
        if words is None:
            words = self._read_words(i, j, same)
            self.words.put(slot, words)
        if same:
            return _with_vectors(0.0, 0.0, words)
        opening, openings = 0.0, self.openings
        if openings is not None and min(a.profile.words, b.profile.words) >= LEAD_WORDS_MAX:
            crowd = (self.density[i] + self.density[j]) / 2 - OPEN_PRIOR
            opening = float(openings[i] @ openings[j]) - crowd  # a float32, as ever
        return _with_vectors(self._cosine(i, j), opening, words)

    def _read_words(self, i: int, j: int, same: bool) -> _Words:
        a, b = self.weighted[i], self.weighted[j]
        return _word_signals(*((self._stripped(i), self._stripped(j)) if same else (a, b)))

    def _cosine(self, i: int, j: int) -> float:
        """The titles' cosine; 0 when either row is empty (`semantic` 0, as from +-0)."""
        if self.embedded[i] and self.embedded[j]:
            return float(self.vectors[i] @ self.vectors[j])
        return 0.0

    def _score(self, i: int, j: int) -> float:
        a, b = self.batch.profiles[i], self.batch.profiles[j]
        return _combine(self.signals(i, j), a, b)

    def edges(self, pairs: Sequence[tuple[int, int]]) -> list[tuple[float, int, int]]:
        """The pairs (each i < j) scoring EDGE_THRESHOLD or more, as (score, i, j): the
        scores `self(i, j)` gives, to the last bit, kept for the linkage. The pairs'
        signals, features and logits are read over arrays, with the same operations on
        the same floats in the same order as pair by pair (`_combine`), save the pairs of
        two full texts with openings, whose `opening` is a float32: scored one by one.
        A pair that could not reach EDGE_THRESHOLD whatever its titles' cosine (scored
        with `semantic` 1: the score only grows with it, see _SEMANTIC_ADDS) is left
        there, its cosine not computed (nor its score kept: `self(i, j)` scores it)."""
        if not pairs:
            return []
        table = self.table
        first, second = (np.array(side, dtype=np.intp) for side in zip(*pairs, strict=True))
        same = (table.source[first] > 0) & (table.source[first] == table.source[second])
        full = table.full[first] & table.full[second]
        alone = ~same & full if self.openings is not None else np.zeros(len(pairs), bool)
        words = self._pair_words(pairs, first, second, same)
        lead, title, names, numbers, dup, other_figures = words.T
        wanted = ~same & ~alone & table.embedded[first] & table.embedded[second]
        values = {
            "semantic": wanted.astype(float),  # the most a cosine gives (others: 0)
            "opening": np.zeros(len(pairs)),  # `_semantic(0.0, OPEN_LOW, OPEN_HIGH)`
            "lead": lead,
            "title": np.where(table.titled[first] & table.titled[second], title, lead),
            "names": names,
            "numbers": numbers,
            "dup": dup,
            "other_figures": other_figures,
            "same_source": same.astype(float),
            "far": 1.0 - table.date_factors(first, second),
            "nothing_shared": ((lead == 0.0) & (names == 0.0)).astype(float),
        }
        headlines = table.headline[first] + table.headline[second]
        if _SEMANTIC_ADDS:
            bound = _combined(values, headlines, full)
            wanted &= bound >= EDGE_THRESHOLD - _SLACK
        cosines = np.zeros(len(pairs))
        rows = list(self.vectors)
        for n in np.flatnonzero(wanted).tolist():
            i, j = pairs[n]
            cosines[n] = float(rows[i] @ rows[j])
        values["semantic"] = np.maximum(
            0.0, np.minimum(1.0, (cosines - SEM_LOW) / (SEM_HIGH - SEM_LOW))
        )
        scores: list[float] = _combined(values, headlines, full).tolist()
        for n in np.flatnonzero(alone).tolist():
            scores[n] = self._score(*pairs[n])
        left = (~same & ~alone & table.embedded[first] & table.embedded[second]) & ~wanted
        kept = np.flatnonzero(~left).tolist()
        self.cache.update((pairs[n], scores[n]) for n in kept)
        return [(scores[n], *pairs[n]) for n in kept if scores[n] >= EDGE_THRESHOLD]

    def _pair_words(
        self,
        pairs: Sequence[tuple[int, int]],
        first: np.ndarray,
        second: np.ndarray,
        same: np.ndarray,
    ) -> np.ndarray:
        """The word signals of `pairs` (rows of six), those kept read back."""
        slots = self.words.slots(first, second)
        known = slots >= 0
        known[known] = self.words.known[slots[known]]
        out = np.empty((len(pairs), 6))
        out[known] = self.words.values[slots[known]]
        alike, unread = same.tolist(), np.flatnonzero(~known)
        for start in range(0, len(unread), 4096):  # a few thousand tuples alive at once
            read = unread[start : start + 4096]
            indices: list[int] = read.tolist()
            out[read] = [self._read_words(*pairs[n], alike[n]) for n in indices]
            kept = slots[read] >= 0
            self.words.values[slots[read][kept]] = out[read][kept]
            self.words.known[slots[read][kept]] = True
        return out

    @cached_property
    def table(self) -> _Table:
        return _Table(self.batch.profiles, self.embedded)

    def _stripped(self, index: int) -> _Weighted:
        """An item weighed without its outlet's furniture (the item itself when it has none)."""
        if index not in self.stripped:
            profile = self.batch.profiles[index]
            template = self.batch.templates.get(profile.source)
            self.stripped[index] = (
                self.batch.weigh(profile.without(template)) if template else self.weighted[index]
            )
        return self.stripped[index]

    def link_threshold(self, i: int, j: int, smaller: int) -> float:
        """The average score a join of `i` and `j` into a group of 3+ needs (`smaller`: the
        smaller group's size). Two groups that each hold a story need much more than one
        item joining a story: on the tune half of the AllSides leads, such joins were mostly
        follow-ups of one running topic (budget talks, mandates), and single joins mostly
        the third outlet of the event. Headlines are left out: a story told in 30 headlines
        grows by joining groups."""
        a, b = self.batch.profiles[i], self.batch.profiles[j]
        if _headlines(a, b):
            return LINK_THRESHOLD
        if smaller >= 2:
            return LINK_GROUPS
        return LINK_FULL if min(a.words, b.words) >= LEAD_WORDS_MAX else LINK_SINGLE

    def linkage(self, a: int, b: int, groups: _Groups) -> float:
        """Average score between two groups, over samples of LINK_SAMPLE members each."""
        scores = [self(i, j) for i in groups.sample[a] for j in groups.sample[b]]
        return sum(scores) / len(scores)


def openings_wanted(items: Sequence[Item], vectors: embed.Vectors, reading: Reading) -> list[int]:
    """The items whose `opening_text` is worth embedding (`vectors`: the rows of their
    titles' `embed_text`): full texts in a candidate pair that `opening` could carry
    over EDGE_THRESHOLD: one whose score without it is under EDGE_THRESHOLD, its logit
    OPEN_FROM or more (OPENINGS_WANTED). The other items' openings are not
    embedded (a zero row): each costs ~100 ms of CPU, seven headlines' worth."""
    scorer = _Scorer(items, vectors[: len(items)], reading)
    profiles = scorer.batch.profiles
    wanted: set[int] = set()
    for i, j in sorted({*reading.pairs, *_neighbours(scorer.vectors)}):
        a, b = profiles[i], profiles[j]
        if min(a.words, b.words) < LEAD_WORDS_MAX or (a.source and a.source == b.source):
            continue
        if {i, j} <= wanted or _headlines(a, b):
            continue
        signals = scorer.signals(i, j)
        if (
            _logit(TEXTS, _features(signals, a, b)) >= OPEN_FROM
            and _combine(signals, a, b) < EDGE_THRESHOLD
        ):
            wanted.update((i, j))
    return sorted(wanted)


def embedded(
    items: Sequence[Item],
    reading: Reading,
    cache: embed.Cache | None = None,
    now: datetime | None = None,
) -> embed.Vectors:
    """The vectors `group` reads, in the rows of `embed_texts`: every title's, then the
    openings of the items `openings_wanted` names (zero rows for the others), through
    `cache` (`embed.vectors`)."""
    texts, count = embed_texts(items), len(items)
    titles = embed.vectors(texts[:count], cache, now)
    wanted = set(openings_wanted(items, titles, reading))
    picked = [text if n in wanted else "" for n, text in enumerate(texts[count:])]
    return np.vstack([titles, embed.vectors(picked, cache, now)])


class Staged:
    """`cluster` as a job for `embed.completed` (an `embed.Later`): given the titles'
    vectors, it names the openings worth embedding (`openings_wanted`); the other opening
    rows stay empty. `reading`: a file holding (or to hold) the items' `Reading`, made
    by a grouping of the same items with other vectors (see `regroup`)."""

    def __init__(self, items: Sequence[Item], reading: Path | None = None) -> None:
        self.items, self.path = items, reading
        self.optional = range(len(items), 2 * len(items))
        self.known: Reading | None = None

    def reading(self) -> Reading:
        """The items' reading: read once, from the file when there is one."""
        if self.known is None:
            self.known = _known(self.items, self.path) if self.path else read(self.items)
        return self.known

    def wanted(self, vectors: embed.Vectors) -> list[int]:
        """The rows (of `embed_texts`) of the openings worth embedding."""
        count = len(self.items)
        return [count + n for n in openings_wanted(self.items, vectors, self.reading())]

    def __call__(self, vectors: embed.Vectors) -> list[list[int]]:
        return cluster(self.items, vectors, self.reading())


def _density(openings: embed.Vectors | None, profiles: Sequence[_Profile]) -> embed.Vectors:
    """Per item, its mean opening cosine to the batch's other full texts, smoothed towards
    OPEN_PRIOR as if OPEN_SMOOTH more full texts sat at it. e5's cosines sit higher among
    texts of one trade (a week of car news) than across the news at large: an opening
    cosine is read against what is usual around the two items. Only the openings embedded
    count (`openings_wanted`; on the tune half of Giveme5W1H, 85 of 125, the groups the
    same as with every opening embedded)."""
    count = len(profiles)
    out = np.full(count, OPEN_PRIOR, dtype=np.float32)
    if openings is None:
        return out
    full = [n for n, p in enumerate(profiles) if p.words >= LEAD_WORDS_MAX and openings[n].any()]
    for start in range(0, len(full), 512):
        rows = full[start : start + 512]
        block = openings[rows] @ openings[full].T
        total = block.sum(axis=1) - (openings[rows] * openings[rows]).sum(axis=1)
        out[rows] = (total + OPEN_PRIOR * OPEN_SMOOTH) / (len(full) - 1 + OPEN_SMOOTH)
    return out


def _rows(vectors: embed.Vectors, count: int) -> tuple[embed.Vectors, embed.Vectors | None]:
    """The title vectors and the opening vectors (None when only titles were given) of
    `count` items, from the rows of `embed_texts` (or of the titles alone)."""
    if len(vectors) == 2 * count and count:
        return vectors[:count], vectors[count:]
    return vectors, None


def similarity(a: Item, b: Item, vectors: embed.Vectors | None = None) -> float:
    """The pair score of two items on their own (IDF as in a batch of MIN_DOCS items)."""
    return _Scorer([a, b], vectors)(0, 1)


# --- clustering ------------------------------------------------------------------------------


def _neighbours(vectors: embed.Vectors) -> set[tuple[int, int]]:
    """Pairs (i < j) where j is among i's NEIGHBOURS nearest by embedding (or i among j's),
    with a cosine above SEM_LOW: paraphrases that share no rare word. Rows are compared in
    blocks, so memory stays bounded in the batch size."""
    pairs: set[tuple[int, int]] = set()
    count = len(vectors)
    k = min(NEIGHBOURS, count - 1)
    if k <= 0:
        return pairs
    for start in range(0, count, 512):
        block = vectors[start : start + 512] @ vectors.T
        for first in range(start, start + len(block), 64):  # 64 rows: little memory
            scores = block[first - start : first - start + 64]
            rows = np.arange(first, first + len(scores))
            scores[rows - first, rows] = -1.0  # not its own neighbour
            # each row's k nearest, as one row's argpartition picks them (ties too)
            nearest = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            close = np.take_along_axis(scores, nearest, axis=1) > SEM_LOW
            row, other = np.broadcast_to(rows[:, None], nearest.shape)[close], nearest[close]
            low, high = np.minimum(row, other).tolist(), np.maximum(row, other).tolist()
            pairs.update(zip(low, high, strict=True))
    return pairs


def _candidates(
    profiles: Sequence[_Profile], batch: _Batch, tokens: Sequence[Sequence[str]] | None = None
) -> list[tuple[int, int]]:
    """Pairs (i < j) worth scoring: they share rare tokens, or they may be copies.

    Tokens in more than MAX_POSTING items are skipped and each item keeps its MAX_CANDIDATES
    partners with the most shared IDF, so the work is linear in the batch. A copy key (exact
    title or opening) in more items than that links each item to the next one holding it,
    so that a story copied a hundred times still becomes one chain, at linear cost.
    `tokens`: each profile's `tokens()`, if made before.
    """
    tokens = [profile.tokens() for profile in profiles] if tokens is None else tokens
    postings: dict[str, list[int]] = defaultdict(list)
    for index, keys in enumerate(tokens):
        for key in keys:
            postings[key].append(index)
    pairs: set[tuple[int, int]] = set()
    shared_by: dict[str, tuple[float, list[int]]] = {}  # a key shared by 2 to MAX_POSTING
    for key, posting in postings.items():
        if 1 < len(posting) <= MAX_POSTING:
            shared_by[key] = (batch.idf(key), posting)
        elif key.startswith("c:") and len(posting) > MAX_POSTING:
            pairs.update(pairwise(posting))
    for index, keys in enumerate(tokens):
        shared: dict[int, float] = {}  # partner -> the IDF shared, added up key by key
        for key in keys:
            found = shared_by.get(key)
            if found is None:
                continue
            weight, posting = found
            for other in posting:
                if other != index:
                    shared[other] = weight + shared.get(other, 0)
        if len(shared) > MAX_CANDIDATES:  # the most shared IDF first, then the lowest index
            ranked = heapq.nsmallest(MAX_CANDIDATES, [(-idf, n) for n, idf in shared.items()])
            best = [other for _, other in ranked]
        else:
            best = list(shared)
        pairs.update((min(index, other), max(index, other)) for other in best)
    return sorted(pairs)


class _Groups:
    """Union-find that keeps each group's members and its LINK_SAMPLE lowest indices."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))
        self.members: dict[int, list[int]] = {i: [i] for i in range(size)}
        self.sample: dict[int, list[int]] = {i: [i] for i in range(size)}

    def find(self, index: int) -> int:
        while self.parent[index] != index:
            self.parent[index] = self.parent[self.parent[index]]
            index = self.parent[index]
        return index

    def size(self, root: int) -> int:
        return len(self.members[root])

    def union(self, a: int, b: int) -> None:
        """Join two roots, the smaller group into the larger (linear overall)."""
        keep, drop = (a, b) if self.size(a) >= self.size(b) else (b, a)
        self.parent[drop] = keep
        self.members[keep].extend(self.members.pop(drop))
        self.sample[keep] = sorted(self.sample[keep] + self.sample.pop(drop))[:LINK_SAMPLE]

    def groups(self) -> list[list[int]]:
        """Each group sorted, groups ordered by their first index."""
        return sorted(sorted(members) for members in self.members.values())


@dataclass(frozen=True)
class Join:
    """One merge the clusterer made: the pair that joined two groups (indices into the
    items), its score and signals, the average score across the two groups, and the
    average it had to reach (`threshold`: EDGE_THRESHOLD for two single items, else the
    link threshold for the kind of join, see `_Scorer.link_threshold`)."""

    a: int
    b: int
    score: float
    linkage: float
    threshold: float
    signals: Mapping[str, float]


@dataclass(frozen=True)
class Grouping:
    """The groups (as `cluster` returns them) and the joins that made them, in order."""

    groups: list[list[int]]
    joins: tuple[Join, ...]


def group(
    items: Sequence[Item], vectors: embed.Vectors | None = None, reading: Reading | None = None
) -> Grouping:
    """Cluster `items` and say why: every join with its score and signals.

    `vectors` are the items' embeddings of `embed_texts` (computed here when not given; the
    pipeline passes cached ones), or of their titles alone (`embed_text`: no `opening`).
    `reading`: `read(items)`, if made before (a grouping of the same items with other
    vectors): the same groups, without reading them again."""
    with _uncollected():
        return _group(items, vectors, reading)


def _group(
    items: Sequence[Item], vectors: embed.Vectors | None, reading: Reading | None
) -> Grouping:
    reading = reading or read(items)
    scorer = _Scorer(items, vectors, reading)
    edges = scorer.edges(sorted({*reading.pairs, *_neighbours(scorer.vectors)}))
    groups = _Groups(len(items))
    joins = []
    for score, i, j in sorted(edges, key=lambda edge: (-edge[0], edge[1], edge[2])):
        a, b = groups.find(i), groups.find(j)
        if a == b:
            continue
        linkage = scorer.linkage(a, b, groups)
        sizes = (groups.size(a), groups.size(b))
        needed = scorer.link_threshold(i, j, min(sizes)) if sum(sizes) > 2 else EDGE_THRESHOLD
        if linkage < needed:
            continue
        groups.union(a, b)
        joins.append(Join(i, j, score, linkage, needed, scorer.signals(i, j)))
    return Grouping(groups.groups(), tuple(joins))


def cluster(
    items: Sequence[Item], vectors: embed.Vectors | None = None, reading: Reading | None = None
) -> list[list[int]]:
    """Groups of indices into `items`; every index appears exactly once; singletons included;
    each group sorted; groups ordered by their first index."""
    return group(items, vectors, reading).groups


def regroup(items: Sequence[Item], reading: Path, vectors: embed.Vectors) -> list[list[int]]:
    """`cluster`, starting from the reading of `items` pickled in the file `reading` by a
    grouping of the same items with other vectors (in another worker process, say); with
    no such file yet, the reading is made and pickled there for the next. The groups are
    those of a fresh grouping. (A file, not a value: the reading is megabytes, and
    neither the caller nor the next worker holds it whole as bytes.)"""
    return cluster(items, vectors, _known(items, reading))


def _known(items: Sequence[Item], reading: Path) -> Reading:
    """The reading of `items` pickled in the file `reading`, made and pickled there first
    when there is no such file yet (see `regroup`)."""
    if reading.exists():
        with reading.open("rb") as file:
            known: Reading = pickle.load(file)
        return known
    known = read(items)
    part = reading.with_name(reading.name + ".part")  # whole or not there
    with part.open("wb") as file:
        pickle.dump(known, file, protocol=pickle.HIGHEST_PROTOCOL)
    part.replace(reading)
    return known
