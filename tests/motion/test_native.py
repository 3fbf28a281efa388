"""rtmer._native: the guarded import, build information, the CUDA twins, the reference fallback."""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Callable

import numpy as np
import pytest

from rtmer import _native, motion, refdata
from rtmer.errors import NativeUnavailableError
from rtmer.motion import reference


def test_has_native() -> None:
    # CI builds with RTMER_STRICT_BUILD=1: a missing native module is a failure there.
    if os.environ.get("RTMER_ALLOW_NO_NATIVE") != "1":
        assert _native.HAS_NATIVE, f"rtmer._C did not import: {_native._IMPORT_ERROR}"
    try:
        importlib.import_module("rtmer._C")
    except ImportError:
        assert not _native.HAS_NATIVE
    else:
        assert _native.HAS_NATIVE and _native._C is not None


def test_build_info() -> None:
    info = _native.build_info()
    assert {"native", "cuda_compiled", "cuda_available"} <= info.keys()
    assert (info["native"], info["cuda_compiled"], info["cuda_available"]) == (
        _native.HAS_NATIVE,
        _native.CUDA_COMPILED,
        _native.HAS_CUDA,
    )
    if _native.HAS_NATIVE:
        assert {"cxx_flags", "simd", "openmp", "max_threads"} <= info.keys()
        assert info["simd"] in {"avx512", "avx2", "sse4.2", "baseline"}
        assert isinstance(info["cxx_flags"], str) and "-O3" in info["cxx_flags"]
        assert info["max_threads"] >= 1 and info["openmp"] >= 0
    else:
        assert info["import_error"]


@pytest.mark.skipif(not _native.HAS_NATIVE, reason="rtmer._C is not built")
def test_has_cuda_needs_a_device() -> None:
    count = _native._C.cuda_device_count()
    assert count >= 0
    if count == 0:
        assert not _native.HAS_CUDA
    assert _native.HAS_CUDA == (_native.CUDA_COMPILED and count > 0)


# ---------------------------------------------------------------------------------------------
# without the native module: the reference path, one warning
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def no_native(monkeypatch: pytest.MonkeyPatch) -> None:
    """rtmer as a source install whose native build failed sees it."""
    monkeypatch.setattr(_native, "HAS_NATIVE", False)
    monkeypatch.setattr(_native, "CUDA_COMPILED", False)
    monkeypatch.setattr(_native, "HAS_CUDA", False)
    monkeypatch.setattr(_native, "_C", None)
    monkeypatch.setattr(motion, "_warned_reference", False)


@pytest.mark.usefixtures("no_native")
def test_auto_falls_back_to_reference_with_one_warning() -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 20, 24), dtype=np.uint8)
    flow = rng.normal(size=(20, 24, 2)).astype(np.float32)
    face = refdata.astronaut_face(32)
    with pytest.warns(RuntimeWarning, match="not built") as record:
        ars = motion.absolute_residual_sum(frames, frames[0])
        strain = motion.optical_strain(flow)
        colour = motion.flow_to_color(flow)
        tvl1 = motion.tvl1_flow(face, np.roll(face, 1, axis=1))
    assert len(record) == 1
    np.testing.assert_array_equal(ars, reference.absolute_residual_sum(frames, frames[0]))
    np.testing.assert_array_equal(strain, reference.optical_strain(flow))
    np.testing.assert_array_equal(colour, reference.flow_to_color(flow))
    np.testing.assert_allclose(tvl1, reference.tvl1_flow(face, np.roll(face, 1, axis=1)), atol=1e-4)
    assert motion.get_num_threads() == 1
    motion.set_num_threads(2)  # accepted, nothing to set


@pytest.mark.usefixtures("no_native")
def test_engine_falls_back_to_reference() -> None:
    face = refdata.astronaut_face(32)
    with pytest.warns(RuntimeWarning):
        engine = motion.IncrementalMotion(face)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once already: no second warning
        st = engine.push(np.roll(face, 1, axis=0))
    assert st.flow.shape == (32, 32, 2) and st.work > 0


