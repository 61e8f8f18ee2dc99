"""digest: automotive news feeds in, an editor's weekly newsletter out.

The small public API: `load_config(path)` and `run(config, options)`; everything else
is reached through the `digest` command.
"""

from __future__ import annotations

import sys
from typing import Any

__version__ = "0.1.0"

# httpx imports its own command-line client (rich's console, click, pygments: ~30 ms of
# CPU in every process that imports httpx) whenever those are installed; digest never
# runs that client, so it is not imported (`httpx.main` then says it cannot run).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

__all__ = ["RunOptions", "__version__", "load_config", "run"]


def __getattr__(name: str) -> Any:
    """Import the heavy stages only when the API is used, not on `import digest`."""
    if name == "load_config":
        from digest.config import load_config

        return load_config
    if name in ("run", "RunOptions"):
        from digest import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'digest' has no attribute {name!r}")
