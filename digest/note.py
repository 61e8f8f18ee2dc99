"""The editor's note, composed offline from the week's top stories.

Why templates and not a model: the note sits at the top of the issue under the
editor's name, so it must never say anything the stories do not. Every clause is
either a fixed frame ("Elsewhere,", "The number of the week is") or words copied
from a story's title or summary, names and numbers exactly as written. Variety comes
from the week itself: how many outlets covered the lead, whether the picks share a
section, which sections the next stories come from, what kind of number stood out.

The shape, in 50 to 110 words when the stories allow it:

1. the lead story's headline, with "N outlets covered it" when several did;
2. one sentence of its summary, when there is room;
3. the second and third stories, each a summary sentence behind a connective;
4. the number of the week: the most striking figure in the summaries (money first,
   then GWh, then counts of things, then percentages), quoted with the sentence it
   comes from, cut after the number's clause. Whose number it is must be clear: a
   sentence that names no one ("The order is worth about $1.1 billion") is used only
   when its headline opens with a name, and then reads "The number of the week,
   $1.1 billion, belongs to Brightway Rent: the order is worth ...". A number the note already
   carries gets a short pointer instead ("That $3.8 billion is the number of the week.").

The sign-off is not part of the note: the templates add the signature.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

from digest.config import Newsletter
from digest.models import Story
from digest.text.figures import RATES, Quantity, quantities, to_float
from digest.text.sentences import split_sentences
from digest.text.words import LETTER_WORD, count_words

__all__ = ["MAX_WORDS", "MIN_WORDS", "Figure", "Found", "compose_note", "figures"]

MIN_WORDS = 50
MAX_WORDS = 110
_DETAIL_WORDS = 26  # the lead story's own sentences: longer ones are trimmed, then dropped
_FOLLOW_WORDS = 28  # the next stories' sentences: longer ones fall back to the headline
_FIGURE_WORDS = 32  # the number line quotes its sentence up to the number's clause
_HEADLINE_WORDS = 14  # a longer headline is cut to its first clause
_NUMBER_WORDS = {
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    9: "nine",
    10: "ten",
    11: "eleven",
    12: "twelve",
}
# How the default sections read inside a sentence: (subject, connective).
_THEMES = {
    "EVs & batteries": ("Batteries and electric cars", "In batteries,"),
    "Industry, deals & earnings": ("Deals and earnings", "In company news,"),
    "Policy, trade & tariffs": ("Trade policy", "On policy,"),
    "Autonomy & software": ("Self-driving and software", "On the software side,"),
    "Launches & reviews": ("New models", "Among new models,"),
}
_CLOSED = frozenset(f"{p}{q}" for p in ".?!" for q in "\u201d\"')")  # 'said "Stop."'
_CALENDAR = re.compile(
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
    r"|(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
)
_UNITS = frozenset(["GWh", "kWh", "MWh", "TWh", "EV", "EVs", "SUV", "SUVs", "CO2", "AI"])
_PRONOUNS = frozenset(["it", "they", "he", "she", "we", "this", "these", "those", "that"])
_ALWAYS_LOWER = _PRONOUNS | frozenset(["the", "a", "an", "its", "their", "his", "her", "our"])


def compose_note(stories: Sequence[Story], newsletter: Newsletter) -> str:
    """The note for `stories` (the picks, best first): one paragraph, "" for none.

    `newsletter` is accepted for the voice's sake (a future frame may name the
    newsletter); the text never signs itself.
    """
    del newsletter  # the signature is the template's job
    if not stories:
        return ""
    lexicon = _Lexicon.of(stories)
    figure = _striking(stories, lexicon)
    reserve = count_words(_figure_sentence(figure, lexicon, quoted=False))
    body = _fit(_lead_sentence(stories[0], stories), _pieces(stories, lexicon), reserve)
    texts = [piece.text for piece in body]
    if figure is not None:
        quoted = _mentions(" ".join(texts), figure.text)
        line = _figure_sentence(figure, lexicon, quoted)
        if count_words(*texts, line) <= MAX_WORDS:
            texts.append(line)
    return " ".join(texts)


@dataclass(frozen=True)
class _Piece:
    """A sentence the note may use: where it goes, and how much it is wanted."""

    position: float  # narrative order in the note
    priority: int  # lower first; above _CORE only to reach MIN_WORDS
    text: str


_CORE = 3  # pieces up to this priority are wanted in any week; later ones only fill


def _pieces(stories: Sequence[Story], lexicon: _Lexicon) -> list[_Piece]:
    """Every sentence the note could use beyond its lead, by priority."""
    top, rest = stories[0], stories[1:]
    details = _details(top)
    pieces = [_Piece(1 + i / 10, 3 if i == 0 else 4, text) for i, text in enumerate(details)]
    seen = {top.section}
    fallbacks = ("Elsewhere,", "Meanwhile,", "Also this week,")
    for i, story in enumerate(rest):
        fallback = fallbacks[min(i, len(fallbacks) - 1)]
        connective = _connective(story.section, seen, fallback)
        seen.add(story.section)
        priority = (1, 2)[i] if i < 2 else 4 + i
        pieces.append(_Piece(2 + i, priority, _mention(story, connective, lexicon)))
    return pieces


def _fit(lead: str, pieces: Sequence[_Piece], reserve: int) -> list[_Piece]:
    """The pieces that fit beside the lead and the number line, in narrative order.

    Core pieces go in while the note stays within MAX_WORDS; the rest only while it
    is still short of MIN_WORDS.
    """
    chosen = [_Piece(0, 0, lead)]
    for piece in sorted(pieces, key=lambda p: (p.priority, p.position)):
        total = count_words(*(c.text for c in chosen)) + reserve
        if piece.priority > _CORE and total >= MIN_WORDS:
            continue
        if total + count_words(piece.text) <= MAX_WORDS:
            chosen.append(piece)
    return sorted(chosen, key=lambda p: p.position)


# --- the lead ---------------------------------------------------------------------


def _lead_sentence(top: Story, stories: Sequence[Story]) -> str:
    """What led the week, and how many outlets covered it."""
    theme = _theme(top.section)[0]
    shared = sum(1 for s in stories[:4] if s.section and s.section == top.section)
    outlets = top.outlets
    headline = _headline(top)
    if outlets >= 3 and theme and shared >= 2:
        return (
            f"{theme} dominated the week, and {_count(outlets)} outlets covered "
            f"the leading story{headline}"
        )
    if outlets >= 2:
        return f"{_count(outlets).capitalize()} outlets covered the week's leading story{headline}"
    source = top.article.source or "One outlet"
    if theme and shared >= 2:
        return f"{theme} led the week, and {source} had the biggest story{headline}"
    return f"{source} had the week's leading story{headline}"


def _headline(top: Story) -> str:
    """The lead's title attached to a frame: after a colon, or quoted when a colon would
    clash. Returned with its own leading punctuation and final full stop; an untitled
    story lends its first summary sentence instead."""
    text = _first_clause(top.article.title.strip(), _HEADLINE_WORDS)
    if not text:
        sentences = _sentences(top)
        text = _trim(sentences[0], _DETAIL_WORDS) if sentences else ""
        return f": {text}" if text else "."
    if text.endswith(("?", "!")):
        return f", \u201c{text}\u201d"
    if ":" in text or '"' in text:
        return f", \u201c{text}\u201d."
    return f": {_end(text)}"


def _details(top: Story) -> list[str]:
    """The lead story's first two summary sentences, when they say more than its headline."""
    out: list[str] = []
    for sentence in _sentences(top)[:2]:
        trimmed = _trim(sentence, _DETAIL_WORDS)
        if trimmed and not _similar(trimmed, top.article.title):
            out.append(_end(trimmed))
    return out


