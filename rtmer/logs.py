"""rtmer's own lines only: what third-party native code prints at start-up stays off the terminal.

MediaPipe's TensorFlow Lite and absl write their start-up lines (XNNPACK delegate, feedback
manager, "log messages before absl::InitializeLog()") from C++ straight to file descriptor 2, past
Python's ``sys.stderr``, so :func:`quiet_native_output` points that descriptor at the null device
around the calls that print them. ``--verbose`` (:func:`set_verbose`) or ``RTMER_VERBOSE=1`` lets
them through. rtmer's own messages never go through here.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_verbose = os.environ.get("RTMER_VERBOSE", "").strip().lower() in ("1", "true", "yes")
_lock = threading.Lock()


def set_verbose(on: bool) -> None:
    """Let third-party output through (True) or keep it quiet (False, the default)."""
    global _verbose
    _verbose = bool(on)


def is_verbose() -> bool:
    return _verbose


@contextmanager
def quiet_native_output() -> Iterator[None]:
    """Send what native code writes to stderr to the null device for the ``with`` body.

    Calls from several threads are serialised, so each restores the descriptor it replaced.
    """
    if _verbose:
        yield
        return
    with _lock:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):
            # No descriptor 2 to redirect (an embedding host, a closed stderr): nothing to quiet.
            yield
            return
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(null)
