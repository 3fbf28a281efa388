"""Optical strain and flow colour coding: every implementation against the one it twins, and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from motion_impls import IMPLS, assert_twin

from rtmer import _native, motion
from rtmer.errors import InputError
from rtmer.motion import reference

SHAPES = [(1, 1), (1, 9), (9, 1), (2, 2), (37, 53), (120, 97)]


def _flow(shape: tuple[int, int], seed: int, scale: float = 3.0) -> np.ndarray:
    """A random (H, W, 2) float32 flow."""
    return np.random.default_rng(seed).normal(scale=scale, size=(*shape, 2)).astype(np.float32)


def _assert_strain_twins(flow: np.ndarray, impl: str = "native") -> np.ndarray:
    """Strain by ``impl`` matches its twin's; returns it."""
    out = motion.optical_strain(flow, impl=impl)
    assert out.dtype == np.float32 and out.shape == flow.shape[:2]
    assert_twin("optical_strain", impl, out, lambda twin: motion.optical_strain(flow, impl=twin))
    return out


def _assert_color_close(native: np.ndarray, expected: np.ndarray) -> None:
    """Colour images within one grey level (float32 rounding before the floor)."""
    assert native.dtype == np.uint8 and native.shape == expected.shape
    assert np.abs(native.astype(int) - expected.astype(int)).max() <= 1


# ---------------------------------------------------------------------------------------------
# optical strain
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", [*SHAPES, (480, 640)], ids=str)
def test_optical_strain(shape: tuple[int, int], impl: str) -> None:
    _assert_strain_twins(_flow(shape, seed=shape[0] * 100 + shape[1]), impl)


def test_strain_non_contiguous_and_float64() -> None:
    big = _flow((60, 80), seed=1)
    for view in (big[::2, ::3], big.transpose(1, 0, 2), big[:, :, ::-1]):
        assert not view.flags.c_contiguous
        np.testing.assert_array_equal(
            _assert_strain_twins(view), motion.optical_strain(view.copy(), impl="native")
        )
    f64 = big.astype(np.float64)
    np.testing.assert_array_equal(
        motion.optical_strain(f64, impl="native"), motion.optical_strain(big, impl="native")
    )


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("shape", [(9, 13), (1, 6), (6, 1)], ids=str)
def test_strain_of_linear_flow(impl: str, shape: tuple[int, int]) -> None:
    # u = a x + b y, v = c x + d y: strain sqrt(a^2 + d^2 + (b + c)^2 / 2) everywhere.
    a, b, c, d = 0.25, -0.5, 0.125, 0.75
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    flow = np.dstack([a * x + b * y, c * x + d * y])
    # No derivative along an axis of length 1 (numpy.gradient's convention in the kernel).
    b_, d_ = (b, d) if shape[0] > 1 else (0.0, 0.0)
    a_, c_ = (a, c) if shape[1] > 1 else (0.0, 0.0)
    expected = math.sqrt(a_**2 + d_**2 + 0.5 * (b_ + c_) ** 2)
    np.testing.assert_allclose(motion.optical_strain(flow, impl=impl), expected, rtol=1e-6)


