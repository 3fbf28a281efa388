"""remap: every implementation of the bicubic backward warp against the one it twins, and exact shifts."""

from __future__ import annotations

import numpy as np
import pytest
from motion_impls import IMPLS, assert_twin

from rtmer import motion, refdata
from rtmer.errors import InputError


def _grid(h: int, w: int) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.dstack([xs, ys])


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (7, 1), (37, 53), (37, 53, 3), (20, 31, 4), (16, 16, 1)])
@pytest.mark.parametrize("a", [-0.5, -0.75])
def test_remap(shape: tuple[int, ...], a: float, impl: str) -> None:
    rng = np.random.default_rng(sum(shape))
    img = rng.integers(0, 256, shape, dtype=np.uint8)
    h, w = shape[:2]
    grid = _grid(h + 3, w + 2) + rng.uniform(-3, 3, (h + 3, w + 2, 2)).astype(np.float32)
    out = motion.remap(img, grid, a=a, impl=impl)
    assert out.dtype == np.float32 and out.shape == (h + 3, w + 2) + shape[2:]
    assert_twin("remap", impl, out, lambda twin: motion.remap(img, grid, a=a, impl=twin))


def test_identity_is_exact_and_integer_shift_is_a_roll() -> None:
    face = refdata.astronaut_face(64)
    grid = _grid(64, 64)
    np.testing.assert_array_equal(motion.remap(face, grid), face.astype(np.float32))
    shifted = motion.remap(face, grid + np.float32([2, -1]))
    rolled = np.roll(face, (1, -2), axis=(0, 1))
    np.testing.assert_allclose(shifted[4:-4, 4:-4], rolled[4:-4, 4:-4], atol=1e-3)


@pytest.mark.parametrize("shift", [0.05, 0.25, 0.5, 0.8])
def test_catmull_rom_reproduces_a_ramp_shift_exactly(shift: float) -> None:
    """a = -0.5 is exact on linear intensity, so rendered sub-pixel motion is what was asked for."""
    ramp = np.tile(np.arange(32, dtype=np.float32) * 3.0, (8, 1))
    out = motion.remap(ramp, _grid(8, 32) + np.float32([shift, 0.0]))
    np.testing.assert_allclose(out[:, 2:-3], ramp[:, 2:-3] + 3.0 * shift, atol=1e-4)


def test_keys_075_is_not_exact_on_a_ramp() -> None:
    """Why the default is -0.5: OpenCV's -0.75 moves a ramp by up to ~0.05 px more or less."""
    ramp = np.tile(np.arange(32, dtype=np.float32), (4, 1))
    out = motion.remap(ramp, _grid(4, 32) + np.float32([0.25, 0.0]), a=-0.75)
    assert abs(float(out[:, 4:-4].mean() - (ramp[:, 4:-4].mean() + 0.25))) > 0.02


def test_errors() -> None:
    grid = _grid(4, 4)
    with pytest.raises(InputError):
        motion.remap(np.zeros((4, 4, 5), np.uint8), grid)
    with pytest.raises(InputError):
        motion.remap(np.zeros((4, 4), np.int32), grid)
    with pytest.raises(InputError):
        motion.remap(np.zeros((4, 4), np.uint8), grid[..., :1])
    with pytest.raises(InputError):
        motion.remap(np.zeros((4, 4), np.uint8), grid, a=0.5)
