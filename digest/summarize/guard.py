"""Guards for model-written text: faithfulness (`unsupported`) and hygiene (`clean`).

Both are pure, use only the standard library and stay linear in their input: every regular
expression here is anchored on a character class with possessive or bounded repetition, so
none can backtrack catastrophically on "1,1,1,..." or 50,000 digits.

Faithfulness: ``unsupported(output, source)``
---------------------------------------------
Every number (with its unit or currency) and every capitalised name in a model's summary
must occur in the article it summarises. The same normalisation applies to both texts:

* Numbers: "1,000" = "1000", "7.0" = "7"; scale words and suffixes multiply (thousand/k,
  million/m/mn, billion/bn/b, trillion/tn), so "$7bn" = "$7 billion" = "$7,000m" =
  "$7,000,000,000". A figure written with decimals may be the source figure rounded to that
  many decimals ("$7.2bn" from "$7.23bn", "1.5 million" from "1,498,000"); whole figures
  must match exactly.
* Currencies ($, US$, €, £, ¥, ₹, ₩, C$, A$, HK$; codes USD, EUR, GBP, JPY, CNY, RMB, ...; and
  "dollars", "euros", "pounds", "yen", "yuan" after the number): an amount in a currency
  needs the same amount in the same currency in the source. A bare source number does not
  vouch for a currency, and "$" is the US dollar; "¥" is yen or yuan.
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

Hygiene: ``clean(text, keep_markdown=False)``
---------------------------------------------
An article is data, and a model can be talked by it into adding links or markup. `clean`
returns plain text (or, with ``keep_markdown``, Markdown limited to emphasis and
paragraphs): HTML tags go (``<script>``, ``<style>``, ``<iframe>``, ``<template>`` and
``<noscript>`` with their contents), entities are unescaped, Markdown links and images are
reduced to their text (images to nothing), and any sentence that held a URL, an e-mail
address, a bare domain ("evil.example", "Amazon.com"; not "3.5", "U.S.", "e.g.", "ID.4") or
a link or image that pointed at one is dropped whole: the model was told not to add links,
so such a sentence is what an injected instruction asked for. The result may be empty.
"""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from importlib import resources
from itertools import pairwise

from digest.text.sentences import OPEN_QUOTES, split_sentences

__all__ = ["clean", "unsupported"]


# ---------------------------------------------------------------------------------------
# Faithfulness: the vocabulary
# ---------------------------------------------------------------------------------------


def _aliases(table: dict[str, str]) -> dict[str, tuple[str, ...]]:
    return {key: tuple(v.strip() for v in spellings.split(",")) for key, spellings in table.items()}


# Currency written before the number (keys are matched case-insensitively).
_PREFIX_CURRENCY: dict[str, tuple[str, ...]] = {
    "$": ("USD",),
    "us$": ("USD",),
    "€": ("EUR",),
    "£": ("GBP",),
    "¥": ("JPY", "CNY"),
    "₹": ("INR",),
    "₩": ("KRW",),
    "c$": ("CAD",),
    "ca$": ("CAD",),
    "a$": ("AUD",),
    "au$": ("AUD",),
    "hk$": ("HKD",),
    "nz$": ("NZD",),
}
_CODES = ("USD", "EUR", "GBP", "JPY", "CNY", "RMB", "CAD", "AUD", "CHF", "INR", "KRW", "HKD")
for _code in _CODES:
    _PREFIX_CURRENCY[_code.lower()] = ("CNY",) if _code == "RMB" else (_code,)

# Units written after the number: canonical key -> spellings (spaces also match hyphens).
_UNIT_SPELLINGS = _aliases(
    {
        "%": "%, per cent, percent, pct, pc",
        "pp": "percentage points, percentage point, pp, ppt",
        "bp": "basis points, basis point, bps, bp",
        "kwh": "kwh, kilowatt hours, kilowatt hour",
        "mwh": "mwh, megawatt hours, megawatt hour",
        "gwh": "gwh, gigawatt hours, gigawatt hour",
        "twh": "twh, terawatt hours, terawatt hour",
        "kw": "kw, kilowatts, kilowatt",
        "mw": "mw, megawatts, megawatt",
        "gw": "gw, gigawatts, gigawatt",
        "v": "v, volts, volt",
        "km": "km, kms, kilometres, kilometers, kilometre, kilometer",
        "mile": "miles, mile, mi",
        "mph": "mph, miles per hour",
        "km/h": "km/h, kph, kmh, kilometres per hour, kilometers per hour",
        "kg": "kg, kgs, kilograms, kilogram, kilos",
        "tonne": "tonnes, tonne, tons, ton, metric tons",
        "hp": "hp, bhp, horsepower, ps",
        "nm": "nm, newton metres, newton meters",
        "lb-ft": "lb-ft, lb ft, pound-feet, pound feet",
        "l": "litres, liters, litre, liter, l",
        "mpg": "mpg",
        "g/km": "g/km",
        "sec": "seconds, second, secs, sec, s",  # "s" only after decimals: see _tokens
        "min": "minutes, minute, mins, min",
        "hour": "hours, hour, hrs, hr, h",
        "USD": "dollars, dollar, usd",
        "EUR": "euros, euro, eur, €",
        "GBP": "pounds sterling, pounds, pound, sterling, gbp",
        "JPY": "yen, jpy",
        "CNY": "yuan, renminbi, cny, rmb",
    }
)


