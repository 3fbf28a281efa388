"""The reference twins of the motion ops against independent truth (closed forms, known flows)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from rtmer import refdata
from rtmer.errors import InputError
from rtmer.motion import reference as ref

# ---------------------------------------------------------------------------------------------
# key frames, residual sums (CropNet)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("onset", "apex", "offset", "expected"),
    [
        (10, 40, 60, [15, 20, 25, 30, 35, 40]),  # long clip: end = apex (CropNet eq. 3-4)
        (10, 15, 60, [12, 14, 16, 18, 20]),  # short clip: end = onset + 10
        (10, 40, 30, [14, 18, 22, 26, 30]),  # end = min(apex, offset)
        (10, None, 60, [12, 14, 16, 18, 20]),  # no apex (SMIC): as a short clip
        (10, None, 13, [11, 12, 13]),  # end = offset, repeats counted once
        (7, 7, 7, [7]),  # end == start: gap 0
    ],
)
def test_key_frames(onset: int, apex: int | None, offset: int, expected: list[int]) -> None:
    assert ref.key_frames(onset, apex, offset) == expected


def test_key_frames_n_key() -> None:
    assert ref.key_frames(0, 30, 40, n_key=2) == [10, 20, 30]
    assert ref.key_frames(np.int64(0), np.int32(30), 40, n_key=1) == [15, 30]


@pytest.mark.parametrize(
    "args", [(20, 25, 10), (-1, 5, 10), (0, -5, 10), (0, 5, 10, 0), (0.5, 5, 10), (0, 5.0, 10)]
)
def test_key_frames_rejects(args: tuple) -> None:
    with pytest.raises(InputError):
        ref.key_frames(*args)


def test_residual_sums() -> None:
    reference = np.array([[0, 255], [100, 7]], np.uint8)
    frames = np.array([[[255, 0], [100, 7]], [[255, 0], [90, 7]], [[0, 255], [130, 8]]], np.uint8)
    acc = ref.residual_sum(frames, reference)
    assert acc.dtype == np.uint16
    np.testing.assert_array_equal(acc, [[510, 510], [40, 1]])
    np.testing.assert_array_equal(ref.absolute_residual_sum(frames, reference), [[254, 254], [40, 1]])
    # (acc - 1) / 509 * 255 rounded half up: 255, 255, 19.53 -> 20, 0
    np.testing.assert_array_equal(ref.relative_residual_sum(frames, reference), [[255, 255], [20, 0]])


def test_relative_residual_sum_rounding_and_range() -> None:
    reference = np.zeros(5, np.uint8)
    frames = np.array([[0, 1, 2, 3, 4]], np.uint8)
    # 255 * k / 4 = 0, 63.75, 127.5, 191.25, 255: half rounds up.
    np.testing.assert_array_equal(ref.relative_residual_sum(frames, reference), [0, 64, 128, 191, 255])
    np.testing.assert_array_equal(ref.relative_residual_sum(frames, reference, 10, 20), [10, 13, 15, 18, 20])
    flat = ref.relative_residual_sum(np.full((2, 5), 9, np.uint8), reference, gmin=3)
    np.testing.assert_array_equal(flat, np.full(5, 3))


def test_relative_residual_sum_matches_float_formula() -> None:
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (6, 20, 30, 3), dtype=np.uint8)
    reference = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    acc = np.abs(frames.astype(float) - reference).sum(axis=0)
    expected = np.floor((acc - acc.min()) * 255 / (acc.max() - acc.min()) + 0.5)  # exact halves stay exact
    np.testing.assert_array_equal(ref.relative_residual_sum(frames, reference), expected)


# ---------------------------------------------------------------------------------------------
# optical strain (LAENet eq. 4-6)
# ---------------------------------------------------------------------------------------------


def _linear_flow(h: int, w: int, a: float, b: float, c: float, d: float) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.dstack([a * x + b * y, c * x + d * y]).astype(np.float32)


@pytest.mark.parametrize("shape", [(9, 13), (2, 2), (5, 1)])
def test_strain_of_linear_flow(shape: tuple[int, int]) -> None:
    a, b, c, d = 0.25, -0.5, 0.125, 0.75
    eps = ref.optical_strain(_linear_flow(*shape, a, b, c, d))
    assert eps.shape == shape and eps.dtype == np.float32
    # An axis of length 1 has no derivative along it.
    b_, d_ = (b, d) if shape[0] > 1 else (0, 0)
    a_, c_ = (a, c) if shape[1] > 1 else (0, 0)
    expected = math.sqrt(a_**2 + d_**2 + 0.5 * (b_ + c_) ** 2)
    np.testing.assert_allclose(eps, expected, rtol=1e-6)


def test_strain_matches_np_gradient() -> None:
    flow = np.random.default_rng(2).normal(size=(11, 17, 2)).astype(np.float32)
    u, v = flow[..., 0].astype(np.float64), flow[..., 1].astype(np.float64)
    u_y, u_x = np.gradient(u)
    v_y, v_x = np.gradient(v)
    expected = np.sqrt(u_x**2 + v_y**2 + 0.5 * (u_y + v_x) ** 2)
    np.testing.assert_allclose(ref.optical_strain(flow), expected, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# flow colour coding (MJFN eq. 5-6, Middlebury wheel)
# ---------------------------------------------------------------------------------------------


def test_color_wheel_55() -> None:
    wheel = ref.color_wheel()
    assert wheel.shape == (55, 3) and wheel.dtype == np.float32
    # Each segment starts at its pure colour: RY, YG, GC, CB, BM, MR start at indices
    # 0, 15, 21, 25, 36, 49.
    starts = {
        0: (255, 0, 0),
        15: (255, 255, 0),
        21: (0, 255, 0),
        25: (0, 255, 255),
        36: (0, 0, 255),
        49: (255, 0, 255),
    }
    for k, rgb in starts.items():
        np.testing.assert_array_equal(wheel[k], rgb)
    np.testing.assert_array_equal(wheel[1], (255, 17, 0))  # floor(255 / 15)
    np.testing.assert_array_equal(wheel[54], (255, 0, 43))  # 255 - floor(255 * 5 / 6)


@pytest.mark.parametrize("n_hues", [6, 7, 12, 55, 64, 180])
def test_color_wheel_sizes(n_hues: int) -> None:
    wheel = ref.color_wheel(n_hues)
    assert wheel.shape == (n_hues, 3)
    np.testing.assert_array_equal(wheel[0], (255, 0, 0))
    assert wheel.min() >= 0 and wheel.max() <= 255
    # Every hue is fully saturated: one channel at 255.
    assert (wheel.max(axis=1) == 255).all()


def test_color_wheel_rejects_few_hues() -> None:
    with pytest.raises(InputError):
        ref.color_wheel(5)


def _direction_flow(u: float, v: float) -> np.ndarray:
    # Two pixels: the probe and a longer vector that sets the normalising maximum.
    flow = np.zeros((1, 2, 2), np.float32)
    flow[0, 0] = (u, v)
    flow[0, 1] = (10.0, 0.0)
    return flow


def test_flow_to_color_directions() -> None:
    wheel = ref.color_wheel()
    # +x gives arctan2(-0, -u) = -pi: the start of the wheel, pure red.
    np.testing.assert_array_equal(ref.flow_to_color(_direction_flow(10, 0))[0, 0], (255, 0, 0))
    # -x gives angle 0: the middle hue, fk = 27.
    np.testing.assert_allclose(ref.flow_to_color(_direction_flow(-10, 0))[0, 0], wheel[27], atol=1)
    # +y (down) gives -pi/2: fk = 13.5; -y (up) gives +pi/2: fk = 40.5.
    np.testing.assert_allclose(
        ref.flow_to_color(_direction_flow(0, 10))[0, 0], (wheel[13] + wheel[14]) / 2, atol=1
    )
    np.testing.assert_allclose(
        ref.flow_to_color(_direction_flow(0, -10))[0, 0], (wheel[40] + wheel[41]) / 2, atol=1
    )
    # Half the maximum magnitude: halfway to white (eq. 6).
    half = ref.flow_to_color(_direction_flow(-5, 0))[0, 0]
    np.testing.assert_allclose(half, 255 - 0.5 * (255 - wheel[27]), atol=1)


def test_flow_to_color_zero_and_nonfinite() -> None:
    flow = np.zeros((3, 4, 2), np.float32)
    np.testing.assert_array_equal(ref.flow_to_color(flow), 255)  # no motion: white
    flow[0, 0] = (np.nan, 0)
    flow[0, 1] = (np.inf, 1)
    flow[1, 1] = (2, 0)
    out = ref.flow_to_color(flow)
    np.testing.assert_array_equal(out[0, :2], 0)
    np.testing.assert_array_equal(out[1, 1], (255, 0, 0))  # the largest finite vector sets the scale


def test_flow_to_color_matches_float64_formula() -> None:
    flow = np.random.default_rng(3).normal(size=(16, 24, 2)).astype(np.float32)
    wheel = ref.color_wheel().astype(np.float64)
    u, v = flow[..., 0].astype(np.float64), flow[..., 1].astype(np.float64)
    rad = np.hypot(u, v)
    fk = (np.arctan2(-v, -u) / np.pi + 1) / 2 * 54
    k0 = np.floor(fk).astype(int)
    f = (fk - k0)[..., None]
    col = ((1 - f) * wheel[k0] + f * wheel[(k0 + 1) % 55]) / 255
    expected = np.floor(255 * (1 - (rad / rad.max())[..., None] * (1 - col)))
    assert np.abs(ref.flow_to_color(flow).astype(int) - expected).max() <= 1


# ---------------------------------------------------------------------------------------------
# synthetic pairs with known motion (rtmer.refdata)
# ---------------------------------------------------------------------------------------------


def test_warp_integer_shift_is_roll() -> None:
    face = refdata.astronaut_face(64)
    flow = np.zeros((64, 64, 2), np.float32)
    flow[..., 0] = 1.0
    nxt = refdata.warp(face, flow)
    assert nxt.dtype == np.float32
    np.testing.assert_allclose(nxt[:, 1:], np.roll(face, 1, axis=1)[:, 1:], atol=1e-3)
    flow[..., 0], flow[..., 1] = 0.0, -2.0
    nxt = refdata.warp(face, flow, as_uint8=True)
    np.testing.assert_array_equal(nxt[:-2], face[2:])


def test_warp_realises_the_flow_on_the_source_grid() -> None:
    # A smooth image, so sampling the result between pixels is accurate: prev(y, x) = next(y + v, x + u).
    y, x = np.mgrid[0:48, 0:56].astype(np.float64)
    image = 100 + 50 * np.sin(x / 7) * np.cos(y / 9)
    flow = refdata.smooth_field(48, 56, 2.0, seed=4)
    nxt = refdata.warp(image, flow).astype(np.float64)
    back = ndimage.map_coordinates(nxt, [y + flow[..., 1], x + flow[..., 0]], order=3, mode="nearest")
    inner = (slice(4, -4), slice(4, -4))
    assert np.abs(back - image)[inner].max() < 0.05


@pytest.mark.parametrize("kind", ["smooth", "bumps"])
def test_smooth_field(kind: str) -> None:
    field = refdata.smooth_field(30, 40, 0.5, seed=5, kind=kind)
    assert field.shape == (30, 40, 2) and field.dtype == np.float32
    assert np.hypot(field[..., 0], field[..., 1]).max() == pytest.approx(0.5, rel=1e-6)
    np.testing.assert_array_equal(field, refdata.smooth_field(30, 40, 0.5, seed=5, kind=kind))
    assert not np.array_equal(field, refdata.smooth_field(30, 40, 0.5, seed=6, kind=kind))


def test_smooth_field_rejects_unknown_kind() -> None:
    with pytest.raises(InputError):
        refdata.smooth_field(8, 8, 1.0, seed=0, kind="noise")


# ---------------------------------------------------------------------------------------------
# TV-L1: the numpy twin and the OpenCV / scikit-image wrappers against known motion
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def face_pair() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """48x48 face, its warp by a 0.5 px smooth field (both float in [0, 1]), the field."""
    face = refdata.astronaut_face(48)
    flow = refdata.smooth_field(48, 48, 0.5, seed=1)
    return face.astype(np.float32) / 255, refdata.warp(face, flow) / 255, flow


def test_tvl1_reference_recovers_smooth_field(face_pair: tuple[np.ndarray, ...]) -> None:
    prev, nxt, truth = face_pair
    flow = ref.tvl1_flow(prev, nxt)
    assert flow.shape == (48, 48, 2) and flow.dtype == np.float32
    assert refdata.epe(flow, truth) < 0.15 < refdata.epe(np.zeros_like(truth), truth)


def test_tvl1_reference_uint8_equals_float_unit_range(face_pair: tuple[np.ndarray, ...]) -> None:
    # OpenCV's convention: uint8 is used as is, float in [0, 1] is scaled by 255.
    prev, _, truth = face_pair
    face = np.rint(prev * 255).astype(np.uint8)
    nxt = refdata.warp(face, truth, as_uint8=True)
    np.testing.assert_allclose(
        ref.tvl1_flow(face, nxt), ref.tvl1_flow(face / np.float32(255), nxt / np.float32(255)), atol=1e-3
    )


def test_tvl1_reference_from_true_init(face_pair: tuple[np.ndarray, ...]) -> None:
    prev, nxt, truth = face_pair
    assert refdata.epe(ref.tvl1_flow(prev, nxt, init=truth), truth) < 0.15


@pytest.mark.parametrize("solver", [ref.tvl1_flow, ref.opencv_tvl1, ref.skimage_tvl1])
def test_tvl1_smooth_field(solver, face_pair: tuple[np.ndarray, ...]) -> None:
    prev, nxt, truth = face_pair
    flow = solver(prev, nxt)
    assert flow.shape == (48, 48, 2) and flow.dtype == np.float32
    assert refdata.epe(flow, truth) < 0.2


@pytest.mark.parametrize("solver", [ref.tvl1_flow, ref.opencv_tvl1, ref.skimage_tvl1])
def test_tvl1_constant_shift_sign(solver) -> None:
    # A constant (u, v) = (0.8, -0.4) px: guards the (u, v) order and sign of each wrapper.
    face = refdata.astronaut_face(48)
    truth = np.zeros((48, 48, 2), np.float32)
    truth[...] = (0.8, -0.4)
    flow = solver(face, refdata.warp(face, truth, as_uint8=True))
    np.testing.assert_allclose(np.median(flow[8:-8, 8:-8], axis=(0, 1)), (0.8, -0.4), atol=0.1)
