"""The first grouping embeds only the headlines that can matter (`[performance] embed =
"needed"`): on a small week served over real HTTP (127.0.0.1), it gives the issue that
embedding every headline gives, a paraphrased story-mate still joins its story, and the
headlines of stories that cannot make the issue are not embedded."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from digest import cluster
from digest.models import Digest
from digest.pipeline import RunOptions, run
from digest.store import Store
from tests.conftest import make_config
from tests.servers import HTTPServer, Reply, page, rss

NOW = datetime(2026, 11, 16, 6, tzinfo=UTC)
OPTIONS = RunOptions(until=NOW, now=lambda: NOW)

# One event, told by three outlets in shared words, and by a fourth (a lighter outlet)
# in a headline that shares nothing with theirs but the maker's name: only the headline
# vectors can join it.
EVENT = [
    (
        "Northbridge Motors to build $3.5bn battery plant in Ohio",
        "Northbridge Motors said on Tuesday it would build a 40 GWh battery plant in Ohio, "
        "its largest investment in the United States. The plant will employ about 2,100 "
        "people.",
    ),
    (
        "Northbridge Motors picks Ohio for $3.5bn battery plant",
        "Northbridge Motors has chosen Ohio for a $3.5 billion battery plant that will make "
        "40 GWh of cells a year and employ 2,100 people, the company said.",
    ),
    (
        "Ohio lands $3.5bn Northbridge battery plant",
        "Ohio will host a $3.5 billion battery plant from Northbridge Motors, the state's "
        "governor said, with 2,100 jobs and 40 GWh of yearly output.",
    ),
]
PARAPHRASE = "Northbridge announces a new US factory making EV cells"
PARAPHRASE_PAGE = (  # its page tells the same facts (its feed gives only the headline)
    "Northbridge Motors will make electric car cells at a new $3.5 billion factory in Ohio, "
    "with 40 GWh of yearly output and 2,100 jobs, the carmaker announced on Tuesday."
)
# Other news of the week, one story each (no section of this config takes them).
MAKERS = [
    "Kestrel",
    "Osprey",
    "Falcon",
    "Harrier",
    "Merlin",
    "Condor",
    "Heron",
    "Ibis",
    "Lark",
    "Magpie",
    "Plover",
    "Raven",
]
EVENTS = [
    (
        "recalls 4,800 vans over sliding door latches",
        "Owners will receive letters in January, and dealers will swap the part in an hour.",
    ),
    (
        "names a former airline boss as chairman",
        "The board said the appointment takes effect at the annual meeting in May.",
    ),
    (
        "opens a school for apprentice mechanics in Leeds",
        "The academy will train forty young technicians a year on hybrid drivetrains.",
    ),
    (
        "wins a rally stage in the Welsh forests",
        "The works crew finished ahead of two privateers after a wet afternoon on gravel.",
    ),
    (
        "settles a paint lawsuit with owners in Texas",
        "Claimants will receive vouchers worth up to four hundred dollars each, lawyers said.",
    ),
    (
        "adds a glass sunroof to its city hatchback",
        "The panel costs extra and arrives on cars built from February at the Porto works.",
    ),
    (
        "sponsors a vintage bus museum in Glasgow",
        "Visitors can ride restored double-deckers on Sundays through the summer season.",
    ),
    (
        "moves its design studio to a Milan warehouse",
        "Sixty stylists and modellers will relocate from the old Turin office by autumn.",
    ),
    (
        "signs a tyre supply deal with a Korean firm",
        "The contract covers winter compounds for its vans sold in Nordic markets.",
    ),
    (
        "cuts prices of its camper conversions",
        "Holiday buyers can save up to nine percent on fitted kitchens and pop-up roofs.",
    ),
    (
        "launches a subscription for classic car restorations",
        "Members pay monthly and get workshop slots, spare parts and a loan car.",
    ),
    (
        "reports record orders for taxi versions",
        "Fleet operators in Dublin and Cork asked for two thousand wheelchair-ready cabs.",
    ),
]
OUTLETS = ["Alpha Wire", "Beta Motoring", "Gamma Auto", "Delta Daily"]


def week(server: HTTPServer) -> list[dict[str, Any]]:
    """Four outlets: each tells the event (Delta Daily, the lightest, in the paraphrase)
    and three of the other stories; every link answers with its page."""
    stories: list[list[tuple[str, str]]] = [[item] for item in EVENT]
    stories.append([(PARAPHRASE, "")])
    for n, (maker, (what, text)) in enumerate(zip(MAKERS, EVENTS, strict=True)):
        stories[n % 4].append((f"{maker} {what}", f"{maker} {text}"))
    feeds = []
    for outlet, (name, told) in enumerate(zip(OUTLETS, stories, strict=True)):
        items = []
        for n, (title, text) in enumerate(told):
            path = f"/{outlet}/{n}.html"
            body = [text or PARAPHRASE_PAGE]
            server.route(path, Reply(body=page(title, body * 3)))
            item = {
                "title": title,
                "link": server.url(path),
                "pubDate": f"1{n} Nov 2026 09:00:00 GMT",
            }
            items.append(item | ({"description": text} if text else {}))
        url = server.route(f"/{outlet}.xml", Reply(body=rss(items, name)))
        feeds.append({"url": url, "name": name, "weight": 0.5 if outlet == 3 else 1.5})
    return feeds


def issue(tmp_path: Path, server: HTTPServer, embed: str, **performance: Any) -> tuple[Digest, int]:
    """The issue of the week, and how many headlines the run embedded."""
    digest, vectors = issue_and_vectors(tmp_path, server, embed, **performance)
    return digest, len(vectors)


def issue_and_vectors(
    tmp_path: Path, server: HTTPServer, embed: str, **performance: Any
) -> tuple[Digest, dict[str, str]]:
    """The issue of the week, and the vectors the run embedded (cached), by key."""
    config = make_config(
        tmp_path,
        [server.host_port],
        feeds=week(server),
        newsletter={"max_stories": 2},
        ranking={"more_per_section": 1},
        sections=[{"title": "Batteries", "keywords": ["battery", "plant"]}],
        performance={"embed": embed} | performance,
    )
    digest = run(config, OPTIONS).digest
    assert digest is not None
    with Store(config.state.path) as store:
        rows = store._db.execute("SELECT key, data FROM results WHERE key LIKE 'embed:%'")
        vectors = {str(key): str(data) for key, data in rows.fetchall()}
    return digest, vectors


def shown(digest: Digest) -> list[tuple[str, list[str]]]:
    """Each story shown: the linked article's path and its story-mates' titles."""
    stories = [*digest.stories, *(s for section in digest.more for s in section.stories)]
    return [(s.article.url.split("/", 3)[3], sorted(a.title for a in s.others)) for s in stories]


def test_the_needed_headlines_give_the_issue_all_of_them_give(
    tmp_path: Path, http_server: HTTPServer
) -> None:
    needed, few = issue(tmp_path / "needed", http_server, "needed")
    every, all_of_them = issue(tmp_path / "all", http_server, "all")
    assert shown(needed) == shown(every)
    story = next(s for s in needed.stories if s.article.title.startswith("Northbridge"))
    assert PARAPHRASE in {a.title for a in story.others}
    headlines = len(EVENT) + 1 + len(EVENTS)
    assert all_of_them >= headlines > few  # the stories that cannot make it: not embedded


def test_a_pass_grouped_in_a_process_of_its_own_embeds_the_same_and_gives_the_same_issue(
    tmp_path: Path, http_server: HTTPServer
) -> None:
    """With worker processes, the pass groups at the widest in a process of its own while
    this one ranks the places and embeds the headlines that take them (cached for the
    next grouping): the same vectors, the same issue as the pass all in one process."""
    here, at_hand = issue_and_vectors(tmp_path / "here", http_server, "needed")
    apart, sent = issue_and_vectors(
        tmp_path / "apart", http_server, "needed", workers=2, min_pool_jobs=1
    )
    assert shown(apart) == shown(here)
    assert sent == at_hand and len(sent) > len(EVENT)


def test_the_paraphrase_needs_the_headline_vectors() -> None:
    """Without vectors (words alone) the paraphrase stays apart from its story: the
    test above is about what the first pass embeds."""
    items = [cluster.Item(str(n), title, text) for n, (title, text) in enumerate(EVENT)]
    items.append(cluster.Item("p", PARAPHRASE, ""))
    alone = np.zeros((len(items), 384), dtype=np.float32)
    assert cluster.cluster(items, alone) == [[0, 1, 2], [3]]
    assert cluster.cluster(items) == [[0, 1, 2, 3]]


def test_a_grouping_from_an_earlier_reading_is_a_fresh_grouping(tmp_path: Path) -> None:
    """The first pass groups the week again with other vectors, from the first
    grouping's reading of the words, left in a file (`cluster.regroup`): the groups and
    the joins are those of a fresh `cluster.group`."""
    items = [cluster.Item(str(n), title, text, OUTLETS[n]) for n, (title, text) in enumerate(EVENT)]
    items.append(cluster.Item("p", PARAPHRASE, "", "Delta Daily"))
    for n, (maker, (what, text)) in enumerate(zip(MAKERS, EVENTS, strict=True)):
        items.append(cluster.Item(f"m{n}", f"{maker} {what}", f"{maker} {text}", OUTLETS[n % 4]))
    widest = np.zeros((len(items), 384), dtype=np.float32)
    widest[:, 0] = 1.0
    near = np.random.default_rng(7).normal(size=(len(items), 384)).astype(np.float32)
    near[1 : len(EVENT) + 1] = near[0] + 0.1 * near[1 : len(EVENT) + 1]  # the event, alike
    near /= np.linalg.norm(near, axis=1, keepdims=True)
    reading = tmp_path / "reading.pickle"
    first = cluster.regroup(items, reading, widest)
    assert first == cluster.cluster(items, widest)
    left = reading.stat().st_mtime_ns
    again = cluster.regroup(items, reading, near)
    assert reading.stat().st_mtime_ns == left  # read, not made again
    assert again == cluster.cluster(items, near) != first
    assert [0, 1, 2, len(EVENT)] in again
    known = cluster.read(items)
    assert cluster.group(items, near, known) == cluster.group(items, near)


def test_a_story_is_sectioned_again_when_its_words_change(tmp_path: Path) -> None:
    """Sections are remembered per story across a run's rankings, by what decides them:
    the same story ranked again keeps its section, and the same story with another
    headline (its page read, say) is read again."""
    from dataclasses import replace

    from digest import pipeline
    from digest.config import parse_config
    from digest.models import Article, Verdict, Window

    feeds = {"feeds": [{"url": "http://127.0.0.1:1/feed", "name": "One"}]}
    config = parse_config(feeds, tmp_path / "digest.toml")
    window = Window(datetime(2026, 11, 9, tzinfo=UTC), NOW)

    def article(title: str) -> Article:
        return Article(
            url="http://127.0.0.1:1/a",
            title=title,
            text="The company said so on Tuesday.",
            method="feed",
            feed_url="http://127.0.0.1:1/feed",
            source="One",
            date=datetime(2026, 11, 12, tzinfo=UTC),
            verdict=Verdict(),
        )

    def section(a: Article) -> str:
        (story,) = pipeline._ranked(config, [a], [[0]], window, config.ranking)
        return story.section

    tariff = article("EU raises tariffs on imported trucks")
    assert section(tariff) == section(tariff) == "Policy, trade & tariffs"
    battery = replace(tariff, title="Kanto opens a battery recycling plant")
    assert section(battery) == "EVs & batteries"
    assert section(tariff) == "Policy, trade & tariffs"
