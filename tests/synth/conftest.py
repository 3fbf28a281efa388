"""Shared synthetic subjects: landmarking the base face once per session (MediaPipe start-up)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rtmer.synth import faces, generator
from rtmer.synth.subjects import BaseFace, Subject


@pytest.fixture(scope="session")
def base_faces() -> list[BaseFace]:
    return faces.default_faces()


@pytest.fixture(scope="session")
def subject(base_faces: list[BaseFace]) -> Subject:
    return generator.make_subjects(1, base_faces, (256, 256), 70.0, seed=5)[0]


@pytest.fixture(scope="session")
def clean_subject(subject: Subject) -> Subject:
    """The same subject without camera noise, to see the renderer alone."""
    return dataclasses.replace(subject, noise_sigma=0.0)


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
