"""CropNet residual sums (ARS, RRS): every implementation against the one it twins, and the public checks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from motion_impls import IMPLS, assert_twin

from rtmer import motion
from rtmer.errors import InputError

OPS: dict[str, Callable[..., np.ndarray]] = {
    "residual_sum": motion.residual_sum,
    "absolute_residual_sum": motion.absolute_residual_sum,
    "relative_residual_sum": motion.relative_residual_sum,
}
OUT_DTYPES = {"residual_sum": np.uint16, "absolute_residual_sum": np.uint8, "relative_residual_sum": np.uint8}

SHAPES = [(1, 1), (1, 7), (13, 1), (37, 53), (37, 53, 3), (5, 6, 1), (480, 640, 3)]


def _clip(shape: tuple[int, ...], k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """k random uint8 frames of ``shape`` and a random reference."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (k, *shape), dtype=np.uint8), rng.integers(0, 256, shape, dtype=np.uint8)


def _assert_twins(op: str, frames: object, ref: np.ndarray, *args: int, impl: str = "native") -> np.ndarray:
    """``op`` by ``impl`` has the right dtype and shape and equals its twin's result; returns it."""
    out = OPS[op](frames, ref, *args, impl=impl)
    assert out.dtype == OUT_DTYPES[op] and out.shape == np.shape(ref)
    assert_twin("residual_sum", impl, out, lambda twin: OPS[op](frames, ref, *args, impl=twin))
    return out


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_residual_sums(op: str, shape: tuple[int, ...], impl: str) -> None:
    frames, ref = _clip(shape, 6, seed=sum(shape))
    _assert_twins(op, frames, ref, impl=impl)


@pytest.mark.parametrize("op", OPS)
def test_list_of_frames_equals_stack(op: str) -> None:
    frames, ref = _clip((19, 23, 3), 5, seed=1)
    stacked = _assert_twins(op, frames, ref)
    np.testing.assert_array_equal(_assert_twins(op, list(frames), ref), stacked)
    np.testing.assert_array_equal(_assert_twins(op, tuple(frames), ref), stacked)


@pytest.mark.parametrize("op", OPS)
def test_non_contiguous_inputs(op: str) -> None:
    frames, ref = _clip((40, 60, 3), 9, seed=2)
    # Every other frame, row and column: strided on every axis.
    sub_frames, sub_ref = frames[::2, ::2, ::3], ref[::2, ::3]
    assert not sub_frames.flags.c_contiguous and not sub_ref.flags.c_contiguous
    expected = OPS[op](np.ascontiguousarray(sub_frames), np.ascontiguousarray(sub_ref), impl="reference")
    np.testing.assert_array_equal(_assert_twins(op, sub_frames, sub_ref), expected)
    # Transposed gray frames (Fortran-ordered views), given as a list.
    gray, gray_ref = frames[..., 0], ref[..., 0]
    views = [f.T for f in gray]
    expected = OPS[op](
        np.stack([np.ascontiguousarray(v) for v in views]), gray_ref.T.copy(), impl="reference"
    )
    np.testing.assert_array_equal(_assert_twins(op, views, gray_ref.T), expected)


@pytest.mark.parametrize(("gmin", "gmax"), [(0, 255), (10, 20), (0, 0), (255, 255), (7, 8), (100, 101)])
def test_relative_residual_sum_range(gmin: int, gmax: int) -> None:
    frames, ref = _clip((31, 17, 3), 4, seed=3)
    out = _assert_twins("relative_residual_sum", frames, ref, gmin, gmax)
    assert out.min() == gmin and out.max() == gmax


@pytest.mark.parametrize("impl", IMPLS)
def test_flat_residual_gives_gmin(impl: str) -> None:
    ref = np.full((5, 9, 3), 40, np.uint8)
    frames = np.full((3, 5, 9, 3), 50, np.uint8)
    out = motion.relative_residual_sum(frames, ref, 12, 200, impl=impl)
    np.testing.assert_array_equal(out, np.full((5, 9, 3), 12, np.uint8), strict=True)
    zero = motion.relative_residual_sum([ref], ref, 3, impl=impl)  # no motion at all
    np.testing.assert_array_equal(zero, np.full((5, 9, 3), 3, np.uint8), strict=True)


@pytest.mark.parametrize("impl", IMPLS)
def test_absolute_residual_sum_wraps(impl: str) -> None:
    ref = np.zeros((2, 3), np.uint8)
    frames = [np.full((2, 3), 200, np.uint8)] * 2
    np.testing.assert_array_equal(motion.residual_sum(frames, ref, impl=impl), np.full((2, 3), 400))
    np.testing.assert_array_equal(motion.absolute_residual_sum(frames, ref, impl=impl), np.full((2, 3), 144))


