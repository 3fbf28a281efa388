"""The motion signal: head motion removed, a local AU stands out of the noise, flicker cancels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from rtmer.errors import InputError
from rtmer.spotting.signal import MotionSignal
from rtmer.types import MotionState

H = W = 64


def _masks() -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Two face regions (left and right halves of the middle band), the rigid border and an eye."""
    left, right = np.zeros((H, W), bool), np.zeros((H, W), bool)
    left[16:48, 8:32], right[16:48, 32:56] = True, True
    rigid = np.ones((H, W), bool)
    rigid[12:52, 4:60] = False
    eyes = np.zeros((H, W), bool)
    eyes[18:22, 12:20] = True
    return {"left": left, "right": right}, rigid, eyes


def _noise(rng: np.random.Generator, sigma: float = 0.1) -> np.ndarray:
    """Spatially correlated flow noise, as TV-L1 gives on a still, noisy face."""
    n = rng.normal(0.0, sigma, (H, W, 2)).astype(np.float32)
    return cv2.GaussianBlur(n, (0, 0), 1.5) * 3.0


def _state(k: int, fps: float, flow: np.ndarray) -> MotionState:
    z = np.zeros((H, W), np.float32)
    return MotionState(k, k / fps, 0, flow.astype(np.float32), z, z.astype(np.uint8), 0)


def _signal(block_px: int = 4) -> MotionSignal:
    regions, rigid, eyes = _masks()
    return MotionSignal(regions, rigid, eyes, block_px=block_px)


def _affine(k: int) -> np.ndarray:
    """A head motion: translation, small rotation and scale, growing with k."""
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    a = 0.02 * k
    return np.stack([a * (3 + 0.02 * (xs - 32) - 0.01 * (ys - 32)), a * (-2 + 0.01 * (xs - 32))], axis=-1)


def test_local_patch_stands_out_and_head_motion_does_not() -> None:
    rng = np.random.default_rng(0)
    fps = 200.0
    sig = _signal()
    quiet = [sig(_state(k, fps, _noise(rng) + _affine(k))).face for k in range(1, 200)]
    patch = _noise(rng) + _affine(200)
    patch[24:32, 40:48, 1] += 0.3  # a 0.3 px AU moving one 8 x 8 patch of the right region
    frames = [sig(_state(200 + j, fps, patch + _noise(rng) * 0.2)) for j in range(3)]
    assert frames[-1].face > 3 * np.median(quiet)
    assert dict(frames[-1].regions)["right"] > 2 * dict(frames[-1].regions)["left"]
    # The head moved by up to 5 px over the quiet frames without raising the face signal.
    assert max(quiet[50:]) < 2 * np.median(quiet)
    assert frames[-1].head > 1.0 and np.isfinite(frames[-1].level)


def test_flicker_alternation_cancels_at_200_fps() -> None:
    """Lamp flicker at twice the mains frequency alternates frame to frame at 200 fps; the 10 ms
    vector average cancels it, while a single frame (smooth_s = 0) sees it whole."""
    rng = np.random.default_rng(1)
    regions, rigid, eyes = _masks()
    flicker = np.zeros((H, W, 2), np.float32)
    flicker[16:48, 8:56, 0] = 0.3
    smooth, raw = (MotionSignal(regions, rigid, eyes, block_px=4, smooth_s=s) for s in (0.01, 0.0))
    out_s, out_r = [], []
    for k in range(1, 300):
        f = _noise(rng) + (flicker if k % 2 else -flicker)
        out_s.append(smooth(_state(k, 200.0, f)).face)
        out_r.append(raw(_state(k, 200.0, f)).face)
    assert np.median(out_s[100:]) < 0.5 * np.median(out_r[100:])


def test_bad_masks_and_blocks() -> None:
    regions, rigid, eyes = _masks()
    with pytest.raises(InputError):
        MotionSignal(regions, rigid, np.zeros_like(eyes))
    with pytest.raises(InputError):
        MotionSignal(regions, rigid, eyes, block_px=0)
