"""Data-set fixtures: tiny stand-ins in each distribution's layout (writers in tests/data/fixtures.py)."""

from __future__ import annotations

import pytest

from tests.data.fixtures import MirrorRoots, mirror_counts


@pytest.fixture(scope="session")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> MirrorRoots:
    """CASME II, SAMM, SMIC-HS and CK+ with their real composition, written once per session.

    Shared by many tests: treat it as read-only.
    """
    return mirror_counts(tmp_path_factory.mktemp("mirror"))
