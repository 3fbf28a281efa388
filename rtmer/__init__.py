"""rtmer: real-time facial micro-expression recognition."""

from __future__ import annotations

__version__ = "0.1.0"

from rtmer.errors import RtmerError  # noqa: E402

__all__ = ["RtmerError", "__version__"]
