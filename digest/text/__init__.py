"""The text layer: every stage reads and cuts text through these modules.

* `markup`: HTML fragments to plain text (lxml), whitespace and control characters;
* `sentences`: sentence splitting for English news text;
* `words`: the word and token patterns;
* `figures`: numbers, money, scales and units as written in news text;
* `vectors`: sparse TF-IDF vectors and their cosine.
"""

from __future__ import annotations

from digest.text.markup import html_to_text, squash
from digest.text.sentences import CLOSE_QUOTES, OPEN_QUOTES, split_sentences

__all__ = ["CLOSE_QUOTES", "OPEN_QUOTES", "html_to_text", "split_sentences", "squash"]
