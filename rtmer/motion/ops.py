"""Motion operations: residual sums, TV-L1 optical flow, optical strain, flow colour coding, remap.

numpy in, numpy out. Every op takes ``impl``:

- ``"auto"``: the native C++ kernel when ``rtmer._C`` is built (TV-L1: the CUDA kernel when a GPU is
  usable), else the numpy reference twin with a one-time warning;
- ``"native"``: the C++ CPU kernel (an error if it is not built);
- ``"cuda"``: the CUDA twin (an error without a CUDA build and a GPU);
- ``"reference"``: the numpy / OpenCV reference twin in :mod:`rtmer.motion.reference`.

Inputs are validated here; a wrong shape, dtype or size raises :class:`rtmer.errors.InputError`.
The kernels sit in one table, op -> implementation -> callable, each implementation of an op
called the same way on validated input; :func:`_resolve` is the one place that picks one.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal, cast

import numpy as np

from rtmer import _native
from rtmer.errors import InputError, NativeUnavailableError
from rtmer.motion import reference
from rtmer.motion.settings import Tvl1Settings

Impl = Literal["auto", "native", "cuda", "reference"]
_IMPLS = ("auto", "native", "cuda", "reference")
#: The ops "auto" runs on a usable GPU: TV-L1 makes hundreds of passes over the images it copies to
#: the device, every other op one.
_AUTO_CUDA = frozenset({"tvl1"})
_warned_reference = False

Kernel = Callable[..., Any]


@dataclass(frozen=True)
class Tvl1Result:
    """A flow field and what computing it cost (pixel-iterations of the primal-dual loop)."""

    flow: np.ndarray
    work: int
    iterations: int
    scales_used: int


def _tvl1_reference(
    prev: np.ndarray, next: np.ndarray, init: np.ndarray | None, s: Tvl1Settings
) -> Tvl1Result:
    # The twin takes OpenCV's float convention, gray in [0, 1].
    flow, iterations, work, scales = reference.tvl1_flow_counted(prev / 255.0, next / 255.0, init, s)
    return Tvl1Result(flow, work, iterations, scales)


def _native_kernels(c: ModuleType, suffix: str) -> dict[str, Kernel]:
    """The C++ kernels (``suffix`` "") or their CUDA twins ("_cuda") in the ops' calling convention."""
    residual_sum = getattr(c, "residual_sum" + suffix)
    tvl1 = getattr(c, "tvl1" + suffix)

    def tvl1_result(
        prev: np.ndarray, next: np.ndarray, init: np.ndarray | None, s: Tvl1Settings
    ) -> Tvl1Result:
        flow, st = tvl1(prev, next, init, s.native())
        return Tvl1Result(flow, st.work, st.iterations, st.scales_used)

    return {
        "residual_sum": residual_sum,
        # ARS and RRS finish the sum on the CPU: a pass over K times fewer bytes than the sum read.
        "absolute_residual_sum": lambda frames, ref: c.ars_from_sum(residual_sum(frames, ref)),
        "relative_residual_sum": lambda frames, ref, gmin, gmax: c.rrs_from_sum(
            residual_sum(frames, ref), gmin, gmax
        ),
        "optical_strain": getattr(c, "optical_strain" + suffix),
        "flow_to_color": getattr(c, "flow_to_color" + suffix),
        "remap": getattr(c, "remap_bicubic" + suffix),
        "tvl1": tvl1_result,
    }


_REFERENCE_KERNELS: dict[str, Kernel] = {
    "residual_sum": reference.residual_sum,
    "absolute_residual_sum": reference.absolute_residual_sum,
    "relative_residual_sum": reference.relative_residual_sum,
    "absdiff": reference.absdiff,
    "optical_strain": reference.optical_strain,
    "flow_to_color": reference.flow_to_color,
    "remap": reference.remap,
    "tvl1": _tvl1_reference,
}


def kernel_table() -> dict[str, dict[str, Kernel]]:
    """Every op's kernels by implementation, as :mod:`rtmer._native` offers them now: the numpy twins
    always, the C++ kernels when ``rtmer._C`` is built, the CUDA twins when a GPU is usable too."""
    table = {op: {"reference": fn} for op, fn in _REFERENCE_KERNELS.items()}
    if _native.HAS_NATIVE:
        for op, fn in {**_native_kernels(_native._C, ""), "absdiff": _native._C.absdiff}.items():
            table[op]["native"] = fn
    if _native.HAS_CUDA:
        for op, fn in _native_kernels(_native._C, "_cuda").items():
            table[op]["cuda"] = fn
    return table


