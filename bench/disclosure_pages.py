"""Build the labelled disclosure pages and measure the rules on them.

``bench/disclosure_set.toml`` holds short real-world disclosure wordings (each with a
source note) and hard negatives. This module puts each wording into each place a publisher
puts one (byline, tooltip, label beside the headline, first or last paragraph, aside,
footer, meta tag, JSON-LD...) on a template page: a made-up car story written for this
project. Run ``python bench/disclosure_pages.py`` for recall by split, wording kind and
placement, and the false accusations on the hard negatives (``--write DIR`` also saves
the pages for a look in a browser). ``--set PATH`` measures another set file with the same
schema (say a fresh set written by someone else); a wording without a `split` counts as
"set", and every report also gives the whole set by kind and by placement ("all/...").
"""

from __future__ import annotations

import argparse
import html
import json
import sys
import tomllib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from a checkout, without installing
    sys.path.insert(0, str(REPO))

from digest.detect.disclosure import ModelChoice, find_disclosures  # noqa: E402
from digest.detect.verdict import WEAK_RULES  # noqa: E402

SET = Path(__file__).resolve().parent / "disclosure_set.toml"

# The story every page carries; written for this set (no outlet's text).
HEADLINE = "Arden recalls 41,000 Vela crossovers over a loose seat-belt anchor"
STORY = (
    "Arden Motors is recalling 41,000 examples of its Vela crossover built between March "
    "and October last year, after an inspection at the Sunderland plant found that a rear "
    "seat-belt anchor bolt could work loose over time.",
    "The company said no injuries had been reported. Owners will be contacted by letter "
    "from next month, and dealers will fit a new bolt and a locking washer free of charge; "
    "the work takes about forty minutes.",
    "Arden's quality director, Priya Nand, said the fault was traced to a supplier that had "
    "changed the thread coating without telling the factory. Cars built since November use "
    "bolts from a second supplier.",
    "It is the second Vela recall this year. In April the firm asked owners of the hybrid "
    "version to return for a software update to the battery cooling pump.",
    "Owners can check whether their car is affected by entering its registration on the "
    "recall page of the Arden website or by calling their dealer.",
)
AUTHOR = "Jane Doe"
DATE = "12 May 2025"

# Where each kind of wording goes by default (a wording may narrow it with `places`).
DEFAULT_PLACES: dict[str, tuple[str, ...]] = {
    "statement": (
        "tooltip",
        "label",
        "first-paragraph",
        "last-paragraph",
        "aside",
        "footer",
        "meta",
        "jsonld",
    ),
    "author": ("byline", "dateline", "meta", "jsonld"),
    "label": ("label", "byline-badge", "first-paragraph", "aside", "footer"),
    "residue": ("first-paragraph", "middle", "last-paragraph"),
}
RESIDUE_NAME_PLACES = ("byline", "first-paragraph", "last-paragraph")


@dataclass(frozen=True)
class Case:
    """One generated page and what the rules should say about it."""

    id: str
    html: str
    positive: bool
    kind: str  # wording kind, or the negative's kind
    place: str
    split: str  # "dev", "unseen" or "negative"
    text: str


@dataclass(frozen=True)
class Parts:
    """The pieces of a page a placement fills in (empty: the default)."""

    byline: str = ""
    header_extra: str = ""
    first: str = ""
    middle: str = ""
    last: str = ""
    aside: str = ""
    footer: str = ""
    head: str = ""
    ld_extra: dict[str, Any] | None = None
    after_article: str = ""
    figure: str = ""


def load_set(path: Path = SET) -> dict[str, list[dict[str, Any]]]:
    """The wordings and negatives of the set."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {"wording": data.get("wording", []), "negative": data.get("negative", [])}


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _byline(name: str, extra: str = "", title: str = "") -> str:
    tip = f' title="{_e(title)}"' if title else ""
    return (
        f'<div class="byline">By <a href="/authors/staff" rel="author"{tip}>{_e(name)}</a>'
        f'{extra} <time datetime="2025-05-12">{DATE}</time></div>'
    )


def render(parts: Parts) -> str:
    """The page: site header and navigation, the article, related stories, comments."""
    ld: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": HEADLINE,
        "author": {"@type": "Person", "name": AUTHOR},
        "publisher": {"@type": "Organization", "name": "Motor Daily"},
    }
    ld |= parts.ld_extra or {}
    body = [f"<p>{_e(p)}</p>" for p in STORY]
    if parts.first:
        body.insert(0, parts.first)
    if parts.middle:
        body[2] = parts.middle
    if parts.last:
        body.append(parts.last)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{_e(HEADLINE)} | Motor Daily</title>
<meta name="description" content="Arden is recalling Vela crossovers over a seat-belt bolt.">
{parts.head}
<script type="application/ld+json">{json.dumps(ld)}</script>
</head><body>
<header class="site-header"><a href="/">Motor Daily</a>
<nav class="menu"><a href="/news">News</a> <a href="/reviews">Reviews</a>
<a href="/ev">Electric</a></nav>
</header>
<main>
<article>
<header class="article-header"><p class="kicker">Recalls</p><h1>{_e(HEADLINE)}</h1>
{parts.header_extra}
{parts.byline or _byline(AUTHOR)}
</header>
{parts.figure}
<div class="article-body">
{chr(10).join(body)}
</div>
{parts.aside}
{parts.footer or '<footer class="article-footer"><p>Filed under: recalls, Arden</p></footer>'}
</article>
{parts.after_article}
<section class="related"><h2>Related stories</h2><ul>
<li><a href="/news/1">Arden Vela long-term test: month three</a></li>
<li><a href="/news/2">How to check whether your car has an open recall</a></li></ul></section>
<section id="comments" class="comments"><h2>Comments</h2>
<div class="comment"><span class="comment-author">Mike</span>
<p>Mine went in last week, quick job.</p></div>
</section>
</main>
<footer class="site-footer"><p>&copy; 2025 Motor Daily. All rights reserved.</p></footer>
</body></html>
"""


