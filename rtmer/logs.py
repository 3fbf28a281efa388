"""rtmer's own lines only: what third-party native code prints stays off the terminal.

MediaPipe's TensorFlow Lite and absl write their lines (XNNPACK delegate, feedback manager, "log
messages before absl::InitializeLog()", landmark projection) from C++ threads straight to file
descriptor 2, past Python's ``sys.stderr``, at start-up and later, whenever a graph's calculator
first runs; no environment variable of theirs turns them off. So while such a library is in use
(:func:`hold_native_quiet` ... ``release()``) descriptor 2 points at the null device and Python's
``sys.stderr``, when it wrote to descriptor 2, is rebound to a copy of the original: rtmer's own
messages and Python's tracebacks still reach the terminal. ``--verbose`` (:func:`set_verbose`) or
``RTMER_VERBOSE=1`` lets everything through.
"""

from __future__ import annotations

import io
import os
import sys
import threading
from collections.abc import Callable
from typing import TextIO

_verbose = os.environ.get("RTMER_VERBOSE", "").strip().lower() in ("1", "true", "yes")
_lock = threading.Lock()
_holders = 0
_saved: tuple[int, TextIO | None, TextIO | None] | None = None  # (fd, sys.stderr then, rebound)


def set_verbose(on: bool) -> None:
    """Let third-party output through (True) or keep it quiet (False, the default)."""
    global _verbose
    _verbose = bool(on)


def is_verbose() -> bool:
    return _verbose


def _writes_to_fd2(stream: object) -> bool:
    try:
        return stream is not None and stream.fileno() == 2  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False


def hold_native_quiet() -> Callable[[], None]:
    """Silence descriptor 2 until the returned ``release`` has been called (nested holds count).

    A no-op when verbose, or where there is no descriptor 2 to redirect.
    """
    global _holders, _saved
    if _verbose:
        return lambda: None
    with _lock:
        if _holders == 0:
            try:
                sys.stderr.flush()
                fd = os.dup(2)
            except (OSError, ValueError, AttributeError):
                return lambda: None
            rebound = None
            previous = sys.stderr
            if _writes_to_fd2(previous):
                encoding = previous.encoding
                rebound = os.fdopen(os.dup(fd), "w", buffering=1, encoding=encoding, errors="replace")
                sys.stderr = rebound
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            os.close(null)
            _saved = (fd, previous if rebound is not None else None, rebound)
        _holders += 1
    released = threading.Event()

    def release() -> None:
        global _holders, _saved
        if released.is_set():
            return
        released.set()
        with _lock:
            _holders -= 1
            if _holders > 0 or _saved is None:
                return
            fd, previous, rebound = _saved
            _saved = None
            if rebound is not None:
                rebound.flush()
                if sys.stderr is rebound:
                    sys.stderr = previous
                rebound.close()
            os.dup2(fd, 2)
            os.close(fd)

    return release
