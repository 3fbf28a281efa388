"""A labelled data set's model inputs, built once through the feature path and its disk cache."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from rtmer.data.protocols import Labelled
from rtmer.features import ClipFrames, FeatureCache, FeatureSpec, build
from rtmer.models import registry
from rtmer.models.inputs import feature_options, model_input
from rtmer.synth.generator import Progress


def model_inputs(
    labelled: Labelled,
    model: str,
    spec: FeatureSpec | None = None,
    *,
    cache: str | Path | None = None,
    progress: bool = False,
) -> np.ndarray:
    """``(N, *item)`` float32: every clip's input for ``model``, as
    :func:`rtmer.models.inputs.model_input` gives it, in clip order. Features are read from (and
    written to) ``cache`` when given, keyed by clip and feature settings, so a second run or
    another model on the same kind skips the flow."""
    mspec = registry.get(model)
    spec = replace(spec or FeatureSpec(), **feature_options(mspec))  # type: ignore[arg-type]
    store = FeatureCache(cache) if cache is not None else None
    bar = Progress(len(labelled), f"{mspec.input.kind} features", progress)
    out: np.ndarray | None = None
    for i, clip in enumerate(labelled.clips):
        if store is not None:
            feature = store.get_or_build(clip, mspec.input.kind, spec)
        else:
            feature = build(mspec.input.kind, ClipFrames(clip), clip, spec=spec)
        x = model_input(feature, mspec)
        if out is None:
            out = np.empty((len(labelled), *x.shape), np.float32)
        out[i] = x
        bar.step()
    assert out is not None  # a Labelled set holds at least one clip
    return out
