"""The `digest` command: parses flags, calls the stages, turns errors into messages.

Exit codes: 0 a digest was produced (even with failed feeds); 1 no digest, or it could
not be sent; 2 a usage or configuration error (nothing was written).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digest import __version__
from digest.config import (
    DEFAULT_CONFIG_NAME,
    Config,
    ConfigError,
    load_config,
    require_feeds,
    starter_config,
)
from digest.render import RenderError
from digest.store import StoreError

if TYPE_CHECKING:
    from digest.cluster import Grouping, Item

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
MAX_STORIES = 50
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hdw])\s*$")


class UsageError(Exception):
    """Bad flags or files: exit 2 with the message."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(_negative_ages(sys.argv[1:] if argv is None else argv))
    except UsageError as exc:
        print(f"digest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not hasattr(args, "handler"):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.handler(args))
    except (ConfigError, UsageError, StoreError, RenderError) as exc:
        print(f"digest: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"digest: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("digest: interrupted; the state file is consistent, run again", file=sys.stderr)
        return EXIT_INTERRUPTED


def _negative_ages(argv: Sequence[str]) -> list[str]:
    """argparse reads `--since -3d` as a missing value and a flag: say what was meant."""
    args = list(argv)
    for flag, value in pairwise(args):
        if flag == "--since" and DURATION.match(value.removeprefix("-")) and value[:1] == "-":
            raise UsageError(
                f"--since is how far back the window reaches, a positive age such as "
                f"{value[1:]} (got {value!r}); to end the window earlier, use --until"
            )
    return args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digest",
        description="Turn automotive news feeds into an editor's weekly newsletter.",
    )
    parser.add_argument("--version", action="version", version=f"digest {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_run(commands)
    _add_init(commands)
    _add_extract(commands)
    _add_summarize(commands)
    _add_detect(commands)
    _add_cluster(commands)
    _add_templates(commands)
    _add_preview(commands)
    from digest import commands as more

    more.add_feeds(commands)
    more.add_send(commands)
    return parser


def _add_templates(commands: Any) -> None:
    templates = commands.add_parser(
        "templates",
        help="copy the theme to edit it, or check your templates",
        description="Customize the newsletter's look: `init` copies the default theme into a "
        "folder to edit (point [output] templates_dir at it); `check` renders every template "
        "with a sample issue and reports errors as file:line with a hint.",
    )
    actions = templates.add_subparsers(title="actions", metavar="ACTION", required=True)
    init = actions.add_parser("init", help="copy the default theme into DIR")
    init.add_argument("dir", type=Path, metavar="DIR")
    init.add_argument("--force", action="store_true", help="overwrite files already there")
    init.set_defaults(handler=_templates_init)
    check = actions.add_parser("check", help="render every template with a sample issue")
    _config_flag(check)
    check.add_argument(
        "--templates",
        type=Path,
        metavar="DIR",
        help="templates folder to check (default: [output] templates_dir of the config)",
    )
    check.set_defaults(handler=_templates_check)


def _add_preview(commands: Any) -> None:
    preview = commands.add_parser(
        "preview",
        help="serve the last digest on 127.0.0.1 and screenshot it",
        description="Serve the output folder on 127.0.0.1 and, when Chromium is installed, "
        "write preview-desktop.png (800 px) and preview-mobile.png (375 px) beside the issue.",
    )
    preview.add_argument("--out", type=Path, default=Path("out"), metavar="DIR")
    preview.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000)")
    preview.add_argument("--no-screenshots", action="store_true", help="only serve")
    preview.add_argument(
        "--once", action="store_true", help="take the screenshots and exit (no server left running)"
    )
    preview.set_defaults(handler=_preview)


def _add_run(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="build this week's digest (and send it with --send)",
        description="Fetch the feeds, build the digest into the output folder, "
        "and with --send email it. Without --send nothing is emailed.",
    )
    _config_flag(run)
    run.add_argument(
        "--since",
        type=duration,
        default=timedelta(days=7),
        metavar="AGE",
        help="how far back the window reaches, e.g. 7d, 36h, 2w (default 7d)",
    )
    run.add_argument(
        "--until",
        type=moment,
        metavar="DATE",
        default=os.environ.get("DIGEST_UNTIL") or None,
        help="end of the window, e.g. 2026-11-16 or 2026-11-16T06:00Z "
        "(default: $DIGEST_UNTIL or now)",
    )
    run.add_argument("--out", type=Path, metavar="DIR", help="output folder (default [output] dir)")
    run.add_argument("--state", type=Path, metavar="PATH", help="state file (default [state] path)")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--send", action="store_true", help="email the digest to [delivery] to")
    mode.add_argument(
        "--dry-run", action="store_true", help="build everything, send nothing (the default)"
    )
    run.add_argument(
        "--resend", action="store_true", help="with --send: send even if this issue was sent before"
    )
    run.add_argument(
        "--to",
        type=addresses,
        metavar="ADDR[,ADDR]",
        help="with --send: these recipients instead of [delivery] to",
    )
    run.add_argument(
        "--proof-to",
        type=addresses,
        metavar="ADDR[,ADDR]",
        help="without --send: email a proof here; the issue is not marked as sent",
    )
    run.add_argument(
        "--demo",
        action="store_true",
        help="use the built-in demo corpus on a loopback server (no network, no key)",
    )
    llm = run.add_mutually_exclusive_group()
    llm.add_argument(
        "--llm",
        action="store_true",
        help="summarize with the model in [llm] (the default when [llm] is set)",
    )
    llm.add_argument(
        "--no-llm",
        action="store_true",
        help="summarize with the built-in extractive summarizer, even when [llm] is set",
    )
    run.add_argument(
        "--retry-llm",
        action="store_true",
        help="ask the model again about stories whose answers it failed on in an earlier run",
    )
    run.add_argument(
        "--max-stories",
        type=positive,
        metavar="N",
        help="number of stories (default [newsletter] max_stories)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(handler=_run)


def _add_init(commands: Any) -> None:
    init = commands.add_parser(
        "init",
        help="write a commented starter digest.toml",
        description="Write a starter config with real automotive feeds, ready to edit.",
    )
    _config_flag(init)
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(handler=_init)


def _add_extract(commands: Any) -> None:
    extract = commands.add_parser(
        "extract",
        help="extract an article's text and metadata from saved HTML pages",
        description="Read saved pages (.html or .html.gz) and print their article text; "
        "with --json one JSON object per file, one per line.",
    )
    extract.add_argument("files", nargs="+", type=Path, metavar="FILE")
    extract.add_argument("--url", help="the page's URL (helps resolve links and metadata)")
    extract.add_argument("--json", action="store_true", help="print JSON lines")
    extract.set_defaults(handler=_extract)


def _add_summarize(commands: Any) -> None:
    summarize = commands.add_parser(
        "summarize",
        help="summarize articles from files (.txt or .html)",
        description="Summarize each file with the built-in extractive summarizer, or with "
        "--llm the model in the config's [llm]; with --json one JSON object per file, one "
        "per line.",
    )
    summarize.add_argument("files", nargs="+", type=Path, metavar="FILE")
    summarize.add_argument(
        "--sentences", type=positive, default=3, metavar="N", help="at most N sentences (default 3)"
    )
    summarize.add_argument(
        "--llm",
        action="store_true",
        help="summarize with the model in [llm]; a story it cannot do gets the offline summary",
    )
    _config_flag(summarize)
    summarize.add_argument("--json", action="store_true", help="print JSON lines")
    summarize.set_defaults(handler=_summarize)


def _add_detect(commands: Any) -> None:
    detect = commands.add_parser(
        "detect",
        help="say whether saved pages come from AI-generated sources, with the evidence",
        description="Look for the publisher's AI disclosures (bylines, bios, disclaimers, "
        "meta tags, JSON-LD), the owner's lists, and style signals. Levels: disclosed, "
        "listed, suspected (style only), none. With --json one JSON object per file.",
    )
    detect.add_argument("files", nargs="+", type=Path, metavar="FILE")
    detect.add_argument("--text", action="store_true", help="the files are plain text")
    detect.add_argument("--url", help="the page's URL (for the owner's listed domains)")
    detect.add_argument("--json", action="store_true", help="print JSON lines")
    detect.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="read [detect] (listed sources, extra rules) from this file "
        "(default: ./digest.toml when it exists)",
    )
    detect.set_defaults(handler=_detect)


def _add_cluster(commands: Any) -> None:
    cluster = commands.add_parser(
        "cluster",
        help="group articles that tell the same story (JSON lines in, groups out)",
        description='Read rows {"id","title","text"} (optional "source","url","date") from '
        "a .jsonl file and print which ids tell the same story.",
    )
    cluster.add_argument("files", nargs="+", type=Path, metavar="FILE.jsonl")
    cluster.add_argument("--json", action="store_true", help="print JSON lines")
    cluster.add_argument(
        "--explain",
        action="store_true",
        help="add, per cluster, the pairs that joined it, their scores and signals",
    )
    cluster.set_defaults(handler=_cluster)


def _config_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        default=Path(os.environ.get("DIGEST_CONFIG", DEFAULT_CONFIG_NAME)),
        help="config file (default: $DIGEST_CONFIG or ./digest.toml)",
    )