_KERNELS = kernel_table()


def _choose(op: str, impl: str, stacklevel: int) -> Impl:
    """The implementation of ``op`` that ``impl`` names: the "auto" rule, or an error naming the remedy.

    ``stacklevel``: the caller the one-time warning points at, counted from here.
    """
    global _warned_reference
    if impl not in _IMPLS:
        raise InputError(f"impl must be one of {', '.join(_IMPLS)}; got {impl!r}")
    kernels = _KERNELS[op]
    if impl == "auto":
        if op in _AUTO_CUDA and "cuda" in kernels:
            return "cuda"
        if "native" in kernels:
            return "native"
        if not _warned_reference:
            warnings.warn(
                "rtmer._C is not built: using the slow numpy reference path "
                "(reinstall with a C++17 compiler: pip install --force-reinstall --no-deps .)",
                RuntimeWarning,
                stacklevel=stacklevel,
            )
            _warned_reference = True
        return "reference"
    if impl == "native" and impl not in kernels:
        raise NativeUnavailableError(
            "impl='native' but rtmer._C is not built; reinstall rtmer with a C++17 compiler "
            "(RTMER_STRICT_BUILD=1 shows why the build failed)"
        )
    if impl == "cuda" and impl not in kernels:
        why = "no CUDA device is usable" if _native.CUDA_COMPILED else "rtmer._C was built without CUDA"
        raise NativeUnavailableError(
            f"impl='cuda' but {why}; use impl='native', or rebuild on a machine with nvcc (RTMER_CUDA=1)"
        )
    return cast(Impl, impl)  # checked against _IMPLS above


def _resolve(op: str, impl: str) -> Kernel:
    """The kernel of ``op`` that ``impl`` names (the one lookup every op makes)."""
    return _KERNELS[op][_choose(op, impl, stacklevel=4)]  # the warning points at the op's caller


def set_num_threads(n: int) -> None:
    """Threads the native CPU kernels may use (OpenMP); n >= 1."""
    if n < 1:
        raise InputError(f"thread count must be >= 1, got {n}")
    if _native.HAS_NATIVE:
        _native._C.set_num_threads(int(n))


def get_num_threads() -> int:
    return _native._C.get_num_threads() if _native.HAS_NATIVE else 1


def _uint8_image(a: object, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype != np.uint8:
        raise InputError(
            f"{name} must be uint8, got {arr.dtype}; convert it (e.g. np.clip(x, 0, 255).astype(np.uint8))"
        )
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3)):
        raise InputError(f"{name} must be H x W or H x W x 3, got shape {arr.shape}")
    if arr.size == 0:
        raise InputError(f"{name} is empty (shape {arr.shape})")
    return np.ascontiguousarray(arr)


def _frame_stack(frames: np.ndarray | Sequence[np.ndarray], ref: np.ndarray) -> np.ndarray:
    if isinstance(frames, np.ndarray) and frames.ndim == ref.ndim + 1:
        stack = frames
    else:
        items = list(frames)
        if not items:
            raise InputError("residual sums need at least one key frame, got none")
        if not all(np.shape(f) == ref.shape for f in items):
            shapes = sorted({np.shape(f) for f in items})
            raise InputError(f"every key frame must have the reference's shape {ref.shape}; got {shapes}")
        stack = np.stack([np.asarray(f) for f in items])
    if stack.dtype != np.uint8:
        raise InputError(f"key frames must be uint8, got {stack.dtype}")
    if stack.shape[1:] != ref.shape:
        raise InputError(f"key frames have shape {stack.shape[1:]}, the reference {ref.shape}")
    if stack.shape[0] == 0:
        raise InputError("residual sums need at least one key frame, got none")
    if stack.shape[0] > 257:
        raise InputError(f"at most 257 key frames fit a uint16 sum, got {stack.shape[0]}")
    return np.ascontiguousarray(stack)


