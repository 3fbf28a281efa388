"""Model inputs, built by one code path from a data-set clip and from the live ring buffer.

Every builder reads frames through a :class:`FrameSource` (``frame(index) -> image | None``) and
takes the clip's span from an :class:`EventSpan` (``onset``, ``apex``, ``offset``):

- a data-set clip: ``ClipFrames(clip)`` and the :class:`rtmer.types.Clip` itself (its onset, apex
  and offset are positions in ``clip.frames``, which is how :class:`ClipFrames` indexes);
- live: the ring buffer and a :class:`rtmer.types.SpotEvent` (absolute frame indices).

Both go through the same functions, so a clip and a buffer holding the same decoded frames give
identical inputs. Frames are uint8, H x W (gray) or H x W x 3 (BGR, OpenCV's order).

The flow of a build: fetch the frames the kind needs; landmarks once, on the onset frame (the
papers align each clip once, on its first frame; pass ``landmarks68`` -- the live tracker's, in
frame pixels -- to skip detection); warp every frame with the transform from those landmarks
(:mod:`rtmer.face.align`); compute the kind's input (:data:`KINDS`):

=============  ===============================  ============================================
kind           shape, dtype                     model
=============  ===============================  ============================================
``flow3``      (28, 28, 3) float32 [u, v, ε]    STSTNet, LAENet
``flow_color`` (224, 224, 3) uint8 RGB          MJFN
``residual``   (320, 320, 3) uint8 RGB          CropNet (ARS or RRS)
``frames``     (T, 140, 120) uint8 [x 3 RGB]    multiple-aggregation network
``regions``    {region: (T, h, w) float32}      CNN-LSTM-SE (six regions, [0, 1])
=============  ===============================  ============================================

Colour outputs are RGB, the order of :func:`rtmer.motion.flow_to_color` and of torchvision's
transforms that train on them. :class:`FeatureCache` keeps built inputs on disk so that a LOSO run
computes each flow once.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Literal, Protocol

import cv2
import numpy as np

from rtmer import __version__, motion
from rtmer.errors import DatasetError, InputError
from rtmer.face import align
from rtmer.face.landmarks import LandmarkBackend, open_landmarks
from rtmer.face.regions import eye_mask
from rtmer.fileio import atomic_write
from rtmer.models import registry
from rtmer.motion import Impl, Tvl1Settings
from rtmer.types import Clip

Kind = Literal["flow3", "flow_color", "residual", "frames", "regions"]
KINDS: tuple[str, ...] = ("flow3", "flow_color", "residual", "frames", "regions")

Feature = np.ndarray | dict[str, np.ndarray]


class FrameSource(Protocol):
    """Frames by index: the image (uint8, H x W or H x W x 3 BGR), or None when it is not
    available (not yet captured, already overwritten, outside the clip)."""

    def frame(self, index: int) -> np.ndarray | None: ...


class EventSpan(Protocol):
    """Onset, apex and offset frame indices of one expression (:class:`rtmer.types.SpotEvent`
    and :class:`rtmer.types.Clip` both fit). ``offset`` is None for a live event emitted at its
    apex; ``apex`` is None for a clip without an annotated apex (SMIC)."""

    @property
    def onset(self) -> int: ...

    @property
    def apex(self) -> int | None: ...

    @property
    def offset(self) -> int | None: ...


class ClipFrames:
    """A data-set clip's frames by position in ``clip.frames``, decoded as BGR (3 channels)."""

    def __init__(self, clip: Clip) -> None:
        self.clip = clip

    def frame(self, index: int) -> np.ndarray | None:
        if not 0 <= index < len(self.clip.frames):
            return None
        path = self.clip.frames[index]
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            why = "it does not exist" if not Path(path).exists() else "OpenCV cannot decode it"
            raise DatasetError(
                f"clip {self.clip.key}: cannot read frame {index} ({path}): {why}; re-copy the data set"
            )
        return image


class DictFrames:
    """Frames held in a mapping index -> image (tests, replays of a few frames)."""

    def __init__(self, frames: Mapping[int, np.ndarray]) -> None:
        self.frames = frames

    def frame(self, index: int) -> np.ndarray | None:
        return self.frames.get(index)