# --- the stories behind it ----------------------------------------------------------


def _connective(section: str, seen: set[str], fallback: str) -> str:
    """The section's own connective when the note has not been there yet."""
    own = _theme(section)[1]
    return own if own and section not in seen else fallback


def _mention(story: Story, connective: str, lexicon: _Lexicon) -> str:
    """One story as a sentence: its first summary sentence, else its headline, quoted."""
    sentences = _sentences(story)
    if sentences and not _anaphoric(sentences[0]):
        sentence = _trim(sentences[0], _FOLLOW_WORDS)
        if sentence:
            return _end(f"{connective} {_lower_first(sentence, lexicon)}")
    title = _first_clause(story.article.title.strip(), _HEADLINE_WORDS)
    source = story.article.source or "one outlet"
    verb = "asked" if title.endswith("?") else "ran"
    return _end(f"{connective} {source} {verb} \u201c{title}\u201d")


def _anaphoric(sentence: str) -> bool:
    """Whether a sentence leans on one before it ("It said ...", "They ..."): out of its
    summary it would point at the wrong story."""
    first = sentence.split(" ", 1)[0].strip("\u201c\"'(").lower()
    return first in _PRONOUNS


# --- the number of the week -----------------------------------------------------------


Kind = Literal["money", "energy", "count", "percent"]


