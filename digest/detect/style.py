"""The offline style score behind the *suspected* level: stylometry, pure Python.

A small logistic model over length-normalised stylometric features (sentence rhythm,
reported speech and how it is reported ('said' or 'noted', ', saying ...'), specifics
such as names and figures, stock "model" vocabulary, word length, punctuation habits,
contractions, and the rates of ~130 common function words; no dates or
years, which models invent). It was fitted by ``bench/fit_style.py`` (scikit-learn) on
human BBC news text against nine generators' continuations and rewrites of the same
articles (GPT-3.5, GPT-4, GPT-4o, GPT-4o-mini, davinci, Claude 3 Opus and Sonnet, Gemini
1.5 Pro, Llama 3 70B), whitespace collapsed, with human news of other outlets among the
humans, and judged leave-one-generator-out; the coefficients live in ``style.json`` next
to this file.

Why a linear model on named features: the digest never accuses anyone, it shows "style
signals", so every part of the score must be explainable in words (``top_signals``).
Why this is only a *suspicion*: style is weak evidence. The threshold allows at most
1% of human news texts through in cross-validation, and texts shorter than ``MIN_WORDS``
are never flagged, because on short texts every rate is noise.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from itertools import pairwise

from digest.text.sentences import split_sentences
from digest.text.words import TOKEN as _TOKEN
from digest.text.words import lowered

__all__ = [
    "FEATURES",
    "MIN_WORDS",
    "THRESHOLD",
    "Reading",
    "feature_values",
    "features",
    "is_suspected",
    "reading",
    "style_score",
    "top_signals",
    "word_count",
]

MIN_WORDS = 150
_MAX_CHARS = 100_000  # a longer text is scored on its start: the rates are stable by then
_CHUNK = 2_000  # characters handed to the sentence splitter at a time (see _split)
_Z_LIMIT = 5.0  # one wild feature (a table of figures, a list of names) must not decide alone

# The function-word profile: how often the ~130 commonest English function words occur,
# each as a rate per token. Topic-free and hard to fake, this is the classic authorship
# signal; a model's profile differs from a reporter's (more 'also', 'while', 'including',
# fewer 'he', 'said', 'after'). The six words with a hand-written feature above are
# not repeated here.
_PROFILE_TEXT = """to a in is for on with as he at by his be from have has had are were this which
    but not or an its been they their who after will would also more she her one we i
    you there than all about up out when can into over could them what said if so no new
    other some only just our him most while such these those may many before then
    because both during however between under where through against being how any each
    very much still even including well across amid further own whether though although
    despite since until among around without within should must might do does did"""
_PROFILE_WORDS: tuple[str, ...] = tuple(_PROFILE_TEXT.split())

FEATURES: tuple[str, ...] = (
    "sentence_length_cv",
    "burstiness",
    "quote_share",
    "attribution_rate",
    "digit_density",
    "capitalised_density",
    "first_person_rate",
    "stock_phrase_rate",
    "participle_clause_rate",
    "this_opener_rate",
    "word_length",
    "nominalisation_rate",
    "ly_adverb_rate",
    "the_rate",
    "that_rate",
    "comma_rate",
    "serial_comma_rate",
    "and_rate",
    "of_rate",
    "it_rate",
    "was_rate",
    "formal_attribution_rate",
    "participle_attribution_rate",
    "possessive_rate",
    "contraction_rate",
    *(f"{word}_rate" for word in _PROFILE_WORDS),
)

# (wording when the value is high, wording when it is low): the digest shows the one that
# pushes the score up, so both directions need plain English.
_WORDING: dict[str, tuple[str, str]] = {
    "sentence_length_cv": (
        "strongly varied sentence lengths",
        "little variation in sentence length",
    ),
    "burstiness": ("uneven sentence rhythm", "even, regular sentence rhythm"),
    "quote_share": ("much direct quotation", "few direct quotes"),
    "attribution_rate": (
        "much attributed speech ('said', 'told')",
        "little attributed speech ('said', 'told')",
    ),
    "digit_density": ("many figures", "few figures or numbers"),
    "capitalised_density": ("many names", "few names or proper nouns"),
    "first_person_rate": ("a first-person voice", "no first-person voice"),
    "stock_phrase_rate": ("frequent stock phrases", "few stock phrases"),
    "participle_clause_rate": (
        "many trailing '-ing' clauses (', highlighting ...')",
        "few trailing '-ing' clauses",
    ),
    "this_opener_rate": (
        "sentences opening with 'This'/'These'",
        "few sentences opening with 'This'",
    ),
    "word_length": ("long words on average", "short words on average"),
    "nominalisation_rate": (
        "many abstract nouns (-tion, -ment, -ity)",
        "few abstract nouns",
    ),
    "ly_adverb_rate": ("many '-ly' adverbs", "few '-ly' adverbs"),
    "the_rate": ("frequent 'the'", "sparse 'the'"),
    "that_rate": ("frequent 'that'", "sparse 'that'"),
    "comma_rate": ("many commas", "few commas"),
    "serial_comma_rate": ("serial (Oxford) commas in lists", "no serial commas"),
    "and_rate": ("frequent 'and'", "sparse 'and'"),
    "of_rate": ("frequent 'of'", "sparse 'of'"),
    "it_rate": ("frequent 'it'", "sparse 'it'"),
    "was_rate": (
        "frequent 'was' (past-tense narration)",
        "sparse 'was' (little past-tense narration)",
    ),
    "formal_attribution_rate": (
        "formal reporting verbs ('noted', 'stated', 'emphasised')",
        "few formal reporting verbs ('noted', 'stated')",
    ),
    "participle_attribution_rate": (
        "speech reported in trailing clauses (', saying ...', ', noting ...')",
        "few trailing ', saying ...' clauses",
    ),
    "possessive_rate": ("many possessives ('the company's')", "few possessives"),
    "contraction_rate": ("many contractions ('don't', 'it's')", "few contractions"),
}

_WORDING.update({f"{w}_rate": (f"frequent '{w}'", f"sparse '{w}'") for w in _PROFILE_WORDS})

_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")
_LETTERS = re.compile(r"[A-Za-z]+")
# Bounded repeats throughout: no pattern may backtrack quadratically on a freak input.
# A prose sentence ends in terminal punctuation; headings, list labels and bylines do not,
# and would otherwise make any page look "bursty".
_PROSE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*$")
_QUOTED = re.compile(r"\"[^\"\n]{1,600}\"|\u201c[^\u201d\n]{1,600}\u201d")
# A lookahead on the letters the alternatives start with (no other match is possible)
# rejects most positions before the alternation is tried: the same matches, twice as fast.
_ATTRIBUTION = re.compile(
    r"\b(?=[acestiw])"
    r"(?:said|says|told|according to|added|adds|explained|insisted|warned|claimed)\b",
    re.IGNORECASE,
)
# Rewrites keep the source's quotes and names but swap 'said' for formal verbs and report
# speech in add-on clauses; these two count that (per sentence).
_FORMAL_ATTRIBUTION = re.compile(
    r"\b(?=[acehinrsu])(?:not(?:ed|ing)|stat(?:ed|ing)|express(?:ed|ing)|emphasi[sz](?:ed|ing)|"
    r"reveal(?:ed|ing)|highlight(?:ed|ing)|reportedly|clarifi(?:ed|ying)|acknowledg(?:ed|ing)|"
    r"assert(?:ed|ing)|affirm(?:ed|ing)|underscor(?:ed|ing)|indicat(?:ed|ing))\b",
    re.IGNORECASE,
)
_PARTICIPLE_ATTRIBUTION = re.compile(
    r",\s(?:[a-z]{1,30}ly\s)?(?:stating|noting|adding|saying|explaining|highlighting|"
    r"emphasi[sz]ing|citing|prompting|leading|resulting|raising|sparking|marking|making)\b"
)
_POSSESSIVE = re.compile(r"\w['\u2019]s\b")
_CONTRACTION = re.compile(r"\w['\u2019](?:t|re|ve|ll|d)\b")
_YEAR = re.compile(r"(?:19|20)\d\d")  # a year is no specific figure: models invent recent ones
_FIRST_PERSON = frozenset(["i", "me", "my", "we", "us", "our"])
# Vocabulary that chat models over-use relative to news writers (from the published
# "LLM word" lists and checked on the fitting data; stems cover the inflections).
_STOCK_PATTERNS = (
    r"delv(?:e|es|ed|ing)|tapestry|pivotal|crucial(?:ly)?|landscapes?|"
    r"underscor(?:e|es|ed|ing)|notably|furthermore|moreover|additionally|in conclusion|"
    r"it is (?:important|worth|crucial|essential) to note|(?:it's|it is) worth noting|"
    r"navigat(?:e|es|ing)|robust|seamless(?:ly)?|comprehensive|realm|vibrant|"
    r"showcas(?:e|es|ed|ing)|foster(?:s|ed|ing)?|significant(?:ly)?|ensur(?:e|es|ing)|"
    r"enhanc(?:e|es|ed|ing|ement)|highlight(?:s|ed|ing)|emphasi[sz](?:e|es|ed|ing)|"
    r"commitment|testament|(?:in)?valuable|essential|innovati(?:ve|on)|ultimately|various|"
    r"vital|stark reminder|serves? as|paving the way|striv(?:e|es|ing)|unwavering|"
    r"profound(?:ly)?|intricate|multifaceted|holistic|leverag(?:e|es|ing)|synerg(?:y|ies)|"
    r"poised|transformative|ever-evolving|cutting-edge|game-changer|sheds? light|amidst|"
    r"bolster(?:s|ed|ing)?|resonat(?:e|es|ing)|embark(?:s|ed|ing)?|meticulous(?:ly)?|"
    r"paramount|myriad|plethora|noteworthy|elevat(?:e|es|ing)|streamlin(?:e|es|ing)|"
    r"harness(?:es|ing)?|spearhead(?:s|ed|ing)?|nuanced|bustling|in today's|remarkable|"
    r"commendable|dedication"
)
_STOCK = re.compile(rf"\b(?=[a-ilmnp-v])(?:{_STOCK_PATTERNS})\b", re.IGNORECASE)
_PARTICIPLE_CLAUSE = re.compile(r",\s{1,3}(?:[a-z]{1,30}ly\s{1,3})?[a-z]{3,30}ing\b")
_THIS_OPENER = re.compile(r"^[\"'\u201c\u2018]?(?:This|These)\b")
_SERIAL_COMMA = re.compile(
    r"\b\w{1,40}, (?:[\w'\u2019-]{1,40} ){0,3}[\w'\u2019-]{1,40}, (?:and|or) \w"
)
_NOMINAL = re.compile(r"[a-z]{3,30}(?:tions?|ments?|ity|ities|ness|ances?|ences?)$")


@dataclass(frozen=True)
class _Model:
    """The fitted linear model: standardisation, weights and the decision threshold."""

    names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float


@dataclass(frozen=True)
class _Text:
    """A text cut into the units every feature counts over (computed once per text)."""

    raw: str
    sentences: list[str]
    sentence_tokens: list[list[str]]  # the tokens of each sentence
    prose_lengths: list[int]
    tokens: list[str]
    lower: list[str]
    counts: Counter[str]
    lowered: str | None  # raw in lower case, for the patterns below that ignore case

    def count(self, pattern: re.Pattern[str]) -> int:
        """The matches of an IGNORECASE pattern of lower-case ASCII letters (`_folded`),
        read in the lower-case text when it stands for the text (`words.lowered`)."""
        if self.lowered is None:
            return len(pattern.findall(self.raw))
        return len(_folded(pattern).findall(self.lowered))

    @property
    def n_tokens(self) -> int:
        """Token count, at least 1: rates divide by it."""
        return max(len(self.tokens), 1)

    @property
    def n_sentences(self) -> int:
        """Prose-sentence count, at least 1: per-sentence rates divide by it."""
        return max(len(self.prose_lengths), 1)


def word_count(text: str) -> int:
    """Words (letter/digit runs, "U.S." and "3,900" count once) in the scored part."""
    return len(_TOKEN.findall(text[:_MAX_CHARS]))


def features(text: str) -> dict[str, float]:
    """The feature values of `text`, keyed by the names in ``FEATURES``.

    Every value is a rate or a ratio, so a 200-word and a 2,000-word text are comparable.
    An empty text gives all zeros.
    """
    return dict(zip(FEATURES, _feature_values(text[:_MAX_CHARS]), strict=True))


def feature_values(text: str) -> tuple[float, ...]:
    """The feature values of `text` in FEATURES order (what `reading` takes back)."""
    return _feature_values(text[:_MAX_CHARS])


@dataclass(frozen=True)
class Reading:
    """What the style score says of one text: the score, whether the text is long and
    model-like enough to be *suspected*, and the signals behind it (when suspected)."""

    score: float
    suspected: bool = False
    signals: tuple[str, ...] = ()


def reading(text: str, values: Sequence[float] = ()) -> Reading:
    """The style reading of `text`, from its feature `values` (FEATURES order) when they
    were computed before (in the extraction workers, or cached), else computed now."""
    if not _TOKEN.search(text[:_MAX_CHARS]):
        return Reading(0.0)
    known = values if len(values) == len(FEATURES) else feature_values(text)
    named = dict(zip(FEATURES, known, strict=True))
    score = _score(named)
    if score < _model().threshold or word_count(text) < MIN_WORDS:
        return Reading(round(score, 4))
    return Reading(round(score, 4), True, tuple(name for name, _ in _signals(named, text, 3)))


def version() -> str:
    """Changes when the features or the fitted model change (for caches of values)."""
    data = resources.files(__package__ or "digest.detect").joinpath("style.json").read_bytes()
    return hashlib.sha256(data + "|".join(FEATURES).encode()).hexdigest()[:12]


@lru_cache(maxsize=8)
def _feature_values(raw: str) -> tuple[float, ...]:
    """Feature values in FEATURES order, cached: the digest asks for the score, the
    verdict and the signals of the same text in a row."""
    parsed = _parse(raw)
    return tuple(_EXTRACTORS[name](parsed) for name in FEATURES)


def style_score(text: str) -> float:
    """How much `text` reads like chat-model prose, in [0, 1]; 0.0 for an empty text.

    The logistic of the fitted linear model; 0.5 means even odds between a human news
    writer and a chat model at equal priors, not a probability that this text is AI.
    """
    if not _TOKEN.search(text[:_MAX_CHARS]):
        return 0.0
    return _score(features(text))


def is_suspected(text: str) -> bool:
    """Whether the style score reaches the threshold on a text long enough to judge."""
    if style_score(text) < _model().threshold:
        return False
    return word_count(text) >= MIN_WORDS


def top_signals(text: str, n: int = 3) -> list[tuple[str, float]]:
    """The `n` features pushing the score up most, as (plain-English wording, logit push).

    Only features that push towards "model-like" are listed, strongest first, so a text
    that reads as human may give fewer than `n` (or none).
    """
    if n <= 0 or not _TOKEN.search(text[:_MAX_CHARS]):
        return []
    return _signals(features(text), text, n)


def _score(values: dict[str, float]) -> float:
    return _logistic(sum(_contributions(values).values()) + _model().bias)


# Features that say one thing in two wordings ("sparse 'said'" and "little attributed
# speech"): only the strongest of a group is shown.
_SAME_SIGNAL: dict[str, str] = {
    "said_rate": "attribution_rate",
    "participle_attribution_rate": "participle_clause_rate",
    "burstiness": "sentence_length_cv",
    "this_rate": "this_opener_rate",
    "these_rate": "this_opener_rate",
    **{f"{word}_rate": "first_person_rate" for word in ("i", "we", "our")},
}


def _signals(values: dict[str, float], text: str, n: int) -> list[tuple[str, float]]:
    """The `n` strongest upward pushes, one per group of features that mean the same."""
    pushes = sorted(_contributions(values).items(), key=lambda item: item[1], reverse=True)
    shown: list[tuple[str, float]] = []
    groups: set[str] = set()
    for name, push in pushes:
        group = _SAME_SIGNAL.get(name, name)
        if len(shown) >= n or push <= 0:
            break
        if group not in groups:
            groups.add(group)
            shown.append((_describe(name, text), round(push, 4)))
    return shown


def __getattr__(name: str) -> float:
    """``THRESHOLD`` is read from style.json on first use, so the fit script can import
    this module before the file exists (PEP 562)."""
    if name == "THRESHOLD":
        return _model().threshold
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


THRESHOLD: float  # decision threshold on style_score (see __getattr__)


# --- model ----------------------------------------------------------------------------


@cache
def _model() -> _Model:
    """style.json, read once; its feature list must match this module's."""
    raw = json.loads(
        resources.files(__package__ or "digest.detect")
        .joinpath("style.json")
        .read_text(encoding="utf-8")
    )
    model = _Model(
        names=tuple(raw["features"]),
        mean=tuple(float(x) for x in raw["mean"]),
        std=tuple(float(x) for x in raw["std"]),
        weights=tuple(float(x) for x in raw["weights"]),
        bias=float(raw["bias"]),
        threshold=float(raw["threshold"]),
    )
    if model.names != FEATURES:
        raise RuntimeError("style.json was fitted on other features: run bench/fit_style.py")
    return model