@dataclass(frozen=True)
class FeatureSpec:
    """Options of the feature builders; each kind reads only its own (:meth:`options_for`).

    flow_size: (width, height) of the LAENet crop the 28 x 28 flow is computed on (the paper
    computes flow on its crop at the data set's resolution, CASME II's about 170 x 140, then
    resizes); flow3_size: the side of the flow3 output; color_size: the side of MJFN's crop, on
    which its flow is computed (MJFN does not say how it reaches 224 x 224; computing at the input
    size avoids resampling a colour image); n_hues: colours of MJFN's wheel; residual: "ars" or
    "rrs" (CropNet eq. 5 or 6-7); n_key: CropNet's key frame count (eq. 3); length: T, the frames
    of a time-interpolated sequence (64 in the aggregation paper; CNN-LSTM-SE's N); color: RGB
    sequences instead of gray; tvl1: TV-L1 settings (OpenCV's defaults); impl: which motion
    kernels run (see :mod:`rtmer.motion`; not part of the cache key, as the implementations agree
    to within their parity tests).
    """

    flow_size: tuple[int, int] = (128, 128)
    flow3_size: int = 28
    color_size: int = 224
    n_hues: int = 55
    residual: Literal["ars", "rrs"] = "ars"
    n_key: int = 5
    length: int = 64
    color: bool = False
    tvl1: Tvl1Settings = field(default_factory=Tvl1Settings)
    impl: Impl = "auto"

    def __post_init__(self) -> None:
        checks = [
            (len(self.flow_size) == 2 and min(self.flow_size) >= 8, f"flow_size {self.flow_size}: >= 8 px"),
            (self.flow3_size >= 1, f"flow3_size {self.flow3_size}: >= 1"),
            (self.color_size >= 8, f"color_size {self.color_size}: >= 8"),
            (self.residual in ("ars", "rrs"), f"residual {self.residual!r}: 'ars' or 'rrs'"),
            (self.n_key >= 1, f"n_key {self.n_key}: >= 1"),
            (self.length >= 2, f"length {self.length}: >= 2"),
            (isinstance(self.tvl1, Tvl1Settings), "tvl1: a rtmer.motion.Tvl1Settings"),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(f"invalid feature option {message}")

    def options_for(self, kind: Kind) -> dict[str, object]:
        """The options that determine ``kind``'s output, JSON-ready (the cache hashes them)."""
        names = _KIND_OPTIONS[_check_kind(kind)]
        values = asdict(self)
        return {name: values[name] for name in names}

    def overrides(self) -> dict[str, object]:
        """The fields that differ from the defaults, JSON-ready (what a model card stores)."""
        default, values = asdict(FeatureSpec()), asdict(self)
        return {k: v for k, v in values.items() if k != "impl" and v != default[k]}

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, object]) -> FeatureSpec:
        """The spec a card's ``feature`` mapping describes (:meth:`overrides` read back)."""
        names = {f.name for f in fields(cls)} - {"impl"}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise InputError(
                f"unknown feature option(s) {', '.join(unknown)}; see rtmer.features.FeatureSpec"
            )
        kw: dict[str, object] = dict(overrides)
        if "tvl1" in kw:
            kw["tvl1"] = Tvl1Settings(**kw["tvl1"])  # type: ignore[arg-type]
        if "flow_size" in kw:
            kw["flow_size"] = tuple(kw["flow_size"])  # type: ignore[arg-type]
        return cls(**kw)  # type: ignore[arg-type]


def _check_options(options: Mapping[str, object], known: set[str]) -> None:
    unknown = sorted(set(options) - known)
    if unknown:
        raise InputError(f"unknown feature option(s) {', '.join(unknown)}; see rtmer.features.FeatureSpec")


_KIND_OPTIONS: dict[str, tuple[str, ...]] = {
    "flow3": ("flow_size", "flow3_size", "tvl1"),
    "flow_color": ("color_size", "n_hues", "tvl1"),
    "residual": ("residual", "n_key"),
    "frames": ("length", "color"),
    "regions": ("length", "color"),
}


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InputError(f"unknown feature kind {kind!r}; expected one of {', '.join(KINDS)}")
    return kind


# --- frames, landmarks ---------------------------------------------------------------------------


def _get(source: FrameSource, index: int, kind: str) -> np.ndarray:
    image = source.frame(index)
    if image is None:
        raise InputError(
            f"frame {index} is not available from the frame source ({kind} needs it); "
            "keep the clip's frames in the buffer until its features are built"
        )
    if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise InputError(f"frame {index} must be uint8 H x W or H x W x 3, got {image.dtype} {image.shape}")
    return image


def _gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def _rgb(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB if image.ndim == 2 else cv2.COLOR_BGR2RGB)


_default_backend: LandmarkBackend | None = None
_backend_lock = threading.Lock()


def detect_landmarks(image: np.ndarray, backend: LandmarkBackend | None = None) -> np.ndarray:
    """The 68 landmarks of the face in ``image`` (uint8 gray or BGR), (68, 2) float64 frame pixels.

    ``backend`` defaults to one shared backend of :func:`rtmer.face.open_landmarks`, built on first
    use; calls to it are serialised (backends keep tracking state and MediaPipe graphs are not
    re-entrant). No face: InputError.
    """
    global _default_backend
    bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
    if backend is None:
        with _backend_lock:
            if _default_backend is None:
                _default_backend = open_landmarks()
            found = _default_backend.detect(bgr)
    else:
        found = backend.detect(bgr)
    if found is None:
        raise InputError("no face found in the onset frame; pass landmarks68 (68 points in frame pixels)")
    return np.asarray(found.points68, np.float64)


