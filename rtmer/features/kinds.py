"""The kinds of model input, in one table, and :func:`build`, which builds any of them.

A kind's row says everything the rest of rtmer needs to know of it: the :class:`FeatureSpec`
options its output depends on (the disk cache keys on them), its builder, whether an event's
input can be built at the apex or needs the offset (the live classifier waits for it), and how
one input item is shaped (the model registry, the backends and the model-input checks read it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from types import MappingProxyType
from typing import Literal

import numpy as np

from rtmer.errors import InputError
from rtmer.face.landmarks import LandmarkBackend
from rtmer.features import builders
from rtmer.features.builders import Feature
from rtmer.features.landmarks import detect_landmarks
from rtmer.features.sources import EventSpan, FrameSource, get_frame
from rtmer.features.spec import FeatureSpec, check_options

#: The kinds' names, for type checkers; :data:`FEATURE_KINDS` has a row for each.
Kind = Literal["flow3", "flow_color", "residual", "frames", "regions"]

Builder = Callable[[FrameSource, EventSpan, np.ndarray, FeatureSpec], Feature]


def _apex_is_enough(event: EventSpan) -> bool:
    return False


def _whole_clip(event: EventSpan) -> bool:
    return True


@dataclass(frozen=True)
class FeatureKind:
    """One kind of model input.

    name: the kind; options: the :class:`FeatureSpec` fields its output depends on; builder:
    ``(source, event, landmarks68, spec) -> feature``; needs_offset: whether an event's input
    can only be built once its offset is known (otherwise at the apex); frame_level: whether its
    models classify single frames, so that one item is a clip's T frames (which the model sees as
    its batch) rather than one model-call input.
    """

    name: Kind
    options: tuple[str, ...]
    builder: Builder
    needs_offset: Callable[[EventSpan], bool]
    frame_level: bool = False

    def options_of(self, spec: FeatureSpec) -> dict[str, object]:
        """The options that determine this kind's output, JSON-ready (the cache hashes them)."""
        values = asdict(spec)
        return {name: values[name] for name in self.options}

    def item_shape(self, shape: tuple[int, ...], clip_frames: int | None) -> tuple[int, ...]:
        """One input item, from the ``shape`` a model's ``forward`` takes per batch row:
        ``(clip_frames, *shape)`` for a frame-level kind, ``shape`` otherwise."""
        if not self.frame_level:
            return shape
        if clip_frames is None:
            raise InputError(f"a {self.name} input needs clip_frames, the frames T of a clip")
        return (clip_frames, *shape)


#: Every kind by name; see the table in :mod:`rtmer.features`.
FEATURE_KINDS: Mapping[str, FeatureKind] = MappingProxyType(
    {
        kind.name: kind
        for kind in (
            FeatureKind("flow3", ("flow_size", "flow3_size", "tvl1"), builders.flow3, _apex_is_enough),
            FeatureKind("flow_color", ("color_size", "n_hues", "tvl1"), builders.flow_color, _apex_is_enough),
            FeatureKind("residual", ("residual", "n_key"), builders.residual, builders.residual_needs_offset),
            FeatureKind("frames", ("length", "color"), builders.frames, _whole_clip, frame_level=True),
            FeatureKind("regions", ("length", "color"), builders.regions, _whole_clip),
        )
    }
)
KINDS: tuple[str, ...] = tuple(FEATURE_KINDS)


def feature_kind(kind: str) -> FeatureKind:
    """The row of ``kind``; :class:`InputError` listing the kinds otherwise."""
    try:
        return FEATURE_KINDS[kind]
    except KeyError:
        raise InputError(f"unknown feature kind {kind!r}; expected one of {', '.join(KINDS)}") from None


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
    row = feature_kind(kind)
    check_options(options, {f.name for f in fields(FeatureSpec)})
    spec = replace(spec or FeatureSpec(), **options)  # type: ignore[arg-type]
    if landmarks68 is None:
        landmarks68 = detect_landmarks(get_frame(source, event.onset, kind), backend)
    return row.builder(source, event, landmarks68, spec)