def duration(text: str) -> timedelta:
    match = DURATION.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 7d, 36h or 2w")
    amount, unit = float(match[1]), match[2]
    span = {
        "h": timedelta(hours=amount),
        "d": timedelta(days=amount),
        "w": timedelta(weeks=amount),
    }[unit]
    if span <= timedelta(0):
        raise argparse.ArgumentTypeError("the window must be longer than zero")
    return span


def moment(text: str) -> datetime:
    """A date or time; without a zone it is read in the newsletter's time zone later."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date like 2026-11-16 or 2026-11-16T06:00Z"
        ) from None
    if when.year < 1971 or when.year > 9998:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range")
    return when


def addresses(text: str) -> tuple[str, ...]:
    """Comma-separated e-mail addresses."""
    found = tuple(part.strip() for part in text.split(",") if part.strip())
    bad = [a for a in found if "@" not in a or any(c.isspace() for c in a)]
    if not found or bad:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of addresses")
    return found


def positive(text: str) -> int:
    if not (text.isascii() and text.isdecimal()) or not 1 <= int(text) <= MAX_STORIES:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to {MAX_STORIES}")
    return int(text)


# run


def _run(args: argparse.Namespace) -> int:
    from digest.pipeline import RunOptions

    if args.resend and not args.send:
        raise UsageError("--resend goes with --send")
    if args.to and not args.send:
        raise UsageError("--to goes with --send (for a proof of a dry run use --proof-to)")
    if args.proof_to and args.send:
        raise UsageError("--proof-to is for dry runs; with --send use --to")
    options = RunOptions(
        since=args.since,
        until=args.until,
        send=args.send,
        resend=args.resend,
        max_stories=args.max_stories,
        use_model=not args.no_llm,
        retry_llm=args.retry_llm,
        proof_to=args.proof_to or (),
    )
    if args.demo:
        return _run_demo(args, options)
    config = _overridden(load_config(args.config), args)
    _check_llm_flag(config, args)
    require_feeds(config, args.config)
    if args.send and not config.delivery.configured:
        raise ConfigError(
            f"{args.config}: --send needs [delivery] from, to and smtp_host; "
            "or run without --send to only build the issue"
        )
    return _execute(config, _in_zone(config, options), quiet=args.quiet)


def _run_demo(args: argparse.Namespace, options: Any) -> int:
    from dataclasses import replace

    from digest.demo import DemoServer, demo_config, demo_until

    if args.send or args.proof_to:
        raise UsageError("the demo has no mail server: run it without --send or --proof-to")
    with _demo_server(DemoServer) as server:
        own = args.config if args.config.is_file() else None
        config = _overridden(demo_config(server.base, server.host_port, own, os.environ), args)
        _check_llm_flag(config, args)
        options = replace(options, until=options.until or demo_until())
        return _execute(config, _in_zone(config, options), quiet=args.quiet)


DEMO_PORT = 8765  # a fixed port keeps the demo's URLs, and so its caches, from run to run


def _demo_server(kind: Any) -> Any:
    try:
        return kind(port=DEMO_PORT)
    except OSError:  # taken: any free port will do
        return kind()


def _in_zone(config: Config, options: Any) -> Any:
    """Options whose `--until` without a zone is read in the newsletter's time zone."""
    from dataclasses import replace
    from zoneinfo import ZoneInfo

    until = options.until
    if until is None or until.tzinfo is not None:
        return options
    return replace(options, until=until.replace(tzinfo=ZoneInfo(config.newsletter.timezone)))