def standardise(
    values: Sequence[float], mean: Sequence[float], std: Sequence[float]
) -> list[float]:
    """z-scores, clipped to +-5 so one freak value cannot carry the score by itself."""
    return [
        max(-_Z_LIMIT, min(_Z_LIMIT, (v - m) / s if s > 0 else 0.0))
        for v, m, s in zip(values, mean, std, strict=True)
    ]


def _contributions(values: dict[str, float]) -> dict[str, float]:
    """Each feature's share of the logit: weight times clipped z-score."""
    model = _model()
    z = standardise([values[name] for name in model.names], model.mean, model.std)
    return {name: w * x for name, w, x in zip(model.names, model.weights, z, strict=True)}


def _logistic(x: float) -> float:
    """1 / (1 + e^-x) without overflow."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _describe(name: str, text: str) -> str:
    """The wording of a feature pushing the score up; stock phrases name examples."""
    high, low = _WORDING[name]
    weight = dict(zip(_model().names, _model().weights, strict=True))[name]
    wording = high if weight > 0 else low
    if name == "stock_phrase_rate" and weight > 0:
        found = Counter(m.lower() for m in _STOCK.findall(text[:_MAX_CHARS]))
        examples = ", ".join(f"'{word}'" for word, _ in found.most_common(2))
        wording = f"{wording} (e.g. {examples})" if examples else wording
    return wording


# --- features -------------------------------------------------------------------------


def _parse(text: str) -> _Text:
    """Split once into sentences and tokens (newlines end sentences, as extracted text
    has one paragraph a line)."""
    raw = text[:_MAX_CHARS]
    sentences = _split(raw)
    sentence_tokens = [_TOKEN.findall(s) for s in sentences]
    prose = [
        len(words)
        for s, words in zip(sentences, sentence_tokens, strict=True)
        if _PROSE_END.search(s)
    ]
    tokens = _TOKEN.findall(raw)
    lower = [t.lower() for t in tokens]
    return _Text(
        raw=raw,
        sentences=sentences,
        sentence_tokens=sentence_tokens,
        prose_lengths=[n for n in prose if n >= 3],
        tokens=tokens,
        lower=lower,
        counts=Counter(lower),
        lowered=lowered(raw),
    )


@cache
def _folded(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """An IGNORECASE pattern without the flag, for lower-case text (its letters are all
    lower-case ASCII: tests/test_style.py)."""
    return re.compile(pattern.pattern, pattern.flags & ~re.IGNORECASE)


def _split(raw: str) -> list[str]:
    """Sentences, asking the splitter about one bounded stretch at a time.

    The splitter rescans the current sentence at every candidate boundary, so a freak
    line with thousands of "Mr." and no sentence end would take quadratic time; lines
    are cut at a space every few thousand characters (real sentences are far shorter).
    """
    sentences: list[str] = []
    for line in _LINE_BREAKS.split(raw):
        while len(line) > _CHUNK:
            cut = line.rfind(" ", 0, _CHUNK)
            cut = cut if cut > 0 else _CHUNK
            sentences.extend(split_sentences(line[:cut]))
            line = line[cut:]
        sentences.extend(split_sentences(line))
    return sentences


def _sentence_length_cv(t: _Text) -> float:
    """Standard deviation over mean of prose-sentence lengths: models write evenly."""
    lengths = t.prose_lengths
    if len(lengths) < 2:
        return 0.0
    return statistics.pstdev(lengths) / statistics.fmean(lengths)


def _burstiness(t: _Text) -> float:
    """Mean jump in length from one sentence to the next, over the mean length.

    Unlike the CV this is local: human writers follow a long sentence with a short one.
    """
    lengths = t.prose_lengths
    if len(lengths) < 2:
        return 0.0
    jumps = statistics.fmean(abs(a - b) for a, b in pairwise(lengths))
    return jumps / statistics.fmean(lengths)


def _quote_share(t: _Text) -> float:
    """Share of words inside double quotes: reporters quote people, models paraphrase."""
    quoted = sum(len(_TOKEN.findall(q)) for q in _QUOTED.findall(t.raw))
    return quoted / t.n_tokens


def _attribution_rate(t: _Text) -> float:
    """'said', 'told', 'according to'... per sentence: sourcing is the reporter's habit."""
    return t.count(_ATTRIBUTION) / t.n_sentences


