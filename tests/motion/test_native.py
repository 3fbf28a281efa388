"""rtmer._native and the one dispatch point: the guarded import, build information, the kernel table,
the reference fallback, CUDA for TV-L1. Each op's implementations are compared in its own test file."""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Callable

import numpy as np
import pytest

from rtmer import _native, motion, refdata
from rtmer.errors import InputError, NativeUnavailableError
from rtmer.motion import ops, reference


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
# the kernel table
# ---------------------------------------------------------------------------------------------


def test_kernel_table_follows_the_build() -> None:
    table = ops.kernel_table()
    assert table.keys() == ops._KERNELS.keys()
    for op, kernels in table.items():
        assert "reference" in kernels, op
        assert ("native" in kernels) == _native.HAS_NATIVE, op
        assert ("cuda" in kernels) == (_native.HAS_CUDA and op != "absdiff"), op


@pytest.mark.parametrize("op", sorted(ops._KERNELS))
def test_resolve_names_each_kernel(op: str) -> None:
    for impl, kernel in ops._KERNELS[op].items():
        assert ops._resolve(op, impl) is kernel
    with pytest.raises(InputError, match="impl must be one of"):
        ops._resolve(op, "bogus")


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
    monkeypatch.setattr(ops, "_KERNELS", ops.kernel_table())
    monkeypatch.setattr(ops, "_warned_reference", False)


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
# with a GPU
# ---------------------------------------------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.skipif(not _native.HAS_CUDA, reason="needs a CUDA build of rtmer._C and a usable GPU")
class TestCuda:
    def test_device_name(self) -> None:
        assert _native.build_info()["cuda_device"]

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
        monkeypatch.setattr(ops, "_KERNELS", ops.kernel_table())  # the table holds the spies
        face = refdata.astronaut_face(48)
        motion.tvl1_flow(face, np.roll(face, 1, axis=1))
        assert calls == ["tvl1_cuda"]
