"""Faithfulness: what a model wrote must be stated by the article it summarises.

Every number (with its unit or currency) and every capitalised name in a model's summary
must occur in the article it summarises. The same normalisation applies to both texts:

* Numbers: "1,000" = "1000", "7.0" = "7"; scale words and suffixes multiply (thousand/k,
  million/m/mn, billion/bn/b, trillion/tn), so "$7bn" = "$7 billion" = "$7,000m" =
  "$7,000,000,000". A figure written with decimals may be the source figure rounded to that
  many decimals ("$7.2bn" from "$7.23bn", "1.5 million" from "1,498,000"); whole figures
  must match exactly.
* Currencies ($, US$, €, £, ¥, ₹, ₩, C$, A$, HK$; codes USD, EUR, GBP, JPY, CNY, RMB, ...; and
  "dollars", "euros", "pounds", "yen", "yuan", "rupees", "kronor" after the number, "won"
  only after a scale word; the readings are `digest.text.figures`): an amount in a
  currency needs the same amount in the same currency in the source. A bare source number
  does not vouch for a currency, and "$" is the US dollar; "¥" is yen or yuan.
* Units: "%", "per cent", "percent" and "pc" are one unit; percentage points and basis
  points are units of their own; so are kWh/MWh/GWh/TWh, kW/MW/GW, V, km, miles, mph, km/h,
  kg, tonnes (= tons), hp (= bhp, PS), Nm, lb-ft, litres, mpg, g/km, seconds ("3.5s" but
  not "1990s"), minutes and hours, spelled out or abbreviated, attached, spaced or
  hyphenated ("300-mile"), in any case. A number with a unit needs the same value with the
  same unit. Nouns ("cars", "units", "years") are not units: a number before one is a plain
  number. "pounds" is always sterling (a "5,000-pound truck" reads as £5,000 on both sides).
* A plain number (years included) is supported by the same value anywhere in the source,
  with or without a unit.
* Ranges share currency, unit and scale: "$5-7bn" and "5 to 7 billion dollars" both state
  $5bn and $7bn.
* Ordinals in digits ("13th") need the ordinal or the number in the source. Not checked:
  number words ("three", "first"), signs ("-3%" reads 3%).
* A token mixing letters and digits ("ID.4", "F-150", "EX30", "Q3", "1990s") is a name: it
  must occur in the source as one token, ignoring case and separators ("F150" = "F-150",
  "Level 2" = "Level-2"); "Q1".."Q4", "H1", "H2" are also supported by "first quarter" etc.
  An all-lowercase hyphenated one ("mid-2026", "e-208") is checked part by part.
* Names: each word with a capital letter must occur in the source as a whole word, ignoring
  case and accents. Possessives ("Toyota's") and plural acronyms ("EVs") are reduced,
  dotted acronyms undotted ("U.S." = "US"); a hyphenated or dotted name is supported whole
  or by all its capitalised parts ("Mercedes-Benz"), and a name by its plural ("Seals"). A
  two-letter all-caps acronym must occur capitalised in the source ("US" is not the pronoun
  "us"). A few acronyms and abbreviations and what they stand for support each other ("EV"
  / "electric vehicle", "US" / "United States", "GM" / "General Motors", "Jan" / "January":
  see `_ALIASES`). Titles (Mr, Mrs, Ms, Dr, Prof, Sir) and "I" are always fine. Demonyms
  are names of their own: "Hungary" does not support "Hungarian".
* A word capitalised only because it opens a sentence (at the start, after . ! ? : ; or a
  line break, an opening quote or bracket, or a list bullet) is skipped when it is a common
  English word (``common_words.txt``, shipped with this module). Quoted text is checked
  like any other.

Extending: `unsupported` runs the checks in `CHECKS`, each a function of the output's
`Claims` (its words and numbers, read once) and the source's `Facts` that yields what it
finds unsupported with its position. A new check is one such function added to `CHECKS`
(or passed to `unsupported`); what it needs to know about the source goes into `Facts`.
Pure, standard library and the text layer only, linear in its input.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from importlib import resources
from itertools import pairwise

from digest.text.figures import PLAIN, Quantity, Word, tokens
from digest.text.sentences import OPEN_QUOTES
from digest.text.words import spellings

__all__ = ["CHECKS", "Check", "Claims", "Facts", "facts", "unsupported"]

_MONTHS = "january february march april june july august september october november december"
# Acronyms and abbreviations, and what they stand for: either in the source supports both.
_ALIASES = spellings(
    {
        "ev": "electric vehicle, electric car",
        "bev": "battery electric",
        "phev": "plug in hybrid",
        "suv": "sport utility",
        "us": "united states, america",
        "uk": "united kingdom, britain",
        "eu": "european union",
        "uaw": "united auto workers",
        "ceo": "chief executive",
        "cfo": "chief financial officer",
        "gm": "general motors",
        "vw": "volkswagen",
        "jlr": "jaguar land rover",
        "ai": "artificial intelligence",
        "nhtsa": "national highway traffic safety administration",
        "q1": "first quarter",
        "q2": "second quarter",
        "q3": "third quarter",
        "q4": "fourth quarter",
        "h1": "first half",
        "h2": "second half",
        **{month[:3]: month for month in _MONTHS.split()},
        "sept": "september",
    }
)


_RANGE_GAP = re.compile(r"\s*+(?:-|\u2013|\u2014|to|and|or)\s*+", re.IGNORECASE)
_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)", re.IGNORECASE)
_DOTTED_ACRONYM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
_TITLES = frozenset({"I", "Mr", "Mrs", "Ms", "Mx", "Dr", "Prof", "Sir", "Dame"})
_PLURAL_ACRONYM = re.compile(r"[A-Z]{2,}s")
_PLURAL_NAME_NUMBER = re.compile(r"[^\W\d_][\w.-]*\ds")
_INNER_JOINERS = re.compile(r"[.&']")
_SENTENCE_END = ".!?:;\n\u2026"
_BEFORE_WORD = " \t*_#>\u2022-\u2013\u2014"  # skipped looking back for a sentence start
_OPENERS = OPEN_QUOTES + "(["


@cache
def _common_words() -> frozenset[str]:
    text = resources.files("digest.summarize").joinpath("common_words.txt").read_text("utf-8")
    lines = (line.strip() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


# --- reading numbers ---------------------------------------------------------------------


@dataclass
class _Number:
    """One number as written, with the scales and units it may be read with."""

    start: int
    end: int
    digits: str  # without thousands separators: "7000.5"
    scale: int | None = None  # as written: "bn" is 9
    units: tuple[str, ...] = ()  # as written: "$" is ("USD",), "¥" ("JPY", "CNY")
    shared_scale: int | None = None  # from the other end of a range
    shared_units: tuple[str, ...] = ()

    def readings(self) -> set[tuple[int, str]]:
        """(power of ten, unit) pairs; "" is no unit."""
        scales = {self.scale or 0}
        if self.scale is None and self.shared_scale is not None:
            scales.add(self.shared_scale)
        units = self.units or ("", *self.shared_units)
        return {(s, u) for s in scales for u in units}


def _value(digits: str, scale: int) -> Decimal:
    return Decimal(f"{digits}E{scale}")


def _places(digits: str) -> int:
    return len(digits.partition(".")[2])


def _numbers(quantity: Quantity) -> list[_Number]:
    """The number(s) in one quantity; "1,2,3" is three numbers, "1,234" one."""
    groups = quantity.digits.split(",")
    if len(groups) == 1 or _thousands(groups):
        pieces = [(quantity.start, quantity.end, quantity.digits.replace(",", ""))]
    else:
        pieces, offset = [], quantity.number_start
        for group in groups:
            pieces.append((offset, offset + len(group), group))
            offset += len(group) + 1
        pieces[0] = (quantity.start, pieces[0][1], pieces[0][2])
        pieces[-1] = (pieces[-1][0], quantity.end, pieces[-1][2])
    numbers = [_Number(s, e, d) for s, e, d in pieces]
    _attach(quantity, numbers[0], numbers[-1])
    return numbers


def _thousands(groups: list[str]) -> bool:
    """Whether comma-separated digit groups are one number written with thousands commas."""
    last = groups[-1].partition(".")[0]
    return len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:-1]) and len(last) == 3


def _attach(quantity: Quantity, first: _Number, last: _Number) -> None:
    """The currency goes to the first number, the scale and unit to the last."""
    if quantity.currencies:
        first.units = quantity.currencies
    if quantity.scale is not None:
        last.scale = quantity.scale
    if quantity.unit and not (quantity.currencies and last is first):
        last.units = (quantity.unit,)


def _link_ranges(text: str, numbers: list[_Number]) -> None:
    """Let the ends of a range share currency, unit and scale ("$5-7bn", "10 to 80%")."""
    for left, right in pairwise(numbers):
        if not _RANGE_GAP.fullmatch(text, left.end, right.start):
            continue
        left.shared_scale = right.scale
        left.shared_units, right.shared_units = right.units, left.units


# --- what the source supports ------------------------------------------------------------


def _scan(text: str) -> tuple[list[Word], list[_Number]]:
    words: list[Word] = []
    numbers: list[_Number] = []
    for token in tokens(text):
        if isinstance(token, Word):
            words.append(token)
        else:
            numbers.extend(_numbers(token))
    _link_ranges(text, numbers)
    return words, numbers


@lru_cache(maxsize=8192)
def _fold(text: str) -> str:
    """Lowercase without accents: "Škoda" -> "skoda"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=8192)