def _check_llm_flag(config: Config, args: argparse.Namespace) -> None:
    if getattr(args, "llm", False) and config.llm is None:
        if getattr(args, "demo", False):
            raise UsageError(
                "--demo --llm needs a model: pass --config FILE with an [llm] section, or set "
                "DIGEST_LLM_PROVIDER (with DIGEST_LLM_MODEL and DIGEST_LLM_BASE_URL as needed), "
                "e.g. DIGEST_LLM_PROVIDER=ollama DIGEST_LLM_MODEL=llama3.2; "
                "or drop --llm to use the built-in summarizer"
            )
        raise UsageError(
            f"--llm needs a model: add an [llm] section to {args.config} (see "
            "docs/providers.md), or drop --llm to use the built-in summarizer"
        )


def _overridden(config: Config, args: argparse.Namespace) -> Config:
    updates: dict[str, Any] = {}
    if args.out:
        updates["output"] = config.output.model_copy(update={"dir": args.out.resolve()})
    if args.state:
        updates["state"] = config.state.model_copy(update={"path": args.state.resolve()})
    if getattr(args, "to", None):
        updates["delivery"] = config.delivery.model_copy(update={"to": list(args.to)})
    return config.model_copy(update=updates) if updates else config


def _execute(config: Config, options: Any, quiet: bool) -> int:
    from digest.pipeline import RunError, run

    with _progress(enabled=not quiet and _interactive()) as progress:
        try:
            result = run(config, options, progress)
        except RunError as exc:
            print(f"digest: {exc}", file=sys.stderr)
            return EXIT_FAILED
    report = result.report
    for warning in report.warnings:
        if warning.kind == "model":
            print(f"digest: {warning}", file=sys.stderr)
    html = _shown(Path(report.outputs["html"]))
    print(
        f"{_count(len(report.feeds), 'feed')}, {report.feeds_failed} failed; "
        f"{_count(report.stories, 'story', 'stories')}; {_model_line(report.llm)}"
        f"{report.delivery}; {html}"
    )
    return EXIT_OK


