"""TV-L1 optical flow: every implementation against the one it twins, OpenCV and known motion."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest
from motion_impls import IMPLS, TOLERANCES

from rtmer import _native, motion, refdata
from rtmer.errors import InputError, NativeUnavailableError
from rtmer.motion import Tvl1Settings, reference

#: Sub-pixel amplitudes (micro-expressions) and two larger ones; all on the 128 x 128 face.
AMPLITUDES = (0.05, 0.2, 1.0, 2.0)
#: EPE / amplitude bound on the face: rtmer measured 0.0055, 0.019, 0.081, 0.129 px
#: (0.11, 0.095, 0.081, 0.065 of the amplitude); the bound keeps >= 30 % headroom on each.
EPE_SLOPE, EPE_OFFSET = 0.1, 0.005


@pytest.fixture(scope="module")
def face_pair() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """48 x 48 face, its uint8 warp by a 0.5 px smooth field, the field."""
    face = refdata.astronaut_face(48)
    truth = refdata.smooth_field(48, 48, 0.5, seed=1)
    return face, refdata.warp(face, truth, as_uint8=True), truth


@pytest.fixture
def restore_threads() -> Iterator[None]:
    """Put the native thread count back as it was."""
    before = motion.get_num_threads()
    yield
    motion.set_num_threads(before)


def _face_motion(amplitude: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """128 x 128 face in [0, 1] float, its exact (unquantised) warp by a smooth field, the field."""
    face = refdata.astronaut_face(128)
    truth = refdata.smooth_field(128, 128, amplitude, seed=0)
    return face.astype(np.float32) / 255, refdata.warp(face, truth) / 255, truth


# ---------------------------------------------------------------------------------------------
# the median filter building block
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ksize", [3, 5])
@pytest.mark.parametrize(
    "shape", [(1, 1), (1, 9), (9, 1), (2, 2), (3, 3), (2, 7), (4, 17), (37, 53)], ids=str
)
@pytest.mark.parametrize("ties", [False, True])
def test_median_blur_equals_opencv(shape: tuple[int, int], ksize: int, ties: bool) -> None:
    rng = np.random.default_rng(shape[0] * 31 + shape[1] + ksize)
    # ties: three values only, so most windows hold repeated values (and replicated borders more).
    img = (rng.integers(0, 3, shape) if ties else rng.normal(size=shape)).astype(np.float32)
    np.testing.assert_array_equal(_native._C.median_blur(img, ksize), cv2.medianBlur(img, ksize), strict=True)


# ---------------------------------------------------------------------------------------------
# every solver against its twin
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(
    ("settings", "use_init"),
    [
        (Tvl1Settings(), False),
        (Tvl1Settings(), True),
        (Tvl1Settings(median_filter=0), False),
        (Tvl1Settings(median_filter=3), False),
        (Tvl1Settings(scales=1), False),
    ],
    ids=["default", "init", "median0", "median3", "scales1"],
)
def test_tvl1(face_pair: tuple[np.ndarray, ...], settings: Tvl1Settings, use_init: bool, impl: str) -> None:
    prev, nxt, truth = face_pair
    init = 0.7 * truth if use_init else None
    out = motion.tvl1_flow_stats(prev, nxt, init, settings, impl=impl)  # type: ignore[arg-type]
    assert out.flow.shape == (48, 48, 2) and out.flow.dtype == np.float32
    assert refdata.epe(out.flow, truth) < 0.15
    tol = TOLERANCES["tvl1"].get(impl)
    if tol is None:
        return
    twin = motion.tvl1_flow_stats(prev, nxt, init, settings, impl=tol.against)  # type: ignore[arg-type]
    assert np.abs(out.flow - twin.flow).max() < tol.atol
    if tol.against == "reference":
        # The C++ solver runs the twin's iterations exactly; the CUDA one sums its stopping measure in
        # another order, so its count may differ from the C++ solver's.
        assert (out.iterations, out.work, out.scales_used) == (twin.iterations, twin.work, twin.scales_used)


def test_stats_count_the_pyramid(face_pair: tuple[np.ndarray, ...]) -> None:
    prev, nxt, _ = face_pair
    full = motion.tvl1_flow_stats(prev, nxt, impl="native")
    single = motion.tvl1_flow_stats(prev, nxt, settings=Tvl1Settings(scales=1), impl="native")
    # 48 px: 48, 38, 30, 24, 19 px levels (each side >= 16 px); 5 warps x 30 x 10 iterations at most.
    assert full.scales_used == 5 and single.scales_used == 1
    assert 0 < single.iterations <= 5 * 300 and single.work == single.iterations * 48 * 48
    assert full.work > single.work


# ---------------------------------------------------------------------------------------------
# accuracy: Middlebury Grove3 and the astronaut face with known motion, side by side with OpenCV
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def grove3_opencv_epe(grove3: refdata.Grove3) -> float:
    """OpenCV DualTVL1's EPE on Grove3 at the default settings (the slow part, computed once)."""
    return refdata.epe(reference.opencv_tvl1(grove3.prev_gray, grove3.next_gray), grove3.flow)


