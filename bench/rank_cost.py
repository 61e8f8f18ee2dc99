"""CPU the ranking takes on the main process's chain, and a proof that its outputs are unchanged.

A cold `digest run` on the speed benchmark's farm (../shared/corpus's real feeds, newest
`--per-feed` of each, served on loopback as `bench/speed.py` does) calls the pipeline's
`_rank` (stories ranked, then the picks and "Also worth reading") and `_ranked` (stories
ranked) about ten times on the week's ~1,250 articles, and `_articles` (the entries made
articles, each text's words counted) once per pass. This harness records every such call
of one real run, as its arguments were when it was made (one pickle stream: the articles a
later call shares with an earlier one stay shared), then replays the calls in order in a
fresh process, timing each with `time.process_time`: the caches a run builds (a story's
section, an article's word count) start empty, as in a run.

    python bench/rank_cost.py [--calls FILE] [--rounds N] [--save F | --check F] [--profile P]

`--calls FILE`: the recorded calls (recorded there first when FILE is absent; default
/tmp/rank_calls.pkl). Re-record after a change to anything before the ranking (feeds,
pages, grouping): the calls are only as real as the code that recorded them.
`--rounds N`: replay N times, each in a fresh process; each call's figure is its least CPU.
`--save F` stores a digest (sha256) of every call's output (each story's URL, score,
section, other coverage; the picks and sections); `--check F` compares with a saved file
and exits 1 on any difference, naming the calls. Skips (exit 0) when ../shared/corpus is
absent.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.speedserver import SHARED

DEFAULT_CALLS = Path(tempfile.gettempdir()) / "rank_calls.pkl"
RECORDED = ("_articles", "_rank", "_ranked")  # the pipeline's functions replayed


# --- record -----------------------------------------------------------------------------------


def record(out: Path, per_feed: int) -> None:
    """One cold run on the farm, in this process, each top-level ranking call pickled as made."""
    from bench import speed
    from bench.speedserver import Corpus, Farm
    from digest import cli, pipeline

    with out.open("wb") as stream, Farm(Corpus(), 6, 0.05, per_feed=per_feed) as farm:
        pickler = pickle.Pickler(stream, protocol=pickle.HIGHEST_PROTOCOL)
        depth = [0]
        for name in RECORDED:
            setattr(pipeline, name, _recorded(pipeline, name, pickler, depth))
        work = Path(tempfile.mkdtemp(prefix="rank-cost-"))
        try:
            config = speed.write_config(work, farm)
            argv = ["run", "--config", str(config), "--since", "36500d"]
            cli.main([*argv, "--until", speed.UNTIL, "--quiet"])
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _recorded(module: Any, name: str, pickler: pickle.Pickler, depth: list[int]) -> Any:
    inner = getattr(module, name)

    def call(*args: Any) -> Any:
        if depth[0] == 0:  # `_rank` calls `_ranked`: only the outer call is replayed
            pickler.dump((name, tuple(_picklable(a) for a in args)))
        depth[0] += 1
        try:
            return inner(*args)
        finally:
            depth[0] -= 1

    return call


def _picklable(value: Any) -> Any:
    """RunOptions holds a lambda (`now`); the ranking reads only its `max_stories`."""
    from digest.pipeline import RunOptions

    return replace(value, now=datetime.now) if isinstance(value, RunOptions) else value


# --- replay -----------------------------------------------------------------------------------


def load(path: Path) -> list[tuple[str, tuple[Any, ...]]]:
    calls = []
    with path.open("rb") as stream:
        unpickler = pickle.Unpickler(stream)
        while True:
            try:
                calls.append(unpickler.load())
            except EOFError:
                return calls


def replay(path: Path, profile: Path | None) -> dict[str, Any]:
    """Each call's CPU seconds and output digest, in order."""
    from digest import pipeline

    calls = load(path)
    seconds, digests = [], []
    profiler = cProfile.Profile() if profile else None
    for name, args in calls:
        function: Callable[..., Any] = getattr(pipeline, name)
        if profiler:
            profiler.enable()
        start = time.process_time()
        result = function(*args)
        seconds.append(time.process_time() - start)
        if profiler:
            profiler.disable()
        digests.append(fingerprint(result))
    if profiler and profile:
        profiler.dump_stats(str(profile))
    names = [f"{n:2d} {name}({_sizes(args)})" for n, (name, args) in enumerate(calls)]
    return {"names": names, "seconds": seconds, "digests": digests}


