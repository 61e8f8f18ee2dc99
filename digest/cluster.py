"""Story clustering: the same story from many outlets becomes one group.

Two articles are "the same story" when they report the same event: syndicated copies of one
wire text, but also independent write-ups ("Nissan seeks partner; Foxconn circles" from two
outlets, or an AI-written rehash days later). Stories about the same company but a different
event ("Arden names new CFO" vs "Arden and Hanseong build a battery plant") stay apart.

The pair score (`similarity`) mixes cheap signals, all computed on a capped prefix of the
article so that a huge page costs no more than a normal one:

* `dup`: containment of word 3-gram shingles of the lead; near 1 for syndicated copies;
* `lead`: TF-IDF cosine of the content words of title + lead;
* `title`: IDF cosine of the title words;
* `entities`: TF-IDF cosine of the named entities (capitalised words used as names);
* `pair`: how much of the entity evidence is *not* the single biggest shared entity, so that
  two stories that merely share their company score low while two that share the company
  and its partner, place or person score high;
* `numbers`: shared specific figures ("$3.8bn", "51%", "212,000");
* dates further apart than a few days and a shared outlet damp the score.

`cluster` compares only pairs that share rare tokens (an inverted index with capped postings,
so the work grows linearly with the number of items), accepts pairs scoring at least
`EDGE_THRESHOLD`, and joins them strongest first with union-find; a join that would make a
group of three or more also needs the average score across the two groups to reach
`LINK_THRESHOLD`, which stops one loose pair from chaining two stories together.
The weights and thresholds were tuned on tests/fixtures/cluster (see bench/eval_cluster.py).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

LEAD_WORDS: Final = 150  # the lead signals read this many words of the body
BODY_WORDS: Final = 500  # entities and numbers read this many
MAX_CHARS: Final = 20_000  # never tokenise more than this much of one text
MIN_DOCS: Final = 30  # IDF pretends the batch has at least this many items
MAX_POSTING: Final = 50  # a token in more items than this is too common to block on
MAX_CANDIDATES: Final = 30  # pairs scored per item, the best-blocked first
LINK_SAMPLE: Final = 8
NAMES_FULL: Final = 6.0  # this many rare shared names make the `names` signal 1  # members per side read for the average-linkage check

EDGE_THRESHOLD: Final = 0.40
LINK_THRESHOLD: Final = 0.30
WEIGHTS: Final = {
    "lead": 0.30,
    "title": 0.15,
    "entities": 0.20,
    "pair": 0.25,
    "numbers": 0.10,
}
DUP_FLOOR: Final = 0.5  # below this shingle containment, `dup` adds nothing
SAME_SOURCE: Final = 0.85  # an outlet rarely runs the same story twice
NEAR_DAYS: Final = 3.0  # dates this close are not penalised ...
FAR_DAYS: Final = 30.0  # ... and from here on the factor is at its floor
DATE_FLOOR: Final = 0.6

_WORD: Final = re.compile(r"[^\W_]+")
_NUMBER: Final = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s?"
    r"(%|(?:per\s?cent|percent|billion|bn|million|mn|m|trillion|tn)(?![^\W\d_]))?",
    re.IGNORECASE,
)
_SCALE: Final = {
    "%": "%",
    "percent": "%",
    "per cent": "%",
    "billion": "b",
    "bn": "b",
    "million": "m",
    "mn": "m",
    "m": "m",
    "trillion": "t",
    "tn": "t",
}
_SENTENCE_END: Final = frozenset(".!?:;\"“”'‘’()[]—–-•|\n")

_STOPWORDS: Final = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "ago",
        "ahead",
        "all",
        "almost",
        "along",
        "already",
        "also",
        "although",
        "always",
        "am",
        "among",
        "an",
        "and",
        "another",
        "any",
        "are",
        "around",
        "as",
        "at",
        "away",
        "back",
        "be",
        "became",
        "because",
        "become",
        "becomes",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "came",
        "can",
        "cannot",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "down",
        "during",
        "each",
        "either",
        "else",
        "enough",
        "even",
        "ever",
        "every",
        "few",
        "first",
        "for",
        "from",
        "further",
        "get",
        "gets",
        "getting",
        "give",
        "given",
        "go",
        "goes",
        "going",
        "got",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "however",
        "i",
        "if",
        "in",
        "including",
        "instead",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "last",
        "later",
        "least",
        "less",
        "let",
        "like",
        "made",
        "make",
        "makes",
        "making",
        "many",
        "may",
        "me",
        "might",
        "more",
        "most",
        "much",
        "must",
        "my",
        "myself",
        "near",
        "nearly",
        "never",
        "new",
        "next",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "often",
        "on",
        "once",
        "one",
        "only",
        "onto",
        "or",
        "other",
        "others",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "per",
        "perhaps",
        "put",
        "rather",
        "re",
        "really",
        "said",
        "same",
        "say",
        "saying",
        "says",
        "see",
        "seen",
        "several",
        "she",
        "should",
        "since",
        "so",
        "some",
        "still",
        "such",
        "take",
        "taken",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "though",
        "three",
        "through",
        "thus",
        "to",
        "told",
        "too",
        "took",
        "toward",
        "towards",
        "two",
        "under",
        "until",
        "up",
        "upon",
        "us",
        "use",
        "used",
        "using",
        "very",
        "via",
        "was",
        "way",
        "we",
        "well",
        "were",
        "what",
        "whatever",
        "when",
        "where",
        "whether",
        "which",
        "while",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "within",
        "without",
        "would",
        "yet",
        "you",
        "your",
        "yours",
        "yourself",
        "according",
        "week",
        "weeks",
        "year",
        "years",
        "month",
        "months",
        "day",
        "days",
        "today",
        "time",
        "times",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "mr",
        "mrs",
        "ms",
        "dr",
        "inc",
        "co",
        "corp",
        "ltd",
        "llc",
        "plc",
        "ag",
        "ab",
        "sa",
        "nv",
        "se",
        "st",
        "let's",
        "it's",
        "don't",
        "isn't",
    ]
)
# Words of company names ("Halden Motors Inc.") that say nothing about which company it is.
_NAME_STOPWORDS: Final = frozenset(
    [
        "motor",
        "auto",
        "automotive",
        "automaker",
        "carmaker",
        "company",
        "companie",
        "corporation",
        "group",
        "holding",
        "industrie",
        "international",
        "energy",
        "solution",
        "system",
        "component",
        "technologie",
        "global",
        "chief",
        "officer",
        "executive",
        "president",
    ]
)


@dataclass(frozen=True)
class Item:
    """One article to cluster: the title, the body (its lead matters most) and context."""

    id: str
    title: str
    text: str
    source: str = ""
    date: datetime | None = None  # tz-aware


@dataclass(frozen=True)
class _Profile:
    """What the scorer reads of one item, computed once per item."""

    title: Mapping[str, int]
    lead: Mapping[str, int]
    entities: Mapping[str, int]
    numbers: frozenset[str]
    shingles: frozenset[str]
    source: str
    date: datetime | None

    def block_keys(self) -> list[str]:
        """The tokens the inverted index files this item under (kind-prefixed)."""
        keys = dict.fromkeys(f"w:{token}" for token in (*self.title, *self.lead))
        keys.update(dict.fromkeys(f"e:{token}" for token in self.entities))
        keys.update(dict.fromkeys(f"n:{number}" for number in sorted(self.numbers)))
        return list(keys)


# --- text ------------------------------------------------------------------------------------


def _normalise(word: str) -> str:
    """Lower-case, fold compatibility forms, drop a plural "s" so "plants" meets "plant"
    (and "EVs" meets "EV")."""
    plural_acronym = len(word) > 2 and word.endswith("s") and word[:-1].isupper()
    word = unicodedata.normalize("NFKC", word).casefold()
    if plural_acronym or (
        len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is"))
    ):
        return word[:-1]
    return word


def _is_content(token: str) -> bool:
    """A word worth comparing: not a stopword, not a bare number (numbers have their own)."""
    return len(token) > 1 and token not in _STOPWORDS and not token.isdigit()


def _words(text: str, limit: int) -> list[str]:
    """The first `limit` words of `text` as they stand (case kept)."""
    return _WORD.findall(text[:MAX_CHARS])[:limit]


def _prefix(text: str, limit: int) -> str:
    """The raw text up to the end of its `limit`-th word, so regexes see the same span."""
    text = text[:MAX_CHARS]
    for count, match in enumerate(_WORD.finditer(text), start=1):
        if count >= limit:
            return text[: match.end()]
    return text


def _body(item: Item) -> str:
    """The body without a leading copy of the title (extracted pages often repeat it)."""
    text, title = item.text.lstrip(), item.title.strip()
    if title and text[: len(title) + 1].casefold().startswith(title.casefold()):
        return text[len(title) :]
    return text


def _content(words: Iterable[str]) -> Counter[str]:
    """Counts of the content words among `words`."""
    return Counter(token for token in map(_normalise, words) if _is_content(token))


def _entities(title: str, body: str) -> Counter[str]:
    """Counts of the words used as names in the title and body.

    A capital at the start of a sentence proves nothing and a headline-case subheading
    capitalises ordinary words, so a word is a name when its capitalised mid-sentence uses
    outnumber its lower-case ones, or when it is never written in lower case and opens a
    sentence next to another capitalised word or in the title too ("Kanto Motors said").
    """
    mid: Counter[str] = Counter()
    opening: Counter[str] = Counter()
    lower: Counter[str] = Counter()
    words = list(_WORD.finditer(body))
    for index, match in enumerate(words):
        word = match.group()
        token = _normalise(word)
        if not _is_name_like(word):
            continue
        if word[0].islower():
            lower[token] += 1
        elif _acronym(word) or not _starts_sentence(body, match.start()):
            mid[token] += 1
        elif index + 1 < len(words) and words[index + 1].group()[0].isupper():
            opening[token] += 1
    title_words = [_normalise(word) for word in _WORD.findall(title)]
    in_title = set(title_words)
    names = {token for token, count in mid.items() if count > lower[token]}
    names.update(t for t in opening if not lower[t] and (t in in_title or opening[t] > 0))
    names.update(_title_names(title))
    counts = Counter(t for t in map(_normalise, _WORD.findall(body)) if t in names)
    counts.update(t for t in title_words if t in names)
    return counts


def _title_names(title: str) -> set[str]:
    """Names in a sentence-case title: its capitalised words after the first.

    In a Headline Case Title every word is capitalised, so only acronyms count there.
    """
    words = [w for w in _WORD.findall(title) if _is_name_like(w)]
    capitalised = [w for w in words[1:] if w[0].isupper()]
    if len(capitalised) * 2 > len(words[1:]):
        return {_normalise(w) for w in words if _acronym(w)}
    return {_normalise(w) for w in capitalised} | {_normalise(w) for w in words if _acronym(w)}


def _is_name_like(word: str) -> bool:
    """A word that could be (part of) a name: content, alphabetic start, not "Motors"."""
    token = _normalise(word)
    return word[0].isalpha() and _is_content(token) and token not in _NAME_STOPWORDS


def _starts_sentence(text: str, start: int) -> bool:
    """Whether the word at `start` follows a sentence break (or nothing)."""
    before = text[max(0, start - 4) : start].rstrip(" \t")
    return not before or before[-1] in _SENTENCE_END


def _acronym(word: str) -> bool:
    """BYD, LFP, GWh: capitals beyond the first letter mark a name even opening a sentence."""
    return len(word) > 1 and sum(char.isupper() for char in word) >= 2


def _numbers(text: str) -> frozenset[str]:
    """The specific figures in `text`, canonical ("$3.8 billion" and "3.8bn" are "3.8b").

    Years and small bare integers say little about the event and are left out.
    """
    found: set[str] = set()
    for match in _NUMBER.finditer(text):
        whole, fraction, unit = match.group(1), match.group(2) or "", match.group(3) or ""
        whole = whole.replace(",", "")
        fraction = fraction.rstrip("0")
        scale = _SCALE.get(" ".join(unit.casefold().split()), "")
        if not scale and not fraction and (int(whole) < 10 or 1900 <= int(whole) <= 2099):
            continue
        found.add(whole + ("." + fraction if fraction else "") + scale)
    return frozenset(found)


def _shingles(words: Sequence[str]) -> frozenset[str]:
    """Word 3-grams of the lead, lower-cased: the near-duplicate fingerprint."""
    lowered = [word.casefold() for word in words]
    return frozenset(" ".join(lowered[i : i + 3]) for i in range(len(lowered) - 2))


def _profile(item: Item) -> _Profile:
    """Everything the scorer needs from one item, from a capped prefix of its text."""
    body = _prefix(_body(item), BODY_WORDS)
    title = item.title[:1000]
    lead_words = _words(body, LEAD_WORDS)
    return _Profile(
        title=_content(_WORD.findall(title)),
        lead=_content([*_WORD.findall(title), *lead_words]),
        entities=_entities(title, body),
        numbers=_numbers(title + "\n" + body),
        shingles=_shingles(_words(body, BODY_WORDS) or _WORD.findall(title)),
        source=" ".join(item.source.casefold().split()),
        date=_aware(item.date),
    )


def _aware(date: datetime | None) -> datetime | None:
    """A naive date is taken as UTC, so that any two dates can be subtracted."""
    if date is None or date.tzinfo is not None:
        return date
    return date.replace(tzinfo=UTC)


# --- scoring ---------------------------------------------------------------------------------


class _Idf:
    """Inverse document frequency over the batch, smoothed so tiny batches weigh evenly."""

    def __init__(self, profiles: Sequence[_Profile]) -> None:
        self.df: Counter[str] = Counter()
        for profile in profiles:
            self.df.update(profile.block_keys())
        self.docs = max(len(profiles), MIN_DOCS)

    def __call__(self, kind: str, token: str) -> float:
        return math.log(1.0 + self.docs / max(1, self.df[f"{kind}:{token}"]))

    def rarity(self, kind: str, token: str) -> float:
        """IDF scaled to (0, 1]: about 1 for a token of one item, whatever the batch size."""
        return self(kind, token) / math.log(1.0 + self.docs)


def _vector(counts: Mapping[str, int], kind: str, idf: _Idf) -> dict[str, float]:
    """Log-TF x IDF weights of a bag of tokens."""
    return {token: (1.0 + math.log(n)) * idf(kind, token) for token, n in counts.items()}


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Cosine of two sparse vectors (0 when either is empty)."""
    if len(a) > len(b):
        a, b = b, a
    dot = sum(weight * b[token] for token, weight in a.items() if token in b)
    if not dot:
        return 0.0
    norm = math.sqrt(sum(w * w for w in a.values()) * sum(w * w for w in b.values()))
    return min(1.0, dot / norm)