@pytest.mark.parametrize("impl", IMPLS)
def test_grove3_against_opencv(
    grove3: refdata.Grove3, grove3_opencv_epe: float, impl: str, record_property: pytest.RecordProperty
) -> None:
    flow = motion.tvl1_flow(grove3.prev_gray, grove3.next_gray, impl=impl)  # type: ignore[arg-type]
    ours = refdata.epe(flow, grove3.flow)
    zero = refdata.epe(np.zeros_like(flow), grove3.flow)
    record_property("epe_rtmer", ours)
    record_property("epe_opencv", grove3_opencv_epe)
    print(
        f"\nGrove3 EPE: rtmer {impl} {ours:.4f} px, OpenCV {grove3_opencv_epe:.4f} px, "
        f"zero flow {zero:.4f} px"
    )
    assert ours <= grove3_opencv_epe * 1.05
    assert ours < 0.3 * zero


@pytest.mark.parametrize("amplitude", AMPLITUDES)
def test_face_known_motion(amplitude: float, record_property: pytest.RecordProperty) -> None:
    prev, nxt, truth = _face_motion(amplitude)
    ours = refdata.epe(motion.tvl1_flow(prev, nxt, impl="native"), truth)
    cv = refdata.epe(reference.opencv_tvl1(prev, nxt), truth)
    record_property("epe_rtmer", ours)
    record_property("epe_opencv", cv)
    print(f"\nface {amplitude} px: EPE rtmer {ours:.4f} px, OpenCV {cv:.4f} px")
    assert ours < EPE_SLOPE * amplitude + EPE_OFFSET
    if amplitude < 1:
        # OpenCV's remap rounds sample positions to 1/32 px; rtmer's exact bicubic warp resolves
        # sub-pixel motion that OpenCV blurs (measured: 0.0055 vs 0.023 px, 0.019 vs 0.030 px).
        assert ours <= cv * 1.05


@pytest.mark.parametrize("impl", IMPLS)
def test_constant_shift_sign(impl: str) -> None:
    face = refdata.astronaut_face(128)
    truth = np.zeros((128, 128, 2), np.float32)
    truth[...] = (0.8, -0.4)  # right and up: guards the (u, v) order and the prev -> next sign
    flow = motion.tvl1_flow(face, refdata.warp(face, truth, as_uint8=True), impl=impl)  # type: ignore[arg-type]
    np.testing.assert_allclose(np.median(flow[8:-8, 8:-8], axis=(0, 1)), (0.8, -0.4), atol=0.05)


# ---------------------------------------------------------------------------------------------
# conventions and determinism
# ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("restore_threads")
def test_thread_count_does_not_change_the_flow() -> None:
    face = refdata.astronaut_face(128)
    nxt = refdata.warp(face, refdata.smooth_field(128, 128, 1.0, seed=3), as_uint8=True)
    motion.set_num_threads(1)
    assert motion.get_num_threads() == 1
    one = motion.tvl1_flow_stats(face, nxt, impl="native")
    motion.set_num_threads(2)
    two = motion.tvl1_flow_stats(face, nxt, impl="native")
    np.testing.assert_array_equal(one.flow, two.flow)
    assert (one.work, one.iterations) == (two.work, two.iterations)


