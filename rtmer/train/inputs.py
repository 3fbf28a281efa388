"""Labelled data sets and their model inputs, built once through the feature path and its disk
cache. Imports no torch (``rtmer eval`` scores weights on ONNX Runtime with it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from rtmer.data import load
from rtmer.data.protocols import Labelled, apply, get_protocol
from rtmer.errors import InputError
from rtmer.features import ClipFrames, FeatureCache, FeatureSpec, build
from rtmer.models import registry
from rtmer.models.inputs import feature_options, model_input
from rtmer.synth.generator import Progress
from rtmer.types import Clip


def load_labelled(pairs: Sequence[tuple[str, str | Path]], protocol: str) -> Labelled:
    """The clips of every (data set, root) pair, labelled by ``protocol``."""
    proto = get_protocol(protocol)
    clips: list[Clip] = []
    for name, root in pairs:
        clips.extend(load(name, root).clips)
    labelled = apply(proto, clips)
    if len(labelled) == 0:
        raise InputError(
            f"protocol {proto.name} keeps none of the {len(clips)} clips found (it labels "
            f"{', '.join(proto.datasets)}); check --data and --protocol"
        )
    return labelled


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
