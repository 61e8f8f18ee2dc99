"""A learned sentence score for disclosures the hand-written rules do not know.

Rules written after a labelled set fit that set and gain little on the next one; a linear
model over hashed word and character n-grams reads wordings nobody wrote a rule for (the
AI maker as the subject, an extra "no human checked" clause, other languages through their
character n-grams). It complements the rules in `digest.detect.disclosure` (a hit of either
counts) and runs only where they do: on the sentences of the regions where publishers put
their own notes, behind the same quote, hearsay and negation guards.

The model is a logistic regression fitted by `bench/fit_disclosure.py` (scikit-learn, in the
bench only) and shipped as `learned.json`: the hash size, the bias, the threshold and the
non-zero weights by bucket. Here it is read with plain Python: a sentence's n-grams are
hashed with CRC-32 (stable across runs and machines), counted, scaled to unit length and
dotted with the weights. Most pages cost nothing: a sentence is scored only when it names
an AI, automation, a bot, a machine or software (`PREFILTER`, many languages).
"""

from __future__ import annotations

import itertools
import json
import math
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Final, cast

from digest.detect import anchors

WEIGHTS: Final = "learned.json"
RULE_ID: Final = "learned-sentence"
CHAR_SIZES: Final = (3, 4, 5)
MAX_SENTENCE: Final = 400  # characters scored of one sentence

_LETTER: Final = r"[a-zà-ɏа-яёα-ωά-ώ]"  # Latin, Cyrillic, Greek letters (either case)

# Words that make a sentence worth scoring: an AI, automation, a bot, a machine, software,
# a language model or a named chatbot, in the languages the digest meets. Broad on purpose
# (a car's "automatic gearbox" passes): the model decides, the filter only saves time.
_TERMS: Final = (
    # AI / KI / IA (and the Russian and Greek abbreviations) as a word of Latin (Cyrillic,
    # Greek) letters, or glued to another script ("AIが", "AI辅助"); all in lower case
    rf"(?<!{_LETTER})(?:a\.?\s?i|k\.?\s?i|i\.?\s?a|ии|τν)(?!{_LETTER})"
    r"|artifici|artifizi|künstlich|kunstmatig|kunstig|konstgjord|sztuczn|umělá|umel"
    r"|mesterséges|tekoäl|yapay|buatan|intelig|intellig|искусств|штучн|τεχνητ"
    r"|autom[aá]t|automaa|otomat|автомат|αυτόματ|algorit|algorytm|алгоритм|αλγόριθ"
    r"|robot|robô|робот|ρομπότ|bots?\b|\wbot|бот(?![\u0430-\u044f])"
    r"|machin|maschin|máquina|macchin|maskin|kone|makine|машин|μηχαν"
    r"|software|computer|ordinateur|rechner|komputer|компьютер|program"
    r"|language model|sprachmodell|modèle de langage|modelo de lenguaje|modello linguistico"
    r"|taalmodel|språkmodell|sprogmodel|kielimalli|model językow|modelo de linguagem"
    r"|языков|neural|neuron|нейро|llm|gpt|chatbot|chatgpt|claude|gemini"
    r"|copilot|llama|mistral|openai|anthropic|genera[dt]|generier|génér|gerad[oa]|generó"
    r"|synthet|synthés|sintetic|sintétic|digital|data[- ]?driven|datengestützt"
    r"|人工知能|人工智能|人工智慧|自動|自动|生成|機械|机器|機器|ロボット|机器人|機器人"
    r"|인공지능|자동|생성|로봇|봇|챗봇"
)
_CAMEL: Final = r"(?<=[a-z])(?:AI|KI)\b"  # closing a CamelCase name: "LedeAI", "BliKI"
_LOWER_TERMS: Final = re.compile(_TERMS)  # read on lower-cased text: 4x faster than re.I
_CAMEL_TERMS: Final = re.compile(_CAMEL)
PREFILTER: Final = re.compile(f"{_TERMS}|(?-i:{_CAMEL})", re.IGNORECASE)


def machine_terms(text: str) -> list[tuple[int, int]]:
    """Where `text` names an AI, automation, a bot, a machine... (`PREFILTER`), in order."""
    low = text.lower()
    if len(low) != len(text):  # a letter whose lower case is longer: offsets would shift
        return [m.span() for m in PREFILTER.finditer(text)]
    spans = [m.span() for m in _LOWER_TERMS.finditer(low)]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans + [m.span() for m in _CAMEL_TERMS.finditer(text)]):
        if merged and start < merged[-1][1]:  # "OpenAI": one word, not two
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def names_machine(text: str) -> bool:
    """Whether `text` has a machine word at all (the cheap test before any scoring)."""
    low = text.lower()
    if len(low) != len(text):
        return PREFILTER.search(text) is not None
    return _LOWER_TERMS.search(low) is not None or _CAMEL_TERMS.search(text) is not None


