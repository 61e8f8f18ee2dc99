"""Story clustering: the API contract, hard negatives, syndicated copies, the demo's one
event told four times, the CLI rows, the pinned quality floors and the seed articles."""

from __future__ import annotations

import contextlib
import gc
import io
import json
import math
import time
import tomllib
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from bench.eval_cluster import (
    CLUSTERS,
    CUT_FIXTURE_FLOORS,
    FIXTURES,
    FLOORS,
    REAL_FLOORS,
    below_floor,
    demo_rows,
    evaluate,
    evaluate_real,
    load_set,
    plain_text_item,
    synthetic_rows,
    titles_cut_in_thirds,
    to_item,
)
from digest import cluster as clusterer
from digest import embed
from digest.cli import main
from digest.cluster import (
    EDGE_THRESHOLD,
    LINK_SINGLE,
    MAX_CANDIDATES,
    MAX_POSTING,
    NEIGHBOURS,
    OPEN_PRIOR,
    OPENING_CHARS,
    Item,
    _Batch,
    _candidates,
    _neighbours,
    _profile,
    _Scorer,
    cluster,
    embed_text,
    embed_texts,
    group,
    opening_text,
    similarity,
)
from digest.embed import DIM

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
DEMO = REPO / "digest" / "demo" / "corpus"
WHEN = datetime(2026, 11, 10, 12, tzinfo=UTC)


def groups_by_id(rows: list[dict[str, object]]) -> dict[str, frozenset[str]]:
    """Cluster labelled rows; each id maps to the ids of its group."""
    groups = cluster([to_item(row) for row in rows])
    ids = [str(row["id"]) for row in rows]
    return {ids[i]: frozenset(ids[j] for j in group) for group in groups for i in group}


def assert_partition(groups: list[list[int]], size: int) -> None:
    """Every index once, each group sorted, groups ordered by their first index."""
    assert sorted(i for group in groups for i in group) == list(range(size))
    assert all(group == sorted(group) and group for group in groups)
    assert [group[0] for group in groups] == sorted(group[0] for group in groups)


# --- contract --------------------------------------------------------------------------------


def test_partition_contract_on_a_mixed_batch() -> None:
    rows = load_set("events")
    groups = cluster([to_item(row) for row in rows])
    assert_partition(groups, len(rows))
    assert any(len(group) == 1 for group in groups)  # singletons are listed too
    assert any(len(group) > 1 for group in groups)


def test_empty_and_single() -> None:
    assert cluster([]) == []
    assert cluster([Item("a", "Only one", "Some text.")]) == [[0]]


def test_unrelated_items_stay_singletons() -> None:
    items = [
        Item("1", "Kanto recalls 212,000 Ridgeback pickups", "Brake lines corrode.", date=WHEN),
        Item("2", "Petrol prices fall for a fourth week", "Diesel fell too.", date=WHEN),
        Item("3", "Wayline robotaxis reach Denver", "Rides start in spring.", date=WHEN),
    ]
    assert cluster(items) == [[0], [1], [2]]


def test_deterministic_and_order_independent() -> None:
    rows = load_set("demo") + load_set("events")
    first = groups_by_id(rows)
    assert groups_by_id(rows) == first
    assert groups_by_id(list(reversed(rows))) == first


def test_odd_text_never_raises() -> None:
    huge = "Arden Motor Co. builds a $3.8 billion plant. " * 200_000  # ~9 MB
    items = [
        Item("empty", "", ""),
        Item("blank", "   ", "\n\n\t"),
        Item("cjk", "日産とフォックスコンが提携", "日産自動車は鴻海精密工業と協議している。" * 50),
        Item("emoji", "🚗🚗🚗", "⚡️ 100% électrique — Škoda Elroq, 2.5 \u00d7 10\u2076 \u20ac"),
        Item("digits", "2026 2027 2028", "1,000,000 3.14159 0.0 00000 9" * 100),
        Item("long number", "9" * 5000, "1" * 10_000 + "." + "2" * 10_000 + " bn"),
        Item("naive", "Naive date", "A date without a zone.", date=datetime(2026, 11, 10)),
        Item("huge", "Arden builds a plant", huge, source="Voltline", date=WHEN),
        Item("huge2", "Arden builds a plant", huge, source="Carwire", date=WHEN),
    ]
    started = time.perf_counter()
    groups = cluster(items)
    assert time.perf_counter() - started < 5.0  # the text is capped, not read whole
    assert_partition(groups, len(items))
    assert [7, 8] in groups
    for a in items:
        assert 0.0 <= similarity(a, items[0]) <= 1.0