def _landmarks(points: object) -> np.ndarray:
    p = np.asarray(points, np.float64)
    if p.shape != (68, 2) or not np.isfinite(p).all():
        raise InputError(f"landmarks68 must be 68 finite (x, y) points in frame pixels, got shape {p.shape}")
    return p


# --- the kinds -----------------------------------------------------------------------------------


def _flow(
    source: FrameSource, event: EventSpan, m: np.ndarray, size: tuple[int, int], spec: FeatureSpec, kind: str
) -> np.ndarray:
    """TV-L1 flow onset -> apex on the gray crop ``m`` of ``size``: (h, w, 2) float32 crop pixels."""
    if event.apex is None:
        raise InputError(
            f"{kind} needs an apex frame; fill it first (rtmer.data.apex.with_apex: 'middle' or 'max-flow')"
        )
    onset = align.warp(_gray(_get(source, event.onset, kind)), m, size)
    apex = align.warp(_gray(_get(source, event.apex, kind)), m, size)
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
    p = _landmarks(landmarks68)
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
    m = align.laenet_transform(_landmarks(landmarks68), size)
    flow = _flow(source, event, m, size, spec, "flow_color")
    return motion.flow_to_color(flow, spec.n_hues, impl=spec.impl)


def residual_key_frames(event: EventSpan, n_key: int = 5) -> list[int]:
    """CropNet's key frames F of an event (eq. 1-4, :func:`rtmer.motion.key_frames`).

    A live event emitted at its apex has no offset yet; F is known without it when the apex is at
    least 10 frames after the onset (eq. 2: end = min(apex, offset) = apex). Otherwise eq. 1's end,
    min(onset + 10, offset), needs the offset: InputError.
    """
    offset = event.offset
    if offset is None:
        if event.apex is None or event.apex - event.onset < 10:
            raise InputError(
                f"residual: the event (onset {event.onset}, apex {event.apex}) has no offset yet and "
                "its key frames depend on it (CropNet eq. 1); build it from the record with the offset"
            )
        offset = event.apex
    return motion.key_frames(event.onset, event.apex, offset, n_key)