def test_uint8_equals_unit_float(face_pair: tuple[np.ndarray, ...]) -> None:
    prev, nxt, _ = face_pair
    as_uint8 = motion.tvl1_flow(prev, nxt, impl="native")
    for dtype in (np.float32, np.float64):
        as_float = motion.tvl1_flow(prev.astype(dtype) / 255, nxt.astype(dtype) / 255, impl="native")
        np.testing.assert_allclose(as_float, as_uint8, atol=1e-4)


def test_non_contiguous_images(face_pair: tuple[np.ndarray, ...]) -> None:
    prev, nxt, _ = face_pair
    expected = motion.tvl1_flow(prev.T.copy(), nxt.T.copy(), impl="native")
    np.testing.assert_array_equal(motion.tvl1_flow(prev.T, nxt.T, impl="native"), expected)


def test_keyword_api_equals_settings(face_pair: tuple[np.ndarray, ...]) -> None:
    prev, nxt, _ = face_pair
    settings = Tvl1Settings(warps=2, median_filter=3, scales=3)
    np.testing.assert_array_equal(
        motion.tvl1_flow(prev, nxt, warps=2, median_filter=3, scales=3, impl="native"),
        motion.tvl1_flow_stats(prev, nxt, settings=settings, impl="native").flow,
    )


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("impl", ["native", "reference"])
def test_rejects_bad_images(face_pair: tuple[np.ndarray, ...], impl: str) -> None:
    prev, nxt, _ = face_pair
    colour = np.dstack([prev] * 3)
    bad = [
        (colour, colour),  # colour images
        (prev, nxt[:, :40]),  # shape mismatch
        (prev[:0], nxt[:0]),  # empty
        (prev.astype(np.int16), nxt.astype(np.int16)),  # neither uint8 nor float
        (prev[0], nxt[0]),  # 1-D
    ]
    for a, b in bad:
        with pytest.raises(InputError):
            motion.tvl1_flow(a, b, impl=impl)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "init",
    [np.zeros((40, 48, 2), np.float32), np.zeros((48, 48, 3), np.float32), np.zeros((48, 48, 2), np.int32)],
    ids=["size", "components", "dtype"],
)
def test_rejects_bad_init(face_pair: tuple[np.ndarray, ...], init: np.ndarray) -> None:
    prev, nxt, _ = face_pair
    with pytest.raises(InputError):
        motion.tvl1_flow(prev, nxt, init, impl="native")


@pytest.mark.parametrize(
    "change",
    [
        {"scales": 0},
        {"scale_step": 1.0},
        {"scale_step": 0.0},
        {"median_filter": 4},
        {"warps": 0},
        {"tau": 0.0},
        {"epsilon": -1.0},
        {"inner_iterations": 0},
    ],
    ids=str,
)
def test_rejects_bad_settings(face_pair: tuple[np.ndarray, ...], change: dict[str, float]) -> None:
    prev, nxt, _ = face_pair
    with pytest.raises(InputError):
        Tvl1Settings(**change)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        motion.tvl1_flow(prev, nxt, impl="native", **change)  # type: ignore[arg-type]


@pytest.mark.skipif(_native.HAS_CUDA, reason="a CUDA device is usable here")
def test_cuda_without_gpu(face_pair: tuple[np.ndarray, ...]) -> None:
    prev, nxt, _ = face_pair
    with pytest.raises(NativeUnavailableError):
        motion.tvl1_flow(prev, nxt, impl="cuda")


def test_rejects_unknown_impl(face_pair: tuple[np.ndarray, ...]) -> None:
    prev, nxt, _ = face_pair
    with pytest.raises(InputError):
        motion.tvl1_flow(prev, nxt, impl="bogus")  # type: ignore[arg-type]