def test_similarity_is_symmetric_and_bounded() -> None:
    rows = {str(row["id"]): to_item(row) for row in load_set("syndication")}
    original, copy = rows["luma-lidar-price-cut"], rows["luma-lidar-price-cut~retitled"]
    other = rows["cobalt-loop-nevada-recycling"]
    assert similarity(original, copy) == pytest.approx(similarity(copy, original))
    assert similarity(original, original) == pytest.approx(1.0)
    assert similarity(original, copy) > 0.5 > similarity(original, other)


def test_work_is_linear_in_the_batch() -> None:
    """Each item is scored against at most MAX_CANDIDATES partners, whatever the batch."""
    rows = synthetic_rows(4)
    profiles = [_profile(to_item(row)) for row in rows]
    pairs = _candidates(profiles, _Batch(profiles))
    assert len(pairs) <= len(rows) * MAX_CANDIDATES
    # The copies differ in every long word but mean the same, so the embeddings would
    # rightly call them one story: random directions keep this about the lexical work.
    vectors = np.random.default_rng(14).standard_normal((len(rows), DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    alike = np.full((len(rows), DIM), DIM**-0.5, dtype=np.float32)  # all one meaning
    assert len(rows) < len(_neighbours(alike)) <= len(rows) * NEIGHBOURS
    groups = cluster([to_item(row) for row in rows], vectors)
    assert max(len(group) for group in groups) <= 6  # copies never merge with each other


def test_a_story_copied_more_often_than_the_posting_cap_is_one_group() -> None:
    """Tokens shared by more than MAX_POSTING items are not used for blocking; the exact
    title and opening still chain every copy together."""
    rows = load_set("demo")
    story = next(row for row in rows if row["id"] == "voltline/cobalt-loop-nevada-recycling")
    copies = [
        Item(f"copy{n}", str(story["title"]), str(story["text"]), source=f"Outlet {n}", date=WHEN)
        for n in range(MAX_POSTING + 30)
    ]
    others = [to_item(row) for row in rows if row is not story]
    groups = cluster([*others, *copies])
    assert list(range(len(others), len(others) + len(copies))) in groups


# --- labelled behaviour ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "apart",
    [
        # one company, four events
        ("kanto-recall-axle", "kanto-results-axle", "kanto-ceo", "kanto-plant-tradelane"),
        # one topic at two companies on the same day
        ("halden-price-voltline", "marlowe-price"),
        ("veltrix-cfo", "lindqvist-cfo"),
        ("kanto-recall-axle", "sakurai-recall"),
        # one place, two battery plants
        ("solvane-tennessee", "arden-plant-wire"),
        # one plant, a strike and an idling eight days apart
        ("halden-strike", "halden-idle-wire"),
    ],
)
def test_hard_negatives_stay_apart(apart: tuple[str, ...]) -> None:
    groups = groups_by_id(load_set("events"))
    for a in apart:
        assert not groups[a] & (set(apart) - {a}), f"{a} merged with {groups[a]}"


def test_same_company_different_events_in_the_demo_stay_apart() -> None:
    groups = groups_by_id(load_set("demo"))
    arden = ["axle-ledger/arden-names-cfo", "sensorfield/arden-zonal-architecture-platform"]
    halden = ["axle-ledger/halden-ohio-plant-idling", "sensorfield/halden-ota-software-recall"]
    assert groups[arden[0]] == {arden[0]}
    assert groups[arden[1]] == {arden[1]}
    assert halden[1] not in groups[halden[0]]


def test_same_event_in_other_words_merges() -> None:
    groups = groups_by_id(load_set("events"))
    recall = {"kanto-recall-axle", "kanto-recall-sensor", "kanto-recall-motorway"}
    assert recall | {"kanto-recall-update"} <= groups["kanto-recall-axle"]  # and the update
    assert {"kanto-plant-tradelane", "kanto-plant-axle"} <= groups["kanto-plant-axle"]
    assert {"halden-price-voltline", "halden-price-motorway"} <= groups["halden-price-voltline"]


def _running_topic() -> dict[str, Item]:
    """Two stories of one running topic (a hearing on battery fires, then the recall six
    days later), each told by two outlets in a paragraph, and a third outlet's short lead
    on the hearing."""
    rows = [
        (
            "hearing-a",
            "Voltline",
            3,
            "Halden chief grilled by senators over Summit EV battery fires",
            "Halden Motors chief executive Clara Voss told a Senate commerce panel on "
            "Tuesday that the carmaker had traced the Summit EV battery fires to a cell "
            "supplier in Ostrava. Senators pressed Voss on why owners were not warned "
            "sooner. Voss said Halden would publish its findings within a month and "
            "apologised to the families of two drivers injured in the fires.",
        ),
        (
            "hearing-b",
            "Motorway Daily",
            3,
            "Senators press Halden's Voss on Summit EV fires at hearing",
            "Lawmakers questioned Halden chief executive Clara Voss for three hours on "
            "Tuesday about fires in Summit EV batteries. Voss blamed cells made at a "
            "supplier plant in Ostrava and promised a public report within a month. Several"
            " senators said Halden had been slow to tell owners about the risk.",
        ),
        (
            "hearing-c",
            "Ledgerline Markets",
            4,
            "Halden boss blames Ostrava cell supplier for EV fires",
            "Halden's Clara Voss told senators on Tuesday that faulty cells from a supplier"
            " in Ostrava caused the Summit EV battery fires, and said a report would follow"
            " within a month.",
        ),
        (
            "recall-a",
            "The Axle Ledger",
            9,
            "Halden recalls 48,000 Summit EVs to replace battery packs",
            "Halden Motors is recalling 48,000 Summit EV crossovers to replace battery "
            "packs that can overheat and catch fire, the carmaker said in a filing with "
            "safety regulators on Monday. Dealers will swap the packs for free starting in "
            "January. The recall follows a Senate hearing last week on fires in two Summit "
            "EVs.",
        ),
        (
            "recall-b",
            "Sensorfield",
            9,
            "Summit EV owners to get new batteries as Halden widens fire fix",
            "Owners of 48,000 Summit EVs will get new battery packs under a recall Halden "
            "filed on Monday. The company said the packs can overheat when charged in cold "
            "weather. Replacement starts in January at no cost to owners, Halden said, a "
            "week after senators questioned its handling of the fires.",
        ),
    ]
    return {
        key: Item(key, title, text, source, datetime(2026, 11, day, 12, tzinfo=UTC))
        for key, source, day, title, text in rows
    }


def test_two_stories_of_one_running_topic_stay_apart() -> None:
    """Each pair is one story; across them one pair scores as the same story and the average
    across the two groups (about 0.3) passed the old check (0.25) but not LINK_GROUPS."""
    items = _running_topic()
    four = [items[key] for key in ("hearing-a", "hearing-b", "recall-a", "recall-b")]
    grouping = group(four)
    assert grouping.groups == [[0, 1], [2, 3]]
    assert max(similarity(a, b) for a in four[:2] for b in four[2:]) >= EDGE_THRESHOLD


def test_a_third_outlet_joins_its_story_not_the_follow_up() -> None:
    items = list(_running_topic().values())
    assert cluster(items) == [[0, 1, 2], [3, 4]]


@pytest.mark.parametrize("name", sorted(CUT_FIXTURE_FLOORS))
def test_headline_only_entries_among_full_texts(name: str) -> None:
    """Every third item of a hand-written set cut to its title (its page failed), three ways
    (offset 0, 1, 2), pooled: each title still joins its story, and the pairs of one title
    and one text (MIXED weights) keep a company's other events apart. With the all-headline
    weights such pairs used before: events P 0.60 (29 right, 19 wrong), demo P 0.70, R 0.96;
    with HEADLINE's semantic weight 1.5 times today's (a tune-half fit without this gate):
    events P 0.81, demo 0.89."""
    result = titles_cut_in_thirds(name)
    floors = CUT_FIXTURE_FLOORS[name]
    assert result["precision"] >= floors[0] and result["recall"] >= floors[1], result


def test_each_join_names_the_average_it_had_to_reach() -> None:
    """Two single items need EDGE_THRESHOLD; a third outlet (a lead) joining a pair needs
    LINK_SINGLE; and every join reached what it needed."""
    grouping = group(list(_running_topic().values()))
    joined = {frozenset((join.a, join.b)): join for join in grouping.joins}
    assert all(join.linkage >= join.threshold for join in grouping.joins)
    pairs = [join for join in grouping.joins if join.threshold == EDGE_THRESHOLD]
    assert {frozenset((join.a, join.b)) for join in pairs} >= {frozenset((3, 4))}
    (third,) = [join for key, join in joined.items() if 2 in key and key <= {0, 1, 2}]
    assert third.threshold == LINK_SINGLE and third.linkage >= LINK_SINGLE


def test_syndication_variants_merge_and_nothing_else() -> None:
    rows = load_set("syndication")
    stories: defaultdict[str, set[str]] = defaultdict(set)
    for row in rows:
        stories[str(row["story"])].add(str(row["id"]))
    groups = groups_by_id(rows)
    for members in stories.values():
        for member in members:
            assert groups[member] == members


def test_demo_same_event_is_one_group_of_four() -> None:
    """Voltline, The Axle Ledger and Tradelane on the Arden-Hanseong plant, plus the
    AI-written Ledgerline piece days later: one story, and nothing else in it."""
    expect = tomllib.loads((DEMO / "expect.toml").read_text(encoding="utf-8"))["same_event"]
    stems = {Path(page).stem for page in [*expect["pages"], expect["ai_page"]]}
    rows = load_set("demo")
    ids = [str(row["id"]) for row in rows if "#" not in str(row["id"])]
    event = {i for i in ids if i.split("/", 1)[1] in stems}
    assert len(event) == 4
    groups = groups_by_id(rows)
    assert all(groups[member] == event for member in event)


def test_demo_fixture_matches_the_demo_corpus() -> None:
    """demo.jsonl is rebuilt by `python bench/eval_cluster.py --write-fixtures`."""
    fixture = [(row["id"], row["story"], row["title"]) for row in load_set("demo")]
    assert [(row["id"], row["story"], row["title"]) for row in demo_rows()] == fixture


def test_fixtures_stay_small() -> None:
    assert sum(path.stat().st_size for path in FIXTURES.glob("*.jsonl")) < 200_000


# --- CLI rows --------------------------------------------------------------------------------


def run_cli(tmp_path: Path, rows: list[object], *flags: str) -> tuple[int, dict[str, Any]]:
    """`digest cluster FILE --json [flags]` on `rows`: the exit code and the JSON line."""
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["cluster", str(path), "--json", *flags])
    return code, json.loads(out.getvalue())


