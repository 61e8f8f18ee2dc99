"""Which segments of a page a disclosure rule can match at all: a necessary-words gate.

`disclosure.scan` runs about a hundred large patterns over the fifty-odd segments of a page
(~20 ms of CPU a page, 40% of a page worker's time), and on a human story almost none of
them can match: a rule's matches all contain certain words ("generated", "AI", "language
model"...), and a segment without them is skipped.

`need` reads a pattern's syntax tree (the standard library's own parser) and returns sets
of anchors such that every match holds one anchor of each set: a whole word (a literal run
the pattern bounds with `\\b` or "no word character" on both sides) or a substring (any
literal run). A branch gives the union of its alternatives' anchors; a repeat that may
match nothing, a negative lookaround or a back-reference gives none. Reading the trees
costs ~1 s of CPU for the shipped rules, so their anchors are read once, by `python
bench/anchors_index.py --write`, and shipped in `anchors.json`, keyed by a hash of each
pattern (a test checks the file is current; a pattern not in it, an owner's rule say, is
read when first used).

`Gate` finds, once per page, which segments hold an anchor a rule asks for, and the scan
runs the rule there only. Exactness: anchors and text are compared in one canonical form
that maps every pair of characters `re.IGNORECASE` treats as equal to one character (lower
case, plus the standard library's extra equivalences: dotless i, long s, final sigma...),
so a literal that matches, in any case, is found; the word boundaries are read on the text
itself, as the pattern reads them. A page holding a character whose case forms differ in
being a word character (a combining Greek iota) is scanned in full.
"""

from __future__ import annotations

import hashlib
import json
import re
import re._casefix as _casefix  # type: ignore[import-not-found]  # IGNORECASE's extra cases
import re._constants as _sre  # type: ignore[import-not-found]
import re._parser as _parser  # type: ignore[import-not-found]
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any, Final

WORD: Final = "w"  # anchor kinds: a whole word, or a substring, in canonical form
PART: Final = "s"
EXACT_WORD: Final = "W"  # the same, in the case the pattern wrote (case-sensitive there)
EXACT_PART: Final = "S"
KINDS: Final = (WORD, PART, EXACT_WORD, EXACT_PART)
_WORD_OF: Final = {True: WORD, False: EXACT_WORD}  # case-folded or not
MAX_SETS: Final = 4  # a rule's strongest sets that are checked
INDEX: Final = "anchors.json"

Anchor = tuple[str, str]  # (kind, text)
Need = tuple[frozenset[Anchor], ...]  # every set must have an anchor in the segment


def _tables() -> tuple[dict[int, int], str]:
    fix: dict[int, int] = {}
    mixed: set[str] = set()
    for low, others in _casefix._EXTRA_CASES.items():
        group = {low, *others}
        target = min(group)
        fix.update({code: target for code in group if code != target})
        if len({chr(code).isalnum() for code in group}) > 1:
            mixed.update(chr(code) for code in group)
            mixed.update(chr(code).upper() for code in group)
    return fix, "".join(sorted(mixed))


_FIX, _MIXED_CHARS = _tables()
_MIXED: Final = re.compile("[" + re.escape(_MIXED_CHARS) + "]")
_FIXED: Final = re.compile("[" + re.escape("".join(map(chr, sorted(_FIX)))) + "]")
_WORDS: Final = re.compile(r"\w+")


def canonical(text: str) -> str:
    """`text` with every character in one form per IGNORECASE class, and as long (dotted
    capital I, the one letter whose lower case is two characters, is made a plain i)."""
    low = text.replace("\u0130", "i").lower()
    return low.translate(_FIX) if _FIXED.search(low) else low  # a page rarely needs it


# --- reading a pattern -------------------------------------------------------------------


def key(regex: re.Pattern[str]) -> str:
    """What identifies a compiled pattern in the shipped index."""
    text = f"{regex.flags}\0{regex.pattern}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def need(regex: re.Pattern[str]) -> Need | None:
    """Sets of anchors, each of which has one in every match of `regex`, or in the text a
    lookaround of it reads (None: no such set known). At most MAX_SETS, the strongest."""
    try:
        tree = _parser.parse(regex.pattern, regex.flags)
    except (re.error, RecursionError, TypeError, ValueError):
        return None
    ci = bool(tree.state.flags & re.IGNORECASE)
    found = set(_sequence(list(tree), ci, left=False, right=False))
    sets = sorted(found, key=_order)
    return tuple(sets[-MAX_SETS:]) or None


