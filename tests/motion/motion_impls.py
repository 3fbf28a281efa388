"""Every implementation of the motion ops, to parametrise over, and one table of how close each
comes to the one it twins (kornia's ``_DTYPE_PRECISIONS``, by implementation instead of dtype)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from rtmer import _native

if not _native.HAS_NATIVE:
    _NO_CUDA = "rtmer._C is not built"
elif not _native.CUDA_COMPILED:
    _NO_CUDA = "rtmer._C was built without CUDA (rebuild with nvcc and RTMER_CUDA=1)"
else:
    _NO_CUDA = "rtmer._C has CUDA but no CUDA device is usable here"

#: The ``impl`` values to parametrise an op's test with: native and CUDA skip where unavailable.
IMPLS = [
    pytest.param("reference"),
    pytest.param("native", marks=pytest.mark.skipif(not _native.HAS_NATIVE, reason="rtmer._C is not built")),
    pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not _native.HAS_CUDA, reason=_NO_CUDA)]),
]


@dataclass(frozen=True)
class Tolerance:
    """How close an implementation must come to ``against``: exact where both are 0."""

    against: str
    rtol: float = 0.0
    atol: float = 0.0


#: By op and implementation: each C++ kernel against its numpy twin, each CUDA kernel against the
#: C++ one (they differ by FMA contraction and summation order). The reference is the baseline.
TOLERANCES: dict[str, dict[str, Tolerance]] = {
    # Integer sums: exact.
    "residual_sum": {"native": Tolerance("reference"), "cuda": Tolerance("native")},
    "optical_strain": {
        "native": Tolerance("reference", rtol=1e-5, atol=1e-6),
        "cuda": Tolerance("native", rtol=1e-4, atol=1e-6),
    },
    # One grey level: float32 rounding just before the floor.
    "flow_to_color": {"native": Tolerance("reference", atol=1), "cuda": Tolerance("native", atol=1)},
    # CUDA: the C++ kernel's bound, not yet measured on a GPU.
    "remap": {"native": Tolerance("reference", atol=2e-3), "cuda": Tolerance("native", atol=2e-3)},
    # Max |flow difference| (strictly below atol), 48 x 48 face warped by 0.5 px.
    "tvl1": {"native": Tolerance("reference", atol=2e-3), "cuda": Tolerance("native", atol=5e-3)},
}


def assert_twin(op: str, impl: str, actual: np.ndarray, run: Callable[[str], np.ndarray]) -> None:
    """``actual``, ``op`` computed by ``impl``, against ``run(impl it twins)`` within TOLERANCES
    (nothing to compare for the reference)."""
    tol = TOLERANCES[op].get(impl)
    if tol is None:
        return
    expected = run(tol.against)
    if tol.rtol == tol.atol == 0:
        np.testing.assert_array_equal(actual, expected, strict=True)
    else:
        assert actual.dtype == expected.dtype
        np.testing.assert_allclose(actual, expected, rtol=tol.rtol, atol=tol.atol)
