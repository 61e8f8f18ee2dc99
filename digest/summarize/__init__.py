"""Summaries of articles for the digest.

The offline extractive summarizer is the default and the fallback for any model-based
one: it needs no network, no model and no heavy NLP package, and never raises.
"""

from __future__ import annotations

from digest.summarize.extractive import DEFAULT_MAX_WORDS, Tuning, is_junk, summarize_text

__all__ = ["DEFAULT_MAX_WORDS", "Tuning", "is_junk", "summarize_text"]
