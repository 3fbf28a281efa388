"""A built feature (:mod:`rtmer.features`) -> one item of a registered model's input, exactly as
its :class:`rtmer.models.registry.InputSpec` says. Imports no torch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from rtmer.errors import InputError
from rtmer.face.landmarks import LandmarkBackend
from rtmer.features import EventSpan, Feature, FeatureSpec, FrameSource, build
from rtmer.models import registry


def _model_spec(model: str | registry.ModelSpec) -> registry.ModelSpec:
    return registry.get(model) if isinstance(model, str) else model


def feature_options(model: str | registry.ModelSpec) -> dict[str, object]:
    """The :class:`FeatureSpec` fields a model fixes: the clip length T of sequence inputs."""
    spec = _model_spec(model)
    return {} if spec.input.clip_frames is None else {"length": spec.input.clip_frames}


def model_input(feature: Feature, model: str | registry.ModelSpec) -> np.ndarray:
    """A built feature -> one item of the model's input exactly as its :class:`InputSpec` says:
    float32, channels first, uint8 pixels scaled to [0, 1]; ``(T, C, H, W)`` for sequences
    (the aggregation network's T frames are its batch), regions packed by
    :func:`rtmer.models.registry.pack_regions`."""
    spec = _model_spec(model)
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
        if spec.input.frame_level:  # (T, H, W) or (T, H, W, C) frames
            x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
        else:
            x = x.transpose(2, 0, 1)
    expected = spec.input.item_shape
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
    """:func:`rtmer.features.build` + :func:`model_input`: ``model``'s input item for ``event``'s
    frames in ``source``, with the feature options the model fixes (:func:`feature_options`)."""
    mspec = _model_spec(model)
    spec = replace(spec or FeatureSpec(), **feature_options(mspec))  # type: ignore[arg-type]
    feature = build(mspec.input.kind, source, event, landmarks68=landmarks68, spec=spec, backend=backend)
    return model_input(feature, mspec)
