"""The state file: one SQLite database, the only module that knows SQL.

It holds the HTTP validators of each feed, the entries seen (so a feed answering
304 Not Modified still contributes the week's entries without being parsed), the
extracted pages and summaries (so a re-run fetches and computes nothing twice), and
the ledger of digests sent (so an issue is never sent twice by accident).

Every write is one transaction; the schema is versioned with `PRAGMA user_version`
and migrated forward in order.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from digest.models import Entry, Summary, to_jsonable

_KEYS_PER_QUERY = 500  # under SQLite's limit on the parameters of one statement

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE validators (
        url TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        checked_at TEXT NOT NULL
    );
    CREATE TABLE entries (
        feed_url TEXT NOT NULL,
        url TEXT NOT NULL,
        data TEXT NOT NULL,
        published TEXT,
        first_seen TEXT NOT NULL,
        PRIMARY KEY (feed_url, url)
    );
    CREATE INDEX entries_first_seen ON entries (first_seen);
    CREATE TABLE pages (
        url TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        fetched_at TEXT NOT NULL
    );
    CREATE TABLE summaries (
        key TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE ledger (
        digest_id TEXT PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('sending', 'sent')),
        message_id TEXT NOT NULL,
        recipients TEXT NOT NULL,
        urls TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
    # 2: AI-source history; cached pages now carry their disclosure evidence
    """
    DELETE FROM pages;
    CREATE TABLE ai_history (
        host TEXT NOT NULL,
        digest_id TEXT NOT NULL,
        disclosed INTEGER NOT NULL,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (host, digest_id)
    );
    """,
    # 3: results of whole stages (clustering), keyed by a hash of their input
    """
    CREATE TABLE results (
        key TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        saved_at TEXT NOT NULL
    );
    """,
)

LedgerStatus = Literal["sending", "sent"]


class StoreError(Exception):
    """The state file cannot be opened or is from a newer version of digest."""


class Store:
    """A handle on the state file. Use as a context manager, or call `close()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            # A commit waits for the disk only where it must (`_transaction(durable=True)`:
            # the ledger); the rest (feeds' validators, caches) may be lost to a power cut,
            # never corrupted, and a run writes ~150 of them (4 ms each on a plain disk).
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{path}: cannot use the state file ({exc})") from None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.schema_version
        if current > len(MIGRATIONS):
            raise StoreError(
                f"{self.path} has schema version {current}, newer than this digest "
                f"understands ({len(MIGRATIONS)}); upgrade digest or use another --state file"
            )
        for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
            with self._transaction():
                for statement in script.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {version}")
        with self._transaction():  # fail now, not mid-run, when the file is read-only
            self._db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")

    @contextmanager
    def _transaction(self, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction; `durable`: on disk when it returns (and every one before it)."""
        if durable:
            self._db.execute("PRAGMA synchronous=FULL")
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        finally:
            if durable:
                self._db.execute("PRAGMA synchronous=NORMAL")

    # HTTP validators and entries of feeds

    def validators(self, url: str) -> tuple[str | None, str | None]:
        row = self._db.execute(
            "SELECT etag, last_modified FROM validators WHERE url = ?", (url,)
        ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def first_seen(self, feed_url: str) -> dict[str, datetime]:
        rows = self._db.execute(
            "SELECT url, first_seen FROM entries WHERE feed_url = ?", (feed_url,)
        )
        return {url: datetime.fromisoformat(seen) for url, seen in rows}

    def save_feed(
        self,
        feed_url: str,
        validators: tuple[str | None, str | None],
        entries: Iterable[Entry],
        now: datetime,
    ) -> None:
        """Record a fetched feed: its validators and its entries, all or nothing.

        Validators and entries go together so that a later 304 always finds the
        entries it stands for.
        """
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO validators VALUES (?, ?, ?, ?)",
                (feed_url, *validators, now.isoformat()),
            )
            db.executemany(
                "INSERT INTO entries VALUES (?, ?, ?, ?, ?) ON CONFLICT (feed_url, url) "
                "DO UPDATE SET data = excluded.data, published = excluded.published",
                [_entry_row(e, now) for e in entries],
            )

    def touch_feeds(self, feed_urls: Iterable[str], now: datetime) -> None:
        """Mark feeds checked (answered 304) now, in one transaction."""
        stamp = now.isoformat()
        with self._transaction() as db:
            db.executemany(
                "UPDATE validators SET checked_at = ? WHERE url = ?",
                [(stamp, url) for url in feed_urls],
            )

    def feed_entries(self, feed_url: str) -> list[Entry]:
        rows = self._db.execute(
            "SELECT data, first_seen FROM entries WHERE feed_url = ? ORDER BY rowid", (feed_url,)
        )
        return [_entry_from(json.loads(data) | {"first_seen": seen}) for data, seen in rows]

    def prune_entries(self, before: datetime) -> int:
        """Forget entries first seen before `before` (they can no longer be in a window),
        and cached pages, summaries and results saved before it: the state file stays the
        size of a couple of months of news, not of every week since the first run."""
        cutoff = before.isoformat()
        with self._transaction() as db:
            cursor = db.execute("DELETE FROM entries WHERE first_seen < ?", (cutoff,))
            db.execute("DELETE FROM pages WHERE fetched_at < ?", (cutoff,))
            db.execute("DELETE FROM summaries WHERE created_at < ?", (cutoff,))
            db.execute("DELETE FROM results WHERE saved_at < ?", (cutoff,))
            return cursor.rowcount

    def result(self, key: str) -> Any | None:
        """A stage's cached result for an input hash, or None."""
        row = self._db.execute("SELECT data FROM results WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def save_result(self, key: str, data: Any, now: datetime) -> None:
        self.save_results({key: data}, now)

    def results(self, keys: Iterable[str]) -> dict[str, Any]:
        """The cached results held for `keys` (absent ones left out), in few queries."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        for start in range(0, len(wanted), _KEYS_PER_QUERY):
            chunk = wanted[start : start + _KEYS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT key, data FROM results WHERE key IN ({marks})", chunk)
            found.update((key, json.loads(data)) for key, data in rows)
        return found

    def save_results(self, results: Mapping[str, Any], now: datetime) -> None:
        """Several results in one transaction (one commit, not one per result)."""
        if not results:
            return
        stamp = now.isoformat()
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?)",
                [(key, json.dumps(data), stamp) for key, data in results.items()],
            )

    # caches

    def page(self, url: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT data FROM pages WHERE url = ?", (url,)).fetchone()
        return json.loads(row[0]) if row else None

    def save_page(self, url: str, data: dict[str, Any], now: datetime) -> None:
        self.save_pages({url: data}, now)

    def save_pages(self, pages: Mapping[str, dict[str, Any]], now: datetime) -> None:
        """Several pages in one transaction."""
        stamp = now.isoformat()
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO pages VALUES (?, ?, ?)",
                [(url, json.dumps(data, default=str), stamp) for url, data in pages.items()],
            )

    def summary(self, key: str) -> Summary | None:
        row = self._db.execute("SELECT data FROM summaries WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        return Summary(
            data["text"],
            data["method"],
            tuple(data["sentences"]),
            data.get("why", ""),
            tuple(data.get("tags", ())),
        )

    def save_summary(self, key: str, summary: Summary, now: datetime) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO summaries VALUES (?, ?, ?)",
                (key, json.dumps(to_jsonable(summary)), now.isoformat()),
            )

    # what history says about outlets

    def record_ai_history(self, digest_id: str, disclosed: dict[str, int], now: datetime) -> None:
        """Per host, how many articles disclosed AI authorship in this issue's run.

        Keyed by issue, so re-running a week replaces its row instead of counting twice.
        """
        with self._transaction() as db:
            db.execute("DELETE FROM ai_history WHERE digest_id = ?", (digest_id,))
            db.executemany(
                "INSERT INTO ai_history VALUES (?, ?, ?, ?)",
                [(host, digest_id, n, now.isoformat()) for host, n in disclosed.items()],
            )

    def frequent_ai_hosts(self, runs: int, threshold: int) -> dict[str, tuple[int, int]]:
        """Hosts with disclosed AI articles in at least `threshold` of the last `runs` issues.

        Returns host -> (issues with disclosures, issues looked at).
        """
        recent = [
            row[0]
            for row in self._db.execute(
                "SELECT digest_id FROM ai_history GROUP BY digest_id "
                "ORDER BY MAX(recorded_at) DESC LIMIT ?",
                (runs,),
            )
        ]
        if not recent:
            return {}
        marks = ",".join("?" * len(recent))
        rows = self._db.execute(
            f"SELECT host, COUNT(*) FROM ai_history WHERE disclosed > 0 "
            f"AND digest_id IN ({marks}) GROUP BY host HAVING COUNT(*) >= ?",
            (*recent, threshold),
        )
        return {host: (hits, len(recent)) for host, hits in rows}

    # the send ledger

    def ledger_status(self, digest_id: str) -> LedgerStatus | None:
        row = self._db.execute(
            "SELECT status FROM ledger WHERE digest_id = ?", (digest_id,)
        ).fetchone()
        return row[0] if row else None

    def mark(
        self,
        digest_id: str,
        status: LedgerStatus,
        message_id: str,
        recipients: list[str],
        urls: list[str],
        now: datetime,
    ) -> None:
        with self._transaction(durable=True) as db:
            db.execute(
                "INSERT OR REPLACE INTO ledger VALUES (?, ?, ?, ?, ?, ?)",
                (
                    digest_id,
                    status,
                    message_id,
                    json.dumps(recipients),
                    json.dumps(urls),
                    now.isoformat(),
                ),
            )

    def unmark(self, digest_id: str) -> None:
        """Forget a send that certainly did not happen (the server refused it)."""
        with self._transaction(durable=True) as db:
            db.execute("DELETE FROM ledger WHERE digest_id = ?", (digest_id,))

    def issue_number(self, digest_id: str) -> int:
        """This issue's number: issues sent before it, plus one."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM ledger WHERE status = 'sent' AND digest_id < ?", (digest_id,)
        ).fetchone()
        return int(row[0]) + 1

    def sent_urls(self, except_digest: str) -> set[str]:
        """Article URLs already sent in other issues: they are not news twice."""
        rows = self._db.execute(
            "SELECT urls FROM ledger WHERE status = 'sent' AND digest_id != ?", (except_digest,)
        )
        return {url for (urls,) in rows for url in json.loads(urls)}


def _entry_row(entry: Entry, now: datetime) -> tuple[str, str, str, str | None, str]:
    seen = entry.first_seen or now
    data = to_jsonable(entry) | {"first_seen": seen.isoformat()}
    return (
        entry.feed_url,
        entry.url,
        json.dumps(data),
        entry.published.isoformat() if entry.published else None,
        seen.isoformat(),
    )


def _entry_from(data: dict[str, Any]) -> Entry:
    for key in ("published", "first_seen"):
        if data.get(key):
            data[key] = datetime.fromisoformat(data[key]).astimezone(UTC)
    return Entry(**data)