def residual(source: FrameSource, event: EventSpan, landmarks68: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """CropNet input: (320, 320, 3) uint8 RGB, the ARS (eq. 5) or RRS (eq. 6-7) of the key frames
    (:func:`residual_key_frames`) against the onset frame, on CropNet's colour crop
    (:func:`rtmer.face.align.cropnet_transform`). A gray source gives three equal channels."""
    m = align.cropnet_transform(_landmarks(landmarks68))

    def crop(index: int) -> np.ndarray:
        return align.warp(_rgb(_get(source, index, "residual")), m, (320, 320))

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
            crops[i] = {k: v.astype(np.float32) for k, v in crop(_get(source, event.onset + i, kind)).items()}
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
    m = align.aggregation_transform(_landmarks(landmarks68))
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
    p = _landmarks(landmarks68)
    convert = _convert(spec)
    seq = _sequence(source, event, spec.length, "regions", lambda img: align.region_crops(convert(img), p))
    return {name: v / np.float32(255) for name, v in seq.items()}


_BUILDERS: dict[str, Callable[[FrameSource, EventSpan, np.ndarray, FeatureSpec], Feature]] = {
    "flow3": flow3,
    "flow_color": flow_color,
    "residual": residual,
    "frames": frames,
    "regions": regions,
}


def build(
    kind: Kind,
    source: FrameSource,
    event: EventSpan,
    *,
    landmarks68: np.ndarray | None = None,
    spec: FeatureSpec | None = None,
    backend: LandmarkBackend | None = None,
    **options: object,
) -> Feature:
    """The input of ``kind`` (:data:`KINDS`) for ``event``'s frames in ``source``.

    ``landmarks68``: (68, 2) in frame pixels, for the onset frame; detected on it when None (with
    ``backend``, see :func:`detect_landmarks`). ``options`` override fields of ``spec``
    (:class:`FeatureSpec`, default its defaults), e.g. ``build("residual", src, ev, residual="rrs")``.

    >>> build("flow3", ClipFrames(clip), clip).shape  # doctest: +SKIP
    (28, 28, 3)
    """
    _check_kind(kind)
    _check_options(options, {f.name for f in fields(FeatureSpec)})
    spec = replace(spec or FeatureSpec(), **options)  # type: ignore[arg-type]
    if landmarks68 is None:
        landmarks68 = detect_landmarks(_get(source, event.onset, kind), backend)
    return _BUILDERS[kind](source, event, landmarks68, spec)


def feature_options(model: str | registry.ModelSpec) -> dict[str, object]:
    """The :class:`FeatureSpec` fields a model fixes: the clip length T of sequence inputs."""
    spec = registry.get(model) if isinstance(model, str) else model
    return {} if spec.input.clip_frames is None else {"length": spec.input.clip_frames}


def model_input(feature: Feature, model: str | registry.ModelSpec) -> np.ndarray:
    """A built feature -> one item of the model's input exactly as its :class:`InputSpec` says:
    float32, channels first, uint8 pixels scaled to [0, 1]; ``(T, C, H, W)`` for sequences
    (the aggregation network's T frames are its batch), regions packed by
    :func:`rtmer.models.registry.pack_regions`."""
    spec = registry.get(model) if isinstance(model, str) else model
    kind = spec.input.kind
    if kind == "regions":
        if not isinstance(feature, Mapping):
            raise InputError(f"{spec.name} takes a regions feature {{name: (T, h, w)}}, got an array")
        x = registry.pack_regions(feature, spec.input.regions)
    else:
        if not isinstance(feature, np.ndarray):
            raise InputError(f"{spec.name} takes a {kind} array, got {type(feature).__name__}")
        x = feature.astype(np.float32)
        if feature.dtype == np.uint8:
            x /= np.float32(255)
        if kind == "frames":
            x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
        else:
            x = x.transpose(2, 0, 1)
    expected = (
        spec.input.shape
        if spec.input.clip_frames is None or kind == "regions"
        else (spec.input.clip_frames, *spec.input.shape)
    )
    if x.shape != expected:
        raise InputError(
            f"{spec.name} needs a {kind} input of shape {expected}, the feature gives {x.shape}; "
            "build it with feature_options(model)"
        )
    return np.ascontiguousarray(x)


def build_input(
    model: str | registry.ModelSpec,
    source: FrameSource,
    event: EventSpan,
    *,
    landmarks68: np.ndarray | None = None,
    spec: FeatureSpec | None = None,
    backend: LandmarkBackend | None = None,
) -> np.ndarray:
    """:func:`build` + :func:`model_input`: ``model``'s input item for ``event``'s frames in
    ``source``, with the feature options the model fixes (:func:`feature_options`)."""
    mspec = registry.get(model) if isinstance(model, str) else model
    spec = replace(spec or FeatureSpec(), **feature_options(mspec))  # type: ignore[arg-type]
    feature = build(mspec.input.kind, source, event, landmarks68=landmarks68, spec=spec, backend=backend)
    return model_input(feature, mspec)


# --- the disk cache ------------------------------------------------------------------------------


class FeatureCache:
    """Built inputs of data-set clips on disk, so that a LOSO run computes each one once.

    An entry is keyed by the clip (its key and its onset / apex / offset, which an apex convention
    may fill), the kind, the kind's options (:meth:`FeatureSpec.options_for`) and the rtmer
    version: ``root/rtmer-<version>/<kind>/<dataset>/<subject>/<clip>/<hash>.npy`` (``.npz`` for
    the region dict). Files are written under a temporary name and renamed, so an interrupted run
    never leaves a partial file under the final name; concurrent writers of one entry are safe
    (each rename is atomic and both hold the same array).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    def path(self, clip: Clip, kind: Kind, spec: FeatureSpec) -> Path:
        """Where ``clip``'s input of ``kind`` under ``spec`` is stored."""
        payload = {"span": [clip.onset, clip.apex, clip.offset], "options": spec.options_for(kind)}
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
        suffix = ".npz" if kind == "regions" else ".npy"
        return (
            self.root
            / f"rtmer-{__version__}"
            / kind
            / clip.dataset
            / clip.subject
            / clip.clip_id
            / (digest + suffix)
        )

    def get_or_build(self, clip: Clip, kind: Kind, spec: FeatureSpec | None = None) -> Feature:
        """The cached input, or :func:`build` it from the clip's files and store it."""
        spec = spec or FeatureSpec()
        path = self.path(clip, kind, spec)
        if path.is_file():
            self.hits += 1
            return _read(path)
        self.misses += 1
        value = build(kind, ClipFrames(clip), clip, spec=spec)
        _write(path, value)
        return value


def _read(path: Path) -> Feature:
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return {name: z[name] for name in z.files}
    return np.load(path, allow_pickle=False)


def _write(path: Path, value: Feature) -> None:
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        if isinstance(value, dict):
            np.savez(f, **value)
        else:
            np.save(f, value)


__all__ = [
    "KINDS",
    "ClipFrames",
    "DictFrames",
    "EventSpan",
    "Feature",
    "FeatureCache",
    "FeatureSpec",
    "FrameSource",
    "Kind",
    "build",
    "detect_landmarks",
    "flow3",
    "flow_color",
    "frames",
    "regions",
    "residual",
    "residual_key_frames",
]