def _unit_form(spelling: str) -> str:
    return re.sub(r"[ \-]+", " ", spelling.lower())


_UNIT_KEY = {_unit_form(s): key for key, spellings in _UNIT_SPELLINGS.items() for s in spellings}
_WORD_SCALES = {"thousand": 3, "million": 6, "mn": 6, "mln": 6}
_WORD_SCALES |= {"billion": 9, "bn": 9, "bln": 9, "trillion": 12, "tn": 12, "trn": 12}
_LETTER_SCALES = {"k": 3, "m": 6, "b": 9}

_MONTHS = "january february march april june july august september october november december"
# Acronyms and abbreviations, and what they stand for: either in the source supports both.
_ALIASES = _aliases(
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


def _alternation(spellings: list[str]) -> str:
    """A regex alternation, longest spelling first, spaces matching a space or a hyphen."""
    ordered = sorted(set(spellings), key=len, reverse=True)
    return "|".join(re.escape(s).replace(r"\ ", r"[ \-]") for s in ordered)


_NOT_ALNUM_AFTER = r"(?![^\W_])"
_UNIT_SPELLINGS_ALL = [s for spellings in _UNIT_SPELLINGS.values() for s in spellings]
_QUANTITY = (
    r"(?<!\d[.,])"
    rf"(?:(?P<cur>{_alternation(list(_PREFIX_CURRENCY))})[ \t]?)?"
    r"(?P<num>\d++(?:,\d++)*+(?:\.\d++)?+)"
    rf"(?:[ \t-]?(?P<wscale>{_alternation(list(_WORD_SCALES))}){_NOT_ALNUM_AFTER}"
    rf"|(?P<lscale>[kmb]){_NOT_ALNUM_AFTER})?"
    rf"(?:[ \t-]?(?P<unit>{_alternation(_UNIT_SPELLINGS_ALL)}){_NOT_ALNUM_AFTER})?"
    rf"{_NOT_ALNUM_AFTER}"
)
_WORD = r"[^\W_]++(?:[-.&'][^\W_]++)*+"
_TOKEN = re.compile(rf"(?P<qty>{_QUANTITY})|(?P<word>{_WORD})", re.IGNORECASE)
_RANGE_GAP = re.compile(r"\s*+(?:-|\u2013|\u2014|to|and|or)\s*+", re.IGNORECASE)
_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)", re.IGNORECASE)
_DOTTED_ACRONYM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
_TITLES = frozenset({"I", "Mr", "Mrs", "Ms", "Mx", "Dr", "Prof", "Sir", "Dame"})
_PLURAL_ACRONYM = re.compile(r"[A-Z]{2,}s")
_PLURAL_NAME_NUMBER = re.compile(r"[^\W\d_][\w.-]*\ds")
_INNER_JOINERS = re.compile(r"[.&']")
# Length-preserving (so spans still point into the output): curly apostrophes, odd hyphens
# and spaces become plain ones.
_PLAIN = str.maketrans("\u2019\u2018\u2010\u2011\u00a0\u202f\u2009", "''--   ")
_SENTENCE_END = ".!?:;\n\u2026"
_BEFORE_WORD = " \t*_#>\u2022-\u2013\u2014"  # skipped looking back for a sentence start
_OPENERS = OPEN_QUOTES + "(["