CLI_ROWS: list[object] = [
    {"id": 7, "title": "Petrol prices fall for a fourth week", "text": "Diesel fell."},
    {
        "id": "a",
        "title": "Kanto recalls 212,000 Ridgeback pickups over corroding brake lines",
        "text": "Kanto Motors is recalling about 212,000 Ridgeback pickups because brake "
        "lines near the rear axle can corrode, it told regulators on Tuesday.",
        "source": "The Axle Ledger",
        "url": "https://example.test/a",
        "date": WHEN.isoformat(),
    },
    {
        "id": "b",
        "title": "Kanto recalls 212,000 Ridgeback trucks over corroding brake lines",
        "text": "Kanto Motors is recalling about 212,000 Ridgeback pickups because brake "
        "lines near the rear axle can corrode, it told regulators on Tuesday.",
        "source": "Carwire",
        "date": (WHEN + timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
    },
    {"id": "c", "title": "Wayline robotaxis reach Denver", "text": None, "date": None},
]


def test_cli_contract(tmp_path: Path) -> None:
    code, result = run_cli(tmp_path, CLI_ROWS)
    assert code == 0
    assert result["clusters"] == [["7"], ["a", "b"], ["c"]]
    assert "explain" not in result


def test_cli_explains_each_merge(tmp_path: Path) -> None:
    code, result = run_cli(tmp_path, CLI_ROWS, "--explain")
    assert code == 0
    (explained,) = result["explain"]  # only the cluster of two is explained
    assert explained["ids"] == ["a", "b"]
    (join,) = explained["joins"]
    assert join["pair"] == ["a", "b"]
    assert join["score"] > 0.9  # a copy with one word changed
    assert join["threshold"] == EDGE_THRESHOLD <= join["linkage"]  # two single items
    signals = join["signals"]
    assert signals["dup"] == 1.0 and signals["semantic"] > 0.8 and signals["numbers"] > 0


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"title": "No id"}, "line 2: missing or empty 'id'"),
        ({"id": "", "title": "Empty id"}, "line 2: missing or empty 'id'"),
        ({"id": True, "title": "Bool id"}, "line 2"),
        ({"id": "x9", "text": "No title"}, "line 2 (id 'x9'): missing 'title'"),
        ({"id": "x9", "title": 5}, "line 2 (id 'x9'): missing 'title'"),
        ({"id": "x9", "title": "T", "date": "last Tuesday"}, "line 2 (id 'x9'): bad 'date'"),
        ({"id": "x9", "title": "T", "text": ["a"]}, "line 2 (id 'x9'): 'text', 'source'"),
        ({"id": "ok", "title": "Duplicate"}, "line 2 (id 'ok'): duplicate id (line 1)"),
        ("not an object", "each line must be a JSON object"),
    ],
)
def test_cli_bad_row(tmp_path: Path, row: object, message: str) -> None:
    code, result = run_cli(tmp_path, [{"id": "ok", "title": "Fine"}, row])
    assert code == 1
    assert message in result["error"]