def _squash(text: str) -> str:
    """Folded, letters and digits only: "F-150" -> "f150"."""
    return "".join(c for c in _fold(text) if c.isalnum())


def _unpossessive(word: str) -> str:
    return word[:-2] if word[-2:].lower() == "'s" else word


def _bare(word: str) -> str:
    """Without a possessive, the plural of an acronym or the dots of one."""
    word = _unpossessive(word)
    if _PLURAL_ACRONYM.fullmatch(word):
        word = word[:-1]
    if _DOTTED_ACRONYM.fullmatch(word):
        word = word.replace(".", "")
    if _PLURAL_NAME_NUMBER.fullmatch(word):
        word = word[:-1]  # "EV9s"
    return word


def _leaves(word: str) -> list[str]:
    """The smallest parts of a joined word: "U.S.-China" -> US, China; "AT&T" -> AT, T."""
    return [_bare(p) for seg in word.split("-") for p in _INNER_JOINERS.split(_bare(seg))]


def _has_upper(text: str) -> bool:
    return any(c.isupper() for c in text)


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


@dataclass
class Facts:
    """What a source text states, normalised for look-ups."""

    values: set[Decimal] = field(default_factory=set)
    by_unit: dict[str, set[Decimal]] = field(default_factory=dict)
    forms: set[str] = field(default_factory=set)  # folded words, their segments and leaves
    caps: set[str] = field(default_factory=set)  # ... of those written with a capital
    squashed: set[str] = field(default_factory=set)  # squashed tokens and adjacent pairs
    _sorted: dict[str, list[Decimal]] = field(default_factory=dict)

    def ordered(self, unit: str) -> list[Decimal]:
        """The values with `unit` ("" for all values), sorted once for rounding look-ups."""
        if unit not in self._sorted:
            pool = self.by_unit.get(unit, set()) if unit else self.values
            self._sorted[unit] = sorted(pool)
        return self._sorted[unit]

    def add_number(self, number: _Number) -> None:
        for scale, unit in number.readings():
            value = _value(number.digits, scale)
            self.values.add(value)
            self.by_unit.setdefault(unit, set()).add(value)

    def add_word(self, word: str) -> None:
        segments = [_bare(s) for s in word.split("-")]
        for form in {word, _bare(word), *segments, *_leaves(word)}:
            self.forms.add(_fold(form))
            if _has_upper(form):
                self.caps.add(_fold(form))
        for segment in segments:
            self.squashed.add(_squash(segment))
            if segment.isdigit():
                self.values.add(Decimal(segment))  # "mid-2026" states 2026
        self.squashed.update((_squash(word), _squash(_bare(word))))

    def add_alias(self, acronym: str, phrase: str) -> None:
        self.forms.update((acronym, *phrase.split()))
        self.caps.add(acronym)
        self.squashed.add(acronym)


