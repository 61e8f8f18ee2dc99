"""Figures: numbers as news text writes them, with their currency, scale and unit.

One reading of "$7.2bn", "3.25 trillion yen", "30 GWh", "5.2 per cent" or "1,200 vans" for
every stage: the faithfulness guard compares them, the editor's note picks the week's most
striking one. `tokens` cuts a text into words and quantities in one pass, so a number
glued into a name ("F-150", "ID.4", "EX30", the decade "1990s") is a word, never a figure.

* Currencies before the number: $, US$, €, £, ¥ (yen or yuan), ₹, ₩, C$, A$, HK$, NZ$
  and the codes USD, EUR, GBP, JPY, CNY, RMB, CAD, AUD, CHF, INR, KRW, HKD; after it:
  dollars, euros, pounds (always sterling), yen, yuan, renminbi, rupees, kronor, and "won"
  only after a scale word ("1.5 trillion won"; "in 2021 won the title" is a verb).
* Scales: thousand/k, million/m/mn/mln, billion/b/bn/bln, trillion/tn/trn; a letter scale
  only attached ("$7bn", "9.2m"), a word scale attached, spaced or hyphenated.
* Units after the number (`UNITS`): %, per cent, percent, pct, pc; percentage and basis
  points; kWh..TWh, kW..GW, V, km, miles, mph, km/h, kg, tonnes, hp, Nm, lb-ft, litres,
  mpg, g/km, seconds ("3.5s" but not the decade "1990s"), minutes and hours; spelled out
  or abbreviated, attached, spaced or hyphenated ("300-mile"), in any case. Nouns
  ("cars", "units") are not units.

Every pattern is anchored on a character class with possessive repetition, so a text of
"1,1,1,..." or 50,000 digits is read in linear time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Final

from digest.text.words import JOINED, spellings

__all__ = [
    "PLAIN",
    "RATES",
    "UNITS",
    "Quantity",
    "Word",
    "quantities",
    "to_float",
    "tokens",
]


# Currency written before the number (keys are matched case-insensitively).
_PREFIX_CURRENCY: Final[dict[str, tuple[str, ...]]] = {
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
_CODES: Final = ("USD", "EUR", "GBP", "JPY", "CNY", "RMB", "CAD", "AUD", "CHF", "INR", "KRW", "HKD")
for _code in _CODES:
    _PREFIX_CURRENCY[_code.lower()] = ("CNY",) if _code == "RMB" else (_code,)

# Units written after the number: canonical key -> spellings (spaces also match hyphens).
UNITS: Final = spellings(
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
        "sec": "seconds, second, secs, sec, s",  # "s" only after decimals: see _decade
        "min": "minutes, minute, mins, min",
        "hour": "hours, hour, hrs, hr, h",
        "USD": "dollars, dollar, usd",
        "EUR": "euros, euro, eur, €",
        "GBP": "pounds sterling, pounds, pound, sterling, gbp",
        "JPY": "yen, jpy",
        "CNY": "yuan, renminbi, cny, rmb",
        "INR": "rupees, rupee",
        "SEK": "kronor, krona",
    }
)
CURRENCIES: Final = frozenset(code for codes in _PREFIX_CURRENCY.values() for code in codes) | {
    "SEK"
}
# Rough rates to US dollars, only to compare sums in different currencies; never printed.
RATES: Final = {
    "USD": 1.0,
    "EUR": 1.1,
    "GBP": 1.3,
    "JPY": 0.007,
    "CNY": 0.14,
    "KRW": 0.00075,
    "INR": 0.012,
    "SEK": 0.095,
    "CAD": 0.73,
    "AUD": 0.65,
    "NZD": 0.6,
    "HKD": 0.13,
    "CHF": 1.1,
}


def unit_form(spelling: str) -> str:
    """A unit spelling as looked up: lower case, hyphens and runs of spaces one space."""
    return re.sub(r"[ \-]+", " ", spelling.lower())


_UNIT_KEY: Final = {unit_form(s): key for key, spellings in UNITS.items() for s in spellings}
_UNIT_KEY["won"] = "KRW"  # only after a scale word: see QUANTITY
WORD_SCALES: Final = {"thousand": 3, "million": 6, "mn": 6, "mln": 6}
WORD_SCALES.update({"billion": 9, "bn": 9, "bln": 9, "trillion": 12, "tn": 12, "trn": 12})
LETTER_SCALES: Final = {"k": 3, "m": 6, "b": 9}


def _alternation(spellings: list[str]) -> str:
    """A regex alternation, longest spelling first, spaces matching a space or a hyphen."""
    ordered = sorted(set(spellings), key=len, reverse=True)
    return "|".join(re.escape(s).replace(r"\ ", r"[ \-]") for s in ordered)


_NOT_ALNUM_AFTER: Final = r"(?![^\W_])"
_UNIT_SPELLINGS: Final = [s for spellings in UNITS.values() for s in spellings]
QUANTITY: Final = (
    r"(?<!\d[.,])"
    rf"(?:(?P<cur>{_alternation(list(_PREFIX_CURRENCY))})[ \t]?)?"
    r"(?P<num>\d++(?:,\d++)*+(?:\.\d++)?+)"
    rf"(?:[ \t-]?(?P<wscale>{_alternation(list(WORD_SCALES))}){_NOT_ALNUM_AFTER}"
    rf"|(?P<lscale>[kmb]){_NOT_ALNUM_AFTER})?"
    rf"(?:[ \t-]?(?P<unit>{_alternation(_UNIT_SPELLINGS)}|(?(wscale)won|(?!))){_NOT_ALNUM_AFTER})?"
    rf"{_NOT_ALNUM_AFTER}"
)
_TOKEN: Final = re.compile(rf"(?P<qty>{QUANTITY})|(?P<word>{JOINED})", re.IGNORECASE)
# Length-preserving (so spans still point into the text): curly apostrophes, odd hyphens
# and spaces become plain ones.
PLAIN: Final = str.maketrans("\u2019\u2018\u2010\u2011\u00a0\u202f\u2009", "''--   ")


@dataclass(frozen=True)
class Word:
    """A word as written (letters and digits, inner joiners kept: "F-150", "AT&T")."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Quantity:
    """A number as written, with what is written around it.

    `digits` keeps its commas ("1,234.5", or "1,2,3" for a list); `number_start` is where
    they start, `bare_end` where they and their scale end (before the unit). `currencies`
    come from a prefix ("¥" is ("JPY", "CNY")); `scale` is the power of ten of a scale
    word or letter (None when there is none); `unit` is the canonical key of the unit
    after the number ("%", "gwh", "USD") or "".
    """

    start: int
    end: int
    text: str
    number_start: int
    bare_end: int
    digits: str
    currencies: tuple[str, ...] = ()
    scale: int | None = None
    scale_word: str = ""
    unit: str = ""

    @property
    def currency(self) -> str:
        """The currency's code, from the prefix (its first reading) or the unit; else ""."""
        if self.currencies:
            return self.currencies[0]
        return self.unit if self.unit in CURRENCIES else ""

    @property
    def value(self) -> float:
        """The number times its scale ("$7.2bn" is 7.2e9)."""
        return to_float(self.digits) * float(10 ** (self.scale or 0))


