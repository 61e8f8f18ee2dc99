"""The text layer: word patterns, TF-IDF vectors and figures (sentences have their cases in
test_summarize.py, HTML to text in test_feeds.py)."""

from __future__ import annotations

import math
import re

import pytest

from digest.text import html_to_text, words
from digest.text.figures import Word, quantities, to_float, tokens
from digest.text.vectors import Vector, batch_idf, log_tfidf, smooth_idf, tfidf, total


def test_word_patterns_keep_what_their_names_say() -> None:
    text = "Škoda's U.S. sales rose 3,900 units; AT&T and Mercedes-Benz (ID.4) didn't_care."
    assert words.WORD.findall("Škoda's F-150") == ["Škoda", "s", "F", "150"]
    assert words.LETTERS.findall("ID4 e-208") == ["ID", "e"]
    assert words.LETTER_WORD.findall("Lennon's start-up sold 5 cars") == [
        "Lennon's",
        "start-up",
        "sold",
        "cars",
    ]
    assert "U.S" in words.TOKEN.findall(text) and "3,900" in words.TOKEN.findall(text)
    assert words.TERM.findall("ford's 2 cars") == ["ford's", "2", "cars"]
    joined = [m.group() for m in re.finditer(words.JOINED, text)]
    assert "AT&T" in joined and "Mercedes-Benz" in joined and "ID.4" in joined


def test_lowered_text_reads_as_ignorecase_for_ascii_letters() -> None:
    """`words.lowered`'s claim, over every code point but the CASE_TRAPS: each ASCII
    letter, with IGNORECASE, matches where it matches in the lower-case text, and so does
    a word character; the lower case is as long."""
    every = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF)
    plain = words.CASE_TRAPS.sub("", every)
    low = words.lowered(plain)
    assert low is not None and len(low) == len(plain)
    for letter in "abcdefghijklmnopqrstuvwxyz":
        ignoring = [m.start() for m in re.finditer(letter, plain, re.IGNORECASE)]
        assert ignoring == [m.start() for m in re.finditer(letter, low)], letter
    assert [m.start() for m in re.finditer(r"\w", plain)] == [
        m.start() for m in re.finditer(r"\w", low)
    ]
    for trap in "\u0130\u0131\u017f":  # dotted I, dotless i, long s: read as i and s
        assert words.lowered(f"Pay{trap}wall") is None
    assert words.lowered("PayWall Stra\u00dfe") == "paywall stra\u00dfe"


def test_word_counts_and_sets() -> None:
    assert words.count_words("one two  three", "four\nfive") == 5
    assert words.count_words() == 0
    assert words.word_set(" a b\n a ") == frozenset({"a", "b"})


def test_cosine_of_parallel_orthogonal_and_empty_vectors() -> None:
    a = Vector.of({"ford": 1.0, "recall": 2.0})
    assert a.norm == pytest.approx(math.sqrt(5))
    assert a.cosine(Vector.of({"ford": 2.0, "recall": 4.0})) == pytest.approx(1.0)
    assert a.cosine(a) <= 1.0
    assert a.cosine(Vector.of({"toyota": 3.0})) == 0.0
    assert a.cosine(Vector.of({})) == 0.0 and not Vector.of({})
    assert a.cosine(Vector.of({"ford": 1.0})) == pytest.approx(1 / math.sqrt(5))


def test_tfidf_weighting() -> None:
    idf = smooth_idf([["ford", "recall"], ["ford", "plant"]])
    assert idf["ford"] == pytest.approx(1.0)  # in every document: weight 1, never 0
    assert idf["plant"] == pytest.approx(math.log(3 / 2) + 1)
    vector = tfidf(["ford", "ford", "unseen"], idf, default=0.5)
    assert dict(vector.weights) == {"ford": pytest.approx(2.0), "unseen": 0.5}
    damped = log_tfidf({"ford": 1, "plant": 3}, lambda term: 2.0)
    assert damped.weights["ford"] == 2.0
    assert damped.weights["plant"] == pytest.approx(2.0 * (1 + math.log(3)))
    assert batch_idf(30, 0) == pytest.approx(math.log(31)) and batch_idf(30, 30) == math.log(2)
    summed = total([Vector.of({"a": 1.0}), Vector.of({"a": 2.0, "b": 1.0})])
    assert dict(summed.weights) == {"a": 3.0, "b": 1.0}


# --- figures ------------------------------------------------------------------------------


