"""Weights of every registered model, written once per session (see backend_helpers)."""

from __future__ import annotations

import pytest
from backend_helpers import NAMES, Exported, export_model


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Exported]:
    folder = tmp_path_factory.mktemp("weights")
    return {name: export_model(name, folder) for name in NAMES}
