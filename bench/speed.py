"""Speed benchmark: `digest run` against the naive pipeline and the machine's CPU floor.

    python bench/speed.py [--latency 0.05 0.2] [--per-feed 10] [--scales 1 3 10] [--embed all]

Serves the real feeds of ../shared/corpus on several loopback addresses (bench/speedserver.py)
with a latency per response, then measures, on the same data:

* cold: `digest run` with an empty state;
* warm: `digest run` again (ETag/Last-Modified honoured: no feed body, no article fetched);
* naive: bench/naive.py, a sequential feedparser.parse(url) + fetch + trafilatura.extract loop;
* the CPU floor: the CPU time of parsing the same feeds and extracting the same pages
  in-process (digest's own extraction, and plain trafilatura for reference), divided by
  the cores: no run can be faster than that on this machine;
* scaling: cold runs on 1x, 3x and 10x the entries (the feed set served that many times).

Each run is a separate process; wall time, CPU time (the process and its workers) and the
peak resident memory of the whole process tree (sampled every 20 ms) are recorded, with
the requests the servers saw. Writes the figures to bench/results.md; exits 2 without the
corpus. Only loopback addresses are ever contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.speedserver import SHARED, Corpus, Farm  # noqa: E402
from digest.workers import cores  # noqa: E402

UNTIL = "2026-11-21"
RESULTS = REPO / "bench" / "results.md"


@dataclass
class Measured:
    wall: float
    cpu: float
    peak_rss_mb: float  # the whole process tree, sampled
    max_process_mb: float  # the largest single process
    code: int
    hits: dict[str, int] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    stdout: str = ""
    processes: dict[int, float] = field(default_factory=dict)  # each process's peak, MB
    peak_pss_mb: float = 0.0  # the whole tree's proportional set size (shared pages split)
    embedded: int = 0  # headlines embedded by the run (vectors it added to the state)


def measure(command: list[str], farm: Farm, stdin: str | None = None) -> Measured:
    """Run `command`, sampling its process tree's memory; CPU from wait4's rusage."""
    before = dict(farm.hits)
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    peak = [0.0, 0.0, 0.0]  # the tree's total, the largest single process, the tree's PSS
    ticks: dict[int, int] = {}
    done = threading.Event()
    each: dict[int, float] = {}
    sampler = threading.Thread(
        target=_sample, args=(process.pid, peak, ticks, done, each), daemon=True
    )
    sampler.start()
    out, _ = process.communicate(stdin)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    reaped, _ = _children_usage()
    # Workers forked by a fork server are not the run's children: their CPU never reaches
    # its rusage, so the process tree's CPU is also sampled from /proc; take the larger.
    sampled = sum(ticks.values()) / os.sysconf("SC_CLK_TCK")
    hits = {k: farm.hits[k] - before.get(k, 0) for k in farm.hits}
    cpu = max(reaped, sampled)
    return Measured(
        wall,
        cpu,
        peak[0],
        peak[1],
        process.returncode,
        hits,
        stdout=out,
        processes=each,
        peak_pss_mb=peak[2],
    )


_last_children = [0.0, 0.0]


def _children_usage() -> tuple[float, float]:
    """CPU seconds of the children reaped since the last call, and their max RSS (MB)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    delta = cpu - _last_children[0]
    _last_children[0] = cpu
    return delta, usage.ru_maxrss / 1024


def _sample(
    root: int,
    peak: list[float],
    ticks: dict[int, int],
    done: threading.Event,
    each: dict[int, float],
) -> None:
    """Every 20 ms: the tree's resident sizes (statm: a few counters, read without
    stopping the process) and CPU ticks. The tree's PSS only near its peak RSS, at most
    every 0.1 s: smaps_rollup walks a process's page tables under its memory map's lock,
    which stalls that process's own mmap/munmap meanwhile; read every 20 ms, it slowed the
    run it measured by ~1.3 s of 13 (cold at 50 ms, an A/B of 2 rounds)."""
    page = os.sysconf("SC_PAGE_SIZE")
    parents: dict[int, int] = {}
    pss_at = 0.0
    while not done.is_set():
        tree = _tree(root, parents)
        sizes = [_rss_pages(pid) * page / 1e6 for pid in tree]
        peak[0] = max(peak[0], sum(sizes))
        peak[1] = max(peak[1], max(sizes, default=0.0))
        for pid, size in zip(tree, sizes, strict=True):
            each[pid] = max(each.get(pid, 0.0), size)
        if sum(sizes) >= PSS_NEAR * peak[0] and time.monotonic() - pss_at >= PSS_EVERY:
            pss_at = time.monotonic()
            peak[2] = max(peak[2], sum(map(_pss_mb, tree)))
        for pid in tree:
            ticks[pid] = max(ticks.get(pid, 0), _cpu_ticks(pid))
        time.sleep(0.02)


PSS_NEAR = 0.9  # the tree's PSS is read when its RSS is within 10% of its peak so far
PSS_EVERY = 0.1  # and at most this often (s)


