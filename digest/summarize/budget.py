"""What a run may spend on the model, and what it did spend.

`max_calls` and `max_tokens` are hard limits per run. A call is only made when the
budget can take it: its prompt tokens as counted, plus the most it may answer; after
the call the reservation is settled with the usage the server reported. When the
budget is spent, the remaining stories get the offline summary and the report says
how many and why. Thread-safe: several requests run at once.
"""

from __future__ import annotations

import threading
import tomllib
from collections import Counter
from functools import cache
from pathlib import Path

from digest.config import Llm, Price

__all__ = ["Budget", "cost", "price_of"]


class Budget:
    def __init__(self, max_calls: int, max_tokens: int) -> None:
        self.max_calls = max_calls
        self.max_tokens = max_tokens
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self._reserved = 0
        self._lock = threading.Lock()

    def take(self, estimate: int) -> str:
        """Reserve one call of up to `estimate` tokens; "" when granted, else why not."""
        with self._lock:
            if self.calls >= self.max_calls:
                return f"max_calls ({self.max_calls}) reached"
            spent = self.prompt_tokens + self.completion_tokens + self._reserved
            if spent + estimate > self.max_tokens:
                return f"max_tokens ({self.max_tokens:,}) reached"
            self.calls += 1
            self._reserved += estimate
            return ""

    def release(self, estimate: int) -> None:
        """Give back a reservation whose call was never made."""
        with self._lock:
            self.calls -= 1
            self._reserved -= estimate

    def settle(self, estimate: int, prompt: int, completion: int) -> None:
        """Replace a reservation with what the call used (0, 0 when it failed)."""
        with self._lock:
            self._reserved -= estimate
            self.prompt_tokens += prompt
            self.completion_tokens += completion


@cache
def _builtin_prices() -> dict[str, Price]:
    raw = tomllib.loads((Path(__file__).parent / "prices.toml").read_text(encoding="utf-8"))
    return {model: Price.model_validate(p) for model, p in raw["prices"].items()}


def price_of(settings: Llm, model: str) -> Price | None:
    """The price of `model`: the config's table first, then the built-in one; a
    provider prefix ("openai/gpt-4.1-mini") falls back to the bare model id."""
    if settings.provider == "ollama":
        return Price(input=0.0, output=0.0)
    for table in (settings.prices, _builtin_prices()):
        for name in (model, model.rpartition("/")[2]):
            if name in table:
                return table[name]
    return None


def cost(price: Price | None, prompt: int, completion: int) -> float | None:
    """US dollars, or None when the model has no price."""
    if price is None:
        return None
    return round((prompt * price.input + completion * price.output) / 1_000_000, 6)


def reasons_line(reasons: Counter[str]) -> str:
    return "; ".join(f"{why} ({n})" for why, n in reasons.most_common())