def _statement_parts(text: str, place: str) -> Parts:
    """A wording that is a sentence or a label, in one place."""
    builders: dict[str, Callable[[], Parts]] = {
        "tooltip": lambda: Parts(byline=_byline("Motor Daily Staff", title=text)),
        "label": lambda: Parts(header_extra=f'<span class="tag">{_e(text)}</span>'),
        "byline-badge": lambda: Parts(
            byline=_byline(AUTHOR, extra=f' <span class="badge">{_e(text)}</span>')
        ),
        "first-paragraph": lambda: Parts(first=f"<p><em>{_e(text)}</em></p>"),
        "last-paragraph": lambda: Parts(last=f"<p><em>{_e(text)}</em></p>"),
        "aside": lambda: Parts(aside=f'<aside class="note"><p>{_e(text)}</p></aside>'),
        "footer": lambda: Parts(
            footer=f'<footer class="article-footer"><p>{_e(text)}</p></footer>'
        ),
        "meta": lambda: Parts(head=f'<meta name="disclosure" content="{_e(text)}">'),
        "jsonld": lambda: Parts(ld_extra={"backstory": text}),
    }
    if place not in builders:
        raise ValueError(f"unknown placement {place!r} (known: {', '.join(builders)})")
    return builders[place]()


def _author_parts(text: str, place: str) -> Parts:
    """A machine author's name, in one place."""
    if place == "byline":
        return Parts(byline=_byline(text))
    if place == "dateline":  # a byline without any class or rel naming it
        return Parts(byline=f"<p>By {_e(text)} | {DATE}</p>")
    if place == "meta":
        return Parts(byline="<p></p>", head=f'<meta name="author" content="{_e(text)}">')
    if place == "jsonld":
        return Parts(byline="<p></p>", ld_extra={"author": {"@type": "Person", "name": text}})
    return _statement_parts(text, place)  # an author's bio line in the body, say


def _residue_parts(text: str, place: str) -> Parts:
    """Residue inside the story's own paragraphs (or its byline)."""
    if place == "byline":
        return Parts(byline=f'<div class="byline">{_e(text)}</div>')
    if place == "first-paragraph":
        return Parts(first=f"<p>{_e(text)} {_e(STORY[0])}</p>")
    if place == "middle":
        return Parts(middle=f"<p>{_e(STORY[2])} {_e(text)}</p>")
    if place == "last-paragraph":
        return Parts(last=f"<p>{_e(text)}</p>")
    raise ValueError(place)


def _negative_parts(text: str, place: str) -> Parts:
    """A hard negative where its entry says."""
    builders: dict[str, Callable[[], Parts]] = {
        "byline": lambda: Parts(byline=_byline(text)),
        "meta": lambda: Parts(head=f'<meta name="author" content="{_e(text)}">'),
        "jsonld": lambda: Parts(ld_extra={"publisher": {"@type": "Organization", "name": text}}),
        "blockquote": lambda: Parts(
            middle=f"<p>{_e(STORY[2])}</p><blockquote><p>{_e(text)}</p></blockquote>"
        ),
        "figcaption": lambda: Parts(
            figure=f'<figure><img src="/img/vela.jpg" alt="The Vela">'
            f"<figcaption>{_e(text)}</figcaption></figure>"
        ),
        "image-alt": lambda: Parts(
            figure=f'<figure><img src="/img/vela.jpg" alt="{_e(text)}"></figure>'
        ),
        "comment": lambda: Parts(
            after_article='<div class="comments"><div class="comment">'
            f"<p>{_e(text)}</p></div></div>"
        ),
        "related": lambda: Parts(
            after_article='<aside class="related-stories"><ul><li>'
            f'<a href="/x">{_e(text)}</a></li></ul></aside>'
        ),
        "nav": lambda: Parts(
            header_extra=f'<nav class="section-nav"><a href="/ai">{_e(text)}</a></nav>'
        ),
        "tooltip": lambda: Parts(byline=_byline(AUTHOR, title=text)),
    }
    if place in builders:
        return builders[place]()
    if place == "middle":
        return _residue_parts(text, place)
    if place == "dateline":
        return _author_parts(text, place)
    return _statement_parts(text, place)