def _pss_mb(pid: int) -> float:
    """A process's proportional set size: its private pages plus its share of the pages
    it shares (a fork server's modules, a mapped model file), so a tree's sum counts each
    page once. The RSS sum counts a shared page once per process."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1000
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def _cpu_ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return int(fields[11]) + int(fields[12])


def _tree(root: int, parents: dict[int, int] | None = None) -> list[int]:
    """`root` and its descendants. `parents`: each process's parent as read before (a
    sampler's memo): only a new process's stat is read, ~70 file reads fewer a sample."""
    parents = {} if parents is None else parents
    alive = {int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()}
    for pid in list(parents):
        if pid not in alive:
            del parents[pid]
    for pid in alive - parents.keys():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def _rss_pages(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def write_config(work: Path, farm: Farm, embed: str = "needed") -> Path:
    lines = [
        "[network]",
        f"allow_hosts = {json.dumps(farm.allow_hosts)}",
        "allow_public = false",
        "concurrency = 32",
        f"per_host = {farm.per_host}",
        "[state]",
        'path = "state.sqlite"',
        "[output]",
        'dir = "out"',
        "[archive]",
        "enabled = false",
        "[performance]",
        f"embed = {json.dumps(embed)}",
    ]
    for url in farm.feed_urls:
        lines += ["[[feeds]]", f"url = {json.dumps(url)}"]
    path = work / "digest.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def digest_run(work: Path, farm: Farm, embed: str = "needed") -> Measured:
    config = write_config(work, farm, embed)
    command = [sys.executable, "-m", "digest", "run", "--config", str(config)]
    command += ["--since", "36500d", "--until", UNTIL, "--quiet"]
    before = embedded(work)
    result = measure(command, farm)
    report = work / "out" / "report.json"
    result.report = json.loads(report.read_text()) if report.exists() else {}
    result.embedded = embedded(work) - before
    return result


def embedded(work: Path) -> int:
    """How many headline vectors the state holds (each run adds those it embedded)."""
    state = work / "state.sqlite"
    if not state.exists():
        return 0
    with sqlite3.connect(state) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM results WHERE key LIKE 'embed:%'").fetchone()
    return int(count)


def naive_run(farm: Farm) -> Measured:
    command = [sys.executable, str(REPO / "bench" / "naive.py")]
    return measure(command, farm, stdin="\n".join(farm.feed_urls))


def cpu_floor(corpus: Corpus, per_feed: int) -> dict[str, float]:
    """CPU seconds to parse the feeds and extract every entry's page, in this process."""
    import feedparser
    import trafilatura

    from digest import detect
    from digest.config import Detect
    from digest.pageread import read_body

    rules = list(detect.rules(Detect()))
    with Farm(corpus, latency=0, per_feed=per_feed) as farm:
        bodies = list(farm.feeds.values())
    parse = extract = plain = 0.0
    entries = 0
    for body in bodies:
        start = time.process_time()
        links = [e.get("link", "") for e in feedparser.parse(body).entries]
        parse += time.process_time() - start
        for link in links:
            entries += 1
            page = corpus.page_for("/" + link.split("/", 3)[3] if link.count("/") >= 3 else "")
            start = time.process_time()
            read_body(page, link, rules)  # what a worker does with a page
            extract += time.process_time() - start
            start = time.process_time()
            trafilatura.extract(page.decode("utf-8", "replace"))
            plain += time.process_time() - start
    return {"entries": entries, "parse": parse, "extract": extract, "plain": plain}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, nargs="+", default=[0.05, 0.2])
    parser.add_argument("--per-feed", type=int, default=10)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 3, 10])
    parser.add_argument("--scale-per-feed", type=int, default=2)
    parser.add_argument("--hosts", type=int, default=6)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--embed",
        choices=["needed", "all"],
        default="needed",
        help='[performance] embed: "all" embeds every headline of the week (the path before)',
    )
    args = parser.parse_args()
    if not SHARED.is_dir():
        print(f"corpus not found: {SHARED}", file=sys.stderr)
        return 2
    corpus = Corpus()
    args.load = os.getloadavg()[0]
    runs: dict[str, Any] = {}
    for latency in args.latency:
        with Farm(corpus, args.hosts, latency, per_feed=args.per_feed) as farm:
            work = Path(tempfile.mkdtemp(prefix="digest-speed-"))
            cold = digest_run(work, farm, args.embed)
            warm = digest_run(work, farm, args.embed)
            naive = naive_run(farm)
            runs[f"{latency}"] = {
                "cold": cold,
                "warm": warm,
                "naive": naive,
                "feeds": len(farm.feeds),
            }
            print(
                f"latency {latency * 1000:.0f} ms: cold {cold.wall:.1f} s, warm {warm.wall:.1f} s, "
                f"naive {naive.wall:.1f} s",
                flush=True,
            )
    floor = cpu_floor(corpus, args.per_feed)
    print(f"floor: {floor}", flush=True)
    scaling = []
    for copies in args.scales:
        with Farm(
            corpus, args.hosts, args.latency[0], copies=copies, per_feed=args.scale_per_feed
        ) as farm:
            work = Path(tempfile.mkdtemp(prefix="digest-scale-"))
            result = digest_run(work, farm, args.embed)
            scaling.append((copies, result))
            print(
                f"scale {copies}x: {result.report.get('entries')} entries, {result.wall:.1f} s",
                flush=True,
            )
    text = results_markdown(args, runs, floor, scaling)
    args.out.write_text(text)
    print(text)
    return 0