def _model_line(usage: Any) -> str:
    from digest.pipeline import usage_text

    if not usage.model:
        return ""
    cached = f", {usage.cached} cached" if usage.cached else ""
    offline = f", {usage.offline} offline" if usage.offline else ""
    if usage.calls and not usage.total_tokens:  # every call failed: say so, and why
        why = max(usage.reasons.items(), key=lambda kv: kv[1], default=("", 0))[0]
        failed = f"0 of {_count(usage.calls, 'call')} succeeded" + (f": {why}" if why else "")
        rest = (cached + offline).removeprefix(", ")
        return f"model {usage.model}: {failed}; " + (f"{rest}; " if rest else "")
    return f"model {usage.model}: {usage_text(usage)}{cached}{offline}; "


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _interactive() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    if not enabled:
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        yield update


# templates and preview


def _templates_init(args: argparse.Namespace) -> int:
    from digest import theme

    try:
        written = theme.init(args.dir, force=args.force)
    except (FileExistsError, OSError) as exc:
        raise UsageError(str(exc)) from None
    print(
        f"copied {len(written)} files to {args.dir}; set [output] templates_dir = "
        f'"{args.dir}" and delete what you do not change'
    )
    return EXIT_OK


def _templates_check(args: argparse.Namespace) -> int:
    from digest import theme

    folder = args.templates
    if folder is None and args.config.exists():
        folder = load_config(args.config).output.templates_dir
    problems = theme.check(folder)
    for problem in problems:
        print(problem)
    where = str(folder) if folder else "the default theme"
    if problems:
        print(f"{_count(len(problems), 'problem')} in {where}", file=sys.stderr)
        return EXIT_FAILED
    print(f"no problems in {where}")
    return EXIT_OK