# --- quality ---------------------------------------------------------------------------------


def test_pinned_floors_on_the_fixtures() -> None:
    results = evaluate()
    assert set(results) == {"demo", "events", "syndication", "holdout", "pages", "overall"}
    misses = [miss for name, result in results.items() for miss in below_floor(name, result)]
    assert not misses
    assert all(name in FLOORS for name in results)


@pytest.mark.corpus
def test_held_out_floors_on_the_shared_sets() -> None:
    """The quality gate: the held-out half of the shared sets (events never tuned on), each
    in week-sized batches, meets REAL_FLOORS (pinned a little below what it scores).
    Vectors are cached in .cache/ (git-ignored): about 60 s cold, a few seconds warm."""
    if not (CORPUS / CLUSTERS).is_dir():
        pytest.skip("../shared/corpus is absent")
    real = evaluate_real(CORPUS, splits=("held",))
    assert set(real) == set(REAL_FLOORS)
    misses = [m for name, r in real.items() for m in below_floor(name, r["held"], REAL_FLOORS)]
    assert not misses


@pytest.mark.corpus
def test_seed_articles_cluster_together() -> None:
    """The FT column on Nissan and Foxconn and the AI-written piece on the same story."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is absent")
    (human,) = (CORPUS / "seeds").glob("000_*.txt")
    (ai,) = (CORPUS / "seeds").glob("003_*.txt")
    seeds = [plain_text_item(human), plain_text_item(ai)]
    assert cluster(seeds) == [[0, 1]]
    demo = [to_item(row) for row in load_set("demo")]
    groups = cluster([*demo, *seeds])
    assert [len(demo), len(demo) + 1] in groups  # together, and with nothing from the demo


# --- full texts: their openings ------------------------------------------------------------


def pages_items() -> list[Item]:
    """One van maker's three events as full texts: a brake recall told twice, a plant
    opening told twice, a steering recall (tests/fixtures/cluster/pages.jsonl)."""
    return [to_item(row) for row in load_set("pages")]


def test_only_full_texts_embed_their_opening() -> None:
    """A page read (120 words or more) embeds its title and opening as well; a lead, a
    feed's snippet or a headline embeds its title alone (about a tenth of the cost)."""
    pages = pages_items()
    lead = to_item(load_set("events")[0])
    headline = Item("h", "Oskarsson recalls Vesta vans", "")
    items = [*pages, lead, headline]
    texts = embed_texts(items)
    assert texts[: len(items)] == [embed_text(item) for item in items]
    openings = texts[len(items) :]
    assert openings[-2:] == ["", ""]
    for page, text in zip(pages, openings, strict=False):
        assert text.startswith(f"{page.title}. {page.text.split()[0]}")
        assert len(text) <= OPENING_CHARS
    assert opening_text(lead) == ""


