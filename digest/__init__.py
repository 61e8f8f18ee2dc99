"""digest: automotive news feeds in, an editor's weekly newsletter out."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
