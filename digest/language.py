"""Which language an article is written in, from its commonest small words.

A stop-word profile per language: the share of a text's words that are that language's
function words (articles, pronouns, prepositions, auxiliaries) is high for its own
language and low for the others. No model, no download, no dependency: the eight
languages of the European automotive press this tool is most likely to meet. Words
that are also common English words ("a", "as", "in", "no") are left out of the other
profiles, so English is not mistaken for them. A text too
short, or one no profile clearly wins, is "" (unknown), never a guess.
"""

from __future__ import annotations

import re
from collections import Counter


def _profile(words: str) -> frozenset[str]:
    return frozenset(words.split())


PROFILES: dict[str, frozenset[str]] = {
    "en": _profile(
        "the of and to in is that it for was on are with as be by at this have from or "
        "an they which but not were has had its their will would been more who said"
    ),
    "de": _profile(
        "der die das und ist nicht mit sich des auf für dem den ein eine einen auch "
        "von zu im es wird werden sind hat bei nach wie aus noch über oder aber "
        "wurde vor zum zur"
    ),
    "fr": _profile(
        "le la les et des est un une du que qui dans pour pas sur au aux par plus "
        "avec ce cette sont ont été mais ou il elle leur ses son nous vous"
    ),
    "es": _profile(
        "el la los las y de que en un una es por con para del al se como más "
        "pero sus su lo ha han fue son este esta también entre"
    ),
    "it": _profile(
        "il lo la gli le e di che è un una per con non del della dei delle nel "
        "nella alla al sono ha hanno anche come più ma sul dalla"
    ),
    "nl": _profile(
        "de het een en van dat op te voor met zijn niet ook aan er als bij "
        "door maar om nog wordt worden heeft hebben naar dan deze"
    ),
    "pt": _profile(
        "o os e de da dos das que em um uma para com não por mais na "
        "se como foi são ao pelo pela também seu sua"
    ),
    "sv": _profile(
        "och att det som en ett är på av för med till den har de inte om var "
        "från eller kan ska också vid efter sig"
    ),
}
NAMES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "nl": "Dutch",
    "pt": "Portuguese",
    "sv": "Swedish",
}
MIN_WORDS = 20  # fewer words say too little
MIN_SHARE = 0.12  # the winner's function words are at least this share of the words
MARGIN = 1.5  # ... and this many times the runner-up's

WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def detect(text: str, limit: int = 2000) -> str:
    """The text's language code ("de"), or "" when it cannot be told; reads at most
    `limit` words."""
    words = [w.lower() for w in WORD.findall(text)[:limit]]
    if len(words) < MIN_WORDS:
        return ""
    counts = Counter(words)
    shares = {
        code: sum(counts[w] for w in profile) / len(words) for code, profile in PROFILES.items()
    }
    (best, top), (_, second) = sorted(shares.items(), key=lambda kv: -kv[1])[:2]
    if top < MIN_SHARE or top < MARGIN * second:
        return ""
    return best


def name(code: str) -> str:
    """The language's English name ("German"), or the code when it is not one of ours."""
    return NAMES.get(code, code)
