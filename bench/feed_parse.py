"""Feed parsing: CPU and entries with feedparser's defaults against digest's options,
and `feedparser.parse` against `digest.feedxml.parse` (the same result, faster).

    python bench/feed_parse.py [--rounds N] [--show] [--speed-bench]

Reads every feed file of ../shared/corpus/feeds (read at run time, never copied) and the
feed fixtures of tests/fixtures and digest/demo, parses each with `feeds.parse_feed` as a
feed worker does, once with feedparser's defaults (its HTML sanitizer and relative-link
rewriting on) and once with `feeds.FEEDPARSER_OPTIONS`, and prints the CPU of each (best of
N rounds) and the feeds whose entries differ; `--show` prints each differing field. Then
it reads each file with `feedparser.parse` and with `feedxml.parse` (digest's options),
prints the CPU of each and the files whose results differ in any field feedparser gives
(none expected; the exception of a malformed feed compares by its message).
`--speed-bench` times `feeds.parse_feed` on the speed bench's feeds instead, with
`feedxml` and with plain `feedparser.parse`, and checks their `Parsed` are equal.
"""

from __future__ import annotations

import argparse
import difflib
import gzip
import io
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402

from digest import feeds, feedxml  # noqa: E402
from digest.models import Feed  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "feeds"
NOW = datetime(2026, 12, 7, tzinfo=UTC)
SUFFIXES = (".gz", ".xml", ".rss", ".atom", ".json")


def bodies() -> list[tuple[str, bytes]]:
    places = [CORPUS, ROOT / "tests" / "fixtures", ROOT / "digest" / "demo"]
    files = sorted(p for place in places for p in place.rglob("*") if p.suffix in SUFFIXES)
    out = []
    for path in files:
        data = path.read_bytes()
        out.append(
            (
                str(path.relative_to(ROOT.parent)),
                gzip.decompress(data) if path.suffix == ".gz" else data,
            )
        )
    return out


def parse_all(
    items: Sequence[tuple[str, bytes]], options: Mapping[str, bool], rounds: int
) -> tuple[list[feeds.Parsed], float]:
    best, parsed = float("inf"), []
    for _ in range(rounds):
        start = time.process_time()
        parsed = [
            feeds.parse_feed(body, {}, Feed("https://feed.example/", ""), NOW, {}, options)
            for _, body in items
        ]
        best = min(best, time.process_time() - start)
    return parsed, best


def speed_bench() -> list[tuple[str, bytes, dict[str, str]]]:
    """The feeds `bench/speed.py` serves (each cut to its newest entries), with the
    headers a feed worker gets for them."""
    from bench.speedserver import Corpus, Farm, truncate

    farm = Farm(Corpus())  # its servers are not started: only its URLs and bodies
    out = []
    for name, original in sorted(farm.corpus.originals.items()):
        url = farm.local(original, 0)
        body = farm._rewrite(truncate(farm.corpus.raw[name], farm.per_feed), 0)
        kind = "application/atom+xml" if b"<feed" in body[:1000] else "application/rss+xml"
        out.append((url, body, {"content-type": kind, "content-location": url}))
    return out


def parse_bench(
    items: Sequence[tuple[str, bytes, dict[str, str]]], rounds: int
) -> tuple[list[feeds.Parsed], float]:
    best, parsed = float("inf"), []
    for _ in range(rounds):
        start = time.process_time()
        parsed = [feeds.parse_feed(body, dict(h), Feed(u, ""), NOW, {}) for u, body, h in items]
        best = min(best, time.process_time() - start)
    return parsed, best


def read_all(
    items: Sequence[tuple[str, bytes]], read: Callable[[bytes], Any], rounds: int
) -> tuple[list[Any], float]:
    best, parsed = float("inf"), []
    for _ in range(rounds):
        start = time.process_time()
        parsed = [read(body) for _, body in items]
        best = min(best, time.process_time() - start)
    return parsed, best


def plain(body: bytes) -> Any:
    return feedparser.parse(io.BytesIO(body), **feeds.FEEDPARSER_OPTIONS)


