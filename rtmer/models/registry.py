"""The models rtmer implements, by name: what each takes, what it predicts, how fast it must be.

Metadata only: this module imports neither torch nor a model module, so ``rtmer live`` and the
backends can read it without torch. :meth:`ModelSpec.build` imports the model's module (torch)
when a model is built.

Every model's ``forward`` takes a float32 batch ``(B, *InputSpec.shape)`` and returns logits
``(B, num_classes)``; ``softmax(logits)`` is the model's class probabilities (for MJFN exactly
the paper's fused prediction, see :mod:`rtmer.models.mjfn`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from rtmer.data.protocols import AGGREGATION_4, MEGC2019
from rtmer.errors import InputError, MissingDependencyError
from rtmer.face.align import CNN_LSTM_SE_REGIONS
from rtmer.features.kinds import KINDS, Kind, feature_kind

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class Region:
    """A named rectangle of a packed ``regions`` input: rows ``top:top + height``, columns
    ``left:left + width``."""

    name: str
    top: int
    left: int
    height: int
    width: int


@dataclass(frozen=True)
class InputSpec:
    """One item of a model's input, exactly as ``forward`` takes it (the batch axis excluded).

    kind: the feature it is built from (:mod:`rtmer.features`); shape: channels first, float
    (``(T, C, H, W)`` for sequences); dtype: a numpy dtype name; value_range: the (low, high) the
    values are scaled to, or None when unbounded (flow in pixels); clip_frames: for ``frames`` and
    ``regions``, the frames T a clip is resampled to in time; regions: for ``regions``, where each
    region lies in the packed frame (:func:`pack_regions`); description: in words.
    """

    kind: Kind
    shape: tuple[int, ...]
    dtype: str = "float32"
    value_range: tuple[float, float] | None = None
    clip_frames: int | None = None
    regions: tuple[Region, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"unknown input kind {self.kind!r}; known: {', '.join(KINDS)}")
        if not self.shape or min(self.shape) < 1:
            raise InputError(f"input shape {self.shape} must be non-empty with positive sizes")

    @property
    def frame_level(self) -> bool:
        """Whether the model sees one frame at a time (a clip's T frames as its batch, classified
        by a head over their features), by the kind's rule."""
        return feature_kind(self.kind).frame_level

    @property
    def item_shape(self) -> tuple[int, ...]:
        """One item as the backends take it and :func:`rtmer.models.inputs.model_input` gives it, by
        the kind's rule (:meth:`rtmer.features.FeatureKind.item_shape`): ``(T, C, H, W)`` clips for
        a frame-level model (the aggregation network sees a clip's T frames as its batch),
        :attr:`shape` otherwise."""
        return feature_kind(self.kind).item_shape(self.shape, self.clip_frames)


@dataclass(frozen=True)
class ModelSpec:
    """A registered model.

    target: ``"module:Class"`` of its ``nn.Module``, built by :meth:`build`; classes: the default
    class names in output order, from ``protocol`` (:data:`rtmer.data.protocols.PROTOCOLS`);
    paper: the source; published_params: the parameter count the paper states (None where it
    gives none); budget_cpu_ms / budget_gpu_ms: latency targets for classifying one clip from its
    input (one item at batch 1; the aggregation network's 64 frames), with ONNX Runtime on CPU and
    TensorRT FP16 on an H100-class GPU; notes: what the user should know.
    """

    name: str
    target: str
    input: InputSpec
    classes: tuple[str, ...]
    protocol: str
    paper: str
    published_params: int | None
    budget_cpu_ms: float
    budget_gpu_ms: float
    notes: str = ""

    def build(self, num_classes: int | None = None, **options: Any) -> nn.Module:
        """A freshly initialised model with ``num_classes`` outputs (default: ``len(classes)``);
        ``options`` go to the model's constructor."""
        module_name, _, attr = self.target.partition(":")
        model = getattr(import_torch_module(module_name), attr)
        return model(num_classes=len(self.classes) if num_classes is None else num_classes, **options)