@cache
def _common_words() -> frozenset[str]:
    text = resources.files("digest.summarize").joinpath("common_words.txt").read_text("utf-8")
    lines = (line.strip() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


# ---------------------------------------------------------------------------------------
# Faithfulness: reading numbers
# ---------------------------------------------------------------------------------------


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


def _numbers(match: re.Match[str]) -> list[_Number]:
    """The number(s) in one quantity match; "1,2,3" is three numbers, "1,234" one."""
    num = match.group("num")
    groups = num.split(",")
    start = match.start("num")
    if len(groups) == 1 or _thousands(groups):
        pieces = [(match.start(), match.end(), num.replace(",", ""))]
    else:
        pieces, offset = [], start
        for group in groups:
            pieces.append((offset, offset + len(group), group))
            offset += len(group) + 1
        pieces[0] = (match.start(), pieces[0][1], pieces[0][2])
        pieces[-1] = (pieces[-1][0], match.end(), pieces[-1][2])
    numbers = [_Number(s, e, d) for s, e, d in pieces]
    _attach(match, numbers[0], numbers[-1])
    return numbers


def _thousands(groups: list[str]) -> bool:
    """Whether comma-separated digit groups are one number written with thousands commas."""
    last = groups[-1].partition(".")[0]
    return len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:-1]) and len(last) == 3


def _attach(match: re.Match[str], first: _Number, last: _Number) -> None:
    """The currency goes to the first number, the scale and unit to the last."""
    currency = match.group("cur")
    if currency:
        first.units = _PREFIX_CURRENCY[currency.lower()]
    scale = match.group("wscale") or match.group("lscale")
    if scale:
        last.scale = _WORD_SCALES.get(scale.lower()) or _LETTER_SCALES[scale.lower()]
    unit = match.group("unit")
    if unit and not (currency and last is first):
        last.units = (_UNIT_KEY[_unit_form(unit)],)


def _link_ranges(text: str, numbers: list[_Number]) -> None:
    """Let the ends of a range share currency, unit and scale ("$5-7bn", "10 to 80%")."""
    for left, right in pairwise(numbers):
        if not _RANGE_GAP.fullmatch(text, left.end, right.start):
            continue
        left.shared_scale = right.scale
        left.shared_units, right.shared_units = right.units, left.units


# ---------------------------------------------------------------------------------------
# Faithfulness: tokens and what the source supports
# ---------------------------------------------------------------------------------------


@dataclass
class _Word:
    start: int
    end: int
    text: str


def _tokens(text: str) -> Iterator[_Word | list[_Number]]:
    """Words and (groups of) numbers in order of appearance."""
    for match in _TOKEN.finditer(text):
        if match.group("word") is not None or _decade(match):
            yield _Word(match.start(), match.end(), match.group())
        else:
            yield _numbers(match)


def _decade(match: re.Match[str]) -> bool:
    """Whether a number with an "s" is a decade ("1990s", checked as a name), not seconds
    ("3.5s"); "10s" is too vague to read as seconds."""
    unit = match.group("unit")
    return unit is not None and unit.lower() == "s" and "." not in match.group("num")


def _scan(text: str) -> tuple[list[_Word], list[_Number]]:
    words: list[_Word] = []
    numbers: list[_Number] = []
    for token in _tokens(text):
        if isinstance(token, _Word):
            words.append(token)
        else:
            numbers.extend(token)
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
class _Facts:
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


def _facts(source: str) -> _Facts:
    text = source.translate(_PLAIN)
    facts = _Facts()
    words, numbers = _scan(text)
    for number in numbers:
        facts.add_number(number)
    for word in dict.fromkeys(w.text for w in words):
        facts.add_word(word)
    ordered = sorted([(w.start, w.text) for w in words] + [(n.start, n.digits) for n in numbers])
    squashed = [_squash(token) for _, token in ordered]
    facts.squashed.update(a + b for a, b in pairwise(squashed))
    _add_aliases(facts, " ".join(_fold(text).replace("-", " ").split()))
    return facts


def _add_aliases(facts: _Facts, folded: str) -> None:
    for acronym, phrases in _ALIASES.items():
        for phrase in phrases:
            if acronym in facts.caps or re.search(rf"\b{phrase}", folded):
                facts.add_alias(acronym, phrase)


# ---------------------------------------------------------------------------------------
# Faithfulness: checking the output
# ---------------------------------------------------------------------------------------


def unsupported(output: str, source: str) -> list[str]:
    """The numbers (with their units) and capitalised names in `output` that `source` does
    not contain, in order of appearance, each once, as written in the output (e.g.
    "$987 billion", "Zeekr"). The rules are in the module docstring."""
    facts = _facts(source)
    text = output.translate(_PLAIN)
    words, numbers = _scan(text)
    bad: list[tuple[int, str]] = []
    for number in numbers:
        if not _number_ok(number, facts):
            bad.append((number.start, output[number.start : number.end]))
    for word in words:
        if not _word_ok(word.text, _is_initial(text, word.start), facts):
            bad.append((word.start, _as_written(output, word)))
    return list(dict.fromkeys(item for _, item in sorted(bad)))