def test_strain_matches_np_gradient() -> None:
    flow = _flow((23, 31), seed=2)
    u_y, u_x = np.gradient(flow[..., 0].astype(np.float64))
    v_y, v_x = np.gradient(flow[..., 1].astype(np.float64))
    expected = np.sqrt(u_x**2 + v_y**2 + 0.5 * (u_y + v_x) ** 2)
    np.testing.assert_allclose(motion.optical_strain(flow, impl="native"), expected, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# flow colour coding
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_hues", [6, 7, 30, 55, 64, 180])
def test_color_wheel_native_equals_reference(n_hues: int) -> None:
    np.testing.assert_array_equal(_native._C.color_wheel(n_hues), reference.color_wheel(n_hues), strict=True)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("nan", [False, True], ids=["finite", "nan"])
@pytest.mark.parametrize("n_hues", [55, 30])
@pytest.mark.parametrize("shape", [*SHAPES, (480, 640)], ids=str)
def test_flow_to_color(shape: tuple[int, int], n_hues: int, nan: bool, impl: str) -> None:
    flow = _flow(shape, seed=shape[0] + shape[1])
    if nan:
        flow[0, 0, 0] = np.nan
    out = motion.flow_to_color(flow, n_hues, impl=impl)
    assert out.dtype == np.uint8 and out.shape == (*shape, 3)
    if nan:
        assert (out[0, 0] == 0).all()  # non-finite: black
    assert_twin("flow_to_color", impl, out, lambda twin: motion.flow_to_color(flow, n_hues, impl=twin))


@pytest.mark.parametrize("n_hues", [55, 30])
@pytest.mark.parametrize("scale", [0.05, 3.0, 200.0])
def test_flow_to_color_mostly_exact(n_hues: int, scale: float) -> None:
    # Large enough that 0.1 % is a count of pixels: off-by-one floors stay rare.
    flow = _flow((240, 320), seed=int(scale * 100) + n_hues, scale=scale)
    native = motion.flow_to_color(flow, n_hues, impl="native")
    expected = motion.flow_to_color(flow, n_hues, impl="reference")
    _assert_color_close(native, expected)
    assert (native == expected).all(axis=-1).mean() >= 0.999


def test_flow_to_color_non_contiguous_and_float64() -> None:
    big = _flow((50, 70), seed=3)
    for view in (big[::2, ::3], big.transpose(1, 0, 2)):
        out = motion.flow_to_color(view, impl="native")
        np.testing.assert_array_equal(out, motion.flow_to_color(view.copy(), impl="native"))
        _assert_color_close(out, motion.flow_to_color(view, impl="reference"))
    np.testing.assert_array_equal(
        motion.flow_to_color(big.astype(np.float64), impl="native"), motion.flow_to_color(big, impl="native")
    )


@pytest.mark.parametrize("impl", IMPLS)
def test_flow_to_color_non_finite_black(impl: str) -> None:
    flow = _flow((6, 7), seed=4)
    flow[0, 0] = (np.nan, 1.0)
    flow[2, 3] = (0.5, np.inf)
    flow[5, 6] = (-np.inf, np.nan)
    out = motion.flow_to_color(flow, impl=impl)
    bad = ~np.isfinite(flow).all(axis=-1)
    assert (out[bad] == 0).all()
    assert (out[~bad].max(axis=-1) > 0).all()  # finite pixels are never black (white is the zero flow)
    # The maximum magnitude ignores non-finite pixels: the finite ones keep their colours.
    finite_only = flow.copy()
    finite_only[bad] = 0
    np.testing.assert_array_equal(out[~bad], motion.flow_to_color(finite_only, impl=impl)[~bad])


@pytest.mark.parametrize("impl", IMPLS)
def test_flow_to_color_zero_flow_white(impl: str) -> None:
    np.testing.assert_array_equal(motion.flow_to_color(np.zeros((3, 5, 2), np.float32), impl=impl), 255)


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------

BAD_FLOWS = [
    np.zeros((4, 5), np.float32),  # no component axis
    np.zeros((4, 5, 3), np.float32),  # three components
    np.zeros((4, 5, 1), np.float32),
    np.zeros((2, 4, 5, 2), np.float32),  # 4-D
    np.zeros((0, 5, 2), np.float32),  # empty
    np.zeros((4, 0, 2), np.float32),
    np.zeros((4, 5, 2), np.int32),  # integer dtype
    np.zeros((4, 5, 2), np.uint8),
    np.zeros((4, 5, 2), bool),
]


@pytest.mark.parametrize("impl", ["native", "reference"])
@pytest.mark.parametrize("flow", BAD_FLOWS, ids=lambda f: f"{f.dtype}{f.shape}")
def test_rejects_bad_flow(flow: np.ndarray, impl: str) -> None:
    with pytest.raises(InputError):
        motion.optical_strain(flow, impl=impl)
    with pytest.raises(InputError):
        motion.flow_to_color(flow, impl=impl)


@pytest.mark.parametrize("impl", ["native", "reference"])
@pytest.mark.parametrize("n_hues", [5, 0, -3, 7.5])
def test_flow_to_color_rejects_n_hues(n_hues: float, impl: str) -> None:
    with pytest.raises(InputError):
        motion.flow_to_color(_flow((3, 3), seed=5), n_hues, impl=impl)  # type: ignore[arg-type]


def test_rejects_unknown_impl() -> None:
    with pytest.raises(InputError):
        motion.optical_strain(_flow((3, 3), seed=6), impl="bogus")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        motion.flow_to_color(_flow((3, 3), seed=6), impl="bogus")  # type: ignore[arg-type]