def _formal_attribution_rate(t: _Text) -> float:
    """'noted', 'stated', 'emphasised'... per sentence: a rewrite's stand-ins for 'said'."""
    return t.count(_FORMAL_ATTRIBUTION) / t.n_sentences


def _participle_attribution_rate(t: _Text) -> float:
    """', saying ...', ', noting ...', ', prompting ...' per sentence."""
    return len(_PARTICIPLE_ATTRIBUTION.findall(t.raw)) / t.n_sentences


def _possessive_rate(t: _Text) -> float:
    """ "'s" per token (possessives, and "it's"/"he's")."""
    return len(_POSSESSIVE.findall(t.raw)) / t.n_tokens


def _contraction_rate(t: _Text) -> float:
    """ "n't", "'re", "'ve", "'ll", "'d" per token."""
    return len(_CONTRACTION.findall(t.raw)) / t.n_tokens


def _digit_density(t: _Text) -> float:
    """Share of tokens with a digit, years aside: reporting is specific (prices, counts).
    Years are left out because chat models invent recent dates, which would teach the
    score the calendar rather than the style."""
    figures = sum(any(map(str.isdigit, tok)) and not _YEAR.fullmatch(tok) for tok in t.tokens)
    return figures / t.n_tokens


def _capitalised_density(t: _Text) -> float:
    """Capitalised words not opening a sentence, per token: names of people and places."""
    capitalised = 0
    for words in t.sentence_tokens:
        capitalised += sum(1 for word in words[1:] if word[0].isupper())
    return capitalised / t.n_tokens


