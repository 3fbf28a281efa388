"""Files written so that no reader, and no interrupted run, ever leaves or sees a partial one."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` (its folder created) to write the new file to: on a clean
    exit it replaces ``path`` in one rename (atomic on one file system); on an error it is removed
    and ``path`` is left as it was.

    The name is unique per process and call, so concurrent writers of one file each rename a
    complete file of their own.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
