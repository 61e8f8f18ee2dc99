"""CPU work in worker processes, and the caches that let a re-run skip it."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from digest import cluster, pipeline
from digest.config import Performance, parse_config
from digest.demo import DemoServer, demo_raw, demo_until
from digest.detect import style
from digest.models import Entry
from digest.pageread import _compiled
from digest.pipeline import RunOptions, RunResult, run
from digest.store import Store
from digest.workers import (
    _PRELOAD,
    PAGES_PRELOAD,
    Aside,
    WorkerCrashed,
    Workers,
    aside,
    kept,
    map_cpu,
    ready,
    rest,
)
from tests.servers import HTTPServer, Reply, rss

POOL = Performance(workers=2, min_pool_jobs=1)


def pid_of(_: object) -> int:
    return os.getpid()


def die(_: object) -> int:
    os._exit(3)  # a worker killed outright, as a segfault in lxml would


def test_map_cpu_uses_worker_processes_only_when_there_is_enough_work() -> None:
    assert set(map_cpu(pid_of, list(range(4)), Performance(min_pool_jobs=100))) == {os.getpid()}
    pids = set(map_cpu(pid_of, list(range(8)), POOL))
    assert os.getpid() not in pids


def test_workers_start_processes_only_when_work_queues_up() -> None:
    async def go(settings: Performance, jobs: int) -> set[int]:
        async with Workers(settings, jobs) as workers:
            return set(await asyncio.gather(*(workers.run(pid_of, i) for i in range(jobs))))

    assert asyncio.run(go(Performance(min_pool_jobs=100), 6)) == {os.getpid()}
    assert asyncio.run(go(POOL, 1)) == {os.getpid()}  # one job: no pool for it
    assert asyncio.run(go(POOL, 8)) - {os.getpid()}  # queued work went to processes


def rules_at_hand(_: object) -> tuple[int, int]:
    """This process, and how many rule sets it had compiled before this job."""
    return os.getpid(), _compiled.cache_info().currsize


def test_page_workers_start_with_the_rules_compiled_feed_workers_without() -> None:
    async def go(preload: list[str]) -> list[int]:
        async with Workers(POOL, 8, preload) as workers:
            done = await asyncio.gather(*(workers.run(rules_at_hand, i) for i in range(8)))
        return [count for pid, count in done if pid != os.getpid()]

    rest()  # a fork server started for the feeds' parsing: no rules in it
    seen = asyncio.run(go(_PRELOAD))
    assert seen and max(seen) == 0
    rest()  # stopped while the week is grouped, started again before the pages
    ready()
    seen = asyncio.run(go(PAGES_PRELOAD))
    assert seen and min(seen) >= 1  # compiled in the fork server, not by the worker
    rest()


def test_a_job_that_kills_its_worker_fails_alone() -> None:
    async def go() -> tuple[list[Any], int]:
        async with Workers(POOL, 6) as workers:
            jobs = [workers.run(pid_of, 0), workers.run(pid_of, 1), workers.run(die, 2)]
            done = await asyncio.gather(*jobs, return_exceptions=True)
            after = await workers.run(pid_of, 3)  # the pool was restarted
            return [*done, after], workers.restarts

    results, restarts = asyncio.run(go())
    assert isinstance(results[2], WorkerCrashed)
    assert str(results[2]) == "the extraction worker crashed on it twice"
    assert all(isinstance(r, int) for i, r in enumerate(results) if i != 2)
    assert restarts >= 1


def test_an_aside_job_runs_in_a_new_process_and_a_crash_is_named() -> None:
    assert aside(Performance(min_pool_jobs=100), 99) is None  # small: done here
    assert aside(Performance(workers=1, min_pool_jobs=1), 99) is None  # workers off
    with Aside() as other:
        job = other.submit(pid_of, "x")
        crash = other.submit(die, "x")
        assert job.result() not in (os.getpid(), 0)
        with pytest.raises(WorkerCrashed, match="ended with 3"):
            crash.result()


def test_an_aside_process_has_ended_when_its_block_ends() -> None:
    """Its last job done (the result read), the process is ended with the `with` block,
    whatever it still does (giving the job's memory back), and its files are closed."""
    with Aside() as other:
        first = other.submit(count_in, kept("end", Tally()), 1).result()
        server = other._server
    assert server is not None and first[1] == [1]
    assert server.process.returncode is not None  # reaped: not running any more
    assert server.process.stdout is not None and server.process.stdout.closed
    assert server.errors.closed


def test_clustering_aside_or_here_gives_the_groups_and_vectors_of_clustering_here(
    tmp_path: Path,
) -> None:
    """The clustering job in a process of its own (embedding, then clustering) groups
    the same and caches the same vectors, openings included; so do many items grouped in
    this process (`here`, as the candidates regrouped on their pages are), and the model
    is freed after them, as that process's memory would be."""
    from digest import embed

    digest = demo_run(tmp_path / "d").digest
    assert digest is not None
    articles = [a for s in digest.stories for a in (s.article, *s.others)]
    now = datetime(2026, 11, 16, tzinfo=UTC)
    vectors = "SELECT key, data FROM results WHERE key LIKE 'embed:%' ORDER BY key"
    with (
        Store(tmp_path / "alone.sqlite") as alone_state,
        Store(tmp_path / "apart.sqlite") as apart_state,
        Store(tmp_path / "here.sqlite") as here_state,
    ):
        one = Performance(workers=1)
        alone = pipeline._clustered(alone_state, articles, now, one, openings=True)
        apart = pipeline._clustered(apart_state, articles, now, POOL, openings=True)
        here = pipeline._clustered(here_state, articles, now, POOL, openings=True, here=True)
        assert embed._model.cache_info().currsize == 0
        assert alone == apart == here and any(len(group) > 1 for group in alone)
        cached = [s._db.execute(vectors).fetchall() for s in (alone_state, apart_state, here_state)]
        assert cached[0] == cached[1] == cached[2] and len(cached[0]) > 10


def demo_run(tmp_path: Path, server: DemoServer | None = None, **performance: Any) -> RunResult:
    if server is None:
        with DemoServer() as own:
            return demo_run(tmp_path, own, **performance)
    raw = demo_raw(server.base, server.host_port, tmp_path)
    raw["archive"] = {"enabled": False}
    raw["performance"] = performance
    config = parse_config(raw, tmp_path / "digest.toml")
    return run(config, RunOptions(until=demo_until(), now=lambda: demo_until()))


def test_worker_processes_make_the_same_digest(tmp_path: Path) -> None:
    alone = demo_run(tmp_path / "thread")
    pooled = demo_run(tmp_path / "pool", workers=2, min_pool_jobs=1)
    base = str(alone.out_dir.parent)
    text = (alone.out_dir / "digest.txt").read_text()
    other = (pooled.out_dir / "digest.txt").read_text()
    port = text.split("127.0.0.1:")[1].split("/")[0]
    other_port = other.split("127.0.0.1:")[1].split("/")[0]
    assert text == other.replace(other_port, port)
    assert base  # the runs had separate state


def test_a_rerun_neither_clusters_nor_scores_style_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> object:
        raise AssertionError("recomputed on a re-run")

    with DemoServer() as server:  # the same URLs both times, as a real week's feeds
        first = demo_run(tmp_path, server)
        monkeypatch.setattr(cluster, "cluster", refuse)
        monkeypatch.setattr(style, "_feature_values", refuse)
        second = demo_run(tmp_path, server)
    assert first.digest is not None and second.digest is not None
    assert [s.article.url for s in first.digest.stories] == [
        s.article.url for s in second.digest.stories
    ]


def test_a_changed_article_is_clustered_again(tmp_path: Path) -> None:
    digest = demo_run(tmp_path / "d").digest
    assert digest is not None
    picks = [s.article for s in digest.stories]
    with Store(tmp_path / "state.sqlite") as store:
        now = datetime(2026, 11, 16, tzinfo=UTC)
        groups = pipeline._clustered(store, picks, now)
        assert sorted(n for g in groups for n in g) == list(range(len(picks)))
        assert pipeline._clustered(store, list(reversed(picks)), now)  # order-free key
        count = "SELECT count(*) FROM results WHERE key LIKE 'cluster:%'"  # not the vectors
        keys = store._db.execute(count).fetchone()[0]
        changed = [replace(picks[0], text="Other."), *picks[1:]]
        pipeline._clustered(store, changed, now)
        assert store._db.execute(count).fetchone()[0] == keys + 1


def test_a_304_replays_the_entry_the_parse_kept(tmp_path: Path, http_server: HTTPServer) -> None:
    """Two items with one link: the first is kept, on the first run and on the 304 run."""
    now = datetime(2026, 11, 16, 12, tzinfo=UTC)
    from email.utils import format_datetime

    items = [("First title", now - timedelta(days=1)), ("Second title", now)]
    body = rss(
        [
            {"title": t, "link": http_server.url("/a"), "pubDate": format_datetime(d)}
            for t, d in items
        ]
    )
    feed = http_server.route("/feed.xml", Reply(body=body, headers={"ETag": '"v1"'}))
    from digest.feeds import collect
    from digest.http import Fetcher
    from digest.models import Feed, Window
    from tests.conftest import make_config

    config = make_config(tmp_path, [http_server.host_port])

    async def once(store: Store) -> list[Entry]:
        async with Fetcher(config.network) as fetcher:
            window = Window(now - timedelta(days=7), now)
            found = await collect([Feed(feed, "Test")], fetcher, store, window, now, set())
            return list(found.entries)

    with Store(tmp_path / "s.sqlite") as store:
        cold = asyncio.run(once(store))
        warm = asyncio.run(once(store))
    assert [e.title for e in cold] == ["First title"]
    assert [e.title for e in warm] == ["First title"]
    assert http_server.hits("/feed.xml") == 2  # the second was a 304


def test_embedding_batches_side_by_side_gives_the_same_vectors() -> None:
    from digest import embed

    texts = [f"Carmaker {n} recalls {n * 7} vans over a faulty brake line" for n in range(70)]
    embed._MEMO.vectors.clear()
    apart = embed.embed(texts, threads=2)  # five batches (BATCH is 16), side by side
    embed._MEMO.vectors.clear()
    alone = embed.embed(texts)
    assert (apart == alone).all() and apart.shape == (70, embed.DIM)
    assert len({row.tobytes() for row in apart}) == 70  # each text its own vector


class Tally:
    """A value a job changes in the process that runs it."""

    def __init__(self) -> None:
        self.seen: list[int] = []


def count_in(tally: Tally, n: int) -> tuple[int, list[int]]:
    tally.seen.append(n)
    return os.getpid(), list(tally.seen)


class Pickled(Tally):
    """A Tally that counts, in the process that sends it, how often it was pickled."""

    sent = 0

    def __getstate__(self) -> dict[str, Any]:
        Pickled.sent += 1
        return self.__dict__


def test_a_kept_value_is_sent_once_to_a_process_and_again_to_a_new_one() -> None:
    """Once a process holds a `kept` value, later jobs send its key alone (the value is
    not pickled again); a new process (after a crash) gets it whole again."""
    shared = Pickled()
    Pickled.sent = 0
    with Aside() as other:
        first = other.submit(count_in, kept("p", shared), 1).result()
        second = other.submit(count_in, kept("p", shared), 2).result()
        assert Pickled.sent == 1 and second[1] == [1, 2]
        with pytest.raises(WorkerCrashed):
            other.submit(die, "x").result()
        after = other.submit(count_in, kept("p", shared), 3).result()
    assert Pickled.sent == 2 and after[1] == [3] and after[0] != first[0]


def test_an_aside_runs_its_jobs_in_one_process_and_kept_values_stay_there() -> None:
    """Jobs of one Aside run one after the other in one process; a value sent with
    `kept` is the first job's copy for every later job of that key (with what the first
    did to it), while a value sent plainly arrives fresh each time."""
    shared = Tally()
    with Aside() as other:
        first = other.submit(count_in, kept("k", shared), 1).result()
        second = other.submit(count_in, kept("k", shared), 2).result()
        plain = other.submit(count_in, shared, 3).result()
        crash = other.submit(die, "x")
        with pytest.raises(WorkerCrashed, match="ended with 3"):
            crash.result()
        after = other.submit(count_in, kept("k", shared), 4).result()
    assert first[0] == second[0] == plain[0] not in (os.getpid(), 0)
    assert (first[1], second[1], plain[1]) == ([1], [1, 2], [3])
    assert shared.seen == []  # nothing came back into this process's copy
    assert after[0] != first[0] and after[1] == [4]  # a new process: nothing kept there


def imported(_: object) -> tuple[int, bool]:
    import sys

    return os.getpid(), "trafilatura" in sys.modules


def test_page_workers_start_with_the_extraction_code_loaded_and_take_every_page() -> None:
    """The page workers' fork server read a page before forking them (`pageread.warm`):
    trafilatura is loaded before a worker's first page. With `eager` every job goes to
    the workers, the first one too: this process never loads what they load."""

    async def go() -> list[tuple[int, bool]]:
        async with Workers(POOL, 4, PAGES_PRELOAD, eager=True) as workers:
            return list(await asyncio.gather(*(workers.run(imported, i) for i in range(4))))

    rest()
    ready()
    done = asyncio.run(go())
    rest()
    assert all(pid != os.getpid() and loaded for pid, loaded in done)


def test_page_workers_are_kept_from_one_round_to_the_next_and_rest_when_asked() -> None:
    """The rounds of a run's page reading share one pool (its processes start once),
    each round in an event loop of its own; `rest` ends them and the next round starts
    new ones; a job that kills a worker fails alone and the next round has workers."""
    from digest.pages import PageWorkers

    async def round_of(workers: Workers, jobs: int) -> set[int]:
        return set(await asyncio.gather(*(workers.run(pid_of, i) for i in range(jobs))))

    rest()
    ready()
    with PageWorkers(POOL) as kept:
        first = kept.for_round(8, eager=True)
        seen = asyncio.run(round_of(first, 8))
        started = first.pids
        again = kept.for_round(3, eager=True)
        seen_again = asyncio.run(round_of(again, 6))
        assert again is first and again.pids == started  # no process started again
        assert os.getpid() not in seen | seen_again and seen_again <= started
        kept.rest()
        assert first.pids == frozenset()
        fresh = kept.for_round(4, eager=True)
        crash = asyncio.run(_with_crash(fresh))
        after = asyncio.run(round_of(kept.for_round(4, eager=True), 4))
    assert fresh is not first and isinstance(crash, WorkerCrashed)
    assert after and not after & started and os.getpid() not in after
    rest()


async def _with_crash(workers: Workers) -> BaseException | int:
    done = await asyncio.gather(workers.run(die, 0), return_exceptions=True)
    return done[0]


def test_a_worker_waiting_for_the_fork_server_never_blocks_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first job starts a worker, which waits for the fork server's preload (here
    half a second): meanwhile the event loop goes on (a run's fetches keep flowing)."""
    started, done = tmp_path / "started", tmp_path / "done"
    monkeypatch.setenv("DIGEST_TEST_PRELOAD_MARKS", f"{started}{os.pathsep}{done}")
    seen: list[tuple[bool, bool]] = []

    async def go() -> int:
        async with Workers(POOL, 4, ["tests.slow_preload"], eager=True) as workers:
            job = asyncio.ensure_future(workers.run(pid_of, 0))
            while not job.done():
                seen.append((started.exists(), done.exists()))
                await asyncio.sleep(0.01)
            return await job

    rest()  # the next pool starts the fork server, with the slow preload
    assert asyncio.run(go()) != os.getpid()
    rest()
    assert (True, False) in seen  # the loop ran while the fork server was preloading


def test_a_rounds_workers_map_between_rounds_over_their_processes_else_here() -> None:
    """`Workers.map` gives `[fn(x) for x in items]`: over the round's processes while
    they run (none started for it), here when none run (a round in one thread, or
    rested), and here again after a job broke the pool (a new pool for the next round)."""
    from digest.pages import PageWorkers

    texts = ["A short text. It has two sentences.", "Another one, longer: " + "word " * 40]
    expected = [style.feature_values(t) for t in texts]
    rest()
    ready()
    with PageWorkers(POOL) as kept:
        idle = kept.for_round(4, eager=True)
        assert idle.map(pid_of, [1, 2, 3]) == [os.getpid()] * 3  # not started: here
        asyncio.run(_round(idle, 8))  # both processes started (a round of many pages)
        started = idle.pids
        assert started and idle.map(style.feature_values, texts) == expected
        assert set(idle.map(pid_of, list(range(8)))) <= started and idle.pids == started
        here = os.getpid()
        assert idle.map(die_unless_in, [here, here]) == [here, here]  # broke: done here
        assert idle.restarts == 1 and not idle.pids & started
    rest()


async def _round(workers: Workers, jobs: int) -> list[int]:
    return list(await asyncio.gather(*(workers.run(pid_of, i) for i in range(jobs))))


def die_unless_in(pid: int) -> int:
    if os.getpid() != pid:
        os._exit(3)
    return pid


def test_an_aside_discarded_ends_its_process_whatever_it_runs() -> None:
    """`discard` ends the process at once, even in the middle of its preload, drops the
    jobs not run yet, and raises nothing; discarding again does nothing."""
    other = Aside()
    other.preload("digest.cluster", "digest.embed")
    server = other._server
    waiting = other.submit(pid_of, "x")
    other.discard()
    assert server is not None and server.process.returncode is not None
    assert waiting.cancelled() or isinstance(waiting.exception(), WorkerCrashed)
    other.discard()
    assert other._server is None