def _sizes(args: tuple[Any, ...]) -> str:
    if isinstance(args[1], list):
        return f"{len(args[1])} articles, {len(args[2])} groups"
    return f"{len(args[1].entries)} entries, {len(args[2].pages)} pages"


def fingerprint(result: Any) -> str:
    """sha256 of a call's output: every story's URL, score, section and other coverage, in
    order; for `_rank`, the picks then each section's title and stories; for `_articles`,
    each article's URL, method, word count and text."""
    if isinstance(result, tuple):
        picks, more = result
        parts = [_stories(picks), *(section.title + _stories(section.stories) for section in more)]
    elif result and not hasattr(result[0], "article"):
        parts = [f"{a.url} {a.method} {a.words} {a.title}\n{a.text}" for a in result]
    else:
        parts = [_stories(result)]
    return hashlib.sha256("\n\n".join(parts).encode()).hexdigest()


def _stories(stories: Sequence[Any]) -> str:
    return "\n".join(
        f"{s.article.url} {s.score!r} {s.section} {' '.join(o.url for o in s.others)}"
        for s in stories
    )


# --- report -----------------------------------------------------------------------------------


def rounds(path: Path, count: int, profile: Path | None) -> dict[str, Any]:
    """`count` replays, each in a fresh process; per call, the least CPU of the rounds."""
    runs = []
    for n in range(count):
        command = [sys.executable, __file__, "--replay", str(path)]
        if profile and n == 0:
            command += ["--profile", str(profile)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout))
    if any(run["digests"] != runs[0]["digests"] for run in runs):
        raise SystemExit("the outputs differ between rounds")
    best = [min(run["seconds"][i] for run in runs) for i in range(len(runs[0]["seconds"]))]
    return {**runs[0], "seconds": best}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--calls", type=Path, default=DEFAULT_CALLS)
    parser.add_argument("--per-feed", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--save", type=Path, help="store the output digests here")
    parser.add_argument("--check", type=Path, help="compare the output digests with this file")
    parser.add_argument("--profile", type=Path, help="a cProfile of the first round's calls")
    parser.add_argument("--record", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--replay", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.record:
        record(args.record, args.per_feed)
        return 0
    if args.replay:
        print(json.dumps(replay(args.replay, args.profile)))
        return 0
    if not (SHARED / "feeds" / "real").is_dir():
        print(f"skipped: {SHARED} is absent")
        return 0
    if not args.calls.exists():
        command = [sys.executable, __file__, "--record", str(args.calls)]
        subprocess.run([*command, "--per-feed", str(args.per_feed)], check=True)
    result = rounds(args.calls, args.rounds, args.profile)
    print(report(result))
    return finish(result["names"], result["digests"], args.save, args.check)


def report(result: dict[str, Any]) -> str:
    lines = [f"{'call':<52} {'CPU s':>7}"]
    for name, spent in zip(result["names"], result["seconds"], strict=True):
        lines.append(f"{name:<52} {spent:7.3f}")
    lines.append(f"{'total':<52} {sum(result['seconds']):7.3f}")
    return "\n".join(lines)


def finish(names: list[str], digests: list[str], save: Path | None, check: Path | None) -> int:
    if save:
        save.write_text(json.dumps(dict(zip(names, digests, strict=True)), indent=0))
        print(f"\nsaved the digests of {len(digests)} calls' outputs to {save}")
    if check:
        saved = json.loads(check.read_text())
        mine = dict(zip(names, digests, strict=True))
        differ = [
            name for name in sorted(set(saved) | set(mine)) if saved.get(name) != mine.get(name)
        ]
        if differ:
            print("\noutputs DIFFER:\n" + "\n".join(differ))
            return 1
        print(f"\noutputs identical on all {len(digests)} calls ({check})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