def _read(text: str) -> list[tuple[str, str, float]]:
    return [(q.text, q.currency or q.unit, q.value) for q in quantities(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a $7.2bn plant", [("$7.2bn", "USD", 7.2e9)]),
        ("3.25 trillion yen", [("3.25 trillion yen", "JPY", 3.25e12)]),
        ("41.5 billion rupees", [("41.5 billion rupees", "INR", 41.5e9)]),
        ("1.5 trillion won", [("1.5 trillion won", "KRW", 1.5e12)]),
        ("in 2021 won the title", [("2021", "", 2021.0)]),  # a verb, not the currency
        ("30 GWh and 5.2 per cent", [("30 GWh", "gwh", 30.0), ("5.2 per cent", "%", 5.2)]),
        ("a 300-mile range", [("300-mile", "mile", 300.0)]),
        ("€2bn, C$5m and ¥9", [("€2bn", "EUR", 2e9), ("C$5m", "CAD", 5e6), ("¥9", "JPY", 9.0)]),
        ("the F-150, the ID.4, the 1990s and 3.5s", [("3.5s", "sec", 3.5)]),
    ],
)
def test_quantities_read_currency_scale_and_unit(
    text: str, expected: list[tuple[str, str, float]]
) -> None:
    got = _read(text)
    assert [(t, u) for t, u, _ in got] == [(t, u) for t, u, _ in expected]
    assert [v for _, _, v in got] == pytest.approx([v for _, _, v in expected])


def test_the_scales_cover_what_clustering_reads() -> None:
    """cluster.py's suffixes (%, percent, per cent, billion, bn, million, mn, m, trillion, tn)
    all read as the same scale or unit here, so it can adopt this parser."""
    powers = {"billion": 9, "bn": 9, "million": 6, "mn": 6, "m": 6, "trillion": 12, "tn": 12}
    for suffix, power in powers.items():
        (quantity,) = quantities(f"3.8{'' if len(suffix) <= 2 else ' '}{suffix} cars")
        assert quantity.scale == power, suffix
    for suffix in ("%", " percent", " per cent"):
        assert quantities(f"51{suffix}")[0].unit == "%"


def test_a_quantity_knows_where_its_number_ends_and_reads_curly_quotes() -> None:
    (quantity,) = quantities("it drove 20,000\u00a0miles")
    assert quantity.text == "20,000\u00a0miles" and quantity.unit == "mile"
    assert quantity.bare_end - quantity.start == len("20,000")
    words = [t.text for t in tokens("BYD's EX30") if isinstance(t, Word)]
    assert words == ["BYD's", "EX30"]
    assert to_float("1,234.5") == 1234.5 and to_float("1,2.3.4") == 0.0


# --- HTML to text ---------------------------------------------------------------------------


def test_html_to_text_defaults_and_options() -> None:
    fragment = 'Intro<p>One <a href="https://x.example">link</a>.</p><iframe>x</iframe><td>a</td>'
    assert html_to_text(fragment) == "IntroOne link.\n\nxa"  # the feed reading, as it was
    assert html_to_text("<p>A &amp; B</p><script>x</script><p>C</p>") == "A & B\n\nC"
    around = html_to_text(fragment, around=True, hidden={"iframe"})
    assert around == "Intro\n\nOne link.\n\na"
    marked = html_to_text(
        fragment, around=True, hidden={"iframe"}, mark=lambda e: "@" if e.get("href") else ""
    )
    assert marked == "Intro\n\nOne @link.\n\na"
    assert html_to_text("a<br>b", breaks={"br": "\n"}, around=True) == "a\nb"


def test_c_lookup_gives_the_classes_lxml_html_gives() -> None:
    from lxml import etree
    from lxml import html as lxml_html

    from digest.text.markup import c_lookup

    page = (
        "<!DOCTYPE html><html><head><title>t</title><?php echo 1 ?></head><body>"
        "<!-- a comment --><div class='x'><form action='/s'><label>Q<input name='q'></label>"
        "<select><option>a</option></select><textarea>t</textarea></form>"
        "<p>Text &amp; <b>bold</b><svg><path d='M0'/></svg></p></div></body></html>"
    )
    fast = etree.HTMLParser()
    fast.set_element_class_lookup(c_lookup())
    ours = lxml_html.document_fromstring(page, parser=fast)
    theirs = lxml_html.document_fromstring(page, parser=lxml_html.HTMLParser())
    pairs = list(zip(ours.iter(), theirs.iter(), strict=True))
    assert [type(a) for a, _ in pairs] == [type(b) for _, b in pairs]
    kinds = {type(a).__name__ for a, _ in pairs}
    assert {"InputElement", "FormElement", "SelectElement", "LabelElement", "HtmlComment"} <= kinds
    assert ours.forms[0].inputs["q"].name == "q"  # a form's own methods work