def _sequence(
    items: Sequence[tuple[Any, Any]], ci: bool, left: bool, right: bool
) -> list[frozenset[Anchor]]:
    """What a sequence needs: every part's needs (every part must match)."""
    found: list[frozenset[Anchor]] = []
    run: list[str] = []
    run_left = left
    for index, (op, av) in enumerate(items):
        before = left if index == 0 else _boundary(items[index - 1])
        after = right if index == len(items) - 1 else _boundary(items[index + 1])
        if op is _sre.LITERAL:
            if not run:
                run_left = before
            run.append(chr(av))
            continue
        if run:
            found += _run("".join(run), ci, run_left, _boundary((op, av)))
            run = []
        if not _boundary((op, av)):
            found += _item(op, av, ci, before, after)
    if run:
        found += _run("".join(run), ci, run_left, right)
    return found


_NO_WORD_CHAR: Final = [(_sre.IN, [(_sre.CATEGORY, _sre.CATEGORY_UNI_WORD)])]


def _boundary(item: tuple[Any, Any]) -> bool:
    """`\\b`, or "no word character" looking either way (`(?<!\\w)`, `(?!\\w)`): beside a
    word character it bounds a word (on the far side of one it cannot match at all)."""
    op, av = item
    if op is _sre.AT:
        return bool(av is _sre.AT_BOUNDARY)
    return bool(op is _sre.ASSERT_NOT and _is_word_class(list(av[1])))


def _is_word_class(items: list[Any]) -> bool:
    return items == _NO_WORD_CHAR or items == [(_sre.IN, [(_sre.CATEGORY, _sre.CATEGORY_WORD)])]


def _run(text: str, ci: bool, left: bool, right: bool) -> list[frozenset[Anchor]]:
    word = canonical(text) if ci else text
    whole = left and right and _WORDS.fullmatch(word) is not None
    kind = (WORD if whole else PART) if ci else (EXACT_WORD if whole else EXACT_PART)
    return [frozenset({(kind, word)})]


def _item(op: Any, av: Any, ci: bool, left: bool, right: bool) -> list[frozenset[Anchor]]:
    if op is _sre.SUBPATTERN:
        _, on, off, body = av
        inner = (ci or bool(on & re.IGNORECASE)) and not off & re.IGNORECASE
        return _sequence(list(body), inner, left, right)
    if op is _sre.ASSERT:  # a lookaround's words are in the text too, wherever they are
        return _sequence(list(av[1]), ci, left=False, right=False)
    if op is _sre.ATOMIC_GROUP:
        return _sequence(list(av), ci, left, right)
    if op is _sre.BRANCH:
        return _either(_sequence(list(branch), ci, left, right) for branch in av[1])
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
        low, high, body = av
        once = low == high == 1
        return _sequence(list(body), ci, left and once, right and once) if low >= 1 else []
    return []


def _either(branches: Iterable[list[frozenset[Anchor]]]) -> list[frozenset[Anchor]]:
    """One of the branches matches: the union of each branch's strongest set."""
    out: set[Anchor] = set()
    for sets in branches:
        if not sets:
            return []
        strongest: frozenset[Anchor] = max(sets, key=_order)
        out |= strongest
    return [frozenset(out)]


def _order(anchors: frozenset[Anchor]) -> tuple[tuple[int, int], list[Anchor]]:
    """Weakest first, and in one order whatever the hash seed (the shipped file is stable)."""
    return _strength(anchors), sorted(anchors)


def _strength(anchors: frozenset[Anchor]) -> tuple[int, int]:
    """How rare a set is in a segment, roughly: its weakest anchor's length (a whole word
    three more, a character outside ASCII or a capital letter one more), then the fewer
    anchors the better."""
    weakest = min(_weight(kind, text) for kind, text in anchors)
    return weakest, -len(anchors)


def _weight(kind: str, text: str) -> int:
    rare = sum(1 for char in text if ord(char) > 127 or char.isupper())
    return len(text) + rare + (3 if kind in (WORD, EXACT_WORD) else 0)