def test_two_full_texts_are_compared_on_their_openings() -> None:
    """The brake recall told by two outlets agrees on its openings; the maker's other
    events do not. With the titles' vectors alone, there is no `opening` signal."""
    items = pages_items()
    scorer = _Scorer(items)
    assert scorer.signals(0, 1)["opening"] > 0.3  # the brake recall, two outlets
    assert scorer.signals(2, 3)["opening"] > 0.3  # the plant, two outlets
    assert scorer.signals(0, 4)["opening"] < 0.2  # two recalls: other events
    titles = embed.vectors([embed_text(item) for item in items])
    assert _Scorer(items, titles).signals(0, 1)["opening"] == 0.0
    assert cluster(items) == [[0, 1], [2, 3], [4]]


def test_the_opening_cosine_is_read_against_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """One trade's texts read alike to e5: read raw (every item's neighbourhood taken as
    the news at large), the maker's two recalls become one story."""
    items = pages_items()
    scorer = _Scorer(items)
    assert all(density > OPEN_PRIOR for density in scorer.density)
    assert scorer(0, 4) < EDGE_THRESHOLD
    monkeypatch.setattr(clusterer, "OPEN_SMOOTH", 10**9)  # every item's density: the prior
    raw = _Scorer(items)
    assert raw(0, 4) >= EDGE_THRESHOLD
    assert cluster(items) == [[0, 1, 4], [2, 3]]