def cases(data: dict[str, list[dict[str, Any]]] | None = None) -> Iterator[Case]:
    """Every (wording, placement) page, then every hard negative."""
    data = data or load_set()
    for item in data["wording"]:
        kind, text = item["kind"], item["text"]
        places = item.get("places") or (
            RESIDUE_NAME_PLACES
            if kind == "residue" and "[" in text and "name" in text.lower()
            else DEFAULT_PLACES.get(kind, DEFAULT_PLACES["statement"])  # another set's kind
        )
        for place in places:
            if kind == "author":
                parts = _author_parts(text, place)
            elif kind == "residue":
                parts = _residue_parts(text, place)
            else:
                parts = _statement_parts(text, place)
            split = item.get("split", "set")
            yield Case(f"{item['id']}@{place}", render(parts), True, kind, place, split, text)
    for item in data["negative"]:
        parts = _negative_parts(item["text"], item["place"])
        yield Case(
            item["id"], render(parts), False, item["kind"], item["place"], "negative", item["text"]
        )


def accused(case: Case, model: ModelChoice = "shipped") -> list[str]:
    """The quotes of the evidence that would name this page (weak hints excluded);
    `model`: the learned sentence score beside the rules (None: the rules alone)."""
    found = find_disclosures(case.html, f"https://motordaily.example/{case.id}", model=model)
    return [f"{e.rule}: {e.quote}" for e in found if e.rule not in WEAK_RULES]


@dataclass(frozen=True)
class Report:
    """Recall per split/kind/placement and the false accusations."""

    recall: dict[str, tuple[int, int]]  # key -> (found, total)
    missed: list[str]
    false: list[str]

    def rate(self, key: str) -> float:
        found, total = self.recall.get(key, (0, 0))
        return found / total if total else float("nan")


def measure(all_cases: Sequence[Case], model: ModelChoice = "shipped") -> Report:
    """Run the rules (and the learned score, unless `model` is None) over every case."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    missed, false = [], []
    for case in all_cases:
        hits = accused(case, model)
        if not case.positive:
            if hits:
                false.append(f"{case.id}: {hits[0]}")
            continue
        for key in (
            case.split,
            f"{case.split}/kind:{case.kind}",
            f"{case.split}/place:{case.place}",
            "all",
            f"all/kind:{case.kind}",
            f"all/place:{case.place}",
        ):
            counts[key][0] += bool(hits)
            counts[key][1] += 1
        if not hits:
            missed.append(f"{case.split} {case.id}")
    return Report({k: (v[0], v[1]) for k, v in sorted(counts.items())}, missed, false)


def sizes(all_cases: Sequence[Case]) -> tuple[Counter[str], Counter[str]]:
    """Pages by wording kind and by placement (positives and negatives apart)."""
    by_kind = Counter(f"{'pos' if c.positive else 'neg'}:{c.kind}" for c in all_cases)
    by_place = Counter(f"{'pos' if c.positive else 'neg'}:{c.place}" for c in all_cases)
    return by_kind, by_place


def _kind_of(data: dict[str, list[dict[str, Any]]], negative_id: str) -> str:
    return next((n["kind"] for n in data["negative"] if n["id"] == negative_id), "")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--write", type=Path, help="also save every page into this folder")
    parser.add_argument("--show", action="store_true", help="list misses and accusations")
    parser.add_argument(
        "--set",
        type=Path,
        default=SET,
        metavar="PATH",
        help="the set file to measure (same schema as bench/disclosure_set.toml)",
    )
    parser.add_argument(
        "--rules-only", action="store_true", help="the rules alone, without the learned score"
    )
    args = parser.parse_args(argv)
    data = load_set(args.set)
    all_cases = list(cases(data))
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        for case in all_cases:
            (args.write / f"{case.id.replace('@', '__')}.html").write_text(case.html, "utf-8")
    words = Counter(f"{w.get('split', 'set')}:{w['kind']}" for w in data["wording"])
    print(
        f"set: {args.set}\nwordings: {len(data['wording'])} ({dict(sorted(words.items()))}); "
        f"negatives: {len(data['negative'])}; pages: {len(all_cases)}"
    )
    report = measure(all_cases, None if args.rules_only else "shipped")
    for key, (found, total) in report.recall.items():
        print(f"recall {key:32s} {found:4d}/{total:<4d} {found / total:.3f}")
    print(f"false accusations on hard negatives: {len(report.false)} of {len(data['negative'])}")
    accused_kinds = Counter(line.split(":")[0] for line in report.false)
    negative_kinds = Counter(n["kind"] for n in data["negative"])
    for kind, total in sorted(negative_kinds.items()):
        wrong = sum(n for case_id, n in accused_kinds.items() if _kind_of(data, case_id) == kind)
        print(f"accused {'negative:' + kind:40s} {wrong:4d}/{total:<4d}")
    if args.show:
        for line in report.missed:
            print("MISSED", line)
        for line in report.false:
            print("ACCUSED", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
