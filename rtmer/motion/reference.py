"""Pure numpy / OpenCV / scikit-image twins of the native motion ops (the slow ``expected_fn``s).

Each function computes what its kernel in ``csrc/ops/`` computes, in the same float32 operation
order where that matters, so native results can be compared against it with tight tolerances.
Inputs are assumed valid (the public API in ``rtmer.motion`` checks them), except for
:func:`key_frames`, which is re-exported as is and checks its own arguments.

Flow convention everywhere (OpenCV's): ``flow[..., 0] = u`` (x), ``flow[..., 1] = v`` (y), mapping
prev -> next, i.e. ``prev(y, x) ~ next(y + v, x + u)``.
"""

from __future__ import annotations

import math
import operator

import cv2
import numpy as np

from rtmer.errors import InputError
from rtmer.motion.settings import Tvl1Settings

_F32 = np.float32
_FLT_EPSILON = _F32(np.finfo(np.float32).eps)

# Middlebury colour wheel segment lengths (Baker et al. 2011): RY, YG, GC, CB, BM, MR.
_WHEEL_SEGMENTS = (15, 6, 4, 11, 13, 6)


# ---------------------------------------------------------------------------------------------
# CropNet key frames and pixel residual sums (Zhao, Chen, Luo 2021)
# ---------------------------------------------------------------------------------------------


