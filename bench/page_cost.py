"""CPU a page worker spends per page, split by part, and a proof that outputs are unchanged.

Runs the worker's page function (`digest.pageread.read_body`, then the verdict the detect
stage gives from its result) in ONE process over the pages the speed benchmark serves:
every entry link of ../shared/corpus's real feeds (newest `--per-feed` of each) answered by
the page `bench/speedserver.py` picks for it, plus the 119 pages of
../shared/corpus/extraction with their ground-truth URLs. Each part is timed with
`time.process_time` by wrapping the function that does it (time is the part's own, its
timed children's taken out), so the table adds up to the whole.

    python bench/page_cost.py [--quick] [--save FILE | --check FILE] [--profile OUT.prof]

`--save FILE` stores a digest (sha256) of every output (the article text and metadata, the
disclosures with their evidence, the style values, the verdict with its score and signals);
`--check FILE` compares with a saved file and exits 1 on any difference, naming the pages.
`--quick`: the 119 extraction pages only.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import hashlib
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.speedserver import SHARED, Corpus, Farm
from digest import detect, extract, pageread
from digest.config import Detect
from digest.detect import disclosure, style, verdict
from digest.models import to_jsonable

PORT = re.compile(r"^(http://127\.0\.0\.\d+):\d+/")  # the farm's port changes run to run


class Timer:
    """Own CPU time per part: a part's time less that of the timed parts it called."""

    def __init__(self) -> None:
        self.own: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.stack: list[list[Any]] = []  # [label, child time]

    def wrap(self, module: ModuleType, name: str, label: str | Callable[[], str]) -> None:
        inner = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            part = label if isinstance(label, str) else label()
            frame: list[Any] = [part, 0.0]
            self.stack.append(frame)
            start = time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                spent = time.process_time() - start
                self.stack.pop()
                self.own[part] += spent - frame[1]
                self.calls[part] += 1
                if self.stack:
                    self.stack[-1][1] += spent

        setattr(module, name, timed)

    def inside(self, part: str) -> bool:
        return any(frame[0] == part for frame in self.stack)


def instrument(timer: Timer) -> None:
    """Wrap every part of a page's reading where the page function looks it up."""
    import htmldate
    import trafilatura.core
    import trafilatura.metadata

    def pass_label() -> str:
        return "second pass (balanced)" if timer.inside("second pass (balanced)") else "trafilatura"

    parts: list[tuple[ModuleType, str, str | Callable[[], str]]] = [
        (extract, "_decode", "decode"),
        (extract, "_parse", "parse (lxml)"),
        (extract, "_size", "element count"),
        (extract, "is_paywalled", "paywall"),
        (extract, "_run", pass_label),
        (extract, "_balanced", "second pass (balanced)"),
        (extract, "_lost_body", "lost-body test"),
        (extract, "_metadata", "metadata"),
        (extract, "_date_params", "metadata"),
        (extract, "_page", "page fields"),
        (trafilatura.core, "extract_metadata", "metadata"),
        (trafilatura.metadata, "find_date", "metadata: date (htmldate)"),
        (htmldate, "find_date", "metadata: date (htmldate)"),
        (pageread, "find_disclosures", "disclosure: other"),
        (disclosure, "shared_page", "disclosure: page prep"),
        (disclosure, "meta_lines", "disclosure: meta/jsonld"),
        (disclosure, "jsonld_values", "disclosure: meta/jsonld"),
        (disclosure, "c2pa_strings", "c2pa"),
        (disclosure, "c2pa_script_strings", "c2pa"),
        (disclosure, "prepare", "disclosure: prepare tree"),
        (disclosure, "region_segments", "disclosure: regions"),
        (disclosure, "tooltip_segments", "disclosure: tooltips/boxes"),
        (disclosure, "box_segments", "disclosure: tooltips/boxes"),
        (disclosure, "body_segments", "disclosure: body"),
        (disclosure, "scan", "disclosure: rules"),
        (disclosure, "learned_evidence", "learned score"),
        (style, "feature_values", "style features"),
        (style, "reading", "verdict (style reading, judge)"),
        (verdict, "judge", "verdict (style reading, judge)"),
    ]
    for module, name, label in parts:
        timer.wrap(module, name, label)


def bench_pages(per_feed: int, quick: bool) -> Iterator[tuple[str, bytes, str]]:
    """(key, page bytes, URL): the extraction pages, then the speed bench's entries."""
    root = SHARED / "extraction"
    truth = json.loads((root / "ground-truth.json").read_text())
    for name in sorted(truth):
        body = gzip.decompress((root / "html" / f"{name}.html.gz").read_bytes())
        yield f"x/{name}", body, truth[name].get("url", "")
    if quick:
        return
    import feedparser

    corpus = Corpus()
    with Farm(corpus, latency=0, per_feed=per_feed) as farm:
        bodies = [farm.feeds[url] for url in farm.feed_urls]
    seen: set[str] = set()
    for body in bodies:
        for entry in feedparser.parse(body).entries:
            link = PORT.sub(r"\1:1/", entry.get("link", ""))
            if link in seen:
                continue
            seen.add(link)
            path = "/" + link.split("/", 3)[3] if link.count("/") >= 3 else ""
            yield f"s/{link}", corpus.page_for(path), link