def fast(body: bytes) -> Any:
    return feedxml.parse(body, {}, feeds.FEEDPARSER_OPTIONS)


def comparable(result: Any) -> tuple[dict[str, Any], str]:
    """The whole result, its exception (an object: equal only to itself) by its words."""
    fields = dict(result)
    return fields, repr(fields.pop("bozo_exception", None))


def differences(a: feeds.Parsed, b: feeds.Parsed) -> list[str]:
    out = [] if a.warnings == b.warnings else [f"warnings {a.warnings} | {b.warnings}"]
    if len(a.entries) != len(b.entries):
        return [*out, f"entries {len(a.entries)} | {len(b.entries)}"]
    for x, y in zip(a.entries, b.entries, strict=True):
        for name in ("url", "title", "summary", "content", "author", "published"):
            one, two = str(getattr(x, name)), str(getattr(y, name))
            if one != two:
                out += [f"{name}: {_change(one, two)}"]
    return out


def _change(one: str, two: str) -> str:
    ops = [op for op in difflib.SequenceMatcher(None, one, two).get_opcodes() if op[0] != "equal"]
    _, a0, a1, b0, b1 = ops[0]
    return f"{one[a0 - 30 : a1 + 30]!r} -> {two[b0 - 30 : b1 + 30]!r} ({len(ops)} changes)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--show", action="store_true")
    parser.add_argument(
        "--speed-bench",
        action="store_true",
        help="parse_feed on the speed bench's feeds, feedxml against plain feedparser",
    )
    args = parser.parse_args(argv)
    if args.speed_bench:
        return compare_speed_bench(args.rounds)
    items = bodies()
    before, cpu_before = parse_all(items, {}, args.rounds)
    after, cpu_after = parse_all(items, feeds.FEEDPARSER_OPTIONS, args.rounds)
    entries = sum(len(p.entries) for p in after)
    print(f"{len(items)} feed files, {entries} entries (best of {args.rounds} rounds, one process)")
    print(f"feedparser defaults: {cpu_before:.2f} s CPU; digest's options: {cpu_after:.2f} s CPU")
    changed = [
        (name, d)
        for (name, _), a, b in zip(items, before, after, strict=True)
        if (d := differences(a, b))
    ]
    print(f"feeds whose entries differ: {len(changed)}")
    for name, lines in changed:
        print(f"  {name}: {len(lines)} fields")
        for line in lines[: 3 if args.show else 0]:
            print(f"    {line[:400]}")
    ours, cpu_ours = read_all(items, fast, args.rounds)
    theirs, cpu_theirs = read_all(items, plain, args.rounds)
    print(f"feedparser.parse: {cpu_theirs:.2f} s CPU; feedxml.parse: {cpu_ours:.2f} s CPU")
    unequal = [
        name
        for (name, _), a, b in zip(items, theirs, ours, strict=True)
        if comparable(a) != comparable(b)
    ]
    print(f"files whose feedxml.parse result differs from feedparser.parse: {len(unequal)}")
    for name in unequal:
        print(f"  {name}")
    return 1 if unequal else 0


def compare_speed_bench(rounds: int) -> int:
    items = speed_bench()
    ours, cpu_ours = parse_bench(items, rounds)
    fast = feedxml._FAST
    feedxml._FAST = None  # plain feedparser.parse under parse_feed
    try:
        theirs, cpu_theirs = parse_bench(items, rounds)
    finally:
        feedxml._FAST = fast
    entries = sum(len(p.entries) for p in ours)
    print(f"speed bench: {len(items)} feeds, {entries} entries (best of {rounds} rounds)")
    print(f"parse_feed: {cpu_theirs:.2f} s CPU with feedparser.parse, {cpu_ours:.2f} with feedxml")
    unequal = [u for (u, _, _), a, b in zip(items, ours, theirs, strict=True) if a != b]
    print(f"feeds whose Parsed differ: {len(unequal)}")
    return 1 if unequal else 0


if __name__ == "__main__":
    raise SystemExit(main())