@pytest.mark.parametrize("name", ["pages", "syndication", "demo"])
def test_openings_are_embedded_only_where_they_may_count(name: str) -> None:
    """A pair's opening only adds to its score: a full text whose pairs are over
    EDGE_THRESHOLD without it (a copy), or far under it, leaves its opening unembedded.
    The groups are those of every full text's opening embedded, at fewer openings."""
    items = [to_item(row) for row in load_set(name)]
    reading = clusterer.read(items)
    everything = embed.vectors(embed_texts(items))
    lazy = clusterer.embedded(items, reading)
    count = len(items)
    assert np.array_equal(lazy[:count], everything[:count])
    openings = {n for n in range(count) if lazy[count + n].any()}
    assert openings == set(clusterer.openings_wanted(items, lazy, reading))
    assert all(np.array_equal(lazy[count + n], everything[count + n]) for n in openings)
    full = {n for n in range(count) if everything[count + n].any()}
    assert openings <= full
    assert (openings == full) == (name == "pages")  # one maker's look-alike events: all
    assert cluster(items, lazy) == cluster(items, everything)


def test_the_final_grouping_caches_the_openings_it_embeds(tmp_path: Path) -> None:
    """The pages read are grouped again with their openings embedded (`openings`), each
    cached by its text, so grouping them again embeds nothing; the first pass (titles
    only) embeds no opening."""
    from digest import pipeline
    from digest.models import Article
    from digest.store import Store

    articles = [
        Article(item.id, item.source, "", item.title, item.text, "page", date=item.date)
        for item in [replace(i, id=f"https://{n}.test/a") for n, i in enumerate(pages_items())]
    ]
    keys = [embed.key(opening_text(pipeline._item(a))) for a in articles]
    with Store(tmp_path / "state.sqlite") as store:
        pipeline._clustered(store, articles, WHEN)
        assert store.results(keys) == {}
        groups = pipeline._clustered(store, articles, WHEN, openings=True)
        assert set(store.results(keys)) == set(keys)
        assert groups == [[0, 1], [2, 3], [4]]
    embed._MEMO.vectors.clear()
    vectors = "SELECT count(*) FROM results WHERE key LIKE 'embed:%'"
    moved = [*articles[:4], replace(articles[4], source="Other Desk")]  # not grouped yet
    with Store(tmp_path / "state.sqlite") as store:
        before = store._db.execute(vectors).fetchone()
        again = pipeline._clustered(store, moved, WHEN, openings=True)
        assert again == [[0, 1], [2, 3], [4]]
        assert store._db.execute(vectors).fetchone() == before  # nothing embedded


# --- the lead of a story ---------------------------------------------------------------------


def test_a_developing_story_is_led_by_its_newest_development() -> None:
    """Coverage spread over the week: the lead is a report from its last day (the heavier
    outlet among those); a one-day story keeps the heavier outlet, then the first report."""
    from digest.models import Article
    from digest.rank import canonical

    def article(name: str, day: int, weight: float = 1.0) -> Article:
        text = "Kanto Motors widens the Ridgeback brake recall. " * 30
        when = WHEN + timedelta(days=day)
        return Article(
            f"https://{name}.test/a", name, "", name, text, "page", date=when, weight=weight
        )

    week = [article("monday", 0, 2.0), article("wednesday", 2), article("friday", 4)]
    assert canonical(week)[0].source == "friday"
    late = [*week, article("friday-heavy", 4, 1.5)]
    assert canonical(late)[0].source == "friday-heavy"
    one_day = [article("first", 0), article("heavier", 0, 2.0), article("later", 1)]
    assert canonical(one_day)[0].source == "heavier"