def _preview(args: argparse.Namespace) -> int:
    from digest.preview import PreviewError, preview

    try:
        result = preview(args.out, args.port, shots=not args.no_screenshots, wait=not args.once)
    except PreviewError as exc:
        print(f"digest: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_FAILED if result.failed else EXIT_OK


# init


def _init(args: argparse.Namespace) -> int:
    path: Path = args.config
    if path.exists() and not args.force:
        raise UsageError(f"{path} already exists; pass --force to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(starter_config(), encoding="utf-8")
    print(f"wrote {path}: edit the feeds and [newsletter], then `digest run --dry-run`")
    return EXIT_OK


# stage commands: local files in, one JSON line per file out


def read_input(path: Path) -> bytes:
    """A file's bytes, gunzipped when it ends in .gz."""
    try:
        data = path.read_bytes()
        return gzip.decompress(data) if path.suffix == ".gz" else data
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise UsageError(f"{path}: cannot read it ({exc})") from None


def _extract(args: argparse.Namespace) -> int:
    from digest.extract import extract_json

    code = EXIT_OK
    for path in args.files:
        try:
            result = extract_json(read_input(path), args.url)
        except UsageError as exc:
            code = _emit_error(path, exc, args.json)
            continue
        _emit(path, result, args.json, str(result.get("text", "")))
    return code


def _summarize(args: argparse.Namespace) -> int:
    """One line per file, in the order given; a file that cannot be read is named in
    its place and the rest go on."""
    code = EXIT_OK
    documents: dict[Path, tuple[str, str]] = {}
    errors: dict[Path, UsageError] = {}
    for path in args.files:
        try:
            documents[path] = _document(path)
        except UsageError as exc:
            errors[path] = exc
    by_model = _model_results(args, documents) if args.llm else {}
    for path in args.files:
        if path in errors:
            code = _emit_error(path, errors[path], args.json)
            continue
        title, text = documents[path]
        result = by_model.get(path) or _offline_result(title, text, args.sentences)
        _emit(path, result, args.json, str(result["summary"]))
    return code


def _document(path: Path) -> tuple[str, str]:
    """A file's (title, text): an extracted page, or the text of a text file."""
    from digest.extract import extract_page

    data = read_input(path)
    if not _is_html(path):
        return "", data.decode("utf-8", errors="replace")
    page = extract_page(data)
    return (page.title, page.text) if page else ("", "")


def _offline_result(title: str, text: str, sentences: int) -> dict[str, Any]:
    from digest.summarize.extractive import summarize_text

    summary = summarize_text(text, title, sentences)
    return {"summary": summary.text, "method": summary.method, "sentences": list(summary.sentences)}


def _model_results(
    args: argparse.Namespace, documents: dict[Path, tuple[str, str]]
) -> dict[Path, dict[str, Any]]:
    """The model's summaries by file; a file it failed on is left out (and named)."""
    from digest.summarize.llm import Failed
    from digest.summarize.providers import Unavailable
    from digest.summarize.stage import model_summaries

    config = load_config(args.config)
    try:
        answers, _ = model_summaries(config, list(documents.values()))
    except Unavailable as exc:
        if config.llm is None:
            raise UsageError(f"{args.config}: {exc}") from None
        print(f"digest: {exc}", file=sys.stderr)
        return {}
    results: dict[Path, dict[str, Any]] = {}
    for path, answer in zip(documents, answers, strict=True):
        if isinstance(answer, Failed):
            print(f"digest: {path}: offline summary: {answer.reason}", file=sys.stderr)
            continue
        results[path] = {
            "summary": answer.text,
            "method": answer.method,
            "sentences": list(answer.sentences),
            "why": answer.why,
            "tags": list(answer.tags),
        }
    return results


def _is_html(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    return name.endswith((".html", ".htm", ".xhtml"))


def _emit_error(path: Path, exc: Exception, as_json: bool) -> int:
    """A file that cannot be read: say so in its place and carry on with the rest."""
    if as_json:
        print(json.dumps({"file": str(path), "error": str(exc)}, ensure_ascii=False))
    print(f"digest: {exc}", file=sys.stderr)
    return EXIT_FAILED


def _emit(path: Path, result: dict[str, Any], as_json: bool, text: str) -> None:
    if as_json:
        print(json.dumps({"file": str(path)} | result, ensure_ascii=False))
    else:
        print(text)
    sys.stdout.flush()


def _detect(args: argparse.Namespace) -> int:
    from digest.config import Detect
    from digest.detect import detect_page, detect_text
    from digest.extract import extract_page

    settings = Detect.model_validate({})
    path = args.config or (
        Path(DEFAULT_CONFIG_NAME) if Path(DEFAULT_CONFIG_NAME).exists() else None
    )
    if path is not None:
        settings = load_config(path).detect
    code = EXIT_OK
    for file in args.files:
        try:
            data = read_input(file)
        except UsageError as exc:
            code = _emit_error(file, exc, args.json)
            continue
        try:
            if args.text:
                verdict = detect_text(data.decode("utf-8", errors="replace"), settings)
            else:
                page = extract_page(data, args.url)
                verdict = detect_page(data, args.url, page.text if page else "", settings)
        except ValueError as exc:  # a bad user rule
            raise ConfigError(f"{path}: [[detect.rules]]: {exc}") from None
        result = {
            "level": verdict.level,
            "score": verdict.score,
            "evidence": [
                {"kind": e.kind, "rule": e.rule, "quote": e.quote, "where": e.where}
                for e in verdict.evidence
            ],
            "label": verdict.label,
        }
        _emit(file, result, args.json, verdict.label or verdict.level)
    return code


def _cluster(args: argparse.Namespace) -> int:
    from digest.cluster import group

    code = EXIT_OK
    for file in args.files:
        try:
            items = _cluster_items(_jsonl(file))
        except (UsageError, ValueError) as exc:
            code = _emit_error(file, exc, args.json)
            continue
        grouping = group(items)
        result: dict[str, Any] = {"clusters": [[items[i].id for i in g] for g in grouping.groups]}
        if args.explain:
            result["explain"] = _cluster_explained(items, grouping)
        shown = "\n".join(" ".join(ids) for ids in result["clusters"])
        _emit(file, result, args.json, json.dumps(result, indent=1) if args.explain else shown)
    return code


def _cluster_explained(items: Sequence[Item], grouping: Grouping) -> list[dict[str, Any]]:
    """Per cluster of two or more: its ids and the joins that made it (the pair, its score,
    the average score across the two groups joined, the average it had to reach, and each
    signal)."""
    of = {i: n for n, members in enumerate(grouping.groups) for i in members}
    joins: list[list[dict[str, Any]]] = [[] for _ in grouping.groups]
    for join in grouping.joins:
        joins[of[join.a]].append(
            {"pair": [items[join.a].id, items[join.b].id], "score": round(join.score, 3)}
            | {"linkage": round(join.linkage, 3), "threshold": round(join.threshold, 3)}
            | {"signals": {name: round(value, 3) for name, value in join.signals.items()}}
        )
    out = [
        {"ids": [items[i].id for i in members], "joins": made}
        for members, made in zip(grouping.groups, joins, strict=True)
    ]
    return [entry for entry in out if entry["joins"]]


def _cluster_items(rows: list[dict[str, Any]]) -> list[Item]:
    """Rows {"id", "title", "text"} with optional "source", "url", "date" (ISO 8601) as
    cluster Items; a ValueError names the line (counted from 1) and the id. A duplicate id
    is an error too, since the output names items by id."""
    from digest.cluster import Item

    items = []
    first: dict[str, int] = {}
    for line, row in enumerate(rows, start=1):
        raw_id = row.get("id")
        where = f"line {line}" + (f" (id {raw_id!r})" if raw_id not in (None, "") else "")
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or not str(raw_id).strip():
            raise ValueError(f"{where}: missing or empty 'id'")
        if str(raw_id) in first:
            raise ValueError(f"{where}: duplicate id (line {first[str(raw_id)]})")
        first[str(raw_id)] = line
        if not isinstance(row.get("title"), str):
            raise ValueError(f"{where}: missing 'title'")
        fields = {key: row.get(key) or "" for key in ("text", "source", "date")}
        if not all(isinstance(value, str) for value in fields.values()):
            raise ValueError(f"{where}: 'text', 'source' and 'date' must be strings")
        try:
            date = datetime.fromisoformat(fields["date"].strip()) if fields["date"] else None
        except ValueError:
            raise ValueError(f"{where}: bad 'date' {fields['date']!r}") from None
        items.append(Item(str(raw_id), row["title"], fields["text"], fields["source"], date))
    return items


def _jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(read_input(path).decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise UsageError(f"{path}:{number}: each line must be a JSON object")
        rows.append(row)
    return rows