def _as_written(output: str, word: _Word) -> str:
    """The word as the output has it, without a possessive, with the last dot of "U.S."."""
    written = _unpossessive(output[word.start : word.end])
    if _DOTTED_ACRONYM.fullmatch(written) and output[word.end : word.end + 1] == ".":
        written += "."
    return written


def _number_ok(number: _Number, facts: _Facts) -> bool:
    return any(_reading_ok(number.digits, s, u, facts) for s, u in number.readings())


def _reading_ok(digits: str, scale: int, unit: str, facts: _Facts) -> bool:
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


def _word_ok(word: str, initial: bool, facts: _Facts) -> bool:
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


def _known(word: str, facts: _Facts) -> bool:
    """In the source; a two-letter acronym ("US", "EV") capitalised there too; a name also
    as its plural ("Seals")."""
    key = _fold(word)
    if len(word) == 2 and word.isupper():
        return key in facts.caps
    return key in facts.forms or (key[-1:] == "s" and key[:-1] in facts.forms)


def _mixed_ok(token: str, facts: _Facts) -> bool:
    """Letters and digits: a model name as a whole, a lowercase compound ("mid-2026") part
    by part."""
    if _squash(token) in facts.squashed:
        return True
    if _has_upper(token) or "-" not in token:
        return False
    return all(_part_ok(part, facts) for part in token.split("-"))


def _ordinal_ok(word: str, facts: _Facts) -> bool:
    """ "13th" is supported by "13th" or by 13 in the source, not by "14th"."""
    return _squash(word) in facts.squashed or Decimal(word[:-2]) in facts.values


def _part_ok(part: str, facts: _Facts) -> bool:
    if not _has_digit(part):
        return True
    if _ORDINAL.fullmatch(part):
        return _ordinal_ok(part, facts)
    if part.isdigit():
        return Decimal(part) in facts.values
    return _squash(part) in facts.squashed


# ---------------------------------------------------------------------------------------
# Hygiene
# ---------------------------------------------------------------------------------------