def key_frames(onset: int, apex: int | None, offset: int, n_key: int = 5) -> list[int]:
    """Key frame indices F of a clip, CropNet eq. (1)-(4); sorted, without repeats.

    ``end = min(onset + 10, offset)`` if ``apex - onset < 10`` else ``min(apex, offset)``
    (eq. 1-2); ``gap = ceil((end - onset) / (n_key + 1))`` (eq. 3);
    ``F = {min(onset + k * gap, end) : k = 1 .. n_key + 1}`` (eq. 4, [rtmer] reading).
    [rtmer] ``apex=None`` (SMIC, no apex annotation) is read as a short clip: end = min(onset + 10,
    offset). A clip with ``end == onset`` has gap 0 and gives ``[onset]``.

    >>> key_frames(10, 40, 60)
    [15, 20, 25, 30, 35, 40]
    >>> key_frames(10, 15, 60)
    [12, 14, 16, 18, 20]
    """
    try:
        onset, offset, n_key = operator.index(onset), operator.index(offset), operator.index(n_key)
        apex = None if apex is None else operator.index(apex)
    except TypeError as exc:
        raise InputError(f"key_frames needs integer frame indices ({exc}); pass ints") from exc
    if min(onset, offset, 0 if apex is None else apex) < 0:
        raise InputError(f"negative frame index (onset={onset}, apex={apex}, offset={offset})")
    if onset > offset:
        raise InputError(f"onset {onset} is after offset {offset}; swap them or fix the annotation")
    if n_key < 1:
        raise InputError(f"n_key must be >= 1, got {n_key}")
    if apex is None or apex - onset < 10:  # eq. (1)
        end = min(onset + 10, offset)
    else:  # eq. (2)
        end = min(apex, offset)
    gap = -(-(end - onset) // (n_key + 1))  # eq. (3): integer ceil
    return sorted({min(onset + k * gap, end) for k in range(1, n_key + 2)})  # eq. (4)


def residual_sum(frames: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Sum of absolute residuals against the reference: ``sum_k |frames[k] - reference|``.

    frames: (K,) + reference.shape uint8; reference: any shape uint8. Returns uint16 of
    reference.shape (exact for K <= 257; beyond, it wraps modulo 2**16 like the kernel).
    The common part of CropNet eq. (5) and (6).
    """
    diff = np.abs(frames.astype(np.int64) - reference.astype(np.int64))
    return diff.sum(axis=0).astype(np.uint16)


def absolute_residual_sum(frames: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """ARS, CropNet eq. (5): ``residual_sum mod 256`` as uint8 of reference.shape."""
    return (residual_sum(frames, reference) % 256).astype(np.uint8)


def relative_residual_sum(
    frames: np.ndarray, reference: np.ndarray, gmin: int = 0, gmax: int = 255
) -> np.ndarray:
    """RRS, CropNet eq. (6)-(7): residual_sum min-max stretched to [gmin, gmax], uint8.

    Integer round-half-up: ``gmin + ((acc - lo) * (gmax - gmin) * 2 + (hi - lo)) // (2 * (hi - lo))``
    with lo, hi the image min and max; [rtmer] a flat sum (hi == lo) gives all gmin.
    """
    acc = residual_sum(frames, reference).astype(np.int64)
    if acc.size == 0:
        return acc.astype(np.uint8)
    lo, hi = int(acc.min()), int(acc.max())
    if hi == lo:
        return np.full(acc.shape, gmin, dtype=np.uint8)
    span = hi - lo
    out = gmin + ((acc - lo) * (gmax - gmin) * 2 + span) // (2 * span)
    return out.astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# Optical strain (LAENet, Lien & Chiang 2020)
# ---------------------------------------------------------------------------------------------


def _gradient_f32(f: np.ndarray, axis: int) -> np.ndarray:
    """numpy.gradient (edge_order=1) in float32 with the kernel's operation order; 0 on a length-1 axis."""
    f = np.moveaxis(f, axis, 0)
    out = np.zeros_like(f)
    if f.shape[0] > 1:
        out[1:-1] = (f[2:] - f[:-2]) * _F32(0.5)
        out[0] = f[1] - f[0]
        out[-1] = f[-1] - f[-2]
    return np.moveaxis(out, 0, axis)


def optical_strain(flow: np.ndarray) -> np.ndarray:
    """Optical strain magnitude of a flow field, LAENet eq. (4)-(6); (H, W, 2) -> (H, W) float32.

    ``eps = sqrt(u_x^2 + v_y^2 + 0.5 * (u_y + v_x)^2)``: the normal strains u_x, v_y (eq. 5) and
    the shear strain 0.5 (u_y + v_x) (eq. 5, counted twice in the Frobenius norm, eq. 6).
    """
    u = np.ascontiguousarray(flow[..., 0], dtype=_F32)
    v = np.ascontiguousarray(flow[..., 1], dtype=_F32)
    u_x, u_y = _gradient_f32(u, 1), _gradient_f32(u, 0)
    v_x, v_y = _gradient_f32(v, 1), _gradient_f32(v, 0)
    shear = u_y + v_x
    return np.sqrt(u_x * u_x + v_y * v_y + _F32(0.5) * shear * shear)


# ---------------------------------------------------------------------------------------------
# Flow colour coding (MJFN, Li et al. 2021, eq. 5-6; Middlebury wheel, Baker et al. 2011)
# ---------------------------------------------------------------------------------------------


def _wheel_segments(n_hues: int) -> list[int]:
    """The six segment lengths for n_hues hues: scaled Middlebury lengths summing to n_hues."""
    if n_hues < 6:
        raise InputError(f"the colour wheel needs n_hues >= 6 (one per segment), got {n_hues}")
    base = sum(_WHEEL_SEGMENTS)
    # floor(x + 0.5): round half up, the same as std::lround in the kernel (Python's round is
    # half-to-even).
    segs = [max(1, math.floor(s * n_hues / base + 0.5)) for s in _WHEEL_SEGMENTS]
    largest = segs.index(max(segs))
    segs[largest] += n_hues - sum(segs)
    return segs


def color_wheel(n_hues: int = 55) -> np.ndarray:
    """Middlebury colour wheel: (n_hues, 3) float32 RGB in [0, 255].

    n_hues = 55 gives the standard wheel (RY 15, YG 6, GC 4, CB 11, BM 13, MR 6); other counts
    scale the six segments (at least 1 hue each, the largest absorbs the rounding).
    """
    wheel = np.zeros((n_hues, 3), dtype=np.float64)
    # Each segment holds one channel at 255 and ramps another up or down: red -> yellow -> green
    # -> cyan -> blue -> magenta -> red.
    ramps = [(0, 1, True), (1, 0, False), (1, 2, True), (2, 1, False), (2, 0, True), (0, 2, False)]
    k = 0
    for n, (full, ramped, rising) in zip(_wheel_segments(n_hues), ramps, strict=True):
        ramp = np.floor(255 * np.arange(n) / n)
        wheel[k : k + n, full] = 255
        wheel[k : k + n, ramped] = ramp if rising else 255 - ramp
        k += n
    return wheel.astype(_F32)


def flow_to_color(flow: np.ndarray, n_hues: int = 55) -> np.ndarray:
    """Colour-code a flow field, MJFN eq. (5)-(6): (H, W, 2) float -> (H, W, 3) uint8 RGB.

    Hue from the direction ``arctan2(-v, -u) / pi`` interpolated on the wheel (eq. 5); saturation
    from the magnitude normalised by the largest finite magnitude of the image (eq. 6; 1 when the
    flow is all zero). Non-finite pixels are black. Computed in float32 like the kernel.
    """
    u = flow[..., 0].astype(_F32)
    v = flow[..., 1].astype(_F32)
    finite = np.isfinite(u) & np.isfinite(v)
    u = np.where(finite, u, _F32(0))
    v = np.where(finite, v, _F32(0))
    rad = np.sqrt(u * u + v * v)
    maxrad = _F32(rad.max(initial=0))
    if maxrad == 0:
        maxrad = _F32(1)
    u, v = u / maxrad, v / maxrad

    wheel = color_wheel(n_hues)
    a = np.arctan2(-v, -u) / _F32(np.pi)  # direction in [-1, 1] (eq. 5)
    fk = (a + _F32(1)) / _F32(2) * _F32(n_hues - 1)
    k0 = np.floor(fk).astype(np.int64)
    k1 = np.where(k0 + 1 < n_hues, k0 + 1, 0)
    f = (fk - k0.astype(_F32))[..., None]
    col = ((_F32(1) - f) * wheel[k0] + f * wheel[k1]) / _F32(255)

    r = (rad / maxrad)[..., None]  # normalised magnitude (eq. 6)
    col = np.where(r <= 1, _F32(1) - r * (_F32(1) - col), col * _F32(0.75))
    out = np.floor(_F32(255) * col).astype(np.uint8)
    out[~finite] = 0
    return out


# ---------------------------------------------------------------------------------------------
# TV-L1 optical flow (Zach, Pock, Bischof 2007; Sanchez et al., IPOL 2013; OpenCV DualTVL1)
# ---------------------------------------------------------------------------------------------


def _to_gray255(image: np.ndarray) -> np.ndarray:
    """OpenCV's input convention: uint8 used as is, float taken as [0, 1] and scaled by 255."""
    if image.dtype == np.uint8:
        return image.astype(_F32)
    return np.asarray(image, dtype=_F32) * _F32(255)


def _resize_taps(n_src: int, n_dst: int, inv: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Along one axis: the two source taps and the weight of the second for each output pixel."""
    pos = ((np.arange(n_dst) + 0.5) * inv - 0.5).astype(_F32)
    lo = np.floor(pos).astype(np.intp)
    frac = pos - lo.astype(_F32)
    clamped = (lo < 0) | (lo >= n_src - 1)
    lo = np.clip(lo, 0, n_src - 1)
    frac[clamped] = 0
    return lo, np.minimum(lo + 1, n_src - 1), frac


def _resize_bilinear(src: np.ndarray, h: int, w: int, inv_x: float, inv_y: float) -> np.ndarray:
    """The kernel's bilinear resize of a float32 plane to (h, w): OpenCV's INTER_LINEAR geometry
    (output x samples the source at (x + 0.5) * inv_x - 0.5, clamped), in the kernel's float32
    operation order. cv2.resize itself is not the twin: its float rounding differs between OpenCV
    4 and 5 by an ulp on some pixels, and TV-L1 without a median filter amplifies that past 1e-3 px.
    """
    x0, x1, ax = _resize_taps(src.shape[1], w, inv_x)
    y0, y1, ay = _resize_taps(src.shape[0], h, inv_y)
    r0, r1 = src[y0], src[y1]
    top = r0[:, x0] + ax * (r0[:, x1] - r0[:, x0])
    bottom = r1[:, x0] + ax * (r1[:, x1] - r1[:, x0])
    return top + ay[:, None] * (bottom - top)


def _resize_to(src: np.ndarray, h: int, w: int) -> np.ndarray:
    """:func:`_resize_bilinear` to (h, w): inv = source size / output size (cv2.resize with dsize)."""
    return _resize_bilinear(src, h, w, src.shape[1] / w, src.shape[0] / h)


def _centred_gradient(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Central differences 0.5 (f[i+1] - f[i-1]); replicate border, so 0.5 (f[1] - f[0]) at the edges."""
    fx = np.empty_like(f)
    fy = np.empty_like(f)
    half = _F32(0.5)
    fx[:, 1:-1] = half * (f[:, 2:] - f[:, :-2])
    fx[:, 0] = half * (f[:, 1] - f[:, 0])
    fx[:, -1] = half * (f[:, -1] - f[:, -2])
    fy[1:-1] = half * (f[2:] - f[:-2])
    fy[0] = half * (f[1] - f[0])
    fy[-1] = half * (f[-1] - f[-2])
    return fx, fy


def _forward_gradient(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward differences; 0 on the last column (x) and last row (y)."""
    fx = np.zeros_like(f)
    fy = np.zeros_like(f)
    fx[:, :-1] = f[:, 1:] - f[:, :-1]
    fy[:-1] = f[1:] - f[:-1]
    return fx, fy


def _divergence(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Divergence by backward differences, the adjoint of -_forward_gradient; terms before index 0 are 0."""
    div = px.copy()
    div[:, 1:] -= px[:, :-1]
    div += py
    div[1:] -= py[:-1]
    return div


def _keys_weights(t: np.ndarray, a: float = -0.75) -> list[np.ndarray]:
    """Keys' cubic convolution weights of the 4 taps at fraction t (a = -0.75: OpenCV's INTER_CUBIC)."""
    a = _F32(a)
    c0 = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a
    c1 = ((a + 2) * t - (a + 3)) * t * t + 1
    c2 = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1
    return [c0, c1, c2, 1 - c0 - c1 - c2]


def bicubic_sample(
    images: tuple[np.ndarray, ...], map_x: np.ndarray, map_y: np.ndarray, a: float = -0.75
) -> list[np.ndarray]:
    """Sample each (H, W) image at (map_x, map_y) with Keys' bicubic kernel and replicated borders.

    Unlike cv2.remap, which rounds coordinates to 1/32 px, the positions are used at full float
    precision: a micro-expression moves the face by that order of magnitude.
    """
    h, w = images[0].shape
    bx, by = np.floor(map_x), np.floor(map_y)
    wx, wy = _keys_weights((map_x - bx).astype(_F32), a), _keys_weights((map_y - by).astype(_F32), a)
    ix = np.clip(bx, -4, w + 4).astype(np.intp) - 1
    iy = np.clip(by, -4, h + 4).astype(np.intp) - 1
    out = [np.zeros(map_x.shape, _F32) for _ in images]
    for j in range(4):
        rows = np.clip(iy + j, 0, h - 1)
        for k in range(4):
            cols = np.clip(ix + k, 0, w - 1)
            weight = wy[j] * wx[k]
            for o, img in zip(out, images, strict=True):
                o += weight * img[rows, cols]
    return out


def remap(image: np.ndarray, map_xy: np.ndarray, a: float = -0.5) -> np.ndarray:
    """out(y, x) = image(map_xy[y, x]) (bicubic, replicated border), float32; image (H, W) or (H, W, C)."""
    img = np.asarray(image, dtype=_F32)
    planes = [img] if img.ndim == 2 else [img[..., k] for k in range(img.shape[2])]
    out = bicubic_sample(tuple(planes), map_xy[..., 0], map_xy[..., 1], a)
    return out[0] if img.ndim == 2 else np.stack(out, axis=-1)


def absdiff(frame: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """|frame - reference| of two uint8 images, uint8."""
    return cv2.absdiff(frame, reference)


def _tvl1_level(
    i0: np.ndarray, i1: np.ndarray, u1: np.ndarray, u2: np.ndarray, s: Tvl1Settings
) -> tuple[np.ndarray, np.ndarray, int]:
    """TV-L1 at one pyramid level, starting from (u1, u2); returns the refined (u1, u2) and the
    number of primal-dual iterations it took."""
    h, w = i0.shape
    scaled_eps = _F32(s.epsilon * s.epsilon * h * w)  # stopping rule: sum of squared updates
    l_t = _F32(s.lambda_ * s.theta)
    taut = _F32(s.tau / s.theta)
    theta32 = _F32(s.theta)
    i1x, i1y = _centred_gradient(i1)
    ys, xs = np.mgrid[0:h, 0:w].astype(_F32)
    p11, p12, p21, p22 = (np.zeros_like(i0) for _ in range(4))  # dual variables, reset per level
    iterations = 0

    for _ in range(s.warps):
        # Linearise I1 around the current flow: warp I1 and its gradient to x + u (bicubic).
        map_x, map_y = xs + u1, ys + u2
        i1w, i1wx, i1wy = bicubic_sample((i1, i1x, i1y), map_x, map_y)
        # [rtmer] a sample outside the image carries no data: zero its gradient (native twin).
        outside = (map_x < 0) | (map_x > w - 1) | (map_y < 0) | (map_y > h - 1)
        i1wx[outside] = 0
        i1wy[outside] = 0
        grad = i1wx * i1wx + i1wy * i1wy
        rho_c = i1w - i1wx * u1 - i1wy * u2 - i0  # rho(u) = rho_c + grad(I1w) . u

        error = np.inf
        n_outer = 0
        while error > scaled_eps and n_outer < s.outer_iterations:
            if s.median_filter > 1:
                u1 = cv2.medianBlur(u1, s.median_filter)
                u2 = cv2.medianBlur(u2, s.median_filter)
            n_inner = 0
            while error > scaled_eps and n_inner < s.inner_iterations:
                # Thresholding step TH: pointwise minimiser of the data term (v close to u).
                rho = rho_c + (i1wx * u1 + i1wy * u2)
                lt_grad = l_t * grad
                safe_grad = np.where(grad > _FLT_EPSILON, grad, _F32(1))
                coef = np.where(
                    rho < -lt_grad,
                    l_t,
                    np.where(rho > lt_grad, -l_t, np.where(grad > _FLT_EPSILON, -rho / safe_grad, _F32(0))),
                )
                v1 = u1 + coef * i1wx
                v2 = u2 + coef * i1wy

                # Primal step: u = v + theta div p.
                new_u1 = v1 + theta32 * _divergence(p11, p12)
                new_u2 = v2 + theta32 * _divergence(p21, p22)
                d1, d2 = new_u1 - u1, new_u2 - u2
                error = float(np.sum(d1 * d1 + d2 * d2, dtype=np.float64))
                u1, u2 = new_u1, new_u2

                # Dual step (Chambolle's projection): p = (p + taut grad u) / (1 + taut |grad u|).
                u1x, u1y = _forward_gradient(u1)
                u2x, u2y = _forward_gradient(u2)
                ng1 = _F32(1) + taut * np.hypot(u1x, u1y)
                ng2 = _F32(1) + taut * np.hypot(u2x, u2y)
                p11 = (p11 + taut * u1x) / ng1
                p12 = (p12 + taut * u1y) / ng1
                p21 = (p21 + taut * u2x) / ng2
                p22 = (p22 + taut * u2y) / ng2
                n_inner += 1
                iterations += 1
            n_outer += 1
    return u1, u2, iterations


def tvl1_flow_counted(
    prev: np.ndarray,
    next: np.ndarray,
    init: np.ndarray | None = None,
    settings: Tvl1Settings | None = None,
) -> tuple[np.ndarray, int, int, int]:
    """:func:`tvl1_flow` plus its cost: (flow, iterations, work in pixel-iterations, scales used)."""
    s = settings or Tvl1Settings()
    step = _F32(s.scale_step)  # the kernel holds it as a float
    inv_step = 1.0 / float(step)
    i0, i1 = _to_gray255(prev), _to_gray255(next)
    pyramid = [(i0, i1)]
    for _ in range(1, s.scales):
        # std::lround: halves away from zero (Python's round() would take them to even).
        h, w = (math.floor(n * float(step) + 0.5) for n in pyramid[-1][0].shape)
        if h < 16 or w < 16:
            break
        a, b = pyramid[-1]
        pyramid.append(
            (_resize_bilinear(a, h, w, inv_step, inv_step), _resize_bilinear(b, h, w, inv_step, inv_step))
        )

    if init is None:
        u1, u2 = (np.zeros(pyramid[-1][0].shape, dtype=_F32) for _ in range(2))
    else:
        # OpenCV's useInitialFlow: the start flow goes down the pyramid like the images, its
        # vectors shrinking by scale_step per level.
        flow = np.asarray(init, dtype=_F32)
        u1, u2 = np.ascontiguousarray(flow[..., 0]), np.ascontiguousarray(flow[..., 1])
        for a, _ in pyramid[1:]:
            u1 = _resize_bilinear(u1, a.shape[0], a.shape[1], inv_step, inv_step) * step
            u2 = _resize_bilinear(u2, a.shape[0], a.shape[1], inv_step, inv_step) * step

    iterations = work = 0
    for level in range(len(pyramid) - 1, -1, -1):
        a, b = pyramid[level]
        if u1.shape != a.shape:  # coarse -> fine, vectors grow by 1 / scale_step (OpenCV)
            u1 = _resize_to(u1, *a.shape) * (_F32(1) / step)
            u2 = _resize_to(u2, *a.shape) * (_F32(1) / step)
        u1, u2, n = _tvl1_level(a, b, u1, u2, s)
        iterations += n
        work += n * a.size
    flow = np.dstack([u1, u2])
    return flow, iterations, work, len(pyramid)


def tvl1_flow(
    prev: np.ndarray, next: np.ndarray, init: np.ndarray | None = None, settings: Tvl1Settings | None = None
) -> np.ndarray:
    """Dual TV-L1 optical flow prev -> next, a readable numpy twin of the native solver.

    prev, next: (H, W) gray, uint8 in [0, 255] or float in [0, 1]; init: optional (H, W, 2) flow;
    settings: OpenCV's parameters and defaults (:class:`Tvl1Settings`).
    Returns (H, W, 2) float32 (u, v) with ``prev(y, x) ~ next(y + v, x + u)``.

    The algorithm and parameters are OpenCV's DualTVL1OpticalFlow (gamma = 0), each pyramid level
    the previous one resized bilinearly by scale_step (the geometry of
    ``cv2.resize(fx=fy=scale_step, INTER_LINEAR)``) while both sides stay >= 16 px, with two
    [rtmer] choices: warping is an exact bicubic that replicates the border (OpenCV's remap
    rounds positions to 1/32 px and fills 0 outside the image), and a pixel whose warped position
    falls outside the image gets no data term (zero gradient).
    """
    return tvl1_flow_counted(prev, next, init, settings)[0]


def opencv_tvl1(
    prev: np.ndarray,
    next: np.ndarray,
    init: np.ndarray | None = None,
    settings: Tvl1Settings | None = None,
) -> np.ndarray:
    """OpenCV's ``cv2.optflow.DualTVL1OpticalFlow`` with the same :class:`Tvl1Settings`.

    prev, next: (H, W) gray, uint8 or float in [0, 1] (OpenCV scales float by 255 itself);
    init: optional (H, W, 2) flow. Returns (H, W, 2) float32 (u, v), prev -> next.
    """

    def as_cv(image: np.ndarray) -> np.ndarray:
        dtype = np.uint8 if image.dtype == np.uint8 else _F32
        return np.ascontiguousarray(image, dtype=dtype)

    s = settings or Tvl1Settings()
    solver = cv2.optflow.DualTVL1OpticalFlow_create(  # type: ignore[attr-defined]  # contrib, untyped
        tau=s.tau,
        lambda_=s.lambda_,
        theta=s.theta,
        nscales=s.scales,
        warps=s.warps,
        epsilon=s.epsilon,
        innnerIterations=s.inner_iterations,  # sic: OpenCV's spelling
        outerIterations=s.outer_iterations,
        scaleStep=s.scale_step,
        gamma=0.0,
        medianFiltering=s.median_filter,
        useInitialFlow=init is not None,
    )
    flow = None if init is None else np.array(init, dtype=_F32, order="C")
    return solver.calc(as_cv(prev), as_cv(next), flow).astype(_F32)


def skimage_tvl1(prev: np.ndarray, next: np.ndarray, **kw: object) -> np.ndarray:
    """scikit-image's ``registration.optical_flow_tvl1`` in rtmer's flow convention.

    prev, next: (H, W) gray, uint8 or float in [0, 1]; kw go to optical_flow_tvl1 (attachment,
    tightness, num_warp, num_iter, tol, prefilter). Returns (H, W, 2) float32 (u, v).
    scikit-image returns (2, H, W) as (row, col) = (v, u) with
    ``reference(r, c) ~ moving(r + flow[0], c + flow[1])``: reference = prev, moving = next.
    """
    from skimage.registration import optical_flow_tvl1  # heavy import, only when used

    def as_unit(image: np.ndarray) -> np.ndarray:
        if image.dtype == np.uint8:
            return image.astype(_F32) / _F32(255)
        return np.asarray(image, dtype=_F32)

    rows_cols = optical_flow_tvl1(as_unit(prev), as_unit(next), dtype=np.float32, **kw)
    return np.stack([rows_cols[1], rows_cols[0]], axis=-1).astype(_F32)