def _first_person_rate(t: _Text) -> float:
    """I/me/my/we/us/our per token: a personal voice (columns, blogs) is human-leaning."""
    return sum(token in _FIRST_PERSON for token in t.lower) / t.n_tokens


def _stock_phrase_rate(t: _Text) -> float:
    """Stock model vocabulary ('pivotal', 'landscape', 'furthermore') per 100 tokens."""
    return 100 * t.count(_STOCK) / t.n_tokens


def _participle_clause_rate(t: _Text) -> float:
    """', highlighting the...' style add-on clauses per sentence, a chat-model tic."""
    return len(_PARTICIPLE_CLAUSE.findall(t.raw)) / t.n_sentences


def _this_opener_rate(t: _Text) -> float:
    """Sentences opening 'This'/'These' ('This move underscores...') per sentence."""
    return _count(bool(_THIS_OPENER.search(s)) for s in t.sentences) / t.n_sentences


def _word_length(t: _Text) -> float:
    """Mean letters per word: models reach for longer, Latinate words."""
    words = _LETTERS.findall(t.raw)
    return statistics.fmean(len(w) for w in words) if words else 0.0


def _nominalisation_rate(t: _Text) -> float:
    """Abstract nouns (-tion, -ment, -ity, -ness, -ance, -ence) per token."""
    return _count(bool(_NOMINAL.match(token)) for token in t.lower) / t.n_tokens