def test_two_full_texts_use_the_texts_weights_and_a_product_weighs_an_interaction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`_weights` picks TEXTS only for two full texts; a weight named "x*y" multiplies the
    product of the two features (the form bench/fit_cluster.py --kfold lr fits)."""
    monkeypatch.setattr(clusterer, "TEXTS", clusterer.FULL | {"bias": -9.0})
    body = " ".join(f"word{n}" for n in range(200))
    full = _profile(Item("a", "Kanto recalls vans", body))
    lead = _profile(Item("b", "Kanto recalls vans", " ".join(body.split()[:60])))
    assert clusterer._weights(full, full)["bias"] == -9.0
    assert clusterer._weights(full, lead) is clusterer.FULL
    weights = {"bias": -1.0, "lead": 2.0, "lead*names": 4.0}
    assert clusterer._logit(weights, {"lead": 0.5, "names": 0.25}) == -1.0 + 1.0 + 0.5


def test_the_logit_is_the_float_the_product_form_gave() -> None:
    """`_logit` reads a plain feature without math.prod: the same sum, in the same order,
    so the same float to the last bit (a pair on a threshold stays on its side)."""
    rng = np.random.default_rng(7)
    names = {
        part
        for w in (clusterer.FULL, clusterer.MIXED, clusterer.HEADLINE)
        for n in w
        for part in n.split("*")
    }
    weights_sets = [
        clusterer.FULL,
        clusterer.MIXED,
        clusterer.HEADLINE,
        {"bias": -1.0, "lead": 2.0, "lead*names": 4.0},
    ]
    for weights in weights_sets:
        for _ in range(300):
            values = {name: float(rng.random()) for name in names}
            product_form = weights["bias"] + sum(
                w * math.prod(values[part] for part in name.split("*"))
                for name, w in weights.items()
                if name != "bias"
            )
            assert clusterer._logit(weights, values) == product_form


def test_a_reading_grouped_again_groups_as_a_fresh_reading() -> None:
    """The outlets' stripped weighings that a grouping makes stay with its reading, and a
    later grouping of the same items with other vectors groups as one from scratch."""
    items = [to_item(row) for row in load_set("demo")]
    reading = clusterer.read(items)
    vectors = clusterer.embedded(items, reading)
    first = cluster(items, vectors, reading)
    assert reading.stripped  # the demo's outlets have furniture: kept for the next grouping
    words_alone = np.zeros_like(vectors)
    assert cluster(items, words_alone, reading) == cluster(items, words_alone)
    assert first == cluster(items, vectors) and any(len(group) > 1 for group in first)


def test_the_word_signals_kept_for_the_next_grouping_are_those_read_afresh() -> None:
    """A grouping keeps its candidate pairs' word signals in the reading; a later grouping
    with other vectors reads them back: every pair's signals are those a fresh reading
    gives, to the last bit, in either order of the pair (whose sums run in another order:
    only (i, j) with i < j is kept)."""
    items = [to_item(row) for row in load_set("demo")]
    reading = clusterer.read(items)
    vectors = clusterer.embedded(items, reading)
    group(items, vectors, reading)
    assert sum(reading.words.known) == len(reading.pairs) > 100
    rows = vectors.copy()
    rows[::2] = 0.0  # half the items not embedded this time
    kept, fresh = _Scorer(items, rows, reading), _Scorer(items, rows)
    for i, j in reading.pairs:
        assert reading.words.slot(j, i) == -1
        for a, b in ((i, j), (j, i)):
            assert kept.signals(a, b) == fresh.signals(a, b)
            assert kept(a, b) == fresh(a, b)


def test_reading_and_grouping_leave_the_collector_as_they_found_it() -> None:
    """The cyclic garbage collector is paused while a batch is read and grouped, and runs
    again after (a caller that had paused it finds it paused)."""
    items = [to_item(row) for row in load_set("events")]
    assert gc.isenabled()
    seen: list[bool] = []
    real = clusterer._profile

    def profile(item: Item) -> Any:
        seen.append(gc.isenabled())
        return real(item)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clusterer, "_profile", profile)
        grouped = cluster(items)
    assert seen and not any(seen) and gc.isenabled()
    gc.disable()
    try:
        assert cluster(items) == grouped and not gc.isenabled()
    finally:
        gc.enable()


# --- speed: the same readings, faster ------------------------------------------------------


FIGURE_LINES = [
    "Halden said on Monday it would spend US$ 3.8 trillion won over five years. Nothing else.",
    "The pack stores 75 kilometres per hour of nothing; the van tops out at 120 kilometers "
    "per hour and 300-mile range, up 5.2 per cent or 40 basis points from the 1990s.",
    "Sales fell 1,234.5 percentage points. Prices rose 51 pct at the USD 7bn plant, 3.25 "
    "trillion yen, HK$ 12 million, 7.2bn euros. The F-150 and ID.4 are words, 3.5s is not.",
    "A long opening sentence without any figure at all goes on and on for a while here, "
    "and then  the van ran 1.5 trillion won. 3. 4, 5.6.7 and 1,2,3 and 10 000 and 2,1 .5",
    "€ 9.99 | £120m | ¥500bn | ₹ 12,000 crore | C$ 3bn | 12 kWh - 30 GWh - 500-hp - 250 Nm",
]


def figure_texts() -> list[str]:
    """Crafted lines, each cut at every length and every start, and the fixtures' lines."""
    lines = [line[:k] for line in FIGURE_LINES for k in range(len(line) + 1)]
    lines += [line[k:] for line in FIGURE_LINES for k in range(len(line) + 1)]
    for name in ("demo", "events", "pages"):
        for row in load_set(name):
            item = to_item(row)
            lines += f"{item.title}\n{item.text}".split("\n")
    return lines