def tokens(text: str) -> Iterator[Word | Quantity]:
    """Words and quantities in order of appearance.

    `text` is read as given; translate it with `PLAIN` first to read curly apostrophes and
    odd spaces as plain ones (the spans stay the same).
    """
    for match in _TOKEN.finditer(text):
        if match.group("word") is not None or _decade(match):
            yield Word(match.start(), match.end(), match.group())
        else:
            yield _quantity(match)


def quantities(text: str) -> list[Quantity]:
    """The quantities in `text` (curly quotes and odd spaces read as plain ones), each
    with its text as written in `text`."""
    found = [t for t in tokens(text.translate(PLAIN)) if isinstance(t, Quantity)]
    return [replace(q, text=text[q.start : q.end]) for q in found]


def _quantity(match: re.Match[str]) -> Quantity:
    currency = match.group("cur")
    scale_word = match.group("wscale") or match.group("lscale") or ""
    unit = match.group("unit")
    return Quantity(
        start=match.start(),
        end=match.end(),
        text=match.group(),
        number_start=match.start("num"),
        bare_end=max(match.end("num"), match.end("wscale"), match.end("lscale")),
        digits=match.group("num"),
        currencies=_PREFIX_CURRENCY[currency.lower()] if currency else (),
        scale=_scale(scale_word),
        scale_word=scale_word,
        unit=_UNIT_KEY[unit_form(unit)] if unit else "",
    )


def _scale(word: str) -> int | None:
    if not word:
        return None
    key = word.lower()
    return WORD_SCALES.get(key) or LETTER_SCALES[key]


def _decade(match: re.Match[str]) -> bool:
    """Whether a number with an "s" is a decade ("1990s", read as a word), not seconds
    ("3.5s"); "10s" is too vague to read as seconds."""
    unit = match.group("unit")
    return unit is not None and unit.lower() == "s" and "." not in match.group("num")


def to_float(digits: str) -> float:
    """A number written with thousands commas as a float; 0.0 when it is not one."""
    try:
        return float(digits.replace(",", ""))
    except ValueError:
        return 0.0