@pytest.mark.parametrize("impl", IMPLS)
def test_relative_residual_sum_hand_example(impl: str) -> None:
    ref = np.array([[10, 20, 30, 40]], np.uint8)
    frames = np.array([[[10, 21, 33, 50]], [[10, 19, 27, 40]]], np.uint8)
    # Sums |f - ref|: 0, 2, 6, 10. Stretch to [0, 255]: 0, 51, 153, 255.
    np.testing.assert_array_equal(motion.residual_sum(frames, ref, impl=impl), [[0, 2, 6, 10]])
    np.testing.assert_array_equal(motion.relative_residual_sum(frames, ref, impl=impl), [[0, 51, 153, 255]])
    # To [10, 20]: 10 + 10 * (0, 0.2, 0.6, 1) = 10, 12, 16, 20.
    np.testing.assert_array_equal(
        motion.relative_residual_sum(frames, ref, 10, 20, impl=impl), [[10, 12, 16, 20]]
    )
    # To [0, 5]: 0, 1, 3, 5 (exact); to [0, 4]: 0, 0.8, 2.4, 4 -> 0, 1, 2, 4.
    np.testing.assert_array_equal(motion.relative_residual_sum(frames, ref, 0, 4, impl=impl), [[0, 1, 2, 4]])


@pytest.mark.parametrize("impl", IMPLS)
def test_257_frames_fit_258_do_not(impl: str) -> None:
    ref = np.zeros((3, 4), np.uint8)
    frames = np.full((258, 3, 4), 255, np.uint8)
    # 257 * 255 = 65535: the largest sum a uint16 holds.
    np.testing.assert_array_equal(motion.residual_sum(frames[:257], ref, impl=impl), np.full((3, 4), 65535))
    with pytest.raises(InputError, match="257"):
        motion.residual_sum(frames, ref, impl=impl)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("impl", ["native", "reference"])
def test_rejects_bad_inputs(op: str, impl: str) -> None:
    fn = OPS[op]
    frames, ref = _clip((8, 9), 3, seed=4)
    bad: list[tuple[object, object]] = [
        (frames.astype(np.float32), ref),  # float frames
        (frames, ref.astype(np.float64)),  # float reference
        (frames.astype(np.uint16), ref),  # uint16 frames
        (frames, ref.astype(np.uint16)),
        (frames[:, :7], ref),  # shape mismatch, stacked
        ([frames[0], frames[1][:, :8]], ref),  # shape mismatch in a list
        (np.zeros((2, 8, 9, 3), np.uint8), ref),  # colour frames, gray reference
        ([], ref),  # no frames
        (np.zeros((0, 8, 9), np.uint8), ref),  # no frames, stacked
        (np.zeros((1, 0, 9), np.uint8), np.zeros((0, 9), np.uint8)),  # empty images
        (frames[:, 0, 0], ref[0, 0]),  # 0-d reference
        (np.zeros((1, 4, 4, 2), np.uint8), np.zeros((4, 4, 2), np.uint8)),  # two channels
    ]
    for frames_arg, ref_arg in bad:
        with pytest.raises(InputError):
            fn(frames_arg, ref_arg, impl=impl)


@pytest.mark.parametrize(("gmin", "gmax"), [(-1, 255), (0, 256), (20, 10), (0.5, 255)])
def test_relative_residual_sum_rejects_range(gmin: float, gmax: float) -> None:
    frames, ref = _clip((4, 4), 2, seed=5)
    with pytest.raises(InputError):
        motion.relative_residual_sum(frames, ref, gmin, gmax)  # type: ignore[arg-type]


def test_rejects_unknown_impl() -> None:
    frames, ref = _clip((4, 4), 2, seed=6)
    with pytest.raises(InputError):
        motion.residual_sum(frames, ref, impl="bogus")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("onset", "apex", "offset", "expected"),
    [(10, 40, 60, [15, 20, 25, 30, 35, 40]), (10, 15, 60, [12, 14, 16, 18, 20])],
)
def test_key_frames_paper_examples(onset: int, apex: int, offset: int, expected: list[int]) -> None:
    # The public re-export (key frames by CropNet's eq. 3-4); the twin's edge cases: test_reference.py.
    assert motion.key_frames(onset, apex, offset) == expected


def test_ars_of_key_frames_of_a_clip() -> None:
    clip = np.random.default_rng(7).integers(0, 256, (61, 12, 10, 3), dtype=np.uint8)
    keys = motion.key_frames(10, 40, 60)
    out = motion.absolute_residual_sum(clip[keys], clip[10], impl="native")
    expected = np.abs(clip[keys].astype(int) - clip[10].astype(int)).sum(axis=0) % 256
    np.testing.assert_array_equal(out, expected)