class Found(NamedTuple):
    """A number in a text: as written, its kind, a comparable size, where it starts."""

    text: str
    kind: Kind
    value: float  # money in rough US dollars, counts in units, else the number itself
    start: int


@dataclass(frozen=True)
class Figure:
    """A number found in a story's summary, with how striking it is.

    `text` is the number as written ("$3.8 billion", "30 GWh", "12,000"); `sentence`
    the summary sentence it came from (whose number it is).
    """

    text: str
    kind: Kind
    value: float  # comparable within a kind (money in rough US dollars)
    sentence: str
    named: bool  # the sentence names whose number it is ("Veltrix ...", not "It ...")
    owner: str = ""  # else, who the headline is about ("Brightway Rent orders ...")

    @property
    def rank(self) -> tuple[bool, int, float]:
        """A number the note can attribute first; then money of a million or more beats
        energy, which beats counts and percentages; then size."""
        tier = {"money": 4, "energy": 3, "count": 2, "percent": 0}[self.kind]
        if self.kind == "money" and self.value < 1e6:
            tier = 1
        if self.kind == "count" and self.value < 10_000:
            tier = 1
        return self.named or bool(self.owner), tier, self.value


_COUNT_SCALES = frozenset({"million", "thousand"})
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")
_BEFORE_A_WORD = re.compile(r"\s+[^\W\d_]")


def figures(text: str) -> list[Found]:
    """The numbers in `text` worth a number line, in order of appearance.

    Money is "$3.8 billion", "€2bn", "3.25 trillion yen"; energy "30 GWh"; counts are
    thousands of something ("12,000 vans", "1.2 million cars"); percentages "5.2%".
    Each quantity is read once (digest.text.figures), as one kind at most.
    """
    found: list[Found] = []
    for quantity in quantities(text):
        kind = _kind(quantity, text)
        if kind == "count":  # the number without its unit: "20,000" of "20,000 miles"
            quantity = replace(quantity, text=text[quantity.start : quantity.bare_end])
        if kind is not None:
            found.append(Found(quantity.text, kind, _size(kind, quantity), quantity.start))
    return found


def _kind(quantity: Quantity, text: str) -> Kind | None:
    if quantity.currency:
        return "money"
    if quantity.unit in ("gwh", "twh"):
        return "energy"
    if quantity.unit == "%":
        return "percent"
    if not _BEFORE_A_WORD.match(text, quantity.bare_end):
        return None  # a count is a number of something: "12,000 vans", "20,000 miles"
    if quantity.scale is None and _THOUSANDS.fullmatch(quantity.digits):
        return "count"
    spaced = text[quantity.bare_end - len(quantity.scale_word) - 1].isspace()
    return "count" if quantity.scale_word.lower() in _COUNT_SCALES and spaced else None


def _size(kind: Kind, quantity: Quantity) -> float:
    """A comparable size: money in rough dollars, counts in units, else the number."""
    if kind == "money":
        return quantity.value * RATES.get(quantity.currency, 1.0)
    if kind == "count":
        return quantity.value
    return to_float(quantity.digits)


def _striking(stories: Sequence[Story], lexicon: _Lexicon) -> Figure | None:
    """The most striking figure in the picks' summaries; earlier ones win ties.

    Only sentences short enough to quote in the number line (once cut after the
    number's clause) take part.
    """
    best: Figure | None = None
    for story in stories:
        owner = _owner(story.article.title, lexicon)
        for sentence in _sentences(story):
            for text, kind, value, _ in figures(sentence):
                quoted = _trim_for_figure(sentence, text)
                if value <= 0 or count_words(quoted) > _FIGURE_WORDS:
                    continue
                named = _names_someone(quoted, lexicon)
                figure = Figure(text.strip(), kind, value, sentence, named, owner)
                if best is None or figure.rank > best.rank:
                    best = figure
    return best


def _names_someone(sentence: str, lexicon: _Lexicon) -> bool:
    """Whether a sentence carries a name: a capitalised word past its first, or a first
    word that is not an ordinary one ("Veltrix agreed", not "The company said")."""
    words = LETTER_WORD.findall(sentence)
    if not words:
        return False
    if any(_capitalised(w) and not _CALENDAR.fullmatch(w) and w not in _UNITS for w in words[1:]):
        return True
    return _lower_first(sentence, lexicon) == sentence and words[0][:1].isupper()


