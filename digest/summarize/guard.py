"""Guards for model-written text: faithfulness (`unsupported`) and hygiene (`clean`).

The rules live with their code: `digest.summarize.faithfulness` (every number and name in
a summary must be in the article) and `digest.summarize.hygiene` (no markup, links or
addresses in what is shown). The model writer uses both through this module.
"""

from __future__ import annotations

from digest.summarize.faithfulness import unsupported
from digest.summarize.hygiene import clean

__all__ = ["clean", "unsupported"]
