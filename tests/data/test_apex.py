"""SMIC apex conventions: middle frame (CropNet) and maximum mean flow against onset (MJFN)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from rtmer import refdata
from rtmer.data.apex import APEX_CONVENTIONS, max_flow_frame, middle_frame, with_apex
from rtmer.errors import DatasetError, InputError
from rtmer.types import Clip

N_FRAMES, PEAK = 14, 9


def smic_clip(folder: Path, n: int = N_FRAMES, peak: int = PEAK, *, onset: int = 0) -> Clip:
    """A SMIC-like clip (no apex) of the astronaut's face warped by a smooth field whose strength
    follows a Gaussian bump over time, largest at frame ``peak``; frames before ``onset`` are noise."""
    face = refdata.astronaut_face(96)
    field = refdata.smooth_field(96, 96, 2.5, seed=5)
    paths = []
    rng = np.random.default_rng(0)
    for t in range(n):
        if t < onset:
            image = rng.integers(0, 256, face.shape, dtype=np.uint8)
        elif t == onset:
            image = face
        else:
            strength = np.float32(np.exp(-((t - peak) ** 2) / (2 * 1.5**2)))  # float32 on numpy 1 and 2
            image = refdata.warp(face, field * strength, as_uint8=True)
        path = folder / f"image{1000 + t:06d}.bmp"  # SMIC-HS names its frames imageNNNNNN.bmp
        assert cv2.imwrite(str(path), image)
        paths.append(path)
    return Clip(
        "smic", "s1", "s1_po_01", tuple(paths), tuple(range(1000, 1000 + n)), 100.0, onset, None, n - 1, "po"
    )


def test_middle_frame() -> None:
    c = Clip(
        "smic",
        "s1",
        "x",
        tuple(Path(f"{i}.bmp") for i in range(10)),
        tuple(range(10)),
        100.0,
        2,
        None,
        9,
        "po",
    )
    assert middle_frame(c) == 5  # (2 + 9) // 2
    assert middle_frame(dataclasses.replace(c, onset=2, offset=8)) == 5
    assert middle_frame(dataclasses.replace(c, onset=4, offset=4)) == 4
    with pytest.raises(DatasetError, match="onset 2 and offset 10"):
        middle_frame(dataclasses.replace(c, offset=10))


def test_max_flow_frame_finds_the_motion_peak(tmp_path: Path) -> None:
    clip = smic_clip(tmp_path)
    assert max_flow_frame(clip) == PEAK
    assert middle_frame(clip) != PEAK  # the two conventions differ on this clip
    assert max_flow_frame(clip, size=64) == PEAK


def test_max_flow_frame_starts_at_onset(tmp_path: Path) -> None:
    """Frames before the onset are never candidates, even when they differ most from it."""
    clip = smic_clip(tmp_path, n=16, peak=11, onset=3)
    assert max_flow_frame(clip) == 11


def test_with_apex(tmp_path: Path) -> None:
    clip = smic_clip(tmp_path)
    assert with_apex(clip, "max-flow").apex == PEAK
    assert with_apex(clip, "middle").apex == (N_FRAMES - 1) // 2
    assert with_apex(clip).apex == (N_FRAMES - 1) // 2
    annotated = dataclasses.replace(clip, apex=3)
    assert with_apex(annotated, "max-flow") is annotated  # an annotated apex is kept
    assert set(APEX_CONVENTIONS) == {"middle", "max-flow"}
    with pytest.raises(InputError, match="unknown apex convention 'peak'.*middle, max-flow"):
        with_apex(clip, "peak")


def test_one_frame_clip(tmp_path: Path) -> None:
    clip = dataclasses.replace(smic_clip(tmp_path, n=3), onset=2, offset=2)
    assert max_flow_frame(clip) == 2


def test_unreadable_frames_are_dataset_errors(tmp_path: Path) -> None:
    clip = smic_clip(tmp_path, n=4, peak=2)
    missing = dataclasses.replace(clip, frames=(*clip.frames[:2], tmp_path / "gone.bmp", clip.frames[3]))
    with pytest.raises(DatasetError, match=r"gone\.bmp: it does not exist"):
        max_flow_frame(missing)
    broken = tmp_path / "broken.bmp"
    broken.write_bytes(b"not an image")
    with pytest.raises(DatasetError, match=r"broken\.bmp: OpenCV cannot decode it"):
        max_flow_frame(dataclasses.replace(clip, frames=(broken, *clip.frames[1:])))
