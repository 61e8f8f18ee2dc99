"""The state file: migrations, transactional writes, caches and the ledger, on real SQLite."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest.models import Entry, Summary
from digest.store import MIGRATIONS, Store, StoreError

NOW = datetime(2026, 11, 16, 6, tzinfo=UTC)


def entry(url: str, **kw: object) -> Entry:
    fields: dict[str, object] = {"url": url, "feed_url": "f", "source": "S", "title": "T"}
    return Entry(**(fields | kw))  # type: ignore[arg-type]


def test_new_file_is_migrated_to_the_latest_version(tmp_path: Path) -> None:
    with Store(tmp_path / "deep" / "state.sqlite") as store:
        assert store.schema_version == len(MIGRATIONS)
    with Store(tmp_path / "deep" / "state.sqlite") as store:  # reopening is a no-op
        assert store.schema_version == len(MIGRATIONS)


def test_a_newer_schema_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StoreError, match="upgrade digest"):
        Store(path)


def test_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot use the state file"):
        Store(path)


def test_feed_entries_round_trip_and_keep_first_seen(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        published = datetime(2026, 11, 12, 8, tzinfo=UTC)
        store.save_feed("f", ('"e1"', None), [entry("u1", published=published)], NOW)
        later = NOW + timedelta(days=1)
        store.save_feed("f", ('"e2"', "lm"), [entry("u1", title="New"), entry("u2")], later)
        assert store.validators("f") == ('"e2"', "lm")
        first, second = store.feed_entries("f")
        assert first.title == "New" and first.first_seen == NOW
        assert second.first_seen == later
        assert store.first_seen("f") == {"u1": NOW, "u2": later}
        assert store.prune_entries(NOW + timedelta(hours=1)) == 1


def test_caches_and_ledger(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        store.save_page("u", {"title": "x", "text": "y"}, NOW)
        assert store.page("u") == {"title": "x", "text": "y"} and store.page("v") is None
        summary = Summary("A. B.", "extractive", ("A.", "B."))
        store.save_summary("k", summary, NOW)
        assert store.summary("k") == summary
        store.mark("issue-1", "sending", "<m@x>", ["a@x"], ["u1"], NOW)
        assert store.ledger_status("issue-1") == "sending"
        assert store.sent_urls(except_digest="other") == set()
        store.mark("issue-1", "sent", "<m@x>", ["a@x"], ["u1"], NOW)
        assert store.sent_urls(except_digest="other") == {"u1"}
        assert store.sent_urls(except_digest="issue-1") == set()
        store.unmark("issue-1")
        assert store.ledger_status("issue-1") is None


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        bad = entry("u1", published=object())  # not storable: the transaction rolls back
        with pytest.raises(TypeError):
            store.save_feed("f", ('"e1"', None), [entry("u0"), bad], NOW)
        assert store.validators("f") == (None, None)
        assert store.feed_entries("f") == []


def test_results_are_read_and_written_many_at_once(tmp_path: Path) -> None:
    """More keys than one statement may carry, in one transaction; absent keys left out."""
    many = {f"k{n}": {"n": n, "text": f"value {n}"} for n in range(1200)}
    with Store(tmp_path / "s.sqlite") as store:
        store.save_results(many, NOW)
        store.save_results({}, NOW)  # nothing to write is no error
        found = store.results([*many, "absent", "k7"])
        assert found == many
        assert store.result("k1199") == {"n": 1199, "text": "value 1199"}
        store.save_results({"k7": [1, 2]}, NOW + timedelta(days=1))
        assert store.results(["k7", "k8"]) == {"k7": [1, 2], "k8": {"n": 8, "text": "value 8"}}


def test_only_the_ledger_waits_for_the_disk(tmp_path: Path) -> None:
    """Caches and feeds commit without waiting for the disk (lost to a power cut at worst);
    a ledger mark is on disk when it returns, with everything before it."""
    with Store(tmp_path / "s.sqlite") as store:
        statements: list[str] = []
        store._db.set_trace_callback(statements.append)
        store.save_result("k", {"a": 1}, NOW)
        assert "PRAGMA synchronous=FULL" not in statements
        store.mark("issue-1", "sending", "<m@x>", ["a@x"], ["u1"], NOW)
        durable = statements.index("PRAGMA synchronous=FULL")
        assert "INSERT OR REPLACE INTO ledger" in " ".join(statements[durable:])
        assert statements[-1] == "PRAGMA synchronous=NORMAL"
        store.unmark("issue-1")
        assert statements.count("PRAGMA synchronous=FULL") == 2
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL again
    with Store(tmp_path / "s.sqlite") as store:
        assert store.result("k") == {"a": 1} and store.ledger_status("issue-1") is None