_MARK = "\ue000"  # a private-use character: "this sentence held a link"
_CONTROLS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u2069\ufeff\ue001-\uf8ff]"
)
_HIDDEN = re.compile(
    r"<(script|style|iframe|template|noscript)\b.*?(?:</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL
)
_TAG = re.compile(r"<[A-Za-z/!?][^<>]*+>")
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][\w-]*)")
_TAG_OPENER = re.compile(r"<(?=[A-Za-z/!?])")
_BREAKS = {"br": "\n", "li": "\n", "tr": "\n", "td": " ", "th": " "}
_BLOCKS = frozenset(
    {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote"}
    | {"section", "article", "pre", "hr", "header", "footer"}
)
_URL = r"\b(?:https?|ftp)://|\bwww\.|\bmailto:|\bjavascript:|(?<![\w:])//[\w-]+\."
_EMAIL = r"(?<![\w.+-])[\w.+-]++@[\w-]++(?:\.[\w-]++)+"
_DOMAIN = (
    r"(?<![\w@.-])(?:[A-Za-z0-9][A-Za-z0-9-]*+\.(?=[A-Za-z0-9]))++(?:[a-z]{2,63}+|[A-Z]{2,63}+)"
    r"(?![\w-]|\.[A-Za-z0-9])"
)
# A top-level domain is all lowercase or all capitals: "Mr.Smith" is a typo, not a host.
_ADDRESS = re.compile(rf"(?i:{_URL})|{_EMAIL}|{_DOMAIN}")
_IMAGE = re.compile(r"!\[[^\[\]\n]*+\](?:\([^()\n]*+\)|\[[^\[\]\n]*+\])")
_LINK = re.compile(r"\[([^\[\]\n]*+)\](?:\(([^()\n]*+)\)|\[([^\[\]\n]*+)\])")
_LINK_DEFINITION = re.compile(r"^[ \t]*\[[^\]\n]++\]:[^\n]*", re.MULTILINE)
_LINE_RULES = [
    (re.compile(r"^[ \t]*(?:```|~~~)[^\n]*\n?", re.MULTILINE), ""),  # code fences
    (re.compile(r"^(?=[^\n]*-)[ \t|:-]+$\n?", re.MULTILINE), ""),  # table rules, ---, setext
    (re.compile(r"^[ \t]*+(?:=++|(?:[*_][ \t]*+){3,}+)$", re.MULTILINE), ""),  # ===, ***
    (re.compile(r"^[ \t]*(?:>[ \t]?)+", re.MULTILINE), ""),  # block quotes
    (re.compile(r"^[ \t]*(?:[-*+\u2022]|\d{1,3}[.)])[ \t]+", re.MULTILINE), ""),  # list items
    (re.compile(r"\|"), " "),  # table cells
    (re.compile(r"`|~~"), ""),  # code, strike-through
]
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+([^\n]*)", re.MULTILINE)
_EMPHASIS = [  # "5*3" and "a * b" keep their asterisk
    (re.compile(r"(?<![\w*])(\*{1,3})(?=[^\s*])([^*\n]++)(?<=\S)\1(?![\w*])"), r"\2"),
    (re.compile(r"(?<=[^\W\d_])\*++|\*++(?=[^\W\d_])"), ""),
    (re.compile(r"(?<!\w)__([^_\n]++)__(?!\w)"), r"\1"),
    (re.compile(r"(?<!\w)_([^_\n]++)_(?!\w)"), r"\1"),
]
_PARAGRAPHS = re.compile(r"\n[ \t]*+(?:\n[ \t]*+)++")
_SPACES = re.compile(r"[^\S\n]++")
# Before a link or an address right after a sentence's end, a sentence starts, whatever
# its case (the sentence splitter wants a capital).
_STARTS_WITH_ADDRESS = re.compile(rf"(?<=[.!?])\s++(?={_MARK}|(?i:https?://|ftp://|www\.))")


def clean(text: str, keep_markdown: bool = False) -> str:
    """Model output made safe as plain text: no HTML, no links, no sentence that carries a
    URL, e-mail address or domain, no control characters, whitespace made single.

    With `keep_markdown` (for Markdown rendered later) *emphasis*, **strong** and paragraph
    breaks (one blank line) stay; headings, list markers, code, quotes, tables and links are
    still reduced to text. Without it, everything is one line of words. May return "".
    """
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _strip_links(_strip_html(_CONTROLS.sub("", text.replace("\t", " "))))
    text = _HEADING.sub(_heading, text)
    for pattern, replacement in _LINE_RULES:
        text = pattern.sub(replacement, text)
    if not keep_markdown:
        for pattern, replacement in _EMPHASIS:
            text = pattern.sub(replacement, text)
    paragraphs = [_keep_sentences(p) for p in _PARAGRAPHS.split(text)]
    return ("\n\n" if keep_markdown else " ").join(p for p in paragraphs if p)


def _heading(match: re.Match[str]) -> str:
    """A Markdown heading as a paragraph of its own, without its closing hashes."""
    title = match.group(1).rstrip()
    bare = title.rstrip("#")
    if bare != title and (not bare or bare[-1] in " \t"):
        title = bare.rstrip()
    return f"\n\n{title}\n\n"


def _strip_html(text: str) -> str:
    """Tags out (hidden elements with their contents), entities unescaped, tags out again
    (an escaped "&lt;b&gt;" must not come back as markup)."""
    text = _TAG.sub(_tag, _HIDDEN.sub(" ", text))
    text = _CONTROLS.sub("", html.unescape(text))
    return _TAG_OPENER.sub("", _TAG.sub(_tag, _HIDDEN.sub(" ", text)))


def _tag(match: re.Match[str]) -> str:
    """A tag's replacement: a mark if it links anywhere, a break if it is a block."""
    tag = match.group()
    if _has_address(tag):
        return _MARK
    name = _TAG_NAME.match(tag)
    key = name.group(1).lower() if name else ""
    if key in _BLOCKS:
        return "\n\n"
    return _BREAKS.get(key, "")


def _strip_links(text: str) -> str:
    text = _LINK_DEFINITION.sub("", text)
    text = _IMAGE.sub(lambda m: _MARK if _has_address(m.group()) else "", text)
    return _LINK.sub(_link_text, text)


def _link_text(match: re.Match[str]) -> str:
    """A link's text, marked when the link pointed at an address."""
    target = match.group(2) or match.group(3) or ""
    return match.group(1) + (_MARK if _has_address(target) else "")


def _has_address(text: str) -> bool:
    """Whether `text` holds a URL, an e-mail address or a domain name."""
    return _ADDRESS.search(text) is not None


def _keep_sentences(paragraph: str) -> str:
    """The paragraph's sentences without those that hold a link or an address."""
    # Single spaces first: the splitter is slow on long runs of spaces without a newline.
    paragraph = _STARTS_WITH_ADDRESS.sub("\n", _SPACES.sub(" ", paragraph))
    kept = [s for s in split_sentences(paragraph) if _MARK not in s and not _has_address(s)]
    return " ".join(" ".join(kept).split())