# --- the shipped index -------------------------------------------------------------------


@lru_cache(maxsize=1)
def shipped() -> dict[str, Need | None]:
    """The anchors of the shipped rules' patterns, by `key` (empty when the file is missing
    or unreadable: every pattern is then read when first used)."""
    try:
        raw = json.loads(resources.files("digest.detect").joinpath(INDEX).read_text("utf-8"))
        return {k: _need_from(v["need"]) for k, v in raw["patterns"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _need_from(raw: list[list[str]] | None) -> Need | None:
    """Anchors written `kind:text`."""
    if raw is None:
        return None
    sets = tuple(frozenset(_anchor(text) for text in group) for group in raw)
    return sets


def _anchor(written: str) -> Anchor:
    kind, sep, text = written.partition(":")
    if kind not in KINDS or not sep or not text:
        raise ValueError(f"bad anchor {written!r}")
    return kind, text


def needs_of(regex: re.Pattern[str]) -> Need | None:
    """`need(regex)`, from the shipped index when the pattern is in it."""
    index = shipped()
    found = key(regex)
    return index[found] if found in index else need(regex)


def index_json(patterns: Iterable[tuple[str, re.Pattern[str]]]) -> str:
    """The index file for (rule id, pattern) pairs: a pattern a line, sorted by key."""
    entries: dict[str, str] = {}
    for rule_id, regex in patterns:
        found = need(regex)
        sets = None if found is None else [sorted(f"{k}:{t}" for k, t in g) for g in found]
        entries[key(regex)] = json.dumps({"rule": rule_id, "need": sets}, ensure_ascii=False)
    lines = [f"  {json.dumps(k)}: {entry}" for k, entry in sorted(entries.items())]
    about = json.dumps("written by `python bench/anchors_index.py --write`")
    return '{\n "about": ' + about + ',\n "patterns": {\n' + ",\n".join(lines) + "\n }\n}\n"


# --- one page ----------------------------------------------------------------------------

MIN_STRENGTH: Final = 3


def usable(needs: Need | None) -> Need | None:
    """The sets of `needs` worth checking (None: none; the rule runs everywhere)."""
    if needs is None:
        return None
    return tuple(group for group in needs if _strength(group)[0] >= MIN_STRENGTH) or None


class Lexicon:
    """Every anchor some rules need, found in a page's text in one pass per kind: for the
    substrings, a regular expression shaped as a trie finds at each position the longest
    one starting there (the ones starting there are its prefixes among them); for the
    whole words, one bounded on both sides finds the word at each word's start (a
    whole-word anchor is one run of word characters, `_run`: at most one starts at a
    position). Most of a page's positions start no anchor: only the anchors found reach
    Python, not every "o" of the page a one-letter word anchor would stop at."""

    def __init__(self, needs: Iterable[Need | None]) -> None:
        groups = {group for found in needs for group in found or ()}
        self.anchors = frozenset(anchor for group in groups for anchor in group)
        parts = self._texts(PART)
        exact_parts = self._texts(EXACT_PART)
        # (pattern, case-folded text or not, the longest part found -> every part there)
        self.passes: tuple[tuple[re.Pattern[str], bool, Mapping[str, tuple[Anchor, ...]]], ...]
        self.passes = tuple(
            (regex, folded, starting)
            for regex, folded, starting in (
                (_trie_regex(parts), True, _starting(parts, PART)),
                (_trie_regex(exact_parts), False, _starting(exact_parts, EXACT_PART)),
                (_word_regex(self._texts(WORD)), True, {}),
                (_word_regex(self._texts(EXACT_WORD)), False, {}),
            )
            if regex is not None
        )

    def _texts(self, kind: str) -> set[str]:
        return {text for each, text in self.anchors if each == kind}


def _starting(texts: set[str], kind: str) -> dict[str, tuple[Anchor, ...]]:
    """For each text, the anchors of `kind` among its prefixes (itself included)."""
    return {
        text: tuple((kind, text[:n]) for n in range(1, len(text) + 1) if text[:n] in texts)
        for text in texts
    }


def _trie_regex(texts: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern that matches, at every position where one of `texts` starts, the longest
    one in group 1: the position's character is read first (a character class the regex
    engine scans for quickly), then, looking back at it, the trie from there."""
    trie = _trie(texts)
    if not trie:
        return None
    first = "".join(re.escape(char) for char in sorted(trie))
    return re.compile(f"[{first}](?<=(?=({_branch(trie)})).)")


def _word_regex(texts: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern that matches each of `texts` standing as a whole word (no word character
    either side, as `Gate._bounded` reads it), in group 1."""
    trie = _trie(texts)
    return re.compile(rf"(?<!\w)({_branch(trie)})(?!\w)") if trie else None


def _trie(texts: Iterable[str]) -> dict[str, Any]:
    trie: dict[str, Any] = {}
    for text in texts:
        node = trie
        for char in text:
            node = node.setdefault(char, {})
        node[""] = {}
    return trie


def _branch(node: dict[str, Any]) -> str:
    alternatives = [re.escape(char) + _branch(rest) for char, rest in sorted(node.items()) if char]
    if not alternatives:
        return ""
    body = alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"
    return f"(?:{body})?" if "" in node else body


class Gate:
    """Which of one page's segments hold the anchors a rule needs: the lexicon's anchors
    found once, in one pass over the page; another anchor looked for when asked."""

    def __init__(self, texts: Sequence[str], lexicon: Lexicon | None = None) -> None:
        self._raw = "\n".join(texts)
        self._text = canonical(self._raw)
        self._whole = _MIXED.search(self._raw) is not None  # scan every segment
        self._starts: list[int] = []
        at = 0
        for text in texts:
            self._starts.append(at)
            at += len(text) + 1
        self._count = len(texts)
        self._covered: frozenset[Anchor] = frozenset()  # looked for: _known says where
        self._known: dict[Anchor, frozenset[int]] = {}
        if lexicon is not None and not self._whole:
            self._covered = lexicon.anchors
            self._known = self._found(lexicon)
        self._present = frozenset(self._known)  # the covered anchors on the page

    def _found(self, lexicon: Lexicon) -> dict[Anchor, frozenset[int]]:
        held: dict[Anchor, set[int]] = {}
        starts = self._starts
        for regex, folded, starting in lexicon.passes:
            for match in regex.finditer(self._text if folded else self._raw):
                segment = bisect_right(starts, match.start()) - 1
                found = match.group(1)
                for anchor in starting[found] if starting else ((_WORD_OF[folded], found),):
                    held.setdefault(anchor, set()).add(segment)
        return {anchor: frozenset(found) for anchor, found in held.items()}

    def allowed(self, needs: Need | None) -> frozenset[int] | None:
        """The segments where a rule with `needs` may match (None: any)."""
        if needs is None or self._whole:
            return None
        result: frozenset[int] | None = None
        for anchors in needs:
            held = frozenset().union(*(self._holding(anchor) for anchor in self._asked(anchors)))
            result = held if result is None else result & held
            if not result:
                return frozenset()
        return result

    def _asked(self, anchors: frozenset[Anchor]) -> Iterable[Anchor]:
        """The anchors of a set worth looking up: those on the page, when all were looked
        for; else all of them."""
        if anchors <= self._covered:
            return anchors & self._present
        return anchors

    def _holding(self, anchor: Anchor) -> frozenset[int]:
        known = self._known.get(anchor)
        if known is None:
            covered = anchor in self._covered  # looked for, not found
            known = frozenset() if covered else frozenset(self._find(*anchor))
            self._known[anchor] = known
        return known

    def _find(self, kind: str, text: str) -> Iterable[int]:
        haystack = self._text if kind in (WORD, PART) else self._raw
        whole = kind in (WORD, EXACT_WORD)
        at = haystack.find(text)
        while at >= 0:
            if whole and not self._bounded(at, at + len(text)):
                at = haystack.find(text, at + 1)
                continue
            segment = bisect_right(self._starts, at) - 1
            yield segment
            if segment + 1 >= self._count:
                return
            at = haystack.find(text, self._starts[segment + 1])

    def _bounded(self, start: int, end: int) -> bool:
        """No word character right before `start` nor at `end`, in the text as written."""
        raw = self._raw
        return (start == 0 or not _is_word(raw[start - 1])) and (
            end >= len(raw) or not _is_word(raw[end])
        )


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"