_WORD: Final = re.compile(r"\w+")
_DIGITS: Final = re.compile(r"\d")


Cue = tuple[str, re.Pattern[str]]


@dataclass(frozen=True)
class Model:
    """The fitted weights: a logistic regression over `2**bits` hashed n-gram buckets, and
    the cues it reads besides (named vocabulary patterns of rules.toml: a self-reference,
    a production verb, an AI term...; each one that matches is one more feature)."""

    bits: int
    bias: float
    threshold: float
    weights: Mapping[int, float]
    cues: tuple[Cue, ...] = ()

    def score(self, text: str) -> float:
        """The probability-like score (0..1) that `text` is a disclosure sentence."""
        counts = Counter(hashed(text, self.bits, self.cues))
        if not counts:
            return 0.0
        norm = math.sqrt(sum(c * c for c in counts.values()))
        total = self.bias + sum(self.weights.get(k, 0.0) * c for k, c in counts.items()) / norm
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, total))))

    def flags(self, text: str) -> float | None:
        """The score when it reaches the threshold, else None."""
        value = self.score(text)
        return value if value >= self.threshold else None


def grams(text: str, cues: Sequence[Cue] = ()) -> list[str]:
    """The n-grams of a sentence: words, word pairs, and character 3- to 5-grams of the
    words joined by single spaces (lower case, NFKC, every digit read as 0), and the names
    of the cues that match it."""
    out = [f"v {name}" for name in _cues_in(text[:MAX_SENTENCE], tuple(cues))]
    clean = _DIGITS.sub("0", unicodedata.normalize("NFKC", text[:MAX_SENTENCE]).lower())
    words = _WORD.findall(clean)
    out += [f"w {word}" for word in words]
    out += [f"b {a} {b}" for a, b in itertools.pairwise(words)]
    joined = f" {' '.join(words)} "
    for size in CHAR_SIZES:
        out += [f"c{joined[i : i + size]}" for i in range(len(joined) - size + 1)]
    return out


def _cues_in(sentence: str, cues: tuple[Cue, ...]) -> list[str]:
    """The names of the cues that match `sentence`: a cue is searched for only when the
    sentence holds the words all its matches hold (`digest.detect.anchors`)."""
    if not cues:
        return []
    lexicon, needs = _cue_anchors(cues)
    gate = anchors.Gate([sentence], lexicon)
    return [
        name
        for (name, cue), need in zip(cues, needs, strict=True)
        if gate.allowed(need) != frozenset() and cue.search(sentence)
    ]


@lru_cache(maxsize=8)
def _cue_anchors(cues: tuple[Cue, ...]) -> tuple[anchors.Lexicon, tuple[anchors.Need | None, ...]]:
    needs = tuple(anchors.usable(anchors.needs_of(cue)) for _, cue in cues)
    return anchors.Lexicon(needs), needs


def hashed(text: str, bits: int, cues: Sequence[Cue] = ()) -> list[int]:
    """The buckets of a sentence's n-grams (CRC-32: the same on every machine)."""
    mask = (1 << bits) - 1
    return [zlib.crc32(gram.encode("utf-8")) & mask for gram in grams(text, cues)]


def model_from(data: Mapping[str, Any], patterns: Mapping[str, re.Pattern[str]]) -> Model:
    """A Model from the JSON the fit writes (`to_json` is its inverse); `patterns`: the
    compiled vocabulary, by name, for the model's cues."""
    buckets, values = data["buckets"], data["weights"]
    if len(buckets) != len(values):
        raise ValueError("learned weights: buckets and weights differ in length")
    return Model(
        bits=int(data["bits"]),
        bias=float(data["bias"]),
        threshold=float(data["threshold"]),
        weights={int(b): float(w) for b, w in zip(buckets, values, strict=True)},
        cues=tuple((str(name), patterns[str(name)]) for name in data.get("cues", [])),
    )


def to_json(model: Model, extra: Mapping[str, Any] | None = None) -> str:
    """The model as the shipped file: buckets in order, weights rounded (stable diffs)."""
    keys = sorted(model.weights)
    data = {
        **(extra or {}),
        "bits": model.bits,
        "cues": [name for name, _ in model.cues],
        "bias": round(model.bias, 5),
        "threshold": round(model.threshold, 5),
        "buckets": keys,
        "weights": [round(model.weights[k], 4) for k in keys],
    }
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True) + "\n"


def shipped_json() -> dict[str, Any]:
    """The shipped weights file, parsed."""
    text = resources.files("digest.detect").joinpath(WEIGHTS).read_text("utf-8")
    return cast(dict[str, Any], json.loads(text))