def facts(source: str) -> Facts:
    """What `source` states, normalised for the checks' look-ups."""
    text = source.translate(PLAIN)
    stated = Facts()
    words, numbers = _scan(text)
    for number in numbers:
        stated.add_number(number)
    for word in dict.fromkeys(w.text for w in words):
        stated.add_word(word)
    ordered = sorted([(w.start, w.text) for w in words] + [(n.start, n.digits) for n in numbers])
    squashed = [_squash(token) for _, token in ordered]
    stated.squashed.update(a + b for a, b in pairwise(squashed))
    _add_aliases(stated, " ".join(_fold(text).replace("-", " ").split()))
    return stated


def _add_aliases(facts: Facts, folded: str) -> None:
    for acronym, phrases in _ALIASES.items():
        for phrase in phrases:
            if acronym in facts.caps or re.search(rf"\b{phrase}", folded):
                facts.add_alias(acronym, phrase)


# --- checking the output -----------------------------------------------------------------


@dataclass(frozen=True)
class Claims:
    """What an output states, read once: `text` is the output with plain quotes and spaces
    (spans point into both), `output` as written."""

    output: str
    text: str
    words: Sequence[Word]
    numbers: Sequence[_Number]

    @classmethod
    def of(cls, output: str) -> Claims:
        text = output.translate(PLAIN)
        words, numbers = _scan(text)
        return cls(output, text, words, numbers)


Check = Callable[[Claims, Facts], Iterable[tuple[int, str]]]


def unsupported_numbers(claims: Claims, facts: Facts) -> Iterator[tuple[int, str]]:
    """Numbers (with their currency, scale and unit) the source does not state."""
    for number in claims.numbers:
        if not _number_ok(number, facts):
            yield number.start, claims.output[number.start : number.end]