def _pair(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Entity cosine without the single biggest shared entity.

    Two stories about the same company share that company and little else; two reports of
    one event also share its partner, place, product or people. Dropping the top shared
    contribution keeps only that second kind of evidence.
    """
    shared = sorted((a[token] * b[token] for token in a if token in b), reverse=True)
    if len(shared) < 2:
        return 0.0
    norm = math.sqrt(sum(w * w for w in a.values()) * sum(w * w for w in b.values()))
    return min(1.0, 2.0 * sum(shared[1:]) / norm)


def _names(a: Mapping[str, int], b: Mapping[str, int], idf: _Idf) -> float:
    """How many rare names two items share, saturating at NAMES_FULL.

    Unlike a cosine this does not shrink for long articles that name many other things
    too: two long pieces sharing nine names (Nissan, Foxconn, Mitsubishi, BYD, ...) are about
    the same thing even when each also names thirty more.
    """
    shared = sum(idf.rarity("e", token) for token in a if token in b)
    return min(1.0, shared / NAMES_FULL)


def _containment(a: frozenset[str], b: frozenset[str]) -> float:
    """|A & B| / min(|A|, |B|): a copy with a paragraph dropped still scores near 1."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _numbers_score(a: frozenset[str], b: frozenset[str]) -> float:
    """Shared specific figures: one is a hint, three are as good as it gets."""
    return min(1.0, len(a & b) / 3.0)


def _date_factor(a: datetime | None, b: datetime | None) -> float:
    """1 within NEAR_DAYS, falling linearly to DATE_FLOOR at FAR_DAYS apart (1 if undated)."""
    if a is None or b is None:
        return 1.0
    days = abs((a - b).total_seconds()) / 86_400.0
    if days <= NEAR_DAYS:
        return 1.0
    fraction = min(1.0, (days - NEAR_DAYS) / (FAR_DAYS - NEAR_DAYS))
    return 1.0 - (1.0 - DATE_FLOOR) * fraction


def _signals(a: _Profile, b: _Profile, idf: _Idf) -> dict[str, float]:
    """Every signal of the pair score, each in [0, 1] (exposed for tuning)."""
    ents_a, ents_b = _vector(a.entities, "e", idf), _vector(b.entities, "e", idf)
    return {
        "dup": _containment(a.shingles, b.shingles),
        "lead": _cosine(_vector(a.lead, "w", idf), _vector(b.lead, "w", idf)),
        "title": _cosine(_vector(a.title, "w", idf), _vector(b.title, "w", idf)),
        "entities": _cosine(ents_a, ents_b),
        "pair": _pair(ents_a, ents_b),
        "names": _names(a.entities, b.entities, idf),
        "numbers": _numbers_score(a.numbers, b.numbers),
    }


def _score(a: _Profile, b: _Profile, idf: _Idf) -> float:
    """The pair score in [0, 1]: the weighted signals, or a near-copy's containment."""
    signals = _signals(a, b, idf)
    mixed = sum(weight * signals[name] for name, weight in WEIGHTS.items())
    dup = max(0.0, (signals["dup"] - DUP_FLOOR) / (1.0 - DUP_FLOOR))
    score = max(mixed, dup)
    if a.source and a.source == b.source and dup < 1.0:
        score *= SAME_SOURCE
    return max(0.0, min(1.0, score * _date_factor(a.date, b.date)))


def similarity(a: Item, b: Item) -> float:
    """The pair score of two items on their own (IDF as in a batch of MIN_DOCS items)."""
    profiles = [_profile(a), _profile(b)]
    return _score(profiles[0], profiles[1], _Idf(profiles))


# --- clustering ------------------------------------------------------------------------------


def _candidates(profiles: Sequence[_Profile], idf: _Idf) -> list[tuple[int, int]]:
    """Pairs (i < j) worth scoring: they share at least one rare token.

    Tokens in more than MAX_POSTING items are skipped and each item keeps its
    MAX_CANDIDATES best-blocked partners, so the work is linear in the number of items.
    """
    postings: dict[str, list[int]] = {}
    for index, profile in enumerate(profiles):
        for key in profile.block_keys():
            postings.setdefault(key, []).append(index)
    pairs: set[tuple[int, int]] = set()
    for index, profile in enumerate(profiles):
        shared: Counter[int] = Counter()
        for key in profile.block_keys():
            posting = postings[key]
            if len(posting) > MAX_POSTING:
                continue
            weight = idf(*key.split(":", 1))
            for other in posting:
                if other != index:
                    shared[other] += weight
        best = sorted(shared.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_CANDIDATES]
        pairs.update((min(index, other), max(index, other)) for other, _ in best)
    return sorted(pairs)


class _Groups:
    """Union-find that also keeps each group's members, for the average-linkage check."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))
        self.members: dict[int, list[int]] = {i: [i] for i in range(size)}

    def find(self, index: int) -> int:
        while self.parent[index] != index:
            self.parent[index] = self.parent[self.parent[index]]
            index = self.parent[index]
        return index

    def union(self, a: int, b: int) -> None:
        keep, drop = (a, b) if a < b else (b, a)
        self.parent[drop] = keep
        self.members[keep] = sorted(self.members[keep] + self.members.pop(drop))


class _Scorer:
    """Pair scores over one batch, cached so the linkage check reuses them."""

    def __init__(self, profiles: Sequence[_Profile]) -> None:
        self.profiles = profiles
        self.idf = _Idf(profiles)
        self.cache: dict[tuple[int, int], float] = {}

    def __call__(self, i: int, j: int) -> float:
        key = (i, j) if i < j else (j, i)
        if key not in self.cache:
            self.cache[key] = _score(self.profiles[key[0]], self.profiles[key[1]], self.idf)
        return self.cache[key]

    def linkage(self, a: list[int], b: list[int]) -> float:
        """Average score between two groups (the first LINK_SAMPLE members of each)."""
        scores = [self(i, j) for i in a[:LINK_SAMPLE] for j in b[:LINK_SAMPLE]]
        return sum(scores) / len(scores)


def cluster(items: Sequence[Item]) -> list[list[int]]:
    """Groups of indices into `items`; every index appears exactly once; singletons included;
    each group sorted; groups ordered by their first index."""
    scorer = _Scorer([_profile(item) for item in items])
    edges = [(scorer(i, j), i, j) for i, j in _candidates(scorer.profiles, scorer.idf)]
    edges = sorted((e for e in edges if e[0] >= EDGE_THRESHOLD), key=lambda e: (-e[0], e[1], e[2]))
    groups = _Groups(len(items))
    for _, i, j in edges:
        a, b = groups.find(i), groups.find(j)
        if a == b:
            continue
        left, right = groups.members[a], groups.members[b]
        if len(left) + len(right) > 2 and scorer.linkage(left, right) < LINK_THRESHOLD:
            continue
        groups.union(a, b)
    return sorted(groups.members.values())


# --- CLI rows --------------------------------------------------------------------------------


def _parse_date(value: object, where: str) -> datetime | None:
    """An ISO 8601 date (a trailing Z allowed); naive means UTC; empty means none."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{where}: date must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as error:
        raise ValueError(f"{where}: bad date {value!r}") from error
    return _aware(parsed)


def _text_field(row: Mapping[str, object], key: str, where: str) -> str:
    """An optional string field ("" when absent or null)."""
    value = row.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{where}: {key!r} must be a string")
    return value


def _item(row: object, line: int) -> Item:
    """One CLI row as an Item; ValueError names the line (and the id when there is one)."""
    if not isinstance(row, dict):
        raise ValueError(f"line {line}: expected a JSON object")
    raw_id = row.get("id")
    where = f"line {line}" + (f" (id {raw_id!r})" if raw_id not in (None, "") else "")
    if raw_id is None or isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        raise ValueError(f"{where}: missing or invalid 'id'")
    if str(raw_id).strip() == "":
        raise ValueError(f"{where}: empty 'id'")
    title = row.get("title")
    if not isinstance(title, str):
        raise ValueError(f"{where}: missing or invalid 'title'")
    return Item(
        id=str(raw_id),
        title=title,
        text=_text_field(row, "text", where),
        source=_text_field(row, "source", where),
        date=_parse_date(row.get("date"), where),
    )


def cluster_rows(rows: list[dict[str, object]]) -> dict[str, list[list[str]]]:
    """`digest cluster FILE.jsonl --json`: rows in, {"clusters": [[id, ...], ...]} out.

    Rows are {"id", "title", "text"} with optional "source", "url", "date" (ISO 8601);
    lines are counted from 1. Duplicate ids are an error, since the output names items by id.
    """
    items = [_item(row, line) for line, row in enumerate(rows, start=1)]
    seen: dict[str, int] = {}
    for line, item in enumerate(items, start=1):
        if item.id in seen:
            raise ValueError(f"line {line} (id {item.id!r}): duplicate id (line {seen[item.id]})")
        seen[item.id] = line
    return {"clusters": [[items[i].id for i in group] for group in cluster(items)]}