def _residual_inputs(
    frames: np.ndarray | Sequence[np.ndarray], reference_frame: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    ref = _uint8_image(reference_frame, "reference")
    return _frame_stack(frames, ref), ref


def residual_sum(
    frames: np.ndarray | Sequence[np.ndarray], reference_frame: np.ndarray, *, impl: Impl = "auto"
) -> np.ndarray:
    """Σ_f |Q_f − Q_start| (CropNet eq. (5)-(6) before wrapping/stretching), uint16, reference's shape."""
    stack, ref = _residual_inputs(frames, reference_frame)
    return _resolve("residual_sum", impl)(stack, ref)


def absolute_residual_sum(
    frames: np.ndarray | Sequence[np.ndarray], reference_frame: np.ndarray, *, impl: Impl = "auto"
) -> np.ndarray:
    """ARS, CropNet eq. (5): (Σ_f |Q_f − Q_start|) mod 256, uint8 with the reference's shape.

    ``frames``: the key frames (see :func:`key_frames`), (K, H, W[, 3]) or a sequence of images.

    >>> ref = np.zeros((2, 2), np.uint8); f = np.full((2, 2), 200, np.uint8)
    >>> int(absolute_residual_sum([f, f], ref)[0, 0])   # 400 mod 256
    144
    """
    stack, ref = _residual_inputs(frames, reference_frame)
    return _resolve("absolute_residual_sum", impl)(stack, ref)


def relative_residual_sum(
    frames: np.ndarray | Sequence[np.ndarray],
    reference_frame: np.ndarray,
    gmin: int = 0,
    gmax: int = 255,
    *,
    impl: Impl = "auto",
) -> np.ndarray:
    """RRS, CropNet eq. (6)-(7): the residual sum stretched to [gmin, gmax] over the whole image.

    Rounded half up to uint8; [rtmer] a flat residual (max = min) gives gmin everywhere.
    """
    if not (0 <= gmin <= gmax <= 255) or int(gmin) != gmin or int(gmax) != gmax:
        raise InputError(f"need integers 0 <= gmin <= gmax <= 255, got gmin={gmin}, gmax={gmax}")
    stack, ref = _residual_inputs(frames, reference_frame)
    return _resolve("relative_residual_sum", impl)(stack, ref, int(gmin), int(gmax))


def _flow_array(flow: object) -> np.ndarray:
    arr = np.asarray(flow)
    if arr.ndim != 3 or arr.shape[2] != 2:
        raise InputError(f"flow must be H x W x 2 (u, v), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(f"flow is empty (shape {arr.shape})")
    if not np.issubdtype(arr.dtype, np.floating):
        raise InputError(f"flow must be a float array, got {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def optical_strain(flow: np.ndarray, *, impl: Impl = "auto") -> np.ndarray:
    """Optical strain magnitude, LAENet eq. (4)-(6): sqrt(u_x² + v_y² + ½(u_y + v_x)²), float32 H x W.

    Derivatives as ``numpy.gradient`` (central inside, one-sided at the border; 0 along a length-1 axis).
    """
    f = _flow_array(flow)
    return _resolve("optical_strain", impl)(f)


def flow_to_color(flow: np.ndarray, n_hues: int = 55, *, impl: Impl = "auto") -> np.ndarray:
    """MJFN eq. (5)-(6): flow as an RGB uint8 image on the Middlebury colour wheel of ``n_hues`` hues.

    Hue from the direction, saturation from the magnitude normalised by the image's maximum;
    non-finite flow is black.
    """
    f = _flow_array(flow)
    if int(n_hues) != n_hues or n_hues < 6:
        raise InputError(f"n_hues must be an integer >= 6, got {n_hues}")
    return _resolve("flow_to_color", impl)(f, int(n_hues))


def remap(image: np.ndarray, map_xy: np.ndarray, *, a: float = -0.5, impl: Impl = "auto") -> np.ndarray:
    """Backward warp: ``out[y, x] = image(map_xy[y, x])``, bicubic at full float precision.

    ``image``: uint8 or float, H x W or H x W x C (C <= 4); ``map_xy``: float, H' x W' x 2 absolute
    (x, y) sample positions; replicated border. Returns float32 H' x W' (x C). ``a`` is Keys' kernel
    parameter: -0.5 (Catmull-Rom, the default) reproduces linear and quadratic intensity exactly;
    -0.75 is OpenCV's INTER_CUBIC. Unlike cv2.remap, positions are not rounded to 1/32 px.
    """
    img = np.asarray(image)
    if img.ndim not in (2, 3) or (img.ndim == 3 and not 1 <= img.shape[2] <= 4) or img.size == 0:
        raise InputError(f"image must be a non-empty H x W or H x W x C (C <= 4) array, got {img.shape}")
    if not (img.dtype == np.uint8 or np.issubdtype(img.dtype, np.floating)):
        raise InputError(f"image must be uint8 or float, got {img.dtype}")
    m = np.asarray(map_xy)
    if m.ndim != 3 or m.shape[2] != 2 or not np.issubdtype(m.dtype, np.floating):
        raise InputError(f"map_xy must be a float H x W x 2 array of (x, y), got {m.dtype} {m.shape}")
    if not -1.0 <= a <= 0.0:
        raise InputError(f"Keys' parameter a must lie in [-1, 0], got {a}")
    kernel = _resolve("remap", impl)
    planes = np.ascontiguousarray(img if img.ndim == 3 else img[..., None], dtype=np.float32)
    out = kernel(planes, np.ascontiguousarray(m, dtype=np.float32), float(a))
    return out if img.ndim == 3 else out[..., 0]


def gray_float(image: object, name: str) -> np.ndarray:
    """A 2-D image as float32 in [0, 255] (OpenCV's TV-L1 convention: uint8 as is, float ×255)."""
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise InputError(
            f"{name} must be a 2-D gray image, got shape {arr.shape}; "
            "convert colour with cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)"
        )
    if arr.size == 0:
        raise InputError(f"{name} is empty (shape {arr.shape})")
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr, dtype=np.float32)
    if np.issubdtype(arr.dtype, np.floating):
        return np.ascontiguousarray(arr * 255.0, dtype=np.float32)
    raise InputError(f"{name} must be uint8 or float (in [0, 1]), got {arr.dtype}")


def _init_flow(init: object, shape: tuple[int, int]) -> np.ndarray | None:
    if init is None:
        return None
    f = _flow_array(init)
    if f.shape[:2] != shape:
        raise InputError(f"init flow is {f.shape[0]}x{f.shape[1]}, the images {shape[0]}x{shape[1]}")
    return f


def tvl1_flow_stats(
    prev: np.ndarray,
    next: np.ndarray,
    init: np.ndarray | None = None,
    settings: Tvl1Settings | None = None,
    *,
    impl: Impl = "auto",
) -> Tvl1Result:
    """:func:`tvl1_flow` with its cost: work (pixel-iterations) and iterations, summed over scales."""
    s = settings or Tvl1Settings()
    a, b = gray_float(prev, "prev"), gray_float(next, "next")
    if a.shape != b.shape:
        raise InputError(f"prev is {a.shape[0]}x{a.shape[1]} but next is {b.shape[0]}x{b.shape[1]}")
    f0 = _init_flow(init, a.shape)
    return _resolve("tvl1", impl)(a, b, f0, s)


def tvl1_flow(
    prev: np.ndarray,
    next: np.ndarray,
    init: np.ndarray | None = None,
    *,
    tau: float = 0.25,
    lambda_: float = 0.15,
    theta: float = 0.3,
    epsilon: float = 0.01,
    scales: int = 5,
    scale_step: float = 0.8,
    warps: int = 5,
    inner_iterations: int = 30,
    outer_iterations: int = 10,
    median_filter: int = 5,
    impl: Impl = "auto",
) -> np.ndarray:
    """TV-L1 optical flow prev → next, float32 H x W x 2 (u, v): prev(y, x) ≈ next(y + v, x + u).

    Parameters, defaults and conventions are OpenCV's ``DualTVL1OpticalFlow`` (images: uint8, or
    float in [0, 1]; 2-D gray). ``init`` warm-starts the solver from a flow of the same size.
    """
    settings = Tvl1Settings(
        tau=tau,
        lambda_=lambda_,
        theta=theta,
        epsilon=epsilon,
        scales=scales,
        scale_step=scale_step,
        warps=warps,
        inner_iterations=inner_iterations,
        outer_iterations=outer_iterations,
        median_filter=median_filter,
    )
    return tvl1_flow_stats(prev, next, init, settings, impl=impl).flow