def unsupported_names(claims: Claims, facts: Facts) -> Iterator[tuple[int, str]]:
    """Capitalised words, model names and digit ordinals the source does not state."""
    for word in claims.words:
        if not _word_ok(word.text, _is_initial(claims.text, word.start), facts):
            yield word.start, _as_written(claims.output, word)


CHECKS: tuple[Check, ...] = (unsupported_numbers, unsupported_names)


def unsupported(output: str, source: str, checks: Sequence[Check] = CHECKS) -> list[str]:
    """The numbers (with their units) and capitalised names in `output` that `source` does
    not contain, in order of appearance, each once, as written in the output (e.g.
    "$987 billion", "Zeekr"). The rules are in the module docstring."""
    claims, stated = Claims.of(output), facts(source)
    found = sorted(item for check in checks for item in check(claims, stated))
    return list(dict.fromkeys(item for _, item in found))


def _as_written(output: str, word: Word) -> str:
    """The word as the output has it, without a possessive, with the last dot of "U.S."."""
    written = _unpossessive(output[word.start : word.end])
    if _DOTTED_ACRONYM.fullmatch(written) and output[word.end : word.end + 1] == ".":
        written += "."
    return written


def _number_ok(number: _Number, facts: Facts) -> bool:
    return any(_reading_ok(number.digits, s, u, facts) for s, u in number.readings())


def _reading_ok(digits: str, scale: int, unit: str, facts: Facts) -> bool:
    pool = facts.by_unit.get(unit, set()) if unit else facts.values
    if _value(digits, scale) in pool:
        return True
    places = _places(digits)
    return places > 0 and _rounded_from(facts.ordered(unit), digits, scale, places)


def _rounded_from(ordered: list[Decimal], digits: str, scale: int, places: int) -> bool:
    """Whether a value in `ordered` (sorted) rounds, half up, to `digits` x 10**scale."""
    half = Decimal(f"5E{-places - 1 + scale}")
    shown = _value(digits, scale)
    try:
        low, high = shown - half, shown + half
    except InvalidOperation:  # pragma: no cover - only absurd exponents get here
        return False
    i = bisect_left(ordered, low)
    return i < len(ordered) and ordered[i] < high


def _is_initial(text: str, start: int) -> bool:
    """Whether the word at `start` opens a sentence, a quote, a bracket or a list item."""
    i = start - 1
    while i >= 0 and text[i] in _BEFORE_WORD:
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END or text[i] in _OPENERS


def _word_ok(word: str, initial: bool, facts: Facts) -> bool:
    bare = _bare(word)
    if bare.isdigit():
        return True
    if _ORDINAL.fullmatch(bare):
        return _ordinal_ok(bare, facts)
    if _has_digit(bare):
        return _mixed_ok(bare, facts)
    if not _has_upper(bare) or bare in _TITLES:
        return True
    if initial and _is_common(word):
        return True
    if _known(bare, facts):
        return True
    leaves = [leaf for leaf in _leaves(word) if _has_upper(leaf) and leaf not in _TITLES]
    return all(
        _known(leaf, facts) or (initial and i == 0 and _is_common(leaf))
        for i, leaf in enumerate(leaves)
    )


def _is_common(word: str) -> bool:
    """A common word written capitalised ("However", "It's"), not an acronym ("US")."""
    bare = _unpossessive(word)
    title = bare[:1].isupper() and not _has_upper(bare[1:])
    return title and (_fold(word) in _common_words() or _fold(bare) in _common_words())


def _known(word: str, facts: Facts) -> bool:
    """In the source; a two-letter acronym ("US", "EV") capitalised there too; a name also
    as its plural ("Seals")."""
    key = _fold(word)
    if len(word) == 2 and word.isupper():
        return key in facts.caps
    return key in facts.forms or (key[-1:] == "s" and key[:-1] in facts.forms)


def _mixed_ok(token: str, facts: Facts) -> bool:
    """Letters and digits: a model name as a whole, a lowercase compound ("mid-2026") part
    by part."""
    if _squash(token) in facts.squashed:
        return True
    if _has_upper(token) or "-" not in token:
        return False
    return all(_part_ok(part, facts) for part in token.split("-"))


def _ordinal_ok(word: str, facts: Facts) -> bool:
    """ "13th" is supported by "13th" or by 13 in the source, not by "14th"."""
    return _squash(word) in facts.squashed or Decimal(word[:-2]) in facts.values


def _part_ok(part: str, facts: Facts) -> bool:
    if not _has_digit(part):
        return True
    if _ORDINAL.fullmatch(part):
        return _ordinal_ok(part, facts)
    if part.isdigit():
        return Decimal(part) in facts.values
    return _squash(part) in facts.squashed