def output_digest(read: pageread.Read | None, verdict_: Any) -> str:
    data = {
        "read": to_jsonable(read),
        "style": [repr(v) for v in read.style] if read else [],
        "verdict": to_jsonable(verdict_),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def run(per_feed: int, quick: bool, timer: Timer | None) -> tuple[dict[str, str], float, int]:
    rules = list(detect.rules(Detect()))
    fields = pageread.rule_fields(rules)
    compiled = pageread._compiled(fields)  # as a worker has them (compiled in its fork server)
    pageread.warm()  # as the fork server does: first-use loading is not per-page cost
    if timer:  # not under cProfile: its own cost would swamp the timers'
        instrument(timer)
    digests: dict[str, str] = {}
    total = 0.0
    for key, body, url in bench_pages(per_feed, quick):
        start = time.process_time()
        read = pageread.read_body(body, url, compiled)
        judged = None
        if read is not None:
            reading = style.reading(read.page.text, read.style)
            judged = verdict.judge(read.disclosures, [], reading)
        total += time.process_time() - start
        digests[key] = output_digest(read, judged)
    return digests, total, len(digests)


def first_pages(quick_pages: list[tuple[str, bytes, str]]) -> str:
    """A worker's first-page overhead: a process that ran `digest.preload` (as the fork
    server does) forks a child per page; the child reads the page twice, and the first
    read's extra CPU is what a new worker pays once."""
    import os

    import digest.preload  # noqa: F401  (runs pageread.warm(), as in the fork server)

    rules = pageread.rule_fields(list(detect.rules(Detect())))
    extra: list[float] = []
    for _, body, url in quick_pages:
        read, write = os.pipe()
        child = os.fork()
        if child == 0:
            times = []
            for _ in range(2):
                start = time.process_time()
                pageread._read_sent(body, url, rules)
                times.append(time.process_time() - start)
                style._feature_values.cache_clear()
            os.write(write, f"{times[0] - times[1]:.6f}".encode())
            os._exit(0)
        os.close(write)
        extra.append(float(os.read(read, 64)))
        os.close(read)
        os.waitpid(child, 0)
    mean = 1000 * sum(extra) / len(extra)
    return (
        f"a new worker's first page: +{mean:.1f} ms CPU on average over {len(extra)} pages "
        f"(max +{1000 * max(extra):.1f} ms), after `digest.preload` in its fork server"
    )


def table(timer: Timer, total: float, count: int) -> str:
    lines = [
        f"{count} pages, {total:.2f} s CPU, {1000 * total / count:.2f} ms a page",
        "",
        "| part | ms / page | share | calls / page |",
        "|---|---:|---:|---:|",
    ]
    timed = sum(timer.own.values())
    rows = [*timer.own.items(), ("other (read_body itself, Read, unwrapped code)", total - timed)]
    for part, spent in sorted(rows, key=lambda row: -row[1]):
        calls = timer.calls.get(part, count) / count
        lines.append(
            f"| {part} | {1000 * spent / count:.2f} | {100 * spent / total:.1f}% | {calls:.2f} |"
        )
    return "\n".join(lines)


def compare(digests: dict[str, str], saved: dict[str, str]) -> list[str]:
    keys = sorted(set(digests) | set(saved))
    return [key for key in keys if digests.get(key) != saved.get(key)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-feed", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="the 119 extraction pages only")
    parser.add_argument("--save", type=Path, help="store the output digests here")
    parser.add_argument("--check", type=Path, help="compare the output digests with this file")
    parser.add_argument(
        "--first", type=int, default=0, help="measure a new worker's first page on N pages"
    )
    parser.add_argument("--profile", type=Path, help="also write a cProfile of the pages here")
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"corpus not found: {SHARED}", file=sys.stderr)
        return 2
    if args.first:
        print(first_pages(list(bench_pages(args.per_feed, True))[: args.first]))
        return 0
    timer = Timer()
    profile = cProfile.Profile() if args.profile else None
    if profile:
        profile.enable()
    digests, total, count = run(args.per_feed, args.quick, None if profile else timer)
    if profile:
        profile.disable()
        profile.dump_stats(args.profile)
    print(table(timer, total, count))
    if args.save:
        args.save.write_text(json.dumps(digests, indent=0, sort_keys=True))
        print(f"\nsaved the digests of {len(digests)} pages' outputs to {args.save}")
    if args.check:
        differ = compare(digests, json.loads(args.check.read_text()))
        if differ:
            print(f"\n{len(differ)} of {count} pages differ:", *differ[:40], sep="\n  ")
            return 1
        print(f"\noutputs identical on all {count} pages ({args.check})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
