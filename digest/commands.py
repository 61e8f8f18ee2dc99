"""`digest feeds import|export|check` and `digest send DIR`: thin calls into
`digest.opml`, `digest.feedcheck` and `digest.review` (the parser is `digest.cli`'s)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from digest.cli import EXIT_FAILED, EXIT_OK, UsageError, _config_flag
from digest.config import load_config, require_feeds


def add_feeds(commands: Any) -> None:
    feeds = commands.add_parser(
        "feeds",
        help="import or export feeds as OPML, or check every feed once",
        description="`import FILE.opml` adds its feeds to digest.toml (keeping your comments); "
        "`export` writes your feeds as OPML; `check` fetches each feed once and says how it is.",
    )
    actions = feeds.add_subparsers(title="actions", metavar="ACTION", required=True)
    imports = actions.add_parser("import", help="add the feeds of an OPML file to the config")
    imports.add_argument("file", type=Path, metavar="FILE.opml")
    _config_flag(imports)
    imports.set_defaults(handler=_feeds_import)
    export = actions.add_parser("export", help="write the config's feeds as OPML")
    export.add_argument("--out", type=Path, metavar="FILE", help="write here (default: stdout)")
    _config_flag(export)
    export.set_defaults(handler=_feeds_export)
    check = actions.add_parser("check", help="fetch each feed once: status, entries, newest date")
    _config_flag(check)
    check.set_defaults(handler=_feeds_check)


def add_send(commands: Any) -> None:
    send = commands.add_parser(
        "send",
        help="send the reviewed build in DIR (its digest.eml, byte for byte)",
        description="Send the issue you reviewed: DIR/digest.eml exactly as built by "
        "`digest run --dry-run`, to its recipients, through the same ledger as "
        "`digest run --send` (an issue goes out once unless --resend).",
    )
    send.add_argument("dir", type=Path, metavar="DIR")
    _config_flag(send)
    send.add_argument(
        "--state", type=Path, metavar="PATH", help="state file (default [state] path)"
    )
    send.add_argument("--resend", action="store_true", help="send even if it was sent before")
    send.set_defaults(handler=_send)


def _feeds_import(args: argparse.Namespace) -> int:
    from digest.opml import import_into, read_opml

    try:
        outlines = read_opml(args.file.read_bytes())
    except ValueError as exc:
        raise UsageError(f"{args.file}: {exc}") from None
    if not args.config.exists():
        raise UsageError(f"{args.config}: no such file; create it with `digest init` first")
    result = import_into(args.config, outlines)
    for outline, why in result.refused:
        print(f"skipped {outline.name or outline.url}: {why}", file=sys.stderr)
    print(
        f"added {len(result.added)} feeds to {args.config}"
        f" ({len(result.present)} already there, {len(result.refused)} skipped); "
        "check them with `digest feeds check`"
    )
    return EXIT_OK


def _feeds_export(args: argparse.Namespace) -> int:
    from digest.opml import write_opml

    config = load_config(args.config)
    text = write_opml(config.feeds, config.newsletter.title)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {len(config.feeds)} feeds to {args.out}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _feeds_check(args: argparse.Namespace) -> int:
    from digest.feedcheck import check, summary

    config = load_config(args.config)
    require_feeds(config, args.config)
    results = asyncio.run(check(config, datetime.now(UTC)))
    for result in results:
        print(result.line())
    print(summary(results))
    bad = any(r.verdict in ("failed", "blocked") for r in results)
    return EXIT_FAILED if bad else EXIT_OK


def _send(args: argparse.Namespace) -> int:
    from digest import review
    from digest.archive import archive_dir
    from digest.pipeline import AlreadySent, _check_ledger
    from digest.store import Store

    config = load_config(args.config)
    state = args.state.resolve() if args.state else config.state.path
    try:
        reviewed = review.envelope(review.load(args.dir), config.delivery)
    except review.ReviewError as exc:
        raise UsageError(str(exc)) from None
    with Store(state) as store:
        try:
            _check_ledger(store, reviewed.digest_id, args.resend)
        except AlreadySent as exc:
            print(f"digest: {exc}", file=sys.stderr)
            return EXIT_FAILED
        outcome = review.send_through_ledger(
            config.delivery,
            store,
            reviewed.digest_id,
            reviewed.message,
            reviewed.urls,
            lambda: datetime.now(UTC),
            raw=reviewed.wire,
        )
    print(f"{reviewed.digest_id}: {outcome}")
    if outcome.status == "sent":
        index = review.archive_sent(config.archive, archive_dir(config), reviewed)
        if index is not None:
            print(f"archived: {index}")
    return EXIT_OK if outcome.status == "sent" else EXIT_FAILED