def import_torch_module(name: str) -> ModuleType:
    """Imports a torch module of rtmer; :class:`MissingDependencyError` naming the extra when
    torch is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] != "torch":
            raise
        raise MissingDependencyError(
            f"{name} needs torch ({exc}); install the training extra: pip install 'rtmer[train]'"
        ) from exc


def _pack(rows: tuple[tuple[str, ...], ...]) -> tuple[Region, ...]:
    """Regions of :data:`rtmer.face.align.CNN_LSTM_SE_REGIONS` side by side in rows, rows stacked."""
    out, top = [], 0
    for names in rows:
        left = 0
        for name in names:
            height, width = CNN_LSTM_SE_REGIONS[name][1]
            out.append(Region(name, top, left, height, width))
            left += width
        top += max(CNN_LSTM_SE_REGIONS[name][1][0] for name in names)
    return tuple(out)


#: CNN-LSTM-SE's six regions packed into one frame. **[rtmer]** the paper feeds six region
#: sequences of different sizes; one tensor keeps one input for ONNX and TensorRT: eyes + brows
#: and nose (81 px high) in the first row, cheeks and mouth (60 px) in the second, 141 x 324 in all,
#: the unused corner zero.
REGION_ATLAS = _pack(
    (("eye_brow_right", "eye_brow_left", "nose"), ("cheek_right", "cheek_left", "mouth")),
)
ATLAS_SIZE = (max(r.top + r.height for r in REGION_ATLAS), max(r.left + r.width for r in REGION_ATLAS))


def pack_regions(regions: Mapping[str, np.ndarray], layout: tuple[Region, ...] = REGION_ATLAS) -> np.ndarray:
    """Six region sequences ``{name: (T, h, w) or (T, h, w, C)}`` -> one ``(T, C, H, W)`` float32
    array laid out as ``layout``; the area no region covers is zero."""
    if set(regions) != {r.name for r in layout}:
        raise InputError(
            f"regions {sorted(regions)} do not match the layout's {sorted(r.name for r in layout)}"
        )
    first = np.asarray(regions[layout[0].name])
    if first.ndim not in (3, 4):
        raise InputError(f"a region sequence must be (T, h, w) or (T, h, w, C), got shape {first.shape}")
    t, c = first.shape[0], 1 if first.ndim == 3 else first.shape[3]
    height = max(r.top + r.height for r in layout)
    width = max(r.left + r.width for r in layout)
    out = np.zeros((t, c, height, width), np.float32)
    for r in layout:
        seq = np.asarray(regions[r.name], np.float32)
        seq = seq[..., None] if seq.ndim == 3 else seq
        if seq.shape != (t, r.height, r.width, c):
            raise InputError(f"region {r.name!r} has shape {seq.shape}, expected {(t, r.height, r.width, c)}")
        out[:, :, r.top : r.top + r.height, r.left : r.left + r.width] = seq.transpose(0, 3, 1, 2)
    return out


_MEGC = MEGC2019.classes
_LAENET_PAPER = "Lien & Chiang 2020, Lightweight Apex-based Enhanced Network (LAENet)"
_FLOW3 = InputSpec(
    "flow3",
    (3, 28, 28),
    description="TV-L1 flow onset -> apex: u, v and optical strain magnitude, eye-masked, 28 x 28",
)

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="ststnet",
            target="rtmer.models.ststnet:STSTNet",
            input=_FLOW3,
            classes=_MEGC,
            protocol=MEGC2019.name,
            paper="Liong et al. 2019, STSTNet (FG 2019); layers as described in " + _LAENET_PAPER,
            published_params=1670,
            budget_cpu_ms=0.05,
            budget_gpu_ms=1.0,
            notes="three streams of 3, 5 and 8 filters; 1,683 parameters here (see rtmer.models.ststnet)",
        ),
        ModelSpec(
            name="laenet",
            target="rtmer.models.laenet:LAENet",
            input=_FLOW3,
            classes=_MEGC,
            protocol=MEGC2019.name,
            paper=_LAENET_PAPER,
            published_params=843,
            budget_cpu_ms=0.05,
            budget_gpu_ms=1.0,
            notes="two streams of 3 and 5 filters; pre-trained on CK+ in the paper",
        ),
        ModelSpec(
            name="mjfn",
            target="rtmer.models.mjfn:MJFN",
            input=InputSpec(
                "flow_color",
                (3, 224, 224),
                value_range=(0.0, 1.0),
                description="TV-L1 flow onset -> apex as a Middlebury colour image (55 hues), RGB / 255",
            ),
            classes=_MEGC,
            protocol=MEGC2019.name,
            paper="Li, Wei, Wang, Zhou 2021, Multi-scale joint feature network (Comput. Vis. Media 7(3))",
            published_params=None,
            budget_cpu_ms=10.0,
            budget_gpu_ms=1.0,
            notes="fusion='softmax' (strategy 2, the paper's best) or 'average' (strategy 1)",
        ),
        ModelSpec(
            name="cropnet",
            target="rtmer.models.cropnet:CropNet",
            input=InputSpec(
                "residual",
                (3, 320, 320),
                value_range=(0.0, 1.0),
                description="ARS or RRS of the key frames against the onset, RGB / 255, 320 x 320",
            ),
            classes=_MEGC,
            protocol=MEGC2019.name,
            paper="Zhao, Chen, Luo 2021, Pixel Residual Sum and Cropped Gaussian Pyramid "
            "(Front. Neurorobot. 15:746985)",
            published_params=7_600_000,
            budget_cpu_ms=10.0,
            budget_gpu_ms=1.0,
            notes="ReXNet-style extractor shared by the ten CGPO views; width_mult=1.3 by default (the "
            "paper's 7.6 M is ReXNet-1.3x with its ImageNet classifier); a smaller width_mult is faster",
        ),
        ModelSpec(
            name="aggregation",
            target="rtmer.models.aggregation:AggregationNet",
            input=InputSpec(
                "frames",
                (1, 140, 120),
                value_range=(0.0, 1.0),
                clip_frames=64,
                description="one gray frame of the 120 x 140 face crop; a clip: 64 time-interpolated frames",
            ),
            classes=AGGREGATION_4.classes,
            protocol=AGGREGATION_4.name,
            paper="She, Lv, Tao, Liu, Niu, Micro-Expression Recognition Based on Multiple Aggregation "
            "Networks (APSIPA)",
            published_params=None,
            budget_cpu_ms=200.0,
            budget_gpu_ms=1.0,
            notes="frame-level network; a clip is classified by an SVM on the mean, std and median of its "
            "frames' FC-64 features (ClipSVM); the budgets are for one clip's 64 frames, over the 20 ms "
            "apex-to-result budget on CPU",
        ),
        ModelSpec(
            name="cnn_lstm_se",
            target="rtmer.models.cnn_lstm_se:CnnLstmSe",
            input=InputSpec(
                "regions",
                (32, 1, *ATLAS_SIZE),
                value_range=(0.0, 1.0),
                clip_frames=32,
                regions=REGION_ATLAS,
                description="the six region sequences, gray in [0, 1], packed by pack_regions",
            ),
            classes=_MEGC,
            protocol=MEGC2019.name,
            paper="Aouayeb, Soladie, Hamidouche, Kpalma, Seguier 2022, Spatiotemporal Features Fusion From "
            "Local Facial Regions (Front. Sig. Proc.)",
            published_params=None,
            budget_cpu_ms=100.0,
            budget_gpu_ms=1.0,
            notes="spatial models per region (stage 1, spatial_logits), then LSTMs + SE (stage 2); focal "
            "loss; the CPU budget is for one clip's 32 frames, over the 20 ms apex-to-result budget",
        ),
    )
}


def get(name: str) -> ModelSpec:
    """The registered model called ``name``; :class:`InputError` listing the names otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        raise InputError(f"unknown model {name!r}; available: {', '.join(MODELS)}") from None