def results_markdown(
    args: argparse.Namespace,
    runs: dict[str, Any],
    floor: dict[str, float],
    scaling: list[tuple[int, Measured]],
) -> str:
    n = cores()
    floor_ours = (floor["parse"] + floor["extract"]) / n
    floor_plain = (floor["parse"] + floor["plain"]) / n
    lines = [
        "# Speed benchmark",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {n} cores with "
        f"`python bench/speed.py --latency {' '.join(map(str, args.latency))} "
        f"--per-feed {args.per_feed} --scales {' '.join(map(str, args.scales))}"
        f"{' --embed all' if args.embed == 'all' else ''}`.",
        "",
        f"Data: the {runs[str(args.latency[0])]['feeds']} real feeds of ../shared/corpus, the "
        f"newest {args.per_feed} entries of each ({int(floor['entries'])} entries), every link "
        f"answered by a real article page, on {args.hosts} loopback addresses, at most "
        "6 requests at once per original host.",
        "",
        "## CPU floor",
        "",
        f"Parsing the feeds: {floor['parse']:.1f} s CPU; reading every page as a digest "
        f"worker does (one parse; trafilatura, metadata, paywall, AI-disclosure scan, style "
        f"features): {floor['extract']:.1f} s; with plain `trafilatura.extract`: "
        f"{floor['plain']:.1f} s. Divided by {n} cores: **floor {floor_plain:.1f} s** (plain "
        f"extraction of every page, the issue's floor), {floor_ours:.1f} s (digest's work on "
        "every page). A run that reads fewer pages can beat either.",
        "",
        "## Cold, warm and naive",
        "",
        f"Load average (1 min) at the start {args.load:.1f}, at the end "
        f"{os.getloadavg()[0]:.1f} (the machine is shared): compare the ratios, measured in "
        "the same run.",
        "",
        "| latency | run | wall s | CPU s | peak RSS (tree) MB | peak PSS (tree) MB | "
        "largest process MB | feed bodies | 304s | pages fetched / entries | pages skipped | "
        "feed texts unscanned | headlines embedded | wall / floor | wall / digest floor | "
        "naive / this |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for latency, group in runs.items():
        naive_wall = group["naive"].wall
        entries = int(group["cold"].report.get("entries", 0))
        for name in ("cold", "warm", "naive"):
            m: Measured = group[name]
            requests = m.report.get("requests", {})
            skipped = requests.get("pages_skipped", "")
            unscanned = requests.get("feed_texts_unscanned", "")
            lines.append(
                f"| {float(latency) * 1000:.0f} ms | {name} | {m.wall:.1f} | {m.cpu:.1f} | "
                f"{m.peak_rss_mb:.0f} | {m.peak_pss_mb:.0f} | {m.max_process_mb:.0f} | "
                f"{m.hits.get('feed', 0)} | "
                f"{m.hits.get('feed-304', 0)} | {m.hits.get('page', 0)} / {entries} | {skipped} | "
                f"{unscanned} | "
                f"{m.embedded if name != 'naive' else ''} | "
                f"{m.wall / floor_plain:.2f} | {m.wall / floor_ours:.2f} | "
                f"{naive_wall / m.wall:.1f}x |"
            )
    lines += [
        "",
        "Peak RSS (tree) is the largest sum of the resident sets of the run's processes, "
        "sampled every 20 ms (the issue's measure). A page shared by several processes (a "
        "fork server's modules in its workers) counts once per process there; peak PSS "
        "(tree), sampled alike, counts it once, split among them.",
        "",
        "Where a run's time goes (`report.json` timings, s):",
        "",
    ]
    for latency, group in runs.items():
        for name in ("cold", "warm"):
            timings = group[name].report.get("timings", {})
            spent = ", ".join(f"{stage} {value:.1f}" for stage, value in timings.items())
            lines.append(f"- {float(latency) * 1000:.0f} ms {name}: {spent}")
    lines += [
        "",
        "## Scaling (cold runs)",
        "",
        "| scale | entries | wall s | CPU s | ms CPU per entry |",
        "|---|---|---|---|---|",
    ]
    for copies, m in scaling:
        entries = int(m.report.get("entries", 0)) or 1
        lines.append(
            f"| {copies}x | {entries} | {m.wall:.1f} | {m.cpu:.1f} | {1000 * m.cpu / entries:.1f} |"
        )
    lines += ["", "Model calls: none (no `[llm]` in the benchmark's config).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
