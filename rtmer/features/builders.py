"""One builder per input kind: the frames of an event -> the model input the kind's paper uses.

Every builder takes ``(source, event, landmarks68, spec)``: the frames (:class:`FrameSource`), the
span (:class:`EventSpan`), the onset frame's 68 landmarks in frame pixels and the options
(:class:`FeatureSpec`). Each warps the frames it needs with the transform from those landmarks
(:mod:`rtmer.face.align`) and computes its input (the table is :data:`rtmer.features.FEATURE_KINDS`).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from rtmer import motion
from rtmer.errors import InputError
from rtmer.face import align
from rtmer.face.regions import eye_mask
from rtmer.features.landmarks import check_landmarks
from rtmer.features.sources import EventSpan, FrameSource, get_frame
from rtmer.features.spec import FeatureSpec

Feature = np.ndarray | dict[str, np.ndarray]

#: CropNet's key-frame rule (eq. 1-2): an event whose rise (apex - onset) is at least this many
#: frames has its key frames end at the apex; a shorter one ends them at min(onset + 10, offset),
#: so they need the offset (:func:`rtmer.motion.key_frames` applies the same rule).
KEY_FRAME_MIN_RISE = 10


def _gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _rgb(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB)


def _flow(
    source: FrameSource, event: EventSpan, m: np.ndarray, size: tuple[int, int], spec: FeatureSpec, kind: str
) -> np.ndarray:
    """TV-L1 flow onset -> apex on the gray crop ``m`` of ``size``: (h, w, 2) float32 crop pixels."""
    if event.apex is None:
        raise InputError(
            f"{kind} needs an apex frame; fill it first (rtmer.data.apex.with_apex: 'middle' or 'max-flow')"
        )
    onset = align.warp(_gray(get_frame(source, event.onset, kind)), m, size)
    apex = align.warp(_gray(get_frame(source, event.apex, kind)), m, size)
    return motion.tvl1_flow_stats(onset, apex, settings=spec.tvl1, impl=spec.impl).flow


def flow3(source: FrameSource, event: EventSpan, landmarks68: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """STSTNet / LAENet input: (s, s, 3) float32 [u, v, ε], s = ``spec.flow3_size`` (28).

    TV-L1 flow onset -> apex on LAENet's gray crop (:func:`rtmer.face.align.laenet_transform` at
    ``spec.flow_size``), its optical strain ε (LAENet eq. 4-6), and the eye polygons (points 37-42,
    43-48 in the crop) zeroed before resizing, as LAENet sec. 2.2.4 masks the flow image. The
    resize is cv2.INTER_AREA (the mean over each output cell: no aliasing of the fine flow, and
    cells wholly inside an eye stay exactly 0). Values are not rescaled: u, v stay in pixels of the
    flow crop, as LAENet resizes its feature maps as images; ε is dimensionless.
    """
    p = check_landmarks(landmarks68)
    m = align.laenet_transform(p, spec.flow_size)
    flow = _flow(source, event, m, spec.flow_size, spec, "flow3")
    stack = np.dstack([flow, motion.optical_strain(flow, impl=spec.impl)])
    stack[eye_mask(align.apply(m, p), stack.shape)] = 0.0
    s = spec.flow3_size
    return cv2.resize(stack, (s, s), interpolation=cv2.INTER_AREA).astype(np.float32, copy=False)


def flow_color(
    source: FrameSource, event: EventSpan, landmarks68: np.ndarray, spec: FeatureSpec
) -> np.ndarray:
    """MJFN input: (s, s, 3) uint8 RGB, s = ``spec.color_size`` (224).

    TV-L1 flow onset -> apex on a gray s x s crop of LAENet's landmark box (**[rtmer]** MJFN names
    no crop; LAENet's forehead margin keeps brow raises in view), coded on the Middlebury wheel of
    ``spec.n_hues`` hues, magnitude normalised by the image's maximum (MJFN eq. 5-6).
    """
    size = (spec.color_size, spec.color_size)
    m = align.laenet_transform(check_landmarks(landmarks68), size)
    flow = _flow(source, event, m, size, spec, "flow_color")
    return motion.flow_to_color(flow, spec.n_hues, impl=spec.impl)


def residual_needs_offset(event: EventSpan) -> bool:
    """Whether CropNet's key frames of ``event`` depend on its offset: a rise shorter than
    :data:`KEY_FRAME_MIN_RISE` frames, or no apex yet."""
    return event.apex is None or event.apex - event.onset < KEY_FRAME_MIN_RISE


def residual_key_frames(event: EventSpan, n_key: int = 5) -> list[int]:
    """CropNet's key frames F of an event (eq. 1-4, :func:`rtmer.motion.key_frames`).

    A live event emitted at its apex has no offset yet; F is known without it when the apex is at
    least :data:`KEY_FRAME_MIN_RISE` frames after the onset (eq. 2: end = min(apex, offset) = apex).
    Otherwise eq. 1's end, min(onset + 10, offset), needs the offset: InputError.
    """
    offset = event.offset
    if offset is None:
        if residual_needs_offset(event):
            raise InputError(
                f"residual: the event (onset {event.onset}, apex {event.apex}) has no offset yet and "
                "its key frames depend on it (CropNet eq. 1); build it from the record with the offset"
            )
        assert event.apex is not None  # without an apex the key frames need the offset (above)
        offset = event.apex
    return motion.key_frames(event.onset, event.apex, offset, n_key)


def residual(source: FrameSource, event: EventSpan, landmarks68: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """CropNet input: (320, 320, 3) uint8 RGB, the ARS (eq. 5) or RRS (eq. 6-7) of the key frames
    (:func:`residual_key_frames`) against the onset frame, on CropNet's colour crop
    (:func:`rtmer.face.align.cropnet_transform`). A gray source gives three equal channels."""
    m = align.cropnet_transform(check_landmarks(landmarks68))

    def crop(index: int) -> np.ndarray:
        return align.warp(_rgb(get_frame(source, index, "residual")), m, (320, 320))

    keys = np.stack([crop(i) for i in residual_key_frames(event, spec.n_key)])
    if spec.residual == "ars":
        return motion.absolute_residual_sum(keys, crop(event.onset), impl=spec.impl)
    return motion.relative_residual_sum(keys, crop(event.onset), impl=spec.impl)


def _sequence(
    source: FrameSource,
    event: EventSpan,
    length: int,
    kind: str,
    crop: Callable[[np.ndarray], dict[str, np.ndarray]],
) -> dict[str, np.ndarray]:
    """``crop`` of the clip onset..offset resampled to ``length`` frames: {name: (length, ...) float32}.

    Linear interpolation in time between the two neighbouring frames. **[rtmer]** The aggregation
    paper uses TIM (Zhou et al. 2011, a graph-embedding interpolation); linear interpolation is
    its simple stand-in, exact at both ends. Positions are computed in integers (frame k sits at
    onset + k (n - 1) / (length - 1)), so they do not depend on where the indices start.
    """
    if event.offset is None:
        raise InputError(
            f"{kind} resamples onset..offset, but the event (onset {event.onset}) has no offset yet; "
            "build it from the record with the offset"
        )
    n = event.offset - event.onset + 1
    if n < 1:
        raise InputError(f"{kind}: offset {event.offset} is before onset {event.onset}")
    crops: dict[int, dict[str, np.ndarray]] = {}

    def at(i: int) -> dict[str, np.ndarray]:
        if i not in crops:
            image = get_frame(source, event.onset + i, kind)
            crops[i] = {k: v.astype(np.float32) for k, v in crop(image).items()}
        return crops[i]

    out: dict[str, list[np.ndarray]] = {}
    for k in range(length):
        i0, rest = divmod(k * (n - 1), length - 1)
        w = np.float32(rest / (length - 1))
        a = at(i0)
        b = at(i0 + 1) if rest else a
        for name in a:
            out.setdefault(name, []).append(a[name] if not rest else (1 - w) * a[name] + w * b[name])
    return {name: np.stack(seq) for name, seq in out.items()}


def _convert(spec: FeatureSpec) -> Callable[[np.ndarray], np.ndarray]:
    return _rgb if spec.color else _gray


def frames(source: FrameSource, event: EventSpan, landmarks68: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """Aggregation-network input: (T, 140, 120) uint8 gray, or (T, 140, 120, 3) RGB with
    ``spec.color``; T = ``spec.length``. Each frame onset..offset is cut by the aggregation crop
    (:func:`rtmer.face.align.aggregation_transform`) and the sequence is resampled linearly in
    time (:func:`_sequence`), rounded to the nearest grey level."""
    m = align.aggregation_transform(check_landmarks(landmarks68))
    convert = _convert(spec)
    seq = _sequence(
        source, event, spec.length, "frames", lambda img: {"face": align.warp(convert(img), m, (120, 140))}
    )
    return np.rint(seq["face"]).astype(np.uint8)


def regions(
    source: FrameSource, event: EventSpan, landmarks68: np.ndarray, spec: FeatureSpec
) -> dict[str, np.ndarray]:
    """CNN-LSTM-SE input: {region: (T, h, w) float32 in [0, 1]} for the six regions of
    :data:`rtmer.face.align.CNN_LSTM_SE_REGIONS` at their normalised sizes (h, w), gray, or
    (T, h, w, 3) RGB with ``spec.color``; T = ``spec.length``, resampled linearly in time
    (:func:`_sequence`); pixels divided by 255 (Aouayeb et al. 2022, sec. 4.1). The model cuts
    each region into its nine patches."""
    p = check_landmarks(landmarks68)
    convert = _convert(spec)
    seq = _sequence(source, event, spec.length, "regions", lambda img: align.region_crops(convert(img), p))
    return {name: v / np.float32(255) for name, v in seq.items()}