def _ly_adverb_rate(t: _Text) -> float:
    """'-ly' adverbs ('significantly', 'seamlessly') per token."""
    return _count(token.endswith("ly") and len(token) > 4 for token in t.lower) / t.n_tokens


def _comma_rate(t: _Text) -> float:
    """Commas per token: models chain clauses."""
    return t.raw.count(",") / t.n_tokens


def _serial_comma_rate(t: _Text) -> float:
    """Lists with a serial comma ('a, b, and c') per sentence; news style mostly omits it."""
    return len(_SERIAL_COMMA.findall(t.raw)) / t.n_sentences


# Function words, counted per token. Models write more definite, generic noun phrases
# ('the'), spell out clauses ('signals that'), chain pairs ('quickly and safely') and
# abstract phrases ('the importance of'); reporters narrate what happened ('was') and
# refer back to the story's subject ('it').
def _word_rate(word: str) -> Callable[[_Text], float]:
    """A feature: how often `word` occurs, per token."""

    def rate(t: _Text) -> float:
        return t.counts[word] / t.n_tokens

    return rate


def _count(flags: Iterable[bool]) -> int:
    """How many of `flags` are true."""
    return sum(1 for flag in flags if flag)


_EXTRACTORS = {
    "sentence_length_cv": _sentence_length_cv,
    "burstiness": _burstiness,
    "quote_share": _quote_share,
    "attribution_rate": _attribution_rate,
    "digit_density": _digit_density,
    "capitalised_density": _capitalised_density,
    "first_person_rate": _first_person_rate,
    "stock_phrase_rate": _stock_phrase_rate,
    "participle_clause_rate": _participle_clause_rate,
    "this_opener_rate": _this_opener_rate,
    "word_length": _word_length,
    "nominalisation_rate": _nominalisation_rate,
    "ly_adverb_rate": _ly_adverb_rate,
    "the_rate": _word_rate("the"),
    "that_rate": _word_rate("that"),
    "comma_rate": _comma_rate,
    "serial_comma_rate": _serial_comma_rate,
    "and_rate": _word_rate("and"),
    "of_rate": _word_rate("of"),
    "it_rate": _word_rate("it"),
    "was_rate": _word_rate("was"),
    "formal_attribution_rate": _formal_attribution_rate,
    "participle_attribution_rate": _participle_attribution_rate,
    "possessive_rate": _possessive_rate,
    "contraction_rate": _contraction_rate,
    **{f"{word}_rate": _word_rate(word) for word in _PROFILE_WORDS},
}