def test_figures_read_near_the_digits_are_those_of_the_whole_line() -> None:
    """`_line_numbers` reads only the spans near a digit: the same figures as the whole
    line read at once."""
    lines = figure_texts()
    found = [clusterer._line_numbers(line) for line in lines]
    assert found == [clusterer._piece_numbers(line) for line in lines]
    assert {"3.8e+12", "5.2%", "1234.5pp", "1.5e+12", "51%"} <= set().union(*found)
    spans = clusterer._near_digits(FIGURE_LINES[3])
    assert spans == [(97, len(FIGURE_LINES[3]))]  # the opening sentence is never read


def test_nearest_by_embedding_are_those_picked_row_by_row() -> None:
    """`_neighbours` picks every row's NEIGHBOURS nearest at once: the pairs one row at a
    time picks, ties among equal cosines too (the widest grouping's rows are all one)."""
    rng = np.random.default_rng(11)
    spread = rng.normal(size=(700, 16)).astype(np.float32)
    spread[:, 0] += 4.0
    spread /= np.linalg.norm(spread, axis=1)[:, None]
    alike = np.zeros((600, 16), dtype=np.float32)
    alike[:, 0] = 1.0
    for vectors in (spread, alike, spread[:12], alike[:3], spread[:1]):
        expected = set()
        k = min(clusterer.NEIGHBOURS, len(vectors) - 1)
        for row, scores in enumerate(vectors @ vectors.T):
            scores[row] = -1.0
            for other in np.argpartition(-scores, k - 1)[:k] if k > 0 else []:
                if scores[other] > clusterer.SEM_LOW:
                    expected.add((min(row, int(other)), max(row, int(other))))
        assert clusterer._neighbours(vectors) == expected
    assert len(clusterer._neighbours(alike)) > 3000


def scored_batches() -> list[tuple[list[Item], embed.Vectors | None]]:
    """Batches to score: the fixtures with their vectors (the pages' openings too), half of
    the rows empty, the widest grouping's one vector for all, dates in a zone with summer
    time or none, and the words alone."""
    demo = [to_item(row) for row in load_set("demo")]
    pages = [to_item(row) for row in load_set("pages")]
    mixed = [*demo, *pages, *[to_item(row) for row in load_set("events")]]
    vectors = clusterer.embedded(mixed, clusterer.read(mixed))
    count = len(mixed)
    half = vectors.copy()
    half[:count:2] = 0.0
    widest = np.zeros((count, DIM), dtype=np.float32)
    widest[:, 0] = 1.0
    zone = ZoneInfo("Europe/Berlin")
    zoned = [
        replace(item, date=item.date.astimezone(zone) if n % 3 else None)
        for n, item in enumerate(mixed)
        if item.date
    ]
    naive = [
        replace(item, date=datetime(2026, 3, 1 + n % 20, n % 24)) for n, item in enumerate(mixed)
    ]
    return [
        (mixed, vectors),
        (mixed, half),
        (mixed, vectors[:count]),
        (mixed, widest),
        (zoned, vectors[: len(zoned)]),
        (naive, widest),
        (mixed, np.zeros_like(vectors)),
    ]


def test_the_edges_scored_over_arrays_are_those_of_each_pair() -> None:
    """`_Scorer.edges` scores every pair at once: each edge's score the float the pair alone
    gives (the same operations in the same order), every pair over EDGE_THRESHOLD found,
    every score kept that alone, the word signals kept as a pair would keep them; pairs
    that could not reach EDGE_THRESHOLD whatever their titles' cosine are left unscored."""
    left = 0
    for items, vectors in scored_batches():
        reading = clusterer.read(items)
        pairs = [(i, j) for i in range(len(items)) for j in range(i + 1, len(items))]
        alone = _Scorer(items, vectors, clusterer.read(items))
        expected = [(score, i, j) for i, j in pairs if (score := alone(i, j)) >= EDGE_THRESHOLD]
        scorer = _Scorer(items, vectors, reading)
        assert scorer.edges(pairs) == expected and expected
        assert all(score == alone.cache[pair] for pair, score in scorer.cache.items())
        assert scorer.edges(pairs[::-1]) == expected[::-1]  # the words now read back
        assert sum(reading.words.known) == len(reading.pairs)
        left += len(pairs) - len(scorer.cache)
    assert left > 1000