@pytest.mark.usefixtures("no_native")
@pytest.mark.parametrize("impl", ["native", "cuda"])
def test_explicit_native_without_module_raises(impl: str) -> None:
    frames = np.zeros((2, 4, 4), np.uint8)
    flow = np.zeros((4, 4, 2), np.float32)
    face = refdata.astronaut_face(32)
    calls = [
        lambda: motion.residual_sum(frames, frames[0], impl=impl),
        lambda: motion.optical_strain(flow, impl=impl),
        lambda: motion.flow_to_color(flow, impl=impl),
        lambda: motion.tvl1_flow(face, face, impl=impl),
        lambda: motion.IncrementalMotion(face, impl=impl),
    ]
    for call in calls:
        with pytest.raises(NativeUnavailableError):
            call()


# ---------------------------------------------------------------------------------------------
# the CUDA twins against the CPU kernels
# ---------------------------------------------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.skipif(not _native.HAS_CUDA, reason="needs a CUDA build of rtmer._C and a usable GPU")
class TestCuda:
    def test_device_name(self) -> None:
        assert _native.build_info()["cuda_device"]

    @pytest.mark.parametrize("shape", [(1, 1), (1, 7), (13, 1), (37, 53, 3), (480, 640, 3)], ids=str)
    def test_residual_sums(self, shape: tuple[int, ...]) -> None:
        rng = np.random.default_rng(sum(shape))
        frames = rng.integers(0, 256, (7, *shape), dtype=np.uint8)
        ref = rng.integers(0, 256, shape, dtype=np.uint8)
        for op in (motion.residual_sum, motion.absolute_residual_sum, motion.relative_residual_sum):
            np.testing.assert_array_equal(
                op(frames, ref, impl="cuda"), op(frames, ref, impl="native"), strict=True
            )

    @pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (37, 53), (480, 640)], ids=str)
    def test_optical_strain(self, shape: tuple[int, int]) -> None:
        flow = np.random.default_rng(1).normal(scale=3, size=(*shape, 2)).astype(np.float32)
        np.testing.assert_allclose(
            motion.optical_strain(flow, impl="cuda"),
            motion.optical_strain(flow, impl="native"),
            rtol=1e-4,
            atol=1e-6,
        )

    @pytest.mark.parametrize("n_hues", [55, 30])
    @pytest.mark.parametrize("shape", [(1, 1), (37, 53), (480, 640)], ids=str)
    def test_flow_to_color(self, shape: tuple[int, int], n_hues: int) -> None:
        flow = np.random.default_rng(2).normal(scale=3, size=(*shape, 2)).astype(np.float32)
        flow[0, 0, 0] = np.nan
        gpu = motion.flow_to_color(flow, n_hues, impl="cuda").astype(int)
        cpu = motion.flow_to_color(flow, n_hues, impl="native").astype(int)
        assert gpu.shape == cpu.shape and np.abs(gpu - cpu).max() <= 1
        assert (gpu[0, 0] == 0).all()

    def test_tvl1_small_pair(self) -> None:
        face = refdata.astronaut_face(48)
        truth = refdata.smooth_field(48, 48, 0.5, seed=1)
        nxt = refdata.warp(face, truth, as_uint8=True)
        for init in (None, 0.7 * truth):
            gpu = motion.tvl1_flow(face, nxt, init, impl="cuda")
            cpu = motion.tvl1_flow(face, nxt, init, impl="native")
            assert np.abs(gpu - cpu).max() < 5e-3

    def test_tvl1_grove3(self, grove3: refdata.Grove3) -> None:
        gpu = refdata.epe(motion.tvl1_flow(grove3.prev_gray, grove3.next_gray, impl="cuda"), grove3.flow)
        cv = refdata.epe(reference.opencv_tvl1(grove3.prev_gray, grove3.next_gray), grove3.flow)
        print(f"\nGrove3 EPE: rtmer CUDA {gpu:.4f} px, OpenCV {cv:.4f} px")
        assert gpu <= cv * 1.05

    def test_auto_prefers_cuda_for_tvl1(self, monkeypatch: pytest.MonkeyPatch) -> None:
        calls: list[str] = []

        def spy(name: str) -> Callable[..., object]:
            kernel = getattr(_native._C, name)

            def wrapped(*args: object) -> object:
                calls.append(name)
                return kernel(*args)

            return wrapped

        for name in ("tvl1", "tvl1_cuda"):
            monkeypatch.setattr(_native._C, name, spy(name))
        face = refdata.astronaut_face(48)
        motion.tvl1_flow(face, np.roll(face, 1, axis=1))
        assert calls == ["tvl1_cuda"]
