"""Model inputs, built by one code path from a data-set clip and from the live ring buffer.

Every builder reads frames through a :class:`FrameSource` (``frame(index) -> image | None``) and
takes the clip's span from an :class:`EventSpan` (``onset``, ``apex``, ``offset``):

- a data-set clip: ``ClipFrames(clip)`` and the :class:`rtmer.types.Clip` itself (its onset, apex
  and offset are positions in ``clip.frames``, which is how :class:`ClipFrames` indexes);
- live: the ring buffer and a :class:`rtmer.types.SpotEvent` (absolute frame indices).

Both go through the same functions, so a clip and a buffer holding the same decoded frames give
identical inputs. Frames are uint8, H x W (gray) or H x W x 3 (BGR, OpenCV's order).

The flow of a build (:func:`build`): fetch the frames the kind needs; landmarks once, on the onset
frame (the papers align each clip once, on its first frame; pass ``landmarks68`` -- the live
tracker's, in frame pixels -- to skip detection); warp every frame with the transform from those
landmarks (:mod:`rtmer.face.align`); compute the kind's input (:data:`FEATURE_KINDS`, one row per
kind):

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
computes each flow once. A built feature becomes a model's input item in
:mod:`rtmer.models.inputs`.

Modules: :mod:`~rtmer.features.sources` (frame sources, spans), :mod:`~rtmer.features.spec`
(options), :mod:`~rtmer.features.landmarks`, :mod:`~rtmer.features.builders` (one per kind),
:mod:`~rtmer.features.kinds` (the table, :func:`build`), :mod:`~rtmer.features.cache`.
"""

from __future__ import annotations

from rtmer.features.builders import (
    Feature,
    flow3,
    flow_color,
    frames,
    regions,
    residual,
    residual_key_frames,
)
from rtmer.features.cache import FeatureCache
from rtmer.features.kinds import FEATURE_KINDS, KINDS, FeatureKind, Kind, build, feature_kind
from rtmer.features.landmarks import detect_landmarks
from rtmer.features.sources import ClipFrames, DictFrames, EventSpan, FrameSource
from rtmer.features.spec import FeatureSpec

__all__ = [
    "FEATURE_KINDS",
    "KINDS",
    "ClipFrames",
    "DictFrames",
    "EventSpan",
    "Feature",
    "FeatureCache",
    "FeatureKind",
    "FeatureSpec",
    "FrameSource",
    "Kind",
    "build",
    "detect_landmarks",
    "feature_kind",
    "flow3",
    "flow_color",
    "frames",
    "regions",
    "residual",
    "residual_key_frames",
]