def _owner(title: str, lexicon: _Lexicon) -> str:
    """Who a headline is about: its opening run of names ("Brightway Rent orders ...",
    "Veltrix and Ostara agree ...", "Cobalt Loop opens ..."); "" when it opens with an
    ordinary word ("Used EV prices fall")."""
    words = [w.rstrip(",:;") for w in title.split()]
    if not words or not _capitalised(words[0]):
        return ""
    ordinary = words[0].lower() in lexicon.lower or words[0].lower() in _ALWAYS_LOWER
    if ordinary and not (len(words) > 1 and _capitalised(words[1]) and words[1][1:].islower()):
        return ""
    run = [words[0]]
    for word in words[1:]:
        if run[-1].endswith(("'s", "\u2019s")) or not (_capitalised(word) or word in ("and", "&")):
            break
        run.append(word)
    while run[-1] in ("and", "&"):
        run.pop()
    return " ".join(run).removesuffix("'s").removesuffix("\u2019s")


def _capitalised(word: str) -> bool:
    """A word written with a capital, not an abbreviation with dots ("U.S.")."""
    return word[:1].isupper() and "." not in word and len(word) > 1


def _figure_sentence(figure: Figure | None, lexicon: _Lexicon, quoted: bool) -> str:
    """The number of the week; a short pointer when the number is already in the note."""
    if figure is None:
        return ""
    # Never "the largest sum": only figures in quotable sentences are compared, so a
    # bigger one may sit in a long sentence elsewhere (and the claim would be false).
    if quoted:
        return f"That {figure.text} is the number of the week."
    sentence = _lower_first(_trim_for_figure(figure.sentence, figure.text), lexicon)
    if not figure.named and figure.owner:
        owned = f"The number of the week, {figure.text}, belongs to {figure.owner}"
        return _end(f"{owned}: {sentence}")
    return _end(f"The number of the week is {figure.text}: {sentence}")


def _trim_for_figure(sentence: str, number: str) -> str:
    """The sentence from its subject to the end of the clause that holds `number`.

    "Sakurai ... raised its forecast by 8% to 3.25 trillion yen, about $21.2 billion,
    as demand ... stayed strong" keeps everything before ", as demand".
    """
    text = _drop_attribution(sentence.strip())
    at = text.find(number)
    cut = _AFTER_FIGURE.search(text, at + len(number)) if at >= 0 else None
    return (text[: cut.start()] if cut else text).rstrip(" ,;.") or text


# --- sentences and words ----------------------------------------------------------------

_ATTRIBUTION = re.compile(
    r",\s+(?P<who>[\w.'\u2019&-]+(?:\s+[\w.'\u2019&-]+){0,4}?)\s+"
    r"(?:said|says|announced)(?:\s+in\s+a\s+(?:statement|filing))?\s*(?P<end>[.!]?)$"
)
_SELF = re.compile(
    r"(?:the\s+)?(?:company|companies|carmaker|carmakers|automaker|automakers|firm|group|"
    r"manufacturer|supplier|start-up|startup|brand|ministry|government|it|they)",
    re.IGNORECASE,
)
_WEEKDAY = re.compile(  # "said on Friday it had", "the company said on Tuesday."
    r"\s+on\s+(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day(?=[,.;:]|\s+(?:it|that|to)\b|$)"
)
_TRAILING_PHRASE = re.compile(
    r",\s+(?:affecting|including|citing|adding|bringing|taking|leaving|giving|making|"
    r"raising|lifting|cutting|following|ahead of|up from|down from|compared with)\s[^;]*$"
    r"|,\s+(?:the|a|an)\s[^,;]*$"  # a closing appositive: ", the largest in its history."
)
_AFTER_FIGURE = re.compile(
    r";\s|,\s+(?:and|but|while|whereas|as|because|after|which|with|though|although|"
    r"despite|even|according|citing|giving|affecting|including|adding|up from|down from)\b"
)
_CLAUSES = re.compile(r"(;\s+|,\s+(?:and|but|while|whereas)\s+)")
_HEAD_BREAKS = re.compile(r"\s*(?::\s|\s[\u2014\u2013|]\s|;\s|\s-\s)")
_SOFT_BREAKS = re.compile(r",\s|\s(?:as|after|while|amid|despite|because)\s")


def _sentences(story: Story) -> list[str]:
    """The summary's sentences, list markers and empty ones dropped."""
    summary = story.summary
    raw = list(summary.sentences) or (split_sentences(summary.text) if summary.text else [])
    cleaned = (re.sub(r"^\s*(?:[-*\u2022\u00b7>#]+|\d+[.)])\s+", "", s).strip() for s in raw)
    return [" ".join(s.split()) for s in cleaned if s]


def _trim(sentence: str, limit: int) -> str:
    """The sentence within `limit` words, losing detail but never changing what it says.

    The trailing attribution (", the company said") and a trailing participle phrase or
    appositive (", affecting about 3,100 workers", ", the largest in its history") always
    go: the note has few words to spend. A sentence still too long is cut after its
    first clause; "" when even that is too long (the caller falls back to the headline).
    """
    text = _drop_attribution(sentence)
    shorter = _TRAILING_PHRASE.sub("", text)
    if shorter != text and count_words(shorter) >= 8:
        text = _end(shorter)
    if count_words(text) <= limit:
        return text
    first = _CLAUSES.split(text)[0].rstrip(" ,;")
    return _end(first) if 8 <= count_words(first) <= limit else ""


def _drop_attribution(sentence: str) -> str:
    """ "..., the company said on Tuesday." -> "...": the note has few words to spend.

    Only a company announcing its own news loses the attribution (", the company said",
    ", Halden said" after "Halden will ..."); a claim made by someone else keeps it, so
    the note never states an analyst's forecast as fact.
    """
    sentence = _WEEKDAY.sub("", sentence)
    match = _ATTRIBUTION.search(sentence)
    if match is None or count_words(sentence[: match.start()]) < 6:
        return sentence
    who, before = match.group("who"), sentence[: match.start()]
    if not (_SELF.fullmatch(who) or who.split()[0] in before):
        return sentence
    return before + (match.group("end") or ".")


def _first_clause(title: str, limit: int) -> str:
    """A long headline's first clause ("X: Y" -> "X"); a short one whole."""
    title = " ".join(title.split())
    if count_words(title) <= limit:
        return title
    for breaks in (_HEAD_BREAKS, _SOFT_BREAKS):
        head = breaks.split(title, maxsplit=1)[0]
        if 3 <= count_words(head) <= limit:
            return head
    return " ".join(title.split()[:limit]).rstrip(",;:") + "\u2026"


def _similar(a: str, b: str) -> bool:
    """Whether sentence `a` says little beyond headline `b` (most words shared)."""
    words_a = {w.lower() for w in LETTER_WORD.findall(a)}
    words_b = {w.lower() for w in LETTER_WORD.findall(b)}
    return bool(words_a) and len(words_a - words_b) < 3


@dataclass(frozen=True)
class _Lexicon:
    """Words the week's texts write in lowercase: "Carmakers" may become "carmakers"
    after a connective, "Halden" may not."""

    lower: frozenset[str]

    @classmethod
    def of(cls, stories: Iterable[Story]) -> _Lexicon:
        words: set[str] = set()
        for story in stories:
            for article in (story.article, *story.others):
                words.update(w for w in LETTER_WORD.findall(article.text[:20_000]) if w.islower())
            words.update(w for w in LETTER_WORD.findall(story.summary.text) if w.islower())
        return cls(frozenset(words))


def _lower_first(sentence: str, lexicon: _Lexicon) -> str:
    """Lowercase the first word when it is an ordinary word, not a name.

    An ordinary word: capitalised only at its first letter, written in lowercase
    somewhere in the week's texts (or an article), and not the start of a run of
    capitalised words ("General Motors" stays).
    """
    first, _, rest = sentence.partition(" ")
    bare = first.rstrip(",;:")
    if not bare[:1].isupper() or (bare[1:] and not bare[1:].islower()):
        return sentence
    lowered = bare.lower()
    next_word = rest.split(" ", 1)[0]
    if next_word[:1].isupper() and lowered not in _ALWAYS_LOWER:
        return sentence
    if lowered in _ALWAYS_LOWER or lowered in lexicon.lower:
        return f"{first[:1].lower()}{first[1:]} {rest}".rstrip()
    return sentence


def _end(text: str) -> str:
    """The text as one sentence: a full stop unless it already ends one."""
    text = text.rstrip()
    if text.endswith("\u2026"):
        return text + "."
    if text.endswith((".", "?", "!")) or text[-2:] in _CLOSED:
        return text
    return text + "."


def _theme(section: str) -> tuple[str, str]:
    """(subject, connective) for a section; custom sections go by their own title."""
    if section in _THEMES:
        return _THEMES[section]
    if not section:
        return "", ""
    return section.replace(" & ", " and "), ""


def _count(n: int) -> str:
    return _NUMBER_WORDS.get(n, str(n))


def _mentions(text: str, number: str) -> bool:
    """Whether `number` is written in `text` as a number of its own ("5%" not in "35%")."""
    return re.search(rf"(?<![\d.,]){re.escape(number)}(?!\d)", text) is not None
